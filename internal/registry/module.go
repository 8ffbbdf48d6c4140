package registry

import (
	"context"
	"errors"
	"log/slog"

	"linli/internal/access"
	"linli/internal/module"
	"linli/internal/web"
)

// Module declares the registry (一库): households, residents, service
// objects, facilities, organisations, personnel and grids.
func Module() module.Spec {
	return module.Spec{Name: "registry", Migrations: Migrations, New: newModule,
		Commands: []module.Command{{Name: "import", Summary: "批量导入登记库 / bulk import into the registry (CSV/xlsx)", Usage: importUsage, Run: runImport},
			{Name: "export", Summary: "导出登记库（边读边写，显示进度）/ export from the registry (streamed, with progress)", Usage: exportUsage, Run: runExport},
			{Name: "bench export", Summary: "居民导出与裸写出对照 / the residents export against a bare writer of the same rows", Usage: benchExportUsage, Run: runBenchExport}}}
}

type registryModule struct {
	store *Store
	log   *slog.Logger
}

func newModule(d module.Deps) (module.Module, error) {
	if d.Now == nil {
		return nil, errors.New("registry: the core gave no clock (Deps.Now)")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	s := &Store{DB: d.DB, Keys: d.Keys, Audit: d.Audit, Divs: d.Divisions, Now: d.Now, Files: d.FilesDir, jobsWake: make(chan struct{}, 1)}
	s.KeepMaps(MapTTL)
	return &registryModule{store: s, log: d.Log}, nil
}

// StoreOf is the store of a built registry module (nil for another
// module), for tests and tools.
func StoreOf(m module.Module) *Store {
	if rm, ok := m.(*registryModule); ok {
		return rm.store
	}
	return nil
}

func (m *registryModule) Nav() []web.NavItem {
	return []web.NavItem{
		{Href: "/registry/residents", Label: web.M("居民查询", "Residents"), Group: web.NavRecords, Primary: 4, Roles: []access.Role{access.CommunityWorker, access.GridWorker, access.Officer}},
		{Href: "/registry/households", Label: web.M("户", "Households"), Group: web.NavRecords, Roles: []access.Role{access.CommunityWorker, access.GridWorker, access.Officer}},
		{Href: "/registry/my-grid", Label: web.M("我的网格", "My grid"), Primary: 3, Roles: []access.Role{access.GridWorker}},
		{Href: "/registry/facilities", Label: web.M("服务设施", "Facilities"), Primary: 6, Roles: []access.Role{access.CommunityWorker, access.GridWorker, access.Officer, access.Provider, access.Resident}},
		{Href: "/registry/organizations", Label: web.M("社会组织与企业", "Organisations"), Group: web.NavRecords, Roles: []access.Role{access.CommunityWorker, access.GridWorker, access.Officer}},
		{Href: "/registry/personnel", Label: web.M("人员", "Personnel"), Group: web.NavRecords, Roles: []access.Role{access.CommunityWorker, access.GridWorker, access.Officer}},
		{Href: "/registry/grids", Label: web.M("网格", "Grids"), Group: web.NavRecords, Roles: []access.Role{access.CommunityWorker, access.Officer}},
		{Href: "/registry/tags", Label: web.M("服务对象统计", "Service objects"), Group: web.NavAnalysis, Roles: []access.Role{access.CommunityWorker, access.GridWorker, access.Officer}},
		{Href: "/registry/import", Label: web.M("批量导入", "Bulk import"), Group: web.NavRecords, Roles: []access.Role{access.CommunityWorker, access.Officer}},
		{Href: "/registry/me", Label: web.M("我的信息", "My record"), Primary: 3, Roles: []access.Role{access.Resident}},
	}
}

// Mount registers the registry's API and pages.
func (m *registryModule) Mount(rt *web.Router, rd *web.Renderer) error {
	h := &Handlers{Store: m.store}
	h.Register(rt)
	h.Pages = ParsePages(rd)
	h.RegisterPages(rt)
	return nil
}

// Demo fills the demo county with synthetic households and residents.
func (m *registryModule) Demo(ctx context.Context, o module.DemoOptions) error {
	ro := DemoOptions{County: o.County, Seed: o.Seed}
	if o.Progress != nil {
		ro.Progress = func(done, total int) { o.Progress("居民 / residents", done, total) }
	}
	if o.Scale != "" {
		scale, err := ParseScale(o.Scale)
		if err != nil {
			return err
		}
		ro.Scale = scale
	}
	return Demo(ctx, m.store, ro)
}

// PlacesView publishes the places this module knows, for locating points.
func (m *registryModule) PlacesView() string { return "registry_places" }
