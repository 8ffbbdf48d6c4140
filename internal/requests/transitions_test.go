package requests_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
)

// The lifecycle as the 12345 rules describe it, written out here on its
// own so that a change to the code's table shows up as a failing test.
var (
	// legalFrom lists, per action, the statuses it may be taken from.
	legalFrom = map[string][]string{
		"accept":   {"submitted", "transferred"},
		"assign":   {"accepted", "returned", "reopened"},
		"start":    {"accepted", "assigned", "reopened"},
		"answer":   {"accepted", "assigned", "in_progress", "reopened"},
		"close":    {"answered", "evaluated"},
		"return":   {"submitted", "accepted", "assigned", "in_progress", "transferred"},
		"transfer": {"submitted", "accepted", "assigned", "in_progress", "returned", "transferred"},
		"merge":    {"submitted", "accepted", "assigned", "in_progress", "returned", "transferred", "reopened"},
		"reject":   {"submitted", "accepted", "returned", "transferred"},
		"evaluate": {"answered"},
		"reopen":   {"answered", "evaluated", "closed"},
	}
	// leadsTo is the status each action leaves the request in (a satisfied
	// evaluation; an unsatisfied one reopens).
	leadsTo = map[string]string{
		"accept": "accepted", "assign": "assigned", "start": "in_progress", "answer": "answered", "close": "closed", "return": "returned",
		"transfer": "transferred", "merge": "merged", "reject": "rejected", "evaluate": "evaluated", "reopen": "reopened",
	}
	// byReporter are the actions of the reporter; handlers take the others.
	byReporter = map[string]bool{"evaluate": true, "reopen": true}
	// statusLabel and actionLabel are the Chinese and English names the
	// refusals use.
	statusLabel = map[string][2]string{
		"submitted": {"待受理", "submitted"}, "accepted": {"已受理", "accepted"}, "assigned": {"已派单", "assigned"}, "in_progress": {"办理中", "in progress"},
		"answered": {"已办结", "answered"}, "evaluated": {"已评价", "evaluated"}, "closed": {"已关闭", "closed"}, "returned": {"已退回", "returned"},
		"transferred": {"已转办", "transferred"}, "merged": {"已合并", "merged"}, "rejected": {"不予受理", "rejected"}, "reopened": {"已重办", "reopened"},
	}
	actionLabel = map[string][2]string{
		"accept": {"受理", "accept"}, "assign": {"派单", "assign"}, "start": {"开始办理", "start work"}, "answer": {"办结答复", "answer"},
		"close": {"关闭", "close"}, "return": {"退回", "return"}, "transfer": {"转办", "transfer"}, "merge": {"合并", "merge"},
		"reject": {"不予受理", "reject"}, "evaluate": {"评价", "evaluate"}, "reopen": {"追问重办", "reopen"},
	}
	// routeTo are the actions that bring a new request to each status.
	routeTo = map[string][]string{
		"submitted":   nil,
		"accepted":    {"accept"},
		"assigned":    {"accept", "assign"},
		"in_progress": {"accept", "start"},
		"answered":    {"accept", "answer"},
		"evaluated":   {"accept", "answer", "evaluate"},
		"closed":      {"accept", "answer", "close"},
		"returned":    {"return"},
		"transferred": {"transfer"},
		"merged":      {"merge"},
		"rejected":    {"reject"},
		"reopened":    {"accept", "answer", "reopen"},
	}
)

var allStatuses = []string{"submitted", "accepted", "assigned", "in_progress", "answered", "evaluated", "closed", "returned", "transferred", "merged", "rejected", "reopened"}

var allActions = []string{"accept", "assign", "start", "answer", "return", "transfer", "merge", "reject", "close", "evaluate", "reopen"}

// machine takes requests through the lifecycle: the county officer handles
// (their area holds every unit a move may lead to), the resident reports.
type machine struct {
	e        *apptest.Env
	handler  *apptest.Client
	reporter *apptest.Client
	original request // an open request others merge into
}

func newMachine(t *testing.T, e *apptest.Env) *machine {
	e.User("resident", "resident", communityA)
	e.User("officer", "officer", county)
	m := &machine{e: e, handler: e.Login("officer"), reporter: e.Login("resident")}
	m.original = m.submit(t, "原诉求 / the original")
	return m
}

func (m *machine) submit(t *testing.T, desc string) request {
	t.Helper()
	return submit(t, m.reporter, map[string]any{"category": "policy", "description": desc})
}

