package deliberation

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

func (h *handlers) registerNoticePages(rt *web.Router) {
	rt.Public("GET /notices/{community}", h.pageNotices)
	rt.Public("GET /notices/{community}/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageNotice(w, r, 200, web.View{}) })
	rt.Page("POST /notices/{community}/{id}/ack", h.postAck)
	rt.Page("GET /deliberation/notices/new", func(w http.ResponseWriter, r *http.Request) { h.pageNewNotice(w, r, 200, web.View{}) })
	rt.Page("POST /deliberation/notices/new", h.postNotice)
}

// formLines is how many statement lines the form offers without JavaScript.
const formLines = 8

type noticesView struct {
	Community string
	Archive   bool
	Worker    bool
	Notices   []Notice
	Pager     web.Pager
	Files     map[string][]File
}

func community12(c string) bool { return len(c) == 12 && strings.Trim(c, "0123456789") == "" }

// pageNotices is a community's 村(居)务公开 board, open to anyone.
func (h *handlers) pageNotices(w http.ResponseWriter, r *http.Request) {
	c := r.PathValue("community")
	if !community12(c) {
		h.fail(w, r, errNotFound)
		return
	}
	dv, err := h.store.Divs.Get(r.Context(), c)
	if err != nil {
		h.fail(w, r, errNotFound)
		return
	}
	archive := r.URL.Query().Get("archive") == "1"
	cursor := r.URL.Query().Get("cursor")
	pg, err := h.store.Board(r.Context(), c, archive, cursor, 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	first, next := keyset.Links(r, cursor, pg.Next)
	p := access.From(r.Context())
	v := noticesView{Community: c, Archive: archive, Worker: worker(p) && access.BusinessScope(p).Contains(c), Notices: pg.Items, Pager: web.Pager{First: first, Next: next}}
	if v.Files, err = h.store.noticeFiles(r.Context(), noticeIDs(pg.Items)); err != nil {
		h.fail(w, r, err)
		return
	}
	title := fault.M(dv.Name+"村（居）务公开", dv.Name+" notice board")
	if archive {
		title = fault.M(dv.Name+"村（居）务公开：往期", dv.Name+" notice board: archive")
	}
	h.pages.Render(w, r, 200, "notices", web.View{Title: title, Data: v})
}

type noticeView struct {
	Notice   Notice
	CanAck   bool
	Resident bool
	Att      attachments
}

// pageNotice is one notice, laid out to print on A4 for the physical board.
func (h *handlers) pageNotice(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	n, err := h.store.Notice(r.Context(), r.PathValue("id"))
	if err == nil && n.Division != r.PathValue("community") {
		err = errNotFound
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := access.From(r.Context())
	nv := noticeView{Notice: n}
	if nv.Att, err = h.attachments(r, FileNotice, n.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	if p != nil && p.Role == access.Resident && n.AckRequired && !n.Acked {
		if _, div, err := h.store.household(r.Context(), p); err == nil && div == n.Division && (n.Until == "" || n.Until >= h.store.today()) {
			nv.CanAck = true
		}
	}
	if r.URL.Query().Get("acked") == "1" {
		v.Notice = web.M("已确认阅读。", "Acknowledged.")
	}
	v.Title, v.Data = fault.M(n.Title, n.Title), nv
	v.Crumbs = []web.Crumb{{Href: "/notices/" + n.Division, Label: web.M("村（居）务公开", "Notice board")}, {Label: CategoryName(n.Category)}}
	h.pages.Render(w, r, status, "notice", v)
}

func (h *handlers) postAck(w http.ResponseWriter, r *http.Request) {
	if _, err := h.store.Acknowledge(r.Context(), r.PathValue("id")); err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageNotice(w, r, st, v) })
		return
	}
	http.Redirect(w, r, "/notices/"+r.PathValue("community")+"/"+r.PathValue("id")+"?acked=1", http.StatusSeeOther)
}

type categoryOption struct {
	Key   string
	Label fault.Msg
}

type newNoticeView struct {
	Division   string
	Categories []categoryOption
	Rows       []int
	Today      string
	Files      fileInput
}

func (h *handlers) pageNewNotice(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	p := access.From(r.Context())
	div := h.division(r)
	if r.Method == http.MethodPost {
		div = r.FormValue("division_code")
	}
	if !worker(p) || !community12(div) || !access.BusinessScope(p).Contains(div) {
		h.fail(w, r, fault.Forbidden(fault.M("请从本辖区的村（社区）发布公开事项", "publish from a community in your jurisdiction")))
		return
	}
	nv := newNoticeView{Division: div, Today: h.store.today(), Files: newFileInput(FileNotice)}
	for _, c := range NoticeCategories {
		nv.Categories = append(nv.Categories, categoryOption{c, CategoryName(c)})
	}
	for i := range formLines {
		nv.Rows = append(nv.Rows, i)
	}
	v.Title, v.Data = web.M("发布公开事项", "Publish a notice"), nv
	v.Crumbs = []web.Crumb{{Href: "/notices/" + div, Label: web.M("村（居）务公开", "Notice board")}, {Label: web.M("发布", "Publish")}}
	h.pages.Render(w, r, status, "notice_new", v)
}

// yuanToFen reads an amount in yuan (up to two decimals) as fen.
func yuanToFen(s string) (int64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 || f > 1e10 {
		return 0, false
	}
	fen := math.Round(f * 100)
	if math.Abs(f*100-fen) > 1e-6 {
		return 0, false
	}
	return int64(fen), true
}

func (h *handlers) postNotice(w http.ResponseWriter, r *http.Request) {
	files, err := h.formFiles(w, r, FileNotice, "")
	if err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageNewNotice(w, r, st, v) })
		return
	}
	in := NoticeInput{Division: r.FormValue("division_code"), Category: r.FormValue("category"), Title: r.FormValue("title"), Body: r.FormValue("body"),
		From: r.FormValue("publish_from"), Until: r.FormValue("publish_until"), AckRequired: r.FormValue("ack_required") == "yes", Period: r.FormValue("period")}
	var bad []fault.FieldError
	if in.Category == "finance" {
		for i := range formLines {
			item, amount := strings.TrimSpace(r.FormValue(fmt.Sprintf("item_%d", i))), r.FormValue(fmt.Sprintf("amount_%d", i))
			if item == "" && strings.TrimSpace(amount) == "" {
				continue
			}
			fen, ok := yuanToFen(amount)
			if !ok {
				bad = append(bad, fault.Field(fmt.Sprintf("amount_%d", i), fault.M("金额为大于 0 的元数，最多两位小数", "the amount is yuan above 0, at most two decimals")))
			}
			in.Lines = append(in.Lines, AmountRow{Kind: r.FormValue(fmt.Sprintf("kind_%d", i)), Item: item, Amount: fen})
		}
		total, ok := yuanToFen(strings.TrimPrefix(strings.TrimSpace(r.FormValue("total")), "-"))
		if strings.HasPrefix(strings.TrimSpace(r.FormValue("total")), "-") {
			total = -total
		}
		if !ok && strings.TrimSpace(r.FormValue("total")) != "0" {
			bad = append(bad, fault.Field("total", fault.M("请填写结余（元，收入减支出）", "give the balance in yuan (income less expense)")))
		}
		in.Total = total
	}
	if len(bad) > 0 {
		err = invalid(bad...)
	} else {
		var n Notice
		if n, err = h.store.Publish(r.Context(), in); err == nil {
			if err := h.attachNew(r, FileNotice, n.ID, 0, files); err != nil {
				h.fail(w, r, err)
				return
			}
			http.Redirect(w, r, "/notices/"+n.Division+"/"+n.ID, http.StatusSeeOther)
			return
		}
	}
	h.again(w, r, err, func(st int, v web.View) { h.pageNewNotice(w, r, st, v) })
}
