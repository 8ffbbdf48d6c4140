package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/leakcheck"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The real linli command, built at most once per run of this package, by
// the first test that needs it, into a folder TestMain removes.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := leakcheck.Run(m)
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary returns the built command.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "linli-bin"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "linli")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binPath
}

// eachStore runs fn as parallel subtests "sqlite" and (when configured)
// "postgres", with the server flags that choose the store: none for SQLite
// in the data folder, --database-url of a fresh schema for PostgreSQL.
func eachStore(t *testing.T, fn func(t *testing.T, store []string)) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			var store []string
			if dialect == db.Postgres {
				store = []string{"--database-url", dbtest.PostgresURL(t)}
			}
			fn(t, store)
		})
	}
}

// server is a running `linli serve`.
type server struct {
	URL    string
	Output string // what it printed before listening
	cmd    *exec.Cmd
	done   chan error
}

var listenRe = regexp.MustCompile(`listening on (http://\S+)`)

// startServer runs the binary on a free port with the given data folder and
// extra flags (the store's first: SQLite unless --database-url) and waits
// until it says where it listens. The server is stopped with SIGTERM
// when the test ends, and must exit cleanly.
func startServer(t testing.TB, dataDir string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, extra...)
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "LINLI_DATABASE_URL=", "LINLI_LOG_LEVEL=warn")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		s.done <- cmd.Wait()
	}()
	var out strings.Builder
	// Generous: with --demo every module writes its data before the
	// server listens, which took over a minute on PostgreSQL while the
	// other packages' tests held both cores. It only catches a hung start.
	timeout := time.After(3 * time.Minute)
	for s.URL == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("server exited before listening:\n%s", out.String())
			}
			out.WriteString(l + "\n")
			if m := listenRe.FindStringSubmatch(l); m != nil {
				s.URL = m[1]
			}
		case <-timeout:
			cmd.Process.Kill()
			t.Fatalf("server did not start:\n%s", out.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	s.Output = out.String()
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *server) stop(t testing.TB) {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("server did not shut down cleanly: %v", err)
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		t.Error("server did not stop within 30 s of SIGTERM")
	}
}

var otpRe = regexp.MustCompile(`one-time password: (\S+)`)

// oneTimePassword finds the first admin's password in the server output.
func (s *server) oneTimePassword(t testing.TB) string {
	m := otpRe.FindStringSubmatch(s.Output)
	if m == nil {
		t.Fatalf("no one-time password printed:\n%s", s.Output)
	}
	return m[1]
}

const chromiumPath = "/usr/bin/chromium"

// chromium starts headless Chromium for a test and answers its first tab,
// with no deadline (each step sets its own); without Chromium the test
// skips, except under CI, where a missing browser is a failure. Tabs that
// are not in front keep working at full speed: the crawl and the
// screenshots work in several at once. extra adds or overrides flags.
// Every browser test starts its browser here.
func chromium(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs Chromium at %s (apt-get install -y chromium)", chromiumPath)
		}
		t.Skipf("Chromium not installed at %s: browser test skipped (apt-get install -y chromium)", chromiumPath)
	}
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.UserDataDir(t.TempDir()),
	}, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	// The first run starts the browser and must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		cancelC()
		cancelA()
		t.Fatalf("start Chromium: %v", err)
	}
	t.Cleanup(func() { cancelC(); cancelA() })
	return ctx
}

// browser starts Chromium with a phone-sized window for a test that walks
// one flow, all of it within two minutes.
func browser(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(chromium(t, chromedp.WindowSize(390, 844)), 120*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// shot saves a screenshot when LINLI_SCREENSHOTS names a folder.
func shot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		dir := os.Getenv("LINLI_SCREENSHOTS")
		if dir == "" {
			return nil
		}
		b, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644)
	})
}

// text reads the text of the first node matching sel into dst.
func text(sel string, dst *string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		v, err := chromedp.Text(sel)(ctx, t)
		*dst = strings.TrimSpace(v)
		return err
	})
}

