package divisions_test

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/divisions"
	"linli/internal/web"
)

// problem asks for something that must be refused with status and returns
// the problem's first field ("" for none).
func problem(t *testing.T, c *apptest.Client, method, path string, body any, status int) (web.Problem, string) {
	t.Helper()
	p := apptest.JSON[web.Problem](t, c, method, path, body, status)
	field := ""
	if len(p.Errors) > 0 {
		field = p.Errors[0].Field
	}
	return p, field
}

func population(v float64) map[string]any {
	return map[string]any{"values": map[string]float64{"population": v, "households": v / 2.5}}
}

func TestJurisdictionScope(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker.a", access.CommunityWorker, apptest.CommunityA)
		e.User("county", access.Officer, apptest.County)
		e.User("ningbo", access.Officer, apptest.OtherCity)
		e.User("sys", access.SysAdmin, "33")
		officer := e.Login("county")
		t.Run("the county officer writes both communities", func(t *testing.T) {
			for _, code := range []string{apptest.CommunityA, apptest.CommunityB} {
				got := apptest.JSON[[]divisions.Attribute](t, officer, "PUT", "/api/v1/divisions/"+code+"/attributes/2025", population(5000), 200)
				if len(got) != 2 || got[0].UpdatedBy != "county" || !got[0].UpdatedAt.Equal(e.Clock.Now()) {
					t.Fatalf("%s: %+v", code, got)
				}
			}
		})
		worker, ningbo, sys := e.Login("worker.a"), e.Login("ningbo"), e.Login("sys")
		for _, k := range []struct {
			name string
			c    *apptest.Client
			code string
			ok   bool
		}{
			{"a worker reads its community", worker, apptest.CommunityA, true},
			{"a worker does not read the next", worker, apptest.CommunityB, false},
			{"the county officer reads both", officer, apptest.CommunityB, true},
			{"an officer elsewhere reads neither", ningbo, apptest.CommunityA, false},
			{"admins do not read business rows", sys, apptest.CommunityA, false},
		} {
			t.Run(k.name, func(t *testing.T) {
				path := "/api/v1/divisions/" + k.code + "/attributes?year=2025"
				if k.ok {
					got := apptest.JSON[[]divisions.Attribute](t, k.c, "GET", path, nil, 200)
					if len(got) != 2 || got[0].Kind != "population" || got[0].Value != 5000 {
						t.Errorf("got %+v", got)
					}
					return
				}
				if p, _ := problem(t, k.c, "GET", path, nil, 404); p.DetailEN != "division "+k.code+" not found or outside your jurisdiction" {
					t.Errorf("got %q", p.DetailEN)
				}
			})
		}
		t.Run("refused writes change nothing", func(t *testing.T) {
			before := e.Count(`SELECT COUNT(*) FROM unit_changes`)
			problem(t, worker, "PUT", "/api/v1/divisions/"+apptest.CommunityB+"/attributes/2025", population(1), 404)
			p, _ := problem(t, worker, "PUT", "/api/v1/divisions/"+apptest.CommunityA+"/attributes/2025", population(1), 403)
			if p.DetailEN != "only officers of an enclosing division may change unit data" {
				t.Errorf("got %q", p.DetailEN)
			}
			if after := e.Count(`SELECT COUNT(*) FROM unit_changes`); after != before {
				t.Fatalf("changes %d → %d", before, after)
			}
			if v := e.Count(`SELECT CAST(value AS INTEGER) FROM unit_attributes WHERE division_code = $1 AND kind = 'population'`, apptest.CommunityB); v != 5000 {
				t.Fatalf("value changed to %d", v)
			}
		})
		t.Run("divisions themselves are public reference data", func(t *testing.T) {
			if d := apptest.JSON[divisions.Detail](t, ningbo, "GET", "/api/v1/divisions/"+apptest.CommunityA, nil, 200); d.Code != apptest.CommunityA {
				t.Fatalf("got %+v", d)
			}
		})
	})
}

