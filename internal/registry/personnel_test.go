package registry_test

import (
	"reflect"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/registry"
	"linli/internal/web"
)

func TestPersonnel(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		const phone = "13957109999"
		var p registry.Person

		t.Run("a person is created with roles as keys, sorted, and the phone masked", func(t *testing.T) {
			p = apptest.JSON[registry.Person](t, w.wa, "POST", "/api/v1/personnel", map[string]any{"division": communityA, "name": "陈网格",
				"roles": []string{"志愿者", "grid_worker"}, "attrs": map[string]any{"hours": 120}, "phone": "139 5710 9999"}, 201)
			if !reflect.DeepEqual(p.Roles, []string{"grid_worker", "volunteer"}) || p.Phone != "139****9999" || p.Attrs["hours"] != 120.0 || p.Division != communityA {
				t.Fatalf("created %+v", p)
			}
		})
		t.Run("the phone is sealed in the store and found by its blind index only", func(t *testing.T) {
			if n := e.Count(`SELECT COUNT(*) FROM reg_personnel WHERE phone_enc LIKE $1 OR phone_idx = $2 OR phone_mask = $2`, "%"+phone+"%", phone); n != 0 {
				t.Fatalf("%d rows hold the phone in clear", n)
			}
			l := apptest.JSON[web.List[registry.Person]](t, w.wa, "GET", "/api/v1/personnel", nil, 200)
			if l.Total != 1 || strings.Contains(l.Items[0].Phone, "5710") {
				t.Fatalf("list %+v", l)
			}
		})
		t.Run("every bad field is named and nothing is written", func(t *testing.T) {
			pr := refusal(t, w.wa, "POST", "/api/v1/personnel", map[string]any{"division": communityA, "name": strings.Repeat("名", 51), "roles": []string{}, "phone": "123"}, 400)
			wantFields(t, pr, "name", "roles", "phone")
			pr = refusal(t, w.wa, "POST", "/api/v1/personnel", map[string]any{"division": communityA, "name": "某", "roles": []string{"astronaut"}}, 400)
			wantFields(t, pr, "roles")
			if messageOf(pr, "roles") != "未知岗位：astronaut" {
				t.Fatalf("message %q", messageOf(pr, "roles"))
			}
			if n := e.Count(`SELECT COUNT(*) FROM reg_personnel`); n != 1 {
				t.Fatalf("%d people", n)
			}
		})
		t.Run("an organisation must be within reach", func(t *testing.T) {
			orgB := apptest.JSON[idOnly](t, w.wb, "POST", "/api/v1/organizations", map[string]any{"division": communityB, "kind": "property", "name": "石灰桥物业"}, 201)
			wantFields(t, refusal(t, w.wa, "POST", "/api/v1/personnel", map[string]any{"division": communityA, "name": "某", "roles": []string{"gp"}, "org_id": orgB.ID}, 400), "org_id")
		})
		t.Run("a phone is unique within a community but not across communities", func(t *testing.T) {
			pr := refusal(t, w.wa, "POST", "/api/v1/personnel", map[string]any{"division": communityA, "name": "同号", "roles": []string{"gp"}, "phone": phone}, 400)
			wantFields(t, pr, "phone")
			if pr.Detail != "该社区已有相同电话的人员" {
				t.Fatalf("detail %q", pr.Detail)
			}
			apptest.JSON[idOnly](t, w.wb, "POST", "/api/v1/personnel", map[string]any{"division": communityB, "name": "同号", "roles": []string{"gp"}, "phone": phone}, 201)
		})
		t.Run("an update without a phone keeps it; with one it replaces it", func(t *testing.T) {
			got := apptest.JSON[registry.Person](t, w.wa, "PUT", "/api/v1/personnel/"+p.ID, map[string]any{"name": "陈网格", "roles": []string{"grid_worker"}}, 200)
			if got.Phone != "139****9999" || !reflect.DeepEqual(got.Roles, []string{"grid_worker"}) || len(got.Attrs) != 0 {
				t.Fatalf("kept phone: %+v", got)
			}
			got = apptest.JSON[registry.Person](t, w.wa, "PUT", "/api/v1/personnel/"+p.ID, map[string]any{"name": "陈网格", "roles": []string{"grid_worker"}, "phone": "13600002222"}, 200)
			if got.Phone != "136****2222" {
				t.Fatalf("new phone: %+v", got)
			}
		})
		t.Run("the roles that read residents read personnel; residents and providers do not", func(t *testing.T) {
			e.User("grid.a", access.GridWorker, communityA)
			e.User("res.a", access.Resident, communityA)
			e.User("prov.a", access.Provider, communityA)
			if l := apptest.JSON[web.List[registry.Person]](t, e.Login("grid.a"), "GET", "/api/v1/personnel?category=grid_worker", nil, 200); l.Total != 1 || l.Items[0].ID != p.ID {
				t.Fatalf("grid worker lists %+v", l)
			}
			for _, u := range []string{"res.a", "prov.a"} {
				c := e.Login(u)
				refusal(t, c, "GET", "/api/v1/personnel", nil, 403)
				refusal(t, c, "GET", "/api/v1/personnel/"+p.ID, nil, 403)
			}
			refusal(t, e.Login("grid.a"), "POST", "/api/v1/personnel", map[string]any{"division": communityA, "name": "某", "roles": []string{"gp"}}, 403)
		})
		t.Run("another community's worker gets not found and the person is deleted once", func(t *testing.T) {
			if pr := refusal(t, w.wb, "DELETE", "/api/v1/personnel/"+p.ID, nil, 404); pr.Detail != "人员不存在或不在您的管辖范围内" {
				t.Fatalf("detail %q", pr.Detail)
			}
			if st, body := w.wa.Do("DELETE", "/api/v1/personnel/"+p.ID, nil); st != 204 {
				t.Fatalf("delete: %d %s", st, body)
			}
			refusal(t, w.wa, "DELETE", "/api/v1/personnel/"+p.ID, nil, 404)
			if n := e.Count(`SELECT COUNT(*) FROM reg_personnel_versions WHERE id = $1 AND valid_to IS NULL`, p.ID); n != 0 {
				t.Fatalf("%d open versions of a deleted person", n)
			}
		})
	})
}
