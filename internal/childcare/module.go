// Package childcare is 托育: childcare settings (institutions, community
// centres and registered family childcare points) with their 备案 filings
// and licensed places by age band, families' applications, a waiting list
// per setting ordered by priority rules kept as data, enrolment and
// leaving, and the places that count for I16 (托位 per 1,000 people).
package childcare

import (
	"context"
	"embed"

	"linli/internal/access"
	"linli/internal/module"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Module declares the childcare module. It reads the registry's published
// people and tags and must follow the registry in the list.
func Module() module.Spec {
	return module.Spec{Name: "childcare", Migrations: migrations(), New: func(d module.Deps) (module.Module, error) {
		return &childcareModule{store: &Store{DB: d.DB, Keys: d.Keys, Audit: d.Audit, Now: d.Now, Divs: d.Divisions}}, nil
	}}
}

type childcareModule struct{ store *Store }

// StoreOf is the store of a built childcare module (nil for another).
func StoreOf(m module.Module) *Store {
	if cm, ok := m.(*childcareModule); ok {
		return cm.store
	}
	return nil
}

func (m *childcareModule) Nav() []web.NavItem {
	return []web.NavItem{
		{Href: "/childcare", Label: web.M("托育", "Childcare"), Roles: []access.Role{access.CommunityWorker, access.Officer}},
		{Href: "/childcare/apply", Label: web.M("申请托位", "Apply for childcare"), Roles: []access.Role{access.Resident}},
	}
}

func (m *childcareModule) Mount(rt *web.Router, rd *web.Renderer) error {
	h := &handlers{store: m.store, pages: rd.Parse(templates, "templates/*.html")}
	h.registerAPI(rt)
	h.registerPages(rt)
	return nil
}

func (m *childcareModule) Elements() []module.Element { return m.store.Elements() }

func (m *childcareModule) Mine(ctx context.Context, p *access.Principal) ([]module.MineSection, error) {
	return m.store.Mine(ctx, p)
}

func (m *childcareModule) Demo(ctx context.Context, o module.DemoOptions) error {
	return Demo(ctx, m.store, o)
}

var (
	_ module.ElementSupplier = (*childcareModule)(nil)
	_ module.MineSource      = (*childcareModule)(nil)
	_ module.Demo            = (*childcareModule)(nil)
)
