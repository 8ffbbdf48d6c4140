package registry

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"linli/internal/access"
	"linli/internal/module"
)

const benchExportUsage = `linli bench export [--division CODE] [--formats csv,xlsx] [--data-dir DIR | --database-url URL]

以 --division 辖区干部的身份导出该辖区全部居民（与 linli export 和页面上的导出同一代码，写入丢弃），
再用一条普通查询读出同样的行、由裸 encoding/csv 或 excelize StreamWriter 写出，作为同次对照；
打印两者的用时、CPU、本进程峰值 RSS 与比值。导出记入审计日志（操作人 bench）。
Exports every resident of the division as an officer of it (the code linli export and the pages run,
written to nowhere), then, as the peer in the same run, reads the same rows with one plain query and
writes them as read with a bare encoding/csv writer or excelize StreamWriter; prints the time, CPU,
this process's peak RSS and the ratio. The export is audited (as "bench").

例 / example:
  linli bench export --data-dir ./bench-county --division 330106`

func runBenchExport(e module.CLI, args []string) int {
	var division, formats string
	m, _, closeApp, code := e.Open("bench export", args, func(fs *flag.FlagSet) {
		fs.StringVar(&division, "division", "330106", "以该辖区干部身份导出 / export as an officer of this division")
		fs.StringVar(&formats, "formats", "csv,xlsx", "csv、xlsx 或两者 / csv, xlsx or both")
	})
	if code >= 0 {
		return code
	}
	defer closeApp()
	s := m.(*registryModule).store
	ctx := access.With(context.Background(), &access.Principal{Username: "bench", Role: access.Officer, Division: division})
	fmt.Fprintf(e.Stdout, "%s, residents of %s\n", s.DB.Dialect, division)
	fmt.Fprintf(e.Stdout, "%-6s %-8s %10s %9s %9s %12s %12s\n", "format", "run", "rows", "wall", "CPU", "peak RSS", "bytes")
	for _, format := range strings.Split(formats, ",") {
		var err error
		var oursRows, peerRows int
		ours := measureRun(func(w *byteCounter) error {
			x, err := s.StartExport(ctx, ExportOptions{Kind: "residents", Format: format, Resident: ResidentFilter{Division: division}})
			if err != nil {
				return err
			}
			x.Progress = func(done int) { oursRows = done }
			return x.Write(ctx, w)
		}, &err)
		if err != nil {
			return module.Fail(e, err)
		}
		peer := measureRun(func(w *byteCounter) error {
			pw, err := NewPlainWriter(w, format)
			if err != nil {
				return err
			}
			if err := PlainRead(ctx, s.DB, division, func(r []any) error { peerRows++; return pw.Row(r) }); err != nil {
				return err
			}
			return pw.Close()
		}, &err)
		if err != nil {
			return module.Fail(e, err)
		}
		ours.rows, peer.rows = oursRows, peerRows
		for _, r := range []struct {
			name string
			r    benchRun
		}{{"linli", ours}, {"peer", peer}} {
			fmt.Fprintf(e.Stdout, "%-6s %-8s %10d %8.1fs %8.1fs %9.0f MiB %12d\n", format, r.name, r.r.rows, r.r.wall.Seconds(), r.r.cpu.Seconds(), float64(r.r.rss)/(1<<20), r.r.bytes)
		}
		fmt.Fprintf(e.Stdout, "%-6s ratio linli / peer: %.2f×\n", format, ours.wall.Seconds()/peer.wall.Seconds())
	}
	return 0
}

// benchRun is one measured export.
type benchRun struct {
	rows      int
	bytes     int64
	wall, cpu time.Duration
	rss       uint64
}

// measureRun runs fn onto a byte counter, sampling this process's RSS
// every 5 ms; fn's error goes to *errp.
func measureRun(fn func(w *byteCounter) error, errp *error) benchRun {
	runtime.GC()
	var r benchRun
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			r.rss = max(r.rss, residentSet())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	w := &byteCounter{}
	cpu0, t0 := processCPU(), time.Now()
	*errp = fn(w)
	r.wall, r.cpu = time.Since(t0), processCPU()-cpu0
	close(stop)
	wg.Wait()
	r.bytes = w.n
	return r
}

// byteCounter counts what is written and keeps none of it.
type byteCounter struct{ n int64 }

func (c *byteCounter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// residentSet is this process's resident memory (0 without /proc).
func residentSet() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
