package emergency

import (
	"net/http"
	"net/url"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/questions"
	"linli/internal/tabular"
	"linli/internal/web"
)

// The hazard register's API and pages.

func (h *Handlers) registerHazards(rt *web.Router) {
	const tag = "emergency"
	rt.API("GET /api/v1/emergency/hazards", web.Op{Summary: "隐患台账（按整改期限、id 翻页）/ The hazard register, nearest deadline first, paged by key", Tag: tag, Response: HazardPage{},
		Params: []web.Param{{Name: "state", In: "query", Description: "open | rectifying | closed"}, {Name: "kind", In: "query", Description: "fire | structural | flood | electrical | gas | other"},
			{Name: "overdue", In: "query", Type: "boolean", Description: "true: 逾期未销号 / past the deadline and not closed"}, keyset.Param}}, h.apiHazards)
	rt.API("POST /api/v1/emergency/hazards", web.Op{Summary: "登记隐患（排查发现，或来自消防、治安诉求与探访发现，每个来源一次）/ Register a hazard (from an inspection, a fire or security request, or a visit's finding; each source once)", Tag: tag,
		Body: HazardInput{}, Response: Hazard{}, Status: 201}, h.apiAddHazard)
	rt.API("GET /api/v1/emergency/hazards/candidates", web.Op{Summary: "尚未登记的消防、治安诉求和探访安全发现 / Fire and security requests and visits' safety findings not yet registered", Tag: tag,
		Response: []HazardCandidate{}}, h.apiHazardCandidates)
	rt.API("GET /api/v1/emergency/hazards/owners", web.Op{Summary: "隐患可选的负责人账号（所在乡镇（街道）的工作人员）/ The accounts a hazard may be given to", Tag: tag, Response: []Candidate{},
		Params: []web.Param{{Name: "division", In: "query", Description: "隐患所在区划，默认本人 / the hazard's division, by default your own"}}}, h.apiHazardOwners)
	rt.API("GET /api/v1/emergency/hazards/{id}", web.Op{Summary: "隐患详情与办理记录 / A hazard with its history", Tag: tag, Response: Hazard{}}, h.apiHazard)
	rt.API("POST /api/v1/emergency/hazards/{id}/events", web.Op{Summary: "办理隐患：rectify 开始整改，close 整改完成（须写明情况），reopen 重新打开（须写明原因）/ Take a hazard a step", Tag: tag,
		Body: HazardAction{}, Response: Hazard{}}, h.apiChangeHazard)

	rt.Page("GET /emergency/hazards", h.pageHazards)
	rt.Page("GET /emergency/hazards.csv", h.getHazardsCSV)
	rt.Page("GET /emergency/hazards/candidates", h.pageHazardCandidates)
	rt.Page("GET /emergency/hazards/new", func(w http.ResponseWriter, r *http.Request) {
		h.pageHazardNew(w, r, 200, web.View{Form: r.URL.Query()})
	})
	rt.Page("POST /emergency/hazards/new", h.postHazardNew)
	rt.Page("GET /emergency/hazards/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageHazard(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/hazards/{id}", h.postHazard)
}

func hazardFilter(q url.Values) HazardFilter {
	return HazardFilter{State: q.Get("state"), Kind: q.Get("kind"), Overdue: q.Get("overdue") == "true" || q.Get("overdue") == "1", Cursor: q.Get("cursor")}
}

func (h *Handlers) apiHazards(w http.ResponseWriter, r *http.Request) error {
	pg, err := h.Store.Hazards(r.Context(), hazardFilter(r.URL.Query()))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pg)
	return nil
}

func (h *Handlers) apiAddHazard(w http.ResponseWriter, r *http.Request) error {
	var in HazardInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	hz, err := h.Store.AddHazard(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, hz)
	return nil
}

func (h *Handlers) apiHazardCandidates(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.Store.HazardCandidates(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, orEmpty(cs))
	return nil
}

