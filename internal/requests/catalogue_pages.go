package requests

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/web"
)

func (h *Handlers) registerCataloguePages(rt *web.Router) {
	rt.Page("GET /requests/catalogue", h.pageCatalogue)
	rt.Page("GET /requests/catalogue/new", func(w http.ResponseWriter, r *http.Request) {
		h.pageCategory(w, r, 200, "", web.View{Form: url.Values{"unit_level": {"5"}, "response_hours": {"8"}, "resolve_hours": {"72"}, "working_hours": {"1"}, "public": {"1"}}})
	})
	rt.Page("POST /requests/catalogue/new", h.postCategory)
	rt.Page("GET /requests/catalogue/{code}", func(w http.ResponseWriter, r *http.Request) {
		h.pageCategory(w, r, 200, r.PathValue("code"), web.View{})
	})
	rt.Page("POST /requests/catalogue/{code}", h.postCategory)
}

type catalogueView struct {
	Cats   []Category
	Manage bool
}

// LevelLabel names the category's handling level.
func (c Category) LevelLabel() web.Msg {
	switch c.UnitLevel {
	case 3:
		return web.M("区县", "County")
	case 4:
		return web.M("乡镇街道", "Township")
	}
	return web.M("社区村", "Community")
}

func (h *Handlers) pageCatalogue(w http.ResponseWriter, r *http.Request) {
	p := access.From(r.Context())
	if !isHandler(p) {
		h.fail(w, r, fault.Forbidden(web.M("只有社区工作者和民政干部可以查看服务目录", "only community workers and officers may view the service catalogue")))
		return
	}
	cats, err := h.Store.Categories(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := web.View{Title: web.M("诉求服务目录", "Request service catalogue"), Data: catalogueView{Cats: cats, Manage: CanManageCatalogue(p)}}
	if saved := r.URL.Query().Get("saved"); saved != "" {
		v.Notice = web.M("已保存服务类别 "+saved, "Saved service category "+saved)
	}
	h.Pages.Render(w, r, 200, "catalogue", v)
}

type categoryView struct {
	New  bool
	Code string
	Cat  Category
}

func categoryForm(c Category) url.Values {
	f := url.Values{"code": {c.Code}, "group": {c.Group}, "name_zh": {c.NameZH}, "name_en": {c.NameEN}, "description_zh": {c.DescZH}, "description_en": {c.DescEN},
		"unit_level": {strconv.Itoa(c.UnitLevel)}, "response_hours": {strconv.Itoa(c.ResponseHours)}, "resolve_hours": {strconv.Itoa(c.ResolveHours)},
		"reply_templates": {strings.Join(c.Templates, "\n")}}
	if c.WorkingHours {
		f.Set("working_hours", "1")
	}
	if c.Public {
		f.Set("public", "1")
	}
	return f
}

// pageCategory shows the form for a new category (code "") or for editing one.
func (h *Handlers) pageCategory(w http.ResponseWriter, r *http.Request, status int, code string, v web.View) {
	if !CanManageCatalogue(access.From(r.Context())) {
		h.fail(w, r, errCatalogueForbidden)
		return
	}
	cv := categoryView{New: code == "", Code: code}
	v.Title = web.M("新增服务类别", "Add a service category")
	if code != "" {
		c, err := h.Store.Category(r.Context(), code)
		if err != nil {
			h.fail(w, r, fault.NotFound(web.M("没有这个服务类别", "no such service category")))
			return
		}
		cv.Cat = c
		v.Title = web.M("修改服务类别："+c.NameZH, "Edit service category: "+c.NameEN)
		if v.Form == nil {
			v.Form = categoryForm(c)
		}
	}
	v.Crumbs = []web.Crumb{{Href: "/requests/catalogue", Label: web.M("诉求服务目录", "Request service catalogue")}, {Label: v.Title}}
	v.Data = cv
	h.Pages.Render(w, r, status, "category", v)
}

func (h *Handlers) postCategory(w http.ResponseWriter, r *http.Request) {
	if !CanManageCatalogue(access.From(r.Context())) {
		h.fail(w, r, errCatalogueForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	code := r.PathValue("code")
	num := func(k string) int {
		n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue(k)))
		if err != nil {
			return 0 // refused by the catalogue's rules, which name the field's range
		}
		return n
	}
	var tpl []string
	for _, line := range strings.Split(r.PostFormValue("reply_templates"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			tpl = append(tpl, line)
		}
	}
	if tpl == nil {
		tpl = []string{}
	}
	c := Category{Code: r.PostFormValue("code"), Group: r.PostFormValue("group"), NameZH: r.PostFormValue("name_zh"), NameEN: r.PostFormValue("name_en"),
		DescZH: r.PostFormValue("description_zh"), DescEN: r.PostFormValue("description_en"), UnitLevel: num("unit_level"),
		ResponseHours: num("response_hours"), ResolveHours: num("resolve_hours"), WorkingHours: r.PostFormValue("working_hours") == "1", Public: r.PostFormValue("public") == "1", Templates: tpl}
	isNew := r.URL.Path == "/requests/catalogue/new"
	var err error
	if isNew {
		code = ""
		if a := strings.TrimSpace(r.PostFormValue("attributes")); a != "" {
			if jerr := json.Unmarshal([]byte(a), &c.Attributes); jerr != nil {
				err = fault.Invalid(web.M("补充问题须为 JSON 数组", "the questions must be a JSON array"), fault.Field("attributes", web.M("JSON 格式无效", "invalid JSON")))
			}
		}
		if err == nil {
			c, err = h.Store.CreateCategory(r.Context(), c)
		}
	} else {
		c, err = h.Store.UpdateCategory(r.Context(), code, CategoryEdit{Group: &c.Group, NameZH: &c.NameZH, NameEN: &c.NameEN, DescZH: &c.DescZH, DescEN: &c.DescEN,
			ResponseHours: &c.ResponseHours, ResolveHours: &c.ResolveHours, WorkingHours: &c.WorkingHours, Public: &c.Public, Templates: &tpl})
	}
	if err != nil {
		var we *fault.Error
		if errors.As(err, &we) && web.Status(we) != http.StatusForbidden && web.Status(we) != http.StatusNotFound {
			h.pageCategory(w, r, web.Status(we), code, web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/requests/catalogue?saved="+url.QueryEscape(c.Code), http.StatusSeeOther)
}
