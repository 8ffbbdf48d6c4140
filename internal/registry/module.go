package registry

import (
	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/web"
)

// Nav is the registry's navigation.
var Nav = []web.NavItem{
	{Href: "/registry/residents", Label: fault.M("居民查询", "Residents"), Roles: []access.Role{access.CommunityWorker, access.GridWorker, access.Officer}},
	{Href: "/registry/households", Label: fault.M("户", "Households"), Roles: []access.Role{access.CommunityWorker, access.GridWorker, access.Officer}},
	{Href: "/registry/my-grid", Label: fault.M("我的网格", "My grid"), Roles: []access.Role{access.GridWorker}},
	{Href: "/registry/facilities", Label: fault.M("服务设施", "Facilities"), Roles: []access.Role{access.CommunityWorker, access.GridWorker, access.Officer, access.Provider, access.Resident}},
	{Href: "/registry/organizations", Label: fault.M("社会组织与企业", "Organisations"), Roles: []access.Role{access.CommunityWorker, access.GridWorker, access.Officer}},
	{Href: "/registry/personnel", Label: fault.M("人员", "Personnel"), Roles: []access.Role{access.CommunityWorker, access.GridWorker, access.Officer}},
	{Href: "/registry/grids", Label: fault.M("网格", "Grids"), Roles: []access.Role{access.CommunityWorker, access.Officer}},
	{Href: "/registry/tags", Label: fault.M("服务对象统计", "Service objects"), Roles: []access.Role{access.CommunityWorker, access.GridWorker, access.Officer}},
	{Href: "/registry/import", Label: fault.M("批量导入", "Bulk import"), Roles: []access.Role{access.CommunityWorker, access.Officer}},
	{Href: "/registry/me", Label: fault.M("我的登记信息", "My record"), Roles: []access.Role{access.Resident}},
}

// Mount registers the registry's API and pages.
func Mount(s *Store, rt *web.Router, rd *web.Renderer) *Handlers {
	h := &Handlers{Store: s}
	h.Register(rt)
	if rd != nil {
		h.Pages = ParsePages(rd)
		h.RegisterPages(rt)
	}
	return h
}
