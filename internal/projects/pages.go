package projects

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/web"
)

func (h *handlers) registerPages(rt *web.Router) {
	rt.Page("GET /projects", h.pageList)
	rt.Page("GET /projects/new", func(w http.ResponseWriter, r *http.Request) { h.pageNew(w, r, 200, web.View{}) })
	rt.Page("POST /projects/new", h.postNew)
	rt.Page("GET /projects/mine", func(w http.ResponseWriter, r *http.Request) { h.pageMine(w, r, 200, web.View{}) })
	rt.Page("GET /projects/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageProject(w, r, 200, web.View{}) })
	rt.Page("POST /projects/{id}/apply", h.postApply)
	rt.Page("POST /projects/{id}/applications/{app}/score", h.postScore)
	rt.Page("POST /projects/{id}/award", h.postAward)
	rt.Page("POST /projects/{id}/evaluation", h.postEvaluate)
	rt.Page("GET /projects/records", h.pageRecords)
	rt.Page("POST /projects/{id}/milestones/{m}/{action}", h.postMove)
}

func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	if we, ok := fault.As(err); ok {
		h.pages.Render(w, r, web.Status(we), "message", web.View{Title: web.M("无法完成", "Cannot do that"), Alert: we.Msg})
		return
	}
	web.Logger(r.Context()).Error("projects page", "err", err.Error())
	h.pages.Render(w, r, 500, "message", web.View{Title: web.M("出错了", "Error"), Alert: web.M("服务器内部错误，请稍后重试", "internal server error, please try again later")})
}

// refill shows a form again with a refusal's field errors; false when
// the refusal has none (the caller shows it on its own).
func refill(err error, v *web.View, form url.Values) (int, bool) {
	we, ok := fault.As(err)
	if !ok || len(we.Fields) == 0 {
		return 0, false
	}
	v.Alert, v.Errors, v.Form = we.Msg, we.Fields, form
	for i, e := range v.Errors {
		if e.Field == "budget_fen" { // the pages' forms take it in yuan as "budget"
			v.Errors[i].Field = "budget"
		}
	}
	return web.Status(we), true
}

var statusNames = map[string]fault.Msg{
	Open: fault.M("申报中", "Open"), Awarded: fault.M("执行中", "Under contract"), Completed: fault.M("已完成", "Completed"),
	Submitted: fault.M("已申报", "Submitted"), NotAwarded: fault.M("未中标", "Not awarded"),
	Pending: fault.M("待报告", "To report"), Reported: fault.M("待审核", "To review"), Returned: fault.M("已退回", "Returned"),
	Accepted: fault.M("已通过，待拨付", "Accepted, to pay"), Paid: fault.M("已拨付", "Paid"),
}

func statusTag(status string, closed bool) web.Tag {
	if status == Open && closed {
		return web.Tag{Tone: web.ToneWarn, Label: fault.M("已截止，评审中", "Closed, under review")}
	}
	tone := map[string]web.Tone{Open: web.ToneInfo, Awarded: web.ToneWarn, Completed: web.ToneOK, Submitted: web.ToneInfo, Won: web.ToneOK, NotAwarded: web.ToneMuted,
		Pending: web.ToneInfo, Reported: web.ToneWarn, Returned: web.ToneBad, Accepted: web.ToneWarn, Paid: web.ToneOK}[status]
	label, ok := statusNames[status]
	if status == Won {
		label, ok = fault.M("中标", "Awarded"), true
	}
	if !ok {
		label = fault.M(status, status)
	}
	return web.Tag{Tone: tone, Label: label}
}

// StatusTag is the project's state as a tag.
func (p Project) StatusTag() web.Tag { return statusTag(p.Status, p.Closed) }

// Budget is the budget in yuan.
func (p Project) Budget() string { return Yuan(p.BudgetFen) }

// StatusTag is the application's state as a tag.
func (a Application) StatusTag() web.Tag { return statusTag(a.Status, false) }

// Budget is the budget asked, in yuan.
func (a Application) Budget() string { return Yuan(a.BudgetFen) }

// TotalText is the panel's average weighted total with two decimals
// ("—" unscored).
func (a Application) TotalText() string {
	if a.Scorers == 0 {
		return "—"
	}
	return fmt.Sprintf("%d.%02d", a.Total/100, a.Total%100)
}

// StatusTag is the milestone's state as a tag.
func (m Milestone) StatusTag() web.Tag { return statusTag(m.Status, false) }

