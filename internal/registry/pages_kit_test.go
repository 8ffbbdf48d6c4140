package registry_test

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
)

// openTag is the opening tag of the element with id, or "" when the page
// has none.
func openTag(html, id string) string {
	return regexp.MustCompile(`<[a-z]+\s[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(html)
}

// required reports whether the control with id carries the required attribute.
func required(t *testing.T, html, id string) bool {
	t.Helper()
	tag := openTag(html, id)
	if tag == "" {
		t.Fatalf("no element #%s", id)
	}
	return regexp.MustCompile(`\srequired[\s>]`).MatchString(tag)
}

// wantRequired checks which of a form's fields are marked required.
func wantRequired(t *testing.T, html string, req []string, optional []string) {
	t.Helper()
	for _, f := range req {
		if !required(t, html, "f-"+f) {
			t.Errorf("%s is not marked required: %s", f, openTag(html, "f-"+f))
		}
	}
	for _, f := range optional {
		if required(t, html, "f-"+f) {
			t.Errorf("optional %s is marked required", f)
		}
	}
}

func TestFormsMarkRequiredFields(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		other := apptest.JSON[idOnly](t, w.wb, "POST", "/api/v1/households", map[string]any{"division": communityB, "household_no": "HH-B", "address": "B 社区 2 幢"}, 201).ID

		t.Run("the household form requires division, number and address, not grid or note", func(t *testing.T) {
			wantRequired(t, page(t, w.wa, "/registry/households/new", 200), []string{"division", "household_no", "address"}, []string{"grid_id", "note"})
		})
		t.Run("a new resident needs a name and an ID number; an edit keeps the stored number when left empty", func(t *testing.T) {
			wantRequired(t, page(t, w.wa, "/registry/residents/new?household="+w.hh, 200), []string{"name", "id_number"}, []string{"phone", "health", "income"})
			wantRequired(t, page(t, w.wa, "/registry/residents/"+w.res+"/edit", 200), []string{"name"}, []string{"id_number", "phone"})
		})
		t.Run("the facility and organisation forms mark their required fields", func(t *testing.T) {
			wantRequired(t, page(t, w.wa, "/registry/facilities/new", 200), []string{"division", "code", "name", "lon", "lat"}, []string{"address", "opening_hours"})
			wantRequired(t, page(t, w.wa, "/registry/organizations/new", 200), []string{"division", "kind", "name"}, []string{"reg_no", "party_share", "address"})
		})
		t.Run("a resident added without a household chooses one in scope instead of typing an id", func(t *testing.T) {
			html := page(t, w.wa, "/registry/residents/new", 200)
			sel := openTag(html, "f-household_id")
			if !strings.HasPrefix(sel, "<select") || !required(t, html, "f-household_id") {
				t.Fatalf("household field %q", sel)
			}
			if !strings.Contains(html, `<option value="`+w.hh+`">HH-001 `) || strings.Contains(html, other) {
				t.Fatal("the choice is not the caller's households alone")
			}
		})
		t.Run("check boxes are labelled rows and the form has no typed role list", func(t *testing.T) {
			html := page(t, w.wa, "/registry/personnel/new", 200)
			if !strings.Contains(html, `<label class="check"><input type="checkbox" id="f-roles" name="roles"`) {
				t.Fatal("roles are not check rows")
			}
			if n := strings.Count(html, `type="checkbox"`); n != 9 {
				t.Fatalf("%d role boxes, want 9", n)
			}
		})
	})
}

func TestFormErrorSummaryLinksToFields(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		summaryLinks := func(t *testing.T, html string) []string {
			t.Helper()
			at, form := strings.Index(html, `class="error-summary"`), strings.Index(html, `id="entity-form"`)
			if at < 0 || form < 0 || at > form {
				t.Fatalf("no error summary above the form: %.800s", html)
			}
			var out []string
			for _, m := range regexp.MustCompile(`<a href="#(f-[a-z_]+)">`).FindAllStringSubmatch(html[at:form], -1) {
				if openTag(html, m[1]) == "" {
					t.Fatalf("the summary links to #%s, which the page lacks", m[1])
				}
				out = append(out, m[1])
			}
			return out
		}

		t.Run("a missing address is listed at the top and links to its field", func(t *testing.T) {
			html := formError(t, w.wa, "/registry/households", map[string]string{"division": communityA, "household_no": "H9", "address": ""}, "address")
			if got := summaryLinks(t, html); fmt.Sprint(got) != "[f-address]" {
				t.Fatalf("summary links %v", got)
			}
			if tag := openTag(html, "f-address"); !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, "err-address") {
				t.Fatalf("the field is not marked invalid: %s", tag)
			}
		})
		t.Run("two bad fields give two links, in the form's order", func(t *testing.T) {
			html := formError(t, w.wa, "/registry/personnel", map[string]string{"division": communityA, "name": "陈网格", "phone": "123"}, "roles", "phone")
			if got := summaryLinks(t, html); fmt.Sprint(got) != "[f-roles f-phone]" && fmt.Sprint(got) != "[f-phone f-roles]" {
				t.Fatalf("summary links %v", got)
			}
			if !strings.HasPrefix(openTag(html, "f-roles"), `<input type="checkbox"`) {
				t.Fatal("the roles link does not land on a box")
			}
		})
		t.Run("an error on a field the form does not show links to the first field shown", func(t *testing.T) {
			html := formError(t, w.wa, "/registry/residents/"+w.res+"/edit", map[string]string{"household_id": "no-such-household", "name": "张晓梅", "relation": "户主", "residence": "registered"})
			for _, l := range summaryLinks(t, html) {
				if l == "f-household_id" {
					t.Fatal("the summary links to a hidden field")
				}
			}
		})
		t.Run("in English the summary speaks English", func(t *testing.T) {
			setLang(t, e, w.wa, "en")
			defer setLang(t, e, w.wa, "zh")
			html := formError(t, w.wa, "/registry/households", map[string]string{"division": communityA, "household_no": "H9", "address": ""}, "address")
			sum := html[strings.Index(html, `class="error-summary"`):strings.Index(html, `id="entity-form"`)]
			if !strings.Contains(sum, "There is a problem") || !strings.Contains(sum, "enter an address") || strings.Contains(sum, "请填写地址") {
				t.Fatalf("summary %s", sum)
			}
		})
	})
}

func TestFacilityLegendShapes(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker.a", access.CommunityWorker, communityA)
		wa := e.Login("worker.a")
		cats, err := storeOf(e).Categories(as(access.CommunityWorker, communityA))
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cats {
			apptest.JSON[idOnly](t, wa, "POST", "/api/v1/facilities", map[string]any{"division": communityA, "code": fmt.Sprintf("F%02d", i), "name": "设施" + c.NameZH,
				"category": c.Key, "lon": 120.14 + float64(i%6)*0.002, "lat": 30.25 + float64(i/6)*0.002}, 201)
		}
		html := page(t, wa, "/registry/facilities?page_size=100", 200)
		entry := regexp.MustCompile(`<li data-category="([^"]+)" data-shape="([^"]+)" data-color="([^"]+)">`)
		shapeOf := map[string]string{}

		t.Run("the legend lists every category once, each with its own shape and colour", func(t *testing.T) {
			seen, styles, shapes := map[string]bool{}, map[string]string{}, map[string]bool{}
			for _, m := range entry.FindAllStringSubmatch(html, -1) {
				key, style := m[1], m[2]+" "+m[3]
				if seen[key] {
					t.Fatalf("%s listed twice", key)
				}
				if prev, dup := styles[style]; dup {
					t.Fatalf("%s and %s are both drawn as %s", prev, key, style)
				}
				seen[key], styles[style], shapes[m[2]], shapeOf[key] = true, key, true, m[2]
			}
			for _, c := range cats {
				if !seen[c.Key] || !strings.Contains(html, c.NameZH+" (1)") {
					t.Fatalf("the legend lacks %s (%s)", c.Key, c.NameZH)
				}
			}
			if len(shapes) < 7 {
				t.Fatalf("%d shapes for %d categories, want one a family (7)", len(shapes), len(cats))
			}
		})
		t.Run("each family is named and each marker has its category's shape", func(t *testing.T) {
			for _, fam := range []string{"养老", "医疗卫生", "托育与教育", "生活便利"} {
				if !strings.Contains(html, `<span class="reg-family">`+fam+`</span>`) {
					t.Fatalf("the legend does not name the family %s", fam)
				}
			}
			marks := regexp.MustCompile(`<path d="[^"]+" fill="[^"]+" stroke="[^"]+" stroke-width="[^"]+" data-category="([^"]+)" data-shape="([^"]+)" data-count="1">`).FindAllStringSubmatch(html, -1)
			if len(marks) != len(cats) {
				t.Fatalf("%d layers of one marker for %d facilities of as many categories", len(marks), len(cats))
			}
			for _, m := range marks {
				if shapeOf[m[1]] != m[2] {
					t.Fatalf("%s drawn as %s, legend says %s", m[1], m[2], shapeOf[m[1]])
				}
			}
		})
		t.Run("the map scales to the screen and nothing scrolls sideways in a box", func(t *testing.T) {
			svg := openTag(html, "facility-map")
			if svg == "" || strings.Contains(html, "table-wrap") || regexp.MustCompile(`<svg xmlns="[^"]+" viewBox="[^"]+" width=`).MatchString(html) {
				t.Fatal("the map has a fixed width or the table scrolls in a box")
			}
		})
		t.Run("in English the legend and its families are English", func(t *testing.T) {
			setLang(t, e, wa, "en")
			defer setLang(t, e, wa, "zh")
			html := page(t, wa, "/registry/facilities?category=health_station", 200)
			if !strings.Contains(html, ">Health</span>") || !strings.Contains(html, "Health station / village clinic (1)") || strings.Contains(html, "医疗卫生") {
				t.Fatal("the English legend is not English")
			}
		})
	})
}

