package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/audit"
	"linli/internal/auth"
	"linli/internal/config"
	"linli/internal/db"
	"linli/internal/serveproc"
)

const benchBallotsUsage = `linli bench ballots [--data-dir DIR | --database-url URL] [--scale county] [--township CODE]
                    [--households 50000] [--rate 0] [--duration 10m] [--secret=true] [--crash=true]

在县级演示数据上（空库先生成）取住户最多的街道（乡镇）（或 --township），以县级干部身份通过 API 提出一条全街道议题、
受理并发起一场按户表决（--secret 为无记名投票，选票先入密封票箱）；直接在库中为 --households 户（不超过该街道的户数）
各建一个居民账号和 API 令牌；启动 linli serve 子进程，按固定速率（默认 户数÷时长；开环：每张票按计划时刻发出，延迟
自计划时刻算起）由各户账号投票（POST /api/v1/votes/{id}/ballots），连接断开或 5xx 时像真实投票人一样重试（重试收到
409 说明被中断的那次已入库）；同时另一连接不停读取该街道一个社区的公开议事公示（GET /deliberation/board/{社区}
与 GET /api/v1/decisions，交替）。打印投票吞吐与 p50/p99（分时段）、公示页 p50/p95；--crash 时在中途 kill -9 并在
同一端口立即重启。结束后核对：每张收到 201（或重试收到 409）的票都已入库、每户恰好一张、票箱与投票人数一致；随后
把表决截止时间移到此刻，调 GET /api/v1/votes/{id}/verify 计票并校验选票哈希链。测完删除这场表决、议题和账号（审计日志保留）。
Raises a township-wide topic in the township with the most households (or --township) over a county-scale demo as its
county officer, accepts it and opens a vote of its households (--secret: a secret ballot, sealed in the box until the
count); creates a resident account with an API token for --households households directly in the store; starts linli
serve as a child process and casts the ballots through HTTP at a fixed rate (default households ÷ duration; open loop:
each ballot is due at its planned moment and its latency counts from then), retrying on a cut connection or a 5xx as a
voter would (a 409 on a retry means the cut attempt was stored), while another connection reads a community's public
board of that township without pause (the page and the JSON decisions, in turn). Prints the ballots' throughput and
p50/p99 by window and the board's p50/p95; with --crash the server is killed with -9 halfway and restarted on the same
port. Afterwards every ballot answered 201 (or 409 on a retry) must be stored, each household once, the box as full as
the voters' list; then the vote's window is moved to now and GET /api/v1/votes/{id}/verify counts it and checks the
ballot chain. The vote, topic and accounts are removed at the end (the audit log keeps its entries).

例 / example:
  linli bench ballots --data-dir ./bench-county --households 50000 --duration 10m`

// Goals of the township vote (issue 17).
const goalBoardP95Ballots = 50 * time.Millisecond

// benchVoterPrefix names the accounts the bench makes; they are removed
// at the end and before a run (a run cut short leaves them).
const benchVoterPrefix = "bench.ballots."

type benchBallotsFlags struct {
	scale, township string
	households      int
	rate            float64
	duration        time.Duration
	secret, crash   bool
}

type ballotVoter struct {
	household, token string
}

// ballotTarget is what the load needs, prepared before the server starts.
type ballotTarget struct {
	officerToken, tokenID string
	township              string
	households            int // in the township
	community             string
	topic, vote           string
	voters                []ballotVoter
}

