package requests

import (
	"context"
	"embed"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// RegisterPages adds the resident and worker pages.
func (h *Handlers) RegisterPages(rt *web.Router) {
	rt.Page("GET /requests", h.pageList)
	rt.Page("GET /requests/new", func(w http.ResponseWriter, r *http.Request) { h.pageNew(w, r, 200, web.View{}) })
	rt.Page("POST /requests/new", h.postNew)
	rt.Page("POST /requests/bulk-accept", h.postBulkAccept)
	rt.Page("GET /requests/metrics", h.pageMetrics)
	rt.Page("GET /requests/metrics.xlsx", h.getMetricsXLSX)
	h.registerCataloguePages(rt)
	rt.Page("GET /requests/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageDetail(w, r, 200, web.View{}) })
	rt.Page("POST /requests/{id}/{action}", h.postAction)
	rt.Page("GET /requests/{id}/photos/{pid}", h.getPhoto)
	rt.Page("GET /requests/{id}/photos/{pid}/thumb", h.getThumb)
}

func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	if we, ok := fault.As(err); ok {
		h.Pages.Render(w, r, web.Status(we), "message", web.View{Title: web.M("无法完成", "Cannot do that"), Alert: we.Msg})
		return
	}
	web.Logger(r.Context()).Error("requests page", "err", err.Error())
	h.Pages.Render(w, r, 500, "message", web.View{Title: web.M("出错了", "Error"), Alert: web.M("服务器内部错误，请稍后重试", "internal server error, please try again later")})
}

// Row is a request as a list shows it.
type Row struct {
	Request
	CatName  web.Msg
	Overdue  bool
	DueSoon  bool
	StatusZH web.Msg
	Place    string // the address given, else the community's name
	Summary  string // the first line of the text, shortened
}

// StatusTag is the request's status in the tone of its stage: done green,
// closed without a result grey, open blue.
func (r Row) StatusTag() web.Tag {
	tone := web.ToneInfo
	switch r.Status {
	case Answered, Evaluated:
		tone = web.ToneOK
	case Closed, Rejected, Merged:
		tone = web.ToneMuted
	}
	return web.Tag{Tone: tone, Label: r.StatusZH}
}

// DueTag warns of the deadline: 超时 red, 即将超时 amber (zero when neither).
func (r Row) DueTag() web.Tag {
	switch {
	case r.Overdue:
		return web.Tag{Tone: web.ToneBad, Label: web.M("超时", "Overdue")}
	case r.DueSoon:
		return web.Tag{Tone: web.ToneWarn, Label: web.M("即将超时", "Due soon")}
	}
	return web.Tag{}
}

// summary shortens a request's text to one line of at most n characters.
func summary(text string, n int) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	line = strings.TrimSpace(line)
	if rs := []rune(line); len(rs) > n {
		return string(rs[:n-1]) + "…"
	}
	return line
}

type listView struct {
	F        Filter
	Worker   bool
	Items    []Row
	Pager    web.Pager
	Cats     []Category
	Boxes    []box
	Notices  []Notice
	Statuses []Status
	Empty    web.Msg
}

type box struct {
	Key   string
	Label web.Msg
}

var boxes = []box{{"", web.M("全部", "All")}, {"new", web.M("新件", "New")}, {"due", web.M("即将超时", "Due soon")}, {"overdue", web.M("已超时", "Overdue")},
	{"returned", web.M("退回", "Returned")}, {"reopened", web.M("重办", "Reopened")}, {"open", web.M("在办", "Open")}, {"done", web.M("已办结", "Done")}}

func (h *Handlers) catNames(r *http.Request) ([]Category, map[string]web.Msg, error) {
	cs, err := h.Store.Categories(r.Context())
	m := map[string]web.Msg{}
	for _, c := range cs {
		m[c.Code] = web.M(c.NameZH, c.NameEN)
	}
	return cs, m, err
}

func (h *Handlers) rows(ctx context.Context, items []Request, names map[string]web.Msg) []Row {
	now := h.Store.Now()
	// A county's page holds as many communities as rows: their names are
	// read in one statement, not one each.
	var codes []string
	for _, x := range items {
		if x.Address == "" && !slices.Contains(codes, x.Division) {
			codes = append(codes, x.Division)
		}
	}
	places, err := h.Store.Divs.GetMany(ctx, codes)
	if err != nil {
		web.Logger(ctx).Warn("requests: places", "err", err.Error()) // rows without a place still show
	}
	var out []Row
	for _, x := range items {
		row := Row{Request: x, CatName: names[x.Category], Overdue: x.Overdue(now), StatusZH: x.Status.Label(), Place: x.Address, Summary: summary(x.Description, 40)}
		row.DueSoon = !row.Overdue && x.Status.Open() && x.ResolveMet == nil && x.ResolveDue.Sub(now) < h.Store.warnBefore()
		if row.Place == "" {
			row.Place = places[x.Division].Name
		}
		out = append(out, row)
	}
	return out
}

