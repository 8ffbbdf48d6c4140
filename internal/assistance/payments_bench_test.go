package assistance_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/assistance"
	"linli/internal/db"
	"linli/internal/dbtest"
)

// BenchmarkMonthlyPaymentRun times a county's monthly run over many
// enrolled households (LINLI_BENCH_HOUSEHOLDS, default 20,000; every
// third one on two programmes) against a bare INSERT … SELECT of the same
// rows into the same table, and prints both and their ratio. Each round
// runs the next month, so every run finds the previous month paid.
//
//	go test -run '^$' -bench MonthlyPaymentRun -benchtime 3x ./internal/assistance/
func BenchmarkMonthlyPaymentRun(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("LINLI_BENCH_HOUSEHOLDS")); err == nil && v > 0 {
		n = v
	}
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			d := dbtest.Open(b, dialect, nil)
			clock := dbtest.NewClock(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC))
			a := apptest.Open(b, d, clock.Now)
			s := assistance.StoreOf(a.Module("assistance"))
			ctx := access.With(context.Background(), &access.Principal{Username: "off.county", Role: access.Officer, Division: county})
			if err := s.EnableCounty(ctx, county); err != nil {
				b.Fatal(err)
			}
			start := assistance.MonthOf(clock.Now()) - 1000
			rows := seedEnrolled(b, d, n, start)
			var run, bare time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				month := start + assistance.Month(i)
				t0 := time.Now()
				batch, err := s.RunPayments(ctx, month)
				if err != nil {
					b.Fatal(err)
				}
				run += time.Since(t0)
				if batch.Rows != rows {
					b.Fatalf("the run wrote %d rows, want %d", batch.Rows, rows)
				}
				t0 = time.Now()
				// a month long before, so the runs still find theirs unpaid
				if err := bareInsert(ctx, d, month-500); err != nil {
					b.Fatal(err)
				}
				bare += time.Since(t0)
			}
			b.StopTimer()
			perRun, perBare := run/time.Duration(b.N), bare/time.Duration(b.N)
			ratio := float64(run) / float64(bare)
			b.ReportMetric(float64(perRun.Milliseconds()), "run-ms/op")
			b.ReportMetric(float64(perBare.Milliseconds()), "bare-ms/op")
			b.ReportMetric(ratio, "ratio")
			fmt.Printf("%s: %d households, %d payments: monthly run %v, bare INSERT … SELECT %v, ratio %.2f×\n", dialect, n, rows, perRun, perBare, ratio)
		})
	}
}

// seedEnrolled writes n enrolled dibao households straight into the
// tables, a third of them on tekun too; it answers the payments a month
// owes.
func seedEnrolled(b *testing.B, d *db.DB, n int, enrolled assistance.Month) int {
	b.Helper()
	ctx := context.Background()
	progs := map[string]string{}
	if err := db.EachRow(ctx, d.R, func(r db.Scanner) error {
		var code, id string
		err := r.Scan(&code, &id)
		progs[code] = id
		return err
	}, `SELECT code, id FROM ast_programmes WHERE county = $1`, county); err != nil {
		b.Fatal(err)
	}
	now := db.T(time.Now())
	rows := 0
	for start := 0; start < n; start += 500 {
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			var apps, progRows []string
			var aargs, pargs []any
			for i := start; i < min(start+500, n); i++ {
				id := fmt.Sprintf("bench%08d", i)
				approved := "dibao"
				pargsRow := []any{id, "dibao", progs["dibao"], true, 1, "eligible", int64(50000 + i%700*100)}
				progRows = append(progRows, d.Values(len(pargs), 7))
				pargs = append(pargs, pargsRow...)
				rows++
				if i%3 == 0 {
					approved = "dibao,tekun"
					progRows = append(progRows, d.Values(len(pargs), 7))
					pargs = append(pargs, id, "tekun", progs["tekun"], false, 1, "eligible", int64(30000))
					rows++
				}
				apps = append(apps, d.Values(len(aargs), 17))
				aargs = append(aargs, id, communityA, county, fmt.Sprintf("hh%08d", i), 2026, "enrolled", approved, "dibao", 1, now, now, int(enrolled), "bench", true, "", "", "")
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO ast_applications (id, division_code, county, household_id, year, status, approved, asked, version, created_at, updated_at, enrolled_month,
				applicant, on_behalf, facts_enc, results_enc, plausible) VALUES `+strings.Join(apps, ","), aargs...); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO ast_app_programmes (application_id, code, programme_id, asked, rule_version, outcome, amount_fen) VALUES `+strings.Join(progRows, ","), pargs...)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return rows
}

// bareInsert copies the same rows into a batch of its own: the join, no
// arrears, no check, no audit.
func bareInsert(ctx context.Context, d *db.DB, month assistance.Month) error {
	id := db.NewID()
	return d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ast_pay_batches (id, county, month, created_by, created_at) VALUES ($1, $2, $3, 'bench', $4)`, id, county, int(month), db.T(time.Now())); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ast_payments (batch_id, ref, application_id, household_id, division_code, code, from_month, to_month, amount_fen, account_enc, status)
			SELECT CAST($1 AS TEXT), ROW_NUMBER() OVER (ORDER BY a.division_code, a.household_id, ap.code), a.id, a.household_id, a.division_code, ap.code, CAST($2 AS INTEGER), CAST($2 AS INTEGER), ap.amount_fen, a.account_enc, 'pending'
			FROM ast_applications a JOIN ast_app_programmes ap ON ap.application_id = a.id
			WHERE a.county = $3 AND a.status = 'enrolled' AND ',' || a.approved || ',' LIKE '%,' || ap.code || ',%'`, id, int(month), county)
		return err
	})
}