func TestRecordsPrintAsRecords(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		org := apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/organizations", map[string]any{"division": communityA, "kind": "property", "name": "绿城物业"}, 201).ID
		per := apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/personnel", map[string]any{"division": communityA, "name": "李医生", "roles": []string{"gp"}}, 201).ID
		grid := apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/grids", map[string]any{"division": communityA, "code": "G01", "name": "一网格"}, 201).ID
		records := map[string]string{"/registry/residents/" + w.res: "/registry/residents", "/registry/households/" + w.hh: "/registry/households",
			"/registry/organizations/" + org: "/registry/organizations", "/registry/personnel/" + per: "/registry/personnel", "/registry/grids/" + grid: "/registry/grids"}

		for path, list := range records {
			t.Run(path[len("/registry/"):strings.LastIndex(path, "/")]+": one printable record, a breadcrumb and one primary action", func(t *testing.T) {
				html := page(t, w.wa, path, 200)
				if n := strings.Count(html, `<article class="record"`); n != 1 {
					t.Fatalf("%d records on the page", n)
				}
				if !strings.Contains(html, `<ol class="crumbs"><li><a href="`+list+`">`) {
					t.Fatal("no breadcrumb back to the list")
				}
				end := strings.Index(html, "</article>")
				bar := html[strings.Index(html, `<div class="actions">`):]
				bar = bar[:strings.Index(bar, "</div>")]
				if strings.Index(html, `<div class="actions">`) < end {
					t.Fatal("the action bar is inside the record, so it would print")
				}
				if n := strings.Count(bar, `class="button"`); n != 1 {
					t.Fatalf("%d primary actions: %s", n, bar)
				}
				if !strings.Contains(bar, `class="button danger" href="`+path+`/delete"`) {
					t.Fatalf("delete is not a danger link to the confirmation page: %s", bar)
				}
				if strings.Contains(html, "table-wrap") || strings.Contains(html, `<table>`) {
					t.Fatal("a table that scrolls sideways or does not reflow")
				}
			})
		}
		t.Run("a resident's own record prints the same way, without the worker's actions", func(t *testing.T) {
			e.User("res.a", access.Resident, communityA)
			if _, err := e.App.DB.W.Exec(`UPDATE reg_residents SET username = 'res.a' WHERE id = $1`, w.res); err != nil {
				t.Fatal(err)
			}
			html := page(t, e.Login("res.a"), "/registry/me", 200)
			if !strings.Contains(html, `<article class="record"`) || strings.Contains(html, "delete-resident") || strings.Contains(html, `class="crumbs"`) {
				t.Fatal("the resident's record")
			}
		})
		t.Run("a list is a responsive table whose every cell is labelled", func(t *testing.T) {
			for _, p := range []string{"/registry/residents", "/registry/households", "/registry/organizations", "/registry/personnel", "/registry/grids"} {
				html := page(t, w.wa, p+"?q="+url.QueryEscape(""), 200)
				if !strings.Contains(html, `<table class="rtable reg">`) || !strings.Contains(html, `<details class="filters"`) {
					t.Fatalf("%s is not a responsive table with a filter panel", p)
				}
				if cells, labelled := strings.Count(html, "<td"), strings.Count(html, "<td data-label="); cells == 0 || cells != labelled {
					t.Fatalf("%s: %d of %d cells labelled", p, labelled, cells)
				}
			}
		})
		t.Run("the confirmation page puts delete as a danger button beside a way back", func(t *testing.T) {
			html := page(t, w.wa, "/registry/grids/"+grid+"/delete", 200)
			if !strings.Contains(html, `<button type="submit" class="danger" id="confirm-delete">`) || !strings.Contains(html, `class="button secondary" href="/registry/grids/`+grid+`"`) {
				t.Fatal("confirmation buttons")
			}
		})
	})
}
