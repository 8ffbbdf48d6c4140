package visits

import (
	"net/http"
	"strconv"

	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

// Handlers serve the JSON API and the pages.
type Handlers struct {
	Store *Store
	Pages *web.Pages
}

// ReassignInput names a visit's new owner.
type ReassignInput struct {
	Owner string `json:"owner"`
}

// RegisterAPI adds /api/v1/visit-programmes and /api/v1/visits.
func (h *Handlers) RegisterAPI(rt *web.Router) {
	const tag = "visits"
	rt.API("GET /api/v1/visit-programmes", web.Op{Summary: "探访项目（省级默认与本县自设）/ Visit programmes (the province's and your county's)", Tag: tag, Response: []Programme{}}, h.apiProgrammes)
	rt.API("POST /api/v1/visit-programmes", web.Op{Summary: "新增本县探访项目（县级民政干部）/ Add a county's visit programme (county officers)", Tag: tag, Body: ProgrammeInput{}, Response: Programme{}, Status: 201}, h.apiAddProgramme)
	rt.API("GET /api/v1/visits", web.Op{Summary: "探访列表（姓名遮挡，记入审计；按 cursor 翻页）/ List visits (names masked, audited; paged by cursor)", Tag: tag, Response: VisitPage{},
		Params: []web.Param{{Name: "division"}, {Name: "programme", Description: "id or code"}, {Name: "status", Description: "open, done, not_home, refused, cancelled, overdue"},
			{Name: "due_before", Description: "YYYY-MM-DD"}, {Name: "worker", Description: "owner's username"}, {Name: "month", Description: "YYYY-MM"}, {Name: "risk", Description: "normal, attention, high"},
			{Name: "grid"}, keyset.Param, {Name: "page_size", Type: "integer"}}}, h.apiList)
	rt.API("GET /api/v1/visits/rates", web.Op{Summary: "月度探访率（按对象组）/ Monthly visit rates by group", Tag: tag, Response: Rates{},
		Params: []web.Param{{Name: "division", Description: "division code (default: your own)"}, {Name: "month", Description: "YYYY-MM (default: this month)"}}}, h.apiRates)
	rt.API("GET /api/v1/visits/{id}", web.Op{Summary: "探访详情（含答卷，记入审计）/ A visit with its answers (audited)", Tag: tag, Response: Visit{}}, h.apiGet)
	rt.API("GET /api/v1/visits/{id}/photo", web.Op{Summary: "探访照片原图（记入审计；has_photo 为真时有）/ A visit's photo in full (audited; there when has_photo is true)", Tag: tag,
		Produces: []string{"image/jpeg", "image/png", "image/webp"}}, h.apiPhoto)
	rt.API("POST /api/v1/visits/{id}/record", web.Op{Summary: "记录探访结果（网格员、社区工作者）/ Record a visit (grid and community workers)", Tag: tag, Body: RecordInput{}, Response: Visit{}}, h.apiRecord)
	rt.API("POST /api/v1/visits/{id}/reassign", web.Op{Summary: "改派探访（社区工作者、民政干部）/ Reassign a visit (community workers and officers)", Tag: tag, Body: ReassignInput{}, Response: Visit{}}, h.apiReassign)
}

func (h *Handlers) apiProgrammes(w http.ResponseWriter, r *http.Request) error {
	ps, err := h.Store.Programmes(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, ps)
	return nil
}

func (h *Handlers) apiAddProgramme(w http.ResponseWriter, r *http.Request) error {
	var in ProgrammeInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := h.Store.AddProgramme(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, p)
	return nil
}

func filterOf(r *http.Request) Filter {
	q := r.URL.Query()
	return Filter{Division: q.Get("division"), Programme: q.Get("programme"), Status: q.Get("status"), DueBefore: q.Get("due_before"),
		Worker: q.Get("worker"), Month: q.Get("month"), Risk: q.Get("risk"), Grid: q.Get("grid")}
}

func (h *Handlers) apiList(w http.ResponseWriter, r *http.Request) error {
	pg, err := web.ParsePagination(r)
	if err != nil {
		return err
	}
	if pg.Page > 1 {
		return keyset.ErrPageNumber
	}
	l, err := h.Store.List(r.Context(), filterOf(r), r.URL.Query().Get("cursor"), pg.PageSize)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, visitPage(l, pg))
	return nil
}

func (h *Handlers) apiRates(w http.ResponseWriter, r *http.Request) error {
	rs, err := h.Store.Rates(r.Context(), r.URL.Query().Get("division"), r.URL.Query().Get("month"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, rs)
	return nil
}

func visitID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

func (h *Handlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	id, err := visitID(r)
	if err != nil {
		return err
	}
	v, err := h.Store.Get(r.Context(), id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, v)
	return nil
}

func (h *Handlers) apiPhoto(w http.ResponseWriter, r *http.Request) error {
	id, err := visitID(r)
	if err != nil {
		return err
	}
	ph, err := h.Store.Photo(r.Context(), id)
	if err != nil {
		return err
	}
	sendImage(w, ph.Type, ph.Data)
	return nil
}

func (h *Handlers) apiRecord(w http.ResponseWriter, r *http.Request) error {
	id, err := visitID(r)
	if err != nil {
		return err
	}
	var in RecordInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	v, err := h.Store.Record(r.Context(), id, in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, v)
	return nil
}

func (h *Handlers) apiReassign(w http.ResponseWriter, r *http.Request) error {
	id, err := visitID(r)
	if err != nil {
		return err
	}
	var in ReassignInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Owner == "" {
		return fault.Invalid(fault.M("无法改派", "cannot reassign"), fault.Field("owner", fault.M("请选择新的负责人", "choose the new owner")))
	}
	v, err := h.Store.Reassign(r.Context(), id, in.Owner)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, v)
	return nil
}
