package app

import (
	"context"

	"linli/internal/access"
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
	// Home is the start page of a role, when the module owns it (the
	// resident's household, the grid worker's grid).
	Home map[access.Role]string
	// Start runs background work (jobs) while the server serves; it must
	// return when ctx ends (optional).
	Start func(ctx context.Context, a *App)
}
