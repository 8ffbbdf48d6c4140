package care

import (
	"net/http"
	"strconv"
	"time"

	"linli/internal/keyset"
	"linli/internal/web"
)

// Handlers serve the JSON API and the pages.
type Handlers struct {
	Store *Store
	Pages *web.Pages
}

// OrderPage is one page of orders and the cursor of the next.
type OrderPage struct {
	Items []Order `json:"items"`
	Next  string  `json:"next,omitempty"`
}

// AssignInput names the staff member sent.
type AssignInput struct {
	StaffID string `json:"staff_id"`
}

// RunInput asks for a county's month of vouchers.
type RunInput struct {
	County string `json:"county"`
	Month  string `json:"month"`
}

// RegisterAPI adds /api/v1/care/….
func (h *Handlers) RegisterAPI(rt *web.Router) {
	const tag = "care"
	rt.API("GET /api/v1/care/items", web.Op{Summary: "居家养老服务项目（本县目录）/ The county's home-care items", Tag: tag, Response: []Item{}}, h.apiItems)
	rt.API("POST /api/v1/care/items", web.Op{Summary: "新增服务项目（县级干部）/ Add an item (county officers)", Tag: tag, Body: ItemInput{}, Response: Item{}, Status: 201}, h.apiCreateItem)
	rt.API("GET /api/v1/care/providers", web.Op{Summary: "服务机构（可见范围内）/ Providers you may see", Tag: tag, Response: []Provider{}}, h.apiProviders)
	rt.API("POST /api/v1/care/providers", web.Op{Summary: "登记签约服务机构（县级干部）/ Register a provider under contract (county officers)", Tag: tag, Body: ProviderInput{}, Response: Provider{}, Status: 201}, h.apiCreateProvider)
	rt.API("GET /api/v1/care/providers/{id}/staff", web.Op{Summary: "服务机构人员 / A provider's staff", Tag: tag, Response: []Staff{}}, h.apiStaff)
	rt.API("POST /api/v1/care/providers/{id}/staff", web.Op{Summary: "添加服务机构人员 / Add a member of staff", Tag: tag, Body: StaffInput{}, Response: Staff{}, Status: 201}, h.apiAddStaff)
	rt.API("GET /api/v1/care/entitlements", web.Op{Summary: "补贴额度（居民：本户；工作人员：辖区内某月，按居民翻页）/ Quotas: a resident's household, or a month in your area paged by resident", Tag: tag, Response: []Entitlement{},
		Params: []web.Param{{Name: "month", Description: "YYYY-MM"}, {Name: "after", Description: "the last resident_id of the page before"}, {Name: "page_size", Type: "integer"}}}, h.apiEntitlements)
	rt.API("GET /api/v1/care/entitlements/rules", web.Op{Summary: "补贴规则各版本 / The subsidy rule's versions", Tag: tag, Response: []Rule{}}, h.apiRules)
	rt.API("POST /api/v1/care/entitlements/rules", web.Op{Summary: "发布补贴规则新版本（县级干部）/ Publish a rule version (county officers)", Tag: tag, Body: RuleInput{}, Response: Rule{}, Status: 201}, h.apiPublishRule)
	rt.API("POST /api/v1/care/entitlements/runs", web.Op{Summary: "发放某月补贴额度（县级干部）/ Grant a month's quota (county officers)", Tag: tag, Body: RunInput{}, Response: QuotaRun{}, Status: 201}, h.apiRun)
	rt.API("GET /api/v1/care/orders", web.Op{Summary: "服务订单（新的在前，按位置翻页）/ Orders, newest first, paged by position", Tag: tag, Response: OrderPage{},
		Params: []web.Param{{Name: "status"}, keyset.Param, {Name: "page_size", Type: "integer"}}}, h.apiOrders)
	rt.API("POST /api/v1/care/orders", web.Op{Summary: "下单（居民、家人或社区工作人员代下）/ Order a service (the resident, the family or a worker)", Tag: tag, Body: OrderInput{}, Response: Order{}, Status: 201}, h.apiPlace)
	rt.API("GET /api/v1/care/orders/{id}", web.Op{Summary: "订单详情 / An order", Tag: tag, Response: Order{}}, h.apiOrder)
	rt.API("POST /api/v1/care/orders/{id}/accept", web.Op{Summary: "接单（服务机构）/ Accept (the provider)", Tag: tag, Response: Order{}}, h.apiStep(func(h *Handlers, r *http.Request) (Order, error) {
		return h.Store.Accept(r.Context(), r.PathValue("id"))
	}))
	rt.API("POST /api/v1/care/orders/{id}/assign", web.Op{Summary: "派人（服务机构）/ Assign staff (the provider)", Tag: tag, Body: AssignInput{}, Response: Order{}}, h.apiAssign)
	rt.API("POST /api/v1/care/orders/{id}/check-in", web.Op{Summary: "上门签到（服务人员）/ Check in (the staff member)", Tag: tag, Body: CheckInput{}, Response: Order{}}, h.apiCheck(true))
	rt.API("POST /api/v1/care/orders/{id}/check-out", web.Op{Summary: "服务签退（服务人员）/ Check out (the staff member)", Tag: tag, Body: CheckInput{}, Response: Order{}}, h.apiCheck(false))
	rt.API("POST /api/v1/care/orders/{id}/confirm", web.Op{Summary: "确认服务（居民或家人；补贴从额度中扣一次）/ Confirm (the resident or family; the subsidy is drawn once)", Tag: tag, Response: Order{}}, h.apiStep(func(h *Handlers, r *http.Request) (Order, error) {
		return h.Store.Confirm(r.Context(), r.PathValue("id"))
	}))
	rt.API("POST /api/v1/care/orders/{id}/rate", web.Op{Summary: "评价（1–5 星）/ Rate (1–5 stars)", Tag: tag, Body: RateInput{}, Response: Order{}}, h.apiRate)
	rt.API("POST /api/v1/care/orders/{id}/dispute", web.Op{Summary: "提出异议或未上门 / Dispute, or report a missed service", Tag: tag, Body: NoteInput{}, Response: Order{}}, h.apiNote(false))
	rt.API("POST /api/v1/care/orders/{id}/resolve", web.Op{Summary: "处理异议（redo 重新服务 / void 作废）/ Resolve a dispute", Tag: tag, Body: NoteInput{}, Response: Order{}}, h.apiNote(true))
	rt.API("GET /api/v1/care/settlements", web.Op{Summary: "月度结算单 / Monthly settlements", Tag: tag, Response: []Settlement{}, Params: []web.Param{{Name: "month", Description: "YYYY-MM"}}}, h.apiSettlements)
	rt.API("POST /api/v1/care/settlements", web.Op{Summary: "发起某机构或某社区自办助餐点的某月结算（机构负责人、助餐点所在社区工作者或县级干部）/ Draft a provider's or a community-run canteen's month", Tag: tag, Body: SettlementInput{}, Response: Settlement{}, Status: 201}, h.apiDraft)
	rt.API("GET /api/v1/care/settlements/{id}", web.Op{Summary: "结算单 / A settlement", Tag: tag, Response: Settlement{}}, h.apiSettlement)
	rt.API("POST /api/v1/care/settlements/{id}/check", web.Op{Summary: "核对（社区或街道）/ Check (community or township)", Tag: tag, Response: Settlement{}}, h.apiSettleStep(func(h *Handlers, r *http.Request) (Settlement, error) {
		return h.Store.Check(r.Context(), r.PathValue("id"))
	}))
	rt.API("POST /api/v1/care/settlements/{id}/approve", web.Op{Summary: "审批并出具结算文件（县级）/ Approve and issue the statement (county)", Tag: tag, Response: Settlement{}}, h.apiSettleStep(func(h *Handlers, r *http.Request) (Settlement, error) {
		return h.Store.Approve(r.Context(), r.PathValue("id"))
	}))
	rt.API("POST /api/v1/care/settlements/{id}/pay", web.Op{Summary: "登记已支付（县级）/ Mark paid (county)", Tag: tag, Body: PayInput{}, Response: Settlement{}}, h.apiPay)
	rt.API("GET /api/v1/care/settlements/{id}/statement", web.Op{Summary: "结算文件（xlsx；X-Content-SHA256 为其哈希）/ The statement (xlsx; its hash in X-Content-SHA256)", Tag: tag,
		Produces: []string{xlsxType}}, h.apiStatement)
}

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func pageSize(r *http.Request) (int, error) {
	v := r.URL.Query().Get("page_size")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 200 {
		return 0, bad("page_size", "应为 1–200", "must be 1–200")
	}
	return n, nil
}

