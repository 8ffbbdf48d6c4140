package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/config"
	"linli/internal/db"
	"linli/internal/dbtest"
)

func TestPersonalAnswersAreNotStored(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		for _, path := range []string{"/", "/registry/residents", "/registry/households", "/requests", "/indicators", "/indicators/report",
			"/api/v1/me", "/api/v1/residents", "/api/v1/households", "/api/v1/requests", "/api/v1/indicators", "/api/v1/grids",
			"/api/v1/residents/nobody", "/api/v1/nothing-here", "/login"} {
			t.Run(path, func(t *testing.T) {
				st, _, hdr := c.Get(path)
				if got := hdr.Get("Cache-Control"); got != "no-store" {
					t.Errorf("%d with Cache-Control %q, want no-store", st, got)
				}
			})
		}
		t.Run("hashed assets may still be cached", func(t *testing.T) {
			st, _, hdr := c.Get(e.App.Renderer.Asset("app.css"))
			if st != 200 || hdr.Get("Cache-Control") != "public, max-age=31536000, immutable" {
				t.Errorf("%d %q", st, hdr.Get("Cache-Control"))
			}
		})
	})
}

// wired builds the app over a fresh SQLite store with the settings mod
// makes, closed when the test ends.
func wired(t *testing.T, mod func(*config.Config)) *app.App {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	mod(&cfg)
	a, err := app.Wire(context.Background(), cfg, dbtest.Open(t, db.SQLite, nil), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// get sends a GET through h with the headers given.
func get(h http.Handler, path string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHSTSBehindTLS(t *testing.T) {
	t.Parallel()
	const hsts = "max-age=31536000"
	for _, k := range []struct {
		name   string
		mod    func(*config.Config)
		hdr    map[string]string
		expect string
	}{
		{"plain HTTP by default: no HSTS", func(*config.Config) {}, nil, ""},
		{"secure cookies say TLS ends in front of us", func(c *config.Config) { c.SecureCookies = true }, nil, hsts},
		{"a trusted proxy that says https", func(c *config.Config) { c.TrustProxy = true }, map[string]string{"X-Forwarded-Proto": "https"}, hsts},
		{"a trusted proxy that says http", func(c *config.Config) { c.TrustProxy = true }, map[string]string{"X-Forwarded-Proto": "http"}, ""},
		{"an untrusted claim of https", func(*config.Config) {}, map[string]string{"X-Forwarded-Proto": "https"}, ""},
	} {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			w := get(wired(t, k.mod).Handler(), "/login", k.hdr)
			if got := w.Header().Get("Strict-Transport-Security"); got != k.expect {
				t.Errorf("HSTS %q, want %q", got, k.expect)
			}
		})
	}
}

// freeAddr is a local address no one listens on (for a moment).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// scrape reads addr's /metrics with the bearer token given ("" for none).
func scrape(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	var resp *http.Response
	var err error
	for range 50 { // the server may still be starting
		if resp, err = http.DefaultClient.Do(req); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetricsNeedTokenOrOwnAddress(t *testing.T) {
	t.Parallel()
	const token = "metrics-token-0123456789"
	t.Run("not served by default", func(t *testing.T) {
		t.Parallel()
		if w := get(wired(t, func(*config.Config) {}).Handler(), "/metrics", nil); w.Code != 404 {
			t.Errorf("status %d", w.Code)
		}
	})
	t.Run("with a token, only its holder reads them", func(t *testing.T) {
		t.Parallel()
		h := wired(t, func(c *config.Config) { c.Modules = config.Values{app.EnvMetricsToken: token} }).Handler()
		for _, k := range []struct {
			name   string
			auth   string
			status int
		}{
			{"no token", "", 401}, {"a wrong token", "Bearer " + token + "x", 401}, {"a prefix of it", "Bearer " + token[:10], 401},
			{"a session's scheme", "Basic " + token, 401}, {"the token", "Bearer " + token, 200},
		} {
			w := get(h, "/metrics", map[string]string{"Authorization": k.auth})
			if w.Code != k.status {
				t.Errorf("%s: status %d, want %d", k.name, w.Code, k.status)
			}
			if w.Code == 200 && !strings.Contains(w.Body.String(), "# TYPE linli_http_requests_total counter") {
				t.Errorf("%s: not the exposition: %s", k.name, w.Body)
			}
			if w.Code == 401 && w.Header().Get("WWW-Authenticate") != `Bearer realm="linli-metrics"` {
				t.Errorf("%s: challenge %q", k.name, w.Header().Get("WWW-Authenticate"))
			}
		}
	})
	t.Run("on their own address, not on the main one", func(t *testing.T) {
		t.Parallel()
		addr := freeAddr(t)
		a := wired(t, func(c *config.Config) {
			c.Modules = config.Values{app.EnvMetricsAddr: addr, app.EnvMetricsToken: token}
		})
		if w := get(a.Handler(), "/metrics", nil); w.Code != 404 {
			t.Errorf("main address: status %d", w.Code)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Serve(ctx, ln) }()
		if st, _ := scrape(t, "http://"+addr+"/metrics", ""); st != 401 {
			t.Errorf("own address without the token: %d", st)
		}
		if st, body := scrape(t, "http://"+addr+"/metrics", token); st != 200 || !strings.Contains(body, "linli_db_open_connections") {
			t.Errorf("own address: %d %s", st, body)
		}
		if st, _ := scrape(t, "http://"+addr+"/healthz", token); st != 404 {
			t.Errorf("own address serves more than the metrics: %d", st)
		}
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	t.Run("bad settings are named", func(t *testing.T) {
		t.Parallel()
		for env, v := range map[string]string{app.EnvMetricsToken: "short", app.EnvMetricsAddr: "nowhere"} {
			cfg := config.Defaults()
			cfg.DataDir = t.TempDir()
			cfg.Modules = config.Values{env: v}
			_, err := app.Wire(context.Background(), cfg, dbtest.Open(t, db.SQLite, nil), app.Options{})
			if err == nil || !strings.Contains(err.Error(), env) {
				t.Errorf("%s=%q: %v", env, v, err)
			}
		}
	})
}
