package registry_test

import (
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/registry"
)

// tagCount reads the maintained count of tag at a division.
func tagCount(t *testing.T, c *apptest.Client, division, tag string) int64 {
	t.Helper()
	sum := apptest.JSON[registry.TagSummary](t, c, "GET", "/api/v1/tags/summary?division="+division, nil, 200)
	for _, tc := range sum.Totals {
		if tc.Tag == tag {
			return tc.Count
		}
	}
	t.Fatalf("no count of %s in %+v", tag, sum)
	return 0
}

func TestTags(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		e.User("officer", access.Officer, county)
		of := e.Login("officer")
		path := "/api/v1/residents/" + w.res + "/tags"
		var dibao registry.TagRef

		t.Run("a tag counts in the community and every division above it", func(t *testing.T) {
			dibao = apptest.JSON[registry.TagRef](t, w.wa, "POST", path, registry.TagInput{Tag: "dibao", Since: "2026-01-01", Until: "2026-12-31", Source: "民政局"}, 201)
			if !dibao.Active || dibao.Tag != "dibao" || dibao.Until != "2026-12-31" {
				t.Fatalf("tag %+v", dibao)
			}
			for _, d := range []string{communityA, "330106002", county} {
				if n := tagCount(t, of, d, "dibao"); n != 1 {
					t.Fatalf("count at %s: %d", d, n)
				}
			}
			r := apptest.JSON[registry.Resident](t, w.wa, "GET", "/api/v1/residents/"+w.res, nil, 200)
			if len(r.Tags) != 1 || r.Tags[0] != dibao {
				t.Fatalf("resident's tags %+v", r.Tags)
			}
		})
		t.Run("the same tag from the same date is refused", func(t *testing.T) {
			if p := refusal(t, w.wa, "POST", path, registry.TagInput{Tag: "dibao", Since: "2026-01-01"}, 409); p.Detail != "该居民已有同一开始日期的此标签" {
				t.Fatalf("detail %q", p.Detail)
			}
		})
		t.Run("an unknown tag and bad dates are named", func(t *testing.T) {
			wantFields(t, refusal(t, w.wa, "POST", path, registry.TagInput{Tag: "nope", Since: "2026-13-01", Until: "2020-01-01"}, 400), "tag", "since", "until")
			wantFields(t, refusal(t, w.wa, "POST", path, registry.TagInput{Tag: "dibao", Since: "2026-06-01", Until: "2026-05-01"}, 400), "until")
		})
		t.Run("a tag that has already ended is kept but not counted", func(t *testing.T) {
			old := apptest.JSON[registry.TagRef](t, w.wa, "POST", path, registry.TagInput{Tag: "tekun", Since: "2020-01-01", Until: "2021-01-01"}, 201)
			if old.Active || tagCount(t, of, communityA, "tekun") != 0 {
				t.Fatalf("ended tag %+v", old)
			}
		})
		t.Run("a tag ends by the app's clock and leaves the counts", func(t *testing.T) {
			// 09:00 on 1 January in China; the sessions ended meanwhile.
			e.Clock.Set(time.Date(2027, 1, 1, 1, 0, 0, 0, time.UTC))
			w.wa, w.wb, of = e.Login("worker.a"), e.Login("worker.b"), e.Login("officer")
			if n := tagCount(t, of, county, "dibao"); n != 0 {
				t.Fatalf("count after the end: %d", n)
			}
			r := apptest.JSON[registry.Resident](t, w.wa, "GET", "/api/v1/residents/"+w.res, nil, 200)
			for _, tg := range r.Tags {
				if tg.Active {
					t.Fatalf("tag still active: %+v", tg)
				}
			}
		})
		t.Run("moving a resident to another community moves the counts", func(t *testing.T) {
			apptest.JSON[registry.TagRef](t, w.wa, "POST", path, registry.TagInput{Tag: "living_alone"}, 201)
			hhB := apptest.JSON[idOnly](t, w.wb, "POST", "/api/v1/households", map[string]any{"division": communityB, "household_no": "B-1", "address": "石灰桥1号"}, 201)
			r := apptest.JSON[registry.Resident](t, of, "PUT", "/api/v1/residents/"+w.res, map[string]any{"household_id": hhB.ID, "name": "张晓梅", "relation": "户主", "residence": "registered"}, 200)
			if r.Division != communityB {
				t.Fatalf("moved to %s", r.Division)
			}
			if a, b, c := tagCount(t, of, communityA, "living_alone"), tagCount(t, of, communityB, "living_alone"), tagCount(t, of, county, "living_alone"); a != 0 || b != 1 || c != 1 {
				t.Fatalf("counts A %d, B %d, county %d", a, b, c)
			}
			refusal(t, w.wa, "GET", "/api/v1/residents/"+w.res, nil, 404)
			apptest.JSON[registry.Resident](t, w.wb, "GET", "/api/v1/residents/"+w.res, nil, 200)
		})
		t.Run("removing a tag or the resident takes it out of the counts", func(t *testing.T) {
			r := apptest.JSON[registry.Resident](t, w.wb, "GET", "/api/v1/residents/"+w.res, nil, 200)
			var alone string
			for _, tg := range r.Tags {
				if tg.Tag == "living_alone" {
					alone = tg.ID
				}
			}
			apptest.JSON[registry.TagRef](t, w.wb, "POST", path, registry.TagInput{Tag: "veteran"}, 201)
			if st, body := w.wb.Do("DELETE", path+"/"+alone, nil); st != 204 {
				t.Fatalf("remove: %d %s", st, body)
			}
			if p := refusal(t, w.wb, "DELETE", path+"/"+alone, nil, 404); p.Detail != "标签不存在" {
				t.Fatalf("detail %q", p.Detail)
			}
			if n := tagCount(t, of, county, "living_alone"); n != 0 {
				t.Fatalf("living_alone %d after removal", n)
			}
			if st, body := w.wb.Do("DELETE", "/api/v1/residents/"+w.res, nil); st != 204 {
				t.Fatalf("delete resident: %d %s", st, body)
			}
			if n := tagCount(t, of, county, "veteran"); n != 0 {
				t.Fatalf("veteran %d after the resident's deletion", n)
			}
		})
		t.Run("the summary refuses a bad code, an outside division and roles without counts", func(t *testing.T) {
			wantFields(t, refusal(t, of, "GET", "/api/v1/tags/summary?division=33x", nil, 400), "division")
			refusal(t, w.wa, "GET", "/api/v1/tags/summary?division="+communityB, nil, 404)
			e.User("prov", access.Provider, communityA)
			refusal(t, e.Login("prov"), "GET", "/api/v1/tags/summary?division="+communityA, nil, 403)
		})
		t.Run("a county summary lists its townships' counts", func(t *testing.T) {
			apptest.JSON[registry.TagRef](t, w.wa, "POST", "/api/v1/residents/"+apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/residents",
				map[string]any{"household_id": w.hh, "name": "李娜", "id_number": id2}, 201).ID+"/tags", registry.TagInput{Tag: "orphan"}, 201)
			sum := apptest.JSON[registry.TagSummary](t, of, "GET", "/api/v1/tags/summary?division="+county, nil, 200)
			var found bool
			for _, c := range sum.Children {
				if c.Division == "330106002" {
					found = c.Counts["orphan"] == 1 && c.Name != ""
				}
			}
			if !found {
				t.Fatalf("children %+v", sum.Children)
			}
		})
	})
}

