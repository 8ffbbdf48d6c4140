// Package circlebench is "linli bench circle": it times the life-circle
// engine (package circle) against python3-igraph and pgRouting on the same
// graph and facilities and checks that the labels agree.
package circlebench

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"linli/internal/circle"
)

// Main runs "linli bench circle ...": our labels against python3-igraph
// and pgRouting on the same graph and facilities, plus linking and siting.
func Main(args []string, stdout, stderr io.Writer) int {
	if err := benchMain(args, stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "错误 / error: %v\n", err)
		return 1
	}
	return 0
}

type benchOpts struct {
	roads      string
	nodes      int
	categories int
	seed       int64
	minutes    float64
	runs       int
	peers      string
	pg         string
	install    bool
	points     int
	candidates int
	k          int
	equiMax    int
	peerRuns   int
}

func benchMain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench circle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o benchOpts
	fs.StringVar(&o.roads, "roads", "", "含 nodes.csv.gz 与 edges.csv.gz 的目录 / folder with nodes.csv.gz and edges.csv.gz (default: find ../shared)")
	fs.IntVar(&o.nodes, "nodes", 0, "把路网平铺到至少 N 个节点 / tile the network to at least N nodes (e.g. 1000000)")
	fs.IntVar(&o.categories, "categories", 30, "设施类别数 / facility categories")
	fs.Int64Var(&o.seed, "seed", 1, "随机种子 / random seed")
	fs.Float64Var(&o.minutes, "minutes", 30, "搜索上限（分钟）/ search bound in minutes (largest threshold of interest)")
	fs.IntVar(&o.runs, "runs", 10, "我方重复次数（取最佳）/ repetitions of our run (best counts)")
	fs.IntVar(&o.peerRuns, "peer-runs", 0, "igraph 重复次数（取最佳；0 为自动：小图 3 次，大图 1 次）/ igraph repetitions, best counts (0: 3 below 200,000 nodes, else 1)")
	fs.StringVar(&o.peers, "peers", "igraph,pgrouting", "对比对象 / peers to run (igraph, pgrouting, or none)")
	fs.StringVar(&o.pg, "pg", envOr("LINLI_BENCH_PG", "host=127.0.0.1 port=5432 user=postgres"), "PostgreSQL 连接（不含 dbname）/ PostgreSQL conninfo without dbname")
	fs.BoolVar(&o.install, "install", true, "缺少对比对象时用 apt-get 安装 / install missing peers with apt-get")
	fs.IntVar(&o.points, "points", 1000000, "挂接基准的点数 / points for the linking benchmark")
	fs.IntVar(&o.candidates, "candidates", 10000, "选址候选点数 / siting candidates")
	fs.IntVar(&o.k, "k", 20, "选址数量 / sites to pick")
	fs.IntVar(&o.equiMax, "pg-equicost-max-nodes", 200000, "超过此节点数不跑 equicost（pgRouting 3.4 会为每个起点保存整次搜索，大图上数据库进程被 OOM 杀掉）/ skip pgRouting equicost above this many nodes (it keeps one whole search per start vertex in memory and got the server process OOM-killed on a 1M-node graph)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.roads == "" {
		o.roads = circle.FindRoadsDir()
		if o.roads == "" {
			return errors.New("找不到路网，请用 --roads 指定 / no road data found; pass --roads DIR")
		}
	}
	if o.categories <= 0 || o.runs <= 0 {
		return errors.New("--categories 与 --runs 必须大于 0 / --categories and --runs must be > 0")
	}
	bound, err := circle.SecondsToTicks(o.minutes * 60)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Linli 生活圈基准 / life-circle benchmark — %d 核 cores (GOMAXPROCS %d), %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	t0 := time.Now()
	el, err := circle.ReadCSVDir(o.roads)
	if err != nil {
		return err
	}
	g, err := circle.Build(el, circle.BuildOptions{Profile: circle.Walk, UseLength: true})
	if err != nil {
		return err
	}
	desc := fmt.Sprintf("杭州路网 Hangzhou roads (%s)", o.roads)
	if o.nodes > g.NumNodes() {
		tiles := (o.nodes + g.NumNodes() - 1) / g.NumNodes()
		if g, err = circle.TileGraph(g, o.nodes); err != nil {
			return err
		}
		desc = fmt.Sprintf("杭州路网平铺 %d 块（合成）/ Hangzhou roads tiled ×%d (synthetic)", tiles, tiles)
	}
	fmt.Fprintf(stdout, "路网 graph: %s — %d 节点 nodes, %d 边 edges, 步行 walking %.1f m/s, 加载 loaded in %.2fs\n",
		desc, g.NumNodes(), g.NumEdges(), g.WalkSpeed, time.Since(t0).Seconds())
	if o.peerRuns <= 0 {
		o.peerRuns = 3
		if g.NumNodes() > 200000 {
			o.peerRuns = 1
		}
	}
	names, srcs := circle.SyntheticFacilities(g, o.categories, o.seed)
	nf := 0
	for _, s := range srcs {
		nf += len(s)
	}
	fmt.Fprintf(stdout, "设施 facilities: %d 类 categories, %d 个（合成，种子 %d）/ synthetic, seed %d; 上限 bound %.0f min\n", len(srcs), nf, o.seed, o.seed, o.minutes)

	// Ours: best and median of several runs on all cores, plus one core.
	var lab *circle.Labels
	var times []float64
	var ms0, ms1 runtime.MemStats
	for r := 0; r < o.runs; r++ {
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		t := time.Now()
		lab, err = circle.ComputeLabels(g, names, srcs, bound, 0, nil)
		if err != nil {
			return err
		}
		times = append(times, time.Since(t).Seconds())
		runtime.ReadMemStats(&ms1)
	}
	sort.Float64s(times)
	ours := times[0]
	t := time.Now()
	if _, err := circle.ComputeLabels(g, names, srcs, bound, 1, nil); err != nil {
		return err
	}
	one := time.Since(t).Seconds()
	n := g.NumNodes()
	fmt.Fprintf(stdout, "我方 ours (Go, Dial 桶队列 bucket queue, %d workers): 最佳 best %.3fs, 中位 median %.3fs / %d runs; 单核 1 core %.3fs\n",
		runtime.GOMAXPROCS(0), ours, times[len(times)/2], o.runs, one)
	fmt.Fprintf(stdout, "内存 memory: 标签 labels %.1f + 搜索工作区 search scratch %.1f = %.1f bytes/node (本次分配 allocated in the run %.1f bytes/node); 路网 graph %.1f bytes/node\n",
		float64(lab.Bytes())/float64(n), float64(lab.ScratchBytes)/float64(n), float64(lab.Bytes()+lab.ScratchBytes)/float64(n),
		float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(n), float64(g.Bytes())/float64(n))

	work, err := os.MkdirTemp("", "linli-bench-circle-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	peers := map[string]bool{}
	for _, p := range strings.Split(o.peers, ",") {
		peers[strings.TrimSpace(p)] = true
	}
	var agree []string
	var equiNote string
	allAgree := true
	if peers["igraph"] || peers["pgrouting"] {
		if err := exportPeerInput(work, g, srcs, bound); err != nil {
			return err
		}
	}
	if peers["igraph"] {
		pt, ver, err := runIgraph(work, o, stderr)
		if err != nil {
			fmt.Fprintf(stdout, "igraph: 跳过 skipped — %v\n", err)
		} else {
			fmt.Fprintf(stdout, "igraph %s (python3-igraph, 超级源点 Dijkstra super-source SSSP ×%d, 最佳 best of %d): %.3fs — 我方快 ours %.1fx\n", ver, len(srcs), o.peerRuns, pt, pt/ours)
			ok, msg := compareBinary(filepath.Join(work, "igraph.bin"), lab)
			allAgree = allAgree && ok
			agree = append(agree, "igraph: "+msg)
		}
	}
	if peers["pgrouting"] {
		res, ver, err := runPgRouting(work, o, g, srcs, bound, stderr)
		if err != nil {
			fmt.Fprintf(stdout, "pgRouting: 跳过 skipped — %v\n", err)
		}
		for _, r := range res {
			fmt.Fprintf(stdout, "pgRouting %s (pgr_drivingDistance %s ×%d): %.3fs — 我方快 ours %.1fx\n", ver, r.name, len(srcs), r.seconds, r.seconds/ours)
			ok, msg := comparePg(r.out, lab)
			if r.name == "equicost" && !ok {
				// pgRouting 3.4's equicost can assign a node to a start that is
				// not its nearest; report it rather than hide it.
				equiNote = fmt.Sprintf("pgRouting equicost 与精确最短路不同 / differs from exact shortest times: %s", msg)
				continue
			}
			allAgree = allAgree && ok
			agree = append(agree, "pgRouting "+r.name+": "+msg)
		}
	}
	if len(agree) > 0 {
		if allAgree {
			fmt.Fprintf(stdout, "标签一致 / labels agree (%d nodes × %d categories): %s\n", n, len(srcs), strings.Join(agree, "; "))
		} else {
			fmt.Fprintf(stdout, "标签不一致 / labels DISAGREE: %s\n", strings.Join(agree, "; "))
		}
	}
	if equiNote != "" {
		fmt.Fprintln(stdout, "注意 / note: "+equiNote)
	}

	// Linking: random points over the network's box.
	rng := rand.New(rand.NewSource(o.seed))
	minLon, minLat, maxLon, maxLat := g.BBox()
	lon, lat := make([]float64, o.points), make([]float64, o.points)
	for i := range lon {
		v := rng.Intn(n) // near roads, as buildings are
		lon[i] = g.Lon[v] + (rng.Float64()-0.5)*0.004
		lat[i] = g.Lat[v] + (rng.Float64()-0.5)*0.004
		lon[i] = math.Min(maxLon, math.Max(minLon, lon[i]))
		lat[i] = math.Min(maxLat, math.Max(minLat, lat[i]))
	}
	t = time.Now()
	ix := circle.NewIndex(g, 0)
	tIndex := time.Since(t).Seconds()
	t = time.Now()
	links, far := ix.LinkAll(lon, lat, 500, 0)
	tLink := time.Since(t).Seconds()
	fmt.Fprintf(stdout, "挂接 linking %d 点 points: %.3fs (+ 建索引 index build %.3fs), %d 个超过 500 m / beyond 500 m\n", o.points, tLink, tIndex, len(far))

	// Siting: k new clinics over random candidate nodes, demand = the linked points.
	linked := make([]bool, len(links))
	for i := range linked {
		linked[i] = true
	}
	for _, i := range far {
		linked[i] = false
	}
	pop := make([]float64, len(links))
	for i := range pop {
		pop[i] = float64(20 + rng.Intn(200))
	}
	th, _ := circle.SecondsToTicks(15 * 60)
	cands := make([][]circle.Source, o.candidates)
	for i := range cands {
		cands[i] = []circle.Source{{Node: uint32(rng.Intn(n))}}
	}
	t = time.Now()
	pi := circle.NewPointIndex(ix, links, linked)
	covered := make([]bool, len(links))
	for p := range links {
		if linked[p] && ix.PointTicks(lab, 1, links[p]) <= th {
			covered[p] = true
		}
	}
	sets, err := circle.CoverSets(g, pi, cands, th, covered, 0, nil)
	if err != nil {
		return err
	}
	picks := circle.MaxCover(sets, pop, o.k)
	tSite := time.Since(t).Seconds()
	var gain float64
	if len(picks) > 0 {
		gain = picks[len(picks)-1].Cumulative
	}
	fmt.Fprintf(stdout, "选址 siting k=%d / %d 候选 candidates (%s, 15 min, %d 需求点 demand points): %.3fs, 新增覆盖 newly covered %.0f\n",
		o.k, o.candidates, names[1%len(names)], len(links), tSite, gain)
	return nil
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

// exportPeerInput writes the reversed graph (so peers search from the
// facilities exactly as we do) and the facility nodes per category.
func exportPeerInput(dir string, g *circle.Graph, srcs [][]circle.Source, bound uint32) error {
	n := g.NumNodes()
	from, to, w := peerEdges(g)
	for name, a := range map[string][]uint32{"from.bin": from, "to.bin": to, "w.bin": w} {
		if err := writeU32(filepath.Join(dir, name), a); err != nil {
			return err
		}
	}
	f, err := os.Create(filepath.Join(dir, "cats.txt"))
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	for _, ss := range srcs {
		seen := map[uint32]bool{}
		var ids []string
		for _, s := range ss {
			if !seen[s.Node] && s.Offset == 0 {
				seen[s.Node] = true
				ids = append(ids, strconv.Itoa(int(s.Node)))
			}
		}
		fmt.Fprintln(bw, strings.Join(ids, " "))
	}
	bw.Flush()
	f.Close()
	return os.WriteFile(filepath.Join(dir, "meta.txt"), []byte(fmt.Sprintf("%d %d %d %d\n", n, len(from), len(srcs), bound)), 0o644)
}

// peerEdges lists the reversed edges, keeping only the fastest of parallel
// edges so every engine gets the same simple graph (shortest paths are
// unchanged).
func peerEdges(g *circle.Graph) (from, to, w []uint32) {
	for v := 0; v < g.NumNodes(); v++ {
		lo, hi := g.FirstIn[v], g.FirstIn[v+1]
		for e := lo; e < hi; e++ {
			u, t := g.In[e].Node, g.In[e].Time
			dominated := false
			for f := lo; f < hi; f++ {
				if f != e && g.In[f].Node == u && (g.In[f].Time < t || (g.In[f].Time == t && f < e)) {
					dominated = true
				}
			}
			if !dominated {
				from, to, w = append(from, uint32(v)), append(to, u), append(w, t)
			}
		}
	}
	return
}

func writeU32(path string, a []uint32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	binary.Write(bw, binary.LittleEndian, a)
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

const igraphScript = `import sys, time, array
import igraph
d = sys.argv[1]
n, m, C, bound = map(int, open(d + "/meta.txt").read().split())
def u32(name):
    a = array.array("I")
    with open(d + "/" + name, "rb") as f:
        a.fromfile(f, m)
    return a
src, dst, w = u32("from.bin"), u32("to.bin"), u32("w.bin")
edges = list(zip(src, dst))
weights = list(w)
cats = [[int(x) for x in line.split()] for line in open(d + "/cats.txt")]
for c, fac in enumerate(cats):
    edges.extend((n + c, f) for f in fac)
    weights.extend([0] * len(fac))
g = igraph.Graph(n=n + C, edges=edges, directed=True)
g.es["w"] = weights
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 1
t = float("inf")
for _ in range(reps):
    t0 = time.perf_counter()
    res = [g.distances(source=[n + c], weights="w", mode="out")[0] for c in range(C)]
    t = min(t, time.perf_counter() - t0)
out = array.array("H")
inf = float("inf")
for r in res:
    out.extend(65535 if (x == inf or x > bound) else int(x) for x in r[:n])
with open(d + "/igraph.bin", "wb") as f:
    out.tofile(f)
print(t, igraph.__version__)
`

// pythonWithIgraph finds a python3 that imports igraph (Debian's package
// installs into the system python, which may not be first on PATH).
func pythonWithIgraph() string {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import igraph").Run() == nil {
			return p
		}
	}
	return ""
}

