package db_test

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"testing"

	"linli/internal/db"
	"linli/internal/dbtest"
)

var fruitTable = db.Migration{ID: "test/001_fruit",
	SQLiteSQL:   `CREATE TABLE fruit (name TEXT PRIMARY KEY, n INTEGER NOT NULL)`,
	PostgresSQL: `CREATE TABLE fruit (name TEXT PRIMARY KEY, n BIGINT NOT NULL)`}

type fruit struct {
	Name string
	N    int64
}

func scanFruit(r db.Scanner) (fruit, error) {
	var f fruit
	err := r.Scan(&f.Name, &f.N)
	return f, err
}

func TestCollect(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, []db.Migration{fruitTable}, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.W.ExecContext(ctx, `INSERT INTO fruit (name, n) VALUES ('apple', 3), ('pear', 1), ('plum', 2)`); err != nil {
			t.Fatal(err)
		}

		t.Run("rows come back scanned and in query order", func(t *testing.T) {
			got, err := db.Collect(ctx, d.R, scanFruit, `SELECT name, n FROM fruit WHERE n >= $1 ORDER BY n`, 2)
			if err != nil {
				t.Fatal(err)
			}
			want := []fruit{{"plum", 2}, {"apple", 3}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})

		t.Run("no rows is nil without error", func(t *testing.T) {
			got, err := db.Collect(ctx, d.R, scanFruit, `SELECT name, n FROM fruit WHERE n > $1`, 100)
			if err != nil || got != nil {
				t.Fatalf("got %v, %v; want nil, nil", got, err)
			}
		})

		t.Run("Value reads one column of any type", func(t *testing.T) {
			names, err := db.Collect(ctx, d.R, db.Value[string], `SELECT name FROM fruit ORDER BY name`)
			if err != nil || !reflect.DeepEqual(names, []string{"apple", "pear", "plum"}) {
				t.Fatalf("names %v, %v", names, err)
			}
			sums, err := db.Collect(ctx, d.R, db.Value[int64], `SELECT SUM(n) FROM fruit`)
			if err != nil || !reflect.DeepEqual(sums, []int64{6}) {
				t.Fatalf("sum %v, %v", sums, err)
			}
		})

		t.Run("a failing query is returned", func(t *testing.T) {
			if _, err := db.Collect(ctx, d.R, scanFruit, `SELECT name, n FROM no_such_table`); err == nil {
				t.Fatal("no error for a missing table")
			}
		})

		t.Run("a failing scan stops the read and is returned", func(t *testing.T) {
			got, err := db.Collect(ctx, d.R, db.Value[int64], `SELECT name FROM fruit ORDER BY name`)
			if err == nil || got != nil {
				t.Fatalf("got %v, %v; want nil and a scan error", got, err)
			}
		})

		t.Run("the rows are closed so the transaction can go on", func(t *testing.T) {
			stop := errors.New("stop")
			err := d.Tx(ctx, func(tx *sql.Tx) error {
				names, err := db.Collect(ctx, tx, db.Value[string], `SELECT name FROM fruit ORDER BY name`)
				if err != nil {
					return err
				}
				for _, n := range names {
					if _, err := tx.ExecContext(ctx, `UPDATE fruit SET n = n + 10 WHERE name = $1`, n); err != nil {
						return err
					}
				}
				seen := 0
				err = db.EachRow(ctx, tx, func(r db.Scanner) error {
					seen++
					return stop
				}, `SELECT name FROM fruit`)
				if !errors.Is(err, stop) || seen != 1 {
					t.Errorf("EachRow: %v after %d rows; want stop after 1", err, seen)
				}
				_, err = tx.ExecContext(ctx, `UPDATE fruit SET n = n - 10`)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.Collect(ctx, d.R, scanFruit, `SELECT name, n FROM fruit ORDER BY name`)
			if err != nil || !reflect.DeepEqual(got, []fruit{{"apple", 3}, {"pear", 1}, {"plum", 2}}) {
				t.Fatalf("after the transaction: %v, %v", got, err)
			}
		})
	})
}
