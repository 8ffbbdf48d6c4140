// Package projects is 五社联动与购买服务: a county or township officer
// publishes a purchased-service project (the need it answers, budget,
// period, targets, a minimum organisation rating, a deadline and weighted
// scoring criteria); social organisations apply through their provider
// accounts; the officer scores the applications and awards one, which
// makes a contract of milestones; the organisation reports progress per
// milestone, the officer accepts or returns each report and pays accepted
// milestones; the project completes when every milestone is paid.
package projects

import (
	"context"
	"embed"

	"linli/internal/access"
	"linli/internal/module"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Module declares the projects module. It reads the registry's and
// care's published views and must follow both in the list.
func Module() module.Spec {
	return module.Spec{Name: "projects", Migrations: migrations, New: func(d module.Deps) (module.Module, error) {
		return &projectsModule{store: &Store{DB: d.DB, Audit: d.Audit, Now: d.Now, Divs: d.Divisions}}, nil
	}}
}

type projectsModule struct{ store *Store }

// StoreOf is the store of a built projects module (nil for another).
func StoreOf(m module.Module) *Store {
	if pm, ok := m.(*projectsModule); ok {
		return pm.store
	}
	return nil
}

func (m *projectsModule) Nav() []web.NavItem {
	return []web.NavItem{
		{Href: "/projects", Label: web.M("购买服务项目", "Purchased-service projects"), Roles: []access.Role{access.Officer, access.Provider}},
		{Href: "/projects/mine", Label: web.M("我的申报与合同", "My applications and contracts"), Roles: []access.Role{access.Provider}},
	}
}

func (m *projectsModule) Mount(rt *web.Router, rd *web.Renderer) error {
	h := &handlers{store: m.store, pages: rd.Parse(templates, "templates/*.html")}
	h.registerAPI(rt)
	h.registerPages(rt)
	return nil
}

func (m *projectsModule) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	return m.store.Work(ctx, p, limit)
}

// The seams the module plugs into.
var (
	_ module.Demo       = (*projectsModule)(nil)
	_ module.WorkSource = (*projectsModule)(nil)
)
