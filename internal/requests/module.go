package requests

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/config"
	"linli/internal/module"
	"linli/internal/questions"
	"linli/internal/web"
	"linli/internal/webhook"
)

// Module declares 民呼我为: residents' requests with SLAs, escalation,
// an inbox, metrics and Open311 GeoReport v2.
func Module() module.Spec {
	return module.Spec{Name: "requests", Migrations: Migrations, New: newModule,
		Settings: []config.Setting{
			{Env: "LINLI_NOTIFY_WEBHOOK", Usage: "诉求预警/超期通知推送地址 / URL that receives request notices (SMS, 浙里办 adapters)", Check: checkWebhook},
			{Env: "LINLI_NOTIFY_SECRET", Usage: "通知签名密钥 / HMAC key signing those notices"},
		},
		Commands: []module.Command{
			{Name: "admin open311-key", Summary: "签发 Open311 接入密钥 / issue an Open311 GeoReport api_key", Usage: open311KeyUsage, Run: runOpen311Key},
			{Name: "bench requests", Summary: "诉求提交压测与 kill -9 崩溃核对 / request submission load test and kill -9 crash check", Usage: benchUsage, Run: runBench},
		},
	}
}

func checkWebhook(v string, _ config.Values) error { return webhook.CheckURL(v) }

type requestsModule struct {
	store           *Store
	log             func(string, ...any)
	module.Settling // the backlog is sealed and the SLA job has run once
}

func newModule(d module.Deps) (module.Module, error) {
	s := &Store{DB: d.DB, Keys: d.Keys, Audit: d.Audit, Divs: d.Divisions, Now: d.Now, Log: d.Log, Locate: d.Divisions.Locate, Tell: d.Notices}
	if hook := d.Settings.Get("LINLI_NOTIFY_WEBHOOK"); hook != "" {
		s.Notifier = &Webhook{URL: hook, Secret: d.Settings.Get("LINLI_NOTIFY_SECRET")}
	}
	return &requestsModule{store: s, log: d.Log.Warn}, nil
}

// StoreOf is the store of a built requests module (nil for another
// module), for commands and tests.
func StoreOf(m module.Module) *Store {
	if rm, ok := m.(*requestsModule); ok {
		return rm.store
	}
	return nil
}

// Close stops the store's writer after writing what is queued.
func (m *requestsModule) Close() error { m.store.Close(); return nil }

func (m *requestsModule) Nav() []web.NavItem {
	return []web.NavItem{
		{Href: "/requests", Label: web.M("民呼我为", "Requests"), Primary: 2, Roles: []access.Role{access.Resident, access.GridWorker, access.CommunityWorker, access.Officer}},
		{Href: "/requests/metrics", Label: web.M("诉求指标", "Request metrics"), Group: web.NavAnalysis, Roles: []access.Role{access.CommunityWorker, access.Officer}},
		{Href: "/requests/catalogue", Label: web.M("服务目录", "Service catalogue"), Roles: []access.Role{access.Officer}},
	}
}

// Mount registers the API, Open311 and the pages.
func (m *requestsModule) Mount(rt *web.Router, rd *web.Renderer) error {
	h := &Handlers{Store: m.store}
	h.RegisterAPI(rt)
	h.RegisterOpen311(rt)
	h.Pages = rd.ParseWith(templates, "templates/*.html", questions.Templates)
	h.RegisterPages(rt)
	return nil
}

// Run seals the free text of requests written before the detector and the
// photos stored before sealing, then runs the SLA job every minute until
// ctx ends.
func (m *requestsModule) Run(ctx context.Context) {
	defer m.Settle()
	if n, err := m.store.SealBacklog(ctx); err != nil {
		m.log("requests: sealing old texts", "err", err.Error())
	} else if n > 0 {
		m.store.Log.Info("requests: old texts masked and sealed", "requests", n)
	}
	if n, err := m.store.SealPhotoBacklog(ctx); err != nil {
		m.log("requests: sealing old photos", "err", err.Error())
	} else if n > 0 {
		m.store.Log.Info("requests: old photos sealed", "photos", n)
	}
	m.store.RunSLA(ctx, time.Minute, m.log, m.Settle)
}

// Demo adds synthetic requests in the demo county, more for a larger
// demo population.
func (m *requestsModule) Demo(ctx context.Context, o module.DemoOptions) error {
	var progress func(done, total int)
	if o.Progress != nil {
		progress = func(done, total int) { o.Progress("诉求 / requests", done, total) }
	}
	return Demo(ctx, m.store, o.County, o.Seed, DemoCount(o.Scale), progress)
}

// DemoCount is how many requests a demo of that scale gets ("community",
// "county" or a share of the real county; see --demo-scale): 320 at the
// default share of 0.02, growing with the square root of the population —
// about 2,260 for a whole county. Each passes the real lifecycle with its
// audit entries (a few milliseconds), so a proportional count (16,000)
// would dominate the county demo's time while adding nothing the inbox,
// lists and metrics do not already show at a few thousand.
func DemoCount(scale string) int {
	share := 0.02
	switch strings.TrimSpace(scale) {
	case "county", "full":
		share = 1
	default:
		if f, err := strconv.ParseFloat(scale, 64); err == nil && f > 0 && f <= 1 {
			share = f
		}
	}
	return max(320, int(math.Round(320*math.Sqrt(share/0.02))))
}

// Elements are the year's request counts, for indicator formulas.
func (m *requestsModule) Elements() []module.Element { return yearElements() }
