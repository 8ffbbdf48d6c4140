package requests

import (
	"context"
	"errors"
	"sort"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
)

// Metrics are the loop's indicators for a division subtree and period
// (requests created in [From, To)).
type Metrics struct {
	Division        string         `json:"division_code"`
	From            string         `json:"from"`
	To              string         `json:"to"`
	Received        int            `json:"received"`
	Accepted        int            `json:"accepted"`
	AcceptedInTime  int            `json:"accepted_in_time"`
	TimelyAcceptPct float64        `json:"timely_accept_rate"` // 及时受理率
	Resolved        int            `json:"resolved"`
	ResolvedInTime  int            `json:"resolved_in_time"`
	OnTimeResolve   float64        `json:"on_time_resolve_rate"` // 按期办结率
	Evaluated       int            `json:"evaluated"`
	Satisfied       int            `json:"satisfied"`
	SatisfactionPct float64        `json:"satisfaction_rate"` // 满意率
	Reopened        int            `json:"reopened"`
	ReopenPct       float64        `json:"reopen_rate"`
	MedianHours     float64        `json:"median_hours_to_resolve"`
	P90Hours        float64        `json:"p90_hours_to_resolve"`
	ByStatus        map[string]int `json:"by_status"`
	TopCategories   []Count        `json:"top_categories"`
	HotSpots        []Count        `json:"hot_spots"`
	Daily           []Count        `json:"daily"`
}

// Count is one row of a breakdown.
type Count struct {
	Key   string `json:"key"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(int(float64(a)*1000/float64(b)+0.5)) / 10
}

// ComputeMetrics reads the indicators of the subtree within (which must lie
// in the caller's scope) for requests created in [from, to).
func (s *Store) ComputeMetrics(ctx context.Context, within string, from, to time.Time) (Metrics, error) {
	m := Metrics{Division: within, From: from.In(CST).Format("2006-01-02"), To: to.In(CST).Format("2006-01-02"), ByStatus: map[string]int{}}
	sc := access.Subtree(within)
	if !access.ScopeOf(ctx).Contains(within) {
		return m, errOutsideArea
	}
	grid, gargs := gridSQL(access.From(ctx), 5)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT r.category, r.division_code, r.status, r.accepted_at IS NOT NULL, r.response_met, r.answered_at, r.resolve_met, r.rating, r.reopen_count, r.created_at
		FROM requests r WHERE r.division_code >= $1 AND r.division_code < $2 AND r.created_at >= $3 AND r.created_at < $4`+grid, append([]any{sc.Lo, sc.Hi, db.T(from), db.T(to)}, gargs...)...)
	if err != nil {
		return m, err
	}
	defer rows.Close()
	cats, spots, days := map[string]int{}, map[string]int{}, map[string]int{}
	var hours []float64
	for rows.Next() {
		var cat, div, st, rating string
		var acc bool
		var rmet, smet *bool
		var ans, created db.Time
		var reopen int
		if err := rows.Scan(&cat, &div, &st, &acc, &rmet, &ans, &smet, &rating, &reopen, &created); err != nil {
			return m, err
		}
		m.Received++
		m.ByStatus[st]++
		cats[cat]++
		if len(div) >= 12 {
			spots[div[:12]]++
		}
		days[created.In(CST).Format("2006-01-02")]++
		if acc {
			m.Accepted++
			if rmet != nil && *rmet {
				m.AcceptedInTime++
			}
		}
		if !ans.IsZero() {
			m.Resolved++
			if smet != nil && *smet {
				m.ResolvedInTime++
			}
			hours = append(hours, ans.Sub(created.Time).Hours())
		}
		if rating != "" {
			m.Evaluated++
			if rating == Satisfied || rating == FairlySatisfed {
				m.Satisfied++
			}
		}
		if reopen > 0 {
			m.Reopened++
		}
	}
	if err := rows.Err(); err != nil {
		return m, err
	}
	m.TimelyAcceptPct = pct(m.AcceptedInTime, m.Accepted)
	m.OnTimeResolve = pct(m.ResolvedInTime, m.Resolved)
	m.SatisfactionPct = pct(m.Satisfied, m.Evaluated)
	m.ReopenPct = pct(m.Reopened, m.Resolved+m.Reopened)
	if len(hours) > 0 {
		sort.Float64s(hours)
		q := func(p float64) float64 {
			i := int(p*float64(len(hours)-1) + 0.5)
			return float64(int(hours[i]*10+0.5)) / 10
		}
		m.MedianHours, m.P90Hours = q(0.5), q(0.9)
	}
	names, err := s.categoryNames(ctx)
	if err != nil {
		return m, err
	}
	m.TopCategories = top(cats, names, 10)
	spotNames, err := s.divisionNames(ctx, spots)
	if err != nil {
		return m, err
	}
	m.HotSpots = top(spots, spotNames, 10)
	for d := from.In(CST); d.Before(to) && len(m.Daily) < 400; d = d.AddDate(0, 0, 1) {
		k := d.Format("2006-01-02")
		m.Daily = append(m.Daily, Count{Key: k, Name: k, Count: days[k]})
	}
	return m, nil
}

func top(m map[string]int, names map[string]string, n int) []Count {
	out := []Count{}
	for k, v := range m {
		out = append(out, Count{Key: k, Name: names[k], Count: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// errOutsideArea answers for a division outside the caller's area.
var errOutsideArea = fault.NotFound(fault.M("区划不在您的辖区内", "that division is outside your area"))

// categoryNames are the Chinese names of the active categories by code.
func (s *Store) categoryNames(ctx context.Context) (map[string]string, error) {
	cs, err := s.Categories(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, c := range cs {
		names[c.Code] = c.NameZH
	}
	return names, nil
}

// divisionNames names the divisions keyed in codes; a code no longer in
// the division tree keeps no name.
func (s *Store) divisionNames(ctx context.Context, codes map[string]int) (map[string]string, error) {
	names := map[string]string{}
	for code := range codes {
		d, err := s.Divs.Get(ctx, code)
		if errors.Is(err, db.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		names[code] = d.Name
	}
	return names, nil
}
