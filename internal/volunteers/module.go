package volunteers

import (
	"linli/internal/access"
	"linli/internal/module"
	"linli/internal/secret"
	"linli/internal/web"
)

// Module declares the volunteer loop: volunteers, activities, the hours
// and points ledger, the points shop and certificates. It reads the
// registry's published views and must follow it in the module list.
func Module() module.Spec {
	return module.Spec{Name: "volunteers", Migrations: migrations, New: newModule,
		Commands: []module.Command{
			{Name: "bench volunteers", Summary: "记入 1,000,000 条时长分录对照裸 INSERT … SELECT / crediting 1,000,000 hours entries against a bare INSERT … SELECT", Usage: benchUsage, Run: runBench},
		}}
}

type volunteersModule struct {
	store *Store
	keys  *secret.Keyring
}

func newModule(d module.Deps) (module.Module, error) {
	return &volunteersModule{store: &Store{DB: d.DB, Audit: d.Audit, Now: d.Now, Divs: d.Divisions}, keys: d.Keys}, nil
}

// StoreOf is the store of a built volunteers module (nil for another
// module), for tests.
func StoreOf(m module.Module) *Store {
	if vm, ok := m.(*volunteersModule); ok {
		return vm.store
	}
	return nil
}

func (m *volunteersModule) Nav() []web.NavItem {
	return []web.NavItem{
		{Href: "/volunteers", Label: web.M("志愿服务", "Volunteering"), Roles: []access.Role{access.CommunityWorker, access.Officer}},
		{Href: "/volunteers/pairs", Label: web.M("结对探访", "Pairs"), Roles: []access.Role{access.CommunityWorker}},
		{Href: "/volunteers/fund", Label: web.M("社区基金", "Community fund"), Roles: []access.Role{access.CommunityWorker}},
		{Href: "/volunteers/me", Label: web.M("我的志愿服务", "My volunteering"), Roles: []access.Role{access.Resident}},
	}
}

// Mount registers the API and the pages.
func (m *volunteersModule) Mount(rt *web.Router, rd *web.Renderer) error {
	h := &Handlers{Store: m.store, Keys: m.keys, Pages: rd.Parse(templates, "templates/*.html")}
	h.RegisterAPI(rt)
	h.RegisterPages(rt)
	return nil
}

var _ module.Demo = (*volunteersModule)(nil)
