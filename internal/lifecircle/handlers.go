package lifecircle

import (
	"context"
	"embed"
	"errors"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"

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
}

// ParsePages prepares the page.
func ParsePages(rd *web.Renderer) *web.Pages { return rd.Parse(templates, "templates/*.html") }

// Register adds the routes.
func (h *Handlers) Register(rt *web.Router) {
	rt.Page("GET /lifecircle", h.page)
	rt.Page("POST /lifecircle", h.page)
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
	Cells         []cell
	Facs          []point
	Demand        []point
	Picks         []pick
	SiteGain      float64
	SiteBefore    float64
	K             int
	Synthetic     bool
	Far           int
	FarFacilities int
	Legend        []legend
	mapScale      func(lon, lat float64) (float64, float64)
}

type cell struct {
	X, Y, W, H float64
	Fill       string
}
type point struct{ X, Y float64 }
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
type legend struct{ Label, Fill string }

var legends = []legend{{"≤5", "#1a7f37"}, {"≤10", "#7bc96f"}, {"≤15", "#f2cc60"}, {"≤30", "#e6843c"}, {">30", "#b3261e"}}

func colour(minutes float64) string {
	switch {
	case minutes <= 5:
		return legends[0].Fill
	case minutes <= 10:
		return legends[1].Fill
	case minutes <= 15:
		return legends[2].Fill
	case minutes <= 30:
		return legends[3].Fill
	}
	return legends[4].Fill
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
		h.Pages.Fail(w, r, "lifecircle", web.View{Title: title, Data: v}, err)
		return
	}
	h.Pages.Render(w, r, http.StatusOK, "lifecircle", web.View{Title: title, Notice: notice, Data: v})
}

// pageView computes the page of the division asked for (the principal's
// own by default): a county to choose above county level, else the
// coverage, gaps and map of a tier and category, and on POST the k sites
// to add. The view is filled as far as it got when err is not nil.
func (h *Handlers) pageView(r *http.Request) (view, web.Msg, error) {
	ctx := r.Context()
	p := access.From(ctx)
	code := r.FormValue("division")
	if code == "" {
		code = p.Division
	}
	var v view
	if !divisions.ValidCode(code) || !access.BusinessScope(p).Contains(code) {
		return v, web.Msg{}, outOfReach(code)
	}
	path, err := h.Svc.Divs.Path(ctx, code)
	if errors.Is(err, db.ErrNotFound) {
		return v, web.Msg{}, outOfReach(code)
	} else if err != nil {
		return v, web.Msg{}, err
	}
	v = view{Div: path[len(path)-1], Path: path[:len(path)-1], CatName: map[string]string{}, Legend: legends}
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
		v.Counties, err = h.counties(ctx, code)
		return v, web.Msg{}, err
	}
	v.County = code[:6]
	st, err := h.Svc.Study(ctx, v.County)
	if err != nil {
		return v, web.Msg{}, err
	}
	v.Synthetic = st.Synthetic
	v.Far = len(st.Far)
	v.FarFacilities = h.Svc.FarFacilities(v.County)
	tierID := r.FormValue("tier")
	if tierID == "" {
		tierID = TierFor(v.Div.UrbanRural)
	}
	tier, ok := tiers.Tier(tierID)
	if !ok {
		return v, web.Msg{}, unknownTier(tierID)
	}
	v.Tier = tier
	v.Category = r.FormValue("category")
	if v.Category == "" {
		v.Category = tier.Categories[0]
	}
	if !slices.Contains(tier.Categories, v.Category) {
		m := fault.M("该圈层没有设施类别："+v.Category, "the tier has no category "+v.Category)
		return v, web.Msg{}, fault.Invalid(m, fault.Field("category", m))
	}
	cv, err := st.Coverage(tier.ID)
	if err != nil {
		return v, web.Msg{}, err
	}
	v.Rows, v.Total = h.rows(cv, code)
	names, err := h.names(ctx, code)
	if err != nil {
		return v, web.Msg{}, err
	}
	for i := range v.Rows {
		v.Rows[i].Name = names[v.Rows[i].Unit]
	}
	for _, g := range cv.Gaps(0.8) {
		if access.Subtree(code).Contains(g.Unit) && len(v.Gaps) < 30 {
			m := "—"
			if !math.IsInf(g.MedianMinutes, 0) {
				m = strconv.FormatFloat(g.MedianMinutes, 'f', 1, 64)
			}
			v.Gaps = append(v.Gaps, gapRow{Gap: g, Name: names[g.Unit], Median: m})
		}
	}
	h.drawMap(&v, st, code)
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

