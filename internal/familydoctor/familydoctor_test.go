package familydoctor_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/familydoctor"
	"linli/internal/registry"
	"linli/internal/registry/idno"
	"linli/internal/web"
)

const (
	communityA = apptest.CommunityA
	communityB = apptest.CommunityB
	county     = apptest.County
)

func as(user string, role access.Role, division string) context.Context {
	return access.With(context.Background(), &access.Principal{Username: user, Role: role, Division: division})
}

type toy struct {
	t   *testing.T
	reg *registry.Store
	seq int
}

// person adds a one-person household of a community, born on birth,
// with a tag (or none) and linked to an account (or none).
func (y *toy) person(div, birth, tag, username string) string {
	y.t.Helper()
	y.seq++
	cw := as("cw.all", access.Officer, county)
	h, err := y.reg.CreateHousehold(cw, registry.HouseholdInput{Division: div, HouseholdNo: fmt.Sprintf("G%d", y.seq), Address: fmt.Sprintf("%d 幢", y.seq)})
	if err != nil {
		y.t.Fatal(err)
	}
	b, _ := time.Parse("2006-01-02", birth)
	r, err := y.reg.CreateResident(cw, registry.ResidentInput{HouseholdID: h.ID, Name: "居民" + string(rune('甲'+y.seq)), Relation: "户主", Residence: "registered",
		IDNumber: idno.Synthetic("330106", b, 400+y.seq), Username: username})
	if err != nil {
		y.t.Fatal(err)
	}
	if tag != "" {
		if _, err := y.reg.AddTag(cw, r.ID, registry.TagInput{Tag: tag, Since: "2025-01-01"}); err != nil {
			y.t.Fatal(err)
		}
	}
	return r.ID
}

type indRow struct {
	ID  string   `json:"id"`
	Num *float64 `json:"numerator"`
	Den *float64 `json:"denominator"`
}

type workbench struct {
	Items []struct {
		Kind string `json:"kind"`
		Href string `json:"href"`
	} `json:"items"`
}

