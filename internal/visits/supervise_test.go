package visits_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/visits"
	"linli/internal/web"
)

// noticeLog records the notices the visits module sends.
type noticeLog struct {
	mu sync.Mutex
	ns []module.Notice
}

func (l *noticeLog) Notify(_ context.Context, n module.Notice) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ns = append(l.ns, n)
	return nil
}

// of is "kind user key" of each notice of a kind, sorted.
func (l *noticeLog) of(kind string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, n := range l.ns {
		if n.Kind == kind {
			out = append(out, n.UserID+" "+n.Key)
		}
	}
	sort.Strings(out)
	return out
}

func (w *town) userID(t *testing.T, name string) string {
	t.Helper()
	var id string
	if err := w.e.App.DB.R.QueryRow(`SELECT id FROM users WHERE username = $1`, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// record records a visit as worker with the outcome and risk.
func (w *town) record(t *testing.T, worker string, id int64, at, outcome, risk string, answers map[string][]string) {
	t.Helper()
	w.seq++
	_, err := w.vs.Record(as(worker, access.GridWorker, communityA), id, visits.RecordInput{Method: visits.MethodHome, VisitedAt: at, Outcome: outcome, Risk: risk,
		Answers: answers, SubmitKey: fmt.Sprintf("k-%d", w.seq)})
	if err != nil {
		t.Fatalf("record visit %d: %v", id, err)
	}
}

func at(s string) time.Time { return day(s) }

func tallyOf(c visits.Completion, lines []visits.CompletionLine, key string) string {
	for _, l := range lines {
		if l.Key == key {
			return tallyText(l.Tally)
		}
	}
	return "missing"
}

func tallyText(t visits.Tally) string {
	rate := "-"
	if t.Rate != nil {
		rate = fmt.Sprint(*t.Rate)
	}
	return fmt.Sprintf("%d/%d %s%% overdue %d high %d", t.Done, t.Due, rate, t.Overdue, t.HighRisk)
}

func TestSupervision(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("off.t", access.Officer, township)
		e.User("cw.b", access.CommunityWorker, communityB)
		notices := &noticeLog{}
		w.vs.Notices = notices
		w.schedule(t, "2026-12")
		elder1 := w.visitsOf(t, w.elder1, "2026-12")[0].ID
		elder2 := w.visitsOf(t, w.elder2, "2026-12")[0].ID
		child := w.visitsOf(t, w.child, "2026-12")[0].ID
		family := w.visitsOf(t, w.h2, "2026-12")[0].ID
		off := as("off.t", access.Officer, township)
		dec, _ := visits.ParseMonth("2026-12")

		t.Run("completion by worker, grid and group is worked out per target", func(t *testing.T) {
			e.Clock.Set(at("2026-12-10T12:00"))
			w.record(t, "gw.1", elder1, "2026-12-10T10:00", visits.OutcomeDone, visits.RiskHigh, map[string][]string{"health": {"poor"}, "living": {"hard"}})
			w.record(t, "gw.2", child, "2026-12-10T11:00", visits.OutcomeNotHome, "", nil) // a retry is due 12-13
			e.Clock.Set(at("2026-12-15T09:00"))
			c, err := w.vs.Completion(w.cw, "", dec)
			if err != nil {
				t.Fatal(err)
			}
			// Four targets: elder1 done (high risk); elder2 open; the child
			// not home, its retry overdue since 12-13; household h2 open.
			if got := tallyText(c.Total); got != "1/4 25% overdue 1 high 1" {
				t.Errorf("total %s", got)
			}
			for key, want := range map[string]string{"gw.1": "1/1 100% overdue 0 high 1", "gw.2": "0/2 0% overdue 1 high 0", "cw.a": "0/1 0% overdue 0 high 0"} {
				if got := tallyOf(c, c.ByWorker, key); got != want {
					t.Errorf("worker %s: %s, want %s", key, got, want)
				}
			}
			for key, want := range map[string]string{w.g1: "1/1 100% overdue 0 high 1", w.g2: "0/2 0% overdue 1 high 0", "": "0/1 0% overdue 0 high 0"} {
				if got := tallyOf(c, c.ByGrid, key); got != want {
					t.Errorf("grid %q: %s, want %s", key, got, want)
				}
			}
			for key, want := range map[string]string{visits.GroupSpecialElderly: "1/2 50% overdue 0 high 1", visits.GroupChildren: "0/1 0% overdue 1 high 0", visits.GroupAssistedFamilies: "0/1 0% overdue 0 high 0"} {
				if got := tallyOf(c, c.ByGroup, key); got != want {
					t.Errorf("group %s: %s, want %s", key, got, want)
				}
			}
			if len(c.ByDivision) != 0 {
				t.Errorf("a community's page splits by division: %+v", c.ByDivision)
			}
		})
		t.Run("the township sees its communities, each linking down", func(t *testing.T) {
			c, err := w.vs.Completion(off, "", dec)
			if err != nil {
				t.Fatal(err)
			}
			if got := tallyOf(c, c.ByDivision, communityA); got != "1/4 25% overdue 1 high 1" {
				t.Errorf("community A in the township: %s", got)
			}
			if len(c.ByDivision) < 2 {
				t.Errorf("the township's other communities are missing: %d lines", len(c.ByDivision))
			}
			for _, l := range c.ByDivision {
				if l.Key != communityA && l.Due != 0 {
					t.Errorf("community %s has %d due", l.Key, l.Due)
				}
				if !strings.Contains(l.Href, "division="+l.Key) {
					t.Errorf("line %s links to %s", l.Key, l.Href)
				}
			}
			if _, err := w.vs.Completion(off, communityB, dec); !isStatus(err, 403) {
				t.Errorf("a township officer opened another township's community: %v", err)
			}
		})
		t.Run("the API gives the same figures, and refuses outside the scope", func(t *testing.T) {
			cw := e.Login("cw.a")
			c := apptest.JSON[visits.Completion](t, cw, "GET", "/api/v1/visits/completion?month=2026-12&division="+communityA, nil, 200)
			if got := tallyText(c.Total); got != "1/4 25% overdue 1 high 1" {
				t.Errorf("API total %s", got)
			}
			if st, _ := cw.Do("GET", "/api/v1/visits/completion?division="+communityB, nil); st != 403 {
				t.Errorf("another community: %d", st)
			}
			if st, _ := cw.Do("GET", "/api/v1/visits/completion?month=2026-13", nil); st != 422 && st != 400 {
				t.Errorf("a bad month: %d", st)
			}
			if st, _ := e.Login("gw.1").Do("GET", "/api/v1/visits/completion", nil); st != 403 {
				t.Errorf("a grid worker supervised: %d", st)
			}
			st, page, _ := cw.Get("/visits/supervise?month=2026-12")
			if st != 200 || !strings.Contains(page, `id="sv-rate">25%`) || !strings.Contains(page, "/visits/sheet?worker=gw.2") {
				t.Errorf("supervision page %d:\n%s", st, page)
			}
		})
		t.Run("the overdue and high-risk lists show masked names within scope", func(t *testing.T) {
			l, err := w.vs.WatchList(w.cw, visits.WatchFilter{Kind: visits.ListOverdue}, "", 20)
			if err != nil {
				t.Fatal(err)
			}
			if l.Total != 1 || l.Visits[0].SubjectID != w.child || l.Visits[0].Origin != fmt.Sprintf("r:%d", child) {
				t.Errorf("overdue: %+v", l)
			}
			l, err = w.vs.WatchList(w.cw, visits.WatchFilter{Kind: visits.ListHighRisk, Month: "2026-12"}, "", 20)
			if err != nil {
				t.Fatal(err)
			}
			if l.Total != 1 || l.Visits[0].ID != elder1 || strings.Contains(l.Visits[0].Whose, "居民") && !strings.Contains(l.Visits[0].Whose, "*") {
				t.Errorf("high risk: %+v", l)
			}
			if l, err := w.vs.WatchList(as("cw.b", access.CommunityWorker, communityB), visits.WatchFilter{Kind: visits.ListOverdue}, "", 20); err != nil || l.Total != 0 {
				t.Errorf("community B sees A's overdue visits: %+v %v", l, err)
			}
			st, page, _ := e.Login("cw.a").Get("/visits/overdue?programme=children")
			if st != 200 || !strings.Contains(page, `name="id" value="`+fmt.Sprint(w.visitsOf(t, w.child, "2026-12")[1].ID)) || strings.Contains(page, "居民") && !strings.Contains(page, "居*") {
				t.Errorf("overdue page %d:\n%s", st, page)
			}
		})
		t.Run("a household's timeline lists its members' visits newest first, masked and audited", func(t *testing.T) {
			tl, err := w.vs.HouseholdTimeline(w.cw, w.h2, 100)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range tl.Visits {
				got = append(got, v.Origin+" "+v.Status)
			}
			// The household's visit due 12-31, the child's retry due 12-13,
			// the child's visit that found nobody home on 12-10.
			want := []string{"s0 open", fmt.Sprintf("r:%d open", child), "s0 not_home"}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("timeline %v, want %v", got, want)
			}
			for _, v := range tl.Visits {
				if !strings.Contains(v.Whose, "*") {
					t.Errorf("an unmasked name on the timeline: %q", v.Whose)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'visits.household.timeline' AND object_id = $1`, w.h2); n != 1 {
				t.Errorf("%d audit entries for opening the timeline", n)
			}
			if _, err := w.vs.HouseholdTimeline(as("gw.1", access.GridWorker, communityA), w.h2, 100); !isStatus(err, 404) {
				t.Errorf("a grid worker opened another grid's household: %v", err)
			}
			if _, err := w.vs.HouseholdTimeline(as("cw.b", access.CommunityWorker, communityB), w.h2, 100); !isStatus(err, 404) {
				t.Errorf("another community opened the household: %v", err)
			}
			st, page, _ := e.Login("cw.a").Get("/visits/households/" + w.h2)
			if st != 200 || !strings.Contains(page, `id="sv-timeline"`) {
				t.Errorf("timeline page %d:\n%s", st, page)
			}
		})
		t.Run("the print sheet lists exactly the worker's visits of the month", func(t *testing.T) {
			sh, err := w.vs.MonthSheet(w.cw, "gw.2", dec)
			if err != nil {
				t.Fatal(err)
			}
			retry := w.visitsOf(t, w.child, "2026-12")[1].ID
			want := []int64{child, retry, family}
			sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
			var got []int64
			for _, l := range sh.Lines {
				got = append(got, l.ID)
				if !strings.Contains(l.Whose, "*") || l.Address == "" || l.Due == "" {
					t.Errorf("line %+v", l)
				}
			}
			sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("gw.2's December sheet has %v, want %v", got, want)
			}
			mine, err := w.vs.MonthSheet(as("gw.1", access.GridWorker, communityA), "", dec)
			if err != nil || len(mine.Lines) != 1 || mine.Lines[0].ID != elder1 || mine.Lines[0].VisitedOn != "2026-12-10" {
				t.Errorf("gw.1's own sheet: %+v %v", mine, err)
			}
			if _, err := w.vs.MonthSheet(as("gw.1", access.GridWorker, communityA), "gw.2", dec); !isStatus(err, 403) {
				t.Errorf("a grid worker printed another's sheet: %v", err)
			}
			if _, err := w.vs.MonthSheet(as("cw.b", access.CommunityWorker, communityB), "gw.2", dec); !isField(err, "worker") {
				t.Errorf("another community printed gw.2's sheet: %v", err)
			}
			jan, _ := visits.ParseMonth("2027-01")
			if sh, err := w.vs.MonthSheet(w.cw, "gw.2", jan); err != nil || len(sh.Lines) != 0 {
				t.Errorf("a month without a schedule: %+v %v", sh, err)
			}
			// A visit's own page prints as a record: its facts in the
			// record block, its form and actions outside it (the print
			// stylesheet leaves out forms, actions and navigation).
			st, page, _ := e.Login("cw.a").Get(fmt.Sprintf("/visits/%d", elder1))
			if rec := strings.Index(page, `class="summary record"`); st != 200 || rec < 0 || strings.Contains(page[rec:strings.Index(page[rec:], "</dl>")+rec], "<form") {
				t.Errorf("the visit's page %d does not print as a record:\n%s", st, page)
			}
			st, page, _ = e.Login("cw.a").Get("/visits/sheet?month=2026-12&worker=gw.2")
			if st != 200 || !strings.Contains(page, `class="record sv-sheet"`) || strings.Count(page, "data-visit=") != 3 {
				t.Errorf("sheet page %d:\n%s", st, page)
			}
		})
		t.Run("reassigning is scoped, confirmed and audited", func(t *testing.T) {
			if _, err := w.vs.ReassignMany(as("cw.b", access.CommunityWorker, communityB), visits.ReassignBatch{IDs: []int64{elder2}, Owner: "gw.b"}); !isStatus(err, 404) {
				t.Errorf("another community reassigned a visit: %v", err)
			}
			if _, err := w.vs.ReassignMany(as("gw.1", access.GridWorker, communityA), visits.ReassignBatch{IDs: []int64{elder2}, Owner: "gw.1"}); !isStatus(err, 403) {
				t.Errorf("a grid worker reassigned a visit: %v", err)
			}
			if _, err := w.vs.ReassignMany(w.cw, visits.ReassignBatch{IDs: []int64{elder2}, Owner: "gw.b"}); !isField(err, "owner") {
				t.Errorf("a visit given to another community's worker: %v", err)
			}
			if _, err := w.vs.ReassignMany(w.cw, visits.ReassignBatch{IDs: []int64{elder2, elder1}, Owner: "gw.1"}); !isStatus(err, 409) {
				t.Errorf("a recorded visit reassigned: %v", err)
			}
			if got := w.visitsOf(t, w.elder2, "2026-12")[0].Owner; got != "cw.a" {
				t.Errorf("a refused reassignment changed the owner to %s", got)
			}
			res, err := w.vs.ReassignMany(off, visits.ReassignBatch{IDs: []int64{elder2, family}, Owner: "gw.1"})
			if err != nil || len(res.Reassigned) != 2 {
				t.Fatalf("%+v %v", res, err)
			}
			for _, s := range []string{w.elder2, w.h2} {
				if got := w.visitsOf(t, s, "2026-12")[0].Owner; got != "gw.1" {
					t.Errorf("%s owned by %s", s, got)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'visits.visit.reassign'`); n != 2 {
				t.Errorf("%d reassignments audited, want 2", n)
			}
			cw := e.Login("cw.a")
			form := map[string]string{"id": fmt.Sprint(family), "owner": "gw.2", "back": "/visits/overdue"}
			st, page, _ := cw.Form("/visits/reassign", form, nil)
			if st != 200 || !strings.Contains(page, `id="sv-confirm"`) || w.visitsOf(t, w.h2, "2026-12")[0].Owner != "gw.1" {
				t.Errorf("the confirmation %d changed something or is missing:\n%s", st, page)
			}
			form["confirm"] = "1"
			if st, page, _ := cw.Form("/visits/reassign", form, nil); st != 200 || w.visitsOf(t, w.h2, "2026-12")[0].Owner != "gw.2" {
				t.Errorf("confirmed reassignment %d:\n%s", st, page)
			}
			form["owner"] = "gw.b"
			if st, page, _ := cw.Form("/visits/reassign", form, nil); st != 400 || !strings.Contains(page, "须为该社区的网格员或社区工作者") {
				t.Errorf("a worker of another community on the page: %d", st)
			}
		})
	})
}

func isStatus(err error, status int) bool {
	e, ok := fault.As(err)
	if !ok {
		return false
	}
	return web.Status(e) == status
}

func isField(err error, field string) bool {
	e, ok := fault.As(err)
	if !ok {
		return false
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}