func (h *Handlers) apiItems(w http.ResponseWriter, r *http.Request) error {
	items, err := h.Store.Items(r.Context())
	if err == nil {
		web.WriteJSON(w, 200, items)
	}
	return err
}

func (h *Handlers) apiCreateItem(w http.ResponseWriter, r *http.Request) error {
	var in ItemInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	it, err := h.Store.CreateItem(r.Context(), in)
	if err == nil {
		web.WriteJSON(w, 201, it)
	}
	return err
}

func (h *Handlers) apiProviders(w http.ResponseWriter, r *http.Request) error {
	prs, err := h.Store.Providers(r.Context())
	if err == nil {
		web.WriteJSON(w, 200, prs)
	}
	return err
}

func (h *Handlers) apiCreateProvider(w http.ResponseWriter, r *http.Request) error {
	var in ProviderInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	pr, err := h.Store.CreateProvider(r.Context(), in)
	if err == nil {
		web.WriteJSON(w, 201, pr)
	}
	return err
}

func (h *Handlers) apiStaff(w http.ResponseWriter, r *http.Request) error {
	st, err := h.Store.StaffOf(r.Context(), r.PathValue("id"))
	if err == nil {
		web.WriteJSON(w, 200, st)
	}
	return err
}

func (h *Handlers) apiAddStaff(w http.ResponseWriter, r *http.Request) error {
	var in StaffInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	st, err := h.Store.AddStaff(r.Context(), r.PathValue("id"), in)
	if err == nil {
		web.WriteJSON(w, 201, st)
	}
	return err
}

