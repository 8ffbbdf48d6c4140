package volunteers

import (
	"context"
	"embed"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/questions"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// RegisterPages adds the pages: every one works without JavaScript.
func (h *Handlers) RegisterPages(rt *web.Router) {
	rt.Page("GET /volunteers", h.pageDashboard)
	rt.Page("POST /volunteers/{id}/verify", h.postVerify)
	rt.Page("GET /volunteers/me", func(w http.ResponseWriter, r *http.Request) { h.pageMe(w, r, 200, web.View{}) })
	rt.Page("POST /volunteers/me", h.postRegister)
	rt.Page("POST /volunteers/me/certificate", h.postCertificate)
	rt.Public("GET /volunteers/activities", h.pageActivities)
	rt.Page("GET /volunteers/activities/new", func(w http.ResponseWriter, r *http.Request) { h.pageNewActivity(w, r, 200, web.View{}) })
	rt.Page("POST /volunteers/activities/new", h.postNewActivity)
	rt.Public("GET /volunteers/activities/{id}", h.pageActivity)
	rt.Page("POST /volunteers/activities/{id}/signup", h.postSignUp)
	rt.Page("POST /volunteers/activities/{id}/cancel", h.postCancel)
	rt.Page("GET /volunteers/activities/{id}/attendance", h.pageAttendance)
	rt.Page("POST /volunteers/activities/{id}/attendance", h.postAttendance)
	rt.Page("GET /volunteers/shop", func(w http.ResponseWriter, r *http.Request) { h.pageShop(w, r, 200, web.View{}) })
	rt.Page("POST /volunteers/shop/redeem", h.postRedeem)
	rt.Page("POST /volunteers/shop/items", h.postItem)
	rt.Public("GET /volunteers/verify", h.pageVerify)
	h.registerSeriesPages(rt)
	h.registerPartyPages(rt)
	h.registerPairPages(rt)
	h.registerFundPages(rt)
}

func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	if we, ok := fault.As(err); ok {
		h.Pages.Render(w, r, web.Status(we), "message", web.View{Title: web.M("无法完成", "Cannot do that"), Alert: we.Msg, Errors: we.Fields})
		return
	}
	web.Logger(r.Context()).Error("volunteers page", "err", err.Error())
	h.Pages.Render(w, r, 500, "message", web.View{Title: web.M("出错了", "Error"), Alert: web.M("服务器内部错误，请稍后重试", "internal server error, please try again later")})
}

// formError shows a form again with its field errors, or fails.
func (h *Handlers) formError(w http.ResponseWriter, r *http.Request, err error, again func(status int, v web.View)) {
	if we, ok := fault.As(err); ok && (we.Code == fault.CodeInvalid || len(we.Fields) > 0) {
		again(web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
		return
	}
	h.fail(w, r, err)
}

func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fault.Invalid(web.M("表单无效", "invalid form"))
	}
	return nil
}

// Choice is a list option for a template, checked or not.
type Choice struct {
	Key     string
	Name    web.Msg
	Checked bool
}

