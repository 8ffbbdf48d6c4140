package requests_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/dbtest"
	"linli/internal/fault"
	"linli/internal/requests"
)

func TestRequestNumbersUnderConcurrentSubmissions(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		s := store(e)
		ctx := access.With(context.Background(), &access.Principal{UserID: "w", Username: "w", Role: access.CommunityWorker, Division: communityA})
		const n = 60
		nums := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r, err := s.Create(ctx, requests.NewRequest{Category: "policy", Description: fmt.Sprintf("来电 %d", i), Channel: "hotline"})
				if err != nil {
					t.Error(err)
					return
				}
				nums[i] = r.Number
			})
		}
		wg.Wait()
		t.Run("numbers are unique and dense: 1..n for the county and day", func(t *testing.T) {
			want := make([]string, n)
			for i := range n {
				want[i] = fmt.Sprintf("MH-330106-20261129-%06d", i+1)
			}
			got := slices.Sorted(slices.Values(nums))
			if !slices.Equal(got, want) {
				t.Fatalf("numbers %v", got)
			}
		})
		t.Run("each submission has its event and its audit entry", func(t *testing.T) {
			if got := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'request.create'`); got != n {
				t.Fatalf("%d audit entries for %d submissions", got, n)
			}
			if got := e.Count(`SELECT COUNT(*) FROM request_events WHERE action = 'submit' AND note = '12345 热线代录 / entered from the 12345 hotline'`); got != n {
				t.Fatalf("%d submit events", got)
			}
		})
		t.Run("the next day starts again at 1", func(t *testing.T) {
			e.Clock.Add(24 * time.Hour)
			r, err := s.Create(ctx, requests.NewRequest{Category: "policy", Description: "次日来电", Channel: "walkin"})
			if err != nil || r.Number != "MH-330106-20261130-000001" || r.Channel != "walkin" {
				t.Fatalf("next day: %v %+v", err, r)
			}
		})
	})
}

// Closing the store (as the app does when it closes) answers every
// submission already queued, refuses the later ones, and stops its writer
// (the package's leak check fails the run otherwise).
func TestRequestStoreCloseAnswersQueuedSubmissions(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		s := store(e)
		ctx := access.With(context.Background(), &access.Principal{UserID: "w", Username: "w", Role: access.CommunityWorker, Division: communityA})
		submit := func(i int) error {
			_, err := s.Create(ctx, requests.NewRequest{Category: "policy", Description: fmt.Sprintf("来电 %d", i), Channel: "hotline"})
			return err
		}
		if err := submit(0); err != nil {
			t.Fatal(err)
		}
		const n = 40
		errs := make(chan error, n)
		for i := 1; i <= n; i++ {
			go func() { errs <- submit(i) }()
		}
		s.Close()
		written := 1
		for range n {
			switch err := <-errs; {
			case err == nil:
				written++
			case !errors.Is(err, requests.ErrClosed):
				t.Errorf("submission during close: %v", err)
			}
		}
		t.Run("every submission answered as written was written", func(t *testing.T) {
			if got := e.Count(`SELECT COUNT(*) FROM requests`); got != written {
				t.Fatalf("%d requests stored, %d answered as written", got, written)
			}
		})
		t.Run("a closed store refuses submissions as unavailable", func(t *testing.T) {
			err := submit(n + 1)
			if f, ok := fault.As(err); !ok || f.Code != fault.CodeUnavailable || !errors.Is(err, requests.ErrClosed) {
				t.Fatalf("after close: %v", err)
			}
		})
		t.Run("closing again is harmless", func(t *testing.T) { s.Close() })
	})
}

// BenchmarkRequestCreate measures one submission through the store (no
// HTTP): validation, numbering, the request, its event and its audit entry
// in one transaction. Compare: go test -bench RequestCreate -cpuprofile.
func BenchmarkRequestCreate(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			a := apptest.Open(b, dbtest.Open(b, dialect, nil), nil)
			s := requests.StoreOf(a.Module("requests"))
			ctx := access.With(context.Background(), &access.Principal{UserID: "u1", Username: "bench", Role: access.CommunityWorker, Division: communityA})
			b.SetParallelism(16) // many submitters, as behind HTTP
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Create(ctx, requests.NewRequest{Category: "sanitation", Description: "垃圾未清运", Channel: "hotline", Attributes: map[string]string{"spot": "street"}}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
