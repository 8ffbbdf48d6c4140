package registry_test

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/registry/idno"
)

// TestMyGridPage: a grid worker's page lists their tagged residents a
// page at a time, by key, and the first of their households.
func TestMyGridPage(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		e.User("grid.a", access.GridWorker, communityA)
		ga := e.Login("grid.a")
		gid := apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/grids", map[string]any{"division": communityA, "code": "G01", "name": "一网格", "workers": []string{"grid.a"}}, 201).ID
		seq := 0
		// resident adds a resident named name to a new household of the
		// grid, tagged when tag is set, and returns its id.
		resident := func(name string, tag bool) string {
			seq++
			hh := apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/households", map[string]any{"division": communityA, "household_no": fmt.Sprintf("G-%03d", seq),
				"address": fmt.Sprintf("上保社区 %d 幢", seq), "grid_id": gid}, 201).ID
			id := apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/residents", map[string]any{"household_id": hh, "name": name, "relation": "户主", "residence": "户籍",
				"id_number": idno.Synthetic("330106", time.Date(1950, 1, 1+seq%28, 0, 0, 0, 0, time.UTC), 300+seq)}, 201).ID
			if tag {
				apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/residents/"+id+"/tags", map[string]any{"tag": "living_alone"}, 201)
			}
			return id
		}
		tagged := map[string]bool{}
		for i := range 23 {
			id := resident(fmt.Sprintf("居民%02d", i), i%3 != 0)
			if i%3 != 0 {
				tagged[id] = true
			}
		}
		rowRE := regexp.MustCompile(`href="/registry/residents/([^"?/]+)"`)
		nextRE := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)

		t.Run("the tagged residents come a page at a time, each exactly once, while residents are added between pages", func(t *testing.T) {
			seen, added := map[string]bool{}, map[string]bool{}
			path, pages := "/registry/my-grid?page_size=4", 0
			for path != "" {
				body := page(t, ga, path, 200)
				if pages++; pages == 1 && !strings.Contains(body, "共 15 条") {
					t.Fatalf("the first page does not count the 15 tagged residents")
				}
				rows := rowRE.FindAllStringSubmatch(body, -1)
				if len(rows) > 4 {
					t.Fatalf("%d rows on a page of 4", len(rows))
				}
				for _, m := range rows {
					if seen[m[1]] {
						t.Fatalf("resident %s came twice", m[1])
					}
					seen[m[1]] = true
				}
				path = ""
				if m := nextRE.FindStringSubmatch(body); m != nil {
					path = html.UnescapeString(m[1])
				}
				// One sorting before every row, one after.
				added[resident("一一", true)] = true
				added[resident("龘龘", true)] = true
			}
			if pages < 4 {
				t.Fatalf("%d pages of 4 for 15 rows", pages)
			}
			for id := range tagged {
				if !seen[id] {
					t.Fatalf("tagged resident %s never came", id)
				}
			}
			for id := range seen {
				if !tagged[id] && !added[id] {
					t.Fatalf("%s is listed but was not tagged", id)
				}
			}
		})
		t.Run("the households show the first 20 and link to the list of them all", func(t *testing.T) {
			body := page(t, ga, "/registry/my-grid", 200)
			if n := strings.Count(body, `href="/registry/residents?household=`); n != 20 {
				t.Fatalf("%d households shown", n)
			}
			if !strings.Contains(body, `href="/registry/households" id="all-households"`) || strings.Contains(body, "HH-001") {
				t.Fatal("no link to every household, or a household outside the grid shown")
			}
		})
		t.Run("someone with no grid sees no list", func(t *testing.T) {
			body := page(t, w.wa, "/registry/my-grid", 200)
			if !strings.Contains(body, "还没有被分配网格") || rowRE.MatchString(body) {
				t.Fatal("a community worker's my-grid page lists residents")
			}
		})
	})
}
