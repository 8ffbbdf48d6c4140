package deliberation

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

func (h *handlers) registerPages(rt *web.Router) {
	rt.Page("GET /deliberation", h.pageHome)
	rt.Page("GET /deliberation/raise", func(w http.ResponseWriter, r *http.Request) { h.pageRaise(w, r, 200, web.View{}) })
	rt.Page("POST /deliberation/raise", h.postRaise)
	rt.Page("GET /deliberation/topics/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageTopic(w, r, 200, web.View{}) })
	rt.Page("POST /deliberation/topics/{id}/cosign", h.postCosign)
	rt.Page("POST /deliberation/topics/{id}/move/{action}", h.postMove)
	rt.Page("POST /deliberation/topics/{id}/vote", h.postOpenVote)
	rt.Page("POST /deliberation/topics/{id}/decide", h.postDecide)
	rt.Page("GET /deliberation/votes/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageVote(w, r, 200, web.View{}) })
	rt.Page("POST /deliberation/votes/{id}/ballot", h.postBallot)
	rt.Page("GET /deliberation/meetings/new", func(w http.ResponseWriter, r *http.Request) { h.pageSchedule(w, r, 200, web.View{}) })
	rt.Page("POST /deliberation/meetings/new", h.postSchedule)
	rt.Page("GET /deliberation/meetings/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageMeeting(w, r, 200, web.View{}) })
	rt.Page("POST /deliberation/meetings/{id}/attendance", h.postAttendance)
	rt.Page("POST /deliberation/meetings/{id}/minutes", h.postMinutes)
	rt.Page("GET /deliberation/decisions/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageDecision(w, r, 200, web.View{}) })
	rt.Page("POST /deliberation/decisions/{id}/progress", h.postProgress)
	rt.Public("GET /deliberation/board/{community}", h.pageBoard)
	rt.Page("GET /deliberation/board", h.pageOwnBoard)
	h.registerCommentPages(rt)
	h.registerNoticePages(rt)
	h.registerPilots(rt)
	h.registerFilePages(rt)
}

func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	if we, ok := fault.As(err); ok {
		h.pages.Render(w, r, web.Status(we), "message", web.View{Title: web.M("无法完成", "Cannot do that"), Alert: we.Msg, Errors: we.Fields})
		return
	}
	web.Logger(r.Context()).Error("deliberation page", "err", err.Error())
	h.pages.Render(w, r, 500, "message", web.View{Title: web.M("出错了", "Error"), Alert: web.M("服务器内部错误，请稍后重试", "internal server error, please try again later")})
}

// again shows a form's page once more with a refusal's fields, or the
// message page for a refusal that is not about the form.
func (h *handlers) again(w http.ResponseWriter, r *http.Request, err error, show func(int, web.View)) {
	if we, ok := fault.As(err); ok && (we.Code == fault.CodeInvalid || we.Code == fault.CodeConflict) {
		show(web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.Form})
		return
	}
	h.fail(w, r, err)
}

type tab struct {
	Key   string
	Label fault.Msg
}

type community struct{ Code, Name string }

type homeView struct {
	Division    string
	Communities []community // an officer's choice
	Worker      bool
	Moderator   bool
	Status      string
	Tabs        []tab
	Topics      []Topic
	Meetings    []Meeting
	Pager       web.Pager
}

func (h *handlers) pageHome(w http.ResponseWriter, r *http.Request) {
	p := access.From(r.Context())
	v := homeView{Division: h.division(r), Worker: worker(p), Status: r.URL.Query().Get("status")}
	if v.Worker {
		cs, err := db.Collect(r.Context(), h.store.DB.R, func(sc db.Scanner) (community, error) {
			var c community
			return c, sc.Scan(&c.Code, &c.Name)
		}, `SELECT division_code, MIN(name) FROM dlb_councils WHERE division_code >= $1 AND division_code < $2 AND level = 'community' GROUP BY division_code ORDER BY division_code LIMIT 300`,
			access.BusinessScope(p).Lo, access.BusinessScope(p).Hi)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v.Communities = cs
		if len(v.Division) != 12 && len(cs) > 0 {
			v.Division = cs[0].Code
		}
	}
	title := web.M("议事协商", "Deliberation")
	if len(v.Division) != 12 {
		h.pages.Render(w, r, 200, "home", web.View{Title: title, Data: v})
		return
	}
	v.Moderator = h.store.moderator(r.Context(), v.Division)
	v.Tabs = []tab{{"", fault.M("全部", "All")}}
	for _, s := range States {
		v.Tabs = append(v.Tabs, tab{s, StateName(s)})
	}
	cursor := r.URL.Query().Get("cursor")
	pg, err := h.store.Topics(r.Context(), v.Division, v.Status, cursor, 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Topics = pg.Items
	first, next := keyset.Links(r, cursor, pg.Next)
	v.Pager = web.Pager{First: first, Next: next}
	if v.Meetings, err = h.store.Meetings(r.Context(), v.Division, 5); err != nil {
		h.fail(w, r, err)
		return
	}
	h.pages.Render(w, r, 200, "home", web.View{Title: title, Data: v})
}

type grid struct{ ID, Name string }

type raiseView struct {
	Worker   bool
	Division string
	Grids    []grid
	Source   Topic // what the topic is raised from, if anything (its Source alone)
	Files    fileInput
	// Township: a township's worker raises township-wide topics, for its
	// council.
	Township bool
}

func (h *handlers) pageRaise(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	p := access.From(r.Context())
	if p.Role != access.Resident && !worker(p) {
		h.fail(w, r, fault.Forbidden(fault.M("只有居民或社区工作者可以提出议题", "only residents and community workers may raise a topic")))
		return
	}
	rv := raiseView{Worker: worker(p), Division: h.division(r), Files: newFileInput(FileTopic)}
	rv.Township = rv.Worker && len(rv.Division) == 9
	if v.Form == nil {
		v.Form = url.Values{"area_kind": {AreaCommunity}}
		if rv.Township {
			v.Form.Set("area_kind", AreaTownship)
		}
		if ref := r.URL.Query().Get("source"); ref != "" {
			// Opened from a suggestion or a visit: one topic per source,
			// so a second opening shows the first.
			if id, err := h.store.topicFrom(r.Context(), h.store.DB.R, ref); err == nil && id != "" {
				http.Redirect(w, r, "/deliberation/topics/"+id, http.StatusSeeOther)
				return
			}
			src, err := h.store.findSource(r.Context(), ref)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			v.Form.Set("source", src.Ref)
			v.Form.Set("title", src.Title)
			v.Form.Set("description", src.Description)
			v.Form.Set("division_code", src.Division)
			v.Form.Set("area_kind", AreaCommunity)
		}
	} else if d := v.Form.Get("division_code"); d != "" {
		rv.Division = d
	}
	if ref := v.Form.Get("source"); ref != "" {
		rv.Source = Topic{Source: ref}
		rv.Division = v.Form.Get("division_code")
		rv.Township = false
	}
	gs, err := db.Collect(r.Context(), h.store.DB.R, func(sc db.Scanner) (grid, error) {
		var g grid
		return g, sc.Scan(&g.ID, &g.Name)
	}, `SELECT id, name FROM reg_grids WHERE division_code = $1 ORDER BY name LIMIT 200`, rv.Division)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rv.Grids = gs
	v.Title, v.Data = web.M("提出议题", "Raise a topic"), rv
	h.pages.Render(w, r, status, "raise", v)
}

func (h *handlers) postRaise(w http.ResponseWriter, r *http.Request) {
	files, err := h.formFiles(w, r, FileTopic, "")
	if err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageRaise(w, r, st, v) })
		return
	}
	in := TopicInput{Division: r.FormValue("division_code"), Title: r.FormValue("title"), Description: r.FormValue("description"), AreaKind: r.FormValue("area_kind"),
		Source: r.FormValue("source")}
	switch in.AreaKind {
	case AreaGrid:
		in.AreaRef = r.FormValue("grid")
	case AreaBuilding:
		in.AreaRef = r.FormValue("building")
	}
	t, err := h.store.Raise(r.Context(), in)
	if err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageRaise(w, r, st, v) })
		return
	}
	if err := h.attachNew(r, FileTopic, t.ID, 0, files); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/deliberation/topics/"+t.ID+"?raised=1", http.StatusSeeOther)
}

