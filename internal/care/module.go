package care

import (
	"context"
	"fmt"
	"strconv"

	"linli/internal/access"
	"linli/internal/config"
	"linli/internal/module"
	"linli/internal/web"
)

// Module declares 居家养老 home care: items, providers, entitlements,
// orders and settlements. It reads the registry's published views and
// must follow the registry in the module list.
func Module() module.Spec {
	return module.Spec{Name: "care", Migrations: migrations,
		Settings: []config.Setting{{Env: "LINLI_CARE_CHECKIN_METERS", Default: "3000",
			Usage: "上门签到位置与居民所在社区的最大距离（米，0 不检查）/ how far from the resident's community a check-in may be (metres; 0: not checked)", Check: checkMeters}},
		Commands: []module.Command{
			{Name: "bench care", Summary: "居家养老月度额度发放对照裸 INSERT … SELECT / the monthly home-care quota run against a bare INSERT … SELECT", Usage: benchUsage, Run: runBench},
		},
		New: func(d module.Deps) (module.Module, error) {
			meters, _ := strconv.ParseFloat(d.Settings.Get("LINLI_CARE_CHECKIN_METERS"), 64)
			return &careModule{store: &Store{DB: d.DB, Keys: d.Keys, Audit: d.Audit, Now: d.Now, Log: d.Log, Notices: d.Notices, CheckinMeters: meters}}, nil
		}}
}

func checkMeters(v string, _ config.Values) error {
	if f, err := strconv.ParseFloat(v, 64); err != nil || f < 0 || f > 100000 {
		return fmt.Errorf("应为 0–100000 米 / must be 0–100000 metres")
	}
	return nil
}

type careModule struct{ store *Store }

// StoreOf is the store of a built care module (nil for another module),
// for tests.
func StoreOf(m module.Module) *Store {
	if cm, ok := m.(*careModule); ok {
		return cm.store
	}
	return nil
}

func (m *careModule) Nav() []web.NavItem {
	return []web.NavItem{
		{Href: "/care", Label: web.M("居家养老", "Home care"), Primary: 2, Roles: []access.Role{access.Provider, access.CommunityWorker, access.Officer}},
		{Href: "/care/mine", Label: web.M("居家养老服务", "Home-care services"), Roles: []access.Role{access.Resident}},
		{Href: "/care/canteens", Label: web.M("助餐服务", "Meal assistance"), Roles: []access.Role{access.Provider, access.CommunityWorker, access.Officer, access.Resident}},
		{Href: "/care/settlements", Label: web.M("居家养老结算", "Home-care settlements"), Roles: []access.Role{access.Provider, access.CommunityWorker, access.Officer}},
		{Href: "/care/rules", Label: web.M("养老补贴规则", "Care subsidy rules"), Roles: []access.Role{access.CommunityWorker, access.Officer}},
	}
}

// Homes makes the provider's workspace its start page.
func (m *careModule) Homes() map[access.Role]string {
	return map[access.Role]string{access.Provider: "/care"}
}

// Mount registers the API and the pages.
func (m *careModule) Mount(rt *web.Router, rd *web.Renderer) error {
	h := &Handlers{Store: m.store, Pages: rd.Parse(templates, "templates/*.html")}
	h.RegisterAPI(rt)
	h.registerMealAPI(rt)
	h.RegisterPages(rt)
	h.registerMealPages(rt)
	h.registerAreas(rt)
	h.registerMyMeals(rt)
	h.registerRulePages(rt)
	return nil
}

func (m *careModule) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	return m.store.Work(ctx, p, limit)
}

func (m *careModule) Mine(ctx context.Context, p *access.Principal) ([]module.MineSection, error) {
	return m.store.Mine(ctx, p)
}

// The seams the module plugs into.
var (
	_ module.Homes           = (*careModule)(nil)
	_ module.Demo            = (*careModule)(nil)
	_ module.ElementSupplier = (*careModule)(nil)
	_ module.WorkSource      = (*careModule)(nil)
	_ module.MineSource      = (*careModule)(nil)
)
