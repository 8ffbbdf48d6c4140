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

// perSource is how many items one module may put on a worker's list;
// the page shows them 30 at a time and reads only as many as the page
// needs.
const perSource = 200

// CountBound caps the 工作台's counts: exact up to it, "1,000+" beyond.
// A worker with more to do needs the module's own list, not a number.
const CountBound = 1000

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
	// More: more than Count wait; the count stopped at its bound.
	More bool `json:"more,omitempty"`
}

// Text is the count as shown: "1,000+" past the bound.
func (k KindCount) Text() string { return countText(k.Count, k.More) }

func countText(n int, more bool) string {
	if more {
		return web.Group(n) + "+"
	}
	return web.Group(n)
}

// Workbench is a worker's list: counts per kind over everything, the
// items after the filters. Counts stop at CountBound.
type Workbench struct {
	Items       []Item      `json:"items"`
	Counts      []KindCount `json:"counts"`
	Total       int         `json:"total"` // every item, before the filters
	TotalMore   bool        `json:"total_more,omitempty"`
	Overdue     int         `json:"overdue"` // items past their due time
	OverdueMore bool        `json:"overdue_more,omitempty"`
	// Partial names the modules whose items could not be read (the rest
	// are shown); Capped those that had more than the list holds.
	Partial []string `json:"partial,omitempty"`
	Capped  []string `json:"capped,omitempty"`
	// full: some module gave as many items as asked, so more may pass
	// the filters than Items holds.
	full bool
}

// TotalText and OverdueText are the counts as shown.
func (w Workbench) TotalText() string   { return countText(w.Total, w.TotalMore) }
func (w Workbench) OverdueText() string { return countText(w.Overdue, w.OverdueMore) }

// Filter narrows the list.
type Filter struct {
	Kind    string
	Overdue bool
}

func filterOf(r *http.Request) Filter {
	q := r.URL.Query()
	return Filter{Kind: q.Get("kind"), Overdue: q.Get("overdue") == "1"}
}

func (f Filter) keeps(it Item) bool {
	return (f.Kind == "" || it.Kind == f.Kind) && (!f.Overdue || it.Overdue)
}

