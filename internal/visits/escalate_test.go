package visits_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/visits"
)

func TestEscalation(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("off.t", access.Officer, township)
		notices := &noticeLog{}
		w.vs.Notices = notices
		w.schedule(t, "2026-12")
		child := w.visitsOf(t, w.child, "2026-12")[0].ID
		elder1 := w.visitsOf(t, w.elder1, "2026-12")[0].ID
		elder2 := w.visitsOf(t, w.elder2, "2026-12")[0].ID
		family := w.visitsOf(t, w.h2, "2026-12")[0].ID
		e.Clock.Set(at("2026-12-10T12:00"))
		w.record(t, "gw.2", child, "2026-12-10T11:00", visits.OutcomeNotHome, "", nil) // the retry is due 12-13
		retry := w.visitsOf(t, w.child, "2026-12")[1].ID
		w.record(t, "gw.1", elder1, "2026-12-10T10:00", visits.OutcomeDone, visits.RiskNormal, map[string][]string{"health": {"good"}, "living": {"good"}})
		run := func(t *testing.T, when string) visits.EscalationResult {
			t.Helper()
			res, err := w.vs.RunEscalationOnce(context.Background(), at(when))
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		gw2, cwa, offT := w.userID(t, "gw.2"), w.userID(t, "cw.a"), w.userID(t, "off.t")

		t.Run("nothing is late before its due day has passed", func(t *testing.T) {
			if res := run(t, "2026-12-13T20:00"); res != (visits.EscalationResult{}) {
				t.Errorf("on the retry's due day: %+v", res)
			}
		})
		t.Run("the day after, the owner is warned once", func(t *testing.T) {
			if res := run(t, "2026-12-14T08:00"); res != (visits.EscalationResult{Warned: 1}) {
				t.Errorf("first run: %+v", res)
			}
			if res := run(t, "2026-12-14T09:00"); res != (visits.EscalationResult{}) {
				t.Errorf("second run: %+v", res)
			}
			if got := notices.of("visit.overdue"); fmt.Sprint(got) != fmt.Sprint([]string{gw2 + " visit.overdue:" + fmt.Sprint(retry)}) {
				t.Errorf("overdue notices %v", got)
			}
		})
		t.Run("three days on it is escalated to the community's workers, once", func(t *testing.T) {
			if res := run(t, "2026-12-16T23:00"); res != (visits.EscalationResult{}) {
				t.Errorf("before three days: %+v", res)
			}
			if res := run(t, "2026-12-17T08:00"); res != (visits.EscalationResult{Escalated: 1}) {
				t.Errorf("first run: %+v", res)
			}
			if res := run(t, "2026-12-17T09:00"); res != (visits.EscalationResult{}) {
				t.Errorf("second run: %+v", res)
			}
			if got := notices.of("visit.escalated"); fmt.Sprint(got) != fmt.Sprint([]string{cwa + " visit.escalated:" + fmt.Sprint(retry)}) {
				t.Errorf("escalation notices %v", got)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE escalated_at IS NOT NULL AND escalated_to = 'community' AND id = $1`, retry); n != 1 {
				t.Errorf("the retry is not marked escalated to the community")
			}
		})
		t.Run("a community worker's visit goes to the township; a grid worker's to the community", func(t *testing.T) {
			if res := run(t, "2027-01-01T09:00"); res != (visits.EscalationResult{Warned: 2}) {
				t.Errorf("at the month's end: %+v", res)
			}
			if res := run(t, "2027-01-04T09:00"); res != (visits.EscalationResult{Escalated: 2}) {
				t.Errorf("three days on: %+v", res)
			}
			if res := run(t, "2027-01-09T09:00"); res != (visits.EscalationResult{}) {
				t.Errorf("later: %+v", res)
			}
			wantList := []string{cwa + " visit.escalated:" + fmt.Sprint(retry), cwa + " visit.escalated:" + fmt.Sprint(family), offT + " visit.escalated:" + fmt.Sprint(elder2)}
			sort.Strings(wantList)
			want := fmt.Sprint(wantList)
			if got := fmt.Sprint(notices.of("visit.escalated")); got != want {
				t.Errorf("escalation notices %v, want %v", got, want)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'visits.visit.escalate'`); n != 3 {
				t.Errorf("%d escalations audited, want 3", n)
			}
		})
		t.Run("escalated visits are work items for the next level only", func(t *testing.T) {
			items := func(p *access.Principal) []string {
				is, err := w.vs.EscalatedWork(context.Background(), p, 10)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, i := range is {
					out = append(out, i.Href)
				}
				return out
			}
			if got := items(&access.Principal{Username: "cw.a", Role: access.CommunityWorker, Division: communityA}); fmt.Sprint(got) != fmt.Sprint([]string{fmt.Sprintf("/visits/%d", retry), fmt.Sprintf("/visits/%d", family)}) {
				t.Errorf("the community worker's items %v", got)
			}
			if got := items(&access.Principal{Username: "off.t", Role: access.Officer, Division: township}); fmt.Sprint(got) != fmt.Sprint([]string{fmt.Sprintf("/visits/%d", elder2)}) {
				t.Errorf("the township's items %v", got)
			}
			if got := items(&access.Principal{Username: "gw.2", Role: access.GridWorker, Division: communityA}); len(got) != 0 {
				t.Errorf("a grid worker got escalations %v", got)
			}
			if got := items(&access.Principal{Username: "off.b", Role: access.Officer, Division: "330106004"}); len(got) != 0 {
				t.Errorf("another township got escalations %v", got)
			}
		})
		t.Run("two runners at once warn and escalate each visit once", func(t *testing.T) {
			w.schedule(t, "2027-02")
			before := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action IN ('visits.visit.escalate', 'visits.visit.overdue')`)
			open := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE month = '2027-02' AND status = 'open'`)
			if open == 0 {
				t.Fatal("no February visits")
			}
			// A second start of the app over the same store, as a second
			// process would be.
			second := visits.StoreOf(e.Restart().Module("visits"))
			second.Notices = notices
			var wg sync.WaitGroup
			var mu sync.Mutex
			var total visits.EscalationResult
			for _, when := range []string{"2027-03-01T09:00", "2027-03-05T09:00"} {
				for _, s := range []*visits.Store{w.vs, second} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						res, err := s.RunEscalationOnce(context.Background(), at(when))
						if err != nil {
							t.Error(err)
						}
						mu.Lock()
						total.Warned += res.Warned
						total.Escalated += res.Escalated
						mu.Unlock()
					}()
				}
				wg.Wait()
			}
			if total.Warned != open || total.Escalated != open {
				t.Errorf("two runners: %+v for %d open visits", total, open)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action IN ('visits.visit.escalate', 'visits.visit.overdue')`) - before; n != 2*open {
				t.Errorf("%d entries for %d visits warned and escalated", n, open)
			}
			seen := map[string]bool{}
			for _, k := range append(notices.of("visit.overdue"), notices.of("visit.escalated")...) {
				if seen[k] {
					t.Errorf("notice %s sent twice", k)
				}
				seen[k] = true
			}
		})
		t.Run("a visit recorded meanwhile is neither warned nor escalated", func(t *testing.T) {
			w.schedule(t, "2027-04")
			id := w.visitsOf(t, w.elder1, "2027-04")[0].ID
			e.Clock.Set(at("2027-04-30T12:00"))
			w.record(t, "gw.1", id, "2027-04-30T10:00", visits.OutcomeDone, visits.RiskNormal, map[string][]string{"health": {"good"}, "living": {"good"}})
			run(t, "2027-05-09T09:00")
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE id = $1 AND (warned_at IS NOT NULL OR escalated_at IS NOT NULL)`, id); n != 0 {
				t.Errorf("a done visit was warned or escalated")
			}
		})
	})
}