// Amount is the milestone's amount in yuan.
func (m Milestone) Amount() string { return Yuan(m.AmountFen) }

// Amount is the contract's amount in yuan.
func (c Contract) Amount() string { return Yuan(c.AmountFen) }

type tab struct {
	Key   string
	Label fault.Msg
}

type listView struct {
	Items    []Project
	Status   string
	Kind     string
	Tabs     []tab
	KindTabs []tab
	Pager    web.Pager
	Officer  bool
	Empty    fault.Msg
}

func (h *handlers) pageList(w http.ResponseWriter, r *http.Request) {
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status, kind := r.URL.Query().Get("status"), r.URL.Query().Get("kind")
	out, err := h.store.List(r.Context(), status, kind, pg.Page, pg.PageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := listView{Items: out.Items, Status: status, Kind: kind, KindTabs: []tab{{"", fault.M("全部类型", "All kinds")}, {KindPurchase, kindNames[KindPurchase]}, {KindVenture, kindNames[KindVenture]}}, Pager: web.NewPager(r, pg, out.Total), Officer: officer(access.From(r.Context())),
		Tabs:  []tab{{"", fault.M("全部", "All")}, {Open, statusNames[Open]}, {Awarded, statusNames[Awarded]}, {Completed, statusNames[Completed]}},
		Empty: fault.M("暂无购买服务项目", "No purchased-service project yet")}
	h.pages.Render(w, r, 200, "list", web.View{Title: web.M("购买服务项目", "Purchased-service projects"), Data: v})
}

// pickerField is the new-project form's division picker.
const pickerField = "division_code"

type newView struct {
	Picker   template.HTML
	Kinds    []tab
	Ratings  []string
	Criteria []int // the criteria rows' indexes
}

func (h *handlers) pageNew(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	p := access.From(r.Context())
	if !officer(p) {
		h.fail(w, r, errOfficer)
		return
	}
	if v.Form == nil {
		v.Form = url.Values{}
		// A first showing offers the usual criteria.
		for i, c := range []Criterion{{"服务方案的针对性与可行性", 40}, {"机构能力与过往绩效", 30}, {"预算合理性", 30}} {
			v.Form.Set(fmt.Sprintf("c%d_name", i), c.Name)
			v.Form.Set(fmt.Sprintf("c%d_weight", i), strconv.Itoa(c.Weight))
		}
	}
	pk, err := h.store.Divs.ReadPicker(r.Context(), v.Form, pickerField, p.Division)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pk.Label = fault.M("服务区域", "Area served")
	v.Title = web.M("发布购买服务项目", "Publish a purchased-service project")
	v.Crumbs = []web.Crumb{{Href: "/projects", Label: web.M("购买服务项目", "Purchased-service projects")}, {Label: web.M("发布项目", "Publish")}}
	v.Data = newView{Picker: pk.HTML(web.Lang(r)), Kinds: []tab{{KindPurchase, kindNames[KindPurchase]}, {KindVenture, kindNames[KindVenture]}}, Ratings: Ratings, Criteria: []int{0, 1, 2, 3}}
	h.pages.Render(w, r, status, "new", v)
}

func (h *handlers) postNew(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, err)
		return
	}
	pk, err := h.store.Divs.ReadPicker(r.Context(), r.PostForm, pickerField, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if pk.Pending() {
		h.pageNew(w, r, 200, web.View{Form: r.PostForm})
		return
	}
	f := r.PostForm
	in := ProjectInput{Kind: f.Get("kind"), Division: pk.Code(), Title: f.Get("title"), Need: f.Get("need"), PeriodFrom: f.Get("period_from"), PeriodTo: f.Get("period_to"),
		MinRating: f.Get("min_rating"), Deadline: f.Get("deadline"), Targets: strings.Split(f.Get("targets"), "\n")}
	if pk.Error != "" {
		in.Division = ""
	}
	in.BudgetFen = -1 // refused by Create when not yuan
	if fen, ok := parseYuan(f.Get("budget")); ok {
		in.BudgetFen = fen
	}
	for _, k := range CountedKinds {
		g := strings.TrimSpace(f.Get("goal_" + k))
		if g == "" {
			continue
		}
		n, err := strconv.Atoi(g)
		if err != nil {
			n = -1
		}
		in.Counted = append(in.Counted, CountedTarget{Kind: k, Goal: n})
	}
	for i := 0; i < 4; i++ {
		wt, err := strconv.Atoi(strings.TrimSpace(f.Get(fmt.Sprintf("c%d_weight", i))))
		if err != nil && strings.TrimSpace(f.Get(fmt.Sprintf("c%d_weight", i))) != "" {
			wt = -1
		}
		in.Criteria = append(in.Criteria, Criterion{Name: f.Get(fmt.Sprintf("c%d_name", i)), Weight: wt})
	}
	pr, err := h.store.Create(r.Context(), in)
	if err != nil {
		v := web.View{}
		st, ok := refill(err, &v, r.PostForm)
		if !ok {
			h.fail(w, r, err)
			return
		}
		for i, e := range v.Errors { // counted.N.x names the Nth goal filled
			var n int
			if _, err := fmt.Sscanf(e.Field, "counted.%d.", &n); err == nil && n < len(in.Counted) {
				v.Errors[i].Field = "goal_" + in.Counted[n].Kind
			}
		}
		h.pageNew(w, r, st, v)
		return
	}
	http.Redirect(w, r, "/projects/"+pr.ID+"?done=1", http.StatusSeeOther)
}

