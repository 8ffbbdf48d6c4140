package projects_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/projects"
	"linli/internal/registry"
	"linli/internal/registry/idno"
	"linli/internal/visits"
	"linli/internal/volunteers"
	"linli/internal/web"
)

// A project's targets of the kinds Linli records count by themselves:
// home visits done in the project's area within its period, read from
// the visits module's published view.
func TestCountedTargets(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		fixture(t, e)
		e.User("cw.a", access.CommunityWorker, communityA)
		e.User("cw.b", access.CommunityWorker, communityB)
		cwA, cwB := as("cw.a", access.CommunityWorker, communityA), as("cw.b", access.CommunityWorker, communityB)
		off := as("off.a", access.Officer, townA)
		ps := projects.StoreOf(e.App.Module("projects"))
		vs := visits.StoreOf(e.App.Module("visits"))
		reg := registry.StoreOf(e.App.Module("registry"))
		seq := 0
		elder := func(ctx context.Context, div string) string {
			t.Helper()
			seq++
			h, err := reg.CreateHousehold(ctx, registry.HouseholdInput{Division: div, HouseholdNo: "H" + string(rune('0'+seq)), Address: "1 幢 10" + string(rune('0'+seq)) + " 室"})
			if err != nil {
				t.Fatal(err)
			}
			r, err := reg.CreateResident(ctx, registry.ResidentInput{HouseholdID: h.ID, Name: "居民" + string(rune('甲'+seq)), Relation: "户主", Residence: "registered",
				IDNumber: idno.Synthetic("330106", time.Date(1948, 3, 14, 0, 0, 0, 0, time.UTC), 900+seq)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := reg.AddTag(ctx, r.ID, registry.TagInput{Tag: "empty_nest"}); err != nil {
				t.Fatal(err)
			}
			return r.ID
		}
		schedule := func(month string) {
			t.Helper()
			m, err := visits.ParseMonth(month)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := vs.Schedule(context.Background(), m, ""); err != nil {
				t.Fatal(err)
			}
		}
		// record closes the subject's first open visit of the month as a
		// home visit at the given China time.
		record := func(ctx context.Context, subject, month, at string) {
			t.Helper()
			var id int64
			if err := e.App.DB.R.QueryRow(`SELECT MIN(id) FROM vis_visits WHERE subject_id = $1 AND month = $2 AND status = 'open'`, subject, month).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if _, err := vs.Record(ctx, id, visits.RecordInput{Method: visits.MethodHome, VisitedAt: at, Outcome: visits.OutcomeDone, Risk: visits.RiskNormal,
				Answers: map[string][]string{"health": {"fair"}, "living": {"good"}}}); err != nil {
				t.Fatal(err)
			}
		}
		in := project()
		in.PeriodFrom, in.PeriodTo, in.Deadline = "2026-12-01", "2027-06-30", "2026-11-30"
		t.Run("a counted target of an unknown kind or a goal of 0 is refused naming it", func(t *testing.T) {
			bad := in
			bad.Counted = []projects.CountedTarget{{Kind: projects.TargetHomeVisits, Goal: 0}}
			if p := apptest.JSON[web.Problem](t, e.Login("off.a"), "POST", "/api/v1/projects", bad, 400); !slices.Equal(fields(p), []string{"counted.0.goal"}) {
				t.Errorf("fields %v", fields(p))
			}
			bad.Counted = []projects.CountedTarget{{Kind: "meals", Goal: 5}}
			if p := apptest.JSON[web.Problem](t, e.Login("off.a"), "POST", "/api/v1/projects", bad, 400); !slices.Equal(fields(p), []string{"counted.0.kind"}) {
				t.Errorf("fields %v", fields(p))
			}
		})
		in.Counted = []projects.CountedTarget{{Kind: projects.TargetHomeVisits, Goal: 100}, {Kind: projects.TargetVolunteerActivities, Goal: 12}}
		pr, err := ps.Create(off, in)
		if err != nil {
			t.Fatal(err)
		}
		elder1, elder2, elderB := elder(cwA, communityA), elder(cwA, communityA), elder(cwB, communityB)
		e.Clock.Set(time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)) // 12:00 in China
		schedule("2026-11")
		record(cwA, elder1, "2026-11", "2026-11-29T08:00") // before the period
		e.Clock.Set(time.Date(2026, 12, 15, 10, 0, 0, 0, time.UTC))
		schedule("2026-12")
		record(cwA, elder1, "2026-12", "2026-12-15T10:00")
		record(cwA, elder2, "2026-12", "2026-12-01T00:30") // the period's first half hour
		record(cwB, elderB, "2026-12", "2026-12-15T11:00") // outside the project's area
		count := func() map[string]int {
			got, err := ps.Get(off, pr.ID)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]int{}
			for _, c := range got.Counted {
				out[c.Kind] = c.Count
			}
			return out
		}
		t.Run("the count equals the home visits recorded in the area within the period", func(t *testing.T) {
			var want int
			if err := e.App.DB.R.QueryRow(`SELECT COUNT(*) FROM vis_visits WHERE status = 'done' AND method = 'home' AND division_code = $1 AND visited_at >= $2`,
				communityA, time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)).Scan(&want); err != nil {
				t.Fatal(err)
			}
			if got := count(); got[projects.TargetHomeVisits] != 2 || want != 2 || got[projects.TargetVolunteerActivities] != 0 {
				t.Errorf("counted %v, recorded in the period %d", got, want)
			}
		})
		t.Run("volunteer activities held in the area within the period count; another community's do not", func(t *testing.T) {
			vol := volunteers.StoreOf(e.App.Module("volunteers"))
			post := func(ctx context.Context, starts string) {
				t.Helper()
				if _, err := vol.PostActivity(ctx, volunteers.ActivityInput{Title: "助老志愿服务", Place: "社区活动室", StartsAt: starts + "T09:00", EndsAt: starts + "T11:00",
					Hours: 2, Slots: 10}); err != nil {
					t.Fatal(err)
				}
			}
			post(cwA, "2026-12-20")
			post(cwA, "2027-07-01") // after the period
			post(cwB, "2026-12-20")
			if got := count(); got[projects.TargetVolunteerActivities] != 1 || got[projects.TargetHomeVisits] != 2 {
				t.Errorf("counted %v", got)
			}
		})
		t.Run("the project page shows the count beside the goal", func(t *testing.T) {
			_, body, _ := e.Login("off.a").Get("/projects/" + pr.ID)
			if !strings.Contains(body, `id="counted-home_visits"`) || !strings.Contains(body, "<strong>2</strong> / 目标 100") {
				t.Errorf("%s", body)
			}
		})
	})
}
