package emergency

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"linli/internal/fault"
	"linli/internal/web"
)

// Handlers serve the JSON API and the pages.
type Handlers struct {
	Store *Store
	Pages *web.Pages
}

// Issued is an alert with what its issue reached.
type Issued struct {
	Alert    Alert    `json:"alert"`
	Targeted Targeted `json:"targeted"`
}

// RegisterAPI adds /api/v1/emergency/….
func (h *Handlers) RegisterAPI(rt *web.Router) {
	const tag = "emergency"
	rt.API("GET /api/v1/emergency/alerts", web.Op{Summary: "预警列表（辖区内，新的在前）/ Warnings in your jurisdiction, newest first", Tag: tag, Response: []Alert{},
		Params: []web.Param{{Name: "before", Description: "RFC 3339: alerts sent before it (the next page)"}, {Name: "page_size", Type: "integer"}}}, h.apiList)
	rt.API("POST /api/v1/emergency/alerts", web.Op{Summary: "发布预警（CAP 1.2 Alert；乡镇、县级干部）/ Issue a warning (a CAP 1.2 Alert; officers)", Tag: tag, Body: AlertInput{}, Response: Issued{}, Status: 201}, h.apiIssue)
	rt.API("POST /api/v1/emergency/alerts/import", web.Op{Summary: "导入 CAP 1.2 预警文件 / Import a CAP 1.2 document", Tag: tag, Accepts: []string{MediaCAP, "application/xml"}, Response: Issued{}, Status: 201}, h.apiImport)
	rt.API("GET /api/v1/emergency/alerts/{id}", web.Op{Summary: "预警详情：JSON，或 CAP 1.2 XML（Accept: application/cap+xml 或 {id}.xml）/ A warning as JSON, or as CAP 1.2 XML (Accept or .xml)", Tag: tag,
		Response: Alert{}, Produces: []string{MediaCAP}}, h.apiGet)
	rt.API("POST /api/v1/emergency/alerts/{id}/update", web.Op{Summary: "更新预警（CAP Update，引用先前各条）/ Update a warning (a CAP Update referencing the earlier ones)", Tag: tag, Body: AlertInput{}, Response: Issued{}, Status: 201}, h.apiUpdate)
	rt.API("POST /api/v1/emergency/alerts/{id}/cancel", web.Op{Summary: "解除预警（CAP Cancel）/ Cancel a warning (a CAP Cancel)", Tag: tag, Body: CancelInput{}, Response: Alert{}, Status: 201}, h.apiCancel)
	rt.API("GET /api/v1/emergency/alerts/{id}/board", web.Op{Summary: "报平安看板（按社区计数、未确认的重点人员、避难场所）/ The check-in board", Tag: tag, Response: Board{},
		Params: []web.Param{{Name: "division", Description: "a division within your jurisdiction (default: your own)"}}}, h.apiBoard)
	rt.API("GET /api/v1/emergency/checkins", web.Op{Summary: "报平安登记（按 id 翻页）/ Check-ins of a warning, paged by id", Tag: tag, Response: []Check{},
		Params: []web.Param{{Name: "alert", Description: "a warning's id: its incident's check-ins (default: every warning's)"}, {Name: "division"}, {Name: "kind", Description: "household or person"}, {Name: "status"},
			{Name: "after", Type: "integer", Description: "the last id of the page before"}, {Name: "page_size", Type: "integer"}}}, h.apiChecks)
	rt.API("POST /api/v1/emergency/checkins", web.Op{Summary: "报平安（居民本人、结对帮扶人或工作人员）/ Record a check-in (the resident, their helper or a worker)", Tag: tag, Body: CheckinInput{}, Response: CheckinResult{}}, h.apiCheckin)
	rt.API("GET /api/v1/emergency/helpers", web.Op{Summary: "重点人员结对帮扶人 / Vulnerable residents' helpers", Tag: tag, Response: []Pairing{}}, h.apiPairings)
	rt.API("POST /api/v1/emergency/helpers", web.Op{Summary: "安排或年度复核结对帮扶人 / Pair a helper (or review the pairing)", Tag: tag, Body: PairingInput{}, Response: Pairing{}}, h.apiPair)
}

func pageSize(r *http.Request) (int, error) {
	v := r.URL.Query().Get("page_size")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 500 {
		return 0, fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("page_size", fault.M("应为 1–500", "must be 1–500")))
	}
	return n, nil
}

