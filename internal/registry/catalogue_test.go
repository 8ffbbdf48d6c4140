package registry_test

import (
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/registry"
)

// TestCatalogueBelongsToItsOwner: the tag and facility catalogues are the
// province's, so only a province officer changes them — not an officer of
// a lower level, whose change would apply province-wide, nor a system
// administrator, who has no business writes (separation of duties).
func TestCatalogueBelongsToItsOwner(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		for _, u := range []struct {
			name string
			role access.Role
			div  string
		}{{"sys", access.SysAdmin, "33"}, {"sec", access.SecAdmin, "33"}, {"city", access.Officer, "3301"}, {"county", access.Officer, county}, {"province", access.Officer, "33"}} {
			e.User(u.name, u.role, u.div)
		}
		entries := func() int {
			return e.Count(`SELECT COUNT(*) FROM reg_tag_kinds`) + e.Count(`SELECT COUNT(*) FROM reg_facility_categories`)
		}
		before := entries()
		tag := registry.TagKind{Key: "hearing_aid", NameZH: "助听器发放对象"}
		category := registry.Category{Key: "community_kitchen", NameZH: "社区厨房", Tier: "5min"}

		t.Run("no one below the province, nor an administrator, changes them", func(t *testing.T) {
			for _, c := range []struct {
				who    string
				client *apptest.Client
			}{{"the system administrator", e.Login("sys")}, {"the security administrator", e.Login("sec")}, {"a city officer", e.Login("city")},
				{"a county officer", e.Login("county")}, {"a community worker", w.wa}} {
				for path, body := range map[string]any{"/api/v1/tags": tag, "/api/v1/facility-categories": category} {
					p := refusal(t, c.client, "POST", path, body, 403)
					if p.Detail != "目录属省级，只有省级民政干部可以维护" {
						t.Fatalf("%s, %s: %q", c.who, path, p.Detail)
					}
				}
			}
			if n := entries(); n != before {
				t.Fatalf("refused changes wrote %d entries", n-before)
			}
		})
		t.Run("a province officer does, audited", func(t *testing.T) {
			prov := e.Login("province")
			apptest.JSON[registry.TagKind](t, prov, "POST", "/api/v1/tags", tag, 201)
			apptest.JSON[registry.Category](t, prov, "POST", "/api/v1/facility-categories", category, 201)
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action IN ('registry.tag_kind.create', 'registry.category.create') AND actor = 'province'`); n != 2 || entries() != before+2 {
				t.Fatalf("%d audited, %d entries added", n, entries()-before)
			}
		})
	})
}
