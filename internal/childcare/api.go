package childcare

import (
	"net/http"
	"strconv"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

type handlers struct {
	store *Store
	pages *web.Pages
}

// EnrolInput names the application to enrol.
type EnrolInput struct {
	ApplicationID string `json:"application_id"`
}

// RulesInput is a county's whole set of priority rules.
type RulesInput struct {
	County string `json:"county"`
	Rules  []Rule `json:"rules"`
}

func (h *handlers) registerAPI(rt *web.Router) {
	const tag = "childcare"
	rt.API("GET /api/v1/childcare", web.Op{Summary: "各乡镇（街道）托育覆盖：托育点、已备案数与托位 / Each township's childcare coverage: settings, valid filings and places", Tag: tag, Response: []Coverage{}}, h.apiCoverage)
	rt.API("GET /api/v1/childcare/settings", web.Op{Summary: "辖区托育点（按 cursor 翻页）/ Childcare settings (paged by cursor)", Tag: tag, Response: Page{},
		Params: []web.Param{{Name: "kind"}, {Name: "q", Description: "name begins with"}, keyset.Param, {Name: "page_size", Type: "integer"}}}, h.apiList)
	rt.API("POST /api/v1/childcare/settings", web.Op{Summary: "登记托育点及各班型托位 / Register a setting with its places by age band", Tag: tag, Body: SettingInput{}, Response: Setting{}, Status: 201}, h.apiCreate)
	rt.API("GET /api/v1/childcare/settings/{id}", web.Op{Summary: "托育点详情 / A setting", Tag: tag, Response: Setting{}}, h.apiGet)
	rt.API("POST /api/v1/childcare/settings/{id}/filings", web.Op{Summary: "登记备案（申请人、场所、保育人员、检查、有效期）/ Record a filing", Tag: tag, Body: FilingInput{}, Response: Setting{}, Status: 201}, h.apiFiling)
	rt.API("GET /api/v1/childcare/settings/{id}/applications", web.Op{Summary: "托育点候补名单或在托名单（记入审计）/ A setting's waiting list or enrolled children (audited)", Tag: tag, Response: []Application{},
		Params: []web.Param{{Name: "status", Description: "waiting (default) or enrolled"}}}, h.apiQueue)
	rt.API("GET /api/v1/childcare/applications", web.Op{Summary: "托位申请列表（按 cursor 翻页；居民为本户的）/ Applications (paged by cursor; a resident's household's own)", Tag: tag, Response: AppPage{},
		Params: []web.Param{{Name: "status"}, keyset.Param, {Name: "page_size", Type: "integer"}}}, h.apiApplications)
	rt.API("POST /api/v1/childcare/applications", web.Op{Summary: "申请托位（进入候补名单）/ Apply for a place (joins the waiting list)", Tag: tag, Body: ApplyInput{}, Response: Application{}, Status: 201}, h.apiApply)
	rt.API("GET /api/v1/childcare/applications/{id}", web.Op{Summary: "托位申请 / An application", Tag: tag, Response: Application{}}, h.apiApplication)
	rt.API("POST /api/v1/childcare/enrolments", web.Op{Summary: "候补儿童入托 / Enrol a waiting child", Tag: tag, Body: EnrolInput{}, Response: Application{}, Status: 201}, h.apiEnrol)
	rt.API("POST /api/v1/childcare/enrolments/{id}/leave", web.Op{Summary: "离托 / A child leaves", Tag: tag, Response: Application{}}, h.apiLeave)
	rt.API("GET /api/v1/childcare/rules", web.Op{Summary: "本县候补优先规则 / The county's waiting-list priority rules", Tag: tag, Response: []Rule{},
		Params: []web.Param{{Name: "county"}}}, h.apiRules)
	rt.API("PUT /api/v1/childcare/rules", web.Op{Summary: "设置本县候补优先规则（县级干部）/ Set the county's priority rules (county officers)", Tag: tag, Body: RulesInput{}, Response: []Rule{}}, h.apiSetRules)
}

func (h *handlers) apiCoverage(w http.ResponseWriter, r *http.Request) error {
	c, err := h.store.Coverage(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, c)
	return nil
}

func (h *handlers) apiList(w http.ResponseWriter, r *http.Request) error {
	size := 20
	if v := r.URL.Query().Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("page_size", fault.M("每页条数为 1–100", "page_size is 1–100")))
		}
		size = n
	}
	if v := r.URL.Query().Get("page"); v != "" && v != "1" {
		return keyset.ErrPageNumber
	}
	q := r.URL.Query()
	pg, err := h.store.List(r.Context(), q.Get("kind"), q.Get("q"), q.Get("cursor"), size)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pg)
	return nil
}

func (h *handlers) apiCreate(w http.ResponseWriter, r *http.Request) error {
	var in SettingInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	st, err := h.store.CreateSetting(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, st)
	return nil
}

func (h *handlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, st)
	return nil
}

func (h *handlers) apiFiling(w http.ResponseWriter, r *http.Request) error {
	var in FilingInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	st, err := h.store.AddFiling(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, st)
	return nil
}

func (h *handlers) apiQueue(w http.ResponseWriter, r *http.Request) error {
	status := r.URL.Query().Get("status")
	if status == "" {
		status = Waiting
	}
	if status != Waiting && status != Enrolled {
		return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("status", fault.M("状态为 waiting 或 enrolled", "status is waiting or enrolled")))
	}
	items, err := h.store.Queue(r.Context(), r.PathValue("id"), status)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, items)
	return nil
}

func (h *handlers) apiApply(w http.ResponseWriter, r *http.Request) error {
	var in ApplyInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	a, err := h.store.Apply(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, a)
	return nil
}

func (h *handlers) apiApplication(w http.ResponseWriter, r *http.Request) error {
	a, err := h.store.Application(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, a)
	return nil
}

func (h *handlers) apiEnrol(w http.ResponseWriter, r *http.Request) error {
	var in EnrolInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.ApplicationID == "" {
		return fault.Invalid(fault.M("填写有误", "the input has errors"), fault.Field("application_id", fault.M("请指明申请", "name the application")))
	}
	a, err := h.store.Enrol(r.Context(), in.ApplicationID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, a)
	return nil
}

func (h *handlers) apiLeave(w http.ResponseWriter, r *http.Request) error {
	a, err := h.store.Leave(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, a)
	return nil
}

func (h *handlers) apiRules(w http.ResponseWriter, r *http.Request) error {
	county := r.URL.Query().Get("county")
	if county == "" {
		if p := access.From(r.Context()); p != nil {
			county = countyOf(p.Division)
		}
	}
	rules, err := h.store.Rules(r.Context(), county)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, rules)
	return nil
}

func (h *handlers) apiSetRules(w http.ResponseWriter, r *http.Request) error {
	var in RulesInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	rules, err := h.store.SetRules(r.Context(), in.County, in.Rules)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, rules)
	return nil
}

func (h *handlers) apiApplications(w http.ResponseWriter, r *http.Request) error {
	size := 20
	if v := r.URL.Query().Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("page_size", fault.M("每页条数为 1–100", "page_size is 1–100")))
		}
		size = n
	}
	if v := r.URL.Query().Get("page"); v != "" && v != "1" {
		return keyset.ErrPageNumber
	}
	pg, err := h.store.Applications(r.Context(), r.URL.Query().Get("status"), r.URL.Query().Get("cursor"), size)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pg)
	return nil
}
