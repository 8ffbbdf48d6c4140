// Command linli is the whole Linli platform in one binary: the web and API
// server, migrations, account administration, backups and the life-circle
// tools.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

type command struct {
	summary string // bilingual one-liner
	usage   string // synopsis and an example
	run     func(e env, args []string) int
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":   {"启动平台 / run the web platform and API", serveUsage, runServe},
		"migrate": {"执行数据库迁移 / apply database migrations and load divisions", "linli migrate [--data-dir DIR | --database-url URL]\n\n例 / example:\n  linli migrate --data-dir ./linli-data", runMigrate},
		"admin":   {"账号管理 / manage accounts from the command line", adminUsage, runAdmin},
		"audit":   {"审计日志 / audit log tools", "linli audit verify [--data-dir DIR | --database-url URL]\n\n校验审计哈希链，断链时退出码为 1 / checks the hash chain; exits 1 when it is broken.\n例 / example:\n  linli audit verify", runAudit},
		"backup":  {"在线备份 SQLite / online backup of the embedded store", "linli backup FILE [--data-dir DIR]\n\n在服务运行时也可执行；PostgreSQL 请用 pg_dump（见 README）。\nWorks while the server runs; for PostgreSQL use pg_dump (see README).\n例 / example:\n  linli backup /backups/linli-2026-11-29.db", runBackup},
		"restore": {"从备份恢复 SQLite / restore the embedded store from a backup", "linli restore FILE [--data-dir DIR]\n\n须先停止服务；原数据库会被替换。Stop the server first; the current database is replaced.\n例 / example:\n  linli restore /backups/linli-2026-11-29.db", runRestore},
		"version": {"显示版本 / print the version", "linli version", runVersion},
		"help":    {"帮助 / help on a command", "linli help [COMMAND]\n\n例 / example:\n  linli help admin", runHelp},
	}
	for name, c := range extraCommands {
		commands[name] = c
	}
}

// extraCommands are added by other files of this package (life-circle tools).
var extraCommands = map[string]command{}

func main() {
	os.Exit(run(os.Args[1:], env{os.Stdin, os.Stdout, os.Stderr}))
}

func run(args []string, e env) int {
	if len(args) == 0 {
		usage(e.stderr)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "--help" {
		name = "help"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.stderr, "未知命令 %q / unknown command %q\n\n", name, name)
		usage(e.stderr)
		return 2
	}
	return c.run(e, args[1:])
}

func usage(w io.Writer) {
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
		usage(e.stdout)
		return 0
	}
	c, ok := commands[args[0]]
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
