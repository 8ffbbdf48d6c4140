package indicators

import (
	"context"
	"embed"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/memo"
	"linli/internal/module"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Handlers serve the indicator API and pages.
type Handlers struct {
	Engine    *Engine
	Store     *Store
	Divisions module.Divisions
	Pages     *web.Pages
	Inds      []Indicator
	// cache keeps computed dashboard pages (nil: none); see PageTTL.
	cache *memo.Cache[pageData]
}

// Row is an indicator with its value for one division.
type Row struct {
	Indicator
	Value
	StatusZH string `json:"status_zh"`
	StatusEN string `json:"status_en"`
}

// Register adds the routes.
func (h *Handlers) Register(rt *web.Router) {
	params := []web.Param{{Name: "division", Description: "区划代码，缺省为本人辖区 / division code, default your own", Required: false},
		{Name: "period", Type: "integer", Description: "年份 / year"},
		{Name: "month", Description: "月度指标的月份，如 2026-11；缺省为全年（各月均值）/ month of monthly indicators, e.g. 2026-11; default the year (mean of its months)"}}
	rt.API("GET /api/v1/indicators", web.Op{Summary: "规划指标一览 / The plan's indicators for a division and year", Tag: "indicators", Params: params, Response: []Row{}}, h.apiList)
	rt.API("GET /api/v1/indicators/{id}", web.Op{Summary: "单项指标及下级分解 / One indicator, optionally with children", Tag: "indicators",
		Params: append(params, web.Param{Name: "children", Type: "boolean"}), Response: IndicatorDetail{}}, h.apiOne)
	rt.API("GET /api/v1/indicator-catalogue", web.Op{Summary: "指标目录与公式 / Catalogue with formulas", Tag: "indicators", Response: []Indicator{}}, h.apiCatalogue)
	rt.API("PUT /api/v1/indicator-reports/{code}/{year}", web.Op{Summary: "填报数据（草稿）/ Enter reported data (draft)", Tag: "indicators", Body: map[string]float64{}, Response: []Reported{}}, h.apiEnter)
	rt.API("POST /api/v1/indicator-reports/{code}/{year}/approve", web.Op{Summary: "审核锁定 / Approve and lock", Tag: "indicators", Status: 204}, h.apiApprove(false))
	rt.API("POST /api/v1/indicator-reports/{code}/{year}/unlock", web.Op{Summary: "解锁（留审计记录）/ Unlock (audited)", Tag: "indicators", Status: 204}, h.apiApprove(true))
	rt.API("PUT /api/v1/indicator-targets/{code}/{id}", web.Op{Summary: "分解目标 / Set a decomposed target", Tag: "indicators", Body: TargetBody{}, Status: 204}, h.apiTarget)
	rt.API("GET /api/v1/indicators/{id}/counties", web.Op{Summary: "各县(市、区)比较，按优劣排序 / One indicator across every county in scope, ranked", Tag: "indicators",
		Params: params[1:], Response: CountyComparison{}}, h.apiCounties)
	rt.API("GET /api/v1/indicator-lagging", web.Op{Summary: "下级滞后排名 / Children ranked by lagging indicators", Tag: "indicators", Params: params, Response: []LaggingChild{}}, h.apiLagging)
	h.registerReport(rt)
	h.registerDefinitions(rt)
	rt.Page("GET /indicators/export.xlsx", h.export)
	rt.Page("GET /indicators/{id}/counties", h.pageCounties)
	rt.Page("GET /indicators", h.page)
	rt.Page("GET /indicators/{id}", h.pageOne)
}

// TargetBody sets a target.
type TargetBody struct {
	Target float64 `json:"target"`
}

// IndicatorDetail is one indicator for a division, with children and trend
// (each year's value); a monthly indicator also has its year's months.
type IndicatorDetail struct {
	Row
	Children []Row   `json:"children,omitempty"`
	Trend    []Value `json:"trend"`
	Months   []Value `json:"months,omitempty"`
}

// params reads the division (the caller's own by default) and the year of
// a request; the administrator roles are refused here, by their role,
// rather than as "not found" for a division they cannot see.
func (h *Handlers) params(r *http.Request) (string, int, error) {
	p := access.From(r.Context())
	if p == nil || !p.Role.Business() {
		return "", 0, fault.Forbidden(web.M("管理员角色不处理业务数据（三员分立）", "the administrator roles do not work with business data (separation of duties)"))
	}
	code := r.URL.Query().Get("division")
	if code == "" {
		code = p.Division
	}
	if !divisions.ValidCode(code) {
		return "", 0, fault.Invalid(web.M("区划代码格式不正确："+code, "malformed division code: "+code), fault.Field("division", web.M("应为 2/4/6/9/12 位数字", "2, 4, 6, 9 or 12 digits")))
	}
	year := h.Store.Now().Year()
	if s := r.URL.Query().Get("period"); s != "" {
		y, err := strconv.Atoi(s)
		if err != nil || checkPeriod(y) != nil {
			return "", 0, fault.Invalid(web.M("年份须在 2020–2035 之间："+s, "period must be a year from 2020 to 2035: "+s), fault.Field("period", web.M("2020–2035", "2020–2035")))
		}
		year = y
	}
	return code, year, nil
}

// monthParam reads the month period of monthly indicators and sets the
// year from it: ?month=2026-11 is that month, ?month=2026 the year (the
// mean of its months); a period naming another year is refused. asked is
// false when there is no month parameter (month 0: the year).
func (h *Handlers) monthParam(r *http.Request, year *int) (month int, asked bool, err error) {
	s := r.URL.Query().Get("month")
	if s == "" {
		return 0, false, nil
	}
	y, m, hasMonth := strings.Cut(s, "-")
	yi, err1 := strconv.Atoi(y)
	mi, err2 := strconv.Atoi(m)
	if !hasMonth {
		mi, err2 = 0, nil
	}
	if len(y) != 4 || err1 != nil || err2 != nil || hasMonth && (len(m) != 2 || mi < 1 || mi > 12) || checkPeriod(yi) != nil {
		return 0, false, fault.Invalid(web.M("月份须写作 2026-11（或全年 2026），且在 2020–2035 之间："+s, "month must read like 2026-11 (or 2026 for the whole year), within 2020–2035: "+s),
			fault.Field("month", web.M("年-月，如 2026-11", "year-month, such as 2026-11")))
	}
	if p := r.URL.Query().Get("period"); p != "" && p != y {
		return 0, false, fault.Invalid(web.M("月份 "+s+" 不在所选年份 "+p+" 内", "month "+s+" is not in the chosen year "+p), fault.Field("month", web.M("须在所选年份内", "within the chosen year")))
	}
	*year = yi
	return mi, true, nil
}

// apiMonth is the month an API call computes monthly indicators for: the
// one asked for, else the year (the mean of its months).
func (h *Handlers) apiMonth(r *http.Request, year *int) (int, error) {
	m, _, err := h.monthParam(r, year)
	return m, err
}

// pageMonth is the month a page shows monthly indicators for: the one
// asked for, else this month in the current year, else the year's mean.
func (h *Handlers) pageMonth(r *http.Request, year *int) (int, error) {
	m, asked, err := h.monthParam(r, year)
	if err != nil || asked {
		return m, err
	}
	if now := h.Store.Now(); *year == now.Year() {
		return int(now.Month()), nil
	}
	return 0, nil
}

// mapErr answers for a division the core's look-up does not find; the
// store's own refusals are *fault.Error already.
func mapErr(err error, code string) error {
	if errors.Is(err, db.ErrNotFound) {
		return divisionNotFound(code)
	}
	return err
}

// rows computes every indicator (or one) for a division; monthly ones for
// the month (0: the year's mean of months).
func (h *Handlers) rows(r *http.Request, inds []Indicator, code string, year, month int, children bool) ([]Row, error) {
	r = r.WithContext(withFingerprintMemo(r.Context()))
	vals, err := h.Engine.ComputeMonth(r.Context(), inds, code, year, month, children)
	if err != nil {
		return nil, err
	}
	var codes []string
	if len(inds) > 0 {
		for _, v := range vals[inds[0].ID] {
			codes = append(codes, v.Division)
		}
	}
	tgts, err := h.Store.targets(r.Context(), inds, codes)
	if err != nil {
		return nil, err
	}
	var out []Row
	for _, in := range inds {
		for _, v := range vals[in.ID] {
			var tgt *float64
			if t, ok := tgts[cellKey{v.Division, in.ID}]; ok {
				tgt, v.TargetFrom = &t.v, t.from
			}
			var base *float64
			if v.Division == in.ownerCode() {
				base = in.Baseline
			}
			h.Engine.Assess(in, &v, tgt, base, year)
			row := Row{Indicator: in, Value: v}
			row.StatusZH, row.StatusEN = StatusLabel(v.Status)
			out = append(out, row)
		}
	}
	return out, nil
}

func (h *Handlers) apiList(w http.ResponseWriter, r *http.Request) error {
	code, year, err := h.params(r)
	if err != nil {
		return err
	}
	month, err := h.apiMonth(r, &year)
	if err != nil {
		return err
	}
	inds, err := h.catalogue(r, code)
	if err != nil {
		return err
	}
	rows, err := h.rows(r, inds, code, year, month, false)
	if err != nil {
		return mapErr(err, code)
	}
	web.WriteJSON(w, 200, rows)
	return nil
}

// find looks an indicator up among the plan's and the own indicators the
// caller may see.
func (h *Handlers) find(r *http.Request, id string) (Indicator, error) {
	for _, in := range h.Inds {
		if in.ID == id {
			return in, nil
		}
	}
	custom, err := h.Store.Custom(r.Context())
	if err != nil {
		return Indicator{}, err
	}
	p := access.From(r.Context())
	for _, in := range custom {
		if in.ID == id && sees(p, in) {
			return in, nil
		}
	}
	return Indicator{}, fault.NotFound(web.M("没有指标 "+id, "no indicator "+id))
}

// sees: an own indicator is visible to officers whose jurisdiction holds
// its division and to everyone working inside that division.
func sees(p *access.Principal, in Indicator) bool {
	if in.Owner == "" {
		return true
	}
	if p == nil {
		return false
	}
	sc := access.BusinessScope(p)
	return sc.Contains(in.Owner) || (sc.Lo < sc.Hi && strings.HasPrefix(p.Division, in.Owner))
}

// catalogue is the indicators that apply at a division.
func (h *Handlers) catalogue(r *http.Request, code string) ([]Indicator, error) {
	return h.Store.Indicators(r.Context(), h.Inds, code)
}

func (h *Handlers) detail(r *http.Request, id, code string, year, month int, children bool) (IndicatorDetail, error) {
	r = r.WithContext(withFingerprintMemo(r.Context()))
	in, err := h.find(r, id)
	if err != nil {
		return IndicatorDetail{}, err
	}
	one := []Indicator{in}
	self, err := h.rows(r, one, code, year, month, false)
	if err != nil {
		return IndicatorDetail{}, mapErr(err, code)
	}
	d := IndicatorDetail{Row: self[0]}
	if children {
		if d.Children, err = h.rows(r, one, code, year, month, true); err != nil {
			return d, mapErr(err, code)
		}
	}
	if h.Store.Elements.monthly(in) {
		for m := 1; m <= AsOfMonth(year, h.Store.Now()); m++ {
			vals, err := h.Engine.ComputeMonth(r.Context(), one, code, year, m, false)
			if err != nil {
				return d, mapErr(err, code)
			}
			d.Months = append(d.Months, vals[id][0])
		}
	}
	for y := 2020; y <= year; y++ {
		vals, err := h.Engine.Compute(r.Context(), one, code, y, false)
		if err != nil {
			return d, mapErr(err, code)
		}
		v := vals[id][0]
		v.Division = strconv.Itoa(y)
		d.Trend = append(d.Trend, v)
	}
	return d, nil
}

func (h *Handlers) apiOne(w http.ResponseWriter, r *http.Request) error {
	code, year, err := h.params(r)
	if err != nil {
		return err
	}
	month, err := h.apiMonth(r, &year)
	if err != nil {
		return err
	}
	d, err := h.detail(r, r.PathValue("id"), code, year, month, r.URL.Query().Get("children") == "true")
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, d)
	return nil
}