func TestDivisionAPI(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		t.Run("a division comes with its ancestors, top first", func(t *testing.T) {
			d := apptest.JSON[divisions.Detail](t, c, "GET", "/api/v1/divisions/"+apptest.CommunityA, nil, 200)
			var ancestors []string
			for _, a := range d.Ancestors {
				ancestors = append(ancestors, a.Code)
			}
			if d.Name != "上保社区" || d.Level != 5 || d.UrbanRural != divisions.Urban || d.LevelNameEN != "Village/community" ||
				!reflect.DeepEqual(ancestors, []string{"33", "3301", apptest.County, "330106002"}) {
				t.Fatalf("got %+v", d)
			}
		})
		for _, k := range []struct {
			name, path, field string
			status            int
		}{
			{"an unknown division", "/api/v1/divisions/330106999999", "", 404},
			{"a malformed code", "/api/v1/divisions/3301x6", "code", 400},
			{"children of an unknown division", "/api/v1/divisions/330106999999/children", "", 404},
			{"a page size over the maximum", "/api/v1/divisions?q=x&page_size=1000", "page_size", 400},
			{"a search without a term", "/api/v1/divisions?q=", "q", 400},
			{"a malformed subtree", "/api/v1/divisions?q=x&within=33x", "within", 400},
			{"a malformed year", "/api/v1/divisions/" + apptest.CommunityA + "/attributes?year=20x5", "year", 400},
		} {
			t.Run(k.name+" is refused", func(t *testing.T) {
				if p, field := problem(t, c, "GET", k.path, nil, k.status); field != k.field {
					t.Errorf("field %q, want %q: %+v", field, k.field, p)
				}
			})
		}
		t.Run("children come a page at a time", func(t *testing.T) {
			l := apptest.JSON[web.List[divisions.Division]](t, c, "GET", "/api/v1/divisions/"+apptest.County+"/children?page_size=5&page=2", nil, 200)
			if l.Total != 12 || l.Page != 2 || l.PageSize != 5 || len(l.Items) != 5 || l.Items[0].ParentCode != apptest.County {
				t.Fatalf("got %+v", l)
			}
		})
		t.Run("a search ranks the exact name first", func(t *testing.T) {
			l := apptest.JSON[web.List[divisions.Division]](t, c, "GET", "/api/v1/divisions?q="+url.QueryEscape("西湖"), nil, 200)
			if len(l.Items) == 0 || l.Items[0].Code != apptest.County || l.Items[0].Name != "西湖区" {
				t.Fatalf("got %+v", l.Items)
			}
		})
		for _, k := range []struct {
			name   string
			method string
			path   string
			body   any
			field  string
		}{
			{"a negative value", "PUT", "/attributes/2025", map[string]any{"values": map[string]float64{"population": -3}}, "population"},
			{"an unknown attribute", "PUT", "/attributes/2025", map[string]any{"values": map[string]float64{"populace": 3}}, "populace"},
			{"a year that is not a number", "PUT", "/attributes/next", map[string]any{"values": map[string]float64{"population": 3}}, "year"},
			{"an unknown field", "POST", "/designations", map[string]any{"kind": "future_community", "year": 2024, "bogus": 1}, "bogus"},
			{"an unknown designation", "POST", "/designations", map[string]any{"kind": "best_village", "year": 2024}, "kind"},
		} {
			t.Run(k.name+" is refused", func(t *testing.T) {
				if p, field := problem(t, c, k.method, "/api/v1/divisions/"+apptest.CommunityA+k.path, k.body, 400); field != k.field {
					t.Errorf("field %q, want %q: %+v", field, k.field, p)
				}
			})
		}
		t.Run("a designation is awarded, listed, recorded and withdrawn", func(t *testing.T) {
			ds := apptest.JSON[[]divisions.Designation](t, c, "POST", "/api/v1/divisions/"+apptest.CommunityA+"/designations", map[string]any{"kind": "future_community", "year": 2024}, 200)
			if len(ds) != 1 || ds[0].Kind != "future_community" || ds[0].Year != 2024 {
				t.Fatalf("got %+v", ds)
			}
			cs := apptest.JSON[web.List[divisions.Change]](t, c, "GET", "/api/v1/divisions/"+apptest.CommunityA+"/changes", nil, 200)
			if cs.Total != 1 || cs.Items[0].What != "designation:future_community" || cs.Items[0].Actor != "county" || cs.Items[0].NewValue != "2024" {
				t.Fatalf("changes %+v", cs)
			}
			if st, _ := c.Do("DELETE", "/api/v1/divisions/"+apptest.CommunityA+"/designations/future_community", nil); st != 204 {
				t.Fatalf("withdraw: %d", st)
			}
			if ds := apptest.JSON[[]divisions.Designation](t, c, "GET", "/api/v1/divisions/"+apptest.CommunityA+"/designations", nil, 200); len(ds) != 0 {
				t.Fatalf("still listed: %+v", ds)
			}
			problem(t, c, "DELETE", "/api/v1/divisions/"+apptest.CommunityA+"/designations/future_community", nil, 404)
		})
		t.Run("the catalogues are listed", func(t *testing.T) {
			as := apptest.JSON[[]divisions.Kind](t, c, "GET", "/api/v1/attribute-kinds", nil, 200)
			ds := apptest.JSON[[]divisions.Kind](t, c, "GET", "/api/v1/designation-kinds", nil, 200)
			keys := map[string]bool{}
			for _, d := range ds {
				keys[d.Key] = true
			}
			// Modules may add designations of their own to the core's 13.
			if len(as) != 9 || as[0].Key != "population" || len(ds) < 13 || !keys["future_community"] || !keys["residents_lounge"] {
				t.Fatalf("%d attributes, %d designations", len(as), len(ds))
			}
		})
	})
}

