package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"linli/internal/access"
	"linli/internal/registry"
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

func init() {
	extraCommands["import"] = command{"批量导入登记库 / bulk import into the registry (CSV/xlsx)", importUsage, runImport}
}

func runImport(e env, args []string) int {
	var kind, file, division, format string
	var apply bool
	if len(args) > 0 && args[0] == "template" {
		fs := flag.NewFlagSet("import template", flag.ContinueOnError)
		fs.SetOutput(e.stderr)
		fs.StringVar(&kind, "kind", "residents", "类型 / kind")
		fs.StringVar(&format, "format", "xlsx", "xlsx | csv")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		if err := registry.Template(e.stdout, kind, format); err != nil {
			return fail(e, err)
		}
		return 0
	}
	a, _, code := openApp(e, "import", args, func(fs *flag.FlagSet) {
		fs.StringVar(&kind, "kind", "", "类型 / kind")
		fs.StringVar(&file, "file", "", "CSV 或 xlsx 文件 / CSV or xlsx file")
		fs.StringVar(&division, "division", "", "以该辖区干部身份导入 / import as an officer of this division")
		fs.BoolVar(&apply, "apply", false, "检查通过后写入 / write when the check passes")
	})
	if code >= 0 {
		return code
	}
	defer a.Close()
	if kind == "" || file == "" || division == "" {
		fmt.Fprintln(e.stderr, importUsage)
		return 2
	}
	if _, err := a.Divisions.Get(context.Background(), division); err != nil {
		return fail(e, fmt.Errorf("区划 %s 不存在 / no division %s", division, division))
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fail(e, err)
	}
	ctx := access.With(context.Background(), &access.Principal{Username: "cli", Role: access.Officer, Division: division})
	s := &registry.Store{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Divs: a.Divisions}
	bar := newBar(e.stderr, "导入 / importing")
	start := time.Now()
	rep, err := s.Import(ctx, kind, data, apply, bar.set)
	if err != nil {
		var msg interface{ Error() string } = err
		return fail(e, errors.New(strings.TrimSpace(msg.Error())))
	}
	for _, re := range rep.Errors {
		fmt.Fprintf(e.stdout, "第 %d 行 / row %d\t%s\t%s / %s\n", re.Row, re.Row, re.Column, re.ZH, re.EN)
	}
	switch {
	case len(rep.Errors) > 0:
		fmt.Fprintf(e.stdout, "发现 %d 个问题，未写入任何数据 / %d problems found; nothing was written\n", len(rep.Errors), len(rep.Errors))
		return 1
	case rep.Applied:
		fmt.Fprintf(e.stdout, "已导入 %d 行，用时 %.1f 秒 / imported %d rows in %.1fs (created %d, updated %d; residents %d, households created %d, tags added %d)\n",
			rep.Rows, time.Since(start).Seconds(), rep.Rows, time.Since(start).Seconds(), rep.Created, rep.Updated, rep.Extra.Residents, rep.Extra.Households, rep.Extra.Tags)
	default:
		fmt.Fprintf(e.stdout, "检查通过：%d 行，加 --apply 写入 / check passed: %d rows; add --apply to write\n", rep.Rows, rep.Rows)
	}
	return 0
}

// bar is a throttled one-line terminal progress bar.
type bar struct {
	w     io.Writer
	label string
	mu    sync.Mutex
	last  time.Time
	start time.Time
}

func newBar(w io.Writer, label string) *bar { return &bar{w: w, label: label, start: time.Now()} }

func (b *bar) set(done, total int) {
	if total <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if done < total && time.Since(b.last) < 200*time.Millisecond {
		return
	}
	b.last = time.Now()
	const width = 30
	fill := done * width / total
	fmt.Fprintf(b.w, "\r%s [%s%s] %3d%% (%d/%d) %.1fs", b.label, strings.Repeat("#", fill), strings.Repeat(" ", width-fill), done*100/total, done, total, time.Since(b.start).Seconds())
	if done >= total {
		fmt.Fprintln(b.w)
	}
}