func TestEndToEndFirstAdminCreatesWorker(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, store []string) {
		ctx := browser(t)
		data := t.TempDir()
		s := startServer(t, data, store...)
		adminPW := s.oneTimePassword(t)
		const adminNew, workerNew = "Strong-Pass-2026-Lx", "Another-Pass-2026-Qz"
		var heading, workerOTP, body string
		err := chromedp.Do(ctx,
			chromedp.Navigate(s.URL+"/"),
			chromedp.WaitVisible(`input[name=username]`),
			chromedp.SendKeys(`input[name=username]`, "admin"),
			chromedp.SendKeys(`input[name=password]`, adminPW),
			chromedp.Submit(`input[name=password]`),
			// The one-time password must be changed before anything else.
			chromedp.WaitVisible(`input[name=new_password]`),
			shot("01-forced-change"),
			chromedp.SendKeys(`input[name=old_password]`, adminPW),
			chromedp.SendKeys(`input[name=new_password]`, adminNew),
			chromedp.SendKeys(`input[name=confirm_password]`, adminNew),
			chromedp.Submit(`input[name=confirm_password]`),
			chromedp.WaitVisible(`//h1[contains(., "管理首页")]`),
			chromedp.Navigate(s.URL+"/admin/users/new"),
			chromedp.WaitVisible(`input[name=division_code]`),
			chromedp.SendKeys(`input[name=username]`, "wang.worker"),
			chromedp.SendKeys(`input[name=display_name]`, "王社工"),
			chromedp.SetValue(`select[name=role]`, "community_worker"),
			chromedp.SendKeys(`input[name=division_code]`, "330106002051"),
			chromedp.Submit(`input[name=division_code]`),
			chromedp.WaitVisible(`code.otp`),
			shot("02-user-created"),
			text(`code.otp`, &workerOTP),
		)
		if err != nil {
			t.Fatalf("browser flow (admin): %v", err)
		}
		if workerOTP == "" {
			t.Fatal("no one-time password shown for the new account")
		}
		// A worker reads personal data: a second person, the security
		// administrator (made by the operator), approves the account.
		const secPW = "Second-Person-2026-Kv"
		create := exec.Command(binary(t), append([]string{"admin", "create-user", "--data-dir", data, "--username", "secadm", "--role", "secadmin", "--division", "33", "--password-stdin"}, store...)...)
		create.Env = append(os.Environ(), "LINLI_DATABASE_URL=")
		create.Stdin = strings.NewReader(secPW + "\n")
		if out, err := create.CombinedOutput(); err != nil {
			t.Fatalf("create the security administrator: %v\n%s", err, out)
		}
		err = chromedp.Do(ctx,
			logout,
			chromedp.SendKeys(`input[name=username]`, "secadm"),
			chromedp.SendKeys(`input[name=password]`, secPW),
			chromedp.Submit(`input[name=password]`),
			chromedp.WaitVisible(`a[href="/menu"]`),
			chromedp.Navigate(s.URL+"/admin/users"),
			chromedp.Click(`form[action="/admin/users/wang.worker/approve"] button`),
			chromedp.WaitVisible(`//p[contains(., "账号已批准")]`),
		)
		if err != nil {
			t.Fatalf("browser flow (approval): %v", err)
		}
		err = chromedp.Do(ctx,
			logout,
			chromedp.SendKeys(`input[name=username]`, "wang.worker"),
			chromedp.SendKeys(`input[name=password]`, workerOTP),
			chromedp.Submit(`input[name=password]`),
			chromedp.WaitVisible(`input[name=new_password]`),
			chromedp.SendKeys(`input[name=old_password]`, workerOTP),
			chromedp.SendKeys(`input[name=new_password]`, workerNew),
			chromedp.SendKeys(`input[name=confirm_password]`, workerNew),
			chromedp.Submit(`input[name=confirm_password]`),
			// Wait for the new page itself: the password page has an h1 too.
			// A worker starts at the 工作台; the community's overview is in
			// the menu.
			chromedp.WaitVisible(`//h1[contains(., "工作台")]`),
			chromedp.WaitVisible(`//p[contains(., "密码已修改")]`),
			chromedp.Navigate(s.URL+"/overview"),
			chromedp.WaitVisible(`//h1[contains(., "社区概览")]`),
			text(`h1`, &heading),
			text(`main`, &body),
			shot("03-community-home"),
		)
		if err != nil {
			t.Fatalf("browser flow (worker): %v", err)
		}
		if heading != "社区概览" || !strings.Contains(body, "上保社区") || !strings.Contains(body, "330106002051") {
			t.Fatalf("worker home: heading %q body %.300q", heading, body)
		}
		// A second start on the same data folder reloads nothing and prints no new password.
		s.stop(t)
		s2 := startServer(t, data, store...)
		if strings.Contains(s2.Output, "one-time password") || strings.Contains(s2.Output, "divisions loaded") {
			t.Fatalf("second start redid first-start work:\n%s", s2.Output)
		}
	})
}

