package app_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
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
	readyz := func(t *testing.T) string {
		t.Helper()
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		b, _ := io.ReadAll(rec.Result().Body)
		if rec.Code != 200 || !strings.HasPrefix(string(b), "ready\n") {
			t.Fatalf("%d %q", rec.Code, b)
		}
		return string(b)
	}
	t.Run("before Start /readyz is ready but names the passes still to run", func(t *testing.T) {
		if got := readyz(t); !strings.Contains(got, "settling: ") || !strings.Contains(got, "visits") {
			t.Fatalf("%q", got)
		}
	})
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
		if got := readyz(t); got != "ready\nsettled\n" {
			t.Fatalf("after the passes /readyz says %q", got)
		}
	})
}
