// Package app assembles Linli: it opens the store, builds the core
// (divisions, accounts, audit) and every module of the list in
// modules_list.go, applies all migrations, loads the divisions and mounts
// each module behind the shared middleware. It knows the modules only
// through the contract in internal/module.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"linli/internal/audit"
	"linli/internal/auth"
	"linli/internal/config"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/front"
	"linli/internal/module"
	"linli/internal/notices"
	"linli/internal/secret"
	"linli/internal/web"
	"linli/internal/webhook"
)

// Version is set at build time with -ldflags "-X linli/internal/app.Version=…".
var Version = "0.1.0-dev"

// Options choose what Wire builds beyond the configuration.
type Options struct {
	Log *slog.Logger     // nil: discard
	Now func() time.Time // the clock; nil: time.Now
	// Modules are the capabilities to mount; nil: Modules().
	Modules []module.Spec
}

// App is a running platform.
type App struct {
	Cfg       config.Config
	DB        *db.DB
	Keys      *secret.Keyring
	Audit     *audit.Log
	Auth      *auth.Service
	Divisions *divisions.Store
	Notices   *notices.Service
	Log       *slog.Logger
	Metrics   *web.Metrics
	Router    *web.Router
	Renderer  *web.Renderer
	// KeyWarning is set when the data key lives beside the data.
	KeyWarning string
	// Loaded is how many divisions this start inserted.
	Loaded int
	// Applied are the migrations this start applied.
	Applied []string

	now     func() time.Time
	specs   []module.Spec
	modules []mounted
	authn   *auth.Handlers
	jobs    sync.WaitGroup
	startMu sync.Mutex
	started time.Time // when Start began the jobs (wall time)
}

// mounted is a built module with its name.
type mounted struct {
	name string
	module.Module
}

// Module returns the built module of that name (nil when absent).
func (a *App) Module(name string) module.Module {
	for _, m := range a.modules {
		if m.name == name {
			return m.Module
		}
	}
	return nil
}

// Migrations are the core's schema steps followed by the modules', in the
// order of the list.
func Migrations(specs []module.Spec) []db.Migration {
	var ms []db.Migration
	for _, set := range [][]db.Migration{audit.Migrations, divisions.Migrations, auth.Migrations, notices.Migrations} {
		ms = append(ms, set...)
	}
	for _, s := range specs {
		ms = append(ms, s.Migrations...)
	}
	return ms
}

