package emergency

import (
	"net/http"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/questions"
	"linli/internal/web"
)

// registerDrills adds the drills' API and pages.
func (h *Handlers) registerDrills(rt *web.Router) {
	const tag = "emergency"
	rt.API("GET /api/v1/emergency/drills", web.Op{Summary: "辖区演练：将举行的在前，随后为过去的（至多 200 次）/ Drills of your jurisdiction, the coming ones first", Tag: tag,
		Response: []Drill{}, Params: []web.Param{{Name: "division", In: "query", Description: "区划 / division"}}}, h.apiDrills)
	rt.API("POST /api/v1/emergency/drills", web.Op{Summary: "安排演练（社区或乡镇；时间须在将来）/ Schedule a drill of a community or township (in the future)", Tag: tag,
		Body: DrillInput{}, Response: Drill{}, Status: 201}, h.apiScheduleDrill)
	rt.API("GET /api/v1/emergency/drills/{id}", web.Op{Summary: "一次演练及其复盘 / A drill with its review", Tag: tag, Response: Drill{}}, h.apiDrill)
	rt.API("POST /api/v1/emergency/drills/{id}/held", web.Op{Summary: "登记演练已举行：所用的演练（Exercise）预警 / Record the drill held with its Exercise warning", Tag: tag,
		Body: DrillHeldInput{}, Response: Drill{}}, h.apiDrillMove(true))
	rt.API("POST /api/v1/emergency/drills/{id}/cancel", web.Op{Summary: "取消演练（须说明原因）/ Cancel a drill, with the reason", Tag: tag,
		Body: DrillCancelInput{}, Response: Drill{}}, h.apiDrillMove(false))

	rt.Page("GET /emergency/drills", h.pageDrills)
	rt.Page("GET /emergency/drills/new", func(w http.ResponseWriter, r *http.Request) { h.pageDrillNew(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/drills/new", h.postDrillNew)
	rt.Page("GET /emergency/drills/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageDrill(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/drills/{id}/held", h.postDrillMove(true))
	rt.Page("POST /emergency/drills/{id}/cancel", h.postDrillMove(false))
}

func (h *Handlers) apiDrills(w http.ResponseWriter, r *http.Request) error {
	ds, err := h.Store.Drills(r.Context(), r.URL.Query().Get("division"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, ds)
	return nil
}

func (h *Handlers) apiScheduleDrill(w http.ResponseWriter, r *http.Request) error {
	var in DrillInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	d, err := h.Store.ScheduleDrill(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, d)
	return nil
}

func (h *Handlers) apiDrill(w http.ResponseWriter, r *http.Request) error {
	d, err := h.Store.Drill(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, d)
	return nil
}

func (h *Handlers) apiDrillMove(held bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var d Drill
		var err error
		if held {
			var in DrillHeldInput
			if err := web.DecodeJSON(w, r, &in); err != nil {
				return err
			}
			d, err = h.Store.HoldDrill(r.Context(), r.PathValue("id"), in)
		} else {
			var in DrillCancelInput
			if err := web.DecodeJSON(w, r, &in); err != nil {
				return err
			}
			d, err = h.Store.CancelDrill(r.Context(), r.PathValue("id"), in)
		}
		if err != nil {
			return err
		}
		web.WriteJSON(w, 200, d)
		return nil
	}
}

type drillsView struct {
	Items    []Drill
	CanWrite bool
}

func (h *Handlers) pageDrills(w http.ResponseWriter, r *http.Request) {
	ds, err := h.Store.Drills(r.Context(), r.URL.Query().Get("division"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, r, 200, "drills", web.View{Title: web.M("应急演练", "Drills"),
		Crumbs: []web.Crumb{{Href: "/emergency", Label: web.M("应急预警", "Warnings")}, {Label: web.M("应急演练", "Drills")}},
		Data:   drillsView{Items: ds, CanWrite: planWriter(access.From(r.Context())) == nil}})
}

type drillNewView struct {
	Division string
	Hazards  []string
}

// HazardName names a hazard for the form.
func (drillNewView) HazardName(h string) web.Msg { return HazardName(h) }

func (h *Handlers) pageDrillNew(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	v.Title = web.M("安排演练", "Schedule a drill")
	crumbs := []web.Crumb{{Href: "/emergency/drills", Label: web.M("应急演练", "Drills")}, {Label: v.Title}}
	d, ok := h.pickUnit(w, r, "/emergency/drills/new", v.Title, crumbs)
	if !ok {
		return
	}
	v.Crumbs, v.Data = crumbs, drillNewView{Division: d.Name + "（" + d.Code + "）", Hazards: Hazards}
	if v.Form == nil {
		at := h.Store.Now().In(questions.CST).AddDate(0, 0, 14).Truncate(time.Hour)
		v.Form = map[string][]string{"division": {d.Code}, "title": {d.Name + "防汛防台演练"}, "hazard": {"typhoon"}, "starts_at": {at.Format("2006-01-02T15:04")}}
	}
	h.Pages.Render(w, r, status, "drill-new", v)
}

func (h *Handlers) postDrillNew(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	f := r.PostForm
	at, _ := time.ParseInLocation("2006-01-02T15:04", strings.TrimSpace(f.Get("starts_at")), questions.CST)
	d, err := h.Store.ScheduleDrill(r.Context(), DrillInput{Division: f.Get("division"), Title: f.Get("title"), Hazard: f.Get("hazard"), StartsAt: at, Place: f.Get("place")})
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageDrillNew(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: f})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/drills/"+d.ID+"?done=1", http.StatusSeeOther)
}

type drillView struct {
	D         Drill
	CanWrite  bool
	Exercises []Alert
	Done      string
}

func (h *Handlers) pageDrill(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	d, err := h.Store.Drill(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	dv := drillView{D: d, CanWrite: planWriter(access.From(r.Context())) == nil && d.State == DrillScheduled, Done: r.URL.Query().Get("done")}
	if dv.CanWrite {
		if dv.Exercises, err = h.Store.ExerciseIncidents(r.Context(), d); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	v.Title = web.M(d.Title, d.Title)
	v.Crumbs = []web.Crumb{{Href: "/emergency/drills", Label: web.M("应急演练", "Drills")}, {Label: v.Title}}
	v.Data = dv
	h.Pages.Render(w, r, status, "drill", v)
}

func (h *Handlers) postDrillMove(held bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
			return
		}
		id := r.PathValue("id")
		var err error
		if held {
			_, err = h.Store.HoldDrill(r.Context(), id, DrillHeldInput{IncidentID: r.PostForm.Get("incident_id")})
		} else {
			_, err = h.Store.CancelDrill(r.Context(), id, DrillCancelInput{Reason: r.PostForm.Get("reason")})
		}
		if err != nil {
			if we, ok := fault.As(err); ok && (we.Code == fault.CodeInvalid || we.Code == fault.CodeConflict) {
				h.pageDrill(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
				return
			}
			h.fail(w, r, err)
			return
		}
		done := "cancelled"
		if held {
			done = "held"
		}
		http.Redirect(w, r, "/emergency/drills/"+id+"?done="+done, http.StatusSeeOther)
	}
}
