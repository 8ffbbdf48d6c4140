package visits_test

import (
	"context"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/visits"
)

// TestReconcile: after the month's first run, which looks at every
// target, the quarter-hourly run looks only at what changed and comes to
// what a full run would.
func TestReconcile(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		dec, _ := visits.ParseMonth("2026-12")
		reconcile := func(t *testing.T) visits.ScheduleResult {
			t.Helper()
			res, err := w.vs.Reconcile(context.Background(), dec)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		// touched counts the month's visits changed at the clock's time.
		touched := func() int {
			return e.Count(`SELECT COUNT(*) FROM vis_visits WHERE month = '2026-12' AND updated_at >= $1`, db.T(e.Clock.Now()))
		}
		t.Run("the month's first run is a full one", func(t *testing.T) {
			res := reconcile(t)
			if !res.Full || res.Created != 4 {
				t.Fatalf("%+v, want a full run creating 4 visits", res)
			}
		})
		t.Run("a run with nothing changed looks at nobody and writes nothing", func(t *testing.T) {
			e.Clock.Set(day("2026-11-29T16:15"))
			res := reconcile(t)
			if res.Full || res.Rechecked != 0 || res.Created+res.Cancelled+res.Moved != 0 || res.Statements > 6 {
				t.Fatalf("idle run: %+v, want no full run, nobody rechecked, at most 6 statements", res)
			}
			if n := touched(); n != 0 {
				t.Fatalf("an idle run touched %d visits", n)
			}
		})
		e.Clock.Set(day("2026-12-10T09:00"))
		t.Run("a resident tagged mid-month gets a visit from the incremental run", func(t *testing.T) {
			newcomer := w.resident(t, w.h3, 1940, "left_behind_elderly", "2026-12-10")
			res := reconcile(t)
			if res.Full || res.Created != 1 || res.Rechecked > 3 {
				t.Fatalf("%+v, want one visit created by an incremental run looking at at most 3 subjects", res)
			}
			if vs := w.visitsOf(t, newcomer, "2026-12"); len(vs) != 1 || vs[0].Due != "2026-12-31" || vs[0].Owner != "cw.a" {
				t.Fatalf("newcomer: %+v", vs)
			}
		})
		t.Run("a resident whose tag ends mid-month loses the open visit", func(t *testing.T) {
			w.untag(t, w.elder2, "disabled_full")
			res := reconcile(t)
			if res.Full || res.Cancelled != 1 || res.Created != 0 {
				t.Fatalf("%+v, want one visit cancelled by an incremental run", res)
			}
			if vs := w.visitsOf(t, w.elder2, "2026-12"); len(vs) != 1 || vs[0].Status != visits.StatusCancelled {
				t.Fatalf("elder2: %+v", vs)
			}
		})
		t.Run("a household that moves to another grid takes its open visits along", func(t *testing.T) {
			if _, err := w.reg.UpdateHousehold(w.cw, w.h1, registryHousehold("H1", w.g2)); err != nil {
				t.Fatal(err)
			}
			res := reconcile(t)
			vs := w.visitsOf(t, w.elder1, "2026-12")
			if res.Full || res.Moved != 1 || len(vs) != 1 || vs[0].Owner != "gw.2" || vs[0].Grid != w.g2 {
				t.Fatalf("%+v %+v, want the visit moved to grid 2 and gw.2 by an incremental run", res, vs)
			}
		})
		t.Run("a worker whose account is disabled hands their open visits to the community's worker", func(t *testing.T) {
			admin := access.With(context.Background(), access.Operator())
			owned := `SELECT COUNT(*) FROM vis_visits WHERE owner = $1 AND status = 'open'`
			held := e.Count(owned, "gw.2")
			if err := e.App.Auth.SetDisabled(admin, "gw.2", true); err != nil {
				t.Fatal(err)
			}
			res := reconcile(t)
			vs := w.visitsOf(t, w.elder1, "2026-12")
			if res.Full || held < 2 || res.Moved != int64(held) || e.Count(owned, "gw.2") != 0 || len(vs) != 1 || vs[0].Owner != "cw.a" || vs[0].Grid != w.g2 {
				t.Fatalf("%+v %+v, want gw.2's %d open visits handed to cw.a (grid 2 has no worker in use) by an incremental run", res, vs, held)
			}
			if err := e.App.Auth.SetDisabled(admin, "gw.2", false); err != nil {
				t.Fatal(err)
			}
			if res := reconcile(t); res.Moved != 0 {
				t.Fatalf("%+v: a visit with a valid owner was moved when another worker came back", res)
			}
		})
		t.Run("an assisted family's member who moves out takes the family visit to the new household", func(t *testing.T) {
			w.move(t, w.poor, w.h3)
			res := reconcile(t)
			if res.Full || res.Created != 1 || res.Cancelled != 1 {
				t.Fatalf("%+v, want H3's visit created and H2's cancelled by an incremental run", res)
			}
			if vs := w.visitsOf(t, w.h3, "2026-12"); len(vs) != 1 || vs[0].Status != visits.StatusOpen {
				t.Fatalf("H3: %+v", vs)
			}
			if vs := w.visitsOf(t, w.h2, "2026-12"); len(vs) != 1 || vs[0].Status != visits.StatusCancelled {
				t.Fatalf("H2: %+v", vs)
			}
		})
		var starter, leaver string
		t.Run("tags that begin or end on a later day are picked up when that day comes", func(t *testing.T) {
			starter = w.resident(t, w.h1, 1945, "", "")
			w.tagUntil(t, starter, "empty_nest", "2026-12-20", "")
			leaver = w.resident(t, w.h1, 1944, "", "")
			w.tagUntil(t, leaver, "empty_nest", "", "2026-12-18")
			if res := reconcile(t); res.Full || res.Created != 1 {
				t.Fatalf("%+v, want only the leaver's visit (the starter's tag begins on the 20th)", res)
			}
			e.Clock.Set(day("2026-12-21T09:00"))
			res := reconcile(t)
			if res.Full || res.Created != 1 || res.Cancelled != 1 || res.Rechecked > 4 {
				t.Fatalf("%+v, want the starter's visit created and the leaver's cancelled by an incremental run", res)
			}
			if vs := w.visitsOf(t, starter, "2026-12"); len(vs) != 1 || vs[0].Status != visits.StatusOpen {
				t.Fatalf("starter: %+v", vs)
			}
			if vs := w.visitsOf(t, leaver, "2026-12"); len(vs) != 1 || vs[0].Status != visits.StatusCancelled {
				t.Fatalf("leaver: %+v", vs)
			}
		})
		t.Run("a high-risk finding brings the weekly visits still ahead", func(t *testing.T) {
			v := w.visitsOf(t, w.child, "2026-12")[0]
			if _, err := w.vs.Record(as("gw.2", access.GridWorker, communityA), v.ID, visits.RecordInput{Method: visits.MethodHome, VisitedAt: "2026-12-21T08:30",
				Outcome: visits.OutcomeDone, Risk: visits.RiskHigh, Answers: map[string][]string{"health": {"poor"}, "guardian_present": {"no"}}, SubmitKey: "k-risk"}); err != nil {
				t.Fatal(err)
			}
			res := reconcile(t)
			if res.Full || res.Created < 1 {
				t.Fatalf("%+v, want the weekly slot still ahead created by an incremental run", res)
			}
		})
		t.Run("a full run afterwards finds nothing left to do", func(t *testing.T) {
			res, err := w.vs.Schedule(context.Background(), dec, "")
			if err != nil {
				t.Fatal(err)
			}
			if !res.Full || res.Created+res.Cancelled+res.Moved != 0 {
				t.Fatalf("a full run after the incremental ones changed something: %+v", res)
			}
		})
		t.Run("a changed programme makes the next run a full one", func(t *testing.T) {
			if _, err := e.App.DB.W.Exec(`UPDATE vis_programmes SET updated_at = $1 WHERE code = 'children'`, db.T(e.Clock.Now())); err != nil {
				t.Fatal(err)
			}
			if res := reconcile(t); !res.Full {
				t.Fatalf("%+v, want a full run", res)
			}
		})
	})
}
