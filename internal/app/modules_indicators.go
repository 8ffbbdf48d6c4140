package app

import (
	"linli/internal/indicators"
	"linli/internal/web"
)

// indicatorsModule monitors the plan's indicators; it reads the registry's
// tables, so it comes after the registry in modules.
var indicatorsModule = Module{Name: "indicators", Migrations: indicators.Migrations, Nav: indicators.Nav,
	Mount: func(a *App, rt *web.Router, rd *web.Renderer) {
		if err := indicators.Mount(a.Divisions, &indicators.Store{DB: a.DB, Audit: a.Audit}, rt, rd); err != nil {
			panic(err) // the embedded catalogue is broken: a build error, caught by tests
		}
	}}
