// Package circlecli is the "linli circle build|run|site" command: it reads
// road networks, facilities and demand from files, runs the life-circle
// engine (package circle) and writes CSV and GeoJSON results.
package circlecli

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"linli/internal/circle"
)

const usage = `用法 / usage: linli circle <command> [flags]

  build  读取路网并写入缓存 / ingest a road network and write the graph cache
         --roads DIR | --nodes F --edges F | --osm F   --profile walk|drive  --out graph.bin
  run    计算标签与覆盖率，输出 CSV 和 GeoJSON / labels + coverage, writes CSV and GeoJSON
         (--graph F | --roads DIR | --osm F) (--facilities F --demand F | --synthetic) --out DIR
  site   设施选址（最大覆盖）与最小损失撤并 / facility siting (maximal covering) and least-loss removal
         (--graph F | --roads DIR | --osm F) --facilities F --demand F --category ID --k 20 [--remove]

Run "linli circle <command> -h" for all flags / 查看全部参数.
`

// Main runs "linli circle ..." with the arguments after "circle".
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "build":
		err = cmdBuild(args[1:], stdout, stderr)
	case "run":
		err = cmdRun(args[1:], stdout, stderr)
	case "site":
		err = cmdSite(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "未知命令 %q / unknown command %q\n\n%s", args[0], args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "错误 / error: %v\n", err)
		return 1
	}
	return 0
}

// graphFlags are the ways to name a road network.
type graphFlags struct {
	graph, roads, nodes, edges, osm, profile string
	walkSpeed                                float64
}

func (gf *graphFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&gf.graph, "graph", "", "路网缓存文件 / graph cache written by build")
	fs.StringVar(&gf.roads, "roads", "", "含 nodes.csv[.gz] 与 edges.csv[.gz] 的目录 / folder with nodes.csv[.gz] and edges.csv[.gz]")
	fs.StringVar(&gf.nodes, "nodes", "", "节点 CSV / node CSV (node,lon,lat)")
	fs.StringVar(&gf.edges, "edges", "", "边 CSV / edge CSV (from,to,length_m[,car_duration_s])")
	fs.StringVar(&gf.osm, "osm", "", "OpenStreetMap 文件 (.osm XML) / OpenStreetMap file")
	fs.StringVar(&gf.profile, "profile", "walk", "出行方式 walk|drive / travel profile")
	fs.Float64Var(&gf.walkSpeed, "walk-speed", circle.DefaultWalkSpeed, "步行速度 m/s / walking speed in m/s")
}

func (gf *graphFlags) load(stderr io.Writer) (*circle.Graph, error) {
	p := circle.Profile(gf.profile)
	if p != circle.Walk && p != circle.Drive {
		return nil, fmt.Errorf("--profile 应为 walk 或 drive / --profile must be walk or drive, got %q", gf.profile)
	}
	if !(gf.walkSpeed > 0) {
		return nil, fmt.Errorf("--walk-speed 必须大于 0 / --walk-speed must be > 0")
	}
	t0 := time.Now()
	var el *circle.EdgeList
	var err error
	switch {
	case gf.graph != "":
		return circle.LoadGraph(gf.graph)
	case gf.roads != "":
		el, err = circle.ReadCSVDir(gf.roads)
	case gf.nodes != "" && gf.edges != "":
		el, err = readCSVFiles(gf.nodes, gf.edges)
	case gf.osm != "":
		el, err = readOSMFile(gf.osm, p, gf.walkSpeed)
	default:
		return nil, errors.New("请指定路网：--graph、--roads、--nodes/--edges 或 --osm / name a road network with --graph, --roads, --nodes/--edges or --osm")
	}
	if err != nil {
		return nil, err
	}
	// Walkers ignore one-way rules of a car network.
	opt := circle.BuildOptions{Profile: p, WalkSpeed: gf.walkSpeed, UseLength: p == circle.Walk, BothWays: p == circle.Walk}
	if p == circle.Drive && el.Seconds == nil {
		return nil, errors.New("驾车方式需要 car_duration_s 列 / the drive profile needs a car_duration_s column")
	}
	g, err := circle.Build(el, opt)
	if err != nil {
		return nil, err
	}
	s := g.Stats
	fmt.Fprintf(stderr, "路网 / graph: %d 个节点、%d 条边保留 / nodes and edges kept; 最大强连通分量外丢弃 %d 个节点、%d 条边 / dropped outside the largest SCC (%d components) in %.2fs\n",
		s.NodesKept, s.EdgesKept, s.NodesDropped, s.EdgesDropped, s.Components, time.Since(t0).Seconds())
	return g, nil
}

