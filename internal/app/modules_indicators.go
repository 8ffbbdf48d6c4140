package app

import (
	"context"
	"database/sql"
	"time"

	"linli/internal/divisions"
	"linli/internal/indicators"
	"linli/internal/requests"
	"linli/internal/web"
)

// indicatorsModule monitors the plan's indicators; it reads the registry's
// tables, so it comes after the registry in modules. C20/C21 come from the
// life-circle analysis.
var indicatorsModule = Module{Name: "indicators", Migrations: indicators.Migrations, Nav: indicators.Nav,
	Mount: func(a *App, rt *web.Router, rd *web.Renderer) {
		lc := lifecircleService(a)
		for key, spec := range map[string]struct {
			class     string
			withValue bool
		}{
			"urban_units_in_15min": {divisions.Urban, true}, "urban_units_analysed": {divisions.Urban, false},
			"rural_units_in_30min": {divisions.Rural, true}, "rural_units_analysed": {divisions.Rural, false},
		} {
			f := lc.Completeness(spec.class, spec.withValue)
			indicators.Provide(a.DB, key, func(ctx context.Context, q *sql.DB, g indicators.Group) (map[string]float64, error) {
				return f(ctx, q, g.Prefix, g.Lo, g.Hi, g.Year)
			})
		}
		for kind := range requests.YearCountKinds {
			f := requests.YearCounts(kind)
			indicators.Provide(a.DB, "requests_"+kind, func(ctx context.Context, q *sql.DB, g indicators.Group) (map[string]float64, error) {
				return f(ctx, q, g.Prefix, g.Lo, g.Hi, g.Year)
			})
		}
		th := indicators.Thresholds{OnTrack: a.Cfg.StatusOnTrack, Lagging: a.Cfg.StatusLagging}
		if err := indicators.Mount(a.Divisions, &indicators.Store{DB: a.DB, Audit: a.Audit}, rt, rd, th); err != nil {
			panic(err) // the embedded catalogue is broken: a build error, caught by tests
		}
	},
	// Keep the precomputed values fresh; reads fall back to live
	// computation for a year whose sources changed since.
	Start: func(ctx context.Context, a *App) {
		indicators.Refresher(ctx, &indicators.Store{DB: a.DB, Audit: a.Audit}, time.Minute)
	}}
