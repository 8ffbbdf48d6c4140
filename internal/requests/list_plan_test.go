package requests

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/secret"
)

// The inbox's page of a county officer is read in the order of the
// time-first index and stops at the page, never sorting the county's every
// request; a community worker's keeps its division's index, not the
// county's time order. On a skewed history (one community holds most of
// its county's requests, a second county a share) on both stores.
func TestListPlans(t *testing.T) {
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, CST)
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			s := metricsStore(t, dialect)
			g := newSynthetic(t, s, 4000, end, 2*365*24*time.Hour)
			g.load(t, s)
			if err := db.Analyze(context.Background(), s.DB, "requests"); err != nil {
				t.Fatal(err)
			}
			keys, _, err := secret.Load(base64.StdEncoding.EncodeToString(make([]byte, 32)), "")
			if err != nil {
				t.Fatal(err)
			}
			s.Keys = keys // for the cursors of deep pages
			county := &access.Principal{Username: "o", Role: access.Officer, Division: "330106"}
			small := &access.Principal{Username: "w", Role: access.CommunityWorker, Division: g.county[3]}
			for _, c := range []struct {
				name       string
				p          *access.Principal
				f          Filter
				want, deny []string
				deep       bool // a page after a cursor a year back
			}{
				{"the county officer's inbox walks the time-first index", county, Filter{}, []string{"requests_window_time"}, []string{"TEMP B-TREE FOR ORDER BY", "Seq Scan", "SCAN r\n", "Sort\n"}, false},
				{"oldest first too", county, Filter{Sort: "created"}, []string{"requests_window_time"}, []string{"TEMP B-TREE FOR ORDER BY", "Seq Scan"}, false},
				{"a small community's worker keeps the division's index", small, Filter{}, nil, []string{"requests_window_time", "Seq Scan", "SCAN r"}, false},
				{"the county officer narrowed to that community too", county, Filter{Within: g.county[3]}, nil, []string{"requests_window_time", "Seq Scan", "SCAN r"}, false},
				{"a deep page of the county seeks to its cursor in the same index", county, Filter{}, []string{"requests_window_time"}, []string{"TEMP B-TREE FOR ORDER BY", "Seq Scan", "SCAN r\n", "Sort\n"}, true},
				{"a deep page of a small community keeps the division's index", small, Filter{}, nil, []string{"requests_window_time", "Seq Scan", "SCAN r"}, true},
			} {
				t.Run(c.name, func(t *testing.T) {
					ctx := access.With(context.Background(), c.p)
					cursor := ""
					if c.deep {
						cursor = s.sealCursor(orderOf(c.f.Sort), Request{ID: "ffffffff", CreatedAt: end.AddDate(-1, 0, 0)})
					}
					l, err := s.listSQL(ctx, c.f, cursor, 20)
					if err != nil {
						t.Fatal(err)
					}
					if c.deep && !strings.Contains(l.pick, "r.id) <") {
						t.Fatalf("the deep page does not seek to its cursor: %s", l.pick)
					}
					plan, err := s.DB.Explain(ctx, l.pick, l.args, db.NoSeqScan())
					if err != nil {
						t.Fatal(err)
					}
					plan += "\n"
					for _, w := range c.want {
						if !strings.Contains(plan, w) {
							t.Errorf("the plan does not read %s:\n%s", w, plan)
						}
					}
					for _, bad := range c.deny {
						if strings.Contains(plan, bad) {
							t.Errorf("the plan holds %q:\n%s", bad, plan)
						}
					}
				})
			}
			t.Run("the newest notices of a unit are picked from its index before the join", func(t *testing.T) {
				plan, err := s.DB.Explain(context.Background(), NoticesQuery(""), []any{"330106", 8}, db.NoSeqScan())
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{"request_notices_unit"} {
					if !strings.Contains(plan, want) {
						t.Errorf("the plan does not read %s:\n%s", want, plan)
					}
				}
				for _, bad := range []string{"Seq Scan", "SCAN r", "SCAN request_notices"} {
					if strings.Contains(plan, bad) {
						t.Errorf("the plan holds %q:\n%s", bad, plan)
					}
				}
			})
		})
	}
}
