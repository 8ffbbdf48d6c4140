package requests

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/tabular"
	"linli/internal/web"
)

// Bar is one bar of a server-drawn SVG chart.
type Bar struct {
	X, Y, W, H float64
	Label      string
	Name       web.Msg // the label in both languages
	Value      int
	LX, LY     float64
}

type metricsView struct {
	M        Metrics
	Daily    []Bar
	Cats     []Bar
	Spots    []Bar
	Division string
	From, To string
	JSON     string
	CatsH    int
	SpotsH   int
	Areas    []divisions.Division // the divisions the page may show: the caller's and those one level down
}

func vbars(cs []Count, width, height float64) []Bar {
	maxV := 1
	for _, c := range cs {
		if c.Count > maxV {
			maxV = c.Count
		}
	}
	var out []Bar
	if len(cs) == 0 {
		return out
	}
	w := width / float64(len(cs))
	for i, c := range cs {
		h := height * float64(c.Count) / float64(maxV)
		out = append(out, Bar{X: float64(i)*w + 1, Y: height - h, W: w - 2, H: h, Label: c.Name, Value: c.Count})
	}
	return out
}

func hbars(cs []Count, width float64) []Bar {
	maxV := 1
	for _, c := range cs {
		if c.Count > maxV {
			maxV = c.Count
		}
	}
	var out []Bar
	for i, c := range cs {
		w := (width - 200) * float64(c.Count) / float64(maxV)
		name := c.Name
		if name == "" {
			name = c.Key
		}
		out = append(out, Bar{X: 150, Y: float64(i)*22 + 2, W: w, H: 18, Label: name, Value: c.Count, LX: 155 + w, LY: float64(i)*22 + 16})
	}
	return out
}

func (h *Handlers) pageMetrics(w http.ResponseWriter, r *http.Request) {
	div, from, to, err := h.Store.period(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := h.Store.ComputeMetrics(r.Context(), div, from, to)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names := map[string]web.Msg{}
	if cats, err := h.Store.Categories(r.Context()); err == nil {
		for _, c := range cats {
			names[c.Code] = web.M(c.NameZH, c.NameEN)
		}
	}
	v := metricsView{M: m, Division: div, From: m.From, To: to.In(CST).Format("2006-01-02"), Daily: vbars(m.Daily, 600, 120), Cats: hbars(m.TopCategories, 600), Spots: hbars(m.HotSpots, 600),
		CatsH: len(m.TopCategories)*22 + 4, SpotsH: len(m.HotSpots)*22 + 4,
		JSON: fmt.Sprintf("/api/v1/requests/metrics?division=%s&from=%s&to=%s", div, m.From, to.In(CST).Format("2006-01-02"))}
	for i := range v.Cats {
		v.Cats[i].Name = web.M(v.Cats[i].Label, v.Cats[i].Label)
		if n, ok := names[m.TopCategories[i].Key]; ok {
			v.Cats[i].Name = n
		}
	}
	for i := range v.Spots {
		v.Spots[i].Name = web.M(v.Spots[i].Label, v.Spots[i].Label)
	}
	if v.Areas, err = h.areas(r, div); err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, r, 200, "metrics", web.View{Title: web.M("诉求办理指标", "Request metrics"), Data: v})
}

