package registry

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"linli/internal/db"
	"linli/internal/dbtest"
)

// benchListRows is the number of facilities and of people the scoped list
// benchmark writes (LINLI_BENCH_LIST_ROWS, default 100,000), a third as
// many organisations, most in one community of 西湖区.
func benchListRows() int {
	if n, err := strconv.Atoi(os.Getenv("LINLI_BENCH_LIST_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// BenchmarkScopedLists prints, per store, the server time of a county
// officer's facility, organisation and personnel pages — the first and
// one half-way down by cursor — against peers in the same run: a plain
// read of 20 rows (the floor) and the lists as they were (a full count,
// an OFFSET page and, for organisations, two counting subqueries per row)
// on a second store with the schema as it was (no 012_list_indexes).
// Run:
//
//	LINLI_BENCH_LIST_ROWS=100000 go test ./internal/registry/ -run '^$' -bench ScopedLists -benchtime 1x -timeout 60m
//	(LINLI_TEST_POSTGRES_URL adds PostgreSQL)
func BenchmarkScopedLists(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchScoped(b, dialect, benchListRows())
			}
		})
	}
}

func benchScoped(b *testing.B, dialect db.Dialect, n int) {
	t0 := time.Now()
	now := seedSkewedLists(b, benchStore(b, dialect), n)
	asWas := Migrations[:len(Migrations)-1]
	if asWas[len(asWas)-1].ID != "registry/011_list_keys" {
		b.Fatalf("the schema as it was ends on %s", asWas[len(asWas)-1].ID)
	}
	was := seedSkewedLists(b, benchStoreWith(b, dialect, asWas), n)
	fmt.Printf("[%s] %d facilities, %d people, %d organisations, written twice and analyzed in %.1fs\n", dialect, n, n, n/3, time.Since(t0).Seconds())

	county := officer("330106")
	type figure struct{ p50, p95 time.Duration }
	measure := func(label string, runs int, f func() error) figure {
		var ds []time.Duration
		for i := 0; i < runs; i++ {
			t := time.Now()
			if err := f(); err != nil {
				b.Fatal(label, err)
			}
			ds = append(ds, time.Since(t))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fg := figure{ds[runs/2], ds[runs*95/100]}
		fmt.Printf("[%s] %-62s p50 %8.2f ms  p95 %8.2f ms\n", dialect, label, ms(fg.p50), ms(fg.p95))
		return fg
	}
	// half is the cursor of the county's list (table, alias, sort key)
	// at its middle row, sealed as a page would.
	half := func(table, alias string, rows int, keys ...string) string {
		vals := make([]string, len(keys))
		ptrs := make([]any, len(keys))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		cols := strings.Join(keys, ", ")
		q := `SELECT ` + cols + ` FROM ` + table + ` ` + alias + ` WHERE ` + alias + `.division_code >= '330106' AND ` + alias + `.division_code < '330107' ORDER BY ` + cols + ` LIMIT 1 OFFSET ` + itoa(rows*4/10)
		if err := now.s.DB.R.QueryRow(q).Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		return now.s.sealKey(table, vals...)
	}
	facHalf := half(facilities.name, facilities.alias, n, facilities.keys...)
	orgHalf := half(organizations.name, organizations.alias, n/3, organizations.keys...)
	perHalf := half(personnel.name, personnel.alias, n, personnel.keys...)
	page := func(read func(ctx context.Context) (int, error)) func() error {
		return func() error {
			got, err := read(county)
			if err == nil && got != 20 {
				err = fmt.Errorf("page of %d rows", got)
			}
			return err
		}
	}
	fac := func(cursor string, f Filter) func() error {
		return page(func(ctx context.Context) (int, error) {
			p, err := now.s.PageFacilities(ctx, f, cursor, 20)
			return len(p.Items), err
		})
	}
	org := func(cursor string) func() error {
		return page(func(ctx context.Context) (int, error) {
			p, err := now.s.PageOrganizations(ctx, Filter{}, cursor, 20)
			return len(p.Items), err
		})
	}
	per := func(cursor string) func() error {
		return page(func(ctx context.Context) (int, error) {
			p, err := now.s.PagePersonnel(ctx, Filter{}, cursor, 20)
			return len(p.Items), err
		})
	}
	// before is a list as it was: the full count, then an OFFSET page in
	// the old order with the old columns.
	before := func(s *Store, table, alias, cols, order string, offset int) func() error {
		return func() error {
			w := &where{}
			w.scope(county, alias+".division_code", "")
			from := ` FROM ` + table + ` ` + alias + ` WHERE ` + w.sql()
			var total int
			if err := s.DB.R.QueryRowContext(county, `SELECT COUNT(*)`+from, w.args...).Scan(&total); err != nil {
				return err
			}
			rows, err := s.DB.R.QueryContext(county, `SELECT `+cols+from+` ORDER BY `+order+` LIMIT 20 OFFSET `+itoa(offset), w.args...)
			if err != nil {
				return err
			}
			got := 0
			for rows.Next() {
				got++
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if got != 20 {
				return fmt.Errorf("old page of %d rows", got)
			}
			return nil
		}
	}
	floor := func() error {
		_, err := db.Collect(county, now.s.DB.R, scanFacility, `SELECT `+facilityCols+` FROM reg_facilities f LIMIT 20`)
		return err
	}
	runs, oldRuns := 200, 20
	if n > 300_000 {
		oldRuns = 5
	}
	fl := measure("floor: plain read of 20 facilities", runs, floor)
	type row struct {
		name              string
		first, deep       figure
		oldFirst, oldDeep figure
		oldDeepSkipped    bool
	}
	var out []row
	for _, c := range []struct {
		name         string
		rows         int
		first, deep  func() error
		table, alias string
		cols, order  string
	}{
		{name: "facilities", rows: n, first: fac("", Filter{}), deep: fac(facHalf, Filter{}), table: "reg_facilities", alias: "f", cols: facilityCols, order: "f.division_code, f.category, f.name"},
		{name: "organisations", rows: n / 3, first: org(""), deep: org(orgHalf), table: "reg_organizations", alias: "o", cols: orgCols, order: "o.division_code, o.name"},
		{name: "personnel", rows: n, first: per(""), deep: per(perHalf), table: "reg_personnel", alias: "p", cols: personCols, order: "p.division_code, p.name"},
	} {
		r := row{name: c.name}
		r.first = measure("county officer, "+c.name+", first page", runs, c.first)
		r.deep = measure(fmt.Sprintf("county officer, %s, page at row %d (cursor)", c.name, c.rows*4/10), runs, c.deep)
		r.oldFirst = measure("before: "+c.name+", first page (count, OFFSET 0)", oldRuns, before(was.s, c.table, c.alias, c.cols, c.order, 0))
		if dialect == db.Postgres && c.name == "organisations" {
			// PostgreSQL computes the target list of every row an OFFSET
			// skips: both counting subqueries, each a scan of its table
			// without the 012 indexes — tens of minutes a run at 100,000.
			fmt.Printf("[%s] before: %s, OFFSET %d: not run (≈ %d skipped rows × the first page's cost per row)\n", dialect, c.name, c.rows*4/10, c.rows*4/10)
			r.oldDeepSkipped = true
		} else {
			r.oldDeep = measure(fmt.Sprintf("before: %s, OFFSET %d", c.name, c.rows*4/10), oldRuns, before(was.s, c.table, c.alias, c.cols, c.order, c.rows*4/10))
		}
		out = append(out, r)
	}
	rare := measure("county officer, facilities of a rare category, first page", runs, fac("", Filter{Category: rareCategory}))
	for _, r := range out {
		deep := fmt.Sprintf("%.0fx", ratio(r.oldDeep.p50, r.deep.p50))
		if r.oldDeepSkipped {
			deep = "not run"
		}
		fmt.Printf("[%s] %-13s p50 first page/floor %.1f, deep page/floor %.1f; before/now first page %.0fx, deep page %s\n",
			dialect, r.name, ratio(r.first.p50, fl.p50), ratio(r.deep.p50, fl.p50), ratio(r.oldFirst.p50, r.first.p50), deep)
	}
	fmt.Printf("[%s] rare category first page/floor %.1f\n", dialect, ratio(rare.p50, fl.p50))
}
