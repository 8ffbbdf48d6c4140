package requests

import (
	"context"
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/divisions"
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
//
// The figures are read from the daily counters (daily.go): a few rows per
// day of the window, whatever the number of requests. A grid worker's
// figures (their own requests only) and windows not made of whole days
// are grouped reads over the requests, answered from an index holding the
// columns they need (requests_window_*) and sent in one statement. The
// resolution-time quantiles are exact: they are read as counts per 0.1 h,
// the precision they are shown in, and rounding keeps the order of the
// times.
func (s *Store) ComputeMetrics(ctx context.Context, within string, from, to time.Time) (Metrics, error) {
	m := Metrics{Division: within, From: from.In(CST).Format("2006-01-02"), To: to.In(CST).Format("2006-01-02"), ByStatus: map[string]int{}}
	if !access.ScopeOf(ctx).Contains(within) {
		return m, errOutsideArea
	}
	query, args := s.dailySQL(ctx, within, from, to)
	if query == "" {
		w := s.metricsWindow(ctx, within, from, to)
		query, args = s.metricsSQL(w), w.args
	}
	return s.computeFrom(ctx, within, from, to, query, args)
}

// computeFrom computes the indicators from the groups query answers, in
// the columns of metricsSQL.
func (s *Store) computeFrom(ctx context.Context, within string, from, to time.Time, query string, args []any) (Metrics, error) {
	m := Metrics{Division: within, From: from.In(CST).Format("2006-01-02"), To: to.In(CST).Format("2006-01-02"), ByStatus: map[string]int{}}
	days, cats, spots := map[string]int{}, map[string]int{}, map[string]int{}
	var times []bucket
	err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var kind, key, st string
		var tenths int64
		var n, acc, accMet, res, resMet, eval, sat, reopened int
		if err := r.Scan(&kind, &key, &st, &tenths, &n, &acc, &accMet, &res, &resMet, &eval, &sat, &reopened); err != nil {
			return err
		}
		switch kind {
		case groupDay:
			days[key] += n
			m.ByStatus[st] += n
			m.Received += n
			m.Accepted += acc
			m.AcceptedInTime += accMet
			m.Resolved += res
			m.ResolvedInTime += resMet
			m.Evaluated += eval
			m.Satisfied += sat
			m.Reopened += reopened
		case groupCategory:
			cats[key] += n
		case groupCommunity:
			spots[key] += n
		case groupTime:
			times = append(times, bucket{tenths, n})
		}
		return nil
	}, query, args...)
	if err != nil {
		return m, err
	}
	// A counter taken back to zero (a request moved on) names nothing.
	for _, g := range []map[string]int{m.ByStatus, cats, spots} {
		for k, n := range g {
			if n == 0 {
				delete(g, k)
			}
		}
	}
	m.TimelyAcceptPct = pct(m.AcceptedInTime, m.Accepted)
	m.OnTimeResolve = pct(m.ResolvedInTime, m.Resolved)
	m.SatisfactionPct = pct(m.Satisfied, m.Evaluated)
	m.ReopenPct = pct(m.Reopened, m.Resolved+m.Reopened)
	m.MedianHours, m.P90Hours = quantiles(times)
	names, err := s.categoryNames(ctx)
	if err != nil {
		return m, err
	}
	m.TopCategories = top(cats, names, 10)
	m.HotSpots = top(spots, nil, 10)
	for i, c := range m.HotSpots {
		d, err := s.division(ctx, c.Key)
		if errors.Is(err, db.ErrNotFound) {
			continue // a code no longer in the division tree keeps no name
		}
		if err != nil {
			return m, err
		}
		m.HotSpots[i].Name = d.Name
	}
	for d := from.In(CST); d.Before(to) && len(m.Daily) < 400; d = d.AddDate(0, 0, 1) {
		k := d.Format("2006-01-02")
		m.Daily = append(m.Daily, Count{Key: k, Name: k, Count: days[k]})
	}
	return m, nil
}

