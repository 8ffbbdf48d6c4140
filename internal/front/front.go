// Package front serves the platform's two front doors: the worker's 工作台
// (/work), one list of what needs the signed-in worker now across every
// module's work items, and the resident's 我的 (/me), their notices, what
// each module has to show them and every service they may use. Modules
// plug in through module.WorkSource and module.MineSource; this package
// knows none of them by name.
package front

import (
	"cmp"
	"context"
	"embed"
	"net/http"
	"slices"
	"strconv"
	"time"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/notices"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Source is one module's contribution, in the order of the module list.
type Source struct {
	Module string
	Work   module.WorkSource // nil: no work items
	Mine   module.MineSource // nil: nothing on 我的
}

// Handlers serve the front doors' pages and API.
type Handlers struct {
	Sources []Source
	Notices *notices.Service
	// Nav is the platform's navigation: 我的 lists the services in it the
	// resident may use.
	Nav    []web.NavItem
	Now    func() time.Time
	Pages  *web.Pages
	Refuse func(http.ResponseWriter, *http.Request, error)
}

// ParsePages reads the front doors' page templates.
func ParsePages(rd *web.Renderer) *web.Pages { return rd.Parse(templates, "templates/*.html") }

// Workers are the roles whose start page is the 工作台.
var Workers = []access.Role{access.GridWorker, access.CommunityWorker, access.Officer}

// IsWorker tells whether p starts at the 工作台.
func IsWorker(p *access.Principal) bool { return p != nil && slices.Contains(Workers, p.Role) }

// Nav are the front doors' menu entries: first in the header.
func Nav() []web.NavItem {
	return []web.NavItem{
		{Href: "/work", Label: web.M("工作台", "Workbench"), Primary: 1, Roles: Workers},
		{Href: "/me", Label: web.M("我的", "Mine"), Primary: 1, Roles: []access.Role{access.Resident}},
		{Href: "/me/notices", Label: web.M("消息", "Notices"), Group: web.NavAccount},
	}
}

// Register adds the pages and the API.
func (h *Handlers) Register(rt *web.Router) {
	rt.Page("GET /work", h.workPage)
	rt.Page("GET /me", h.mePage)
	rt.Page("GET /me/notices", h.noticesPage)
	rt.Page("POST /me/notices/{id}/open", h.openNotice)
	rt.Page("POST /me/notices/read-all", h.readAllPage)
	rt.API("GET /api/v1/workbench", web.Op{Summary: "工作台：需要我处理的事项（各模块汇总，按紧急程度排序） / Workbench: what needs me now across every module, most pressing first", Tag: "front",
		Response: Workbench{}, Params: []web.Param{{Name: "kind", Description: "only items of this kind, e.g. request.overdue"}, {Name: "overdue", Description: "1: only items past their due time"}}}, h.apiWorkbench)
	rt.API("GET /api/v1/me/notices", web.Op{Summary: "我的消息（未读在前）与未读数 / My notices (unread first) and the unread count", Tag: "front", Response: NoticeList{}}, h.apiNotices)
	rt.API("POST /api/v1/me/notices/{id}/read", web.Op{Summary: "将一条消息标为已读 / Mark one notice read", Tag: "front", Response: notices.Notice{}}, h.apiRead)
	rt.API("POST /api/v1/me/notices/read-all", web.Op{Summary: "将全部消息标为已读 / Mark all my notices read", Tag: "front", Response: ReadAll{}}, h.apiReadAll)
}

var errNotWorker = fault.Forbidden(fault.M("工作台供网格员、社区工作者和民政干部使用", "the workbench is for grid workers, community workers and officers"))

// perSource is how many items one module may put on a worker's list.
const perSource = 200

// Item is one work item as the API gives it.
type Item struct {
	Module   string     `json:"module"`
	Kind     string     `json:"kind"`
	KindName fault.Msg  `json:"kind_name"`
	Title    fault.Msg  `json:"title"`
	Whose    string     `json:"whose,omitempty"`
	Href     string     `json:"href"`
	Due      *time.Time `json:"due,omitempty"`
	Overdue  bool       `json:"overdue"`
	Urgent   bool       `json:"urgent"`
}

// KindCount is how many items of one kind wait.
type KindCount struct {
	Kind  string    `json:"kind"`
	Name  fault.Msg `json:"name"`
	Count int       `json:"count"`
}

// Workbench is a worker's list: counts per kind over everything, the
// items after the filters.
type Workbench struct {
	Items   []Item      `json:"items"`
	Counts  []KindCount `json:"counts"`
	Total   int         `json:"total"`   // every item, before the filters
	Overdue int         `json:"overdue"` // items past their due time
	// Partial names the modules whose items could not be read (the rest
	// are shown); Capped those that had more than the list holds.
	Partial []string `json:"partial,omitempty"`
	Capped  []string `json:"capped,omitempty"`
}

// Filter narrows the list.
type Filter struct {
	Kind    string
	Overdue bool
}

func filterOf(r *http.Request) Filter {
	q := r.URL.Query()
	return Filter{Kind: q.Get("kind"), Overdue: q.Get("overdue") == "1"}
}

// Work gathers the worker's items from every source, most pressing first
// (urgent, then past due, then by due time; no due time last), counts
// them per kind and applies f.
func (h *Handlers) Work(ctx context.Context, p *access.Principal, f Filter) Workbench {
	now := h.Now()
	var all []Item
	var wb Workbench
	for _, s := range h.Sources {
		if s.Work == nil {
			continue
		}
		items, err := s.Work.Work(ctx, p, perSource)
		if err != nil {
			web.Logger(ctx).Error("work items", "module", s.Module, "err", err.Error())
			wb.Partial = append(wb.Partial, s.Module)
			continue
		}
		if len(items) >= perSource {
			wb.Capped = append(wb.Capped, s.Module)
		}
		for _, it := range items {
			x := Item{Module: cmp.Or(it.Module, s.Module), Kind: it.Kind, KindName: it.KindName, Title: it.Title, Whose: it.Whose, Href: it.Href, Urgent: it.Urgent}
			if x.KindName.ZH == "" {
				x.KindName = fault.M(it.Kind, it.Kind)
			}
			if !it.Due.IsZero() {
				due := it.Due
				x.Due, x.Overdue = &due, !now.Before(due)
			}
			all = append(all, x)
		}
	}
	slices.SortStableFunc(all, func(a, b Item) int {
		if c := cmp.Compare(rank(b), rank(a)); c != 0 {
			return c
		}
		switch {
		case a.Due == nil && b.Due == nil:
			return 0
		case a.Due == nil:
			return 1
		case b.Due == nil:
			return -1
		}
		return a.Due.Compare(*b.Due)
	})
	wb.Items = []Item{}
	for _, it := range all {
		i := slices.IndexFunc(wb.Counts, func(k KindCount) bool { return k.Kind == it.Kind })
		if i < 0 {
			wb.Counts = append(wb.Counts, KindCount{Kind: it.Kind, Name: it.KindName})
			i = len(wb.Counts) - 1
		}
		wb.Counts[i].Count++
		if it.Overdue {
			wb.Overdue++
		}
		if (f.Kind == "" || it.Kind == f.Kind) && (!f.Overdue || it.Overdue) {
			wb.Items = append(wb.Items, it)
		}
	}
	if wb.Counts == nil {
		wb.Counts = []KindCount{}
	}
	wb.Total = len(all)
	return wb
}

func rank(it Item) int {
	r := 0
	if it.Urgent {
		r += 2
	}
	if it.Overdue {
		r++
	}
	return r
}

func (h *Handlers) apiWorkbench(w http.ResponseWriter, r *http.Request) error {
	p := access.From(r.Context())
	if !IsWorker(p) {
		return errNotWorker
	}
	web.WriteJSON(w, http.StatusOK, h.Work(r.Context(), p, filterOf(r)))
	return nil
}

// workView is the 工作台 page.
type workView struct {
	Workbench
	F         Filter
	Items     []Item // this page of the filtered items
	Pager     web.Pager
	AllHref   string
	Toggle    string // the overdue filter's link
	KindLinks []kindLink
	Empty     fault.Msg
}

type kindLink struct {
	KindCount
	Href    string
	Current bool
}

func workHref(kind string, overdue bool) string {
	q := ""
	if kind != "" {
		q += "kind=" + kind
	}
	if overdue {
		if q != "" {
			q += "&"
		}
		q += "overdue=1"
	}
	if q == "" {
		return "/work"
	}
	return "/work?" + q
}

const workPageSize = 30

func (h *Handlers) workPage(w http.ResponseWriter, r *http.Request) {
	p := access.From(r.Context())
	if !IsWorker(p) {
		h.Refuse(w, r, errNotWorker)
		return
	}
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.Refuse(w, r, err)
		return
	}
	pg.PageSize = workPageSize
	f := filterOf(r)
	wb := h.Work(r.Context(), p, f)
	v := workView{Workbench: wb, F: f, AllHref: workHref("", f.Overdue), Toggle: workHref(f.Kind, !f.Overdue)}
	for _, k := range wb.Counts {
		v.KindLinks = append(v.KindLinks, kindLink{KindCount: k, Href: workHref(k.Kind, f.Overdue), Current: k.Kind == f.Kind})
	}
	from := min(pg.Offset(), len(wb.Items))
	v.Items = wb.Items[from:min(from+pg.PageSize, len(wb.Items))]
	v.Pager = web.NewPager(r, pg, len(wb.Items))
	switch {
	case wb.Total == 0:
		v.Empty = fault.M("眼下没有需要您处理的事项。新的诉求、到期的走访等会出现在这里。", "Nothing needs you right now. New requests, visits falling due and the like will show here.")
	default:
		v.Empty = fault.M("没有符合筛选条件的事项", "No items match the filter")
	}
	view := web.View{Title: web.M("工作台", "Workbench"), Data: v}
	if r.URL.Query().Get("changed") == "1" {
		view.Notice = web.M("密码已修改", "password changed")
	}
	if len(wb.Partial) > 0 {
		view.Alert = web.M("部分事项暂时无法读取，请稍后刷新", "Some items could not be read just now; reload in a moment")
	}
	h.Pages.Render(w, r, http.StatusOK, "work", view)
}

