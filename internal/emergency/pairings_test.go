package emergency_test

import (
	"html"
	"regexp"
	"strings"
	"testing"

	"linli/internal/apptest"
)

// The preparedness list: every vulnerable resident a warning would
// target, with the helper paired beforehand, gaps and overdue reviews.
func TestPairingsPageListsVulnerableResidentsAndPairsHelpers(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		cw := e.Login("cw.a")
		rows := func(page string) []string {
			var ids []string
			for _, m := range regexp.MustCompile(`<tr data-resident="([0-9a-f]+)">`).FindAllStringSubmatch(page, -1) {
				ids = append(ids, m[1])
			}
			return ids
		}
		get := func(t *testing.T, c *apptest.Client, path string) string {
			t.Helper()
			st, body, _ := c.Get(path)
			if st != 200 {
				t.Fatalf("%s: %d\n%s", path, st, body)
			}
			return body
		}

		t.Run("the community worker sees the vulnerable residents, masked, with their reasons and helpers", func(t *testing.T) {
			page := get(t, cw, "/emergency/helpers")
			for _, want := range []string{`id="n-all">2<`, `id="n-unpaired">1<`, `id="n-due">0<`, "张**", "80 岁以上", "独居", "nb.1（邻居）", "李**", "失能", "未结对"} {
				if !strings.Contains(page, want) {
					t.Fatalf("the list lacks %q:\n%s", want, page)
				}
			}
			if got := rows(page); len(got) != 2 || strings.Contains(page, "王**") || strings.Contains(page, "赵**") || strings.Contains(page, "居民甲") {
				t.Fatalf("rows %v (an expired tag, a young resident or a full name is listed):\n%s", got, page)
			}
		})
		t.Run("the unpaired tab lists only the resident without a helper", func(t *testing.T) {
			if got := rows(get(t, cw, "/emergency/helpers?show=unpaired")); len(got) != 1 || got[0] != w.bed {
				t.Fatalf("%v, want [%s]", got, w.bed)
			}
		})
		t.Run("a township officer chooses a community first and cannot open one outside the township", func(t *testing.T) {
			officer := e.Login("officer.town")
			page := get(t, officer, "/emergency/helpers")
			if !strings.Contains(page, `href="/emergency/helpers?division=`+communityA+`"`) || rows(page) != nil {
				t.Fatalf("%s", page)
			}
			if got := rows(get(t, officer, "/emergency/helpers?division="+communityA)); len(got) != 2 {
				t.Fatalf("%v", got)
			}
			if st, body, _ := officer.Get("/emergency/helpers?division=" + communityB); st != 400 || !strings.Contains(body, "辖区") {
				t.Fatalf("%d %s", st, body)
			}
		})
		t.Run("a resident cannot open the list", func(t *testing.T) {
			if st, _, _ := e.Login("res.a").Get("/emergency/helpers"); st != 403 {
				t.Fatalf("%d", st)
			}
		})
		t.Run("the pairing form offers the township's workers and the community's residents as a picker, not another township's", func(t *testing.T) {
			page := get(t, cw, "/emergency/helpers/"+w.bed)
			for _, want := range []string{`value="gw.1"`, `value="gw.2"`, `value="nb.1"`, `value="cw.a"`, `value="res.a"`, `value="officer.town"`} {
				if !strings.Contains(page, want) {
					t.Fatalf("the picker lacks %s:\n%s", want, page)
				}
			}
			if strings.Contains(page, `value="cw.b"`) || strings.Contains(page, `value="res.b"`) {
				t.Fatalf("the picker offers community B's accounts:\n%s", page)
			}
		})
		t.Run("a pairing without a helper or with an overlong plan is refused, naming the field, and nothing is written", func(t *testing.T) {
			before := e.Count(`SELECT COUNT(*) FROM em_helpers`)
			st, body, _ := cw.Form("/emergency/helpers/"+w.bed, map[string]string{"kind": "grid_worker"}, sameOrigin)
			if st != 400 || !strings.Contains(body, `href="#f-helper"`) {
				t.Fatalf("%d %s", st, body)
			}
			st, body, _ = cw.Form("/emergency/helpers/"+w.bed, map[string]string{"helper": "gw.2", "kind": "grid_worker", "note": strings.Repeat("备", 501)}, sameOrigin)
			if st != 400 || !strings.Contains(body, `href="#f-note"`) {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM em_helpers`); n != before {
				t.Fatalf("%d pairings, was %d", n, before)
			}
		})
		t.Run("pairing a grid worker closes the gap", func(t *testing.T) {
			st, _, hdr := cw.Form("/emergency/helpers/"+w.bed, map[string]string{"helper": "gw.2", "kind": "grid_worker", "note": "转移到社区避难场所，需轮椅"}, sameOrigin)
			if st != 303 || hdr.Get("Location") != "/emergency/helpers?division="+communityA+"&paired=1" {
				t.Fatalf("%d %s", st, hdr.Get("Location"))
			}
			page := get(t, cw, hdr.Get("Location"))
			if !strings.Contains(page, `id="paired"`) || !strings.Contains(page, `id="n-unpaired">0<`) || !strings.Contains(page, "gw.2（网格员）") {
				t.Fatalf("%s", page)
			}
		})
		t.Run("a year later both pairings are due for review; confirming one clears it", func(t *testing.T) {
			e.Clock.Set(e.Clock.Now().AddDate(1, 0, 14))
			cw = e.Login("cw.a") // the session ended long ago
			if got := rows(get(t, cw, "/emergency/helpers?show=due")); len(got) != 2 {
				t.Fatalf("due %v", got)
			}
			if st, _, _ := cw.Form("/emergency/helpers/"+w.elder, map[string]string{"helper": "nb.1", "kind": "neighbour"}, sameOrigin); st != 303 {
				t.Fatalf("%d", st)
			}
			if got := rows(get(t, cw, "/emergency/helpers?show=due")); len(got) != 1 || got[0] != w.bed {
				t.Fatalf("due %v, want [%s]", got, w.bed)
			}
		})
		t.Run("a long list pages by position: every resident once, and a forged cursor is refused", func(t *testing.T) {
			for i := 0; i < 30; i++ {
				w.resident(t, w.cw, w.h4, 1938, "孙", "")
			}
			first := get(t, cw, "/emergency/helpers")
			next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(first)
			if next == nil || len(rows(first)) != 30 {
				t.Fatalf("%d rows, next %v", len(rows(first)), next)
			}
			second := get(t, cw, html.UnescapeString(next[1]))
			seen := map[string]bool{}
			for _, id := range append(rows(first), rows(second)...) {
				if seen[id] {
					t.Fatalf("%s twice", id)
				}
				seen[id] = true
			}
			if len(seen) != 32 || strings.Contains(second, `rel="next"`) {
				t.Fatalf("%d residents over two pages", len(seen))
			}
			if st, _, _ := cw.Get("/emergency/helpers?cursor=forged"); st != 400 {
				t.Fatalf("%d", st)
			}
		})
	})
}