// dailySQL reads the window's groups from the daily counters, in the
// columns of metricsSQL, when they can answer: for an area of a whole
// level (not a grid worker's own requests) over whole days in China.
// Otherwise it answers "" and the requests are read.
func (s *Store) dailySQL(ctx context.Context, within string, from, to time.Time) (string, []any) {
	if p := access.From(ctx); p != nil && p.Role == access.GridWorker {
		return "", nil
	}
	whole := func(t time.Time) bool {
		c := t.In(CST)
		return c.Equal(time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, CST))
	}
	if !slices.Contains(dailyLevels, len(within)) || !whole(from) || !whole(to) {
		return "", nil
	}
	// Each kind keeps only the key metricsSQL groups it by: the day and
	// state for the figures, the category, the community, the time. The
	// database sums the days: a row per group crosses to Go, not one per
	// day, which costs more than the sort (SQLite's driver reads each row
	// through Go).
	return `SELECT CASE kind WHEN '` + dailyStatus + `' THEN '` + groupDay + `' WHEN '` + dailyCategory + `' THEN '` + groupCategory +
			`' WHEN '` + dailyCommunity + `' THEN '` + groupCommunity + `' ELSE '` + groupTime + `' END,
		CASE kind WHEN '` + dailyStatus + `' THEN day WHEN '` + dailyTime + `' THEN '' ELSE key END,
		CASE kind WHEN '` + dailyStatus + `' THEN key ELSE '' END,
		CASE kind WHEN '` + dailyTime + `' THEN CAST(key AS BIGINT) ELSE 0 END,
		CAST(SUM(n) AS BIGINT), CAST(SUM(acc) AS BIGINT), CAST(SUM(acc_met) AS BIGINT), CAST(SUM(res) AS BIGINT),
		CAST(SUM(res_met) AS BIGINT), CAST(SUM(eval) AS BIGINT), CAST(SUM(sat) AS BIGINT), CAST(SUM(reopened) AS BIGINT)
		FROM request_daily WHERE area = $1 AND day >= $2 AND day < $3 GROUP BY 1, 2, 3, 4`,
		[]any{within, from.In(CST).Format("2006-01-02"), to.In(CST).Format("2006-01-02")}
}

// window is the FROM and WHERE of every read of ComputeMetrics, and its
// arguments.
type window struct {
	from string
	args []any
}

// metricsWindow selects the requests of the subtree within created in
// [from, to), as far as the caller may see them (a grid worker: their
// grids'). A community has no subtree: its code is matched exactly, so
// that the division-first index reads its window and nothing else.
// SQLite is told which index to read, as its planner has no histograms
// to tell a county's month from a street's history: time first for a
// county or wider or a street, the division first for a community.
// PostgreSQL chooses from its statistics with the arguments' values (a
// custom plan, see customPlan).
func (s *Store) metricsWindow(ctx context.Context, within string, from, to time.Time) window {
	sc := access.Subtree(within)
	args := []any{db.T(from), db.T(to)}
	where, index := ` AND r.division_code >= $3 AND r.division_code < $4`, `requests_window_time`
	if divisions.LevelOf(within) == 5 {
		where, index = ` AND r.division_code = $3`, `requests_window_div`
		args = append(args, within)
	} else {
		args = append(args, sc.Lo, sc.Hi)
	}
	grid, gargs := gridSQL(access.From(ctx), len(args)+1)
	from_ := ` FROM requests r`
	if s.DB.Dialect == db.SQLite {
		from_ += ` INDEXED BY ` + index
	}
	return window{
		from: from_ + ` WHERE r.created_at >= $1 AND r.created_at < $2` + where + grid,
		args: customPlan(s.DB, append(args, gargs...)),
	}
}

