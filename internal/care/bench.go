package care

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/module"
)

const benchUsage = `linli bench care [--county CODE] [--data-dir DIR | --database-url URL]

在已有数据（如 linli bench demo 生成的）上为 --county 重新发放最近一个月的居家养老补贴额度（按规则为每位符合条件的居民写一行，
并使此前月份的余额过期），与同样行数的裸 INSERT … SELECT 对照，打印两者用时、倍数和系统负载；测完恢复该月原有的额度（审计日志保留）。
Runs the county's latest month of the home-care quota again over the data already in the store
(e.g. after linli bench demo): one row per eligible resident under the rule in force, and the
months before expired. As the peer in the same run, a bare INSERT … SELECT writes the same rows
into the same table. Prints both times, the ratio and the load average; the month's ledger is
restored afterwards (the audit log keeps its entry).

例 / example:
  linli bench care --county 330106 --data-dir ./bench-county`

// BenchResult is one run of the quota benchmark.
type BenchResult struct {
	Month     string
	Residents int
	Run, Bare time.Duration
}

// Ratio is the run's time over the bare insert's.
func (b BenchResult) Ratio() float64 { return b.Run.Seconds() / b.Bare.Seconds() }

// BenchRun times the quota run of the county's latest month, run again
// (its rows and its record are put aside first and restored after),
// against a bare INSERT … SELECT of the same rows.
func (s *Store) BenchRun(ctx context.Context, county string) (BenchResult, error) {
	var b BenchResult
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COALESCE(MAX(month), '') FROM care_quota_runs WHERE county = $1`, county).Scan(&b.Month); err != nil {
		return b, err
	}
	if b.Month == "" {
		return b, fmt.Errorf("%s 尚未发放过额度（先运行 linli bench demo）/ no month of %s was granted yet (run linli bench demo first)", county, county)
	}
	sc := access.Subtree(county)
	w := s.DB.W
	const cols = `resident_id, month, division_code, rule_id, granted_fen, used_fen, expired_fen`
	const runCols = `county, month, rule_id, residents, granted_fen, expired_fen, run_by, run_at`
	// The month as it is, and what a run would expire, to restore after
	// (tables an interrupted run left behind go first).
	for _, t := range []string{"care_bench_saved", "care_bench_run", "care_bench_expiry", "care_bench_peer"} {
		if _, err := w.ExecContext(ctx, `DROP TABLE IF EXISTS `+t); err != nil {
			return b, err
		}
	}
	for _, q := range []string{
		`CREATE TABLE care_bench_saved AS SELECT ` + cols + ` FROM care_quota WHERE month = $1 AND division_code >= $2 AND division_code < $3`,
		`CREATE TABLE care_bench_run AS SELECT ` + runCols + ` FROM care_quota_runs WHERE month = $1 AND county >= $2 AND county < $3`,
		`CREATE TABLE care_bench_expiry AS SELECT resident_id, month FROM care_quota WHERE month < $1 AND division_code >= $2 AND division_code < $3 AND expired_fen = 0 AND granted_fen > used_fen`,
		`DELETE FROM care_quota WHERE month = $1 AND division_code >= $2 AND division_code < $3`,
		`DELETE FROM care_quota_runs WHERE month = $1 AND county >= $2 AND county < $3`,
	} {
		if _, err := w.ExecContext(ctx, q, b.Month, sc.Lo, sc.Hi); err != nil {
			return b, err
		}
	}
	defer func() {
		bg := context.Background()
		w.ExecContext(bg, `DELETE FROM care_quota WHERE month = $1 AND division_code >= $2 AND division_code < $3`, b.Month, sc.Lo, sc.Hi)
		w.ExecContext(bg, `DELETE FROM care_quota_runs WHERE month = $1 AND county >= $2 AND county < $3`, b.Month, sc.Lo, sc.Hi)
		w.ExecContext(bg, `INSERT INTO care_quota (`+cols+`) SELECT `+cols+` FROM care_bench_saved`)
		w.ExecContext(bg, `INSERT INTO care_quota_runs (`+runCols+`) SELECT `+runCols+` FROM care_bench_run`)
		w.ExecContext(bg, `UPDATE care_quota SET expired_fen = 0 WHERE EXISTS (SELECT 1 FROM care_bench_expiry x WHERE x.resident_id = care_quota.resident_id AND x.month = care_quota.month)`)
		for _, t := range []string{"care_bench_saved", "care_bench_run", "care_bench_expiry", "care_bench_peer"} {
			w.ExecContext(bg, `DROP TABLE IF EXISTS `+t)
		}
	}()
	officer := access.With(ctx, &access.Principal{Username: "bench", Role: access.Officer, Division: county})
	start := time.Now()
	run, err := s.RunMonth(officer, county, b.Month)
	if err != nil {
		if fe, ok := fault.As(err); ok {
			return b, fmt.Errorf("%s %s: %s / %s", county, b.Month, fe.Msg.ZH, fe.Msg.EN)
		}
		return b, err
	}
	b.Run, b.Residents = time.Since(start), run.Residents
	if _, err := w.ExecContext(ctx, `CREATE TABLE care_bench_peer AS SELECT `+cols+` FROM care_quota WHERE month = $1 AND division_code >= $2 AND division_code < $3`, b.Month, sc.Lo, sc.Hi); err != nil {
		return b, err
	}
	if _, err := w.ExecContext(ctx, `DELETE FROM care_quota WHERE month = $1 AND division_code >= $2 AND division_code < $3`, b.Month, sc.Lo, sc.Hi); err != nil {
		return b, err
	}
	start = time.Now()
	if _, err := w.ExecContext(ctx, `INSERT INTO care_quota (`+cols+`) SELECT `+cols+` FROM care_bench_peer`); err != nil {
		return b, err
	}
	b.Bare = time.Since(start)
	return b, nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func runBench(c module.CLI, args []string) int {
	var county string
	m, _, closeApp, code := c.Open("bench care", args, func(fs *flag.FlagSet) {
		fs.StringVar(&county, "county", "330106", "县（市、区）代码 / the county")
	})
	if code >= 0 {
		return code
	}
	defer closeApp()
	before := loadavg()
	b, err := StoreOf(m).BenchRun(context.Background(), county)
	if err != nil {
		return module.Fail(c, err)
	}
	fmt.Fprintf(c.Stdout, "居家养老补贴额度 %s %s / the home-care quota of %s for %s: %d eligible residents\n", county, b.Month, county, b.Month, b.Residents)
	fmt.Fprintf(c.Stdout, "  月度发放（规则、过期、审计）/ monthly run (rule, expiry, audit): %v\n", b.Run.Round(time.Millisecond))
	fmt.Fprintf(c.Stdout, "  裸 INSERT … SELECT 同样行数 / bare INSERT … SELECT of the same rows: %v\n", b.Bare.Round(time.Millisecond))
	fmt.Fprintf(c.Stdout, "  倍数 / ratio: %.2f× (目标 / aim ≤ 2×)   load average before %s, after %s\n", b.Ratio(), before, loadavg())
	return 0
}
