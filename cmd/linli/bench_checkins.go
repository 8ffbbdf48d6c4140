package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/auth"
	"linli/internal/config"
	"linli/internal/db"
	"linli/internal/serveproc"
)

const benchCheckinsUsage = `linli bench checkins [--data-dir DIR | --database-url URL] [--scale county] [--division CODE]
                     [--rate 500] [--duration 60s] [--crash=true]

在县级演示数据上（空库先生成 --scale 规模的演示数据）以县级干部身份为 --division（默认演示区县）发布一条演练预警
（Exercise，不通知任何人），打印目标定位用时；随后启动 linli serve 子进程，按固定速率（开环：每条按计划时刻发出，
延迟自计划时刻算起）通过 HTTP 逐户报平安（POST /api/v1/emergency/checkins），同时另一连接不停读取看板
（GET /api/v1/emergency/alerts/{id}/board，即态势视图的 JSON）；打印报平安的 p50/p99、看板的 p50/p95。
--crash 时在中途 kill -9 服务器并在同一端口立即重启，继续加压；结束后核对每条收到 200 的报平安都已入库、
每户恰好一条状态记录（不丢、不重复）。测完删除这条演练预警及其记录（审计日志保留）。
Issues an Exercise warning (nobody is told) for --division over a county-scale demo as its county officer and prints
the targeting time; then starts linli serve as a child process and reports households safe through HTTP at a fixed
rate (open loop: each report is due at its planned moment and its latency counts from then), while another connection
reads the board (the situation view's JSON) without pause. Prints the reports' p50/p99 and the board's p50/p95. With
--crash the server is killed with -9 halfway and restarted at once on the same port while the load goes on; afterwards
every report answered 200 must be in the store, each household with exactly one status change. The warning and its
records are removed at the end (the audit log keeps its entries).

例 / example:
  linli bench checkins --data-dir ./bench-county --rate 500 --duration 60s`

// Goals of the check-in load (issue 18).
const (
	goalCheckinP99 = 50 * time.Millisecond
	goalBoardP95   = 100 * time.Millisecond
)

type benchCheckinsFlags struct {
	scale, division string
	rate            int
	duration        time.Duration
	crash           bool
}

// checkinTarget is what the load needs, prepared before the server starts.
type checkinTarget struct {
	token, tokenID  string
	division        string
	alert, incident string
	checks          []int64 // household checks, pending
}

