package emergency

import (
	"net/http"
	"strings"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/web"
)

// registerTeams adds the teams' API and pages.
func (h *Handlers) registerTeams(rt *web.Router) {
	const tag = "emergency"
	rt.API("GET /api/v1/emergency/teams", web.Op{Summary: "应急队伍与今日值班（至多 200 支）/ Emergency teams with who is on call today", Tag: tag, Response: []TeamSummary{},
		Params: []web.Param{{Name: "division", In: "query", Description: "区划 / division"}}}, h.apiTeams)
	rt.API("POST /api/v1/emergency/teams", web.Op{Summary: "建立应急队伍（社区或乡镇）/ Create a team of a community or township", Tag: tag,
		Body: TeamInput{}, Response: Team{}, Status: 201}, h.apiCreateTeam)
	rt.API("GET /api/v1/emergency/teams/{id}", web.Op{Summary: "队伍的队员、技能、排班和今日值班 / A team's members, skills, rota and who is on call today", Tag: tag, Response: Team{}}, h.apiTeam)
	rt.API("GET /api/v1/emergency/teams/{id}/candidates", web.Op{Summary: "可加入队伍的登记人员和工作人员账号 / Personnel and worker accounts who may join", Tag: tag, Response: []MemberCandidate{}}, h.apiCandidates)
	rt.API("POST /api/v1/emergency/teams/{id}/members", web.Op{Summary: "加入队员及其技能 / Add a member with their skills", Tag: tag,
		Body: MemberInput{}, Response: Member{}, Status: 201}, h.apiAddMember)
	rt.API("POST /api/v1/emergency/teams/{id}/rota", web.Op{Summary: "排班（日期含首尾；同一队员不得重叠）/ Put a member on call (dates inclusive; never overlapping for a member)", Tag: tag,
		Body: RotaInput{}, Response: RotaEntry{}, Status: 201}, h.apiAddRota)

	rt.Page("GET /emergency/teams", h.pageTeams)
	rt.Page("GET /emergency/teams/new", func(w http.ResponseWriter, r *http.Request) { h.pageTeamNew(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/teams/new", h.postTeamNew)
	rt.Page("GET /emergency/teams/{id}", h.pageTeam)
	rt.Page("GET /emergency/teams/{id}/members/new", func(w http.ResponseWriter, r *http.Request) { h.pageMemberNew(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/teams/{id}/members/new", h.postMemberNew)
	rt.Page("GET /emergency/teams/{id}/rota/new", func(w http.ResponseWriter, r *http.Request) { h.pageRotaNew(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/teams/{id}/rota/new", h.postRotaNew)
}

func (h *Handlers) apiTeams(w http.ResponseWriter, r *http.Request) error {
	ts, err := h.Store.Teams(r.Context(), r.URL.Query().Get("division"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, ts)
	return nil
}

func (h *Handlers) apiCreateTeam(w http.ResponseWriter, r *http.Request) error {
	var in TeamInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	t, err := h.Store.CreateTeam(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, t)
	return nil
}

func (h *Handlers) apiTeam(w http.ResponseWriter, r *http.Request) error {
	t, err := h.Store.Team(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, t)
	return nil
}

func (h *Handlers) apiCandidates(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.Store.MemberCandidates(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, orEmpty(cs))
	return nil
}

func (h *Handlers) apiAddMember(w http.ResponseWriter, r *http.Request) error {
	var in MemberInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	m, err := h.Store.AddMember(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, m)
	return nil
}

func (h *Handlers) apiAddRota(w http.ResponseWriter, r *http.Request) error {
	var in RotaInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	e, err := h.Store.AddRota(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, e)
	return nil
}

// SkillWords are a member's skills as labels.
func (m Member) SkillWords() []web.Msg {
	var out []web.Msg
	for _, k := range m.Skills {
		out = append(out, SkillName(k))
	}
	return out
}

// Label is how the picker shows a candidate.
func (c MemberCandidate) Label() string {
	if c.Kind == MemberAccount {
		return c.Name + "（工作人员账号 / account）"
	}
	return c.Name + "（登记人员 / personnel: " + strings.Join(c.Roles, ", ") + "）"
}

type skillOption struct {
	Key  string
	Name web.Msg
}

type teamsView struct {
	Items    []TeamSummary
	CanWrite bool
}

func (h *Handlers) pageTeams(w http.ResponseWriter, r *http.Request) {
	ts, err := h.Store.Teams(r.Context(), r.URL.Query().Get("division"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, r, 200, "teams", web.View{Title: web.M("应急队伍", "Emergency teams"),
		Crumbs: []web.Crumb{{Href: "/emergency", Label: web.M("应急预警", "Warnings")}, {Label: web.M("应急队伍", "Teams")}},
		Data:   teamsView{Items: ts, CanWrite: planWriter(access.From(r.Context())) == nil}})
}

type teamNewView struct{ Division string }

func (h *Handlers) pageTeamNew(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	v.Title = web.M("建立应急队伍", "Create a team")
	crumbs := []web.Crumb{{Href: "/emergency/teams", Label: web.M("应急队伍", "Teams")}, {Label: v.Title}}
	d, ok := h.pickUnit(w, r, "/emergency/teams/new", v.Title, crumbs)
	if !ok {
		return
	}
	v.Crumbs, v.Data = crumbs, teamNewView{Division: d.Name + "（" + d.Code + "）"}
	if v.Form == nil {
		v.Form = map[string][]string{"division": {d.Code}, "name": {d.Name + "应急队"}}
	}
	h.Pages.Render(w, r, status, "team-new", v)
}

func (h *Handlers) postTeamNew(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	f := r.PostForm
	t, err := h.Store.CreateTeam(r.Context(), TeamInput{Division: f.Get("division"), Name: f.Get("name"), Note: f.Get("note")})
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageTeamNew(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: f})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/teams/"+t.ID+"?done=1", http.StatusSeeOther)
}

type teamView struct {
	T        Team
	CanWrite bool
	Done     string
}

func (h *Handlers) pageTeam(w http.ResponseWriter, r *http.Request) {
	t, err := h.Store.Team(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, r, 200, "team", web.View{Title: web.M(t.Name, t.Name),
		Crumbs: []web.Crumb{{Href: "/emergency/teams", Label: web.M("应急队伍", "Teams")}, {Label: web.M(t.Name, t.Name)}},
		Data:   teamView{T: t, CanWrite: planWriter(access.From(r.Context())) == nil, Done: r.URL.Query().Get("done")}})
}

type memberNewView struct {
	T          Team
	Candidates []MemberCandidate
	Skills     []skillOption
	Checked    map[string]bool
}

func (h *Handlers) pageMemberNew(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	t, err := h.Store.team(r.Context(), r.PathValue("id"))
	if err == nil {
		err = planWriter(access.From(r.Context()))
	}
	var cs []MemberCandidate
	if err == nil {
		cs, err = h.Store.MemberCandidates(r.Context(), t.ID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	mv := memberNewView{T: t, Candidates: cs, Checked: map[string]bool{}}
	for _, k := range Skills {
		mv.Skills = append(mv.Skills, skillOption{k, SkillName(k)})
	}
	if v.Form != nil {
		for _, k := range v.Form["skills"] {
			mv.Checked[k] = true
		}
	}
	v.Title, v.Data = web.M("加入队员："+t.Name, "Add a member: "+t.Name), mv
	v.Crumbs = []web.Crumb{{Href: "/emergency/teams", Label: web.M("应急队伍", "Teams")}, {Href: "/emergency/teams/" + t.ID, Label: web.M(t.Name, t.Name)}, {Label: web.M("加入队员", "Add a member")}}
	h.Pages.Render(w, r, status, "team-member", v)
}

func (h *Handlers) postMemberNew(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	f := r.PostForm
	kind, ref, _ := strings.Cut(f.Get("member"), ":")
	_, err := h.Store.AddMember(r.Context(), r.PathValue("id"), MemberInput{Kind: kind, Ref: ref, Skills: f["skills"]})
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			for i := range we.Fields {
				if we.Fields[i].Field == "kind" || we.Fields[i].Field == "ref" {
					we.Fields[i].Field = "member"
				}
			}
			h.pageMemberNew(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: f})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/teams/"+r.PathValue("id")+"?done=member", http.StatusSeeOther)
}

type rotaNewView struct{ T Team }

func (h *Handlers) pageRotaNew(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	t, err := h.Store.Team(r.Context(), r.PathValue("id"))
	if err == nil {
		err = planWriter(access.From(r.Context()))
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if v.Form == nil {
		today := h.Store.today()
		v.Form = map[string][]string{"starts_on": {today}, "ends_on": {today}}
	}
	v.Title, v.Data = web.M("排班："+t.Name, "Rota: "+t.Name), rotaNewView{T: t}
	v.Crumbs = []web.Crumb{{Href: "/emergency/teams", Label: web.M("应急队伍", "Teams")}, {Href: "/emergency/teams/" + t.ID, Label: web.M(t.Name, t.Name)}, {Label: web.M("排班", "Rota")}}
	h.Pages.Render(w, r, status, "team-rota", v)
}

func (h *Handlers) postRotaNew(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	f := r.PostForm
	_, err := h.Store.AddRota(r.Context(), r.PathValue("id"), RotaInput{MemberID: f.Get("member_id"), StartsOn: f.Get("starts_on"), EndsOn: f.Get("ends_on")})
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageRotaNew(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: f})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/teams/"+r.PathValue("id")+"?done=rota", http.StatusSeeOther)
}
