package registry

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/dbtest"
)

// schemaOf lists the definitions of every index and constraint of tables,
// as the store reports them.
func schemaOf(t *testing.T, s *Store, tables ...string) []string {
	t.Helper()
	var out []string
	for _, tb := range tables {
		q := `SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master WHERE tbl_name = $1 AND type = 'index'`
		if s.DB.Dialect == db.Postgres {
			q = `SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1
				UNION ALL SELECT c.conname || ' ' || pg_get_constraintdef(c.oid) || ' ' || c.convalidated FROM pg_constraint c
				JOIN pg_class r ON r.oid = c.conrelid WHERE r.relname = $1 AND r.relnamespace = current_schema()::regnamespace`
		}
		defs, err := db.Collect(t.Context(), s.DB.R, db.Value[string], q, tb)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, defs...)
	}
	slices.Sort(out)
	return out
}

func count(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.DB.R.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// freshLoadOnce loads rows into s's empty tables as the demo does.
func freshLoadOnce(s *Store, rows []ResidentRow) (BulkResult, error) {
	ctx := access.With(context.Background(), access.Operator())
	restore, err := s.bulkMode(ctx, true)
	if err != nil {
		return BulkResult{}, err
	}
	defer restore()
	var res BulkResult
	err = s.DB.ConnTx(ctx, func(conn *sql.Conn, tx *sql.Tx) error {
		res, err = s.loadFresh(ctx, conn, tx, rows, nil)
		return err
	})
	return res, err
}

func TestFreshLoad(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			s := benchStore(t, dialect)
			comms := communitiesOf(t, s, "330106")
			g := &demoGen{rng: rand.New(rand.NewPCG(7, 8)), now: time.Now(), seqs: map[string]int{}}
			var rows []ResidentRow
			for i := 0; i < 3; i++ {
				rows = g.community(rows, comms[i], 400, i != 2, i)
			}
			before := schemaOf(t, s, freshTables...)

			t.Run("a tag outside the catalogue fails the load and leaves the tables empty", func(t *testing.T) {
				bad := slices.Clone(rows)
				bad[len(bad)/2].Tags = append(slices.Clone(bad[len(bad)/2].Tags), "no_such_tag")
				if _, err := freshLoadOnce(s, bad); err == nil {
					t.Fatal("a tag that is not in the catalogue was loaded")
				}
				for _, tb := range freshTables {
					if n := count(t, s, tb); n != 0 {
						t.Fatalf("%s holds %d rows after a failed load", tb, n)
					}
				}
				if after := schemaOf(t, s, freshTables...); !slices.Equal(after, before) {
					t.Fatalf("indexes and constraints after a failed load:\n%q\nwant\n%q", after, before)
				}
			})

			t.Run("a repeated ID number fails the load", func(t *testing.T) {
				bad := slices.Clone(rows)
				bad[10].IDNumber = bad[500].IDNumber
				if _, err := freshLoadOnce(s, bad); err == nil {
					t.Fatal("two residents with one ID number were loaded")
				}
				if n := count(t, s, "reg_residents"); n != 0 {
					t.Fatalf("%d residents after a failed load", n)
				}
			})

			t.Run("the load writes every resident, household and tag, and counts the tags", func(t *testing.T) {
				res, err := freshLoadOnce(s, rows)
				if err != nil {
					t.Fatal(err)
				}
				tags, households := 0, map[string]bool{}
				want := map[[2]string]int{}
				for _, r := range rows {
					tags += len(r.Tags)
					households[r.Division+"/"+r.HouseholdNo] = true
					for _, tg := range r.Tags {
						want[[2]string{r.Division, tg}]++
						want[[2]string{"330106", tg}]++
					}
				}
				if res.Residents != len(rows) || res.Households != len(households) || res.Tags != tags {
					t.Fatalf("result %+v, want %d residents, %d households, %d tags", res, len(rows), len(households), tags)
				}
				if n := count(t, s, "reg_residents"); n != len(rows) {
					t.Fatalf("%d residents stored, want %d", n, len(rows))
				}
				if n := count(t, s, "reg_households"); n != len(households) {
					t.Fatalf("%d households stored, want %d", n, len(households))
				}
				if n := count(t, s, "reg_resident_tags"); n != tags {
					t.Fatalf("%d tags stored, want %d", n, tags)
				}
				for k, n := range want {
					var got int
					if err := s.DB.R.QueryRow(`SELECT n FROM reg_tag_counts WHERE division_code = $1 AND tag = $2`, k[0], k[1]).Scan(&got); err != nil || got != n {
						t.Fatalf("count of %s in %s: %d (%v), want %d", k[1], k[0], got, err, n)
					}
				}
				// Each resident sits in the household its row named.
				var wrong int
				if err := s.DB.R.QueryRow(`SELECT COUNT(*) FROM reg_residents r JOIN reg_households h ON h.id = r.household_id WHERE h.division_code <> r.division_code`).Scan(&wrong); err != nil || wrong != 0 {
					t.Fatalf("%d residents in another community's household (%v)", wrong, err)
				}
			})

			t.Run("every index and constraint the migrations made is back after the load", func(t *testing.T) {
				if after := schemaOf(t, s, freshTables...); !slices.Equal(after, before) {
					t.Fatalf("indexes and constraints after the load:\n%q\nwant\n%q", after, before)
				}
			})

			t.Run("the ids sort in the order the rows were written", func(t *testing.T) {
				ids, err := db.Collect(t.Context(), s.DB.R, db.Value[string], `SELECT id FROM reg_residents ORDER BY id`)
				if err != nil {
					t.Fatal(err)
				}
				if len(ids) != len(rows) || len(ids[0]) != 32 {
					t.Fatalf("%d ids like %q", len(ids), ids[0])
				}
				var first string
				if err := s.DB.R.QueryRow(`SELECT name FROM reg_residents WHERE id = $1`, ids[0]).Scan(&first); err != nil || first != rows[0].Name {
					t.Fatalf("first id is %q's, want %q's (%v)", first, rows[0].Name, err)
				}
			})
		})
	}
}
