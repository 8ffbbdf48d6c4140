package visits

import (
	"context"
	"flag"
	"fmt"
	"time"

	"linli/internal/access"
	"linli/internal/module"
)

const benchUsage = `linli bench visits [--division CODE] [--month YYYY-MM] [--data-dir DIR | --database-url URL]

在已有登记数据（如 linli serve --demo --demo-scale county）上生成一个月的探访计划，与同样行数的裸 INSERT … SELECT 对照，
打印两者用时与倍数；测完删除测试月份的数据。
Generates a month's schedule over the registry already in the store (e.g. after
linli serve --demo --demo-scale county) and a bare INSERT … SELECT of the same rows,
printing both times and the ratio; the month's rows are removed afterwards.

例 / example:
  linli bench visits --division 330106 --data-dir ./data`

// BenchResult is one run of the schedule benchmark.
type BenchResult struct {
	Rows     int64
	Schedule time.Duration
	Bare     time.Duration
}

// Ratio is the schedule's time over the bare insert's.
func (b BenchResult) Ratio() float64 { return b.Schedule.Seconds() / b.Bare.Seconds() }

// BenchSchedule times Schedule for month over within against a bare
// INSERT … SELECT of the same rows into the same table, then removes the
// month's visits and the copy it made. The month must have no visits.
func (s *Store) BenchSchedule(ctx context.Context, month Month, within string) (BenchResult, error) {
	var b BenchResult
	var n int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM vis_visits WHERE month = $1`, month.String()).Scan(&n); err != nil {
		return b, err
	}
	if n > 0 {
		return b, fmt.Errorf("visits bench: %s already has %d visits; choose an empty month", month, n)
	}
	defer s.DB.W.ExecContext(context.Background(), `DELETE FROM vis_visits WHERE month = $1`, month.String())
	saved := s.Notices
	s.Notices = nil // the benchmark tells nobody
	defer func() { s.Notices = saved }()
	start := time.Now()
	res, err := s.scheduleAt(ctx, month, within, month.first())
	if err != nil {
		return b, err
	}
	b.Schedule, b.Rows = time.Since(start), res.Created
	// The peer writes the same rows into the same table (its indexes and
	// keys) by a bare INSERT … SELECT from a copy: the cost of the rows
	// themselves, without finding targets, owners or reconciling.
	const cols = `programme_id, month, origin, subject_id, resident_id, household_id, division_code, grid_id, owner, due_date, status, created_at, updated_at`
	if _, err := s.DB.W.ExecContext(ctx, `CREATE TABLE vis_bench_peer AS SELECT `+cols+` FROM vis_visits WHERE month = $1`, month.String()); err != nil {
		return b, err
	}
	defer s.DB.W.ExecContext(context.Background(), `DROP TABLE vis_bench_peer`)
	if _, err := s.DB.W.ExecContext(ctx, `DELETE FROM vis_visits WHERE month = $1`, month.String()); err != nil {
		return b, err
	}
	start = time.Now()
	if _, err := s.DB.W.ExecContext(ctx, `INSERT INTO vis_visits (`+cols+`) SELECT `+cols+` FROM vis_bench_peer`); err != nil {
		return b, err
	}
	b.Bare = time.Since(start)
	return b, nil
}

func runBench(c module.CLI, args []string) int {
	var division, month string
	m, _, closeApp, code := c.Open("bench visits", args, func(fs *flag.FlagSet) {
		fs.StringVar(&division, "division", "330106", "区划代码 / division code")
		fs.StringVar(&month, "month", "2099-01", "测试月份（须无探访）/ a month without visits")
	})
	if code >= 0 {
		return code
	}
	defer closeApp()
	mo, err := ParseMonth(month)
	if err != nil {
		return module.Fail(c, err)
	}
	ctx := access.With(context.Background(), access.Operator())
	b, err := StoreOf(m).BenchSchedule(ctx, mo, division)
	if err != nil {
		return module.Fail(c, err)
	}
	fmt.Fprintf(c.Stdout, "探访计划 %s / schedule for %s in %s: %d visits\n", mo, mo, division, b.Rows)
	fmt.Fprintf(c.Stdout, "  生成（含对账、随人迁移）/ generate (with reconcile and moves): %v\n", b.Schedule.Round(time.Millisecond))
	fmt.Fprintf(c.Stdout, "  裸 INSERT … SELECT 同样行数 / bare INSERT … SELECT of the same rows: %v\n", b.Bare.Round(time.Millisecond))
	fmt.Fprintf(c.Stdout, "  倍数 / ratio: %.2f× (目标 / aim ≤ 3×)\n", b.Ratio())
	return 0
}
