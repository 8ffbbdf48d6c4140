package requests

import (
	"net/http"
	"strings"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

// Handlers serve the JSON API, the pages and Open311.
type Handlers struct {
	Store *Store
	Pages *web.Pages
}

// RegisterAPI adds the /api/v1/requests operations.
func (h *Handlers) RegisterAPI(rt *web.Router) {
	const tag = "requests"
	// The catalogue lives beside the requests, not under them: under
	// them, /requests/services/{code} and /requests/{id}/{action} would
	// both match one path. The old paths stay as deprecated aliases.
	rt.API("GET /api/v1/request-services", web.Op{Summary: "诉求服务目录 / Service catalogue", Tag: tag, Public: true, Response: []Category{}}, h.apiServices)
	rt.API("POST /api/v1/request-services", web.Op{Summary: "新增服务类别（省、市级民政干部） / Add a service category (province or city officers)", Tag: tag, Body: Category{}, Response: Category{}, Status: 201}, h.apiCreateService)
	rt.API("PUT /api/v1/request-services/{code}", web.Op{Summary: "修改服务类别的时限、说明、公开与常用答复（只改给出的字段） / Edit a service category's SLAs, description, public flag and reply templates (only the fields given change)", Tag: tag, Body: CategoryEdit{}, Response: Category{}}, h.apiUpdateService)
	rt.Alias("GET /api/v1/requests/services", "GET /api/v1/request-services")
	rt.Alias("POST /api/v1/requests/services", "POST /api/v1/request-services")
	rt.Alias("PUT /api/v1/requests/services/{code}", "PUT /api/v1/request-services/{code}")
	rt.API("GET /api/v1/requests", web.Op{Summary: "诉求列表（收件箱；按 cursor 翻页）/ List requests (inbox; paged by cursor)", Tag: tag, Response: RequestPage{},
		Params: []web.Param{{Name: "box", Description: "new, due, overdue, returned, reopened, open, done"}, {Name: "status"}, {Name: "category"}, {Name: "q"}, {Name: "within"}, {Name: "unit"}, {Name: "sort", Description: "created, -created, due, updated"}, keyset.Param, {Name: "page_size", Type: "integer"}}}, h.apiList)
	rt.API("POST /api/v1/requests", web.Op{Summary: "提交诉求 / Submit a request", Tag: tag, Body: NewRequest{}, Response: Receipt{}, Status: 201}, h.apiCreate)
	rt.API("GET /api/v1/requests/{id}", web.Op{Summary: "诉求详情与时间线 / A request with its timeline", Tag: tag, Response: Request{}}, h.apiGet)
	rt.API("GET /api/v1/requests/{id}/duplicates", web.Op{Summary: "疑似重复诉求 / Likely duplicates", Tag: tag, Response: []Request{}}, h.apiDuplicates)
	rt.API("GET /api/v1/requests/notices", web.Op{Summary: "本单位消息 / Notices for my unit", Tag: tag, Response: []Notice{}}, h.apiNotices)
	for _, a := range ActionOrder {
		a := a
		ru := Rules[a]
		rt.API("POST /api/v1/requests/{id}/"+string(a), web.Op{Summary: ru.label.ZH + " / " + ru.label.EN + " a request", Tag: tag, Body: Input{}, Response: Request{}},
			func(w http.ResponseWriter, r *http.Request) error {
				var in Input
				if r.ContentLength != 0 {
					if err := web.DecodeJSON(w, r, &in); err != nil {
						return err
					}
				}
				req, err := h.Store.Transition(r.Context(), r.PathValue("id"), a, in)
				if err != nil {
					return err
				}
				web.WriteJSON(w, 200, req)
				return nil
			})
	}
	rt.API("POST /api/v1/requests/{id}/reveal", web.Op{Summary: "查看诉求原文（社区工作者、民政干部；须填理由，记入审计） / See a request's original texts (community workers and officers; reason required, audited)", Tag: tag,
		Body: RevealInput{}, Response: Request{}}, h.apiReveal)
	rt.API("POST /api/v1/requests/{id}/clear", web.Op{Summary: "核准公开遮蔽后的描述（Open311；社区工作者、民政干部，记入审计） / Clear a masked description for publication on Open311 (community workers and officers, audited)", Tag: tag,
		Body: Input{}, Response: Request{}}, h.apiClear)
	rt.API("GET /api/v1/requests/metrics", web.Op{Summary: "诉求办理指标 / Request metrics", Tag: tag, Response: Metrics{},
		Params: []web.Param{{Name: "division", Description: "division code (default: your own)"}, {Name: "from", Description: "YYYY-MM-DD"}, {Name: "to", Description: "YYYY-MM-DD (exclusive)"}}}, h.apiMetrics)
}

// Receipt is the answer to a submission.
type Receipt struct {
	Request
	Duplicates []Request `json:"duplicates"`
}

func (h *Handlers) apiServices(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.Store.Categories(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, cs)
	return nil
}

func (h *Handlers) apiCreateService(w http.ResponseWriter, r *http.Request) error {
	if !CanManageCatalogue(access.From(r.Context())) {
		return errCatalogueForbidden
	}
	var in Category
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := h.Store.CreateCategory(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/requests/services")
	web.WriteJSON(w, 201, c)
	return nil
}

func (h *Handlers) apiUpdateService(w http.ResponseWriter, r *http.Request) error {
	if !CanManageCatalogue(access.From(r.Context())) {
		return errCatalogueForbidden
	}
	var in CategoryEdit
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := h.Store.UpdateCategory(r.Context(), r.PathValue("code"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, c)
	return nil
}

func filterFrom(r *http.Request) Filter {
	q := r.URL.Query()
	f := Filter{Category: q.Get("category"), Box: q.Get("box"), Q: q.Get("q"), Sort: q.Get("sort"), Within: q.Get("within"), Unit: q.Get("unit")}
	for _, s := range q["status"] {
		for _, x := range strings.Split(s, ",") {
			if x != "" {
				f.Status = append(f.Status, Status(x))
			}
		}
	}
	return f
}

func (h *Handlers) apiList(w http.ResponseWriter, r *http.Request) error {
	pg, err := web.ParsePagination(r)
	if err != nil {
		return err
	}
	f := filterFrom(r)
	if f.Within != "" && !access.ScopeOf(r.Context()).Contains(f.Within) {
		return fault.NotFound(web.M("区划不在您的辖区内", "that division is outside your area"))
	}
	if pg.Page > 1 {
		return keyset.ErrPageNumber
	}
	l, err := h.Store.List(r.Context(), f, r.URL.Query().Get("cursor"), pg.PageSize)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, requestPage(l, pg))
	return nil
}

func (h *Handlers) apiCreate(w http.ResponseWriter, r *http.Request) error {
	var in NewRequest
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	req, err := h.Store.Create(r.Context(), in)
	if err != nil {
		return err
	}
	dups, err := h.Store.Duplicates(r.Context(), req)
	if err != nil { // the request is stored: answer 201 without the suggestions
		web.Logger(r.Context()).Warn("request duplicates", "request", req.Number, "err", err.Error())
	}
	if dups == nil {
		dups = []Request{}
	}
	w.Header().Set("Location", "/api/v1/requests/"+req.ID)
	web.WriteJSON(w, 201, Receipt{Request: req, Duplicates: dups})
	return nil
}

func (h *Handlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	req, err := h.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, req)
	return nil
}

func (h *Handlers) apiDuplicates(w http.ResponseWriter, r *http.Request) error {
	req, err := h.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	dups, err := h.Store.Duplicates(r.Context(), req)
	if err != nil {
		return err
	}
	if dups == nil {
		dups = []Request{}
	}
	web.WriteJSON(w, 200, dups)
	return nil
}

func (h *Handlers) apiNotices(w http.ResponseWriter, r *http.Request) error {
	p := access.From(r.Context())
	if !isHandler(p) {
		web.WriteJSON(w, 200, []Notice{})
		return nil
	}
	ns, err := h.Store.Notices(r.Context(), p.Division, 100)
	if err != nil {
		return err
	}
	if ns == nil {
		ns = []Notice{}
	}
	web.WriteJSON(w, 200, ns)
	return nil
}

// RevealInput is why a worker needs a request's original texts.
type RevealInput struct {
	Reason string `json:"reason"`
}

func (h *Handlers) apiReveal(w http.ResponseWriter, r *http.Request) error {
	var in RevealInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	req, err := h.Store.Original(r.Context(), r.PathValue("id"), in.Reason)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, req)
	return nil
}

func (h *Handlers) apiClear(w http.ResponseWriter, r *http.Request) error {
	var in Input
	if r.ContentLength != 0 {
		if err := web.DecodeJSON(w, r, &in); err != nil {
			return err
		}
	}
	req, err := h.Store.Clear(r.Context(), r.PathValue("id"), in.Version)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, req)
	return nil
}
