package registry

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/module"
)

const importUsage = `linli import --kind KIND --file FILE --division CODE [--apply] [--data-dir DIR | --database-url URL]
linli import template --kind KIND [--format xlsx|csv] > template.xlsx

类型 / kinds: residents, households, tags, facilities, organizations, personnel.
默认只检查并列出所有问题（行、列、原因）；加 --apply 时全部无误才在一个事务内导入，
否则不写入任何数据。按自然键（身份证号盲索引、登记证号、设施编码等）去重，重复导入不产生重复记录。
以 --division 指定辖区的干部身份执行，操作记入审计日志（操作人 cli）。
By default the file is only checked and every problem is listed (row, column,
reason); with --apply it is written in one transaction only if every row is
right. Rows are matched by natural keys, so re-importing creates no duplicates.
Runs as an officer of --division; audited as "cli".

例 / examples:
  linli import template --kind residents > residents.xlsx
  linli import --kind residents --file residents.xlsx --division 330106
  linli import --kind residents --file residents.xlsx --division 330106 --apply`

func runImport(e module.CLI, args []string) int {
	var kind, file, division, format string
	var apply bool
	if len(args) > 0 && args[0] == "template" {
		fs := flag.NewFlagSet("import template", flag.ContinueOnError)
		fs.SetOutput(e.Stderr)
		fs.StringVar(&kind, "kind", "residents", "类型 / kind")
		fs.StringVar(&format, "format", "xlsx", "xlsx | csv")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		if err := Template(e.Stdout, kind, format); err != nil {
			return module.Fail(e, err)
		}
		return 0
	}
	m, _, closeApp, code := e.Open("import", args, func(fs *flag.FlagSet) {
		fs.StringVar(&kind, "kind", "", "类型 / kind")
		fs.StringVar(&file, "file", "", "CSV 或 xlsx 文件 / CSV or xlsx file")
		fs.StringVar(&division, "division", "", "以该辖区干部身份导入 / import as an officer of this division")
		fs.BoolVar(&apply, "apply", false, "检查通过后写入 / write when the check passes")
	})
	if code >= 0 {
		return code
	}
	defer closeApp()
	s := m.(*registryModule).store
	if kind == "" || file == "" || division == "" {
		fmt.Fprintln(e.Stderr, importUsage)
		return 2
	}
	if _, err := s.Divs.Get(context.Background(), division); errors.Is(err, db.ErrNotFound) {
		return module.Fail(e, fmt.Errorf("区划 %s 不存在 / no division %s", division, division))
	} else if err != nil {
		return module.Fail(e, err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return module.Fail(e, err)
	}
	ctx := access.With(context.Background(), &access.Principal{Username: "cli", Role: access.Officer, Division: division})
	bar := module.NewBar(e.Stderr, "导入 / importing")
	start := s.Now()
	rep, err := s.Import(ctx, kind, data, apply, bar.Set)
	if err != nil {
		return module.Fail(e, err)
	}
	for _, re := range rep.Errors {
		fmt.Fprintf(e.Stdout, "第 %d 行 / row %d\t%s\t%s / %s\n", re.Row, re.Row, re.Column, re.ZH, re.EN)
	}
	switch {
	case len(rep.Errors) > 0:
		fmt.Fprintf(e.Stdout, "发现 %d 个问题，未写入任何数据 / %d problems found; nothing was written\n", len(rep.Errors), len(rep.Errors))
		return 1
	case rep.Applied:
		took := s.Now().Sub(start).Seconds()
		fmt.Fprintf(e.Stdout, "已导入 %d 行，用时 %.1f 秒 / imported %d rows in %.1fs (created %d, updated %d; residents %d, households created %d, tags added %d)\n",
			rep.Rows, took, rep.Rows, took, rep.Created, rep.Updated, rep.Extra.Residents, rep.Extra.Households, rep.Extra.Tags)
	default:
		fmt.Fprintf(e.Stdout, "检查通过：%d 行，加 --apply 写入 / check passed: %d rows; add --apply to write\n", rep.Rows, rep.Rows)
	}
	return 0
}
