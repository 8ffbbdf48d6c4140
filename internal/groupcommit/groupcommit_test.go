package groupcommit_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"

	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/groupcommit"
)

// Pieces run at once: each answers its own error, a refused one leaves
// nothing, the end sees exactly the pieces that went in, and an end that
// fails takes the whole group with it.
func TestPiecesCommitTogetherAndFailAlone(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.W.ExecContext(ctx, `CREATE TABLE gc_pieces (k INTEGER PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		if _, err := d.W.ExecContext(ctx, `CREATE TABLE gc_ends (n INTEGER NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		refused := errors.New("odd")
		var g groupcommit.Group[int]
		run := func(k int, endErr error) error {
			return g.Run(ctx, d, func(ctx context.Context, tx *sql.Tx) (int, error) {
				if _, err := tx.ExecContext(ctx, `INSERT INTO gc_pieces (k) VALUES ($1)`, k); err != nil {
					return 0, err
				}
				if k%2 == 1 {
					return 0, refused // after writing: the savepoint must undo it
				}
				return k, nil
			}, func(ctx context.Context, tx *sql.Tx, done []int) error {
				if endErr != nil {
					return endErr
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO gc_ends (n) VALUES ($1)`, len(done))
				return err
			})
		}
		count := func(q string) int {
			var n int
			if err := d.R.QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		t.Run("forty at once: odd ones refused alone, the ends count the twenty even", func(t *testing.T) {
			errs := make([]error, 40)
			var wg sync.WaitGroup
			for k := range 40 {
				wg.Go(func() { errs[k] = run(k, nil) })
			}
			wg.Wait()
			for k, err := range errs {
				if (k%2 == 1) != errors.Is(err, refused) || k%2 == 0 && err != nil {
					t.Fatalf("piece %d answered %v", k, err)
				}
			}
			if n := count(`SELECT COUNT(*) FROM gc_pieces`); n != 20 {
				t.Fatalf("pieces kept %d, want 20", n)
			}
			if n := count(`SELECT COALESCE(SUM(n), 0) FROM gc_ends`); n != 20 {
				t.Fatalf("the ends saw %d pieces, want 20", n)
			}
		})
		t.Run("an end that fails answers every piece with its error and keeps nothing", func(t *testing.T) {
			broken := errors.New("end failed")
			if err := run(100, broken); !errors.Is(err, broken) {
				t.Fatalf("answered %v", err)
			}
			if n := count(`SELECT COUNT(*) FROM gc_pieces WHERE k = 100`); n != 0 {
				t.Fatal("the piece of a failed group was kept")
			}
		})
	})
}