type moveAction struct {
	Key    string
	Label  fault.Msg
	Reason bool
}

type topicView struct {
	Topic     Topic
	Worker    bool
	Resident  bool
	CanCosign bool
	Moves     []moveAction
	Votes     []Vote
	CanVote   bool // a vote may be opened
	CanDecide bool
	Decision  string
	Default   string // the default closing time of a vote
	Talk      discussion
	Att       attachments
}

func (h *handlers) pageTopic(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	t, err := h.store.Topic(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := access.From(ctx)
	tv := topicView{Topic: t, Worker: worker(p), Resident: p.Role == access.Resident, Default: h.store.Now().Add(7 * 24 * time.Hour).In(cst).Format("2006-01-02T15:04")}
	if tv.Resident && t.Status == Collecting {
		// Offered to a household of the area that neither raised nor signed it.
		if hh, _, err := h.store.household(ctx, p); err == nil {
			var n int
			err := h.store.DB.R.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM dlb_cosigns WHERE topic_id = $1 AND household_id = $2)
				+ (SELECT COUNT(*) FROM dlb_topics WHERE id = $1 AND household_id = $2)`, t.ID, hh).Scan(&n)
			in, aerr := h.store.inArea(ctx, h.store.DB.R, t, hh)
			tv.CanCosign = err == nil && aerr == nil && in && n == 0
		}
	}
	if tv.Worker {
		for _, k := range MoveOrder {
			mv := Moves[k]
			for _, f := range mv.From {
				if f == t.Status {
					tv.Moves = append(tv.Moves, moveAction{Key: k, Label: mv.Label, Reason: mv.Reason})
				}
			}
		}
	}
	ids, err := db.Collect(ctx, h.store.DB.R, db.Value[string], `SELECT id FROM dlb_votes WHERE topic_id = $1 ORDER BY id DESC LIMIT 10`, t.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	open := false
	for _, id := range ids {
		vt, err := h.store.Vote(ctx, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		open = open || vt.Result == nil
		tv.Votes = append(tv.Votes, vt)
	}
	_ = h.store.DB.R.QueryRowContext(ctx, `SELECT id FROM dlb_decisions WHERE topic_id = $1`, t.ID).Scan(&tv.Decision)
	tv.CanVote = tv.Worker && !open && (t.Status == Accepted || t.Status == Deliberating)
	tv.CanDecide = tv.Worker && t.Status == Deliberating
	if tv.Talk, err = h.discussion(r, t); err != nil {
		h.fail(w, r, err)
		return
	}
	if tv.Att, err = h.attachments(r, FileTopic, t.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	switch q := r.URL.Query(); {
	case q.Get("raised") == "1":
		v.Notice = web.M("议题已提出。", "The topic is raised.")
	case q.Get("held") == "1":
		v.Notice = web.M("您的评论含有需审核的词语，正在等待审核，通过后公开。", "Your comment is awaiting review: it will be public once approved.")
	case q.Get("commented") == "1":
		v.Notice = web.M("评论已发表。", "Your comment is posted.")
	case q.Get("reported") == "1":
		v.Notice = web.M("已举报，管理员会尽快处理。", "Reported: a moderator will look at it.")
	case q.Get("merged") == "1":
		v.Notice = web.M("重复议题已并入本议题。", "The duplicate is merged into this topic.")
	}
	v.Title, v.Data = fault.M("议题："+t.Title, "Topic: "+t.Title), tv
	v.Crumbs = []web.Crumb{{Href: "/deliberation", Label: web.M("议事协商", "Deliberation")}, {Label: web.M("议题", "Topic")}}
	h.pages.Render(w, r, status, "topic", v)
}

func (h *handlers) postCosign(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := h.store.Cosign(r.Context(), id); err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageTopic(w, r, st, v) })
		return
	}
	http.Redirect(w, r, "/deliberation/topics/"+id, http.StatusSeeOther)
}

func (h *handlers) postMove(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	id := r.PathValue("id")
	action := r.PathValue("action")
	if _, err := h.store.Transition(r.Context(), id, action, MoveInput{Reason: r.FormValue("reason")}); err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageTopic(w, r, st, v) })
		return
	}
	if action == "refer" {
		// The referred topic goes on as a 民呼我为 request naming it.
		http.Redirect(w, r, "/requests/new?ref=topic:"+id, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/deliberation/topics/"+id, http.StatusSeeOther)
}

// localTime reads a datetime-local field in China time.
func localTime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04", strings.TrimSpace(s), cst)
	if err != nil {
		return time.Time{}
	}
	return t
}

func (h *handlers) postOpenVote(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	var opts []string
	for _, line := range strings.Split(r.FormValue("options"), "\n") {
		if s := strings.TrimSpace(line); s != "" {
			opts = append(opts, s)
		}
	}
	in := VoteInput{TopicID: r.PathValue("id"), Electorate: r.FormValue("electorate"), Secret: r.FormValue("secret") == "yes", Options: opts, ClosesAt: localTime(r.FormValue("closes_at"))}
	vt, err := h.store.OpenVote(r.Context(), in)
	if err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageTopic(w, r, st, v) })
		return
	}
	http.Redirect(w, r, "/deliberation/votes/"+vt.ID, http.StatusSeeOther)
}

func (h *handlers) postDecide(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	in := DecisionInput{TopicID: r.PathValue("id"), VoteID: r.FormValue("vote_id"), Text: r.FormValue("text"), DecidedBy: r.FormValue("decided_by"), Owner: r.FormValue("owner"), Plan: r.FormValue("plan")}
	d, err := h.store.Decide(r.Context(), in)
	if err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageTopic(w, r, st, v) })
		return
	}
	http.Redirect(w, r, "/deliberation/decisions/"+d.ID, http.StatusSeeOther)
}

type voteView struct {
	Vote     Vote
	Topic    Topic
	Open     bool
	Eligible bool // the signed-in resident is in the electorate
	Worker   bool
	Voted    bool
	Check    *ChainCheck
	Receipt  string
}

func (h *handlers) pageVote(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	vt, err := h.store.Vote(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.store.Topic(ctx, vt.TopicID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := access.From(ctx)
	now := h.store.Now()
	vv := voteView{Vote: vt, Topic: t, Open: vt.Result == nil && !now.Before(vt.OpensAt), Worker: worker(p), Receipt: r.URL.Query().Get("receipt")}
	if p.Role == access.Resident {
		// Only a voter of the electorate is offered the ballot.
		voter := ""
		if vt.Electorate == ElectorateHouseholds {
			if hh, _, err := h.store.household(ctx, p); err == nil {
				if in, err := h.store.inArea(ctx, h.store.DB.R, t, hh); err == nil && in {
					voter = hh
				}
			}
		} else {
			_ = h.store.DB.R.QueryRowContext(ctx, `SELECT id FROM dlb_members WHERE council_id = $1 AND username = $2`, t.CouncilID, p.Username).Scan(&voter)
		}
		var n int
		_ = h.store.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM dlb_voters WHERE vote_id = $1 AND voter = $2`, vt.ID, voter).Scan(&n)
		vv.Voted, vv.Eligible = n > 0, voter != ""
	}
	if vt.Result != nil {
		c, err := h.store.Verify(ctx, vt.ID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		vv.Check = &c
	}
	v.Title, v.Data = fault.M("表决："+t.Title, "Vote: "+t.Title), vv
	v.Crumbs = []web.Crumb{{Href: "/deliberation", Label: web.M("议事协商", "Deliberation")}, {Href: "/deliberation/topics/" + t.ID, Label: web.M("议题", "Topic")}, {Label: web.M("表决", "Vote")}}
	h.pages.Render(w, r, status, "vote", v)
}

func (h *handlers) postBallot(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	id := r.PathValue("id")
	in := BallotInput{Choice: r.FormValue("choice"), HouseholdID: r.FormValue("household_id"), ProxyName: r.FormValue("proxy_name"), ProxyConsent: r.FormValue("proxy_consent") == "yes"}
	rc, err := h.store.Cast(r.Context(), id, in)
	if err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageVote(w, r, st, v) })
		return
	}
	receipt := "sealed"
	if !rc.Sealed {
		receipt = strconv.Itoa(rc.Seq) + "-" + rc.Hash[:12]
	}
	http.Redirect(w, r, "/deliberation/votes/"+id+"?receipt="+receipt, http.StatusSeeOther)
}

