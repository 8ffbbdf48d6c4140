package app

import (
	"linli/internal/assistance"
	"linli/internal/care"
	"linli/internal/childcare"
	"linli/internal/deliberation"
	"linli/internal/emergency"
	"linli/internal/familydoctor"
	"linli/internal/indicators"
	"linli/internal/lifecircle"
	"linli/internal/module"
	"linli/internal/projects"
	"linli/internal/registry"
	"linli/internal/requests"
	"linli/internal/visits"
	"linli/internal/volunteers"
)

// Modules are the business capabilities, in dependency order: a module's
// demo data may rely on the ones before it. Adding a capability is adding
// its Spec here.
func Modules() []module.Spec {
	return []module.Spec{
		registry.Module(),
		indicators.Module(),
		lifecircle.Module(),
		requests.Module(),
		visits.Module(),
		assistance.Module(),
		emergency.Module(),
		childcare.Module(),
		familydoctor.Module(),
		care.Module(),
		volunteers.Module(),
		projects.Module(),
		deliberation.Module(),
	}
}
