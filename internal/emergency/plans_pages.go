package emergency

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

// registerPlans adds the plans' API and pages.
func (h *Handlers) registerPlans(rt *web.Router) {
	const tag = "emergency"
	rt.API("GET /api/v1/emergency/plans", web.Op{Summary: "应急预案（按区划、id 翻页；hazard 灾种，due=true 待年度复查）/ Emergency plans, paged by key", Tag: tag, Response: PlanPage{},
		Params: []web.Param{{Name: "division", In: "query", Description: "区划 / division"}, {Name: "hazard", In: "query", Description: "flood | typhoon | landslide | fire | epidemic | chemical"},
			{Name: "due", In: "query", Type: "boolean", Description: "true: only plans whose yearly review is due"}, keyset.Param}}, h.apiPlans)
	rt.API("POST /api/v1/emergency/plans", web.Op{Summary: "编制应急预案（第 1 版；社区工作者、乡镇和县级干部）/ Write a plan's first version", Tag: tag,
		Body: PlanInput{}, Response: Plan{}, Status: 201}, h.apiCreatePlan)
	rt.API("GET /api/v1/emergency/plans/{id}", web.Op{Summary: "应急预案的当前版本，或 version 指定的旧版本 / A plan's current version, or the one asked", Tag: tag, Response: Plan{},
		Params: []web.Param{{Name: "version", In: "query", Type: "integer", Description: "版本号（默认当前）/ the version (default: the current one)"}}}, h.apiPlan)
	rt.API("PUT /api/v1/emergency/plans/{id}", web.Op{Summary: "修订应急预案（写入新版本，旧版本保留）/ Revise a plan: a new version, the old ones kept", Tag: tag,
		Body: PlanInput{}, Response: Plan{}}, h.apiRevisePlan)
	rt.API("GET /api/v1/emergency/plans/{id}/versions", web.Op{Summary: "应急预案的各版本（新的在前）/ A plan's versions, newest first", Tag: tag, Response: []PlanVersion{}}, h.apiPlanVersions)

	rt.Page("GET /emergency/plans", h.pagePlans)
	rt.Page("GET /emergency/plans/new", func(w http.ResponseWriter, r *http.Request) { h.pagePlanForm(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/plans/new", h.postPlanForm)
	rt.Page("GET /emergency/plans/{id}", h.pagePlan)
	rt.Page("GET /emergency/plans/{id}/edit", func(w http.ResponseWriter, r *http.Request) { h.pagePlanForm(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/plans/{id}/edit", h.postPlanForm)
}

func (h *Handlers) apiPlans(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := PlanFilter{Division: q.Get("division"), Hazard: q.Get("hazard")}
	switch q.Get("due") {
	case "", "false", "0":
	case "true", "1":
		f.Due = true
	default:
		return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("due", fault.M("应为 true 或 false", "must be true or false")))
	}
	pg, err := h.Store.Plans(r.Context(), f, q.Get("cursor"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pg)
	return nil
}

func (h *Handlers) apiCreatePlan(w http.ResponseWriter, r *http.Request) error {
	var in PlanInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	pl, err := h.Store.CreatePlan(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, pl)
	return nil
}

func (h *Handlers) apiPlan(w http.ResponseWriter, r *http.Request) error {
	n := 0
	if v := r.URL.Query().Get("version"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("version", fault.M("版本号应为正整数", "the version is a whole number from 1")))
		}
	}
	pl, err := h.Store.Plan(r.Context(), r.PathValue("id"), n)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pl)
	return nil
}

func (h *Handlers) apiRevisePlan(w http.ResponseWriter, r *http.Request) error {
	var in PlanInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	pl, err := h.Store.RevisePlan(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pl)
	return nil
}

func (h *Handlers) apiPlanVersions(w http.ResponseWriter, r *http.Request) error {
	vs, err := h.Store.PlanVersions(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, vs)
	return nil
}

// Labels for the templates.

// HazardWords are a summary's hazards as labels.
func (p PlanSummary) HazardWords() []web.Msg {
	var out []web.Msg
	for _, h := range p.Hazards {
		out = append(out, HazardName(h))
	}
	return out
}

// Name is the hazard's label.
func (h PlanHazard) Name() web.Msg { return HazardName(h.Hazard) }

// Name is the level's label.
func (l PlanLevel) Name() web.Msg { return LevelName(l.Level) }

// Tag is the level's colour as a tag.
func (l PlanLevel) Tag() web.Tag {
	tone := map[string]web.Tone{"blue": web.ToneInfo, "yellow": web.ToneWarn, "orange": web.ToneWarn, "red": web.ToneBad}[l.Level]
	return web.Tag{Tone: tone, Label: LevelName(l.Level)}
}

// DueTag marks a plan whose yearly review is due.
func dueTag() web.Tag {
	return web.Tag{Tone: web.ToneBad, Label: web.M("待年度复查", "Review due")}
}

// DueTag marks a plan whose yearly review is due.
func (p PlanSummary) DueTag() web.Tag { return dueTag() }

// DueTag marks a plan whose yearly review is due.
func (p Plan) DueTag() web.Tag { return dueTag() }

type hazardOption struct {
	Key  string
	Name web.Msg
}

func hazardOptions() []hazardOption {
	var out []hazardOption
	for _, h := range Hazards {
		out = append(out, hazardOption{h, HazardName(h)})
	}
	return out
}

type plansView struct {
	Page     PlanPage
	Hazard   string
	Due      bool
	Hazards  []hazardOption
	Pager    web.Pager
	CanWrite bool
}

func (h *Handlers) pagePlans(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := PlanFilter{Division: q.Get("division"), Hazard: q.Get("hazard"), Due: q.Get("due") == "1"}
	cursor := q.Get("cursor")
	pg, err := h.Store.Plans(r.Context(), f, cursor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	first, next := keyset.Links(r, cursor, pg.Next)
	h.Pages.Render(w, r, 200, "plans", web.View{Title: web.M("应急预案", "Emergency plans"),
		Crumbs: []web.Crumb{{Href: "/emergency", Label: web.M("应急预警", "Warnings")}, {Label: web.M("应急预案", "Plans")}},
		Data: plansView{Page: pg, Hazard: f.Hazard, Due: f.Due, Hazards: hazardOptions(), Pager: keyset.Pager(first, next, len(pg.Items), pg.Next != "", 0),
			CanWrite: planWriter(access.From(r.Context())) == nil}})
}

type planView struct {
	P        Plan
	Versions []PlanVersion
	CanWrite bool
	Saved    bool
}

func (h *Handlers) pagePlan(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n := 0
	if v := q.Get("version"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			h.fail(w, r, fault.NotFound(fault.M("这份预案没有该版本", "the plan has no such version")))
			return
		}
	}
	pl, err := h.Store.Plan(r.Context(), r.PathValue("id"), n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	vs, err := h.Store.PlanVersions(r.Context(), pl.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, r, 200, "plan", web.View{Title: web.M(pl.Title, pl.Title),
		Crumbs: []web.Crumb{{Href: "/emergency/plans", Label: web.M("应急预案", "Plans")}, {Label: web.M(pl.Title, pl.Title)}},
		Data:   planView{P: pl, Versions: vs, CanWrite: planWriter(access.From(r.Context())) == nil, Saved: q.Get("saved") == "1"}})
}

// The plan form: one block per hazard, in it one per level with the
// actions (a line each), door-to-door and the shelters to open; a hazard
// with no actions at any level is left out.

type levelForm struct {
	Key, Prefix string
	Name        web.Msg
	Actions     string
	Door        bool
	Shelters    map[string]bool
}

type hazardForm struct {
	Key    string
	Name   web.Msg
	Open   bool // has actions: shown unfolded
	Levels []levelForm
}

type planFormView struct {
	Action   string
	Division divisions.Division
	Edit     bool
	Version  int
	Title    string
	Owner    string
	ReviewOn string
	Note     string
	Hazards  []hazardForm
	Owners   []Candidate
	Shelters []PlanShelter
}

func (h *Handlers) planFormOf(pl Plan, f url.Values) []hazardForm {
	var out []hazardForm
	for _, hz := range Hazards {
		hf := hazardForm{Key: hz, Name: HazardName(hz)}
		for _, lv := range Levels {
			lf := levelForm{Key: lv, Prefix: hz + "." + lv, Name: LevelName(lv), Shelters: map[string]bool{}}
			if f != nil {
				lf.Actions, lf.Door = f.Get(lf.Prefix+".actions"), f.Get(lf.Prefix+".door") == "1"
				for _, id := range f[lf.Prefix+".shelters"] {
					lf.Shelters[id] = true
				}
			} else {
				for _, ph := range pl.Hazards {
					for _, pv := range ph.Levels {
						if ph.Hazard == hz && pv.Level == lv {
							lf.Actions, lf.Door = strings.Join(pv.Actions, "\n"), pv.DoorToDoor
							for _, id := range pv.Shelters {
								lf.Shelters[id] = true
							}
						}
					}
				}
			}
			hf.Open = hf.Open || strings.TrimSpace(lf.Actions) != ""
			hf.Levels = append(hf.Levels, lf)
		}
		out = append(out, hf)
	}
	return out
}

// pickUnit is the division a new plan or team is for: the caller's
// community, or one chosen from the places listed (township and down).
func (h *Handlers) pickUnit(w http.ResponseWriter, r *http.Request, base string, title web.Msg, crumbs []web.Crumb) (divisions.Division, bool) {
	p := access.From(r.Context())
	if err := planWriter(p); err != nil {
		h.fail(w, r, err)
		return divisions.Division{}, false
	}
	code := r.URL.Query().Get("division")
	if r.Method == http.MethodPost {
		code = r.PostFormValue("division")
	}
	chosen := code != ""
	if code == "" {
		code = p.Division
	}
	if !access.BusinessScope(p).Contains(code) {
		h.fail(w, r, fault.Invalid(fault.M("请选择辖区内的区划", "choose a division in your jurisdiction"), fault.Field("division", fault.M("辖区内的区划", "a division in your jurisdiction"))))
		return divisions.Division{}, false
	}
	d, err := h.Store.Divs.Get(r.Context(), code)
	if err != nil {
		h.fail(w, r, fault.NotFound(fault.M("没有这个区划", "no such division")))
		return d, false
	}
	if len(code) == 12 || len(code) == 9 && chosen {
		return d, true
	}
	places, _, err := h.Store.Divs.Children(r.Context(), code, 0, 300)
	if err != nil {
		h.fail(w, r, err)
		return d, false
	}
	if len(code) == 9 {
		places = append([]divisions.Division{d}, places...)
	}
	h.Pages.Render(w, r, 200, "unit-pick", web.View{Title: title, Crumbs: crumbs, Data: unitPickView{Base: base, Places: places, Here: d}})
	return d, false
}

type unitPickView struct {
	Base   string
	Here   divisions.Division
	Places []divisions.Division
}

// Leaf tells whether a place is chosen (a township or below) rather than
// gone into.
func (v unitPickView) Leaf(d divisions.Division) bool { return len(d.Code) >= 9 }

func (h *Handlers) pagePlanForm(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	id := r.PathValue("id")
	fv := planFormView{Action: "/emergency/plans/new"}
	var pl Plan
	crumbs := []web.Crumb{{Href: "/emergency/plans", Label: web.M("应急预案", "Plans")}, {Label: web.M("编制预案", "New plan")}}
	if id != "" {
		var err error
		if err = planWriter(access.From(r.Context())); err == nil {
			pl, err = h.Store.Plan(r.Context(), id, 0)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if fv.Division, err = h.Store.Divs.Get(r.Context(), pl.Division); err != nil {
			h.fail(w, r, err)
			return
		}
		fv.Action, fv.Edit, fv.Version = "/emergency/plans/"+id+"/edit", true, pl.Latest
		fv.Title, fv.Owner, fv.ReviewOn = pl.Title, pl.Owner, pl.ReviewOn
		v.Title = web.M("修订预案："+pl.Title, "Revise: "+pl.Title)
		crumbs = []web.Crumb{{Href: "/emergency/plans", Label: web.M("应急预案", "Plans")}, {Href: "/emergency/plans/" + id, Label: web.M(pl.Title, pl.Title)}, {Label: web.M("修订", "Revise")}}
	} else {
		v.Title = web.M("编制应急预案", "Write an emergency plan")
		d, ok := h.pickUnit(w, r, "/emergency/plans/new", v.Title, crumbs)
		if !ok {
			return
		}
		fv.Division = d
		fv.Title = d.Name + "应急预案"
	}
	if v.Form != nil {
		fv.Title, fv.Owner, fv.ReviewOn, fv.Note = v.Form.Get("title"), v.Form.Get("owner"), v.Form.Get("review_on"), v.Form.Get("note")
	}
	fv.Hazards = h.planFormOf(pl, v.Form)
	anyOpen := false
	for i := range fv.Hazards {
		fv.Hazards[i].Open = fv.Hazards[i].Open || len(v.Errors) > 0
		anyOpen = anyOpen || fv.Hazards[i].Open
	}
	fv.Hazards[0].Open = fv.Hazards[0].Open || !anyOpen
	var err error
	if fv.Owners, err = h.Store.Responsibles(r.Context(), fv.Division.Code); err == nil {
		fv.Shelters, err = h.Store.PlanShelters(r.Context(), fv.Division.Code)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Crumbs, v.Data = crumbs, fv
	h.Pages.Render(w, r, status, "plan-form", v)
}

// planInputOf reads the form into a plan and remembers, for each
// hazard and level kept, its fields' names on the form.
func planInputOf(f url.Values) (PlanInput, map[string]string) {
	in := PlanInput{Division: f.Get("division"), Title: f.Get("title"), Owner: f.Get("owner"), ReviewOn: f.Get("review_on"), Note: f.Get("note")}
	names := map[string]string{}
	for _, hz := range Hazards {
		ph := PlanHazard{Hazard: hz}
		for _, lv := range Levels {
			pre := hz + "." + lv
			text := f.Get(pre + ".actions")
			if strings.TrimSpace(text) == "" {
				continue
			}
			at := "hazards[" + strconv.Itoa(len(in.Hazards)) + "].levels[" + strconv.Itoa(len(ph.Levels)) + "]"
			names[at+".actions"], names[at+".shelters"], names[at+".level"] = pre+".actions", pre+".shelters", pre+".actions"
			ph.Levels = append(ph.Levels, PlanLevel{Level: lv, Actions: strings.Split(strings.ReplaceAll(text, "\r", ""), "\n"),
				DoorToDoor: f.Get(pre+".door") == "1", Shelters: f[pre+".shelters"]})
		}
		if len(ph.Levels) > 0 {
			in.Hazards = append(in.Hazards, ph)
		}
	}
	return in, names
}

func (h *Handlers) postPlanForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	in, names := planInputOf(r.PostForm)
	var pl Plan
	var err error
	if id := r.PathValue("id"); id != "" {
		in.Division = ""
		pl, err = h.Store.RevisePlan(r.Context(), id, in)
	} else {
		pl, err = h.Store.CreatePlan(r.Context(), in)
	}
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			for i, fe := range we.Fields {
				if n, ok := names[fe.Field]; ok {
					we.Fields[i].Field = n
				} else if fe.Field == "hazards" {
					we.Fields[i].Field = "flood.blue.actions"
				}
			}
			h.pagePlanForm(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/plans/"+pl.ID+"?saved=1", http.StatusSeeOther)
}