type scheduleView struct {
	Councils []Council
	Topics   []Topic
}

func (h *handlers) pageSchedule(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	if !worker(p) {
		h.fail(w, r, fault.Forbidden(fault.M("只有社区工作者或干部可以安排会议", "only community workers and officers schedule meetings")))
		return
	}
	div := h.division(r)
	if r.Method == http.MethodPost {
		div = r.FormValue("division_code")
	}
	if !h.store.sees(ctx, div) || len(div) != 12 {
		h.fail(w, r, fault.Invalid(fault.M("请先选择村（社区）", "choose a community first"), fault.Field("division_code", fault.M("不在您的辖区内", "outside your jurisdiction"))))
		return
	}
	cs, err := h.store.Councils(ctx, div)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ts, err := db.Collect(ctx, h.store.DB.R, scanTopic, `SELECT `+topicCols+` FROM dlb_topics WHERE division_code = $1 AND status IN ('accepted', 'deliberating') ORDER BY id DESC LIMIT 50`, div)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if v.Form == nil {
		v.Form = url.Values{"division_code": {div}}
	}
	v.Title, v.Data = web.M("安排议事会议", "Schedule a meeting"), scheduleView{Councils: cs, Topics: ts}
	h.pages.Render(w, r, status, "schedule", v)
}

