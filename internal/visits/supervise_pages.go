package visits

import (
	"context"
	"embed"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/memo"
	"linli/internal/web"
)

//go:embed templates/supervise/*.html
var superviseTemplates embed.FS

// supervision serves the supervision pages, the print sheet and their API.
type supervision struct {
	store *Store
	pages *web.Pages
	// figures keeps each division's month of completion figures for
	// FiguresTTL or until a visit is written: at county scale they take
	// seconds to count, and the page is read far more often than visits
	// change. The API counts exactly every time.
	figures *memo.Cache[Completion]
}

// FiguresTTL is how long the supervision page reuses a division's figures
// when no visit was written meanwhile; overdue counts move with the day.
const FiguresTTL = 30 * time.Second

// mountSupervision registers the supervision pages and API.
func (m *visitsModule) mountSupervision(rt *web.Router, rd *web.Renderer) error {
	h := &supervision{store: m.store, pages: rd.Parse(superviseTemplates, "templates/supervise/*.html"),
		figures: memo.New[Completion](FiguresTTL, m.store.Now, m.store.writes.Load, nil)}
	m.figures = h.figures
	rt.Page("GET /visits/supervise", h.pageCompletion)
	rt.Page("GET /visits/overdue", func(w http.ResponseWriter, r *http.Request) { h.pageList(w, r, ListOverdue) })
	rt.Page("GET /visits/high-risk", func(w http.ResponseWriter, r *http.Request) { h.pageList(w, r, ListHighRisk) })
	rt.Page("GET /visits/households/{id}", h.pageTimeline)
	rt.Page("POST /visits/reassign", h.postReassign)
	rt.Page("GET /visits/sheet", h.pageSheet)

	const tag = "visits"
	rt.API("GET /api/v1/visits/completion", web.Op{Summary: "探访完成情况（按组别、下级区划、网格员、网格） / Visit completion of a month by group, sub-division, worker and grid", Tag: tag,
		Params:   []web.Param{{Name: "division", In: "query", Description: "区划代码（默认本人辖区） / division code (default: your own)"}, {Name: "month", In: "query", Description: "YYYY-MM（默认本月） / YYYY-MM (default: this month)"}},
		Response: Completion{}}, h.apiCompletion)
	rt.API("GET /api/v1/visits/watch", web.Op{Summary: "逾期与高风险探访督导列表 / Overdue and high-risk visits to supervise", Tag: tag,
		Params: []web.Param{{Name: "kind", In: "query", Description: "overdue（默认）或 high-risk / overdue (default) or high-risk"}, {Name: "division", In: "query"}, {Name: "programme", In: "query"},
			{Name: "worker", In: "query"}, {Name: "grid", In: "query"}, {Name: "escalated", In: "query", Type: "boolean"}, {Name: "month", In: "query"},
			{Name: "cursor", In: "query", Description: keyset.Param.Description}, {Name: "page_size", In: "query", Type: "integer"}},
		Response: VisitPage{}}, h.apiWatch)
	rt.API("GET /api/v1/households/{id}/visits", web.Op{Summary: "一户的探访时间线（新的在前） / A household's visit timeline, newest first", Tag: tag,
		Response: Timeline{}}, h.apiTimeline)
	rt.API("POST /api/v1/visits/reassign", web.Op{Summary: "批量改派探访 / Reassign visits to a worker of their community", Tag: tag,
		Body: ReassignBatch{}, Response: ReassignResult{}}, h.apiReassign)
	rt.API("GET /api/v1/visits/sheet", web.Op{Summary: "网格员月度探访登记表 / A worker's monthly visit sheet", Tag: tag,
		Params:   []web.Param{{Name: "worker", In: "query", Description: "用户名（默认本人） / username (default: yourself)"}, {Name: "month", In: "query"}},
		Response: Sheet{}}, h.apiSheet)
	return nil
}

func (h *supervision) month(r *http.Request) (Month, error) {
	if s := r.URL.Query().Get("month"); s != "" {
		return ParseMonth(s)
	}
	return MonthOf(h.store.Now()), nil
}

