package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/dbtest"
)

func newLog(d *db.DB) (*audit.Log, *dbtest.Clock) {
	ck := dbtest.NewClock(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC))
	return audit.New(d, ck.Now), ck
}

var officer = &access.Principal{UserID: "u-1", Username: "county", Role: access.Officer, Division: "330106"}

// asOfficer is a request context of the county officer from one address.
func asOfficer() context.Context {
	return audit.WithIP(access.With(context.Background(), officer), "203.0.113.9")
}

func all(t *testing.T, l *audit.Log) []audit.Entry {
	t.Helper()
	pg, err := l.Search(context.Background(), audit.Filter{}, 1000)
	es, total := pg.Entries, pg.Total
	if err != nil {
		t.Fatal(err)
	}
	if total != len(es) {
		t.Fatalf("total %d, listed %d", total, len(es))
	}
	return es
}

func TestChain(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, audit.Migrations, func(t *testing.T, d *db.DB) {
		l, ck := newLog(d)
		ctx := asOfficer()
		for i, e := range []audit.Entry{
			{Action: "unit.attributes.set", Object: "division", ObjectID: "330106002051", Division: "330106002051", Detail: audit.Detail(map[string]int{"population": 5000})},
			{Action: "login", Result: audit.Failed, Actor: "nobody", Object: "user", ObjectID: "nobody"},
			{Action: "export", Object: "report"},
		} {
			if err := l.Record(ctx, e); err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
			ck.Add(time.Minute)
		}
		es := all(t, l)
		t.Run("entries are listed newest first, filled from the request", func(t *testing.T) {
			first := es[2]
			want := audit.Entry{Seq: 1, At: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC), ActorID: "u-1", Actor: "county", Role: "officer", IP: "203.0.113.9",
				Action: "unit.attributes.set", Object: "division", ObjectID: "330106002051", Division: "330106002051", Result: audit.OK,
				Detail: `{"population":5000}`, PrevHash: "", Hash: first.Hash}
			if !first.At.Equal(want.At) {
				t.Errorf("at %v, want %v", first.At, want.At)
			}
			first.At = want.At
			if !reflect.DeepEqual(first, want) {
				t.Errorf("got  %+v\nwant %+v", first, want)
			}
			if es[1].Actor != "nobody" || es[1].Result != audit.Failed || es[0].Seq != 3 {
				t.Errorf("an entry's own actor or result was overwritten: %+v", es[1])
			}
		})
		t.Run("each entry's hash links to the one before", func(t *testing.T) {
			for i := 0; i < len(es)-1; i++ {
				if es[i].PrevHash != es[i+1].Hash || len(es[i].Hash) != 64 {
					t.Errorf("entry %d does not link to %d", es[i].Seq, es[i+1].Seq)
				}
			}
			if n, err := l.Verify(context.Background()); err != nil || n != 3 {
				t.Errorf("verify: %d %v", n, err)
			}
			if n, err := l.Count(context.Background()); err != nil || n != 3 {
				t.Errorf("count: %d %v", n, err)
			}
		})
	})
}

