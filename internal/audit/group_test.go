package audit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/dbtest"
)

// Entries recorded while another is being written go together in the
// next transaction: each is still its own entry of the chain, with its
// own actor, and every Record returns only once its entry is committed.
func TestRecordsMeanwhileShareOneTransaction(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, audit.Migrations, func(t *testing.T, d *db.DB) {
		// Every reading of the clock a second later: entries written
		// together share the one reading of their transaction.
		var ticks atomic.Int64
		start := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
		l := audit.New(d, func() time.Time { return start.Add(time.Duration(ticks.Add(1)) * time.Second) })
		ctx := context.Background()

		// Hold the chain (SQLite: the one writer; PostgreSQL: the
		// appenders' lock) so that the first Record waits in its
		// transaction while the others arrive.
		hold, err := d.W.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Dialect == db.Postgres {
			if _, err := hold.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7384190)`); err != nil {
				t.Fatal(err)
			}
		}
		const n = 6
		errs := make([]error, n)
		var wg sync.WaitGroup
		record := func(i int) {
			defer wg.Done()
			p := &access.Principal{UserID: fmt.Sprint("u-", i), Username: fmt.Sprint("worker", i), Role: access.GridWorker, Division: "330106002051"}
			errs[i] = l.Record(access.With(ctx, p), audit.Entry{Action: "visits.sheet.print", Object: "user", ObjectID: fmt.Sprint("worker", i)})
		}
		// One is writing once the others queue behind it.
		wg.Add(n)
		for i := range n {
			go record(i)
		}
		for deadline := time.Now().Add(10 * time.Second); l.Queued() < n-1; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				hold.Rollback()
				wg.Wait()
				t.Fatalf("%d entries queued, want %d", l.Queued(), n-1)
			}
		}
		if err := hold.Rollback(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
		}
		es := all(t, l)
		t.Run("every entry is in the chain once, with its own actor", func(t *testing.T) {
			seen := map[string]bool{}
			for _, e := range es {
				if e.Actor != e.ObjectID || seen[e.Actor] {
					t.Errorf("entry %d: actor %q of %q", e.Seq, e.Actor, e.ObjectID)
				}
				seen[e.Actor] = true
			}
			if len(seen) != n {
				t.Errorf("%d entries, want %d", len(seen), n)
			}
			if v, err := l.Verify(ctx); err != nil || v != n {
				t.Errorf("verified %d: %v", v, err)
			}
		})
		t.Run("the first went alone, the ones that waited together after it", func(t *testing.T) {
			groups := map[time.Time]int{}
			for _, e := range es {
				groups[e.At]++
			}
			first, second := es[len(es)-1], es[0] // newest first
			if len(groups) != 2 || groups[first.At] != 1 || groups[second.At] != n-1 {
				t.Errorf("entries by their transaction's time: %v", groups)
			}
		})
	})
}