func aptInstall(pkg string, stderr io.Writer) error {
	if _, err := exec.LookPath("apt-get"); err != nil {
		return errors.New("没有 apt-get / apt-get not available")
	}
	fmt.Fprintf(stderr, "安装 / installing %s with apt-get …\n", pkg)
	cmd := exec.Command("apt-get", "install", "-y", "-q", pkg)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		// The package lists may be missing on a fresh machine.
		exec.Command("apt-get", "update", "-q").Run()
		cmd = exec.Command("apt-get", "install", "-y", "-q", pkg)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out2, err2 := cmd.CombinedOutput(); err2 != nil {
			return fmt.Errorf("apt-get install %s 失败 / failed: %v: %s", pkg, err, lastLine(string(out)+string(out2)))
		}
	}
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func runIgraph(dir string, o benchOpts, stderr io.Writer) (float64, string, error) {
	py := pythonWithIgraph()
	if py == "" && o.install {
		if err := aptInstall("python3-igraph", stderr); err != nil {
			return 0, "", err
		}
		py = pythonWithIgraph()
	}
	if py == "" {
		return 0, "", errors.New("python3-igraph 未安装 / python3-igraph is not installed")
	}
	script := filepath.Join(dir, "peer_igraph.py")
	if err := os.WriteFile(script, []byte(igraphScript), 0o644); err != nil {
		return 0, "", err
	}
	fmt.Fprintln(stderr, "运行 igraph / running igraph …")
	out, err := exec.Command(py, script, dir, strconv.Itoa(o.peerRuns)).CombinedOutput()
	if err != nil {
		return 0, "", fmt.Errorf("igraph 运行失败 / igraph failed: %v: %s", err, lastLine(string(out)))
	}
	f := strings.Fields(lastLine(string(out)))
	if len(f) != 2 {
		return 0, "", fmt.Errorf("igraph 输出无法解析 / cannot parse igraph output %q", out)
	}
	t, err := strconv.ParseFloat(f[0], 64)
	return t, f[1], err
}