// recentMonths are the months a picker offers: this one and eleven back.
func (h *supervision) recentMonths() []string {
	m := MonthOf(h.store.Now())
	out := []string{}
	t := m.first()
	for range 12 {
		out = append(out, MonthOf(t).String())
		t = t.AddDate(0, -1, 0)
	}
	return out
}

func (h *supervision) apiCompletion(w http.ResponseWriter, r *http.Request) error {
	m, err := h.month(r)
	if err != nil {
		return err
	}
	c, err := h.store.Completion(r.Context(), r.URL.Query().Get("division"), m)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, c)
	return nil
}

func watchFilter(r *http.Request, kind string) WatchFilter {
	q := r.URL.Query()
	return WatchFilter{Kind: kind, Division: q.Get("division"), Programme: q.Get("programme"), Worker: q.Get("worker"), Grid: q.Get("grid"),
		Escalated: q.Get("escalated") == "1" || q.Get("escalated") == "true", Month: q.Get("month")}
}

func (h *supervision) apiWatch(w http.ResponseWriter, r *http.Request) error {
	pg, err := web.ParsePagination(r)
	if err != nil {
		return err
	}
	kind := r.URL.Query().Get("kind")
	if kind == "" {
		kind = ListOverdue
	}
	if pg.Page > 1 {
		return keyset.ErrPageNumber
	}
	l, err := h.store.WatchList(r.Context(), watchFilter(r, kind), r.URL.Query().Get("cursor"), pg.PageSize)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, visitPage(l, pg))
	return nil
}

