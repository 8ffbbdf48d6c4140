package indicators_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
)

// Reported data: entered as drafts with each value checked, approved
// bottom-up by the level above, locked once approved; targets decompose
// without exceeding the level above.
func TestIndicatorReportingWorkflow(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := indSetup(t, e)
		e.User("ningbo", access.Officer, "3302")
		e.User("province", access.Officer, "33")
		city, prov := e.Login("city"), e.Login("province")
		report := func(code string) string { return fmt.Sprintf("/api/v1/indicator-reports/%s/%d", code, indYear) }
		act := func(code, action string) string { return report(code) + "/" + action }
		t.Run("bad values are refused by name and nothing is saved", func(t *testing.T) {
			before := e.Count(`SELECT COUNT(*) FROM ind_reported`)
			for _, k := range []struct {
				name, code string
				body       map[string]float64
				field      string
			}{
				{"below the standard's bound", apptest.County, map[string]float64{"dibao_standard": -5}, "dibao_standard"},
				{"an unknown element", apptest.County, map[string]float64{"population_total": 5}, "population_total"},
				{"joint cases above all cases", "330106002", map[string]float64{"assistance_joint_cases": 90, "assistance_cases": 40}, "assistance_joint_cases"},
				{"a county's element at a township", "330106002", map[string]float64{"dibao_standard": 12000}, "dibao_standard"},
			} {
				if p := refusal(t, c, "PUT", report(k.code), k.body, 400); !slices.Equal(fields(p), []string{k.field}) {
					t.Errorf("%s: fields %v, want %s (%s)", k.name, fields(p), k.field, p.Detail)
				}
			}
			if p := refusal(t, c, "PUT", fmt.Sprintf("/api/v1/indicator-reports/%s/2019", apptest.County), map[string]float64{"dibao_standard": 9000}, 400); !slices.Equal(fields(p), []string{"year"}) {
				t.Errorf("a year outside the frame: fields %v", fields(p))
			}
			if after := e.Count(`SELECT COUNT(*) FROM ind_reported`); after != before {
				t.Fatalf("bad input saved rows: %d → %d", before, after)
			}
		})
		t.Run("the county's data waits for its townships", func(t *testing.T) {
			if p := refusal(t, city, "POST", act(apptest.County, "approve"), nil, 400); !strings.Contains(p.DetailEN, "approve them first") {
				t.Fatalf("approve before children: %s", p.DetailEN)
			}
		})
		t.Run("townships are approved by the county, the county by the city", func(t *testing.T) {
			for _, town := range []string{"330106002", "330106004"} {
				done(t, c, "POST", act(town, "approve"), nil)
			}
			if p := refusal(t, c, "POST", act(apptest.County, "approve"), nil, 400); !slices.Equal(fields(p), []string{"division_code"}) {
				t.Fatalf("an officer approved its own level: %+v", p)
			}
			done(t, city, "POST", act(apptest.County, "approve"), nil)
		})
		t.Run("approved data is locked", func(t *testing.T) {
			refusal(t, c, "PUT", report(apptest.County), map[string]float64{"dibao_standard": 13000}, 409)
		})
		t.Run("a township stays locked while the county above is", func(t *testing.T) {
			if p := refusal(t, c, "POST", act("330106002", "unlock"), nil, 400); !strings.Contains(p.DetailEN, "unlock it first") {
				t.Fatalf("unlock under a locked parent: %s", p.DetailEN)
			}
		})
		t.Run("unlocking is audited", func(t *testing.T) {
			done(t, city, "POST", act(apptest.County, "unlock"), nil)
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'indicator.report.unlock'`); n != 1 {
				t.Fatalf("unlock audited %d times", n)
			}
		})
		t.Run("another city's officer cannot enter data for 西湖区", func(t *testing.T) {
			refusal(t, e.Login("ningbo"), "PUT", report(apptest.County), map[string]float64{"dibao_standard": 9000}, 404)
		})
		t.Run("children's targets may not add up past the parent's", func(t *testing.T) {
			// The province's plan target (350) bounds cities, not counties:
			// 3301 has no target of its own yet.
			done(t, city, "PUT", "/api/v1/indicator-targets/330106/I04", map[string]float64{"target": 100})
			done(t, prov, "PUT", "/api/v1/indicator-targets/3301/I04", map[string]float64{"target": 300})
			if p := refusal(t, prov, "PUT", "/api/v1/indicator-targets/3302/I04", map[string]float64{"target": 60}, 400); !strings.Contains(p.DetailEN, "above the parent's 350") {
				t.Errorf("targets over the plan's 350: %s", p.DetailEN)
			}
			if p := refusal(t, prov, "PUT", "/api/v1/indicator-targets/3301/I04", map[string]float64{"target": 50}, 400); !strings.Contains(p.DetailEN, "add up to 100, above 50") {
				t.Errorf("a city target below its counties' sum: %s", p.DetailEN)
			}
			if p := refusal(t, prov, "PUT", "/api/v1/indicator-targets/3302/I06", map[string]float64{"target": 120}, 400); !slices.Equal(fields(p), []string{"target"}) {
				t.Errorf("a percentage target over 100: %+v", p)
			}
		})
	})
}

// The reporting page: enter a township's casework as a draft, approve it
// from the county, and see it locked.
func TestIndicatorReportingPage(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		form := map[string]string{"division": "330106002", "period": fmt.Sprint(indYear), "action": "enter", "v_assistance_cases": "40", "v_assistance_joint_cases": "abc"}
		t.Run("a township's form offers the township's elements only", func(t *testing.T) {
			st, page := c.Do("GET", fmt.Sprintf("/indicators/report?division=330106002&period=%d", indYear), nil)
			if st != 200 || !strings.Contains(page, `name="v_assistance_cases"`) || strings.Contains(page, `name="v_dibao_standard"`) {
				t.Fatalf("township form: %d", st)
			}
		})
		t.Run("a word where a number belongs saves nothing", func(t *testing.T) {
			if st, _, _ := c.Form("/indicators/report", form, nil); st != 400 {
				t.Fatalf("non-number: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ind_reported`); n != 0 {
				t.Fatalf("bad form saved %d values", n)
			}
		})
		t.Run("good values are saved as drafts", func(t *testing.T) {
			form["v_assistance_joint_cases"] = "30"
			if st, body, _ := c.Form("/indicators/report", form, nil); st != 200 || !strings.Contains(body, "草稿") {
				t.Fatalf("enter: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ind_reported WHERE status = 'draft'`); n != 2 {
				t.Fatalf("%d drafts, want 2", n)
			}
		})
		t.Run("the county approves the township", func(t *testing.T) {
			approve := map[string]string{"division": apptest.County, "period": fmt.Sprint(indYear), "action": "approve", "child": "330106002"}
			if st, _, _ := c.Form("/indicators/report", approve, nil); st != 200 {
				t.Fatalf("approve: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ind_reported WHERE status = 'approved'`); n != 2 {
				t.Fatalf("%d approved values, want 2", n)
			}
		})
		t.Run("approved values cannot be changed", func(t *testing.T) {
			form["v_assistance_cases"] = "41"
			if st, body, _ := c.Form("/indicators/report", form, nil); st != 409 || !strings.Contains(body, "锁定") {
				t.Fatalf("edit of approved data: %d", st)
			}
		})
	})
}
