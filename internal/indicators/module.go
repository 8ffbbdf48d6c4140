package indicators

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/config"
	"linli/internal/memo"
	"linli/internal/module"
	"linli/internal/web"
)

// Module declares the plan's indicator monitoring.
func Module() module.Spec {
	return module.Spec{Name: "indicators", Migrations: Migrations, New: newModule,
		Settings: []config.Setting{
			{Env: "LINLI_STATUS_ON_TRACK", Default: "0.9", Usage: "指标“正常”阈值 / progress ratio at or above which an indicator is on track", Check: checkRatio},
			{Env: "LINLI_STATUS_LAGGING", Default: "0.6", Usage: "指标“滞后”阈值 / progress ratio at or above which an indicator is lagging, below it seriously lagging", Check: checkThresholds},
			{Env: "LINLI_INDICATORS_PAGE_TTL", Default: PageTTL.String(), Usage: "指标看板页复用时长（0 为每次计算）/ how long a computed dashboard page is reused (0: computed every time)", Check: checkTTL},
		}}
}

func checkRatio(v string, _ config.Values) error {
	if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil || f <= 0 || f > 1 {
		return fmt.Errorf("须为 0 到 1 之间的小数 / must be a fraction from 0 to 1, got %q", v)
	}
	return nil
}

func checkTTL(v string, _ config.Values) error {
	if d, err := time.ParseDuration(strings.TrimSpace(v)); err != nil || d < 0 || d > time.Hour {
		return fmt.Errorf("须为 0 到 1h 之间的时长，如 30s / must be a duration from 0 to 1h, such as 30s, got %q", v)
	}
	return nil
}

// checkThresholds checks the lagging threshold against the on-track one
// (a bad on-track value is refused by its own check, not here again).
func checkThresholds(v string, all config.Values) error {
	if err := checkRatio(v, all); err != nil {
		return err
	}
	if checkRatio(all.Get("LINLI_STATUS_ON_TRACK"), all) != nil {
		return nil
	}
	if lag, on := all.Float("LINLI_STATUS_LAGGING"), all.Float("LINLI_STATUS_ON_TRACK"); lag >= on {
		return fmt.Errorf("须满足 0 < 滞后阈值 < 正常阈值 ≤ 1 (LINLI_STATUS_ON_TRACK) / must satisfy 0 < lagging < on track ≤ 1, got %g and %g", lag, on)
	}
	return nil
}

type indicatorsModule struct {
	store           *Store
	divisions       module.Divisions
	th              Thresholds
	log             *slog.Logger
	pageTTL         time.Duration
	cache           *memo.Cache[pageData] // the dashboards' (nil before Mount, or with no TTL)
	module.Settling                       // the first precompute has ended
}

func newModule(d module.Deps) (module.Module, error) {
	th := Thresholds{OnTrack: d.Settings.Float("LINLI_STATUS_ON_TRACK"), Lagging: d.Settings.Float("LINLI_STATUS_LAGGING")}
	ttl, err := time.ParseDuration(strings.TrimSpace(d.Settings.Get("LINLI_INDICATORS_PAGE_TTL")))
	if err != nil {
		ttl = PageTTL
	}
	return &indicatorsModule{store: NewStore(d.DB, d.Audit, Builtin(d.Now), d.Now), divisions: d.Divisions, th: th, log: d.Log, pageTTL: ttl}, nil
}

// StoreOf is the store of a built indicators module (nil for another
// module), for commands and tests.
func StoreOf(m module.Module) *Store {
	if im, ok := m.(*indicatorsModule); ok {
		return im.store
	}
	return nil
}

func (m *indicatorsModule) Nav() []web.NavItem {
	return []web.NavItem{{Href: "/indicators", Label: web.M("指标监测", "Indicators"), Group: web.NavAnalysis, Primary: 5, Roles: []access.Role{access.Officer, access.CommunityWorker}}}
}

// UseElements adds the data elements other modules supply to this app's
// catalogue.
func (m *indicatorsModule) UseElements(els []module.Element) error {
	all, err := Builtin(m.store.Now).With(els)
	if err != nil {
		return err
	}
	m.store.Elements = all
	return nil
}

// Mount registers the dashboards, reporting, catalogue and API.
func (m *indicatorsModule) Mount(rt *web.Router, rd *web.Renderer) error {
	inds, err := Catalogue(m.store.Elements)
	if err != nil {
		return err
	}
	m.cache = newPageCache(m.pageTTL, m.store.Now, m.store.Generation)
	h := &Handlers{Engine: m.store.Engine(m.th, true), Store: m.store, Divisions: m.divisions, Pages: rd.Parse(templates, "templates/*.html"), Inds: inds,
		cache: m.cache}
	h.Register(rt)
	return nil
}

// Run keeps the precomputed values fresh; reads fall back to live
// computation for a year whose sources changed since.
// It ends once the dashboards' recomputations in flight have.
func (m *indicatorsModule) Run(ctx context.Context) {
	defer m.Settle()
	defer func() { m.cache.Wait() }()
	Refresher(ctx, m.store, time.Minute, m.log, m.Settle)
}

var (
	_ module.WorkSource = (*indicatorsModule)(nil)
	_ module.Settler    = (*indicatorsModule)(nil)
)