func (h *handlers) postSchedule(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	in := MeetingInput{CouncilID: r.FormValue("council_id"), Title: r.FormValue("title"), Place: r.FormValue("place"), StartsAt: localTime(r.FormValue("starts_at")), Topics: r.Form["topic"],
		Mode: r.FormValue("mode"), Link: r.FormValue("link"), Capacity: formInt(r.FormValue("capacity"))}
	m, err := h.store.Schedule(r.Context(), in)
	if err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageSchedule(w, r, st, v) })
		return
	}
	http.Redirect(w, r, "/deliberation/meetings/"+m.ID, http.StatusSeeOther)
}

type meetingView struct {
	Meeting Meeting
	Worker  bool
	Started bool
	More    meetingMore
	Att     attachments
}

func (h *handlers) pageMeeting(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	m, err := h.store.Meeting(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	mv := meetingView{Meeting: m, Worker: worker(access.From(r.Context())), Started: h.store.Now().In(cst).Format("2006-01-02") >= m.StartsAt.In(cst).Format("2006-01-02")}
	mv.More = h.meetingMore(r, m, &v)
	if mv.Att, err = h.attachments(r, FileMeeting, m.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	if v.Form == nil {
		v.Form = url.Values{"minutes": {m.Minutes}, "summary": {m.Summary}}
	}
	v.Title, v.Data = fault.M("议事会议："+m.Title, "Meeting: "+m.Title), mv
	v.Crumbs = []web.Crumb{{Href: "/deliberation", Label: web.M("议事协商", "Deliberation")}, {Label: web.M("会议", "Meeting")}}
	h.pages.Render(w, r, status, "meeting", v)
}

func (h *handlers) postAttendance(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	id := r.PathValue("id")
	if _, err := h.store.Attend(r.Context(), id, AttendanceInput{Present: r.Form["present"], Residents: r.Form["resident"]}); err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageMeeting(w, r, st, v) })
		return
	}
	http.Redirect(w, r, "/deliberation/meetings/"+id, http.StatusSeeOther)
}

