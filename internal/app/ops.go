package app

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/auth"
	"linli/internal/config"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/web"
)

func (a *App) opsRoutes(rt *web.Router) {
	rt.Public("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	rt.Public("GET /readyz", a.ready)
	rt.Public("GET /static/{name}", a.Renderer.ServeStatic)
	rt.Public("GET /prefs", a.prefs)
	rt.Page("GET /menu", a.Renderer.Menu)
	rt.Page("GET /design", func(w http.ResponseWriter, r *http.Request) {
		if !a.Renderer.Demo && access.From(r.Context()).Role != access.SysAdmin {
			a.refuse(w, r, fault.NotFound(web.M("找不到这个页面，请检查地址或从首页进入", "there is no such page; check the address or start from the home page")))
			return
		}
		a.Renderer.Design(w, r)
	})
	rt.API("GET /api/v1/openapi.json", web.Op{Summary: "本接口的 OpenAPI 3.1 文档 / This API's OpenAPI 3.1 document", Tag: "meta", Public: true, Response: map[string]any{}}, func(w http.ResponseWriter, r *http.Request) error {
		web.WriteJSON(w, 200, rt.OpenAPI(Version))
		return nil
	})
	a.Metrics.Gauges = func() map[string]float64 {
		s := a.DB.W.Stats()
		return map[string]float64{"linli_db_open_connections": float64(s.OpenConnections), "linli_db_wait_count": float64(s.WaitCount)}
	}
}

// The metrics (routes, statuses, latencies, pool figures) are for the
// operator's monitoring, not for anyone who can reach the site: they are
// served only to holders of a token, or only on an address of their own
// (or both); with neither set, not at all.
const (
	EnvMetricsToken = "LINLI_METRICS_TOKEN"
	EnvMetricsAddr  = "LINLI_METRICS_ADDR"
)

// opsSettings are the app's own settings, read and checked with the core's.
var opsSettings = []config.Setting{
	{Env: EnvMetricsToken, Usage: "/metrics 的访问令牌（Bearer，至少 16 个字符） / bearer token for /metrics (at least 16 characters)",
		Check: func(v string, _ config.Values) error {
			if v != "" && len(v) < 16 {
				return errors.New("令牌至少 16 个字符 / the token needs at least 16 characters")
			}
			return nil
		}},
	{Env: EnvMetricsAddr, Usage: "只在此地址提供 /metrics，如 127.0.0.1:9090 / serve /metrics only on this address, e.g. 127.0.0.1:9090",
		Check: func(v string, _ config.Values) error {
			if _, _, err := net.SplitHostPort(v); v != "" && err != nil {
				return errors.New("地址应如 127.0.0.1:9090 / the address must look like 127.0.0.1:9090")
			}
			return nil
		}},
}

// metrics serves the Prometheus exposition to holders of the metrics token
// (to anyone who reaches it when no token is set: the own address).
func (a *App) metrics() http.Handler {
	token := a.Cfg.Modules.Get(EnvMetricsToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if token != "" && (!ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="linli-metrics"`)
			http.Error(w, "401 需要指标令牌 / metrics token required", http.StatusUnauthorized)
			return
		}
		a.Metrics.ServeHTTP(w, r)
	})
}

// withMetrics serves /metrics beside h when a token guards it and no own
// address is set; before authentication, which would take the metrics
// token for an API token.
func (a *App) withMetrics(h http.Handler) http.Handler {
	if a.Cfg.Modules.Get(EnvMetricsToken) == "" || a.Cfg.Modules.Get(EnvMetricsAddr) != "" {
		return h
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.Handle("GET /metrics", web.Instrument("GET /metrics", a.metrics()))
	return mux
}

// metricsServer is the server of the metrics' own address (nil when none
// is set).
func (a *App) metricsServer() *http.Server {
	addr := a.Cfg.Modules.Get(EnvMetricsAddr)
	if addr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics())
	return &http.Server{Addr: addr, Handler: web.SecurityHeaders(false, false, mux), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn)}
}

// ready answers 200 when the store answers and no migration is pending.
func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := a.DB.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("database unreachable\n"))
		return
	}
	pending, err := a.DB.Pending(ctx, Migrations(a.specs))
	if err != nil || len(pending) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("migrations pending\n"))
		return
	}
	// Start-up passes (a reconcile, a precompute) still running are
	// named: the server answers meanwhile, but a measurement waits.
	var settling []string
	for _, m := range a.modules {
		if st, ok := m.Module.(module.Settler); ok {
			select {
			case <-st.Settled():
			default:
				settling = append(settling, m.name)
			}
		}
	}
	if len(settling) > 0 {
		w.Write([]byte("ready\nsettling: " + strings.Join(settling, ", ") + "\n"))
		return
	}
	w.Write([]byte("ready\nsettled\n"))
}

// prefs sets the language or 长辈模式 in this browser, then goes back; a
// signed-in person's 长辈模式 choice is kept with their account too, so
// that it follows them to the next browser they sign in on.
func (a *App) prefs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch q.Get("lang") {
	case "en", "zh":
		http.SetCookie(w, &http.Cookie{Name: "lang", Value: q.Get("lang"), Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, HttpOnly: true,
			Secure: a.Cfg.SecureCookies || r.TLS != nil})
	}
	switch q.Get("elder") {
	case "1", "0":
		on := q.Get("elder") == "1"
		auth.SetElderCookie(w, on, a.Cfg.SecureCookies || r.TLS != nil)
		if p := access.From(r.Context()); p != nil && p.TokenID == "" {
			if err := a.Auth.SetElder(r.Context(), p.UserID, on); err != nil {
				web.Logger(r.Context()).Warn("elder preference", "err", err.Error())
			}
		}
	}
	http.Redirect(w, r, web.SafeNext(q.Get("next"), "/"), http.StatusSeeOther)
}

// IsDemo tells whether the store holds the synthetic demo data.
func IsDemo(ctx context.Context, d *db.DB) (bool, error) {
	var v string
	err := d.R.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'demo'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return v == "1", err
}