func compareBinary(path string, lab *circle.Labels) (bool, string) {
	raw, err := os.ReadFile(path)
	n := len(lab.D[0])
	if err != nil || len(raw) != 2*n*len(lab.D) {
		return false, fmt.Sprintf("输出长度不符 / output size mismatch (%v)", err)
	}
	diff, first := 0, ""
	for c := range lab.D {
		for v := 0; v < n; v++ {
			x := binary.LittleEndian.Uint16(raw[2*(c*n+v):])
			if x != lab.D[c][v] {
				if diff == 0 {
					first = fmt.Sprintf(" (first: category %d node %d: %d vs ours %d)", c, v, x, lab.D[c][v])
				}
				diff++
			}
		}
	}
	return diff == 0, fmt.Sprintf("%d/%d 不同 differ%s", diff, n*len(lab.D), first)
}

// psql runs SQL through the psql client against db.
func psql(o benchOpts, db, sql string) (string, error) {
	cmd := exec.Command("psql", o.pg+" dbname="+db, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-")
	cmd.Stdin = strings.NewReader("SET client_min_messages = warning;\n" + sql)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, lastLine(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

const pgBenchDB = "linli_circle_bench"

// pgResult is one timed pgRouting variant and where its labels went.
type pgResult struct {
	name    string
	seconds float64
	out     string
}

// runPgRouting times pgr_drivingDistance twice per category: with an array
// of start vertices and equicost (as planners call it), and from a super
// source joined to the facilities by zero-cost edges (one exact SSSP, like
// igraph).
func runPgRouting(dir string, o benchOpts, g *circle.Graph, srcs [][]circle.Source, bound uint32, stderr io.Writer) ([]pgResult, string, error) {
	if _, err := exec.LookPath("psql"); err != nil {
		return nil, "", errors.New("没有 psql 客户端 / the psql client is not installed")
	}
	// A database of its own, so the extensions never touch other databases.
	exists, err := psql(o, "postgres", fmt.Sprintf("SELECT 1 FROM pg_database WHERE datname = '%s';", pgBenchDB))
	if err != nil {
		return nil, "", fmt.Errorf("无法连接 PostgreSQL / cannot reach PostgreSQL: %v", err)
	}
	if exists != "1" {
		if _, err := psql(o, "postgres", "CREATE DATABASE "+pgBenchDB+";"); err != nil {
			return nil, "", err
		}
	}
	ver, err := psql(o, pgBenchDB, "CREATE EXTENSION IF NOT EXISTS pgrouting CASCADE; SELECT pgr_version();")
	if err != nil && o.install {
		if ierr := aptInstall("postgresql-15-pgrouting", stderr); ierr != nil {
			return nil, "", ierr
		}
		ver, err = psql(o, pgBenchDB, "CREATE EXTENSION IF NOT EXISTS pgrouting CASCADE; SELECT pgr_version();")
	}
	if err != nil {
		return nil, "", fmt.Errorf("pgRouting 不可用 / pgRouting unavailable: %v", err)
	}
	// Load the reversed graph; ids are shifted by one since pgRouting
	// treats vertex 0 as "no vertex" in places.
	csvPath := filepath.Join(dir, "edges.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		return nil, "", err
	}
	bw := bufio.NewWriter(f)
	from, to, w := peerEdges(g)
	for i := range from {
		fmt.Fprintf(bw, "%d,%d,%d,%d\n", i+1, from[i]+1, to[i]+1, w[i])
	}
	bw.Flush()
	f.Close()
	var fac strings.Builder
	for c, ss := range srcs {
		seen := map[uint32]bool{}
		for _, s := range ss {
			if !seen[s.Node] {
				seen[s.Node] = true
				fmt.Fprintf(&fac, "%d,%d\n", c, s.Node+1)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "fac.csv"), []byte(fac.String()), 0o644); err != nil {
		return nil, "", err
	}
	fmt.Fprintln(stderr, "加载 pgRouting 数据 / loading pgRouting tables …")
	defer psql(o, pgBenchDB, "DROP TABLE IF EXISTS circle_edges, circle_res, circle_fac;")
	if _, err := psql(o, pgBenchDB, fmt.Sprintf(`DROP TABLE IF EXISTS circle_edges, circle_res, circle_fac;
CREATE UNLOGGED TABLE circle_edges(id bigint, source bigint, target bigint, cost float8);
\copy circle_edges FROM '%s' WITH (FORMAT csv)
CREATE UNLOGGED TABLE circle_res(cat int, node bigint, agg_cost float8);
CREATE UNLOGGED TABLE circle_fac(cat int, node bigint);
\copy circle_fac FROM '%s' WITH (FORMAT csv)
ANALYZE circle_edges;
ANALYZE circle_fac;`, csvPath, filepath.Join(dir, "fac.csv"))); err != nil {
		return nil, "", err
	}
	n := g.NumNodes()
	var equi, super strings.Builder
	for c, ss := range srcs {
		seen := map[uint32]bool{}
		var ids []string
		for _, s := range ss {
			if !seen[s.Node] {
				seen[s.Node] = true
				ids = append(ids, strconv.Itoa(int(s.Node)+1))
			}
		}
		fmt.Fprintf(&equi, "INSERT INTO circle_res SELECT %d, node, agg_cost FROM pgr_drivingDistance('SELECT id, source, target, cost FROM circle_edges', ARRAY[%s]::bigint[], %d, directed => true, equicost => true);\n",
			c, strings.Join(ids, ","), bound)
		fmt.Fprintf(&super, "INSERT INTO circle_res SELECT %d, node, agg_cost FROM pgr_drivingDistance('SELECT id, source, target, cost FROM circle_edges UNION ALL SELECT 2000000000 + node, %d, node, 0 FROM circle_fac WHERE cat = %d', %d, %d, directed => true) WHERE node <= %d;\n",
			c, n+1+c, c, n+1+c, bound, n)
	}
	var res []pgResult
	variants := []struct{ name, sql string }{{"equicost", equi.String()}, {"super-source", super.String()}}
	if n > o.equiMax {
		fmt.Fprintf(stderr, "跳过 pgRouting equicost：%d 节点超过 --pg-equicost-max-nodes %d（避免数据库进程内存耗尽）/ skipping pgRouting equicost: %d nodes exceed --pg-equicost-max-nodes %d (its per-start memory gets the server OOM-killed)\n",
			n, o.equiMax, n, o.equiMax)
		variants = variants[1:]
	}
	for _, v := range variants {
		fmt.Fprintf(stderr, "运行 pgRouting %s / running pgRouting %s …\n", v.name, v.name)
		if _, err := psql(o, pgBenchDB, "TRUNCATE circle_res;"); err != nil {
			return nil, "", err
		}
		t := time.Now()
		if _, err := psql(o, pgBenchDB, v.sql); err != nil {
			return nil, "", err
		}
		el := time.Since(t).Seconds()
		out := filepath.Join(dir, "pg-"+v.name+".csv")
		if _, err := psql(o, pgBenchDB, fmt.Sprintf(`\copy (SELECT cat, node - 1, min(agg_cost) FROM circle_res GROUP BY 1, 2) TO '%s' WITH (FORMAT csv)`, out)); err != nil {
			return nil, "", err
		}
		res = append(res, pgResult{v.name, el, out})
	}
	return res, ver, nil
}

func comparePg(path string, lab *circle.Labels) (bool, string) {
	f, err := os.Open(path)
	if err != nil {
		return false, err.Error()
	}
	defer f.Close()
	n := len(lab.D[0])
	seen := make([][]bool, len(lab.D))
	for c := range seen {
		seen[c] = make([]bool, n)
	}
	diff, larger, missing, first := 0, 0, 0, ""
	note := func(s string) {
		if diff == 0 {
			first = " (first: " + s + ")"
		}
		diff++
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ",")
		if len(p) != 3 {
			continue
		}
		c, _ := strconv.Atoi(p[0])
		v, _ := strconv.Atoi(p[1])
		x, _ := strconv.ParseFloat(p[2], 64)
		if c < 0 || c >= len(lab.D) || v < 0 || v >= n || x > float64(lab.Bound) {
			continue
		}
		seen[c][v] = true
		if uint16(x) != lab.D[c][v] || x != math.Trunc(x) {
			if x > float64(lab.D[c][v]) {
				larger++
			}
			note(fmt.Sprintf("category %d node %d: %v vs ours %d", c, v, x, lab.D[c][v]))
		}
	}
	for c := range lab.D {
		for v := 0; v < n; v++ {
			if !seen[c][v] && lab.D[c][v] != circle.Unreached {
				missing++
				note(fmt.Sprintf("category %d node %d missing in pgRouting, ours %d", c, v, lab.D[c][v]))
			}
		}
	}
	msg := fmt.Sprintf("%d/%d 不同 differ%s", diff, n*len(lab.D), first)
	if diff > 0 {
		msg += fmt.Sprintf("; %d 个大于我方（非最短）/ larger than ours (not shortest), %d 个缺失 / missing, %d 个小于我方 / smaller than ours",
			larger, missing, diff-larger-missing)
	}
	return diff == 0, msg
}
