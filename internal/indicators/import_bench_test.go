package indicators_test

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/indicators"
)

// BenchmarkReportedImport imports a province's reported data for the plan's
// six years — every county's statistics and allowance standard, every
// township's assistance casework — as one file, and compares it with a bare
// prepared INSERT of the same values in one transaction on the same store.
//
//	LINLI_TEST_POSTGRES_URL=… go test ./internal/indicators -run '^$' -bench ReportedImport -benchtime 1x
func BenchmarkReportedImport(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchImport(b, dialect)
			}
		})
	}
}

func benchImport(b *testing.B, dialect db.Dialect) {
	ctx := context.Background()
	a := apptest.Open(b, dbtest.Open(b, dialect, nil), time.Now)
	var counties, towns []string
	rows, err := a.DB.R.Query(`SELECT code, level FROM divisions WHERE level IN (3, 4) ORDER BY code`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var c string
		var l int
		if err := rows.Scan(&c, &l); err != nil {
			b.Fatal(err)
		}
		if l == 3 {
			counties = append(counties, c)
		} else {
			towns = append(towns, c)
		}
	}
	if err := rows.Close(); err != nil {
		b.Fatal(err)
	}
	type val struct {
		code, el string
		year     int
		v        float64
	}
	var vals []val
	var file strings.Builder
	file.WriteString("区划代码,年份,urban_income_total,urban_income_pop,rural_income_total,rural_income_pop,dibao_standard,assistance_cases,assistance_joint_cases\n")
	for y := 2020; y <= 2025; y++ {
		for i, c := range counties {
			row := []float64{700000 + float64(i), 100000, 300000, 100000, 11000 + float64(y-2020)*300}
			fmt.Fprintf(&file, "%s,%d,%g,%g,%g,%g,%g,,\n", c, y, row[0], row[1], row[2], row[3], row[4])
			for k, el := range []string{"urban_income_total", "urban_income_pop", "rural_income_total", "rural_income_pop", "dibao_standard"} {
				vals = append(vals, val{c, el, y, row[k]})
			}
		}
		for i, c := range towns {
			row := []float64{float64(40 + i%20), float64(30 + i%10)}
			fmt.Fprintf(&file, "%s,%d,,,,,,%g,%g\n", c, y, row[0], row[1])
			for k, el := range []string{"assistance_cases", "assistance_joint_cases"} {
				vals = append(vals, val{c, el, y, row[k]})
			}
		}
	}
	data := []byte(file.String())
	op := access.With(ctx, &access.Principal{Username: "bench", Role: access.Officer, Division: "33"})
	store := indicators.StoreOf(a.Module("indicators"))
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	median := func(xs []time.Duration) time.Duration {
		sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
		return xs[len(xs)/2]
	}
	// Bare peer: the same values, one prepared INSERT each, one transaction,
	// into a fresh table of the same shape (key and index; created and
	// dropped each round).
	bare := func() time.Duration {
		if _, err := a.DB.W.Exec(`DROP TABLE IF EXISTS bench_reported`); err != nil {
			b.Fatal(err)
		}
		if _, err := a.DB.W.Exec(`CREATE TABLE bench_reported (division_code TEXT NOT NULL, year INTEGER NOT NULL, element TEXT NOT NULL, value DOUBLE PRECISION NOT NULL,
			PRIMARY KEY (division_code, year, element))`); err != nil {
			b.Fatal(err)
		}
		if _, err := a.DB.W.Exec(`CREATE INDEX bench_reported_element ON bench_reported (element, year, division_code)`); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		err := a.DB.Tx(ctx, func(tx *sql.Tx) error {
			st, err := tx.PrepareContext(ctx, `INSERT INTO bench_reported (division_code, year, element, value) VALUES ($1, $2, $3, $4)`)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, v := range vals {
				if _, err := st.ExecContext(ctx, v.code, v.year, v.el, v.v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	var imp, dry, peer []time.Duration
	for k := 0; k < 3; k++ {
		peer = append(peer, bare())
		if _, err := a.DB.W.Exec(`DELETE FROM ind_reported`); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		rep, err := store.Import(op, data, true)
		if err != nil || len(rep.Errors) > 0 {
			b.Fatalf("dry run: %v %+v", err, rep.Errors)
		}
		dry = append(dry, time.Since(t0))
		t0 = time.Now()
		rep, err = store.Import(op, data, false)
		if err != nil || !rep.Applied || rep.Values != len(vals) {
			b.Fatalf("import: %v %+v", err, rep)
		}
		imp = append(imp, time.Since(t0))
	}
	mi, md, mp := median(imp), median(dry), median(peer)
	fmt.Printf("[%s] import of %d rows, %d values (%d counties, %d townships × 6 years): %.0f ms median of 3 (dry run %.0f ms); bare prepared INSERT of the same values into a table of the same shape in one transaction %.0f ms → ratio %.2f\n",
		dialect, len(counties)*6+len(towns)*6, len(vals), len(counties), len(towns), ms(mi), ms(md), ms(mp), float64(mi)/float64(mp))
	if _, err := a.DB.W.Exec(`DROP TABLE IF EXISTS bench_reported`); err != nil {
		b.Fatal(err)
	}
}
