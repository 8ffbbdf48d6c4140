package registry

import "linli/internal/web"

// View-model helpers of the registry pages: names in both languages and
// status tags built in Go, so the templates only choose where they go.

// crumbs is a breadcrumb: the pages above, then this page, unlinked.
func crumbs(here web.Msg, above ...web.Crumb) []web.Crumb {
	return append(append([]web.Crumb{}, above...), web.Crumb{Label: here})
}

// The list pages, as breadcrumb steps above their records and forms.
var (
	crumbResidents     = web.Crumb{Href: "/registry/residents", Label: web.M("居民查询", "Residents")}
	crumbHouseholds    = web.Crumb{Href: "/registry/households", Label: web.M("户", "Households")}
	crumbFacilities    = web.Crumb{Href: "/registry/facilities", Label: web.M("服务设施", "Facilities")}
	crumbOrganizations = web.Crumb{Href: "/registry/organizations", Label: web.M("社会组织与企业", "Organisations")}
	crumbPersonnel     = web.Crumb{Href: "/registry/personnel", Label: web.M("人员", "Personnel")}
	crumbGrids         = web.Crumb{Href: "/registry/grids", Label: web.M("网格", "Grids")}
)

// tagMsgs is the service-object catalogue as key → name in both languages.
func tagMsgs(kinds []TagKind) map[string]web.Msg {
	m := map[string]web.Msg{}
	for _, k := range kinds {
		m[k.Key] = web.M(k.NameZH, k.NameEN)
	}
	return m
}

// tagName is a tag's name, or its key when the catalogue lacks it.
func tagName(names map[string]web.Msg, key string) web.Msg {
	if n, ok := names[key]; ok {
		return n
	}
	return web.M(key, key)
}

// serviceTags are a resident's service-object tags as status tags: current
// ones in the info tone, ended ones muted and saying so. activeOnly drops
// the ended ones (lists show only what holds now).
func serviceTags(refs []TagRef, names map[string]web.Msg, activeOnly bool) []web.Tag {
	var out []web.Tag
	for _, t := range refs {
		if activeOnly && !t.Active {
			continue
		}
		label := tagName(names, t.Tag)
		if t.Detail != "" {
			label = web.M(label.ZH+" "+t.Detail, label.EN+" "+t.Detail)
		}
		if !t.Active {
			out = append(out, web.Tag{Tone: web.ToneMuted, Label: web.M(label.ZH+"（已结束）", label.EN+" (ended)")})
			continue
		}
		out = append(out, web.Tag{Tone: web.ToneInfo, Label: label})
	}
	return out
}

// catalogueTags turns keys of a {zh, en} catalogue (roles, kinds) into tags.
func catalogueTags(keys []string, m map[string][2]string) []web.Tag {
	out := make([]web.Tag, 0, len(keys))
	for _, k := range keys {
		n, ok := m[k]
		if !ok {
			n = [2]string{k, k}
		}
		out = append(out, web.Tag{Tone: web.ToneInfo, Label: web.M(n[0], n[1])})
	}
	return out
}

// facilityStatus is a facility's state as a tag: open green, being built
// amber, closed grey.
func facilityStatus(status string) web.Tag {
	switch status {
	case "open":
		return web.Tag{Tone: web.ToneOK, Label: web.M("运营中", "Open")}
	case "building":
		return web.Tag{Tone: web.ToneWarn, Label: web.M("建设中", "Being built")}
	case "closed":
		return web.Tag{Tone: web.ToneMuted, Label: web.M("已停用", "Closed")}
	}
	return web.Tag{Tone: web.ToneMuted, Label: web.M(status, status)}
}

// relationEN names the relations to the head of household in English; the
// registry stores them in Chinese, as the household register does.
var relationEN = map[string]string{"户主": "Head", "配偶": "Spouse", "子女": "Child", "父母": "Parent", "祖父母": "Grandparent",
	"孙子女": "Grandchild", "兄弟姐妹": "Sibling", "其他": "Other"}

// relationMsg is a stored relation in both languages.
func relationMsg(rel string) web.Msg {
	if en, ok := relationEN[rel]; ok {
		return web.M(rel, en)
	}
	return web.M(rel, rel)
}

// residenceMsg names a residence type in both languages.
func residenceMsg(kind string) web.Msg {
	if n, ok := residenceTypes[kind]; ok {
		return web.M(n[0], n[1])
	}
	return web.M(kind, kind)
}

// regLevelMsg names the level an organisation is registered at.
func regLevelMsg(level string) web.Msg {
	switch level {
	case "province":
		return web.M("省级", "Province")
	case "city":
		return web.M("市级", "City")
	case "county":
		return web.M("县级", "County")
	case "township":
		return web.M("乡镇（街道）", "Township")
	}
	return web.M("—", "—")
}
