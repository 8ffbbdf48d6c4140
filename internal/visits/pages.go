package visits

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/questions"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// RegisterPages adds the visit pages.
func (h *Handlers) RegisterPages(rt *web.Router) {
	rt.Page("GET /visits", h.pageList)
	rt.Page("GET /visits/mine", func(w http.ResponseWriter, r *http.Request) { h.pageMine(w, r, 200, web.View{}) })
	rt.Page("POST /visits/mine", h.postAsk)
	rt.Page("GET /visits/programmes", func(w http.ResponseWriter, r *http.Request) { h.pageProgrammes(w, r, 200, web.View{}) })
	rt.Page("POST /visits/programmes", h.postProgramme)
	rt.Page("GET /visits/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageVisit(w, r, 200, web.View{}) })
	rt.Page("POST /visits/{id}", h.postVisit)
	rt.Page("GET /visits/photos/{id}", h.getPhoto)
	rt.Page("GET /visits/photos/{id}/thumb", h.getThumb)
}

func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	if we, ok := fault.As(err); ok {
		h.Pages.Render(w, r, web.Status(we), "message", web.View{Title: web.M("无法完成", "Cannot do that"), Alert: we.Msg})
		return
	}
	web.Logger(r.Context()).Error("visits page", "err", err.Error())
	h.Pages.Render(w, r, 500, "message", web.View{Title: web.M("出错了", "Error"), Alert: web.M("服务器内部错误，请稍后重试", "internal server error, please try again later")})
}

// StatusTag is a visit's status as a tag.
func (v Visit) StatusTag() web.Tag {
	tone := map[string]web.Tone{StatusDone: web.ToneOK, StatusNotHome: web.ToneWarn, StatusRefused: web.ToneBad, StatusCancelled: web.ToneMuted}[v.Status]
	if tone == "" {
		tone = web.ToneInfo
	}
	return web.Tag{Tone: tone, Label: statusWords(v.Status)}
}

// RiskTag is the risk found, as a tag.
func (v Visit) RiskTag() web.Tag {
	tone, ok := map[string]web.Tone{RiskHigh: web.ToneBad, RiskAttention: web.ToneWarn, RiskNormal: web.ToneOK}[v.Risk]
	if !ok {
		return web.Tag{}
	}
	return web.Tag{Tone: tone, Label: riskWords(v.Risk)}
}

type listView struct {
	Items  []Visit
	Names  map[string]web.Msg
	Status string
	Tabs   []tab
	Pager  web.Pager
	Empty  web.Msg
}

type tab struct {
	Key   string
	Label web.Msg
}

func (h *Handlers) names(r *http.Request) map[string]web.Msg {
	out := map[string]web.Msg{}
	ps, _ := h.Store.activeProgrammes(r.Context())
	for _, p := range ps {
		out[p.Code] = web.M(p.NameZH, p.NameEN)
	}
	return out
}