func (h *Handlers) getMetricsXLSX(w http.ResponseWriter, r *http.Request) {
	div, from, to, err := h.Store.period(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := h.Store.ComputeMetrics(r.Context(), div, from, to)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// An export leaves the system: who took which division's figures is audited.
	if err := h.Store.Audit.Record(r.Context(), audit.Entry{Action: "requests.metrics.export", Object: "division", ObjectID: div, Division: div,
		Detail: audit.Detail(map[string]any{"from": m.From, "to": m.To, "format": "xlsx"})}); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="requests-metrics-%s-%s.xlsx"`, div, m.From))
	tw, err := tabular.NewWriter(w, "xlsx")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	i := strconv.Itoa
	rows := [][]string{
		{"指标 / indicator", "数值 / value"},
		{"区划 / division", div}, {"开始 / from", m.From}, {"结束（不含）/ to (exclusive)", m.To},
		{"收件 / received", i(m.Received)}, {"已受理 / accepted", i(m.Accepted)}, {"及时受理 / accepted within SLA", i(m.AcceptedInTime)},
		{"及时受理率 % / timely acceptance %", f(m.TimelyAcceptPct)}, {"已办结 / resolved", i(m.Resolved)}, {"按期办结 / resolved within SLA", i(m.ResolvedInTime)},
		{"按期办结率 % / on-time resolution %", f(m.OnTimeResolve)}, {"已评价 / evaluated", i(m.Evaluated)}, {"满意+基本满意 / satisfied", i(m.Satisfied)},
		{"满意率 % / satisfaction %", f(m.SatisfactionPct)}, {"重办 / reopened", i(m.Reopened)}, {"重办率 % / reopen rate %", f(m.ReopenPct)},
		{"办结用时中位数（小时）/ median hours", f(m.MedianHours)}, {"办结用时 P90（小时）/ p90 hours", f(m.P90Hours)},
	}
	for _, c := range m.TopCategories {
		rows = append(rows, []string{"类别 / category: " + c.Name, i(c.Count)})
	}
	for _, c := range m.HotSpots {
		rows = append(rows, []string{"社区 / community: " + c.Name + " " + c.Key, i(c.Count)})
	}
	for _, c := range m.Daily {
		rows = append(rows, []string{"日 / day " + c.Key, i(c.Count)})
	}
	for _, row := range rows {
		if err := tw.Row(row...); err != nil {
			web.Logger(r.Context()).Warn("metrics export", "err", err.Error())
			return
		}
	}
	if err := tw.Close(); err != nil {
		web.Logger(r.Context()).Warn("metrics export", "err", err.Error())
	}
}

// period reads ?division=&from=&to= with defaults: the caller's division,
// the last 30 days.
func (s *Store) period(r *http.Request) (string, time.Time, time.Time, error) {
	q := r.URL.Query()
	div := q.Get("division")
	if div == "" {
		if p := access.From(r.Context()); p != nil {
			div = p.Division
		}
	}
	today := s.Now().In(CST)
	to := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, CST).AddDate(0, 0, 1)
	from := to.AddDate(0, 0, -30)
	var errs []fault.FieldError
	if v := q.Get("from"); v != "" {
		t, err := time.ParseInLocation("2006-01-02", v, CST)
		if err != nil {
			errs = append(errs, fault.Field("from", web.M("日期格式应为 YYYY-MM-DD", "date must be YYYY-MM-DD")))
		}
		from = t
	}
	if v := q.Get("to"); v != "" {
		t, err := time.ParseInLocation("2006-01-02", v, CST)
		if err != nil {
			errs = append(errs, fault.Field("to", web.M("日期格式应为 YYYY-MM-DD", "date must be YYYY-MM-DD")))
		}
		to = t
	}
	if len(errs) == 0 && (!from.Before(to) || to.Sub(from) > 3*366*24*time.Hour) {
		errs = append(errs, fault.Field("to", web.M("结束日期须晚于开始日期，且区间不超过三年", "the end must be after the start, within three years")))
	}
	if len(errs) > 0 {
		return "", from, to, fault.Invalid(web.M("统计区间无效", "invalid period"), errs...)
	}
	return div, from, to, nil
}

func (h *Handlers) apiMetrics(w http.ResponseWriter, r *http.Request) error {
	div, from, to, err := h.Store.period(r)
	if err != nil {
		return err
	}
	m, err := h.Store.ComputeMetrics(r.Context(), div, from, to)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, m)
	return nil
}

// areas are the divisions the metrics page offers by name: the caller's
// own, the one shown, and those one level below the caller's.
func (h *Handlers) areas(r *http.Request, shown string) ([]divisions.Division, error) {
	ctx := r.Context()
	own := ""
	if p := access.From(ctx); p != nil {
		own = p.Division
	}
	var out []divisions.Division
	seen := map[string]bool{}
	add := func(code string) error {
		if code == "" || seen[code] {
			return nil
		}
		d, err := h.Store.Divs.Get(ctx, code)
		if err != nil {
			return nil // a code the tree does not know is simply not offered
		}
		seen[code] = true
		out = append(out, d)
		return nil
	}
	if err := add(own); err != nil {
		return nil, err
	}
	if divisions.LevelOf(own) < 5 && own != "" {
		kids, _, err := h.Store.Divs.Children(ctx, own, 0, 500)
		if err != nil {
			return nil, err
		}
		for _, k := range kids {
			seen[k.Code] = true
			out = append(out, k)
		}
	}
	return out, add(shown)
}
