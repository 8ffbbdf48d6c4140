package deliberation

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/web"
)

func (h *handlers) registerMorePages(rt *web.Router) {
	rt.Page("GET /deliberation/topics/{id}/merge", func(w http.ResponseWriter, r *http.Request) { h.pageMerge(w, r, 200, web.View{}) })
	rt.Page("POST /deliberation/topics/{id}/merge", h.postMerge)
	rt.Page("POST /deliberation/meetings/{id}/register", h.postRegister(true))
	rt.Page("POST /deliberation/meetings/{id}/unregister", h.postRegister(false))
	rt.Page("POST /deliberation/meetings/{id}/entries", h.postMinuteEntry)
	rt.Page("POST /deliberation/meetings/{id}/entries/{seq}/remove", h.postRemoveMinuteEntry)
	rt.Page("POST /deliberation/decisions/{id}/milestones", h.postMilestone)
	rt.Page("POST /deliberation/decisions/{id}/rate", h.postRate)
}

// formInt reads a number field: empty is 0, anything else not a number
// -1, which the store refuses naming the field.
func formInt(s string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

type mergeView struct {
	Topic      Topic
	Candidates []Topic
	// Into is the chosen target, on the confirmation step, with the
	// duplicate's supporting households.
	Into     *Topic
	Supports int
}

// pageMerge is the merge's first step: pick the topic to merge into from
// the council's open topics.
func (h *handlers) pageMerge(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	if !worker(access.From(ctx)) {
		h.fail(w, r, fault.Forbidden(fault.M("只有社区工作者或干部可以合并议题", "only community workers and officers merge topics")))
		return
	}
	t, err := h.store.Topic(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !t.Mergeable() {
		h.fail(w, r, fault.Conflict(fault.M("议题当前为“"+StateName(t.Status).ZH+"”，不能合并", "the topic is "+StateName(t.Status).EN+": it cannot be merged")))
		return
	}
	cs, err := h.store.MergeCandidates(ctx, t)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Title, v.Data = fault.M("合并重复议题："+t.Title, "Merge a duplicate: "+t.Title), mergeView{Topic: t, Candidates: cs}
	v.Crumbs = []web.Crumb{{Href: "/deliberation", Label: web.M("议事协商", "Deliberation")}, {Href: "/deliberation/topics/" + t.ID, Label: web.M("议题", "Topic")}, {Label: web.M("合并", "Merge")}}
	h.pages.Render(w, r, status, "merge", v)
}

// postMerge shows the confirmation of the chosen target, and merges once
// it is confirmed.
func (h *handlers) postMerge(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	ctx := r.Context()
	id, into := r.PathValue("id"), strings.TrimSpace(r.FormValue("into"))
	again := func(st int, v web.View) { h.pageMerge(w, r, st, v) }
	if r.FormValue("confirm") != "1" {
		t, err := h.store.Topic(ctx, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		var target *Topic
		if cs, err := h.store.MergeCandidates(ctx, t); err == nil {
			for i := range cs {
				if cs[i].ID == into {
					target = &cs[i]
				}
			}
		}
		if target == nil {
			again(400, web.View{Alert: fault.M("填写有误", "the input has errors"), Form: r.Form,
				Errors: []fault.FieldError{fault.Field("into", fault.M("请选择要并入的议题", "choose the topic to merge into"))}})
			return
		}
		sp, err := h.store.Supports(ctx, t.ID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v := web.View{Title: fault.M("确认合并："+t.Title, "Confirm the merge: "+t.Title), Form: r.Form,
			Data: mergeView{Topic: t, Into: target, Supports: sp.Supports}}
		v.Crumbs = []web.Crumb{{Href: "/deliberation", Label: web.M("议事协商", "Deliberation")}, {Href: "/deliberation/topics/" + t.ID, Label: web.M("议题", "Topic")}, {Label: web.M("合并", "Merge")}}
		h.pages.Render(w, r, 200, "merge", v)
		return
	}
	if _, err := h.store.Merge(ctx, id, MergeInput{Into: into, Reason: r.FormValue("reason")}); err != nil {
		h.again(w, r, err, again)
		return
	}
	http.Redirect(w, r, "/deliberation/topics/"+url.PathEscape(into)+"?merged=1", http.StatusSeeOther)
}

// meetingMore is what the meeting page adds for registrations and the
// structured minutes.
type meetingMore struct {
	Resident    bool
	Open        bool // before the start: registrations may change
	CanRegister bool
	Positions   []option
}

type option struct {
	Key   string
	Label fault.Msg
}

func (h *handlers) meetingMore(r *http.Request, m Meeting, v *web.View) meetingMore {
	p := access.From(r.Context())
	mm := meetingMore{Resident: p.Role == access.Resident, Open: h.store.Now().Before(m.StartsAt)}
	mm.CanRegister = mm.Resident && mm.Open && !m.MyRegistration && !m.Full()
	for _, k := range PositionOrder {
		mm.Positions = append(mm.Positions, option{k, PositionName(k)})
	}
	if v.Form != nil && !v.Form.Has("minutes") {
		// Another form of the page came back with an error: the minutes
		// form keeps what is stored.
		v.Form.Set("minutes", m.Minutes)
		v.Form.Set("summary", m.Summary)
	}
	switch q := r.URL.Query(); {
	case v.Notice.ZH != "":
	case q.Get("registered") == "1":
		v.Notice = web.M("报名成功，请按时参会。", "You are registered: see you there.")
	case q.Get("unregistered") == "1":
		v.Notice = web.M("已取消报名。", "Your registration is cancelled.")
	}
	return mm
}

func (h *handlers) postRegister(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		var err error
		if on {
			_, err = h.store.Register(r.Context(), id)
		} else {
			_, err = h.store.Unregister(r.Context(), id)
		}
		if err != nil {
			h.again(w, r, err, func(st int, v web.View) { h.pageMeeting(w, r, st, v) })
			return
		}
		done := "registered=1"
		if !on {
			done = "unregistered=1"
		}
		http.Redirect(w, r, "/deliberation/meetings/"+id+"?"+done, http.StatusSeeOther)
	}
}

func (h *handlers) postMinuteEntry(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	id := r.PathValue("id")
	in := MinuteEntryInput{MemberID: r.FormValue("member_id"), ResidentName: r.FormValue("resident_name"), TopicID: r.FormValue("topic_id"), Position: r.FormValue("position"), Said: r.FormValue("said")}
	if _, err := h.store.AddMinuteEntry(r.Context(), id, in); err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageMeeting(w, r, st, v) })
		return
	}
	http.Redirect(w, r, "/deliberation/meetings/"+id+"#entries", http.StatusSeeOther)
}

