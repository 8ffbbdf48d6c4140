package app_test

import (
	"context"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/auth"
	"linli/internal/db"
	"linli/internal/dbtest"
)

// benchApp is a demo-filled app on the given store.
func benchApp(b *testing.B, dialect db.Dialect) *app.App {
	b.Helper()
	a := apptest.Open(b, dbtest.Open(b, dialect, nil), nil)
	if _, err := a.SeedDemo(context.Background(), app.DemoOptions{Seed: 1, Year: 2025}); err != nil {
		b.Fatal(err)
	}
	return a
}

// compare times subject and peer for b.N rounds each and reports both and
// their ratio, so every run prints the figure beside its yardstick.
func compare(b *testing.B, subject, peer func() error) {
	b.Helper()
	run := func(f func() error) time.Duration {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			if err := f(); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	b.ResetTimer()
	s := run(subject)
	p := run(peer)
	b.StopTimer()
	b.ReportMetric(float64(s.Nanoseconds())/float64(b.N), "ns/subject")
	b.ReportMetric(float64(p.Nanoseconds())/float64(b.N), "ns/peer")
	b.ReportMetric(float64(s)/float64(p), "x-peer")
}

func forStores(b *testing.B, fn func(b *testing.B, a *app.App)) {
	for _, d := range dbtest.Dialects() {
		b.Run(string(d), func(b *testing.B) { fn(b, benchApp(b, d)) })
	}
}

// BenchmarkSessionLookup: resolving a session cookie (join with the account
// and its role policy, expiry checks) against a bare primary-key read of the
// same sessions table.
func BenchmarkSessionLookup(b *testing.B) {
	forStores(b, func(b *testing.B, a *app.App) {
		ctx := context.Background()
		tok, _, err := a.Auth.Login(ctx, "demo.worker", mustPassword(b, a, "demo.worker"), "", "127.0.0.1", "bench")
		if err != nil {
			b.Fatal(err)
		}
		hash := auth.HashToken(tok)
		compare(b, func() error {
			p, err := a.Auth.Session(ctx, tok)
			if p == nil && err == nil {
				b.Fatal("session not found")
			}
			return err
		}, func() error {
			var id string
			return a.DB.R.QueryRowContext(ctx, `SELECT user_id FROM sessions WHERE token_hash = $1`, hash).Scan(&id)
		})
	})
}

// BenchmarkScopedCountyTotals: a county officer's roll-up of the county's
// communities by township, scope enforced in SQL, against the same GROUP BY
// with no scope condition.
func BenchmarkScopedCountyTotals(b *testing.B) {
	forStores(b, func(b *testing.B, a *app.App) {
		ctx := access.With(context.Background(), &access.Principal{Username: "bench", Role: access.Officer, Division: "330106"})
		kinds := []string{"population", "households", "population_60plus", "urban_population"}
		compare(b, func() error {
			m, err := a.Divisions.Totals(ctx, "330106", 2025, kinds)
			if err == nil && len(m) == 0 {
				b.Fatal("no totals")
			}
			return err
		}, func() error {
			rows, err := a.DB.R.QueryContext(ctx, `SELECT substr(division_code, 1, 9), kind, SUM(value) FROM unit_attributes
				WHERE division_code >= '330106' AND division_code < '330107' AND year = 2025 AND length(division_code) = 12
				AND kind IN ('population','households','population_60plus','urban_population') GROUP BY substr(division_code, 1, 9), kind`)
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			return rows.Close()
		})
	})
}

// BenchmarkScopedDivisionSearch: name search within a subtree (the officer's
// search box) against the same LIKE over the whole table.
func BenchmarkScopedDivisionSearch(b *testing.B) {
	forStores(b, func(b *testing.B, a *app.App) {
		ctx := context.Background()
		compare(b, func() error {
			_, n, err := a.Divisions.Search(ctx, "社区", "330106", 0, 20)
			if err == nil && n == 0 {
				b.Fatal("nothing found")
			}
			return err
		}, func() error {
			_, _, err := a.Divisions.Search(ctx, "社区", "", 0, 20)
			return err
		})
	})
}

// mustPassword gives a demo account a known password.
func mustPassword(b *testing.B, a *app.App, user string) string {
	pw := "Bench-Passw0rd-99"
	if _, err := a.DB.W.Exec(`UPDATE users SET password_hash = $1, must_change_password = FALSE WHERE username = $2`, auth.HashPassword(pw), user); err != nil {
		b.Fatal(err)
	}
	return pw
}
