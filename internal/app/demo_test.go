package app_test

import (
	"encoding/json"
	"slices"
	"testing"

	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/module"
	"linli/internal/requests"
)

// indexNames lists the indexes of the registry's bulk-loaded tables.
func indexNames(t *testing.T, e *apptest.Env) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('reg_households', 'reg_residents', 'reg_resident_tags') ORDER BY name`
	if e.App.DB.Dialect == db.Postgres {
		q = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ('reg_households', 'reg_residents', 'reg_resident_tags') ORDER BY indexname`
	}
	names, err := db.Collect(t.Context(), e.App.DB.R, db.Value[string], q)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// The demo writes through the bulk path, in batches across communities:
// what it says it wrote is what the tables hold, every row is where it
// belongs, the maintained tag counts agree with the tags, and the indexes
// it set aside during the load are all back.
func TestDemoCounts(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		before := indexNames(t, e)
		var steps []string
		_, err := e.App.SeedDemo(t.Context(), module.DemoOptions{Seed: 3, Scale: "0.002", Progress: func(what string, done, total int) {
			if done == total {
				steps = append(steps, what)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		var detail string
		if err := e.App.DB.R.QueryRow(`SELECT detail FROM audit_log WHERE action = 'registry.demo.seed'`).Scan(&detail); err != nil {
			t.Fatal(err)
		}
		var said struct{ Residents, Households, Tags int }
		if err := json.Unmarshal([]byte(detail), &said); err != nil {
			t.Fatal(err)
		}
		t.Run("every community gets residents, more than one batch in all", func(t *testing.T) {
			if n := e.Count(`SELECT COUNT(DISTINCT division_code) FROM reg_residents`); n != 222 {
				t.Fatalf("%d communities have residents, want 222", n)
			}
			if said.Residents < 2000 {
				t.Fatalf("%d residents", said.Residents)
			}
		})
		t.Run("the counts recorded are the rows written", func(t *testing.T) {
			got := []int{e.Count(`SELECT COUNT(*) FROM reg_residents`), e.Count(`SELECT COUNT(*) FROM reg_households`), e.Count(`SELECT COUNT(*) FROM reg_resident_tags`)}
			if want := []int{said.Residents, said.Households, said.Tags}; !slices.Equal(got, want) || said.Tags == 0 {
				t.Fatalf("tables hold %v, the audit entry says %v", got, want)
			}
		})
		t.Run("each resident lives in a household of their community and each household has residents", func(t *testing.T) {
			if n := e.Count(`SELECT COUNT(*) FROM reg_residents r JOIN reg_households h ON h.id = r.household_id WHERE h.division_code <> r.division_code`); n != 0 {
				t.Fatalf("%d residents in another community's household", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM reg_households h WHERE NOT EXISTS (SELECT 1 FROM reg_residents r WHERE r.household_id = h.id)`); n != 0 {
				t.Fatalf("%d empty households", n)
			}
		})
		t.Run("each tag belongs to its resident's community and the maintained counts agree", func(t *testing.T) {
			if n := e.Count(`SELECT COUNT(*) FROM reg_resident_tags t JOIN reg_residents r ON r.id = t.resident_id WHERE t.division_code <> r.division_code`); n != 0 {
				t.Fatalf("%d tags filed under another community", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM (SELECT division_code, tag, COUNT(*) AS n FROM reg_resident_tags GROUP BY division_code, tag) x
				LEFT JOIN reg_tag_counts c ON c.division_code = x.division_code AND c.tag = x.tag WHERE c.n IS NULL OR c.n <> x.n`); n != 0 {
				t.Fatalf("%d community tag counts disagree with the tags", n)
			}
			if n := e.Count(`SELECT COALESCE(SUM(n), 0) FROM reg_tag_counts WHERE division_code = '330106'`); n != said.Tags {
				t.Fatalf("the county's tag count is %d, want %d", n, said.Tags)
			}
		})
		t.Run("the indexes set aside during the load are back", func(t *testing.T) {
			if after := indexNames(t, e); !slices.Equal(after, before) {
				t.Fatalf("indexes before %v, after %v", before, after)
			}
		})
		t.Run("the requests scale with the demo and every step reports its end", func(t *testing.T) {
			if n, want := e.Count(`SELECT COUNT(*) FROM requests`), requests.DemoCount("0.002"); n != want {
				t.Fatalf("%d requests, want %d", n, want)
			}
			// Each module's own steps end, then the module, and the
			// statistics last.
			r, rq, v := slices.Index(steps, "居民 / residents"), slices.Index(steps, "诉求 / requests"), slices.Index(steps, "探访 / visits")
			if r < 0 || rq < r || v < rq || steps[r+1] != "registry" || steps[rq+1] != "requests" || steps[v+1] != "visits" || steps[len(steps)-1] != "统计 / statistics" {
				t.Fatalf("progress ended for %v", steps)
			}
		})
		t.Run("the county demo gets more requests than the default", func(t *testing.T) {
			if c, d := requests.DemoCount("county"), requests.DemoCount(""); c <= d || d != 320 {
				t.Fatalf("county %d, default %d", c, d)
			}
		})
	})
}