func (h *Handlers) pageList(w http.ResponseWriter, r *http.Request) {
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := access.From(r.Context())
	f := filterFrom(r)
	if f.Within != "" && !access.ScopeOf(r.Context()).Contains(f.Within) {
		f.Within = ""
	}
	if pg.Page > 1 {
		h.fail(w, r, keyset.ErrPageNumber)
		return
	}
	cursor := r.URL.Query().Get("cursor")
	l, err := h.Store.List(r.Context(), f, cursor, pg.PageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cats, names, err := h.catNames(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := listView{F: f, Worker: isHandler(p), Items: h.rows(r.Context(), l.Items, names), Pager: pager(r, cursor, l), Cats: cats, Boxes: boxes, Statuses: Statuses}
	title := web.M("我的诉求", "My requests")
	if v.Worker {
		title = web.M("诉求收件箱", "Request inbox")
		if v.Notices, err = h.Store.Notices(r.Context(), p.Division, 8); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if v.F.Q != "" || v.F.Category != "" || v.F.Box != "" {
		v.Empty = web.M("没有符合条件的诉求", "No requests match")
	} else if v.Worker {
		v.Empty = web.M("暂无诉求", "No requests yet")
	} else {
		v.Empty = web.M("您还没有反映过问题", "You have not submitted anything yet")
	}
	view := web.View{Title: title, Data: v}
	if n := r.URL.Query().Get("done"); n != "" {
		view.Notice = web.M("已批量受理 "+n+" 件", "Accepted "+n+" requests")
	}
	h.Pages.Render(w, r, 200, "list", view)
}

// communities are the villages and communities a request may be filed
// in: the caller's own, or those within their division.
func (h *Handlers) communities(ctx context.Context, division string) ([]divisions.Division, error) {
	if divisions.LevelOf(division) == 5 {
		d, err := h.Store.Divs.Get(ctx, division)
		if errors.Is(err, db.ErrNotFound) {
			return nil, nil
		}
		return []divisions.Division{d}, err
	}
	all, _, err := h.Store.Divs.Search(ctx, "", division, 0, 2000)
	var only []divisions.Division
	for _, d := range all {
		if d.Level == 5 {
			only = append(only, d)
		}
	}
	return only, err
}

func (h *Handlers) postNew(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxPhoto+(1<<20))
	var photo *Photo
	var err error
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		if err2 := r.ParseForm(); err2 != nil || strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
			h.pageNew(w, r, 400, web.View{Alert: web.M("照片过大（不能超过 5 MB）或表单无效", "the photo is too large (5 MB at most) or the form is invalid"), Form: r.Form})
			return
		}
	} else if err := web.CheckValues(r.MultipartForm.Value); err != nil {
		h.fail(w, r, err)
		return
	} else if photo, err = formPhoto(r); err != nil {
		h.fail(w, r, err)
		return
	}
	in := NewRequest{Category: r.FormValue("category"), Description: r.FormValue("description"), Division: r.FormValue("division_code"), Address: r.FormValue("address"),
		Channel: r.FormValue("channel"), Name: r.FormValue("name"), Phone: r.FormValue("phone"), Photo: photo, Ref: r.FormValue("ref")}
	if lo, la := strings.TrimSpace(r.FormValue("lon")), strings.TrimSpace(r.FormValue("lat")); lo != "" || la != "" {
		x, e1 := strconv.ParseFloat(lo, 64)
		y, e2 := strconv.ParseFloat(la, 64)
		if e1 != nil || e2 != nil {
			h.pageNew(w, r, 400, web.View{Alert: web.M("经纬度须为数字", "longitude and latitude must be numbers"), Errors: []fault.FieldError{fault.Field("lat", web.M("经纬度须为数字", "must be numbers"))}, Form: r.Form})
			return
		}
		in.Lon, in.Lat = &x, &y
	}
	if in.Category != "" {
		c, err := h.Store.Category(r.Context(), in.Category)
		if err != nil && !fault.Is(err, fault.CodeNotFound) { // an unknown category is refused by Create
			h.fail(w, r, err)
			return
		}
		in.MultiAttrs = map[string][]string{}
		for _, a := range c.Attributes {
			if vs := r.Form[attrField(a)]; len(vs) > 0 {
				in.MultiAttrs[a.Code] = vs
			}
		}
	}
	req, err := h.Store.Create(r.Context(), in)
	if err != nil {
		var we *fault.Error
		if errors.As(err, &we) {
			h.pageNew(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.Form})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/requests/"+req.ID+"?created=1", http.StatusSeeOther)
}

// formPhoto reads the optional photo of a parsed multipart form (nil when
// none was chosen).
func formPhoto(r *http.Request) (*Photo, error) {
	f, _, err := r.FormFile("photo")
	if errors.Is(err, http.ErrMissingFile) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxPhoto+1))
	if err != nil || len(b) == 0 {
		return nil, err
	}
	return &Photo{Data: b}, nil
}

