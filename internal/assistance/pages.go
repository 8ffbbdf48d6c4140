package assistance

import (
	"net/http"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

func (h *handlers) registerPages(rt *web.Router) {
	rt.Page("GET /assistance", h.pageList)
	rt.Page("GET /assistance/watch", h.pageWatch)
	rt.Page("GET /assistance/apply", func(w http.ResponseWriter, r *http.Request) { h.pageApply(w, r, 200, web.View{}) })
	rt.Page("POST /assistance/apply", h.postApply)
	rt.Page("GET /assistance/applications/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageApp(w, r, 200, web.View{}) })
	rt.Page("POST /assistance/applications/{id}/{action}", h.postMove)
	rt.Public("GET /assistance/notice/{community}", h.pageNotice)
	h.registerPaymentPages(rt)
}

func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	if we, ok := fault.As(err); ok {
		h.pages.Render(w, r, web.Status(we), "message", web.View{Title: web.M("无法完成", "Cannot do that"), Alert: we.Msg})
		return
	}
	web.Logger(r.Context()).Error("assistance page", "err", err.Error())
	h.pages.Render(w, r, 500, "message", web.View{Title: web.M("出错了", "Error"), Alert: web.M("服务器内部错误，请稍后重试", "internal server error, please try again later")})
}

type listView struct {
	Items  []Application
	Status string
	Tabs   []tab
	Pager  web.Pager
	Empty  fault.Msg
	Pays   bool // a county officer: links to the monthly payments
}

type tab struct {
	Key   string
	Label fault.Msg
}

// StatusTag is an application's status as a tag.
func (a Application) StatusTag() web.Tag {
	return web.Tag{Tone: tone(a.Status), Label: StatusName(a.Status)}
}

// AmountYuan is the monthly amount in yuan.
func (a Application) AmountYuan() string { return Yuan(a.AmountFen) }

func (h *handlers) pageList(w http.ResponseWriter, r *http.Request) {
	status, cursor := r.URL.Query().Get("status"), r.URL.Query().Get("cursor")
	pg, err := h.store.List(r.Context(), status, cursor, 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tabs := []tab{{"", fault.M("全部", "All")}}
	for _, s := range []string{Submitted, Accepted, Checking, Investigating, Publicity, Appealed, Approved, Enrolled, Refused, Exited} {
		tabs = append(tabs, tab{s, StatusName(s)})
	}
	first, next := keyset.Links(r, cursor, pg.Next)
	v := listView{Items: pg.Items, Status: status, Tabs: tabs, Pager: keyset.Pager(first, next, pg.Total, pg.Capped, ListCountCap),
		Empty: fault.M("没有救助申请", "No application"), Pays: paysCounty(access.From(r.Context()))}
	h.pages.Render(w, r, 200, "list", web.View{Title: web.M("社会救助申请", "Assistance applications"), Data: v})
}

type memberRow struct {
	ID, Name string
	Age      int
}

type applyView struct {
	Programmes []Programme
	Members    []memberRow
	Worker     bool
	Asked      map[string]bool
	// Signal is the risk signal the worker starts from, when one is named.
	Signal *Signal
}

func (h *handlers) pageApply(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	p := access.From(r.Context())
	if p == nil || p.Role == access.GridWorker || !p.Role.Business() {
		h.fail(w, r, fault.Forbidden(fault.M("只有居民本人或社区工作者、民政干部可以申请", "only residents, community workers and officers may apply")))
		return
	}
	hh := r.FormValue("household_id")
	av := applyView{Worker: p.Role != access.Resident}
	ctx := r.Context()
	if p.Role == access.Resident {
		if err := h.store.DB.R.QueryRowContext(ctx, `SELECT household_id FROM reg_residents WHERE username = $1 AND username <> ''`, p.Username).Scan(&hh); err != nil {
			h.fail(w, r, fault.Conflict(fault.M("您的账号还没有关联居民登记信息，请联系社区", "your account is not linked to a registry record yet: contact your community")))
			return
		}
	}
	var div string
	if hh != "" {
		_ = h.store.DB.R.QueryRowContext(ctx, `SELECT division_code FROM reg_households WHERE id = $1`, hh).Scan(&div)
	}
	if div == "" || (p.Role != access.Resident && !access.BusinessScope(p).Contains(div)) {
		div = p.Division
	} else {
		ms, err := db.Collect(ctx, h.store.DB.R, func(sc db.Scanner) (memberRow, error) {
			var m memberRow
			var birth string
			err := sc.Scan(&m.ID, &m.Name, &birth)
			m.Age = ageOn(birth, h.store.Now())
			return m, err
		}, `SELECT id, name, birth_date FROM reg_residents WHERE household_id = $1 ORDER BY id`, hh)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		av.Members = ms
	}
	progs, err := h.store.Programmes(ctx, countyOf(div))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	av.Programmes = progs
	av.Asked = map[string]bool{}
	for _, c := range r.Form["programme"] {
		av.Asked[c] = true
	}
	if src := r.FormValue("source"); src != "" && p.Role != access.Resident && len(av.Members) > 0 {
		g, fe, err := h.store.signal(ctx, p, src, hh)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if fe != nil {
			v.Errors = append(v.Errors, *fe)
		} else {
			av.Signal = &g
		}
	}
	if v.Form == nil {
		v.Form = r.Form
	}
	v.Title, v.Data = web.M("申请社会救助（一件事）", "Apply for social assistance"), av
	h.pages.Render(w, r, status, "apply", v)
}

// fen reads an amount in yuan ("1,120.50") from a form as fen; empty is
// nil (not declared).
func fen(form string, field string) (*int64, *fault.FieldError) {
	s := strings.ReplaceAll(strings.TrimSpace(form), ",", "")
	if s == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f > 1e9 || f < -1e9 {
		fe := fault.Field(field, fault.M("请填写金额（元）", "give an amount in yuan"))
		return nil, &fe
	}
	v := int64(f*100 + map[bool]float64{true: 0.5, false: -0.5}[f >= 0])
	return &v, nil
}

func (h *handlers) postApply(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	in := ApplyInput{HouseholdID: r.FormValue("household_id"), Source: r.FormValue("source"), Programmes: r.Form["programme"], Consent: r.FormValue("consent") == "yes", Housing: r.FormValue("housing") == "yes"}
	var fields []fault.FieldError
	var fe *fault.FieldError
	if in.IncomeFen, fe = fen(r.FormValue("income"), "income_fen"); fe != nil {
		fields = append(fields, *fe)
	}
	if in.AssetsFen, fe = fen(r.FormValue("assets"), "assets_fen"); fe != nil {
		fields = append(fields, *fe)
	}
	for _, id := range r.Form["member"] {
		in.Members = append(in.Members, MemberInput{ResidentID: id, Disability: r.FormValue("disability-" + id), Ill: r.FormValue("ill-"+id) == "yes",
			Student: r.FormValue("student-"+id) == "yes", Unemployed: r.FormValue("unemployed-"+id) == "yes"})
	}
	var a Application
	var err error
	if len(fields) > 0 {
		err = invalid(fields...)
	} else {
		a, err = h.store.Apply(r.Context(), in)
	}
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code != fault.CodeForbidden {
			h.pageApply(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.Form})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/assistance/applications/"+a.ID+"?applied=1", http.StatusSeeOther)
}

type appView struct {
	App       Application
	Names     map[string]fault.Msg
	Plausible string // names joined, for the sentence
	Actions   []action
	Worker    bool
	Payments  []Payment // the household's payment history
}

type action struct {
	Key      string
	Label    fault.Msg
	Field    string // the text field it needs: note or reason
	Required bool
	Money    bool // the check's income and assets
	Account  bool // enrolment's bank account for the payments
}

func (h *handlers) pageApp(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	a, err := h.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	progs, err := h.store.Programmes(r.Context(), a.County)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names := map[string]fault.Msg{}
	for _, p := range progs {
		names[p.Code] = p.Name()
	}
	var pz, pe []string
	for _, c := range a.Plausible {
		pz, pe = append(pz, names[c].ZH), append(pe, names[c].EN)
	}
	p := access.From(r.Context())
	av := appView{App: a, Names: names, Worker: p.Role != access.Resident}
	if len(pz) > 0 {
		av.Plausible = fault.M(strings.Join(pz, "、"), strings.Join(pe, ", ")).In(web.Lang(r))
	}
	for _, k := range StepOrder {
		st := Steps[k]
		ok := false
		for _, f := range st.from {
			ok = ok || f == a.Status
		}
		if !ok || permit(p, a, k) != nil {
			continue
		}
		ac := action{Key: k, Label: st.label, Field: "note"}
		switch k {
		case "refuse", "appeal", "exit":
			ac.Field, ac.Required = "reason", true
		case "publicize", "object", "review":
			ac.Required = true
		case "checked":
			ac.Money = true
		case "enrol":
			ac.Account = true
		}
		av.Actions = append(av.Actions, ac)
	}
	if av.Payments, err = h.store.HouseholdPayments(r.Context(), a.HouseholdID); err != nil {
		h.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("applied") == "1" {
		v.Notice = web.M("申请已提交。", "Your application is submitted.")
	}
	v.Title, v.Data = web.M("救助申请", "Assistance application"), av
	h.pages.Render(w, r, status, "application", v)
}

func (h *handlers) postMove(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	id, act := r.PathValue("id"), r.PathValue("action")
	in := Input{Note: r.FormValue("note"), Reason: r.FormValue("reason"), AccountHolder: r.FormValue("account_holder"), BankAccount: r.FormValue("bank_account")}
	in.Version, _ = strconv.Atoi(r.FormValue("version"))
	var fe *fault.FieldError
	var err error
	if in.IncomeFen, fe = fen(r.FormValue("income"), "income_fen"); fe == nil {
		in.AssetsFen, fe = fen(r.FormValue("assets"), "assets_fen")
	}
	if fe != nil {
		err = invalid(*fe)
	} else {
		_, err = h.store.Transition(r.Context(), id, act, in)
	}
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code != fault.CodeNotFound {
			h.pageApp(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.Form})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/assistance/applications/"+id, http.StatusSeeOther)
}

type watchView struct {
	Timeliness Timeliness
	Items      []Signal
	Total      int
	Capped     bool
	Empty      fault.Msg
}

// WatchPageSize is how many signals the monitoring page shows.
const WatchPageSize = 50

func (h *handlers) pageWatch(w http.ResponseWriter, r *http.Request) {
	items, n, err := h.store.WatchRead(r.Context(), access.From(r.Context()), WatchPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.store.WatchTimeliness(r.Context(), access.From(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := watchView{Items: items, Total: n, Capped: n >= ListCountCap, Empty: fault.M("没有待核实的家庭", "No household to review"), Timeliness: t}
	view := web.View{Title: web.M("动态监测：主动发现", "Monitoring: households found"), Data: v}
	if r.URL.Query().Get("dismissed") == "1" {
		view.Notice = web.M("预警已忽略。", "The warning is dismissed.")
	}
	h.pages.Render(w, r, 200, "watch", view)
}
