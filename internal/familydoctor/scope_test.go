package familydoctor_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/familydoctor"
	"linli/internal/registry"
	"linli/internal/web"
)

func fields(p web.Problem) string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return strings.Join(out, ",")
}

// Teams and contracts stay inside their jurisdiction; lists page by key;
// bad input names its fields and writes nothing.
func TestContractsScopeAndLists(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("cw.a", access.CommunityWorker, communityA)
		e.User("cw.b", access.CommunityWorker, communityB)
		e.User("off.county", access.Officer, county)
		e.User("res.a", access.Resident, communityA)
		reg := registry.StoreOf(e.App.Module("registry"))
		y := &toy{t: t, reg: reg}
		var elders []string
		for _, birth := range []string{"1940-01-01", "1941-02-02", "1942-03-03", "1943-04-04", "1944-05-05"} {
			elders = append(elders, y.person(communityA, birth, "", ""))
		}
		docA, err := reg.CreatePerson(as("cw.all", access.Officer, county), registry.PersonInput{Division: communityA, Name: "李医生", Roles: []string{"gp"}})
		if err != nil {
			t.Fatal(err)
		}
		docB, err := reg.CreatePerson(as("cw.all", access.Officer, county), registry.PersonInput{Division: communityB, Name: "赵医生", Roles: []string{"gp"}})
		if err != nil {
			t.Fatal(err)
		}
		cw, cwB, off, res := e.Login("cw.a"), e.Login("cw.b"), e.Login("off.county"), e.Login("res.a")
		t.Run("a team of someone outside the jurisdiction is refused naming the member", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, cw, "POST", "/api/v1/gp/teams", familydoctor.TeamInput{Division: communityA, Name: "一队", Members: []string{docA.ID, docB.ID}}, 400)
			if fields(p) != "members[1]" {
				t.Errorf("fields %s", fields(p))
			}
			if n := e.Count(`SELECT COUNT(*) FROM gp_teams`); n != 0 {
				t.Errorf("%d teams written", n)
			}
		})
		team := apptest.JSON[familydoctor.Team](t, cw, "POST", "/api/v1/gp/teams", familydoctor.TeamInput{Division: communityA, Name: "上保一队", Members: []string{docA.ID}}, 201)
		t.Run("a contract with bad input names every bad field", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, cw, "POST", "/api/v1/gp/contracts", familydoctor.ContractInput{ResidentID: elders[0], TeamID: "nope", Package: "gold", Start: "2026-13-01", End: "x"}, 400)
			if fields(p) != "team_id,package,start_date,end_date" {
				t.Errorf("fields %s", fields(p))
			}
		})
		t.Run("another community's team does not serve the resident", func(t *testing.T) {
			teamB := apptest.JSON[familydoctor.Team](t, cwB, "POST", "/api/v1/gp/teams", familydoctor.TeamInput{Division: communityB, Name: "石灰桥一队", Members: []string{docB.ID}}, 201)
			p := apptest.JSON[web.Problem](t, off, "POST", "/api/v1/gp/contracts", familydoctor.ContractInput{ResidentID: elders[0], TeamID: teamB.ID, Package: "basic", Start: "2026-01-01", End: "2026-12-31"}, 400)
			if fields(p) != "team_id" {
				t.Errorf("fields %s", fields(p))
			}
		})
		t.Run("a resident cannot sign", func(t *testing.T) {
			if code, _ := res.Do("POST", "/api/v1/gp/contracts", familydoctor.ContractInput{ResidentID: elders[0], TeamID: team.ID, Package: "basic", Start: "2026-01-01", End: "2026-12-31"}); code != http.StatusForbidden {
				t.Errorf("status %d", code)
			}
		})
		var ids []string
		for i, r := range elders {
			end := "2027-06-30"
			if i < 2 {
				end = "2026-12-10" // within 30 days of the test clock's 2026-11-29
			}
			ids = append(ids, apptest.JSON[familydoctor.Contract](t, cw, "POST", "/api/v1/gp/contracts", familydoctor.ContractInput{ResidentID: r, TeamID: team.ID, Package: "elderly", Start: "2026-01-01", End: end}, 201).ID)
		}
		t.Run("the list pages by key and the due filter keeps the two ending soon", func(t *testing.T) {
			first := apptest.JSON[familydoctor.Page](t, off, "GET", "/api/v1/gp/contracts?page_size=3", nil, 200)
			if first.Total != 5 || len(first.Items) != 3 || first.Next == "" {
				t.Fatalf("first page %d of %d", len(first.Items), first.Total)
			}
			rest := apptest.JSON[familydoctor.Page](t, off, "GET", "/api/v1/gp/contracts?page_size=3&cursor="+url.QueryEscape(first.Next), nil, 200)
			seen := map[string]bool{}
			for _, c := range append(first.Items, rest.Items...) {
				seen[c.ID] = true
			}
			if len(seen) != 5 || rest.Next != "" {
				t.Errorf("pages cover %d contracts", len(seen))
			}
			due := apptest.JSON[familydoctor.Page](t, cw, "GET", "/api/v1/gp/contracts?due=true", nil, 200)
			if due.Total != 2 {
				t.Errorf("%d due, want 2", due.Total)
			}
			if p := apptest.JSON[web.Problem](t, off, "GET", "/api/v1/gp/contracts?page=2", nil, 400); fields(p) != "page" {
				t.Errorf("fields %s", fields(p))
			}
		})
		t.Run("another community's worker cannot read, follow up or renew a contract", func(t *testing.T) {
			for _, c := range []struct{ method, path string }{{"GET", "/api/v1/gp/contracts/" + ids[0]}, {"POST", "/api/v1/gp/contracts/" + ids[0] + "/renew"}} {
				if code, _ := cwB.Do(c.method, c.path, nil); code != http.StatusNotFound {
					t.Errorf("%s %s: %d", c.method, c.path, code)
				}
			}
			if pg := apptest.JSON[familydoctor.Page](t, cwB, "GET", "/api/v1/gp/contracts", nil, 200); pg.Total != 0 {
				t.Errorf("community B lists %d", pg.Total)
			}
		})
		t.Run("the uncovered list is empty when every key-group resident has signed", func(t *testing.T) {
			if pg := apptest.JSON[familydoctor.PeoplePage](t, cw, "GET", "/api/v1/gp/uncovered", nil, 200); len(pg.Items) != 0 {
				t.Errorf("%d uncovered", len(pg.Items))
			}
			_, body, _ := cw.Get("/gp/uncovered")
			if !strings.Contains(body, `id="none"`) {
				t.Error("the page lacks its empty state")
			}
		})
	})
}

