package volunteers_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"linli/internal/apptest"
	"linli/internal/fault"
	"linli/internal/volunteers"
)

const branch = "区级机关第一党支部"

// member registers a resident as a verified party-member volunteer.
func (w *town) member(t *testing.T, ctx context.Context, br string) volunteers.Volunteer {
	t.Helper()
	v, err := w.vs.Register(ctx, volunteers.VolunteerInput{Skills: []string{"meals"}, Availability: []string{"weekend"}, PartyMember: true, PartyBranch: br})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = w.vs.Verify(w.cw, v.ResidentID, true); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPartyMembersReport(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.volunteer(t, w.resX) // not a party member
		w.member(t, w.resA, branch)
		w.member(t, w.resM, branch)
		t.Run("a volunteer who is not a party member cannot report, with a clear message, nothing written", func(t *testing.T) {
			st, body := e.Login("res.x").Do("POST", "/api/v1/volunteers/me/party-report", nil)
			if st != 400 || !strings.Contains(body, `"party_member"`) || !strings.Contains(body, "党员") || !strings.Contains(body, "party member") {
				t.Fatalf("got %d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_party_reports`); n != 0 {
				t.Fatalf("%d reports written", n)
			}
		})
		t.Run("a party member reports to the community they live in, once", func(t *testing.T) {
			rep := apptest.JSON[volunteers.PartyReport](t, e.Login("res.a"), "POST", "/api/v1/volunteers/me/party-report", nil, 201)
			if rep.ResidentID != w.a || rep.Division != communityA || rep.Branch != branch {
				t.Fatalf("%+v", rep)
			}
			if st, _ := e.Login("res.a").Do("POST", "/api/v1/volunteers/me/party-report", nil); st != 409 {
				t.Fatalf("a second report: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_party_reports WHERE resident_id = $1`, w.a); n != 1 {
				t.Fatalf("%d reports", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'volunteers.party.report'`); n != 1 {
				t.Fatalf("%d audit records", n)
			}
			if _, err := w.vs.Report(w.resM); err != nil {
				t.Fatal(err)
			}
		})
		var post volunteers.Post
		t.Run("a bad post is refused naming each field, nothing written; a resident cannot publish", func(t *testing.T) {
			_, err := w.vs.PublishPost(w.cw, volunteers.PostInput{Capacity: 0, Skills: []string{"juggling"}})
			fieldOf(t, err, fault.CodeInvalid, "name")
			fieldOf(t, err, fault.CodeInvalid, "capacity")
			fieldOf(t, err, fault.CodeInvalid, "skills")
			if st, _ := e.Login("res.a").Do("POST", "/api/v1/service-posts", volunteers.PostInput{Name: "楼道长", Capacity: 1}); st != 403 {
				t.Fatalf("a resident publishing: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_posts`); n != 0 {
				t.Fatalf("%d posts written", n)
			}
		})
		t.Run("the community publishes a post with one place; two members taking it at once: one wins", func(t *testing.T) {
			post = apptest.JSON[volunteers.Post](t, e.Login("cw.a"), "POST", "/api/v1/service-posts", volunteers.PostInput{Name: "楼道长", Description: "联系本楼道住户", Capacity: 1, Skills: []string{"elderly_care"}}, 201)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, ctx := range []context.Context{w.resA, w.resM} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = w.vs.TakePost(ctx, post.ID)
				}()
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				if err == nil {
					won++
				} else if we, ok := fault.As(err); !ok || we.Code != fault.CodeConflict {
					t.Fatalf("the loser got %v", err)
				}
			}
			if won != 1 || e.Count(`SELECT taken FROM vol_posts WHERE id = $1`, post.ID) != 1 || e.Count(`SELECT COUNT(*) FROM vol_post_members WHERE post_id = $1`, post.ID) != 1 {
				t.Fatalf("%d won; %v", won, errs)
			}
		})
		t.Run("a member who has not reported, or a post of another community, cannot be taken", func(t *testing.T) {
			big, err := w.vs.PublishPost(w.cw, volunteers.PostInput{Name: "文明劝导", Capacity: 10})
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.vs.TakePost(w.resX, big.ID)
			if we, ok := fault.As(err); !ok || we.Code != fault.CodeConflict {
				t.Fatalf("not reported: %v", err)
			}
			other, err := w.vs.PublishPost(w.cwB, volunteers.PostInput{Name: "文明劝导", Capacity: 10})
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.vs.TakePost(w.resA, other.ID)
			if we, ok := fault.As(err); !ok || we.Code != fault.CodeNotFound {
				t.Fatalf("another community's post: %v", err)
			}
			if _, err := w.vs.TakePost(w.resA, big.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := w.vs.TakePost(w.resM, big.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := w.vs.PostMembers(w.cwB, big.ID); err == nil {
				t.Fatal("another community's worker read the members")
			}
			_, ms, err := w.vs.PostMembers(w.cw, big.ID)
			if err != nil || len(ms) != 2 || !strings.HasSuffix(ms[0].Name, "**") {
				t.Fatalf("%+v %v", ms, err)
			}
		})
		t.Run("the branch export's hours equal the ledger's for the period", func(t *testing.T) {
			today := e.Clock.Now().In(cst)
			day := func(d int) string { return today.AddDate(0, 0, d).Format("2006-01-02") }
			for _, c := range []struct {
				who   string
				hours float64
				date  string
			}{{w.a, 2, day(-3)}, {w.a, 1.5, day(-10)}, {w.m, 3, day(-2)}, {w.a, 4, day(-40)}} {
				if _, err := w.vs.Credit(w.cw, volunteers.CreditInput{ResidentID: c.who, Hours: c.hours, ServiceDate: c.date, Reason: "社区巡逻"}); err != nil {
					t.Fatal(err)
				}
			}
			from, to := day(-30), day(0)
			rows, err := w.vs.BranchReport(w.cw, volunteers.BranchFilter{Branch: branch, From: from, To: to})
			if err != nil || len(rows) != 2 {
				t.Fatalf("%+v %v", rows, err)
			}
			var total int64
			for _, r := range rows {
				total += r.Minutes
				if r.ResidentID == w.a && (r.Hours != 3.5 || len(r.Posts) != e.Count(`SELECT COUNT(*) FROM vol_post_members WHERE resident_id = $1`, w.a)) {
					t.Fatalf("res.a's line %+v", r)
				}
			}
			ledger := e.Count(`SELECT COALESCE(SUM(amount), 0) FROM vol_entries WHERE account_id IN ($1, $2) AND service_date >= $3 AND service_date <= $4`,
				"volunteer:"+w.a+":hours", "volunteer:"+w.m+":hours", from, to)
			if total != int64(ledger) || total != 390 {
				t.Fatalf("the export totals %d minutes, the ledger %d", total, ledger)
			}
			_, err = w.vs.BranchReport(w.cw, volunteers.BranchFilter{Branch: branch, From: to, To: from})
			fieldOf(t, err, fault.CodeInvalid, "to")
			if _, err := w.vs.BranchReport(w.cwB, volunteers.BranchFilter{Division: communityA, Branch: branch, From: from, To: to}); err == nil {
				t.Fatal("another community's worker read the report")
			}
			st, body, hdr := e.Login("cw.a").Get("/volunteers/posts/export?format=csv&branch=" + branch + "&from=" + from + "&to=" + to)
			if st != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !strings.Contains(body, "合计 Total,,,6.5") {
				t.Fatalf("got %d %q", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'volunteers.party.branch_report'`); n < 2 {
				t.Fatalf("%d audited exports", n)
			}
		})
	})
}

func TestPartyPages(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.member(t, w.resA, branch)
		w.volunteer(t, w.resX)
		cw := e.Login("cw.a")
		t.Run("the worker publishes a post on the posts page; a bad one comes back naming the field", func(t *testing.T) {
			st, body, _ := cw.Form("/volunteers/posts", map[string]string{"name": "", "capacity": "3"}, nil)
			if st != 400 || !strings.Contains(body, `href="#f-name"`) {
				t.Fatalf("got %d", st)
			}
			if st, _, _ := cw.Form("/volunteers/posts", map[string]string{"name": "助餐配送", "capacity": "3", "skills": "meals"}, nil); st != 303 {
				t.Fatalf("publish: %d", st)
			}
			st, body, _ = cw.Get("/volunteers/posts")
			if st != 200 || !strings.Contains(body, "助餐配送") {
				t.Fatalf("got %d", st)
			}
		})
		t.Run("a member reports and takes the post on their page, then sees it as theirs", func(t *testing.T) {
			res := e.Login("res.a")
			st, body, _ := res.Get("/volunteers/party")
			if st != 200 || !strings.Contains(body, `id="report"`) {
				t.Fatalf("got %d", st)
			}
			if st, _, _ := res.Form("/volunteers/party/report", nil, nil); st != 303 {
				t.Fatalf("report: %d", st)
			}
			id := e.Count(`SELECT COUNT(*) FROM vol_posts`)
			if id != 1 {
				t.Fatalf("%d posts", id)
			}
			posts, err := w.vs.Posts(w.resA, "")
			if err != nil || len(posts) != 1 {
				t.Fatalf("%+v %v", posts, err)
			}
			if st, _, _ := res.Form("/volunteers/party/posts/"+posts[0].ID+"/take", nil, nil); st != 303 {
				t.Fatalf("take: %d", st)
			}
			st, body, _ = res.Get("/volunteers/party")
			if st != 200 || !strings.Contains(body, `id="my-posts"`) || !strings.Contains(body, `id="my-hours"`) {
				t.Fatalf("got %d", st)
			}
			st, body, _ = cw.Get("/volunteers/posts/" + posts[0].ID)
			if st != 200 || !strings.Contains(body, branch) {
				t.Fatalf("members page: %d", st)
			}
			st, body, _ = cw.Get("/volunteers/posts")
			if st != 200 || !strings.Contains(body, `id="download"`) {
				t.Fatalf("the export form: %d", st)
			}
		})
		t.Run("a volunteer who is not a party member is told reporting is for party members", func(t *testing.T) {
			st, body, _ := e.Login("res.x").Get("/volunteers/party")
			if st != 200 || !strings.Contains(body, `id="not-member"`) {
				t.Fatalf("got %d", st)
			}
			if st, _, _ := e.Login("res.x").Form("/volunteers/party/report", nil, nil); st != 400 {
				t.Fatalf("report: %d", st)
			}
		})
	})
}
