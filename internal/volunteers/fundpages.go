package volunteers

import (
	"net/http"
	"strconv"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

const listFund = "volunteers/fund"

// registerFundAPI adds /api/v1/funds (社区基金).
func (h *Handlers) registerFundAPI(rt *web.Router) {
	const tag = "volunteers"
	rt.API("GET /api/v1/funds/{community}", web.Op{Summary: "社区基金公开账目：合计和分录（新的在前，按键翻页；公开）/ A community fund's public ledger: totals and entries, newest first, paged by key (public)", Tag: tag,
		Response: FundLedger{}, Public: true, Params: []web.Param{keyset.Param, {Name: "page_size", Type: "integer"}}}, h.apiLedger)
	rt.API("POST /api/v1/funds/{community}/entries", web.Op{Summary: "记入捐赠或支出（本社区工作者、上级干部；支出不得超过余额）/ Record a donation or a grant (the community's workers and officers above it; a grant within the balance)", Tag: tag,
		Body: FundInput{}, Response: FundEntry{}, Status: 201}, h.apiRecordFund)
	rt.API("POST /api/v1/funds/{community}/entries/{id}/reverse", web.Op{Summary: "冲正一笔基金账目（写明原因，只冲正一次）/ Reverse a fund entry, with a reason (once)", Tag: tag,
		Body: ReverseFundInput{}, Response: FundEntry{}, Status: 201}, h.apiReverseFund)
}

// registerFundPages adds the public ledger and the worker's fund page.
func (h *Handlers) registerFundPages(rt *web.Router) {
	rt.Public("GET /funds/{community}", h.pageLedger)
	rt.Page("GET /volunteers/fund", func(w http.ResponseWriter, r *http.Request) { h.pageFund(w, r, 200, web.View{}) })
	rt.Page("POST /volunteers/fund", h.postFund)
	rt.Page("GET /volunteers/fund/{community}/{id}/reverse", func(w http.ResponseWriter, r *http.Request) { h.pageReverseFund(w, r, 200, web.View{}) })
	rt.Page("POST /volunteers/fund/{community}/{id}/reverse", h.postReverseFund)
}

// ledger reads the page of the ledger the request's cursor names.
func (h *Handlers) ledger(r *http.Request, n int) (FundLedger, error) {
	c := r.PathValue("community")
	var before int64
	key, err := h.cursor(r, listFund+"/"+c, 1)
	if err != nil {
		return FundLedger{}, err
	}
	if key != nil {
		before, _ = strconv.ParseInt(key[0], 10, 64)
	}
	l, err := h.Store.Ledger(r.Context(), c, before, n+1)
	if err != nil {
		return l, err
	}
	if len(l.Items) > n {
		l.Items = l.Items[:n]
		l.Next = keyset.Seal(h.Keys, listFund+"/"+c, strconv.FormatInt(l.Items[n-1].Seq, 10))
	}
	return l, nil
}

func (h *Handlers) apiLedger(w http.ResponseWriter, r *http.Request) error {
	n, err := pageSize(r, 50)
	if err != nil {
		return err
	}
	l, err := h.ledger(r, n)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, l)
	return nil
}