func (h *Handlers) apiEntitlements(w http.ResponseWriter, r *http.Request) error {
	n, err := pageSize(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	es, err := h.Store.Entitlements(r.Context(), q.Get("month"), q.Get("after"), n)
	if err == nil {
		web.WriteJSON(w, 200, es)
	}
	return err
}

func (h *Handlers) apiRules(w http.ResponseWriter, r *http.Request) error {
	rs, err := h.Store.Rules(r.Context())
	if err == nil {
		web.WriteJSON(w, 200, rs)
	}
	return err
}

func (h *Handlers) apiPublishRule(w http.ResponseWriter, r *http.Request) error {
	var in RuleInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	ru, err := h.Store.PublishRule(r.Context(), in)
	if err == nil {
		web.WriteJSON(w, 201, ru)
	}
	return err
}

func (h *Handlers) apiRun(w http.ResponseWriter, r *http.Request) error {
	var in RunInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	run, err := h.Store.RunMonth(r.Context(), in.County, in.Month)
	if err == nil {
		web.WriteJSON(w, 201, run)
	}
	return err
}

// orderList reads a page of orders from the request's status, cursor and
// page size.
func (h *Handlers) orderList(r *http.Request, limit int) (OrderPage, error) {
	f := OrderFilter{Status: r.URL.Query().Get("status"), Limit: limit}
	if c := r.URL.Query().Get("cursor"); c != "" {
		key, err := keyset.Open(h.Store.Keys, c, "care.orders", 2)
		if err != nil {
			return OrderPage{}, err
		}
		us, err := strconv.ParseInt(key[0], 10, 64)
		if err != nil {
			return OrderPage{}, keyset.ErrBadCursor
		}
		f.BeforeAt, f.BeforeID = time.UnixMicro(us), key[1]
	}
	os, err := h.Store.Orders(r.Context(), f)
	if err != nil {
		return OrderPage{}, err
	}
	pg := OrderPage{Items: os}
	if len(os) == f.Limit && f.Limit > 0 {
		last := os[len(os)-1]
		pg.Next = keyset.Seal(h.Store.Keys, "care.orders", strconv.FormatInt(last.CreatedAt.UnixMicro(), 10), last.ID)
	}
	return pg, nil
}

func (h *Handlers) apiOrders(w http.ResponseWriter, r *http.Request) error {
	n, err := pageSize(r)
	if err != nil {
		return err
	}
	if n == 0 {
		n = 20
	}
	pg, err := h.orderList(r, n)
	if err == nil {
		web.WriteJSON(w, 200, pg)
	}
	return err
}

func (h *Handlers) apiPlace(w http.ResponseWriter, r *http.Request) error {
	var in OrderInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	o, err := h.Store.PlaceOrder(r.Context(), in)
	if err == nil {
		web.WriteJSON(w, 201, o)
	}
	return err
}

func (h *Handlers) apiOrder(w http.ResponseWriter, r *http.Request) error {
	o, err := h.Store.Order(r.Context(), r.PathValue("id"))
	if err == nil {
		web.WriteJSON(w, 200, o)
	}
	return err
}

func (h *Handlers) apiStep(fn func(*Handlers, *http.Request) (Order, error)) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		o, err := fn(h, r)
		if err == nil {
			web.WriteJSON(w, 200, o)
		}
		return err
	}
}

