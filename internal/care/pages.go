package care

import (
	"embed"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// RegisterPages adds the pages: every one works without JavaScript.
func (h *Handlers) RegisterPages(rt *web.Router) {
	rt.Page("GET /care", h.pageWork)
	rt.Page("GET /care/mine", func(w http.ResponseWriter, r *http.Request) { h.pageMine(w, r, 200, web.View{}) })
	rt.Page("POST /care/mine", h.postMine)
	rt.Page("GET /care/orders/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageOrder(w, r, 200, web.View{}) })
	rt.Page("POST /care/orders/{id}/{step}", h.postOrder)
	rt.Page("GET /care/settlements", func(w http.ResponseWriter, r *http.Request) { h.pageSettlements(w, r, 200, web.View{}) })
	rt.Page("POST /care/settlements", h.postSettlements)
	rt.Page("GET /care/settlements/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageSettlement(w, r, 200, web.View{}) })
	rt.Page("POST /care/settlements/{id}/{step}", h.postSettlement)
	rt.Page("GET /care/settlements/{id}/statement.xlsx", h.pageStatement)
}

func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	if we, ok := fault.As(err); ok {
		h.Pages.Render(w, r, web.Status(we), "message", web.View{Title: web.M("无法完成", "Cannot do that"), Alert: we.Msg})
		return
	}
	web.Logger(r.Context()).Error("care page", "err", err.Error())
	h.Pages.Render(w, r, 500, "message", web.View{Title: web.M("出错了", "Error"), Alert: web.M("服务器内部错误，请稍后重试", "internal server error, please try again later")})
}

// Yuan writes fen as yuan with two decimals.
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%s.%02d", sign, web.Group(int(fen/100)), fen%100)
}

// StatusTag is the order's status as a tag.
func (o Order) StatusTag() web.Tag {
	tone := map[string]web.Tone{StatusConfirmed: web.ToneOK, StatusDisputed: web.ToneBad, StatusCancelled: web.ToneMuted, StatusServed: web.ToneWarn}[o.Status]
	if tone == "" {
		tone = web.ToneInfo
	}
	return web.Tag{Tone: tone, Label: o.StatusName()}
}

// Amount, Subsidy and Copay are the order's money in yuan.
func (o Order) Amount() string  { return Yuan(o.AmountFen) }
func (o Order) Subsidy() string { return Yuan(o.SubsidyFen) }
func (o Order) Copay() string   { return Yuan(o.CopayFen) }

// StatusTag is the settlement's status as a tag.
func (st Settlement) StatusTag() web.Tag {
	tone := map[string]web.Tone{SettlePaid: web.ToneOK, SettleApproved: web.ToneOK, SettleDraft: web.ToneWarn}[st.Status]
	if tone == "" {
		tone = web.ToneInfo
	}
	return web.Tag{Tone: tone, Label: st.StatusName()}
}

// Amount, Subsidy and Copay are the settlement's money in yuan.
func (st Settlement) Amount() string  { return Yuan(st.AmountFen) }
func (st Settlement) Subsidy() string { return Yuan(st.SubsidyFen) }
func (st Settlement) Copay() string   { return Yuan(st.CopayFen) }

// Price is the item's price in yuan.
func (it Item) Price() string { return Yuan(it.PriceFen) }

// UnitName is the item's unit in words.
func (it Item) UnitName() fault.Msg { return unitNames[it.Unit] }

type option struct {
	Key  string
	Name web.Msg
}

var statusOrder = []string{StatusOrdered, StatusAccepted, StatusAssigned, StatusInService, StatusServed, StatusConfirmed, StatusDisputed, StatusCancelled}

type workView struct {
	Provider *Provider
	Staff    []Staff
	Manager  bool
	Orders   []Order
	Pager    web.Pager
	Status   string
	Statuses []option
}

// pageWork is the provider's workspace (its orders, staff and rating) and
// the workers' and officers' list of orders in their area.
func (h *Handlers) pageWork(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := access.From(ctx)
	if p.Role == access.Resident {
		http.Redirect(w, r, "/care/mine", http.StatusSeeOther)
		return
	}
	var v workView
	if p.Role == access.Provider {
		me, err := h.Store.memberOf(ctx, p)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		pr, err := h.Store.Provider(ctx, me.ProviderID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v.Provider, v.Manager = &pr, me.Manager
		if me.Manager {
			if v.Staff, err = h.Store.staffOf(ctx, pr.ID); err != nil {
				h.fail(w, r, err)
				return
			}
		}
	}
	v.Status = r.URL.Query().Get("status")
	for _, s := range statusOrder {
		v.Statuses = append(v.Statuses, option{s, statusNames[s]})
	}
	pg, err := h.orderList(r, 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Orders = pg.Items
	first, next := keyset.Links(r, r.URL.Query().Get("cursor"), pg.Next)
	v.Pager = web.Pager{First: first, Next: next, Total: len(pg.Items), TotalText: strconv.Itoa(len(pg.Items))}
	title := web.M("居家养老服务订单", "Home-care orders")
	if v.Provider != nil {
		title = web.M("服务机构工作台", "Provider workspace")
	}
	h.Pages.Render(w, r, 200, "work", web.View{Title: title, Data: v})
}

type mineView struct {
	Linked    bool
	Quota     *Entitlement
	Providers []Provider
	Items     []Item
	Orders    []Order
	Done      bool
}

func (h *Handlers) pageMine(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	if p.Role != access.Resident {
		http.Redirect(w, r, "/care", http.StatusSeeOther)
		return
	}
	mv := mineView{Done: r.URL.Query().Get("ordered") == "1"}
	res, err := h.Store.residentOf(ctx, p)
	if err == nil {
		mv.Linked = true
		es, err := h.Store.Entitlements(ctx, "", "", 0)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for i := range es {
			if es[i].ResidentID == res.ID && es[i].Month == month(h.Store.Now()) {
				mv.Quota = &es[i]
			}
		}
		if mv.Providers, err = h.Store.Providers(ctx); err != nil {
			h.fail(w, r, err)
			return
		}
		if mv.Items, err = h.Store.Items(ctx); err != nil {
			h.fail(w, r, err)
			return
		}
		if mv.Orders, err = h.Store.Orders(ctx, OrderFilter{Limit: 20}); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if v.Form == nil {
		v.Form = url.Values{"wanted_at": {h.Store.Now().In(cstZone()).Add(24*time.Hour).Format("2006-01-02") + "T09:00"}}
	}
	v.Title, v.Data = web.M("居家养老服务", "Home-care services"), mv
	h.Pages.Render(w, r, status, "mine", v)
}

// postMine orders a service: the provider and item chosen as one
// "provider/item" choice, so that only what a provider delivers is offered.
func (h *Handlers) postMine(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	provider, item, _ := strings.Cut(r.PostForm.Get("offer"), "/")
	_, err := h.Store.PlaceOrder(r.Context(), OrderInput{ProviderID: provider, ItemID: item, WantedAt: r.PostForm.Get("wanted_at"), Note: r.PostForm.Get("note")})
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			for i := range we.Fields {
				if we.Fields[i].Field == "provider_id" || we.Fields[i].Field == "item_id" {
					we.Fields[i].Field = "offer"
				}
			}
			h.pageMine(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/care/mine?ordered=1", http.StatusSeeOther)
}

type orderView struct {
	O                                 Order
	Staff                             []Staff
	Accept, Assign, CheckIn, CheckOut bool
	Confirm, Rate, Dispute, Resolve   bool
	Done                              bool
	Stars                             []int
}

func (h *Handlers) pageOrder(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	o, err := h.Store.Order(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ov := orderView{O: o, Done: r.URL.Query().Get("done") == "1", Stars: []int{5, 4, 3, 2, 1}}
	switch p.Role {
	case access.Provider:
		me, err := h.Store.memberOf(ctx, p)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		ov.Accept = me.Manager && o.Status == StatusOrdered
		ov.Assign = me.Manager && (o.Status == StatusAccepted || o.Status == StatusAssigned)
		ov.Resolve = me.Manager && o.Status == StatusDisputed
		ov.CheckIn = me.ID == o.StaffID && o.Status == StatusAssigned
		ov.CheckOut = me.ID == o.StaffID && o.Status == StatusInService
		if ov.Assign {
			if ov.Staff, err = h.Store.StaffOf(ctx, o.ProviderID); err != nil {
				h.fail(w, r, err)
				return
			}
		}
	case access.Resident:
		ov.Confirm = o.Status == StatusServed
		ov.Rate = o.Status == StatusConfirmed && o.Rating == 0
		ov.Dispute = o.Status == StatusAssigned || o.Status == StatusInService || o.Status == StatusServed
	case access.CommunityWorker:
		ov.Resolve = o.Status == StatusDisputed
		ov.Dispute = o.Status == StatusAssigned || o.Status == StatusInService || o.Status == StatusServed
	}
	back := "/care"
	if p.Role == access.Resident {
		back = "/care/mine"
	}
	v.Title, v.Data = web.M(o.ItemName+" · "+o.Name, o.ItemName+" · "+o.Name), ov
	v.Crumbs = []web.Crumb{{Href: back, Label: web.M("居家养老", "Home care")}, {Label: web.M("订单", "Order")}}
	h.Pages.Render(w, r, status, "order", v)
}

func floatField(f url.Values, field string) (*float64, error) {
	s := strings.TrimSpace(f.Get(field))
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, bad(field, "应为数字", "must be a number")
	}
	return &v, nil
}

func (h *Handlers) postOrder(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	ctx, id, f := r.Context(), r.PathValue("id"), r.PostForm
	var err error
	switch r.PathValue("step") {
	case "accept":
		_, err = h.Store.Accept(ctx, id)
	case "assign":
		_, err = h.Store.Assign(ctx, id, f.Get("staff_id"))
	case "check-in", "check-out":
		var in CheckInput
		if in.Lon, err = floatField(f, "lon"); err == nil {
			in.Lat, err = floatField(f, "lat")
		}
		if err == nil && r.PathValue("step") == "check-in" {
			_, err = h.Store.CheckIn(ctx, id, in)
		} else if err == nil {
			in.At = f.Get("at")
			_, err = h.Store.CheckOut(ctx, id, in)
		}
	case "confirm":
		_, err = h.Store.Confirm(ctx, id)
	case "rate":
		n, _ := strconv.Atoi(f.Get("rating"))
		_, err = h.Store.Rate(ctx, id, RateInput{Rating: n, Note: f.Get("note")})
	case "dispute":
		_, err = h.Store.Dispute(ctx, id, NoteInput{Note: f.Get("note")})
	case "resolve":
		_, err = h.Store.Resolve(ctx, id, NoteInput{Outcome: f.Get("outcome"), Note: f.Get("note")})
	default:
		err = fault.NotFound(fault.M("没有这个操作", "no such step"))
	}
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageOrder(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: f})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/care/orders/"+id+"?done=1", http.StatusSeeOther)
}

type settlementsView struct {
	Items     []Settlement
	Unsettled []Settlement
	Lines     []Order
	CanDraft  bool
	Providers []Provider
	Canteens  []Canteen // community-run, whose month p may draft
	Month     string
}

func (h *Handlers) pageSettlements(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	sts, err := h.Store.Settlements(ctx, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sv := settlementsView{Items: sts, Month: month(h.Store.Now().In(cstZone()).AddDate(0, -1, 0))}
	if sv.Unsettled, sv.Lines, err = h.Store.Unsettled(ctx); err != nil {
		h.fail(w, r, err)
		return
	}
	switch {
	case p.Role == access.Provider:
		me, err := h.Store.memberOf(ctx, p)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		sv.CanDraft = me.Manager
	case p.Role == access.Officer && len(p.Division) <= 6:
		sv.CanDraft = true
	}
	if sv.CanDraft {
		if sv.Providers, err = h.Store.Providers(ctx); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if p.Role == access.CommunityWorker || p.Role == access.Officer && len(p.Division) <= 6 {
		cs, err := h.Store.Canteens(ctx)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, c := range cs {
			if c.ProviderID == "" && access.Encloses(p.Division, c.Division) {
				sv.Canteens = append(sv.Canteens, c)
			}
		}
	}
	if v.Form == nil {
		v.Form = url.Values{"month": {sv.Month}}
	}
	v.Title, v.Data = web.M("居家养老月度结算", "Home-care settlements"), sv
	h.Pages.Render(w, r, status, "settlements", v)
}

func (h *Handlers) postSettlements(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	st, err := h.Store.Draft(r.Context(), SettlementInput{ProviderID: r.PostForm.Get("provider_id"), CanteenID: r.PostForm.Get("canteen_id"), Month: r.PostForm.Get("month")})
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageSettlements(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/care/settlements/"+st.ID, http.StatusSeeOther)
}

type settlementView struct {
	S                   Settlement
	Check, Approve, Pay bool
	Done                bool
}

func (h *Handlers) pageSettlement(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	p := access.From(r.Context())
	st, err := h.Store.Settlement(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sv := settlementView{S: st, Done: r.URL.Query().Get("done") == "1"}
	sv.Check = st.Status == SettleDraft && MayCheck(p, st)
	sv.Approve = st.Status == SettleChecked && countyOfficer(p, st.County)
	sv.Pay = st.Status == SettleApproved && countyOfficer(p, st.County)
	v.Title, v.Data = web.M(st.Payee()+" "+st.Month, st.Payee()+" "+st.Month), sv
	v.Crumbs = []web.Crumb{{Href: "/care/settlements", Label: web.M("居家养老结算", "Home-care settlements")}, {Label: web.M(st.Month, st.Month)}}
	h.Pages.Render(w, r, status, "settlement", v)
}

func (h *Handlers) postSettlement(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	ctx, id := r.Context(), r.PathValue("id")
	var err error
	switch r.PathValue("step") {
	case "check":
		_, err = h.Store.Check(ctx, id)
	case "approve":
		_, err = h.Store.Approve(ctx, id)
	case "pay":
		_, err = h.Store.Pay(ctx, id, PayInput{Reference: r.PostForm.Get("reference")})
	default:
		err = fault.NotFound(fault.M("没有这个操作", "no such step"))
	}
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageSettlement(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/care/settlements/"+id+"?done=1", http.StatusSeeOther)
}

func (h *Handlers) pageStatement(w http.ResponseWriter, r *http.Request) {
	if err := h.apiStatement(w, r); err != nil {
		h.fail(w, r, err)
	}
}

// Left and Granted are the quota's money in yuan.
func (e Entitlement) Left() string    { return Yuan(e.LeftFen) }
func (e Entitlement) Granted() string { return Yuan(e.GrantedFen) }
