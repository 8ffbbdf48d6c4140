package app

import (
	"net/http"

	"linli/internal/access"
	"linli/internal/config"
	"linli/internal/front"
	"linli/internal/module"
	"linli/internal/web"
	"linli/internal/webhook"
)

// The notices' webhook: where set, every new in-app notice is also
// posted there, signed as the requests module signs its notices.
const (
	EnvNoticesWebhook = "LINLI_NOTICES_WEBHOOK"
	EnvNoticesSecret  = "LINLI_NOTICES_SECRET"
)

var noticeSettings = []config.Setting{
	{Env: EnvNoticesWebhook, Usage: "站内消息同时推送的地址（对接短信、浙里办） / URL that also receives every in-app notice (SMS, 浙里办 adapters)",
		Check: func(v string, _ config.Values) error { return webhook.CheckURL(v) }},
	{Env: EnvNoticesSecret, Usage: "站内消息推送签名密钥 / HMAC key signing those posts"},
}

// others are the roles that start neither at the 工作台 nor at 我的.
var others = []access.Role{access.Provider, access.SysAdmin, access.SecAdmin, access.Auditor}

// frontRoutes mount the two front doors over every module's work items
// and 我的 sections, in the order of the module list.
func (a *App) frontRoutes(rt *web.Router, rd *web.Renderer) {
	var sources []front.Source
	for _, m := range a.modules {
		s := front.Source{Module: m.name}
		s.Work, _ = m.Module.(module.WorkSource)
		s.Mine, _ = m.Module.(module.MineSource)
		if s.Work != nil || s.Mine != nil {
			sources = append(sources, s)
		}
	}
	h := &front.Handlers{Sources: sources, Notices: a.Notices, Nav: rd.Nav, Now: a.now, Pages: front.ParsePages(rd), Refuse: a.refuse}
	h.Register(rt)
}

// unread is the header's count of the signed-in user's unread notices:
// one read of a partial index per page.
func (a *App) unread(r *http.Request) int {
	p := access.From(r.Context())
	if p == nil || p.UserID == "" {
		return 0
	}
	n, err := a.Notices.Unread(r.Context(), p.UserID)
	if err != nil {
		web.Logger(r.Context()).Warn("unread notices", "err", err.Error())
		return 0
	}
	return n
}
