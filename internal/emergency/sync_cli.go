package emergency

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/module"
)

const exportUsage = `linli emergency export --as OFFICER --alert ID [--file FILE] [--data-dir DIR | --database-url URL]

以干部账号 --as 的身份导出预警 --alert 所属事件在其辖区内的响应记录（JSON Lines，含格式版本和 SHA-256），写入新文件 --file（默认标准输出）。
Exports, as the officer --as, the records of the incident of warning --alert within their jurisdiction
(JSON Lines with the format version and SHA-256) to the new file --file (default: standard output).

例 / example:
  linli emergency export --as officer.town --alert 0193… --file incident.jsonl --data-dir ./township`

const importUsage = `linli emergency import --as OFFICER --file FILE [--data-dir DIR | --database-url URL]

以干部账号 --as 的身份把 linli emergency export 的文件合并进本系统：先整体校验，有误即指明行和字段、不写入任何数据；再次导入不改变任何数据。
Merges a file of linli emergency export into this store as the officer --as: checked whole first (a fault
names its line and field and nothing is written); importing it again changes nothing.

例 / example:
  linli emergency import --as officer.county --file incident.jsonl --database-url "$LINLI_DATABASE_URL"`

func syncCommands() []module.Command {
	return []module.Command{
		{Name: "emergency export", Summary: "导出事件的响应记录（断网运行后合并用）/ export an incident's records (to merge after offline operation)", Usage: exportUsage, Run: runExport},
		{Name: "emergency import", Summary: "合并导入事件的响应记录 / merge an incident's exported records", Usage: importUsage, Run: runImport},
	}
}

// actAs is the principal of an enabled officer's account, for the
// command line: what it does is audited as theirs.
func (s *Store) actAs(ctx context.Context, username string) (context.Context, error) {
	var role, div string
	err := s.DB.R.QueryRowContext(ctx, `SELECT role, division_code FROM users WHERE username = $1 AND NOT disabled`, username).Scan(&role, &div)
	if errors.Is(err, sql.ErrNoRows) || err == nil && access.Role(role) != access.Officer {
		return ctx, fault.Forbidden(fault.M("--as 须为启用中的乡镇（街道）或县级干部账号", "--as must be an enabled township or county officer's account"))
	}
	if err != nil {
		return ctx, err
	}
	return access.With(ctx, &access.Principal{Username: username, Role: access.Officer, Division: div}), nil
}

func runExport(c module.CLI, args []string) int {
	var as, alert, out string
	m, _, closeApp, code := c.Open("emergency export", args, func(fs *flag.FlagSet) {
		fs.StringVar(&as, "as", "", "干部账号 / the officer's account")
		fs.StringVar(&alert, "alert", "", "预警编号 / the warning's id")
		fs.StringVar(&out, "file", "", "输出文件（默认标准输出）/ the file to write (default: standard output)")
	})
	if code >= 0 {
		return code
	}
	defer closeApp()
	s := StoreOf(m)
	ctx, err := s.actAs(context.Background(), as)
	if err != nil {
		return module.Fail(c, err)
	}
	x, err := s.ExportIncident(ctx, alert)
	if err != nil {
		return module.Fail(c, err)
	}
	if out == "" || out == "-" {
		_, err = c.Stdout.Write(x.Body)
	} else {
		err = writeNew(out, x.Body)
	}
	if err != nil {
		return module.Fail(c, err)
	}
	if out != "" && out != "-" {
		fmt.Fprintf(c.Stdout, "已导出 / exported: %s (%d bytes, SHA-256 %s)\n", out, len(x.Body), x.SHA256)
	}
	return 0
}

// writeNew writes a new private file: the records name households and
// residents by id, and a file of the same name is not overwritten.
func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func runImport(c module.CLI, args []string) int {
	var as, file string
	m, rest, closeApp, code := c.Open("emergency import", args, func(fs *flag.FlagSet) {
		fs.StringVar(&as, "as", "", "干部账号 / the officer's account")
		fs.StringVar(&file, "file", "", "导出文件（- 为标准输入）/ the export file (- for standard input)")
	})
	if code >= 0 {
		return code
	}
	defer closeApp()
	if file == "" || len(rest) != 0 {
		fmt.Fprintln(c.Stderr, importUsage)
		return 2
	}
	s := StoreOf(m)
	ctx, err := s.actAs(context.Background(), as)
	if err != nil {
		return module.Fail(c, err)
	}
	var in io.Reader = c.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return module.Fail(c, err)
		}
		defer f.Close()
		in = f
	}
	res, err := s.ImportIncident(ctx, in)
	if err != nil {
		if we, ok := fault.As(err); ok {
			for _, fe := range we.Fields {
				fmt.Fprintln(c.Stderr, fe.Message+" / "+fe.MessageEN)
			}
		}
		return module.Fail(c, err)
	}
	if res.Unchanged() {
		fmt.Fprintf(c.Stdout, "文件的记录均已在本系统中，未作任何改动 / every record is here already; nothing changed (incident %s, SHA-256 %s)\n", res.IncidentID, res.SHA256)
		return 0
	}
	fmt.Fprintf(c.Stdout, "已合并 / merged incident %s: %s (SHA-256 %s)\n", res.IncidentID, res, res.SHA256)
	return 0
}
