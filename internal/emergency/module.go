package emergency

import (
	"fmt"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/config"
	"linli/internal/module"
	"linli/internal/web"
)

// Module declares 平战一体 emergencies: CAP warnings, their targeting,
// the 报平安 check-ins and the board. It reads the registry's published
// views and must follow it in the module list.
func Module() module.Spec {
	return module.Spec{Name: "emergency", Migrations: migrations, New: newModule,
		Settings: []config.Setting{{Env: "LINLI_EMERGENCY_ESCALATE", Default: EscalateAfter.String(),
			Usage: "重点人员超过此时长仍未确认即上报社区和乡镇的工作台 / after this long an unconfirmed vulnerable resident goes to the community's and township's 工作台",
			Check: checkEscalate}},
		Commands: append([]module.Command{
			{Name: "bench emergency", Summary: "发布预警（目标定位）对照裸 INSERT … SELECT / issuing a warning (targeting) against a bare INSERT … SELECT", Usage: benchUsage, Run: runBench},
		}, syncCommands()...)}
}

type emergencyModule struct{ store *Store }

// EscalateAfter is how long a vulnerable resident's helper has, by
// default, before the check goes up to the community and the township.
const EscalateAfter = 30 * time.Minute

func checkEscalate(v string, _ config.Values) error {
	if d, err := time.ParseDuration(strings.TrimSpace(v)); err != nil || d < time.Minute || d > 24*time.Hour {
		return fmt.Errorf("须为 1m 到 24h 之间的时长，如 30m / must be a duration from 1m to 24h, such as 30m, got %q", v)
	}
	return nil
}

func newModule(d module.Deps) (module.Module, error) {
	after, err := time.ParseDuration(strings.TrimSpace(d.Settings.Get("LINLI_EMERGENCY_ESCALATE")))
	if err != nil {
		return nil, err
	}
	return &emergencyModule{store: &Store{DB: d.DB, Audit: d.Audit, Now: d.Now, Log: d.Log, Notices: d.Notices, Divs: d.Divisions, Keys: d.Keys,
		EscalateAfter: after, group: &checkinGroup{}, cap: &capSigner{}}}, nil
}

// StoreOf is the store of a built emergency module (nil for another
// module), for tests.
func StoreOf(m module.Module) *Store {
	if em, ok := m.(*emergencyModule); ok {
		return em.store
	}
	return nil
}

func (m *emergencyModule) Nav() []web.NavItem {
	return []web.NavItem{
		{Href: "/emergency", Label: web.M("应急预警", "Warnings"), Roles: []access.Role{access.GridWorker, access.CommunityWorker, access.Officer}},
		{Href: "/emergency/mine", Label: web.M("预警与报平安", "Warnings and check-in"), Roles: []access.Role{access.Resident}},
	}
}

// Mount registers the API and the pages.
func (m *emergencyModule) Mount(rt *web.Router, rd *web.Renderer) error {
	h := &Handlers{Store: m.store, Pages: rd.Parse(templates, "templates/*.html")}
	h.RegisterAPI(rt)
	h.registerEvents(rt)
	h.RegisterPages(rt)
	h.registerFeed(rt)
	h.registerStock(rt)
	h.registerSync(rt)
	h.registerReviews(rt)
	h.registerSituation(rt)
	h.registerPlans(rt)
	h.registerTeams(rt)
	h.registerShelters(rt)
	h.registerDrills(rt)
	h.registerHazards(rt)
	return nil
}

// The seams the module plugs into.
var (
	_ module.Demo       = (*emergencyModule)(nil)
	_ module.WorkSource = (*emergencyModule)(nil)
	_ module.MineSource = (*emergencyModule)(nil)
)
