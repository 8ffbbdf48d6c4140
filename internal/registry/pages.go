package registry

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// ParsePages prepares the registry pages.
func ParsePages(rd *web.Renderer) *web.Pages { return rd.Parse(templates, "templates/*.html") }

// RegisterPages adds the worker and resident pages.
func (h *Handlers) RegisterPages(rt *web.Router) {
	rt.Page("GET /registry/residents", h.pageResidents)
	rt.Page("GET /registry/residents/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageResident(w, r, web.View{}, "") })
	rt.Page("POST /registry/residents/{id}/reveal", h.postReveal)
	rt.Page("GET /registry/my-grid", h.pageMyGrid)
	rt.Page("GET /registry/facilities", h.pageFacilities)
	rt.Page("GET /registry/tags", h.pageTags)
	rt.Page("GET /registry/me", h.pageMe)
	h.registerImportPages(rt)
	h.registerEditPages(rt)
	h.registerOrgPages(rt)
}

type residentsView struct {
	Q, Tag   string
	Tags     []TagKind
	TagName  map[string]string
	Items    []Resident
	Searched bool
	Export   ExportLinks
	// Total residents match, exactly unless Capped: more than CountCap
	// match ("1000+").
	Total  int
	Capped bool
	TagMsg map[string]web.Msg
	Empty  web.Msg
	// First and Next link the first and the following page ("" for none).
	First, Next string
}

// TagsOf are a listed resident's current service-object tags.
func (v residentsView) TagsOf(r Resident) []web.Tag { return serviceTags(r.Tags, v.TagMsg, true) }

// PagerView is the kit's keyset pager: past the count cap the total reads
// "1,000+".
func (v residentsView) PagerView() web.Pager {
	return keyset.Pager(v.First, v.Next, v.Total, v.Capped, CountCap)
}

// listPager is the kit's pager of a scoped list's page.
func listPager[T any](r *http.Request, cursor string, p Page[T]) web.Pager {
	first, next := keyset.Links(r, cursor, p.Next)
	return keyset.Pager(first, next, p.Total, p.Capped, CountCap)
}

// tagNames is the tag catalogue and each tag's name in the page's language.
func (h *Handlers) tagNames(r *http.Request) ([]TagKind, map[string]string, error) {
	ks, err := h.Store.TagKinds(r.Context())
	if err != nil {
		return nil, nil, err
	}
	m := map[string]string{}
	for _, k := range ks {
		if web.Lang(r) == "en" {
			m[k.Key] = k.NameEN
		} else {
			m[k.Key] = k.NameZH
		}
	}
	return ks, m, nil
}

func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	var we *fault.Error
	if errors.As(err, &we) {
		h.Pages.Render(w, r, web.Status(we), "message", web.View{Title: web.M("无法完成", "Cannot do that"), Alert: we.Msg})
		return
	}
	web.Logger(r.Context()).Error("registry page", "err", err.Error())
	h.Pages.Render(w, r, 500, "message", web.View{Title: web.M("出错了", "Error"), Alert: web.M("服务器内部错误，请稍后重试", "internal server error, please try again later")})
}