// meView is the 我的 page.
type meView struct {
	Notices   []notices.Notice
	NoNotices fault.Msg
	Unread    int
	More      bool
	Sections  []module.MineSection
	Services  []web.NavItem
}

var noNotices = fault.M("暂无消息。诉求受理、办结等进展会在这里告诉您。", "No notices yet. You are told here when your requests are accepted or answered.")

// meNotices is how many notices 我的 shows before linking to the list.
const meNotices = 5

func (h *Handlers) mePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := access.From(ctx)
	ns, unread, err := h.Notices.List(ctx, p.UserID, meNotices+1)
	if err != nil {
		h.Refuse(w, r, err)
		return
	}
	v := meView{Unread: unread, More: len(ns) > meNotices, NoNotices: noNotices}
	v.Notices = ns[:min(len(ns), meNotices)]
	view := web.View{Title: web.M("我的", "Mine"), Data: &v}
	for _, s := range h.Sources {
		if s.Mine == nil {
			continue
		}
		secs, err := s.Mine.Mine(ctx, p)
		if err != nil {
			web.Logger(ctx).Error("mine sections", "module", s.Module, "err", err.Error())
			view.Alert = web.M("部分内容暂时无法读取，请稍后刷新", "Some parts could not be read just now; reload in a moment")
			continue
		}
		v.Sections = append(v.Sections, secs...)
	}
	slices.SortStableFunc(v.Sections, func(a, b module.MineSection) int { return cmp.Compare(a.Order, b.Order) })
	for _, n := range h.Nav {
		if n.Href == "/me" || n.Href == "/me/notices" || n.Group == web.NavAccount || n.Group == web.NavAdmin {
			continue
		}
		if len(n.Roles) == 0 || slices.Contains(n.Roles, p.Role) {
			v.Services = append(v.Services, n)
		}
	}
	if r.URL.Query().Get("changed") == "1" {
		view.Notice = web.M("密码已修改", "password changed")
	}
	h.Pages.Render(w, r, http.StatusOK, "me", view)
}

