package indicators

import (
	"context"
	"fmt"
	"time"

	"linli/internal/access"
	"linli/internal/divisions"
	"linli/internal/module"
)

// Value is an indicator's value for one division and year.
type Value struct {
	Division string   `json:"division_code"`
	Name     string   `json:"name,omitempty"`
	Value    *float64 `json:"value"` // nil: no data
	Num      *float64 `json:"numerator,omitempty"`
	Den      *float64 `json:"denominator,omitempty"`
	Target   *float64 `json:"target,omitempty"`
	// TargetFrom names the enclosing division whose target applies when
	// this division has none of its own (rates and ratios only).
	TargetFrom string   `json:"target_from,omitempty"`
	Progress   *float64 `json:"progress,omitempty"` // 0..1+ of the way from baseline to target
	Expected   float64  `json:"expected_progress"`
	Status     string   `json:"status"` // met / on_track / lagging / seriously_lagging / no_data / no_target
	// Monthly: the indicator names a monthly element and has month
	// periods. Month is the month a value is for ("2026-11"); a year's
	// value of a monthly indicator is the mean of its months with data
	// (MonthsAveraged of them), without a numerator or denominator.
	Monthly        bool   `json:"monthly,omitempty"`
	Month          string `json:"month,omitempty"`
	MonthsAveraged int    `json:"months_averaged,omitempty"`
}

// Thresholds of the status: progress ÷ expected progress at or above OnTrack
// is 正常, at or above Lagging is 滞后, below is 严重滞后.
type Thresholds struct{ OnTrack, Lagging float64 }

// DefaultThresholds are used unless settings say otherwise.
var DefaultThresholds = Thresholds{OnTrack: 0.9, Lagging: 0.6}

// Engine computes indicators from a store's data elements.
type Engine struct {
	Store      *Store
	Thresholds Thresholds
	// Precomputed: read the precomputed values when they are fresh (see
	// precompute.go); otherwise, and always when false, compute live.
	Precomputed bool
}

// sums computes every element an indicator set needs, grouped by prefix;
// an element no module supplies is left out (no data). The elements are
// asked one after another on purpose: asked three at a time, the county's
// live computation took several times as long on SQLite in
// BenchmarkUncachedIndicators.
func (e *Engine) sums(ctx context.Context, inds []Indicator, g module.Group) (map[string]map[string]float64, error) {
	out := map[string]map[string]float64{}
	for _, k := range neededElements(inds) {
		el, ok := e.Store.Elements.Get(k)
		if !ok {
			continue
		}
		m, err := el.Sum(ctx, e.Store.DB.R, g)
		if err != nil {
			return nil, err
		}
		out[k] = m
	}
	return out, nil
}

// Compute returns the indicators for the division code itself, or (children
// true) for each direct child, for the year; a monthly indicator gives its
// year's value, the mean of its months (see ComputeMonth).
func (e *Engine) Compute(ctx context.Context, inds []Indicator, code string, year int, children bool) (map[string][]Value, error) {
	return e.ComputeMonth(ctx, inds, code, year, 0, children)
}