// customPlan has PostgreSQL plan a statement for the values of its
// arguments, not once for any value: a generic plan cannot tell a
// county's month from a community's.
func customPlan(d *db.DB, args []any) []any {
	if d.Dialect != db.Postgres {
		return args
	}
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// The groups of metricsSQL, named in its first column.
const (
	groupDay       = "d" // by day and state, with the figures of the indicators
	groupCategory  = "c"
	groupCommunity = "s" // by community, for the hot spots
	groupTime      = "t" // answered requests by time to answer in tenths of an hour
)

// metricsSQL reads the window's groups: each row is (group, key, state,
// tenths, count, then the indicators' counts for the day rows). The time
// from creation to answer is rounded half up to tenths of an hour exactly,
// from whole microseconds (the stores' precision).
func (s *Store) metricsSQL(w window) string {
	micros := `((CAST(strftime('%s', r.answered_at) AS INTEGER) - CAST(strftime('%s', r.created_at) AS INTEGER)) * 1000000
		+ CAST(substr(r.answered_at, 21, 6) AS INTEGER) - CAST(substr(r.created_at, 21, 6) AS INTEGER))`
	if s.DB.Dialect == db.Postgres {
		micros = `CAST(EXTRACT(EPOCH FROM r.answered_at - r.created_at) * 1000000 AS BIGINT)`
	}
	const none = `, 0, 0, 0, 0, 0, 0, 0`
	day, created := `g.day`, `date(r.created_at, '+8 hours')` // the day in China
	if s.DB.Dialect == db.Postgres {
		day, created = `to_char(g.day, 'YYYY-MM-DD')`, `r.created_day`
	}
	return `SELECT '` + groupDay + `', ` + day + `, g.status, 0, g.n, g.acc, g.acc_met, g.res, g.res_met, g.eval, g.sat, g.reopened FROM (
		SELECT ` + created + ` AS day, r.status AS status, COUNT(*) AS n,
		SUM(CASE WHEN r.accepted_at IS NOT NULL THEN 1 ELSE 0 END) AS acc,
		SUM(CASE WHEN r.accepted_at IS NOT NULL AND r.response_met THEN 1 ELSE 0 END) AS acc_met,
		SUM(CASE WHEN r.answered_at IS NOT NULL THEN 1 ELSE 0 END) AS res,
		SUM(CASE WHEN r.answered_at IS NOT NULL AND r.resolve_met THEN 1 ELSE 0 END) AS res_met,
		SUM(CASE WHEN r.rating <> '' THEN 1 ELSE 0 END) AS eval,
		SUM(CASE WHEN r.rating = '` + Satisfied + `' OR r.rating = '` + FairlySatisfed + `' THEN 1 ELSE 0 END) AS sat,
		SUM(CASE WHEN r.reopen_count > 0 THEN 1 ELSE 0 END) AS reopened` + w.from + ` GROUP BY 1, 2) g
	UNION ALL SELECT '` + groupCategory + `', r.category, '', 0, COUNT(*)` + none + w.from + ` GROUP BY 2
	UNION ALL SELECT '` + groupCommunity + `', substr(r.division_code, 1, 12), '', 0, COUNT(*)` + none + w.from + ` AND length(r.division_code) >= 12 GROUP BY 2
	UNION ALL SELECT '` + groupTime + `', '', '', (` + micros + ` + 180000000) / 360000000, COUNT(*)` + none + w.from + ` AND r.answered_at IS NOT NULL GROUP BY 4`
}

// bucket is how many answered requests took tenths/10 hours.
type bucket struct {
	tenths int64
	n      int
}

// quantiles answers the median and the 90th percentile of the times to
// answer, in hours to 0.1, from their counts per tenth of an hour.
func quantiles(bs []bucket) (median, p90 float64) {
	sort.Slice(bs, func(i, j int) bool { return bs[i].tenths < bs[j].tenths })
	total := 0
	for _, b := range bs {
		total += b.n
	}
	if total == 0 {
		return 0, 0
	}
	// The value at rank i (0-based) of the sorted times.
	at := func(p float64) float64 {
		i := int(p*float64(total-1) + 0.5)
		for _, b := range bs {
			if i < b.n {
				return float64(b.tenths) / 10
			}
			i -= b.n
		}
		return float64(bs[len(bs)-1].tenths) / 10
	}
	return at(0.5), at(0.9)
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
