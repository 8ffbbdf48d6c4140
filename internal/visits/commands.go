package visits

import (
	"context"
	"flag"
	"fmt"

	"linli/internal/module"
)

const scheduleUsage = `linli visits schedule --month YYYY-MM [--division CODE] [--data-dir DIR | --database-url URL]

为一个月生成（并核对）探访计划：每个探访对象按项目频次有到期探访和负责人；可重复执行，不会重复生成。
Generates (and reconciles) a month's visit schedule: every target has its due visits
with an owner; running it again, or in two processes at once, creates nothing twice.

例 / example:
  linli visits schedule --month 2026-12
  linli visits schedule --month 2026-12 --division 330106`

func runSchedule(c module.CLI, args []string) int {
	var month, division string
	m, _, closeApp, code := c.Open("visits schedule", args, func(fs *flag.FlagSet) {
		fs.StringVar(&month, "month", "", "月份 YYYY-MM / the month, YYYY-MM")
		fs.StringVar(&division, "division", "", "区划代码（空：全省）/ division code (empty: the province)")
	})
	if code >= 0 {
		return code
	}
	defer closeApp()
	mo, err := ParseMonth(month)
	if err != nil {
		return module.Fail(c, err)
	}
	res, err := StoreOf(m).Schedule(context.Background(), mo, division)
	if err != nil {
		return module.Fail(c, err)
	}
	fmt.Fprintf(c.Stdout, "%s: 新生成 %d 次探访，取消 %d 次，随人迁移 %d 次，通知 %d 人 / created %d, cancelled %d, moved %d, notified %d\n",
		res.Month, res.Created, res.Cancelled, res.Moved, res.Notified, res.Created, res.Cancelled, res.Moved, res.Notified)
	return 0
}
