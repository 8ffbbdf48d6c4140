package requests_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"linli/internal/apptest"
)

func TestRequestLifecycle(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		res, wa, wb, street := e.Login("res1"), e.Login("workerA"), e.Login("workerB"), e.Login("street")
		var r request
		t.Run("a resident's request is numbered, dispatched to the community and given a working-hour deadline", func(t *testing.T) {
			r = submit(t, res, map[string]any{"category": "repair", "description": "12幢门口路灯坏了", "attributes": map[string]string{"facility": "light"}})
			if !strings.HasPrefix(r.Number, "MH-330106-20261129-") || r.Status != "submitted" || r.Unit != communityA || r.Version != 1 || r.Channel != "web" {
				t.Fatalf("created: %+v", r)
			}
			// Sunday 16:00 China time: 4 working hours end Monday 14:00 (06:00 UTC).
			if want := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC); !r.ResponseDue.Equal(want) {
				t.Fatalf("response due %s, want %s", r.ResponseDue, want)
			}
			if r.Attributes["facility"] != "light" {
				t.Fatalf("attributes: %v", r.Attributes)
			}
		})
		t.Run("the worker accepts, assigns, starts and answers", func(t *testing.T) {
			r = act(t, wa, r.ID, "accept", map[string]any{"version": 1})
			if r.Status != "accepted" || r.Version != 2 || r.AcceptedAt == nil || r.ResponseMet == nil || !*r.ResponseMet {
				t.Fatalf("accepted: %+v", r)
			}
			r = act(t, wa, r.ID, "assign", map[string]any{"assignee": "网格员小李"})
			if r.Status != "assigned" || r.Assignee != "网格员小李" {
				t.Fatalf("assigned: %+v", r)
			}
			r = act(t, wa, r.ID, "start", nil)
			r = act(t, wa, r.ID, "answer", map[string]any{"reply": "已更换灯泡"})
			if r.Status != "answered" || r.Reply != "已更换灯泡" || r.AnsweredAt == nil || r.ResolveMet == nil || !*r.ResolveMet {
				t.Fatalf("answered: %+v", r)
			}
		})
		t.Run("an unsatisfied evaluation reopens the request and counts against the unit", func(t *testing.T) {
			r = act(t, res, r.ID, "evaluate", map[string]any{"rating": "unsatisfied", "comment": "第二天又不亮了"})
			if r.Status != "reopened" || r.ReopenCount != 1 || r.Rating != "unsatisfied" || r.AnsweredAt != nil || r.ResolveMet != nil {
				t.Fatalf("reopened: %+v", r)
			}
		})
		t.Run("answered again, evaluated as satisfied and closed, with a full timeline", func(t *testing.T) {
			r = act(t, wa, r.ID, "answer", map[string]any{"reply": "已更换整套灯具"})
			r = act(t, res, r.ID, "evaluate", map[string]any{"rating": "satisfied"})
			if r.Status != "evaluated" || r.Rating != "satisfied" {
				t.Fatalf("evaluated: %+v", r)
			}
			r = act(t, wa, r.ID, "close", nil)
			got := get(t, res, r.ID)
			want := []string{"submit", "accept", "assign", "start", "answer", "evaluate", "answer", "evaluate", "close"}
			if !slices.Equal(got.actions(), want) || got.Status != "closed" || got.ClosedAt == nil {
				t.Fatalf("timeline %v, status %s", got.actions(), got.Status)
			}
			if last := got.Events[len(got.Events)-1]; last.From != "evaluated" || last.To != "closed" || last.Actor != "workera" || last.Role != "community_worker" {
				t.Fatalf("last event: %+v", last)
			}
		})
		t.Run("a follow-up within 7 days reopens a closed request", func(t *testing.T) {
			e.Clock.Add(24 * time.Hour)
			res, wa, wb, street = e.Login("res1"), e.Login("workerA"), e.Login("workerB"), e.Login("street")
			r = act(t, res, r.ID, "reopen", map[string]any{"note": "又坏了"})
			if r.Status != "reopened" || r.ReopenCount != 2 || r.ClosedAt != nil {
				t.Fatalf("follow-up: %+v", r)
			}
		})

		var r2 request
		t.Run("a return sends the request to dispatch one level up, where the street re-dispatches it", func(t *testing.T) {
			r2 = submit(t, res, map[string]any{"category": "sanitation", "description": "河道漂浮垃圾", "attributes": map[string]string{"spot": "street"}})
			r2 = act(t, wa, r2.ID, "return", map[string]any{"reason": "属河道管理范围"})
			if r2.Status != "returned" || r2.Unit != townshipA || r2.ReturnCount != 1 || r2.Reason != "属河道管理范围" || r2.Assignee != "" {
				t.Fatalf("returned: %+v", r2)
			}
			if p := refuse(t, street, r2.ID, "assign", map[string]any{"assignee": "河长办"}, 400); !slices.Equal(p.fields(), []string{"unit_code"}) {
				t.Fatalf("re-dispatch without a unit: %+v", p)
			}
			r2 = act(t, street, r2.ID, "assign", map[string]any{"unit_code": communityA, "assignee": "河长办"})
			if r2.Status != "assigned" || r2.Unit != communityA || r2.Assignee != "河长办" {
				t.Fatalf("re-dispatched: %+v", r2)
			}
		})
		t.Run("a transfer to another community moves the request out of the first worker's sight", func(t *testing.T) {
			if st := status(t, wb, "/api/v1/requests/"+r2.ID); st != 404 {
				t.Fatalf("workerB saw A's request before the transfer: %d", st)
			}
			r2 = act(t, wa, r2.ID, "transfer", map[string]any{"unit_code": communityB, "note": "在石灰桥社区"})
			if r2.Status != "transferred" || r2.Division != communityB || r2.Unit != communityB || r2.AcceptedAt != nil {
				t.Fatalf("transferred: %+v", r2)
			}
			if st := status(t, wa, "/api/v1/requests/"+r2.ID); st != 404 {
				t.Fatalf("workerA still sees the transferred request: %d", st)
			}
			act(t, wb, r2.ID, "accept", nil)
			ns := apptest.JSON[[]notice](t, wb, "GET", "/api/v1/requests/notices", nil, 200)
			if !slices.ContainsFunc(ns, func(n notice) bool { return n.Number == r2.Number && n.Kind == "transfer" && n.Unit == communityB }) {
				t.Fatalf("workerB's notices: %+v", ns)
			}
		})
		t.Run("a second report is suggested as a duplicate, merged, and its reporter follows the original", func(t *testing.T) {
			res2 := e.Login("res2")
			o := submit(t, res, map[string]any{"category": "fire", "description": "楼道电动车充电"})
			d := submit(t, res2, map[string]any{"category": "fire", "description": "3单元楼道有人给电动车充电"})
			if len(d.Duplicates) != 1 || d.Duplicates[0].ID != o.ID || d.Duplicates[0].Description != "" {
				t.Fatalf("duplicates suggested (without another resident's text): %+v", d.Duplicates)
			}
			if st := status(t, res2, "/api/v1/requests/"+o.ID); st != 404 {
				t.Fatalf("res2 sees res1's request before the merge: %d", st)
			}
			if p := refuse(t, wa, d.ID, "merge", map[string]any{"into": d.Number}, 400); !slices.Equal(p.fields(), []string{"into"}) {
				t.Fatalf("merge into itself: %+v", p)
			}
			d = act(t, wa, d.ID, "merge", map[string]any{"into": o.Number})
			if d.Status != "merged" || d.MergedInto != o.ID || d.ClosedAt == nil {
				t.Fatalf("merged: %+v", d)
			}
			if got := get(t, res2, o.ID); got.Number != o.Number {
				t.Fatalf("res2 follows the original: %+v", got)
			}
			r := act(t, wa, o.ID, "reject", map[string]any{"reason": "已由消防部门处理"})
			if r.Status != "rejected" || r.Reason != "已由消防部门处理" || r.ClosedAt == nil {
				t.Fatalf("rejected: %+v", r)
			}
		})
		t.Run("every write left one audit entry", func(t *testing.T) {
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'request.%'`); n != 19 {
				t.Fatalf("%d audit entries, want one per write (19)", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'request.transfer' AND object_id = $1`, r2.Number); n != 1 {
				t.Fatalf("%d transfer entries", n)
			}
		})
	})
}