func (h *Handlers) apiHazardOwners(w http.ResponseWriter, r *http.Request) error {
	p := access.From(r.Context())
	if err := hazardReader(p); err != nil {
		return err
	}
	div := r.URL.Query().Get("division")
	if div == "" {
		div = p.Division
	}
	if !access.BusinessScope(p).Contains(div) {
		return fault.Invalid(fault.M("请选择辖区内的区划", "choose a division in your jurisdiction"), fault.Field("division", fault.M("辖区内的区划", "a division in your jurisdiction")))
	}
	os, err := h.Store.HazardOwners(r.Context(), div)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, orEmpty(os))
	return nil
}

func (h *Handlers) apiHazard(w http.ResponseWriter, r *http.Request) error {
	hz, err := h.Store.Hazard(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, hz)
	return nil
}

func (h *Handlers) apiChangeHazard(w http.ResponseWriter, r *http.Request) error {
	var in HazardAction
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	hz, err := h.Store.ChangeHazard(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, hz)
	return nil
}

// Pages.

type hazardsView struct {
	Page   HazardPage
	F      HazardFilter
	Kinds  []Choice
	Query  string // the filters, for the CSV link
	Pager  web.Pager
	Done   bool
	Filter bool
}

var hazardsCrumb = web.Crumb{Href: "/emergency/hazards", Label: web.M("隐患台账", "Hazard register")}