func runBenchBallots(e env, args []string) int {
	var f benchBallotsFlags
	cfg, _, code := loadConfig(e, "bench ballots", args, func(fs *flag.FlagSet) {
		fs.StringVar(&f.scale, "scale", "county", "数据集为空时生成的演示规模 / demo scale generated when the store is empty")
		fs.StringVar(&f.township, "township", "", "街道（乡镇）代码（默认住户最多的）/ the township (default: the one with most households)")
		fs.IntVar(&f.households, "households", 50000, "投票户数（不超过该街道户数）/ households voting (at most the township's)")
		fs.Float64Var(&f.rate, "rate", 0, "每秒投票数（0：户数÷时长）/ ballots per second (0: households ÷ duration)")
		fs.DurationVar(&f.duration, "duration", 10*time.Minute, "加压时长 / load duration")
		fs.BoolVar(&f.secret, "secret", true, "无记名投票（密封票箱）/ a secret ballot (the sealed box)")
		fs.BoolVar(&f.crash, "crash", true, "中途 kill -9 并重启 / kill -9 halfway and restart")
	})
	if code >= 0 {
		return code
	}
	if f.households < 1 || f.rate < 0 || f.rate > 5000 || f.duration < time.Second || (f.township != "" && len(f.township) != 9) {
		return fail(e, errors.New("--households 须为正，--rate 在 0 到 5000 之间，--duration 至少 1s，--township 为 9 位代码 / --households must be positive, --rate 0 to 5000, --duration at least 1s and --township 9 digits"))
	}
	ctx := context.Background()
	t, err := prepareBallots(ctx, e, cfg, f)
	defer func() {
		if err := cleanupBallots(ctx, e, cfg, t); err != nil {
			fmt.Fprintln(e.stderr, "清理失败 / cleanup failed: "+err.Error())
		}
	}()
	if err != nil {
		return fail(e, err)
	}
	rate := f.rate
	if rate == 0 {
		rate = float64(len(t.voters)) / f.duration.Seconds()
	}
	planned := min(len(t.voters), int(math.Round(rate*f.duration.Seconds())))
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
	line, err := openTownshipVote(srv.URL, &t, f.secret, f.duration)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintln(e.stdout, line)
	store := "sqlite"
	if cfg.DatabaseURL != "" {
		store = "postgres"
	}
	kind := "open"
	if f.secret {
		kind = "secret (sealed box)"
	}
	fmt.Fprintf(e.stdout, "store=%s ballot=%s rate=%.2f/s duration=%s planned=%d endpoint=POST /api/v1/votes/{id}/ballots (+ GET /deliberation/board/%s and /api/v1/decisions without pause)\n",
		store, kind, rate, f.duration, planned, t.community)

	var crashAt, downFor time.Duration
	stopBoard := make(chan struct{})
	boardDone := make(chan [2][]time.Duration, 1)
	go func() { boardDone <- readPublicBoard(srv.URL, t.community, stopBoard) }()
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
			}
			crashed <- err
		}()
	}
	res := castAtRate(srv.URL, t, rate, planned)
	close(stopBoard)
	board := <-boardDone
	if f.crash {
		if err := <-crashed; err != nil {
			return fail(e, fmt.Errorf("kill -9 / restart: %w", err))
		}
	}
	span := res.last.Seconds()
	fmt.Fprintf(e.stdout, "ballots: planned=%d answered-201=%d answered-409-on-a-retry=%d failed=%d retried=%d throughput=%.1f/s over %.1fs p50=%s p99=%s max=%s\n",
		planned, len(res.acked), len(res.already), res.failed, res.retried, float64(len(res.acked)+len(res.already))/span, span,
		pctl(res.lat, .5), pctl(res.lat, .99), pctl(res.lat, 1))
	if len(res.refusals) > 0 {
		fmt.Fprintf(e.stdout, "answers other than 201, retries included: %s\n", topCounts(res.refusals, 5))
	}
	if f.crash {
		before := res.latBefore(crashAt)
		fmt.Fprintf(e.stdout, "before the kill: p50=%s p99=%s; kill -9 at %s, restarted in %s\n", pctl(before, .5), pctl(before, .99), crashAt, downFor.Round(time.Millisecond))
	}
	fmt.Fprintln(e.stdout, strings.Replace(res.windows(f.duration/6), "each report", "each ballot", 1))
	fmt.Fprintf(e.stdout, "public board under load: page GET /deliberation/board/%s reads=%d p50=%s p95=%s; JSON GET /api/v1/decisions reads=%d p50=%s p95=%s (goal p95 ≤ %s)\n",
		t.community, len(board[0]), pctl(board[0], .5), pctl(board[0], .95), len(board[1]), pctl(board[1], .5), pctl(board[1], .95), goalBoardP95Ballots)

	chk, err := checkBallots(ctx, cfg, t, res)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "after the run: acknowledged=%d (201: %d, 409 on a retry: %d) stored-voters=%d sealed-in-box=%d chain=%d missing=%d doubled=%d stored-but-not-acknowledged=%d (cut by the kill, never retried)\n",
		len(res.acked)+len(res.already), len(res.acked), len(res.already), chk.voters, chk.box, chk.chain, chk.missing, chk.doubled, chk.voters-(len(res.acked)+len(res.already)-chk.missing))
	count, err := countTownshipVote(ctx, cfg, srv.URL, t, res)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintln(e.stdout, count.line)
	if chk.missing > 0 || chk.doubled > 0 || !count.ok {
		fmt.Fprintln(e.stdout, "CHECK FAILED: a ballot answered 201 was lost, a household counted twice or the chain does not verify / 核对未通过")
		return 1
	}
	fmt.Fprintln(e.stdout, "check: OK — every acknowledged ballot is stored once and the counted chain verifies / 核对通过：每张确认的选票都已入库且只记一次，计票后哈希链校验通过")
	return 0
}

