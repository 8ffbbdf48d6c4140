package assistance_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/assistance"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/registry"
	"linli/internal/visits"
)

// C12: a household enrolled in assistance is an assisted family for the
// visits module's 救助家庭关爱 programme without anyone tagging it. It is
// due from the plan after its enrolment, counts once in C12's denominator
// even when a member is also tagged 低保, and after its exit drops out of
// the later months' plans while the visits already due stay.
func TestEnrolledHouseholdsAreVisitedAsAssistedFamilies(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		vs := visits.StoreOf(e.App.Module("visits"))
		ctx := context.Background()
		plain, plainMembers := w.household(t, "", 1976, 1978)
		tagged, taggedMembers := w.household(t, "", 1970)
		if _, err := w.reg.AddTag(w.cw, taggedMembers[0], registry.TagInput{Tag: "dibao"}); err != nil {
			t.Fatal(err)
		}
		dec, _ := visits.ParseMonth("2026-12")
		jan := dec.Next()
		// due is how many assisted families the month's plan holds for
		// community A, as C12's denominator counts them.
		due := func(t *testing.T, m visits.Month) float64 {
			t.Helper()
			for _, el := range visits.Elements() {
				if el.Key == "assisted_families_due" {
					sc := access.Subtree(communityA)
					got, err := el.Sum(ctx, e.App.DB.R, module.Group{Lo: sc.Lo, Hi: sc.Hi, Prefix: 12, Year: m.Year, Month: int(m.Month)})
					if err != nil {
						t.Fatal(err)
					}
					return got[communityA]
				}
			}
			t.Fatal("no element assisted_families_due")
			return 0
		}
		// open is how many open visits of the programme the household has in the month.
		open := func(household string, m visits.Month) int {
			return e.Count(`SELECT COUNT(*) FROM vis_visits WHERE programme_id = 'prog-assisted-families' AND subject_id = $1 AND month = $2 AND status = 'open'`, household, m.String())
		}
		reconcile := func(t *testing.T, m visits.Month) {
			t.Helper()
			if _, err := vs.Reconcile(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		t.Run("before any enrolment only the household tagged 低保 is due", func(t *testing.T) {
			reconcile(t, dec)
			if open(plain, dec) != 0 || open(tagged, dec) != 1 || due(t, dec) != 1 {
				t.Fatalf("plain %d, tagged %d open; %v due", open(plain, dec), open(tagged, dec), due(t, dec))
			}
		})
		var plainApp, taggedApp assistance.Application
		t.Run("both households are enrolled after the 公示", func(t *testing.T) {
			cw, off := as("cw.a", access.CommunityWorker, communityA), as("off.county", access.Officer, county)
			apply := func(t *testing.T, hh string, members []string) assistance.Application {
				t.Helper()
				var ms []assistance.MemberInput
				for _, m := range members {
					ms = append(ms, assistance.MemberInput{ResidentID: m})
				}
				a, err := w.as.Apply(cw, assistance.ApplyInput{HouseholdID: hh, Members: ms, IncomeFen: fen(50000), AssetsFen: fen(0), Programmes: []string{"dibao"}, Consent: true})
				if err != nil {
					t.Fatal(err)
				}
				for _, mv := range []struct{ action, note string }{{"accept", ""}, {"check", ""}, {"checked", ""}, {"publicize", "入户调查属实"}} {
					if a, err = w.as.Transition(cw, a.ID, mv.action, assistance.Input{Note: mv.note}); err != nil {
						t.Fatalf("%s: %v", mv.action, err)
					}
				}
				return a
			}
			plainApp, taggedApp = apply(t, plain, plainMembers), apply(t, tagged, taggedMembers)
			e.Clock.Add(8 * 24 * time.Hour) // the notice's 7 days: Monday 7 December
			for _, a := range []*assistance.Application{&plainApp, &taggedApp} {
				var err error
				if *a, err = w.as.Transition(off, a.ID, "approve", assistance.Input{}); err != nil {
					t.Fatal(err)
				}
				if *a, err = w.as.Transition(cw, a.ID, "enrol", assistance.Input{}); err != nil || a.Status != assistance.Enrolled {
					t.Fatalf("enrol: %v %+v", err, a.Status)
				}
			}
		})
		t.Run("the enrolled household is due in this month's reconciled plan and the next month's", func(t *testing.T) {
			reconcile(t, dec) // incremental: the enrolment is what changed
			reconcile(t, jan)
			for _, m := range []visits.Month{dec, jan} {
				if open(plain, m) != 1 || open(tagged, m) != 1 {
					t.Fatalf("%s: plain %d, tagged %d open visits, want one each", m, open(plain, m), open(tagged, m))
				}
			}
		})
		t.Run("C12's denominator counts each household once, the tagged and enrolled one too", func(t *testing.T) {
			for _, m := range []visits.Month{dec, jan} {
				if got := due(t, m); got != 2 {
					t.Fatalf("%s: %v assisted families due, want 2", m, got)
				}
			}
		})
		t.Run("after its exit the household drops out of the later months; December's visit stays", func(t *testing.T) {
			var err error
			if plainApp, err = w.as.Transition(as("cw.a", access.CommunityWorker, communityA), plainApp.ID, "exit", assistance.Input{Reason: "家庭成员就业，收入超过标准"}); err != nil {
				t.Fatal(err)
			}
			reconcile(t, dec)
			reconcile(t, jan)
			if open(plain, dec) != 1 || due(t, dec) != 2 {
				t.Fatalf("December: %d open visits of the exited household, %v due; want 1 and 2", open(plain, dec), due(t, dec))
			}
			if open(plain, jan) != 0 || due(t, jan) != 1 {
				t.Fatalf("January: %d open visits of the exited household, %v due; want 0 and 1", open(plain, jan), due(t, jan))
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE subject_id = $1 AND month = $2 AND status = 'cancelled'`, plain, jan.String()); n != 1 {
				t.Fatalf("January's visit of the exited household: %d cancelled, want 1", n)
			}
			// The tagged household stays: its tag, not only its enrolment, makes it one.
			if open(tagged, jan) != 1 {
				t.Fatalf("the tagged household's January visits: %d", open(tagged, jan))
			}
		})
		t.Run("a visit of the enrolled household recorded at high risk is a warning on the community worker's 工作台", func(t *testing.T) {
			var visitID int64
			if err := e.App.DB.R.QueryRow(`SELECT id FROM vis_visits WHERE subject_id = $1 AND month = $2 AND status = 'open'`, tagged, dec.String()).Scan(&visitID); err != nil {
				t.Fatal(err)
			}
			if _, err := vs.Record(w.cw, visitID, visits.RecordInput{Method: visits.MethodHome, VisitedAt: "2026-12-07T10:00", Outcome: visits.OutcomeDone, Risk: visits.RiskHigh,
				Answers: map[string][]string{"health": {"poor"}, "living": {"hard"}}, Present: "本人"}); err != nil {
				t.Fatal(err)
			}
			g := warningOf(t, w, tagged)
			if g.Kind != assistance.SignalRisk || g.Source() != "risk:"+strconv.FormatInt(visitID, 10) || !strings.HasPrefix(g.Reason().ZH, "探访发现高风险") {
				t.Fatalf("warning %+v", g)
			}
			it := workItemOf(t, w, tagged)
			if !strings.Contains(it.Title.ZH, "探访发现高风险") || it.Href != g.StartHref() || it.Urgent {
				t.Fatalf("工作台 item %+v", it)
			}
		})
	})
}

// warningOf is the one warning of the household on community A's
// monitoring list.
func warningOf(t *testing.T, w *town, household string) assistance.Signal {
	t.Helper()
	sigs, _, err := w.as.Watch(w.cw, &access.Principal{Username: "cw.a", Role: access.CommunityWorker, Division: communityA}, 50)
	if err != nil {
		t.Fatal(err)
	}
	var found []assistance.Signal
	for _, g := range sigs {
		if g.HouseholdID == household {
			found = append(found, g)
		}
	}
	if len(found) != 1 {
		t.Fatalf("warnings of the household: %+v", found)
	}
	return found[0]
}

// workItemOf is the household's item on community A's worker's 工作台.
func workItemOf(t *testing.T, w *town, household string) module.WorkItem {
	t.Helper()
	b, err := w.as.WorkBoard(w.cw, &access.Principal{Username: "cw.a", Role: access.CommunityWorker, Division: communityA}, module.WorkQuery{Kind: "assistance.watch", Limit: 50, Bound: 100})
	if err != nil {
		t.Fatal(err)
	}
	var found []module.WorkItem
	for _, it := range b.Items {
		if strings.Contains(it.Href, "household_id="+household+"&") {
			found = append(found, it)
		}
	}
	if len(found) != 1 {
		t.Fatalf("工作台 items of the household: %+v", found)
	}
	return found[0]
}

// A member newly tagged 重残 and a visit at high risk to a household
// without assistance each raise a warning with its reason; a tag set long
// ago does not, nor does a visit at high risk that already flagged the
// household (its flag is the one warning).
func TestSevereDisabilityAndHighRiskVisitsWarn(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		vs := visits.StoreOf(e.App.Module("visits"))
		old, oldMembers := w.household(t, "", 1940)
		disabled, disabledMembers := w.household(t, "", 1985, 2012)
		longAgo, longAgoMembers := w.household(t, "", 1950)
		if _, err := w.reg.AddTag(w.cw, longAgoMembers[0], registry.TagInput{Tag: "severe_disability"}); err != nil {
			t.Fatal(err)
		}
		e.Clock.Add(100 * 24 * time.Hour) // 9 March 2027: that tag is past the 90 days
		apptest.JSON[[]assistance.Standard](t, e.Login("off.county"), "POST", "/api/v1/assistance/standards", assistance.Standard{County: county, Year: 2027, DibaoFen: 115000}, 200)
		if _, err := w.reg.AddTag(w.cw, oldMembers[0], registry.TagInput{Tag: "empty_nest"}); err != nil {
			t.Fatal(err)
		}
		m := visits.MonthOf(e.Clock.Now())
		if _, err := vs.Schedule(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
		t.Run("a member newly tagged 重残 raises a warning naming the reason; the old tag none", func(t *testing.T) {
			if _, err := w.reg.AddTag(w.cw, disabledMembers[1], registry.TagInput{Tag: "severe_disability"}); err != nil {
				t.Fatal(err)
			}
			g := warningOf(t, w, disabled)
			if g.Kind != assistance.SignalDisability || g.Ref != disabledMembers[1] || g.Reason().ZH != "家庭成员新认定重残" {
				t.Fatalf("warning %+v", g)
			}
			sigs, _, err := w.as.Watch(w.cw, &access.Principal{Username: "cw.a", Role: access.CommunityWorker, Division: communityA}, 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range sigs {
				if g.HouseholdID == longAgo {
					t.Fatalf("a tag set 100 days ago warns: %+v", g)
				}
			}
		})
		var visitID int64
		if err := e.App.DB.R.QueryRow(`SELECT id FROM vis_visits WHERE household_id = $1 AND status = 'open' ORDER BY id LIMIT 1`, old).Scan(&visitID); err != nil {
			t.Fatal(err)
		}
		t.Run("a visit recorded at high risk without a flag warns, and its item starts an application from it", func(t *testing.T) {
			if _, err := vs.Record(w.cw, visitID, visits.RecordInput{Method: visits.MethodHome, VisitedAt: e.Clock.Now().Add(8 * time.Hour).Format("2006-01-02T15:04"), Outcome: visits.OutcomeDone, Risk: visits.RiskHigh,
				Answers: map[string][]string{"health": {"poor"}, "living": {"hard"}}, Present: "本人"}); err != nil {
				t.Fatal(err)
			}
			g := warningOf(t, w, old)
			if g.Kind != assistance.SignalRisk || g.Ref != strconv.FormatInt(visitID, 10) || assistance.SourceHref(g.Source()) != "/visits/"+g.Ref {
				t.Fatalf("warning %+v", g)
			}
			if it := workItemOf(t, w, old); !strings.Contains(it.Href, "&source=risk:"+g.Ref) {
				t.Fatalf("工作台 item %+v", it)
			}
			if st, page, _ := e.Login("cw.a").Get("/assistance/watch"); st != 200 || !strings.Contains(page, "探访发现高风险") || !strings.Contains(page, "家庭成员新认定重残") {
				t.Fatalf("watch page: %d", st)
			}
		})
		t.Run("an application started from the warning takes it off the list", func(t *testing.T) {
			a, err := w.as.Apply(w.cw, assistance.ApplyInput{HouseholdID: old, IncomeFen: fen(30000), AssetsFen: fen(0), Programmes: []string{"temporary"}, Consent: true, Source: "risk:" + strconv.FormatInt(visitID, 10)})
			if err != nil {
				var fe *fault.Error
				errors.As(err, &fe)
				t.Fatalf("%v %+v", err, fe.Fields)
			}
			if a.Source != "risk:"+strconv.FormatInt(visitID, 10) {
				t.Fatalf("source %q", a.Source)
			}
			sigs, _, err := w.as.Watch(w.cw, &access.Principal{Username: "cw.a", Role: access.CommunityWorker, Division: communityA}, 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range sigs {
				if g.HouseholdID == old {
					t.Fatalf("still listed: %+v", g)
				}
			}
		})
	})
}
