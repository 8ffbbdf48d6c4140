package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/fault"
)

//go:embed templates/*.html
var kitTemplates embed.FS

//go:embed static
var staticFS embed.FS

//go:embed pages/*.html
var kitPages embed.FS

// NavItem is one entry of the navigation. Every item the role may use is
// listed on the menu page (/menu) under its group; the header shows only
// the primary ones, a few at most, so that a phone's first screen shows
// the page and not the menu.
type NavItem struct {
	Href  string
	Label Msg
	Roles []access.Role // empty: every signed-in user
	// Group is the heading the item is listed under on the menu page
	// (NavMain when empty).
	Group Msg
	// Primary > 0 puts the item in the header, in this order (smallest
	// first), as long as the role's cap allows (see headerCap).
	Primary int
}

// The menu page's usual groups, in the order they come on the page when
// present. A module may name a group of its own; it comes after these.
var (
	NavMain     = Msg{ZH: "常用", EN: "Main"}
	NavRecords  = Msg{ZH: "登记库", EN: "Registry"}
	NavAnalysis = Msg{ZH: "统计与分析", EN: "Statistics and analysis"}
	NavAdmin    = Msg{ZH: "系统管理", EN: "Administration"}
	NavAccount  = Msg{ZH: "账号安全", EN: "Account and security"}
)

// NavGroup is one heading of the menu page with its items.
type NavGroup struct {
	Label Msg
	Items []NavItem
}

// headerCap is how many primary items the header shows: four for staff,
// three for a resident, one fewer in 长辈模式 (bigger words, fewer of
// them); the link to the menu page comes after them.
func headerCap(p *access.Principal, elder bool) int {
	n := 4
	if p != nil && p.Role == access.Resident {
		n = 3
	}
	if elder {
		n--
	}
	return n
}

// navFor splits the items the principal may use into the header's
// primary ones and the menu page's groups.
func navFor(items []NavItem, p *access.Principal, elder bool) (top []NavItem, groups []NavGroup) {
	order := []Msg{NavMain, NavRecords, NavAnalysis, NavAdmin, NavAccount}
	for _, n := range items {
		if !n.allowed(p) {
			continue
		}
		if n.Group.ZH == "" {
			n.Group = NavMain
		}
		if n.Primary > 0 {
			top = append(top, n)
		}
		found := false
		for _, g := range order {
			if g == n.Group {
				found = true
			}
		}
		if !found {
			order = append(order, n.Group)
		}
		i := 0
		for i < len(groups) && groups[i].Label != n.Group {
			i++
		}
		if i == len(groups) {
			groups = append(groups, NavGroup{Label: n.Group})
		}
		groups[i].Items = append(groups[i].Items, n)
	}
	sort.SliceStable(top, func(i, j int) bool { return top[i].Primary < top[j].Primary })
	if c := headerCap(p, elder); len(top) > c {
		top = top[:c]
	}
	rank := func(m Msg) int {
		for i, g := range order {
			if g == m {
				return i
			}
		}
		return len(order)
	}
	sort.SliceStable(groups, func(i, j int) bool { return rank(groups[i].Label) < rank(groups[j].Label) })
	return top, groups
}

func (n NavItem) allowed(p *access.Principal) bool {
	if p == nil {
		return false
	}
	if len(n.Roles) == 0 {
		return true
	}
	for _, r := range n.Roles {
		if r == p.Role {
			return true
		}
	}
	return false
}

// Renderer renders pages inside the shared layout in Chinese or English.
type Renderer struct {
	Nav     []NavItem
	Demo    bool // the data is synthetic: every page says so
	Version string
	// Unread, when set, counts the signed-in user's unread notices for
	// the header (called once per page).
	Unread func(*http.Request) int
	assets map[string]string // logical name → hashed URL
	files  map[string][]byte // hashed file name → content
	kit    *Pages            // the kit's own pages (the message page)
}

// NewRenderer prepares the embedded assets with content-hashed names.
func NewRenderer() *Renderer {
	rd := &Renderer{assets: map[string]string{}, files: map[string][]byte{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := path.Base(p)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		rd.assets[name] = "/static/" + hashed
		rd.files[hashed] = b
		return nil
	})
	if err != nil {
		// The assets are compiled in: unreadable ones are a broken build.
		panic("web: embedded assets: " + err.Error())
	}
	rd.kit = rd.Parse(kitPages, "pages/*.html")
	return rd
}

