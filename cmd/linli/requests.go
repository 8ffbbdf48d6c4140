package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/db"
	"linli/internal/requests"
)

const benchRequestsUsage = `linli bench requests [--duration 60s] [--workers 32] [--crash=true] [--database-url URL]

通过 HTTP（Open311 POST requests.json）持续创建诉求：报告吞吐量与 p50/p99 延迟；
随后再次加压并在中途 kill -9 服务器，重启后核对每个收到 201 的诉求都在库中、编号无重复。
Creates requests through HTTP (Open311 POST requests.json) and reports throughput and
p50/p99; then loads again, kill -9s the server mid-run, restarts it and checks that every
request acknowledged with 201 exists with its number and that numbers are unique.
不加 --database-url 时使用临时目录中的 SQLite / SQLite in a temporary folder by default.`

var benchIDRe = regexp.MustCompile(`"service_request_id":"([^"]+)"`)

var benchListenRe = regexp.MustCompile(`listening on (http://\S+)`)

type benchServer struct {
	cmd *exec.Cmd
	url string
}

func startBenchServer(dataDir, dbURL string) (*benchServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir)
	cmd.Env = append(os.Environ(), "LINLI_DATABASE_URL="+dbURL, "LINLI_LOG_LEVEL=error")
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := benchListenRe.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return &benchServer{cmd: cmd, url: u}, nil
	case <-time.After(120 * time.Second):
		cmd.Process.Kill()
		return nil, errors.New("server did not start")
	}
}

type loadResult struct {
	ok, errs  int64
	latencies []time.Duration
	acked     []string
	elapsed   time.Duration
}

