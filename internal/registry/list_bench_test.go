package registry

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/dbtest"
)

// BenchmarkResidentList prints, per store, the server time of the resident
// list at N residents (LINLI_BENCH_RESIDENTS, default 1,000,000; 1,235,636
// is the county demo) spread over 西湖区 with the demo's tags: a county
// officer's first page and a page half-way down, a tag's list and a
// community worker's first page, against two peers measured in the same
// run — a plain scan of 20 rows (the floor) and the list as it was before
// (ordered by name, counted by sorting, paged by OFFSET). Run:
//
//	LINLI_BENCH_RESIDENTS=100000 go test ./internal/registry/ -run '^$' -bench ResidentList -benchtime 1x -timeout 60m
//	(LINLI_TEST_POSTGRES_URL adds PostgreSQL)
func BenchmarkResidentList(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchList(b, dialect, benchN())
			}
		})
	}
}

func benchList(b *testing.B, dialect db.Dialect, n int) {
	ctx := access.With(context.Background(), access.Operator())
	s := benchStore(b, dialect)
	rows := benchRows(b, s, n)
	g := &demoGen{rng: rand.New(rand.NewPCG(7, 8)), now: time.Now()}
	for i := range rows {
		birth, _ := time.Parse("2006-01-02", rows[i].Birth)
		rows[i].Tags = g.tags(time.Now().Year()-birth.Year(), 2, rows[i].Gender == "M", true)
	}
	t0 := time.Now()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, re, err := s.LoadResidents(ctx, tx, rows, nil)
		if len(re) > 0 {
			return fmt.Errorf("%v", re[0])
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	load := time.Since(t0)
	t0 = time.Now()
	if err := s.analyze(ctx); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("[%s] %d residents loaded in %.1fs, analyzed in %.2fs\n", dialect, len(rows), load.Seconds(), time.Since(t0).Seconds())

	county := officer("330106")
	comm := rows[len(rows)/2].Division
	worker := worker(comm)
	common := ""
	var most int64
	if err := s.DB.R.QueryRow(`SELECT tag, n FROM reg_tag_counts WHERE division_code = '330106' ORDER BY n DESC LIMIT 1`).Scan(&common, &most); err != nil {
		b.Fatal(err)
	}

	rare := ""
	var few int64
	if err := s.DB.R.QueryRow(`SELECT tag, n FROM reg_tag_counts WHERE division_code = '330106' AND n >= 20 ORDER BY n LIMIT 1`).Scan(&rare, &few); err != nil {
		b.Fatal(err)
	}

	// A cursor half-way down the county's list, sealed as a page would.
	var half Resident
	if err := s.DB.R.QueryRow(`SELECT division_code, name, id FROM reg_residents WHERE division_code >= '330106' AND division_code < '330107'
		ORDER BY division_code, `+map[db.Dialect]string{db.SQLite: "name", db.Postgres: `(name COLLATE "C")`}[dialect]+`, id LIMIT 1 OFFSET `+itoa(n/2)).
		Scan(&half.Division, &half.Name, &half.ID); err != nil {
		b.Fatal(err)
	}
	deep := s.sealCursor(byDivision, half)

	// before is the list as it was: a sorted count and an OFFSET page in
	// name order, then the page's tags.
	before := func(ctx context.Context, offset int) error {
		w, err := s.residentWhere(ctx, ResidentFilter{})
		if err != nil {
			return err
		}
		order := ` ORDER BY ` + s.nameExpr() + `, r.division_code, r.id`
		var total int
		if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM reg_residents r WHERE `+w.sql()+order+` LIMIT 1001) x`, s.customPlan(w.args)...).Scan(&total); err != nil {
			return err
		}
		out, err := db.Collect(ctx, s.DB.R, s.scanResident, `SELECT `+residentCols+` FROM reg_residents r WHERE `+w.sql()+order+` LIMIT 20 OFFSET `+itoa(offset), s.customPlan(w.args)...)
		if err != nil {
			return err
		}
		return s.attachTags(ctx, out)
	}
	// floor reads 20 residents and their tags with no scope, order or count.
	floor := func() error {
		out, err := db.Collect(ctx, s.DB.R, s.scanResident, `SELECT `+residentCols+` FROM reg_residents r LIMIT 20`)
		if err != nil {
			return err
		}
		return s.attachTags(ctx, out)
	}
	ours := func(ctx context.Context, f ResidentFilter, cursor string) func() error {
		return func() error {
			p, err := s.PageResidents(ctx, f, cursor, 20)
			if err == nil && len(p.Items) != 20 {
				err = fmt.Errorf("page of %d rows", len(p.Items))
			}
			return err
		}
	}
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
		fmt.Printf("[%s] %-58s p50 %8.2f ms  p95 %8.2f ms\n", dialect, label, ms(fg.p50), ms(fg.p95))
		return fg
	}
	fl := measure("floor: plain scan of 20 rows + tags", 200, floor)
	first := measure("county officer, first page", 200, ours(county, ResidentFilter{}, ""))
	half2 := measure(fmt.Sprintf("county officer, page at row %d (cursor)", n/2), 200, ours(county, ResidentFilter{}, deep))
	tag := measure(fmt.Sprintf("county officer, tag %s (%d), first page", common, most), 200, ours(county, ResidentFilter{Tag: common}, ""))
	rt := measure(fmt.Sprintf("county officer, tag %s (%d), first page", rare, few), 200, ours(county, ResidentFilter{Tag: rare}, ""))
	cw := measure("community worker, first page", 200, ours(worker, ResidentFilter{}, ""))
	runs := 20
	if n > 300_000 {
		runs = 5
	}
	old1 := measure("before: county officer, first page (sorted count, OFFSET)", runs, func() error { return before(county, 0) })
	old2 := measure(fmt.Sprintf("before: county officer, OFFSET %d", n/2), runs, func() error { return before(county, n/2) })
	fmt.Printf("[%s] p50 ratios: first page/floor %.1f, deep page/floor %.1f, common tag/floor %.1f, rare tag/floor %.1f, county/community %.2f; before/now first page %.0fx, deep page %.0fx\n",
		dialect, ratio(first.p50, fl.p50), ratio(half2.p50, fl.p50), ratio(tag.p50, fl.p50), ratio(rt.p50, fl.p50), ratio(first.p50, cw.p50), ratio(old1.p50, first.p50), ratio(old2.p50, half2.p50))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }
