package requests

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"linli/internal/db"
	"linli/internal/module"
)

// YearCountKinds are the request counts offered to indicator formulas, each
// a condition on a request received in the year (China Standard Time).
var YearCountKinds = map[string]string{
	"received":         "1 = 1",
	"accepted":         "accepted_at IS NOT NULL",
	"accepted_in_time": "response_met = TRUE",
	"resolved":         "answered_at IS NOT NULL",
	"resolved_on_time": "resolve_met = TRUE",
	"rated":            "rating <> ''",
	"satisfied":        "rating IN ('" + Satisfied + "', '" + FairlySatisfed + "')",
}

// YearCounts counts the requests of a kind received in a year, grouped by
// the first prefix characters of their division code — the same numbers as
// the metrics page, as data elements of the indicators.
func YearCounts(kind string) func(ctx context.Context, q *sql.DB, prefix int, lo, hi string, year int) (map[string]float64, error) {
	cond, ok := YearCountKinds[kind]
	if !ok {
		panic("requests: no count kind " + kind)
	}
	return func(ctx context.Context, q *sql.DB, prefix int, lo, hi string, year int) (map[string]float64, error) {
		from := time.Date(year, 1, 1, 0, 0, 0, 0, CST)
		rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT substr(division_code, 1, %d), COUNT(*) FROM requests
			WHERE division_code >= $1 AND division_code < $2 AND created_at >= $3 AND created_at < $4 AND %s
			GROUP BY substr(division_code, 1, %d)`, prefix, cond, prefix), lo, hi, db.T(from), db.T(from.AddDate(1, 0, 0)))
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
}

// yearElements are the year's request counts as data elements. They are
// volatile: every request handled changes them, so an indicator naming one
// is computed when read.
func yearElements() []module.Element {
	names := map[string][2]string{
		"received": {"民呼我为诉求件数", "Requests received"}, "accepted": {"已受理的诉求", "Requests accepted"},
		"accepted_in_time": {"及时受理的诉求", "Requests accepted in time"}, "resolved": {"已办结的诉求", "Requests resolved"},
		"resolved_on_time": {"按期办结的诉求", "Requests resolved on time"}, "rated": {"已评价的诉求", "Requests rated"},
		"satisfied": {"评价满意的诉求", "Requests rated satisfied"},
	}
	var out []module.Element
	for kind, n := range names {
		count := YearCounts(kind)
		out = append(out, module.Element{Key: "requests_" + kind, NameZH: n[0], NameEN: n[1], Source: "computed", Volatile: true,
			Sum: func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
				return count(ctx, q, g.Prefix, g.Lo, g.Hi, g.Year)
			}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