func TestUnitCSVImportAllOrNothing(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		e.User("worker", access.CommunityWorker, apptest.CommunityA)
		c := e.Login("county")
		bad := "区划代码,年份,属性,数值\n" + apptest.CommunityA + ",2025,population,4100\n" + apptest.CommunityB + ",2025,population,abc\n330106004055,2025,households,1200\n"
		rows := func() int { return e.Count(`SELECT COUNT(*) FROM unit_attributes`) }
		t.Run("a bad file names its row and column and writes nothing", func(t *testing.T) {
			rep := apptest.JSON[struct{ Report divisions.ImportReport }](t, c, "POST", "/api/v1/unit-data/import", bad, 422).Report
			if rep.Applied || len(rep.Errors) != 1 || rep.Errors[0].Row != 3 || rep.Errors[0].Column != "value" || rows() != 0 {
				t.Fatalf("got %+v, %d rows", rep, rows())
			}
		})
		t.Run("a unit outside the jurisdiction is a bad row", func(t *testing.T) {
			rep := apptest.JSON[struct{ Report divisions.ImportReport }](t, c, "POST", "/api/v1/unit-data/import", "division_code,year,attribute,value\n330201001001,2025,population,1\n", 422).Report
			if len(rep.Errors) != 1 || rep.Errors[0].EN != "division does not exist or is outside your jurisdiction" {
				t.Fatalf("got %+v", rep)
			}
		})
		t.Run("a note with a control character is a bad row", func(t *testing.T) {
			rep := apptest.JSON[struct{ Report divisions.ImportReport }](t, c, "POST", "/api/v1/unit-data/import", "division_code,designation,year,note\n"+apptest.CommunityA+",future_community,2024,a\x00b\n", 422).Report
			if len(rep.Errors) != 1 || rep.Errors[0].Row != 2 || rep.Errors[0].Column != "note" || rep.Errors[0].EN != "the note contains a NUL character" {
				t.Fatalf("got %+v", rep)
			}
		})
		good := strings.Replace(bad, ",abc", ",3900", 1)
		t.Run("a dry run checks and writes nothing", func(t *testing.T) {
			rep := apptest.JSON[divisions.ImportReport](t, c, "POST", "/api/v1/unit-data/import?dry_run=1", good, 200)
			if rep.Applied || rep.Rows != 3 || rows() != 0 {
				t.Fatalf("got %+v, %d rows", rep, rows())
			}
		})
		t.Run("a worker may check but not import", func(t *testing.T) {
			w := e.Login("worker")
			apptest.JSON[divisions.ImportReport](t, w, "POST", "/api/v1/unit-data/import?dry_run=true", "division_code,year,attribute,value\n"+apptest.CommunityA+",2025,population,1\n", 200)
			problem(t, w, "POST", "/api/v1/unit-data/import", "division_code,year,attribute,value\n"+apptest.CommunityA+",2025,population,1\n", 403)
		})
		t.Run("a good file applies in full; again, it changes nothing", func(t *testing.T) {
			for i := 0; i < 2; i++ {
				if rep := apptest.JSON[divisions.ImportReport](t, c, "POST", "/api/v1/unit-data/import", good, 200); !rep.Applied || rep.Rows != 3 {
					t.Fatalf("apply %d: %+v", i, rep)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM unit_changes`); rows() != 3 || n != 3 {
				t.Fatalf("%d rows, %d changes; want 3 and 3", rows(), n)
			}
		})
	})
}