// prepareBallots opens the platform, makes the demo if the store is
// empty, picks the township and its voting households, gives each a
// resident account with an API token, and issues a token for the county
// officer; then closes the platform again so the server may take the
// store.
func prepareBallots(ctx context.Context, e env, cfg config.Config, f benchBallotsFlags) (ballotTarget, error) {
	var t ballotTarget
	a, err := app.Open(ctx, cfg, app.Options{Log: newLogger("error", nilFile()), Modules: e.modules})
	if err != nil {
		return t, err
	}
	defer a.Close()
	if err := benchDataset(ctx, e, a, f.scale); err != nil {
		return t, err
	}
	if err := removeBenchVoters(ctx, a); err != nil {
		return t, err
	}
	t.township = f.township
	if t.township == "" {
		err = a.DB.R.QueryRowContext(ctx, `SELECT substr(division_code, 1, 9) FROM reg_households GROUP BY substr(division_code, 1, 9) ORDER BY COUNT(*) DESC, 1 LIMIT 1`).Scan(&t.township)
		if err != nil {
			return t, fmt.Errorf("没有登记的家庭 / no registered households: %w", err)
		}
	}
	sc := access.Subtree(t.township)
	if err := a.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM reg_households WHERE division_code >= $1 AND division_code < $2`, sc.Lo, sc.Hi).Scan(&t.households); err != nil {
		return t, err
	}
	// The board read is of the township's community with the most
	// decisions: the fullest public board.
	err = a.DB.R.QueryRowContext(ctx, `SELECT division_code FROM dlb_decisions WHERE division_code >= $1 AND division_code < $2 GROUP BY division_code ORDER BY COUNT(*) DESC, division_code LIMIT 1`, sc.Lo, sc.Hi).Scan(&t.community)
	if errors.Is(err, sql.ErrNoRows) {
		err = a.DB.R.QueryRowContext(ctx, `SELECT MIN(division_code) FROM reg_households WHERE division_code >= $1 AND division_code < $2`, sc.Lo, sc.Hi).Scan(&t.community)
	}
	if err != nil {
		return t, err
	}
	start := time.Now()
	if err := makeBenchVoters(ctx, a, &t, f.households); err != nil {
		return t, err
	}
	if len(t.voters) < f.households {
		fmt.Fprintf(e.stdout, "the township %s has %d households, %d of them with residents and no account: the electorate votes with %d, not %d\n",
			t.township, t.households, len(t.voters), len(t.voters), f.households)
	}
	fmt.Fprintf(e.stdout, "township %s: households=%d voting=%d; accounts and tokens made in the store in %s\n", t.township, t.households, len(t.voters), time.Since(start).Round(time.Millisecond))
	tok, rec, err := a.Auth.IssueToken(access.With(ctx, operator()), auth.TokenRequest{Username: "demo.officer", Name: "bench-ballots",
		Scope: "read,POST /api/v1/topics,POST /api/v1/topics/{id}/accept,POST /api/v1/votes", TTL: 24 * time.Hour})
	if err != nil {
		return t, err
	}
	t.officerToken, t.tokenID = tok, rec.ID
	return t, nil
}

// makeBenchVoters gives up to n households of the township, each with a
// resident and no account yet, one resident account linked to a member
// and an API token allowed to cast ballots only, in one transaction of
// multi-row INSERTs (as the auth service would one by one, without a
// password anyone knows). One audit entry says how many.
func makeBenchVoters(ctx context.Context, a *app.App, t *ballotTarget, n int) error {
	type pick struct{ household, division, resident string }
	sc := access.Subtree(t.township)
	picks, err := db.Collect(ctx, a.DB.R, func(r db.Scanner) (pick, error) {
		var p pick
		return p, r.Scan(&p.household, &p.division, &p.resident)
	}, fmt.Sprintf(`SELECT h.id, h.division_code, MIN(r.id) FROM reg_households h JOIN reg_residents r ON r.household_id = h.id
		WHERE h.division_code >= $1 AND h.division_code < $2 GROUP BY h.id, h.division_code HAVING MAX(r.username) = '' ORDER BY h.id LIMIT %d`, n), sc.Lo, sc.Hi)
	if err != nil {
		return err
	}
	hash := auth.HashPassword(auth.RandomPassword())
	now := db.T(time.Now())
	expires := db.T(now.Add(7 * 24 * time.Hour))
	var users, tokens [][]any
	links := make([][2]string, 0, len(picks))
	for i, p := range picks {
		uid, name := db.NewID(), fmt.Sprintf("%s%06d", benchVoterPrefix, i+1)
		users = append(users, []any{uid, name, "压测住户 / bench voter", string(access.Resident), p.division, hash, false, "", false, false, false, "", now, now})
		secret, tokHash := auth.NewToken(auth.TokenPrefix)
		tokens = append(tokens, []any{db.NewID(), tokHash, uid, "bench-ballots", string(access.Resident), p.division, "POST /api/v1/votes/{id}/ballots", "bench", now, expires})
		links = append(links, [2]string{name, p.resident})
		t.voters = append(t.voters, ballotVoter{household: p.household, token: secret})
	}
	return a.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := insertMany(ctx, a.DB, tx, `users (id, username, display_name, role, division_code, password_hash, must_change_password,
			totp_secret, totp_enabled, disabled, awaiting_approval, requested_by, created_at, updated_at)`, users); err != nil {
			return err
		}
		if err := insertMany(ctx, a.DB, tx, `api_tokens (id, token_hash, user_id, name, role, division_code, scope, issued_by, created_at, expires_at)`, tokens); err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `UPDATE reg_residents SET username = $1 WHERE id = $2 AND username = ''`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, l := range links {
			if _, err := st.ExecContext(ctx, l[0], l[1]); err != nil {
				return err
			}
		}
		return a.Audit.RecordTx(access.With(ctx, operator()), tx, audit.Entry{Action: "bench.voters_create", Object: "township", ObjectID: t.township, Division: t.township,
			Detail: fmt.Sprintf("%d resident accounts %s* with ballot-only tokens, for linli bench ballots", len(users), benchVoterPrefix)})
	})
}

// insertMany writes rows in multi-row INSERTs of at most 500 rows.
func insertMany(ctx context.Context, d *db.DB, tx *sql.Tx, table string, rows [][]any) error {
	for start := 0; start < len(rows); start += 500 {
		chunk := rows[start:min(start+500, len(rows))]
		marks := make([]string, len(chunk))
		var args []any
		for i, r := range chunk {
			marks[i] = d.Values(len(args), len(r))
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` VALUES `+strings.Join(marks, ","), args...); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(table)[0], err)
		}
	}
	return nil
}

// removeBenchVoters unlinks and removes the bench's accounts and their
// tokens, auditing how many.
func removeBenchVoters(ctx context.Context, a *app.App) error {
	like := benchVoterPrefix + "%"
	return a.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE reg_residents SET username = '' WHERE username LIKE $1`, like); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE username LIKE $1)`, like); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE username LIKE $1`, like)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return a.Audit.RecordTx(access.With(ctx, operator()), tx, audit.Entry{Action: "bench.voters_remove", Object: "user",
				Detail: fmt.Sprintf("%d accounts %s* removed", n, benchVoterPrefix)})
		}
		return nil
	})
}

