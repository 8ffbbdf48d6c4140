package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/auth"
	"linli/internal/db"
	"linli/internal/web"
)

const benchPagesUsage = `linli bench pages [--data-dir DIR | --database-url URL] [--scale county] [--duration 20s] [--connections 4]
                  [--timeout 30s] [--only REGEXP] [--skip REGEXP] [--roles ROLE,…] [--plans 5]

在一个县级规模的数据集上（目录或库为空时先生成 --scale 规模的演示数据），以每个演示角色登录，
找出该角色导航和首页上的列表、看板和导出，逐页用 N 个并发连接压测一段时间，与同次测得的 /healthz 对照；
打印每页的 p50/p95/p99、每秒请求数、与 /healthz p95 的倍数、是否达标（p95 ≤ 50 ms 且 p99 ≤ 100 ms），
以及最慢的 SQL 语句和它们的执行计划。为登录，演示账号的密码会被重置（另建 bench.city、bench.province、
bench.admin 三个账号）；压测期间服务在本进程内、监听 127.0.0.1 上的随机端口。
Loads or reuses a county-scale dataset (an empty folder or database gets the demo at --scale first),
signs in as every demo role, finds the lists, dashboards and exports on each role's navigation and start
page, and loads each page with N connections for the duration, beside /healthz measured in the same run.
It prints p50/p95/p99, requests per second, the ratio to /healthz's p95 and whether the page meets the
goal (p95 ≤ 50 ms and p99 ≤ 100 ms), then the slowest SQL statements with their query plans. To sign
in, the demo accounts' passwords are reset (and bench.city, bench.province and bench.admin are added);
the server runs in this process on a free port of 127.0.0.1.

例 / examples:
  linli bench pages --data-dir ./bench-county
  linli bench pages --database-url postgres://linli@db/bench --duration 5s --only 'registry|indicators'`

// Goals of a page under load (issue: every page of every role).
const (
	goalP95 = 50 * time.Millisecond
	goalP99 = 100 * time.Millisecond
)

type benchPagesFlags struct {
	scale       string
	duration    time.Duration
	timeout     time.Duration
	connections int
	only, skip  string
	roles       string
	plans       int
	cpuprofile  string
}