// The pages work as forms: a contract ending before it starts shows the
// form again with the field's message and writes nothing; a good one, a
// follow-up and a renewal go through.
func TestContractPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("cw.a", access.CommunityWorker, communityA)
		reg := registry.StoreOf(e.App.Module("registry"))
		y := &toy{t: t, reg: reg}
		child := y.person(communityA, "2023-03-03", "", "")
		doc, err := reg.CreatePerson(as("cw.all", access.Officer, county), registry.PersonInput{Division: communityA, Name: "周医生", Roles: []string{"gp"}})
		if err != nil {
			t.Fatal(err)
		}
		cw := e.Login("cw.a")
		team := apptest.JSON[familydoctor.Team](t, cw, "POST", "/api/v1/gp/teams", familydoctor.TeamInput{Division: communityA, Name: "上保二队", Members: []string{doc.ID}}, 201)
		t.Run("the sign form shows the child's key group and refuses an end before the start", func(t *testing.T) {
			_, body, _ := cw.Get("/gp/sign?resident_id=" + child)
			if !strings.Contains(body, "0–6岁儿童") {
				t.Error("the form does not name the key group")
			}
			code, body, _ := cw.Form("/gp/sign", map[string]string{"resident_id": child, "team_id": team.ID, "package": "maternal_child", "start_date": "2026-12-01", "end_date": "2026-11-30"}, nil)
			if code != 400 || !strings.Contains(body, "结束日期不能早于开始日期") {
				t.Errorf("status %d", code)
			}
			if n := e.Count(`SELECT COUNT(*) FROM gp_contracts`); n != 0 {
				t.Errorf("%d written", n)
			}
		})
		var id string
		t.Run("a good contract, a follow-up and a renewal go through as forms", func(t *testing.T) {
			code, _, hdr := cw.Form("/gp/sign", map[string]string{"resident_id": child, "team_id": team.ID, "package": "maternal_child", "start_date": "2025-12-15", "end_date": "2026-12-14"}, nil)
			if code != http.StatusSeeOther {
				t.Fatalf("sign: %d", code)
			}
			id = strings.TrimSuffix(strings.TrimPrefix(hdr.Get("Location"), "/gp/contracts/"), "?signed=1")
			_, body, _ := cw.Get("/gp/contracts/" + id)
			if !strings.Contains(body, `id="renew-due"`) || !strings.Contains(body, `id="renew"`) {
				t.Error("the contract page does not offer the renewal")
			}
			if code, _, _ := cw.Form("/gp/contracts/"+id+"/followups", map[string]string{"on_date": "2026-11-28", "kind": "phone", "note": "疫苗已接种"}, nil); code != http.StatusSeeOther {
				t.Errorf("follow-up: %d", code)
			}
			code, _, hdr = cw.Form("/gp/contracts/"+id+"/renew", map[string]string{}, nil)
			if code != http.StatusSeeOther || hdr.Get("Location") == "/gp/contracts/"+id+"?signed=1" {
				t.Errorf("renew: %d %s", code, hdr.Get("Location"))
			}
			c := apptest.JSON[familydoctor.Contract](t, cw, "GET", "/api/v1/gp/contracts/"+id, nil, 200)
			if c.RenewedBy == "" || len(c.Followups) != 1 || c.Followups[0].Note != "疫苗已接种" {
				t.Errorf("contract %+v", c)
			}
		})
		t.Run("reading a contract's page is audited", func(t *testing.T) {
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'gp.contract.read' AND object_id = $1`, id); n == 0 {
				t.Error("no read entry")
			}
		})
	})
}
