package requests

import (
	"context"
	"fmt"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/web"
)

// Mine is a resident's 我的 block of requests: the latest ones with their
// state, the whole list and the one action, 我要反映.
func (m *requestsModule) Mine(ctx context.Context, p *access.Principal) ([]module.MineSection, error) {
	if p == nil || p.Role != access.Resident {
		return nil, nil
	}
	ctx = access.With(ctx, p)
	l, err := m.store.List(ctx, Filter{Sort: "updated"}, "", 5)
	if err != nil {
		return nil, err
	}
	items := l.Items
	sec := module.MineSection{Module: "requests", Order: 10, Title: fault.M("我的诉求", "My requests"),
		Empty:  fault.M("您还没有反映过问题", "You have not submitted anything yet"),
		Action: &module.MineItem{Label: fault.M("我要反映", "Report a problem"), Href: "/requests/new"}}
	if l.Next != "" {
		sec.More = "/requests"
	}
	now := m.store.Now()
	for _, r := range items {
		tag := Row{Request: r, StatusZH: r.Status.Label()}.StatusTag()
		if r.Status.Open() && r.Overdue(now) {
			tag = web.Tag{Tone: web.ToneBad, Label: fault.M(r.Status.Label().ZH+"（已超时）", r.Status.Label().EN+" (overdue)")}
		}
		text := summary(r.Description, 24)
		sec.Items = append(sec.Items, module.MineItem{Label: fault.M(r.Number+" "+text, r.Number+" "+text), Status: &tag, When: r.UpdatedAt, Href: "/requests/" + r.ID})
	}
	return []module.MineSection{sec}, nil
}

// The transitions a reporter is told about, with the notice's words.
var toldReporter = map[Action]struct {
	event       string
	title, body fault.Msg
}{
	"accept": {"accepted", fault.M("您的诉求已受理", "Your request was accepted"), fault.M("承办单位已受理，正在办理。", "The handling unit has taken it on.")},
	"answer": {"answered", fault.M("您的诉求已办结答复", "Your request was answered"), fault.M("请查看答复并评价办理结果。", "Read the answer and rate it.")},
	"reopen": {"reopened", fault.M("您的诉求已重新办理", "Your request was reopened"), fault.M("承办单位将重新办理。", "The handling unit will handle it again.")},
}

// tellReporter sends the reporter an in-app notice when their request is
// accepted, answered or reopened. The key names the request and the
// event's sequence number, so a replayed event tells nobody twice. A
// failure is logged: the request's own timeline is the durable record.
func (s *Store) tellReporter(ctx context.Context, a Action, r Request) {
	t, ok := toldReporter[a]
	if !ok || s.Tell == nil || r.ReporterID == "" {
		return
	}
	n := module.Notice{UserID: r.ReporterID, Kind: "request." + t.event,
		Title: fault.M(t.title.ZH+"："+r.Number, t.title.EN+": "+r.Number), Body: t.body, Href: "/requests/" + r.ID,
		Key: fmt.Sprintf("request.%s:%s:%d", t.event, r.ID, r.Version)}
	if err := s.Tell.Notify(context.WithoutCancel(ctx), n); err != nil {
		s.logger().Warn("reporter not told", "request", r.Number, "event", t.event, "err", err.Error())
	}
}