// ComputeMonth is Compute for a month period: month 1–12 gives monthly
// indicators their value for that month of the year, month 0 the year's
// value; indicators that are not monthly give their year's value either
// way. The caller's scope limits the divisions it may ask for; reference
// totals of a subtree are computed from rows inside it only.
func (e *Engine) ComputeMonth(ctx context.Context, inds []Indicator, code string, year, month int, children bool) (map[string][]Value, error) {
	sc := access.ScopeOf(ctx)
	if !sc.Contains(code) {
		return nil, divisionNotFound(code)
	}
	sub := access.Subtree(code)
	prefix := len(code)
	if children {
		l := divisions.LevelOf(code)
		if l >= 5 {
			return map[string][]Value{}, nil
		}
		prefix = divisions.CodeLen[l+1]
	}
	groups := []string{code}
	if children {
		var err error
		if groups, err = e.Store.children(ctx, code); err != nil {
			return nil, err
		}
	}
	// Monthly indicators are computed when read, month by month: their
	// supplier's tables are outside the precomputed values' fingerprint.
	var monthly, yearly []Indicator
	for _, in := range inds {
		if e.Store.Elements.monthly(in) {
			monthly = append(monthly, in)
		} else {
			yearly = append(yearly, in)
		}
	}
	inds = yearly
	var out map[string][]Value
	if e.Precomputed && len(inds) > 0 {
		changed, all, err := e.Store.changed(ctx, year)
		if err != nil {
			return nil, err
		}
		if !all {
			// Stored cells serve every indicator whose sources did not
			// change since they were computed; the others, and volatile
			// ones, are computed now.
			var stable, live []Indicator
			for _, in := range inds {
				if e.Store.Elements.volatile(in) || !unchangedFor(in, changed) {
					live = append(live, in)
				} else {
					stable = append(stable, in)
				}
			}
			if out, err = e.Store.precomputed(ctx, stable, groups, year); err != nil {
				return nil, err
			}
			inds = live
		}
	}
	if out == nil {
		out = map[string][]Value{}
	}
	g := module.Group{Lo: sub.Lo, Hi: sub.Hi, Prefix: prefix, Year: year}
	if len(inds) > 0 {
		sums, err := e.sums(ctx, inds, g)
		if err != nil {
			return nil, err
		}
		for _, in := range inds {
			for _, grp := range groups {
				v := Value{Division: grp}
				v.Value, v.Num, v.Den = e.Store.Elements.evaluate(in.Formula, sums, grp)
				out[in.ID] = append(out[in.ID], v)
			}
		}
	}
	if len(monthly) > 0 {
		if err := e.months(ctx, monthly, g, groups, month, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// MonthName is a month period as the API writes it: "2026-11".
func MonthName(year, month int) string { return fmt.Sprintf("%d-%02d", year, month) }

// AsOfMonth is the last month of the year that has begun by now: 12 for a
// past year, this month for the current one, 0 for a future year.
func AsOfMonth(year int, now time.Time) int {
	switch {
	case year < now.Year():
		return 12
	case year == now.Year():
		return int(now.Month())
	}
	return 0
}

// months computes monthly indicators for one month (month 1–12), each
// element asked with Group.Month and summed over the subtree like any
// other; or, for month 0, the year's value: the mean of the values of the
// months up to the as-of month that have data (a month whose denominator
// is zero or missing has none), each month rolled up first.
func (e *Engine) months(ctx context.Context, inds []Indicator, g module.Group, groups []string, month int, out map[string][]Value) error {
	if month > 0 {
		g.Month = month
		sums, err := e.sums(ctx, inds, g)
		if err != nil {
			return err
		}
		for _, in := range inds {
			for _, grp := range groups {
				v := Value{Division: grp, Monthly: true, Month: MonthName(g.Year, month)}
				v.Value, v.Num, v.Den = e.Store.Elements.evaluate(in.Formula, sums, grp)
				out[in.ID] = append(out[in.ID], v)
			}
		}
		return nil
	}
	type acc struct {
		sum float64
		n   int
	}
	accs := map[cellKey]*acc{}
	for m := 1; m <= AsOfMonth(g.Year, e.Store.Now()); m++ {
		gm := g
		gm.Month = m
		sums, err := e.sums(ctx, inds, gm)
		if err != nil {
			return err
		}
		for _, in := range inds {
			for _, grp := range groups {
				val, _, _ := e.Store.Elements.evaluate(in.Formula, sums, grp)
				if val == nil {
					continue
				}
				k := cellKey{grp, in.ID}
				if accs[k] == nil {
					accs[k] = &acc{}
				}
				accs[k].sum += *val
				accs[k].n++
			}
		}
	}
	for _, in := range inds {
		for _, grp := range groups {
			v := Value{Division: grp, Monthly: true}
			if a := accs[cellKey{grp, in.ID}]; a != nil {
				mean := a.sum / float64(a.n)
				v.Value, v.MonthsAveraged = &mean, a.n
			}
			out[in.ID] = append(out[in.ID], v)
		}
	}
	return nil
}

// children are the codes of a division's children, in order.
func (s *Store) children(ctx context.Context, code string) ([]string, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT code FROM divisions_tree WHERE parent_code = $1 ORDER BY code`, code)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// evaluate applies a formula to one group's sums; nil means no data, as
// does an element no module supplies.
func (es Elements) evaluate(f Formula, sums map[string]map[string]float64, grp string) (val, num, den *float64) {
	get := func(k string) (float64, bool) {
		el, known := es.Get(k)
		if !known {
			return 0, false
		}
		v, ok := sums[k][grp]
		if !ok && el.Source == "computed" && !el.Measured {
			return 0, true // a computed count with no rows is a real zero
		}
		return v, ok
	}
	n, ok := get(f.Num)
	if !ok {
		return nil, nil, nil
	}
	num = &n
	if f.Den == "" {
		v := f.Factor * n
		return &v, num, nil
	}
	d, ok := get(f.Den)
	if !ok || d == 0 {
		return nil, num, nil
	}
	den = &d
	v := f.Factor * n / d
	if f.Num2 != "" {
		n2, ok1 := get(f.Num2)
		d2, ok2 := get(f.Den2)
		if !ok1 || !ok2 || d2 == 0 || n2 == 0 {
			return nil, num, den
		}
		v = v / (n2 / d2)
	}
	return &v, num, den
}

// Assess fills target, progress and status of v for the indicator.
func (e *Engine) Assess(in Indicator, v *Value, target *float64, baseline *float64, year int) {
	start, end := 2020, in.TargetYear
	if end <= start {
		end = 2025
	}
	v.Expected = clamp01(float64(year-start) / float64(end-start))
	v.Target = target
	switch {
	case v.Value == nil:
		v.Status = "no_data"
		return
	case target == nil:
		v.Status = "no_target"
		return
	}
	val, tgt := *v.Value, *target
	lowerBetter := in.Direction == "lower"
	if (!lowerBetter && val >= tgt) || (lowerBetter && val <= tgt) {
		one := 1.0
		v.Progress, v.Status = &one, "met"
		return
	}
	base := 0.0
	if baseline != nil {
		base = *baseline
	}
	var p float64
	if tgt != base {
		p = (val - base) / (tgt - base)
	}
	v.Progress = &p
	th := e.thresholds()
	switch ratio := p / max(v.Expected, 1e-9); {
	case v.Expected == 0 || ratio >= th.OnTrack:
		v.Status = "on_track"
	case ratio >= th.Lagging:
		v.Status = "lagging"
	default:
		v.Status = "seriously_lagging"
	}
}

// thresholds are the configured ones, or the defaults.
func (e *Engine) thresholds() Thresholds {
	if e.Thresholds.OnTrack == 0 {
		return DefaultThresholds
	}
	return e.Thresholds
}

func clamp01(x float64) float64 { return min(max(x, 0), 1) }

// StatusLabel is the bilingual label of a status.
func StatusLabel(s string) (string, string) {
	switch s {
	case "met":
		return "达标", "Met"
	case "on_track":
		return "正常", "On track"
	case "lagging":
		return "滞后", "Lagging"
	case "seriously_lagging":
		return "严重滞后", "Seriously lagging"
	case "no_target":
		return "无目标", "No target"
	}
	return "无数据", "No data"
}
