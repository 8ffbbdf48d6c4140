package emergency

import (
	"embed"
	"net/http"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// RegisterPages adds the pages: every one works without JavaScript.
func (h *Handlers) RegisterPages(rt *web.Router) {
	rt.Page("GET /emergency", h.pageList)
	rt.Page("GET /emergency/new", func(w http.ResponseWriter, r *http.Request) { h.pageNew(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/new", h.postNew)
	rt.Page("GET /emergency/alerts/{id}", h.pageAlert)
	rt.Page("POST /emergency/alerts/{id}/cancel", h.postCancel)
	rt.Page("GET /emergency/checks/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageCheck(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/checks/{id}", h.postCheck)
	rt.Page("GET /emergency/mine", func(w http.ResponseWriter, r *http.Request) { h.pageMine(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/mine", h.postMine)
	rt.Page("GET /emergency/helpers", h.pagePairings)
	rt.Page("GET /emergency/helpers/{resident}", func(w http.ResponseWriter, r *http.Request) { h.pagePair(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/helpers/{resident}", h.postPair)
}

func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	if we, ok := fault.As(err); ok {
		h.Pages.Render(w, r, web.Status(we), "message", web.View{Title: web.M("无法完成", "Cannot do that"), Alert: we.Msg})
		return
	}
	web.Logger(r.Context()).Error("emergency page", "err", err.Error())
	h.Pages.Render(w, r, 500, "message", web.View{Title: web.M("出错了", "Error"), Alert: web.M("服务器内部错误，请稍后重试", "internal server error, please try again later")})
}

// ColourTag is the warning's colour as a tag.
func (a Alert) ColourTag() web.Tag {
	tone := map[string]web.Tone{"blue": web.ToneInfo, "yellow": web.ToneWarn, "orange": web.ToneWarn, "red": web.ToneBad}[a.Colour]
	if a.State == StateCancelled {
		return web.Tag{Tone: web.ToneMuted, Label: web.M("已解除", "Cancelled")}
	}
	if a.State == StateExpired {
		return web.Tag{Tone: web.ToneMuted, Label: web.M("已失效", "Expired")}
	}
	if tone == "" {
		tone = web.ToneInfo
	}
	return web.Tag{Tone: tone, Label: a.ColourName()}
}

// StatusTag is a check's status as a tag.
func (c Check) StatusTag() web.Tag {
	tone := map[string]web.Tone{StatusSafe: web.ToneOK, StatusEvacuated: web.ToneOK, StatusNeedsHelp: web.ToneBad, StatusUnreachable: web.ToneWarn}[c.Status]
	if tone == "" {
		tone = web.ToneInfo
	}
	return web.Tag{Tone: tone, Label: statusWords(c.Status)}
}

type listView struct {
	Items    []Alert
	CanIssue bool
}

func (h *Handlers) pageList(w http.ResponseWriter, r *http.Request) {
	p := access.From(r.Context())
	if p.Role == access.Resident {
		http.Redirect(w, r, "/emergency/mine", http.StatusSeeOther)
		return
	}
	as, err := h.Store.List(r.Context(), time.Time{}, 50)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, r, 200, "list", web.View{Title: web.M("应急预警", "Warnings"), Data: listView{Items: as, CanIssue: p.Role == access.Officer}})
}

type option struct {
	Key  string
	Name web.Msg
}

type newView struct {
	Areas      []divisions.Division
	Colours    []option
	Levels     []string
	Categories []string
	Statuses   []string
	Checked    map[string]bool // the divisions chosen
}

func (h *Handlers) pageNew(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	p := access.From(r.Context())
	if p.Role != access.Officer {
		h.fail(w, r, fault.Forbidden(fault.M("只有乡镇（街道）、县级干部可以发布预警", "only township and county officers issue warnings")))
		return
	}
	own, err := h.Store.Divs.Get(r.Context(), p.Division)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	kids, _, err := h.Store.Divs.Children(r.Context(), p.Division, 0, 200)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	nv := newView{Areas: append([]divisions.Division{own}, kids...), Levels: responseLevels, Categories: capCategories, Statuses: []string{"Actual", "Exercise", "Test"}}
	for _, c := range colours {
		nv.Colours = append(nv.Colours, option{c.Key, web.M(c.ZH, c.EN)})
	}
	if v.Form == nil {
		v.Form = map[string][]string{"colour": {"orange"}, "response_level": {"III"}, "category": {"Met"}, "status": {"Actual"}}
	}
	nv.Checked = map[string]bool{}
	for _, c := range v.Form["divisions"] {
		nv.Checked[c] = true
	}
	v.Title, v.Data = web.M("发布预警", "Issue a warning"), nv
	v.Crumbs = []web.Crumb{{Href: "/emergency", Label: web.M("应急预警", "Warnings")}, {Label: v.Title}}
	h.Pages.Render(w, r, status, "new", v)
}

func (h *Handlers) postNew(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	f := r.PostForm
	in := AlertInput{Divisions: f["divisions"], Status: f.Get("status"), Event: f.Get("event"), Category: f.Get("category"), Colour: f.Get("colour"),
		ResponseLevel: f.Get("response_level"), Onset: f.Get("onset"), Expires: f.Get("expires"), Headline: f.Get("headline"),
		Description: f.Get("description"), Instruction: f.Get("instruction"), Polygon: strings.TrimSpace(f.Get("polygon")), Circle: strings.TrimSpace(f.Get("circle"))}
	a, _, err := h.Store.Issue(r.Context(), in)
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageNew(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/alerts/"+a.ID+"?issued=1", http.StatusSeeOther)
}

type alertView struct {
	A         Alert
	B         Board
	HasBoard  bool
	CanCancel bool
	Auto      bool // the reader chose the board's refresh
	Map       SitMap
	Issued    bool
	Clock     string
	// ReviewHref leads to the incident's review, or to writing it.
	ReviewHref  string
	ReviewLabel web.Msg
	OnCall      []TeamSummary // the area's teams with someone on call today
}

func (h *Handlers) pageAlert(w http.ResponseWriter, r *http.Request) {
	id, asCAP := wantsCAP(r, r.PathValue("id"))
	a, err := h.Store.Get(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if asCAP {
		if err := h.writeCAP(w, a); err != nil {
			h.fail(w, r, err)
		}
		return
	}
	p := access.From(r.Context())
	if p.Role == access.Resident {
		http.Redirect(w, r, "/emergency/mine", http.StatusSeeOther)
		return
	}
	v := alertView{A: a, Issued: r.URL.Query().Get("issued") == "1", Auto: refresh(w, r)}
	b, err := h.Store.Board(r.Context(), id, r.URL.Query().Get("division"))
	if err != nil {
		if _, ok := fault.As(err); !ok {
			h.fail(w, r, err)
			return
		}
	} else {
		v.B, v.HasBoard = b, true
		if v.Map, err = h.Store.situationMap(r.Context(), b); err != nil {
			h.fail(w, r, err)
			return
		}
		v.Clock = strconv.Itoa(b.Minutes/60) + ":" + twoDigits(b.Minutes%60)
		v.CanCancel = p.Role == access.Officer && b.Alert.State == StateActive && b.Alert.MsgType != "Cancel" && !b.Alert.expired(h.Store.Now())
		if v.OnCall, err = h.Store.OnCallIn(r.Context(), a.Divisions); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if v.ReviewHref, v.ReviewLabel, err = h.Store.reviewLink(r.Context(), a); err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, r, 200, "alert", web.View{Title: web.M(a.ColourName().ZH+"："+a.Headline, a.ColourName().EN+": "+a.Headline), Data: v,
		Crumbs: []web.Crumb{{Href: "/emergency", Label: web.M("应急预警", "Warnings")}, {Label: web.M(a.Headline, a.Headline)}}})
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func (h *Handlers) postCancel(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	c, err := h.Store.Cancel(r.Context(), r.PathValue("id"), CancelInput{Note: r.PostFormValue("note")})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/alerts/"+c.ID, http.StatusSeeOther)
}

type checkView struct {
	C        Check
	A        Alert
	Shelters []Shelter
	Statuses []option
	Done     bool
	Warning  *fault.Msg
}

func checkID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id
}

func (h *Handlers) pageCheck(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	c, a, err := h.Store.Check(r.Context(), checkID(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	shs, err := h.Store.Shelters(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cv := checkView{C: c, A: a, Shelters: shs, Done: r.URL.Query().Get("done") == "1"}
	if d, ok := v.Data.(*fault.Msg); ok {
		cv.Warning = d
	}
	for _, st := range transitions[c.Status] {
		cv.Statuses = append(cv.Statuses, option{st, statusWords(st)})
	}
	title := web.M("住户报平安", "Household check-in")
	if c.Kind == KindPerson {
		title = web.M("重点人员报平安："+c.Whose, "Vulnerable resident check-in: "+c.Whose)
	}
	v.Title, v.Data = title, cv
	v.Crumbs = []web.Crumb{{Href: "/emergency/alerts/" + a.ID, Label: web.M(a.Headline, a.Headline)}, {Label: title}}
	h.Pages.Render(w, r, status, "check", v)
}

func (h *Handlers) postCheck(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	c, a, err := h.Store.Check(r.Context(), checkID(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	people, _ := strconv.Atoi(r.PostFormValue("people"))
	res, err := h.Store.Checkin(r.Context(), CheckinInput{AlertID: a.ID, CheckID: c.ID, Status: r.PostFormValue("status"), ShelterID: r.PostFormValue("shelter_id"),
		People: people, Note: r.PostFormValue("note")})
	if err != nil {
		if we, ok := fault.As(err); ok {
			h.pageCheck(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	if res.Warning != nil {
		h.pageCheck(w, r, 200, web.View{Data: res.Warning, Notice: web.M("已登记", "Recorded")})
		return
	}
	http.Redirect(w, r, "/emergency/checks/"+itoa64(c.ID)+"?done=1", http.StatusSeeOther)
}

type mineView struct {
	Items  []MyWarning
	Done   bool
	Linked bool
}

func (h *Handlers) pageMine(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	p := access.From(r.Context())
	if p.Role != access.Resident {
		http.Redirect(w, r, "/emergency", http.StatusSeeOther)
		return
	}
	ws, err := h.Store.MyWarnings(r.Context(), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rid, _, err := h.Store.residentOf(r.Context(), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Title, v.Data = web.M("预警与报平安", "Warnings and check-in"), mineView{Items: ws, Done: r.URL.Query().Get("done") == "1", Linked: rid != ""}
	h.Pages.Render(w, r, status, "mine", v)
}

func (h *Handlers) postMine(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	_, err := h.Store.Checkin(r.Context(), CheckinInput{AlertID: r.PostFormValue("alert_id"), Status: r.PostFormValue("status"), Note: r.PostFormValue("note")})
	if err != nil {
		if we, ok := fault.As(err); ok {
			h.pageMine(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/mine?done=1", http.StatusSeeOther)
}