func (h *Handlers) postAction(w http.ResponseWriter, r *http.Request) {
	a := Action(r.PathValue("action"))
	switch a { // not moves of the lifecycle
	case "reveal":
		h.postReveal(w, r)
		return
	case "clear":
		h.postClear(w, r)
		return
	}
	if _, ok := Rules[a]; !ok {
		h.fail(w, r, fault.NotFound(web.M("没有这个操作", "no such action")))
		return
	}
	version, err1 := formInt(r, "version")
	tpl, err2 := formInt(r, "template")
	for _, bad := range []struct {
		field string
		err   error
	}{{"version", err1}, {"template", err2}} {
		if bad.err != nil {
			h.fail(w, r, fault.Invalid(web.M("表单字段 "+bad.field+" 须为整数", "the form field "+bad.field+" must be a whole number"), fault.Field(bad.field, web.M("须为整数", "must be a whole number"))))
			return
		}
	}
	in := Input{Version: version, Note: r.FormValue("note"), Unit: r.FormValue("unit_code"), Department: r.FormValue("department"), Assignee: r.FormValue("assignee"),
		Reply: r.FormValue("reply"), Reason: r.FormValue("reason"), Rating: r.FormValue("rating"), Comment: r.FormValue("comment"), Into: r.FormValue("into"), Template: tpl}
	req, err := h.Store.Transition(r.Context(), r.PathValue("id"), a, in)
	if err != nil {
		var we *fault.Error
		if errors.As(err, &we) {
			h.pageDetail(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.Form})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/requests/"+req.ID+"?did="+string(a), http.StatusSeeOther)
}

// postReveal shows the originals of a request's texts to a worker who
// gives a reason (audited).
func (h *Handlers) postReveal(w http.ResponseWriter, r *http.Request) {
	req, err := h.Store.Original(r.Context(), r.PathValue("id"), r.FormValue("reason"))
	if err != nil {
		var we *fault.Error
		if errors.As(err, &we) && we.Code != fault.CodeNotFound {
			h.pageDetail(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.Form})
			return
		}
		h.fail(w, r, err)
		return
	}
	h.renderDetail(w, r, 200, web.View{Notice: web.M("已显示原文，本次查看已记入审计日志", "Original texts shown; this view is in the audit log")}, req)
}

// postClear clears a masked description for publication on Open311.
func (h *Handlers) postClear(w http.ResponseWriter, r *http.Request) {
	version, err := formInt(r, "version")
	if err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	req, err := h.Store.Clear(r.Context(), r.PathValue("id"), version)
	if err != nil {
		var we *fault.Error
		if errors.As(err, &we) && we.Code != fault.CodeNotFound {
			h.pageDetail(w, r, web.Status(we), web.View{Alert: we.Msg})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/requests/"+req.ID+"?did=clear", http.StatusSeeOther)
}

// formInt reads an optional whole number of the form (0 when empty).
func formInt(r *http.Request, key string) (int, error) {
	v := strings.TrimSpace(r.FormValue(key))
	if v == "" {
		return 0, nil
	}
	return strconv.Atoi(v)
}

func (h *Handlers) postBulkAccept(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	ids := r.PostForm["id"]
	if len(ids) > 200 {
		ids = ids[:200]
	}
	n := 0
	var firstErr error
	for _, id := range ids {
		if _, err := h.Store.Transition(r.Context(), id, "accept", Input{}); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		n++
	}
	if n == 0 && firstErr != nil {
		h.fail(w, r, firstErr)
		return
	}
	http.Redirect(w, r, "/requests?box=new&done="+strconv.Itoa(n), http.StatusSeeOther)
}

func (h *Handlers) getPhoto(w http.ResponseWriter, r *http.Request) {
	p, err := h.Store.Photo(r.Context(), r.PathValue("id"), r.PathValue("pid"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", p.ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Write(p.Data)
}

// ResponseDueText is the response deadline in China time.
func (r Request) ResponseDueText() string { return r.ResponseDue.In(CST).Format("2006-01-02 15:04") }

// ResolveDueText is the resolution deadline in China time.
func (r Request) ResolveDueText() string { return r.ResolveDue.In(CST).Format("2006-01-02 15:04") }

// When is the event time in China time.
func (e Event) When() string { return e.At.In(CST).Format("2006-01-02 15:04") }

// When is the notice time in China time.
func (n Notice) When() string { return n.CreatedAt.In(CST).Format("01-02 15:04") }

// Label is the bilingual name of the event's action.
func (e Event) Label() web.Msg {
	switch e.Action {
	case "submit":
		return web.M("提交", "Submitted")
	case "warn":
		return web.M("临期提醒", "Deadline warning")
	case "escalate":
		return web.M("超时督办", "Overdue, escalated")
	case "autoclose":
		return web.M("自动办结（未评价）", "Closed without evaluation")
	case "clear":
		return web.M("核准公开", "Cleared for publication")
	}
	if ru, ok := Rules[Action(e.Action)]; ok {
		return ru.label
	}
	return web.M(e.Action, e.Action)
}
