package registry_test

import (
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
)

// TestScopedListsPageByCursor reads facilities, organisations, personnel
// and grids two at a time through the API and the pages.
func TestScopedListsPageByCursor(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		seedResources(t, e)
		e.User("officer.lists", access.Officer, county)
		c := e.Login("officer.lists")
		type page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			Total  int    `json:"total"`
			Capped bool   `json:"total_capped"`
			Next   string `json:"next"`
		}
		get := func(t *testing.T, path string) page {
			t.Helper()
			st, body := c.Do("GET", path, nil)
			var p page
			if st != 200 || json.Unmarshal([]byte(body), &p) != nil {
				t.Fatalf("%s: %d %s", path, st, body)
			}
			return p
		}
		for _, list := range []string{"facilities", "organizations", "personnel", "grids"} {
			t.Run("the API's "+list+" come two a page, the second by the first's next", func(t *testing.T) {
				p1 := get(t, "/api/v1/"+list+"?page_size=2")
				if len(p1.Items) != 2 || p1.Total != 3 || p1.Capped || p1.Next == "" {
					t.Fatalf("first page %+v", p1)
				}
				p2 := get(t, "/api/v1/"+list+"?page_size=2&cursor="+url.QueryEscape(p1.Next))
				if len(p2.Items) != 1 || p2.Total != 3 || p2.Next != "" || p2.Items[0].ID == p1.Items[0].ID || p2.Items[0].ID == p1.Items[1].ID {
					t.Fatalf("second page %+v after %+v", p2, p1)
				}
			})
			t.Run("the API refuses a page number past 1 for "+list+", naming page", func(t *testing.T) {
				st, body := c.Do("GET", "/api/v1/"+list+"?page=2", nil)
				if st != 400 || !strings.Contains(body, `"page"`) || !strings.Contains(body, "cursor") {
					t.Fatalf("%d %s", st, body)
				}
			})
		}
		next := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
		for _, list := range []string{"facilities", "organizations", "personnel", "grids"} {
			t.Run("the "+list+" page links its next page and that one its first, without script", func(t *testing.T) {
				st, body, _ := c.Get("/registry/" + list + "?page_size=2")
				m := next.FindStringSubmatch(body)
				if st != 200 || m == nil || !strings.Contains(m[1], "cursor=") || !strings.Contains(body, "共 3 条") {
					t.Fatalf("%d %v %.300s", st, m, body)
				}
				st, body, _ = c.Get(html.UnescapeString(m[1]))
				if st != 200 || next.MatchString(body) || !strings.Contains(body, `rel="first"`) {
					t.Fatalf("second page %d %.300s", st, body)
				}
			})
		}
	})
}
