package requests_test

import (
	"slices"
	"testing"
	"time"

	"linli/internal/apptest"
)

// category is a service category as the API shows it.
type category struct {
	Code          string   `json:"code"`
	NameZH        string   `json:"name_zh"`
	UnitLevel     int      `json:"unit_level"`
	ResponseHours int      `json:"response_hours"`
	ResolveHours  int      `json:"resolve_hours"`
	WorkingHours  bool     `json:"working_hours"`
	Public        bool     `json:"public"`
	Templates     []string `json:"reply_templates"`
	Attributes    []struct {
		Code string `json:"code"`
	} `json:"attributes"`
}

// services reads the public catalogue, as anyone may.
func services(t *testing.T, e *apptest.Env) map[string]category {
	t.Helper()
	out := map[string]category{}
	for _, c := range apptest.JSON[[]category](t, e.Client(), "GET", "/api/v1/requests/services", nil, 200) {
		out[c.Code] = c
	}
	return out
}

func TestRequestCatalogueUpkeep(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		e.User("prov", "officer", "33")
		e.User("city", "officer", "3301")
		res, wa, co, prov, city := e.Login("res1"), e.Login("workerA"), e.Login("countyOfficer"), e.Login("prov"), e.Login("city")
		lift := map[string]any{"code": "lift_retrofit", "group": "设施 / Facilities", "name_zh": "加装电梯", "name_en": "Lift retrofit",
			"description_zh": "老旧小区加装电梯协调", "description_en": "Coordinating lift retrofits in old estates", "unit_level": 5,
			"response_hours": 4, "resolve_hours": 48, "working_hours": false, "public": true,
			"reply_templates": []string{"已组织楼道居民协商。"},
			"attributes":      []map[string]any{{"code": "floors", "datatype": "number", "label_zh": "楼层数", "label_en": "Floors"}}}
		t.Run("only province and city officers maintain the catalogue", func(t *testing.T) {
			for _, c := range []*apptest.Client{wa, co, res} {
				if p := apptest.JSON[problem](t, c, "POST", "/api/v1/requests/services", lift, 403); p.DetailEN != "only province or city officers may maintain the service catalogue" {
					t.Fatalf("create by a non-manager: %+v", p)
				}
				apptest.JSON[problem](t, c, "PUT", "/api/v1/requests/services/policy", map[string]any{"resolve_hours": 1}, 403)
			}
			for _, path := range []string{"/requests/catalogue/new", "/requests/catalogue/policy"} {
				if st, _, _ := wa.Get(path); st != 403 {
					t.Fatalf("%s for a worker: %d", path, st)
				}
			}
			if st, _, _ := wa.Form("/requests/catalogue/policy", map[string]string{"name_zh": "x", "name_en": "x", "response_hours": "1", "resolve_hours": "1"}, nil); st != 403 {
				t.Fatalf("edit form post by a worker: %d", st)
			}
		})
		t.Run("an invalid category is refused on each bad field, in both languages, and not stored", func(t *testing.T) {
			bad := map[string]any{"code": "Bad Code", "name_zh": "", "name_en": "x", "unit_level": 7, "response_hours": 10, "resolve_hours": 5,
				"attributes": []map[string]any{{"code": "kind", "datatype": "singlevaluelist", "label_zh": "类型", "label_en": "Kind"}}}
			p := apptest.JSON[problem](t, prov, "POST", "/api/v1/requests/services", bad, 400)
			for _, f := range []string{"code", "name_zh", "unit_level", "resolve_hours", "attributes"} {
				if !slices.Contains(p.fields(), f) {
					t.Errorf("no error on %s: %v", f, p.fields())
				}
			}
			for _, fe := range p.Errors {
				if fe.Field == "resolve_hours" && (fe.Message != "办结时限不能短于受理时限" || fe.MessageEN != "the resolution time cannot be shorter than the response time") {
					t.Errorf("resolve_hours: %+v", fe)
				}
				if fe.Field == "name_zh" && (fe.Message != "请填写中文名称" || fe.MessageEN != "the Chinese name is required") {
					t.Errorf("name_zh: %+v", fe)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM request_categories WHERE code = 'Bad Code'`); n != 0 {
				t.Fatal("an invalid category was stored")
			}
		})
		t.Run("a new category is listed and its code is then taken", func(t *testing.T) {
			c := apptest.JSON[category](t, prov, "POST", "/api/v1/requests/services", lift, 201)
			if c.Code != "lift_retrofit" || c.ResolveHours != 48 || len(c.Attributes) != 1 {
				t.Fatalf("created: %+v", c)
			}
			apptest.JSON[problem](t, city, "POST", "/api/v1/requests/services", lift, 409)
			if got, ok := services(t, e)["lift_retrofit"]; !ok || got.NameZH != "加装电梯" || !got.Public {
				t.Fatalf("catalogue: %+v", got)
			}
		})
		t0 := e.Clock.Now()
		var old request
		t.Run("a request in it gets its deadlines and its reply templates", func(t *testing.T) {
			old = submit(t, res, map[string]any{"category": "lift_retrofit", "description": "3 号楼想加装电梯", "attributes": map[string]string{"floors": "6"}})
			if !old.ResolveDue.Equal(t0.Add(48 * time.Hour)) {
				t.Fatalf("resolve due %s, want %s", old.ResolveDue, t0.Add(48*time.Hour))
			}
			act(t, wa, old.ID, "accept", nil)
			if got := act(t, wa, old.ID, "answer", map[string]any{"template": 1}); got.Reply != "已组织楼道居民协商。" {
				t.Fatalf("reply template: %q", got.Reply)
			}
		})
		t.Run("an edit changes only the fields given, within the rules", func(t *testing.T) {
			if p := apptest.JSON[problem](t, city, "PUT", "/api/v1/requests/services/lift_retrofit", map[string]any{"resolve_hours": 2}, 400); !slices.Equal(p.fields(), []string{"resolve_hours"}) {
				t.Fatalf("edit below the response time: %+v", p)
			}
			c := apptest.JSON[category](t, city, "PUT", "/api/v1/requests/services/lift_retrofit", map[string]any{"resolve_hours": 24, "reply_templates": []string{"已协调施工单位。", "已上报街道。"}}, 200)
			if c.ResolveHours != 24 || c.ResponseHours != 4 || !slices.Equal(c.Templates, []string{"已协调施工单位。", "已上报街道。"}) {
				t.Fatalf("edit: %+v", c)
			}
			if p := apptest.JSON[problem](t, city, "PUT", "/api/v1/requests/services/no_such", map[string]any{"resolve_hours": 24}, 404); p.DetailEN != "no such service category" {
				t.Fatalf("edit of an unknown category: %+v", p)
			}
		})
		t.Run("new requests get the new deadline, the old one keeps its own", func(t *testing.T) {
			e.Clock.Add(time.Hour)
			res, co, prov, city = e.Login("res1"), e.Login("countyOfficer"), e.Login("prov"), e.Login("city")
			t1 := e.Clock.Now()
			fresh := submit(t, res, map[string]any{"category": "lift_retrofit", "description": "5 号楼也想加装电梯"})
			if !fresh.ResolveDue.Equal(t1.Add(24 * time.Hour)) {
				t.Fatalf("new request: resolve due %s, want %s", fresh.ResolveDue, t1.Add(24*time.Hour))
			}
			if due := get(t, res, old.ID).ResolveDue; !due.Equal(t0.Add(48 * time.Hour)) {
				t.Fatalf("the old request's deadline moved to %s", due)
			}
		})
		t.Run("creation and edits are audited, with what changed", func(t *testing.T) {
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'request.category.create' AND object_id = 'lift_retrofit' AND actor = 'prov'`); n != 1 {
				t.Fatalf("%d create audit entries", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'request.category.update' AND object_id = 'lift_retrofit' AND actor = 'city' AND detail LIKE '%resolve_hours%'`); n != 1 {
				t.Fatalf("%d update audit entries", n)
			}
		})
		t.Run("a county officer reads the catalogue page without edit links", func(t *testing.T) {
			st, page, _ := co.Get("/requests/catalogue")
			if st != 200 || !containsAll(page, "lift_retrofit") || containsAll(page, "/requests/catalogue/lift_retrofit") {
				t.Fatalf("catalogue page for a county officer: %d", st)
			}
		})
		t.Run("a city officer edits through the form; a number that is not one is refused", func(t *testing.T) {
			if st, page, _ := city.Get("/requests/catalogue/lift_retrofit"); st != 200 || !containsAll(page, "已协调施工单位。") {
				t.Fatalf("edit page: %d", st)
			}
			form := map[string]string{"group": "设施 / Facilities", "name_zh": "加装电梯", "name_en": "Lift retrofit", "description_zh": "加装电梯协调",
				"description_en": "Lift retrofits", "response_hours": "abc", "resolve_hours": "36", "public": "1", "reply_templates": "已协调施工单位。\n已上报街道。"}
			if st, page, _ := city.Form("/requests/catalogue/lift_retrofit", form, nil); st != 400 || !containsAll(page, "受理时限须为") {
				t.Fatalf("bad form: %d", st)
			}
			form["response_hours"] = "8"
			st, _, hdr := city.Form("/requests/catalogue/lift_retrofit", form, nil)
			if st != 303 || hdr.Get("Location") != "/requests/catalogue?saved=lift_retrofit" {
				t.Fatalf("form edit: %d %v", st, hdr)
			}
			if c := services(t, e)["lift_retrofit"]; c.ResolveHours != 36 || c.ResponseHours != 8 {
				t.Fatalf("form edit not applied: %+v", c)
			}
		})
		t.Run("a province officer adds a category through the page and residents use it", func(t *testing.T) {
			st, _, hdr := prov.Form("/requests/catalogue/new", map[string]string{"code": "pets", "name_zh": "宠物管理", "name_en": "Pets", "unit_level": "5",
				"response_hours": "8", "resolve_hours": "72", "working_hours": "1", "public": "1"}, nil)
			if st != 303 {
				t.Fatalf("page create: %d %v", st, hdr)
			}
			if st, _, _ := prov.Form("/requests/catalogue/new", map[string]string{"code": "pets2", "name_zh": "宠物", "name_en": "Pets", "unit_level": "5",
				"response_hours": "8", "resolve_hours": "72", "attributes": "[not json"}, nil); st != 400 {
				t.Fatalf("questions that are not JSON: %d", st)
			}
			if c := services(t, e)["pets"]; !c.WorkingHours || c.UnitLevel != 5 {
				t.Fatalf("pets: %+v", c)
			}
			if r := submit(t, res, map[string]any{"category": "pets", "description": "楼道里有流浪猫"}); r.Category != "pets" || r.Unit != communityA {
				t.Fatalf("a request in the new category: %+v", r)
			}
		})
	})
}