// Settings are the settings the app (its operations) and the modules
// declare.
func Settings(specs []module.Spec) []config.Setting {
	out := append(append([]config.Setting(nil), opsSettings...), noticeSettings...)
	for _, s := range specs {
		out = append(out, s.Settings...)
	}
	return out
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
// modules.
func Open(ctx context.Context, cfg config.Config, o Options) (*App, error) {
	d, err := OpenStore(cfg)
	if err != nil {
		return nil, err
	}
	a, err := Wire(ctx, cfg, d, o)
	if err != nil {
		d.Close()
		return nil, err
	}
	return a, nil
}

// Wire builds the app over an open store. Closing the app closes the store.
func Wire(ctx context.Context, cfg config.Config, d *db.DB, o Options) (*App, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Modules == nil {
		o.Modules = Modules()
	}
	cfg.Declare(Settings(o.Modules))
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("配置错误 / configuration error: %w", err)
	}
	keys, warn, err := secret.Load(cfg.DataKey, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	a := &App{Cfg: cfg, DB: d, Keys: keys, KeyWarning: warn, Log: o.Log, Metrics: web.NewMetrics(), now: o.Now, specs: o.Modules}
	a.Audit = &audit.Log{DB: d, Now: o.Now, Key: keys.Derive("audit"), Checkpoints: filepath.Join(cfg.DataDir, audit.CheckpointFile), Logger: o.Log}
	a.Divisions = &divisions.Store{DB: d, Now: o.Now}
	a.Notices = &notices.Service{DB: d, Now: o.Now, Log: o.Log.With("part", "notices")}
	if hook := cfg.Modules.Get(EnvNoticesWebhook); hook != "" {
		a.Notices.Hook = &webhook.Sender{URL: hook, Secret: cfg.Modules.Get(EnvNoticesSecret)}
	}
	if err := a.build(o.Modules); err != nil {
		return nil, err
	}
	if a.Applied, err = d.Migrate(ctx, Migrations(o.Modules)); err != nil {
		return nil, fmt.Errorf("数据库迁移失败 / migration failed: %w", err)
	}
	if err := checkDataKey(ctx, cfg, d, keys, a.Audit); err != nil {
		return nil, err
	}
	if a.Loaded, err = a.Divisions.Load(ctx); err != nil {
		return nil, fmt.Errorf("加载区划失败 / loading divisions failed: %w", err)
	}
	a.Auth = &auth.Service{DB: d, Audit: a.Audit, Keys: keys, Now: o.Now, IdleTimeout: cfg.SessionIdle, MaxAge: cfg.SessionMax,
		DivisionExists: func(ctx context.Context, code string) (int, bool, error) {
			div, err := a.Divisions.Get(ctx, code)
			if errors.Is(err, db.ErrNotFound) {
				return 0, false, nil
			}
			return div.Level, err == nil, err
		}}
	demo, err := IsDemo(ctx, d)
	if err != nil {
		return nil, err
	}
	if err := a.routes(demo); err != nil {
		return nil, err
	}
	return a, nil
}

// build constructs every module with its dependencies, then hands the
// data elements some supply to those that use them.
func (a *App) build(specs []module.Spec) error {
	lookup := &divisionLookup{Store: a.Divisions}
	var elements []module.Element
	for _, s := range specs {
		settings := config.Values{}
		for _, st := range s.Settings {
			settings[st.Env] = a.Cfg.Modules.Get(st.Env)
		}
		dataDir := a.Cfg.DataDir
		if a.Cfg.DatabaseURL != "" {
			dataDir = ""
		}
		m, err := s.New(module.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Divisions: lookup, Now: a.now,
			Log: a.Log.With("module", s.Name), Settings: settings, DataDir: dataDir, FilesDir: a.Cfg.DataDir, Notices: a.Notices})
		if err != nil {
			return fmt.Errorf("模块 %s / module %s: %w", s.Name, s.Name, err)
		}
		a.modules = append(a.modules, mounted{s.Name, m})
		if p, ok := m.(module.Places); ok {
			lookup.places = append(lookup.places, p.PlacesView())
		}
		if es, ok := m.(module.ElementSupplier); ok {
			elements = append(elements, es.Elements()...)
		}
	}
	for _, m := range a.modules {
		if eu, ok := m.Module.(module.ElementUser); ok {
			if err := eu.UseElements(elements); err != nil {
				return fmt.Errorf("模块 %s / module %s: %w", m.name, m.name, err)
			}
		}
	}
	return nil
}

// Close stops the modules' resources, closes the audit log (its open counts
// of refusals, a last checkpoint), then the store.
func (a *App) Close() error {
	var errs []error
	for _, m := range a.modules {
		if c, ok := m.Module.(module.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	a.Notices.Close()
	errs = append(errs, a.Audit.Close(context.Background()))
	return errors.Join(append(errs, a.DB.Close())...)
}

// Handler is the whole HTTP stack.
func (a *App) Handler() http.Handler {
	var h http.Handler = a.Router
	h = a.authn.Authenticate(h)
	h = web.CleanInput(a.refuse, h)
	h = web.LimitJSON(a.Cfg.MaxBody, h)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.refuse(w, r, fault.Forbidden(web.M("拒绝跨站提交：请从本站页面操作", "cross-site request refused: use this site's own pages")))
	}))
	h = cop.Handler(h)
	h = a.withMetrics(h)
	h = web.SecurityHeaders(a.Cfg.SecureCookies, a.Cfg.TrustProxy, h)
	return web.Observe(a.Log, a.Metrics, h)
}

// refuse answers a refusal at the edge as the request expects it:
// problem+json for the API, the message page elsewhere.
func (a *App) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		web.WriteProblem(w, r, err)
		return
	}
	a.Renderer.Refuse(w, r, err)
}