func readCSVFiles(nodes, edges string) (*circle.EdgeList, error) {
	nf, err := circle.OpenMaybeGzip(nodes)
	if err != nil {
		return nil, err
	}
	defer nf.Close()
	ef, err := circle.OpenMaybeGzip(edges)
	if err != nil {
		return nil, err
	}
	defer ef.Close()
	return circle.ReadCSV(nf, nodes, ef, edges)
}

func readOSMFile(path string, p circle.Profile, speed float64) (*circle.EdgeList, error) {
	f, err := circle.OpenMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var data *circle.OSMData
	if strings.HasSuffix(path, ".pbf") {
		data, err = circle.ReadOSMPBF(f, path)
	} else {
		data, err = circle.ReadOSMXML(f, path)
	}
	if err != nil {
		return nil, err
	}
	return circle.OSMEdgeList(data, path, p, speed)
}

func cmdBuild(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("circle build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var gf graphFlags
	gf.register(fs)
	out := fs.String("out", "", "输出的路网缓存文件 / graph cache file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("缺少 --out / --out is required")
	}
	if gf.graph != "" {
		return errors.New("build 读取原始路网，不读取缓存 / build reads a raw network, not --graph")
	}
	g, err := gf.load(stderr)
	if err != nil {
		return err
	}
	if err := circle.SaveGraph(*out, g); err != nil {
		return err
	}
	st, _ := os.Stat(*out)
	fmt.Fprintf(stdout, "已写入 / wrote %s: %d 节点 nodes, %d 边 edges, 丢弃 dropped %d 节点 nodes, %d 字节 bytes (profile %s, cache v%d)\n",
		*out, g.NumNodes(), g.NumEdges(), g.Stats.NodesDropped, st.Size(), g.Profile, circle.CacheVersion)
	return nil
}

func readFile[T any](path string, f func(io.Reader, string) (T, error)) (T, error) {
	var zero T
	r, err := circle.OpenMaybeGzip(path)
	if err != nil {
		return zero, err
	}
	defer r.Close()
	return f(r, path)
}

type studyFlags struct {
	graphFlags
	facilities, demand, tiersFile string
	synthetic                     bool
	seed                          int64
	maxLink                       float64
	points                        int
}

func (sf *studyFlags) register(fs *flag.FlagSet) {
	sf.graphFlags.register(fs)
	fs.StringVar(&sf.facilities, "facilities", "", "设施 CSV (id,category,lon,lat) / facility CSV")
	fs.StringVar(&sf.demand, "demand", "", "需求点 CSV (id,unit,lon,lat,population) / demand point CSV")
	fs.StringVar(&sf.tiersFile, "tiers", "", "圈层定义 JSON（默认内置 GB 50180-2018 与规划）/ tier file (default: embedded)")
	fs.BoolVar(&sf.synthetic, "synthetic", false, "缺少的设施/需求点用合成数据（标注 synthetic）/ fill missing facilities or demand with synthetic data, marked synthetic")
	fs.Int64Var(&sf.seed, "seed", 1, "合成数据随机种子 / seed for synthetic data")
	fs.Float64Var(&sf.maxLink, "max-link", 500, "离路网最远距离（米）/ farthest distance from a road to link, metres")
	fs.IntVar(&sf.points, "points", 20000, "合成需求点数量 / number of synthetic demand points")
}

func (sf *studyFlags) load(stderr io.Writer) (*circle.Study, error) {
	if !(sf.maxLink > 0) {
		return nil, errors.New("--max-link 必须大于 0 / --max-link must be > 0")
	}
	tiers := circle.DefaultTiers()
	if sf.tiersFile != "" {
		var err error
		if tiers, err = readFile(sf.tiersFile, func(r io.Reader, _ string) (*circle.Tiers, error) { return circle.LoadTiers(r) }); err != nil {
			return nil, err
		}
	}
	if (sf.facilities == "" || sf.demand == "") && !sf.synthetic {
		return nil, errors.New("需要 --facilities 与 --demand，或加 --synthetic / --facilities and --demand are required, or pass --synthetic")
	}
	var facilities []circle.Facility
	var demand []circle.Demand
	var err error
	if sf.facilities != "" {
		facilities, err = readFile(sf.facilities, func(r io.Reader, n string) ([]circle.Facility, error) { return circle.ReadFacilities(r, n, tiers) })
		if err != nil {
			return nil, err
		}
	}
	if sf.demand != "" {
		if demand, err = readFile(sf.demand, circle.ReadDemand); err != nil {
			return nil, err
		}
	}
	g, err := sf.graphFlags.load(stderr)
	if err != nil {
		return nil, err
	}
	synthetic := false
	if sf.facilities == "" {
		synthetic = true
		facilities = circle.SyntheticFacilityList(g, tiers, sf.seed)
	}
	if sf.demand == "" {
		synthetic = true
		demand = circle.SyntheticDemand(g, sf.points, "330106", sf.seed)
	}
	t0 := time.Now()
	s, err := circle.NewStudy(g, tiers, facilities, demand, sf.maxLink)
	if err != nil {
		return nil, err
	}
	s.Synthetic = synthetic
	if len(s.Far) > 0 {
		fmt.Fprintf(stderr, "警告 / warning: %d 个需求点离路网超过 %.0f 米，计为不可达 / %d demand points lie more than %.0f m from any road and count as unreached (listed in far_points.csv)\n",
			len(s.Far), sf.maxLink, len(s.Far), sf.maxLink)
	}
	fmt.Fprintf(stderr, "挂接 / linked %d 设施 facilities, %d 需求点 demand points in %.2fs\n", len(facilities), len(demand), time.Since(t0).Seconds())
	return s, nil
}

func fmtMinutes(t uint16) string {
	if t == circle.Unreached {
		return ""
	}
	return strconv.FormatFloat(float64(t)/600, 'f', 2, 64)
}

// outDir stages files in a temporary folder and moves them into place only
// when everything was written, so a failed run leaves nothing partial.
type outDir struct {
	final, tmp string
	files      []string
	created    bool // final did not exist before: remove it again on abort
}

func newOutDir(final string) (*outDir, error) {
	_, statErr := os.Stat(final)
	if err := os.MkdirAll(final, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(final, ".circle-run-*")
	if err != nil {
		return nil, err
	}
	return &outDir{final: final, tmp: tmp, created: os.IsNotExist(statErr)}, nil
}

func (o *outDir) create(name string) (*os.File, error) {
	o.files = append(o.files, name)
	return os.Create(filepath.Join(o.tmp, name))
}

func (o *outDir) commit() error {
	for _, f := range o.files {
		if err := os.Rename(filepath.Join(o.tmp, f), filepath.Join(o.final, f)); err != nil {
			return err
		}
	}
	return os.RemoveAll(o.tmp)
}

func (o *outDir) abort() {
	os.RemoveAll(o.tmp)
	if o.created {
		os.Remove(o.final) // only succeeds when empty
	}
}

func writeCSVFile(o *outDir, name string, header []string, rows func(w *csv.Writer) error) error {
	f, err := o.create(name)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(header)
	if err := rows(w); err != nil {
		f.Close()
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func cmdRun(args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("circle run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf studyFlags
	sf.register(fs)
	out := fs.String("out", "", "输出目录 / output folder")
	tierList := fs.String("tier", "plan-urban-15,plan-rural-30,plan-medical-15,plan-culture-15,plan-fitness-15,gb-5,gb-10,gb-15", "要计算的圈层 / tiers to evaluate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("缺少 --out / --out is required")
	}
	s, err := sf.load(stderr)
	if err != nil {
		return err
	}
	var tierIDs []string
	var tiers []*circle.Tier
	for _, id := range strings.Split(*tierList, ",") {
		id = strings.TrimSpace(id)
		tr, ok := s.Tiers.Tier(id)
		if !ok {
			return fmt.Errorf("未知圈层 %q / unknown tier %q", id, id)
		}
		tierIDs = append(tierIDs, id)
		tiers = append(tiers, tr)
	}
	t0 := time.Now()
	bar := newProgress(stderr, "标签 labels")
	if err := s.Compute(tierIDs, 0, bar.set); err != nil {
		return err
	}
	names, bound, times := s.Labels.Categories, s.Labels.Bound, s.Times
	fmt.Fprintf(stderr, "标签 / labels: %d 类 categories × %d 节点 nodes, 上限 bound %.0f min, %.3fs\n", len(names), s.Graph.NumNodes(), float64(bound)/600, time.Since(t0).Seconds())

	od, err := newOutDir(*out)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			od.abort()
		}
	}()
	synth := strconv.FormatBool(s.Synthetic)
	// Per demand point: minutes to the nearest facility of each category.
	header := []string{"id", "unit", "lon", "lat", "population", "linked", "synthetic"}
	for _, n := range names {
		header = append(header, "min_"+n)
	}
	if err = writeCSVFile(od, "points.csv", header, func(w *csv.Writer) error {
		row := make([]string, 0, len(header))
		for p, d := range s.Demand {
			row = append(row[:0], d.ID, d.Unit, fmtF(d.Lon, 6), fmtF(d.Lat, 6), fmtF(d.Pop, 1), strconv.FormatBool(s.Linked[p]), synth)
			for c := range names {
				row = append(row, fmtMinutes(times[c][p]))
			}
			if err := w.Write(row); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err = writeCSVFile(od, "far_points.csv", []string{"id", "unit", "lon", "lat"}, func(w *csv.Writer) error {
		for _, p := range s.Far {
			d := s.Demand[p]
			w.Write([]string{d.ID, d.Unit, fmtF(d.Lon, 6), fmtF(d.Lat, 6)})
		}
		return nil
	}); err != nil {
		return err
	}
	var allGaps [][]string
	for _, tr := range tiers {
		cv, err := s.Coverage(tr.ID)
		if err != nil {
			return err
		}
		h := []string{"unit", "points", "population", "completeness"}
		for _, c := range tr.Categories {
			h = append(h, "share_"+c)
		}
		rows := func(units []circle.UnitCoverage) func(w *csv.Writer) error {
			return func(w *csv.Writer) error {
				for i := range units {
					u := &units[i]
					row := []string{u.Unit, strconv.Itoa(u.Points), fmtF(u.Pop, 1), fmtF(u.Completeness(), 4)}
					for c := range tr.Categories {
						row = append(row, fmtF(u.Share(c), 4))
					}
					w.Write(row)
				}
				return nil
			}
		}
		if err = writeCSVFile(od, "coverage_"+tr.ID+".csv", h, rows(cv.Units)); err != nil {
			return err
		}
		var roll []circle.UnitCoverage
		for _, lv := range []int{6, 9} {
			roll = append(roll, cv.Rollup(lv)...)
		}
		if err = writeCSVFile(od, "rollup_"+tr.ID+".csv", h, rows(roll)); err != nil {
			return err
		}
		total := cv.Subtree("")
		fmt.Fprintf(stdout, "%s %s (%s, %.0f 分钟 min): 完整度 completeness %.1f%%;", tr.ID, tr.Zh, tr.En, tr.Minutes, 100*total.Completeness())
		for c, id := range tr.Categories {
			fmt.Fprintf(stdout, " %s %.1f%%", id, 100*total.Share(c))
		}
		gaps := cv.Gaps(1)
		fmt.Fprintf(stdout, "; 缺口 gaps %d\n", len(gaps))
		for _, g := range gaps {
			med := "unreached"
			if !math.IsInf(g.MedianMinutes, 1) {
				med = fmtF(g.MedianMinutes, 2)
			}
			excess := "unreached"
			if !math.IsInf(g.ExcessMinutes, 1) {
				excess = fmtF(g.ExcessMinutes, 2)
			}
			allGaps = append(allGaps, []string{tr.ID, g.Unit, g.Category, fmtF(g.Share, 4), fmtF(g.MissingPop, 1), med, excess, synth})
		}
	}
	if err = writeCSVFile(od, "gaps.csv", []string{"tier", "unit", "category", "share", "missing_population", "median_minutes_of_missing", "excess_minutes", "synthetic"},
		func(w *csv.Writer) error { return w.WriteAll(allGaps) }); err != nil {
		return err
	}
	if err = writeGeoJSON(od, "points.geojson", s, names, times); err != nil {
		return err
	}
	if err = writeFacilitiesGeoJSON(od, "facilities.geojson", s); err != nil {
		return err
	}
	if err = od.commit(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "已写入 / wrote %s: points.csv, coverage_*.csv, rollup_*.csv, gaps.csv, far_points.csv, points.geojson, facilities.geojson", *out)
	if s.Synthetic {
		fmt.Fprint(stdout, " (含合成数据 / includes synthetic data)")
	}
	fmt.Fprintln(stdout)
	return nil
}

func fmtF(x float64, prec int) string { return strconv.FormatFloat(x, 'f', prec, 64) }

// share is a/b with an empty total counted as nothing covered, as in the engine.
func share(a, b float64) float64 { return a / math.Max(b, 1e-12) }

type geoFeature struct {
	Type       string         `json:"type"`
	Geometry   geoPoint       `json:"geometry"`
	Properties map[string]any `json:"properties"`
}
type geoPoint struct {
	Type        string     `json:"type"`
	Coordinates [2]float64 `json:"coordinates"`
}

func writeFeatures(od *outDir, name string, n int, feat func(i int) geoFeature) error {
	f, err := od.create(name)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	io.WriteString(f, `{"type":"FeatureCollection","features":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			io.WriteString(f, ",")
		}
		if err := enc.Encode(feat(i)); err != nil {
			f.Close()
			return err
		}
	}
	io.WriteString(f, "]}\n")
	return f.Close()
}

func writeGeoJSON(od *outDir, name string, s *circle.Study, names []string, times [][]uint16) error {
	return writeFeatures(od, name, len(s.Demand), func(p int) geoFeature {
		d := s.Demand[p]
		props := map[string]any{"id": d.ID, "unit": d.Unit, "population": d.Pop, "linked": s.Linked[p], "synthetic": s.Synthetic}
		for c, n := range names {
			if t := times[c][p]; t != circle.Unreached {
				props["min_"+n] = math.Round(float64(t)/6) / 100
			} else {
				props["min_"+n] = nil
			}
		}
		return geoFeature{Type: "Feature", Geometry: geoPoint{"Point", [2]float64{d.Lon, d.Lat}}, Properties: props}
	})
}

func writeFacilitiesGeoJSON(od *outDir, name string, s *circle.Study) error {
	return writeFeatures(od, name, len(s.Facilities), func(i int) geoFeature {
		f := s.Facilities[i]
		return geoFeature{Type: "Feature", Geometry: geoPoint{"Point", [2]float64{f.Lon, f.Lat}},
			Properties: map[string]any{"id": f.ID, "category": f.Category, "synthetic": s.Synthetic}}
	})
}

func cmdSite(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("circle site", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf studyFlags
	sf.register(fs)
	category := fs.String("category", "", "设施类别 / facility category (id or Chinese name)")
	k := fs.Int("k", 10, "新增设施数 / number of new facilities")
	minutes := fs.Float64("minutes", 15, "覆盖阈值（分钟）/ coverage threshold in minutes")
	candFile := fs.String("candidates", "", "候选点 CSV (id,lon,lat)；缺省时随机抽取路网节点 / candidate CSV; default: random network nodes")
	nCand := fs.Int("n-candidates", 2000, "随机候选节点数 / number of random candidate nodes")
	remove := fs.Bool("remove", false, "改为评估撤并：按覆盖损失从小到大列出现有设施 / rank existing facilities by coverage lost if closed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Check the cheap arguments before loading anything.
	if _, err := circle.SecondsToTicks(*minutes * 60); err != nil {
		return err
	}
	if *k <= 0 && !*remove {
		return errors.New("--k 必须大于 0 / --k must be > 0")
	}
	s, err := sf.load(stderr)
	if err != nil {
		return err
	}
	cat, ok := s.Tiers.CategoryID(*category)
	if !ok {
		return fmt.Errorf("未知类别 %q / unknown category %q", *category, *category)
	}
	w := csv.NewWriter(stdout)
	if *remove {
		rm, err := s.Removal(cat, *minutes)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "类别 category %s, 阈值 threshold %.1f min: %d 个现有设施 existing facilities\n", cat, *minutes, len(rm))
		w.Write([]string{"rank", "facility_id", "lon", "lat", "population_lost"})
		for r, x := range rm {
			f := s.Facilities[x.Facility]
			w.Write([]string{strconv.Itoa(r + 1), f.ID, fmtF(f.Lon, 6), fmtF(f.Lat, 6), fmtF(x.Loss, 1)})
		}
		w.Flush()
		return w.Error()
	}
	type cand struct {
		id       string
		lon, lat float64
		src      []circle.Source
	}
	var cands []cand
	if *candFile != "" {
		pts, err := readFile(*candFile, circle.ReadPoints)
		if err != nil {
			return err
		}
		for i, p := range pts {
			l, ok := s.Index.Nearest(p.Lon, p.Lat, sf.maxLink)
			if !ok {
				return fmt.Errorf("%s: 候选点 %d 离路网超过 %.0f 米 / candidate %d lies more than %.0f m from any road", *candFile, i+1, sf.maxLink, i+1, sf.maxLink)
			}
			cands = append(cands, cand{p.ID, p.Lon, p.Lat, s.Index.Sources(l)})
		}
	} else {
		rng := rand.New(rand.NewSource(sf.seed))
		g := s.Graph
		for i := 0; i < *nCand; i++ {
			v := uint32(rng.Intn(g.NumNodes()))
			cands = append(cands, cand{fmt.Sprintf("node-%d", g.ExtID[v]), g.Lon[v], g.Lat[v], []circle.Source{{Node: v}}})
		}
	}
	srcs := make([][]circle.Source, len(cands))
	for i, c := range cands {
		srcs[i] = c.src
	}
	t0 := time.Now()
	bar := newProgress(stderr, "候选点 candidates")
	res, err := s.Site(cat, *minutes, *k, srcs, bar.set)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "选址 / siting: %d 候选 candidates, k=%d, %.2fs\n", len(cands), *k, time.Since(t0).Seconds())
	fmt.Fprintf(stdout, "类别 category %s, 阈值 threshold %.1f min: 现有设施覆盖 existing facilities cover %.0f / %.0f 人 people (%.1f%%)\n",
		cat, *minutes, res.CoveredBefore, res.Total, 100*share(res.CoveredBefore, res.Total))
	w.Write([]string{"rank", "candidate_id", "lon", "lat", "gain_population", "cumulative", "coverage_share"})
	for r, p := range res.Picks {
		c := cands[p.Site]
		w.Write([]string{strconv.Itoa(r + 1), c.id, fmtF(c.lon, 6), fmtF(c.lat, 6), fmtF(p.Gain, 1), fmtF(p.Cumulative, 1),
			fmtF(share(res.CoveredBefore+p.Cumulative, res.Total), 4)})
	}
	w.Flush()
	if len(res.Picks) < *k {
		fmt.Fprintf(stderr, "提示 / note: 仅 %d 个选址有新增覆盖 / only %d picks add coverage\n", len(res.Picks), len(res.Picks))
	}
	return w.Error()
}
