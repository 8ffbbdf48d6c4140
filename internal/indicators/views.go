package indicators

import (
	"database/sql"
	"net/http"
	"sort"
	"strconv"

	"linli/internal/access"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/web"
)

// LaggingChild ranks one child division by its lagging indicators.
type LaggingChild struct {
	Division   string   `json:"division_code"`
	Name       string   `json:"name"`
	Seriously  int      `json:"seriously_lagging"`
	Lagging    int      `json:"lagging"`
	Binding    int      `json:"binding_lagging"` // of the two, binding (约束性) indicators
	Indicators []string `json:"indicators"`      // lagging indicator IDs, binding and most behind first
}

// laggingChildren ranks the children of code by how far behind they are:
// most seriously lagging first, then most lagging, then most binding.
// inds is the catalogue that applies at code (it applies to the children too).
func (h *Handlers) laggingChildren(r *http.Request, inds []Indicator, code string, year, month int) ([]LaggingChild, error) {
	rows, err := h.rows(r, inds, code, year, month, true)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	kids, _, err := h.Divisions.Children(r.Context(), code, 0, 1000)
	if err != nil {
		return nil, err
	}
	for _, k := range kids {
		names[k.Code] = k.Name
	}
	by := map[string]*LaggingChild{}
	var order []string
	type behind struct {
		id      string
		binding bool
		p       float64
	}
	worst := map[string][]behind{}
	for _, rw := range rows {
		if rw.Status != "lagging" && rw.Status != "seriously_lagging" {
			continue
		}
		c := by[rw.Division]
		if c == nil {
			c = &LaggingChild{Division: rw.Division, Name: names[rw.Division]}
			by[rw.Division] = c
			order = append(order, rw.Division)
		}
		if rw.Status == "seriously_lagging" {
			c.Seriously++
		} else {
			c.Lagging++
		}
		if rw.Binding {
			c.Binding++
		}
		p := 0.0
		if rw.Progress != nil {
			p = *rw.Progress
		}
		worst[rw.Division] = append(worst[rw.Division], behind{rw.ID, rw.Binding, p})
	}
	out := make([]LaggingChild, 0, len(order))
	for _, k := range order {
		ws := worst[k]
		sort.SliceStable(ws, func(i, j int) bool {
			if ws[i].binding != ws[j].binding {
				return ws[i].binding
			}
			return ws[i].p < ws[j].p
		})
		for _, w := range ws {
			by[k].Indicators = append(by[k].Indicators, w.id)
		}
		out = append(out, *by[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Seriously != b.Seriously {
			return a.Seriously > b.Seriously
		}
		if a.Seriously+a.Lagging != b.Seriously+b.Lagging {
			return a.Seriously+a.Lagging > b.Seriously+b.Lagging
		}
		if a.Binding != b.Binding {
			return a.Binding > b.Binding
		}
		return a.Division < b.Division
	})
	return out, nil
}

func (h *Handlers) apiLagging(w http.ResponseWriter, r *http.Request) error {
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
	out, err := h.laggingChildren(r, inds, code, year, month)
	if err != nil {
		return mapErr(err, code)
	}
	web.WriteJSON(w, 200, out)
	return nil
}

// CountyComparison is one indicator across every county the caller may see.
type CountyComparison struct {
	Row
	Counties []Row `json:"counties"` // ranked, best first; no data last
	Scope    Row   `json:"scope"`    // the enclosing division's own value (province for a provincial officer)
}

// counties computes one indicator for every county in the caller's scope,
// one computation per city (its children), ranked best first by the
// indicator's direction.
func (h *Handlers) counties(r *http.Request, id string, year, month int) (CountyComparison, error) {
	r = r.WithContext(withFingerprintMemo(r.Context()))
	in, err := h.find(r, id)
	if err != nil {
		return CountyComparison{}, err
	}
	ctx := r.Context()
	p := access.From(ctx)
	sc := access.ScopeOf(ctx)
	if in.Owner != "" {
		// An own indicator compares the counties of its own division.
		o := access.Subtree(in.Owner)
		sc.Lo, sc.Hi = max(sc.Lo, o.Lo), min(sc.Hi, o.Hi)
	}
	rows, err := h.Store.DB.R.QueryContext(ctx, `SELECT code, name, parent_code FROM divisions_tree WHERE level = 3 AND code >= $1 AND code < $2 ORDER BY code`, sc.Lo, sc.Hi)
	if err != nil {
		return CountyComparison{}, err
	}
	names := map[string]string{}
	var parents []string
	seen := map[string]bool{}
	for rows.Next() {
		var c, n string
		var parent sql.NullString
		if err := rows.Scan(&c, &n, &parent); err != nil {
			rows.Close()
			return CountyComparison{}, err
		}
		names[c] = n
		group := parent.String
		if !sc.Contains(group) {
			group = c // a county officer: the county itself
		}
		if !seen[group] {
			seen[group] = true
			parents = append(parents, group)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return CountyComparison{}, err
	}
	if len(names) == 0 {
		return CountyComparison{}, fault.NotFound(fault.M("辖区内没有县(市、区)可比较", "no county in your jurisdiction to compare"))
	}
	one := []Indicator{in}
	out := CountyComparison{}
	for _, g := range parents {
		rs, err := h.rows(r, one, g, year, month, divisions.LevelOf(g) < 3)
		if err != nil {
			return out, err
		}
		for _, rw := range rs {
			if _, ok := names[rw.Division]; ok {
				rw.Value.Name = names[rw.Division]
				out.Counties = append(out.Counties, rw)
			}
		}
	}
	lower := in.Direction == "lower"
	sort.SliceStable(out.Counties, func(i, j int) bool {
		a, b := out.Counties[i].Value.Value, out.Counties[j].Value.Value
		switch {
		case a == nil:
			return false
		case b == nil:
			return true
		case lower:
			return *a < *b
		}
		return *a > *b
	})
	root := p.Division
	if in.Owner != "" && sc.Contains(in.Owner) && divisions.LevelOf(in.Owner) <= 3 {
		root = in.Owner
	}
	if divisions.LevelOf(root) > 3 || !sc.Contains(root) {
		root = out.Counties[0].Division
	}
	self, err := h.rows(r, one, root, year, month, false)
	if err != nil {
		return out, err
	}
	out.Row = self[0]
	out.Scope = self[0]
	d, err := h.Divisions.Get(ctx, root)
	if err != nil {
		return out, err
	}
	out.Scope.Value.Name = d.Name
	return out, nil
}

func (h *Handlers) apiCounties(w http.ResponseWriter, r *http.Request) error {
	_, year, err := h.params(r)
	if err != nil {
		return err
	}
	month, err := h.apiMonth(r, &year)
	if err != nil {
		return err
	}
	c, err := h.counties(r, r.PathValue("id"), year, month)
	if err != nil {
		return mapErr(err, "")
	}
	web.WriteJSON(w, 200, c)
	return nil
}

type countyBar struct {
	Row
	Rank        int
	Y           float64
	Width       float64
	Label, Fill string
}

type countiesView struct {
	C      CountyComparison
	Year   int
	Bars   []countyBar
	Height float64
	RefX   float64 // x of the enclosing division's value, 0 when none
	Ref    string
	NoData int
}

// Bar geometry of the ranked chart (viewBox units).
const (
	chartLabelW = 150.0
	chartBarW   = 380.0
	chartRowH   = 18.0
)

func (h *Handlers) pageCounties(w http.ResponseWriter, r *http.Request) {
	_, year, err := h.params(r)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	month, err := h.pageMonth(r, &year)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	c, err := h.counties(r, r.PathValue("id"), year, month)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	v := countiesView{C: c, Year: year}
	maxV := 0.0
	for _, rw := range c.Counties {
		if rw.Value.Value != nil && *rw.Value.Value > maxV {
			maxV = *rw.Value.Value
		}
	}
	if c.Scope.Value.Value != nil && *c.Scope.Value.Value > maxV {
		maxV = *c.Scope.Value.Value
	}
	for i, rw := range c.Counties {
		b := countyBar{Row: rw, Rank: i + 1, Y: 10 + float64(i)*chartRowH, Label: noData().In(web.Lang(r)), Fill: statusFill(rw.Status)}
		if rw.Value.Value != nil {
			if maxV > 0 {
				b.Width = chartBarW * *rw.Value.Value / maxV
			}
			b.Label = fig(rw.Value.Value)
		} else {
			b.Rank = 0
			v.NoData++
		}
		v.Bars = append(v.Bars, b)
	}
	v.Height = 20 + float64(len(v.Bars))*chartRowH
	if c.Scope.Value.Value != nil && maxV > 0 {
		v.RefX = chartLabelW + chartBarW**c.Scope.Value.Value/maxV
		v.Ref = c.Scope.Value.Name + " " + fig(c.Scope.Value.Value)
	}
	y := strconv.Itoa(year)
	h.Pages.Render(w, r, 200, "counties", web.View{Title: web.M(c.ID+" "+c.NameZH+" · 各县(市、区)比较", c.ID+" "+c.NameEN+" · counties compared"), Data: v,
		Crumbs: []web.Crumb{{Href: "/indicators?period=" + y, Label: web.M("指标监测", "Indicators")}, {Href: "/indicators/" + c.ID + "?period=" + y, Label: web.M(c.ID, c.ID)},
			{Label: web.M("各县(市、区)比较", "Counties compared")}}})
}

// statusFill colours a bar by status (with its text label beside it, so
// colour is never the only cue).
func statusFill(s string) string {
	switch s {
	case "met":
		return "#1e6b31"
	case "on_track":
		return "#0b57a4"
	case "lagging":
		return "#b06000"
	case "seriously_lagging":
		return "#b3261e"
	}
	return "#767676"
}
