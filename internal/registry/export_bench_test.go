package registry_test

import (
	"context"
	"io"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/registry"
)

// BenchmarkExportDemoResidents times the masked export of every resident of
// the default demo (about 24,000) as a worker of the county would make it,
// in xlsx and CSV, on SQLite. Run:
//
//	go test ./internal/registry/ -run '^$' -bench ExportDemoResidents -benchtime 3x
func BenchmarkExportDemoResidents(b *testing.B) {
	a := apptest.Open(b, dbtest.Open(b, db.SQLite, nil), time.Now)
	if _, err := a.SeedDemo(b.Context(), app.DemoOptions{Seed: 1}); err != nil {
		b.Fatal(err)
	}
	s := registry.StoreOf(a.Module("registry"))
	ctx := access.With(context.Background(), &access.Principal{Username: "bench", Role: access.Officer, Division: "330106"})
	var n int
	if err := a.DB.R.QueryRow(`SELECT COUNT(*) FROM reg_residents`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	for _, format := range []string{"xlsx", "csv"} {
		b.Run(format, func(b *testing.B) {
			var size int64
			for b.Loop() {
				cw := &countingWriter{}
				if err := s.Export(ctx, cw, registry.ExportOptions{Kind: "residents", Format: format}); err != nil {
					b.Fatal(err)
				}
				size = cw.n
			}
			b.ReportMetric(float64(n), "residents")
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

// countingWriter counts what is written and keeps none of it.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return io.Discard.Write(p)
}