func (h *supervision) apiTimeline(w http.ResponseWriter, r *http.Request) error {
	t, err := h.store.HouseholdTimeline(r.Context(), r.PathValue("id"), 500)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (h *supervision) apiReassign(w http.ResponseWriter, r *http.Request) error {
	var in ReassignBatch
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	res, err := h.store.ReassignMany(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (h *supervision) apiSheet(w http.ResponseWriter, r *http.Request) error {
	m, err := h.month(r)
	if err != nil {
		return err
	}
	sh, err := h.store.MonthSheet(r.Context(), r.URL.Query().Get("worker"), m)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, sh)
	return nil
}

// bar is a completion line as a page shows it.
type bar struct {
	CompletionLine
	Percent string // "87.5%", "—" when nothing is due
	Width   int    // the bar's width in percent
	Tone    web.Tone
}

func bars(ls []CompletionLine) []bar {
	out := make([]bar, len(ls))
	for i, l := range ls {
		out[i] = bar{CompletionLine: l, Percent: "—", Tone: web.ToneMuted}
		if l.Rate != nil {
			out[i].Percent = strconv.FormatFloat(*l.Rate, 'f', -1, 64) + "%"
			out[i].Width = int(*l.Rate)
			switch {
			case *l.Rate >= 100:
				out[i].Tone = web.ToneOK
			case l.Overdue > 0:
				out[i].Tone = web.ToneBad
			default:
				out[i].Tone = web.ToneInfo
			}
		}
	}
	return out
}

type completionPage struct {
	C         Completion
	Total     bar
	Groups    []bar
	Divisions []bar
	Workers   []bar
	Grids     []bar
	Months    []string
	Community bool
	Up        string // the page one level up, within the viewer's jurisdiction
	Query     string // division=…&month=… for links to the lists
	// The overdue and high-risk lists of the page's division and month:
	// plain paths for the viewer's own division this month.
	Overdue, HighRisk string
	Empty             fault.Msg
	// AsOf is when the figures were counted (zero: just now).
	AsOf time.Time
}

func (h *supervision) pageCompletion(w http.ResponseWriter, r *http.Request) {
	title := web.M("探访督导", "Visit supervision")
	m, err := h.month(r)
	if err != nil {
		h.pages.Fail(w, r, "completion", web.View{Title: title, Data: completionPage{Months: h.recentMonths()}}, err)
		return
	}
	division, err := supervisedDivision(access.From(r.Context()), r.URL.Query().Get("division"))
	if err != nil {
		h.pages.Fail(w, r, "completion", web.View{Title: title, Data: completionPage{Months: h.recentMonths()}}, err)
		return
	}
	c, at, err := h.figures.Get(r.Context(), division+"|"+m.String(), func(ctx context.Context) (Completion, error) { return h.store.completion(ctx, division, m) })
	if err != nil {
		h.pages.Fail(w, r, "completion", web.View{Title: title, Data: completionPage{Months: h.recentMonths()}}, err)
		return
	}
	v := completionPage{C: c, AsOf: at, Groups: bars(c.ByGroup), Divisions: bars(c.ByDivision), Workers: bars(c.ByWorker), Grids: bars(c.ByGrid),
		Months: h.recentMonths(), Community: divisions.LevelOf(c.Division) == 5,
		Query: "division=" + url.QueryEscape(c.Division) + "&month=" + c.Month,
		Empty: fault.M("本月在此区划没有应探访的对象。", "Nobody in this division is due a visit this month.")}
	v.Total = bars([]CompletionLine{{Label: fault.M("合计", "Total"), Tally: c.Total}})[0]
	p := access.From(r.Context())
	v.Overdue, v.HighRisk = "/visits/overdue?division="+url.QueryEscape(c.Division), "/visits/high-risk?"+v.Query
	if c.Division == p.Division {
		v.Overdue = "/visits/overdue"
		if c.Month == MonthOf(h.store.Now()).String() {
			v.HighRisk = "/visits/high-risk"
		}
	}
	if up := divisions.ParentCode(c.Division); up != "" && access.BusinessScope(p).Contains(up) && c.Division != p.Division {
		v.Up = "/visits/supervise?division=" + up + "&month=" + c.Month
	}
	h.pages.Render(w, r, http.StatusOK, "completion", web.View{Title: fault.M("探访督导 · "+c.DivisionName, "Visit supervision · "+c.DivisionName), Data: v})
}

// row is a visit on a supervision list.
type row struct {
	Visit
	ProgrammeName fault.Msg
	MethodName    fault.Msg
	StatusTag     web.Tag
	RiskTag       *web.Tag
	Escalated     bool
	LateDays      int
}

type listPage struct {
	Kind        string
	F           WatchFilter
	Rows        []row
	Pager       web.Pager
	Programmes  []Programme
	Workers     []Worker
	Grids       []gridOption
	Months      []string
	CanReassign bool
	Empty       fault.Msg
	Back        string
}

type gridOption struct{ ID, Name string }

func (h *supervision) rows(r *http.Request, vs []Visit) []row {
	progs, _ := h.store.programmeNames(r.Context())
	today, _ := time.ParseInLocation("2006-01-02", day(h.store.Now().In(cstZone())), cstZone())
	out := make([]row, len(vs))
	for i, v := range vs {
		x := row{Visit: v, ProgrammeName: progs[v.ProgrammeID].name, StatusTag: web.Tag{Tone: web.ToneInfo, Label: statusWords(v.Status)}, MethodName: methodWords(v.Method)}
		if v.Status == StatusOpen {
			if due, err := time.ParseInLocation("2006-01-02", v.Due, cstZone()); err == nil && due.Before(today) {
				x.LateDays = int(today.Sub(due).Hours() / 24)
				x.StatusTag = web.Tag{Tone: web.ToneBad, Label: fault.M(fmt.Sprintf("逾期 %d 天", x.LateDays), fmt.Sprintf("%d days overdue", x.LateDays))}
			}
		} else if v.Status == StatusDone {
			x.StatusTag.Tone = web.ToneOK
		} else {
			x.StatusTag.Tone = web.ToneWarn
		}
		if v.Risk == RiskHigh {
			x.RiskTag = &web.Tag{Tone: web.ToneBad, Label: riskWords(v.Risk)}
		} else if v.Risk == RiskAttention {
			x.RiskTag = &web.Tag{Tone: web.ToneWarn, Label: riskWords(v.Risk)}
		}
		out[i] = x
	}
	return out
}

func (h *supervision) escalatedIDs(r *http.Request, vs []Visit) map[int64]bool {
	out := map[int64]bool{}
	if len(vs) == 0 {
		return out
	}
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = strconv.FormatInt(v.ID, 10)
	}
	rs, err := h.store.DB.R.QueryContext(r.Context(), `SELECT id FROM vis_visits WHERE escalated_at IS NOT NULL AND id IN (`+strings.Join(ids, ",")+`)`)
	if err != nil {
		return out
	}
	defer rs.Close()
	for rs.Next() {
		var id int64
		if rs.Scan(&id) == nil {
			out[id] = true
		}
	}
	return out
}

func (h *supervision) pageList(w http.ResponseWriter, r *http.Request, kind string) {
	title := web.M("逾期探访", "Overdue visits")
	empty := web.M("没有逾期的探访。", "No visit is overdue.")
	if kind == ListHighRisk {
		title, empty = web.M("高风险对象", "High-risk findings"), web.M("本月没有发现高风险的探访对象。", "No one was found at high risk this month.")
	}
	f := watchFilter(r, kind)
	v := listPage{Kind: kind, F: f, Months: h.recentMonths(), Empty: empty}
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.pages.Fail(w, r, "list", web.View{Title: title, Data: v}, err)
		return
	}
	cursor := r.URL.Query().Get("cursor")
	l, err := h.store.WatchList(r.Context(), f, cursor, pg.PageSize)
	if err != nil {
		h.pages.Fail(w, r, "list", web.View{Title: title, Data: v}, err)
		return
	}
	p := access.From(r.Context())
	if v.F.Division == "" {
		v.F.Division = p.Division
	}
	if kind == ListHighRisk && v.F.Month == "" {
		v.F.Month = MonthOf(h.store.Now()).String()
	}
	v.Rows = h.rows(r, l.Visits)
	esc := h.escalatedIDs(r, l.Visits)
	for i := range v.Rows {
		v.Rows[i].Escalated = esc[v.Rows[i].ID]
	}
	v.Pager = keysetPager(r, cursor, l)
	v.Programmes, _ = h.store.activeProgrammes(r.Context())
	if divisions.LevelOf(v.F.Division) == 5 {
		v.Workers, _ = h.store.CommunityWorkers(r.Context(), v.F.Division)
		names, _ := h.store.gridNames(r.Context(), v.F.Division)
		for id, n := range names {
			v.Grids = append(v.Grids, gridOption{ID: id, Name: n})
		}
		sortGrids(v.Grids)
		v.CanReassign = kind == ListOverdue && len(v.Workers) > 0
	}
	v.Back = r.URL.RequestURI()
	h.pages.Render(w, r, http.StatusOK, "list", web.View{Title: title, Data: v,
		Crumbs: []web.Crumb{{Href: "/visits/supervise?division=" + url.QueryEscape(v.F.Division), Label: web.M("探访督导", "Visit supervision")}, {Label: title}}})
}