func (h *Handlers) apiRecordFund(w http.ResponseWriter, r *http.Request) error {
	var in FundInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	e, err := h.Store.RecordFund(r.Context(), r.PathValue("community"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, e)
	return nil
}

func (h *Handlers) apiReverseFund(w http.ResponseWriter, r *http.Request) error {
	var in ReverseFundInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	e, err := h.Store.ReverseFund(r.Context(), r.PathValue("community"), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, e)
	return nil
}

type ledgerView struct {
	Ledger FundLedger
	Keeper bool
	Pager  web.Pager
}

// pageLedger is a community fund's public ledger, open to anyone and
// laid out to print.
func (h *Handlers) pageLedger(w http.ResponseWriter, r *http.Request) {
	l, err := h.ledger(r, 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	first, next := keyset.Links(r, r.URL.Query().Get("cursor"), l.Next)
	p := access.From(r.Context())
	v := ledgerView{Ledger: l, Keeper: p != nil && p.Role != access.Resident && manager(p, l.Community), Pager: web.Pager{First: first, Next: next}}
	h.Pages.Render(w, r, 200, "fundledger", web.View{Title: web.M(l.Name+"社区基金公开账目", l.Name+" community fund ledger"), Data: v})
}

type fundView struct {
	Community string
	Name      string
	Places    []Choice // communities (or townships) to walk down to
	Ledger    FundLedger
	Channels  []Choice
	Today     string
	Done      string
}

// pageFund is a worker's fund page: the form to record a donation or a
// grant, and the latest entries with their reversal links. An officer
// above a community walks down to it first.
func (h *Handlers) pageFund(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	if p.Role == access.Resident || !manager(p, p.Division) {
		h.fail(w, r, errNotFundKeeper)
		return
	}
	c := r.FormValue("community")
	if c == "" {
		c = p.Division
	}
	if !manager(p, c) {
		h.fail(w, r, errNoFund)
		return
	}
	dv, err := h.Store.Divs.Get(ctx, c)
	if err != nil {
		h.fail(w, r, errNoFund)
		return
	}
	d := fundView{Community: c, Name: dv.Name, Today: h.Store.today(), Done: r.URL.Query().Get("done")}
	v.Crumbs = []web.Crumb{{Href: "/volunteers", Label: web.M("志愿服务", "Volunteering")}, {Label: web.M("社区基金", "Community fund")}}
	if !community12(c) {
		kids, _, err := h.Store.Divs.Children(ctx, c, 0, 500)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, k := range kids {
			d.Places = append(d.Places, Choice{Key: k.Code, Name: web.M(k.Name, k.Name)})
		}
		v.Title, v.Data = web.M(dv.Name+"：选择村（社区）", dv.Name+": choose a community"), d
		h.Pages.Render(w, r, status, "fund", v)
		return
	}
	if d.Ledger, err = h.Store.Ledger(ctx, c, 0, 20); err != nil {
		h.fail(w, r, err)
		return
	}
	chosen := ""
	if v.Form != nil {
		chosen = v.Form.Get("channel")
	}
	for _, ch := range FundChannels {
		d.Channels = append(d.Channels, Choice{Key: ch.Key, Name: web.M(ch.ZH, ch.EN), Checked: ch.Key == chosen})
	}
	v.Title, v.Data = web.M(dv.Name+"社区基金", dv.Name+" community fund"), d
	h.Pages.Render(w, r, status, "fund", v)
}

func (h *Handlers) postFund(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := r.PostForm
	c := f.Get("community")
	in := FundInput{Kind: f.Get("kind"), Party: f.Get("party"), Purpose: f.Get("purpose"), Date: f.Get("date"), Channel: f.Get("channel"), ApprovedBy: f.Get("approved_by")}
	fen, ok := ParseYuan(f.Get("amount"))
	if !ok {
		fen = -1 // named by the store with the amount's field error
	}
	in.AmountFen = fen
	if in.Kind == FundGrant {
		in.Channel = ""
	}
	if _, err := h.Store.RecordFund(r.Context(), c, in); err != nil {
		h.formError(w, r, err, func(status int, v web.View) { h.pageFund(w, r, status, v) })
		return
	}
	http.Redirect(w, r, "/volunteers/fund?community="+c+"&done=recorded", http.StatusSeeOther)
}

// pageReverseFund asks for the reason before an entry is reversed.
func (h *Handlers) pageReverseFund(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	e, err := h.Store.FundEntry(r.Context(), r.PathValue("community"), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if e.Reverses != "" || e.ReversedBy != "" {
		h.fail(w, r, errReversed)
		return
	}
	v.Title, v.Data = web.M("冲正基金账目", "Reverse a fund entry"), e
	v.Crumbs = []web.Crumb{{Href: "/volunteers", Label: web.M("志愿服务", "Volunteering")}, {Href: "/volunteers/fund?community=" + e.Community, Label: web.M("社区基金", "Community fund")}, {Label: v.Title}}
	h.Pages.Render(w, r, status, "fundreverse", v)
}

func (h *Handlers) postReverseFund(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	c := r.PathValue("community")
	if _, err := h.Store.ReverseFund(r.Context(), c, r.PathValue("id"), ReverseFundInput{Reason: r.PostForm.Get("reason")}); err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.formError(w, r, err, func(status int, v web.View) { h.pageReverseFund(w, r, status, v) })
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/volunteers/fund?community="+c+"&done=reversed", http.StatusSeeOther)
}