// Refuse answers a page request with err on the kit's message page: a
// refusal with its status, message and the fields at fault; anything else
// as a 500 that reveals nothing.
func (rd *Renderer) Refuse(w http.ResponseWriter, r *http.Request, err error) {
	title := M("无法处理此请求", "This request cannot be processed")
	if e, ok := fault.As(err); ok {
		switch Status(e) {
		case http.StatusNotFound:
			title = M("找不到这个页面", "Page not found")
		case http.StatusMethodNotAllowed:
			title = M("不能这样打开此页面", "This page cannot be used this way")
		case http.StatusForbidden:
			title = M("无权访问", "Not allowed")
		case http.StatusRequestEntityTooLarge:
			title = M("提交的内容太大", "What you sent is too large")
		}
	} else {
		title = M("出错了", "Something went wrong")
	}
	rd.kit.Fail(w, r, "message", View{Title: title}, err)
}

// Menu serves the menu page: every item of the navigation the user may
// use, under its group, and signing out.
func (rd *Renderer) Menu(w http.ResponseWriter, r *http.Request) {
	rd.kit.Render(w, r, http.StatusOK, "menu", View{Title: M("全部功能", "All services")})
}

// ServeStatic serves hashed assets; their names change with their content,
// so they may be cached for a year.
func (rd *Renderer) ServeStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, ok := rd.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(b)
}

// Asset returns the hashed URL of a static file.
func (rd *Renderer) Asset(name string) string { return rd.assets[name] }

// Pages is a feature's set of page templates, each parsed once per language.
type Pages struct {
	rd   *Renderer
	sets map[string][2]*template.Template // page name → [zh, en]
}

// Parse reads a feature's page templates (one page per file; the file
// defines "content" and may define "title"-free partials of its own).
func (rd *Renderer) Parse(fsys fs.FS, glob string) *Pages {
	names, err := fs.Glob(fsys, glob)
	if err != nil || len(names) == 0 {
		panic(fmt.Sprintf("web: no templates match %s", glob))
	}
	ps := &Pages{rd: rd, sets: map[string][2]*template.Template{}}
	for _, n := range names {
		var pair [2]*template.Template
		for i, lang := range []string{"zh", "en"} {
			t := template.New("layout.html").Funcs(rd.funcs(lang))
			t = template.Must(t.ParseFS(kitTemplates, "templates/*.html"))
			t = template.Must(t.ParseFS(fsys, n))
			pair[i] = t
		}
		ps.sets[strings.TrimSuffix(path.Base(n), ".html")] = pair
	}
	return ps
}

func (rd *Renderer) funcs(lang string) template.FuncMap {
	return template.FuncMap{
		"tr": func(zh, en string) string {
			if lang == "en" {
				return en
			}
			return zh
		},
		"msg":   func(m Msg) string { return m.In(lang) },
		"asset": rd.Asset,
		"role": func(r access.Role) string {
			zh, en := r.Label()
			if lang == "en" {
				return en
			}
			return zh
		},
		"add":   func(a, b int) int { return a + b },
		"sub":   func(a, b float64) float64 { return a - b },
		"mul":   func(a, b float64) float64 { return a * b },
		"clamp": func(v, lo, hi float64) float64 { return min(max(v, lo), hi) },
		"deref": func(p *float64) float64 {
			if p == nil {
				return 0
			}
			return *p
		},
		"num":      func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) },
		"n":        Group,
		"date":     func(v any) string { return FormatDate(v, lang) },
		"datetime": func(v any) string { return FormatDateTime(v, lang) },
	}
}

// View is what a handler passes to a page.
type View struct {
	Title  Msg
	Data   any
	Notice Msg          // a success message
	Alert  Msg          // an error message
	Errors []FieldError // field-level errors of a form
	Form   url.Values   // submitted values to refill a form
	Crumbs []Crumb      // the breadcrumb above the title, from the top down
}

// Crumb is one step of a breadcrumb; the last one (the page itself) has no link.
type Crumb struct {
	Href  string
	Label Msg
}

// page is the template's root value.
type page struct {
	View
	User  *access.Principal
	Lang  string
	Elder bool
	Nav   []NavItem  // the header's primary items
	Menu  []NavGroup // every item the user may use, grouped
	Demo  bool
	Path  string
	Query string
	// Unread is the signed-in user's count of unread notices.
	Unread int
}