func sortGrids(gs []gridOption) {
	for i := 1; i < len(gs); i++ {
		for j := i; j > 0 && gs[j].Name < gs[j-1].Name; j-- {
			gs[j], gs[j-1] = gs[j-1], gs[j]
		}
	}
}

type timelinePage struct {
	T     Timeline
	Rows  []row
	Empty fault.Msg
}

func (h *supervision) pageTimeline(w http.ResponseWriter, r *http.Request) {
	title := web.M("探访时间线", "Visit timeline")
	t, err := h.store.HouseholdTimeline(r.Context(), r.PathValue("id"), 500)
	if err != nil {
		h.pages.Fail(w, r, "timeline", web.View{Title: title, Data: timelinePage{}}, err)
		return
	}
	h.pages.Render(w, r, http.StatusOK, "timeline", web.View{Title: title, Data: timelinePage{T: t, Rows: h.rows(r, t.Visits), Empty: fault.M("这户还没有探访记录。", "No visit of this household yet.")},
		Notice: web.M("本次查看已记入审计日志", "This view is in the audit log")})
}

type reassignPage struct {
	Rows    []row
	IDs     []int64
	Owner   Worker
	Back    string
	Done    *ReassignResult
	Workers []Worker
}

// postReassign shows what is about to change and asks to confirm; with
// confirm=1 it reassigns.
func (h *supervision) postReassign(w http.ResponseWriter, r *http.Request) {
	title := web.M("改派探访", "Reassign visits")
	if err := web.ParseForm(r); err != nil {
		h.pages.Fail(w, r, "reassign", web.View{Title: title, Data: reassignPage{}}, err)
		return
	}
	v := reassignPage{Back: web.SafeNext(r.PostForm.Get("back"), "/visits/overdue")}
	var bad []fault.FieldError
	for _, s := range r.PostForm["id"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			bad = append(bad, fault.Field("id", fault.M("所选探访有误", "a chosen visit is not valid")))
			break
		}
		v.IDs = append(v.IDs, id)
	}
	if len(bad) > 0 {
		h.pages.Fail(w, r, "reassign", web.View{Title: title, Data: v}, fault.Invalid(fault.M("无法改派", "cannot reassign"), bad...))
		return
	}
	in := ReassignBatch{IDs: v.IDs, Owner: r.PostForm.Get("owner")}
	if r.PostForm.Get("confirm") != "1" {
		// Check first, so the confirmation only shows what will be done.
		if !canSupervise(access.From(r.Context())) {
			h.pages.Fail(w, r, "reassign", web.View{Title: title, Data: v}, errNoSupervise)
			return
		}
		vs, err := h.store.visitsByID(r.Context(), slicesUnique(v.IDs))
		if err == nil && len(v.IDs) == 0 {
			err = fault.Invalid(fault.M("无法改派", "cannot reassign"), fault.Field("id", fault.M("请选择要改派的探访", "choose the visits to reassign")))
		}
		if err == nil && strings.TrimSpace(in.Owner) == "" {
			err = fault.Invalid(fault.M("无法改派", "cannot reassign"), fault.Field("owner", fault.M("请选择接手的工作人员", "choose who takes the visits")))
		}
		if err == nil && len(vs) != len(slicesUnique(v.IDs)) {
			err = errNotFound
		}
		if err == nil {
			ws, _ := h.store.CommunityWorkers(r.Context(), vs[0].Division)
			for _, wk := range ws {
				if wk.Username == in.Owner {
					v.Owner = wk
				}
			}
			if v.Owner.Username == "" {
				err = fault.Invalid(fault.M("无法改派", "cannot reassign"), fault.Field("owner", fault.M("须为该社区的网格员或社区工作者", "must be a grid or community worker of the visits' community")))
			}
		}
		v.Rows = h.rows(r, vs)
		if err != nil {
			h.pages.Fail(w, r, "reassign", web.View{Title: title, Data: v}, err)
			return
		}
		h.pages.Render(w, r, http.StatusOK, "reassign", web.View{Title: title, Data: v})
		return
	}
	res, err := h.store.ReassignMany(r.Context(), in)
	if err != nil {
		h.pages.Fail(w, r, "reassign", web.View{Title: title, Data: v}, err)
		return
	}
	v.Done = &res
	h.pages.Render(w, r, http.StatusOK, "reassign", web.View{Title: title, Data: v,
		Notice: web.M(fmt.Sprintf("已将 %d 次探访改派给 %s", len(res.Reassigned), res.Owner), fmt.Sprintf("%d visits reassigned to %s", len(res.Reassigned), res.Owner))})
}

type sheetPage struct {
	S      Sheet
	Months []string
	Blank  []int // empty lines for visits added by hand
}

func (h *supervision) pageSheet(w http.ResponseWriter, r *http.Request) {
	title := web.M("探访登记表", "Visit sheet")
	m, err := h.month(r)
	if err != nil {
		h.pages.Fail(w, r, "sheet", web.View{Title: title, Data: sheetPage{Months: h.recentMonths()}}, err)
		return
	}
	sh, err := h.store.MonthSheet(r.Context(), r.URL.Query().Get("worker"), m)
	if err != nil {
		h.pages.Fail(w, r, "sheet", web.View{Title: title, Data: sheetPage{Months: h.recentMonths()}}, err)
		return
	}
	h.pages.Render(w, r, http.StatusOK, "sheet", web.View{Title: sheetTitle(sh), Data: sheetPage{S: sh, Months: h.recentMonths(), Blank: []int{1, 2, 3}}})
}
