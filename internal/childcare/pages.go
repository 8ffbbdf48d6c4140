package childcare

import (
	"net/http"
	"strconv"

	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

func (h *handlers) registerPages(rt *web.Router) {
	rt.Page("GET /childcare", h.pageList)
	rt.Page("GET /childcare/coverage", h.pageCoverage)
	rt.Page("GET /childcare/settings/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageSetting(w, r, 200, web.View{}) })
	rt.Page("POST /childcare/settings/{id}/filings", h.postFiling)
	rt.Page("POST /childcare/applications/{id}/{action}", h.postMove)
	rt.Page("GET /childcare/apply", func(w http.ResponseWriter, r *http.Request) { h.pageApply(w, r, 200, web.View{}) })
	rt.Page("POST /childcare/apply", h.postApply)
	rt.Page("GET /childcare/applications/{id}", h.pageApplication)
}

func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	if we, ok := fault.As(err); ok {
		h.pages.Render(w, r, web.Status(we), "message", web.View{Title: web.M("无法完成", "Cannot do that"), Alert: we.Msg})
		return
	}
	web.Logger(r.Context()).Error("childcare page", "err", err.Error())
	h.pages.Render(w, r, 500, "message", web.View{Title: web.M("出错了", "Error"), Alert: web.M("服务器内部错误，请稍后重试", "internal server error, please try again later")})
}

type tab struct {
	Key   string
	Label fault.Msg
}

type listView struct {
	Items []Setting
	Kind  string
	Q     string
	Tabs  []tab
	Pager web.Pager
	Empty fault.Msg
}

// KindLabel is the setting's kind in words.
func (s Setting) KindLabel() fault.Msg { return KindName(s.Kind) }

// FiledTag is the setting's filing as a tag.
func (s Setting) FiledTag() web.Tag {
	switch {
	case s.Filed:
		return web.Tag{Tone: web.ToneOK, Label: fault.M("已备案", "Filed")}
	case s.Filing != nil:
		return web.Tag{Tone: web.ToneBad, Label: fault.M("备案已过期", "Filing expired")}
	}
	return web.Tag{Tone: web.ToneMuted, Label: fault.M("未备案", "Not filed")}
}

func (h *handlers) pageList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg, err := h.store.List(r.Context(), q.Get("kind"), q.Get("q"), q.Get("cursor"), 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tabs := []tab{{"", fault.M("全部", "All")}}
	for _, k := range Kinds {
		tabs = append(tabs, tab{k.Key, k.Name})
	}
	first, next := keyset.Links(r, q.Get("cursor"), pg.Next)
	v := listView{Items: pg.Items, Kind: q.Get("kind"), Q: q.Get("q"), Tabs: tabs, Pager: keyset.Pager(first, next, pg.Total, pg.Capped, ListCountCap),
		Empty: fault.M("没有托育点", "No childcare setting")}
	h.pages.Render(w, r, 200, "list", web.View{Title: web.M("托育点", "Childcare settings"), Data: v})
}

func (h *handlers) pageCoverage(w http.ResponseWriter, r *http.Request) {
	c, err := h.store.Coverage(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	covered := 0
	for _, x := range c {
		if x.Covered() {
			covered++
		}
	}
	h.pages.Render(w, r, 200, "coverage", web.View{Title: web.M("乡镇（街道）托育覆盖", "Childcare coverage by township"),
		Crumbs: []web.Crumb{{Href: "/childcare", Label: web.M("托育点", "Childcare settings")}, {Label: web.M("覆盖", "Coverage")}},
		Data: struct {
			Rows           []Coverage
			Covered, Total int
		}{c, covered, len(c)}})
}

type settingView struct {
	S        Setting
	Bands    []bandRow
	Waiting  []Application
	Enrolled []Application
	Capped   bool
}

type bandRow struct {
	Name     fault.Msg
	Places   int
	Enrolled int
}

func (h *handlers) pageSetting(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	id := r.PathValue("id")
	st, err := h.store.Get(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	waiting, err := h.store.Queue(ctx, id, Waiting)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	enrolled, err := h.store.Queue(ctx, id, Enrolled)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sv := settingView{S: st, Waiting: waiting, Enrolled: enrolled, Capped: len(waiting) == QueueCap}
	for _, b := range Bands {
		n := 0
		for _, a := range enrolled {
			if a.Band == b.Key {
				n++
			}
		}
		sv.Bands = append(sv.Bands, bandRow{b.Name, st.Places[b.Key], n})
	}
	if r.URL.Query().Get("done") != "" && v.Notice.ZH == "" {
		v.Notice = web.M("已办理。", "Done.")
	}
	v.Title, v.Data = web.M(st.Name, st.Name), sv
	v.Crumbs = []web.Crumb{{Href: "/childcare", Label: web.M("托育点", "Childcare settings")}, {Label: web.M(st.Name, st.Name)}}
	h.pages.Render(w, r, status, "setting", v)
}

func (h *handlers) postFiling(w http.ResponseWriter, r *http.Request) {
	carers, _ := strconv.Atoi(r.FormValue("carers"))
	in := FilingInput{Applicant: r.FormValue("applicant"), Premises: r.FormValue("premises"), Carers: carers, Inspections: r.FormValue("inspections"),
		FiledOn: r.FormValue("filed_on"), ValidUntil: r.FormValue("valid_until")}
	if _, err := h.store.AddFiling(r.Context(), r.PathValue("id"), in); err != nil {
		if we, ok := fault.As(err); ok && len(we.Fields) > 0 {
			h.pageSetting(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.Form})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/childcare/settings/"+r.PathValue("id")+"?done=1", http.StatusSeeOther)
}

func (h *handlers) postMove(w http.ResponseWriter, r *http.Request) {
	var (
		a   Application
		err error
	)
	switch r.PathValue("action") {
	case "enrol":
		a, err = h.store.Enrol(r.Context(), r.PathValue("id"))
	case "leave":
		a, err = h.store.Leave(r.Context(), r.PathValue("id"))
	default:
		err = fault.NotFound(fault.M("没有这个操作", "no such action"))
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/childcare/settings/"+a.SettingID+"?done=1", http.StatusSeeOther)
}

type applyView struct {
	Settings []Setting
	Children []Child
}

func (h *handlers) pageApply(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	settings, err := h.store.Near(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	kids, err := h.store.OwnChildren(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if v.Form == nil {
		v.Form = r.URL.Query()
	}
	v.Title, v.Data = web.M("申请托位", "Apply for a childcare place"), applyView{Settings: settings, Children: kids}
	h.pages.Render(w, r, status, "apply", v)
}

func (h *handlers) postApply(w http.ResponseWriter, r *http.Request) {
	a, err := h.store.Apply(r.Context(), ApplyInput{SettingID: r.FormValue("setting_id"), ChildID: r.FormValue("child_id"), Note: r.FormValue("note")})
	if err != nil {
		if we, ok := fault.As(err); ok && len(we.Fields) > 0 {
			h.pageApply(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.Form})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/childcare/applications/"+a.ID+"?applied=1", http.StatusSeeOther)
}

// StatusTag is an application's status as a tag.
func (a Application) StatusTag() web.Tag {
	return web.Tag{Tone: tone(a.Status), Label: StatusName(a.Status)}
}

// BandLabel is the application's band in words.
func (a Application) BandLabel() fault.Msg { return BandName(a.Band) }

func (h *handlers) pageApplication(w http.ResponseWriter, r *http.Request) {
	a, err := h.store.Application(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := web.View{Title: web.M("托位申请", "Childcare application"), Data: a}
	if r.URL.Query().Get("applied") != "" {
		v.Notice = web.M("申请已提交，已进入候补名单。", "Your application is on the waiting list.")
	}
	h.pages.Render(w, r, 200, "application", v)
}
