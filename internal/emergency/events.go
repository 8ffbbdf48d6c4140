package emergency

import (
	"context"
	"errors"
	"net/http"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/web"
)

// Event is an incident as the API names it: opened by its first warning
// (whose id is the event's), followed by Updates and at most one Cancel.
// Its tasks are the checks the warnings created, its statuses the
// check-ins, its situation the board.
type Event struct {
	ID       string    `json:"id"`
	Opened   time.Time `json:"opened"`
	State    string    `json:"state"` // the latest warning's: active, cancelled
	Latest   Alert     `json:"latest"`
	Warnings []Alert   `json:"warnings,omitempty"` // oldest first; one event's read only
}

var errNoEvent = fault.NotFound(fault.M("找不到这个应急事件，或不在您的辖区内", "no such emergency event in your jurisdiction"))

// Events lists the events the principal may see, newest opened first: at
// most limit, opened before the given time (zero: the newest).
func (s *Store) Events(ctx context.Context, before time.Time, limit int) ([]Event, error) {
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	cond, args := visibleCond(access.From(ctx), 1)
	q := `SELECT ` + alertCols + ` FROM em_alerts x WHERE x.id = x.incident_id AND ` + cond
	if !before.IsZero() {
		q += ` AND x.sent < ` + ph(len(args)+1)
		args = append(args, db.T(before))
	}
	q += ` ORDER BY x.sent DESC, x.id DESC LIMIT ` + itoa(limit)
	firsts, err := db.Collect(ctx, s.DB.R, scanAlert, q, args...)
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(firsts))
	for _, f := range firsts {
		last, err := s.latest(ctx, s.DB.R, f.IncidentID)
		if err != nil {
			return nil, err
		}
		out = append(out, Event{ID: f.ID, Opened: f.Sent, State: last.State, Latest: last})
	}
	return out, nil
}

// Event reads one event with every warning of it. Only the first
// warning's id names an event: a later one is not found.
func (s *Store) Event(ctx context.Context, id string) (Event, error) {
	f, err := s.bare(ctx, s.DB.R, id)
	if errors.Is(err, errNotFound) || err == nil && f.ID != f.IncidentID {
		return Event{}, errNoEvent
	}
	if err != nil {
		return Event{}, err
	}
	ws, err := db.Collect(ctx, s.DB.R, scanAlert, `SELECT `+alertCols+` FROM em_alerts x WHERE x.incident_id = $1 ORDER BY x.sent, x.created_at`, id)
	if err != nil {
		return Event{}, err
	}
	for i := range ws {
		if err := s.areas(ctx, s.DB.R, &ws[i]); err != nil {
			return Event{}, err
		}
	}
	last := ws[len(ws)-1]
	return Event{ID: id, Opened: f.Sent, State: last.State, Latest: last, Warnings: ws}, nil
}

// registerEvents adds the event-shaped names of the API: the same stores
// and rules as /alerts, /checkins and the board, addressed by event.
func (h *Handlers) registerEvents(rt *web.Router) {
	const tag = "emergency"
	rt.API("GET /api/v1/emergency/events", web.Op{Summary: "应急事件列表（辖区内，新开的在前）/ Emergency events in your jurisdiction, newest first", Tag: tag, Response: []Event{},
		Params: []web.Param{{Name: "before", Description: "RFC 3339: events opened before it (the next page)"}, {Name: "page_size", Type: "integer"}}}, h.apiEvents)
	rt.API("POST /api/v1/emergency/events", web.Op{Summary: "开启应急事件：发布首条预警（CAP Alert；乡镇、县级干部）/ Open an event by issuing its first warning (a CAP Alert; officers)", Tag: tag,
		Body: AlertInput{}, Response: Issued{}, Status: 201}, h.apiIssue)
	rt.API("GET /api/v1/emergency/events/{id}", web.Op{Summary: "应急事件及其全部预警 / An event with all its warnings", Tag: tag, Response: Event{}}, h.apiEvent)
	rt.API("POST /api/v1/emergency/events/{id}/warnings", web.Op{Summary: "发布事件的更新预警（CAP Update）/ Issue an Update of the event's warning", Tag: tag,
		Body: AlertInput{}, Response: Issued{}, Status: 201}, h.event(h.apiUpdate))
	rt.API("POST /api/v1/emergency/events/{id}/cancel", web.Op{Summary: "解除事件的预警（CAP Cancel）/ Cancel the event's warning (a CAP Cancel)", Tag: tag,
		Body: CancelInput{}, Response: Alert{}, Status: 201}, h.event(h.apiCancel))
	rt.API("GET /api/v1/emergency/events/{id}/tasks", web.Op{Summary: "事件的任务：每户、每位重点人员一条（按 id 翻页）/ The event's tasks: one per household and vulnerable resident, paged by id", Tag: tag,
		Response: []Check{}, Params: []web.Param{{Name: "division"}, {Name: "kind", Description: "household or person"}, {Name: "status"},
			{Name: "after", Type: "integer", Description: "the last id of the page before"}, {Name: "page_size", Type: "integer"}}}, h.event(h.apiEventTasks))
	rt.API("POST /api/v1/emergency/events/{id}/statuses", web.Op{Summary: "上报状态（报平安：居民本人、结对帮扶人或工作人员）/ Report a status (the resident, their helper or a worker)", Tag: tag,
		Body: CheckinInput{}, Response: CheckinResult{}}, h.event(h.apiEventStatus))
	rt.API("GET /api/v1/emergency/events/{id}/situation", web.Op{Summary: "事件态势（按社区计数、未确认的重点人员、避难场所）/ The event's situation", Tag: tag, Response: Board{},
		Params: []web.Param{{Name: "division", Description: "a division within your jurisdiction (default: your own)"}}}, h.event(h.apiBoard))
}

// event answers with h once {id} is an event the principal may see.
func (h *Handlers) event(next web.HandlerFunc) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := h.Store.Event(r.Context(), r.PathValue("id")); err != nil {
			return err
		}
		return next(w, r)
	}
}

func (h *Handlers) apiEvents(w http.ResponseWriter, r *http.Request) error {
	before, n, err := listPage(r)
	if err != nil {
		return err
	}
	es, err := h.Store.Events(r.Context(), before, n)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, es)
	return nil
}

func (h *Handlers) apiEvent(w http.ResponseWriter, r *http.Request) error {
	ev, err := h.Store.Event(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, ev)
	return nil
}

func (h *Handlers) apiEventTasks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	q.Set("alert", r.PathValue("id"))
	r.URL.RawQuery = q.Encode()
	return h.apiChecks(w, r)
}

// apiEventStatus records a check-in of the event in the path; a body
// naming another warning is refused.
func (h *Handlers) apiEventStatus(w http.ResponseWriter, r *http.Request) error {
	var in CheckinInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	id := r.PathValue("id")
	if in.AlertID != "" && in.AlertID != id {
		if a, err := h.Store.Get(r.Context(), in.AlertID); err != nil || a.IncidentID != id {
			return fault.Invalid(fault.M("无法登记", "cannot record the check-in"), fault.Field("alert_id", fault.M("不是本事件的预警", "is not a warning of this event")))
		}
	}
	in.AlertID = id
	res, err := h.Store.Checkin(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, res)
	return nil
}
