package indicators_test

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/indicators"
	"linli/internal/web"
)

// pageCellRe reads an indicator's row of the dashboard: its ID, its value
// and its target, as the page prints them.
var pageCellRe = regexp.MustCompile(`(?s)<td class="ind-id">(I\d+)[^<]*(?:<span[^>]*>[^<]*</span>\s*)*</td>\s*<td class="ind-name">.*?</td>\s*<td class="num ind-val"[^>]*>([^<]*)</td>\s*<td class="num ind-tgt"[^>]*>([^<]*)</td>`)

// pageCells are the value and target of every indicator on a division's
// dashboard page.
func pageCells(t *testing.T, c *apptest.Client, division string) map[string]string {
	t.Helper()
	st, page := c.Do("GET", fmt.Sprintf("/indicators?division=%s&period=%d", division, indYear), nil)
	if st != 200 {
		t.Fatalf("dashboard: %d", st)
	}
	out := map[string]string{}
	for _, m := range pageCellRe.FindAllStringSubmatch(page, -1) {
		out[m[1]] = strings.TrimSpace(m[2]) + " / " + strings.TrimSpace(m[3])
	}
	if len(out) < 20 {
		t.Fatalf("dashboard shows %d indicators", len(out))
	}
	return out
}

// apiCells are the same figures computed afresh by the API, printed as the
// page prints them.
func apiCells(t *testing.T, c *apptest.Client, division string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, r := range getRows(t, c, division, indYear) {
		if !strings.HasPrefix(id, "I") {
			continue
		}
		out[id] = shown(r.Value) + " / " + shown(r.Target)
	}
	return out
}

// shown is a figure as the dashboard prints it: two decimals at most,
// thousands grouped, a dash when missing.
func shown(p *float64) string {
	if p == nil {
		return "—"
	}
	return web.Group(math.Round(*p*100) / 100)
}

// same compares the page's figures with the API's, for the IDs on both.
func same(page, api map[string]string) (string, bool) {
	for id, p := range page {
		if a, ok := api[id]; ok && a != p {
			return fmt.Sprintf("%s: page %q, computed %q", id, p, a), false
		}
	}
	return "", true
}

// The dashboard page is computed once per division and year and reused:
// it shows what a fresh computation shows, keeps showing it for PageTTL
// after a change elsewhere, and shows this module's own changes at once.
func TestDashboardCache(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := indSetup(t, e)
		first := pageCells(t, c, apptest.County)
		t.Run("the page shows what a fresh computation gives", func(t *testing.T) {
			if msg, ok := same(first, apiCells(t, c, apptest.County)); !ok {
				t.Fatal(msg)
			}
		})
		t.Run("a second view is served the same figures", func(t *testing.T) {
			if again := pageCells(t, c, apptest.County); !maps.Equal(again, first) {
				t.Fatalf("second view differs: %v vs %v", again, first)
			}
		})
		// Unit data belong to the divisions core: the indicators module does
		// not see the write.
		done(t, c, "PUT", fmt.Sprintf("/api/v1/divisions/%s/attributes/%d", apptest.CommunityA, indYear),
			map[string]any{"values": map[string]float64{"population": 5000, "households": 1500, "population_60plus": 1400}})
		changed := apiCells(t, c, apptest.County)
		t.Run("a change elsewhere moves the computed figures", func(t *testing.T) {
			if maps.Equal(changed, first) {
				t.Fatal("the population change moved no indicator")
			}
		})
		t.Run("the page keeps its figures until the TTL passes", func(t *testing.T) {
			if now := pageCells(t, c, apptest.County); !maps.Equal(now, first) {
				t.Fatalf("page recomputed before the TTL: %v", now)
			}
		})
		t.Run("after the TTL the viewer who finds it so is served the figures at once, and the change shows once recomputed beside", func(t *testing.T) {
			e.Clock.Add(indicators.PageTTL)
			if now := pageCells(t, c, apptest.County); !maps.Equal(now, first) {
				t.Fatalf("the viewer waited for a recomputation: %v", now)
			}
			// The recomputation runs beside the pages: wait for it, however
			// slow the machine.
			for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
				msg, ok := same(pageCells(t, c, apptest.County), changed)
				if ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal(msg)
				}
			}
		})
		t.Run("a target set here shows at once", func(t *testing.T) {
			const town = "330106002"
			before := pageCells(t, c, town)
			done(t, c, "PUT", "/api/v1/indicator-targets/"+town+"/I13", map[string]float64{"target": 37})
			after := pageCells(t, c, town)
			if !strings.HasSuffix(after["I13"], " / 37") || before["I13"] == after["I13"] {
				t.Fatalf("I13 before %q, after %q", before["I13"], after["I13"])
			}
			if msg, ok := same(after, apiCells(t, c, town)); !ok {
				t.Fatal(msg)
			}
		})
		t.Run("another division's page is its own computation", func(t *testing.T) {
			if msg, ok := same(pageCells(t, c, "330106004"), apiCells(t, c, "330106004")); !ok {
				t.Fatal(msg)
			}
		})
	})
}