func TestRequestIllegalTransitionsChangeNothing(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		res, res2, wa := e.Login("res1"), e.Login("res2"), e.Login("workerA")
		r := submit(t, res, map[string]any{"category": "policy", "description": "医保怎么交"})
		t.Run("refusals of a new request leave it as it was", func(t *testing.T) {
			before := stateOf(t, e, r.ID)
			for _, c := range []struct {
				name   string
				who    *apptest.Client
				action string
				body   map[string]any
				want   int
			}{
				{"an evaluation before the answer", res, "evaluate", map[string]any{"rating": "satisfied"}, 409},
				{"closing before the answer", wa, "close", nil, 409},
				{"starting before acceptance", wa, "start", nil, 409},
				{"a resident handling", res, "accept", nil, 403},
				{"a return without a reason", wa, "return", nil, 400},
				{"a stale version", wa, "accept", map[string]any{"version": 7}, 409},
				{"an unknown field", wa, "accept", map[string]any{"colour": "red"}, 400},
				{"an over-long note", wa, "accept", map[string]any{"note": strings.Repeat("长", 2001)}, 400},
			} {
				refuse(t, c.who, r.ID, c.action, c.body, c.want)
			}
			if after := stateOf(t, e, r.ID); after != before {
				t.Fatalf("changed: %+v -> %+v", before, after)
			}
		})
		t.Run("a stale version says the request changed", func(t *testing.T) {
			p := refuse(t, wa, r.ID, "accept", map[string]any{"version": 7}, 409)
			if p.Detail != "该诉求已被他人处理或已变更，请刷新后重试" || p.DetailEN != "the request was changed by someone else; reload and try again" {
				t.Fatalf("stale version: %+v", p)
			}
		})
		t.Run("an empty reply is refused on the reply field", func(t *testing.T) {
			act(t, wa, r.ID, "accept", nil)
			if p := refuse(t, wa, r.ID, "answer", map[string]any{"reply": ""}, 400); !slices.Equal(p.fields(), []string{"reply"}) {
				t.Fatalf("empty reply: %+v", p)
			}
			act(t, wa, r.ID, "answer", map[string]any{"reply": "按灵活就业人员参保"})
		})
		t.Run("only the reporter evaluates, with a known rating", func(t *testing.T) {
			refuse(t, res2, r.ID, "evaluate", map[string]any{"rating": "satisfied"}, 404) // not theirs: not even visible
			if p := refuse(t, wa, r.ID, "evaluate", map[string]any{"rating": "satisfied"}, 403); p.DetailEN != "only the reporter may evaluate or follow up" {
				t.Fatalf("worker evaluating: %+v", p)
			}
			if p := refuse(t, res, r.ID, "evaluate", map[string]any{"rating": "great"}, 400); !slices.Equal(p.fields(), []string{"rating"}) {
				t.Fatalf("unknown rating: %+v", p)
			}
			act(t, res, r.ID, "evaluate", map[string]any{"rating": "fairly_satisfied"})
			act(t, wa, r.ID, "close", nil)
		})
		t.Run("a closed request takes no reply and no merge", func(t *testing.T) {
			before := stateOf(t, e, r.ID)
			if p := refuse(t, wa, r.ID, "answer", map[string]any{"reply": "补充答复"}, 409); p.Detail != "诉求当前状态为“已关闭”，不能办结答复" || p.DetailEN != "the request is closed: cannot answer it" {
				t.Fatalf("reply on a closed request: %+v", p)
			}
			refuse(t, wa, r.ID, "merge", map[string]any{"into": r.Number}, 409)
			if after := stateOf(t, e, r.ID); after != before {
				t.Fatalf("closed request changed: %+v -> %+v", before, after)
			}
		})
		t.Run("bad submissions are refused on their field and store nothing", func(t *testing.T) {
			for _, c := range []struct {
				name  string
				body  map[string]any
				field string
			}{
				{"unknown category", map[string]any{"category": "nope", "description": "x"}, "category"},
				{"outside zhejiang", map[string]any{"category": "policy", "description": "x", "lon": 116.4, "lat": 39.9}, "lat"},
				{"half a location", map[string]any{"category": "policy", "description": "x", "lon": 120.1}, "lat"},
				{"too long", map[string]any{"category": "policy", "description": strings.Repeat("长", 4001)}, "description"},
				{"missing answer", map[string]any{"category": "repair", "description": "坏了"}, "attribute[facility]"},
				{"bad choice", map[string]any{"category": "repair", "description": "坏了", "attributes": map[string]string{"facility": "rocket"}}, "attribute[facility]"},
				{"other community", map[string]any{"category": "policy", "description": "x", "division_code": communityB}, "division_code"},
				{"nonexistent code", map[string]any{"category": "policy", "description": "x", "division_code": "330106001001"}, "division_code"},
				{"unknown attribute", map[string]any{"category": "policy", "description": "x", "attributes": map[string]string{"color": "red"}}, "attribute[color]"},
				{"empty description", map[string]any{"category": "policy", "description": "  "}, "description"},
				{"not a number value", map[string]any{"category": "elderly", "description": "x", "attributes": map[string]string{"age": "eighty"}}, "attribute[age]"},
				{"a resident choosing a channel", map[string]any{"category": "policy", "description": "x", "channel": "fax"}, ""},
			} {
				t.Run(c.name, func(t *testing.T) {
					n := e.Count(`SELECT COUNT(*) FROM requests`)
					st, text := res.Do("POST", "/api/v1/requests", c.body)
					if c.field == "" { // a resident's channel is ignored: always "web"
						if st != 201 || mustJSON[request](t, text).Channel != "web" {
							t.Fatalf("%d %s", st, text)
						}
						return
					}
					if st != 400 {
						t.Fatalf("%d %s", st, text)
					}
					if p := mustJSON[problem](t, text); !slices.Contains(p.fields(), c.field) {
						t.Fatalf("fields %v, want %s", p.fields(), c.field)
					}
					if e.Count(`SELECT COUNT(*) FROM requests`) != n {
						t.Fatal("a request was stored")
					}
				})
			}
		})
	})
}

func TestRequestConcurrentHandlers(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		res, wa, wa2 := e.Login("res1"), e.Login("workerA"), e.Login("workerA2")
		for round := range 5 {
			t.Run(fmt.Sprintf("round %d: of two workers accepting at once exactly one wins", round), func(t *testing.T) {
				r := submit(t, res, map[string]any{"category": "policy", "description": fmt.Sprintf("问题 %d", round)})
				var wg sync.WaitGroup
				codes := make([]int, 2)
				for i, c := range []*apptest.Client{wa, wa2} {
					wg.Go(func() { codes[i], _ = c.Do("POST", "/api/v1/requests/"+r.ID+"/accept", map[string]any{"version": 1}) })
				}
				wg.Wait()
				if slices.Sort(codes); !slices.Equal(codes, []int{200, 409}) {
					t.Fatalf("codes %v", codes)
				}
				if n := eventsOf(e, r.ID, "accept"); n != 1 {
					t.Fatalf("%d accept events", n)
				}
				if s := stateOf(t, e, r.ID); s != (state{"accepted", 2, 2}) {
					t.Fatalf("state: %+v", s)
				}
			})
		}
	})
}
