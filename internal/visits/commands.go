package visits

import (
	"context"
	"flag"
	"fmt"
	"time"

	"linli/internal/fault"
	"linli/internal/module"
)

const scheduleUsage = `linli visits schedule --month YYYY-MM [--division CODE] [--changed] [--data-dir DIR | --database-url URL]

为一个月生成（并核对）探访计划：每个探访对象按项目频次有到期探访和负责人；可重复执行，不会重复生成。
默认核对全部对象；--changed 只看上次全省核对以来变化的居民、户和网格（后台每 15 分钟即如此）。
Generates (and reconciles) a month's visit schedule: every target has its due visits
with an owner; running it again, or in two processes at once, creates nothing twice.
By default it looks at every target; --changed looks only at the residents, households
and grids changed since the last run over the province (as the background run does
every quarter hour).

例 / example:
  linli visits schedule --month 2026-12
  linli visits schedule --month 2026-12 --division 330106
  linli visits schedule --month 2026-12 --changed`

func runSchedule(c module.CLI, args []string) int {
	var month, division string
	var changed bool
	m, _, closeApp, code := c.Open("visits schedule", args, func(fs *flag.FlagSet) {
		fs.StringVar(&month, "month", "", "月份 YYYY-MM / the month, YYYY-MM")
		fs.StringVar(&division, "division", "", "区划代码（空：全省）/ division code (empty: the province)")
		fs.BoolVar(&changed, "changed", false, "只核对变化（全省）/ only what changed (the province)")
	})
	if code >= 0 {
		return code
	}
	defer closeApp()
	mo, err := ParseMonth(month)
	if err != nil {
		return module.Fail(c, err)
	}
	if changed && division != "" {
		return module.Fail(c, fault.Invalid(fault.M("--changed 只用于全省", "--changed is for the province only"), fault.Field("division", fault.M("与 --changed 同用时须为空", "must be empty with --changed"))))
	}
	start := time.Now()
	var res ScheduleResult
	if changed {
		res, err = StoreOf(m).Reconcile(context.Background(), mo)
	} else {
		res, err = StoreOf(m).Schedule(context.Background(), mo, division)
	}
	if err != nil {
		return module.Fail(c, err)
	}
	kind := "增量 / incremental"
	if res.Full {
		kind = "全量 / full"
	}
	fmt.Fprintf(c.Stdout, "%s，%v，%d 条语句，复核 %d 个对象 / %v, %d statements, %d subjects rechecked\n",
		kind, time.Since(start).Round(time.Millisecond), res.Statements, res.Rechecked, time.Since(start).Round(time.Millisecond), res.Statements, res.Rechecked)
	fmt.Fprintf(c.Stdout, "%s: 新生成 %d 次探访，取消 %d 次，随人迁移 %d 次，通知 %d 人 / created %d, cancelled %d, moved %d, notified %d\n",
		res.Month, res.Created, res.Cancelled, res.Moved, res.Notified, res.Created, res.Cancelled, res.Moved, res.Notified)
	return 0
}
