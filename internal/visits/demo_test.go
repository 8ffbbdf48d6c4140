package visits_test

import (
	"testing"

	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/module"
)

// TestDemo: the demo county has a month of schedules and visits in every
// state, and the rates have values.
func TestDemo(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		e := apptest.New(t, d)
		if _, err := e.App.SeedDemo(t.Context(), module.DemoOptions{Seed: 7, Scale: "community"}); err != nil {
			t.Fatal(err)
		}
		for _, status := range []string{"open", "done", "not_home", "refused"} {
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE status = $1`, status); n == 0 {
				t.Errorf("no %s visits in the demo", status)
			}
		}
		for what, q := range map[string]string{
			"retries":           `SELECT COUNT(*) FROM vis_visits WHERE origin LIKE 'r:%'`,
			"high-risk visits":  `SELECT COUNT(*) FROM vis_visits WHERE risk = 'high'`,
			"assistance flags":  `SELECT COUNT(*) FROM vis_assistance_flags`,
			"assisted families": `SELECT COUNT(*) FROM vis_visits WHERE programme_id = 'prog-assisted-families'`,
			"children (when the demo has tagged children)": `SELECT COUNT(*) FROM vis_visits WHERE programme_id = 'prog-children'
				OR NOT EXISTS (SELECT 1 FROM reg_resident_tags WHERE tag IN ('orphan', 'child_in_difficulty', 'left_behind_child'))`,
			"visits with no owner": `SELECT 1 - COUNT(*) FROM vis_visits WHERE owner = ''`,
		} {
			if n := e.Count(q); n <= 0 {
				t.Errorf("the demo has no %s (%d)", what, n)
			}
		}
	})
}
