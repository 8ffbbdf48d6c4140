package requests

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"linli/internal/access"
	"linli/internal/module"
	"linli/internal/serveproc"
)

const benchUsage = `linli bench requests [--duration 60s] [--workers 32] [--crash=true] [--database-url URL]

通过 HTTP（Open311 POST requests.json）持续创建诉求：报告吞吐量与 p50/p99 延迟；
随后再次加压并在中途 kill -9 服务器，重启后核对每个收到 201 的诉求都在库中、编号无重复。
Creates requests through HTTP (Open311 POST requests.json) and reports throughput and
p50/p99; then loads again, kill -9s the server mid-run, restarts it and checks that every
request acknowledged with 201 exists with its number and that numbers are unique.
不加 --database-url 时使用临时目录中的 SQLite / SQLite in a temporary folder by default.`

// benchCounty is the county the benchmark files its requests in (西湖区).
const benchCounty = "330106"

type benchOptions struct {
	duration time.Duration
	workers  int
	crash    bool
	dbURL    string
	dir      string // the temporary data folder
}

// storeArgs are the flags that open the benchmark's store, for c.Open and
// for the server it spawns.
func (o benchOptions) storeArgs() []string {
	return []string{"--data-dir", o.dir, "--database-url", o.dbURL}
}

func (o benchOptions) storeName() string {
	if o.dbURL != "" {
		return "postgres"
	}
	return "sqlite"
}

func runBench(c module.CLI, args []string) int {
	fs := flag.NewFlagSet("bench requests", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	var o benchOptions
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "持续时间 / load duration")
	fs.IntVar(&o.workers, "workers", 32, "并发连接数 / concurrent clients")
	fs.BoolVar(&o.crash, "crash", true, "执行 kill -9 崩溃检查 / run the kill -9 crash check")
	fs.StringVar(&o.dbURL, "database-url", "", "PostgreSQL URL（空则 SQLite）/ PostgreSQL URL (empty: SQLite)")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintln(c.Stderr, benchUsage)
		return 2
	}
	if o.duration <= 0 || o.workers < 1 {
		fmt.Fprintln(c.Stderr, "--duration 须为正、--workers 至少为 1 / --duration must be positive and --workers at least 1")
		return 2
	}
	dir, err := os.MkdirTemp("", "linli-bench-requests")
	if err != nil {
		return module.Fail(c, err)
	}
	defer os.RemoveAll(dir)
	o.dir = dir
	return benchRun(c, o)
}

// benchTarget is what the load needs: an Open311 key and the communities
// to file requests in.
type benchTarget struct {
	key   string
	comms []string
}

// benchPrepare migrates the store, issues an Open311 key and lists the
// communities of the county; the platform is closed again before the
// server starts.
func benchPrepare(c module.CLI, o benchOptions) (benchTarget, int) {
	m, _, closeApp, code := c.Open("bench requests", o.storeArgs(), nil)
	if code >= 0 {
		return benchTarget{}, code
	}
	defer closeApp()
	ctx := access.With(context.Background(), access.Operator())
	s := StoreOf(m)
	key, err := s.CreateKey(ctx, "bench", benchCounty)
	if err != nil {
		return benchTarget{}, module.Fail(c, err)
	}
	units, _, err := s.Divs.Search(ctx, "", benchCounty, 0, 10000)
	if err != nil {
		return benchTarget{}, module.Fail(c, err)
	}
	t := benchTarget{key: key}
	for _, u := range units {
		if u.Level == 5 {
			t.comms = append(t.comms, u.Code)
		}
	}
	if len(t.comms) == 0 {
		return t, module.Fail(c, errors.New("区县内没有社区 / no communities in the county"))
	}
	return t, -1
}

func benchRun(c module.CLI, o benchOptions) int {
	t, code := benchPrepare(c, o)
	if code >= 0 {
		return code
	}
	srv, err := startBenchServer(o)
	if err != nil {
		return module.Fail(c, err)
	}
	fmt.Fprintf(c.Stdout, "store=%s workers=%d duration=%s endpoint=POST /open311/v2/requests.json\n", o.storeName(), o.workers, o.duration)
	res := load(srv.URL, t, o.workers, o.duration, nil)
	fmt.Fprintf(c.Stdout, "load: created=%d errors=%d throughput=%.0f req/s p50=%s p90=%s p99=%s max=%s\n",
		res.ok, res.errs, float64(res.ok)/res.elapsed.Seconds(), res.pctl(0.5), res.pctl(0.9), res.pctl(0.99), res.pctl(1))
	if !o.crash {
		srv.Stop()
		return 0
	}
	return crashCheck(c, o, t, srv, res.acked)
}

