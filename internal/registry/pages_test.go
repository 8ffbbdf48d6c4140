package registry_test

import (
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/registry"
	"linli/internal/web"
)

// setLang switches a client's pages to lang ("en" or "zh").
func setLang(t *testing.T, e *apptest.Env, c *apptest.Client, lang string) {
	t.Helper()
	u, err := url.Parse(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: lang, Path: "/"}})
}

// savedID is the id in a "/base/{id}?saved=1" redirect.
func savedID(t *testing.T, loc, base string) string {
	t.Helper()
	if !strings.HasPrefix(loc, base) || !strings.HasSuffix(loc, "?saved=1") {
		t.Fatalf("redirect to %q, want %s…?saved=1", loc, base)
	}
	return strings.TrimSuffix(strings.TrimPrefix(loc, base), "?saved=1")
}

// formError posts a form that must be refused with 400 and returns the
// page, which must name each field beside it.
func formError(t *testing.T, c *apptest.Client, path string, form map[string]string, fields ...string) string {
	t.Helper()
	st, html, _ := c.Form(path, form, sameOrigin)
	if st != 400 {
		t.Fatalf("POST %s: %d, want 400", path, st)
	}
	for _, f := range fields {
		if !strings.Contains(html, `id="err-`+f+`"`) {
			t.Fatalf("POST %s: no error beside %s: %.600s", path, f, html)
		}
	}
	return html
}

