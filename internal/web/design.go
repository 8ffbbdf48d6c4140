package web

import (
	"net/http"
	"time"
)

// designView is the data of the design page: live examples of every kit
// component and the template snippet that makes each.
type designView struct {
	Tags     []Tag
	Numbered Pager
	Keyset   Pager
	Empty    Msg
	Count    int
	Ratio    float64
	Day      time.Time
	Snippets map[string]string
}

// designSnippets are the template lines a page writes for each component.
var designSnippets = map[string]string{
	"header": `web.View{Title: web.M("某户", "This household"),
  Crumbs: []web.Crumb{{Href: "/registry", Label: web.M("登记库", "Registry")},
    {Label: web.M("某户", "This household")}}}`,
	"nav": `web.NavItem{Href: "/requests", Label: web.M("民呼我为", "Requests"),
  Group: web.NavMain, Primary: 2, Roles: []access.Role{access.Resident}}`,
	"table": `<table class="rtable"><thead><tr><th scope="col">{{tr "编号" "No."}}</th>…</tr></thead>
<tbody><tr><td data-label="{{tr "编号" "No."}}">…</td>…</tr></tbody></table>`,
	"cards":    `<ul class="cardlist"><li><a class="title" href="…">…</a><div class="meta">…</div></li></ul>`,
	"summary":  `<dl class="summary"><div><dt>{{tr "姓名" "Name"}}</dt><dd>…</dd></div></dl>`,
	"tag":      `{{template "tag" .Tag}}   // web.Tag{Tone: web.ToneBad, Label: web.M("超时", "Overdue")}`,
	"actions":  `<div class="actions"><button type="submit">…</button> <a class="button secondary" href="…">…</a> <a class="button danger" href="…/delete">…</a></div>`,
	"confirm":  `GET …/delete → a page that says what goes, with <form method="post"><button class="danger">…</button></form> and a way back`,
	"question": `<form class="stack question" method="post"><fieldset><legend>…</legend><label class="check"><input type="radio" …> …</label></fieldset><div class="actions"><button>…</button></div></form>`,
	"errors":   `{{if .Errors}}{{template "error-summary" .}}{{end}} … <input id="f-NAME" name="NAME" required>{{template "ferr" (.FieldErr "NAME")}}`,
	"pager":    `{{template "pager" .Pager}}   // web.NewPager(r, pg, total); keyset: web.Pager{Next: …, TotalText: "1,000+"}`,
	"empty":    `{{template "empty" .Empty}}   // Empty: web.M("还没有诉求", "No requests yet")`,
	"filters":  `<details class="filters"><summary>{{tr "筛选" "Filter"}}</summary><form method="get">…</form></details>`,
	"formats":  `{{n .Count}} → 1,416,237   {{date .Day}}   {{datetime .Day}}`,
	"thumb":    `<figure class="thumb"><a href="…/photo"><img src="…/thumb" alt="…" width="320" height="240"></a><figcaption>…</figcaption></figure>`,
	"big":      `<nav class="big-actions" aria-label="…"><a class="button" href="…">…<span class="hint">…</span></a>…</nav>`,
	"print":    `<article class="record">…</article>   // the browser's own print: no navigation, one record per page`,
}

// Design serves the design page: each component of the kit, live, with
// the snippet that makes it.
func (rd *Renderer) Design(w http.ResponseWriter, r *http.Request) {
	dv := designView{
		Tags: []Tag{
			{Tone: ToneOK, Label: M("已办结", "Closed")},
			{Tone: ToneWarn, Label: M("即将超时", "Due soon")},
			{Tone: ToneBad, Label: M("超时", "Overdue")},
			{Tone: ToneInfo, Label: M("办理中", "In progress")},
			{Tone: ToneMuted, Label: M("已关闭", "Closed without action")},
		},
		Numbered: Pager{Page: 2, Pages: 12, Total: 1416237, Prev: "/design?page=1", Next: "/design?page=3"},
		Keyset:   Pager{Next: "/design?after=k", TotalText: "1,000+"},
		Empty:    M("还没有诉求。有问题，点“我要反映”。", "No requests yet. Have a problem? Choose Report a problem."),
		Count:    1416237,
		Ratio:    0.8765,
		Day:      time.Date(2026, 11, 30, 7, 5, 0, 0, time.UTC),
		Snippets: designSnippets,
	}
	v := View{Title: M("页面组件", "Page components"), Data: dv,
		Crumbs: []Crumb{{Href: "/menu", Label: M("全部功能", "All services")}, {Label: M("页面组件", "Page components")}},
		Errors: []FieldError{{Field: "phone", Message: "请填写 11 位手机号码", MessageEN: "enter an 11-digit mobile number"}}}
	rd.kit.Render(w, r, http.StatusOK, "design", v)
}
