// Command linli is the whole Linli platform in one binary: the web and API
// server, migrations, account administration, backups and the life-circle
// tools.
package main

import (
	"flag"
	"fmt"
	"io"
	"linli/internal/app"
	"linli/internal/module"
	"os"
	"sort"
	"strings"
)

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// modules are the capabilities the platform runs; their commands join
	// the core's.
	modules []module.Spec
}

type command struct {
	summary string // bilingual one-liner
	usage   string // synopsis and an example
	run     func(e env, args []string) int
}

// commands are the core's commands and every module's top-level ones;
// "bench NAME" and "admin NAME" commands of modules join those families.
func (e env) commands() map[string]command {
	cs := map[string]command{
		"serve":   {"启动平台 / run the web platform and API", serveUsage, runServe},
		"migrate": {"执行数据库迁移 / apply database migrations and load divisions", "linli migrate [--data-dir DIR | --database-url URL]\n\n例 / example:\n  linli migrate --data-dir ./linli-data", runMigrate},
		"admin":   {"账号管理 / manage accounts from the command line", adminUsage, runAdmin},
		"audit":   {"审计日志 / audit log tools", auditUsage, runAudit},
		"backup":  {"在线备份 SQLite / online backup of the embedded store", backupUsage, runBackup},
		"restore": {"从备份恢复 SQLite / restore the embedded store from a backup", restoreUsage, runRestore},
		"bench":   {"性能基准（与对照同次运行）/ benchmarks against a peer in the same run", e.benchUsage(), runBench},
		"version": {"显示版本 / print the version", "linli version", runVersion},
		"help":    {"帮助 / help on a command", "linli help [COMMAND]\n\n例 / example:\n  linli help admin", runHelp},
	}
	// A module's "PARENT NAME" commands whose parent is not a core command
	// ("visits schedule") make a command of their own: PARENT dispatches on
	// NAME.
	var summaries, usages = map[string][]string{}, map[string][]string{}
	for _, spec := range e.modules {
		for _, c := range spec.Commands {
			parent, _, family := strings.Cut(c.Name, " ")
			if !family {
				cs[c.Name] = command{c.Summary, c.Usage, e.moduleRun(spec.Name, c)}
			} else if _, core := cs[parent]; !core || len(summaries[parent]) > 0 {
				summaries[parent] = append(summaries[parent], c.Summary)
				usages[parent] = append(usages[parent], c.Usage)
			}
		}
	}
	for parent := range summaries {
		usage := strings.Join(usages[parent], "\n\n")
		cs[parent] = command{strings.Join(summaries[parent], "；"), usage, func(e env, args []string) int {
			if len(args) == 0 {
				fmt.Fprintln(e.stderr, usage)
				return 2
			}
			c, ok := e.family(parent, args[0])
			if !ok {
				fmt.Fprintf(e.stderr, "未知命令 %q / unknown command %q\n\n%s\n", parent+" "+args[0], parent+" "+args[0], usage)
				return 2
			}
			return c.run(e, args[1:])
		}}
	}
	return cs
}

// family finds a module's "PARENT NAME" command (bench, admin).
func (e env) family(parent, name string) (command, bool) {
	for _, spec := range e.modules {
		for _, c := range spec.Commands {
			if c.Name == parent+" "+name {
				return command{c.Summary, c.Usage, e.moduleRun(spec.Name, c)}, true
			}
		}
	}
	return command{}, false
}

// moduleRun runs a module's command with a way to open the platform and
// get that module.
func (e env) moduleRun(name string, c module.Command) func(env, []string) int {
	return func(e env, args []string) int {
		cli := module.CLI{Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr,
			Open: func(cmd string, args []string, flags func(*flag.FlagSet)) (module.Module, []string, func(), int) {
				a, rest, code := openApp(e, cmd, args, flags)
				if code >= 0 {
					return nil, nil, nil, code
				}
				return a.Module(name), rest, func() { a.Close() }, -1
			}}
		return c.Run(cli, args)
	}
}

func main() {
	os.Exit(run(os.Args[1:], env{os.Stdin, os.Stdout, os.Stderr, app.Modules()}))
}