// input is a valid body for each action.
func (m *machine) input(action string) map[string]any {
	return map[string]map[string]any{
		"accept": {}, "start": {}, "close": {},
		"assign":   {"unit_code": communityA, "assignee": "网格员"},
		"answer":   {"reply": "已答复 / answered"},
		"return":   {"reason": "不属本社区 / not ours"},
		"transfer": {"unit_code": townshipA},
		"merge":    {"into": m.original.Number},
		"reject":   {"reason": "不属受理范围 / out of scope"},
		"evaluate": {"rating": "satisfied"},
		"reopen":   {"note": "还没解决 / still broken"},
	}[action]
}

func (m *machine) who(action string) *apptest.Client {
	if byReporter[action] {
		return m.reporter
	}
	return m.handler
}

// at files a new request and brings it to status.
func (m *machine) at(t *testing.T, status string) request {
	t.Helper()
	r := m.submit(t, "走到“"+status+"” / on the way to "+status)
	for _, a := range routeTo[status] {
		r = act(t, m.who(a), r.ID, a, m.input(a))
	}
	if r.Status != status {
		t.Fatalf("route to %s ended at %s", status, r.Status)
	}
	return r
}

func countOf(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

func TestTransitionTable(t *testing.T) {
	t.Parallel()
	t.Run("the table covers every action and status", func(t *testing.T) {
		for _, a := range allActions {
			if legalFrom[a] == nil || leadsTo[a] == "" || actionLabel[a][0] == "" {
				t.Errorf("%s is not described", a)
			}
		}
		for _, s := range allStatuses {
			if _, ok := routeTo[s]; !ok || statusLabel[s][0] == "" {
				t.Errorf("%s is not described", s)
			}
		}
	})
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		m := newMachine(t, e)
		for _, from := range allStatuses {
			t.Run("from "+from, func(t *testing.T) {
				probe := m.at(t, from)
				before := stateOf(t, e, probe.ID)
				for _, a := range allActions {
					if slices.Contains(legalFrom[a], from) {
						t.Run(a+" is legal", func(t *testing.T) {
							r := m.at(t, from)
							got := act(t, m.who(a), r.ID, a, m.input(a))
							if got.Status != leadsTo[a] || got.Version != r.Version+1 {
								t.Fatalf("%s from %s: status %s version %d, want %s version %d", a, from, got.Status, got.Version, leadsTo[a], r.Version+1)
							}
							last := got.Events[len(got.Events)-1]
							if last.Action != a || last.From != from || last.To != leadsTo[a] {
								t.Fatalf("event: %+v", last)
							}
							want := 1 + countOf(routeTo[from], a) // this move and the same ones on the way
							if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = $1 AND object_id = $2`, "request."+a, r.Number); n != want {
								t.Fatalf("%d audit entries of %s, want %d", n, a, want)
							}
						})
						continue
					}
					t.Run(a+" is refused with 409", func(t *testing.T) {
						p := refuse(t, m.who(a), probe.ID, a, m.input(a), 409)
						wantZH := fmt.Sprintf("诉求当前状态为“%s”，不能%s", statusLabel[from][0], actionLabel[a][0])
						wantEN := fmt.Sprintf("the request is %s: cannot %s it", statusLabel[from][1], actionLabel[a][1])
						if p.Detail != wantZH || p.DetailEN != wantEN {
							t.Fatalf("refusal %q / %q, want %q / %q", p.Detail, p.DetailEN, wantZH, wantEN)
						}
					})
				}
				if after := stateOf(t, e, probe.ID); after != before {
					t.Fatalf("refused moves changed the request: %+v -> %+v", before, after)
				}
			})
		}
	})
}

func TestTransitionRights(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		m := newMachine(t, e)
		e.User("neighbour", "resident", communityA)
		e.User("worker", "community_worker", communityA)
		neighbour, worker := e.Login("neighbour"), e.Login("worker")
		for _, a := range allActions {
			from := legalFrom[a][0]
			if byReporter[a] {
				t.Run(a+": a handler may not do it for a reporter with an account", func(t *testing.T) {
					r := m.at(t, from)
					p := refuse(t, m.handler, r.ID, a, m.input(a), 403)
					if p.Detail != "只有提交人本人可以评价或追问" || p.DetailEN != "only the reporter may evaluate or follow up" {
						t.Fatalf("refusal: %+v", p)
					}
					if s := stateOf(t, e, r.ID); s.Status != from || s.Version != r.Version {
						t.Fatalf("changed: %+v", s)
					}
				})
				continue
			}
			t.Run(a+": residents do not handle requests, not even their own", func(t *testing.T) {
				r := m.at(t, from)
				p := refuse(t, m.reporter, r.ID, a, m.input(a), 403)
				if p.Detail != "只有社区工作者和民政干部可以办理诉求" || p.DetailEN != "only community workers and officers handle requests" {
					t.Fatalf("refusal: %+v", p)
				}
				if s := stateOf(t, e, r.ID); s.Status != from || s.Version != r.Version {
					t.Fatalf("changed: %+v", s)
				}
			})
		}
		t.Run("another resident does not even see the request", func(t *testing.T) {
			r := m.at(t, "answered")
			for _, a := range allActions {
				refuse(t, neighbour, r.ID, a, m.input(a), 404)
			}
		})
		t.Run("a worker records the evaluation and the follow-up of a caller without an account", func(t *testing.T) {
			r := submit(t, worker, map[string]any{"category": "policy", "description": "来电咨询", "channel": "hotline"})
			act(t, worker, r.ID, "accept", nil)
			act(t, worker, r.ID, "answer", map[string]any{"reply": "已电话答复"})
			if got := act(t, worker, r.ID, "evaluate", map[string]any{"rating": "satisfied"}); got.Status != "evaluated" {
				t.Fatalf("evaluated: %+v", got)
			}
			if got := act(t, worker, r.ID, "reopen", map[string]any{"note": "回访仍不满意"}); got.Status != "reopened" || got.ReopenCount != 1 {
				t.Fatalf("reopened: %+v", got)
			}
		})
		t.Run("rights are checked before the version, the version before the state", func(t *testing.T) {
			r := m.at(t, "closed")
			if p := refuse(t, m.reporter, r.ID, "accept", map[string]any{"version": 99}, 403); !strings.HasPrefix(p.DetailEN, "only community workers") {
				t.Fatalf("rights first: %+v", p)
			}
			if p := refuse(t, m.handler, r.ID, "accept", map[string]any{"version": 99}, 409); p.DetailEN != "the request was changed by someone else; reload and try again" {
				t.Fatalf("version before state: %+v", p)
			}
		})
		t.Run("an unknown action is not found", func(t *testing.T) {
			st, _ := m.handler.Do("POST", "/api/v1/requests/"+m.original.ID+"/teleport", map[string]any{})
			if st != 404 && st != 405 {
				t.Fatalf("unknown action: %d", st)
			}
			if st, _, _ := m.handler.Form("/requests/"+m.original.ID+"/teleport", nil, nil); st != 404 {
				t.Fatalf("unknown action from a page: %d", st)
			}
		})
	})
}

func TestTransitionEffects(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		m := newMachine(t, e)
		t.Run("each move refuses its missing input on the field, and changes nothing", func(t *testing.T) {
			for _, c := range []struct {
				action, from string
				body         map[string]any
				field        string
			}{
				{"assign", "returned", map[string]any{"assignee": "x"}, "unit_code"},
				{"assign", "accepted", map[string]any{"unit_code": "330102001001"}, "unit_code"}, // another county
				{"assign", "accepted", map[string]any{"unit_code": "330106001001"}, "unit_code"}, // no such division
				{"answer", "accepted", map[string]any{"reply": " "}, "reply"},
				{"answer", "accepted", map[string]any{"template": 99}, "reply"},
				{"return", "submitted", map[string]any{"reason": ""}, "reason"},
				{"reject", "submitted", nil, "reason"},
				{"transfer", "submitted", nil, "unit_code"},
				{"transfer", "submitted", map[string]any{"unit_code": "3301"}, "unit_code"},
				{"merge", "submitted", nil, "into"},
				{"merge", "submitted", map[string]any{"into": "MH-330106-20000101-000001"}, "into"},
				{"evaluate", "answered", map[string]any{"rating": ""}, "rating"},
				{"reopen", "answered", map[string]any{"note": "  "}, "note"},
			} {
				t.Run(fmt.Sprintf("%s from %s with %v", c.action, c.from, c.body), func(t *testing.T) {
					r := m.at(t, c.from)
					before := stateOf(t, e, r.ID)
					if p := refuse(t, m.who(c.action), r.ID, c.action, c.body, 400); !slices.Equal(p.fields(), []string{c.field}) {
						t.Fatalf("fields %v, want %s", p.fields(), c.field)
					}
					if after := stateOf(t, e, r.ID); after != before {
						t.Fatalf("changed: %+v -> %+v", before, after)
					}
				})
			}
		})
		t.Run("accept stops the response clock once", func(t *testing.T) {
			r := act(t, m.handler, m.at(t, "submitted").ID, "accept", nil)
			if r.AcceptedAt == nil || !r.AcceptedAt.Equal(e.Clock.Now()) || r.ResponseMet == nil || !*r.ResponseMet {
				t.Fatalf("accepted: %+v", r)
			}
		})
		t.Run("assign without a unit keeps the unit and names it the assignee", func(t *testing.T) {
			r := act(t, m.handler, m.at(t, "accepted").ID, "assign", nil)
			if r.Unit != communityA || r.Assignee != r.UnitName || r.Assignee == "" {
				t.Fatalf("assigned: %+v", r)
			}
			if last := r.Events[len(r.Events)-1]; last.Note != "派至 / to "+r.UnitName {
				t.Fatalf("note: %q", last.Note)
			}
		})
		t.Run("answer by template, and a late answer misses the resolution deadline", func(t *testing.T) {
			r := m.at(t, "accepted")
			e.Clock.Add(100 * 24 * time.Hour) // far past the deadline
			m.handler, m.reporter = e.Login("officer"), e.Login("resident")
			got := act(t, m.handler, r.ID, "answer", map[string]any{"template": 1})
			if got.Reply == "" || got.ResolveMet == nil || *got.ResolveMet {
				t.Fatalf("late answer: %+v", got)
			}
		})
		t.Run("a second return goes up from the township to the county", func(t *testing.T) {
			r := act(t, m.handler, m.at(t, "submitted").ID, "return", map[string]any{"reason": "退回"})
			r = act(t, m.handler, r.ID, "transfer", map[string]any{"unit_code": townshipA})
			r = act(t, m.handler, r.ID, "return", map[string]any{"reason": "再退回"})
			if r.Unit != "330106" || r.ReturnCount != 2 {
				t.Fatalf("returned twice: %+v", r)
			}
		})
		t.Run("transfer to a department names it with the unit and restarts the response clock", func(t *testing.T) {
			r := act(t, m.handler, m.at(t, "accepted").ID, "transfer", map[string]any{"unit_code": townshipA, "department": "城管科"})
			if r.Status != "transferred" || !strings.HasSuffix(r.UnitName, " 城管科") || r.AcceptedAt != nil || r.ResponseMet != nil || !r.ResponseDue.After(e.Clock.Now()) {
				t.Fatalf("transferred: %+v", r)
			}
			if r.Division != communityA {
				t.Fatalf("a transfer to a township moved the location: %s", r.Division)
			}
		})
		t.Run("merge refuses a closed or merged original", func(t *testing.T) {
			closed := m.at(t, "closed")
			merged := m.at(t, "merged")
			for _, into := range []string{closed.Number, merged.Number} {
				if p := refuse(t, m.handler, m.at(t, "submitted").ID, "merge", map[string]any{"into": into}, 400); !slices.Equal(p.fields(), []string{"into"}) {
					t.Fatalf("merge into %s: %+v", into, p)
				}
			}
		})
		t.Run("a fairly satisfied evaluation keeps the answer, an unsatisfied one restarts the resolution clock", func(t *testing.T) {
			r := act(t, m.reporter, m.at(t, "answered").ID, "evaluate", map[string]any{"rating": "fairly_satisfied", "comment": "还行"})
			if r.Status != "evaluated" || r.AnsweredAt == nil || r.Events[len(r.Events)-1].Note != "基本满意：还行" {
				t.Fatalf("fairly satisfied: %+v", r)
			}
			r = act(t, m.reporter, m.at(t, "answered").ID, "evaluate", map[string]any{"rating": "unsatisfied"})
			if r.Status != "reopened" || r.ReopenCount != 1 || r.AnsweredAt != nil || !r.ResolveDue.After(e.Clock.Now()) {
				t.Fatalf("unsatisfied: %+v", r)
			}
			if last := r.Events[len(r.Events)-1]; last.Action != "evaluate" || last.To != "reopened" {
				t.Fatalf("event: %+v", last)
			}
		})
		t.Run("handlers hear of dispatches, returns, transfers and reopens in their inbox", func(t *testing.T) {
			kinds := map[string]bool{}
			for _, n := range apptest.JSON[[]notice](t, m.handler, "GET", "/api/v1/requests/notices", nil, 200) {
				kinds[n.Kind] = true
			}
			e.User("townshipOfficer", "officer", townshipA)
			for _, n := range apptest.JSON[[]notice](t, e.Login("townshipOfficer"), "GET", "/api/v1/requests/notices", nil, 200) {
				kinds[n.Kind] = true
			}
			e.User("communityWorker", "community_worker", communityA)
			for _, n := range apptest.JSON[[]notice](t, e.Login("communityWorker"), "GET", "/api/v1/requests/notices", nil, 200) {
				kinds[n.Kind] = true
			}
			for _, k := range []string{"assign", "return", "transfer", "evaluate"} {
				if !kinds[k] {
					t.Errorf("no %s notice among %v", k, kinds)
				}
			}
		})
	})
}
