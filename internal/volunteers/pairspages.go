package volunteers

import (
	"net/http"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

const listPairs = "volunteers/pairs"

// registerPairAPI adds /api/v1/volunteer-pairs (结对探访).
func (h *Handlers) registerPairAPI(rt *web.Router) {
	const tag = "volunteers"
	cur := []web.Param{keyset.Param, {Name: "page_size", Type: "integer"}}
	rt.API("GET /api/v1/volunteer-pairs", web.Op{Summary: "结对探访（工作者：辖区内的；居民：本人的；按键翻页）/ Volunteer–target pairs: in your jurisdiction, or your own, paged by key", Tag: tag, Response: Page[Pair]{},
		Params: append([]web.Param{{Name: "status", Description: "active or ended"}}, cur...)}, h.apiPairs)
	rt.API("POST /api/v1/volunteer-pairs", web.Op{Summary: "社区工作者为已认证志愿者与探访对象结对 / A community worker pairs a verified volunteer with a visit target", Tag: tag, Body: PairInput{}, Response: Pair{}, Status: 201}, h.apiCreatePair)
	rt.API("GET /api/v1/volunteer-pairs/targets", web.Op{Summary: "本月辖区内可结对的探访对象 / This month's visit targets in your jurisdiction, to pair with", Tag: tag, Response: []Target{}}, h.apiTargets)
	rt.API("POST /api/v1/volunteer-pairs/{id}/end", web.Op{Summary: "解除结对（探访记录保留）/ End a pair (its visits stay)", Tag: tag, Response: Pair{}}, h.apiEndPair)
	rt.API("GET /api/v1/volunteer-pairs/{id}/visits", web.Op{Summary: "结对的探访记录 / A pair's visits", Tag: tag, Response: []PairVisit{}}, h.apiPairVisits)
	rt.API("POST /api/v1/volunteer-pairs/{id}/visits", web.Op{Summary: "结对志愿者记录探访：完成对象最早的待访，记入时长（每天一次）/ The paired volunteer records a visit: it closes the target's earliest open visit and credits hours (once a day)", Tag: tag, Body: PairVisitInput{}, Response: PairVisit{}, Status: 201}, h.apiRecordPairVisit)
}

// registerPairPages adds the community's pairs page and the volunteer's
// page of a pair.
func (h *Handlers) registerPairPages(rt *web.Router) {
	rt.Page("GET /volunteers/pairs", func(w http.ResponseWriter, r *http.Request) { h.pagePairs(w, r, 200, web.View{}) })
	rt.Page("POST /volunteers/pairs", h.postPair)
	rt.Page("GET /volunteers/pairs/{id}/end", h.pageEndPair)
	rt.Page("POST /volunteers/pairs/{id}/end", h.postEndPair)
	rt.Page("GET /volunteers/me/pairs/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageMyPair(w, r, 200, web.View{}) })
	rt.Page("POST /volunteers/me/pairs/{id}", h.postPairVisit)
}

func (h *Handlers) apiPairs(w http.ResponseWriter, r *http.Request) error {
	n, err := pageSize(r, 50)
	if err != nil {
		return err
	}
	key, err := h.cursor(r, listPairs, 1)
	if err != nil {
		return err
	}
	f := PairFilter{Status: r.URL.Query().Get("status"), Limit: n + 1}
	if key != nil {
		f.After = key[0]
	}
	ps, err := h.Store.Pairs(r.Context(), f)
	if err != nil {
		return err
	}
	p := Page[Pair]{Items: ps}
	if len(ps) > n {
		p.Items = ps[:n]
		p.Next = keyset.Seal(h.Keys, listPairs, ps[n-1].Cursor())
	}
	web.WriteJSON(w, 200, p)
	return nil
}

func (h *Handlers) apiCreatePair(w http.ResponseWriter, r *http.Request) error {
	var in PairInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := h.Store.CreatePair(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, p)
	return nil
}

func (h *Handlers) apiTargets(w http.ResponseWriter, r *http.Request) error {
	ts, err := h.Store.Targets(r.Context(), 200)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, ts)
	return nil
}

func (h *Handlers) apiEndPair(w http.ResponseWriter, r *http.Request) error {
	p, err := h.Store.EndPair(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, p)
	return nil
}

func (h *Handlers) apiPairVisits(w http.ResponseWriter, r *http.Request) error {
	vs, err := h.Store.PairVisits(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, vs)
	return nil
}

func (h *Handlers) apiRecordPairVisit(w http.ResponseWriter, r *http.Request) error {
	var in PairVisitInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	v, err := h.Store.RecordPairVisit(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, v)
	return nil
}

type pairsView struct {
	Pairs      []Pair
	CanPair    bool
	Volunteers []Volunteer
	Targets    []Target
	Done       string
}

// pagePairs is the community's pairs: the list, and the form to pair a
// volunteer with a target, both picked from lists of the jurisdiction.
func (h *Handlers) pagePairs(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	if !manager(p, p.Division) {
		h.fail(w, r, fault.Forbidden(fault.M("只有社区工作者、干部可以查看结对", "only community workers and officers see pairs")))
		return
	}
	d := pairsView{Done: r.URL.Query().Get("done"), CanPair: pairWorker(p, p.Division)}
	var err error
	if d.Pairs, err = h.Store.Pairs(ctx, PairFilter{Limit: 200}); err != nil {
		h.fail(w, r, err)
		return
	}
	if d.CanPair {
		if d.Volunteers, err = h.Store.list(ctx, VolunteerFilter{Status: StatusVerified, Limit: 200}); err != nil {
			h.fail(w, r, err)
			return
		}
		if d.Targets, err = h.Store.Targets(ctx, 300); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	v.Title, v.Data = web.M("结对探访", "Volunteer pairs"), d
	v.Crumbs = []web.Crumb{{Href: "/volunteers", Label: web.M("志愿服务", "Volunteering")}, {Label: v.Title}}
	h.Pages.Render(w, r, status, "pairs", v)
}

func (h *Handlers) postPair(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := r.PostForm
	prog, target, _ := strings.Cut(f.Get("target"), "|")
	if _, err := h.Store.CreatePair(r.Context(), PairInput{VolunteerID: f.Get("volunteer_id"), ProgrammeID: prog, TargetID: target}); err != nil {
		h.formError(w, r, err, func(status int, v web.View) { h.pagePairs(w, r, status, v) })
		return
	}
	http.Redirect(w, r, "/volunteers/pairs?done=paired", http.StatusSeeOther)
}

// pageEndPair asks before a pair is ended.
func (h *Handlers) pageEndPair(w http.ResponseWriter, r *http.Request) {
	pr, err := h.Store.Pair(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !pr.Active {
		h.fail(w, r, errPairEnded)
		return
	}
	v := web.View{Title: web.M("解除结对", "End a pair"), Data: pr}
	v.Crumbs = []web.Crumb{{Href: "/volunteers", Label: web.M("志愿服务", "Volunteering")}, {Href: "/volunteers/pairs", Label: web.M("结对探访", "Volunteer pairs")}, {Label: v.Title}}
	h.Pages.Render(w, r, 200, "pairend", v)
}

func (h *Handlers) postEndPair(w http.ResponseWriter, r *http.Request) {
	if _, err := h.Store.EndPair(r.Context(), r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/volunteers/pairs?done=ended", http.StatusSeeOther)
}

// DurationChoice is a visit length on the form.
type DurationChoice struct {
	Minutes int64
	Label   web.Msg
	Checked bool
}

type myPairView struct {
	Pair      Pair
	Visits    []PairVisit
	Durations []DurationChoice
	Today     string
	Date      string
	Well      bool
	Note      string
	Done      string
}

// pageMyPair is the volunteer's page of one pair: the target, the form
// to record a visit, and the visits so far.
func (h *Handlers) pageMyPair(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	pr, err := h.Store.Pair(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := access.From(ctx); p.Role != access.Resident {
		http.Redirect(w, r, "/volunteers/pairs", http.StatusSeeOther)
		return
	}
	d := myPairView{Pair: pr, Today: h.Store.today(), Done: r.URL.Query().Get("done"), Date: h.Store.today(), Well: true}
	if d.Visits, err = h.Store.PairVisits(ctx, pr.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	chosen := int64(60)
	if v.Form != nil {
		d.Date, d.Well, d.Note = v.Form.Get("date"), v.Form.Get("well") != "no", v.Form.Get("note")
		chosen, _ = strconv.ParseInt(v.Form.Get("minutes"), 10, 64)
	}
	for _, m := range Durations {
		label := web.M(strconv.FormatInt(m, 10)+" 分钟", strconv.FormatInt(m, 10)+" minutes")
		if m >= 60 {
			label = web.M(ftoa(float64(m)/60)+" 小时", ftoa(float64(m)/60)+" h")
		}
		d.Durations = append(d.Durations, DurationChoice{Minutes: m, Label: label, Checked: m == chosen})
	}
	v.Title, v.Data = web.M("结对探访："+pr.Target, "Paired visits: "+pr.Target), d
	v.Crumbs = []web.Crumb{{Href: "/volunteers/me", Label: web.M("我的志愿服务", "My volunteering")}, {Label: web.M("结对探访", "Paired visits")}}
	h.Pages.Render(w, r, status, "mypair", v)
}

func (h *Handlers) postPairVisit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := r.PostForm
	minutes, _ := strconv.ParseInt(f.Get("minutes"), 10, 64)
	in := PairVisitInput{Date: f.Get("date"), Minutes: minutes, Well: f.Get("well") != "no", Note: f.Get("note")}
	id := r.PathValue("id")
	if _, err := h.Store.RecordPairVisit(r.Context(), id, in); err != nil {
		h.formError(w, r, err, func(status int, v web.View) { h.pageMyPair(w, r, status, v) })
		return
	}
	http.Redirect(w, r, "/volunteers/me/pairs/"+id+"?done=recorded", http.StatusSeeOther)
}