func (h *handlers) postMinutes(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	files, err := h.formFiles(w, r, FileMeeting, id)
	if err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageMeeting(w, r, st, v) })
		return
	}
	if _, err := h.store.RecordMinutes(r.Context(), id, MinutesInput{Minutes: r.FormValue("minutes"), Summary: r.FormValue("summary")}); err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageMeeting(w, r, st, v) })
		return
	}
	if err := h.attachNew(r, FileMeeting, id, 0, files); err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageMeeting(w, r, st, v) })
		return
	}
	http.Redirect(w, r, "/deliberation/meetings/"+id, http.StatusSeeOther)
}

type decisionView struct {
	Decision Decision
	Worker   bool
	CanAdd   bool
	CanRate  bool
	Att      attachments
}

func (h *handlers) pageDecision(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	d, err := h.store.Decision(r.Context(), r.PathValue("id"))
	if err != nil || !h.store.sees(r.Context(), d.Division) {
		h.fail(w, r, errNotFound)
		return
	}
	wk := worker(access.From(r.Context()))
	att, err := h.attachments(r, FileProgress, d.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Title, v.Data = fault.M("议事决定："+d.TopicTitle, "Decision: "+d.TopicTitle), decisionView{Decision: d, Worker: wk, CanAdd: wk && (d.Status == Decided || d.Status == Implementing), CanRate: h.canRate(r, d), Att: att}
	v.Crumbs = []web.Crumb{{Href: "/deliberation", Label: web.M("议事协商", "Deliberation")}, {Label: web.M("决定", "Decision")}}
	h.pages.Render(w, r, status, "decision", v)
}

func (h *handlers) postProgress(w http.ResponseWriter, r *http.Request) {
	files, err := h.formFiles(w, r, FileProgress, "")
	if err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageDecision(w, r, st, v) })
		return
	}
	id := r.PathValue("id")
	pct, err := strconv.Atoi(strings.TrimSpace(r.FormValue("percent")))
	if err != nil {
		pct = -1
	}
	d, err := h.store.AddProgress(r.Context(), id, ProgressInput{Percent: pct, Note: r.FormValue("note"), Milestone: formInt(r.FormValue("milestone"))})
	if err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageDecision(w, r, st, v) })
		return
	}
	if err := h.attachNew(r, FileProgress, id, latestUpdate(d), files); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/deliberation/decisions/"+id, http.StatusSeeOther)
}

