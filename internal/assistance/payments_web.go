package assistance

import (
	"io"
	"net/http"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/web"
)

// PaymentRunInput asks for a month's batch.
type PaymentRunInput struct {
	Month string `json:"month"` // "2026-11"
}

func (h *handlers) registerPaymentAPI(rt *web.Router) {
	const tag = "assistance"
	rt.API("GET /api/v1/assistance/payments", web.Op{Summary: "本县按月发放批次（最新月份在前，按 cursor 翻页；县级民政干部）/ The county's monthly payment batches (newest first, paged by cursor; county officers)", Tag: tag, Response: BatchPage{},
		Params: []web.Param{{Name: "cursor", Description: "the next_cursor of the previous page (YYYY-MM)"}}}, h.apiBatches)
	rt.API("POST /api/v1/assistance/payments", web.Op{Summary: "生成某月发放批次（含补发；同月再次生成为 409）/ Run a month's payments (with arrears; a second run of the month is 409)", Tag: tag, Body: PaymentRunInput{}, Response: Batch{}, Status: 201}, h.apiRunPayments)
	rt.API("GET /api/v1/assistance/payments/{id}", web.Op{Summary: "发放批次及其合计（已发放、失败、待回盘）/ A batch with its totals (paid, failed, awaiting the bank)", Tag: tag, Response: Batch{}}, h.apiBatch)
	rt.API("GET /api/v1/assistance/payments/{id}/bank-file", web.Op{Summary: "下载银行代发文件（CSV，记入审计；masked=1 为脱敏审核件），X-Content-SHA256 为文件哈希 / The bank file (CSV, audited; masked=1: the masked review copy), its SHA-256 in X-Content-SHA256", Tag: tag,
		Params: []web.Param{{Name: "masked", Description: "1: names and accounts masked, for review"}}, Produces: []string{web.MediaCSV}}, h.apiBankFile)
	rt.API("POST /api/v1/assistance/payments/{id}/return", web.Op{Summary: "导入银行回盘文件（序号、账号、金额、状态、原因；有误则整份不导入）/ Import the bank's return file (ref, account, amount, status, reason; any error refuses the whole file)", Tag: tag,
		Accepts: []string{web.MediaCSV}, Response: Batch{}}, h.apiReturn)
}

func (h *handlers) apiBatches(w http.ResponseWriter, r *http.Request) error {
	pg, err := h.store.PayBatches(r.Context(), r.URL.Query().Get("cursor"), 20)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pg)
	return nil
}

func monthField(v string) (Month, error) {
	m, ok := ParseMonth(v)
	if !ok {
		return 0, invalid(fault.Field("month", fault.M("请选择月份（YYYY-MM）", "choose a month (YYYY-MM)")))
	}
	return m, nil
}

func (h *handlers) apiRunPayments(w http.ResponseWriter, r *http.Request) error {
	var in PaymentRunInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	m, err := monthField(in.Month)
	if err != nil {
		return err
	}
	b, err := h.store.RunPayments(r.Context(), m)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, b)
	return nil
}

func (h *handlers) apiBatch(w http.ResponseWriter, r *http.Request) error {
	b, err := h.store.Batch(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, b)
	return nil
}

func (h *handlers) apiBankFile(w http.ResponseWriter, r *http.Request) error {
	return h.sendBankFile(w, r, r.URL.Query().Get("masked") == "1")
}

// sendBankFile answers the bank file or its masked review copy.
func (h *handlers) sendBankFile(w http.ResponseWriter, r *http.Request, masked bool) error {
	data, hash, b, err := h.store.BankFile(r.Context(), r.PathValue("id"), masked)
	if err != nil {
		return err
	}
	name := "assistance-payments-" + b.County + "-" + b.Month.String()
	if masked {
		name += "-review"
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	w.Header().Set("X-Content-SHA256", hash)
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(data)
	return err
}

func (h *handlers) apiReturn(w http.ResponseWriter, r *http.Request) error {
	b, err := h.store.ImportReturn(r.Context(), r.PathValue("id"), http.MaxBytesReader(w, r.Body, 20<<20))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, b)
	return nil
}

