package visits

import (
	"context"
	"database/sql"
	"fmt"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/module"
)

// rateElements name each group's monthly due and visited counts as the
// indicator formulas use them (C07, C10, C12).
var rateElements = []struct {
	group, due, visited string
	zh, en              string
	doneZH, doneEN      string
}{
	{GroupSpecialElderly, "special_elderly_due", "special_elderly_visited", "当月应探访特殊困难老年人数", "Elderly people in special difficulty due a visit in the month", "当月已探访特殊困难老年人数", "Elderly people in special difficulty visited in the month"},
	{GroupChildren, "children_due", "children_visited", "当月应探访孤儿和困境儿童数", "Orphans and children in difficulty due a visit in the month", "当月已探访孤儿和困境儿童数", "Orphans and children in difficulty visited in the month"},
	{GroupAssistedFamilies, "assisted_families_due", "assisted_families_cared", "当月应关爱救助家庭数", "Assisted families due a care visit in the month", "当月已关爱救助家庭数", "Assisted families cared for in the month"},
}

// Elements are the monthly visit counts per group: targets due in the
// month (those with a visit not cancelled: the group as of the month) and
// targets visited (a done visit in the month, not merely attempted).
func (m *visitsModule) Elements() []module.Element { return Elements() }

// Elements are the module's data elements (see visitsModule.Elements).
func Elements() []module.Element {
	var out []module.Element
	for _, r := range rateElements {
		out = append(out,
			module.Element{Key: r.due, NameZH: r.zh, NameEN: r.en, Source: "computed", Monthly: true, Volatile: true, Sum: countSum(r.group, false)},
			module.Element{Key: r.visited, NameZH: r.doneZH, NameEN: r.doneEN, Source: "computed", Monthly: true, Volatile: true, Sum: countSum(r.group, true)})
	}
	return out
}

// countSum counts a group's distinct targets per division prefix for the
// group's month; for a whole year (Month 0) the sum over its months (the
// indicators take the mean of the months' rates themselves).
func countSum(group string, visited bool) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		return CountTargets(ctx, q, group, visited, g)
	}
}

// CountTargets is one count of the rates: distinct targets of the group
// due (or visited) per month, summed by division prefix (a target visited
// in two divisions of the month counts in each).
//
// Asked for a division itself (the key is the division's own code, as for
// a province's, city's or county's value) with the group's one programme
// (a county's own programmes have no group), it counts targets by reading
// the index vis_visits_rates (month, programme, subject, …) in its order:
// one group per target, without sorting or hashing every visit. From a
// county up the division range is written as an expression so that
// SQLite takes no index on the division for it (it covers most of a
// month's visits; PostgreSQL's statistics see that anyway).
func CountTargets(ctx context.Context, q *sql.DB, group string, visited bool, g module.Group) (map[string]float64, error) {
	key := fmt.Sprintf("substr(v.division_code, 1, %d)", g.Prefix)
	if g.Fine || g.Prefix <= 0 {
		key = "v.division_code"
	}
	cond := "v.status <> 'cancelled'"
	if visited {
		cond = "v.status = 'done'"
	}
	monthCond := "v.month = $4"
	arg := fmt.Sprintf("%04d-%02d", g.Year, g.Month)
	if g.Month == 0 {
		monthCond = "v.month >= $4 AND v.month <= $5"
		arg = fmt.Sprintf("%04d-01", g.Year)
	}
	progs, err := db.Collect(ctx, q, db.Value[string], `SELECT id FROM vis_programmes WHERE rate_group = $1`, group)
	if err != nil {
		return nil, err
	}
	args := []any{group, g.Lo, g.Hi, arg}
	if g.Month == 0 {
		args = append(args, fmt.Sprintf("%04d-12", g.Year))
	}
	if len(progs) == 1 && !g.Fine && g.Prefix > 0 && g.Prefix == len(g.Lo) {
		div := "v.division_code"
		if g.Prefix <= 6 {
			div = "COALESCE(v.division_code, '')"
		}
		args[0] = progs[0]
		per := "v.subject_id"
		if g.Month == 0 {
			per = "v.month, v.subject_id"
		}
		var n int64
		if err := q.QueryRowContext(ctx, divisionTargetsSQL(div, monthCond, cond, per), args...).Scan(&n); err != nil {
			return nil, err
		}
		out := map[string]float64{}
		if n > 0 {
			out[g.Lo] = float64(n)
		}
		return out, nil
	}
	return sumRows(ctx, q, `SELECT k, COUNT(*) FROM (SELECT DISTINCT `+key+` AS k, v.month, v.subject_id FROM vis_visits v
		WHERE v.programme_id IN (SELECT id FROM vis_programmes WHERE rate_group = $1)
		AND v.division_code >= $2 AND v.division_code < $3 AND `+monthCond+` AND `+cond+`) t GROUP BY k`, args...)
}