// projectView is the project page: what the reader may do in the
// project's state, and which one action is primary (an id or a form).
type projectView struct {
	P        Project
	Officer  bool // manages this project
	Provider bool
	CanApply bool
	CanScore bool
	CanAward bool
	CanEval  bool // completed and not yet evaluated
	Scored   []Application
	Rows     []int // the award form's milestone rows
	Primary  string
}

func (h *handlers) pageProject(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	pr, err := h.store.Get(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := access.From(ctx)
	pv := projectView{P: pr, Officer: manages(p, pr.Division), Provider: p.Role == access.Provider, Rows: []int{0, 1, 2}}
	if pv.Provider && pr.Status == Open && !pr.Closed && len(pr.Applications) == 0 {
		org, err := h.store.orgOf(ctx, p)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		pv.CanApply = org.Manager // the other staff read the project
	}
	pv.CanScore = pv.Officer && pr.Status == Open && pr.Closed
	for _, a := range pr.Applications {
		if a.Scorers > 0 {
			pv.Scored = append(pv.Scored, a)
		}
	}
	pv.CanAward = pv.CanScore && len(pv.Scored) > 0
	pv.CanEval = pv.Officer && pr.Status == Completed && pr.Evaluation == nil
	// The page's one primary action: apply, award, or the first milestone
	// waiting on the officer.
	switch {
	case pv.CanApply:
		pv.Primary = "apply"
	case pv.CanAward:
		pv.Primary = "award"
	case pv.CanEval:
		pv.Primary = "evaluate"
	case pv.Officer && pr.Contract != nil:
		for _, m := range pr.Contract.Milestones {
			if m.Status == Reported || m.Status == Accepted {
				pv.Primary = m.ID
				break
			}
		}
	}
	if r.URL.Query().Get("done") != "" && v.Notice.ZH == "" && v.Alert.ZH == "" {
		v.Notice = web.M("已办理。", "Done.")
	}
	if v.Form == nil {
		v.Form = url.Values{}
	}
	v.Title, v.Data = web.M(pr.Title, pr.Title), pv
	v.Crumbs = []web.Crumb{{Href: "/projects", Label: web.M("购买服务项目", "Purchased-service projects")}, {Label: web.M(pr.Title, pr.Title)}}
	h.pages.Render(w, r, status, "project", v)
}

func (h *handlers) postApply(w http.ResponseWriter, r *http.Request) {
	in := ApplyInput{Proposal: r.FormValue("proposal")}
	fen, ok := parseYuan(r.FormValue("budget"))
	if !ok {
		fen = -1
	}
	in.BudgetFen = fen
	if _, err := h.store.Apply(r.Context(), r.PathValue("id"), in); err != nil {
		v := web.View{}
		st, ok := refill(err, &v, r.PostForm)
		if !ok {
			h.fail(w, r, err)
			return
		}
		h.pageProject(w, r, st, v)
		return
	}
	http.Redirect(w, r, "/projects/"+r.PathValue("id")+"?done=1", http.StatusSeeOther)
}

func (h *handlers) postScore(w http.ResponseWriter, r *http.Request) {
	var in ScoreInput
	for i := 0; i < 8; i++ {
		s, has := r.PostForm[fmt.Sprintf("s%d", i)]
		if !has {
			break
		}
		n, err := strconv.Atoi(strings.TrimSpace(s[0]))
		if err != nil {
			n = -1
		}
		in.Scores = append(in.Scores, n)
	}
	if _, err := h.store.Score(r.Context(), r.PathValue("id"), r.PathValue("app"), in); err != nil {
		v := web.View{}
		st, ok := refill(err, &v, r.PostForm)
		if !ok {
			h.fail(w, r, err)
			return
		}
		app := r.PathValue("app")
		for i := range v.Errors {
			v.Errors[i].Field = app + "-" + strings.ReplaceAll(v.Errors[i].Field, ".", "-")
		}
		h.pageProject(w, r, st, v)
		return
	}
	http.Redirect(w, r, "/projects/"+r.PathValue("id")+"?done=1", http.StatusSeeOther)
}

func (h *handlers) postAward(w http.ResponseWriter, r *http.Request) {
	in := AwardInput{ApplicationID: r.FormValue("application_id")}
	var pre []fault.FieldError
	for i := 0; i < 3; i++ {
		title, amount, due := strings.TrimSpace(r.FormValue(fmt.Sprintf("m%d_title", i))), strings.TrimSpace(r.FormValue(fmt.Sprintf("m%d_amount", i))), r.FormValue(fmt.Sprintf("m%d_due", i))
		if title == "" && amount == "" && due == "" {
			continue // a blank row
		}
		fen, ok := parseYuan(amount)
		if !ok {
			pre = append(pre, fault.Field(fmt.Sprintf("m%d_amount", i), fault.M("金额应为元，最多两位小数", "the amount is in yuan with at most two decimals")))
		}
		in.Milestones = append(in.Milestones, MilestoneInput{Title: title, AmountFen: fen, Due: due})
	}
	var err error
	if len(pre) > 0 {
		err = invalid(pre...)
	} else {
		_, err = h.store.Award(r.Context(), r.PathValue("id"), in)
	}
	if err != nil {
		v := web.View{}
		st, ok := refill(err, &v, r.PostForm)
		if !ok {
			h.fail(w, r, err)
			return
		}
		// milestones.N.x names the form's row N (blank rows are skipped,
		// so the rows are filled from the top).
		for i, e := range v.Errors {
			var n int
			var k string
			if _, err := fmt.Sscanf(strings.ReplaceAll(e.Field, ".", " "), "milestones %d %s", &n, &k); err == nil {
				v.Errors[i].Field = fmt.Sprintf("m%d_%s", n, map[string]string{"title": "title", "amount_fen": "amount", "due_on": "due"}[k])
			}
		}
		h.pageProject(w, r, st, v)
		return
	}
	http.Redirect(w, r, "/projects/"+r.PathValue("id")+"?done=1", http.StatusSeeOther)
}

func (h *handlers) postMove(w http.ResponseWriter, r *http.Request) {
	action, mid := r.PathValue("action"), r.PathValue("m")
	in := MoveInput{Report: r.FormValue("report"), Reason: r.FormValue("reason"), Reference: r.FormValue("reference")}
	if _, err := h.store.Move(r.Context(), r.PathValue("id"), mid, action, in); err != nil {
		v := web.View{}
		st, ok := refill(err, &v, r.PostForm)
		if !ok {
			h.fail(w, r, err)
			return
		}
		for i := range v.Errors {
			v.Errors[i].Field = mid + "-" + v.Errors[i].Field
		}
		if action == ActReport {
			h.pageMine(w, r, st, v)
		} else {
			h.pageProject(w, r, st, v)
		}
		return
	}
	if action == ActReport {
		http.Redirect(w, r, "/projects/mine?done=1", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/projects/"+r.PathValue("id")+"?done=1", http.StatusSeeOther)
}

type mineView struct {
	M       Mine
	Primary string // the first milestone to report
	Titles  map[string]string
}

func (h *handlers) pageMine(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	m, err := h.store.MineOf(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	mv := mineView{M: m, Titles: map[string]string{}}
	for _, a := range m.Applications {
		mv.Titles[a.ProjectID] = a.Project
	}
	for _, c := range m.Contracts {
		for _, ms := range c.Milestones {
			if m.Org.Manager && mv.Primary == "" && (ms.Status == Pending || ms.Status == Returned) {
				mv.Primary = ms.ID
			}
		}
	}
	if r.URL.Query().Get("done") != "" && v.Alert.ZH == "" {
		v.Notice = web.M("已提交。", "Sent.")
	}
	if v.Form == nil {
		v.Form = url.Values{}
	}
	v.Title, v.Data = web.M("我的申报与合同", "My applications and contracts"), mv
	v.Crumbs = []web.Crumb{{Href: "/projects", Label: web.M("购买服务项目", "Purchased-service projects")}, {Label: web.M("我的申报与合同", "Mine")}}
	h.pages.Render(w, r, status, "mine", v)
}

var gradeNames = map[string]fault.Msg{Excellent: fault.M("优秀", "Excellent"), Good: fault.M("良好", "Good"), Pass: fault.M("合格", "Pass"), Fail: fault.M("不合格", "Fail")}

// GradeTag is the evaluation's grade as a tag.
func (ev Evaluation) GradeTag() web.Tag {
	tone := map[string]web.Tone{Excellent: web.ToneOK, Good: web.ToneOK, Pass: web.ToneInfo, Fail: web.ToneBad}[ev.Grade]
	return web.Tag{Tone: tone, Label: gradeNames[ev.Grade]}
}

// ScoreText is the evaluation's score with two decimals.
func (ev Evaluation) ScoreText() string { return ScoreText(ev.Score) }

// AverageText is the record's average with two decimals.
func (rc Record) AverageText() string { return ScoreText(rc.Average) }

// PastText is the organisation's past evaluation average ("" for none).
func (a Application) PastText() string {
	if a.PastCount == 0 {
		return ""
	}
	return ScoreText(a.PastAverage)
}

func (h *handlers) postEvaluate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, err)
		return
	}
	in := EvaluateInput{Comment: r.PostForm.Get("comment")}
	// Criteria scored one by one, or, with none of them filled, the
	// overall score.
	for i := 0; i < 8; i++ {
		v, has := r.PostForm[fmt.Sprintf("s%d", i)]
		if !has {
			break
		}
		if strings.TrimSpace(v[0]) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v[0]))
		if err != nil {
			n = -1
		}
		for len(in.Scores) < i {
			in.Scores = append(in.Scores, -1) // a skipped criterion
		}
		in.Scores = append(in.Scores, n)
	}
	if o := strings.TrimSpace(r.PostForm.Get("score")); o != "" && len(in.Scores) == 0 {
		n, err := strconv.Atoi(o)
		if err != nil {
			n = -1
		}
		in.Score = &n
	}
	if _, err := h.store.Evaluate(r.Context(), r.PathValue("id"), in); err != nil {
		v := web.View{}
		st, ok := refill(err, &v, r.PostForm)
		if !ok {
			h.fail(w, r, err)
			return
		}
		for i := range v.Errors {
			v.Errors[i].Field = "eval-" + strings.ReplaceAll(v.Errors[i].Field, ".", "-")
		}
		h.pageProject(w, r, st, v)
		return
	}
	http.Redirect(w, r, "/projects/"+r.PathValue("id")+"?done=1", http.StatusSeeOther)
}