func (h *handlers) registerPaymentPages(rt *web.Router) {
	rt.Page("GET /assistance/payments", h.pagePayments)
	rt.Page("GET /assistance/payments/new", h.pagePaymentConfirm)
	rt.Page("POST /assistance/payments", h.postPayments)
	rt.Page("GET /assistance/payments/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageBatch(w, r, 200, web.View{}) })
	rt.Page("GET /assistance/payments/{id}/bank.csv", func(w http.ResponseWriter, r *http.Request) { h.downloadBankFile(w, r, false) })
	rt.Page("GET /assistance/payments/{id}/review.csv", func(w http.ResponseWriter, r *http.Request) { h.downloadBankFile(w, r, true) })
	rt.Page("POST /assistance/payments/{id}/return", h.postReturn)
}

type monthOption struct {
	Value string
	Taken bool // a batch exists
}

type paymentsView struct {
	Items  []Batch
	Months []monthOption
	Pager  web.Pager
	Empty  fault.Msg
}

func (h *handlers) pagePayments(w http.ResponseWriter, r *http.Request) {
	h.renderPayments(w, r, 200, web.View{})
}

func (h *handlers) renderPayments(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	cursor := r.URL.Query().Get("cursor")
	pg, err := h.store.PayBatches(r.Context(), cursor, 12)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pv := paymentsView{Items: pg.Items, Empty: fault.M("还没有发放批次", "No payment batch yet")}
	// The months to pick: this one and the eleven before it.
	now := MonthOf(h.store.Now())
	taken := map[Month]bool{}
	for _, b := range pg.Items {
		taken[b.Month] = true
	}
	for m := now; m > now-12; m-- {
		pv.Months = append(pv.Months, monthOption{Value: m.String(), Taken: taken[m]})
	}
	first := ""
	if cursor != "" {
		first = "/assistance/payments"
	}
	next := ""
	if pg.Next != "" {
		next = "/assistance/payments?cursor=" + pg.Next
	}
	pv.Pager = web.Pager{First: first, Next: next}
	v.Title, v.Data = web.M("按月发放", "Monthly payments"), pv
	if v.Form == nil {
		v.Form = r.Form
	}
	h.pages.Render(w, r, status, "payments", v)
}

// pagePaymentConfirm shows what the month's run will pay before the
// officer confirms it.
func (h *handlers) pagePaymentConfirm(w http.ResponseWriter, r *http.Request) {
	m, err := monthField(r.URL.Query().Get("month"))
	if err == nil {
		var pv PaymentPreview
		if pv, err = h.store.PreviewPayments(r.Context(), m); err == nil {
			h.pages.Render(w, r, 200, "payconfirm", web.View{Title: web.M("确认生成发放批次", "Confirm the month's payments"), Data: pv})
			return
		}
	}
	h.paymentsRefused(w, r, err)
}

func (h *handlers) paymentsRefused(w http.ResponseWriter, r *http.Request, err error) {
	if we, ok := fault.As(err); ok && (we.Code == fault.CodeInvalid || we.Code == fault.CodeConflict) {
		h.renderPayments(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields})
		return
	}
	h.fail(w, r, err)
}

func (h *handlers) postPayments(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	m, err := monthField(r.FormValue("month"))
	var b Batch
	if err == nil {
		b, err = h.store.RunPayments(r.Context(), m)
	}
	if err != nil {
		h.paymentsRefused(w, r, err)
		return
	}
	http.Redirect(w, r, "/assistance/payments/"+b.ID+"?run=1", http.StatusSeeOther)
}

type batchView struct {
	Batch  Batch
	Failed []Payment
	Rows   []Payment
	More   bool
}

// BatchRowsShown is how many of a batch's rows its page lists.
const BatchRowsShown = 50

func (h *handlers) pageBatch(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	id := r.PathValue("id")
	b, err := h.store.Batch(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	bv := batchView{Batch: b}
	if bv.Failed, err = h.store.BatchPayments(r.Context(), id, PayFailed, 200); err == nil {
		bv.Rows, err = h.store.BatchPayments(r.Context(), id, "", BatchRowsShown)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	bv.More = b.Rows > len(bv.Rows)
	switch {
	case r.URL.Query().Get("run") == "1":
		v.Notice = web.M("发放批次已生成。", "The batch is run.")
	case r.URL.Query().Get("returned") == "1":
		v.Notice = web.M("回盘文件已导入。", "The return file is imported.")
	}
	v.Title, v.Data = web.M("发放批次 "+b.Month.String(), "Payments of "+b.Month.String()), bv
	h.pages.Render(w, r, status, "batch", v)
}

func (h *handlers) downloadBankFile(w http.ResponseWriter, r *http.Request, masked bool) {
	if err := h.sendBankFile(w, r, masked); err != nil {
		h.fail(w, r, err)
	}
}

func (h *handlers) postReturn(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f, _, err := r.FormFile("file")
	if err != nil {
		h.pageBatch(w, r, 400, web.View{Alert: web.M("请选择银行回盘文件", "choose the bank's return file"),
			Errors: []fault.FieldError{fault.Field("file", fault.M("请选择银行回盘文件（CSV）", "choose the return file (CSV)"))}})
		return
	}
	defer f.Close()
	if _, err := h.store.ImportReturn(r.Context(), id, io.LimitReader(f, 20<<20)); err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageBatch(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/assistance/payments/"+id+"?returned=1", http.StatusSeeOther)
}

// paysCounty tells whether a principal runs payments (a county officer):
// the list page links to them.
func paysCounty(p *access.Principal) bool { _, err := payer(p); return err == nil }
