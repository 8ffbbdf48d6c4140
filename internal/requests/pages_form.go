package requests

import (
	"net/http"
	"net/url"

	"linli/internal/access"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/questions"
	"linli/internal/web"
)

// splitPair reads a catalogue name written in both languages ("道路 /
// street") as its two halves (see questions.SplitPair).
func splitPair(s string) (zh, en string) { return questions.SplitPair(s) }

// GroupLabel is the category's group in both languages.
func (c Category) GroupLabel() web.Msg { return web.M(splitPair(c.Group)) }

// DetailsLegend heads the category's own questions ("环境卫生：补充信息",
// "Sanitation: more details").
func (c Category) DetailsLegend() web.Msg {
	return web.M(c.NameZH+"：补充信息", c.NameEN+": more details")
}

// attrField is the form field of a category's question.
func attrField(a Attribute) string { return a.FieldName("attribute") }

// catGroup is a group of categories on the choice page.
type catGroup struct {
	Label web.Msg
	Cats  []Category
}

// newView is the request form: first the choice of category, then that
// category's questions only.
type newView struct {
	Groups      []catGroup // the choice page
	Cat         Category   // the form page: the chosen category
	Communities []divisions.Division
	Worker      bool
	Ref         string // what the request is raised from (visit:<id>)
}

// pageNew shows the choice of category, or the form of the category chosen
// (in the query, or in the submitted form being shown again).
func (h *Handlers) pageNew(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	p := access.From(r.Context())
	if p.Role != access.Resident && !isHandler(p) {
		h.fail(w, r, fault.Forbidden(web.M("该角色不能提交诉求", "this role cannot submit requests")))
		return
	}
	cats, err := h.Store.Categories(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	nv := newView{Worker: isHandler(p), Ref: r.URL.Query().Get("ref")}
	v.Crumbs = []web.Crumb{{Href: "/requests", Label: web.M("民呼我为", "Requests")}, {Label: web.M("提交诉求", "Submit a request")}}
	code := r.URL.Query().Get("category")
	if v.Form != nil {
		code = v.Form.Get("category")
	}
	for _, c := range cats {
		if c.Code == code {
			nv.Cat = c
		}
	}
	if nv.Cat.Code == "" {
		// One question per page: which kind of matter is it?
		at := map[web.Msg]int{} // groups in the order they first appear
		for _, c := range cats {
			g := c.GroupLabel()
			i, ok := at[g]
			if !ok {
				i = len(nv.Groups)
				at[g] = i
				nv.Groups = append(nv.Groups, catGroup{Label: g})
			}
			nv.Groups[i].Cats = append(nv.Groups[i].Cats, c)
		}
		if code != "" || r.URL.Query().Has("category") {
			status = 400
			v.Errors = append(v.Errors, fault.Field("category", web.M("请选择要反映的问题类别", "choose the kind of matter")))
		}
		v.Title = web.M("您要反映哪一类问题？", "What is the matter about?")
		v.Data = nv
		h.Pages.Render(w, r, status, "new-category", v)
		return
	}
	if nv.Communities, err = h.communities(r.Context(), p.Division); err != nil {
		h.fail(w, r, err)
		return
	}
	v.Title = web.M("提交诉求："+nv.Cat.NameZH, "Submit a request: "+nv.Cat.NameEN)
	v.Data = nv
	if v.Form == nil {
		v.Form = url.Values{"division_code": {p.Division}, "category": {nv.Cat.Code}, "ref": {nv.Ref}}
	}
	h.Pages.Render(w, r, status, "new", v)
}

// Fields are the chosen category's questions ready for the kit's
// "question" partial.
func (v newView) Fields(form url.Values, errs []web.FieldError) []questions.Field {
	out := make([]questions.Field, len(v.Cat.Attributes))
	for i, a := range v.Cat.Attributes {
		out[i] = a.Field("attribute", form, errs)
	}
	return out
}