// noticesView is the list of one's notices.
type noticesView struct {
	Notices   []notices.Notice
	NoNotices fault.Msg
	Unread    int
	Shown     int
}

// listLimit is how many notices the list shows.
const listLimit = 100

func (h *Handlers) noticesPage(w http.ResponseWriter, r *http.Request) {
	p := access.From(r.Context())
	ns, unread, err := h.Notices.List(r.Context(), p.UserID, listLimit)
	if err != nil {
		h.Refuse(w, r, err)
		return
	}
	view := web.View{Title: web.M("我的消息", "My notices"), Data: noticesView{NoNotices: noNotices, Notices: ns, Unread: unread, Shown: len(ns)},
		Crumbs: []web.Crumb{{Href: "/me", Label: web.M("我的", "Mine")}, {Label: web.M("我的消息", "My notices")}}}
	if n := r.URL.Query().Get("read"); n != "" {
		if k, err := strconv.Atoi(n); err == nil {
			view.Notice = web.M("已将 "+strconv.Itoa(k)+" 条消息标为已读", strconv.Itoa(k)+" notices marked read")
		}
	}
	h.Pages.Render(w, r, http.StatusOK, "notices", view)
}

// openNotice marks the notice read and leads to what it is about.
func (h *Handlers) openNotice(w http.ResponseWriter, r *http.Request) {
	p := access.From(r.Context())
	n, err := h.Notices.Open(r.Context(), p.UserID, r.PathValue("id"))
	if err != nil {
		h.Refuse(w, r, err)
		return
	}
	http.Redirect(w, r, web.SafeNext(n.Href, "/me/notices"), http.StatusSeeOther)
}

