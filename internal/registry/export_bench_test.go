package registry_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/registry"
)

// BenchmarkExportDemoResidents prints, per store and format, the masked
// export of every resident of the demo county as an officer of the county
// makes it, against two peers run in the same command:
//
//   - "read+write": one plain query of the same columns and tags, written
//     as read by a bare encoding/csv writer or excelize StreamWriter (no
//     escaping, no masks, no ages);
//   - "write only": the same writer over the rows already in memory (the
//     peer the issue measured).
//
// For each it prints the time, the ratio and the peak heap and RSS sampled
// while it ran. LINLI_BENCH_EXPORT_SCALE sets the demo's size (default
// the demo's 0.02, about 24,000 residents; 0.085 is about 100,000;
// "county" about 1.2 million); LINLI_TEST_POSTGRES_URL adds PostgreSQL.
// Run:
//
//	go test ./internal/registry/ -run '^$' -bench ExportDemoResidents -benchtime 1x -timeout 60m
func BenchmarkExportDemoResidents(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			a := apptest.Open(b, dbtest.Open(b, dialect, nil), time.Now)
			t0 := time.Now()
			if _, err := a.SeedDemo(b.Context(), app.DemoOptions{Seed: 1, Scale: os.Getenv("LINLI_BENCH_EXPORT_SCALE")}); err != nil {
				b.Fatal(err)
			}
			var n int
			if err := a.DB.R.QueryRow(`SELECT COUNT(*) FROM reg_residents`).Scan(&n); err != nil {
				b.Fatal(err)
			}
			fmt.Printf("[%s] demo of %d residents loaded in %.1fs\n", dialect, n, time.Since(t0).Seconds())
			s := registry.StoreOf(a.Module("registry"))
			ctx := access.With(context.Background(), &access.Principal{Username: "bench", Role: access.Officer, Division: "330106"})
			mem := plainRows(b, a.DB)
			for _, format := range []string{"csv", "xlsx"} {
				b.Run(format, func(b *testing.B) {
					for b.Loop() {
						var size int64
						ours := measure(func() {
							cw := &countingWriter{}
							if err := s.Export(ctx, cw, registry.ExportOptions{Kind: "residents", Format: format}); err != nil {
								b.Fatal(err)
							}
							size = cw.n
						})
						readWrite := measure(func() {
							if err := registry.PlainExport(ctx, a.DB, &countingWriter{}, format, ""); err != nil {
								b.Fatal(err)
							}
						})
						writeOnly := measure(func() {
							if err := plainWrite(mem, &countingWriter{}, format); err != nil {
								b.Fatal(err)
							}
						})
						unmasked := measure(func() {
							if err := s.Export(ctx, &countingWriter{}, registry.ExportOptions{Kind: "residents", Format: format, Unmasked: true, Reason: "基准测试"}); err != nil {
								b.Fatal(err)
							}
						})
						fmt.Printf("[%s] %s export of %d residents (%d bytes): linli %s; plain read+write %s (ratio %.2f); write only %s (ratio %.2f); unmasked (opening 2 sealed fields a row) %s (ratio to masked %.2f)\n",
							dialect, format, n, size, ours, readWrite, ours.d.Seconds()/readWrite.d.Seconds(), writeOnly, ours.d.Seconds()/writeOnly.d.Seconds(),
							unmasked, unmasked.d.Seconds()/ours.d.Seconds())
						b.ReportMetric(ours.d.Seconds()/readWrite.d.Seconds(), "x-read+write")
						b.ReportMetric(float64(ours.heap)/(1<<20), "peak-heap-MiB")
					}
				})
			}
		})
	}
}

// measured is a run's time and the peaks of heap and RSS sampled while it
// ran (every 2 ms, through runtime/metrics, which stops nothing).
type measured struct {
	d         time.Duration
	heap, rss uint64
}

func (m measured) String() string {
	return fmt.Sprintf("%.2fs (peak heap %.0f MiB, RSS %.0f MiB)", m.d.Seconds(), float64(m.heap)/(1<<20), float64(m.rss)/(1<<20))
}

func measure(fn func()) measured {
	runtime.GC()
	var m measured
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			m.heap = max(m.heap, sample[0].Value.Uint64())
			m.rss = max(m.rss, rss())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	t0 := time.Now()
	fn()
	m.d = time.Since(t0)
	close(stop)
	wg.Wait()
	return m
}

// rss is the resident set of this process (0 where /proc is missing).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// plainRows reads the peer's rows into memory, for the write-only peer.
func plainRows(b *testing.B, d *db.DB) [][]any {
	var out [][]any
	if err := registry.PlainRead(context.Background(), d, "", func(r []any) error { out = append(out, r); return nil }); err != nil {
		b.Fatal(err)
	}
	return out
}

// plainWrite writes rows held in memory with a bare writer.
func plainWrite(rows [][]any, w io.Writer, format string) error {
	pw, err := registry.NewPlainWriter(w, format)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := pw.Row(r); err != nil {
			return err
		}
	}
	return pw.Close()
}

// countingWriter counts what is written and keeps none of it.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