func runBenchPages(e env, args []string) int {
	var f benchPagesFlags
	var obs *statements
	cfg, _, code := loadConfig(e, "bench pages", args, func(fs *flag.FlagSet) {
		fs.StringVar(&f.scale, "scale", "county", "数据集为空时生成的演示规模 / demo scale generated when the store is empty")
		fs.DurationVar(&f.duration, "duration", 20*time.Second, "每页压测时长 / load time per page")
		fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "单个请求的时限 / limit of one request")
		fs.IntVar(&f.connections, "connections", 4, "并发连接数 / concurrent connections")
		fs.StringVar(&f.only, "only", "", "只测路径匹配此正则的页面 / only pages whose path matches")
		fs.StringVar(&f.skip, "skip", "", "跳过路径匹配此正则的页面 / leave out pages whose path matches")
		fs.StringVar(&f.roles, "roles", "", "只测这些角色（逗号分隔）/ only these roles (comma-separated)")
		fs.IntVar(&f.plans, "plans", 5, "打印最慢的 N 条语句及执行计划 / print the N slowest statements with plans")
		fs.StringVar(&f.cpuprofile, "cpuprofile", "", "把测量期间的 CPU 剖析写入此文件 / write a CPU profile of the measured requests to this file")
	})
	if code >= 0 {
		return code
	}
	if f.connections < 1 || f.duration <= 0 || f.timeout <= 0 {
		return fail(e, errors.New("--connections、--duration、--timeout 须为正 / --connections, --duration and --timeout must be positive"))
	}
	only, err := regexp.Compile(f.only)
	if err != nil {
		return fail(e, fmt.Errorf("--only: %w", err))
	}
	skip, err := regexp.Compile(f.skip)
	if err != nil {
		return fail(e, fmt.Errorf("--skip: %w", err))
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	obs = &statements{byQuery: map[string]*statementStats{}}
	var d *db.DB
	if cfg.DatabaseURL != "" {
		d, err = db.OpenPostgres(cfg.DatabaseURL, db.Observe(obs.add))
	} else {
		unlock, lerr := lockDataDir(cfg)
		if lerr != nil {
			return fail(e, lerr)
		}
		defer unlock()
		d, err = db.OpenSQLite(cfg.DataDir, db.Observe(obs.add))
	}
	if err != nil {
		return fail(e, err)
	}
	a, err := app.Wire(ctx, cfg, d, app.Options{Log: newLogger("error", nilFile()), Modules: e.modules})
	if err != nil {
		d.Close()
		return fail(e, err)
	}
	defer a.Close()
	if err := benchDataset(ctx, e, a, f.scale); err != nil {
		return fail(e, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(e, err)
	}
	srvCtx, stopSrv := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- a.Serve(srvCtx, ln) }()
	defer func() { stopSrv(); <-served }()
	base := "http://" + ln.Addr().String()

	users, err := benchAccounts(ctx, e, a, f.roles)
	if err != nil {
		return fail(e, err)
	}
	var targets []benchTarget
	for _, u := range users {
		// Finding the pages waits longer than a measured request: a slow
		// page is still one of the role's pages.
		pages, err := discoverPages(ctx, base, u, max(f.timeout, 2*time.Minute))
		if err != nil {
			return fail(e, fmt.Errorf("%s: %w", u.name, err))
		}
		for _, p := range pages {
			if only.MatchString(p) && (f.skip == "" || !skip.MatchString(p)) {
				targets = append(targets, benchTarget{path: p, user: u})
			}
		}
	}
	if err := waitStartup(ctx, e.stderr, a); err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stderr, "%d 个页面，每页 %s，%d 个连接 / %d pages, %s each, %d connections\n",
		len(targets), f.duration, f.connections, len(targets), f.duration, f.connections)

	if f.cpuprofile != "" {
		pf, err := os.Create(f.cpuprofile)
		if err != nil {
			return fail(e, err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fail(e, err)
		}
	}
	obs.on.Store(true)
	floor := loadPage(ctx, base, benchTarget{path: "/healthz"}, f)
	floor.role = "—"
	results := []benchResult{floor}
	for i, t := range targets {
		fmt.Fprintf(e.stderr, "[%d/%d] %s %s\n", i+1, len(targets), t.user.name, t.path)
		results = append(results, loadPage(ctx, base, t, f))
	}
	obs.on.Store(false)
	if f.cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	printBenchTable(e.stdout, results, floor)
	printSlowest(ctx, e.stdout, a.DB, obs, f.plans)
	return 0
}

// waitStartup waits until the served app's start-up work (a schedule
// reconcile, a precompute, a backlog) has finished, so the table measures
// the steady state, and says how long each pass took and how long it waited.
func waitStartup(ctx context.Context, w io.Writer, a *app.App) error {
	start := time.Now()
	passes, err := a.Settled(ctx)
	if err != nil {
		return err
	}
	var each []string
	for _, p := range passes {
		each = append(each, fmt.Sprintf("%s %s", p.Module, p.Took.Round(100*time.Millisecond)))
	}
	waited := time.Since(start).Round(100 * time.Millisecond)
	fmt.Fprintf(w, "启动任务已完成（%s），测量前等待了 %s / start-up passes finished (%s); waited %s before measuring\n",
		strings.Join(each, "、"), waited, strings.Join(each, ", "), waited)
	return nil
}

