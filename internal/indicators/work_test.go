package indicators_test

import (
	"fmt"
	"html"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/fault"
	"linli/internal/indicators"
)

// workbench is a worker's 工作台 as the API answers.
type workbench struct {
	Items []struct {
		Kind  string    `json:"kind"`
		Title fault.Msg `json:"title"`
		Whose string    `json:"whose"`
		Href  string    `json:"href"`
		Due   *string   `json:"due"`
	} `json:"items"`
	Counts []struct {
		Kind  string `json:"kind"`
		Count int    `json:"count"`
	} `json:"counts"`
}

const approveKind = "indicator.report.approve"

// approvals are the hrefs of the reports waiting on the worker's 工作台.
func approvals(t *testing.T, c *apptest.Client) []string {
	t.Helper()
	wb := apptest.JSON[workbench](t, c, "GET", "/api/v1/workbench", nil, 200)
	var out []string
	for _, it := range wb.Items {
		if it.Kind == approveKind {
			out = append(out, it.Href)
		}
	}
	n := 0
	for _, k := range wb.Counts {
		if k.Kind == approveKind {
			n = k.Count
		}
	}
	if n != len(out) {
		t.Errorf("count %d for %d items", n, len(out))
	}
	return out
}

// Reported data waits on the 工作台 of the officer one level above, who
// approves it; once approved it is gone, and the next level's turn comes.
func TestReportsToApproveOnTheWorkbench(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		const town = "330106002" // 北山街道, above 上保社区 (CommunityA)
		e.User("county", access.Officer, apptest.County)
		e.User("town", access.Officer, town)
		e.User("worker", access.CommunityWorker, apptest.CommunityA)
		e.User("ningbo", access.Officer, "330212")
		county, townC := e.Login("county"), e.Login("town")
		done(t, county, "POST", "/api/v1/data-elements", map[string]any{"key": "council_meetings", "division_code": apptest.County,
			"name_zh": "村(居)民议事会召开次数", "name_en": "Council meetings held", "unit": "次", "level": 5, "min": 0, "max": 100})
		// Officers are bound to townships and above: a community's data is
		// entered for it from above (here by the county, as an import does).
		done(t, county, "PUT", fmt.Sprintf("/api/v1/indicator-reports/%s/%d", apptest.CommunityA, indYear), map[string]float64{"own_council_meetings": 4})
		item := fmt.Sprintf("/indicators/report?division=%s&period=%d#child-%s", town, indYear, apptest.CommunityA)

		t.Run("the township officer finds the community's entered report on the workbench", func(t *testing.T) {
			wb := apptest.JSON[workbench](t, townC, "GET", "/api/v1/workbench", nil, 200)
			found := false
			for _, it := range wb.Items {
				if it.Kind != approveKind {
					continue
				}
				found = true
				if it.Href != item || !strings.Contains(it.Whose, "上保") || !strings.Contains(it.Title.ZH, fmt.Sprint(indYear)) || !strings.Contains(it.Title.ZH, "1 项") || it.Due != nil {
					t.Errorf("item %+v, want href %s", it, item)
				}
			}
			if !found || len(approvals(t, townC)) != 1 {
				t.Fatalf("no single report to approve among %+v", wb.Items)
			}
		})
		t.Run("the 工作台 page shows it, one tap from the approve button", func(t *testing.T) {
			_, body, _ := townC.Get("/work")
			for _, want := range []string{`href="` + html.EscapeString(item) + `"`, "待审核填报 (1)"} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %s", want)
				}
			}
			st, page, _ := townC.Get(strings.SplitN(item, "#", 2)[0])
			row := `id="child-` + apptest.CommunityA + `"`
			i := strings.Index(page, row)
			if st != 200 || i < 0 || !strings.Contains(page[i:], `value="approve"`) {
				t.Errorf("the report page (%d) has no approve button in row %s", st, row)
			}
		})
		t.Run("no one else is asked: the community's worker, the county that entered it, another county", func(t *testing.T) {
			for _, u := range []string{"worker", "county", "ningbo"} {
				if h := approvals(t, e.Login(u)); len(h) != 0 {
					t.Errorf("%s sees %v", u, h)
				}
			}
			if _, body, _ := e.Login("ningbo").Get("/work"); strings.Contains(body, "待审核填报") {
				t.Error("another county's officer's page names a report to approve")
			}
		})
		t.Run("a township's own report waits for the county only once its communities are approved", func(t *testing.T) {
			done(t, townC, "PUT", fmt.Sprintf("/api/v1/indicator-reports/%s/%d", town, indYear), map[string]float64{"assistance_cases": 40})
			if h := approvals(t, county); len(h) != 0 {
				t.Errorf("the county is asked before the community is approved: %v", h)
			}
		})
		t.Run("once approved the community's report is gone, and the township's comes to the county", func(t *testing.T) {
			done(t, townC, "POST", fmt.Sprintf("/api/v1/indicator-reports/%s/%d/approve", apptest.CommunityA, indYear), nil)
			if h := approvals(t, townC); len(h) != 0 {
				t.Errorf("still waiting after approval: %v", h)
			}
			if _, body, _ := townC.Get("/work"); strings.Contains(body, "#child-"+apptest.CommunityA) {
				t.Error("the page still lists the approved report")
			}
			want := fmt.Sprintf("/indicators/report?division=%s&period=%d#child-%s", apptest.County, indYear, town)
			if h := approvals(t, county); len(h) != 1 || h[0] != want {
				t.Errorf("county's reports to approve %v, want %s", h, want)
			}
		})
		t.Run("an unlocked report waits again", func(t *testing.T) {
			done(t, townC, "POST", fmt.Sprintf("/api/v1/indicator-reports/%s/%d/unlock", apptest.CommunityA, indYear), nil)
			if h := approvals(t, townC); len(h) != 1 || h[0] != item {
				t.Errorf("after unlock: %v", h)
			}
			if h := approvals(t, county); len(h) != 0 {
				t.Errorf("the county is asked while a community is unlocked: %v", h)
			}
		})
	})
}

// The 工作台 asks for the reports to approve on every view: the query
// walks the officer's children by the tree's parent index and their
// drafts by the index of drafts, never the whole table of reported data.
func TestReportsToApproveUseTheIndexOfDrafts(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		apptest.Open(t, d, nil)
		sc := access.Subtree("330106002")
		plan, err := d.Explain(t.Context(), indicators.WaitingQuery, []any{"330106002", sc.Lo, sc.Hi, 200}, db.NoSeqScan())
		if err != nil {
			t.Fatal(err)
		}
		for _, index := range []string{"divisions_parent", "ind_reported_waiting"} {
			if !strings.Contains(plan, index) {
				t.Errorf("the plan does not use %s:\n%s", index, plan)
			}
		}
	})
}
