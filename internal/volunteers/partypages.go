package volunteers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/questions"
	"linli/internal/tabular"
	"linli/internal/web"
)

// registerPartyPages adds the party member's page and the community's
// service posts page with the branch export.
func (h *Handlers) registerPartyPages(rt *web.Router) {
	rt.Page("GET /volunteers/party", h.pageParty)
	rt.Page("POST /volunteers/party/report", h.postReport)
	rt.Page("POST /volunteers/party/posts/{id}/take", h.postTake)
	rt.Page("GET /volunteers/posts", func(w http.ResponseWriter, r *http.Request) { h.pagePosts(w, r, 200, web.View{}) })
	rt.Page("POST /volunteers/posts", h.postPublish)
	rt.Page("GET /volunteers/posts/export", h.getBranchExport)
	rt.Page("GET /volunteers/posts/{id}", h.pagePost)
}

type partyView struct {
	Me       Volunteer
	Report   *PartyReport
	Posts    []Post
	Mine     []Post
	Hours    float64
	From, To string
	Done     string
}

func (h *Handlers) pageParty(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var v partyView
	var err error
	if v.Me, err = h.Store.Mine(ctx); err != nil {
		if errors.Is(err, errNoVolunteer) {
			err = fault.Conflict(fault.M("请先在“我的志愿服务”登记成为志愿者（注明党员及所在党组织）", "register as a volunteer on “My volunteering” first (as a party member, with your branch)"))
		}
		h.fail(w, r, err)
		return
	}
	if v.Report, err = h.Store.MyReport(ctx); err != nil {
		h.fail(w, r, err)
		return
	}
	if v.Report != nil {
		if v.Posts, err = h.Store.Posts(ctx, ""); err != nil {
			h.fail(w, r, err)
			return
		}
		for _, p := range v.Posts {
			if p.Mine {
				v.Mine = append(v.Mine, p)
			}
		}
	}
	today := h.Store.Now().In(questions.CST)
	v.From, v.To = today.Format("2006")+"-01-01", today.Format("2006-01-02")
	if v.Hours, err = h.Store.MyHours(ctx, v.From, v.To); err != nil {
		h.fail(w, r, err)
		return
	}
	v.Done = r.URL.Query().Get("done")
	vw := web.View{Title: web.M("党员报到与认岗", "Party members: report and posts"), Data: v}
	vw.Crumbs = []web.Crumb{{Href: "/volunteers/me", Label: web.M("我的志愿服务", "My volunteering")}, {Label: vw.Title}}
	h.Pages.Render(w, r, 200, "party", vw)
}

func (h *Handlers) postReport(w http.ResponseWriter, r *http.Request) {
	if _, err := h.Store.Report(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/volunteers/party?done=reported", http.StatusSeeOther)
}

func (h *Handlers) postTake(w http.ResponseWriter, r *http.Request) {
	if _, err := h.Store.TakePost(r.Context(), r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/volunteers/party?done=taken", http.StatusSeeOther)
}

type postsView struct {
	Posts    []Post
	Skills   []Choice
	Branches []string
	From, To string
	Done     string
}

func (h *Handlers) pagePosts(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	if !manager(p, p.Division) {
		h.fail(w, r, fault.Forbidden(fault.M("只有社区工作者、干部可以管理认岗岗位", "only community workers and officers manage service posts")))
		return
	}
	var d postsView
	var err error
	if d.Posts, err = h.Store.Posts(ctx, p.Division); err != nil {
		h.fail(w, r, err)
		return
	}
	if d.Branches, err = h.Store.Branches(ctx, p.Division); err != nil {
		h.fail(w, r, err)
		return
	}
	if v.Form == nil {
		v.Form = url.Values{"capacity": {"5"}}
	}
	d.Skills = choices(skillOptions, v.Form["skills"])
	today := h.Store.Now().In(questions.CST)
	d.From, d.To = today.Format("2006")+"-01-01", today.Format("2006-01-02")
	d.Done = r.URL.Query().Get("done")
	v.Title, v.Data = web.M("认岗岗位与党员报到", "Service posts and party members"), d
	v.Crumbs = []web.Crumb{{Href: "/volunteers", Label: web.M("志愿服务", "Volunteering")}, {Label: v.Title}}
	h.Pages.Render(w, r, status, "posts", v)
}

func (h *Handlers) postPublish(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := r.PostForm
	capacity, _ := strconv.Atoi(f.Get("capacity"))
	if _, err := h.Store.PublishPost(r.Context(), PostInput{Name: f.Get("name"), Description: f.Get("description"), Capacity: capacity, Skills: f["skills"]}); err != nil {
		h.formError(w, r, err, func(status int, v web.View) { h.pagePosts(w, r, status, v) })
		return
	}
	http.Redirect(w, r, "/volunteers/posts?done=published", http.StatusSeeOther)
}

type postView struct {
	Post    Post
	Members []PostMember
}

func (h *Handlers) pagePost(w http.ResponseWriter, r *http.Request) {
	po, ms, err := h.Store.PostMembers(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := web.View{Title: web.M(po.Name, po.Name), Data: postView{Post: po, Members: ms}}
	v.Crumbs = []web.Crumb{{Href: "/volunteers", Label: web.M("志愿服务", "Volunteering")}, {Href: "/volunteers/posts", Label: web.M("认岗岗位", "Service posts")}, {Label: v.Title}}
	h.Pages.Render(w, r, 200, "post", v)
}

// getBranchExport downloads a branch's report as xlsx or CSV.
func (h *Handlers) getBranchExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "xlsx"
	}
	if format != "xlsx" && format != "csv" {
		h.fail(w, r, fault.Invalid(fault.M("格式须为 xlsx 或 csv", "format must be xlsx or csv"), fault.Field("format", fault.M("请选择 xlsx 或 csv", "choose xlsx or csv"))))
		return
	}
	rows, err := h.Store.BranchReport(r.Context(), BranchFilter{Branch: q.Get("branch"), From: q.Get("from"), To: q.Get("to")})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ct := map[string]string{"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8"}[format]
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="linli-party-hours-`+q.Get("from")+`-`+q.Get("to")+`.`+format+`"`)
	tw, err := tabular.New(w, format, tabular.Options{Sheet: "党员报到 Party members",
		Stamp: [][]string{{"导出时间 Exported", h.Store.Now().In(questions.CST).Format(time.DateTime)}, {"党组织 Branch", q.Get("branch")}, {"期间 Period", q.Get("from") + " – " + q.Get("to")}}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The answer has begun: a failure now can only be logged.
	logErr := func(err error) { web.Logger(r.Context()).Error("party export", "err", err.Error()) }
	if err := tw.Row("姓名 Name", "社区 Community", "认领岗位 Posts", "服务时长（小时）Hours"); err != nil {
		logErr(err)
		return
	}
	var total int64
	for _, b := range rows {
		posts := ""
		for i, p := range b.Posts {
			if i > 0 {
				posts += "、"
			}
			posts += p
		}
		total += b.Minutes
		if err := tw.Values(b.Name, b.Division, posts, b.Hours); err != nil {
			logErr(err)
			return
		}
	}
	if err := tw.Values("合计 Total", "", "", hours(total)); err != nil {
		logErr(err)
		return
	}
	if err := tw.Close(); err != nil {
		logErr(err)
	}
}

// SkillNames are the post's skills in words.
func (p Post) SkillNames() []web.Msg {
	out := make([]web.Msg, 0, len(p.Skills))
	for _, k := range p.Skills {
		out = append(out, SkillName(k))
	}
	return out
}
