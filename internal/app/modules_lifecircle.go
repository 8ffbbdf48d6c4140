package app

import (
	"context"
	"path/filepath"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/lifecircle"
	"linli/internal/web"
)

// lifecircleService is the app's life-circle service (one road graph and
// study cache per app).
func lifecircleService(a *App) *lifecircle.Service {
	if a.circle == nil {
		cache := ""
		if a.Cfg.DataDir != "" && a.Cfg.RoadsDir != "" {
			cache = filepath.Join(a.Cfg.DataDir, "cache")
		}
		a.circle = &lifecircle.Service{DB: a.DB, Divs: a.Divisions, RoadsDir: a.Cfg.RoadsDir, CacheDir: cache}
	}
	return a.circle
}

// lifecircleModule answers the 15/30-minute life circles per division.
var lifecircleModule = Module{Name: "lifecircle", Migrations: lifecircle.Migrations,
	Nav: []web.NavItem{{Href: "/lifecircle", Label: fault.M("生活圈", "Life circles"), Roles: []access.Role{access.Officer, access.CommunityWorker}}},
	Mount: func(a *App, rt *web.Router, rd *web.Renderer) {
		h := &lifecircle.Handlers{Svc: lifecircleService(a), Pages: lifecircle.ParsePages(rd)}
		h.Register(rt)
	},
	Demo: func(ctx context.Context, a *App, o DemoOptions) error {
		_, err := lifecircleService(a).SeedDemand(ctx, o.County, o.Seed)
		return err
	}}
