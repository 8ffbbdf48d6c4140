// Package deliberation is 议事协商: councils per community, village and
// township with their rules as data, topics raised and co-signed by
// households, meetings with attendance and minutes, votes of one
// household one ballot on a hash chain anyone can recount, and decisions
// with their implementation's progress on a public board.
package deliberation

import (
	"context"
	"embed"

	"linli/internal/access"
	"linli/internal/module"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Module declares the deliberation module. It reads the registry's
// households and residents and must follow the registry in the list.
func Module() module.Spec {
	return module.Spec{Name: "deliberation", Migrations: migrations(), New: func(d module.Deps) (module.Module, error) {
		return &deliberationModule{store: &Store{DB: d.DB, Keys: d.Keys, Audit: d.Audit, Now: d.Now, Divs: d.Divisions}}, nil
	}}
}

type deliberationModule struct{ store *Store }

// StoreOf is the store of a built deliberation module (nil for another).
func StoreOf(m module.Module) *Store {
	if dm, ok := m.(*deliberationModule); ok {
		return dm.store
	}
	return nil
}

func (m *deliberationModule) Nav() []web.NavItem {
	return []web.NavItem{
		{Href: "/deliberation", Label: web.M("议事协商", "Deliberation"), Roles: []access.Role{access.Resident, access.CommunityWorker, access.Officer}},
	}
}

func (m *deliberationModule) Mount(rt *web.Router, rd *web.Renderer) error {
	h := &handlers{store: m.store, pages: rd.Parse(templates, "templates/*.html")}
	h.registerAPI(rt)
	h.registerMoreAPI(rt)
	h.registerPages(rt)
	h.registerMorePages(rt)
	return nil
}

func (m *deliberationModule) Demo(ctx context.Context, o module.DemoOptions) error {
	if err := Demo(ctx, m.store, o); err != nil {
		return err
	}
	return demoFiles(ctx, m.store, o)
}

var _ module.Demo = (*deliberationModule)(nil)
