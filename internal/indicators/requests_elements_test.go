package indicators_test

import (
	"context"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/indicators"
)

// request is the part of a 民呼我为 request these tests read.
type request struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Version int    `json:"version"`
}

// handle submits a request as a resident and has a worker take it from
// acceptance to an answer.
func handle(t *testing.T, resident, worker *apptest.Client, body map[string]any) request {
	t.Helper()
	r := apptest.JSON[request](t, resident, "POST", "/api/v1/requests", body, 201)
	r = apptest.JSON[request](t, worker, "POST", "/api/v1/requests/"+r.ID+"/accept", map[string]any{"version": r.Version}, 200)
	r = apptest.JSON[request](t, worker, "POST", "/api/v1/requests/"+r.ID+"/start", map[string]any{}, 200)
	return apptest.JSON[request](t, worker, "POST", "/api/v1/requests/"+r.ID+"/answer", map[string]any{"reply": "已处理"}, 200)
}

// 民呼我为 figures are data elements the requests module supplies: a
// county's own on-time indicator reads them when shown, also when the rest
// is precomputed.
func TestOwnIndicatorOnRequests(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("res1", access.Resident, apptest.CommunityA)
		e.User("workerA", access.CommunityWorker, apptest.CommunityA)
		e.User("countyOfficer", access.Officer, apptest.County)
		res, wa, co := e.Login("res1"), e.Login("workerA"), e.Login("countyOfficer")
		def := map[string]any{"id": "XH-ONTIME", "division_code": apptest.County, "name_zh": "民呼我为按期办结率", "unit": "%", "formula": "100 × requests_resolved_on_time ÷ requests_received"}
		value := func(t *testing.T) *float64 { return getRows(t, co, apptest.County, 2026)["XH-ONTIME"].Value }
		t.Run("an own indicator may name the requests module's elements", func(t *testing.T) {
			in := apptest.JSON[indRow](t, co, "POST", "/api/v1/indicator-definitions", def, 201)
			if in.Expression != "100 × Σ按期办结的诉求 ÷ Σ民呼我为诉求件数" {
				t.Errorf("formula %q", in.Expression)
			}
		})
		ctx := access.With(context.Background(), &access.Principal{Username: "check", Role: access.Officer, Division: "33"})
		if _, err := indicators.StoreOf(e.App.Module("indicators")).RecomputeAll(ctx, 2026); err != nil {
			t.Fatal(err)
		}
		t.Run("without requests it reads no data", func(t *testing.T) {
			if v := value(t); v != nil {
				t.Errorf("no requests yet: %v, want no data", *v)
			}
		})
		t.Run("it follows each request handled, though the year is precomputed", func(t *testing.T) {
			handle(t, res, wa, map[string]any{"category": "repair", "description": "路灯坏了", "attributes": map[string]string{"facility": "light"}})
			apptest.JSON[request](t, res, "POST", "/api/v1/requests", map[string]any{"category": "sanitation", "description": "河道垃圾", "attributes": map[string]string{"spot": "street"}}, 201)
			// Worked by hand: one of two requests resolved within its deadline.
			if v := value(t); !near(v, 50) {
				t.Errorf("XH-ONTIME = %v, want 50", ptr(v))
			}
			if n := e.Count(`SELECT COUNT(*) FROM ind_values WHERE indicator = 'XH-ONTIME'`); n != 0 {
				t.Errorf("a request-based indicator has %d precomputed cells", n)
			}
		})
	})
}
