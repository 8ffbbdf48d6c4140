package lifecircle_test

import (
	"regexp"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/lifecircle"
)

// Above a county the page lists the counties to choose: read through the
// tree's parent index (about a hundred rows for the province), never by
// reading the province's 27,000 divisions.
func TestCountiesAreReadByTheParentIndex(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		d := e.App.DB
		for _, k := range []struct {
			name  string
			level int
			code  string
		}{{"below the province", 1, "33"}, {"below a city", 2, "3301"}} {
			t.Run("the counties "+k.name+" are read by divisions_parent", func(t *testing.T) {
				plan, err := d.Explain(t.Context(), lifecircle.CountiesSQL(k.level), []any{k.code}, db.NoSeqScan())
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plan, "divisions_parent") || regexp.MustCompile(`(?m)^\s*SCAN `).MatchString(plan) {
					t.Errorf("the plan does not search divisions_parent alone:\n%s", plan)
				}
				if testing.Verbose() {
					t.Log(plan)
				}
			})
		}
		counties := regexp.MustCompile(`<li><a href="/lifecircle\?division=(\d{6})">([^<]+)</a></li>`)
		t.Run("the province officer chooses among every county of the province, in code order, by full name", func(t *testing.T) {
			e.User("province", access.Officer, "33")
			st, page, _ := e.Login("province").Get("/lifecircle")
			got := counties.FindAllStringSubmatch(page, -1)
			want := e.Count(`SELECT COUNT(*) FROM divisions WHERE level = 3 AND code >= '33' AND code < '34'`)
			if st != 200 || len(got) != want || want < 90 {
				t.Fatalf("got %d with %d counties, want %d", st, len(got), want)
			}
			for i, g := range got {
				if i > 0 && g[1] <= got[i-1][1] {
					t.Errorf("county %s after %s", g[1], got[i-1][1])
				}
			}
			var full string
			if err := d.R.QueryRow(`SELECT full_name FROM divisions WHERE code = $1`, got[0][1]).Scan(&full); err != nil {
				t.Fatal(err)
			}
			if got[0][2] != full {
				t.Errorf("first county named %q, want %q", got[0][2], full)
			}
		})
		t.Run("a city officer chooses among the city's counties only", func(t *testing.T) {
			e.User("ningbo", access.Officer, apptest.OtherCity)
			st, page, _ := e.Login("ningbo").Get("/lifecircle")
			got := counties.FindAllStringSubmatch(page, -1)
			want := e.Count(`SELECT COUNT(*) FROM divisions WHERE parent_code = $1`, apptest.OtherCity)
			if st != 200 || len(got) != want || want == 0 {
				t.Fatalf("got %d with %d counties, want %d", st, len(got), want)
			}
			for _, g := range got {
				if !strings.HasPrefix(g[1], apptest.OtherCity) || !strings.HasPrefix(g[2], "浙江省宁波市") {
					t.Errorf("county %s %q outside the city", g[1], g[2])
				}
			}
		})
	})
}
