package visits_test

import (
	"context"
	"sync"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/visits"
)

func TestSchedule(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		t.Run("a month's schedule gives each target one visit owned by their grid worker", func(t *testing.T) {
			res := w.schedule(t, "2026-12")
			if res.Created != 4 {
				t.Fatalf("created %d visits, want 4 (two elders, a child, an assisted household): %+v", res.Created, res)
			}
			for subject, owner := range map[string]string{w.elder1: "gw.1", w.elder2: "cw.a", w.child: "gw.2", w.h2: "gw.2"} {
				vs := w.visitsOf(t, subject, "2026-12")
				if len(vs) != 1 || vs[0].Owner != owner || vs[0].Status != visits.StatusOpen || vs[0].Due != "2026-12-31" {
					t.Errorf("subject %s: %+v, want one open visit due 2026-12-31 owned by %s", subject, vs, owner)
				}
			}
			if vs := w.visitsOf(t, w.young, "2026-12"); len(vs) != 0 {
				t.Errorf("a 36-year-old with an elderly tag got visits: %+v", vs)
			}
		})
		t.Run("running it again creates nothing", func(t *testing.T) {
			if res := w.schedule(t, "2026-12"); res.Created != 0 || res.Cancelled != 0 {
				t.Fatalf("second run: %+v", res)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE month = '2026-12'`); n != 4 {
				t.Fatalf("%d visits after two runs", n)
			}
		})
		t.Run("two runners at once create each visit once", func(t *testing.T) {
			m, _ := visits.ParseMonth("2027-01")
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = w.vs.Schedule(context.Background(), m, "")
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE month = '2027-01'`); n != 4 {
				t.Fatalf("%d visits after two concurrent runs, want 4", n)
			}
		})
		t.Run("the benchmark times a month's schedule against a bare insert of the same rows and leaves nothing behind", func(t *testing.T) {
			m, _ := visits.ParseMonth("2030-06")
			b, err := w.vs.BenchSchedule(context.Background(), m, county)
			if err != nil {
				t.Fatal(err)
			}
			if b.Rows != 4 || b.Schedule <= 0 || b.Bare <= 0 {
				t.Fatalf("%+v", b)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE month = '2030-06'`); n != 0 {
				t.Fatalf("%d visits left behind", n)
			}
		})
		t.Run("a household that moves to another grid moves with its open visits", func(t *testing.T) {
			if _, err := w.reg.UpdateHousehold(w.cw, w.h1, registryHousehold("H1", w.g2)); err != nil {
				t.Fatal(err)
			}
			res := w.schedule(t, "2026-12")
			vs := w.visitsOf(t, w.elder1, "2026-12")
			if res.Moved == 0 || len(vs) != 1 || vs[0].Owner != "gw.2" || vs[0].Grid != w.g2 {
				t.Fatalf("after the move: %+v (%+v), want the visit in grid 2 owned by gw2", vs, res)
			}
		})
		e.Clock.Set(day("2026-12-10T09:00"))
		t.Run("a resident tagged mid-month gets one visit due within the month", func(t *testing.T) {
			newcomer := w.resident(t, w.h3, 1940, "left_behind_elderly", "2026-12-10")
			w.schedule(t, "2026-12")
			vs := w.visitsOf(t, newcomer, "2026-12")
			if len(vs) != 1 || vs[0].Due != "2026-12-31" || vs[0].Status != visits.StatusOpen {
				t.Fatalf("newcomer: %+v", vs)
			}
		})
		t.Run("a resident whose tag ends mid-month keeps a visit only if it was done", func(t *testing.T) {
			done := w.visitsOf(t, w.child, "2026-12")[0]
			if _, err := w.vs.Record(as("gw.2", access.GridWorker, communityA), done.ID, visits.RecordInput{Method: visits.MethodHome, VisitedAt: "2026-12-09T15:00",
				Outcome: visits.OutcomeDone, Answers: map[string][]string{"health": {"good"}, "guardian_present": {"yes"}}, SubmitKey: "k-child"}); err != nil {
				t.Fatal(err)
			}
			w.untag(t, w.child, "orphan")
			w.untag(t, w.elder2, "disabled_full")
			res := w.schedule(t, "2026-12")
			if res.Cancelled != 1 {
				t.Errorf("cancelled %d, want 1", res.Cancelled)
			}
			if vs := w.visitsOf(t, w.child, "2026-12"); len(vs) != 1 || vs[0].Status != visits.StatusDone {
				t.Errorf("the child's done visit: %+v", vs)
			}
			if vs := w.visitsOf(t, w.elder2, "2026-12"); len(vs) != 1 || vs[0].Status != visits.StatusCancelled {
				t.Errorf("the elder's open visit: %+v", vs)
			}
		})
	})
}
