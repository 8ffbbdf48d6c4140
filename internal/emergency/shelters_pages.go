package emergency

import (
	"net/http"

	"linli/internal/fault"
	"linli/internal/web"
)

// registerShelters adds the shelters' API and pages.
func (h *Handlers) registerShelters(rt *web.Router) {
	const tag = "emergency"
	rt.API("GET /api/v1/emergency/shelters", web.Op{Summary: "辖区开放中的应急避难场所：容量、在场人数、管理员、生效预警及开放状态（至多 200 处）/ The shelters of your jurisdiction with capacity, occupancy, manager and the warnings calling them",
		Tag: tag, Response: []ShelterCard{}, Params: []web.Param{{Name: "division", In: "query", Description: "区划 / division"}}}, h.apiShelters)
	rt.API("GET /api/v1/emergency/shelters/{id}", web.Op{Summary: "一处避难场所 / A shelter", Tag: tag, Response: ShelterCard{}}, h.apiShelter)
	rt.API("PUT /api/v1/emergency/shelters/{id}/manager", web.Op{Summary: "指定避难场所管理员（本乡镇工作人员账号）/ Name the shelter's manager (a worker of its township)", Tag: tag,
		Body: ManagerInput{}, Response: ShelterCard{}}, h.apiManager)
	rt.API("POST /api/v1/emergency/shelters/{id}/open", web.Op{Summary: "为生效中的预警开放避难场所 / Open the shelter for a warning in force", Tag: tag,
		Body: OpeningInput{}, Response: ShelterCard{}}, h.apiOpening(true))
	rt.API("POST /api/v1/emergency/shelters/{id}/close", web.Op{Summary: "关闭已开放的避难场所 / Close an open shelter", Tag: tag,
		Body: OpeningInput{}, Response: ShelterCard{}}, h.apiOpening(false))

	rt.Page("GET /emergency/shelters", h.pageShelters)
	rt.Page("GET /emergency/shelters/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageShelter(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/shelters/{id}/manager", h.postManager)
	rt.Page("POST /emergency/shelters/{id}/open", h.postOpening(true))
	rt.Page("POST /emergency/shelters/{id}/close", h.postOpening(false))
}

func (h *Handlers) apiShelters(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.Store.ShelterCards(r.Context(), r.URL.Query().Get("division"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, cs)
	return nil
}

func (h *Handlers) apiShelter(w http.ResponseWriter, r *http.Request) error {
	c, err := h.Store.ShelterCard(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, c)
	return nil
}

func (h *Handlers) apiManager(w http.ResponseWriter, r *http.Request) error {
	var in ManagerInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := h.Store.AssignManager(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, c)
	return nil
}

func (h *Handlers) apiOpening(open bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in OpeningInput
		if err := web.DecodeJSON(w, r, &in); err != nil {
			return err
		}
		c, err := h.Store.SetShelterOpen(r.Context(), r.PathValue("id"), in, open)
		if err != nil {
			return err
		}
		web.WriteJSON(w, 200, c)
		return nil
	}
}

type sheltersView struct {
	Items []ShelterCard
}

func (h *Handlers) pageShelters(w http.ResponseWriter, r *http.Request) {
	cs, err := h.Store.ShelterCards(r.Context(), r.URL.Query().Get("division"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, r, 200, "shelters", web.View{Title: web.M("应急避难场所", "Emergency shelters"),
		Crumbs: []web.Crumb{{Href: "/emergency", Label: web.M("应急预警", "Warnings")}, {Label: web.M("应急避难场所", "Shelters")}},
		Data:   sheltersView{Items: cs}})
}

type shelterView struct {
	S          ShelterCard
	Candidates []MemberCandidate // worker accounts who may manage it
	Done       string
}

func (h *Handlers) pageShelter(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	c, err := h.Store.ShelterCard(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sv := shelterView{S: c, Done: r.URL.Query().Get("done")}
	if c.CanManage && len(c.Division) >= 9 {
		all, err := h.Store.candidatesOf(r.Context(), c.Division, "")
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, x := range all {
			if x.Kind == MemberAccount {
				sv.Candidates = append(sv.Candidates, x)
			}
		}
	}
	if v.Form == nil {
		v.Form = map[string][]string{"username": {c.Manager}}
	}
	v.Title = web.M(c.Name, c.Name)
	v.Crumbs = []web.Crumb{{Href: "/emergency/shelters", Label: web.M("应急避难场所", "Shelters")}, {Label: v.Title}}
	v.Data = sv
	h.Pages.Render(w, r, status, "shelter", v)
}

func (h *Handlers) postManager(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	id := r.PathValue("id")
	if _, err := h.Store.AssignManager(r.Context(), id, ManagerInput{Username: r.PostForm.Get("username")}); err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageShelter(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/shelters/"+id+"?done=manager", http.StatusSeeOther)
}

func (h *Handlers) postOpening(open bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
			return
		}
		id := r.PathValue("id")
		if _, err := h.Store.SetShelterOpen(r.Context(), id, OpeningInput{IncidentID: r.PostForm.Get("incident_id")}, open); err != nil {
			if we, ok := fault.As(err); ok && (we.Code == fault.CodeInvalid || we.Code == fault.CodeConflict) {
				h.pageShelter(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
				return
			}
			h.fail(w, r, err)
			return
		}
		done := "closed"
		if open {
			done = "opened"
		}
		http.Redirect(w, r, "/emergency/shelters/"+id+"?done="+done, http.StatusSeeOther)
	}
}

// StateWords names a shelter's state in an incident.
func (c ShelterCall) StateWords() web.Tag {
	switch c.State {
	case ShelterOpen:
		return web.Tag{Tone: web.ToneOK, Label: web.M("已开放", "Open")}
	case ShelterClosed:
		return web.Tag{Tone: web.ToneMuted, Label: web.M("已关闭", "Closed")}
	}
	return web.Tag{Tone: web.ToneWarn, Label: web.M("待开放", "To open")}
}