func (h *Handlers) apiAssign(w http.ResponseWriter, r *http.Request) error {
	var in AssignInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	o, err := h.Store.Assign(r.Context(), r.PathValue("id"), in.StaffID)
	if err == nil {
		web.WriteJSON(w, 200, o)
	}
	return err
}

func (h *Handlers) apiCheck(in bool) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var body CheckInput
		if r.ContentLength != 0 {
			if err := web.DecodeJSON(w, r, &body); err != nil {
				return err
			}
		}
		var o Order
		var err error
		if in {
			o, err = h.Store.CheckIn(r.Context(), r.PathValue("id"), body)
		} else {
			o, err = h.Store.CheckOut(r.Context(), r.PathValue("id"), body)
		}
		if err == nil {
			web.WriteJSON(w, 200, o)
		}
		return err
	}
}

func (h *Handlers) apiRate(w http.ResponseWriter, r *http.Request) error {
	var in RateInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	o, err := h.Store.Rate(r.Context(), r.PathValue("id"), in)
	if err == nil {
		web.WriteJSON(w, 200, o)
	}
	return err
}

func (h *Handlers) apiNote(resolve bool) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in NoteInput
		if err := web.DecodeJSON(w, r, &in); err != nil {
			return err
		}
		var o Order
		var err error
		if resolve {
			o, err = h.Store.Resolve(r.Context(), r.PathValue("id"), in)
		} else {
			o, err = h.Store.Dispute(r.Context(), r.PathValue("id"), in)
		}
		if err == nil {
			web.WriteJSON(w, 200, o)
		}
		return err
	}
}

func (h *Handlers) apiSettlements(w http.ResponseWriter, r *http.Request) error {
	sts, err := h.Store.Settlements(r.Context(), r.URL.Query().Get("month"))
	if err == nil {
		web.WriteJSON(w, 200, sts)
	}
	return err
}

func (h *Handlers) apiDraft(w http.ResponseWriter, r *http.Request) error {
	var in SettlementInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	st, err := h.Store.Draft(r.Context(), in)
	if err == nil {
		web.WriteJSON(w, 201, st)
	}
	return err
}

func (h *Handlers) apiSettlement(w http.ResponseWriter, r *http.Request) error {
	st, err := h.Store.Settlement(r.Context(), r.PathValue("id"))
	if err == nil {
		web.WriteJSON(w, 200, st)
	}
	return err
}

func (h *Handlers) apiSettleStep(fn func(*Handlers, *http.Request) (Settlement, error)) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		st, err := fn(h, r)
		if err == nil {
			web.WriteJSON(w, 200, st)
		}
		return err
	}
}

func (h *Handlers) apiPay(w http.ResponseWriter, r *http.Request) error {
	var in PayInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	st, err := h.Store.Pay(r.Context(), r.PathValue("id"), in)
	if err == nil {
		web.WriteJSON(w, 200, st)
	}
	return err
}

func (h *Handlers) apiStatement(w http.ResponseWriter, r *http.Request) error {
	file, st, err := h.Store.Statement(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", xlsxType)
	w.Header().Set("Content-Disposition", `attachment; filename="care-settlement-`+st.Month+`-`+st.ID+`.xlsx"`)
	w.Header().Set("X-Content-SHA256", st.SHA256)
	w.WriteHeader(200)
	w.Write(file)
	return nil
}
