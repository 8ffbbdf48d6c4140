package requests

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/dbtest"
)

// latencies runs fn on workers goroutines for d and answers each call's time.
func latencies(d time.Duration, workers int, fn func() error) ([]time.Duration, error) {
	var mu sync.Mutex
	var all []time.Duration
	var first error
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(stop) {
				t0 := time.Now()
				err := fn()
				mine = append(mine, time.Since(t0))
				if err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return all, first
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[int(q*float64(len(ds)-1)+0.5)]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

// BenchmarkMetrics measures the figures of the metrics page under 4
// connections on a history of LINLI_METRICS_ROWS requests (default
// 300,000) over three years, 60 % of 西湖区's in one community, beside a
// peer in the same run: one plain GROUP BY status over the same window.
// Each case runs for LINLI_METRICS_SECONDS (default 3) per side.
//
//	go test -run '^$' -bench Metrics -benchtime 1x ./internal/requests
func BenchmarkMetrics(b *testing.B) {
	n := 300000
	if v, err := strconv.Atoi(os.Getenv("LINLI_METRICS_ROWS")); err == nil && v > 0 {
		n = v
	}
	secs := 3.0
	if v, err := strconv.ParseFloat(os.Getenv("LINLI_METRICS_SECONDS"), 64); err == nil && v > 0 {
		secs = v
	}
	per := time.Duration(secs * float64(time.Second))
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, CST)
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			s := metricsStore(b, dialect)
			g := newSynthetic(b, s, n, end, 3*365*24*time.Hour)
			t0 := time.Now()
			g.load(b, s)
			fmt.Printf("%s: %d requests loaded in %s\n", dialect, n, time.Since(t0).Round(time.Millisecond))
			cases := []struct {
				name, within string
				days         int
			}{{"county, 30 days", "330106", 30}, {"county, 365 days", "330106", 365}, {"big community, 30 days", g.big, 30}, {"small community, 30 days", g.county[3], 30}}
			fmt.Printf("%-26s %9s %9s %9s %9s %7s\n", "case ("+string(dialect)+", 4 conns)", "p50 ms", "p95 ms", "peer p50", "peer p95", "×peer")
			for _, c := range cases {
				ctx := access.With(context.Background(), &access.Principal{Username: "officer", Role: access.Officer, Division: c.within})
				from := end.AddDate(0, 0, -c.days)
				sc := access.Subtree(c.within)
				peer := func() error {
					return db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
						var st string
						var k int
						return r.Scan(&st, &k)
					}, `SELECT status, COUNT(*) FROM requests WHERE created_at >= $1 AND created_at < $2 AND division_code >= $3 AND division_code < $4 GROUP BY status`,
						db.T(from), db.T(end), sc.Lo, sc.Hi)
				}
				metrics := func() error {
					_, err := s.ComputeMetrics(ctx, c.within, from, end)
					return err
				}
				mt, err := latencies(per, 4, metrics)
				if err != nil {
					b.Fatal(err)
				}
				pt, err := latencies(per, 4, peer)
				if err != nil {
					b.Fatal(err)
				}
				fmt.Printf("%-26s %9s %9s %9s %9s %7.1f\n", c.name, ms(quantile(mt, 0.5)), ms(quantile(mt, 0.95)), ms(quantile(pt, 0.5)), ms(quantile(pt, 0.95)),
					float64(quantile(mt, 0.5))/float64(max(quantile(pt, 0.5), time.Microsecond)))
			}
		})
	}
}
