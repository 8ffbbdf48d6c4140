package indicators

import (
	"linli/internal/access"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/web"
)

// Mount wires the module: it is called from internal/app with the core's parts.
func Mount(d *divisions.Store, s *Store, rt *web.Router, rd *web.Renderer, th Thresholds) error {
	inds, err := Catalogue()
	if err != nil {
		return err
	}
	h := &Handlers{Engine: &Engine{DB: s.DB, Precomputed: true, Thresholds: th}, Store: s, Divisions: d, Pages: rd.Parse(templates, "templates/*.html"), Inds: inds}
	h.Register(rt)
	return nil
}

// Nav is the module's navigation entry.
var Nav = []web.NavItem{{Href: "/indicators", Label: fault.M("指标监测", "Indicators"), Roles: []access.Role{access.Officer, access.CommunityWorker}}}