func (h *handlers) postRemoveMinuteEntry(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	seq, err := strconv.Atoi(r.PathValue("seq"))
	if err != nil {
		h.fail(w, r, errNotFound)
		return
	}
	if _, err := h.store.RemoveMinuteEntry(r.Context(), id, seq); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/deliberation/meetings/"+id+"#entries", http.StatusSeeOther)
}

func (h *handlers) postMilestone(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	id := r.PathValue("id")
	if _, err := h.store.AddMilestone(r.Context(), id, MilestoneInput{Title: r.FormValue("title"), Due: r.FormValue("due")}); err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageDecision(w, r, st, v) })
		return
	}
	http.Redirect(w, r, "/deliberation/decisions/"+id+"#milestones", http.StatusSeeOther)
}

func (h *handlers) postRate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	id := r.PathValue("id")
	if _, err := h.store.Rate(r.Context(), id, RatingInput{Stars: formInt(r.FormValue("stars")), Comment: r.FormValue("comment")}); err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageDecision(w, r, st, v) })
		return
	}
	http.Redirect(w, r, "/deliberation/decisions/"+id+"#rating", http.StatusSeeOther)
}

// canRate tells whether the reader's household may still rate: a
// resident of the affected area, the topic done, not yet rated.
func (h *handlers) canRate(r *http.Request, d Decision) bool {
	ctx := r.Context()
	p := access.From(ctx)
	if p == nil || p.Role != access.Resident || d.Status != Done || (d.Rating != nil && d.Rating.Mine > 0) {
		return false
	}
	hh, _, err := h.store.household(ctx, p)
	if err != nil {
		return false
	}
	t, err := h.store.readTopic(ctx, h.store.DB.R, d.TopicID)
	if err != nil {
		return false
	}
	in, err := h.store.inArea(ctx, h.store.DB.R, t, hh)
	return err == nil && in
}
