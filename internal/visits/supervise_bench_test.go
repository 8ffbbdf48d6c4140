package visits_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/visits"
)

// BenchmarkSupervision prints, per store, the server time of a township's
// supervision figures (and the county's) and of a township's first page
// of overdue visits, over a month of N visits (LINLI_BENCH_VISITS, default
// 60,000: about the county demo's targets) spread over the real
// communities of 西湖区, against a peer measured in the same run: one
// COUNT(*) of the same month's visits of the township by the same index
// (the floor any per-target figure pays). Run:
//
//	go test ./internal/visits/ -run '^$' -bench Supervision -benchtime 1x
//	(LINLI_TEST_POSTGRES_URL adds PostgreSQL)
func BenchmarkSupervision(b *testing.B) {
	n := 60000
	if s := os.Getenv("LINLI_BENCH_VISITS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchSupervision(b, dialect, n)
			}
		})
	}
}

func benchSupervision(b *testing.B, dialect db.Dialect, n int) {
	ctx := context.Background()
	d := dbtest.Open(b, dialect, nil)
	clock := dbtest.NewClock(time.Date(2026, 12, 20, 2, 0, 0, 0, time.UTC))
	a := apptest.Open(b, d, clock.Now)
	s := visits.StoreOf(a.Module("visits"))
	communities, err := db.Collect(ctx, d.R, func(r db.Scanner) (string, error) {
		var c string
		return c, r.Scan(&c)
	}, `SELECT code FROM divisions WHERE code LIKE '330106%' AND level = 5 ORDER BY code`)
	if err != nil || len(communities) == 0 {
		b.Fatalf("communities of 西湖区: %d %v", len(communities), err)
	}
	rng := rand.New(rand.NewPCG(13, 17))
	progs := []string{"prog-special-elderly", "prog-children", "prog-assisted-families"}
	t0 := time.Now()
	const per = 400
	for start := 0; start < n; start += per {
		var vals []string
		var args []any
		for i := start; i < min(n, start+per); i++ {
			c := communities[rng.IntN(len(communities))]
			g := rng.IntN(4)
			status, risk := "open", ""
			switch x := rng.IntN(100); {
			case x < 60:
				status, risk = "done", "normal"
			case x < 65:
				status = "not_home"
			case x < 68:
				status, risk = "refused", "normal"
			}
			if status == "done" && rng.IntN(30) == 0 {
				risk = "high"
			}
			due := fmt.Sprintf("2026-12-%02d", 1+rng.IntN(31))
			subject := fmt.Sprintf("r%07d", i)
			k := len(args)
			vals = append(vals, fmt.Sprintf("($%d, '2026-12', 's0', $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+5, k+6, k+7, k+8, k+9, k+10, k+11, k+12))
			now := db.T(clock.Now())
			args = append(args, progs[rng.IntN(3)], subject, subject, "h"+subject, c, fmt.Sprintf("g%s-%d", c, g), fmt.Sprintf("w%s-%d", c, g), due, status, risk, now, now)
		}
		if _, err := d.W.ExecContext(ctx, `INSERT INTO vis_visits (programme_id, month, origin, subject_id, resident_id, household_id, division_code, grid_id, owner, due_date, status, risk, created_at, updated_at) VALUES `+strings.Join(vals, ","), args...); err != nil {
			b.Fatal(err)
		}
	}
	load := time.Since(t0)
	if err := db.Analyze(ctx, d, "vis_visits"); err != nil {
		b.Fatal(err)
	}
	township := communities[len(communities)/2][:9]
	dec, _ := visits.ParseMonth("2026-12")
	officer := func(div string) context.Context {
		return access.With(ctx, &access.Principal{Username: "bench", Role: access.Officer, Division: div})
	}
	const runs = 20
	measure := func(f func() error) (p50, p95 time.Duration) {
		var ds []time.Duration
		for range runs {
			t := time.Now()
			if err := f(); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(t))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[runs/2], ds[runs*95/100]
	}
	var inTownship int
	sc := access.Subtree(township)
	peer50, peer95 := measure(func() error {
		return d.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM vis_visits v WHERE v.month = $1 AND v.division_code >= $2 AND v.division_code < $3`, "2026-12", sc.Lo, sc.Hi).Scan(&inTownship)
	})
	town50, town95 := measure(func() error { _, err := s.Completion(officer(township), "", dec); return err })
	county50, county95 := measure(func() error { _, err := s.Completion(officer(apptest.County), "", dec); return err })
	list50, list95 := measure(func() error {
		_, err := s.WatchList(officer(township), visits.WatchFilter{Kind: visits.ListOverdue}, "", 20)
		return err
	})
	ratio := func(x time.Duration) float64 { return float64(x) / float64(max(peer95, time.Microsecond)) }
	b.Logf("%s: %d visits loaded in %v; township %s has %d", dialect, n, load.Round(time.Millisecond), township, inTownship)
	b.Logf("peer COUNT(*) of the township's month   p50 %v p95 %v", peer50, peer95)
	b.Logf("township supervision figures           p50 %v p95 %v (%.1f× the peer's p95)", town50, town95, ratio(town95))
	b.Logf("county supervision figures             p50 %v p95 %v (%.1f×)", county50, county95, ratio(county95))
	b.Logf("township overdue list, first page      p50 %v p95 %v (%.1f×)", list50, list95, ratio(list95))
	b.ReportMetric(float64(town95.Microseconds())/1000, "township-p95-ms")
}
