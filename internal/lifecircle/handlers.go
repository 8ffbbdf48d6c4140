package lifecircle

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"math"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"weak"

	"linli/internal/access"
	"linli/internal/circle"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Handlers serve the life-circle page and API.
type Handlers struct {
	Svc   *Service
	Pages *web.Pages

	// Encoded maps by study, division and category: a study is replaced,
	// never changed, so an entry stays right as long as its study lives;
	// the key holds the study weakly, so a replaced study can be freed.
	pngMu sync.Mutex
	pngs  map[pngKey][]byte
	// The page's figures (coverage rows, gaps, map) by the same key: they
	// too change only with the study, and computing them took most of a
	// county page's time.
	partsMu sync.Mutex
	parts   map[partsKey]*viewParts
}

type partsKey struct {
	pngKey
	tier string
}

// viewParts are what pageView computes from a study for a division, tier
// and category; shared by every viewer, never changed once made.
type viewParts struct {
	rows     []UnitRow
	total    UnitRow
	gaps     []gapRow
	ras      *Raster
	legend   []legend
	mapScale func(lon, lat float64) (float64, float64)
}

type pngKey struct {
	st             weak.Pointer[circle.Study]
	code, category string
}

// maxMaps bounds the encoded maps kept (about 10 KB each).
const maxMaps = 256

// ParsePages prepares the page.
func ParsePages(rd *web.Renderer) *web.Pages { return rd.Parse(templates, "templates/*.html") }

// Register adds the routes.
func (h *Handlers) Register(rt *web.Router) {
	rt.Page("GET /lifecircle", h.page)
	rt.Page("POST /lifecircle", h.page)
	rt.Page("GET /lifecircle/map.png", h.mapPNG)
	rt.API("GET /api/v1/lifecircle/coverage", web.Op{Summary: "生活圈覆盖率 / Life-circle coverage of a division's units", Tag: "lifecircle",
		Params: []web.Param{{Name: "division", Required: true}, {Name: "tier", Description: "plan-urban-15, plan-rural-30, gb-5, gb-10, gb-15 …"}}, Response: []UnitRow{}}, h.api)
}

// UnitRow is one unit's coverage for a tier.
type UnitRow struct {
	Unit         string    `json:"division_code"`
	Name         string    `json:"name"`
	Population   float64   `json:"population"`
	Shares       []float64 `json:"shares"` // per tier category, population share within the threshold
	Completeness float64   `json:"completeness"`
}

type view struct {
	Reach         access.Scope // the viewer's jurisdiction
	Div           divisions.Division
	Path          []divisions.Division
	County        string
	Counties      []divisions.Division
	Tier          *circle.Tier
	Tiers         []circle.Tier
	Cats          []circle.Category
	Category      string
	CatName       map[string]string
	Rows          []UnitRow
	Total         UnitRow
	Gaps          []gapRow
	Map           *Raster // minutes to the category, drawn as one PNG
	MapURL        string
	Picks         []pick
	SiteGain      float64
	SiteBefore    float64
	K             int
	Synthetic     bool
	Far           int
	FarFacilities int
	Legend        []legend
	Network       web.Msg // which road network the minutes are walked on, in words
	NoMap         web.Msg
	NoDemand      web.Msg
	mapScale      func(lon, lat float64) (float64, float64)
}

type pick struct {
	N         int
	X, Y      float64
	Lon, Lat  float64
	Gain, Cum float64
}
type gapRow struct {
	circle.Gap
	Name   string
	Median string
}

// legend is one colour band of the map, in words and with its share of
// the mapped area (colour is never the only cue).
type legend struct {
	Band  int
	Label web.Msg
	Cells int
	Share string
}

// bandLabels name the bands of Bands, in order.
func bandLabels() []web.Msg {
	return []web.Msg{web.M("5 分钟以内", "within 5 min"), web.M("5–10 分钟", "5–10 min"), web.M("10–15 分钟", "10–15 min"),
		web.M("15–30 分钟", "15–30 min"), web.M("超过 30 分钟或无法到达", "over 30 min or not reachable")}
}

