package app

import (
	"context"

	"linli/internal/db"
	"linli/internal/web"
)

// Module is a business capability mounted on the core: its migrations, its
// routes and navigation, and the synthetic data it adds to the demo. Adding
// a capability is adding one entry to modules (in modules_list.go).
type Module struct {
	Name       string
	Migrations []db.Migration
	// Mount registers routes; it runs once at start with the wired app.
	Mount func(a *App, rt *web.Router, rd *web.Renderer)
	Nav   []web.NavItem
	// Demo adds synthetic demo data after the core demo (optional).
	Demo func(ctx context.Context, a *App, o DemoOptions) error
	// Start runs background work (jobs) while the server serves; it must
	// return when ctx ends (optional).
	Start func(ctx context.Context, a *App)
}
