package registry_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/registry"
)

// TestSearchesByIDOrPhoneAreAudited: a search by ID number or phone reaches
// a person directly, so who searched, by what and how many came back is
// audited — never the number itself; a search by name is not.
func TestSearchesByIDOrPhoneAreAudited(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		searches := func() []map[string]any {
			rows, err := e.App.DB.R.Query(`SELECT detail FROM audit_log WHERE action = 'registry.resident.search' AND actor = 'worker.a' ORDER BY seq`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []map[string]any
			for rows.Next() {
				var d string
				if err := rows.Scan(&d); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(d, id1) || strings.Contains(d, phone1) {
					t.Fatalf("the audit holds the number searched: %s", d)
				}
				var m map[string]any
				if err := json.Unmarshal([]byte(d), &m); err != nil {
					t.Fatal(err)
				}
				out = append(out, m)
			}
			return out
		}
		list := func(q string) registry.ResidentList {
			return apptest.JSON[registry.ResidentList](t, w.wa, "GET", "/api/v1/residents?q="+url.QueryEscape(q), nil, 200)
		}
		t.Run("a search by name is not audited", func(t *testing.T) {
			list("张")
			if got := searches(); len(got) != 0 {
				t.Fatalf("%d entries for a name search", len(got))
			}
		})
		t.Run("searches by ID number and phone are, with what they found", func(t *testing.T) {
			if l := list(id1); l.Total != 1 {
				t.Fatalf("by ID: %d found", l.Total)
			}
			if l := list(phone1); l.Total != 1 {
				t.Fatalf("by phone: %d found", l.Total)
			}
			got := searches()
			if len(got) != 2 || got[0]["by"] != "id_number" || got[0]["results"] != 1.0 || got[1]["by"] != "phone" || got[1]["results"] != 1.0 {
				t.Fatalf("audited %v", got)
			}
		})
	})
}
