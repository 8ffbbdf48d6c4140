package requests

import (
	"context"
	"sync"
	"time"

	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/secret"

	"linli/internal/access"
	"linli/internal/web"
)

// Nav is the requests capability's navigation.
var Nav = []web.NavItem{
	{Href: "/requests", Label: web.M("民呼我为", "Requests"), Roles: []access.Role{access.Resident, access.GridWorker, access.CommunityWorker, access.Officer}},
	{Href: "/requests/metrics", Label: web.M("诉求指标", "Request metrics"), Roles: []access.Role{access.CommunityWorker, access.Officer}},
	{Href: "/requests/catalogue", Label: web.M("服务目录", "Service catalogue"), Roles: []access.Role{access.Officer}},
}

// Mount registers the API, Open311 and (when rd is set) the pages.
func Mount(s *Store, rt *web.Router, rd *web.Renderer) *Handlers {
	h := &Handlers{Store: s}
	h.RegisterAPI(rt)
	h.RegisterOpen311(rt)
	if rd != nil {
		h.Pages = rd.Parse(templates, "templates/*.html")
		h.RegisterPages(rt)
	}
	return h
}

// Start runs the SLA job every minute until ctx ends.
func Start(ctx context.Context, s *Store, logf func(string, ...any)) {
	s.RunSLA(ctx, time.Minute, logf)
}

var (
	sharedMu sync.Mutex
	shared   = map[*db.DB]*Store{}
)

// Shared returns the one store of an app's database, so that the routes, the
// SLA job and the demo share the catalogue cache and settings.
func Shared(d *db.DB, keys *secret.Keyring, log *audit.Log, divs *divisions.Store, now func() time.Time) *Store {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if s, ok := shared[d]; ok {
		return s
	}
	s := &Store{DB: d, Keys: keys, Audit: log, Divs: divs, Now: now}
	shared[d] = s
	return s
}

// CloseShared closes the shared store of a database (if any) and forgets it,
// so that the app can close the database after.
func CloseShared(d *db.DB) {
	sharedMu.Lock()
	s, ok := shared[d]
	delete(shared, d)
	sharedMu.Unlock()
	if ok {
		s.Close()
	}
}