func run(args []string, e env) int {
	if len(args) == 0 {
		usage(e)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "--help" {
		name = "help"
	}
	c, ok := e.commands()[name]
	if !ok {
		fmt.Fprintf(e.stderr, "未知命令 %q / unknown command %q\n\n", name, name)
		usage(e)
		return 2
	}
	return c.run(e, args[1:])
}

func usage(e env) {
	w := e.stderr
	commands := e.commands()
	fmt.Fprintln(w, "邻里 Linli — 城乡现代社区服务平台 / urban-rural community service platform\n\n用法 / usage: linli COMMAND [options]\n\n命令 / commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\n详细帮助 / details: linli help COMMAND")
}

func runHelp(e env, args []string) int {
	if len(args) == 0 {
		e.stderr = e.stdout
		usage(e)
		return 0
	}
	c, ok := command{}, false
	if len(args) > 1 {
		c, ok = e.family(args[0], args[1])
	}
	if len(args) > 1 && args[0] == "bench" && args[1] == "pages" {
		c, ok = command{"页面压测 / every role's pages under load", benchPagesUsage, runBenchPages}, true
	}
	if len(args) > 1 && args[0] == "bench" && args[1] == "checkins" {
		c, ok = command{"报平安压测与 kill -9 核对 / check-ins under load with a kill -9 check", benchCheckinsUsage, runBenchCheckins}, true
	}
	if len(args) > 1 && args[0] == "bench" && args[1] == "ballots" {
		c, ok = command{"全街道表决压测与 kill -9 核对 / a township vote under load with a kill -9 check", benchBallotsUsage, runBenchBallots}, true
	}
	if len(args) > 1 && args[0] == "bench" && args[1] == "demo" {
		c, ok = command{"演示数据生成用时 / the demo's generation time against bare INSERTs", benchDemoUsage, runBenchDemo}, true
	}
	if !ok {
		c, ok = e.commands()[args[0]]
	}
	if !ok {
		fmt.Fprintf(e.stderr, "未知命令 %q / unknown command %q\n", args[0], args[0])
		return 2
	}
	fmt.Fprintf(e.stdout, "%s\n\n%s\n", c.summary, c.usage)
	return 0
}

// fail prints a one-line reason and returns the exit code: never a panic trace.
func fail(e env, err error) int {
	fmt.Fprintln(e.stderr, "错误 / error: "+strings.ReplaceAll(err.Error(), "\n", "; "))
	return 1
}

const auditUsage = `linli audit verify [--data-dir DIR | --database-url URL]
linli audit rebase [--data-dir DIR | --database-url URL]

verify 校验审计哈希链、每条的校验码和数据目录中的检查点（audit-checkpoints.jsonl），断链、被改写或链尾被截断时退出码为 1；
通过后写入新检查点。rebase 在从较早的备份恢复（pg_restore）后以当前链为新基线（链本身须完好）；linli restore 会自动执行。
verify checks the hash chain, each entry's MAC and the checkpoints in the data folder (audit-checkpoints.jsonl); it
exits 1 when the chain is broken, rewritten or cut short, and writes a new checkpoint when it passes. rebase makes the
current chain the new baseline after restoring an older backup with pg_restore (the chain itself must verify); linli
restore does it by itself.

例 / example:
  linli audit verify`

const backupUsage = "linli backup FILE [--data-dir DIR]\n\n在服务运行时也可执行；PostgreSQL 请用 pg_dump（见 README）。\nWorks while the server runs; for PostgreSQL use pg_dump (see README).\n例 / example:\n  linli backup /backups/linli-2026-11-29.db"

const restoreUsage = "linli restore FILE [--data-dir DIR]\n\n须先停止服务；原数据库会被替换。Stop the server first; the current database is replaced.\n例 / example:\n  linli restore /backups/linli-2026-11-29.db"

// benchUsage lists the benchmarks: the platform's own (pages, across
// every module and role) and the modules'.
func (e env) benchUsage() string {
	usages := []string{benchPagesUsage, benchDemoUsage, benchCheckinsUsage, benchBallotsUsage}
	for _, spec := range e.modules {
		for _, c := range spec.Commands {
			if strings.HasPrefix(c.Name, "bench ") {
				usages = append(usages, c.Usage)
			}
		}
	}
	return strings.Join(usages, "\n\n")
}

func runBench(e env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, e.benchUsage())
		return 2
	}
	switch args[0] {
	case "pages":
		return runBenchPages(e, args[1:])
	case "demo":
		return runBenchDemo(e, args[1:])
	case "checkins":
		return runBenchCheckins(e, args[1:])
	case "ballots":
		return runBenchBallots(e, args[1:])
	}
	c, ok := e.family("bench", args[0])
	if !ok {
		fmt.Fprintf(e.stderr, "未知基准 %q / unknown benchmark %q\n\n%s\n", args[0], args[0], e.benchUsage())
		return 2
	}
	return c.run(e, args[1:])
}