// benchCall sends one JSON request with a bearer token.
func benchCall(c *http.Client, base, token, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, body)
	req.Header.Set("Authorization", "Bearer "+token)
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

// openTownshipVote raises the township-wide topic, accepts it and opens
// its vote through the API as the county officer.
func openTownshipVote(base string, t *ballotTarget, secret bool, d time.Duration) (string, error) {
	c := &http.Client{Timeout: 5 * time.Minute}
	var topic struct {
		ID string `json:"id"`
	}
	if err := benchCall(c, base, t.officerToken, "POST", "/api/v1/topics", map[string]any{"division_code": t.township, "area_kind": "township",
		"title": "全街道表决压测 / township vote load test", "description": "压测，测完删除 / a load test, removed afterwards"}, &topic); err != nil {
		return "", err
	}
	t.topic = topic.ID
	if err := benchCall(c, base, t.officerToken, "POST", "/api/v1/topics/"+t.topic+"/accept", map[string]any{}, &topic); err != nil {
		return "", err
	}
	var vote struct {
		ID             string `json:"id"`
		ElectorateSize int    `json:"electorate_size"`
		QuorumPM       int    `json:"quorum_pm"`
		Majority       string `json:"majority"`
	}
	start := time.Now()
	// The window stays open well past the load: retries after the restart
	// and the checks come first; the bench closes it itself to count.
	if err := benchCall(c, base, t.officerToken, "POST", "/api/v1/votes", map[string]any{"topic_id": t.topic, "electorate": "households", "secret": secret,
		"options": benchChoices, "closes_at": time.Now().Add(d + time.Hour)}, &vote); err != nil {
		return "", err
	}
	t.vote = vote.ID
	return fmt.Sprintf("vote opened through HTTP on a township-wide topic: electorate=%d households quorum=%d‰ majority=%s in %s",
		vote.ElectorateSize, vote.QuorumPM, vote.Majority, time.Since(start).Round(time.Millisecond)), nil
}

