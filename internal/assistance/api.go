package assistance

import (
	"net/http"
	"strconv"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/questions"
	"linli/internal/web"
)

type handlers struct {
	store *Store
	pages *web.Pages
}

// RuleInput is a new rule version.
type RuleInput struct {
	Rule Rule `json:"rule"`
}

func (h *handlers) registerAPI(rt *web.Router) {
	const tag = "assistance"
	rt.API("GET /api/v1/assistance/programmes", web.Op{Summary: "本县救助项目及现行规则 / The county's programmes with their current rules", Tag: tag, Response: []Programme{},
		Params: []web.Param{{Name: "county", Description: "county code (default: your own)"}}}, h.apiProgrammes)
	rt.API("POST /api/v1/assistance/programmes", web.Op{Summary: "新增本县自设救助项目（县级民政干部）/ Add a county's own programme (county officers)", Tag: tag, Body: ProgrammeInput{}, Response: Programme{}, Status: 201}, h.apiAddProgramme)
	rt.API("POST /api/v1/assistance/programmes/{county}/{code}/rules", web.Op{Summary: "发布规则新版本 / Publish a new rule version", Tag: tag, Body: RuleInput{}, Response: Programme{}, Status: 201}, h.apiRule)
	rt.API("GET /api/v1/assistance/standards", web.Op{Summary: "本县历年低保标准（分/人·月）/ The county's standards by year (fen per person and month)", Tag: tag, Response: []Standard{},
		Params: []web.Param{{Name: "county"}}}, h.apiStandards)
	rt.API("POST /api/v1/assistance/standards", web.Op{Summary: "设置某年低保标准（县级民政干部）/ Set a year's standard (county officers)", Tag: tag, Body: Standard{}, Response: []Standard{}}, h.apiSetStandard)
	rt.API("GET /api/v1/assistance/calendar", web.Op{Summary: "某年的节假日和调休上班日（时限按工作日计算）/ A year's holidays and make-up working days (the clocks count working days)", Tag: tag, Response: []CalendarDay{},
		Params: []web.Param{{Name: "year", Type: "integer", Description: "default: this year"}}}, h.apiCalendar)
	rt.API("PUT /api/v1/assistance/calendar", web.Op{Summary: "登记节假日或调休上班日（省级民政干部）/ Record a holiday or a make-up working day (provincial officers)", Tag: tag, Body: CalendarDay{}, Response: []CalendarDay{}}, h.apiSetCalendar)
	rt.API("GET /api/v1/assistance/warnings", web.Op{Summary: "动态监测：其他业务发现、尚无办理中申请的家庭（最新在前）/ Monitoring: households other loops found, without an application in hand (newest first)", Tag: tag, Response: WatchPage{},
		Params: []web.Param{{Name: "limit", Type: "integer", Description: "1–200, default 50"}}}, h.apiWatch)
	rt.API("GET /api/v1/assistance/applications", web.Op{Summary: "救助申请列表（按 cursor 翻页）/ Applications (paged by cursor)", Tag: tag, Response: Page{},
		Params: []web.Param{{Name: "status"}, keyset.Param, {Name: "page_size", Type: "integer"}}}, h.apiList)
	rt.API("POST /api/v1/assistance/applications", web.Op{Summary: "提交救助申请（一件事：测算全部项目）/ Apply (one application tested against every programme)", Tag: tag, Body: ApplyInput{}, Response: Application{}, Status: 201}, h.apiApply)
	rt.API("GET /api/v1/assistance/applications/{id}", web.Op{Summary: "救助申请详情（含申报事实与测算理由，记入审计）/ An application with its facts and reasons (audited)", Tag: tag, Response: Application{}}, h.apiGet)
	for _, a := range StepOrder {
		l := Steps[a].label
		rt.API("POST /api/v1/assistance/applications/{id}/"+a, web.Op{Summary: l.ZH + " / " + l.EN, Tag: tag, Body: Input{}, Response: Application{}}, h.apiMove(a))
	}
	h.registerChecks(rt)
	h.registerPaymentAPI(rt)
}

func countyParam(r *http.Request) string {
	if c := r.URL.Query().Get("county"); c != "" {
		return c
	}
	if p := access.From(r.Context()); p != nil {
		return countyOf(p.Division)
	}
	return ""
}

func (h *handlers) apiProgrammes(w http.ResponseWriter, r *http.Request) error {
	ps, err := h.store.Programmes(r.Context(), countyParam(r))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, ps)
	return nil
}

func (h *handlers) apiAddProgramme(w http.ResponseWriter, r *http.Request) error {
	var in ProgrammeInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := h.store.AddProgramme(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, p)
	return nil
}

func (h *handlers) apiRule(w http.ResponseWriter, r *http.Request) error {
	var in RuleInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := h.store.PublishRule(r.Context(), r.PathValue("county"), r.PathValue("code"), in.Rule)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, p)
	return nil
}

func (h *handlers) apiStandards(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store.Standards(r.Context(), countyParam(r))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, st)
	return nil
}

func (h *handlers) apiSetStandard(w http.ResponseWriter, r *http.Request) error {
	var in Standard
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := h.store.SetStandard(r.Context(), in); err != nil {
		return err
	}
	return h.apiStandardsOf(w, r, in.County)
}

func (h *handlers) apiStandardsOf(w http.ResponseWriter, r *http.Request, county string) error {
	st, err := h.store.Standards(r.Context(), county)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, st)
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
	pg, err := h.store.List(r.Context(), r.URL.Query().Get("status"), r.URL.Query().Get("cursor"), size)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pg)
	return nil
}

func (h *handlers) apiCalendar(w http.ResponseWriter, r *http.Request) error {
	year := h.store.Now().In(questions.CST).Year()
	if v := r.URL.Query().Get("year"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2000 || n > 2100 {
			return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("year", fault.M("年份应在 2000–2100 之间", "the year lies in 2000–2100")))
		}
		year = n
	}
	days, err := h.store.CalendarDays(r.Context(), year)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, days)
	return nil
}

func (h *handlers) apiSetCalendar(w http.ResponseWriter, r *http.Request) error {
	var in CalendarDay
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := h.store.SetCalendarDay(r.Context(), in); err != nil {
		return err
	}
	year, _ := strconv.Atoi(in.Day[:4]) // a valid day by now
	days, err := h.store.CalendarDays(r.Context(), year)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, days)
	return nil
}

// WatchPage is the monitoring list: the newest signals and how many
// there are (bounded at ListCountCap).
type WatchPage struct {
	Items  []Signal `json:"items"`
	Total  int      `json:"total"`
	Capped bool     `json:"total_capped"`
}

func (h *handlers) apiWatch(w http.ResponseWriter, r *http.Request) error {
	limit := WatchPageSize
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("limit", fault.M("条数为 1–200", "limit is 1–200")))
		}
		limit = n
	}
	items, n, err := h.store.WatchRead(r.Context(), access.From(r.Context()), limit)
	if err != nil {
		return err
	}
	if items == nil {
		items = []Signal{}
	}
	web.WriteJSON(w, 200, WatchPage{Items: items, Total: n, Capped: n >= ListCountCap})
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

func (h *handlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	a, err := h.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, a)
	return nil
}

func (h *handlers) apiMove(action string) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in Input
		if err := web.DecodeJSON(w, r, &in); err != nil {
			return err
		}
		a, err := h.store.Transition(r.Context(), r.PathValue("id"), action, in)
		if err != nil {
			return err
		}
		web.WriteJSON(w, 200, a)
		return nil
	}
}
