package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/auth"
	"linli/internal/config"
	"linli/internal/db"
	"linli/internal/dbtest"
)

// clock is a test clock that tests move forward instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type testEnv struct {
	t     *testing.T
	app   *App
	srv   *httptest.Server
	clock *clock
}

// Real codes of 西湖区 (NBS 2023): two communities in different townships.
const (
	communityA = "330106002051" // 北山街道 上保社区
	communityB = "330106004053" // 西溪街道 石灰桥社区
	county     = "330106"
	otherCity  = "3302" // 宁波市
)

const testPassword = "Test-Passw0rd-2026"

func newEnv(t *testing.T, d *db.DB) *testEnv {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	ck := &clock{t: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)}
	a, err := Wire(context.Background(), cfg, d, Options{Now: ck.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, app: a, srv: srv, clock: ck}
}

func eachStore(t *testing.T, fn func(t *testing.T, e *testEnv)) {
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) { fn(t, newEnv(t, d)) })
}

// user creates an account with testPassword as the CLI operator would.
func (e *testEnv) user(name string, role access.Role, division string) {
	e.t.Helper()
	ctx := access.With(context.Background(), access.Operator())
	if _, _, err := e.app.Auth.Create(ctx, auth.NewUser{Username: name, Role: role, Division: division, Password: testPassword}); err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
}

type client struct {
	e *testEnv
	h *http.Client
}

func (e *testEnv) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, h: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// login signs in through the JSON API and fails the test unless it works.
func (e *testEnv) login(name string) *client {
	e.t.Helper()
	c := e.client()
	if st, body := c.do("POST", "/api/v1/session", map[string]string{"username": name, "password": testPassword}); st != 200 {
		e.t.Fatalf("login %s: %d %s", name, st, body)
	}
	return c
}

// do sends a same-origin request with an optional JSON body.
func (c *client) do(method, path string, body any) (int, string) {
	c.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, c.e.srv.URL+path, rd)
	if _, ok := body.(string); ok {
		req.Header.Set("Content-Type", "text/csv")
	} else if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.h.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *client) form(path string, vals map[string]string, hdr map[string]string) (int, string, http.Header) {
	c.e.t.Helper()
	var parts []string
	for k, v := range vals {
		parts = append(parts, k+"="+urlEscape(v))
	}
	req, _ := http.NewRequest("POST", c.e.srv.URL+path, strings.NewReader(strings.Join(parts, "&")))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.h.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func urlEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", "=", "%3D", " ", "+", "#", "%23")
	return r.Replace(s)
}

func (e *testEnv) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.app.DB.R.QueryRow(query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}
