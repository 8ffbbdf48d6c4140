package registry

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

// Create, edit and delete pages for households, residents and facilities:
// plain HTML forms, errors in Chinese and English next to each field, and
// a confirmation page before a delete.

type formOption struct {
	Value string
	Label web.Msg
}

type formField struct {
	Name, Kind, Value string          // Kind: text, select, textarea, hidden, checks
	Checked           map[string]bool // the ticked options of a checks field
	Label, Hint       web.Msg
	Options           []formOption
	Required          bool
	Max               int
	Inputmode         string
	Placeholder       string
	ErrZH, ErrEN      string
}

type formView struct {
	Action, Cancel string
	Submit, Intro  web.Msg
	Fields         []formField
	Crumbs         []web.Crumb // the pages above the form and the form itself
}

// summaryErrors are a refusal's field errors for the summary at the top
// of a form: each links to its field, and an error on a field the form
// does not show links to the first field shown, where it is written.
func summaryErrors(fields []formField, errs []web.FieldError) []web.FieldError {
	first := ""
	shown := map[string]bool{}
	for _, f := range fields {
		if f.Kind != "hidden" {
			shown[f.Name] = true
			if first == "" {
				first = f.Name
			}
		}
	}
	out := make([]web.FieldError, 0, len(errs))
	for _, e := range errs {
		if !shown[e.Field] && e.Field != "" {
			e.Field = first
		}
		out = append(out, e)
	}
	return out
}

type fact struct {
	Label web.Msg
	Value string
}

type confirmView struct {
	Action, Cancel string
	Question       web.Msg
	Facts          []fact
}

