package visits_test

import (
	"fmt"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/visits"
)

// A recorded visit's finding can become a council topic: the visit page
// offers it to the community worker (not to the grid worker, who does not
// work with the councils), the topic names the visit as its source, and
// the visit page then links to the topic instead.
func TestAVisitsFindingBecomesACouncilTopic(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.schedule(t, "2026-12")
		w.e.Clock.Set(day("2026-12-15T18:00"))
		cw, gw := e.Login("cw.a"), e.Login("gw.1")
		if st, body := cw.Do("POST", "/api/v1/councils", map[string]any{"division_code": communityA, "name": "上保社区居民议事会", "quorum_pm": 500,
			"majority": "simple", "cosign_threshold": 2, "cosign_days": 7,
			"members": []map[string]string{{"name": "陈建国", "role": "resident_rep", "term_from": "2026-01-01", "term_until": "2028-12-31"}}}); st != 201 {
			t.Fatalf("council: %d %s", st, body)
		}
		v := w.visitsOf(t, w.elder1, "2026-12")[0]
		raise := func(c *apptest.Client, id int64) (int, string) {
			return c.Do("POST", "/api/v1/topics", map[string]string{"title": "楼道无障碍扶手缺失", "description": "探访发现多层住宅楼道没有扶手，老人上下楼困难",
				"area_kind": "community", "source": fmt.Sprintf("visit:%d", id)})
		}
		t.Run("a visit not yet recorded cannot be the source", func(t *testing.T) {
			if st, body := raise(cw, v.ID); st != 400 || !strings.Contains(body, `"source"`) {
				t.Fatalf("status %d: %s", st, body)
			}
		})
		if _, err := w.vs.Record(w.cw, v.ID, visits.RecordInput{Method: visits.MethodHome, VisitedAt: "2026-12-15T10:00", Outcome: visits.OutcomeDone,
			Risk: visits.RiskNormal, Answers: map[string][]string{"health": {"fair"}, "living": {"good"}}}); err != nil {
			t.Fatal(err)
		}
		page := fmt.Sprintf("/visits/%d", v.ID)
		t.Run("the recorded visit's page offers the community worker to raise a topic", func(t *testing.T) {
			_, body, _ := cw.Get(page)
			if !strings.Contains(body, fmt.Sprintf(`id="raise-topic" href="/deliberation/raise?source=visit:%d"`, v.ID)) {
				t.Fatalf("community worker's visit page lacks the raise link:\n%s", body)
			}
			if _, body, _ = gw.Get(page); strings.Contains(body, `id="raise-topic"`) {
				t.Fatal("the grid worker is offered to raise a topic")
			}
		})
		t.Run("the topic names the visit, and the visit page links to it", func(t *testing.T) {
			st, body := raise(cw, v.ID)
			if st != 201 || !strings.Contains(body, fmt.Sprintf(`"source":"visit:%d"`, v.ID)) || !strings.Contains(body, `"origin":"visit"`) {
				t.Fatalf("raise: %d %s", st, body)
			}
			if _, body, _ = cw.Get(page); !strings.Contains(body, `id="topic"`) || strings.Contains(body, `id="raise-topic"`) {
				t.Fatalf("visit page after raising:\n%s", body)
			}
			if st, _ := raise(cw, v.ID); st != 409 {
				t.Fatalf("a second topic from the visit: %d, want 409", st)
			}
		})
	})
}
