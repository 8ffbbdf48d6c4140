package indicators_test

import (
	"context"
	"reflect"
	"testing"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/indicators"
)

// Two apps in one process share nothing: each has its own element
// catalogue, its own life-circle and request figures, and its own
// precomputed values. App a holds the demo county with its life circles
// and requests; app b, running at the same time over another store, holds
// two requests of its own and no life circles.
func TestTwoAppsShareNothing(t *testing.T) {
	t.Parallel()
	second := db.SQLite
	if ds := dbtest.Dialects(); len(ds) > 1 {
		second = ds[1] // PostgreSQL when configured: two stores of two kinds
	}
	a := apptest.New(t, dbtest.Open(t, db.SQLite, nil))
	b := apptest.New(t, dbtest.Open(t, second, nil))
	if _, err := a.App.SeedDemo(t.Context(), app.DemoOptions{Scale: "community", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	own := map[string]any{"id": "XH-ONTIME", "division_code": apptest.County, "name_zh": "民呼我为按期办结率", "unit": "%", "formula": "100 × requests_resolved_on_time ÷ requests_received"}
	officers := map[*apptest.Env]*apptest.Client{}
	for _, e := range []*apptest.Env{a, b} {
		e.User("county", access.Officer, apptest.County)
		officers[e] = e.Login("county")
		apptest.JSON[indRow](t, officers[e], "POST", "/api/v1/indicator-definitions", own, 201)
	}
	// b's only requests: two, one resolved in time.
	b.User("res1", access.Resident, apptest.CommunityA)
	b.User("workerA", access.CommunityWorker, apptest.CommunityA)
	res, wb := b.Login("res1"), b.Login("workerA")
	before := getRows(t, officers[a], apptest.County, indYear)["XH-ONTIME"].Value
	if before == nil {
		t.Fatal("a's demo requests give no XH-ONTIME")
	}
	handle(t, res, wb, map[string]any{"category": "repair", "description": "路灯坏了", "attributes": map[string]string{"facility": "light"}})
	apptest.JSON[request](t, res, "POST", "/api/v1/requests", map[string]any{"category": "sanitation", "description": "河道垃圾", "attributes": map[string]string{"spot": "street"}}, 201)

	check := func(t *testing.T) {
		got, other := getRows(t, officers[a], apptest.County, indYear), getRows(t, officers[b], apptest.County, indYear)
		if v := got["C20"].Value; v == nil || *v <= 0 || *v > 100 {
			t.Errorf("a's C20 = %v, want its life circles' completeness", ptr(v))
		}
		for _, id := range []string{"C20", "C21"} {
			if v := other[id].Value; v != nil {
				t.Errorf("b's %s = %v, want no data: b has no life-circle analysis", id, *v)
			}
		}
		if v := got["XH-ONTIME"].Value; !near(v, *before) {
			t.Errorf("a's XH-ONTIME = %v, want %v as before b's requests", ptr(v), *before)
		}
		if v := other["XH-ONTIME"].Value; !near(v, 50) {
			t.Errorf("b's XH-ONTIME = %v, want 50: one of its two requests resolved in time", ptr(v))
		}
	}
	t.Run("live values stay apart", check)
	t.Run("precomputed values stay apart", func(t *testing.T) {
		ctx := access.With(context.Background(), &access.Principal{Username: "check", Role: access.Officer, Division: "33"})
		for _, e := range []*apptest.Env{b, a} {
			if _, err := indicators.StoreOf(e.App.Module("indicators")).RecomputeAll(ctx, indYear); err != nil {
				t.Fatal(err)
			}
		}
		check(t)
	})
	t.Run("each app's catalogue is its own", func(t *testing.T) {
		sa, sb := indicators.StoreOf(a.App.Module("indicators")), indicators.StoreOf(b.App.Module("indicators"))
		if sa == sb || reflect.ValueOf(sa.Elements).UnsafePointer() == reflect.ValueOf(sb.Elements).UnsafePointer() {
			t.Fatal("the two apps share a store or a catalogue")
		}
		for _, key := range []string{"urban_units_in_15min", "requests_received"} {
			if _, ok := sa.Elements[key]; !ok {
				t.Errorf("a lacks %s", key)
			}
			if _, ok := sb.Elements[key]; !ok {
				t.Errorf("b lacks %s", key)
			}
		}
	})
}