// load posts requests with workers goroutines until stop closes or d passes.
func load(base, key string, comms []string, workers int, d time.Duration, stop <-chan struct{}) *loadResult {
	res := &loadResult{}
	var mu sync.Mutex
	var okN, errN atomic.Int64
	tr := &http.Transport{MaxIdleConns: workers, MaxIdleConnsPerHost: workers, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var lat []time.Duration
			var acked []string
		loop:
			for time.Now().Before(deadline) {
				select {
				case <-stop:
					break loop
				default:
				}
				form := url.Values{"api_key": {key}, "service_code": {"sanitation"}, "address_id": {comms[rng.IntN(len(comms))]},
					"description": {fmt.Sprintf("压测诉求 %d-%d：垃圾未清运 / load test", w, rng.IntN(1e9))}, "attribute[spot]": {"street"},
					"lat": {fmt.Sprintf("%.5f", 30.2+rng.Float64()*0.1)}, "long": {fmt.Sprintf("%.5f", 120.08+rng.Float64()*0.1)}}
				t0 := time.Now()
				resp, err := client.PostForm(base+"/open311/v2/requests.json", form)
				if err != nil {
					errN.Add(1)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 201 {
					errN.Add(1)
					continue
				}
				lat = append(lat, time.Since(t0))
				okN.Add(1)
				if m := benchIDRe.FindSubmatch(body); m != nil {
					acked = append(acked, string(m[1]))
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.acked = append(res.acked, acked...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.ok, res.errs = okN.Load(), errN.Load()
	sort.Slice(res.latencies, func(i, j int) bool { return res.latencies[i] < res.latencies[j] })
	return res
}

func pctl(ls []time.Duration, p float64) time.Duration {
	if len(ls) == 0 {
		return 0
	}
	return ls[int(p*float64(len(ls)-1))]
}

func runBenchRequests(e env, args []string) int {
	fs := flag.NewFlagSet("bench requests", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dur := fs.Duration("duration", 60*time.Second, "持续时间 / load duration")
	workers := fs.Int("workers", 32, "并发连接数 / concurrent clients")
	crash := fs.Bool("crash", true, "执行 kill -9 崩溃检查 / run the kill -9 crash check")
	dbURL := fs.String("database-url", "", "PostgreSQL URL（空则 SQLite）/ PostgreSQL URL (empty: SQLite)")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintln(e.stderr, benchRequestsUsage)
		return 2
	}
	dir, err := os.MkdirTemp("", "linli-bench-requests")
	if err != nil {
		return fail(e, err)
	}
	defer os.RemoveAll(dir)
	store := "sqlite"
	if *dbURL != "" {
		store = "postgres"
	}
	// Prepare: migrate, issue a key, list the communities.
	ctx := context.Background()
	cfg, _, code := loadConfig(e, "bench requests", []string{"--data-dir", dir}, nil)
	if code >= 0 {
		return code
	}
	cfg.DatabaseURL = *dbURL
	a, err := app.Open(ctx, cfg, app.Options{Log: newLogger("error", nilFile())})
	if err != nil {
		return fail(e, err)
	}
	rs := requests.StoreOf(a.Module("requests"))
	key, err := rs.CreateKey(access.With(ctx, access.Operator()), "bench", "330106")
	if err != nil {
		return fail(e, err)
	}
	units, _, err := a.Divisions.Search(ctx, "", "330106", 0, 10000)
	if err != nil {
		return fail(e, err)
	}
	var comms []string
	for _, u := range units {
		if u.Level == 5 {
			comms = append(comms, u.Code)
		}
	}
	a.Close()

	srv, err := startBenchServer(dir, *dbURL)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "store=%s workers=%d duration=%s endpoint=POST /open311/v2/requests.json\n", store, *workers, *dur)
	res := load(srv.url, key, comms, *workers, *dur, nil)
	fmt.Fprintf(e.stdout, "load: created=%d errors=%d throughput=%.0f req/s p50=%s p90=%s p99=%s max=%s\n",
		res.ok, res.errs, float64(res.ok)/res.elapsed.Seconds(), pctl(res.latencies, 0.5).Round(10*time.Microsecond),
		pctl(res.latencies, 0.9).Round(10*time.Microsecond), pctl(res.latencies, 0.99).Round(10*time.Microsecond), pctl(res.latencies, 1).Round(10*time.Microsecond))
	acked := res.acked
	if !*crash {
		srv.cmd.Process.Signal(syscall.SIGTERM)
		srv.cmd.Wait()
		return 0
	}
	// Crash check: load again and kill -9 the server halfway.
	stop := make(chan struct{})
	half := *dur / 2
	if half > 10*time.Second {
		half = 10 * time.Second
	}
	go func() {
		time.Sleep(half)
		srv.cmd.Process.Signal(syscall.SIGKILL)
		srv.cmd.Wait()
		time.Sleep(200 * time.Millisecond)
		close(stop)
	}()
	res2 := load(srv.url, key, comms, *workers, 2*half+5*time.Second, stop)
	fmt.Fprintf(e.stdout, "crash run: kill -9 after %s; acknowledged=%d failed-after-kill=%d\n", half, res2.ok, res2.errs)
	acked = append(acked, res2.acked...)
	srv2, err := startBenchServer(dir, *dbURL)
	if err != nil {
		return fail(e, fmt.Errorf("restart after kill -9: %w", err))
	}
	defer func() { srv2.cmd.Process.Signal(syscall.SIGTERM); srv2.cmd.Wait() }()
	d, err := app.OpenStore(cfg)
	if err != nil {
		return fail(e, err)
	}
	defer d.Close()
	missing, err := missingNumbers(ctx, d, acked)
	if err != nil {
		return fail(e, err)
	}
	var total, distinct int
	d.R.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT number) FROM requests`).Scan(&total, &distinct)
	// A request created after the restart continues the numbering.
	after := load(srv2.url, key, comms, 1, 300*time.Millisecond, nil)
	var dupAfter int
	if len(after.acked) > 0 {
		d.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM requests WHERE number = $1`, after.acked[0]).Scan(&dupAfter)
	}
	fmt.Fprintf(e.stdout, "after restart: acknowledged=%d missing=%d rows=%d distinct-numbers=%d duplicates=%d new-after-restart=%d (unique=%v)\n",
		len(acked), len(missing), total, distinct, total-distinct, len(after.acked), dupAfter == 1)
	if len(missing) > 0 || total != distinct || len(after.acked) == 0 || dupAfter != 1 {
		fmt.Fprintf(e.stdout, "CRASH CHECK FAILED; first missing: %v\n", first(missing, 5))
		return 1
	}
	fmt.Fprintln(e.stdout, "crash check: OK — every 201 survived kill -9, numbers unique / 崩溃检查通过")
	return 0
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func missingNumbers(ctx context.Context, d *db.DB, nums []string) ([]string, error) {
	var missing []string
	for i := 0; i < len(nums); i += 500 {
		chunk := nums[i:min(i+500, len(nums))]
		var ph []string
		args := make([]any, len(chunk))
		for j, n := range chunk {
			args[j] = n
			ph = append(ph, fmt.Sprintf("$%d", j+1))
		}
		rows, err := d.R.QueryContext(ctx, `SELECT number FROM requests WHERE number IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return nil, err
		}
		have := map[string]bool{}
		for rows.Next() {
			var n string
			rows.Scan(&n)
			have[n] = true
		}
		rows.Close()
		for _, n := range chunk {
			if !have[n] {
				missing = append(missing, n)
			}
		}
	}
	return missing, nil
}
