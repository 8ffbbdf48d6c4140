package app_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
)

// Settled waits for the modules' start-up passes (the visits reconcile and
// overdue clock, the indicators precompute, the requests backlog and SLA
// job) and names each with its time; before Start it waits only until
// its context ends.
func TestSettledWaitsForStartupPasses(t *testing.T) {
	t.Parallel()
	a := apptest.Open(t, dbtest.Open(t, db.SQLite, nil), nil)
	t.Run("before Start it waits until the context ends", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, err := a.Settled(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want the context's deadline", err)
		}
	})
	t.Run("after Start every module with start-up work reports its pass", func(t *testing.T) {
		jobs, stop := context.WithCancel(t.Context())
		defer func() { stop(); a.Wait() }()
		a.Start(jobs)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		passes, err := a.Settled(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range passes {
			names = append(names, p.Module)
			if p.Took <= 0 || p.Took > time.Minute {
				t.Errorf("%s took %s", p.Module, p.Took)
			}
		}
		for _, want := range []string{"indicators", "requests", "visits"} {
			if !slices.Contains(names, want) {
				t.Errorf("passes %v lack %s", names, want)
			}
		}
	})
}
