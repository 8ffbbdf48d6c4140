package registry

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/module"
)

const exportUsage = `linli export --kind KIND --division CODE --file FILE [--format csv|xlsx] [--unmasked --reason TEXT] [--data-dir DIR | --database-url URL]

类型 / kinds: residents, households, facilities, organizations, personnel, grids.
以 --division 指定辖区的干部身份导出该辖区（含下级）的全部记录，边读边写入文件（0600），
在终端显示进度；失败时不留下文件。操作记入审计日志（操作人 cli）。
Exports every record of the division and its subtree as an officer of it,
writing the file (0600) as the rows are read, with a progress line; a
failed export leaves no file. Audited as "cli".

例 / example:
  linli export --kind residents --division 330106 --format csv --file residents.csv`

func runExport(e module.CLI, args []string) int {
	var kind, division, format, file, reason string
	var unmasked bool
	m, _, closeApp, code := e.Open("export", args, func(fs *flag.FlagSet) {
		fs.StringVar(&kind, "kind", "", "类型 / kind")
		fs.StringVar(&division, "division", "", "以该辖区干部身份导出 / export as an officer of this division")
		fs.StringVar(&format, "format", "csv", "csv | xlsx")
		fs.StringVar(&file, "file", "", "输出文件 / output file")
		fs.BoolVar(&unmasked, "unmasked", false, "未脱敏 / unmasked")
		fs.StringVar(&reason, "reason", "", "未脱敏导出的理由 / reason of an unmasked export")
	})
	if code >= 0 {
		return code
	}
	defer closeApp()
	s := m.(*registryModule).store
	if kind == "" || division == "" || file == "" {
		fmt.Fprintln(e.Stderr, exportUsage)
		return 2
	}
	ctx := context.Background()
	if _, err := s.Divs.Get(ctx, division); errors.Is(err, db.ErrNotFound) {
		return module.Fail(e, fmt.Errorf("区划 %s 不存在 / no division %s", division, division))
	} else if err != nil {
		return module.Fail(e, err)
	}
	// The operator acts as an officer of the division (the registry's
	// rules of scope and masking apply as on the pages).
	ctx = access.With(ctx, &access.Principal{Username: "cli", Role: access.Officer, Division: division})
	x, err := s.StartExport(ctx, ExportOptions{Kind: kind, Format: format, Unmasked: unmasked, Reason: reason, Filter: Filter{Division: division},
		Resident: ResidentFilter{Division: division}, Household: HouseholdFilter{Division: division}})
	if err != nil {
		return module.Fail(e, err)
	}
	total, err := x.Count(ctx, maxCount)
	if err != nil {
		return module.Fail(e, err)
	}
	bar := module.NewBar(e.Stderr, "导出 / exporting")
	rows := 0
	x.Progress = func(done int) {
		rows = done
		// Rows added since the count must not push the bar past its end.
		bar.Set(min(done, total), total)
	}
	if err := writeFile(file, func(f *os.File) error { return x.Write(ctx, f) }); err != nil {
		return module.Fail(e, err)
	}
	fmt.Fprintf(e.Stdout, "已导出 %d 行到 %s / exported %d rows to %s\n", rows, file, rows, file)
	return 0
}

// maxCount is a limit no export reaches: an exact count.
const maxCount = 1 << 30

// writeFile writes a file through a temporary one beside it (0600), put
// in place only when write succeeds: a failed export leaves no file that
// looks complete.
func writeFile(name string, write func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.part")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone once renamed; removes a failed one
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