func TestHouseholdResidentAndFacilityForms(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker.a", access.CommunityWorker, communityA)
		wa := e.Login("worker.a")
		var hh, res, fid string
		fac := map[string]string{"division": communityA, "code": "F9", "name": "上保食堂", "category": "elderly_canteen", "lon": "116.4", "lat": "39.9", "capacities": "meals_per_day=120", "status": "open"}

		t.Run("a household form names a missing address in both languages", func(t *testing.T) {
			html := formError(t, wa, "/registry/households", map[string]string{"division": communityA, "household_no": "H9", "address": ""}, "address")
			if !strings.Contains(html, "请填写地址") || !strings.Contains(html, "enter an address") {
				t.Fatal("the message is not in both languages")
			}
		})
		t.Run("a household is created and shown as saved", func(t *testing.T) {
			hh = savedID(t, redirected(t, wa, "/registry/households", map[string]string{"division": communityA, "household_no": "H9", "address": "上保社区9幢"}), "/registry/households/")
			html := page(t, wa, "/registry/households/"+hh+"?saved=1", 200)
			if !strings.Contains(html, "上保社区9幢") || !strings.Contains(html, "已保存") {
				t.Fatal("the household page lacks the address or the notice")
			}
		})
		t.Run("a resident form with a wrong check digit and phone writes nothing and keeps the typed values", func(t *testing.T) {
			if html := page(t, wa, "/registry/residents/new?household="+hh, 200); !strings.Contains(html, `name="id_number"`) {
				t.Fatal("no ID field")
			}
			html := formError(t, wa, "/registry/residents", map[string]string{"household_id": hh, "name": "张三", "id_number": badCheckDigit(id1), "relation": "户主", "residence": "registered", "phone": "123"}, "id_number", "phone")
			if !strings.Contains(html, "校验位") || !strings.Contains(html, `value="张三"`) || e.Count(`SELECT COUNT(*) FROM reg_residents`) != 0 {
				t.Fatal("the refused form wrote or forgot")
			}
		})
		t.Run("a resident is created and an edit with empty sensitive fields keeps them", func(t *testing.T) {
			res = savedID(t, redirected(t, wa, "/registry/residents", map[string]string{"household_id": hh, "name": "张三", "id_number": id1, "relation": "户主", "residence": "registered", "phone": phone1, "health": "高血压"}), "/registry/residents/")
			if html := page(t, wa, "/registry/residents/"+res+"/edit", 200); strings.Contains(html, id1) || strings.Contains(html, phone1) || strings.Contains(html, "高血压") {
				t.Fatal("the edit form shows a stored value")
			}
			redirected(t, wa, "/registry/residents/"+res+"/edit", map[string]string{"household_id": hh, "name": "张三丰", "relation": "户主", "residence": "resident"})
			r := apptest.JSON[registry.Resident](t, wa, "GET", "/api/v1/residents/"+res, nil, 200)
			if r.Name != "张三丰" || r.Residence != "resident" || r.Phone != "139****1234" || !r.HasHealth {
				t.Fatalf("after edit: %+v", r)
			}
		})
		t.Run("a dash clears a sensitive field", func(t *testing.T) {
			redirected(t, wa, "/registry/residents/"+res+"/edit", map[string]string{"household_id": hh, "name": "张三丰", "relation": "户主", "residence": "resident", "health": "-"})
			if r := apptest.JSON[registry.Resident](t, wa, "GET", "/api/v1/residents/"+res, nil, 200); r.HasHealth || r.Phone != "139****1234" {
				t.Fatalf("after clearing: %+v", r)
			}
		})
		t.Run("on an English page the message beside the field leads in English", func(t *testing.T) {
			setLang(t, e, wa, "en")
			defer setLang(t, e, wa, "zh")
			html := formError(t, wa, "/registry/residents/"+res+"/edit", map[string]string{"household_id": hh, "name": "", "relation": "户主", "residence": "resident"}, "name")
			if !strings.Contains(html, "enter a name of at most 50 characters") || !strings.Contains(html, "请填写姓名") {
				t.Fatal("the English form error lacks a language")
			}
		})
		t.Run("deletes ask first, and an occupied household cannot go", func(t *testing.T) {
			if html := page(t, wa, "/registry/residents/"+res+"/delete", 200); !strings.Contains(html, "确认删除") || e.Count(`SELECT COUNT(*) FROM reg_residents`) != 1 {
				t.Fatal("the confirmation deleted or did not ask")
			}
			if html := page(t, wa, "/registry/households/"+hh+"/delete", 200); !strings.Contains(html, "须先迁出或删除居民") {
				t.Fatal("the occupied household's confirmation does not warn")
			}
			if st, _, _ := wa.Form("/registry/households/"+hh+"/delete", map[string]string{"confirm": "yes"}, sameOrigin); st != 409 {
				t.Fatalf("occupied household delete: %d", st)
			}
			redirected(t, wa, "/registry/residents/"+res+"/delete", map[string]string{"confirm": "yes"})
			redirected(t, wa, "/registry/households/"+hh+"/delete", map[string]string{"confirm": "yes"})
			if n := e.Count(`SELECT COUNT(*) FROM reg_residents`) + e.Count(`SELECT COUNT(*) FROM reg_households`); n != 0 {
				t.Fatalf("%d rows left", n)
			}
		})
		t.Run("a facility outside Zhejiang is named beside the coordinates", func(t *testing.T) {
			if html := formError(t, wa, "/registry/facilities", fac, "lon"); !strings.Contains(html, "浙江") {
				t.Fatal("no Zhejiang message")
			}
			bad := map[string]string{}
			for k, v := range fac {
				bad[k] = v
			}
			bad["lon"], bad["lat"], bad["capacities"] = "east", "30.259", "beds"
			formError(t, wa, "/registry/facilities", bad, "lon", "capacities")
		})
		t.Run("a facility is created, edited and deleted behind a confirmation", func(t *testing.T) {
			fac["lon"], fac["lat"] = "120.147", "30.259"
			if loc := redirected(t, wa, "/registry/facilities", fac); !strings.HasPrefix(loc, "/registry/facilities?saved=1") {
				t.Fatalf("redirect %q", loc)
			}
			l := apptest.JSON[web.List[registry.Facility]](t, wa, "GET", "/api/v1/facilities", nil, 200)
			if len(l.Items) != 1 || !reflect.DeepEqual(l.Items[0].Capacities, map[string]float64{"meals_per_day": 120}) {
				t.Fatalf("created %+v", l.Items)
			}
			fid = l.Items[0].ID
			fac["name"] = "上保老年食堂"
			redirected(t, wa, "/registry/facilities/"+fid+"/edit", fac)
			if f := apptest.JSON[registry.Facility](t, wa, "GET", "/api/v1/facilities/"+fid, nil, 200); f.Name != "上保老年食堂" || f.Capacities["meals_per_day"] != 120 {
				t.Fatalf("edited %+v", f)
			}
			if html := page(t, wa, "/registry/facilities/"+fid+"/delete", 200); !strings.Contains(html, "确认删除") {
				t.Fatal("no confirmation")
			}
			redirected(t, wa, "/registry/facilities/"+fid+"/delete", map[string]string{"confirm": "yes"})
			if n := e.Count(`SELECT COUNT(*) FROM reg_facilities`); n != 0 {
				t.Fatalf("%d facilities left", n)
			}
		})
		t.Run("every change is audited", func(t *testing.T) {
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'registry.%'`); n != 9 {
				t.Fatalf("%d registry audit entries, want 9", n)
			}
		})
		t.Run("other roles get no forms", func(t *testing.T) {
			e.User("grid.a", access.GridWorker, communityA)
			g := e.Login("grid.a")
			for _, p := range []string{"/registry/households/new", "/registry/residents/new", "/registry/facilities/new"} {
				page(t, g, p, 403)
			}
		})
		t.Run("a bad page number is refused, not replaced", func(t *testing.T) {
			for _, p := range []string{"/registry/households?page=abc", "/registry/facilities?page=0", "/registry/residents?page_size=100000"} {
				page(t, wa, p, 400)
			}
		})
	})
}

func TestFacilityMap(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker.a", access.CommunityWorker, communityA)
		wa := e.Login("worker.a")
		for i, f := range []struct{ code, name, cat string }{{"F1", "上保老年食堂", "elderly_canteen"}, {"F2", "上保卫生站", "health_station"}, {"F3", "上保助餐点", "elderly_canteen"}} {
			apptest.JSON[idOnly](t, wa, "POST", "/api/v1/facilities", map[string]any{"division": communityA, "code": f.code, "name": f.name, "category": f.cat,
				"lon": 120.147 + float64(i)*0.004, "lat": 30.259 + float64(i)*0.003, "floor_area_m2": 120}, 201)
		}

		t.Run("the map is drawn on the server, without script, inline style or tiles", func(t *testing.T) {
			st, html, hdr := wa.Get("/registry/facilities")
			if st != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "style-src 'self'") {
				t.Fatalf("facilities page: %d", st)
			}
			svg := html[strings.Index(html, "<svg"):strings.LastIndex(html, "</svg>")]
			// One path a category, a subpath a facility; none for the legend.
			layers := regexp.MustCompile(`<path d="([^"]+)" fill="[^"]+" stroke="[^"]+" stroke-width="1.6" data-category="([^"]+)"`).FindAllStringSubmatch(svg, -1)
			marks := map[string]int{}
			for _, l := range layers {
				marks[l[2]] = strings.Count(l[1], "M")
			}
			if len(layers) != 2 || marks["elderly_canteen"] != 2 || marks["health_station"] != 1 {
				t.Fatalf("markers by category %v in %s", marks, svg)
			}
			for _, want := range []string{`data-category="elderly_canteen" data-shape="circle"`, `data-category="health_station" data-shape="cross"`, "老年食堂/助餐点 (2)", "社区卫生服务站/村卫生室 (1)", "<table", "°E", "上保卫生站"} {
				if !strings.Contains(html, want) {
					t.Fatalf("facilities page lacks %q", want)
				}
			}
			if strings.Contains(html, "style=") || strings.Contains(html, "<script") || strings.Contains(html, "http://tile") {
				t.Fatal("the map uses inline style, script or external tiles")
			}
			if strings.Contains(svg, `cx="-`) || strings.Contains(svg, `cy="-`) {
				t.Fatalf("a point lies outside the map: %s", svg)
			}
		})
		t.Run("the store's map holds the points inside the drawing, rarest category last", func(t *testing.T) {
			m, err := storeOf(e).MapFacilities(as(access.CommunityWorker, communityA), registry.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Total != 3 || m.Truncated || len(m.Points) != 3 || len(m.Layers) != 2 || m.Layers[1].Category != "health_station" || len(m.Legend) != 2 {
				t.Fatalf("map %+v", m)
			}
			for _, p := range m.Points {
				if p.X < 0 || p.X > m.Width || p.Y < 0 || p.Y > m.Height || p.Color == "" || p.Shape == "" {
					t.Fatalf("point %+v outside %vx%v", p, m.Width, m.Height)
				}
			}
			if len(m.XLines()) == 0 || len(m.YLines()) == 0 || m.ScaleLabel == "" {
				t.Fatalf("no graticule or scale: %+v", m)
			}
		})
		t.Run("a filter narrows map, legend and table alike", func(t *testing.T) {
			html := page(t, wa, "/registry/facilities?category=health_station", 200)
			if strings.Contains(html, "上保老年食堂") || !strings.Contains(html, "上保卫生站") {
				t.Fatal("the filtered map shows other categories")
			}
		})
		// marks counts the markers of each category on the page's map.
		marks := func(t *testing.T, path string) map[string]int {
			t.Helper()
			html := page(t, wa, path, 200)
			out := map[string]int{}
			for _, l := range regexp.MustCompile(`<path d="([^"]+)"[^>]* data-category="([^"]+)"`).FindAllStringSubmatch(html, -1) {
				out[l[2]] += strings.Count(l[1], "M")
			}
			return out
		}
		t.Run("a drawn map is kept for the next view of the same scope and filter", func(t *testing.T) {
			ctx := as(access.CommunityWorker, communityA)
			a, err := storeOf(e).MapFacilities(ctx, registry.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := storeOf(e).MapFacilities(ctx, registry.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Layers) == 0 || &a.Layers[0] != &b.Layers[0] {
				t.Fatal("the map was drawn again for the same view")
			}
			c, err := storeOf(e).MapFacilities(ctx, registry.Filter{Category: "health_station"})
			if err != nil {
				t.Fatal(err)
			}
			if c.Total != 1 || c.Layers[0].Category != "health_station" {
				t.Fatalf("a filter was served another filter's map: %+v", c.Layers)
			}
		})
		t.Run("a facility created, changed or deleted shows on the kept map at once", func(t *testing.T) {
			if got := marks(t, "/registry/facilities"); !reflect.DeepEqual(got, map[string]int{"elderly_canteen": 2, "health_station": 1}) {
				t.Fatalf("before: %v", got)
			}
			body := map[string]any{"division": communityA, "code": "F4", "name": "上保健身点", "category": "fitness", "lon": 120.16, "lat": 30.27}
			f := apptest.JSON[idOnly](t, wa, "POST", "/api/v1/facilities", body, 201)
			if got := marks(t, "/registry/facilities"); got["fitness"] != 1 {
				t.Fatalf("after a create: %v", got)
			}
			body["category"] = "health_station"
			apptest.JSON[idOnly](t, wa, "PUT", "/api/v1/facilities/"+f.ID, body, 200)
			if got := marks(t, "/registry/facilities"); got["fitness"] != 0 || got["health_station"] != 2 {
				t.Fatalf("after an update: %v", got)
			}
			if got := marks(t, "/registry/facilities?category=health_station"); got["health_station"] != 2 {
				t.Fatalf("the category's map after an update: %v", got)
			}
			if st, _ := wa.Do("DELETE", "/api/v1/facilities/"+f.ID, nil); st != 204 {
				t.Fatalf("delete: %d", st)
			}
			if got := marks(t, "/registry/facilities"); !reflect.DeepEqual(got, map[string]int{"elderly_canteen": 2, "health_station": 1}) {
				t.Fatalf("after a delete: %v", got)
			}
		})
		t.Run("a facility imported shows on the kept map at once", func(t *testing.T) {
			csv := "设施编码,区划代码,名称,类别,经度,纬度\nF5," + communityA + ",上保驿站,parcel_point,120.15,30.26\n"
			if _, err := storeOf(e).Import(as(access.CommunityWorker, communityA), "facilities", []byte(csv), true, nil); err != nil {
				t.Fatal(err)
			}
			if got := marks(t, "/registry/facilities"); got["parcel_point"] != 1 {
				t.Fatalf("after an import: %v", got)
			}
		})
		t.Run("a name search that matches nothing says so and draws no map", func(t *testing.T) {
			html := page(t, wa, "/registry/facilities?q=没有这个名字", 200)
			if strings.Contains(html, `id="facility-map"`) || !strings.Contains(html, "没有符合条件的设施") {
				t.Fatal("the empty search drew a map or said nothing")
			}
		})
	})
}

// TestOrgPersonnelGridPages walks the web pages of organisations,
// personnel and grids: list and search, a form with a bad field (named
// beside it in both languages, nothing written), delete behind a
// confirmation page, and another community's worker getting 404s.
func TestOrgPersonnelGridPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		wa, wb := w.wa, w.wb
		e.User("grid.a", access.GridWorker, communityA)
		var oid, pid, gid string
		org := map[string]string{"division": communityA, "kind": "social_org", "name": "上保邻里互助会", "reg_no": "", "rating": "4A", "party_share": "abc"}
		per := map[string]string{"division": communityA, "name": "陈网格", "phone": "123"}
		grid := map[string]string{"division": communityA, "code": "", "name": "一网格", "workers": "worker.b"}
		outOfScope := func(t *testing.T, base, id string, form map[string]string) {
			t.Helper()
			for _, p := range []string{base + id, base + id + "/edit", base + id + "/delete"} {
				if html := page(t, wb, p, 404); !strings.Contains(html, "管辖范围") {
					t.Fatalf("other community GET %s: no jurisdiction message", p)
				}
			}
			if st, _, _ := wb.Form(base+id+"/edit", form, sameOrigin); st != 404 {
				t.Fatalf("other community edit %s: %d", base+id, st)
			}
			if st, _, _ := wb.Form(base+id+"/delete", map[string]string{"confirm": "yes"}, sameOrigin); st != 404 {
				t.Fatalf("other community delete %s: %d", base+id, st)
			}
		}
		orgs := func() int { return e.Count(`SELECT COUNT(*) FROM reg_organizations`) }

		t.Run("an organisation's bad party share and missing number are named in turn", func(t *testing.T) {
			if html := formError(t, wa, "/registry/organizations", org, "party_share"); !strings.Contains(html, "must be a number") || orgs() != 0 {
				t.Fatal("party share refusal")
			}
			org["party_share"] = "0.4"
			html := formError(t, wa, "/registry/organizations", org, "reg_no")
			if !strings.Contains(html, "registration number") || !strings.Contains(html, `value="上保邻里互助会"`) || orgs() != 0 {
				t.Fatal("reg_no refusal")
			}
		})
		t.Run("an organisation is created, found by search and kind, and hidden from the other community", func(t *testing.T) {
			org["reg_no"] = "51330106MJ0000001X"
			oid = savedID(t, redirected(t, wa, "/registry/organizations", org), "/registry/organizations/")
			if html := page(t, wa, "/registry/organizations/"+oid+"?saved=1", 200); !strings.Contains(html, "上保邻里互助会") || !strings.Contains(html, "已保存") || !strings.Contains(html, "社会组织") {
				t.Fatal("organisation page")
			}
			apptest.JSON[idOnly](t, wa, "POST", "/api/v1/organizations", map[string]any{"division": communityA, "kind": "property", "name": "绿城物业上保项目部"}, 201)
			if html := page(t, wa, "/registry/organizations?q="+url.QueryEscape("互助"), 200); !strings.Contains(html, "上保邻里互助会") || strings.Contains(html, "绿城物业") {
				t.Fatal("organisation search")
			}
			if html := page(t, wa, "/registry/organizations?kind=property", 200); strings.Contains(html, "上保邻里互助会") || !strings.Contains(html, "绿城物业") || !strings.Contains(html, "category=property") {
				t.Fatal("organisation kind filter or its export link")
			}
			if html := page(t, wb, "/registry/organizations", 200); strings.Contains(html, "上保邻里互助会") || !strings.Contains(html, "没有符合条件的组织") {
				t.Fatal("the other community lists the organisation")
			}
			outOfScope(t, "/registry/organizations/", oid, org)
		})
		t.Run("an organisation is edited", func(t *testing.T) {
			org["name"] = "上保邻里互助协会"
			redirected(t, wa, "/registry/organizations/"+oid+"/edit", org)
			if o := apptest.JSON[registry.Organization](t, wa, "GET", "/api/v1/organizations/"+oid, nil, 200); o.Name != "上保邻里互助协会" || o.PartyShare == nil || *o.PartyShare != 0.4 {
				t.Fatalf("edited %+v", o)
			}
		})
		t.Run("a person with no role and a short phone is refused, in both languages", func(t *testing.T) {
			per["org_id"] = oid
			html := formError(t, wa, "/registry/personnel", per, "roles", "phone")
			if !strings.Contains(html, "choose at least one role") || e.Count(`SELECT COUNT(*) FROM reg_personnel`) != 0 {
				t.Fatal("person refusal")
			}
			setLang(t, e, wa, "en")
			defer setLang(t, e, wa, "zh")
			_, html, _ = wa.Form("/registry/personnel", per, sameOrigin)
			if !strings.Contains(html, "choose at least one role <span") || !strings.Contains(html, "/ 请至少选择一个岗位") {
				t.Fatal("the English person form does not lead in English")
			}
		})
		t.Run("a person is created; lists filter by name and role and mask the phone", func(t *testing.T) {
			per["roles"], per["phone"] = "grid_worker,volunteer", "13957109999"
			pid = savedID(t, redirected(t, wa, "/registry/personnel", per), "/registry/personnel/")
			apptest.JSON[idOnly](t, wa, "POST", "/api/v1/personnel", map[string]any{"division": communityA, "name": "李医生", "roles": []string{"gp"}}, 201)
			for path, want := range map[string]string{"/registry/personnel?q=" + url.QueryEscape("陈"): "陈网格", "/registry/personnel?role=volunteer": "陈网格", "/registry/personnel?role=gp": "李医生"} {
				html := page(t, wa, path, 200)
				other := map[string]string{"陈网格": "李医生", "李医生": "陈网格"}[want]
				if !strings.Contains(html, want) || strings.Contains(html, other) || strings.Contains(html, "13957109999") {
					t.Fatalf("personnel %s", path)
				}
				if want == "陈网格" && (!strings.Contains(html, "139****9999") || !strings.Contains(html, "志愿者")) {
					t.Fatalf("personnel %s: phone or roles not shown", path)
				}
			}
			for _, p := range []string{"/registry/personnel/" + pid, "/registry/personnel/" + pid + "/edit", "/registry/personnel/" + pid + "/delete"} {
				if html := page(t, wa, p, 200); strings.Contains(html, "13957109999") || !strings.Contains(html, "139****9999") {
					t.Fatalf("%s shows the full phone or none", p)
				}
			}
			if html := page(t, wa, "/registry/personnel/"+pid, 200); !strings.Contains(html, "上保邻里互助协会") {
				t.Fatal("the person's page does not name the organisation")
			}
		})
		t.Run("editing a person with an empty phone keeps it and keeps the attributes", func(t *testing.T) {
			if _, err := e.App.DB.W.Exec(`UPDATE reg_personnel SET attrs = '{"hours":12}' WHERE id = $1`, pid); err != nil {
				t.Fatal(err)
			}
			per["phone"], per["roles"] = "", "grid_worker"
			redirected(t, wa, "/registry/personnel/"+pid+"/edit", per)
			p := apptest.JSON[registry.Person](t, wa, "GET", "/api/v1/personnel/"+pid, nil, 200)
			if p.Phone != "139****9999" || !reflect.DeepEqual(p.Roles, []string{"grid_worker"}) || p.Attrs["hours"] != 12.0 {
				t.Fatalf("after edit: %+v", p)
			}
			if html := page(t, wb, "/registry/personnel?q="+url.QueryEscape("陈"), 200); strings.Contains(html, "陈网格") {
				t.Fatal("the other community lists the person")
			}
			outOfScope(t, "/registry/personnel/", pid, per)
		})
		t.Run("a grid form offers the community's grid workers and names bad fields", func(t *testing.T) {
			if html := page(t, wa, "/registry/grids/new", 200); !strings.Contains(html, `value="grid.a"`) || strings.Contains(html, `value="worker.b"`) {
				t.Fatal("grid form options")
			}
			html := formError(t, wa, "/registry/grids", grid, "code", "workers")
			if !strings.Contains(html, "请填写网格编码") || !strings.Contains(html, "not a grid worker") || e.Count(`SELECT COUNT(*) FROM reg_grids`) != 0 {
				t.Fatal("grid refusal")
			}
		})
		t.Run("a grid is created, gets a household, and lists and shows it", func(t *testing.T) {
			grid["code"], grid["workers"] = "G01", "grid.a"
			gid = savedID(t, redirected(t, wa, "/registry/grids", grid), "/registry/grids/")
			apptest.JSON[idOnly](t, wa, "POST", "/api/v1/grids", map[string]any{"division": communityA, "code": "G02", "name": "二网格"}, 201)
			redirected(t, wa, "/registry/households/"+w.hh+"/edit", map[string]string{"division": communityA, "household_no": "HH-001", "address": "北山街道上保社区 1 幢 101 室", "grid_id": gid})
			g := apptest.JSON[registry.Grid](t, wa, "GET", "/api/v1/grids/"+gid, nil, 200)
			if g.Households != 1 || !reflect.DeepEqual(g.Workers, []string{"grid.a"}) || g.Code != "G01" {
				t.Fatalf("grid %+v", g)
			}
			if html := page(t, wa, "/registry/grids?q="+url.QueryEscape("一网格"), 200); !strings.Contains(html, "G01") || strings.Contains(html, "G02") || !strings.Contains(html, `>1</a>`) || !strings.Contains(html, "grid.a") {
				t.Fatal("grid search")
			}
			if html := page(t, wa, "/registry/grids/"+gid, 200); !strings.Contains(html, "HH-001") || !strings.Contains(html, `id="households">1<`) {
				t.Fatal("grid page")
			}
			if html := page(t, wa, "/registry/grids/"+gid+"/edit", 200); !strings.Contains(html, `value="grid.a" checked`) {
				t.Fatal("the grid edit form does not tick the assigned worker")
			}
			outOfScope(t, "/registry/grids/", gid, grid)
			page(t, e.Login("grid.a"), "/registry/grids/new", 403)
		})
		t.Run("the grid worker's own grid lists its households and tagged residents", func(t *testing.T) {
			apptest.JSON[registry.TagRef](t, wa, "POST", "/api/v1/residents/"+w.res+"/tags", registry.TagInput{Tag: "living_alone"}, 201)
			v := apptest.JSON[registry.MyGridView](t, e.Login("grid.a"), "GET", "/api/v1/grids/mine", nil, 200)
			if len(v.Grids) != 1 || v.Grids[0].ID != gid || len(v.Households) != 1 || len(v.Tagged) != 1 || v.Tagged[0].ID != w.res {
				t.Fatalf("my grid %+v", v)
			}
		})
		t.Run("deletes ask first and nothing goes until confirmed", func(t *testing.T) {
			if html := page(t, wa, "/registry/grids/"+gid+"/delete", 200); !strings.Contains(html, "确认删除") || !strings.Contains(html, "1 户会保留") || e.Count(`SELECT COUNT(*) FROM reg_grids`) != 2 {
				t.Fatal("grid confirmation")
			}
			if html := page(t, wa, "/registry/organizations/"+oid+"/delete", 200); !strings.Contains(html, "确认删除") || !strings.Contains(html, "1 名人员") {
				t.Fatal("organisation confirmation")
			}
			if html := page(t, wa, "/registry/personnel/"+pid+"/delete", 200); !strings.Contains(html, "确认删除") || e.Count(`SELECT COUNT(*) FROM reg_personnel`) != 2 {
				t.Fatal("person confirmation")
			}
		})
		t.Run("confirmed deletes go, are audited, and unassign the grid's household", func(t *testing.T) {
			for _, c := range []struct{ path, table string }{{"/registry/grids/" + gid, "reg_grids"}, {"/registry/personnel/" + pid, "reg_personnel"}, {"/registry/organizations/" + oid, "reg_organizations"}} {
				if loc := redirected(t, wa, c.path+"/delete", map[string]string{"confirm": "yes"}); !strings.Contains(loc, "deleted=1") || e.Count(`SELECT COUNT(*) FROM `+c.table) != 1 {
					t.Fatalf("delete %s: to %q", c.path, loc)
				}
			}
			if e.Count(`SELECT COUNT(*) FROM reg_households WHERE grid_id IS NULL`) != 1 {
				t.Fatal("the deleted grid's household is gone or still assigned")
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action IN ('registry.grid.delete', 'registry.person.delete', 'registry.organization.delete')`); n != 3 {
				t.Fatalf("%d deletes audited, want 3", n)
			}
		})
		t.Run("the lists are on the all-functions menu and the notice says deleted", func(t *testing.T) {
			menu := page(t, wa, "/menu", 200)
			for _, want := range []string{`href="/registry/organizations"`, `href="/registry/personnel"`, `href="/registry/grids"`} {
				if !strings.Contains(menu, want) {
					t.Fatalf("the menu lacks %s", want)
				}
			}
			html := page(t, wa, "/registry/grids?deleted=1", 200)
			for _, want := range []string{"已删除"} {
				if !strings.Contains(html, want) {
					t.Fatalf("the page lacks %s", want)
				}
			}
		})
	})
}