var benchChoices = []string{"同意", "不同意", "弃权"}

// ballotLoad is the casting's outcome, with checkinLoad's windows.
type ballotLoad struct {
	checkinLoad
	already    []int64 // voters answered 409 on a retry: a cut attempt was stored
	retried    int
	chose      map[string]int // choices of the ballots answered 201
	sentChoice map[string]int // choices of every ballot sent, answered or not
	last       time.Duration  // when the last ballot was answered, from the start
	refusals   map[string]int // answers other than 201 by status and the start of their body
}

// castAtRate casts planned ballots, one every 1/rate seconds, each on its
// own goroutine when it falls due (open loop). A voter whose connection is
// cut or who gets a 5xx tries again every 200 ms for up to two minutes,
// as a voter would; its latency counts from the planned moment.
func castAtRate(base string, t ballotTarget, rate float64, planned int) ballotLoad {
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	var mu sync.Mutex
	res := ballotLoad{chose: map[string]int{}, sentChoice: map[string]int{}, refusals: map[string]int{}}
	var wg sync.WaitGroup
	start := time.Now()
	every := time.Duration(float64(time.Second) / rate)
	path := base + "/api/v1/votes/" + t.vote + "/ballots"
	for i := range planned {
		due := start.Add(time.Duration(i) * every)
		time.Sleep(time.Until(due))
		v := t.voters[i]
		choice := benchChoices[(i*7)%10%3] // 同意, 不同意, 弃权 in a fixed mix
		body, _ := json.Marshal(map[string]string{"choice": choice})
		wg.Go(func() {
			status, tries := 0, 0
			var refusals []string
			for {
				tries++
				req, _ := http.NewRequest("POST", path, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+v.token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				status = 0
				if err != nil {
					refusals = append(refusals, "no answer")
				} else {
					status = resp.StatusCode
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if status != 201 {
						refusals = append(refusals, fmt.Sprintf("%d %.100s", status, b))
					}
				}
				if (status != 0 && status < 500) || time.Since(due) > 2*time.Minute {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			took := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			res.sentChoice[choice]++
			for _, r := range refusals {
				res.refusals[r]++
			}
			res.last = max(res.last, time.Since(start))
			if tries > 1 {
				res.retried++
			}
			switch {
			case status == 201:
				res.acked = append(res.acked, int64(i))
				res.chose[choice]++
				res.lat = append(res.lat, took)
				res.at = append(res.at, due.Sub(start))
				res.latByAt = append(res.latByAt, took)
			case status == 409 && tries > 1:
				res.already = append(res.already, int64(i))
			default:
				res.failed++
			}
		})
	}
	wg.Wait()
	res.planned = planned
	sort.Slice(res.lat, func(i, j int) bool { return res.lat[i] < res.lat[j] })
	return res
}

// readPublicBoard reads a community's public board without pause and
// signed out, the page and the JSON decisions in turn, until stop closes;
// it keeps the latencies of the reads answered 200 of each.
func readPublicBoard(base, community string, stop <-chan struct{}) [2][]time.Duration {
	client := &http.Client{Timeout: 10 * time.Second}
	paths := [2]string{"/deliberation/board/" + community, "/api/v1/decisions?division_code=" + community}
	var lat [2][]time.Duration
	for i := 0; ; i++ {
		select {
		case <-stop:
			for k := range lat {
				sort.Slice(lat[k], func(i, j int) bool { return lat[k][i] < lat[k][j] })
			}
			return lat
		default:
		}
		k := i % 2
		t0 := time.Now()
		resp, err := client.Get(base + paths[k])
		if err != nil {
			time.Sleep(50 * time.Millisecond) // the server is down: wait for it
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			lat[k] = append(lat[k], time.Since(t0))
		}
	}
}

type ballotCheck struct {
	voters, box, chain, missing, doubled int
}

// checkBallots reads the store beside the running server: every
// acknowledged household must be among the vote's voters, no household
// twice, and the sealed box (or the open chain) as full as the voters'
// list.
func checkBallots(ctx context.Context, cfg config.Config, t ballotTarget, res ballotLoad) (ballotCheck, error) {
	var c ballotCheck
	d, err := openRaw(cfg)
	if err != nil {
		return c, err
	}
	defer d.Close()
	stored, err := db.StringSet(ctx, d.R, `SELECT voter FROM dlb_voters WHERE vote_id = $1`, t.vote)
	if err != nil {
		return c, err
	}
	for _, list := range [][]int64{res.acked, res.already} {
		for _, i := range list {
			if !stored[t.voters[i].household] {
				c.missing++
			}
		}
	}
	err = d.R.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM dlb_voters WHERE vote_id = $1), (SELECT COUNT(*) FROM dlb_box WHERE vote_id = $1),
		(SELECT COUNT(*) FROM dlb_ballots WHERE vote_id = $1), (SELECT COUNT(*) FROM (SELECT voter FROM dlb_voters WHERE vote_id = $1 GROUP BY voter HAVING COUNT(*) > 1) x)`, t.vote).
		Scan(&c.voters, &c.box, &c.chain, &c.doubled)
	if err != nil {
		return c, err
	}
	// A ballot without its voter, or a voter with two ballots.
	if n := c.box + c.chain - c.voters; n != 0 {
		c.doubled += max(n, -n)
	}
	return c, nil
}

func openRaw(cfg config.Config) (*db.DB, error) {
	if cfg.DatabaseURL != "" {
		return db.OpenPostgres(cfg.DatabaseURL)
	}
	return db.OpenSQLite(cfg.DataDir)
}

type countOutcome struct {
	ok   bool
	line string
}

// countTownshipVote closes the vote's window in the store (the clock
// would, an hour later), then asks the server to verify the chain: the
// first read of a closed vote counts it (a secret vote's box is unsealed
// onto the chain), and the check recomputes every ballot's hash.
func countTownshipVote(ctx context.Context, cfg config.Config, base string, t ballotTarget, res ballotLoad) (countOutcome, error) {
	d, err := openRaw(cfg)
	if err != nil {
		return countOutcome{}, err
	}
	_, err = d.W.ExecContext(ctx, `UPDATE dlb_votes SET closes_at = $2 WHERE id = $1`, t.vote, db.T(time.Now().Add(-time.Second)))
	d.Close()
	if err != nil {
		return countOutcome{}, err
	}
	c := &http.Client{Timeout: 10 * time.Minute}
	var check struct {
		OK      bool   `json:"ok"`
		Ballots int    `json:"ballots"`
		Voters  int    `json:"voters"`
		Sealed  int    `json:"sealed"`
		Problem string `json:"problem"`
	}
	start := time.Now()
	if err := benchCall(c, base, t.officerToken, "GET", "/api/v1/votes/"+t.vote+"/verify", nil, &check); err != nil {
		return countOutcome{}, err
	}
	took := time.Since(start)
	var result struct {
		Outcome string         `json:"outcome"`
		Voted   int            `json:"voted"`
		Counts  map[string]int `json:"counts"`
	}
	if err := benchCall(c, base, t.officerToken, "GET", "/api/v1/votes/"+t.vote+"/results", nil, &result); err != nil {
		return countOutcome{}, err
	}
	// Each option counts at least its ballots answered 201 and at most
	// every ballot sent with it.
	fits := true
	for _, o := range benchChoices {
		fits = fits && result.Counts[o] >= res.chose[o] && result.Counts[o] <= res.sentChoice[o]
	}
	ok := check.OK && check.Sealed == 0 && check.Ballots == check.Voters && result.Voted == check.Ballots && fits
	return countOutcome{ok: ok, line: fmt.Sprintf("count and chain check (GET /api/v1/votes/{id}/verify, the first read after the close counts the vote) in %s: ok=%t ballots=%d voters=%d sealed=%d problem=%q; result: %s voted=%d counts=%v (answered 201 by choice %v: within bounds %t)",
		took.Round(time.Millisecond), check.OK, check.Ballots, check.Voters, check.Sealed, check.Problem, result.Outcome, result.Voted, result.Counts, res.chose, fits)}, nil
}

// cleanupBallots removes the vote, its topic and the bench's accounts and
// revokes the officer's token.
func cleanupBallots(ctx context.Context, e env, cfg config.Config, t ballotTarget) error {
	a, err := app.Open(ctx, cfg, app.Options{Log: newLogger("error", nilFile()), Modules: e.modules})
	if err != nil {
		return err
	}
	defer a.Close()
	var errs []error
	if t.topic != "" {
		for _, q := range []string{
			`DELETE FROM dlb_box WHERE vote_id IN (SELECT id FROM dlb_votes WHERE topic_id = $1)`,
			`DELETE FROM dlb_voters WHERE vote_id IN (SELECT id FROM dlb_votes WHERE topic_id = $1)`,
			`DELETE FROM dlb_ballots WHERE vote_id IN (SELECT id FROM dlb_votes WHERE topic_id = $1)`,
			`DELETE FROM dlb_votes WHERE topic_id = $1`,
			`DELETE FROM dlb_topic_events WHERE topic_id = $1`,
			`DELETE FROM dlb_topics WHERE id = $1`,
		} {
			if _, err := a.DB.W.ExecContext(ctx, q, t.topic); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, removeBenchVoters(ctx, a))
	if t.tokenID != "" {
		if _, err := a.Auth.RevokeToken(access.With(ctx, operator()), t.tokenID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// topCounts lists the n largest counts, largest first.
func topCounts(m map[string]int, n int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	var parts []string
	for _, k := range keys[:min(n, len(keys))] {
		parts = append(parts, fmt.Sprintf("%q×%d", k, m[k]))
	}
	return strings.Join(parts, "; ")
}
