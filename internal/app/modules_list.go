package app

import (
	"context"

	"linli/internal/access"

	"linli/internal/registry"
	"linli/internal/requests"
	"linli/internal/web"
)

// modules are the business capabilities, in dependency order.
var modules = []Module{
	{Name: "registry", Migrations: registry.Migrations, Nav: registry.Nav,
		Home:  map[access.Role]string{access.Resident: "/registry/me", access.GridWorker: "/registry/my-grid"},
		Mount: func(a *App, rt *web.Router, rd *web.Renderer) { registry.Mount(registryStore(a), rt, rd) },
		Demo: func(ctx context.Context, a *App, o DemoOptions) error {
			ro := registry.DemoOptions{County: o.County, Seed: o.Seed}
			if o.Scale != "" {
				scale, err := registry.ParseScale(o.Scale)
				if err != nil {
					return err
				}
				ro.Scale = scale
			}
			return registry.Demo(ctx, registryStore(a), ro)
		}},
	indicatorsModule,
	lifecircleModule,
	{Name: "requests", Migrations: requests.Migrations, Nav: requests.Nav,
		Mount: func(a *App, rt *web.Router, rd *web.Renderer) {
			s := requests.Shared(a.DB, a.Keys, a.Audit, a.Divisions, a.Audit.Now)
			s.Locate = a.locateCommunity
			if a.Cfg.NotifyWebhook != "" {
				s.Notifier = &requests.Webhook{URL: a.Cfg.NotifyWebhook, Secret: a.Cfg.NotifySecret}
			}
			requests.Mount(s, rt, rd)
		},
		Start: func(ctx context.Context, a *App) {
			requests.Start(ctx, requests.Shared(a.DB, a.Keys, a.Audit, a.Divisions, a.Audit.Now), a.Log.Warn)
		},
		Demo: func(ctx context.Context, a *App, o DemoOptions) error {
			return requests.Demo(ctx, requests.Shared(a.DB, a.Keys, a.Audit, a.Divisions, a.Audit.Now), o.County, o.Seed)
		}},
}

func registryStore(a *App) *registry.Store {
	return &registry.Store{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Divs: a.Divisions, Now: a.Audit.Now}
}
