package memo_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"linli/internal/memo"
)

// A key is computed once for concurrent viewers; when only the TTL ran
// out, every viewer gets the previous value at once while it is computed
// again beside; after a write they wait for the new one.
func TestCacheRecompute(t *testing.T) {
	t.Parallel()
	const ttl = 30 * time.Second
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	var gen atomic.Uint64
	c := memo.New(ttl, func() time.Time { return now }, gen.Load, func(s []string) []string { return append([]string(nil), s...) })
	ctx := context.Background()
	var computed atomic.Int32
	get := func(fn func(context.Context) ([]string, error)) string {
		t.Helper()
		v, _, err := c.Get(ctx, "330106|2026-11", fn)
		if err != nil {
			t.Fatal(err)
		}
		return v[0]
	}
	counted := func(v string) func(context.Context) ([]string, error) {
		return func(context.Context) ([]string, error) { computed.Add(1); return []string{v}, nil }
	}
	t.Run("a second viewer within the TTL is served without a computation, with when it was computed", func(t *testing.T) {
		if a, b := get(counted("first")), get(counted("second")); a != "first" || b != "first" || computed.Load() != 1 {
			t.Fatalf("got %s, %s after %d computations", a, b, computed.Load())
		}
		if _, at, _ := c.Get(ctx, "330106|2026-11", counted("never")); !at.Equal(now) {
			t.Fatalf("computed at %v, want %v", at, now)
		}
	})
	t.Run("a caller changing its copy does not change what others get", func(t *testing.T) {
		v, _, _ := c.Get(ctx, "330106|2026-11", counted("never"))
		v[0] = "changed"
		if got := get(counted("never")); got != "first" {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("after the TTL the viewer who finds it so and those meanwhile get the previous value at once; the next the new", func(t *testing.T) {
		now = now.Add(ttl)
		started, release := make(chan struct{}), make(chan struct{})
		var ended atomic.Bool
		cctx, cancel := context.WithCancel(ctx)
		v, _, err := c.Get(cctx, "330106|2026-11", func(ctx context.Context) ([]string, error) {
			close(started)
			<-release
			ended.Store(ctx.Err() != nil)
			return []string{"renewed"}, nil
		})
		cancel() // the viewer has its page: the computation goes on
		if err != nil || v[0] != "first" {
			t.Fatalf("the viewer who found the value old got %v, %v", v, err)
		}
		<-started
		if meanwhile := get(counted("never")); meanwhile != "first" {
			t.Fatalf("a viewer during the computation got %s", meanwhile)
		}
		close(release)
		c.Wait()
		if ended.Load() {
			t.Fatal("the computation ended with the viewer's request")
		}
		if after := get(counted("never")); after != "renewed" || computed.Load() != 1 {
			t.Fatalf("then %s, %d computations", after, computed.Load())
		}
	})
	t.Run("a computation that fails leaves the previous value served, and the next viewer tries again", func(t *testing.T) {
		now = now.Add(ttl)
		if got := get(func(context.Context) ([]string, error) { return nil, context.DeadlineExceeded }); got != "renewed" {
			t.Fatalf("got %s", got)
		}
		c.Wait()
		if got := get(counted("again")); got != "renewed" {
			t.Fatalf("after the failure got %s", got)
		}
		c.Wait()
		if got := get(counted("never")); got != "again" || computed.Load() != 2 {
			t.Fatalf("then %s, %d computations", got, computed.Load())
		}
	})
	t.Run("after a write every viewer waits for the new value", func(t *testing.T) {
		gen.Add(1)
		started, release := make(chan struct{}), make(chan struct{})
		got := make(chan string)
		go func() {
			got <- get(func(context.Context) ([]string, error) { close(started); <-release; return []string{"written"}, nil })
		}()
		<-started
		waiting := make(chan string)
		go func() { waiting <- get(counted("never")) }()
		select {
		case v := <-waiting:
			t.Fatalf("a viewer after a write got %s without waiting", v)
		case <-time.After(50 * time.Millisecond):
		}
		close(release)
		if a, b := <-got, <-waiting; a != "written" || b != "written" || computed.Load() != 2 {
			t.Fatalf("got %s and %s, %d computations", a, b, computed.Load())
		}
	})
	t.Run("a first computation that fails is not kept", func(t *testing.T) {
		boom := errors.New("boom")
		if _, _, err := c.Get(ctx, "other", func(context.Context) ([]string, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Fatalf("got %v", err)
		}
		if v, _, err := c.Get(ctx, "other", counted("ok")); err != nil || v[0] != "ok" {
			t.Fatalf("then %v, %v", v, err)
		}
	})
}

// Without a TTL there is no cache: every Get computes.
func TestNoTTLComputesEveryTime(t *testing.T) {
	t.Parallel()
	c := memo.New[int](0, time.Now, func() uint64 { return 0 }, nil)
	n := 0
	for range 3 {
		if _, _, err := c.Get(context.Background(), "k", func(context.Context) (int, error) { n++; return n, nil }); err != nil {
			t.Fatal(err)
		}
	}
	c.Wait()
	if n != 3 {
		t.Fatalf("%d computations, want 3", n)
	}
}
