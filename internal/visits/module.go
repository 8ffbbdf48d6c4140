package visits

import (
	"context"
	"sync"
	"time"

	"linli/internal/access"
	"linli/internal/memo"
	"linli/internal/module"
	"linli/internal/questions"
	"linli/internal/web"
)

// Module declares 探访关爱: visit programmes, monthly schedules, visit
// records and the visit rates. It builds on the registry (its tables are
// read for targets and owners) and must follow it in the module list.
func Module() module.Spec {
	return module.Spec{Name: "visits", Migrations: append(migrations(), reconcileMigration, ratesMigration, workMigration, photoSealMigration, findingsMigration, volunteerMigration, homeVisitsMigration), New: newModule,
		Commands: []module.Command{
			{Name: "visits schedule", Summary: "生成某月探访计划 / generate a month's visit schedule", Usage: scheduleUsage, Run: runSchedule},
			{Name: "bench visits", Summary: "探访计划生成对照裸 INSERT … SELECT / schedule generation against a bare INSERT … SELECT", Usage: benchUsage, Run: runBench},
		},
	}
}

type visitsModule struct {
	store *Store
	// figures are the supervision page's kept figures (set by Mount).
	figures *memo.Cache[Completion]
	// The first reconcile and the overdue clock's first run have ended.
	module.Settling
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
		{Href: "/visits/mine", Label: web.M("我的探访", "My visits"), Roles: []access.Role{access.Resident}},
		{Href: "/visits/supervise", Label: web.M("探访督导", "Visit supervision"), Group: web.NavAnalysis, Roles: []access.Role{access.CommunityWorker, access.Officer}},
		{Href: "/visits/sheet", Label: web.M("探访登记表（打印）", "Visit sheet (print)"), Roles: []access.Role{access.GridWorker}},
	}
}

// Mount registers the API and the pages.
func (m *visitsModule) Mount(rt *web.Router, rd *web.Renderer) error {
	h := &Handlers{Store: m.store}
	h.RegisterAPI(rt)
	h.Pages = rd.ParseWith(templates, "templates/*.html", questions.Templates)
	h.RegisterPages(rt)
	return m.mountSupervision(rt, rd)
}

// Run seals photos recorded before sealing, then keeps the schedules
// reconciled: at start and every quarter hour it
// brings the current month up to date (tags, addresses and grids change at
// any time), and from the 20th the next month too, so every due visit is
// known before its month starts. A month's first run looks at every
// target; later ones only at what changed since (reconcile.go). Two
// servers running it at once create nothing twice.
func (m *visitsModule) Run(ctx context.Context) {
	defer m.Settle()
	// The overdue clock (escalate.go) runs beside it, every minute.
	clock, clocked := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(clock)
		m.store.RunEscalation(ctx, time.Minute, sync.OnceFunc(func() { close(clocked) }))
	}()
	defer func() { <-clock }()
	first := true
	defer func() { m.figures.Wait() }() // figures being counted for a viewer already served
	if n, err := m.store.SealPhotoBacklog(ctx); err != nil && ctx.Err() == nil {
		m.store.Log.Warn("visits: sealing old photos", "err", err.Error())
	} else if n > 0 {
		m.store.Log.Info("visits: old photos sealed", "photos", n)
	}
	t := time.NewTicker(15 * time.Minute)
	defer t.Stop()
	for {
		now := m.store.Now()
		months := []Month{MonthOf(now)}
		if now.In(questions.CST).Day() >= 20 {
			months = append(months, MonthOf(now).Next())
		}
		for _, mo := range months {
			if _, err := m.store.Reconcile(ctx, mo); err != nil && ctx.Err() == nil {
				m.store.Log.Warn("visits: schedule", "month", mo.String(), "err", err.Error())
			}
		}
		if first {
			first = false
			select {
			case <-clocked:
				m.Settle()
			case <-ctx.Done():
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// The seams the module plugs into.
var (
	_ module.Settler         = (*visitsModule)(nil)
	_ module.Demo            = (*visitsModule)(nil)
	_ module.ElementSupplier = (*visitsModule)(nil)
	_ module.WorkSource      = (*visitsModule)(nil)
	_ module.MineSource      = (*visitsModule)(nil)
)
