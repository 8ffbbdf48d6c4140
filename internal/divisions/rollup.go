package divisions

import (
	"context"
	"fmt"
	"strings"

	"linli/internal/access"
)

// Totals sums additive attributes of village-level units by child of code
// for one year: the roll-up is a GROUP BY on a code prefix, no tree walk.
// Only the finest level is summed so that a value entered at a township and
// at its communities is not counted twice. Rows outside the caller's
// business scope are not counted.
func (s *Store) Totals(ctx context.Context, code string, year int, kinds []string) (map[string]map[string]float64, error) {
	l := LevelOf(code)
	if l == 0 || l >= 5 || len(kinds) == 0 {
		return map[string]map[string]float64{}, nil
	}
	childLen := CodeLen[l+1]
	sc := access.ScopeOf(ctx)
	sub := access.Subtree(code)
	args := []any{sub.Lo, sub.Hi, sc.Lo, sc.Hi, year}
	ph := make([]string, len(kinds))
	for i, k := range kinds {
		args = append(args, k)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	q := fmt.Sprintf(`SELECT substr(division_code, 1, %d) AS child, kind, SUM(value) FROM unit_attributes
		WHERE division_code >= $1 AND division_code < $2 AND division_code >= $3 AND division_code < $4
		AND year = $5 AND length(division_code) = 12 AND kind IN (%s)
		GROUP BY substr(division_code, 1, %d), kind`, childLen, strings.Join(ph, ","), childLen)
	rows, err := s.DB.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]float64{}
	for rows.Next() {
		var child, kind string
		var v float64
		if err := rows.Scan(&child, &kind, &v); err != nil {
			return nil, err
		}
		if out[child] == nil {
			out[child] = map[string]float64{}
		}
		out[child][kind] = v
	}
	return out, rows.Err()
}

// DesignationCounts counts designations held in the subtree of code, by
// kind, within the caller's scope.
func (s *Store) DesignationCounts(ctx context.Context, code string) (map[string]int, error) {
	sc := access.ScopeOf(ctx)
	sub := access.Subtree(code)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT kind, COUNT(*) FROM unit_designations
		WHERE withdrawn_year IS NULL AND division_code >= $1 AND division_code < $2 AND division_code >= $3 AND division_code < $4 GROUP BY kind`, sub.Lo, sub.Hi, sc.Lo, sc.Hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// LatestYear is the latest year with any attribute in the subtree, or 0.
func (s *Store) LatestYear(ctx context.Context, code string) (int, error) {
	sc := access.ScopeOf(ctx)
	sub := access.Subtree(code)
	var y *int
	err := s.DB.R.QueryRowContext(ctx, `SELECT MAX(year) FROM unit_attributes WHERE division_code >= $1 AND division_code < $2 AND division_code >= $3 AND division_code < $4`,
		sub.Lo, sub.Hi, sc.Lo, sc.Hi).Scan(&y)
	if err != nil {
		return 0, err
	}
	if y == nil { // no attribute at all
		return 0, nil
	}
	return *y, nil
}