func (h *Handlers) apiCatalogue(w http.ResponseWriter, r *http.Request) error {
	all, err := h.visible(r)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, all)
	return nil
}

// visible is the plan's indicators and every own indicator the caller sees.
func (h *Handlers) visible(r *http.Request) ([]Indicator, error) {
	custom, err := h.Store.Custom(r.Context())
	if err != nil {
		return nil, err
	}
	out := append([]Indicator{}, h.Inds...)
	p := access.From(r.Context())
	for _, in := range custom {
		if sees(p, in) {
			out = append(out, in)
		}
	}
	return out, nil
}

func pathYear(r *http.Request) (string, int, error) {
	code := r.PathValue("code")
	y, err := strconv.Atoi(r.PathValue("year"))
	if err != nil {
		return code, 0, fault.Invalid(web.M("年份须为整数", "year must be a whole number"), fault.Field("year", web.M("整数", "whole number")))
	}
	return code, y, nil
}

func (h *Handlers) apiEnter(w http.ResponseWriter, r *http.Request) error {
	code, year, err := pathYear(r)
	if err != nil {
		return err
	}
	var body map[string]float64
	if err := web.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := h.Store.Enter(r.Context(), code, year, body); err != nil {
		return mapErr(err, code)
	}
	rep, err := h.Store.Reported(r.Context(), code, year)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, rep)
	return nil
}

