package deliberation_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/deliberation"
	"linli/internal/registry"
	"linli/internal/registry/idno"
)

// A decision's plan has milestones, marked done by progress updates and
// shown overdue past their date; once the topic is done the households of
// its area rate the result once each, and the decision and the public
// board show the average and count.
func TestMilestonesAndRatings(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		// A second account in household 1.
		ctx := access.With(context.Background(), &access.Principal{Username: "cw", Role: access.CommunityWorker, Division: communityA})
		e.User("res.1b", access.Resident, communityA)
		if _, err := h.reg.CreateResident(ctx, registry.ResidentInput{HouseholdID: h.homes["res.1"], Name: "住户配偶", Relation: "配偶", Residence: "registered",
			IDNumber: idno.Synthetic("330106", time.Date(1952, 3, 1, 0, 0, 0, 0, time.UTC), 301), Username: "res.1b"}); err != nil {
			t.Fatal(err)
		}
		tp := h.accepted(t, "1 幢楼道照明改造", "building", "上保社区 1 幢")
		apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics/"+tp.ID+"/deliberate", deliberation.MoveInput{}, 200)
		d := apptest.JSON[deliberation.Decision](t, h.cw, "POST", "/api/v1/decisions", deliberation.DecisionInput{TopicID: tp.ID, Text: "更换为声控灯", DecidedBy: "居民议事会", Owner: "王物业", Plan: "两周内完成"}, 201)
		today := e.Clock.Now().In(cst)
		day := func(n int) string { return today.AddDate(0, 0, n).Format("2006-01-02") }
		milestones := "/api/v1/decisions/" + d.ID + "/milestones"
		ratings := "/api/v1/decisions/" + d.ID + "/ratings"
		t.Run("a milestone without a title, with a bad or past date, or from a resident is refused; nothing is written", func(t *testing.T) {
			refused(t, h.cw, "POST", milestones, deliberation.MilestoneInput{Due: day(3)}, 400, "title")
			refused(t, h.cw, "POST", milestones, deliberation.MilestoneInput{Title: "采购灯具", Due: "next week"}, 400, "due")
			refused(t, h.cw, "POST", milestones, deliberation.MilestoneInput{Title: "采购灯具", Due: day(-1)}, 400, "due")
			refused(t, e.Login("res.1"), "POST", milestones, deliberation.MilestoneInput{Title: "采购灯具", Due: day(3)}, 403, "")
			refused(t, e.Login("cw.b"), "POST", milestones, deliberation.MilestoneInput{Title: "采购灯具", Due: day(3)}, 404, "")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_milestones`); n != 0 {
				t.Fatalf("milestones %d", n)
			}
		})
		t.Run("milestones are added in the plan", func(t *testing.T) {
			apptest.JSON[deliberation.Decision](t, h.cw, "POST", milestones, deliberation.MilestoneInput{Title: "采购灯具", Due: day(5)}, 201)
			got := apptest.JSON[deliberation.Decision](t, h.cw, "POST", milestones, deliberation.MilestoneInput{Title: "安装完成", Due: day(12)}, 201)
			if len(got.Milestones) != 2 || got.Milestones[0].Title != "采购灯具" || got.Milestones[0].Done || got.Overdue != 0 {
				t.Fatalf("milestones %+v", got.Milestones)
			}
		})
		t.Run("rating before the topic is done is refused", func(t *testing.T) {
			refused(t, e.Login("res.1"), "POST", ratings, deliberation.RatingInput{Stars: 5}, 409, "")
		})
		t.Run("a progress update marks a milestone done, once", func(t *testing.T) {
			got := apptest.JSON[deliberation.Decision](t, h.cw, "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 40, Note: "灯具已到货", Milestone: 1}, 201)
			if !got.Milestones[0].Done || got.Milestones[0].DoneAt == nil || got.Milestones[1].Done {
				t.Fatalf("milestones %+v", got.Milestones)
			}
			refused(t, h.cw, "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 50, Note: "x", Milestone: 1}, 400, "milestone")
			refused(t, h.cw, "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 50, Note: "x", Milestone: 9}, 400, "milestone")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_progress WHERE decision_id = $1`, d.ID); n != 1 {
				t.Fatalf("progress rows %d", n)
			}
		})
		e.Clock.Set(e.Clock.Now().Add(14 * 24 * time.Hour))
		t.Run("a milestone past its date shows overdue on the decision and the board", func(t *testing.T) {
			got := apptest.JSON[deliberation.Decision](t, e.Login("res.5"), "GET", "/api/v1/decisions/"+d.ID, nil, 200)
			if got.Overdue != 1 || !got.Milestones[1].Overdue || got.Milestones[0].Overdue {
				t.Fatalf("overdue %d %+v", got.Overdue, got.Milestones)
			}
			pg := apptest.JSON[deliberation.DecisionPage](t, e.Client(), "GET", "/api/v1/decisions?division_code="+communityA, nil, 200)
			if len(pg.Items) != 1 || pg.Items[0].Overdue != 1 {
				t.Fatalf("board %+v", pg.Items)
			}
			st, body, _ := e.Client().Get("/deliberation/board/" + communityA)
			if st != 200 || !strings.Contains(body, `class="tag t-bad overdue"`) {
				t.Fatalf("board page %d", st)
			}
		})
		cw := e.Login("cw.a")
		t.Run("at 100% the topic is done and takes no more milestones", func(t *testing.T) {
			got := apptest.JSON[deliberation.Decision](t, cw, "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 100, Note: "已全部更换", Milestone: 2}, 201)
			if got.Status != deliberation.Done || got.Overdue != 0 {
				t.Fatalf("decision %+v", got)
			}
			refused(t, cw, "POST", milestones, deliberation.MilestoneInput{Title: "回访", Due: e.Clock.Now().In(cst).AddDate(0, 0, 3).Format("2006-01-02")}, 409, "")
		})
		t.Run("bad stars, a household outside the area and a worker are refused; nothing is written", func(t *testing.T) {
			refused(t, e.Login("res.1"), "POST", ratings, deliberation.RatingInput{Stars: 6}, 400, "stars")
			refused(t, e.Login("res.1"), "POST", ratings, deliberation.RatingInput{Stars: 0}, 400, "stars")
			refused(t, e.Login("res.5"), "POST", ratings, deliberation.RatingInput{Stars: 5}, 403, "")
			refused(t, e.Login("res.b"), "POST", ratings, deliberation.RatingInput{Stars: 5}, 404, "")
			refused(t, cw, "POST", ratings, deliberation.RatingInput{Stars: 5}, 403, "")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_ratings`); n != 0 {
				t.Fatalf("ratings %d", n)
			}
		})
		t.Run("each household of the area rates once, whichever member rates", func(t *testing.T) {
			got := apptest.JSON[deliberation.Decision](t, e.Login("res.1"), "POST", ratings, deliberation.RatingInput{Stars: 5, Comment: "晚上亮堂多了"}, 201)
			if got.Rating == nil || got.Rating.Count != 1 || got.Rating.Mine != 5 {
				t.Fatalf("rating %+v", got.Rating)
			}
			refused(t, e.Login("res.1"), "POST", ratings, deliberation.RatingInput{Stars: 1}, 409, "")
			refused(t, e.Login("res.1b"), "POST", ratings, deliberation.RatingInput{Stars: 1}, 409, "")
			got = apptest.JSON[deliberation.Decision](t, e.Login("res.2"), "POST", ratings, deliberation.RatingInput{Stars: 4}, 201)
			if got.Rating.Count != 2 || got.Rating.Average != 4.5 {
				t.Fatalf("rating %+v", got.Rating)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'deliberation.rate'`); n != 2 {
				t.Fatalf("audit entries %d", n)
			}
		})
		t.Run("the decision and the public board show the average and count; the worker reads the comments", func(t *testing.T) {
			pg := apptest.JSON[deliberation.DecisionPage](t, e.Client(), "GET", "/api/v1/decisions?division_code="+communityA, nil, 200)
			if r := pg.Items[0].Rating; r == nil || r.Count != 2 || r.Average != 4.5 || r.Comments != nil {
				t.Fatalf("board rating %+v", r)
			}
			st, body, _ := e.Client().Get("/deliberation/board/" + communityA)
			if st != 200 || !strings.Contains(body, "<strong>4.5</strong>") {
				t.Fatalf("board page %d", st)
			}
			got := apptest.JSON[deliberation.Decision](t, cw, "GET", "/api/v1/decisions/"+d.ID, nil, 200)
			if len(got.Rating.Comments) != 1 || got.Rating.Comments[0].Comment != "晚上亮堂多了" {
				t.Fatalf("the worker's rating %+v", got.Rating)
			}
			_, body, _ = e.Login("res.3").Get("/deliberation/decisions/" + d.ID)
			if !strings.Contains(body, `id="rate-form"`) || !strings.Contains(body, `id="rating-average">4.5<`) {
				t.Fatalf("res.3 is not offered the rating")
			}
			_, body, _ = e.Login("res.1b").Get("/deliberation/decisions/" + d.ID)
			if strings.Contains(body, `id="rate-form"`) || !strings.Contains(body, `id="my-rating"`) {
				t.Fatalf("res.1b is offered the rating again")
			}
		})
		t.Run("the page rates without JavaScript", func(t *testing.T) {
			st, _, _ := e.Login("res.3").Form("/deliberation/decisions/"+d.ID+"/rate", map[string]string{"stars": "3"}, nil)
			if st != 303 || e.Count(`SELECT COUNT(*) FROM dlb_ratings WHERE decision_id = $1`, d.ID) != 3 {
				t.Fatalf("the page's rating %d", st)
			}
		})
	})
}
