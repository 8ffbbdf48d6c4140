package audit

import (
	"embed"
	"errors"
	"net/http"
	"strconv"
	"time"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Handlers serve the auditor's search page and API. Nothing here writes:
// no role can edit or delete an entry through the product.
type Handlers struct {
	Log   *Log
	Pages *web.Pages
}

// ParsePages prepares the audit pages.
func ParsePages(rd *web.Renderer) *web.Pages { return rd.Parse(templates, "templates/*.html") }

// Register adds the routes.
func (h *Handlers) Register(rt *web.Router) {
	rt.Page("GET /audit", h.page)
	rt.API("GET /api/v1/audit", web.Op{Summary: "检索审计日志（审计员）/ Search the audit log (auditor)", Tag: "audit",
		Params: []web.Param{{Name: "actor"}, {Name: "action", Description: "前缀 / prefix"}, {Name: "result"}, {Name: "object"},
			{Name: "from", Description: "YYYY-MM-DD"}, {Name: "to", Description: "YYYY-MM-DD (含 / inclusive)"},
			{Name: "before", Type: "integer", Description: "下一页位置，取自上一页的 next / the next page's position: the previous page's next"}, {Name: "page_size", Type: "integer"}},
		Response: List{}}, h.api)
	rt.API("GET /api/v1/audit/verify", web.Op{Summary: "校验审计链（审计员）/ Verify the audit chain (auditor)", Tag: "audit", Response: VerifyResult{}}, h.apiVerify)
}

// List is a page of the log for the API: total is bounded as in Page.
type List struct {
	web.List[Entry]
	TotalCapped bool  `json:"total_capped"`
	Next        int64 `json:"next,omitempty"`
}

// VerifyResult reports a chain check.
type VerifyResult struct {
	Entries  int64  `json:"entries"`
	OK       bool   `json:"ok"`
	BrokenAt int64  `json:"broken_at,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Checkpoint is the newest checkpoint the chain was held against
	// (absent: none yet, so a cut tail cannot be seen).
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
}

func parseFilter(r *http.Request) (Filter, error) {
	q := r.URL.Query()
	f := Filter{Actor: q.Get("actor"), Action: q.Get("action"), Result: q.Get("result"), Object: q.Get("object")}
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return Filter{}, fault.Invalid(fault.M("翻页位置无效，请从第一页重新浏览", "the page position is not valid; start again from the first page"),
				fault.Field("before", fault.M("翻页位置应为正整数", "before is a positive whole number")))
		}
		f.Before = n
	}
	if q.Get("page") != "" {
		return Filter{}, fault.Invalid(fault.M("审计日志按位置翻页：请用上一页返回的 next 作为 before", "the audit log pages by position: pass the previous page's next as before"),
			fault.Field("page", fault.M("审计日志不支持页码，请改用 before", "the audit log takes before, not page")))
	}
	for _, d := range []struct {
		name string
		dst  *time.Time
		add  int
	}{{"from", &f.From, 0}, {"to", &f.To, 1}} {
		if s := q.Get(d.name); s != "" {
			t, err := time.ParseInLocation("2006-01-02", s, time.FixedZone("CST", 8*3600))
			if err != nil {
				return f, fault.Invalid(web.M("日期格式应为 YYYY-MM-DD", "dates must be YYYY-MM-DD"), fault.Field(d.name, web.M("日期格式应为 YYYY-MM-DD", "must be YYYY-MM-DD")))
			}
			*d.dst = t.AddDate(0, 0, d.add)
		}
	}
	return f, nil
}

var onlyAuditor = web.M("只有安全审计员可以查看审计日志", "only the auditor may read the audit log")

func (h *Handlers) api(w http.ResponseWriter, r *http.Request) error {
	if access.From(r.Context()).Role != access.Auditor {
		return fault.Forbidden(onlyAuditor)
	}
	f, err := parseFilter(r)
	if err != nil {
		return err
	}
	pg, err := web.ParsePagination(r)
	if err != nil {
		return err
	}
	p, err := h.Log.Search(r.Context(), f, pg.PageSize)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, List{List: web.NewList(p.Entries, pg, p.Total), TotalCapped: p.Capped, Next: p.Next})
	return nil
}

func (h *Handlers) apiVerify(w http.ResponseWriter, r *http.Request) error {
	if access.From(r.Context()).Role != access.Auditor {
		return fault.Forbidden(onlyAuditor)
	}
	v, err := h.Log.Check(r.Context())
	res := VerifyResult{Entries: v.Entries, OK: err == nil, Checkpoint: v.Checkpoint}
	var b *BrokenError
	if errors.As(err, &b) {
		res.BrokenAt, res.Reason = b.Seq, b.Reason
	} else if err != nil {
		return err
	}
	web.WriteJSON(w, 200, res)
	return nil
}

type pageView struct {
	Entries  []Entry
	Pager    web.Pager
	Q        map[string]string
	Filtered bool // some condition is set: the filter panel opens
	Empty    web.Msg
}

// Tag shows an entry's result in words, colour and shape.
func (pageView) Tag(result string) web.Tag {
	switch result {
	case "ok":
		return web.Tag{Tone: web.ToneOK, Label: web.M("成功", "Succeeded")}
	case "failed":
		return web.Tag{Tone: web.ToneBad, Label: web.M("失败", "Failed")}
	case "denied":
		return web.Tag{Tone: web.ToneWarn, Label: web.M("拒绝", "Denied")}
	}
	return web.Tag{Tone: web.ToneMuted, Label: web.M(result, result)}
}

func (h *Handlers) page(w http.ResponseWriter, r *http.Request) {
	title := web.M("审计日志", "Audit log")
	if access.From(r.Context()).Role != access.Auditor {
		h.Pages.Render(w, r, 403, "audit", web.View{Title: title, Alert: onlyAuditor, Data: pageView{}})
		return
	}
	q := r.URL.Query()
	pv := pageView{Q: map[string]string{"actor": q.Get("actor"), "action": q.Get("action"), "result": q.Get("result"), "object": q.Get("object"), "from": q.Get("from"), "to": q.Get("to")},
		Empty: web.M("没有匹配的审计记录", "No matching entry")}
	for _, v := range pv.Q {
		pv.Filtered = pv.Filtered || v != ""
	}
	f, err := parseFilter(r)
	if err != nil {
		v := web.View{Title: title, Data: pv}
		if e, ok := fault.As(err); ok {
			v.Alert, v.Errors = e.Msg, e.Fields
		}
		h.Pages.Render(w, r, 400, "audit", v)
		return
	}
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.Pages.Fail(w, r, "audit", web.View{Title: title, Data: pv}, err)
		return
	}
	p, err := h.Log.Search(r.Context(), f, pg.PageSize)
	if err != nil {
		h.Pages.Fail(w, r, "audit", web.View{Title: title, Data: pv}, err)
		return
	}
	pv.Entries = p.Entries
	pv.Pager = pagerOf(r, f.Before, p, h.Log.countCap())
	h.Pages.Render(w, r, 200, "audit", web.View{Title: title, Data: pv})
}

// pagerOf links a page of the log to the first page and the next.
func pagerOf(r *http.Request, before int64, p Page, bound int) web.Pager {
	position := func(seq int64) string {
		if seq <= 0 {
			return ""
		}
		return strconv.FormatInt(seq, 10)
	}
	first, next := keyset.LinksBy(r, "before", position(before), position(p.Next))
	return keyset.Pager(first, next, p.Total, p.Capped, bound)
}
