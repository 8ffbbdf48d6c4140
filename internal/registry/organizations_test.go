package registry_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/registry"
)

func TestOrganizations(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		var org registry.Organization
		share := 0.35

		t.Run("an organisation is created with its kind and rating normalised", func(t *testing.T) {
			org = apptest.JSON[registry.Organization](t, w.wa, "POST", "/api/v1/organizations", map[string]any{"division": communityA, "kind": "社会组织",
				"name": " 上保邻里互助会 ", "reg_no": "51330106MJ0000001X", "org_type": "社会团体", "rating": "4a", "reg_level": "county", "party_share": share, "address": "上保社区"}, 201)
			got := org
			got.CreatedAt, got.UpdatedAt = time.Time{}, time.Time{}
			want := registry.Organization{ID: org.ID, Division: communityA, Kind: "social_org", Name: "上保邻里互助会", RegNo: "51330106MJ0000001X", OrgType: "社会团体",
				Rating: "4A", RegLevel: "county", PartyShare: &share, Address: "上保社区"}
			if !reflect.DeepEqual(got, want) || !org.CreatedAt.Equal(e.Clock.Now()) {
				t.Fatalf("created %+v\nwant    %+v", got, want)
			}
		})
		t.Run("every bad field is named and nothing is written", func(t *testing.T) {
			p := refusal(t, w.wa, "POST", "/api/v1/organizations", map[string]any{"division": communityA, "kind": "club", "name": "",
				"reg_no": strings.Repeat("9", 41), "rating": "6A", "reg_level": "planet", "party_share": 1.5}, 400)
			wantFields(t, p, "kind", "name", "reg_no", "rating", "reg_level", "party_share")
			if p.Detail != "组织信息有误" {
				t.Fatalf("detail %q", p.Detail)
			}
			if n := e.Count(`SELECT COUNT(*) FROM reg_organizations`); n != 1 {
				t.Fatalf("%d organisations", n)
			}
		})
		t.Run("a social organisation needs its registration number; other kinds do not", func(t *testing.T) {
			p := refusal(t, w.wa, "POST", "/api/v1/organizations", map[string]any{"division": communityA, "kind": "social_org", "name": "无证互助会"}, 400)
			wantFields(t, p, "reg_no")
			if messageOf(p, "reg_no") != "社会组织须填写登记证号（统一社会信用代码）" {
				t.Fatalf("message %q", messageOf(p, "reg_no"))
			}
			apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/organizations", map[string]any{"division": communityA, "kind": "业主委员会", "name": "上保业委会"}, 201)
		})
		t.Run("a registration number is unique", func(t *testing.T) {
			p := refusal(t, w.wb, "POST", "/api/v1/organizations", map[string]any{"division": communityB, "kind": "social_org", "name": "同号", "reg_no": "51330106MJ0000001X"}, 400)
			wantFields(t, p, "reg_no")
			if p.Detail != "登记证号已存在" {
				t.Fatalf("detail %q", p.Detail)
			}
		})
		t.Run("the facilities it runs and the people it employs are counted", func(t *testing.T) {
			body := facilityBody("F-1", "上保照料中心", 120.147, 30.259)
			body["operator_id"] = org.ID
			apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/facilities", body, 201)
			apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/personnel", map[string]any{"division": communityA, "name": "陈护理", "roles": []string{"care_worker"}, "org_id": org.ID}, 201)
			got := apptest.JSON[registry.Organization](t, w.wa, "GET", "/api/v1/organizations/"+org.ID, nil, 200)
			if got.Facilities != 1 || got.Staff != 1 {
				t.Fatalf("counts: %d facilities, %d staff", got.Facilities, got.Staff)
			}
		})
		t.Run("an update replaces the fields and can clear the party share", func(t *testing.T) {
			e.Clock.Add(10 * time.Minute)
			got := apptest.JSON[registry.Organization](t, w.wa, "PUT", "/api/v1/organizations/"+org.ID, map[string]any{"kind": "social_org",
				"name": "上保邻里互助协会", "reg_no": "51330106MJ0000001X", "rating": "5A"}, 200)
			if got.Name != "上保邻里互助协会" || got.Rating != "5A" || got.PartyShare != nil || got.RegLevel != "" || got.Division != communityA || !got.UpdatedAt.Equal(e.Clock.Now()) {
				t.Fatalf("updated %+v", got)
			}
		})
		t.Run("another community's worker gets not found", func(t *testing.T) {
			for _, m := range []string{"GET", "DELETE"} {
				if p := refusal(t, w.wb, m, "/api/v1/organizations/"+org.ID, nil, 404); p.Detail != "组织不存在或不在您的管辖范围内" {
					t.Fatalf("%s: %q", m, p.Detail)
				}
			}
			refusal(t, w.wb, "PUT", "/api/v1/organizations/"+org.ID, map[string]any{"kind": "property", "name": "夺"}, 404)
		})
		t.Run("a deleted organisation's facilities and staff stay, linked to none", func(t *testing.T) {
			if st, body := w.wa.Do("DELETE", "/api/v1/organizations/"+org.ID, nil); st != 204 {
				t.Fatalf("delete: %d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM reg_facilities WHERE operator_id IS NOT NULL`) + e.Count(`SELECT COUNT(*) FROM reg_personnel WHERE org_id IS NOT NULL`); n != 0 {
				t.Fatalf("%d records still name the deleted organisation", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM reg_facilities`) + e.Count(`SELECT COUNT(*) FROM reg_personnel`); n != 2 {
				t.Fatalf("%d facilities and people left, want 2", n)
			}
			refusal(t, w.wa, "GET", "/api/v1/organizations/"+org.ID, nil, 404)
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'registry.organization.delete' AND object_id = $1`, org.ID); n != 1 {
				t.Fatalf("delete audited %d times", n)
			}
		})
	})
}
