package indicators_test

import (
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
)

// The indicators and the life circles read other owners' data only through
// the views they publish. Each view reads one table, so both stores inline
// it: the hot queries still search the owner's index.
func TestPublishedViewsUseTheOwnersIndexes(t *testing.T) {
	t.Parallel()
	const end = "'2026-01-01T00:00:00Z'"
	hot := []struct{ name, query, index string }{
		{"unit attribute sum", `SELECT substr(division_code, 1, 6), SUM(value) FROM divisions_attributes
			WHERE division_code >= '330106' AND division_code < '330107' AND year = 2025 AND kind = 'population' AND length(division_code) = 12
			GROUP BY substr(division_code, 1, 6)`, "unit_attributes_kind"},
		{"designation count", `SELECT substr(division_code, 1, 6), COUNT(*) FROM divisions_designations
			WHERE division_code >= '33' AND division_code < '34' AND kind = 'future_community' AND year <= 2025 AND (withdrawn_year IS NULL OR withdrawn_year > 2025)
			GROUP BY substr(division_code, 1, 6)`, "unit_designations_kind"},
		{"children of a division", `SELECT code FROM divisions_tree WHERE parent_code = '330106' ORDER BY code`, "divisions_parent"},
		{"facilities at a year's end", `SELECT substr(division_code, 1, 6), COUNT(*) FROM registry_facility_versions
			WHERE division_code >= '330106' AND division_code < '330107' AND category = 'childcare' AND status = 'open' AND valid_from < ` + end + ` AND (valid_to IS NULL OR valid_to >= ` + end + `)
			GROUP BY substr(division_code, 1, 6)`, "reg_facility_versions_div"},
		{"personnel at a year's end", `SELECT p.division_code, p.attrs FROM registry_personnel_versions p JOIN divisions_tree d ON d.code = p.division_code
			WHERE p.division_code >= '330106' AND p.division_code < '330107' AND p.roles LIKE '%,gp,%' AND p.valid_from < ` + end + ` AND (p.valid_to IS NULL OR p.valid_to >= ` + end + `)`,
			"reg_personnel_versions_div"},
		{"tag counts", `SELECT substr(division_code, 1, 6), SUM(n) FROM registry_tag_counts
			WHERE division_code >= '330106' AND division_code < '330107' AND tag = 'family_doctor' AND lvl = 5 GROUP BY substr(division_code, 1, 6)`, "reg_tag_counts_lvl"},
		// The freshness check of the precomputed values: the counted tags
		// are read from the (tag, division_code) index, not row by row.
		{"the check's checksum of counted tags", `SELECT SUM(CAST(division_code AS BIGINT) % 9973 + 1) FROM registry_resident_tags WHERE tag IN ('family_doctor')`, "reg_resident_tags_tag"},
		{"a county's facilities for a life-circle study", `SELECT id, category, lon, lat FROM registry_facilities
			WHERE division_code >= '330106' AND division_code < '330107' AND status = 'open'`, "reg_facilities_div"},
	}
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		apptest.Open(t, d, nil)
		for _, h := range hot {
			t.Run(h.name, func(t *testing.T) {
				// PostgreSQL prefers sequential scans on tables this small:
				// an index it still does not use is one the view hides.
				plan, err := d.Explain(t.Context(), h.query, nil, db.NoSeqScan())
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plan, h.index) {
					t.Errorf("the plan does not use %s:\n%s", h.index, plan)
				}
			})
		}
	})
}
