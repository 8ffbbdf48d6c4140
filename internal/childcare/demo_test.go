package childcare_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/childcare"
	"linli/internal/module"
	"linli/internal/registry"
)

// The demo gives the first of every four communities a filed setting and
// puts the community's youngest children on its list, the first enrolled;
// a child of an age the setting does not take is left out, not an error.
func TestChildcareDemo(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("cw.a", access.CommunityWorker, communityA)
		e.User("cw.all", access.Officer, county)
		reg := registry.StoreOf(e.App.Module("registry"))
		family(t, reg, 1, "", time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC), "") // 14 months: toddler
		family(t, reg, 2, "", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), "") // 29 months: older
		family(t, reg, 3, "", time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), "") // 3 months: too young, not asked
		family(t, reg, 4, "", time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), "") // nearly four: not asked
		store := childcare.StoreOf(e.App.Module("childcare"))
		var progress []string
		err := childcare.Demo(t.Context(), store, module.DemoOptions{County: county, Progress: func(what string, done, total int) {
			progress = append(progress, fmt.Sprintf("%s %d/%d", what, done, total))
		}})
		if err != nil {
			t.Fatal(err)
		}
		cw := e.Login("cw.a")
		t.Run("community A has one institution with a valid filing", func(t *testing.T) {
			pg := apptest.JSON[childcare.Page](t, cw, "GET", "/api/v1/childcare/settings", nil, 200)
			if pg.Total != 1 || pg.Items[0].Kind != "institution" || !pg.Items[0].Filed || pg.Items[0].Division != communityA {
				t.Fatalf("settings %+v", pg.Items)
			}
			if len(progress) != 1 {
				t.Errorf("progress %v", progress)
			}
		})
		t.Run("the two children of ages it takes wait or are enrolled", func(t *testing.T) {
			all := apptest.JSON[childcare.AppPage](t, cw, "GET", "/api/v1/childcare/applications", nil, 200)
			states := map[string]int{}
			for _, a := range all.Items {
				states[a.Status]++
			}
			if all.Total != 2 || states[childcare.Enrolled] != 1 || states[childcare.Waiting] != 1 {
				t.Errorf("applications %v of %d", states, all.Total)
			}
		})
	})
}

// A county's settings page by (division, name, id): every setting once,
// however the pages fall, and a changed cursor is refused.
func TestChildcareListPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("cw.a", access.CommunityWorker, communityA)
		e.User("cw.b", access.CommunityWorker, communityB)
		e.User("off.county", access.Officer, county)
		e.User("off.town", access.Officer, communityA[:9])
		cwA, cwB, off := e.Login("cw.a"), e.Login("cw.b"), e.Login("off.county")
		want := map[string]bool{}
		for i := range 7 {
			c, div := cwA, communityA
			if i%2 == 1 {
				c, div = cwB, communityB
			}
			s := apptest.JSON[childcare.Setting](t, c, "POST", "/api/v1/childcare/settings", childcare.SettingInput{Division: div, Kind: "family", Name: fmt.Sprintf("家庭托育点 %d", i%3),
				Places: map[string]int{"older": 2}}, 201)
			want[s.ID] = true
		}
		t.Run("pages of three cover the seven settings once", func(t *testing.T) {
			seen, cursor, pages := map[string]bool{}, "", 0
			for {
				path := "/api/v1/childcare/settings?page_size=3"
				if cursor != "" {
					path += "&cursor=" + url.QueryEscape(cursor)
				}
				pg := apptest.JSON[childcare.Page](t, off, "GET", path, nil, 200)
				pages++
				for _, s := range pg.Items {
					if seen[s.ID] || !want[s.ID] {
						t.Errorf("setting %s twice or unknown", s.ID)
					}
					seen[s.ID] = true
				}
				if pg.Next == "" || pages > 5 {
					break
				}
				cursor = pg.Next
			}
			if len(seen) != 7 || pages != 3 {
				t.Errorf("%d settings in %d pages", len(seen), pages)
			}
		})
		t.Run("a township officer's coverage lists their township alone, counting unfiled settings but no filed ones", func(t *testing.T) {
			cov := apptest.JSON[[]childcare.Coverage](t, e.Login("off.town"), "GET", "/api/v1/childcare", nil, 200)
			if len(cov) != 1 || cov[0].Code != communityA[:9] || cov[0].Settings != 4 || cov[0].Filed != 0 || cov[0].Covered() {
				t.Errorf("coverage %+v", cov)
			}
		})
		t.Run("a cursor of another list is refused", func(t *testing.T) {
			if code, _ := off.Do("GET", "/api/v1/childcare/settings?cursor=v1:bogus", nil); code != 400 {
				t.Errorf("status %d", code)
			}
		})
	})
}
