package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"linli/internal/app"
	"linli/internal/db"
)

const benchDemoUsage = `linli bench demo [--data-dir DIR | --database-url URL] [--scale county] [--cpuprofile FILE]

在空的数据目录或空库中生成 --scale 规模的演示数据（与 linli serve --demo 相同的代码），打印每一步和总的
墙钟时间、本进程 CPU 时间与系统负载；再在同一个库里把同样多的行用裸 INSERT（每条 200 行，一个事务）
写进一张与居民表同形的表，作为对照，打印两者之比。数据集保留，可直接用于 linli bench pages。
Generates the demo at --scale into an empty data folder or database (the code linli serve --demo runs)
and prints the wall time of each step and in all, this process's CPU time and the load average; then,
as the peer in the same run, writes as many rows with bare INSERTs (200 rows a statement, one
transaction) into a table shaped like the residents table, and prints the ratio. The dataset is kept
for linli bench pages.

例 / examples:
  linli bench demo --data-dir ./bench-county
  linli bench demo --database-url postgres://linli@db/bench --cpuprofile demo.pprof`

func runBenchDemo(e env, args []string) int {
	var scale, profile string
	cfg, _, code := loadConfig(e, "bench demo", args, func(fs *flag.FlagSet) {
		fs.StringVar(&scale, "scale", "county", "演示规模 / demo scale: community, county or a fraction")
		fs.StringVar(&profile, "cpuprofile", "", "把演示生成的 CPU 剖析写入此文件 / write a CPU profile of the generation to this file")
	})
	if code >= 0 {
		return code
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if cfg.DatabaseURL == "" {
		unlock, err := lockDataDir(cfg)
		if err != nil {
			return fail(e, err)
		}
		defer unlock()
	}
	a, err := app.Open(ctx, cfg, app.Options{Log: newLogger("error", nilFile()), Modules: e.modules})
	if err != nil {
		return fail(e, err)
	}
	defer a.Close()
	if _, err := a.Auth.EnsureFirstAdmin(ctx); err != nil {
		return fail(e, err)
	}
	if demo, err := app.IsDemo(ctx, a.DB); err != nil || demo {
		if err == nil {
			err = errors.New("库中已有演示数据；请用空的数据目录或空库 / the store already holds a demo; give an empty data folder or database")
		}
		return fail(e, err)
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return fail(e, err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(e, err)
		}
	}
	steps := &stepClock{w: e.stderr, start: time.Now(), last: time.Now()}
	load0 := loadAverage()
	cpu0 := processCPU()
	accts, err := a.SeedDemo(ctx, app.DemoOptions{Seed: 1, Scale: scale, Progress: steps.progress})
	wall, cpu := time.Since(steps.start), processCPU()-cpu0
	if profile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return fail(e, err)
	}
	load1 := loadAverage()
	fmt.Fprintln(e.stdout, "演示账号（合成数据，密码只显示这一次）/ demo accounts (synthetic data; passwords shown only now):")
	for _, d := range accts {
		fmt.Fprintf(e.stdout, "  %-14s %-16s %-12s %s\n", d.Username, d.Password, d.Role, d.Division)
	}
	var residents int
	if err := a.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM reg_residents`).Scan(&residents); err != nil {
		return fail(e, err)
	}
	cpuPeer0 := processCPU()
	peer, err := peerInsert(ctx, a.DB, residents)
	if err != nil {
		return fail(e, err)
	}
	cpuPeer := processCPU() - cpuPeer0
	fmt.Fprintf(e.stdout, "\n%s, %d residents\n", a.DB.Dialect, residents)
	fmt.Fprintf(e.stdout, "%-44s %9s %9s\n", "", "wall", "CPU")
	fmt.Fprintf(e.stdout, "%-44s %8.1fs %8.1fs\n", "demo (every module)", wall.Seconds(), cpu.Seconds())
	for _, s := range steps.done {
		fmt.Fprintf(e.stdout, "  %-42s %8.1fs\n", s.what, s.took.Seconds())
	}
	fmt.Fprintf(e.stdout, "%-44s %8.1fs %8.1fs\n", "peer: bare INSERT of as many resident rows", peer.Seconds(), cpuPeer.Seconds())
	fmt.Fprintf(e.stdout, "ratio demo / peer: %.1f×   load average before %s, after %s\n", wall.Seconds()/peer.Seconds(), load0, load1)
	return 0
}

// stepClock prints the demo's progress and keeps the wall time of each
// step, a step ending when the next one reports or a step reports its end.
type stepClock struct {
	w           io.Writer
	start, last time.Time
	printed     time.Time
	current     string
	done        []struct {
		what string
		took time.Duration
	}
}

func (c *stepClock) progress(what string, done, total int) {
	now := time.Now()
	if what != c.current {
		c.current = what
	}
	if done >= total {
		c.done = append(c.done, struct {
			what string
			took time.Duration
		}{what, now.Sub(c.last)})
		c.last = now
		c.current = ""
	}
	if done < total && now.Sub(c.printed) < time.Second {
		return
	}
	c.printed = now
	fmt.Fprintf(c.w, "%6.1fs %s %d/%d\n", now.Sub(c.start).Seconds(), what, done, total)
}

// peerInsert writes n rows shaped like residents (the same columns, key
// and unique blind index, values of the same lengths) with bare multi-row
// INSERTs in one transaction, and drops the table again.
func peerInsert(ctx context.Context, d *db.DB, n int) (time.Duration, error) {
	const table = "bench_demo_peer"
	const cols = 20
	if _, err := d.W.ExecContext(ctx, `DROP TABLE IF EXISTS `+table); err != nil {
		return 0, err
	}
	if _, err := d.W.ExecContext(ctx, `CREATE TABLE `+table+` (id TEXT PRIMARY KEY, division_code TEXT NOT NULL, household_id TEXT NOT NULL,
		name TEXT NOT NULL, gender TEXT NOT NULL, birth_date TEXT NOT NULL, relation TEXT NOT NULL, residence TEXT NOT NULL,
		id_enc TEXT NOT NULL, id_idx TEXT NOT NULL UNIQUE, id_mask TEXT NOT NULL, phone_enc TEXT NOT NULL, phone_idx TEXT NOT NULL,
		phone_mask TEXT NOT NULL, health_enc TEXT NOT NULL, disability_enc TEXT NOT NULL, income_enc TEXT NOT NULL,
		username TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)`); err != nil {
		return 0, err
	}
	defer d.W.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS `+table)
	const batch = 200
	stmt := `INSERT INTO ` + table + ` VALUES ` + valuesList(d.Dialect, batch, cols)
	ts := db.T(time.Now())
	start := time.Now()
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, stmt)
		if err != nil {
			return err
		}
		defer st.Close()
		args := make([]any, 0, batch*cols)
		flush := func(rows int) error {
			if rows == batch {
				_, err := st.ExecContext(ctx, args...)
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO `+table+` VALUES `+valuesList(d.Dialect, rows, cols), args...)
			return err
		}
		for i := 0; i < n; i++ {
			k := strconv.Itoa(i)
			args = append(args, db.NewID(), "330106002051", db.NewID(), "王芳芳", "F", "1960-01-01", "户主", "registered",
				pad("e", k, 72), pad("i", k, 44), "330199********123X", pad("p", k, 60), pad("q", k, 44), "138****1234", "", "", "", "", ts, ts)
			if len(args) == batch*cols {
				if err := flush(batch); err != nil {
					return err
				}
				args = args[:0]
			}
		}
		if len(args) > 0 {
			return flush(len(args) / cols)
		}
		return nil
	})
	return time.Since(start), err
}

// pad makes a distinct value of length n from a prefix and a number.
func pad(prefix, k string, n int) string {
	return prefix + strings.Repeat("x", n-len(prefix)-len(k)) + k
}

func valuesList(d db.Dialect, rows, cols int) string {
	var b strings.Builder
	k := 0
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := 0; j < cols; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			k++
			if d == db.Postgres {
				b.WriteString("$" + strconv.Itoa(k))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the machine's 1, 5 and 15 minute load (Linux), or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