// crashCheck loads again, kills the server with -9 halfway, restarts it
// and checks in the store that every acknowledged request survived with a
// unique number, and that numbering continues after the restart.
func crashCheck(c module.CLI, o benchOptions, t benchTarget, srv *serveproc.Proc, acked []string) int {
	stop := make(chan struct{})
	half := min(o.duration/2, 10*time.Second)
	killed := make(chan error, 1)
	go func() {
		time.Sleep(half)
		killed <- srv.Kill()
		time.Sleep(200 * time.Millisecond)
		close(stop)
	}()
	res := load(srv.URL, t, o.workers, 2*half+5*time.Second, stop)
	if err := <-killed; err != nil {
		return module.Fail(c, fmt.Errorf("kill -9: %w", err))
	}
	fmt.Fprintf(c.Stdout, "crash run: kill -9 after %s; acknowledged=%d failed-after-kill=%d\n", half, res.ok, res.errs)
	acked = append(acked, res.acked...)
	srv2, err := startBenchServer(o)
	if err != nil {
		return module.Fail(c, fmt.Errorf("restart after kill -9: %w", err))
	}
	defer srv2.Stop()
	m, _, closeApp, code := c.Open("bench requests", o.storeArgs(), nil)
	if code >= 0 {
		return code
	}
	defer closeApp()
	ctx := context.Background()
	s := StoreOf(m)
	missing, err := s.missingNumbers(ctx, acked)
	if err != nil {
		return module.Fail(c, err)
	}
	total, distinct, err := s.numberCounts(ctx)
	if err != nil {
		return module.Fail(c, err)
	}
	after := load(srv2.URL, t, 1, 300*time.Millisecond, nil)
	dupAfter := 0
	if len(after.acked) > 0 {
		if dupAfter, err = s.numberCount(ctx, after.acked[0]); err != nil {
			return module.Fail(c, err)
		}
	}
	fmt.Fprintf(c.Stdout, "after restart: acknowledged=%d missing=%d rows=%d distinct-numbers=%d duplicates=%d new-after-restart=%d (unique=%v)\n",
		len(acked), len(missing), total, distinct, total-distinct, len(after.acked), dupAfter == 1)
	if len(missing) > 0 || total != distinct || len(after.acked) == 0 || dupAfter != 1 {
		fmt.Fprintf(c.Stdout, "CRASH CHECK FAILED; first missing: %v\n", missing[:min(5, len(missing))])
		return 1
	}
	fmt.Fprintln(c.Stdout, "crash check: OK — every 201 survived kill -9, numbers unique / 崩溃检查通过")
	return 0
}

func startBenchServer(o benchOptions) (*serveproc.Proc, error) {
	return serveproc.Start([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", o.dir}, []string{"LINLI_DATABASE_URL=" + o.dbURL}, 120*time.Second)
}

type loadResult struct {
	ok, errs  int64
	latencies []time.Duration // sorted
	acked     []string        // numbers of the requests answered 201
	elapsed   time.Duration
}

func (r *loadResult) pctl(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[int(p*float64(len(r.latencies)-1))].Round(10 * time.Microsecond)
}

// load posts requests with workers goroutines until stop closes or d passes.
func load(base string, t benchTarget, workers int, d time.Duration, stop <-chan struct{}) *loadResult {
	res := &loadResult{}
	var mu sync.Mutex
	var okN, errN atomic.Int64
	tr := &http.Transport{MaxIdleConns: workers, MaxIdleConnsPerHost: workers, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var lat []time.Duration
			var acked []string
			for time.Now().Before(deadline) && !stopped(stop) {
				t0 := time.Now()
				number, err := postOne(client, base, benchForm(t, w, rng))
				if err != nil {
					errN.Add(1)
					continue
				}
				lat = append(lat, time.Since(t0))
				okN.Add(1)
				acked = append(acked, number)
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.acked = append(res.acked, acked...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.ok, res.errs = okN.Load(), errN.Load()
	sort.Slice(res.latencies, func(i, j int) bool { return res.latencies[i] < res.latencies[j] })
	return res
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

func benchForm(t benchTarget, w int, rng *rand.Rand) url.Values {
	return url.Values{"api_key": {t.key}, "service_code": {"sanitation"}, "address_id": {t.comms[rng.IntN(len(t.comms))]},
		"description": {fmt.Sprintf("压测诉求 %d-%d：垃圾未清运 / load test", w, rng.IntN(1e9))}, "attribute[spot]": {"street"},
		"lat": {fmt.Sprintf("%.5f", 30.2+rng.Float64()*0.1)}, "long": {fmt.Sprintf("%.5f", 120.08+rng.Float64()*0.1)}}
}

// postOne files one request and returns the number acknowledged with 201.
func postOne(client *http.Client, base string, form url.Values) (string, error) {
	resp, err := client.PostForm(base+"/open311/v2/requests.json", form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	var created []O311Created
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil {
		return "", err
	}
	if len(created) != 1 || created[0].ID == "" {
		return "", errors.New("201 without a service_request_id")
	}
	return created[0].ID, nil
}

// missingNumbers returns the request numbers that are not in the store.
func (s *Store) missingNumbers(ctx context.Context, nums []string) ([]string, error) {
	var missing []string
	for i := 0; i < len(nums); i += 500 {
		chunk := nums[i:min(i+500, len(nums))]
		have, err := s.haveNumbers(ctx, chunk)
		if err != nil {
			return nil, err
		}
		for _, n := range chunk {
			if !have[n] {
				missing = append(missing, n)
			}
		}
	}
	return missing, nil
}

func (s *Store) haveNumbers(ctx context.Context, nums []string) (map[string]bool, error) {
	ph := make([]string, len(nums))
	args := make([]any, len(nums))
	for j, n := range nums {
		args[j] = n
		ph[j] = fmt.Sprintf("$%d", j+1)
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT number FROM requests WHERE number IN (`+strings.Join(ph, ",")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		have[n] = true
	}
	return have, rows.Err()
}

// numberCounts counts the stored requests and their distinct numbers.
func (s *Store) numberCounts(ctx context.Context) (total, distinct int, err error) {
	err = s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT number) FROM requests`).Scan(&total, &distinct)
	return total, distinct, err
}

// numberCount counts the requests bearing one number.
func (s *Store) numberCount(ctx context.Context, number string) (int, error) {
	var n int
	err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM requests WHERE number = $1`, number).Scan(&n)
	return n, err
}
