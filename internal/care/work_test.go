package care_test

import (
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/care"
)

func TestDisputesWaitOnTheWorkbenchAndEscalatePastTheirClock(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		o := w.orderCheckedIn(t, w.bath.ID)
		apptest.JSON[care.Order](t, e.Login("res.old"), "POST", "/api/v1/care/orders/"+o.ID+"/dispute", care.NoteInput{Note: "只待了十分钟"}, 200)
		work := func(user string, role access.Role, div string) []string {
			ctx := as(user, role, div)
			items, err := w.cs.Work(ctx, access.From(ctx), 10)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, it := range items {
				s := it.Kind + " " + it.Href
				if it.Urgent {
					s += " urgent"
				}
				out = append(out, s)
			}
			return out
		}
		href := "/care/orders/" + o.ID

		t.Run("the community's worker has the dispute to answer within its clock; the township does not yet", func(t *testing.T) {
			if got := work("cw.a", access.CommunityWorker, communityA); len(got) != 1 || got[0] != "care.dispute "+href {
				t.Fatalf("%v", got)
			}
			if got := work("cw.b", access.CommunityWorker, communityB); len(got) != 0 {
				t.Fatalf("another community: %v", got)
			}
			if got := work("officer.town", access.Officer, townA); len(got) != 0 {
				t.Fatalf("%v", got)
			}
		})
		t.Run("past the clock it is urgent for the worker and escalates to the township and county", func(t *testing.T) {
			e.Clock.Add((care.DisputeHours + 1) * time.Hour)
			if got := work("cw.a", access.CommunityWorker, communityA); len(got) != 1 || got[0] != "care.dispute "+href+" urgent" {
				t.Fatalf("%v", got)
			}
			for _, who := range [][2]string{{"officer.town", townA}, {"officer.county", county}} {
				if got := work(who[0], access.Officer, who[1]); len(got) != 1 || got[0] != "care.dispute.overdue "+href+" urgent" {
					t.Fatalf("%s: %v", who[0], got)
				}
			}
		})
		t.Run("once resolved it leaves every 工作台", func(t *testing.T) {
			apptest.JSON[care.Order](t, e.Login("cw.a"), "POST", "/api/v1/care/orders/"+o.ID+"/resolve", care.NoteInput{Outcome: "redo", Note: "重新上门"}, 200)
			if got := append(work("cw.a", access.CommunityWorker, communityA), work("officer.town", access.Officer, townA)...); len(got) != 0 {
				t.Fatalf("%v", got)
			}
		})
		t.Run("the workbench API carries it to the worker", func(t *testing.T) {
			o2 := w.orderCheckedIn(t, w.bath.ID)
			apptest.JSON[care.Order](t, e.Login("cw.a"), "POST", "/api/v1/care/orders/"+o2.ID+"/dispute", care.NoteInput{Note: "没有上门"}, 200)
			st, body := e.Login("cw.a").Do("GET", "/api/v1/workbench?kind=care.dispute", nil)
			if st != 200 || !contains(body, "/care/orders/"+o2.ID) {
				t.Fatalf("%d %s", st, body)
			}
		})
	})
}
