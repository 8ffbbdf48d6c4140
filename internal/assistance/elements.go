package assistance

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"linli/internal/db"
	"linli/internal/module"
	"linli/internal/questions"
)

// The module's records are indicator data elements: the counties'
// standards weighted by population (I03) and the applications decided in
// the year, all of them and those that settled several programmes at once
// (C11). They are read when an indicator is (Volatile): a standard set or
// a decision taken shows at once, outside the precomputed values'
// fingerprint.

// Elements are the module's data elements.
func (m *assistanceModule) Elements() []module.Element { return Elements() }

// Elements are the module's data elements (see assistanceModule.Elements).
func Elements() []module.Element {
	return []module.Element{
		{Key: "assistance_standard_weighted", NameZH: "年低保标准（元）×常住人口", NameEN: "Annual minimum allowance standard (yuan) × resident population",
			Source: "computed", Volatile: true, Measured: true, Sum: standardSum(true)},
		{Key: "assistance_standard_weight", NameZH: "已定低保标准县的常住人口", NameEN: "Resident population of counties with a standard for the year",
			Source: "computed", Volatile: true, Measured: true, Sum: standardSum(false)},
		{Key: "assistance_decided", NameZH: "当年作出决定的救助申请", NameEN: "Assistance applications decided in the year",
			Source: "computed", Volatile: true, Sum: decidedSum(false)},
		{Key: "assistance_decided_joint", NameZH: "当年一件事联办决定的救助申请（涉及两个及以上项目）", NameEN: "Assistance applications decided in the year for two programmes or more at once",
			Source: "computed", Volatile: true, Sum: decidedSum(true)},
	}
}

func groupKey(col string, g module.Group) string {
	if g.Fine || g.Prefix <= 0 {
		return col
	}
	return fmt.Sprintf("substr(%s, 1, %d)", col, g.Prefix)
}

// standardSum is, per group, Σ population × the county's annual standard
// in yuan (withValue) or Σ population, over the village-level units of
// counties that set a standard for the year: their ratio is the
// population-weighted mean standard. A township or village takes its
// county's standard.
func standardSum(withValue bool) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		key := groupKey("a.division_code", g)
		val := "SUM(a.value)"
		if withValue {
			// fen per person and month → yuan per year
			val = "SUM(a.value * s.dibao_fen * 12 / 100.0)"
		}
		return sums(ctx, q, `SELECT `+key+`, `+val+` FROM divisions_attributes a
			JOIN ast_standards s ON s.county = substr(a.division_code, 1, 6) AND s.year = a.year
			WHERE a.division_code >= $1 AND a.division_code < $2 AND a.year = $3 AND a.kind = 'population' AND length(a.division_code) = 12
			GROUP BY `+key, g.Lo, g.Hi, g.Year)
	}
}

// yearBounds are the first instants of year and the next, China time.
func yearBounds(year int) (db.Time, db.Time) {
	return db.T(time.Date(year, 1, 1, 0, 0, 0, 0, questions.CST)), db.T(time.Date(year+1, 1, 1, 0, 0, 0, 0, questions.CST))
}

// decidedSum counts applications with a decision (an approval or a
// refusal, first or on appeal) taken in the year, by their division; with
// joint, only those whose application asked for two programmes or more or
// whose approval covered two or more: one decision settling several
// programmes is the 一件事 the plan counts.
func decidedSum(joint bool) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		key := groupKey("a.division_code", g)
		count := "COUNT(*)"
		if joint {
			count = "SUM(CASE WHEN a.asked LIKE '%,%' OR a.approved LIKE '%,%' THEN 1 ELSE 0 END)"
		}
		from, to := yearBounds(g.Year)
		return sums(ctx, q, `SELECT `+key+`, `+count+` FROM ast_applications a
			WHERE a.division_code >= $1 AND a.division_code < $2 AND EXISTS (SELECT 1 FROM ast_events e
				WHERE e.application_id = a.id AND e.action IN ('approve', 'refuse') AND e.at >= $3 AND e.at < $4)
			GROUP BY `+key, g.Lo, g.Hi, from, to)
	}
}

func sums(ctx context.Context, q *sql.DB, query string, args ...any) (map[string]float64, error) {
	out := map[string]float64{}
	err := db.EachRow(ctx, q, func(r db.Scanner) error {
		var k string
		var v sql.NullFloat64
		if err := r.Scan(&k, &v); err != nil {
			return err
		}
		if v.Valid {
			out[k] += v.Float64
		}
		return nil
	}, query, args...)
	return out, err
}