type boardView struct {
	Community string
	Decisions []Decision
	Pager     web.Pager
}

// pageOwnBoard is the board of the signed-in user's own unit: a
// community's, or every board below a township or county.
func (h *handlers) pageOwnBoard(w http.ResponseWriter, r *http.Request) {
	h.board(w, r, h.division(r))
}

// pageBoard is a community's public board: its decisions and their
// progress, open to anyone (the 村(居)务公开 of deliberation).
func (h *handlers) pageBoard(w http.ResponseWriter, r *http.Request) {
	c := r.PathValue("community")
	if len(c) != 12 || strings.Trim(c, "0123456789") != "" {
		h.fail(w, r, errNotFound)
		return
	}
	h.board(w, r, c)
}

func (h *handlers) board(w http.ResponseWriter, r *http.Request, c string) {
	cursor := r.URL.Query().Get("cursor")
	pg, err := h.store.Decisions(r.Context(), c, cursor, 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	first, next := keyset.Links(r, cursor, pg.Next)
	dv, err := h.store.Divs.Get(r.Context(), c)
	if err != nil {
		h.fail(w, r, errNotFound)
		return
	}
	name := dv.Name
	h.pages.Render(w, r, 200, "board", web.View{Title: fault.M(name+"议事决定公开", name+" decisions board"), Data: boardView{Community: c, Decisions: pg.Items, Pager: web.Pager{First: first, Next: next}}})
}
