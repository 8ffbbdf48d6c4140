package assistance_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/assistance"
	"linli/internal/module"
	"linli/internal/registry"
	"linli/internal/visits"
)

// 动态监测: a visit that flagged a household, an assistance request by a
// member and a member tagged 低保边缘 each list their household on the
// community worker's monitoring list and 工作台 with the reason; one tap
// starts an application prefilled with the household and linked back to
// the signal, and a household with an application in hand is no longer
// listed.
func TestMonitoringSignalsStartPrefilledApplications(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("res.a", access.Resident, communityA)
		asker, _ := w.household(t, "res.a", 1975)
		edge, edgeMembers := w.household(t, "", 1962, 1990)
		visited, visitedMembers := w.household(t, "", 1940)
		quiet, _ := w.household(t, "", 1980)
		if _, err := w.reg.AddTag(w.cw, edgeMembers[0], registry.TagInput{Tag: "dibao_edge"}); err != nil {
			t.Fatal(err)
		}
		// The visit: the old resident is tagged for the elderly visits, the
		// month is scheduled, and the worker records a high-risk finding.
		if _, err := w.reg.AddTag(w.cw, visitedMembers[0], registry.TagInput{Tag: "empty_nest"}); err != nil {
			t.Fatal(err)
		}
		vs := visits.StoreOf(e.App.Module("visits"))
		m, _ := visits.ParseMonth("2026-11")
		if _, err := vs.Schedule(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
		var visitID int64
		if err := e.App.DB.R.QueryRow(`SELECT id FROM vis_visits WHERE household_id = $1 AND status = 'open' ORDER BY id LIMIT 1`, visited).Scan(&visitID); err != nil {
			t.Fatal(err)
		}
		if _, err := vs.Record(w.cw, visitID, visits.RecordInput{Method: visits.MethodHome, VisitedAt: "2026-11-29T07:00", Outcome: visits.OutcomeDone, Risk: visits.RiskHigh,
			Answers: map[string][]string{"health": {"fair"}, "living": {"good"}, "gas_safe": {"yes"}}, Present: "本人",
			FlagAssistance: true, AssistanceReason: "独居失能，收入微薄"}); err != nil {
			t.Fatal(err)
		}
		res, cw := e.Login("res.a"), e.Login("cw.a")
		apptest.JSON[map[string]any](t, res, "POST", "/api/v1/requests", map[string]any{"category": "assistance", "description": "家中突发困难，想了解临时救助。"}, 201)
		visitSource := "visit:" + strconv.FormatInt(visitID, 10)

		t.Run("the monitoring list names each household found, with its reason, and no other", func(t *testing.T) {
			pg := apptest.JSON[assistance.WatchPage](t, cw, "GET", "/api/v1/assistance/warnings", nil, 200)
			got := map[string]string{}
			for _, g := range pg.Items {
				got[g.Kind] = g.HouseholdID
				if g.Kind == assistance.SignalVisit && (g.Note != "独居失能，收入微薄" || g.Source() != visitSource) {
					t.Errorf("visit signal %+v", g)
				}
			}
			want := map[string]string{assistance.SignalVisit: visited, assistance.SignalRequest: asker, assistance.SignalEdge: edge}
			if pg.Total != 3 || len(got) != 3 || got[assistance.SignalVisit] != visited || got[assistance.SignalRequest] != asker || got[assistance.SignalEdge] != edge {
				t.Fatalf("signals %+v (total %d), want %v", pg.Items, pg.Total, want)
			}
			for _, g := range pg.Items {
				if g.HouseholdID == quiet {
					t.Fatal("a household without a signal is listed")
				}
			}
			if other := apptest.JSON[assistance.WatchPage](t, e.Login("cw.b"), "GET", "/api/v1/assistance/warnings", nil, 200); other.Total != 0 || len(other.Items) != 0 {
				t.Fatalf("another community sees %+v", other)
			}
			for _, c := range []*apptest.Client{res, e.Login("off.county")} {
				if st, _ := c.Do("GET", "/api/v1/assistance/warnings", nil); st != 403 {
					t.Fatalf("a resident or an officer reads the monitoring list: %d", st)
				}
			}
			apptest.JSON[map[string]any](t, cw, "GET", "/api/v1/assistance/warnings?limit=0", nil, 400)
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'assistance.watch_read'`); n != 2 {
				t.Errorf("%d audited reads of the list, want 2", n)
			}
		})
		t.Run("the 工作台 counts them and each item starts its application in one tap", func(t *testing.T) {
			p := &access.Principal{Username: "cw.a", Role: access.CommunityWorker, Division: communityA}
			b, err := w.as.WorkBoard(w.cw, p, module.WorkQuery{Kind: "assistance.watch", Limit: 10, Bound: 100})
			if err != nil {
				t.Fatal(err)
			}
			var n int
			for _, c := range b.Counts {
				if c.Kind == "assistance.watch" {
					n = c.Count
				}
			}
			if n != 3 || len(b.Items) != 3 {
				t.Fatalf("board %+v", b)
			}
			for _, it := range b.Items {
				if !strings.HasPrefix(it.Href, "/assistance/apply?household_id=") || !strings.Contains(it.Href, "&source=") || it.Kind != "assistance.watch" {
					t.Fatalf("item %+v", it)
				}
			}
			if st, page, _ := cw.Get("/assistance/watch"); st != 200 || !strings.Contains(page, "独居失能，收入微薄") || !strings.Contains(page, "低保边缘家庭") {
				t.Fatalf("watch page: %d", st)
			}
		})
		t.Run("the visit's signal opens the form prefilled with the household, its members and the reason", func(t *testing.T) {
			st, page, _ := cw.Get("/assistance/apply?household_id=" + visited + "&source=" + visitSource)
			if st != 200 || !strings.Contains(page, `name="source" value="`+visitSource+`"`) || !strings.Contains(page, "独居失能，收入微薄") || !strings.Contains(page, `value="`+visitedMembers[0]+`"`) {
				t.Fatalf("prefilled form: %d", st)
			}
		})
		t.Run("a source that is not a signal of the household is a 400 naming source, and nothing is written", func(t *testing.T) {
			for _, src := range []string{"visit:999999", "dibao_edge:" + edgeMembers[0], "nonsense"} {
				st, body := cw.Do("POST", "/api/v1/assistance/applications", assistance.ApplyInput{HouseholdID: visited, Programmes: []string{"dibao"}, Source: src})
				if st != 400 || !strings.Contains(body, `"field":"source"`) {
					t.Fatalf("source %s: %d %s", src, st, body)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_applications`); n != 0 {
				t.Fatalf("%d applications written", n)
			}
		})
		var a assistance.Application
		t.Run("applying from the signal records the source, and the application links back to the visit", func(t *testing.T) {
			st, _, hdr := cw.Form("/assistance/apply", map[string]string{"household_id": visited, "source": visitSource, "programme": "dibao", "income": "300", "assets": "0", "consent": "yes"}, nil)
			if st != 303 {
				t.Fatalf("apply: %d", st)
			}
			id := strings.TrimSuffix(strings.TrimPrefix(hdr.Get("Location"), "/assistance/applications/"), "?applied=1")
			a = apptest.JSON[assistance.Application](t, cw, "GET", "/api/v1/assistance/applications/"+id, nil, 200)
			if a.Source != visitSource || a.HouseholdID != visited || !a.OnBehalf || !strings.Contains(a.Events[0].Note, visitSource) {
				t.Fatalf("application %+v", a)
			}
			if st, page, _ := cw.Get("/assistance/applications/" + a.ID); st != 200 || !strings.Contains(page, `href="/visits/`+strconv.FormatInt(visitID, 10)+`"`) {
				t.Fatalf("application page: %d", st)
			}
		})
		t.Run("a household with an application in hand leaves the list; refused, it comes back", func(t *testing.T) {
			pg := apptest.JSON[assistance.WatchPage](t, cw, "GET", "/api/v1/assistance/warnings", nil, 200)
			if pg.Total != 2 {
				t.Fatalf("after applying: %+v", pg)
			}
			apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications/"+a.ID+"/accept", assistance.Input{}, 200)
			apptest.JSON[assistance.Application](t, e.Login("off.county"), "POST", "/api/v1/assistance/applications/"+a.ID+"/refuse", assistance.Input{Reason: "子女有赡养能力"}, 200)
			if pg := apptest.JSON[assistance.WatchPage](t, cw, "GET", "/api/v1/assistance/warnings", nil, 200); pg.Total != 3 {
				t.Fatalf("after the refusal: %+v", pg)
			}
		})
	})
}
