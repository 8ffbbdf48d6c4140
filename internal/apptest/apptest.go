// Package apptest runs the whole app for tests: a fresh app per store
// (SQLite always, PostgreSQL when LINLI_TEST_POSTGRES_URL is set) behind a
// real HTTP server, a clock that tests move forward instead of sleeping,
// accounts, and clients that sign in and call the API as a browser or a
// script would. It is imported by tests only.
package apptest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/auth"
	"linli/internal/config"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/module"
)

// Real codes of 西湖区 (NBS 2023): two communities in different townships.
const (
	CommunityA = "330106002051" // 北山街道 上保社区
	CommunityB = "330106004053" // 西溪街道 石灰桥社区
	County     = "330106"       // 西湖区
	OtherCity  = "3302"         // 宁波市
)

// Password is the password of every account User creates.
const Password = "Test-Passw0rd-2026"

// Env is one running app over one store, served on a local port.
type Env struct {
	T     *testing.T
	App   *app.App
	Clock *dbtest.Clock
	// URL is the server's root, e.g. http://127.0.0.1:39871.
	URL string
}

// Each runs fn in parallel subtests "sqlite" and "postgres" (when
// configured), each with a fresh app over its own empty store.
func Each(t *testing.T, fn func(t *testing.T, e *Env)) {
	t.Helper()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) { fn(t, New(t, d)) })
}

// EachWith is Each with the given modules instead of the platform's list.
func EachWith(t *testing.T, modules []module.Spec, fn func(t *testing.T, e *Env)) {
	t.Helper()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) { fn(t, NewWith(t, d, modules)) })
}

// New starts an app over d (which the app migrates) and serves it until the
// test ends; then the server and the app are closed.
func New(t *testing.T, d *db.DB) *Env { return NewWith(t, d, nil) }

// NewWith is New with the given modules (nil: the platform's list).
func NewWith(t *testing.T, d *db.DB, modules []module.Spec) *Env {
	t.Helper()
	ck := dbtest.NewClock(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC))
	a := newApp(t, settings(t), d, ck.Now, modules)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := a.Close(); err != nil {
			t.Errorf("close app: %v", err)
		}
	})
	return &Env{T: t, App: a, Clock: ck, URL: srv.URL}
}

// Open wires an app over d with the clock now (nil: the real one), not
// served, for benchmarks and store-level tests; it is closed when the test
// ends.
func Open(tb testing.TB, d *db.DB, now func() time.Time) *app.App {
	tb.Helper()
	a := newApp(tb, settings(tb), d, now, nil)
	tb.Cleanup(func() {
		if err := a.Close(); err != nil {
			tb.Errorf("close app: %v", err)
		}
	})
	return a
}

// Restart wires a second app over the env's store and data folder, as the
// next start of the server does. It is not served, nor closed: the env's
// app owns the store.
func (e *Env) Restart() *app.App {
	e.T.Helper()
	return newApp(e.T, e.App.Cfg, e.App.DB, e.Clock.Now, nil)
}

// settings are the defaults with a data folder of the test's own.
func settings(tb testing.TB) config.Config {
	cfg := config.Defaults()
	cfg.DataDir = tb.TempDir()
	return cfg
}

// newApp is the one place that builds the app: the tests' only use of its
// wiring API.
func newApp(tb testing.TB, cfg config.Config, d *db.DB, now func() time.Time, modules []module.Spec) *app.App {
	tb.Helper()
	a, err := app.Wire(context.Background(), cfg, d, app.Options{Now: now, Modules: modules})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// User creates an account with Password, as the CLI operator would.
func (e *Env) User(name string, role access.Role, division string) {
	e.T.Helper()
	ctx := access.With(context.Background(), access.Operator())
	if _, _, err := e.App.Auth.Create(ctx, auth.NewUser{Username: name, Role: role, Division: division, Password: Password}); err != nil {
		e.T.Fatalf("create %s: %v", name, err)
	}
}

// Count runs a query of one integer (on the reader pool) and returns it.
func (e *Env) Count(query string, args ...any) int {
	e.T.Helper()
	var n int
	if err := e.App.DB.R.QueryRow(query, args...).Scan(&n); err != nil {
		e.T.Fatalf("%s: %v", query, err)
	}
	return n
}