func TestBatchAndConcurrentAppends(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, audit.Migrations, func(t *testing.T, d *db.DB) {
		l, _ := newLog(d)
		t.Run("a batch over the statement limit is one chain in one transaction", func(t *testing.T) {
			items := make([]audit.Item, 1201)
			for i := range items {
				items[i] = audit.Item{Ctx: asOfficer(), Entry: audit.Entry{Action: "person.import", ObjectID: fmt.Sprint(i)}}
			}
			if err := d.Tx(context.Background(), func(tx *sql.Tx) error { return l.RecordAllTx(context.Background(), tx, items) }); err != nil {
				t.Fatal(err)
			}
			if n, err := l.Verify(context.Background()); err != nil || n != 1201 {
				t.Fatalf("verify: %d %v", n, err)
			}
		})
		t.Run("a failed transaction leaves no entry", func(t *testing.T) {
			boom := errors.New("boom")
			err := d.Tx(context.Background(), func(tx *sql.Tx) error {
				if err := l.RecordTx(asOfficer(), tx, audit.Entry{Action: "doomed"}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
			if pg, err := l.Search(context.Background(), audit.Filter{Action: "doomed"}, 10); err != nil || len(pg.Entries) != 0 {
				t.Fatalf("rolled-back entry kept: %v %v", pg.Entries, err)
			}
		})
		t.Run("concurrent appenders keep one unbroken chain", func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, 80)
			for g := 0; g < 4; g++ {
				wg.Go(func() {
					for i := 0; i < 20; i++ {
						errs <- l.Record(asOfficer(), audit.Entry{Action: "parallel", ObjectID: fmt.Sprint(g, "-", i)})
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if n, err := l.Verify(context.Background()); err != nil || n != 1281 {
				t.Fatalf("verify: %d %v", n, err)
			}
		})
		t.Run("a log without a clock writes nothing", func(t *testing.T) {
			if err := (&audit.Log{DB: d}).Record(asOfficer(), audit.Entry{Action: "undated"}); err == nil {
				t.Fatal("an undated entry was written")
			}
			if n, _ := l.Count(context.Background()); n != 1281 {
				t.Fatalf("count %d", n)
			}
		})
	})
}

// dropTriggers removes the append-only guard, as someone with the
// database's owner rights could.
func dropTriggers(t *testing.T, d *db.DB) {
	t.Helper()
	stmts := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
	if d.Dialect == db.Postgres {
		stmts = []string{`DROP TRIGGER audit_log_no_change ON audit_log`}
	}
	for _, s := range stmts {
		if _, err := d.W.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTamperIsDetected(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, audit.Migrations, func(t *testing.T, d *db.DB) {
		l, _ := newLog(d)
		for i := 0; i < 4; i++ {
			if err := l.Record(asOfficer(), audit.Entry{Action: "unit.attributes.set", ObjectID: fmt.Sprint(i), Detail: `{"population":5000}`}); err != nil {
				t.Fatal(err)
			}
		}
		broken := func() *audit.BrokenError {
			t.Helper()
			_, err := l.Verify(context.Background())
			var be *audit.BrokenError
			if !errors.As(err, &be) {
				t.Fatalf("verify: %v, want a broken chain", err)
			}
			return be
		}
		t.Run("the store refuses updates and deletes", func(t *testing.T) {
			if _, err := d.W.Exec(`UPDATE audit_log SET actor = 'someone' WHERE seq = 2`); err == nil {
				t.Error("audit_log accepted an UPDATE")
			}
			if _, err := d.W.Exec(`DELETE FROM audit_log WHERE seq = 2`); err == nil {
				t.Error("audit_log accepted a DELETE")
			}
			if n, err := l.Verify(context.Background()); err != nil || n != 4 {
				t.Errorf("verify: %d %v", n, err)
			}
		})
		dropTriggers(t, d)
		t.Run("an edit behind the store's back is found at its entry", func(t *testing.T) {
			if _, err := d.W.Exec(`UPDATE audit_log SET detail = '{"population":1}' WHERE seq = 3`); err != nil {
				t.Fatal(err)
			}
			if be := broken(); be.Seq != 3 || be.Reason != "内容被修改 / content altered" {
				t.Errorf("got %+v", be)
			}
		})
		t.Run("a deleted entry is found", func(t *testing.T) {
			if _, err := d.W.Exec(`DELETE FROM audit_log WHERE seq = 1`); err != nil {
				t.Fatal(err)
			}
			if be := broken(); be.Seq != 1 {
				t.Errorf("got %+v", be)
			}
		})
	})
}

func TestSearch(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, audit.Migrations, func(t *testing.T, d *db.DB) {
		l, ck := newLog(d)
		other := audit.WithIP(access.With(context.Background(), &access.Principal{UserID: "u-2", Username: "wang", Role: access.CommunityWorker}), "10.0.0.2")
		for _, r := range []struct {
			ctx context.Context
			e   audit.Entry
		}{
			{asOfficer(), audit.Entry{Action: "login"}},
			{other, audit.Entry{Action: "login", Result: audit.Failed}},
			{other, audit.Entry{Action: "login.lock", Result: audit.Denied, Object: "user", ObjectID: "wang"}},
			{asOfficer(), audit.Entry{Action: "person.reveal", Object: "person", ObjectID: "p-9"}},
		} {
			if err := l.Record(r.ctx, r.e); err != nil {
				t.Fatal(err)
			}
			ck.Add(24 * time.Hour)
		}
		seqs := func(f audit.Filter, limit int) ([]int64, int) {
			t.Helper()
			pg, err := l.Search(context.Background(), f, limit)
			if err != nil {
				t.Fatal(err)
			}
			out := []int64{}
			for _, e := range pg.Entries {
				out = append(out, e.Seq)
			}
			return out, pg.Total
		}
		day := func(d int) time.Time { return time.Date(2026, 11, 29+d, 0, 0, 0, 0, time.UTC) }
		for _, k := range []struct {
			name  string
			f     audit.Filter
			want  []int64
			total int
		}{
			{"everything, newest first", audit.Filter{}, []int64{4, 3, 2, 1}, 4},
			{"by actor", audit.Filter{Actor: "wang"}, []int64{3, 2}, 2},
			{"by action prefix", audit.Filter{Action: "login"}, []int64{3, 2, 1}, 3},
			{"by result", audit.Filter{Result: audit.Failed}, []int64{2}, 1},
			{"by object or its id", audit.Filter{Object: "person"}, []int64{4}, 1},
			{"by object id", audit.Filter{Object: "wang"}, []int64{3}, 1},
			{"within dates", audit.Filter{From: day(1), To: day(3)}, []int64{3, 2}, 2},
			{"older than a position", audit.Filter{Before: 3}, []int64{2, 1}, 4},
			{"a LIKE wildcard is only a character", audit.Filter{Action: "log_n"}, []int64{}, 0},
		} {
			t.Run(k.name, func(t *testing.T) {
				got, total := seqs(k.f, 10)
				if !reflect.DeepEqual(got, k.want) || total != k.total {
					t.Errorf("got %v (total %d), want %v (total %d)", got, total, k.want, k.total)
				}
			})
		}
	})
}

func TestSearchPagesByPosition(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, audit.Migrations, func(t *testing.T, d *db.DB) {
		l, _ := newLog(d)
		write := func(n int) {
			t.Helper()
			for i := 0; i < n; i++ {
				if err := l.Record(asOfficer(), audit.Entry{Action: "login"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		write(7)
		t.Run("every entry is listed once across pages while entries are written between reads", func(t *testing.T) {
			var seen []int64
			f := audit.Filter{}
			for range 10 {
				pg, err := l.Search(context.Background(), f, 3)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range pg.Entries {
					seen = append(seen, e.Seq)
				}
				write(2)
				if pg.Next == 0 {
					break
				}
				f.Before = pg.Next
			}
			if want := []int64{7, 6, 5, 4, 3, 2, 1}; !reflect.DeepEqual(seen, want) {
				t.Errorf("listed %v, want %v", seen, want)
			}
		})
		t.Run("the last page says there is no next", func(t *testing.T) {
			pg, err := l.Search(context.Background(), audit.Filter{Before: 2}, 3)
			if err != nil || pg.Next != 0 || len(pg.Entries) != 1 {
				t.Errorf("got %+v, %v", pg, err)
			}
		})
		t.Run("past the bound the count stops and says so", func(t *testing.T) {
			l.CountCap = 20
			pg, err := l.Search(context.Background(), audit.Filter{}, 3)
			if err != nil || pg.Capped || pg.Total != 13 { // 7 and three pages' 2 each
				t.Fatalf("below the bound: got total %d capped %v, %v", pg.Total, pg.Capped, err)
			}
			write(20 - 13 + 1)
			pg, err = l.Search(context.Background(), audit.Filter{}, 3)
			if err != nil || !pg.Capped || pg.Total != 20 {
				t.Errorf("above the bound: got total %d capped %v, %v", pg.Total, pg.Capped, err)
			}
		})
	})
}

func TestDetail(t *testing.T) {
	t.Parallel()
	if got := audit.Detail(map[string]any{"b": 1, "a": "x"}); got != `{"a":"x","b":1}` {
		t.Errorf("got %s", got)
	}
}