func runBenchCheckins(e env, args []string) int {
	var f benchCheckinsFlags
	cfg, _, code := loadConfig(e, "bench checkins", args, func(fs *flag.FlagSet) {
		fs.StringVar(&f.scale, "scale", "county", "数据集为空时生成的演示规模 / demo scale generated when the store is empty")
		fs.StringVar(&f.division, "division", "", "预警区域（默认演示区县）/ the warning's area (default: the demo county)")
		fs.IntVar(&f.rate, "rate", 500, "每秒报平安条数 / reports per second")
		fs.DurationVar(&f.duration, "duration", 60*time.Second, "加压时长 / load duration")
		fs.BoolVar(&f.crash, "crash", true, "中途 kill -9 并重启 / kill -9 halfway and restart")
	})
	if code >= 0 {
		return code
	}
	if f.rate < 1 || f.rate > 5000 || f.duration <= 0 {
		return fail(e, errors.New("--rate 须在 1 到 5000 之间，--duration 须为正 / --rate must be 1 to 5000 and --duration positive"))
	}
	ctx := context.Background()
	t, err := prepareCheckins(ctx, e, cfg, f)
	if err != nil {
		return fail(e, err)
	}
	defer func() {
		if err := cleanupCheckins(ctx, e, cfg, t); err != nil {
			fmt.Fprintln(e.stderr, "清理失败 / cleanup failed: "+err.Error())
		}
	}()
	addr, err := freeAddr()
	if err != nil {
		return fail(e, err)
	}
	serve := func() (*serveproc.Proc, error) {
		return serveproc.Start([]string{"serve", "--addr", addr, "--data-dir", cfg.DataDir}, []string{"LINLI_DATABASE_URL=" + cfg.DatabaseURL}, 5*time.Minute)
	}
	srv, err := serve()
	if err != nil {
		return fail(e, err)
	}
	defer func() { srv.Stop() }()
	waited, err := waitSettled(srv.URL, 10*time.Minute)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "the server's start-up passes finished; waited %s before loading\n", waited.Round(100*time.Millisecond))
	line, err := issueExercise(srv.URL, &t, f.rate*int(f.duration.Seconds()+1))
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintln(e.stdout, line)
	store := "sqlite"
	if cfg.DatabaseURL != "" {
		store = "postgres"
	}
	fmt.Fprintf(e.stdout, "store=%s rate=%d/s duration=%s households=%d endpoint=POST /api/v1/emergency/checkins (+ GET …/board without pause)\n",
		store, f.rate, f.duration, len(t.checks))

	var restarted atomic.Bool
	var crashAt time.Duration
	var downFor time.Duration
	stopBoard := make(chan struct{})
	boardDone := make(chan []time.Duration, 1)
	go func() { boardDone <- readBoard(srv.URL, t, stopBoard) }()
	crashed := make(chan error, 1)
	if f.crash {
		crashAt = f.duration / 2
		go func() {
			time.Sleep(crashAt)
			if err := srv.Kill(); err != nil {
				crashed <- err
				return
			}
			down := time.Now()
			s2, err := serve()
			if err == nil {
				srv = s2
				downFor = time.Since(down)
				restarted.Store(true)
			}
			crashed <- err
		}()
	}
	res := reportAtRate(srv.URL, t, f.rate, f.duration)
	close(stopBoard)
	board := <-boardDone
	if f.crash {
		if err := <-crashed; err != nil {
			return fail(e, fmt.Errorf("kill -9 / restart: %w", err))
		}
	}
	fmt.Fprintf(e.stdout, "reports: planned=%d answered-200=%d failed=%d achieved=%.0f/s p50=%s p99=%s max=%s (goal p99 ≤ %s)\n",
		res.planned, len(res.acked), res.failed, float64(len(res.acked))/f.duration.Seconds(), pctl(res.lat, .5), pctl(res.lat, .99), pctl(res.lat, 1), goalCheckinP99)
	if f.crash {
		fmt.Fprintf(e.stdout, "before the kill: p50=%s p99=%s; kill -9 at %s, restarted in %s; not answered 200 (sent while it was down or cut by the kill): %d\n",
			pctl(res.latBefore(crashAt), .5), pctl(res.latBefore(crashAt), .99), crashAt, downFor.Round(time.Millisecond), res.failed)
	}
	fmt.Fprintln(e.stdout, res.windows(f.duration/6))
	fmt.Fprintf(e.stdout, "board under load: reads=%d p50=%s p95=%s (goal p95 ≤ %s)\n", len(board), pctl(board, .5), pctl(board, .95), goalBoardP95)
	srv.Stop()
	missing, doubled, err := verifyCheckins(ctx, e, cfg, t, res.acked)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "after the run: acknowledged=%d missing=%d households-with-more-than-one-change=%d\n", len(res.acked), missing, doubled)
	if missing > 0 || doubled > 0 {
		fmt.Fprintln(e.stdout, "CHECK FAILED: a report answered 200 was lost or a household counted twice / 核对未通过")
		return 1
	}
	fmt.Fprintln(e.stdout, "check: OK — every report answered 200 is stored once / 核对通过：每条收到 200 的报平安都已入库且只记一次")
	return 0
}

// prepareCheckins opens the platform, makes the demo if the store is
// empty and issues a token for the county officer, then closes the
// platform again so the server may take the store.
func prepareCheckins(ctx context.Context, e env, cfg config.Config, f benchCheckinsFlags) (checkinTarget, error) {
	var t checkinTarget
	a, err := app.Open(ctx, cfg, app.Options{Log: newLogger("error", nilFile()), Modules: e.modules})
	if err != nil {
		return t, err
	}
	defer a.Close()
	if err := benchDataset(ctx, e, a, f.scale); err != nil {
		return t, err
	}
	if err := a.DB.R.QueryRowContext(ctx, `SELECT division_code FROM users WHERE username = 'demo.officer'`).Scan(&t.division); err != nil {
		return t, fmt.Errorf("demo.officer: %w", err)
	}
	if f.division != "" {
		t.division = f.division
	}
	tok, rec, err := a.Auth.IssueToken(access.With(ctx, operator()), auth.TokenRequest{Username: "demo.officer", Name: "bench-checkins",
		Scope: "read,POST /api/v1/emergency/alerts,POST /api/v1/emergency/checkins", TTL: 24 * time.Hour})
	if err != nil {
		return t, err
	}
	t.token, t.tokenID = tok, rec.ID
	return t, nil
}

