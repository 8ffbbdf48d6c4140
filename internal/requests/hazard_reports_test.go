package requests_test

import (
	"slices"
	"testing"

	"linli/internal/apptest"
)

// The hazard register (emergency) reads the requests that report a hazard
// through the view requests publish: fire and public-security reports
// still standing, with where and what, never the reporter.
func TestHazardReportsArePublishedWithoutTheReporter(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		res, wa := e.Login("res1"), e.Login("workerA")
		fire := submit(t, res, map[string]any{"category": "fire", "description": "楼道里有电动车充电", "address": "上保社区 3 幢"})
		security := submit(t, res, map[string]any{"category": "security", "description": "小区东门监控坏了"})
		submit(t, res, map[string]any{"category": "property", "description": "物业费太贵"})
		rejected := submit(t, e.Login("res2"), map[string]any{"category": "fire", "description": "消防通道堵塞"})
		act(t, wa, rejected.ID, "reject", map[string]any{"reason": "已由消防部门处理"})
		published := func() []string {
			rs, err := e.App.DB.R.Query(`SELECT number FROM requests_hazard_reports ORDER BY number`)
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			var out []string
			for rs.Next() {
				var n string
				if err := rs.Scan(&n); err != nil {
					t.Fatal(err)
				}
				out = append(out, n)
			}
			return out
		}

		t.Run("fire and security reports are published, other categories and rejected ones are not", func(t *testing.T) {
			want := []string{fire.Number, security.Number}
			slices.Sort(want)
			if got := published(); !slices.Equal(got, want) {
				t.Fatalf("published %v, want %v", got, want)
			}
		})
		t.Run("the view holds the place and the text but no reporter column", func(t *testing.T) {
			var div, desc, addr string
			if err := e.App.DB.R.QueryRow(`SELECT division_code, description, address FROM requests_hazard_reports WHERE id = $1`, fire.ID).Scan(&div, &desc, &addr); err != nil {
				t.Fatal(err)
			}
			if div != communityA || desc != "楼道里有电动车充电" || addr != "上保社区 3 幢" {
				t.Fatalf("%s %s %s", div, desc, addr)
			}
			if _, err := e.App.DB.R.Query(`SELECT reporter_name FROM requests_hazard_reports`); err == nil {
				t.Fatal("the view publishes the reporter's name")
			}
		})
	})
}