func (h *Handlers) apiApprove(unlock bool) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		code, year, err := pathYear(r)
		if err != nil {
			return err
		}
		if err := h.Store.Approve(r.Context(), code, year, unlock); err != nil {
			return mapErr(err, code)
		}
		w.WriteHeader(204)
		return nil
	}
}

func (h *Handlers) apiTarget(w http.ResponseWriter, r *http.Request) error {
	in, err := h.find(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	var body TargetBody
	if err := web.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	code := r.PathValue("code")
	if err := h.Store.SetTarget(r.Context(), in, code, in.TargetYear, body.Target); err != nil {
		return mapErr(err, code)
	}
	w.WriteHeader(204)
	return nil
}

type pageView struct {
	Div       divisions.Division
	Path      []divisions.Division
	Year      int
	Month     int      // the month monthly indicators show, 0: the year's mean
	Periods   []period // the month periods to choose from, when an indicator is monthly
	Rows      []Row
	Lagging   int
	One       *IndicatorDetail
	Sort      string
	Bars      []bar
	MaxTrend  float64
	Trend     []trendPoint
	Behind    []LaggingChild
	Th        Thresholds
	Compare   bool // the viewer has counties to compare (a county or above)
	MonthRows []monthRow
}

// withinReach keeps the ancestors the viewer may open: a township officer's
// breadcrumb does not link to the county's or the province's pages.
func withinReach(ctx context.Context, path []divisions.Division) []divisions.Division {
	sc := access.ScopeOf(ctx)
	var out []divisions.Division
	for _, p := range path {
		if sc.Contains(p.Code) {
			out = append(out, p)
		}
	}
	return out
}

type bar struct {
	Row
	Width float64
	Y     int
}

type trendPoint struct {
	X, Y  float64
	Label string
	Value string
}

func (h *Handlers) pageErr(w http.ResponseWriter, r *http.Request, err error) {
	var we *fault.Error
	if errors.As(mapErr(err, r.URL.Query().Get("division")), &we) {
		h.Pages.Render(w, r, web.Status(we), "indicators", web.View{Title: web.M("规划指标监测", "Plan indicators"), Alert: we.Msg, Data: dashboard{}})
		return
	}
	web.Logger(r.Context()).Error("indicators page", "err", err.Error())
	http.Error(w, "500 服务器内部错误 / internal server error", 500)
}

func (h *Handlers) page(w http.ResponseWriter, r *http.Request) {
	code, year, err := h.params(r)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	month, err := h.pageMonth(r, &year)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	inds, err := h.catalogue(r, code)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	data, err := h.pageData(r, inds, code, year, month)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	path, err := h.Divisions.Path(r.Context(), code)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	pv := pageView{Div: path[len(path)-1], Path: withinReach(r.Context(), path[:len(path)-1]), Year: year, Month: month, Rows: data.Rows, Behind: data.Behind, Th: h.Engine.thresholds()}
	for _, in := range inds {
		if h.Store.Elements.monthly(in) {
			pv.Periods = periods(year, month, h.Store.Now())
			break
		}
	}
	for _, rw := range data.Rows {
		if rw.Status == "lagging" || rw.Status == "seriously_lagging" {
			pv.Lagging++
		}
	}
	h.Pages.Render(w, r, 200, "indicators", dashboardView(pv))
}

// pageData computes the dashboard of a division's year — its indicators
// and, above a village, its children most behind — or reuses it from the
// cache. The viewer's reach is checked first, every time.
func (h *Handlers) pageData(r *http.Request, inds []Indicator, code string, year, month int) (pageData, error) {
	if !access.ScopeOf(r.Context()).Contains(code) {
		return pageData{}, divisionNotFound(code)
	}
	compute := func(ctx context.Context) (pageData, error) {
		// The page's two computations check the sources' fingerprint once.
		r := r.WithContext(withFingerprintMemo(ctx))
		var d pageData
		var err error
		if d.Rows, err = h.rows(r, inds, code, year, month, false); err != nil {
			return d, err
		}
		if divisions.LevelOf(code) < 5 {
			d.Behind, err = h.laggingChildren(r, inds, code, year, month)
		}
		return d, err
	}
	d, _, err := h.cache.Get(r.Context(), pageKey(code, year, month, inds), compute)
	return d, err
}

func (h *Handlers) pageOne(w http.ResponseWriter, r *http.Request) {
	code, year, err := h.params(r)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	month, err := h.pageMonth(r, &year)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	d, err := h.detail(r, r.PathValue("id"), code, year, month, true)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	path, err := h.Divisions.Path(r.Context(), code)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	pv := pageView{Div: path[len(path)-1], Path: withinReach(r.Context(), path[:len(path)-1]), Year: year, Month: month, One: &d, Sort: r.URL.Query().Get("sort"),
		Compare: divisions.LevelOf(access.From(r.Context()).Division) <= 3}
	names := map[string]string{}
	kids, _, err := h.Divisions.Children(r.Context(), code, 0, 500)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	for _, k := range kids {
		names[k.Code] = k.Name
	}
	maxV := 0.0
	for i := range d.Children {
		d.Children[i].Name = names[d.Children[i].Division]
		if v := d.Children[i].Value.Value; v != nil && *v > maxV {
			maxV = *v
		}
	}
	children := append([]Row{}, d.Children...)
	sort.SliceStable(children, func(i, j int) bool {
		a, b := children[i].Value.Value, children[j].Value.Value
		switch {
		case a == nil:
			return false
		case b == nil:
			return true
		case pv.Sort == "asc":
			return *a < *b
		}
		return *a > *b
	})
	for i, c := range children {
		b := bar{Row: c, Y: i * 28}
		if c.Value.Value != nil && maxV > 0 {
			b.Width = 260 * *c.Value.Value / maxV
		}
		pv.Bars = append(pv.Bars, b)
	}
	for _, t := range d.Trend {
		if t.Value != nil && *t.Value > pv.MaxTrend {
			pv.MaxTrend = *t.Value
		}
	}
	if d.Monthly {
		pv.Periods = periods(year, month, h.Store.Now())
		for _, t := range d.Months {
			pv.MonthRows = append(pv.MonthRows, monthRow{Label: monthLabel(t.Month), Value: fig(t.Value)})
		}
	}
	for i, t := range d.Trend {
		p := trendPoint{X: 40 + float64(i)*60, Label: t.Division, Value: "—"}
		if t.Value != nil {
			p.Value = fig(t.Value)
			if pv.MaxTrend > 0 {
				p.Y = 130 - 110**t.Value/pv.MaxTrend
			} else {
				p.Y = 130
			}
		} else {
			p.Y = -1
		}
		pv.Trend = append(pv.Trend, p)
	}
	h.Pages.Render(w, r, 200, "indicator", indicatorView(pv))
}