func (h *Handlers) page(w http.ResponseWriter, r *http.Request) {
	v, notice, err := h.pageView(r)
	title := web.M("生活圈", "Life circles")
	if v.Div.Name != "" && len(v.Counties) == 0 {
		title = web.M("生活圈 · "+v.Div.Name, "Life circles · "+v.Div.Name)
	}
	if err != nil {
		if v.Tier == nil { // the page needs a tier to draw anything
			v = view{}
		}
		h.Pages.Fail(w, r, "lifecircle", web.View{Title: title, Data: v, Crumbs: lcCrumbs(v)}, err)
		return
	}
	h.Pages.Render(w, r, http.StatusOK, "lifecircle", web.View{Title: title, Notice: notice, Data: v, Crumbs: lcCrumbs(v)})
}

// lcCrumbs lead from the province down to the division shown.
func lcCrumbs(v view) []web.Crumb {
	if len(v.Path) == 0 {
		return nil
	}
	var out []web.Crumb
	for _, p := range v.Path {
		if v.Reach.Contains(p.Code) { // no link to a page the viewer cannot open
			out = append(out, web.Crumb{Href: "/lifecircle?division=" + p.Code, Label: web.M(p.Name, p.Name)})
		}
	}
	return append(out, web.Crumb{Label: web.M(v.Div.Name, v.Div.Name)})
}

