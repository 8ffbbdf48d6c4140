// Package assistance is 智慧救助: social-assistance programmes as data per
// county and year, one application (一件事) tested against every
// programme, and the workflow from submission to exit with its clocks.
package assistance

import (
	"context"
	"embed"

	"linli/internal/access"
	"linli/internal/module"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Module declares the assistance module. It reads the registry's
// households and residents and must follow the registry in the list.
func Module() module.Spec {
	return module.Spec{Name: "assistance", Migrations: append(migrations(), enrolledMigration, watchHandledMigration), New: func(d module.Deps) (module.Module, error) {
		return &assistanceModule{store: &Store{DB: d.DB, Keys: d.Keys, Audit: d.Audit, Now: d.Now, Log: d.Log, Divs: d.Divisions}}, nil
	}}
}

type assistanceModule struct{ store *Store }

// StoreOf is the store of a built assistance module (nil for another).
func StoreOf(m module.Module) *Store {
	if am, ok := m.(*assistanceModule); ok {
		return am.store
	}
	return nil
}

func (m *assistanceModule) Nav() []web.NavItem {
	return []web.NavItem{
		{Href: "/assistance", Label: web.M("社会救助", "Social assistance"), Roles: []access.Role{access.CommunityWorker, access.Officer}},
		{Href: "/assistance/checks", Label: web.M("经济状况核对", "Economic check"), Roles: []access.Role{access.Officer}},
		{Href: "/assistance/watch", Label: web.M("动态监测", "Monitoring"), Roles: []access.Role{access.CommunityWorker}},
		{Href: "/assistance/apply", Label: web.M("申请救助", "Apply for assistance"), Roles: []access.Role{access.Resident}},
	}
}

func (m *assistanceModule) Mount(rt *web.Router, rd *web.Renderer) error {
	h := &handlers{store: m.store, pages: rd.Parse(templates, "templates/*.html")}
	h.registerAPI(rt)
	h.registerPages(rt)
	h.registerWatchHandling(rt)
	return nil
}

func (m *assistanceModule) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	return m.store.Work(ctx, p, limit)
}

func (m *assistanceModule) WorkBoard(ctx context.Context, p *access.Principal, q module.WorkQuery) (module.WorkBoard, error) {
	return m.store.WorkBoard(ctx, p, q)
}

func (m *assistanceModule) Mine(ctx context.Context, p *access.Principal) ([]module.MineSection, error) {
	return m.store.Mine(ctx, p)
}

func (m *assistanceModule) Demo(ctx context.Context, o module.DemoOptions) error {
	return Demo(ctx, m.store, o)
}

var (
	_ module.WorkBoarder = (*assistanceModule)(nil)
	_ module.MineSource  = (*assistanceModule)(nil)
	_ module.Demo        = (*assistanceModule)(nil)

	_ module.ElementSupplier = (*assistanceModule)(nil)
)
