package visits

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
)

const benchUsage = `linli bench visits [--division CODE] [--month YYYY-MM] [--rates-month YYYY-MM] [--only schedule|rates] [--data-dir DIR | --database-url URL]

在已有登记数据（如 linli serve --demo --demo-scale county）上生成一个月的探访计划，与同样行数的裸 INSERT … SELECT 对照，
打印两者用时与倍数及各语句用时；测完删除测试月份的数据。再按指标引擎的算法计算全省某月 C07（应探访、已探访两个数据元素），
与对探访表的一次 GROUP BY 对照（各取多次中位数）。
Generates a month's schedule over the registry already in the store (e.g. after
linli serve --demo --demo-scale county) and a bare INSERT … SELECT of the same rows,
printing both times, the ratio and each statement's time; the month's rows are
removed afterwards. Then computes the province's C07 for a month with visits as the
indicator engine does (its two data elements) against one GROUP BY over the visits
table (medians of several runs).

例 / example:
  linli bench visits --division 330106 --data-dir ./data`

// BenchResult is one run of the schedule benchmark.
type BenchResult struct {
	Rows     int64
	Schedule time.Duration
	Bare     time.Duration
	Steps    []Step // the schedule's statements
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
	b.Schedule, b.Rows, b.Steps = time.Since(start), res.Created, res.Steps
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

// RatesBench is the province's C07 for a month against a peer.
type RatesBench struct {
	Month          string
	Due, Visited   float64
	C07, GroupBy   time.Duration // medians
	Distinct       time.Duration // the GROUP BY counting distinct subjects
	Runs, PeerRows int
}

// Ratio is C07's time over the GROUP BY's.
func (b RatesBench) Ratio() float64 { return b.C07.Seconds() / b.GroupBy.Seconds() }

// DistinctRatio is C07's time over the distinct-counting GROUP BY's.
func (b RatesBench) DistinctRatio() float64 { return b.C07.Seconds() / b.Distinct.Seconds() }

// BenchRates times the province's C07 for month as the indicator engine
// computes it — the sums of its two data elements, special_elderly_due and
// special_elderly_visited, over the province — against one GROUP BY of the
// month's visits by province over the visits table (and one counting
// distinct subjects, the work a rate cannot skip), alternately, runs
// times each; the medians are kept.
func (s *Store) BenchRates(ctx context.Context, month Month, runs int) (RatesBench, error) {
	b := RatesBench{Month: month.String(), Runs: runs}
	prov := access.Subtree("33")
	g := module.Group{Lo: prov.Lo, Hi: prov.Hi, Prefix: 2, Year: month.Year, Month: int(month.Month)}
	var c07, peer, distinct []time.Duration
	for range runs {
		start := time.Now()
		due, err := CountTargets(ctx, s.DB.R, GroupSpecialElderly, false, g)
		if err != nil {
			return b, err
		}
		done, err := CountTargets(ctx, s.DB.R, GroupSpecialElderly, true, g)
		if err != nil {
			return b, err
		}
		c07 = append(c07, time.Since(start))
		b.Due, b.Visited = due["33"], done["33"]
		start = time.Now()
		groups, err := db.Collect(ctx, s.DB.R, db.Value[int], `SELECT COUNT(*) FROM vis_visits WHERE month = $1 GROUP BY substr(division_code, 1, 2)`, month.String())
		if err != nil {
			return b, err
		}
		peer = append(peer, time.Since(start))
		b.PeerRows = len(groups)
		start = time.Now()
		if _, err := db.Collect(ctx, s.DB.R, db.Value[int], `SELECT COUNT(DISTINCT subject_id) FROM vis_visits WHERE month = $1 GROUP BY substr(division_code, 1, 2)`, month.String()); err != nil {
			return b, err
		}
		distinct = append(distinct, time.Since(start))
	}
	b.C07, b.GroupBy, b.Distinct = median(c07), median(peer), median(distinct)
	return b, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func runBench(c module.CLI, args []string) int {
	var division, month, ratesMonth, only string
	m, _, closeApp, code := c.Open("bench visits", args, func(fs *flag.FlagSet) {
		fs.StringVar(&division, "division", "330106", "区划代码 / division code")
		fs.StringVar(&month, "month", "2099-01", "测试月份（须无探访）/ a month without visits")
		fs.StringVar(&only, "only", "", "只测 schedule 或 rates（空：两者）/ measure only schedule or rates (empty: both)")
		fs.StringVar(&ratesMonth, "rates-month", "", "计算 C07 的月份（空：有探访的最近月份）/ the month for C07 (empty: the latest with visits)")
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
	if only != "" && only != "schedule" && only != "rates" {
		return module.Fail(c, fault.Invalid(fault.M("--only 须为 schedule 或 rates", "--only must be schedule or rates"), fault.Field("only", fault.M("须为 schedule 或 rates", "must be schedule or rates"))))
	}
	if only != "rates" {
		b, err := StoreOf(m).BenchSchedule(ctx, mo, division)
		if err != nil {
			return module.Fail(c, err)
		}
		fmt.Fprintf(c.Stdout, "探访计划 %s / schedule for %s in %s: %d visits\n", mo, mo, division, b.Rows)
		fmt.Fprintf(c.Stdout, "  生成（含对账、随人迁移）/ generate (with reconcile and moves): %v\n", b.Schedule.Round(time.Millisecond))
		fmt.Fprintf(c.Stdout, "  裸 INSERT … SELECT 同样行数 / bare INSERT … SELECT of the same rows: %v\n", b.Bare.Round(time.Millisecond))
		fmt.Fprintf(c.Stdout, "  倍数 / ratio: %.2f× (目标 / aim ≤ 3×)\n", b.Ratio())
		fmt.Fprintln(c.Stdout, "  各语句 / statements:")
		for _, st := range b.Steps {
			fmt.Fprintf(c.Stdout, "    %-28s %10v %8d rows\n", st.Name, st.Took.Round(time.Millisecond), st.Rows)
		}
	}
	if only == "schedule" {
		return 0
	}
	st := StoreOf(m)
	if ratesMonth == "" {
		if err := st.DB.R.QueryRowContext(ctx, `SELECT COALESCE(MAX(month), '') FROM vis_visits WHERE month < $1`, mo.String()).Scan(&ratesMonth); err != nil {
			return module.Fail(c, err)
		}
		if ratesMonth == "" {
			fmt.Fprintln(c.Stdout, "没有探访数据，不计算 C07 / no visits: C07 not measured")
			return 0
		}
	}
	rm, err := ParseMonth(ratesMonth)
	if err != nil {
		return module.Fail(c, err)
	}
	r, err := st.BenchRates(ctx, rm, 7)
	if err != nil {
		return module.Fail(c, err)
	}
	c07 := "—"
	if r.Due > 0 {
		c07 = fmt.Sprintf("%.1f%%", 100*r.Visited/r.Due)
	}
	fmt.Fprintf(c.Stdout, "全省 C07 %s / the province's C07 for %s: %s (%.0f ÷ %.0f), %d 次取中位数 / median of %d runs\n", rm, rm, c07, r.Visited, r.Due, r.Runs, r.Runs)
	fmt.Fprintf(c.Stdout, "  C07（两个数据元素）/ C07 (its two data elements): %v\n", r.C07.Round(time.Microsecond))
	fmt.Fprintf(c.Stdout, "  探访表一次 GROUP BY / one GROUP BY over the visits table: %v\n", r.GroupBy.Round(time.Microsecond))
	fmt.Fprintf(c.Stdout, "  倍数 / ratio: %.2f× (目标 / aim ≤ 2×)\n", r.Ratio())
	fmt.Fprintf(c.Stdout, "  对照：一次按人去重的 GROUP BY / for reference, one GROUP BY counting distinct subjects: %v (C07 %.2f×)\n", r.Distinct.Round(time.Microsecond), r.DistinctRatio())
	return 0
}
