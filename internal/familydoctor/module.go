// Package familydoctor is 家庭医生签约: GP teams (registry personnel),
// contracts with residents (start, end, service package, the key groups
// the resident belongs to), renewal reminders before a contract runs out
// on the 工作台 and in the resident's 我的, follow-ups, and C13 — key-group
// residents with a valid contract ÷ key-group residents.
package familydoctor

import (
	"context"
	"embed"
	"time"

	"linli/internal/access"
	"linli/internal/module"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Module declares the family-doctor module. It reads the registry's
// people, tags and personnel and must follow the registry in the list.
func Module() module.Spec {
	return module.Spec{Name: "familydoctor", Migrations: migrations(), New: func(d module.Deps) (module.Module, error) {
		return &gpModule{store: &Store{DB: d.DB, Keys: d.Keys, Audit: d.Audit, Now: d.Now, Log: d.Log}}, nil
	}}
}

type gpModule struct {
	store           *Store
	module.Settling // the day's counts are written
}

// Run writes the day's key-group counts at start and again every hour
// (ages and tags move with the days; a contract signed moves its
// community's counts at once). A restart on a day already counted waits
// for the hour: a county's count reads every resident for seconds, which
// a server just back from a crash, perhaps in an emergency, should spend
// on its users.
func (m *gpModule) Run(ctx context.Context) {
	defer m.Settle()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	counted, err := m.store.CountedToday(ctx)
	if err != nil && ctx.Err() == nil {
		m.store.Log.Warn("familydoctor: daily counts", "err", err.Error())
	}
	for {
		if counted {
			counted = false
		} else if err := m.store.Refresh(ctx, ""); err != nil && ctx.Err() == nil {
			m.store.Log.Warn("familydoctor: daily counts", "err", err.Error())
		}
		m.Settle()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// StoreOf is the store of a built family-doctor module (nil for another).
func StoreOf(m module.Module) *Store {
	if gm, ok := m.(*gpModule); ok {
		return gm.store
	}
	return nil
}

func (m *gpModule) Nav() []web.NavItem {
	return []web.NavItem{
		{Href: "/gp", Label: web.M("家庭医生签约", "Family-doctor contracts"), Roles: []access.Role{access.CommunityWorker, access.Officer}},
		{Href: "/gp/mine", Label: web.M("我的家庭医生", "My family doctor"), Roles: []access.Role{access.Resident}},
	}
}

func (m *gpModule) Mount(rt *web.Router, rd *web.Renderer) error {
	h := &handlers{store: m.store, pages: rd.Parse(templates, "templates/*.html")}
	h.registerAPI(rt)
	h.registerPages(rt)
	return nil
}

func (m *gpModule) Elements() []module.Element { return m.store.Elements() }

func (m *gpModule) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	return m.store.Work(ctx, p, limit)
}

func (m *gpModule) Mine(ctx context.Context, p *access.Principal) ([]module.MineSection, error) {
	return m.store.Mine(ctx, p)
}

func (m *gpModule) Demo(ctx context.Context, o module.DemoOptions) error {
	return Demo(ctx, m.store, o)
}

var (
	_ module.ElementSupplier = (*gpModule)(nil)
	_ module.WorkSource      = (*gpModule)(nil)
	_ module.MineSource      = (*gpModule)(nil)
	_ module.Demo            = (*gpModule)(nil)
	_ module.Settler         = (*gpModule)(nil)
)