func (h *Handlers) pageHazards(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := hazardFilter(q)
	pg, err := h.Store.Hazards(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	first, next := keyset.Links(r, f.Cursor, pg.Next)
	fq := url.Values{}
	for _, k := range []string{"state", "kind", "overdue"} {
		if v := q.Get(k); v != "" {
			fq.Set(k, v)
		}
	}
	h.Pages.Render(w, r, 200, "hazards", web.View{Title: web.M("隐患台账", "Hazard register"),
		Crumbs: []web.Crumb{{Href: "/emergency", Label: web.M("应急预警", "Warnings")}, {Label: web.M("隐患台账", "Hazard register")}},
		Data: hazardsView{Page: pg, F: f, Kinds: HazardKinds, Query: fq.Encode(), Pager: keyset.Pager(first, next, len(pg.Items), pg.Next != "", 0),
			Done: q.Get("done") == "1", Filter: f.State != "" || f.Kind != "" || f.Overdue}})
}

// maxHazardsCSV bounds an export (the register of a county).
const maxHazardsCSV = 20_000

func (h *Handlers) getHazardsCSV(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f := hazardFilter(r.URL.Query())
	f.Cursor = ""
	var all []Hazard
	for len(all) < maxHazardsCSV {
		pg, err := h.Store.Hazards(ctx, f)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		all = append(all, pg.Items...)
		if pg.Next == "" {
			break
		}
		f.Cursor = pg.Next
	}
	p := access.From(ctx)
	if err := h.Store.Audit.Record(ctx, audit.Entry{Action: "emergency.hazard.export", Object: "hazard", Division: p.Division,
		Detail: audit.Detail(map[string]any{"rows": len(all), "state": f.State, "kind": f.Kind, "overdue": f.Overdue})}); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="hazards-`+h.Store.Now().In(questions.CST).Format("20060102")+`.csv"`)
	tw, _ := tabular.NewWriter(w, "csv")
	_ = tw.Row("编号 ID", "区划 Division", "位置 Place", "类别 Kind", "风险等级 Level", "来源 Source", "来源编号 Source ref", "负责人 Owner", "整改期限 Due", "状态 State", "逾期 Overdue", "情况 Description")
	for _, hz := range all {
		overdue := ""
		if hz.Overdue {
			overdue = "是 yes"
		}
		st := hazardStateName(hz.State)
		if err := tw.Row(hz.ID, hz.Division, hz.Place, hz.KindName().ZH+" "+hz.KindName().EN, hz.LevelName().ZH+" "+hz.LevelName().EN, hz.SourceName().ZH,
			hz.SourceLabel, hz.Owner, hz.DueOn, st.ZH+" "+st.EN, overdue, hz.Description); err != nil {
			return
		}
	}
	_ = tw.Close()
}

type candidatesView struct{ Items []HazardCandidate }

func (h *Handlers) pageHazardCandidates(w http.ResponseWriter, r *http.Request) {
	cs, err := h.Store.HazardCandidates(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, r, 200, "hazards-candidates", web.View{Title: web.M("待登记的诉求和探访发现", "Requests and findings to register"),
		Crumbs: []web.Crumb{hazardsCrumb, {Label: web.M("待登记", "To register")}}, Data: candidatesView{cs}})
}

// NewHref is the new-hazard form prefilled from the candidate.
func (c HazardCandidate) NewHref() string {
	v := url.Values{"source": {c.Source}, "source_ref": {c.Ref}, "kind": {c.Kind}, "division": {c.Division}, "place": {c.Place}, "description": {c.Text}}
	return "/emergency/hazards/new?" + v.Encode()
}

// KindName is the candidate's kind in words.
func (c HazardCandidate) KindName() fault.Msg { return choiceName(HazardKinds, c.Kind) }

type hazardNewView struct {
	Divisions []Choice
	Owners    []Candidate
	Kinds     []Choice
	Levels    []Choice
	Source    string
	SourceRef string
	Today     string
}

func (h *Handlers) pageHazardNew(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	if err := hazardReader(p); err != nil {
		h.fail(w, r, err)
		return
	}
	divs, err := h.Store.hazardDivisions(ctx, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	div := v.Form.Get("division")
	if div == "" || !access.BusinessScope(p).Contains(div) {
		div = p.Division
	}
	owners, err := h.Store.HazardOwners(ctx, div)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	src := v.Form.Get("source")
	if src != SourceRequest && src != SourceVisit {
		src = ""
	}
	v.Title = web.M("登记隐患", "Register a hazard")
	v.Crumbs = []web.Crumb{hazardsCrumb, {Label: v.Title}}
	v.Data = hazardNewView{Divisions: divs, Owners: owners, Kinds: HazardKinds, Levels: HazardLevels, Source: src, SourceRef: v.Form.Get("source_ref"),
		Today: h.Store.Now().In(questions.CST).Format("2006-01-02")}
	h.Pages.Render(w, r, status, "hazard-new", v)
}

func (h *Handlers) postHazardNew(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	f := r.PostForm
	hz, err := h.Store.AddHazard(r.Context(), HazardInput{Division: f.Get("division"), Place: f.Get("place"), Description: f.Get("description"), Kind: f.Get("kind"),
		Level: f.Get("level"), Source: f.Get("source"), SourceRef: f.Get("source_ref"), Owner: f.Get("owner"), DueOn: f.Get("due_on")})
	if err != nil {
		if we, ok := fault.As(err); ok && (we.Code == fault.CodeInvalid || we.Code == fault.CodeConflict) {
			h.pageHazardNew(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: f})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/hazards/"+hz.ID+"?done=1", http.StatusSeeOther)
}

type hazardView struct {
	H    Hazard
	Done bool
	Now  time.Time
}

// ActionChoices are the hazard's next steps as radio choices.
func (v hazardView) ActionChoices() []Choice {
	names := map[string]fault.Msg{ActRectify: fault.M("开始整改", "Begin rectifying"), ActClose: fault.M("整改完成，销号（须写明整改情况）", "Rectified: close (say what was done)"),
		ActReopen: fault.M("重新打开（须写明原因）", "Reopen (give the reason)")}
	var out []Choice
	for _, a := range v.H.Actions {
		out = append(out, Choice{a, names[a]})
	}
	return out
}

func (h *Handlers) pageHazard(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	hz, err := h.Store.Hazard(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Title = web.M("隐患："+hz.Place, "Hazard: "+hz.Place)
	v.Crumbs = []web.Crumb{hazardsCrumb, {Label: web.M("隐患详情", "Hazard")}}
	v.Data = hazardView{H: hz, Done: r.URL.Query().Get("done") == "1"}
	h.Pages.Render(w, r, status, "hazard", v)
}

func (h *Handlers) postHazard(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	f := r.PostForm
	hz, err := h.Store.ChangeHazard(r.Context(), r.PathValue("id"), HazardAction{Action: f.Get("action"), Note: f.Get("note")})
	if err != nil {
		if we, ok := fault.As(err); ok && (we.Code == fault.CodeInvalid || we.Code == fault.CodeConflict) {
			h.pageHazard(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: f})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/hazards/"+hz.ID+"?done=1", http.StatusSeeOther)
}