func (a *App) routes(demo bool) error {
	rd := web.NewRenderer()
	rd.Demo = demo
	rd.Version = Version
	rd.Nav = append(front.Nav(), []web.NavItem{
		// Workers start at the 工作台 and residents at 我的: their
		// menus have those instead.
		{Href: "/", Label: web.M("首页", "Home"), Primary: 1, Roles: others},
		{Href: "/overview", Label: web.M("辖区概览", "Overview"), Roles: front.Workers},
		// Residents look up no division codes: their menu leaves it out.
		{Href: "/divisions", Label: web.M("区划查询", "Divisions"), Group: web.NavAnalysis, Roles: staff},
		{Href: "/unit-data/import", Label: web.M("导入单元数据", "Import unit data"), Group: web.NavAnalysis, Roles: officers},
	}...)
	for _, m := range a.modules {
		rd.Nav = append(rd.Nav, m.Nav()...)
	}
	rd.Nav = append(rd.Nav, accountNav()...)
	rd.Nav = append(rd.Nav, designNav(demo))
	rd.Unread = a.unread
	a.Renderer = rd
	rt := web.NewRouter()
	// Every route records the refusals it answers (403, 404 on a row) in
	// the audit log, and its pattern for the metrics.
	rt.Wrap = func(pattern string, h http.Handler) http.Handler {
		return web.Instrument(pattern, a.Audit.Attempts(pattern, h))
	}
	rt.Refuse = a.refuse
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
	a.frontRoutes(rt, rd)
	a.opsRoutes(rt)
	for _, m := range a.modules {
		if err := m.Mount(rt, rd); err != nil {
			return fmt.Errorf("模块 %s / module %s: %w", m.name, m.name, err)
		}
	}
	return nil
}

// Start runs the audit log's background work (checkpoints, counts of
// repeated refusals) and the modules' jobs until ctx ends; Wait waits for
// them to return.
func (a *App) Start(ctx context.Context) {
	a.startMu.Lock()
	a.started = time.Now()
	a.startMu.Unlock()
	a.jobs.Go(func() { a.Audit.Run(ctx) })
	for _, m := range a.modules {
		if r, ok := m.Module.(module.Runner); ok {
			a.jobs.Go(func() { r.Run(ctx) })
		}
	}
}

// StartupPass is how long one module's start-up work took after Start.
type StartupPass struct {
	Module string
	Took   time.Duration
}

// Settled waits until every module with start-up work (a module.Settler)
// has finished its first pass, and tells how long each took from Start
// (wall time, whatever the app's clock). It returns early with ctx's error.
func (a *App) Settled(ctx context.Context) ([]StartupPass, error) {
	a.startMu.Lock()
	started := a.started
	a.startMu.Unlock()
	if started.IsZero() { // not started yet: time from now
		started = time.Now()
	}
	var settlers []module.Settler
	var out []StartupPass
	for _, m := range a.modules {
		if s, ok := m.Module.(module.Settler); ok {
			settlers = append(settlers, s)
			out = append(out, StartupPass{Module: m.name})
		}
	}
	var wg sync.WaitGroup
	for i, s := range settlers {
		wg.Go(func() {
			select {
			case <-s.Settled():
				out[i].Took = s.SettledAt().Sub(started)
			case <-ctx.Done():
			}
		})
	}
	wg.Wait()
	return out, ctx.Err()
}

// Wait returns when every job Start began has returned.
func (a *App) Wait() { a.jobs.Wait() }

// Serve answers HTTP on ln until ctx ends, then shuts down gracefully,
// letting requests in flight finish, and stops the background jobs.
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
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	if ms := a.metricsServer(); ms != nil {
		mln, err := net.Listen("tcp", ms.Addr)
		if err != nil {
			return fmt.Errorf("%s: %w", EnvMetricsAddr, err)
		}
		servers = append(servers, ms)
		go func() { errc <- ms.Serve(mln) }()
	}
	go func() { errc <- srv.Serve(ln) }()
	jobs, stopJobs := context.WithCancel(ctx)
	defer func() { stopJobs(); a.Wait() }()
	a.Start(jobs)
	var failed error
	select {
	case failed = <-errc:
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errs := []error{failed}
	for _, s := range servers {
		errs = append(errs, s.Shutdown(sctx))
	}
	return errors.Join(errs...)
}