func TestUnopenableDatabaseIsOneLine(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	file := filepath.Join(t.TempDir(), "not-a-dir")
	os.WriteFile(file, []byte("x"), 0o600)
	for _, args := range [][]string{
		{"migrate", "--data-dir", file},
		{"migrate", "--database-url", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"},
		{"serve", "--addr", "nonsense"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "LINLI_DATABASE_URL=")
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() == 0 {
			t.Errorf("%v: want a non-zero exit, got %v", args, err)
		}
		text := strings.TrimSpace(string(out))
		if strings.Contains(text, "goroutine") || strings.Contains(text, "panic") || text == "" {
			t.Errorf("%v printed:\n%s", args, text)
		}
		if args[0] == "migrate" && strings.Count(text, "\n") > 0 {
			t.Errorf("%v: want one line, got:\n%s", args, text)
		}
	}
}

// demoPassword reads a demo account's password from the server output
// (lines "  demo.worker  PASSWORD  role  division").
func demoPassword(t *testing.T, s *server, user string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(user) + `\s+(\S+)`).FindStringSubmatch(s.Output)
	if m == nil {
		t.Fatalf("no demo password for %s:\n%s", user, s.Output)
	}
	return m[1]
}

// login signs in through the login form and lands on next.
func login(s *server, user, pw, next string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(s.URL+"/login?next="+next),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, user),
		chromedp.SendKeys(`input[name=password]`, pw),
		chromedp.Submit(`input[name=password]`),
	)
}

// logout signs out from the menu page ("全部功能" in the header) and waits
// for the login page.
var logout = chromedp.Steps(chromedp.Click(`a[href="/menu"]`), chromedp.WaitVisible(`form[action="/logout"] button`),
	chromedp.Click(`form[action="/logout"] button`), chromedp.WaitVisible(`input[name=username]`))

// fitsPhoneInBothModes reloads the page the browser shows in normal and
// 长辈模式 and fails the test where it scrolls sideways or axe finds a
// serious or critical violation (or checks nothing).
func fitsPhoneInBothModes(ctx context.Context, t *testing.T, s *server, what string) {
	t.Helper()
	for _, elder := range []string{"0", "1"} {
		var widths []float64
		if err := chromedp.Do(ctx,
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: "elder", Value: elder, URL: s.URL})
				return err
			}),
			chromedp.Reload(),
			chromedp.WaitVisible(`main`),
			evalFloats(`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`, &widths),
		); err != nil {
			t.Fatalf("%s (elder %s): %v", what, elder, err)
		}
		if len(widths) != 2 || widths[0] > widths[1] {
			t.Errorf("%s (elder %s) scrolls sideways: %v", what, elder, widths)
		}
		res, err := runAxe(ctx)
		if err != nil {
			t.Fatalf("axe on %s: %v", what, err)
		}
		if res.Passes == 0 {
			t.Errorf("axe checked nothing on %s", what)
		}
		for _, v := range res.Violations {
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("%s (elder %s): axe %s (%s) at %v", what, elder, v.ID, v.Impact, v.Targets)
			}
		}
	}
}