// outOfReach is the answer for a division that does not exist or lies
// outside the principal's jurisdiction: the two read the same.
func outOfReach(code string) *fault.Error {
	return fault.NotFound(fault.M("区划 "+code+" 不存在或不在您的管辖范围内", "division "+code+" not found or outside your jurisdiction"))
}

func unknownTier(id string) *fault.Error {
	return fault.Invalid(fault.M("未知圈层："+id, "unknown tier: "+id), fault.Field("tier", fault.M("见 linli help circle", "see linli help circle")))
}

// counties lists the counties below a city or the province.
func (h *Handlers) counties(ctx context.Context, code string) ([]divisions.Division, error) {
	kids, _, err := h.Svc.Divs.Search(ctx, code, code, 0, 200)
	if err != nil {
		return nil, err
	}
	var out []divisions.Division
	for _, k := range kids {
		if k.Level == 3 {
			out = append(out, k)
		}
	}
	return out, nil
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
// demand area into a grid of cells (a few thousand rects, not 100k lines).
func (h *Handlers) drawMap(v *view, st *circle.Study, code string) {
	g := st.Graph
	ci := -1
	for i, c := range st.Labels.Categories {
		if c == v.Category {
			ci = i
		}
	}
	minLo, minLa, maxLo, maxLa := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, d := range st.Demand {
		if access.Subtree(code).Contains(d.Unit) {
			minLo, maxLo = math.Min(minLo, d.Lon), math.Max(maxLo, d.Lon)
			minLa, maxLa = math.Min(minLa, d.Lat), math.Max(maxLa, d.Lat)
		}
	}
	if math.IsInf(minLo, 1) {
		return
	}
	pad := 0.006
	minLo, maxLo, minLa, maxLa = minLo-pad, maxLo+pad, minLa-pad, maxLa+pad
	const W, H, N = 400.0, 400.0, 50
	sx := W / (maxLo - minLo)
	sy := H / (maxLa - minLa)
	s := math.Min(sx, sy)
	xy := func(lon, lat float64) (float64, float64) { return (lon - minLo) * s, H - (lat-minLa)*s }
	best := make([]float64, N*N)
	for i := range best {
		best[i] = -1
	}
	if ci >= 0 {
		for n := range g.Lon {
			x, y := xy(g.Lon[n], g.Lat[n])
			if x < 0 || y < 0 || x >= W || y >= H {
				continue
			}
			cx, cy := int(x/W*N), int(y/H*N)
			t := st.Labels.D[ci][n]
			m := math.Inf(1)
			if t != circle.Unreached {
				m = float64(t) / 600
			}
			k := cy*N + cx
			if best[k] < 0 || m < best[k] {
				best[k] = m
			}
		}
	}
	for k, m := range best {
		if m < 0 {
			continue
		}
		v.Cells = append(v.Cells, cell{X: float64(k%N) * W / N, Y: float64(k/N) * H / N, W: W / N, H: H / N, Fill: colour(m)})
	}
	for _, f := range st.Facilities {
		if f.Category == v.Category {
			x, y := xy(f.Lon, f.Lat)
			if x >= 0 && y >= 0 && x <= W && y <= H {
				v.Facs = append(v.Facs, point{x, y})
			}
		}
	}
	for _, d := range st.Demand {
		if access.Subtree(code).Contains(d.Unit) {
			x, y := xy(d.Lon, d.Lat)
			v.Demand = append(v.Demand, point{x, y})
		}
	}
	v.mapScale = func(lon, lat float64) (float64, float64) { return xy(lon, lat) }
}

// site picks k new sites of the chosen category among road nodes inside the
// division's demand area (at most 10,000, evenly sampled) by maximal covering.
func (h *Handlers) site(v *view, st *circle.Study, k int) error {
	g := st.Graph
	var cands [][]circle.Source
	var nodes []int
	for n := range g.Lon {
		if x, y := v.mapScale(g.Lon[n], g.Lat[n]); x >= 0 && y >= 0 && x <= 400 && y <= 400 {
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
	v.SiteBefore = res.CoveredBefore
	for i, p := range res.Picks {
		n := nodes[p.Site*step]
		x, y := v.mapScale(g.Lon[n], g.Lat[n])
		v.Picks = append(v.Picks, pick{N: i + 1, X: x, Y: y, Lon: g.Lon[n], Lat: g.Lat[n], Gain: p.Gain, Cum: p.Cumulative})
		v.SiteGain = p.Cumulative
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
