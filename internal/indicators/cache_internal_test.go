package indicators

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// The page cache computes a key once for concurrent viewers; when only
// the TTL ran out, every viewer gets the previous figures at once while
// they are recomputed beside; after a write they wait for the new ones.
func TestPageCacheRecompute(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	var gen atomic.Uint64
	c := newPageCache(PageTTL, func() time.Time { return now }, gen.Load)
	ctx := context.Background()
	page := func(id string) pageData { return pageData{Rows: []Row{{Indicator: Indicator{ID: id}}}} }
	var computed atomic.Int32
	get := func(fn func(context.Context) (pageData, error)) string {
		d, err := c.get(ctx, "330106|2026", fn)
		if err != nil {
			t.Fatal(err)
		}
		return d.Rows[0].ID
	}
	counted := func(id string) func(context.Context) (pageData, error) {
		return func(context.Context) (pageData, error) { computed.Add(1); return page(id), nil }
	}
	t.Run("a second viewer within the TTL is served without a computation", func(t *testing.T) {
		if a, b := get(counted("first")), get(counted("second")); a != "first" || b != "first" || computed.Load() != 1 {
			t.Fatalf("got %s, %s after %d computations", a, b, computed.Load())
		}
	})
	t.Run("after the TTL the viewer who finds it so and those meanwhile get the previous figures at once; the next the new", func(t *testing.T) {
		now = now.Add(PageTTL)
		started, release := make(chan struct{}), make(chan struct{})
		var ended atomic.Bool
		cctx, cancel := context.WithCancel(ctx)
		d, err := c.get(cctx, "330106|2026", func(ctx context.Context) (pageData, error) {
			close(started)
			<-release
			ended.Store(ctx.Err() != nil)
			return page("renewed"), nil
		})
		cancel() // the viewer has its page: the recomputation goes on
		if err != nil || d.Rows[0].ID != "first" {
			t.Fatalf("the viewer who found the figures old got %+v, %v", d, err)
		}
		<-started
		if meanwhile := get(counted("never")); meanwhile != "first" {
			t.Fatalf("a viewer during the recomputation got %s", meanwhile)
		}
		close(release)
		c.wait()
		if ended.Load() {
			t.Fatal("the recomputation ended with the viewer's request")
		}
		if after := get(counted("never")); after != "renewed" || computed.Load() != 1 {
			t.Fatalf("then %s, %d computations", after, computed.Load())
		}
	})
	t.Run("a recomputation that fails leaves the previous figures served, and the next viewer tries again", func(t *testing.T) {
		now = now.Add(PageTTL)
		if got := get(func(context.Context) (pageData, error) { return pageData{}, context.DeadlineExceeded }); got != "renewed" {
			t.Fatalf("got %s", got)
		}
		c.wait()
		if got := get(counted("again")); got != "renewed" {
			t.Fatalf("after the failure got %s", got)
		}
		c.wait()
		if got := get(counted("never")); got != "again" || computed.Load() != 2 {
			t.Fatalf("then %s, %d computations", got, computed.Load())
		}
	})
	t.Run("after a write every viewer waits for the new figures", func(t *testing.T) {
		gen.Add(1)
		started, release := make(chan struct{}), make(chan struct{})
		got := make(chan string)
		go func() {
			got <- get(func(context.Context) (pageData, error) { close(started); <-release; return page("written"), nil })
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
}
