// Package app assembles Linli: it opens the store, applies every feature's
// migrations, loads the divisions and mounts each feature's routes behind
// the shared middleware. A new capability is one folder plus one line in
// Migrations and one in routes.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/auth"
	"linli/internal/config"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/indicators"
	"linli/internal/lifecircle"
	"linli/internal/requests"
	"linli/internal/secret"
	"linli/internal/web"
)

// Version is set at build time with -ldflags "-X linli/internal/app.Version=…".
var Version = "0.1.0-dev"

// Migrations lists every feature's schema steps in dependency order.
func Migrations() []db.Migration {
	var ms []db.Migration
	for _, set := range [][]db.Migration{audit.Migrations, divisions.Migrations, auth.Migrations} {
		ms = append(ms, set...)
	}
	for _, m := range modules {
		ms = append(ms, m.Migrations...)
	}
	return ms
}

// App is a running platform.
type App struct {
	Cfg       config.Config
	DB        *db.DB
	Keys      *secret.Keyring
	Audit     *audit.Log
	Auth      *auth.Service
	Divisions *divisions.Store
	Log       *slog.Logger
	Metrics   *web.Metrics
	Router    *web.Router
	Renderer  *web.Renderer
	// KeyWarning is set when the data key lives beside the data.
	KeyWarning string
	// Loaded is how many divisions this start inserted.
	Loaded int

	circle *lifecircle.Service
	authn  *auth.Handlers
}

// OpenStore opens the configured store: PostgreSQL when a URL is set, else
// SQLite in the data folder.
func OpenStore(cfg config.Config) (*db.DB, error) {
	if cfg.DatabaseURL != "" {
		return db.OpenPostgres(cfg.DatabaseURL)
	}
	return db.OpenSQLite(cfg.DataDir)
}

// Open opens the store, migrates it, loads the divisions and wires the
// features. now is the clock (nil: time.Now).
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, now func() time.Time) (*App, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	d, err := OpenStore(cfg)
	if err != nil {
		return nil, err
	}
	a, err := Wire(ctx, cfg, d, log, now)
	if err != nil {
		d.Close()
		return nil, err
	}
	return a, nil
}

// Wire builds the app over an open store.
func Wire(ctx context.Context, cfg config.Config, d *db.DB, log *slog.Logger, now func() time.Time) (*App, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if now == nil {
		now = time.Now
	}
	if _, err := d.Migrate(ctx, Migrations()); err != nil {
		return nil, fmt.Errorf("数据库迁移失败 / migration failed: %w", err)
	}
	keyDir := cfg.DataDir
	keys, warn, err := secret.Load(cfg.DataKey, keyDir)
	if err != nil {
		return nil, err
	}
	a := &App{Cfg: cfg, DB: d, Keys: keys, KeyWarning: warn, Log: log, Metrics: web.NewMetrics()}
	a.Audit = &audit.Log{DB: d, Now: now}
	a.Divisions = &divisions.Store{DB: d}
	if a.Loaded, err = a.Divisions.Load(ctx); err != nil {
		return nil, fmt.Errorf("加载区划失败 / loading divisions failed: %w", err)
	}
	a.Auth = &auth.Service{DB: d, Audit: a.Audit, Keys: keys, Now: now, IdleTimeout: cfg.SessionIdle, MaxAge: cfg.SessionMax,
		DivisionExists: func(ctx context.Context, code string) (int, bool, error) {
			div, err := a.Divisions.Get(ctx, code)
			if errors.Is(err, db.ErrNotFound) {
				return 0, false, nil
			}
			return div.Level, err == nil, err
		}}
	web.MaxBody = cfg.MaxBody
	demo, err := IsDemo(ctx, d)
	if err != nil {
		return nil, err
	}
	a.routes(demo)
	return a, nil
}

// Close stops the features' background writers, then releases the store.
func (a *App) Close() error {
	requests.CloseShared(a.DB)
	indicators.Forget(a.DB)
	return a.DB.Close()
}

// Handler is the whole HTTP stack.
func (a *App) Handler() http.Handler {
	var h http.Handler = a.Router
	h = a.authn.Authenticate(h)
	h = http.NewCrossOriginProtection().Handler(h)
	h = web.SecurityHeaders(h)
	return web.Observe(a.Log, a.Metrics, h)
}

func (a *App) routes(demo bool) {
	rd := web.NewRenderer()
	rd.Demo = demo
	rd.Version = Version
	rd.Nav = []web.NavItem{
		{Href: "/", Label: web.M("首页", "Home")},
		{Href: "/divisions", Label: web.M("区划查询", "Divisions")},
		{Href: "/unit-data/import", Label: web.M("导入单元数据", "Import unit data"), Roles: []access.Role{access.Officer}},
	}
	for _, m := range modules {
		rd.Nav = append(rd.Nav, m.Nav...)
	}
	rd.Nav = append(rd.Nav, []web.NavItem{
		{Href: "/admin/users", Label: web.M("账号管理", "Accounts"), Roles: []access.Role{access.SysAdmin, access.SecAdmin}},
		{Href: "/admin/security", Label: web.M("安全策略", "Security policy"), Roles: []access.Role{access.SecAdmin}},
		{Href: "/audit", Label: web.M("审计日志", "Audit log"), Roles: []access.Role{access.Auditor}},
		{Href: "/account/password", Label: web.M("修改密码", "Password")},
		{Href: "/account/totp", Label: web.M("动态口令", "Two-factor")},
	}...)
	a.Renderer = rd
	rt := web.NewRouter()
	rt.Wrap = web.Instrument
	a.Router = rt

	divH := &divisions.Handlers{Store: a.Divisions, Audit: a.Audit, Pages: divisions.ParsePages(rd)}
	authH := &auth.Handlers{Svc: a.Auth, Pages: auth.ParsePages(rd), SecureCookies: a.Cfg.SecureCookies, TrustProxy: a.Cfg.TrustProxy}
	a.authn = authH
	auditH := &audit.Handlers{Log: a.Audit, Pages: audit.ParsePages(rd)}
	home := &homeHandlers{app: a, pages: rd.Parse(templates, "templates/*.html"), units: divH}

	divH.Register(rt)
	authH.Register(rt)
	auditH.Register(rt)
	home.Register(rt)
	a.opsRoutes(rt)
	for _, m := range modules {
		if m.Mount != nil {
			m.Mount(a, rt, rd)
		}
	}
}

// Serve answers HTTP on ln until ctx ends, then shuts down gracefully,
// letting requests in flight finish.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	jobs, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	for _, m := range modules {
		if m.Start != nil {
			go m.Start(jobs, a)
		}
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