// Work gathers the worker's items from every source, at most limit of
// each after the filters, most pressing first (urgent, then past due,
// then by due time; no due time last), with the counts per kind of
// everything. A module.WorkBoarder reads its own counts and filtered
// items in a few bounded queries; a plain source's items are read in
// full (up to perSource), counted and filtered here.
func (h *Handlers) Work(ctx context.Context, p *access.Principal, f Filter, limit int) Workbench {
	now := h.Now()
	var wb Workbench
	all := []Item{}
	count := func(kind string, name fault.Msg, n int, more bool) {
		if name.ZH == "" {
			name = fault.M(kind, kind)
		}
		i := slices.IndexFunc(wb.Counts, func(k KindCount) bool { return k.Kind == kind })
		if i < 0 {
			wb.Counts = append(wb.Counts, KindCount{Kind: kind, Name: name})
			i = len(wb.Counts) - 1
		}
		c := &wb.Counts[i]
		c.Count, c.More = bounded(c.Count+n, c.More || more)
	}
	overdue := func(n int, more bool) { wb.Overdue, wb.OverdueMore = bounded(wb.Overdue+n, wb.OverdueMore || more) }
	item := func(module string, it module.WorkItem) Item {
		x := Item{Module: cmp.Or(it.Module, module), Kind: it.Kind, KindName: it.KindName, Title: it.Title, Whose: it.Whose, Href: it.Href, Urgent: it.Urgent}
		if x.KindName.ZH == "" {
			x.KindName = fault.M(it.Kind, it.Kind)
		}
		if !it.Due.IsZero() {
			due := it.Due
			x.Due, x.Overdue = &due, !now.Before(due)
		}
		return x
	}
	for _, s := range h.Sources {
		if s.Work == nil {
			continue
		}
		if b, ok := s.Work.(module.WorkBoarder); ok {
			board, err := b.WorkBoard(ctx, p, module.WorkQuery{Kind: f.Kind, Overdue: f.Overdue, Limit: limit, Bound: CountBound})
			if err != nil {
				web.Logger(ctx).Error("work items", "module", s.Module, "err", err.Error())
				wb.Partial = append(wb.Partial, s.Module)
				continue
			}
			sum := 0
			for _, c := range board.Counts {
				count(c.Kind, c.Name, c.Count, c.Count > CountBound)
				sum += c.Count
			}
			overdue(board.Overdue, board.Overdue > CountBound)
			if sum > perSource {
				wb.Capped = append(wb.Capped, s.Module)
			}
			wb.full = wb.full || len(board.Items) >= limit
			for _, it := range board.Items[:min(len(board.Items), limit)] {
				all = append(all, item(s.Module, it))
			}
			continue
		}
		items, err := s.Work.Work(ctx, p, perSource)
		if err != nil {
			web.Logger(ctx).Error("work items", "module", s.Module, "err", err.Error())
			wb.Partial = append(wb.Partial, s.Module)
			continue
		}
		capped := len(items) >= perSource
		if capped {
			wb.Capped = append(wb.Capped, s.Module)
		}
		kept := 0
		for _, it := range items {
			x := item(s.Module, it)
			count(x.Kind, x.KindName, 1, capped)
			if x.Overdue {
				overdue(1, capped)
			}
			if f.keeps(x) && kept < limit {
				all = append(all, x)
				kept++
			}
		}
		wb.full = wb.full || kept >= limit
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
	wb.Items = all
	if wb.Counts == nil {
		wb.Counts = []KindCount{}
	}
	for _, c := range wb.Counts {
		wb.Total, wb.TotalMore = bounded(wb.Total+c.Count, wb.TotalMore || c.More)
	}
	return wb
}

// bounded caps a count at CountBound: past it, the bound and more.
func bounded(n int, more bool) (int, bool) {
	if n > CountBound {
		return CountBound, true
	}
	return n, more
}

// matched is how many items pass the filters, and whether more do.
func (w Workbench) matched(f Filter) (int, bool) {
	switch {
	case f.Kind == "" && !f.Overdue:
		return w.Total, w.TotalMore
	case f.Kind == "":
		return w.Overdue, w.OverdueMore
	case !f.Overdue:
		for _, c := range w.Counts {
			if c.Kind == f.Kind {
				return c.Count, c.More
			}
		}
		return 0, false
	}
	return len(w.Items), w.full
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
	web.WriteJSON(w, http.StatusOK, h.Work(r.Context(), p, filterOf(r), perSource))
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

// workPager links the pages of the filtered list. Its total is the
// bounded count of what passes the filters; the pages are numbered only
// when that count is exact and the list holds all of it.
func workPager(r *http.Request, pg web.Pagination, wb Workbench, f Filter) web.Pager {
	n, more := wb.matched(f)
	pager := web.NewPager(r, pg, n)
	if more || len(wb.Capped) > 0 {
		pager.Pages = 0
		pager.Next = ""
		if len(wb.Items) > pg.Offset()+pg.PageSize {
			pager.Next = web.NewPager(r, pg, pg.Offset()+pg.PageSize+1).Next
		}
	}
	if more {
		pager.TotalText = countText(n, true)
	}
	return pager
}

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
	// The page reads as far as it shows, and one more to know whether a
	// next page follows.
	from := pg.Offset()
	wb := h.Work(r.Context(), p, f, min(from+pg.PageSize+1, perSource))
	v := workView{Workbench: wb, F: f, AllHref: workHref("", f.Overdue), Toggle: workHref(f.Kind, !f.Overdue)}
	for _, k := range wb.Counts {
		v.KindLinks = append(v.KindLinks, kindLink{KindCount: k, Href: workHref(k.Kind, f.Overdue), Current: k.Kind == f.Kind})
	}
	v.Items = wb.Items[min(from, len(wb.Items)):min(from+pg.PageSize, len(wb.Items))]
	v.Pager = workPager(r, pg, wb, f)
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
	UnreadN   string // the count as shown: "99+" past the bound
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
	v := meView{Unread: unread, UnreadN: notices.UnreadText(unread), More: len(ns) > meNotices, NoNotices: noNotices}
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
	UnreadN   string // the count as shown: "99+" past the bound
	More      bool   // older notices than those shown exist
}

// listLimit is how many notices the API lists; the page shows the newest
// pageNotices (unread first), which is what a phone screen reads: a
// worker with thousands of unread notices pays for those only.
const (
	listLimit   = 100
	pageNotices = 30
)

func (h *Handlers) noticesPage(w http.ResponseWriter, r *http.Request) {
	p := access.From(r.Context())
	ns, unread, err := h.Notices.List(r.Context(), p.UserID, pageNotices+1)
	if err != nil {
		h.Refuse(w, r, err)
		return
	}
	v := noticesView{NoNotices: noNotices, Notices: ns[:min(len(ns), pageNotices)], Unread: unread, UnreadN: notices.UnreadText(unread), More: len(ns) > pageNotices}
	view := web.View{Title: web.M("我的消息", "My notices"), Data: v,
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
	Unread int              `json:"unread"` // at most notices.UnreadBound+1: "99+"
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
