package indicators_test

import (
	"html"
	"regexp"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
)

// alertOf is the alert a page shows ("" when none).
func alertOf(page string) string {
	m := regexp.MustCompile(`<p class="alert" role="alert">([^<]*)</p>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestReportPageAnswersEveryRole(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		e.User("ningbo", access.Officer, "330212")
		e.User("auditor", access.Auditor, "33")
		e.User("grid", access.GridWorker, apptest.CommunityA)
		e.User("resident", access.Resident, apptest.CommunityA)
		const (
			notBusiness = "管理员角色不处理业务数据（三员分立）"
			outside     = "区划 330106 不存在或不在您的管辖范围内"
			onlyOfficer = "只有民政干部可以填报、审核和分解目标"
		)
		same := map[string]string{"Origin": e.URL}
		for _, k := range []struct {
			name, user, method, path string
			form                     map[string]string
			status                   int
			alert                    string
		}{
			{"an officer opens its own county", "county", "GET", "/indicators/report", nil, 200, ""},
			{"an officer of another county opens its own", "ningbo", "GET", "/indicators/report", nil, 200, ""},
			{"an officer of another county cannot open this one", "ningbo", "GET", "/indicators/report?division=330106", nil, 404, outside},
			{"nor enter its data", "ningbo", "POST", "/indicators/report", map[string]string{"division": "330106", "action": "enter", "v_x": "1"}, 404, outside},
			{"nor fetch its template", "ningbo", "GET", "/indicators/report/template?division=330106", nil, 404, outside},
			{"an auditor without parameters is told why", "auditor", "GET", "/indicators/report", nil, 403, notBusiness},
			{"an auditor naming a division likewise", "auditor", "GET", "/indicators/report?division=330106&period=2026", nil, 403, notBusiness},
			{"an auditor cannot post", "auditor", "POST", "/indicators/report", map[string]string{"action": "enter"}, 403, notBusiness},
			{"an auditor's indicator page likewise", "auditor", "GET", "/indicators", nil, 403, notBusiness},
			{"a grid worker reads its community's reports", "grid", "GET", "/indicators/report", nil, 200, ""},
			{"a grid worker cannot read the county's", "grid", "GET", "/indicators/report?division=330106", nil, 404, outside},
			{"a grid worker cannot enter data", "grid", "POST", "/indicators/report", map[string]string{"action": "enter", "v_x": "1"}, 403, onlyOfficer},
			{"a grid worker cannot approve", "grid", "POST", "/indicators/report", map[string]string{"action": "approve", "child": apptest.CommunityA}, 403, onlyOfficer},
			{"a resident cannot enter data", "resident", "POST", "/indicators/report", map[string]string{"action": "enter", "v_x": "1"}, 403, onlyOfficer},
			{"a malformed year is a 400", "county", "GET", "/indicators/report?period=abc", nil, 400, "年份须在 2020–2035 之间：abc"},
			{"a malformed division is a 400", "county", "GET", "/indicators/report?division=abc", nil, 400, "区划代码格式不正确：abc"},
			{"an unknown action is a 400", "county", "POST", "/indicators/report", map[string]string{"action": "erase"}, 400, "未知操作"},
		} {
			t.Run(k.name, func(t *testing.T) {
				c := e.Login(k.user)
				var st int
				var page string
				if k.method == "GET" {
					st, page, _ = c.Get(k.path)
				} else {
					st, page, _ = c.Form(k.path, k.form, same)
				}
				if st != k.status || alertOf(page) != k.alert {
					t.Errorf("status %d alert %q, want %d %q", st, alertOf(page), k.status, k.alert)
				}
			})
		}
		t.Run("the API answers an auditor with the same refusal", func(t *testing.T) {
			p := refusal(t, e.Login("auditor"), "GET", "/api/v1/indicators", nil, 403)
			if p.Detail != notBusiness {
				t.Errorf("problem %+v", p)
			}
		})
	})
}
