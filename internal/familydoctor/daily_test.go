package familydoctor_test

import (
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/familydoctor"
	"linli/internal/module"
	"linli/internal/registry"
)

// The day's counts the indicators read agree with a count from the
// records, per community and rolled up to the township and the county.
func TestDailyCountsAgreeWithTheRecords(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		reg := registry.StoreOf(e.App.Module("registry"))
		y := &toy{t: t, reg: reg}
		y.person(communityA, "1950-01-01", "", "")
		y.person(communityA, "2024-01-01", "", "")
		y.person(communityA, "1980-01-01", "tekun", "")
		y.person(communityA, "1980-02-02", "", "")
		y.person(communityB, "1930-01-01", "", "")
		store := familydoctor.StoreOf(e.App.Module("familydoctor"))
		ctx := access.With(t.Context(), &access.Principal{Username: "off", Role: access.Officer, Division: county})
		if err := store.Refresh(ctx, ""); err != nil {
			t.Fatal(err)
		}
		sc := access.Subtree(county)
		for _, prefix := range []int{6, 9, 12} {
			g := module.Group{Lo: sc.Lo, Hi: sc.Hi, Prefix: prefix, Year: 2026}
			daily, ok, err := familydoctor.DailyCount(ctx, e.App.DB.R, g, "2026-11-29", false)
			if err != nil || !ok {
				t.Fatalf("daily: %v %v", ok, err)
			}
			live, err := familydoctor.KeyGroupCount(ctx, e.App.DB.R, g, "2026-11-29", false)
			if err != nil {
				t.Fatal(err)
			}
			if len(daily) != len(live) {
				t.Errorf("prefix %d: daily %v, live %v", prefix, daily, live)
			}
			for k, v := range live {
				if daily[k] != v {
					t.Errorf("prefix %d, %s: daily %v, live %v", prefix, k, daily[k], v)
				}
			}
		}
		if got, _, _ := familydoctor.DailyCount(ctx, e.App.DB.R, module.Group{Lo: sc.Lo, Hi: sc.Hi, Prefix: 12}, "2026-11-29", false); got[communityA] != 3 || got[communityB] != 1 {
			t.Errorf("per community %v, want A 3 and B 1", got)
		}
		if _, ok, err := familydoctor.DailyCount(ctx, e.App.DB.R, module.Group{Lo: sc.Lo, Hi: sc.Hi, Prefix: 6}, "2026-11-28", false); ok || err != nil {
			t.Errorf("a day without counts answers ok %v, %v", ok, err)
		}
	})
}
