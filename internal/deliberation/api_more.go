package deliberation

import (
	"net/http"
	"strconv"

	"linli/internal/fault"
	"linli/internal/web"
)

// registerMoreAPI adds merging, meeting registrations, structured minutes,
// milestones and ratings.
func (h *handlers) registerMoreAPI(rt *web.Router) {
	const tag = "deliberation"
	rt.API("POST /api/v1/topics/{id}/merge", web.Op{Summary: "将重复议题并入同一议事会的另一议题（联署、支持按户合并计数）/ Merge a duplicate into another topic of its council (co-signs and supports counted once per household)",
		Tag: tag, Body: MergeInput{}, Response: Topic{}}, h.apiMerge)
	rt.API("POST /api/v1/meetings/{id}/registrations", web.Op{Summary: "居民报名参会（每人一次，有名额限制时额满即止）/ Register to attend (once; refused when full)", Tag: tag, Response: Meeting{}, Status: 201}, h.apiRegister(true))
	rt.API("DELETE /api/v1/meetings/{id}/registrations", web.Op{Summary: "会前取消本人报名 / Cancel your registration before the meeting", Tag: tag, Response: Meeting{}}, h.apiRegister(false))
	rt.API("POST /api/v1/meetings/{id}/minutes/entries", web.Op{Summary: "会后记录一位发言人对一个议题的意见 / Record one speaker's position on an agenda topic", Tag: tag, Body: MinuteEntryInput{}, Response: Meeting{}, Status: 201}, h.apiMinuteEntry)
	rt.API("DELETE /api/v1/meetings/{id}/minutes/entries/{seq}", web.Op{Summary: "删除一条误记的发言 / Remove an entry made in error", Tag: tag, Response: Meeting{}}, h.apiRemoveMinuteEntry)
	rt.API("POST /api/v1/decisions/{id}/milestones", web.Op{Summary: "为实施计划添加节点 / Add a milestone to the implementation plan", Tag: tag, Body: MilestoneInput{}, Response: Decision{}, Status: 201}, h.apiMilestone)
	rt.API("POST /api/v1/decisions/{id}/ratings", web.Op{Summary: "评价问效：完成后涉及范围内每户评价一次（1–5 星）/ Rate a finished decision, once per household of the area (1–5 stars)", Tag: tag, Body: RatingInput{}, Response: Decision{}, Status: 201}, h.apiRate)
}

func (h *handlers) apiMerge(w http.ResponseWriter, r *http.Request) error {
	var in MergeInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	t, err := h.store.Merge(r.Context(), r.PathValue("id"), in)
	return respond(w, 200, t, err)
}

func (h *handlers) apiRegister(on bool) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if on {
			m, err := h.store.Register(r.Context(), r.PathValue("id"))
			return respond(w, 201, m, err)
		}
		m, err := h.store.Unregister(r.Context(), r.PathValue("id"))
		return respond(w, 200, m, err)
	}
}

func (h *handlers) apiMinuteEntry(w http.ResponseWriter, r *http.Request) error {
	var in MinuteEntryInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	m, err := h.store.AddMinuteEntry(r.Context(), r.PathValue("id"), in)
	return respond(w, 201, m, err)
}

func (h *handlers) apiRemoveMinuteEntry(w http.ResponseWriter, r *http.Request) error {
	seq, err := strconv.Atoi(r.PathValue("seq"))
	if err != nil || seq < 1 {
		return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("seq", fault.M("序号应为正整数", "seq is a positive number")))
	}
	m, err := h.store.RemoveMinuteEntry(r.Context(), r.PathValue("id"), seq)
	return respond(w, 200, m, err)
}

func (h *handlers) apiMilestone(w http.ResponseWriter, r *http.Request) error {
	var in MilestoneInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	d, err := h.store.AddMilestone(r.Context(), r.PathValue("id"), in)
	return respond(w, 201, d, err)
}

func (h *handlers) apiRate(w http.ResponseWriter, r *http.Request) error {
	var in RatingInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	d, err := h.store.Rate(r.Context(), r.PathValue("id"), in)
	return respond(w, 201, d, err)
}
