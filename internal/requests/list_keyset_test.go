package requests_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
)

// keysetList is a page of the inbox as the API answers.
type keysetList struct {
	Items       []request `json:"items"`
	Total       int       `json:"total"`
	TotalCapped bool      `json:"total_capped"`
	Next        string    `json:"next"`
}

func TestInboxPagesByKey(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		wa := e.Login("workerA")
		var made []string
		file := func(n int) {
			for range n {
				e.Clock.Add(time.Minute)
				r := submit(t, wa, map[string]any{"category": "repair", "description": fmt.Sprintf("路灯不亮 %d", len(made)), "division_code": communityA, "attributes": map[string]any{"facility": "light"}})
				made = append(made, r.ID)
			}
		}
		file(7)
		// walk reads every page of a list, filing a request between page
		// reads when between is set, and returns the ids in page order.
		walk := func(t *testing.T, query string, between bool) []string {
			t.Helper()
			var ids []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatal("the pages do not end")
				}
				l := apptest.JSON[keysetList](t, wa, "GET", "/api/v1/requests?page_size=3"+query+"&cursor="+url.QueryEscape(cursor), nil, 200)
				if len(l.Items) > 3 || l.TotalCapped {
					t.Fatalf("page of %d items, capped %v", len(l.Items), l.TotalCapped)
				}
				for _, x := range l.Items {
					ids = append(ids, x.ID)
				}
				if l.Next == "" {
					return ids
				}
				cursor = l.Next
				if between {
					file(1)
				}
			}
		}
		t.Run("newest first, every request comes once across pages while others are filed between the reads", func(t *testing.T) {
			before := slices.Clone(made)
			ids := walk(t, "", true)
			for _, id := range before {
				if n := strings.Count(strings.Join(ids, ","), id); n != 1 {
					t.Fatalf("request %s came %d times in %v", id, n, ids)
				}
			}
			if !slices.Equal(ids[:3], []string{before[6], before[5], before[4]}) {
				t.Fatalf("the first page is not the newest three: %v", ids[:3])
			}
		})
		t.Run("oldest first the pages read in filing order; by due date every request comes once", func(t *testing.T) {
			ids := walk(t, "&sort=created", false)
			if !slices.Equal(ids, made) {
				t.Fatalf("oldest first: %v, want %v", ids, made)
			}
			due := walk(t, "&sort=due", false)
			slices.Sort(due)
			all := slices.Clone(made)
			slices.Sort(all)
			if !slices.Equal(due, all) {
				t.Fatalf("by due date: %d of %d", len(due), len(all))
			}
		})
		t.Run("a page number, a changed cursor and another order's cursor are refused naming the field", func(t *testing.T) {
			l := apptest.JSON[keysetList](t, wa, "GET", "/api/v1/requests?page_size=3", nil, 200)
			for query, field := range map[string]string{
				"page=2": "page",
				"cursor=" + url.QueryEscape(l.Next[:len(l.Next)-2]+"xx"): "cursor",
				"sort=due&cursor=" + url.QueryEscape(l.Next):             "cursor",
			} {
				p := apptest.JSON[problem](t, wa, "GET", "/api/v1/requests?page_size=3&"+query, nil, 400)
				if !slices.Contains(p.fields(), field) {
					t.Errorf("%s: fields %v, want %s", query, p.fields(), field)
				}
			}
			if st, page, _ := wa.Get("/requests?page=2"); st != 400 || !strings.Contains(page, "page") {
				t.Errorf("the inbox page took a page number: %d", st)
			}
		})
		t.Run("the inbox page links the next page and the first, keeping the filter", func(t *testing.T) {
			_, page, _ := wa.Get("/requests?page_size=3&box=open")
			if !strings.Contains(page, "cursor=") || !strings.Contains(page, "box=open") {
				t.Fatal("no link to the next page keeping the filter")
			}
		})
	})
}