func choices(opts []option, chosen []string) []Choice {
	out := make([]Choice, len(opts))
	for i, o := range opts {
		out[i] = Choice{o.Key, web.M(o.ZH, o.EN), contains(chosen, o.Key)}
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// SkillName is a skill key in words.
func SkillName(key string) web.Msg {
	for _, opts := range [][]option{skillOptions, availabilityOptions, languageOptions} {
		for _, o := range opts {
			if o.Key == key {
				return web.M(o.ZH, o.EN)
			}
		}
	}
	return web.M(key, key)
}

// StarText is a star count as stars (★★★☆☆).
func StarText(n int) string {
	out := ""
	for i := 1; i <= 5; i++ {
		if i <= n {
			out += "★"
		} else {
			out += "☆"
		}
	}
	return out
}

// StatusName is a sign-up status in words.
func (m MyActivity) StatusName() web.Msg { return signupWords(m.Status, m.Attendance) }

// StatusName is a sign-up status in words.
func (s Signup) StatusName() web.Msg { return signupWords(s.Status, s.Attendance) }

func signupWords(status, attendance string) web.Msg {
	switch {
	case attendance == Present:
		return web.M("已签到", "Attended")
	case attendance == Absent:
		return web.M("缺席", "Absent")
	case status == SignedUp:
		return web.M("已报名", "Signed up")
	case status == Waitlisted:
		return web.M("候补中", "Waitlisted")
	}
	return web.M("已取消", "Cancelled")
}

type meView struct {
	V            Volunteer
	Registered   bool
	Linked       bool
	Skills       []Choice
	Availability []Choice
	Languages    []Choice
	Next         int // the next star's threshold in hours (0: five stars)
	Mine         []MyActivity
	Nearby       []Activity
	Pairs        []Pair // active pairs (结对探访)
	Done         string
}

// pageMe is the volunteer's phone page: a registration form until they
// register, then their hours and stars, points, activities and the
// activities open near them.
func (h *Handlers) pageMe(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	if p.Role != access.Resident {
		http.Redirect(w, r, "/volunteers", http.StatusSeeOther)
		return
	}
	mv := meView{Done: r.URL.Query().Get("done")}
	me, err := h.Store.Mine(ctx)
	switch {
	case err == nil:
		mv.V, mv.Registered, mv.Linked = me, true, true
	case err == errNoVolunteer:
		var n int
		if err := h.Store.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM registry_people WHERE username = $1 AND username <> ''`, p.Username).Scan(&n); err != nil {
			h.fail(w, r, err)
			return
		}
		mv.Linked = n > 0
	default:
		h.fail(w, r, err)
		return
	}
	f := v.Form
	if f == nil && mv.Registered {
		f = url.Values{"skills": me.Skills, "availability": me.Availability, "languages": me.Languages}
	}
	mv.Skills, mv.Availability, mv.Languages = choices(skillOptions, f["skills"]), choices(availabilityOptions, f["availability"]), choices(languageOptions, f["languages"])
	if mv.Registered {
		levels, err := h.Store.StarLevels(ctx)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		mv.Next = nextLevel(levels, me.Stars)
		if mv.Mine, err = h.Store.MyActivities(ctx, 20); err != nil {
			h.fail(w, r, err)
			return
		}
		if mv.Pairs, err = h.Store.Pairs(ctx, PairFilter{Status: "active", Limit: 20}); err != nil {
			h.fail(w, r, err)
			return
		}
		near := me.Division
		if len(near) > 9 {
			near = near[:9] // the township
		}
		if mv.Nearby, err = h.Store.Activities(ctx, ActivityFilter{Division: near, Open: true, Limit: 10}); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	v.Title, v.Data = web.M("我的志愿服务", "My volunteering"), mv
	h.Pages.Render(w, r, status, "me", v)
}

func (h *Handlers) postRegister(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := r.PostForm
	in := VolunteerInput{Skills: f["skills"], Availability: f["availability"], Languages: f["languages"], Drives: f.Get("drives") == "yes",
		PartyMember: f.Get("party_member") == "yes", PartyBranch: f.Get("party_branch")}
	if _, err := h.Store.Register(r.Context(), in); err != nil {
		h.formError(w, r, err, func(status int, v web.View) { h.pageMe(w, r, status, v) })
		return
	}
	http.Redirect(w, r, "/volunteers/me?done=registered", http.StatusSeeOther)
}

func (h *Handlers) postCertificate(w http.ResponseWriter, r *http.Request) {
	c, err := h.Store.IssueCertificate(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/volunteers/verify?code="+url.QueryEscape(c.Code), http.StatusSeeOther)
}

type activitiesView struct {
	Items  []Activity
	First  string
	Next   string
	Signed bool
}

// pageActivities is the public list of activities open for sign-up, by
// start time, paged by key.
func (h *Handlers) pageActivities(w http.ResponseWriter, r *http.Request) {
	f := ActivityFilter{Open: true, Limit: 21}
	cur := r.URL.Query().Get("cursor")
	if cur != "" {
		key, err := keyset.Open(h.Keys, cur, listActivities, 1)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		f.After = key[0]
	}
	if d := r.URL.Query().Get("division"); d != "" {
		f.Division = d
	}
	as, err := h.Store.Activities(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := activitiesView{Items: as, Signed: access.From(r.Context()) != nil}
	next := ""
	if len(as) > 20 {
		v.Items = as[:20]
		next = keyset.Seal(h.Keys, listActivities, as[19].Cursor())
	}
	v.First, v.Next = keyset.Links(r, cur, next)
	h.Pages.Render(w, r, 200, "activities", web.View{Title: web.M("正在招募的志愿活动", "Activities open for sign-up"), Data: v})
}

type activityView struct {
	A         Activity
	Resident  bool
	Manager   bool
	CanSignUp bool
	CanCancel bool
	Result    string
	Place     string
}

func (h *Handlers) pageActivity(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a, err := h.Store.Activity(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := access.From(ctx)
	open := h.Store.Now().Before(a.Cutoff) && !a.Cancelled()
	v := activityView{A: a, Resident: p != nil && p.Role == access.Resident, Manager: manager(p, a.Division), Result: r.URL.Query().Get("done")}
	v.CanSignUp = v.Resident && open && (a.Mine == "" || a.Mine == Cancelled)
	v.CanCancel = v.Resident && open && (a.Mine == SignedUp || a.Mine == Waitlisted)
	if d, err := h.Store.Divs.Get(ctx, a.Division); err == nil {
		v.Place = d.Name
	}
	h.Pages.Render(w, r, 200, "activity", web.View{Title: web.M(a.Title, a.Title), Data: v,
		Crumbs: []web.Crumb{{Href: "/volunteers/activities", Label: web.M("志愿活动", "Activities")}, {Label: web.M(a.Title, a.Title)}}})
}

func (h *Handlers) postSignUp(w http.ResponseWriter, r *http.Request) {
	res, err := h.Store.SignUp(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/volunteers/activities/"+url.PathEscape(res.ActivityID)+"?done="+res.Status, http.StatusSeeOther)
}

func (h *Handlers) postCancel(w http.ResponseWriter, r *http.Request) {
	if err := h.Store.Cancel(r.Context(), r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/volunteers/activities/"+url.PathEscape(r.PathValue("id"))+"?done=cancelled", http.StatusSeeOther)
}

type attendanceView struct {
	A      Activity
	Rows   []Signup
	Result *AttendanceResult
	OnDay  bool
}

// pageAttendance is the organiser's tick list: the confirmed volunteers,
// each a check box; unticked ones are recorded absent.
func (h *Handlers) pageAttendance(w http.ResponseWriter, r *http.Request) {
	h.attendance(w, r, 200, web.View{}, nil)
}

func (h *Handlers) attendance(w http.ResponseWriter, r *http.Request, status int, v web.View, res *AttendanceResult) {
	a, rows, err := h.Store.Roster(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	av := attendanceView{A: a, Rows: rows, Result: res, OnDay: h.Store.today() >= a.StartsAt.In(questions.CST).Format("2006-01-02")}
	v.Title, v.Data = web.M("签到确认："+a.Title, "Attendance: "+a.Title), av
	v.Crumbs = []web.Crumb{{Href: "/volunteers", Label: web.M("志愿服务", "Volunteering")}, {Href: "/volunteers/activities/" + a.ID, Label: web.M(a.Title, a.Title)}, {Label: web.M("签到确认", "Attendance")}}
	h.Pages.Render(w, r, status, "attendance", v)
}

func (h *Handlers) postAttendance(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.Store.Attendance(r.Context(), r.PathValue("id"), AttendanceInput{Present: r.PostForm["present"]})
	if err != nil {
		h.formError(w, r, err, func(status int, v web.View) { h.attendance(w, r, status, v, nil) })
		return
	}
	h.attendance(w, r, 200, web.View{Notice: web.M("已确认签到，新记入 "+strconv.Itoa(res.Credited)+" 人的时长", "Attendance confirmed: "+strconv.Itoa(res.Credited)+" credited")}, &res)
}

type newActivityView struct {
	Stations []station
}

type station struct{ ID, Name string }

func (h *Handlers) stations(ctx context.Context, div string) ([]station, error) {
	sc := access.Subtree(div)
	return db.Collect(ctx, h.Store.DB.R, func(r db.Scanner) (station, error) {
		var s station
		return s, r.Scan(&s.ID, &s.Name)
	}, `SELECT id, name FROM registry_facility_cards WHERE category = 'volunteer_station' AND status = 'open' AND division_code >= $1 AND division_code < $2 ORDER BY name, id LIMIT 100`, sc.Lo, sc.Hi)
}

func (h *Handlers) pageNewActivity(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	p := access.From(r.Context())
	if !manager(p, p.Division) {
		h.fail(w, r, fault.Forbidden(fault.M("只有社区工作者、干部可以发布活动", "only community workers and officers post activities")))
		return
	}
	ss, err := h.stations(r.Context(), p.Division)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if v.Form == nil {
		start := h.Store.Now().In(questions.CST).AddDate(0, 0, 7).Truncate(time.Hour)
		v.Form = url.Values{"hours": {"2"}, "slots": {"10"}, "min_age": {"16"}, "points": {"20"}, "time_bank": {"yes"},
			"starts_at": {start.Format("2006-01-02T15:04")}, "ends_at": {start.Add(2 * time.Hour).Format("2006-01-02T15:04")}, "cutoff": {start.Add(-24 * time.Hour).Format("2006-01-02T15:04")}}
	}
	v.Title, v.Data = web.M("发布志愿活动", "Post an activity"), newActivityView{Stations: ss}
	v.Crumbs = []web.Crumb{{Href: "/volunteers", Label: web.M("志愿服务", "Volunteering")}, {Label: v.Title}}
	h.Pages.Render(w, r, status, "newactivity", v)
}

func (h *Handlers) postNewActivity(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := r.PostForm
	num := func(k string) float64 { x, _ := strconv.ParseFloat(f.Get(k), 64); return x }
	in := ActivityInput{StationID: f.Get("station_id"), Title: f.Get("title"), Description: f.Get("description"), Place: f.Get("place"),
		StartsAt: f.Get("starts_at"), EndsAt: f.Get("ends_at"), Cutoff: f.Get("cutoff"), Hours: num("hours"), Points: int64(num("points")),
		Slots: int(num("slots")), MinAge: int(num("min_age")), TimeBank: f.Get("time_bank") == "yes"}
	a, err := h.Store.PostActivity(r.Context(), in)
	if err != nil {
		h.formError(w, r, err, func(status int, v web.View) { h.pageNewActivity(w, r, status, v) })
		return
	}
	http.Redirect(w, r, "/volunteers/activities/"+a.ID+"?done=posted", http.StatusSeeOther)
}

type dashboardView struct {
	D       Dashboard
	Pending []Volunteer
	List    []Volunteer
	First   string
	Next    string
	Coming  []Activity
	Done    string // verified or rejected, after a decision
}

// pageDashboard is the community's volunteer and points dashboard.
func (h *Handlers) pageDashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := access.From(ctx)
	if p.Role == access.Resident {
		http.Redirect(w, r, "/volunteers/me", http.StatusSeeOther)
		return
	}
	if !manager(p, p.Division) {
		h.fail(w, r, fault.Forbidden(fault.M("只有社区工作者、干部可以查看志愿服务台账", "only community workers and officers see this")))
		return
	}
	var v dashboardView
	cur := r.URL.Query().Get("cursor")
	after := ""
	if cur != "" {
		key, err := keyset.Open(h.Keys, cur, listVolunteers, 1)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		after = key[0]
	}
	var err error
	if v.D, v.Pending, v.List, err = h.Store.DashboardPage(ctx, p.Division, after); err != nil {
		h.fail(w, r, err)
		return
	}
	next := ""
	if len(v.List) > 20 {
		v.List = v.List[:20]
		next = keyset.Seal(h.Keys, listVolunteers, v.List[19].Cursor())
	}
	v.First, v.Next = keyset.Links(r, cur, next)
	today := h.Store.Now().In(questions.CST).Truncate(24 * time.Hour)
	if v.Coming, err = h.Store.Activities(ctx, ActivityFilter{Division: p.Division, From: today.Add(-24 * time.Hour), Limit: 10}); err != nil {
		h.fail(w, r, err)
		return
	}
	v.Done = r.URL.Query().Get("done")
	h.Pages.Render(w, r, 200, "dashboard", web.View{Title: web.M("志愿服务与积分", "Volunteers and points"), Data: v})
}

func (h *Handlers) postVerify(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	approve := r.PostForm.Get("decision") != "reject"
	if _, err := h.Store.Verify(r.Context(), r.PathValue("id"), approve); err != nil {
		h.fail(w, r, err)
		return
	}
	done := "verified"
	if !approve {
		done = "rejected"
	}
	http.Redirect(w, r, "/volunteers?done="+done, http.StatusSeeOther)
}

type shopView struct {
	Items    []Item
	Points   int64
	Resident bool
	First    string
	Next     string
	Done     *Redemption
}

func (h *Handlers) pageShop(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	sv := shopView{Resident: p.Role == access.Resident}
	if sv.Resident {
		me, err := h.Store.Mine(ctx)
		if err != nil {
			h.fail(w, r, fault.Conflict(fault.M("请先登记成为志愿者", "register as a volunteer first")))
			return
		}
		sv.Points = me.Points
	} else if !manager(p, p.Division) {
		h.fail(w, r, fault.Forbidden(fault.M("只有社区工作者、干部可以管理积分超市", "only community workers and officers manage the shop")))
		return
	}
	var name, id string
	cur := r.URL.Query().Get("cursor")
	if cur != "" {
		key, err := keyset.Open(h.Keys, cur, listItems, 2)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		name, id = key[0], key[1]
	}
	items, err := h.Store.Items(ctx, "", name, id, 21)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	next := ""
	if len(items) > 20 {
		items = items[:20]
		next = keyset.Seal(h.Keys, listItems, items[19].Name, items[19].ID)
	}
	sv.Items = items
	sv.First, sv.Next = keyset.Links(r, cur, next)
	if id := r.URL.Query().Get("redeemed"); id != "" {
		if red, err := h.Store.redemption(ctx, id); err == nil {
			sv.Done = &red
		}
	}
	v.Title, v.Data = web.M("积分超市", "Points shop"), sv
	h.Pages.Render(w, r, status, "shop", v)
}

func (h *Handlers) postRedeem(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	red, err := h.Store.Redeem(r.Context(), RedeemInput{ItemID: r.PostForm.Get("item_id"), ResidentID: r.PostForm.Get("resident_id")})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Redirected, so that reloading the page does not redeem again.
	http.Redirect(w, r, "/volunteers/shop?redeemed="+url.QueryEscape(red.ID), http.StatusSeeOther)
}

func (h *Handlers) postItem(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := r.PostForm
	pts, _ := strconv.ParseInt(f.Get("points"), 10, 64)
	stock, _ := strconv.Atoi(f.Get("stock"))
	if _, err := h.Store.AddItem(r.Context(), ItemInput{Name: f.Get("name"), Points: pts, Stock: stock}); err != nil {
		h.formError(w, r, err, func(status int, v web.View) { h.pageShop(w, r, status, v) })
		return
	}
	http.Redirect(w, r, "/volunteers/shop", http.StatusSeeOther)
}

type verifyView struct {
	Code  string
	C     *Certificate
	Asked bool
}

// pageVerify is the public certificate check: a code in, the certificate
// (or "no such certificate") out; the same page prints the certificate.
func (h *Handlers) pageVerify(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	v := verifyView{Code: code, Asked: code != ""}
	view := web.View{Title: web.M("志愿服务时长证明核验", "Verify a certificate of service hours")}
	if code != "" {
		c, err := h.Store.VerifyCertificate(r.Context(), code)
		if we, ok := fault.As(err); ok {
			view.Alert, view.Errors = we.Msg, we.Fields
			view.Data = v
			h.Pages.Render(w, r, web.Status(we), "verify", view)
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v.C = &c
	}
	view.Data = v
	h.Pages.Render(w, r, 200, "verify", view)
}

// SkillNames are the volunteer's skills in words.
func (v Volunteer) SkillNames() []web.Msg {
	out := make([]web.Msg, len(v.Skills))
	for i, k := range v.Skills {
		out[i] = SkillName(k)
	}
	return out
}

// StarText is the volunteer's stars drawn (★★★☆☆).
func (v Volunteer) StarText() string { return StarText(v.Stars) }