// FieldErr returns the message for one field of a submitted form.
func (p page) FieldErr(field string) string {
	for _, e := range p.Errors {
		if e.Field == field {
			if p.Lang == "en" {
				return e.MessageEN
			}
			return e.Message
		}
	}
	return ""
}

// Current reports whether the navigation link href leads to this page or a
// page below it (the home link "/" only to itself).
func (p page) Current(href string) bool {
	if href == "/" {
		return p.Path == "/"
	}
	return p.Path == href || strings.HasPrefix(p.Path, strings.TrimSuffix(href, "/")+"/")
}

// Value returns a submitted form value.
func (p page) Value(field string) string { return p.Form.Get(field) }

// Lang is the request's language: English when chosen, Chinese otherwise.
func Lang(r *http.Request) string {
	if c, err := r.Cookie("lang"); err == nil && c.Value == "en" {
		return "en"
	}
	return "zh"
}

// Elder tells whether the request asks for 长辈模式 (the elder cookie).
func Elder(r *http.Request) bool {
	c, err := r.Cookie(ElderCookie)
	return err == nil && c.Value == "1"
}

// ElderCookie holds the browser's 长辈模式 choice ("1" on, "0" off).
const ElderCookie = "elder"

// Render writes the named page with status.
func (ps *Pages) Render(w http.ResponseWriter, r *http.Request, status int, name string, v View) {
	pair, ok := ps.sets[name]
	if !ok {
		panic("web: no page " + name)
	}
	lang := Lang(r)
	t := pair[0]
	if lang == "en" {
		t = pair[1]
	}
	u := access.From(r.Context())
	elder := Elder(r)
	nav, menu := navFor(ps.rd.Nav, u, elder)
	unread := 0
	if u != nil && ps.rd.Unread != nil {
		unread = ps.rd.Unread(r)
	}
	var buf bytes.Buffer
	err := t.ExecuteTemplate(&buf, "layout.html", page{View: v, User: u, Lang: lang, Elder: elder, Nav: nav, Menu: menu, Demo: ps.rd.Demo, Path: r.URL.Path, Query: r.URL.RawQuery, Unread: unread})
	if err != nil {
		Logger(r.Context()).Error("render", "page", name, "err", err.Error())
		InternalError(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", map[string]string{"zh": "zh-CN", "en": "en"}[lang])
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Fail renders the named page with err as its alert: a refusal
// (*fault.Error) with its status, message and fields; anything else is
// logged and shown as a 500 that reveals nothing.
func (ps *Pages) Fail(w http.ResponseWriter, r *http.Request, name string, v View, err error) {
	e, ok := fault.As(err)
	if !ok {
		Logger(r.Context()).Error("page", "page", name, "err", err.Error())
		e = fault.New("internal", M("服务器内部错误，请稍后重试", "internal server error, please try again later"))
	}
	v.Alert, v.Errors = e.Msg, append(v.Errors, e.Fields...)
	ps.Render(w, r, Status(e), name, v)
}

// Logger returns the logger for a request's context.
func Logger(ctxAny interface{ Value(any) any }) *slog.Logger {
	if l, ok := ctxAny.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

type loggerKey struct{}

// Pager describes the links of a paginated list page.
type Pager struct {
	Page, Pages, Total int
	Prev, Next         string
	First              string // a keyset list's link back to its first page
	TotalText          string // a bounded total ("1,000+") shown instead of Total
}

// NewPager builds prev/next links that keep the request's other parameters.
func NewPager(r *http.Request, p Pagination, total int) Pager {
	pages := (total + p.PageSize - 1) / p.PageSize
	pg := Pager{Page: p.Page, Pages: pages, Total: total}
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return r.URL.Path + "?" + q.Encode()
	}
	if p.Page > 1 {
		pg.Prev = link(p.Page - 1)
	}
	if p.Page < pages {
		pg.Next = link(p.Page + 1)
	}
	return pg
}

// SafeNext returns next when it is a clean path on this site, else
// fallback: redirects never leave the site. Clean means printable ASCII
// (browsers drop tabs and newlines, and read a backslash as a slash, so
// "/\t/evil.example" would leave), starting with one slash.
func SafeNext(next, fallback string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return fallback
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return fallback
		}
	}
	return next
}
