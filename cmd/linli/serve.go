package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"linli/internal/app"
	"linli/internal/config"
	"linli/internal/web"
)

const serveUsage = `linli serve [--addr HOST:PORT] [--data-dir DIR | --database-url URL] [--demo] [--demo-county CODE] [--demo-seed N] [--demo-scale community|county|0.02]

首次启动时加载浙江省全部区划，创建首个系统管理员并在终端打印一次性密码。
On first start it loads all Zhejiang divisions and creates the first system
administrator, printing its one-time password once.

--demo 在 西湖区(330106) 生成合成的演示数据和各角色演示账号（密码只打印一次）。
--demo fills 西湖区 (330106) with synthetic data and one demo account per role
(passwords printed once).

环境变量 / environment: LINLI_ADDR, LINLI_DATA_DIR, LINLI_DATABASE_URL, LINLI_DATA_KEY,
LINLI_SESSION_IDLE, LINLI_SESSION_MAX, LINLI_SECURE_COOKIES, LINLI_TRUST_PROXY,
LINLI_MAX_BODY, LINLI_LOG_LEVEL, LINLI_METRICS_TOKEN, LINLI_METRICS_ADDR.

例 / examples:
  linli serve --demo
  LINLI_DATABASE_URL=postgres://linli@db/linli linli serve --addr :8080`

func newLogger(level string, w *os.File) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l, ReplaceAttr: redactAttr}))
}

func loadConfig(e env, name string, args []string, extra func(*flag.FlagSet)) (config.Config, []string, int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if extra != nil {
		extra(fs)
	}
	cfg, err := config.Load(fs, args, app.Settings(e.modules)...)
	if errors.Is(err, flag.ErrHelp) {
		return cfg, nil, 0
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "配置错误 / configuration error:")
		for _, line := range splitLines(err.Error()) {
			fmt.Fprintln(e.stderr, "  - "+line)
		}
		return cfg, nil, 2
	}
	return cfg, fs.Args(), -1
}

func runServe(e env, args []string) int {
	var demo bool
	var demoCounty string
	var demoSeed uint64
	var demoScale string
	cfg, _, code := loadConfig(e, "serve", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&demo, "demo", false, "生成演示数据 / fill synthetic demo data")
		fs.StringVar(&demoCounty, "demo-county", "330106", "演示区县代码 / demo county code")
		fs.Uint64Var(&demoSeed, "demo-seed", 1, "演示数据随机种子 / demo data seed")
		fs.StringVar(&demoScale, "demo-scale", os.Getenv("LINLI_DEMO_SCALE"), "演示人口规模 community|county|0.02 (占全区真实规模的比例) / demo population: community, county or a share of the real county (LINLI_DEMO_SCALE)")
	})
	if code >= 0 {
		return code
	}
	log := newLogger(cfg.LogLevel, os.Stderr)
	unlock, err := lockDataDir(cfg)
	if err != nil {
		return fail(e, err)
	}
	defer unlock()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.Open(ctx, cfg, app.Options{Log: log, Modules: e.modules})
	if err != nil {
		return fail(e, err)
	}
	defer a.Close()
	if a.KeyWarning != "" {
		fmt.Fprintln(e.stderr, "警告 / warning: "+a.KeyWarning)
	}
	if a.Loaded > 0 {
		fmt.Fprintf(e.stdout, "已加载区划 / divisions loaded: %d\n", a.Loaded)
	}
	pw, err := a.Auth.EnsureFirstAdmin(ctx)
	if err != nil {
		return fail(e, err)
	}
	if pw != "" {
		fmt.Fprintf(e.stdout, "首个系统管理员 / first system administrator: admin\n一次性密码 / one-time password: %s\n（只显示这一次，首次登录须修改 / shown only now; change it at first sign-in）\n", pw)
	}
	if demo {
		start := time.Now()
		accts, err := a.SeedDemo(ctx, app.DemoOptions{County: demoCounty, Seed: demoSeed, Scale: demoScale, Progress: progressPrinter(e.stderr)})
		if err != nil {
			return fail(e, err)
		}
		if len(accts) > 0 {
			fmt.Fprintf(e.stderr, "演示数据用时 / demo data generated in %s\n", time.Since(start).Round(100*time.Millisecond))
			fmt.Fprintln(e.stdout, "演示账号（合成数据，密码只显示这一次）/ demo accounts (synthetic data; passwords shown only now):")
			for _, d := range accts {
				fmt.Fprintf(e.stdout, "  %-14s %-16s %-12s %s\n", d.Username, d.Password, d.Role, d.Division)
			}
		} else {
			fmt.Fprintln(e.stdout, "演示数据已存在，沿用 / demo data already present, reused (reset a password with: linli admin reset-password --username demo.officer)")
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fail(e, fmt.Errorf("无法监听 / cannot listen on %s: %w", cfg.Addr, err))
	}
	fmt.Fprintf(e.stdout, "邻里已启动 / Linli is listening on http://%s\n", ln.Addr())
	if err := a.Serve(ctx, ln); err != nil {
		return fail(e, err)
	}
	return 0
}

// progressPrinter prints a demo's progress to w, a line at most every
// second per step and one when a step is done.
func progressPrinter(w io.Writer) func(what string, done, total int) {
	var last time.Time
	return func(what string, done, total int) {
		if done < total && time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		fmt.Fprintf(w, "演示数据 / demo: %s %d/%d (%d%%)\n", what, done, total, 100*done/max(total, 1))
	}
}

// lockDataDir takes an exclusive lock on the data folder so that a restore
// cannot replace the database under a running server.
func lockDataDir(cfg config.Config) (func(), error) {
	if cfg.DatabaseURL != "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("无法创建数据目录 / cannot create data folder %s: %w", cfg.DataDir, err)
	}
	f, err := os.OpenFile(filepath.Join(cfg.DataDir, "linli.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("数据目录 %s 正被另一个 linli 进程使用 / data folder %s is in use by another linli process", cfg.DataDir, cfg.DataDir)
	}
	return func() { f.Close() }, nil
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

var redactAttr = web.Redact