// divisionTargetsSQL counts one programme's targets in a division: $1 the
// programme, $2 and $3 the division range, $4 (and $5) the month(s).
func divisionTargetsSQL(div, monthCond, cond, per string) string {
	return `SELECT COUNT(*) FROM (SELECT v.subject_id FROM vis_visits v
		WHERE v.programme_id = $1 AND ` + div + ` >= $2 AND ` + div + ` < $3 AND ` + monthCond + ` AND ` + cond + `
		GROUP BY ` + per + `) t`
}

// sumRows reads (key, count) rows into a map.
func sumRows(ctx context.Context, q *sql.DB, query string, args ...any) (map[string]float64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var k string
		var n float64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] += n
	}
	return out, rows.Err()
}

// Rate is one group's monthly visit rate in a division.
type Rate struct {
	Group   string   `json:"group"`
	Due     int      `json:"due"`
	Visited int      `json:"visited"`
	Rate    *float64 `json:"rate"` // visited ÷ due; null when nobody is due
}

// Rates are a division's visit rates for a month.
type Rates struct {
	Division string `json:"division"`
	Month    string `json:"month"`
	Groups   []Rate `json:"groups"`
}

// Rates works out a division's rates for a month: the same counts the
// indicators read, rolled up by summing numerators and denominators.
func (s *Store) Rates(ctx context.Context, division, month string) (Rates, error) {
	p := access.From(ctx)
	if !canRead(p) {
		return Rates{}, errNoRole
	}
	if division == "" {
		division = p.Division
	}
	if month == "" {
		month = MonthOf(s.Now()).String()
	}
	m, err := ParseMonth(month)
	if err != nil {
		return Rates{}, err
	}
	if !divisions.ValidCode(division) {
		return Rates{}, fault.Invalid(fault.M("区划代码格式不正确", "malformed division code"), fault.Field("division", fault.M("须为 2/4/6/9/12 位区划代码", "must be a 2/4/6/9/12-digit division code")))
	}
	if !access.BusinessScope(p).Contains(division) {
		return Rates{}, fault.NotFound(fault.M("区划不在您的管辖范围内", "division outside your jurisdiction"))
	}
	sc := access.Subtree(division)
	g := module.Group{Lo: sc.Lo, Hi: sc.Hi, Prefix: len(division), Year: m.Year, Month: int(m.Month)}
	out := Rates{Division: division, Month: m.String(), Groups: []Rate{}}
	for _, r := range rateElements {
		due, err := CountTargets(ctx, s.DB.R, r.group, false, g)
		if err != nil {
			return out, err
		}
		done, err := CountTargets(ctx, s.DB.R, r.group, true, g)
		if err != nil {
			return out, err
		}
		rt := Rate{Group: r.group, Due: int(due[division]), Visited: int(done[division])}
		if rt.Due > 0 {
			x := float64(rt.Visited) / float64(rt.Due)
			rt.Rate = &x
		}
		out.Groups = append(out.Groups, rt)
	}
	return out, nil
}