func (h *Handlers) registerEditPages(rt *web.Router) {
	rt.Page("GET /registry/households", h.pageHouseholds)
	rt.Page("GET /registry/households/new", func(w http.ResponseWriter, r *http.Request) { h.householdForm(w, r, "", Household{}, nil) })
	rt.Page("POST /registry/households", h.postHousehold)
	rt.Page("GET /registry/households/{id}", h.pageHousehold)
	rt.Page("GET /registry/households/{id}/edit", func(w http.ResponseWriter, r *http.Request) {
		hh, err := h.Store.GetHousehold(r.Context(), r.PathValue("id"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.householdForm(w, r, hh.ID, hh, nil)
	})
	rt.Page("POST /registry/households/{id}/edit", h.postHousehold)
	rt.Page("GET /registry/households/{id}/delete", h.confirmHousehold)
	rt.Page("POST /registry/households/{id}/delete", func(w http.ResponseWriter, r *http.Request) {
		hh, err := h.Store.GetHousehold(r.Context(), r.PathValue("id"))
		if err == nil {
			err = h.Store.DeleteHousehold(r.Context(), hh.ID)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/registry/households?deleted=1", http.StatusSeeOther)
	})

	rt.Page("GET /registry/residents/new", func(w http.ResponseWriter, r *http.Request) {
		h.residentForm(w, r, "", Resident{HouseholdID: r.URL.Query().Get("household"), Relation: "户主", Residence: "registered"}, nil)
	})
	rt.Page("POST /registry/residents", h.postResident)
	rt.Page("GET /registry/residents/{id}/edit", func(w http.ResponseWriter, r *http.Request) {
		res, err := h.Store.GetResident(r.Context(), r.PathValue("id"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.residentForm(w, r, res.ID, res, nil)
	})
	rt.Page("POST /registry/residents/{id}/edit", h.postResident)
	rt.Page("GET /registry/residents/{id}/delete", h.confirmResident)
	rt.Page("POST /registry/residents/{id}/delete", func(w http.ResponseWriter, r *http.Request) {
		res, err := h.Store.GetResident(r.Context(), r.PathValue("id"))
		if err == nil {
			err = h.Store.DeleteResident(r.Context(), res.ID)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/registry/households/"+res.HouseholdID+"?deleted=1", http.StatusSeeOther)
	})

	rt.Page("GET /registry/facilities/new", func(w http.ResponseWriter, r *http.Request) { h.facilityForm(w, r, "", Facility{Status: "open"}, nil) })
	rt.Page("POST /registry/facilities", h.postFacility)
	rt.Page("GET /registry/facilities/{id}/edit", func(w http.ResponseWriter, r *http.Request) {
		f, err := h.Store.GetFacility(r.Context(), r.PathValue("id"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.facilityForm(w, r, f.ID, f, nil)
	})
	rt.Page("POST /registry/facilities/{id}/edit", h.postFacility)
	rt.Page("GET /registry/facilities/{id}/delete", h.confirmFacility)
	rt.Page("POST /registry/facilities/{id}/delete", func(w http.ResponseWriter, r *http.Request) {
		if err := h.Store.DeleteFacility(r.Context(), r.PathValue("id")); err != nil {
			h.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/registry/facilities?deleted=1", http.StatusSeeOther)
	})
}

// notices turns the ?saved=1 / ?deleted=1 of a redirect into a message.
func notices(r *http.Request) web.Msg {
	switch {
	case r.URL.Query().Get("saved") == "1":
		return web.M("已保存，并记入审计日志", "saved and written to the audit log")
	case r.URL.Query().Get("deleted") == "1":
		return web.M("已删除，并记入审计日志", "deleted and written to the audit log")
	}
	return web.Msg{}
}

// unreadable tells whether err says only that the caller may not see a
// record (out of scope, or not for the role): a linked record's name is
// then left out of the page.
func unreadable(err error) bool {
	return fault.Is(err, fault.CodeNotFound) || fault.Is(err, fault.CodeForbidden)
}

// formErrors renders a form again with the error of each field beside it,
// or reports an error that is not about fields.
func (h *Handlers) formErrors(err error) (*fault.Error, bool) {
	var we *fault.Error
	if errors.As(err, &we) && web.Status(we) == http.StatusBadRequest {
		return we, true
	}
	return nil, false
}

func (h *Handlers) renderForm(w http.ResponseWriter, r *http.Request, title web.Msg, fv formView, we *fault.Error) {
	v := web.View{Title: title, Crumbs: fv.Crumbs}
	status := 200
	if we != nil {
		status = 400
		v.Alert, v.Errors = we.Msg, summaryErrors(fv.Fields, we.Fields)
		for i := range fv.Fields {
			for _, e := range we.Fields {
				if e.Field == fv.Fields[i].Name && fv.Fields[i].ErrZH == "" {
					fv.Fields[i].ErrZH, fv.Fields[i].ErrEN = e.Message, e.MessageEN
				}
			}
		}
		// An error on a field the form does not show goes on the first field.
		for _, e := range we.Fields {
			shown := false
			for _, f := range fv.Fields {
				shown = shown || (f.Name == e.Field && f.Kind != "hidden")
			}
			if !shown && len(fv.Fields) > 0 {
				i := 0
				for i < len(fv.Fields)-1 && fv.Fields[i].Kind == "hidden" {
					i++
				}
				fv.Fields[i].ErrZH = strings.TrimSpace(fv.Fields[i].ErrZH + " " + e.Message)
				fv.Fields[i].ErrEN = strings.TrimSpace(fv.Fields[i].ErrEN + " " + e.MessageEN)
			}
		}
	}
	v.Data = fv
	h.Pages.Render(w, r, status, "form", v)
}

// val is the submitted value of a field on a POST, else the stored one.
func val(r *http.Request, name, stored string) string {
	if r.Method == http.MethodPost {
		return r.PostFormValue(name)
	}
	return stored
}

func requireWriter(h *Handlers, w http.ResponseWriter, r *http.Request) bool {
	if !canWrite(access.From(r.Context())) {
		h.fail(w, r, errNoWrite)
		return false
	}
	return true
}

// Households.

func (h *Handlers) pageHouseholds(w http.ResponseWriter, r *http.Request) {
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := HouseholdFilter{Division: q.Get("division"), Q: q.Get("q"), Grid: q.Get("grid")}
	cursor := q.Get("cursor")
	page, err := h.Store.PageHouseholds(r.Context(), f, cursor, pg.PageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	first, next := keyset.Links(r, cursor, page.Next)
	h.Pages.Render(w, r, 200, "households", web.View{Title: web.M("户", "Households"), Notice: notices(r),
		Data: map[string]any{"Items": page.Items, "Pager": keyset.Pager(first, next, page.Total, page.Capped, CountCap), "F": f,
			"CanWrite": canWrite(access.From(r.Context())), "Export": exportLinks("households", r, "q", "division", "grid"),
			"Empty": web.M("没有符合条件的户。", "No household matches.")}})
}

func (h *Handlers) pageHousehold(w http.ResponseWriter, r *http.Request) {
	hh, err := h.Store.GetHousehold(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	members, _, err := h.Store.ListResidents(r.Context(), ResidentFilter{Household: hh.ID}, web.MaxPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	grid := ""
	if hh.GridID != "" {
		g, err := h.Store.GetGrid(r.Context(), hh.GridID)
		if err != nil && !unreadable(err) {
			h.fail(w, r, err)
			return
		}
		if err == nil {
			grid = g.Code + " " + g.Name
		}
	}
	h.Pages.Render(w, r, 200, "household", web.View{Title: web.M("户："+hh.HouseholdNo, "Household "+hh.HouseholdNo), Notice: notices(r),
		Crumbs: crumbs(web.M(hh.HouseholdNo, hh.HouseholdNo), crumbHouseholds),
		Data: map[string]any{"H": hh, "Members": members, "GridName": grid, "CanWrite": canWrite(access.From(r.Context())),
			"RelationOf": relationMsg, "Empty": web.M("户内暂无居民。", "No members yet.")}})
}

func (h *Handlers) householdForm(w http.ResponseWriter, r *http.Request, id string, hh Household, we *fault.Error) {
	if !requireWriter(h, w, r) {
		return
	}
	p := access.From(r.Context())
	div := hh.Division
	if div == "" && divisions.LevelOf(p.Division) == 5 {
		div = p.Division
	}
	grids := []formOption{{"", web.M("（不分配网格）", "(no grid)")}}
	gs, _, err := h.Store.ListGrids(r.Context(), Filter{Division: div}, web.MaxPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, g := range gs {
		grids = append(grids, formOption{g.ID, web.M(g.Code+" "+g.Name, g.Code+" "+g.Name)})
	}
	fv := formView{Action: "/registry/households", Cancel: "/registry/households", Submit: web.M("保存", "Save")}
	title := web.M("新建户", "New household")
	if id != "" {
		fv.Action, fv.Cancel, title = "/registry/households/"+id+"/edit", "/registry/households/"+id, web.M("修改户信息", "Edit household")
	}
	divField := formField{Name: "division", Kind: "text", Value: val(r, "division", div), Label: web.M("村(社区)区划代码", "Village/community code"), Required: true, Max: 12, Inputmode: "numeric",
		Hint: web.M("12 位代码，须在您的管辖范围内", "12 digits, inside your jurisdiction")}
	if id != "" {
		divField.Hint = web.M("户不能改属其他社区", "a household cannot move to another community")
	}
	fv.Fields = []formField{
		divField,
		{Name: "household_no", Kind: "text", Value: val(r, "household_no", hh.HouseholdNo), Label: web.M("户编号", "Household number"), Required: true, Max: 40},
		{Name: "address", Kind: "text", Value: val(r, "address", hh.Address), Label: web.M("地址", "Address"), Required: true, Max: 200},
		{Name: "grid_id", Kind: "select", Value: val(r, "grid_id", hh.GridID), Label: web.M("网格", "Grid"), Options: grids},
		{Name: "note", Kind: "textarea", Value: val(r, "note", hh.Note), Label: web.M("备注", "Note")},
	}
	fv.Crumbs = crumbs(title, crumbHouseholds)
	h.renderForm(w, r, title, fv, we)
}

func (h *Handlers) postHousehold(w http.ResponseWriter, r *http.Request) {
	if !requireWriter(h, w, r) {
		return
	}
	in := HouseholdInput{Division: strings.TrimSpace(r.PostFormValue("division")), HouseholdNo: r.PostFormValue("household_no"),
		Address: r.PostFormValue("address"), GridID: r.PostFormValue("grid_id"), Note: strings.TrimSpace(r.PostFormValue("note"))}
	id := r.PathValue("id")
	var hh Household
	var err error
	if id == "" {
		hh, err = h.Store.CreateHousehold(r.Context(), in)
	} else {
		hh, err = h.Store.UpdateHousehold(r.Context(), id, in)
	}
	if we, ok := h.formErrors(err); ok {
		h.householdForm(w, r, id, Household{ID: id}, we)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/registry/households/"+hh.ID+"?saved=1", http.StatusSeeOther)
}

func (h *Handlers) confirmHousehold(w http.ResponseWriter, r *http.Request) {
	hh, err := h.Store.GetHousehold(r.Context(), r.PathValue("id"))
	if err == nil && !canWrite(access.From(r.Context())) {
		err = errNoWrite
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := web.M("确定删除户 "+hh.HouseholdNo+"？", "Delete household "+hh.HouseholdNo+"?")
	if hh.Members > 0 {
		q = web.M("户内还有 "+strconv.Itoa(hh.Members)+" 名居民，须先迁出或删除居民才能删除户。", "The household still has "+strconv.Itoa(hh.Members)+" residents; move or delete them before deleting it.")
	}
	h.Pages.Render(w, r, 200, "confirm", web.View{Title: web.M("删除户", "Delete household"), Data: confirmView{
		Action: "/registry/households/" + hh.ID + "/delete", Cancel: "/registry/households/" + hh.ID, Question: q,
		Facts: []fact{{web.M("户编号", "Household number"), hh.HouseholdNo}, {web.M("地址", "Address"), hh.Address}, {web.M("人数", "Members"), strconv.Itoa(hh.Members)}}}})
}

// Residents.

func relationOptions() []formOption {
	en := map[string]string{"户主": "Head", "配偶": "Spouse", "子女": "Child", "父母": "Parent", "祖父母": "Grandparent", "孙子女": "Grandchild", "兄弟姐妹": "Sibling", "其他": "Other"}
	var out []formOption
	for _, r := range relations {
		out = append(out, formOption{r, web.M(r, en[r])})
	}
	return out
}

func (h *Handlers) residentForm(w http.ResponseWriter, r *http.Request, id string, res Resident, we *fault.Error) {
	if !requireWriter(h, w, r) {
		return
	}
	fv := formView{Action: "/registry/residents", Submit: web.M("保存", "Save"), Cancel: "/registry/households/" + res.HouseholdID}
	title := web.M("添加居民", "New resident")
	keep := web.Msg{}
	idHint := web.M("18 位公民身份号码，出生日期和性别由号码推出", "18-character ID number; birth date and gender are derived from it")
	if id != "" {
		fv.Action, fv.Cancel, title = "/registry/residents/"+id+"/edit", "/registry/residents/"+id, web.M("修改居民信息", "Edit resident")
		fv.Intro = web.M("敏感字段不显示原值；留空表示不修改，填“-”表示清除。", "Sensitive fields do not show their stored values: leave one empty to keep it, or enter \"-\" to clear it.")
		keep = web.M("留空则不修改", "leave empty to keep")
		idHint = web.M("当前 "+res.IDNumber+"；留空则不修改", "now "+res.IDNumber+"; leave empty to keep")
	}
	fv.Fields = []formField{
		{Name: "household_id", Kind: "hidden", Value: val(r, "household_id", res.HouseholdID)},
		{Name: "name", Kind: "text", Value: val(r, "name", res.Name), Label: web.M("姓名", "Name"), Required: true, Max: 50},
		{Name: "id_number", Kind: "text", Value: val(r, "id_number", ""), Label: web.M("身份证号", "ID number"), Required: id == "", Max: 18, Hint: idHint, Placeholder: res.IDNumber},
		{Name: "relation", Kind: "select", Value: val(r, "relation", res.Relation), Label: web.M("与户主关系", "Relation to the head"), Options: relationOptions()},
		{Name: "residence", Kind: "select", Value: val(r, "residence", res.Residence), Label: web.M("户籍类型", "Residence type"), Options: []formOption{
			{"registered", web.M("户籍", "Registered")}, {"resident", web.M("常住", "Resident")}, {"floating", web.M("流动", "Floating")}}},
		{Name: "phone", Kind: "text", Value: val(r, "phone", ""), Label: web.M("手机号", "Phone"), Max: 20, Inputmode: "tel", Placeholder: res.Phone, Hint: keep},
		{Name: "health", Kind: "textarea", Value: val(r, "health", ""), Label: web.M("健康状况（加密保存）", "Health (stored encrypted)"), Hint: keep},
		{Name: "disability", Kind: "textarea", Value: val(r, "disability", ""), Label: web.M("残疾情况（加密保存）", "Disability (stored encrypted)"), Hint: keep},
		{Name: "income", Kind: "text", Value: val(r, "income", ""), Label: web.M("收入（加密保存）", "Income (stored encrypted)"), Max: 100, Hint: keep},
	}
	if res.HouseholdID == "" && id == "" {
		// Choose among the households in scope; past a page of them, the
		// household's own page ("Add a resident") is the way in.
		hhs, total, err := h.Store.ListHouseholds(r.Context(), HouseholdFilter{}, web.MaxPageSize)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		fv.Fields[0] = formField{Name: "household_id", Kind: "text", Value: val(r, "household_id", ""), Label: web.M("户 ID", "Household ID"), Required: true,
			Hint: web.M("请从户页面点“添加居民”进入", "open \"Add a resident\" from the household's page")}
		if len(hhs) > 0 && total <= len(hhs) {
			opts := []formOption{{"", web.M("（请选择）", "(choose one)")}}
			for _, hh := range hhs {
				opts = append(opts, formOption{hh.ID, web.M(hh.HouseholdNo+" "+hh.Address, hh.HouseholdNo+" "+hh.Address)})
			}
			fv.Fields[0] = formField{Name: "household_id", Kind: "select", Value: val(r, "household_id", ""), Label: web.M("所在户", "Household"), Required: true,
				Options: opts, Hint: web.M("您管辖范围内的户", "the households in your jurisdiction")}
		}
		fv.Cancel = "/registry/households"
	}
	fv.Crumbs = crumbs(title, crumbHouseholds)
	h.renderForm(w, r, title, fv, we)
}

// sensitive reads an optional sensitive field of a form: on create an
// empty value is none; on edit empty keeps the stored value and "-" clears.
func sensitive(r *http.Request, name string, editing bool) *string {
	v := strings.TrimSpace(r.PostFormValue(name))
	switch {
	case editing && v == "":
		return nil
	case v == "-":
		v = ""
	}
	return &v
}

func (h *Handlers) postResident(w http.ResponseWriter, r *http.Request) {
	if !requireWriter(h, w, r) {
		return
	}
	id := r.PathValue("id")
	editing := id != ""
	in := ResidentInput{HouseholdID: strings.TrimSpace(r.PostFormValue("household_id")), Name: r.PostFormValue("name"),
		IDNumber: strings.ToUpper(strings.TrimSpace(r.PostFormValue("id_number"))), Relation: r.PostFormValue("relation"), Residence: r.PostFormValue("residence"),
		Phone: sensitive(r, "phone", editing), Health: sensitive(r, "health", editing), Disability: sensitive(r, "disability", editing), Income: sensitive(r, "income", editing)}
	var res Resident
	var err error
	if editing {
		res, err = h.Store.UpdateResident(r.Context(), id, in)
	} else {
		res, err = h.Store.CreateResident(r.Context(), in)
	}
	if we, ok := h.formErrors(err); ok {
		cur := Resident{ID: id, HouseholdID: in.HouseholdID}
		if editing {
			if cur, err = h.Store.GetResident(r.Context(), id); err != nil {
				h.fail(w, r, err)
				return
			}
		}
		h.residentForm(w, r, id, cur, we)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/registry/residents/"+res.ID+"?saved=1", http.StatusSeeOther)
}

func (h *Handlers) confirmResident(w http.ResponseWriter, r *http.Request) {
	res, err := h.Store.GetResident(r.Context(), r.PathValue("id"))
	if err == nil && !canWrite(access.From(r.Context())) {
		err = errNoWrite
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, r, 200, "confirm", web.View{Title: web.M("删除居民", "Delete resident"), Data: confirmView{
		Action: "/registry/residents/" + res.ID + "/delete", Cancel: "/registry/residents/" + res.ID,
		Question: web.M("确定删除居民 "+res.Name+"？其服务对象标签一并删除。", "Delete resident "+res.Name+"? Their service-object tags go too."),
		Facts:    []fact{{web.M("姓名", "Name"), res.Name}, {web.M("身份证号", "ID number"), res.IDNumber}, {web.M("区划", "Division"), res.Division}}}})
}

// Facilities.

func (h *Handlers) facilityForm(w http.ResponseWriter, r *http.Request, id string, f Facility, we *fault.Error) {
	if !requireWriter(h, w, r) {
		return
	}
	p := access.From(r.Context())
	div := f.Division
	if div == "" && divisions.LevelOf(p.Division) == 5 {
		div = p.Division
	}
	cats, err := h.Store.Categories(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var opts []formOption
	for _, c := range cats {
		opts = append(opts, formOption{c.Key, web.M(c.NameZH, c.NameEN)})
	}
	fv := formView{Action: "/registry/facilities", Cancel: "/registry/facilities", Submit: web.M("保存", "Save")}
	title := web.M("新建设施", "New facility")
	if id != "" {
		fv.Action, title = "/registry/facilities/"+id+"/edit", web.M("修改设施", "Edit facility")
	}
	coord := func(v float64) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	var caps []string
	for k, v := range f.Capacities {
		caps = append(caps, k+"="+strconv.FormatFloat(v, 'f', -1, 64))
	}
	fv.Fields = []formField{
		{Name: "division", Kind: "text", Value: val(r, "division", div), Label: web.M("村(社区)区划代码", "Village/community code"), Required: true, Max: 12, Inputmode: "numeric"},
		{Name: "code", Kind: "text", Value: val(r, "code", f.Code), Label: web.M("设施编码", "Facility code"), Required: true, Max: 40},
		{Name: "name", Kind: "text", Value: val(r, "name", f.Name), Label: web.M("名称", "Name"), Required: true, Max: 100},
		{Name: "category", Kind: "select", Value: val(r, "category", f.Category), Label: web.M("类别", "Category"), Options: opts},
		{Name: "address", Kind: "text", Value: val(r, "address", f.Address), Label: web.M("地址", "Address"), Max: 200},
		{Name: "lon", Kind: "text", Value: val(r, "lon", coord(f.Lon)), Label: web.M("经度 (WGS-84)", "Longitude (WGS-84)"), Required: true, Inputmode: "decimal", Hint: web.M("浙江省范围 118.0–123.3", "in Zhejiang: 118.0–123.3")},
		{Name: "lat", Kind: "text", Value: val(r, "lat", coord(f.Lat)), Label: web.M("纬度 (WGS-84)", "Latitude (WGS-84)"), Required: true, Inputmode: "decimal", Hint: web.M("浙江省范围 27.0–31.3", "in Zhejiang: 27.0–31.3")},
		{Name: "floor_area_m2", Kind: "text", Value: val(r, "floor_area_m2", coord(f.FloorArea)), Label: web.M("建筑面积（平方米）", "Floor area (m²)"), Inputmode: "decimal"},
		{Name: "capacities", Kind: "text", Value: val(r, "capacities", strings.Join(caps, ";")), Label: web.M("容量", "Capacities"), Hint: web.M("如 beds=30;meals_per_day=120", "e.g. beds=30;meals_per_day=120")},
		{Name: "opening_hours", Kind: "text", Value: val(r, "opening_hours", f.OpeningHours), Label: web.M("开放时间", "Opening hours"), Max: 100},
		{Name: "status", Kind: "select", Value: val(r, "status", f.Status), Label: web.M("状态", "Status"), Options: []formOption{
			{"open", web.M("运营中", "Open")}, {"building", web.M("建设中", "Being built")}, {"closed", web.M("已停用", "Closed")}}},
	}
	fv.Crumbs = crumbs(title, crumbFacilities)
	h.renderForm(w, r, title, fv, we)
}

// number parses a decimal form field, naming it when it is not a number.
func number(r *http.Request, name string, errs *[]fault.FieldError) float64 {
	s := strings.TrimSpace(r.PostFormValue(name))
	if s == "" {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		*errs = append(*errs, fault.Field(name, web.M("须为数字", "must be a number")))
	}
	return v
}

func (h *Handlers) postFacility(w http.ResponseWriter, r *http.Request) {
	if !requireWriter(h, w, r) {
		return
	}
	id := r.PathValue("id")
	var errs []fault.FieldError
	in := FacilityInput{Division: strings.TrimSpace(r.PostFormValue("division")), Code: r.PostFormValue("code"), Name: r.PostFormValue("name"),
		Category: r.PostFormValue("category"), Address: strings.TrimSpace(r.PostFormValue("address")),
		Lon: number(r, "lon", &errs), Lat: number(r, "lat", &errs), FloorArea: number(r, "floor_area_m2", &errs),
		OpeningHours: strings.TrimSpace(r.PostFormValue("opening_hours")), Status: r.PostFormValue("status"), Capacities: map[string]float64{}}
	for _, kv := range strings.FieldsFunc(r.PostFormValue("capacities"), func(c rune) bool { return c == ';' || c == '；' || c == ',' }) {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err != nil || strings.TrimSpace(k) == "" {
			errs = append(errs, fault.Field("capacities", web.M("容量格式为 名称=数量，用分号分隔", "write capacities as name=number separated by semicolons")))
			break
		}
		in.Capacities[strings.TrimSpace(k)] = n
	}
	var f Facility
	var err error
	switch {
	case len(errs) > 0:
		err = fault.Invalid(web.M("设施信息有误", "the facility has errors"), errs...)
	case id == "":
		f, err = h.Store.CreateFacility(r.Context(), in)
	default:
		f, err = h.Store.UpdateFacility(r.Context(), id, in)
	}
	if we, ok := h.formErrors(err); ok {
		h.facilityForm(w, r, id, Facility{ID: id}, we)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/registry/facilities?saved=1&q="+url.QueryEscape(f.Name), http.StatusSeeOther)
}

func (h *Handlers) confirmFacility(w http.ResponseWriter, r *http.Request) {
	f, err := h.Store.GetFacility(r.Context(), r.PathValue("id"))
	if err == nil && !canWrite(access.From(r.Context())) {
		err = errNoWrite
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, r, 200, "confirm", web.View{Title: web.M("删除设施", "Delete facility"), Data: confirmView{
		Action: "/registry/facilities/" + f.ID + "/delete", Cancel: "/registry/facilities",
		Question: web.M("确定删除设施 "+f.Name+"？", "Delete facility "+f.Name+"?"),
		Facts:    []fact{{web.M("设施编码", "Code"), f.Code}, {web.M("名称", "Name"), f.Name}, {web.M("地址", "Address"), f.Address}}}})
}