func TestTagCatalogue(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		e.User("officer", access.Officer, "33") // the catalogue is the province's
		of := e.Login("officer")
		kind := registry.TagKind{Key: "hearing_aid", NameZH: "助听器发放对象"}

		t.Run("the built-in catalogue is listed in its order", func(t *testing.T) {
			ks := apptest.JSON[[]registry.TagKind](t, w.wa, "GET", "/api/v1/tags", nil, 200)
			if len(ks) != len(registry.DefaultTags) || ks[0].Key != registry.DefaultTags[0].Key || !ks[0].Builtin {
				t.Fatalf("catalogue %d, first %+v", len(ks), ks[0])
			}
		})
		t.Run("a worker may not add a tag; an officer may, once", func(t *testing.T) {
			refusal(t, w.wa, "POST", "/api/v1/tags", kind, 403)
			got := apptest.JSON[registry.TagKind](t, of, "POST", "/api/v1/tags", kind, 201)
			if got != (registry.TagKind{Key: "hearing_aid", NameZH: "助听器发放对象", NameEN: "助听器发放对象", Group: "other", Sort: 1000}) {
				t.Fatalf("added %+v", got)
			}
			refusal(t, of, "POST", "/api/v1/tags", kind, 409)
			apptest.JSON[registry.TagRef](t, w.wa, "POST", "/api/v1/residents/"+w.res+"/tags", registry.TagInput{Tag: "hearing_aid"}, 201)
		})
		t.Run("a bad key and a missing name are named", func(t *testing.T) {
			wantFields(t, refusal(t, of, "POST", "/api/v1/tags", registry.TagKind{Key: "9lives"}, 400), "key", "name_zh")
		})
	})
}