func (h *Handlers) readAllPage(w http.ResponseWriter, r *http.Request) {
	p := access.From(r.Context())
	k, err := h.Notices.ReadAll(r.Context(), p.UserID)
	if err != nil {
		h.Refuse(w, r, err)
		return
	}
	http.Redirect(w, r, "/me/notices?read="+strconv.Itoa(k), http.StatusSeeOther)
}

// NoticeList is one's notices as the API gives them.
type NoticeList struct {
	Items  []notices.Notice `json:"items"`
	Unread int              `json:"unread"`
}

// ReadAll says how many notices were marked read.
type ReadAll struct {
	Marked int `json:"marked"`
}

func (h *Handlers) apiNotices(w http.ResponseWriter, r *http.Request) error {
	p := access.From(r.Context())
	ns, unread, err := h.Notices.List(r.Context(), p.UserID, listLimit)
	if err != nil {
		return err
	}
	if ns == nil {
		ns = []notices.Notice{}
	}
	web.WriteJSON(w, http.StatusOK, NoticeList{Items: ns, Unread: unread})
	return nil
}

func (h *Handlers) apiRead(w http.ResponseWriter, r *http.Request) error {
	n, err := h.Notices.Open(r.Context(), access.From(r.Context()).UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, n)
	return nil
}

func (h *Handlers) apiReadAll(w http.ResponseWriter, r *http.Request) error {
	k, err := h.Notices.ReadAll(r.Context(), access.From(r.Context()).UserID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, ReadAll{Marked: k})
	return nil
}
