package volunteers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/registry"
	"linli/internal/registry/idno"
	"linli/internal/volunteers"
)

const (
	communityA = apptest.CommunityA // 北山街道 上保社区
	communityB = apptest.CommunityB // 西溪街道 石灰桥社区
)

// town is the fixture: in community A the worker cw.a, household H1 with
// res.a (born 1990) and her mother res.m (born 1955), household H2 with
// res.x (born 1992), and res.kid (born 2014) in H2; in community B the
// worker cw.b. The residents have accounts and registry records.
type town struct {
	e                *apptest.Env
	reg              *registry.Store
	vs               *volunteers.Store
	cw, cwB          context.Context
	a, m, x, kid     string // resident ids
	resA, resM, resX context.Context
	resKid           context.Context
	seq              int
}

func as(user string, role access.Role, division string) context.Context {
	return access.With(context.Background(), &access.Principal{Username: user, Role: role, Division: division})
}

func newTown(t *testing.T, e *apptest.Env) *town {
	t.Helper()
	e.User("cw.a", access.CommunityWorker, communityA)
	e.User("cw.b", access.CommunityWorker, communityB)
	for _, u := range []string{"res.a", "res.m", "res.x", "res.kid"} {
		e.User(u, access.Resident, communityA)
	}
	w := &town{e: e, reg: registry.StoreOf(e.App.Module("registry")), vs: volunteers.StoreOf(e.App.Module("volunteers")),
		cw: as("cw.a", access.CommunityWorker, communityA), cwB: as("cw.b", access.CommunityWorker, communityB)}
	h1 := w.household(t, "H1")
	h2 := w.household(t, "H2")
	w.a = w.resident(t, h1, 1990, "res.a")
	w.m = w.resident(t, h1, 1955, "res.m")
	w.x = w.resident(t, h2, 1992, "res.x")
	w.kid = w.resident(t, h2, 2014, "res.kid")
	w.resA, w.resM, w.resX, w.resKid = as("res.a", access.Resident, communityA), as("res.m", access.Resident, communityA), as("res.x", access.Resident, communityA), as("res.kid", access.Resident, communityA)
	return w
}

func (w *town) household(t *testing.T, no string) string {
	t.Helper()
	h, err := w.reg.CreateHousehold(w.cw, registry.HouseholdInput{Division: communityA, HouseholdNo: no, Address: "上保社区 " + no + " 幢 101 室"})
	if err != nil {
		t.Fatal(err)
	}
	return h.ID
}

func (w *town) resident(t *testing.T, hh string, year int, username string) string {
	t.Helper()
	w.seq++
	r, err := w.reg.CreateResident(w.cw, registry.ResidentInput{HouseholdID: hh, Name: "王居民" + string(rune('甲'+w.seq)), Username: username,
		IDNumber: idno.Synthetic("330106", time.Date(year, 3, 14, 0, 0, 0, 0, time.UTC), 900+w.seq), Relation: "户主", Residence: "registered"})
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// volunteer registers a resident and has the community verify them.
func (w *town) volunteer(t *testing.T, ctx context.Context) volunteers.Volunteer {
	t.Helper()
	v, err := w.vs.Register(ctx, volunteers.VolunteerInput{Skills: []string{"elderly_care"}, Availability: []string{"weekend"}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = w.vs.Verify(w.cw, v.ResidentID, true); err != nil {
		t.Fatal(err)
	}
	return v
}

// activity posts an activity of community A starting in days (China time,
// 09:00), the cut-off the evening before.
func (w *town) activity(t *testing.T, title string, days, slots int, hours float64, points int64) volunteers.Activity {
	t.Helper()
	start := w.e.Clock.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, days)
	d := start.Format("2006-01-02")
	prev := start.AddDate(0, 0, -1).Format("2006-01-02")
	a, err := w.vs.PostActivity(w.cw, volunteers.ActivityInput{Title: title, Place: "上保社区广场", StartsAt: d + "T09:00", EndsAt: d + "T12:00", Cutoff: prev + "T20:00",
		Hours: hours, Points: points, Slots: slots, MinAge: 16, TimeBank: true})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// invariants checks the ledger: per currency the accounts sum to zero,
// each account's balance is the sum of its entries, and no account that
// may not go negative is below zero.
func invariants(t *testing.T, e *apptest.Env, step string) {
	t.Helper()
	for _, c := range []string{"hours", "points"} {
		if n := e.Count(`SELECT COALESCE(SUM(balance), 0) FROM vol_accounts WHERE currency = $1`, c); n != 0 {
			t.Fatalf("%s: the %s accounts sum to %d", step, c, n)
		}
		if n := e.Count(`SELECT COALESCE(SUM(amount), 0) FROM vol_entries WHERE currency = $1`, c); n != 0 {
			t.Fatalf("%s: the %s entries sum to %d", step, c, n)
		}
	}
	if n := e.Count(`SELECT COUNT(*) FROM vol_accounts a WHERE a.balance <> (SELECT COALESCE(SUM(e.amount), 0) FROM vol_entries e WHERE e.account_id = a.id)`); n != 0 {
		t.Fatalf("%s: %d accounts' balances differ from their entries", step, n)
	}
	if n := e.Count(`SELECT COUNT(*) FROM vol_accounts WHERE NOT may_go_negative AND balance < 0`); n != 0 {
		t.Fatalf("%s: %d accounts went negative", step, n)
	}
	if n := e.Count(`SELECT COUNT(*) FROM (SELECT txn_id FROM vol_entries GROUP BY txn_id, currency HAVING SUM(amount) <> 0) x`); n != 0 {
		t.Fatalf("%s: %d transactions do not balance", step, n)
	}
}

// bulkVolunteers writes n verified volunteers of community A directly
// (the concurrency test needs many, not their registry records) and
// returns their principals.
func bulkVolunteers(t *testing.T, e *apptest.Env, n int) []context.Context {
	t.Helper()
	out := make([]context.Context, n)
	now := db.T(e.Clock.Now())
	for i := range n {
		user := fmt.Sprintf("bulk.%03d", i)
		if _, err := e.App.DB.W.Exec(`INSERT INTO vol_volunteers (resident_id, username, household_id, division_code, surname, birth_date, skills, availability, languages,
			drives, party_member, party_branch, status, created_at, updated_at) VALUES ($1,$2,$3,$4,'李','1980-01-01','meals','weekend','',FALSE,FALSE,'','verified',$5,$5)`,
			fmt.Sprintf("bulk-%03d", i), user, fmt.Sprintf("bulk-h-%03d", i), communityA, now); err != nil {
			t.Fatal(err)
		}
		out[i] = as(user, access.Resident, communityA)
	}
	return out
}