func (h *Handlers) pageResidents(w http.ResponseWriter, r *http.Request) {
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := residentFilter(r)
	v := residentsView{Q: f.Q, Tag: f.Tag, Searched: true, Export: exportLinks("residents", r, "q", "tag", "division"),
		Empty: web.M("没有符合条件的居民。可换一个姓名、证件号或手机号再查。", "No resident matches. Try another name, ID number or phone.")}
	if v.Tags, v.TagName, err = h.tagNames(r); err != nil {
		h.fail(w, r, err)
		return
	}
	v.TagMsg = tagMsgs(v.Tags)
	cursor := r.URL.Query().Get("cursor")
	page, err := h.Store.PageResidents(r.Context(), f, cursor, pg.PageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Items, v.Total, v.Capped = page.Items, page.Total, page.Capped
	v.First, v.Next = keyset.Links(r, cursor, page.Next)
	h.Pages.Render(w, r, 200, "residents", web.View{Title: web.M("居民查询", "Residents"), Data: v})
}

type residentView struct {
	R        Resident
	TagName  map[string]string
	Revealed string
	Field    string
	CanSee   map[string]bool
	Self     bool
	CanWrite bool
	// The view in words: tags, relation and residence in both languages,
	// and the fields this reader may reveal, in a fixed order.
	Tags                []web.Tag
	Relation, Residence web.Msg
	Fields              []formOption
}

func (h *Handlers) pageResident(w http.ResponseWriter, r *http.Request, v web.View, field string) {
	res, err := h.Store.GetResident(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := access.From(r.Context())
	rv := residentView{R: res, Field: field, CanSee: map[string]bool{}, Self: p.Role == access.Resident, CanWrite: canWrite(p)}
	if v.Notice.ZH == "" && r.Method == http.MethodGet {
		v.Notice = notices(r)
	}
	if _, rv.TagName, err = h.tagNames(r); err != nil {
		h.fail(w, r, err)
		return
	}
	for f := range revealable {
		rv.CanSee[f] = canReveal(p, f) || rv.Self
	}
	for _, f := range revealOrder {
		if rv.CanSee[f] {
			rv.Fields = append(rv.Fields, formOption{f, fieldNames[f]})
		}
	}
	kinds, err := h.Store.TagKinds(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rv.Tags, rv.Relation, rv.Residence = serviceTags(res.Tags, tagMsgs(kinds), false), relationMsg(res.Relation), residenceMsg(res.Residence)
	if d, ok := v.Data.(string); ok {
		rv.Revealed = d
	}
	v.Data = rv
	v.Title = web.M("居民档案："+res.Name, "Resident: "+res.Name)
	if rv.Self {
		v.Title = web.M("我的登记信息", "My record")
	} else {
		v.Crumbs = crumbs(web.M(res.Name, res.Name), crumbResidents, web.Crumb{Href: "/registry/households/" + res.HouseholdID, Label: web.M("所在户", "Household")})
	}
	status := 200
	if len(v.Errors) > 0 {
		status = 400
	}
	h.Pages.Render(w, r, status, "resident", v)
}

// revealOrder is the order of the revealable fields on the record page.
var revealOrder = []string{"id_number", "phone", "health", "disability", "income"}

var fieldNames = map[string]web.Msg{
	"id_number": web.M("身份证号", "ID number"), "phone": web.M("手机号", "Phone"), "health": web.M("健康状况", "Health"),
	"disability": web.M("残疾情况", "Disability"), "income": web.M("收入", "Income"),
}

func (h *Handlers) postReveal(w http.ResponseWriter, r *http.Request) {
	field, reason := r.PostFormValue("field"), r.PostFormValue("reason")
	val, err := h.Store.Reveal(r.Context(), r.PathValue("id"), field, reason)
	var we *fault.Error
	if errors.As(err, &we) && web.Status(we) == http.StatusBadRequest {
		h.pageResident(w, r, web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm}, "")
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	if val == "" {
		val = web.M("（空）", "(empty)").In(web.Lang(r))
	}
	w.Header().Set("Cache-Control", "no-store")
	name := fieldNames[field]
	h.pageResident(w, r, web.View{Data: val, Notice: web.M("已显示完整"+name.ZH+"，本次查看已记入审计日志", "full "+name.EN+" shown; this reveal is in the audit log")}, field)
}

// myGridView is a grid worker's page: their grids, a page of their tagged
// residents read by key, and the first of their households.
type myGridView struct {
	Grids  []Grid
	Tagged []Resident
	Pager  web.Pager
	// Households are the first myGridHouseholds of the worker's grids;
	// AllHouseholds says there are more, on the households list.
	Households    []Household
	AllHouseholds bool
}

// myGridHouseholds is how many households the page shows before it links
// to the households list, which pages them all.
const myGridHouseholds = 20

func (h *Handlers) pageMyGrid(w http.ResponseWriter, r *http.Request) {
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	var v myGridView
	if v.Grids, err = h.Store.MyGrids(ctx); err != nil {
		h.fail(w, r, err)
		return
	}
	// A grid worker's lists hold the households of their grids only (the
	// scope's narrowing); anyone else has no grid here and no list.
	if len(v.Grids) > 0 {
		cursor := r.URL.Query().Get("cursor")
		tagged, err := h.Store.PageResidents(ctx, ResidentFilter{Tagged: true}, cursor, pg.PageSize)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		first, next := keyset.Links(r, cursor, tagged.Next)
		v.Tagged, v.Pager = tagged.Items, keyset.Pager(first, next, tagged.Total, tagged.Capped, CountCap)
		hs, err := h.Store.PageHouseholds(ctx, HouseholdFilter{}, "", myGridHouseholds)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v.Households, v.AllHouseholds = hs.Items, hs.Next != ""
	}
	kinds, names, err := h.tagNames(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	msgs := tagMsgs(kinds)
	h.Pages.Render(w, r, 200, "mygrid", web.View{Title: web.M("我的网格", "My grid"), Data: map[string]any{"V": v, "TagName": names,
		"TagsOf":       func(refs []TagRef) []web.Tag { return serviceTags(refs, msgs, true) },
		"NoGrid":       web.M("您还没有被分配网格，请联系社区。", "You have no grid assigned yet; ask your community."),
		"NoTagged":     web.M("网格内没有服务对象。", "No tagged resident in your grids."),
		"NoHouseholds": web.M("网格内暂无户。", "No household in your grids yet.")}})
}

func (h *Handlers) pageFacilities(w http.ResponseWriter, r *http.Request) {
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := Filter{Division: q.Get("division"), Category: q.Get("category"), Q: q.Get("q")}
	cursor := q.Get("cursor")
	page, err := h.Store.PageFacilities(r.Context(), f, cursor, pg.PageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The map is drawn only over a list (a search that matches nothing
	// has counted once and stops there).
	var m FacilityMap
	if len(page.Items) > 0 {
		if m, err = h.Store.MapFacilities(r.Context(), f); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	cats, err := h.Store.Categories(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names := map[string]string{}
	for _, c := range cats {
		names[c.Key] = c.NameZH
		if web.Lang(r) == "en" {
			names[c.Key] = c.NameEN
		}
	}
	h.Pages.Render(w, r, 200, "facilities", web.View{Title: web.M("服务设施", "Facilities"), Notice: notices(r),
		Data: map[string]any{"Items": page.Items, "Pager": listPager(r, cursor, page), "Cats": cats, "CatName": names, "F": f, "Map": m,
			"CanWrite": canWrite(access.From(r.Context())), "Export": exportLinks("facilities", r, "q", "category", "division"),
			"StatusOf": facilityStatus, "Empty": web.M("没有符合条件的设施。", "No facility matches.")}})
}

// ExportLinks are a list page's download links for its current filter.
type ExportLinks struct{ XLSX, CSV template.URL }

func exportLinks(kind string, r *http.Request, params ...string) ExportLinks {
	v := url.Values{"kind": {kind}}
	for _, p := range params {
		if x := r.URL.Query().Get(p); x != "" {
			v.Set(p, x)
		}
	}
	link := func(format string) template.URL {
		v.Set("format", format)
		return template.URL("/registry/export?" + v.Encode())
	}
	return ExportLinks{XLSX: link("xlsx"), CSV: link("csv")}
}

func (h *Handlers) pageTags(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("division")
	if code == "" {
		code = access.From(r.Context()).Division
	}
	sum, err := h.Store.Summary(r.Context(), code, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	kinds, names, err := h.tagNames(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	anyTag := false
	for _, t := range sum.Totals {
		anyTag = anyTag || t.Count > 0
	}
	h.Pages.Render(w, r, 200, "tags", web.View{Title: web.M("服务对象统计", "Service-object counts"), Data: map[string]any{"S": sum, "Kinds": kinds, "TagName": names,
		"Any": anyTag, "Empty": web.M("这一范围内暂无有效的服务对象标签。", "No current service-object tag in this area.")}})
}

func (h *Handlers) pageMe(w http.ResponseWriter, r *http.Request) {
	items, _, err := h.Store.ListResidents(r.Context(), ResidentFilter{}, 1)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(items) == 0 {
		h.Pages.Render(w, r, 404, "message", web.View{Title: web.M("我的登记信息", "My record"), Alert: web.M("登记库中没有与您账号关联的记录，请联系社区", "no registry record is linked to your account; please contact your community")})
		return
	}
	r.SetPathValue("id", items[0].ID)
	h.pageResident(w, r, web.View{}, "")
}
