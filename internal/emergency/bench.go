package emergency

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/module"
)

const benchUsage = `linli bench emergency [--division CODE] [--data-dir DIR | --database-url URL]

在已有登记数据（如 linli bench demo 生成的）上为 --division 发布一条预警（目标定位：每户一条、每位重点人员一条报平安记录），
与同样行数的裸 INSERT … SELECT 对照，打印两者用时、倍数和系统负载；测完删除这条预警及其记录（审计日志保留）。
Issues a warning for --division over the registry already in the store (e.g. after linli bench
demo): the targeting writes a check per household and per vulnerable resident. As the peer in the
same run, a bare INSERT … SELECT writes the same rows into the same table. Prints both times, the
ratio and the load average; the warning and its checks are removed afterwards (the audit log keeps
its entry).

例 / example:
  linli bench emergency --division 330106 --data-dir ./bench-county`

// BenchResult is one run of the issue benchmark.
type BenchResult struct {
	Households, Vulnerable int
	Issue, Bare            time.Duration
}

// Ratio is the issue's time over the bare insert's.
func (b BenchResult) Ratio() float64 { return b.Issue.Seconds() / b.Bare.Seconds() }

// BenchIssue times issuing a warning for division (notices off) against a
// bare INSERT … SELECT of the same checks from a copy, then removes both.
func (s *Store) BenchIssue(ctx context.Context, division string) (BenchResult, error) {
	var b BenchResult
	saved := s.Notices
	s.Notices = nil // the benchmark tells nobody
	defer func() { s.Notices = saved }()
	officer := access.With(ctx, &access.Principal{Username: "bench", Role: access.Officer, Division: division})
	start := time.Now()
	a, t, err := s.Issue(officer, AlertInput{Divisions: []string{division}, Event: "台风", Category: "Met", Colour: "red", ResponseLevel: "I",
		Headline: "基准测试 / benchmark", Instruction: "基准测试 / benchmark", Status: "Test"})
	if err != nil {
		return b, err
	}
	b.Issue, b.Households, b.Vulnerable = time.Since(start), t.Households, t.Vulnerable
	inc := a.IncidentID
	defer func() {
		bg := context.Background()
		s.DB.W.ExecContext(bg, `DELETE FROM em_checks WHERE incident_id = $1`, inc)
		s.DB.W.ExecContext(bg, `DELETE FROM em_tally WHERE incident_id = $1`, inc)
		s.DB.W.ExecContext(bg, `DELETE FROM em_alert_areas WHERE alert_id = $1`, a.ID)
		s.DB.W.ExecContext(bg, `DELETE FROM em_alerts WHERE id = $1`, a.ID)
	}()
	const cols = `incident_id, kind, subject_id, household_id, division_code, grid_id, helper, status, people, created_at, updated_at`
	if _, err := s.DB.W.ExecContext(ctx, `CREATE TABLE em_bench_peer AS SELECT `+cols+` FROM em_checks WHERE incident_id = $1`, inc); err != nil {
		return b, err
	}
	defer s.DB.W.ExecContext(context.Background(), `DROP TABLE em_bench_peer`)
	if _, err := s.DB.W.ExecContext(ctx, `DELETE FROM em_checks WHERE incident_id = $1`, inc); err != nil {
		return b, err
	}
	start = time.Now()
	if _, err := s.DB.W.ExecContext(ctx, `INSERT INTO em_checks (`+cols+`) SELECT `+cols+` FROM em_bench_peer`); err != nil {
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
	var division string
	m, _, closeApp, code := c.Open("bench emergency", args, func(fs *flag.FlagSet) {
		fs.StringVar(&division, "division", "330106", "预警区域的区划代码 / the warning's division")
	})
	if code >= 0 {
		return code
	}
	defer closeApp()
	before := loadavg()
	b, err := StoreOf(m).BenchIssue(context.Background(), division)
	if err != nil {
		return module.Fail(c, err)
	}
	fmt.Fprintf(c.Stdout, "预警 %s / a warning for %s: %d households, %d vulnerable residents\n", division, division, b.Households, b.Vulnerable)
	fmt.Fprintf(c.Stdout, "  发布（含目标定位、审计）/ issue (targeting, audit): %v\n", b.Issue.Round(time.Millisecond))
	fmt.Fprintf(c.Stdout, "  裸 INSERT … SELECT 同样行数 / bare INSERT … SELECT of the same rows: %v\n", b.Bare.Round(time.Millisecond))
	fmt.Fprintf(c.Stdout, "  倍数 / ratio: %.2f× (目标 / aim ≤ 2×)   load average before %s, after %s\n", b.Ratio(), before, loadavg())
	return 0
}
