package db_test

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"linli/internal/db"
	"linli/internal/dbtest"
)

// An observed store reports every statement it runs — plain, prepared, in
// a transaction, reads when their rows are closed — with its arguments, and
// otherwise behaves as the store does.
func TestObserve(t *testing.T) {
	t.Parallel()
	open := map[string]func(opt db.Option) (*db.DB, error){
		"sqlite": func(opt db.Option) (*db.DB, error) { return db.OpenSQLite(t.TempDir(), opt) },
	}
	if os.Getenv(dbtest.EnvPostgres) != "" {
		url := dbtest.PostgresURL(t)
		open["postgres"] = func(opt db.Option) (*db.DB, error) { return db.OpenPostgres(url, opt) }
	}
	for name, o := range open {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var seen []db.Statement
			d, err := o(db.Observe(func(s db.Statement) {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, s)
			}))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			ctx := context.Background()
			if _, err := d.Migrate(ctx, []db.Migration{fruitTable}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			seen = nil
			mu.Unlock()
			t.Run("a write in a transaction and a prepared one are reported with their arguments", func(t *testing.T) {
				tx, err := d.W.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO fruit (name, n) VALUES ($1, $2)`, "pear", int64(3)); err != nil {
					t.Fatal(err)
				}
				st, err := tx.PrepareContext(ctx, `INSERT INTO fruit (name, n) VALUES ($1, $2)`)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.ExecContext(ctx, "fig", int64(5)); err != nil {
					t.Fatal(err)
				}
				st.Close()
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				defer mu.Unlock()
				var figs, pears int
				for _, s := range seen {
					if s.Query == `INSERT INTO fruit (name, n) VALUES ($1, $2)` && len(s.Args) == 2 {
						switch s.Args[0] {
						case "pear":
							pears++
						case "fig":
							figs++
						}
					}
				}
				if pears != 1 || figs != 1 {
					t.Fatalf("reported %d pear and %d fig inserts: %+v", pears, figs, seen)
				}
			})
			t.Run("a read is reported once its rows are read, with its time", func(t *testing.T) {
				names, err := db.Collect(ctx, d.R, db.Value[string], `SELECT name FROM fruit WHERE n > $1 ORDER BY name`, int64(1))
				if err != nil || !slices.Equal(names, []string{"fig", "pear"}) {
					t.Fatalf("read %v %v", names, err)
				}
				mu.Lock()
				defer mu.Unlock()
				last := seen[len(seen)-1]
				if last.Query != `SELECT name FROM fruit WHERE n > $1 ORDER BY name` || last.Took <= 0 || last.Took > time.Minute || len(last.Args) != 1 {
					t.Fatalf("last statement %+v", last)
				}
			})
		})
	}
}

// Linli's PostgreSQL sessions never JIT-compile, unless the URL asks.
func TestPostgresSessionsRunWithoutJIT(t *testing.T) {
	t.Parallel()
	if os.Getenv(dbtest.EnvPostgres) == "" {
		t.Skip("no PostgreSQL: set " + dbtest.EnvPostgres)
	}
	url := dbtest.PostgresURL(t)
	for _, tc := range []struct{ dsn, setting, want string }{
		{url, "jit", "off"},
		{url + "&jit=on", "jit", "on"},
		// The URL's own session options pass through untouched.
		{url + "&options=-c%20lock_timeout%3D4321", "lock_timeout", "4321ms"},
		{url + "&options=-c%20lock_timeout%3D4321", "jit", "off"},
	} {
		d, err := db.OpenPostgres(tc.dsn)
		if err != nil {
			t.Fatalf("%s: %v", tc.dsn, err)
		}
		var got string
		err = d.R.QueryRow(`SHOW ` + tc.setting).Scan(&got)
		d.Close()
		if err != nil || got != tc.want {
			t.Fatalf("%s: %s = %q (%v), want %s", tc.dsn, tc.setting, got, err, tc.want)
		}
	}
}