// benchDataset generates the demo at scale when the store holds no demo,
// printing progress; a store with other data is refused.
func benchDataset(ctx context.Context, e env, a *app.App, scale string) error {
	if _, err := a.Auth.EnsureFirstAdmin(ctx); err != nil {
		return err
	}
	demo, err := app.IsDemo(ctx, a.DB)
	if err != nil || demo {
		return err
	}
	var n int
	if err := a.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE username <> 'admin'`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return errors.New("数据集不是演示数据，基准只在演示数据上运行 / the store holds data that is not a demo; the benchmark runs on demo data only")
	}
	fmt.Fprintf(e.stderr, "生成演示数据 / generating the demo (scale %s)\n", scale)
	start := time.Now()
	_, err = a.SeedDemo(ctx, app.DemoOptions{Seed: 1, Scale: scale, Progress: progressPrinter(e.stderr)})
	if err == nil {
		fmt.Fprintf(e.stderr, "演示数据用时 / demo generated in %s\n", time.Since(start).Round(time.Second))
	}
	return err
}

// benchUser is a signed-in account of one role.
type benchUser struct {
	name   string
	role   access.Role
	cookie string
}

// benchAccounts signs in as every demo account and as a city officer, a
// province officer and a system administrator the benchmark adds: each
// password is reset and changed, as an operator would at the console.
func benchAccounts(ctx context.Context, e env, a *app.App, roles string) ([]benchUser, error) {
	op := access.With(ctx, operator())
	demoCounty := "330106"
	var county string
	if err := a.DB.R.QueryRowContext(ctx, `SELECT division_code FROM users WHERE username = 'demo.officer'`).Scan(&county); err == nil {
		demoCounty = county
	}
	wanted := []struct {
		user string
		role access.Role
		div  string
	}{
		{"demo.officer", access.Officer, ""}, {"demo.street", access.Officer, ""}, {"bench.city", access.Officer, demoCounty[:4]},
		{"bench.province", access.Officer, demoCounty[:2]}, {"demo.worker", access.CommunityWorker, ""}, {"demo.grid", access.GridWorker, ""},
		{"demo.resident", access.Resident, ""}, {"demo.provider", access.Provider, ""}, {"bench.admin", access.SysAdmin, demoCounty[:2]}, {"demo.secadmin", access.SecAdmin, ""},
		{"demo.auditor", access.Auditor, ""},
	}
	var keep []string
	if roles != "" {
		keep = strings.Split(roles, ",")
	}
	var out []benchUser
	for _, w := range wanted {
		if keep != nil && !slices.Contains(keep, string(w.role)) {
			continue
		}
		if w.div != "" {
			_, _, err := a.Auth.Create(op, auth.NewUser{Username: w.user, Role: w.role, Division: w.div, Password: auth.RandomPassword()})
			if err != nil && !strings.Contains(err.Error(), "already taken") {
				return nil, err
			}
		}
		once, err := a.Auth.ResetPassword(op, w.user)
		if errors.Is(err, db.ErrNotFound) {
			fmt.Fprintf(e.stderr, "跳过 / skipped: no account %s\n", w.user)
			continue
		} else if err != nil {
			return nil, err
		}
		tok, _, err := a.Auth.Login(ctx, w.user, once, "", "127.0.0.1", "linli-bench")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.user, err)
		}
		p, err := a.Auth.Session(ctx, tok)
		if err != nil {
			return nil, err
		}
		if err := a.Auth.ChangePassword(access.With(ctx, p), tok, once, auth.RandomPassword()); err != nil {
			return nil, fmt.Errorf("%s: %w", w.user, err)
		}
		out = append(out, benchUser{name: w.user, role: w.role, cookie: tok})
	}
	fmt.Fprintln(e.stderr, "演示账号的密码已为基准重置 / the demo accounts' passwords were reset for the benchmark (linli admin reset-password --username demo.officer gives a new one)")
	return out, nil
}

var hrefRe = regexp.MustCompile(`href="(/[^"#]*)"`)

// discoverPages finds a role's pages: its start page, the links of its
// navigation, all-functions menu and start page, and on each of those the links that stay in
// that page's section (its lists) and its exports. Forms, record pages and
// account settings are left out.
func discoverPages(ctx context.Context, base string, u benchUser, timeout time.Duration) ([]string, error) {
	c := benchClient(base, u, timeout, 1)
	get := func(path string) (string, string, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		if err != nil {
			return "", "", err
		}
		res, err := c.Do(req)
		if err != nil {
			return "", "", err
		}
		defer res.Body.Close()
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			io.Copy(io.Discard, res.Body)
			return "", res.Request.URL.RequestURI(), nil
		}
		b, err := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			return "", "", fmt.Errorf("GET %s: %s", path, res.Status)
		}
		return string(b), res.Request.URL.RequestURI(), err
	}
	home, start, err := get("/")
	if err != nil {
		return nil, err
	}
	if start == "/login" || strings.HasPrefix(start, "/account/") {
		return nil, fmt.Errorf("not signed in (landed on %s)", start)
	}
	seen := map[string]bool{start: true}
	pages := []string{start}
	first := links(home)
	// The header shows a role's main links; the all-functions menu has the rest.
	if menu, _, err := get("/menu"); err == nil {
		first = append(first, links(menu)...)
	}
	for _, l := range first {
		if !seen[l] && !isExport(l) && !strings.Contains(l, "?") {
			seen[l] = true
			pages = append(pages, l)
		}
	}
	n := len(pages)
	for _, p := range pages[:n] {
		body := home
		if p != start {
			// A page that fails here is still measured (its errors show in
			// the table); only its links are not followed.
			if body, _, err = get(p); err != nil {
				continue
			}
		}
		section := "/" + strings.SplitN(strings.TrimPrefix(p, "/"), "/", 2)[0]
		for _, l := range links(body) {
			path := strings.SplitN(l, "?", 2)[0]
			list := !strings.Contains(l, "?") && strings.HasPrefix(path, section) && strings.Count(path, "/") <= 2
			if seen[l] || !(isExport(l) || list) {
				continue
			}
			seen[l] = true
			pages = append(pages, l)
		}
	}
	return pages, nil
}

