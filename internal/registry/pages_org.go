package registry

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/web"
)

// List, detail, create, edit and delete pages for organisations,
// personnel and grids, in the same pattern as the household and facility
// pages of pages_edit.go: every read and write goes through the scoped
// store calls, so another community's record is a 404.

// orgKindOrder and roleOrder fix the order of the options on the pages.
var (
	orgKindOrder = []string{"social_org", "enterprise", "property", "owners_committee"}
	roleOrder    = []string{"community_worker", "social_worker", "grid_worker", "care_worker", "gp", "mediator", "legal_adviser", "volunteer", "leading_talent"}
)

// names turns a key → {zh, en} catalogue into key → name in the page's language.
func names(r *http.Request, m map[string][2]string) map[string]string {
	out := map[string]string{}
	for k, n := range m {
		out[k] = n[0]
		if web.Lang(r) == "en" {
			out[k] = n[1]
		}
	}
	return out
}

// orgKindTag is an organisation's kind as a tag.
func orgKindTag(kind string) web.Tag { return catalogueTags([]string{kind}, OrgKinds)[0] }

// roleTags are a person's roles as tags.
func roleTags(roles []string) []web.Tag { return catalogueTags(roles, PersonnelRoles) }

func catalogueOptions(m map[string][2]string, order []string) []formOption {
	var out []formOption
	for _, k := range order {
		out = append(out, formOption{k, web.M(m[k][0], m[k][1])})
	}
	return out
}

// formDivision is the division a new record defaults to: the caller's
// own community when they belong to one.
func formDivision(r *http.Request, stored string) string {
	if p := access.From(r.Context()); stored == "" && p != nil && divisions.LevelOf(p.Division) == 5 {
		return p.Division
	}
	return stored
}

func divisionField(r *http.Request, div string, editing bool, fixed web.Msg) formField {
	f := formField{Name: "division", Kind: "text", Value: val(r, "division", div), Label: web.M("村(社区)区划代码", "Village/community code"), Required: true, Max: 12, Inputmode: "numeric",
		Hint: web.M("12 位代码，须在您的管辖范围内", "12 digits, inside your jurisdiction")}
	if editing && fixed.ZH != "" {
		f.Hint = fixed
	}
	return f
}

// multi reads a field that may be sent several times (check boxes) or as
// one comma- or space-separated value.
func multi(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.PostForm[name] {
		out = append(out, strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == '，' || c == ';' || c == '；' || c == ' ' || c == '、' })...)
	}
	return out
}

var errForm = fault.Invalid(fault.M("表单格式错误", "malformed form"))

func checked(vals []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range vals {
		m[v] = true
	}
	return m
}