// listPage reads a newest-first list's page: its size and the time the
// previous page ended before.
func listPage(r *http.Request) (before time.Time, n int, err error) {
	if n, err = pageSize(r); err != nil {
		return before, 0, err
	}
	if v := r.URL.Query().Get("before"); v != "" {
		if before, err = time.Parse(time.RFC3339, v); err != nil {
			return before, 0, fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("before", fault.M("应为 RFC 3339 时间", "must be an RFC 3339 time")))
		}
	}
	return before, n, nil
}

func (h *Handlers) apiList(w http.ResponseWriter, r *http.Request) error {
	before, n, err := listPage(r)
	if err != nil {
		return err
	}
	as, err := h.Store.List(r.Context(), before, n)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, orEmpty(as))
	return nil
}

func (h *Handlers) apiIssue(w http.ResponseWriter, r *http.Request) error {
	var in AlertInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	a, t, err := h.Store.Issue(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, Issued{a, t})
	return nil
}

func (h *Handlers) apiUpdate(w http.ResponseWriter, r *http.Request) error {
	var in AlertInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	a, t, err := h.Store.Update(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, Issued{a, t})
	return nil
}

func (h *Handlers) apiCancel(w http.ResponseWriter, r *http.Request) error {
	var in CancelInput
	if r.ContentLength != 0 {
		if err := web.DecodeJSON(w, r, &in); err != nil {
			return err
		}
	}
	a, err := h.Store.Cancel(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, a)
	return nil
}

func (h *Handlers) apiImport(w http.ResponseWriter, r *http.Request) error {
	doc, err := ParseCAP(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		return err
	}
	a, t, err := h.Store.Import(r.Context(), doc)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, Issued{a, t})
	return nil
}

// wantsCAP: the path ends in .xml, or the client accepts CAP (or XML)
// and not JSON first.
func wantsCAP(r *http.Request, id string) (string, bool) {
	if base, ok := strings.CutSuffix(id, ".xml"); ok {
		return base, true
	}
	acc := r.Header.Get("Accept")
	return id, strings.Contains(acc, MediaCAP) || strings.HasPrefix(acc, "application/xml")
}

func (h *Handlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	id, asCAP := wantsCAP(r, r.PathValue("id"))
	a, err := h.Store.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if asCAP {
		return h.writeCAP(w, a)
	}
	web.WriteJSON(w, 200, a)
	return nil
}

// writeCAP serves an alert as a signed CAP document.
func (h *Handlers) writeCAP(w http.ResponseWriter, a Alert) error {
	b, err := MarshalCAP(a.CAP())
	if err != nil {
		return err
	}
	if b, err = h.Store.signCAP(b); err != nil {
		return err
	}
	w.Header().Set("Content-Type", MediaCAP+"; charset=utf-8")
	w.WriteHeader(200)
	w.Write(b)
	return nil
}

func (h *Handlers) apiBoard(w http.ResponseWriter, r *http.Request) error {
	b, err := h.Store.Board(r.Context(), r.PathValue("id"), r.URL.Query().Get("division"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, b)
	return nil
}

func (h *Handlers) apiChecks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	n, err := pageSize(r)
	if err != nil {
		return err
	}
	f := CheckFilter{AlertID: q.Get("alert"), Division: q.Get("division"), Kind: q.Get("kind"), Status: q.Get("status"), Limit: n}
	if v := q.Get("after"); v != "" {
		if f.After, err = strconv.ParseInt(v, 10, 64); err != nil {
			return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("after", fault.M("应为整数", "must be an integer")))
		}
	}
	cs, err := h.Store.Checks(r.Context(), f)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, orEmpty(cs))
	return nil
}

func (h *Handlers) apiCheckin(w http.ResponseWriter, r *http.Request) error {
	var in CheckinInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	res, err := h.Store.Checkin(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, res)
	return nil
}

func (h *Handlers) apiPairings(w http.ResponseWriter, r *http.Request) error {
	ps, err := h.Store.Pairings(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, orEmpty(ps))
	return nil
}

func (h *Handlers) apiPair(w http.ResponseWriter, r *http.Request) error {
	var in PairingInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	pr, err := h.Store.Pair(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pr)
	return nil
}

// orEmpty answers an empty list as [], never null.
func orEmpty[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
