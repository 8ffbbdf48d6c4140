package app

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"time"

	"linli/internal/db"
	"linli/internal/web"
)

func (a *App) opsRoutes(rt *web.Router) {
	rt.Public("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	rt.Public("GET /readyz", a.ready)
	rt.Public("GET /metrics", a.Metrics.ServeHTTP)
	rt.Public("GET /static/{name}", a.Renderer.ServeStatic)
	rt.Public("GET /prefs", prefs)
	rt.API("GET /api/v1/openapi.json", web.Op{Summary: "本接口的 OpenAPI 3.1 文档 / This API's OpenAPI 3.1 document", Tag: "meta", Public: true}, func(w http.ResponseWriter, r *http.Request) error {
		web.WriteJSON(w, 200, rt.OpenAPI(Version))
		return nil
	})
	a.Metrics.Gauges = func() map[string]float64 {
		s := a.DB.W.Stats()
		return map[string]float64{"linli_db_open_connections": float64(s.OpenConnections), "linli_db_wait_count": float64(s.WaitCount)}
	}
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
	w.Write([]byte("ready\n"))
}

// prefs sets the language or the elderly-friendly mode, then goes back.
func prefs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	set := func(name, v string) {
		http.SetCookie(w, &http.Cookie{Name: name, Value: v, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, HttpOnly: true})
	}
	switch q.Get("lang") {
	case "en", "zh":
		set("lang", q.Get("lang"))
	}
	switch q.Get("elder") {
	case "1", "0":
		set("elder", q.Get("elder"))
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
