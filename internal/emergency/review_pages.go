package emergency

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"

	"linli/internal/fault"
	"linli/internal/web"
)

// registerReviews adds the after-action reviews' API and pages.
func (h *Handlers) registerReviews(rt *web.Router) {
	const tag = "emergency"
	rt.API("GET /api/v1/emergency/reviews", web.Op{Summary: "复盘列表（辖区内与本人负责的，新的在前）/ After-action reviews, newest first", Tag: tag, Response: []Review{},
		Params: []web.Param{{Name: "drill", Type: "boolean", Description: "true: only drills (CAP status Exercise)"}}}, h.apiReviews)
	rt.API("POST /api/v1/emergency/reviews", web.Op{Summary: "复盘已解除或失效的预警（每个事件一次；乡镇、县级干部）/ Review an incident once its warnings are over (once; officers)", Tag: tag,
		Body: ReviewInput{}, Response: Review{}, Status: 201}, h.apiWriteReview)
	rt.API("GET /api/v1/emergency/reviews/owners", web.Op{Summary: "整改事项可选的负责人账号 / The accounts a finding may be given to", Tag: tag, Response: []Candidate{}}, h.apiOwners)
	rt.API("GET /api/v1/emergency/reviews/{id}", web.Op{Summary: "复盘详情（各社区数字、参与人员、整改事项）/ A review with its figures, participants and findings", Tag: tag, Response: Review{}}, h.apiReview)
	rt.API("POST /api/v1/emergency/reviews/{id}/findings/{finding}/done", web.Op{Summary: "办结整改事项（负责人或干部）/ Close a finding (its owner or an officer)", Tag: tag,
		Body: DoneInput{}, Response: Finding{}}, h.apiCloseFinding)

	rt.Page("GET /emergency/reviews", h.pageReviews)
	rt.Page("GET /emergency/reviews/new", func(w http.ResponseWriter, r *http.Request) { h.pageReviewNew(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/reviews/new", h.postReviewNew)
	rt.Page("GET /emergency/reviews/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageReview(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/reviews/{id}/findings/{finding}/done", h.postFindingDone)
}

func (h *Handlers) apiReviews(w http.ResponseWriter, r *http.Request) error {
	f := ReviewFilter{}
	switch r.URL.Query().Get("drill") {
	case "", "false", "0":
	case "true", "1":
		f.Drills = true
	default:
		return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("drill", fault.M("应为 true 或 false", "must be true or false")))
	}
	rs, err := h.Store.Reviews(r.Context(), f)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, rs)
	return nil
}

func (h *Handlers) apiWriteReview(w http.ResponseWriter, r *http.Request) error {
	var in ReviewInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	rv, err := h.Store.WriteReview(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, rv)
	return nil
}

func (h *Handlers) apiOwners(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.Store.Owners(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, orEmpty(cs))
	return nil
}

func (h *Handlers) apiReview(w http.ResponseWriter, r *http.Request) error {
	rv, err := h.Store.Review(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, rv)
	return nil
}

func (h *Handlers) apiCloseFinding(w http.ResponseWriter, r *http.Request) error {
	var in DoneInput
	if r.ContentLength != 0 {
		if err := web.DecodeJSON(w, r, &in); err != nil {
			return err
		}
	}
	f, err := h.Store.CloseFinding(r.Context(), r.PathValue("id"), r.PathValue("finding"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, f)
	return nil
}

// DrillTag marks a drill.
func (rv Review) DrillTag() web.Tag {
	if rv.Drill {
		return web.Tag{Tone: web.ToneInfo, Label: web.M("演练", "Drill")}
	}
	return web.Tag{Tone: web.ToneMuted, Label: web.M("实际事件", "Real incident")}
}

// OpenFindings counts the findings not done.
func (rv Review) OpenFindings() int {
	n := 0
	for _, f := range rv.Findings {
		if !f.Done {
			n++
		}
	}
	return n
}

// StateTag is a finding's state.
func (f Finding) StateTag() web.Tag {
	switch {
	case f.Done:
		return web.Tag{Tone: web.ToneOK, Label: web.M("已完成", "Done")}
	case f.Overdue:
		return web.Tag{Tone: web.ToneBad, Label: web.M("已逾期", "Overdue")}
	}
	return web.Tag{Tone: web.ToneWarn, Label: web.M("进行中", "Open")}
}

// Drill tells whether an alert is of a drill.
func (a Alert) Drill() bool { return a.Status == "Exercise" }

type reviewsView struct {
	Items      []Review
	Unreviewed []Alert
	Drills     bool
}

func (h *Handlers) pageReviews(w http.ResponseWriter, r *http.Request) {
	f := ReviewFilter{Drills: r.URL.Query().Get("drill") == "1"}
	rs, err := h.Store.Reviews(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	un, err := h.Store.Unreviewed(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, r, 200, "reviews", web.View{Title: web.M("复盘与演练", "Reviews and drills"), Data: reviewsView{Items: rs, Unreviewed: un, Drills: f.Drills},
		Crumbs: []web.Crumb{{Href: "/emergency", Label: web.M("应急预警", "Warnings")}, {Label: web.M("复盘与演练", "Reviews and drills")}}})
}

type reviewNewView struct {
	A      Alert
	Owners []Candidate
	Rows   []int
}

func (h *Handlers) pageReviewNew(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	id := r.URL.Query().Get("alert")
	if v.Form != nil {
		id = v.Form.Get("alert_id")
	}
	a, err := h.Store.CanReview(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	owners, err := h.Store.Owners(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	n := 3
	for n < MaxFindings && v.Form != nil && v.Form.Get("findings["+strconv.Itoa(n)+"].text") != "" {
		n++
	}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	v.Title, v.Data = web.M("复盘："+a.Title(), "Review: "+a.Title()), reviewNewView{A: a, Owners: owners, Rows: rows}
	v.Crumbs = []web.Crumb{{Href: "/emergency/reviews", Label: web.M("复盘与演练", "Reviews and drills")}, {Label: web.M("写复盘", "Write the review")}}
	h.Pages.Render(w, r, status, "review-new", v)
}

func (h *Handlers) postReviewNew(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	f := r.PostForm
	in := ReviewInput{AlertID: f.Get("alert_id"), Happened: f.Get("happened"), Worked: f.Get("worked"), Failed: f.Get("failed")}
	for i := 0; i < MaxFindings+1; i++ {
		at := "findings[" + strconv.Itoa(i) + "]."
		if _, ok := f[at+"text"]; !ok {
			break
		}
		in.Findings = append(in.Findings, FindingInput{Text: f.Get(at + "text"), Owner: f.Get(at + "owner"), DueOn: f.Get(at + "due_on")})
	}
	rv, err := h.Store.WriteReview(r.Context(), in)
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageReviewNew(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/reviews/"+rv.ID+"?written=1", http.StatusSeeOther)
}

type reviewView struct {
	R       Review
	Written bool
	Closed  bool
}

func (h *Handlers) pageReview(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	rv, err := h.Store.Review(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	title := web.M("复盘："+rv.Headline, "Review: "+rv.Headline)
	if rv.Drill {
		title = web.M("演练复盘："+rv.Headline, "Drill review: "+rv.Headline)
	}
	v.Title, v.Data = title, reviewView{R: rv, Written: q.Get("written") == "1", Closed: q.Get("closed") == "1"}
	v.Crumbs = []web.Crumb{{Href: "/emergency/reviews", Label: web.M("复盘与演练", "Reviews and drills")}, {Label: web.M(rv.Headline, rv.Headline)}}
	h.Pages.Render(w, r, status, "review", v)
}

func (h *Handlers) postFindingDone(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	_, err := h.Store.CloseFinding(r.Context(), r.PathValue("id"), r.PathValue("finding"), DoneInput{Note: r.PostFormValue("note")})
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageReview(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/reviews/"+r.PathValue("id")+"?closed=1", http.StatusSeeOther)
}

// reviewLink leads from a warning's page to its incident's review, or
// to writing one when the principal may now.
func (s *Store) reviewLink(ctx context.Context, a Alert) (string, web.Msg, error) {
	var id string
	err := s.DB.R.QueryRowContext(ctx, `SELECT id FROM em_reviews WHERE incident_id = $1`, a.IncidentID).Scan(&id)
	if err == nil {
		return "/emergency/reviews/" + id, web.M("复盘", "Review"), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", web.Msg{}, err
	}
	if _, err := s.CanReview(ctx, a.ID); err != nil {
		if _, ok := fault.As(err); ok {
			return "", web.Msg{}, nil
		}
		return "", web.Msg{}, err
	}
	return "/emergency/reviews/new?alert=" + a.ID, web.M("写复盘", "Write the review"), nil
}