// issueExercise issues the exercise through the API as the county
// officer, then lists the pending household checks the load will report.
func issueExercise(base string, t *checkinTarget, need int) (string, error) {
	c := &http.Client{Timeout: 10 * time.Minute}
	call := func(method, path string, in, out any) error {
		var body io.Reader
		if in != nil {
			b, _ := json.Marshal(in)
			body = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, body)
		req.Header.Set("Authorization", "Bearer "+t.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return json.NewDecoder(resp.Body).Decode(out)
	}
	var issued struct {
		Alert struct {
			ID         string `json:"id"`
			IncidentID string `json:"incident_id"`
		} `json:"alert"`
		Targeted struct {
			Households int `json:"households"`
			Vulnerable int `json:"vulnerable"`
		} `json:"targeted"`
	}
	start := time.Now()
	err := call("POST", "/api/v1/emergency/alerts", map[string]any{"divisions": []string{t.division}, "event": "台风", "category": "Met", "colour": "orange",
		"response_level": "II", "headline": "报平安压测演练 / check-in load exercise", "instruction": "演练，无需行动 / an exercise: no action needed", "status": "Exercise"}, &issued)
	if err != nil {
		return "", err
	}
	took := time.Since(start)
	t.alert, t.incident = issued.Alert.ID, issued.Alert.IncidentID
	var after int64
	for len(t.checks) < need {
		var page []struct {
			ID int64 `json:"id"`
		}
		if err := call("GET", fmt.Sprintf("/api/v1/emergency/checkins?alert=%s&kind=household&status=pending&page_size=500&after=%d", t.alert, after), nil, &page); err != nil {
			return "", err
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			t.checks = append(t.checks, c.ID)
		}
		after = page[len(page)-1].ID
	}
	if len(t.checks) < need {
		return "", fmt.Errorf("区域内只有 %d 户，速率×时长需要 %d 户 / the area has %d households; rate × duration needs %d", len(t.checks), need, len(t.checks), need)
	}
	t.checks = t.checks[:need]
	return fmt.Sprintf("issue (targeting, through HTTP): households=%d vulnerable=%d in %s", issued.Targeted.Households, issued.Targeted.Vulnerable, took.Round(time.Millisecond)), nil
}

// waitSettled polls /readyz until the server's start-up passes (a
// reconcile, a precompute) have finished, so the load meets the steady
// state.
func waitSettled(base string, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < limit {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && bytes.HasSuffix(b, []byte("settled\n")) {
				return time.Since(start), nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start), fmt.Errorf("服务器 %s 内未完成启动任务 / the server's start-up passes did not finish within %s", limit, limit)
}

// freeAddr is a free port of 127.0.0.1, for a server restarted in place.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

type checkinLoad struct {
	planned, failed int
	acked           []int64
	lat             []time.Duration // sorted
	at              []time.Duration // when each measured report was due, from the start
	latByAt         []time.Duration // its latency, in the order of at
}

// windows gives p50/p99 of the reports due in each window of length w.
func (r checkinLoad) windows(w time.Duration) string {
	if w <= 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("by the moment each report was due:")
	for from := time.Duration(0); from < r.span(); from += w {
		var lat []time.Duration
		for i, at := range r.at {
			if at >= from && at < from+w {
				lat = append(lat, r.latByAt[i])
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		fmt.Fprintf(&b, " [%s–%s) n=%d p50=%s p99=%s;", from, from+w, len(lat), pctl(lat, .5), pctl(lat, .99))
	}
	return strings.TrimSuffix(b.String(), ";")
}

// span is when the last measured report was due.
func (r checkinLoad) span() time.Duration {
	var last time.Duration
	for _, at := range r.at {
		last = max(last, at)
	}
	return last + 1
}

// latBefore are the sorted latencies of the reports due before d.
func (r checkinLoad) latBefore(d time.Duration) []time.Duration {
	var out []time.Duration
	for i, at := range r.at {
		if at < d {
			out = append(out, r.latByAt[i])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// reportAtRate reports one household safe every 1/rate seconds for d,
// each on its own goroutine when it falls due (open loop), to base, which
// may change while the load runs (a restart on the same address).
func reportAtRate(base string, t checkinTarget, rate int, d time.Duration) checkinLoad {
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	var mu sync.Mutex
	var res checkinLoad
	var wg sync.WaitGroup
	start := time.Now()
	n := int(d.Seconds() * float64(rate))
	every := time.Second / time.Duration(rate)
	for i := range n {
		due := start.Add(time.Duration(i) * every)
		time.Sleep(time.Until(due))
		id := t.checks[i]
		wg.Go(func() {
			body, _ := json.Marshal(map[string]any{"alert_id": t.alert, "check_id": id, "status": "safe"})
			req, _ := http.NewRequest("POST", base+"/api/v1/emergency/checkins", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+t.token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			ok := err == nil && resp.StatusCode == 200
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			took := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				res.failed++
				return
			}
			res.acked = append(res.acked, id)
			res.lat = append(res.lat, took)
			res.at = append(res.at, due.Sub(start))
			res.latByAt = append(res.latByAt, took)
		})
	}
	wg.Wait()
	res.planned = n
	sort.Slice(res.lat, func(i, j int) bool { return res.lat[i] < res.lat[j] })
	return res
}

// readBoard reads the board without pause until stop closes, keeping the
// latencies of the reads answered 200.
func readBoard(base string, t checkinTarget, stop <-chan struct{}) []time.Duration {
	client := &http.Client{Timeout: 10 * time.Second}
	var lat []time.Duration
	for {
		select {
		case <-stop:
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			return lat
		default:
		}
		req, _ := http.NewRequest("GET", base+"/api/v1/emergency/alerts/"+t.alert+"/board", nil)
		req.Header.Set("Authorization", "Bearer "+t.token)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			time.Sleep(50 * time.Millisecond) // the server is down: wait for it
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			lat = append(lat, time.Since(t0))
		}
	}
}

func pctl(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p*float64(len(sorted)-1))].Round(10 * time.Microsecond)
}

// verifyCheckins counts the acknowledged reports missing from the store
// and the households of the incident with more than one status change.
func verifyCheckins(ctx context.Context, e env, cfg config.Config, t checkinTarget, acked []int64) (missing, doubled int, err error) {
	a, err := app.Open(ctx, cfg, app.Options{Log: newLogger("error", nilFile()), Modules: e.modules})
	if err != nil {
		return 0, 0, err
	}
	defer a.Close()
	safe := map[int64]bool{}
	err = db.EachRow(ctx, a.DB.R, func(r db.Scanner) error {
		var id int64
		if err := r.Scan(&id); err != nil {
			return err
		}
		safe[id] = true
		return nil
	}, `SELECT c.id FROM em_checks c WHERE c.incident_id = $1 AND c.kind = 'household' AND c.status = 'safe'
		AND EXISTS (SELECT 1 FROM em_check_events e WHERE e.check_id = c.id AND e.to_status = 'safe')`, t.incident)
	if err != nil {
		return 0, 0, err
	}
	for _, id := range acked {
		if !safe[id] {
			missing++
		}
	}
	err = a.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT check_id FROM em_check_events WHERE incident_id = $1 GROUP BY check_id HAVING COUNT(*) > 1) x`, t.incident).Scan(&doubled)
	return missing, doubled, err
}

// cleanupCheckins removes the exercise and its records and revokes the
// token.
func cleanupCheckins(ctx context.Context, e env, cfg config.Config, t checkinTarget) error {
	a, err := app.Open(ctx, cfg, app.Options{Log: newLogger("error", nilFile()), Modules: e.modules})
	if err != nil {
		return err
	}
	defer a.Close()
	var errs []error
	if t.incident != "" {
		for _, q := range []string{
			`DELETE FROM em_check_events WHERE incident_id = $1`,
			`DELETE FROM em_checks WHERE incident_id = $1`,
			`DELETE FROM em_tally WHERE incident_id = $1`,
			`DELETE FROM em_alert_areas WHERE alert_id IN (SELECT id FROM em_alerts WHERE incident_id = $1)`,
			`DELETE FROM em_alerts WHERE incident_id = $1`,
		} {
			if _, err := a.DB.W.ExecContext(ctx, q, t.incident); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if t.tokenID != "" {
		if _, err := a.Auth.RevokeToken(access.With(ctx, operator()), t.tokenID); err != nil {
			errs = append(errs, err)
		}
	}
	// A county's warning leaves half a million deleted rows behind: on
	// PostgreSQL they are vacuumed now, so that the next run (or a server
	// whose autovacuum is off or behind) does not walk them.
	if a.DB.Dialect == db.Postgres && t.incident != "" {
		for _, table := range []string{"em_checks", "em_check_events", "em_tally"} {
			if _, err := a.DB.W.ExecContext(ctx, `VACUUM ANALYZE `+table); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