// links are a page's local links to lists, dashboards and exports.
func links(body string) []string {
	var out []string
	for _, m := range hrefRe.FindAllStringSubmatch(body, -1) {
		l := strings.ReplaceAll(m[1], "&amp;", "&")
		path := strings.SplitN(l, "?", 2)[0]
		segs := strings.Split(strings.Trim(path, "/"), "/")
		last := segs[len(segs)-1]
		switch {
		case strings.HasPrefix(path, "/static/"), strings.HasPrefix(path, "/account/"), strings.HasPrefix(path, "/api/"),
			path == "/logout", path == "/login", path == "/prefs", path == "/healthz", path == "/readyz", path == "/metrics",
			strings.Contains(l, "lang="), strings.Contains(l, "elder="), strings.Contains(l, "page="),
			last == "new", last == "edit", last == "template" || strings.HasSuffix(path, "/template"), last == "import":
			continue
		}
		// A record's page (an identifier or a division code in the path)
		// is not a list: the start page is the role's own unit.
		if slices.ContainsFunc(segs, isRecordID) || slices.ContainsFunc(segs, isCode) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// isRecordID tells a record's identifier in a path (a record page, not a list).
func isRecordID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// isCode tells a division code in a path.
func isCode(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func isExport(l string) bool {
	return strings.Contains(l, "export") || strings.Contains(l, "format=") || strings.HasSuffix(l, ".csv") || strings.HasSuffix(l, ".xlsx")
}

// benchClient keeps up to conns connections to the server, with the
// user's session cookie.
func benchClient(base string, u benchUser, timeout time.Duration, conns int) *http.Client {
	jar, _ := cookiejar.New(nil)
	if u.cookie != "" {
		b, _ := url.Parse(base)
		jar.SetCookies(b, []*http.Cookie{{Name: web.SessionCookie, Value: u.cookie, Path: "/"}})
	}
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &http.Client{Jar: jar, Timeout: timeout, Transport: tr}
}

type benchTarget struct {
	path string
	user benchUser
}

type benchResult struct {
	path, role    string
	n, errs       int
	p50, p95, p99 time.Duration
	rate          float64
	firstErr      string
	wall          time.Duration
}

// loadPage requests the page from f.connections goroutines for
// f.duration and summarises the latencies of the answers (200s only;
// anything else is counted as an error).
func loadPage(ctx context.Context, base string, t benchTarget, f benchPagesFlags) benchResult {
	c := benchClient(base, t.user, f.timeout, f.connections)
	defer c.CloseIdleConnections()
	var mu sync.Mutex
	var lat []time.Duration
	var errs int
	var firstErr string
	start := time.Now()
	deadline := start.Add(f.duration)
	var wg sync.WaitGroup
	for range f.connections {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				err := fetch(ctx, c, base+t.path)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	role := string(t.user.role)
	if t.user.name != "" {
		role += " " + t.user.name
	}
	r := benchResult{path: t.path, role: role, n: len(lat), errs: errs, firstErr: firstErr, wall: wall}
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		r.p50, r.p95, r.p99 = q(0.50), q(0.95), q(0.99)
		r.rate = float64(len(lat)) / wall.Seconds()
	}
	return r
}

func fetch(ctx context.Context, c *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("%s", res.Status)
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

func printBenchTable(w io.Writer, rs []benchResult, floor benchResult) {
	fmt.Fprintf(w, "\n%-58s %-30s %7s %9s %9s %9s %9s %9s %-6s %s\n", "page", "role", "n", "p50 ms", "p95 ms", "p99 ms", "req/s", "×healthz", "goal", "errors")
	for _, r := range rs {
		goal, ratio := "no", "—"
		if r.n > 0 && r.errs == 0 && r.p95 <= goalP95 && r.p99 <= goalP99 {
			goal = "yes"
		}
		if floor.p95 > 0 && r.n > 0 {
			ratio = fmt.Sprintf("%.1f", float64(r.p95)/float64(floor.p95))
		}
		p50, p95, p99 := "—", "—", "—"
		if r.n > 0 {
			p50, p95, p99 = ms(r.p50), ms(r.p95), ms(r.p99)
		}
		errs := fmt.Sprint(r.errs)
		if r.firstErr != "" {
			errs += " (" + trim(r.firstErr, 40) + ")"
		}
		fmt.Fprintf(w, "%-58s %-30s %7d %9s %9s %9s %9.1f %9s %-6s %s\n", trim(r.path, 58), r.role, r.n, p50, p95, p99, r.rate, ratio, goal, errs)
	}
	fmt.Fprintf(w, "goal: p95 ≤ %s and p99 ≤ %s with no errors; ×healthz is the page's p95 over /healthz's p95 in the same run\n", goalP95, goalP99)
}

func trim(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// statements gathers the statements run while measuring, by text.
type statements struct {
	on      atomic.Bool
	mu      sync.Mutex
	byQuery map[string]*statementStats
}

type statementStats struct {
	n           int
	total, max  time.Duration
	slowestArgs []any
}

func (s *statements) add(st db.Statement) {
	if !s.on.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.byQuery[st.Query]
	if x == nil {
		x = &statementStats{}
		s.byQuery[st.Query] = x
	}
	x.n++
	x.total += st.Took
	if st.Took > x.max {
		x.max, x.slowestArgs = st.Took, st.Args
	}
}

var spaceRe = regexp.MustCompile(`\s+`)

// printSlowest prints the n statements with the longest single run and
// the store's plan for each read (EXPLAIN QUERY PLAN / EXPLAIN).
func printSlowest(ctx context.Context, w io.Writer, d *db.DB, s *statements, n int) {
	s.mu.Lock()
	type row struct {
		q string
		*statementStats
	}
	var rows []row
	for q, x := range s.byQuery {
		rows = append(rows, row{q, x})
	}
	s.mu.Unlock()
	// By mean time: on a busy machine one run's maximum says more about
	// the scheduler than about the plan.
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].total/time.Duration(rows[i].n) > rows[j].total/time.Duration(rows[j].n)
	})
	fmt.Fprintf(w, "\nslowest statements by mean time (of %d distinct run while measuring)\n", len(rows))
	for i, r := range rows[:min(n, len(rows))] {
		q := strings.TrimSpace(spaceRe.ReplaceAllString(r.q, " "))
		fmt.Fprintf(w, "\n%d. mean %s ms, max %s ms, %d runs\n   %s\n", i+1, ms(r.total/time.Duration(r.n)), ms(r.max), r.n, trim(q, 600))
		up := strings.ToUpper(q)
		if !strings.HasPrefix(up, "SELECT") && !strings.HasPrefix(up, "WITH") {
			continue
		}
		plan, err := d.Explain(ctx, r.q, r.slowestArgs)
		if err != nil {
			fmt.Fprintf(w, "   (plan: %v)\n", err)
			continue
		}
		if plan == "" {
			continue
		}
		for l := range strings.SplitSeq(plan, "\n") {
			fmt.Fprintf(w, "   | %s\n", l)
		}
	}
}
