package requests

import (
	"context"
	"fmt"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/web"
)

// The requests' kinds of work on the 工作台, most pressing first: a
// request appears once, under the first box it is in.
var workBoxes = []struct {
	box, kind string
	name      fault.Msg
}{
	{"overdue", "request.overdue", fault.M("超时诉求", "Overdue requests")},
	{"reopened", "request.reopened", fault.M("重办诉求", "Reopened requests")},
	{"returned", "request.returned", fault.M("退回诉求", "Returned requests")},
	{"due", "request.due", fault.M("即将超时", "Requests due soon")},
	{"new", "request.new", fault.M("新诉求待受理", "New requests")},
}

// Work lists the requests waiting for a handler: in a community worker's
// or grid worker's scope (a grid worker's grids), and for a township or
// county officer those handed to their own unit — the escalations of the
// subtree and what was transferred up.
func (m *requestsModule) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	if !isHandler(p) || limit <= 0 {
		return nil, nil
	}
	ctx = access.With(ctx, p)
	s := m.store
	names := map[string]fault.Msg{}
	if cs, err := s.Categories(ctx); err == nil {
		for _, c := range cs {
			names[c.Code] = fault.M(c.NameZH, c.NameEN)
		}
	} else {
		return nil, err
	}
	now := s.Now()
	seen := map[string]bool{}
	var out []module.WorkItem
	for _, b := range workBoxes {
		if len(out) >= limit {
			break
		}
		f := Filter{Box: b.box, Sort: "due"}
		kindName := b.name
		if p.Role == access.Officer {
			f.Unit = p.Division
			if b.box == "overdue" {
				kindName = fault.M("升级督办", "Escalated to my unit")
			}
		}
		items, _, err := s.List(ctx, f, 0, limit-len(out))
		if err != nil {
			return nil, err
		}
		for _, r := range items {
			if seen[r.ID] {
				continue
			}
			seen[r.ID] = true
			due := r.ResolveDue
			if r.ResponseMet == nil && inStates(r.Status, responsePhase) {
				due = r.ResponseDue
			}
			cat := names[r.Category]
			if cat.ZH == "" {
				cat = fault.M(r.Category, r.Category)
			}
			text := summary(r.Description, 24)
			whose := r.ReporterName
			if whose == "" {
				whose = summary(r.Address, 24)
			}
			out = append(out, module.WorkItem{Module: "requests", Kind: b.kind, KindName: kindName,
				Title: fault.M(fmt.Sprintf("%s %s：%s", r.Number, cat.ZH, text), fmt.Sprintf("%s %s: %s", r.Number, cat.EN, text)),
				Whose: whose, Href: "/requests/" + r.ID, Due: due,
				Urgent: r.Overdue(now) || r.Status == Reopened})
		}
	}
	return out, nil
}

// Mine is a resident's 我的 block of requests: the latest ones with their
// state, the whole list and the one action, 我要反映.
func (m *requestsModule) Mine(ctx context.Context, p *access.Principal) ([]module.MineSection, error) {
	if p == nil || p.Role != access.Resident {
		return nil, nil
	}
	ctx = access.With(ctx, p)
	items, total, err := m.store.List(ctx, Filter{Sort: "updated"}, 0, 5)
	if err != nil {
		return nil, err
	}
	sec := module.MineSection{Module: "requests", Order: 10, Title: fault.M("我的诉求", "My requests"),
		Empty:  fault.M("您还没有反映过问题", "You have not submitted anything yet"),
		Action: &module.MineItem{Label: fault.M("我要反映", "Report a problem"), Href: "/requests/new"}}
	if total > len(items) {
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