// A toy community A on the test clock's 2026-11-29: five key-group
// residents (76, 4, 低保, disabled, 66) and one who is not (36): the 76-
// and 4-year-olds hold valid contracts, the 66-year-old's ran out in June,
// the 36-year-old's does not count. C13 = 2 ÷ 5 = 40 %.
func TestContractsAndC13(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("cw.a", access.CommunityWorker, communityA)
		e.User("cw.b", access.CommunityWorker, communityB)
		e.User("off.county", access.Officer, county)
		e.User("res.old", access.Resident, communityA)
		e.User("res.other", access.Resident, communityA)
		reg := registry.StoreOf(e.App.Module("registry"))
		y := &toy{t: t, reg: reg}
		old := y.person(communityA, "1950-02-03", "", "res.old")
		child := y.person(communityA, "2022-05-01", "", "")
		poor := y.person(communityA, "1990-07-07", "dibao", "")
		notKey := y.person(communityA, "1990-08-08", "", "res.other")
		disabled := y.person(communityA, "1985-09-09", "disabled_person", "")
		sixtySix := y.person(communityA, "1960-01-15", "", "")
		elsewhere := y.person(communityB, "1940-01-01", "", "")
		_ = poor
		_ = disabled
		doc, err := reg.CreatePerson(as("cw.all", access.Officer, county), registry.PersonInput{Division: communityA, Name: "王医生", Roles: []string{"gp"}})
		if err != nil {
			t.Fatal(err)
		}
		cw, off := e.Login("cw.a"), e.Login("off.county")
		team := apptest.JSON[familydoctor.Team](t, off, "POST", "/api/v1/gp/teams", familydoctor.TeamInput{Division: communityA[:9], Name: "北山家庭医生一队", Members: []string{doc.ID}}, 201)
		teamB := apptest.JSON[familydoctor.Team](t, off, "POST", "/api/v1/gp/teams", familydoctor.TeamInput{Division: communityB[:9], Name: "西溪一队", Members: []string{doc.ID}}, 201)
		sign := func(c *apptest.Client, resident, team, start, end string) familydoctor.Contract {
			t.Helper()
			return apptest.JSON[familydoctor.Contract](t, c, "POST", "/api/v1/gp/contracts", familydoctor.ContractInput{ResidentID: resident, TeamID: team, Package: "basic", Start: start, End: end}, 201)
		}
		t.Run("a contract ending before it starts is refused naming end_date, nothing written", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, cw, "POST", "/api/v1/gp/contracts", familydoctor.ContractInput{ResidentID: old, TeamID: team.ID, Package: "basic", Start: "2026-06-01", End: "2026-05-31"}, 400)
			if len(p.Errors) != 1 || p.Errors[0].Field != "end_date" {
				t.Errorf("errors %+v", p.Errors)
			}
			if n := e.Count(`SELECT COUNT(*) FROM gp_contracts`); n != 0 {
				t.Errorf("%d contracts written", n)
			}
		})
		t.Run("a worker cannot sign for a resident outside their community", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, cw, "POST", "/api/v1/gp/contracts", familydoctor.ContractInput{ResidentID: elsewhere, TeamID: teamB.ID, Package: "basic", Start: "2026-01-01", End: "2026-12-31"}, 400)
			if len(p.Errors) != 1 || p.Errors[0].Field != "resident_id" {
				t.Errorf("errors %+v", p.Errors)
			}
		})
		oldC := sign(cw, old, team.ID, "2026-01-01", "2026-12-20")
		sign(cw, child, team.ID, "2026-11-01", "2027-10-31")
		sign(cw, sixtySix, team.ID, "2025-07-01", "2026-06-30")
		sign(cw, notKey, team.ID, "2026-01-01", "2026-12-31")
		sign(e.Login("cw.b"), elsewhere, teamB.ID, "2026-01-01", "2026-12-31")
		t.Run("the contract records the key groups from age and tags", func(t *testing.T) {
			if strings.Join(oldC.Groups, ",") != "elderly_65" {
				t.Errorf("groups %v", oldC.Groups)
			}
		})
		t.Run("an overlapping contract is refused with 409", func(t *testing.T) {
			apptest.JSON[web.Problem](t, cw, "POST", "/api/v1/gp/contracts", familydoctor.ContractInput{ResidentID: old, TeamID: team.ID, Package: "basic", Start: "2026-06-01", End: "2027-05-31"}, 409)
		})
		t.Run("C13 of the toy community is 2 of 5 key-group residents", func(t *testing.T) {
			cov := apptest.JSON[familydoctor.Coverage](t, cw, "GET", "/api/v1/gp", nil, 200)
			if cov.KeyGroup != 5 || cov.Signed != 2 || cov.Percent != 40 {
				t.Errorf("coverage %+v, want 2 of 5", cov)
			}
			rows := apptest.JSON[[]indRow](t, off, "GET", "/api/v1/indicators?division="+communityA+"&period=2026", nil, 200)
			for _, r := range rows {
				if r.ID == "C13" && (r.Num == nil || r.Den == nil || *r.Num != 2 || *r.Den != 5) {
					t.Errorf("C13 %v / %v, want 2 / 5", r.Num, r.Den)
				}
			}
		})
		t.Run("the day's counts the indicators read hold the same 5 and 2", func(t *testing.T) {
			if k, n := e.Count(`SELECT key_group FROM gp_daily WHERE day = '2026-11-29' AND division_code = $1`, communityA), e.Count(`SELECT signed FROM gp_daily WHERE day = '2026-11-29' AND division_code = $1`, communityA); k != 5 || n != 2 {
				t.Errorf("gp_daily %d / %d, want 5 / 2", k, n)
			}
		})
		t.Run("the uncovered list names the three key-group residents without a valid contract", func(t *testing.T) {
			pg := apptest.JSON[familydoctor.PeoplePage](t, cw, "GET", "/api/v1/gp/uncovered", nil, 200)
			if len(pg.Items) != 3 {
				t.Errorf("%d uncovered, want 3: %+v", len(pg.Items), pg.Items)
			}
		})
		t.Run("a contract ending within 30 days is on the worker's 工作台", func(t *testing.T) {
			wb := apptest.JSON[workbench](t, cw, "GET", "/api/v1/workbench", nil, 200)
			n := 0
			for _, it := range wb.Items {
				if it.Kind == "gp.renewal" {
					n++
					if it.Href != "/gp/contracts/"+oldC.ID {
						t.Errorf("href %s", it.Href)
					}
				}
			}
			if n != 1 {
				t.Errorf("%d renewal items, want 1", n)
			}
		})
		t.Run("the resident sees the contract and the reminder in 我的", func(t *testing.T) {
			res := e.Login("res.old")
			_, body, _ := res.Get("/me")
			if !strings.Contains(body, "北山家庭医生一队") || !strings.Contains(body, "2026-12-20 到期，请续约") {
				t.Error("我的 lacks the contract or its reminder")
			}
			apptest.JSON[familydoctor.Contract](t, res, "GET", "/api/v1/gp/contracts/"+oldC.ID, nil, 200)
			if st, _ := e.Login("res.other").Do("GET", "/api/v1/gp/contracts/"+oldC.ID, nil); st != http.StatusNotFound {
				t.Errorf("another household reads it: %d", st)
			}
		})
		t.Run("a follow-up is recorded and a future date refused", func(t *testing.T) {
			c := apptest.JSON[familydoctor.Contract](t, cw, "POST", "/api/v1/gp/contracts/"+oldC.ID+"/followups", familydoctor.FollowupInput{On: "2026-11-20", Kind: "visit", Note: "血压平稳"}, 201)
			if len(c.Followups) != 1 || c.Followups[0].Note != "血压平稳" {
				t.Errorf("followups %+v", c.Followups)
			}
			p := apptest.JSON[web.Problem](t, cw, "POST", "/api/v1/gp/contracts/"+oldC.ID+"/followups", familydoctor.FollowupInput{On: "2027-01-01", Kind: "visit"}, 400)
			if len(p.Errors) != 1 || p.Errors[0].Field != "on_date" {
				t.Errorf("errors %+v", p.Errors)
			}
		})
		t.Run("renewing takes the contract off the 工作台 and a second renewal is refused", func(t *testing.T) {
			n := apptest.JSON[familydoctor.Contract](t, cw, "POST", "/api/v1/gp/contracts/"+oldC.ID+"/renew", nil, 201)
			if n.Start != "2026-12-21" || n.End != "2027-12-20" {
				t.Errorf("renewed %s–%s", n.Start, n.End)
			}
			wb := apptest.JSON[workbench](t, cw, "GET", "/api/v1/workbench", nil, 200)
			for _, it := range wb.Items {
				if it.Kind == "gp.renewal" {
					t.Errorf("still on the 工作台: %s", it.Href)
				}
			}
			apptest.JSON[web.Problem](t, cw, "POST", "/api/v1/gp/contracts/"+oldC.ID+"/renew", nil, 409)
		})
		t.Run("the pages answer", func(t *testing.T) {
			for _, path := range []string{"/gp", "/gp?due=true", "/gp/uncovered", "/gp/uncovered?q=居民", "/gp/sign?resident_id=" + poor, "/gp/contracts/" + oldC.ID} {
				if code, body, _ := cw.Get(path); code != 200 {
					t.Errorf("%s: %d %s", path, code, body[:min(300, len(body))])
				}
			}
			if code, _, _ := e.Login("res.old").Get("/gp/mine"); code != 200 {
				t.Errorf("/gp/mine %d", code)
			}
		})
	})
}
