package visits

import (
	"context"
	"time"

	"linli/internal/access"
	"linli/internal/module"
	"linli/internal/web"
)

// Module declares 探访关爱: visit programmes, monthly schedules, visit
// records and the visit rates. It builds on the registry (its tables are
// read for targets and owners) and must follow it in the module list.
func Module() module.Spec {
	return module.Spec{Name: "visits", Migrations: migrations(), New: newModule,
		Commands: []module.Command{
			{Name: "visits schedule", Summary: "生成某月探访计划 / generate a month's visit schedule", Usage: scheduleUsage, Run: runSchedule},
		},
	}
}

type visitsModule struct {
	store *Store
}

func newModule(d module.Deps) (module.Module, error) {
	s := &Store{DB: d.DB, Keys: d.Keys, Audit: d.Audit, Now: d.Now, Log: d.Log, Notices: d.Notices, Divs: d.Divisions}
	return &visitsModule{store: s}, nil
}

// StoreOf is the store of a built visits module (nil for another module),
// for commands and tests.
func StoreOf(m module.Module) *Store {
	if vm, ok := m.(*visitsModule); ok {
		return vm.store
	}
	return nil
}

func (m *visitsModule) Nav() []web.NavItem {
	return []web.NavItem{
		{Href: "/visits", Label: web.M("探访关爱", "Care visits"), Roles: []access.Role{access.GridWorker, access.CommunityWorker, access.Officer}},
		{Href: "/visits/supervise", Label: web.M("探访督导", "Visit supervision"), Group: web.NavAnalysis, Roles: []access.Role{access.CommunityWorker, access.Officer}},
		{Href: "/visits/sheet", Label: web.M("探访登记表（打印）", "Visit sheet (print)"), Roles: []access.Role{access.GridWorker}},
	}
}

// Mount registers the API and the pages.
func (m *visitsModule) Mount(rt *web.Router, rd *web.Renderer) error {
	return m.mountSupervision(rt, rd)
}

// Run keeps the overdue clock: owners warned, late visits escalated.
func (m *visitsModule) Run(ctx context.Context) {
	m.store.RunEscalation(ctx, time.Minute)
}