func (h *Handlers) registerOrgPages(rt *web.Router) {
	rt.Page("GET /registry/organizations", h.pageOrganizations)
	rt.Page("GET /registry/organizations/new", func(w http.ResponseWriter, r *http.Request) {
		h.orgForm(w, r, "", Organization{Kind: r.URL.Query().Get("kind")}, nil)
	})
	rt.Page("POST /registry/organizations", h.postOrganization)
	rt.Page("GET /registry/organizations/{id}", h.pageOrganization)
	rt.Page("GET /registry/organizations/{id}/edit", func(w http.ResponseWriter, r *http.Request) {
		o, err := h.Store.GetOrganization(r.Context(), r.PathValue("id"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.orgForm(w, r, o.ID, o, nil)
	})
	rt.Page("POST /registry/organizations/{id}/edit", h.postOrganization)
	rt.Page("GET /registry/organizations/{id}/delete", h.confirmOrganization)
	rt.Page("POST /registry/organizations/{id}/delete", func(w http.ResponseWriter, r *http.Request) {
		if err := h.Store.DeleteOrganization(r.Context(), r.PathValue("id")); err != nil {
			h.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/registry/organizations?deleted=1", http.StatusSeeOther)
	})

	rt.Page("GET /registry/personnel", h.pagePersonnel)
	rt.Page("GET /registry/personnel/new", func(w http.ResponseWriter, r *http.Request) {
		p := Person{OrgID: r.URL.Query().Get("org")}
		if role := r.URL.Query().Get("role"); role != "" {
			p.Roles = []string{role}
		}
		h.personForm(w, r, "", p, nil)
	})
	rt.Page("POST /registry/personnel", h.postPerson)
	rt.Page("GET /registry/personnel/{id}", h.pagePerson)
	rt.Page("GET /registry/personnel/{id}/edit", func(w http.ResponseWriter, r *http.Request) {
		p, err := h.Store.GetPerson(r.Context(), r.PathValue("id"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.personForm(w, r, p.ID, p, nil)
	})
	rt.Page("POST /registry/personnel/{id}/edit", h.postPerson)
	rt.Page("GET /registry/personnel/{id}/delete", h.confirmPerson)
	rt.Page("POST /registry/personnel/{id}/delete", func(w http.ResponseWriter, r *http.Request) {
		if err := h.Store.DeletePerson(r.Context(), r.PathValue("id")); err != nil {
			h.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/registry/personnel?deleted=1", http.StatusSeeOther)
	})

	rt.Page("GET /registry/grids", h.pageGrids)
	rt.Page("GET /registry/grids/new", func(w http.ResponseWriter, r *http.Request) { h.gridForm(w, r, "", Grid{}, nil) })
	rt.Page("POST /registry/grids", h.postGrid)
	rt.Page("GET /registry/grids/{id}", h.pageGrid)
	rt.Page("GET /registry/grids/{id}/edit", func(w http.ResponseWriter, r *http.Request) {
		g, err := h.Store.GetGrid(r.Context(), r.PathValue("id"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.gridForm(w, r, g.ID, g, nil)
	})
	rt.Page("POST /registry/grids/{id}/edit", h.postGrid)
	rt.Page("GET /registry/grids/{id}/delete", h.confirmGrid)
	rt.Page("POST /registry/grids/{id}/delete", func(w http.ResponseWriter, r *http.Request) {
		if err := h.Store.DeleteGrid(r.Context(), r.PathValue("id")); err != nil {
			h.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/registry/grids?deleted=1", http.StatusSeeOther)
	})
}

// Organisations.

func (h *Handlers) pageOrganizations(w http.ResponseWriter, r *http.Request) {
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := Filter{Division: q.Get("division"), Category: q.Get("kind"), Q: q.Get("q")}
	cursor := q.Get("cursor")
	page, err := h.Store.PageOrganizations(r.Context(), f, cursor, pg.PageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ex := exportLinks("organizations", r, "q", "division")
	if f.Category != "" {
		ex = exportLinks("organizations", withParam(r, "category", f.Category), "q", "division", "category")
	}
	h.Pages.Render(w, r, 200, "organizations", web.View{Title: web.M("社会组织与服务企业", "Organisations"), Notice: notices(r),
		Data: map[string]any{"Items": page.Items, "Pager": listPager(r, cursor, page), "F": f, "Kinds": catalogueOptions(OrgKinds, orgKindOrder),
			"KindName": names(r, OrgKinds), "CanWrite": canWrite(access.From(r.Context())), "Export": ex,
			"KindTag": orgKindTag, "Empty": web.M("没有符合条件的组织。", "No organisation matches.")}})
}

// withParam is r with one more query parameter (for export links, whose
// filter names differ from the page's).
func withParam(r *http.Request, k, v string) *http.Request {
	u := *r.URL
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	r2 := *r
	r2.URL = &u
	return &r2
}

func (h *Handlers) pageOrganization(w http.ResponseWriter, r *http.Request) {
	o, err := h.Store.GetOrganization(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	share := "—"
	if o.PartyShare != nil {
		share = strconv.FormatFloat(math.Round(*o.PartyShare*1000)/10, 'f', -1, 64) + "%"
	}
	h.Pages.Render(w, r, 200, "organization", web.View{Title: web.M("组织："+o.Name, "Organisation: "+o.Name), Notice: notices(r),
		Crumbs: crumbs(web.M(o.Name, o.Name), crumbOrganizations),
		Data: map[string]any{"O": o, "KindName": names(r, OrgKinds), "CanWrite": canWrite(access.From(r.Context())),
			"CanSeeStaff": canReadPeople(access.From(r.Context())), "KindTag": orgKindTag, "RegLevel": regLevelMsg(o.RegLevel), "SharePct": share}})
}

func (h *Handlers) orgForm(w http.ResponseWriter, r *http.Request, id string, o Organization, we *fault.Error) {
	if !requireWriter(h, w, r) {
		return
	}
	fv := formView{Action: "/registry/organizations", Cancel: "/registry/organizations", Submit: web.M("保存", "Save")}
	title := web.M("新建组织", "New organisation")
	if id != "" {
		fv.Action, fv.Cancel, title = "/registry/organizations/"+id+"/edit", "/registry/organizations/"+id, web.M("修改组织信息", "Edit organisation")
	}
	share := ""
	if o.PartyShare != nil {
		share = strconv.FormatFloat(*o.PartyShare, 'f', -1, 64)
	}
	rating := []formOption{{"", web.M("（未评估）", "(not rated)")}}
	for _, x := range ratings[1:] {
		rating = append(rating, formOption{x, web.M(x, x)})
	}
	fv.Fields = []formField{
		divisionField(r, formDivision(r, o.Division), id != "", web.Msg{}),
		{Name: "kind", Kind: "select", Value: val(r, "kind", o.Kind), Label: web.M("组织类型", "Kind"), Required: true, Options: catalogueOptions(OrgKinds, orgKindOrder)},
		{Name: "name", Kind: "text", Value: val(r, "name", o.Name), Label: web.M("名称", "Name"), Required: true, Max: 100},
		{Name: "reg_no", Kind: "text", Value: val(r, "reg_no", o.RegNo), Label: web.M("登记证号（统一社会信用代码）", "Registration number (USCC)"), Max: 40,
			Hint: web.M("社会组织必填", "required for a social organisation")},
		{Name: "org_type", Kind: "text", Value: val(r, "org_type", o.OrgType), Label: web.M("组织类别", "Organisation type"), Max: 40,
			Hint: web.M("如 社会团体、民办非企业单位、基金会", "e.g. association, private non-enterprise unit, foundation")},
		{Name: "rating", Kind: "select", Value: val(r, "rating", o.Rating), Label: web.M("评估等级", "Rating"), Options: rating},
		{Name: "reg_level", Kind: "select", Value: val(r, "reg_level", o.RegLevel), Label: web.M("登记层级", "Registered at"), Options: []formOption{
			{"", web.M("（未填）", "(not given)")}, {"province", web.M("省级", "Province")}, {"city", web.M("市级", "City")},
			{"county", web.M("县级", "County")}, {"township", web.M("乡镇（街道）", "Township")}}},
		{Name: "party_share", Kind: "text", Value: val(r, "party_share", share), Label: web.M("党员占比", "Share of Party members"), Inputmode: "decimal",
			Hint: web.M("0–1 之间的小数，如 0.35；可空", "a decimal 0–1 such as 0.35; optional")},
		{Name: "address", Kind: "text", Value: val(r, "address", o.Address), Label: web.M("地址", "Address"), Max: 200},
	}
	fv.Crumbs = crumbs(title, crumbOrganizations)
	h.renderForm(w, r, title, fv, we)
}

func (h *Handlers) postOrganization(w http.ResponseWriter, r *http.Request) {
	if !requireWriter(h, w, r) {
		return
	}
	id := r.PathValue("id")
	var errs []fault.FieldError
	in := OrganizationInput{Division: strings.TrimSpace(r.PostFormValue("division")), Kind: r.PostFormValue("kind"), Name: r.PostFormValue("name"),
		RegNo: r.PostFormValue("reg_no"), OrgType: strings.TrimSpace(r.PostFormValue("org_type")), Rating: r.PostFormValue("rating"),
		RegLevel: r.PostFormValue("reg_level"), Address: strings.TrimSpace(r.PostFormValue("address"))}
	if strings.TrimSpace(r.PostFormValue("party_share")) != "" {
		v := number(r, "party_share", &errs)
		in.PartyShare = &v
	}
	var o Organization
	var err error
	switch {
	case len(errs) > 0:
		err = fault.Invalid(web.M("组织信息有误", "the organisation has errors"), errs...)
	case id == "":
		o, err = h.Store.CreateOrganization(r.Context(), in)
	default:
		o, err = h.Store.UpdateOrganization(r.Context(), id, in)
	}
	if we, ok := h.formErrors(err); ok {
		h.orgForm(w, r, id, Organization{ID: id}, we)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/registry/organizations/"+o.ID+"?saved=1", http.StatusSeeOther)
}

func (h *Handlers) confirmOrganization(w http.ResponseWriter, r *http.Request) {
	o, err := h.Store.GetOrganization(r.Context(), r.PathValue("id"))
	if err == nil && !canWrite(access.From(r.Context())) {
		err = errNoWrite
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := web.M("确定删除组织 "+o.Name+"？", "Delete organisation "+o.Name+"?")
	if o.Staff > 0 || o.Facilities > 0 {
		q = web.M("确定删除组织 "+o.Name+"？仍有 "+strconv.Itoa(o.Staff)+" 名人员、"+strconv.Itoa(o.Facilities)+" 处设施登记在该组织名下，删除后这些记录不再关联任何组织。",
			"Delete organisation "+o.Name+"? "+strconv.Itoa(o.Staff)+" people and "+strconv.Itoa(o.Facilities)+" facilities are still recorded under it and will no longer be linked to an organisation.")
	}
	kind := names(r, OrgKinds)[o.Kind]
	h.Pages.Render(w, r, 200, "confirm", web.View{Title: web.M("删除组织", "Delete organisation"), Data: confirmView{
		Action: "/registry/organizations/" + o.ID + "/delete", Cancel: "/registry/organizations/" + o.ID, Question: q,
		Facts: []fact{{web.M("名称", "Name"), o.Name}, {web.M("组织类型", "Kind"), kind}, {web.M("登记证号", "Registration number"), o.RegNo}, {web.M("区划", "Division"), o.Division}}}})
}

// Personnel.

func (h *Handlers) pagePersonnel(w http.ResponseWriter, r *http.Request) {
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := Filter{Division: q.Get("division"), Category: q.Get("role"), Q: q.Get("q")}
	cursor := q.Get("cursor")
	page, err := h.Store.PagePersonnel(r.Context(), f, cursor, pg.PageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ex := exportLinks("personnel", r, "q", "division")
	if f.Category != "" {
		ex = exportLinks("personnel", withParam(r, "category", f.Category), "q", "division", "category")
	}
	h.Pages.Render(w, r, 200, "personnel", web.View{Title: web.M("人员", "Personnel"), Notice: notices(r),
		Data: map[string]any{"Items": page.Items, "Pager": listPager(r, cursor, page), "F": f, "Roles": catalogueOptions(PersonnelRoles, roleOrder),
			"RoleName": names(r, PersonnelRoles), "CanWrite": canWrite(access.From(r.Context())), "Export": ex,
			"RoleTags": roleTags, "Empty": web.M("没有符合条件的人员。", "No person matches.")}})
}

func (h *Handlers) pagePerson(w http.ResponseWriter, r *http.Request) {
	p, err := h.Store.GetPerson(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	org := ""
	if p.OrgID != "" {
		o, err := h.Store.GetOrganization(r.Context(), p.OrgID)
		if err != nil && !unreadable(err) {
			h.fail(w, r, err)
			return
		}
		org = o.Name
	}
	var attrs []fact
	for k, v := range p.Attrs {
		attrs = append(attrs, fact{web.M(k, k), strings.TrimSpace(strings.Trim(strconvAny(v), "\""))})
	}
	h.Pages.Render(w, r, 200, "person", web.View{Title: web.M("人员："+p.Name, "Person: "+p.Name), Notice: notices(r),
		Crumbs: crumbs(web.M(p.Name, p.Name), crumbPersonnel),
		Data: map[string]any{"P": p, "OrgName": org, "Attrs": attrs, "RoleName": names(r, PersonnelRoles), "CanWrite": canWrite(access.From(r.Context())),
			"RoleTags": roleTags}})
}

func strconvAny(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "✓"
		}
		return "✗"
	case nil:
		return ""
	}
	return "…"
}

func (h *Handlers) personForm(w http.ResponseWriter, r *http.Request, id string, p Person, we *fault.Error) {
	if !requireWriter(h, w, r) {
		return
	}
	div := formDivision(r, p.Division)
	orgs := []formOption{{"", web.M("（不属于组织）", "(no organisation)")}}
	orgList, _, err := h.Store.ListOrganizations(r.Context(), Filter{Division: div}, web.MaxPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, o := range orgList {
		orgs = append(orgs, formOption{o.ID, web.M(o.Name, o.Name)})
	}
	fv := formView{Action: "/registry/personnel", Cancel: "/registry/personnel", Submit: web.M("保存", "Save")}
	title := web.M("新建人员", "New person")
	phoneHint := web.M("11 位手机号，可空；列表与档案中脱敏显示", "11-digit mobile number, optional; shown masked")
	if id != "" {
		fv.Action, fv.Cancel, title = "/registry/personnel/"+id+"/edit", "/registry/personnel/"+id, web.M("修改人员信息", "Edit person")
		fv.Intro = web.M("电话不显示原值；留空表示不修改。", "The phone does not show its stored value: leave it empty to keep it.")
		phoneHint = web.M("当前 "+p.Phone+"；留空则不修改", "now "+p.Phone+"; leave empty to keep")
	}
	roles := p.Roles
	if r.Method == http.MethodPost {
		roles = multi(r, "roles")
	}
	fv.Fields = []formField{
		divisionField(r, div, id != "", web.Msg{}),
		{Name: "name", Kind: "text", Value: val(r, "name", p.Name), Label: web.M("姓名", "Name"), Required: true, Max: 50},
		{Name: "roles", Kind: "checks", Label: web.M("岗位（可多选）", "Roles (one or more)"), Required: true, Options: catalogueOptions(PersonnelRoles, roleOrder), Checked: checked(roles)},
		{Name: "org_id", Kind: "select", Value: val(r, "org_id", p.OrgID), Label: web.M("所属组织", "Organisation"), Options: orgs},
		{Name: "phone", Kind: "text", Value: val(r, "phone", ""), Label: web.M("手机号", "Phone"), Max: 20, Inputmode: "tel", Placeholder: p.Phone, Hint: phoneHint},
	}
	fv.Crumbs = crumbs(title, crumbPersonnel)
	h.renderForm(w, r, title, fv, we)
}

func (h *Handlers) postPerson(w http.ResponseWriter, r *http.Request) {
	if !requireWriter(h, w, r) {
		return
	}
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, errForm)
		return
	}
	in := PersonInput{Division: strings.TrimSpace(r.PostFormValue("division")), Name: r.PostFormValue("name"), Roles: multi(r, "roles"),
		OrgID: r.PostFormValue("org_id"), Phone: strings.TrimSpace(r.PostFormValue("phone"))}
	var cur Person
	if id != "" {
		// The form does not edit the role attributes or the linked account: keep them.
		c, err := h.Store.GetPerson(r.Context(), id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		cur, in.Attrs, in.Username = c, c.Attrs, c.Username
	}
	var p Person
	var err error
	if id == "" {
		p, err = h.Store.CreatePerson(r.Context(), in)
	} else {
		p, err = h.Store.UpdatePerson(r.Context(), id, in)
	}
	if we, ok := h.formErrors(err); ok {
		cur.ID = id
		h.personForm(w, r, id, cur, we)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/registry/personnel/"+p.ID+"?saved=1", http.StatusSeeOther)
}

func (h *Handlers) confirmPerson(w http.ResponseWriter, r *http.Request) {
	p, err := h.Store.GetPerson(r.Context(), r.PathValue("id"))
	if err == nil && !canWrite(access.From(r.Context())) {
		err = errNoWrite
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rn := names(r, PersonnelRoles)
	var roles []string
	for _, k := range p.Roles {
		roles = append(roles, rn[k])
	}
	h.Pages.Render(w, r, 200, "confirm", web.View{Title: web.M("删除人员", "Delete person"), Data: confirmView{
		Action: "/registry/personnel/" + p.ID + "/delete", Cancel: "/registry/personnel/" + p.ID,
		Question: web.M("确定删除人员 "+p.Name+"？", "Delete person "+p.Name+"?"),
		Facts:    []fact{{web.M("姓名", "Name"), p.Name}, {web.M("岗位", "Roles"), strings.Join(roles, "、")}, {web.M("手机号", "Phone"), p.Phone}, {web.M("区划", "Division"), p.Division}}}})
}

// Grids.

func (h *Handlers) pageGrids(w http.ResponseWriter, r *http.Request) {
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := Filter{Division: q.Get("division"), Q: q.Get("q")}
	cursor := q.Get("cursor")
	page, err := h.Store.PageGrids(r.Context(), f, cursor, pg.PageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, r, 200, "grids", web.View{Title: web.M("网格", "Grids"), Notice: notices(r),
		Data: map[string]any{"Items": page.Items, "Pager": listPager(r, cursor, page), "F": f, "CanWrite": canWrite(access.From(r.Context())),
			"Export": exportLinks("grids", r, "q", "division"), "Empty": web.M("没有符合条件的网格。", "No grid matches.")}})
}

func (h *Handlers) pageGrid(w http.ResponseWriter, r *http.Request) {
	g, err := h.Store.GetGrid(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hhs, total, err := h.Store.ListHouseholds(r.Context(), HouseholdFilter{Grid: g.ID}, web.DefaultPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, r, 200, "grid", web.View{Title: web.M("网格："+g.Code+" "+g.Name, "Grid "+g.Code+" "+g.Name), Notice: notices(r),
		Crumbs: crumbs(web.M(g.Code+" "+g.Name, g.Code+" "+g.Name), crumbGrids),
		Data: map[string]any{"G": g, "Households": hhs, "More": total > len(hhs), "CanWrite": canWrite(access.From(r.Context())),
			"Empty": web.M("网格内暂无户。", "No household in this grid yet.")}})
}

func (h *Handlers) gridForm(w http.ResponseWriter, r *http.Request, id string, g Grid, we *fault.Error) {
	if !requireWriter(h, w, r) {
		return
	}
	div := formDivision(r, g.Division)
	if r.Method == http.MethodPost && id == "" {
		div = strings.TrimSpace(r.PostFormValue("division"))
	}
	fv := formView{Action: "/registry/grids", Cancel: "/registry/grids", Submit: web.M("保存", "Save")}
	title := web.M("新建网格", "New grid")
	if id != "" {
		fv.Action, fv.Cancel, title = "/registry/grids/"+id+"/edit", "/registry/grids/"+id, web.M("修改网格", "Edit grid")
	}
	workers := g.Workers
	if r.Method == http.MethodPost {
		workers = multi(r, "workers")
	}
	// The community's grid-worker accounts as check boxes; a worker
	// assigned but no longer listed stays as an option so saving keeps it.
	accts, err := h.Store.GridWorkerAccounts(r.Context(), div)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var opts []formOption
	seen := map[string]bool{}
	for _, a := range accts {
		label := a.Username
		if a.DisplayName != "" && a.DisplayName != a.Username {
			label = a.DisplayName + "（" + a.Username + "）"
		}
		labelEN := strings.ReplaceAll(strings.ReplaceAll(label, "（", " ("), "）", ")")
		opts = append(opts, formOption{a.Username, web.M(label, labelEN)})
		seen[a.Username] = true
	}
	for _, u := range workers {
		if !seen[u] {
			opts = append(opts, formOption{u, web.M(u, u)})
			seen[u] = true
		}
	}
	wf := formField{Name: "workers", Kind: "checks", Label: web.M("网格员", "Grid workers"), Options: opts, Checked: checked(workers)}
	if len(opts) == 0 {
		wf = formField{Name: "workers", Kind: "text", Value: strings.Join(workers, ", "), Label: web.M("网格员账号", "Grid-worker accounts"), Max: 400,
			Hint: web.M("本社区网格员的登录账号，多个用逗号分隔；可空", "login names of this community's grid workers, separated by commas; optional")}
	}
	fv.Fields = []formField{
		divisionField(r, div, id != "", web.M("网格不能改属其他社区", "a grid cannot move to another community")),
		{Name: "code", Kind: "text", Value: val(r, "code", g.Code), Label: web.M("网格编码", "Grid code"), Required: true, Max: 40},
		{Name: "name", Kind: "text", Value: val(r, "name", g.Name), Label: web.M("网格名称", "Grid name"), Required: true, Max: 60},
		wf,
		{Name: "note", Kind: "textarea", Value: val(r, "note", g.Note), Label: web.M("备注", "Note")},
	}
	fv.Crumbs = crumbs(title, crumbGrids)
	h.renderForm(w, r, title, fv, we)
}

func (h *Handlers) postGrid(w http.ResponseWriter, r *http.Request) {
	if !requireWriter(h, w, r) {
		return
	}
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, errForm)
		return
	}
	in := GridInput{Division: strings.TrimSpace(r.PostFormValue("division")), Code: r.PostFormValue("code"), Name: r.PostFormValue("name"),
		Note: strings.TrimSpace(r.PostFormValue("note")), Workers: multi(r, "workers")}
	if in.Workers == nil {
		in.Workers = []string{}
	}
	var g Grid
	var err error
	if id == "" {
		g, err = h.Store.CreateGrid(r.Context(), in)
	} else {
		g, err = h.Store.UpdateGrid(r.Context(), id, in)
	}
	if we, ok := h.formErrors(err); ok {
		cur := Grid{ID: id}
		if id != "" {
			if cur, err = h.Store.GetGrid(r.Context(), id); err != nil {
				h.fail(w, r, err)
				return
			}
		}
		h.gridForm(w, r, id, cur, we)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/registry/grids/"+g.ID+"?saved=1", http.StatusSeeOther)
}

func (h *Handlers) confirmGrid(w http.ResponseWriter, r *http.Request) {
	g, err := h.Store.GetGrid(r.Context(), r.PathValue("id"))
	if err == nil && !canWrite(access.From(r.Context())) {
		err = errNoWrite
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := web.M("确定删除网格 "+g.Code+" "+g.Name+"？", "Delete grid "+g.Code+" "+g.Name+"?")
	if g.Households > 0 {
		q = web.M("确定删除网格 "+g.Code+" "+g.Name+"？网格内的 "+strconv.Itoa(g.Households)+" 户会保留，但不再分配网格。",
			"Delete grid "+g.Code+" "+g.Name+"? Its "+strconv.Itoa(g.Households)+" households stay, with no grid assigned.")
	}
	h.Pages.Render(w, r, 200, "confirm", web.View{Title: web.M("删除网格", "Delete grid"), Data: confirmView{
		Action: "/registry/grids/" + g.ID + "/delete", Cancel: "/registry/grids/" + g.ID, Question: q,
		Facts: []fact{{web.M("网格编码", "Grid code"), g.Code}, {web.M("网格名称", "Grid name"), g.Name}, {web.M("户数", "Households"), strconv.Itoa(g.Households)},
			{web.M("网格员", "Grid workers"), strings.Join(g.Workers, ", ")}}}})
}
