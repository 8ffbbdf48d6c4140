package visits_test

import (
	"context"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/module"
)

// TestRunner: started on 29 November, the background job schedules
// November and, from the 20th, December, and stops with its context.
func TestRunner(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		newTown(t, e)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.App.Module("visits").(module.Runner).Run(ctx)
		}()
		deadline := time.Now().Add(60 * time.Second)
		// November's four targets and December's four (a run may be midway).
		for e.Count(`SELECT COUNT(*) FROM vis_visits WHERE month = '2026-11'`) < 4 || e.Count(`SELECT COUNT(*) FROM vis_visits WHERE month = '2026-12'`) < 4 {
			if time.Now().After(deadline) {
				cancel()
				t.Fatal("the runner did not schedule November and December")
			}
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the runner did not stop")
		}
		if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE month = '2026-12'`); n != 4 {
			t.Fatalf("%d December visits", n)
		}
	})
}