func (h *handlers) pageRecords(w http.ResponseWriter, r *http.Request) {
	if !officer(access.From(r.Context())) {
		h.fail(w, r, errOfficer)
		return
	}
	recs, err := h.store.Records(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := web.View{Title: web.M("承接机构结项评估", "Organisations' final evaluations"), Data: recs}
	v.Crumbs = []web.Crumb{{Href: "/projects", Label: web.M("购买服务项目", "Purchased-service projects")}, {Label: web.M("结项评估", "Evaluations")}}
	h.pages.Render(w, r, 200, "records", v)
}

var kindNames = map[string]fault.Msg{KindPurchase: fault.M("购买服务", "Purchased service"), KindVenture: fault.M("公益创投", "Charity venture")}

// KindName is the project's kind in words.
func (p Project) KindName() fault.Msg { return kindNames[p.Kind] }

// VentureCap is the charity ventures' budget cap in yuan.
func (newView) VentureCap() string { return Yuan(VentureCapFen) }

var countedNames = map[string]fault.Msg{TargetHomeVisits: fault.M("入户探访（次）", "Home visits"), TargetVolunteerActivities: fault.M("志愿服务活动（场）", "Volunteer activities")}

// Name is the counted target's kind in words.
func (c CountedTarget) Name() fault.Msg { return countedNames[c.Kind] }

// Goals are the new-project form's counted target fields.
func (newView) Goals() []tab {
	var out []tab
	for _, k := range CountedKinds {
		out = append(out, tab{Key: k, Label: countedNames[k]})
	}
	return out
}