func (h *Handlers) pageList(w http.ResponseWriter, r *http.Request) {
	p := access.From(r.Context())
	if p.Role == access.Resident {
		http.Redirect(w, r, "/visits/mine", http.StatusSeeOther)
		return
	}
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := filterOf(r)
	if f.Status == "" {
		f.Status = StatusOpen
	}
	if p.Role == access.GridWorker && f.Worker == "" && f.Status == StatusOpen {
		f.Worker = p.Username
	}
	cursor := r.URL.Query().Get("cursor")
	l, err := h.Store.List(r.Context(), f, cursor, pg.PageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := listView{Items: l.Visits, Names: h.names(r), Status: f.Status, Pager: keysetPager(r, cursor, l), Empty: web.M("没有符合条件的探访", "No visits here"),
		Tabs: []tab{{StatusOpen, web.M("待探访", "Due")}, {"overdue", web.M("逾期", "Overdue")}, {StatusDone, web.M("已完成", "Done")}, {StatusNotHome, web.M("未遇", "Not home")}}}
	h.Pages.Render(w, r, 200, "list", web.View{Title: web.M("探访关爱", "Care visits"), Data: v})
}

type visitView struct {
	V       Visit
	P       Programme
	Name    web.Msg
	CanWork bool
	Key     string
	Fields  []questions.Field
	Methods []string
	Now     string
	Flash   bool
	// Topic is the council topic raised from this visit's finding ("" for
	// none). Council: the reader works with the councils (community
	// workers and officers), who open the topic or raise one.
	Topic   string
	Council bool
}

// MethodLabel names a method.
func (visitView) MethodLabel(m string) web.Msg {
	return methodWords(m)
}

// Answer is an answer as shown (a choice by its name).
func (v visitView) Answer(q questions.Question) string {
	a, ok := v.V.Answers[q.Code]
	if !ok {
		return ""
	}
	if q.IsChoice() {
		var out []string
		for _, k := range strings.Split(a, ",") {
			for _, c := range q.Choices() {
				if c.Key == k {
					k = c.ZH()
				}
			}
			out = append(out, k)
		}
		return strings.Join(out, "、")
	}
	return a
}

func (h *Handlers) pageVisit(w http.ResponseWriter, r *http.Request, status int, pv web.View) {
	id, err := visitID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.Store.Get(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	_, prog, err := h.Store.visitForWork(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	vv := visitView{V: v, P: prog, Name: web.M(prog.NameZH, prog.NameEN), CanWork: canWork(access.From(r.Context())) && v.Status == StatusOpen,
		Methods: prog.Methods, Flash: r.URL.Query().Get("recorded") == "1"}
	if prog.RequireHome {
		vv.Methods = []string{MethodHome}
	}
	if pv.Form == nil {
		pv.Form = url.Values{"submit_key": {db.NewID()}, "visited_at": {h.Store.Now().In(questions.CST).Format("2006-01-02T15:04")},
			"method": {vv.Methods[0]}, "outcome": {OutcomeDone}, "risk": {RiskNormal}}
	}
	vv.Key, vv.Now = pv.Form.Get("submit_key"), pv.Form.Get("visited_at")
	if v.Status == StatusDone {
		err := h.Store.DB.R.QueryRowContext(r.Context(), `SELECT topic_id FROM deliberation_topic_sources WHERE source = $1`, fmt.Sprintf("visit:%d", v.ID)).Scan(&vv.Topic)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			h.fail(w, r, err)
			return
		}
		p := access.From(r.Context())
		vv.Council = p.Role == access.CommunityWorker || p.Role == access.Officer
	}
	for _, q := range prog.Questions {
		f := q.Field("answer", pv.Form, pv.Errors)
		f.Loose = true // answers are required only when the visit is done
		vv.Fields = append(vv.Fields, f)
	}
	pv.Title = web.M("探访："+v.Whose, "Visit: "+v.Whose)
	pv.Crumbs = []web.Crumb{{Href: "/visits", Label: web.M("探访关爱", "Care visits")}, {Label: web.M(fmt.Sprintf("第 %d 号", v.ID), fmt.Sprintf("No. %d", v.ID))}}
	pv.Data = vv
	h.Pages.Render(w, r, status, "visit", pv)
}

func (h *Handlers) postVisit(w http.ResponseWriter, r *http.Request) {
	id, err := visitID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxPhoto+(1<<20))
	var photo []byte
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		if err2 := r.ParseForm(); err2 != nil || strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
			h.pageVisit(w, r, 400, web.View{Alert: web.M("照片过大（不能超过 5 MB）或表单无效", "the photo is too large (5 MB at most) or the form is invalid"),
				Errors: []fault.FieldError{fault.Field("photo", web.M("照片不能超过 5 MB", "the photo must be at most 5 MB"))}, Form: r.Form})
			return
		}
	} else if f, _, err := r.FormFile("photo"); err == nil {
		photo, err = io.ReadAll(io.LimitReader(f, MaxPhoto+1))
		f.Close()
		if err != nil {
			h.fail(w, r, err)
			return
		}
	} else if !errors.Is(err, http.ErrMissingFile) {
		h.fail(w, r, err)
		return
	}
	_, prog, err := h.Store.visitForWork(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in := RecordInput{Method: r.FormValue("method"), VisitedAt: r.FormValue("visited_at"), Present: r.FormValue("present"), Outcome: r.FormValue("outcome"),
		Reason: r.FormValue("reason"), Risk: r.FormValue("risk"), Note: r.FormValue("note"), Photo: photo, SubmitKey: r.FormValue("submit_key"),
		ExtraDue: strings.TrimSpace(r.FormValue("extra_due")), FlagAssistance: r.FormValue("flag_assistance") == "1", AssistanceReason: r.FormValue("assistance_reason"),
		Answers: questions.FromForm("answer", prog.Questions, r.Form)}
	if lo, la := strings.TrimSpace(r.FormValue("lon")), strings.TrimSpace(r.FormValue("lat")); lo != "" || la != "" {
		x, e1 := strconv.ParseFloat(lo, 64)
		y, e2 := strconv.ParseFloat(la, 64)
		if e1 != nil || e2 != nil {
			h.pageVisit(w, r, 400, web.View{Alert: web.M("经纬度须为数字", "longitude and latitude must be numbers"), Errors: []fault.FieldError{fault.Field("lat", web.M("经纬度须为数字", "must be numbers"))}, Form: r.Form})
			return
		}
		in.Lon, in.Lat = &x, &y
	}
	if _, err := h.Store.Record(r.Context(), id, in); err != nil {
		if we, ok := fault.As(err); ok && len(we.Fields) > 0 {
			h.pageVisit(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.Form})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/visits/%d?recorded=1", id), http.StatusSeeOther)
}

type mineView struct {
	Upcoming []Upcoming
	Empty    web.Msg
}

func (h *Handlers) pageMine(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ups, err := h.Store.Upcoming(r.Context(), access.From(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("asked") == "1" {
		v.Notice = web.M("已收到您的探访申请，社区工作者会与您联系。", "Your request for a visit is received: a community worker will contact you.")
	}
	v.Title, v.Data = web.M("我的探访", "My visits"), mineView{Upcoming: ups, Empty: web.M("近期没有安排探访", "No visit is scheduled")}
	h.Pages.Render(w, r, status, "mine", v)
}

func (h *Handlers) postAsk(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	if err := h.Store.Ask(r.Context(), r.FormValue("note")); err != nil {
		if we, ok := fault.As(err); ok {
			h.pageMine(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.Form})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/visits/mine?asked=1", http.StatusSeeOther)
}

type programmesView struct {
	Items  []Programme
	CanAdd bool
	Tags   []tagKind
}

type tagKind struct{ Key, ZH, EN string }

func (h *Handlers) pageProgrammes(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ps, err := h.Store.Programmes(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := access.From(r.Context())
	pv := programmesView{Items: ps, CanAdd: p.Role == access.Officer && len(p.Division) <= 6}
	if pv.CanAdd {
		pv.Tags, err = db.Collect(r.Context(), h.Store.DB.R, func(row db.Scanner) (tagKind, error) {
			var t tagKind
			return t, row.Scan(&t.Key, &t.ZH, &t.EN)
		}, `SELECT key, name_zh, name_en FROM reg_tag_kinds ORDER BY sort, key`)
		if err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if v.Form == nil {
		v.Form = url.Values{"frequency": {"monthly"}}
	}
	v.Title, v.Data = web.M("探访项目", "Visit programmes"), pv
	h.Pages.Render(w, r, status, "programmes", v)
}

// Has tells whether a multi-valued form field holds value.
func (programmesView) Has(form url.Values, field, value string) bool {
	for _, x := range form[field] {
		if x == value {
			return true
		}
	}
	return false
}

func (h *Handlers) postProgramme(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	in := ProgrammeInput{Code: r.FormValue("code"), NameZH: r.FormValue("name_zh"), NameEN: r.FormValue("name_en"), Unit: r.FormValue("unit"),
		Tags: r.Form["tags"], Frequency: r.FormValue("frequency"), Methods: r.Form["methods"], RequireHome: r.FormValue("require_home") == "1", TellResident: r.FormValue("tell_resident") == "1"}
	var errs []fault.FieldError
	num := func(field string) (*int, bool) {
		s := strings.TrimSpace(r.FormValue(field))
		if s == "" {
			return nil, true
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			errs = append(errs, fault.Field(field, web.M("须为整数", "must be a whole number")))
			return nil, false
		}
		return &n, true
	}
	in.MinAge, _ = num("min_age")
	in.MaxAge, _ = num("max_age")
	if n, ok := num("every_weeks"); ok && n != nil {
		in.EveryWeeks = *n
	} else if ok && in.Frequency == "weeks" {
		in.EveryWeeks = 0
	}
	if n, ok := num("high_risk_weeks"); ok && n != nil {
		in.HighRiskWeeks = *n
	}
	if len(errs) > 0 {
		h.pageProgrammes(w, r, 400, web.View{Alert: web.M("探访项目信息有误", "the programme has errors"), Errors: errs, Form: r.Form})
		return
	}
	if _, err := h.Store.AddProgramme(r.Context(), in); err != nil {
		if we, ok := fault.As(err); ok {
			h.pageProgrammes(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.Form})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/visits/programmes", http.StatusSeeOther)
}