// mapPNG sends the page's map as one PNG. The URL names the division,
// tier and category; the ETag is the image's hash, so a browser asks again
// after the study changes and gets 304 while it has not.
func (h *Handlers) mapPNG(w http.ResponseWriter, r *http.Request) {
	v, st, code, err := h.setup(r)
	if err == nil && st == nil {
		m := fault.M("须给出县级或以下的区划", "give a county-level or lower division")
		err = fault.Invalid(m, fault.Field("division", m))
	}
	if err != nil {
		h.Pages.Fail(w, r, "lifecircle", web.View{Title: web.M("生活圈", "Life circles"), Data: view{}}, err)
		return
	}
	b, err := h.encodedMap(st, code, v.Category)
	if err != nil {
		h.Pages.Fail(w, r, "lifecircle", web.View{Title: web.M("生活圈", "Life circles"), Data: view{}}, err)
		return
	}
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// encodedMap is the PNG of a category's map over a division, drawn once
// per study.
func (h *Handlers) encodedMap(st *circle.Study, code, category string) ([]byte, error) {
	k := pngKey{weak.Make(st), code, category}
	h.pngMu.Lock()
	b, ok := h.pngs[k]
	h.pngMu.Unlock()
	if ok {
		return b, nil
	}
	ras, _, drawn := NewRaster(st, category, access.Subtree(code).Contains)
	if !drawn {
		ras = &Raster{Cells: make([]int8, MapCells*MapCells)}
		for i := range ras.Cells {
			ras.Cells[i] = -1
		}
	}
	b, err := ras.PNG()
	if err != nil {
		return nil, err
	}
	h.pngMu.Lock()
	if h.pngs == nil || len(h.pngs) >= maxMaps {
		h.pngs = map[pngKey][]byte{} // simple and bounded: start over when full
	}
	h.pngs[k] = b
	h.pngMu.Unlock()
	return b, nil
}

// pageView computes the page of the division asked for (the principal's
// own by default): a county to choose above county level, else the
// coverage, gaps and map of a tier and category, and on POST the k sites
// to add. The view is filled as far as it got when err is not nil.
func (h *Handlers) pageView(r *http.Request) (view, web.Msg, error) {
	v, st, code, err := h.setup(r)
	if err != nil || st == nil {
		return v, web.Msg{}, err
	}
	tier := v.Tier
	parts, err := h.viewParts(r.Context(), st, code, tier.ID, v.Category)
	if err != nil {
		return v, web.Msg{}, err
	}
	// Copies: a view may be filled further (sites on POST); the parts are shared.
	v.Rows, v.Total, v.Gaps = slices.Clone(parts.rows), parts.total, slices.Clone(parts.gaps)
	v.Map, v.Legend, v.mapScale = parts.ras, slices.Clone(parts.legend), parts.mapScale
	v.MapURL = "/lifecircle/map.png?" + url.Values{"division": {code}, "tier": {tier.ID}, "category": {v.Category}}.Encode()
	if r.Method != http.MethodPost {
		return v, web.Msg{}, nil
	}
	k, err := strconv.Atoi(r.FormValue("k"))
	if err != nil || k < 1 || k > 50 {
		m := fault.M("新增设施数 k 须为 1–50", "k must be from 1 to 50")
		return v, web.Msg{}, fault.Invalid(m, fault.Field("k", m))
	}
	v.K = k
	if err := h.site(&v, st, k); err != nil {
		return v, web.Msg{}, err
	}
	if len(v.Picks) == 0 {
		return v, web.M("区域内人口已全部在该类设施的服务范围内，无需新增", "everyone in the area is already within reach of this category: no site adds coverage"), nil
	}
	return v, web.Msg{}, nil
}

// viewParts computes the page's figures of a division, tier and category
// from the study, once per study.
func (h *Handlers) viewParts(ctx context.Context, st *circle.Study, code, tier, category string) (*viewParts, error) {
	k := partsKey{pngKey{weak.Make(st), code, category}, tier}
	h.partsMu.Lock()
	p, ok := h.parts[k]
	h.partsMu.Unlock()
	if ok {
		return p, nil
	}
	cv, err := st.Coverage(tier)
	if err != nil {
		return nil, err
	}
	p = &viewParts{}
	p.rows, p.total = h.rows(cv, code)
	names, err := h.names(ctx, code)
	if err != nil {
		return nil, err
	}
	for i := range p.rows {
		p.rows[i].Name = names[p.rows[i].Unit]
	}
	for _, g := range cv.Gaps(0.8) {
		if access.Subtree(code).Contains(g.Unit) && len(p.gaps) < 30 {
			m := "—"
			if !math.IsInf(g.MedianMinutes, 0) {
				m = strconv.FormatFloat(g.MedianMinutes, 'f', 1, 64)
			}
			g.MissingPop = math.Round(g.MissingPop)
			p.gaps = append(p.gaps, gapRow{Gap: g, Name: names[g.Unit], Median: m})
		}
	}
	var mv view
	mv.Category = category
	h.drawMap(&mv, st, code)
	p.ras, p.legend, p.mapScale = mv.Map, mv.Legend, mv.mapScale
	h.partsMu.Lock()
	if h.parts == nil || len(h.parts) >= maxMaps {
		h.parts = map[partsKey]*viewParts{} // bounded as the maps are
	}
	h.parts[k] = p
	h.partsMu.Unlock()
	return p, nil
}

// setup reads the division, tier and category asked for and the county's
// study; st is nil above a county, where the view lists counties to choose.
func (h *Handlers) setup(r *http.Request) (v view, st *circle.Study, code string, err error) {
	ctx := r.Context()
	p := access.From(ctx)
	code = r.FormValue("division")
	if code == "" {
		code = p.Division
	}
	if !divisions.ValidCode(code) || !access.BusinessScope(p).Contains(code) {
		return v, nil, code, outOfReach(code)
	}
	path, err := h.Svc.Divs.Path(ctx, code)
	if errors.Is(err, db.ErrNotFound) {
		return v, nil, code, outOfReach(code)
	} else if err != nil {
		return v, nil, code, err
	}
	v = view{Div: path[len(path)-1], Path: path[:len(path)-1], Reach: access.ScopeOf(ctx), CatName: map[string]string{},
		NoMap:    web.M("没有需求点，无法绘制地图", "No demand points, so there is no map"),
		NoDemand: web.M("没有需求点：请先录入社区人口与设施", "No demand points: enter community population and facilities first")}
	tiers := circle.DefaultTiers()
	v.Tiers, v.Cats = tiers.Tiers, tiers.Categories
	lang := web.Lang(r)
	for _, c := range tiers.Categories {
		v.CatName[c.ID] = c.Zh
		if lang == "en" {
			v.CatName[c.ID] = c.En
		}
	}
	if len(code) < 6 { // above a county: choose one
		v.Counties, err = h.counties(ctx, v.Div)
		return v, nil, code, err
	}
	v.County = code[:6]
	st, err = h.Svc.Study(ctx, v.County)
	if err != nil {
		return v, nil, code, err
	}
	v.Synthetic = st.Synthetic
	v.Network = network(st.Graph, st.Synthetic, h.Svc.RoadsDir)
	v.Far = len(st.Far)
	v.FarFacilities = h.Svc.FarFacilities(v.County)
	tierID := r.FormValue("tier")
	if tierID == "" {
		tierID = TierFor(v.Div.UrbanRural)
	}
	tier, ok := tiers.Tier(tierID)
	if !ok {
		return v, nil, code, unknownTier(tierID)
	}
	v.Tier = tier
	v.Category = r.FormValue("category")
	if v.Category == "" {
		v.Category = tier.Categories[0]
	}
	if !slices.Contains(tier.Categories, v.Category) {
		m := fault.M("该圈层没有设施类别："+v.Category, "the tier has no category "+v.Category)
		return v, nil, code, fault.Invalid(m, fault.Field("category", m))
	}
	return v, st, code, nil
}

// outOfReach is the answer for a division that does not exist or lies
// outside the principal's jurisdiction: the two read the same.
func outOfReach(code string) *fault.Error {
	return fault.NotFound(fault.M("区划 "+code+" 不存在或不在您的管辖范围内", "division "+code+" not found or outside your jurisdiction"))
}

func unknownTier(id string) *fault.Error {
	return fault.Invalid(fault.M("未知圈层："+id, "unknown tier: "+id), fault.Field("tier", fault.M("见 linli help circle", "see linli help circle")))
}

// counties lists the counties below a city or the province, in code
// order. A county's parent is its city, so the tree's parent index finds
// them in one read of about a hundred rows; a search of the subtree read
// and sorted all 27,000 divisions of the province on every view.
func (h *Handlers) counties(ctx context.Context, d divisions.Division) ([]divisions.Division, error) {
	return db.Collect(ctx, h.Svc.DB.R, func(row db.Scanner) (divisions.Division, error) {
		k := divisions.Division{Level: 3}
		var city string
		err := row.Scan(&k.Code, &k.Name, &city)
		k.ParentCode = divisions.ParentCode(k.Code)
		k.FullName = d.FullName + city + k.Name // as the tree names it: the ancestors' names, top first
		return k, err
	}, countiesSQL(d.Level), d.Code)
}

// countiesSQL reads the code and name of the counties below a division of
// the level (the province's or a city's code as $1), and the city's name
// below the province.
func countiesSQL(level int) string {
	if level == 1 {
		return `SELECT c.code, c.name, p.name FROM divisions_tree p JOIN divisions_tree c ON c.parent_code = p.code
			WHERE p.parent_code = $1 ORDER BY c.code`
	}
	return `SELECT c.code, c.name, '' FROM divisions_tree c WHERE c.parent_code = $1 ORDER BY c.code`
}

// names are the names of the divisions within code, by code.
func (h *Handlers) names(ctx context.Context, code string) (map[string]string, error) {
	kids, _, err := h.Svc.Divs.Search(ctx, code, code, 0, 1000)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, k := range kids {
		names[k.Code] = k.Name
	}
	return names, nil
}

// rows is the coverage of the division's children (or the unit itself).
func (h *Handlers) rows(cv *circle.Coverage, code string) ([]UnitRow, UnitRow) {
	n := len(code)
	if l := divisions.LevelOf(code); l < 5 {
		n = divisions.CodeLen[l+1]
	}
	conv := func(u circle.UnitCoverage) UnitRow {
		row := UnitRow{Unit: u.Unit, Population: u.Pop, Completeness: u.Completeness()}
		for i := range u.CoveredPop {
			row.Shares = append(row.Shares, u.Share(i))
		}
		return row
	}
	var out []UnitRow
	for _, u := range cv.Rollup(n) {
		if access.Subtree(code).Contains(u.Unit) {
			out = append(out, conv(u))
		}
	}
	return out, conv(cv.Subtree(code))
}

// drawMap rasterises minutes to the chosen category over the division's
// demand area into a grid of cells, sent as one PNG (see Raster).
func (h *Handlers) drawMap(v *view, st *circle.Study, code string) {
	ras, xy, ok := NewRaster(st, v.Category, access.Subtree(code).Contains)
	if !ok {
		return
	}
	v.Map = ras
	total := 0
	for _, n := range ras.Bands {
		total += n
	}
	for i, m := range bandLabels() {
		l := legend{Band: i, Label: m, Cells: ras.Bands[i]}
		if total > 0 {
			l.Share = strconv.FormatFloat(math.Round(100*float64(ras.Bands[i])/float64(total)), 'f', 0, 64) + "%"
		}
		v.Legend = append(v.Legend, l)
	}
	v.mapScale = xy
}

// site picks k new sites of the chosen category among road nodes inside the
// division's demand area (at most 10,000, evenly sampled) by maximal covering.
func (h *Handlers) site(v *view, st *circle.Study, k int) error {
	g := st.Graph
	if v.mapScale == nil {
		return fault.Unprocessable(fault.M("区域内没有需求点", "no demand points in the area"))
	}
	var cands [][]circle.Source
	var nodes []int
	for n := range g.Lon {
		if x, y := v.mapScale(g.Lon[n], g.Lat[n]); x >= 0 && y >= 0 && x <= MapSize && y <= MapSize {
			nodes = append(nodes, n)
		}
	}
	step := max(1, len(nodes)/10000)
	for i := 0; i < len(nodes); i += step {
		cands = append(cands, []circle.Source{{Node: uint32(nodes[i])}})
	}
	if len(cands) == 0 {
		return fault.Unprocessable(fault.M("区域内没有路网节点", "no road nodes in the area"))
	}
	res, err := st.Site(v.Category, v.Tier.Minutes, k, cands, nil)
	if err != nil {
		return err
	}
	v.SiteBefore = math.Round(res.CoveredBefore)
	for i, p := range res.Picks {
		n := nodes[p.Site*step]
		x, y := v.mapScale(g.Lon[n], g.Lat[n])
		v.Picks = append(v.Picks, pick{N: i + 1, X: x, Y: y, Lon: g.Lon[n], Lat: g.Lat[n], Gain: math.Round(p.Gain), Cum: math.Round(p.Cumulative)})
		v.SiteGain = math.Round(p.Cumulative)
	}
	return nil
}

func (h *Handlers) api(w http.ResponseWriter, r *http.Request) error {
	p := access.From(r.Context())
	code := r.URL.Query().Get("division")
	if !divisions.ValidCode(code) || len(code) < 6 {
		return fault.Invalid(web.M("须给出县级或以下的区划代码", "give a county-level or lower division code"), fault.Field("division", web.M("6/9/12 位代码", "6, 9 or 12 digits")))
	}
	if !access.BusinessScope(p).Contains(code) {
		return outOfReach(code)
	}
	if _, err := h.Svc.Divs.Get(r.Context(), code); errors.Is(err, db.ErrNotFound) {
		return outOfReach(code)
	} else if err != nil {
		return err
	}
	tier := r.URL.Query().Get("tier")
	if tier == "" {
		tier = TierFor(divisions.UrbanRural(code))
	}
	if _, ok := circle.DefaultTiers().Tier(tier); !ok {
		return unknownTier(tier)
	}
	st, err := h.Svc.Study(r.Context(), code[:6])
	if err != nil {
		return err
	}
	cv, err := st.Coverage(tier)
	if err != nil {
		return err
	}
	rows, _ := h.rows(cv, code)
	sort.Slice(rows, func(i, j int) bool { return rows[i].Unit < rows[j].Unit })
	web.WriteJSON(w, 200, rows)
	return nil
}

// network says in words which road network the minutes are walked on.
func network(g *circle.Graph, synthetic bool, dir string) web.Msg {
	nodes, segs := web.Group(len(g.Lon)), web.Group(len(g.Head)/2) // walking: every road both ways
	if synthetic {
		return web.M("路网：合成路网（未配置真实路网，请联系系统管理员），"+nodes+" 个路口、"+segs+" 段道路，仅供演示。",
			"Road network: synthetic (no real network is configured; ask the system administrator), "+nodes+" junctions and "+segs+" road segments, for demonstration only.")
	}
	src, srcEN := "真实道路数据", "real road data"
	if len(g.ExtID) > 0 {
		src, srcEN = "OpenStreetMap 道路数据", "OpenStreetMap road data"
	}
	name := filepath.Base(dir)
	return web.M("路网："+src+"（"+name+"，"+nodes+" 个路口、"+segs+" 段道路），按步行速度计算。",
		"Road network: "+srcEN+" ("+name+", "+nodes+" junctions and "+segs+" road segments), at walking speed.")
}
