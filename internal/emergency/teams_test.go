package emergency_test

import (
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/emergency"
	"linli/internal/registry"
)

// Teams: members from the registry's personnel and the township's worker
// accounts, each with skills, and a rota of date ranges that never
// overlap for a member, from which who is on call now follows.
func TestTeamsKnowWhoIsOnCall(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		volunteer, err := w.reg.CreatePerson(w.cw, registry.PersonInput{Division: communityA, Name: "孙志愿", Roles: []string{"volunteer"}})
		if err != nil {
			t.Fatal(err)
		}
		outsider, err := w.reg.CreatePerson(w.cwB, registry.PersonInput{Division: communityB, Name: "周志愿", Roles: []string{"volunteer"}})
		if err != nil {
			t.Fatal(err)
		}
		cw := e.Login("cw.a")
		var team emergency.Team
		var vol, grid, officer emergency.Member

		t.Run("a community worker creates a team and adds a volunteer of the registry, a grid worker and the township's officer with their skills", func(t *testing.T) {
			team = apptest.JSON[emergency.Team](t, cw, "POST", "/api/v1/emergency/teams", emergency.TeamInput{Name: "上保社区应急队"}, 201)
			if team.Division != communityA || len(team.Members) != 0 || len(team.OnCall) != 0 {
				t.Fatalf("%+v", team)
			}
			cands := apptest.JSON[[]emergency.MemberCandidate](t, cw, "GET", "/api/v1/emergency/teams/"+team.ID+"/candidates", nil, 200)
			keys := map[string]bool{}
			for _, c := range cands {
				keys[c.Key()] = true
			}
			if !keys["personnel:"+volunteer.ID] || keys["personnel:"+outsider.ID] || !keys["account:gw.1"] || !keys["account:officer.town"] || keys["account:cw.b"] || keys["account:res.a"] {
				t.Fatalf("candidates %v", keys)
			}
			add := "/api/v1/emergency/teams/" + team.ID + "/members"
			vol = apptest.JSON[emergency.Member](t, cw, "POST", add, emergency.MemberInput{Kind: "personnel", Ref: volunteer.ID, Skills: []string{"driving", "rescue"}}, 201)
			grid = apptest.JSON[emergency.Member](t, cw, "POST", add, emergency.MemberInput{Kind: "account", Ref: "gw.1", Skills: []string{"evacuation"}}, 201)
			officer = apptest.JSON[emergency.Member](t, cw, "POST", add, emergency.MemberInput{Kind: "account", Ref: "officer.town", Skills: []string{"comms"}}, 201)
			if vol.Name != "孙**" || strings.Join(vol.Skills, ",") != "rescue,driving" || grid.Name != "gw.1" {
				t.Fatalf("%+v %+v", vol, grid)
			}
		})
		t.Run("members outside the jurisdiction, unknown skills and a member twice are refused naming the field, and nothing is written", func(t *testing.T) {
			before := e.Count(`SELECT COUNT(*) FROM em_team_members`)
			add := "/api/v1/emergency/teams/" + team.ID + "/members"
			for _, c := range []struct {
				in    emergency.MemberInput
				field string
			}{
				{emergency.MemberInput{Kind: "personnel", Ref: outsider.ID, Skills: []string{"rescue"}}, "ref"},
				{emergency.MemberInput{Kind: "account", Ref: "cw.b", Skills: []string{"rescue"}}, "ref"},
				{emergency.MemberInput{Kind: "account", Ref: "res.a", Skills: []string{"rescue"}}, "ref"},
				{emergency.MemberInput{Kind: "friend", Ref: "gw.2", Skills: []string{"rescue"}}, "kind"},
				{emergency.MemberInput{Kind: "account", Ref: "gw.2", Skills: []string{"juggling"}}, "skills"},
				{emergency.MemberInput{Kind: "account", Ref: "gw.2"}, "skills"},
				{emergency.MemberInput{Kind: "account", Ref: "gw.1", Skills: []string{"rescue"}}, "ref"},
			} {
				if st, body := cw.Do("POST", add, c.in); st != 400 || !containsField(body, c.field) {
					t.Fatalf("%+v: %d %s", c.in, st, body)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM em_team_members`); n != before {
				t.Fatalf("%d members, was %d", n, before)
			}
		})
		rota := func(m emergency.Member, from, to string) (int, string) {
			return cw.Do("POST", "/api/v1/emergency/teams/"+team.ID+"/rota", emergency.RotaInput{MemberID: m.ID, StartsOn: from, EndsOn: to})
		}
		t.Run("the rota: the volunteer this week, the grid worker next week; an overlap or an end before the start is refused", func(t *testing.T) {
			for _, r := range [][3]string{{vol.ID, "2026-11-27", "2026-12-03"}, {grid.ID, "2026-12-04", "2026-12-10"}, {vol.ID, "2026-12-11", "2026-12-11"}} {
				if st, body := rota(emergency.Member{ID: r[0]}, r[1], r[2]); st != 201 {
					t.Fatalf("%v: %d %s", r, st, body)
				}
			}
			before := e.Count(`SELECT COUNT(*) FROM em_team_rota`)
			if st, body := rota(vol, "2026-12-03", "2026-12-05"); st != 400 || !containsField(body, "starts_on") || !strings.Contains(body, "2026-11-27") {
				t.Fatalf("overlap: %d %s", st, body)
			}
			if st, body := rota(grid, "2026-12-01", "2026-12-20"); st != 400 || !containsField(body, "starts_on") {
				t.Fatalf("enclosing: %d %s", st, body)
			}
			if st, body := rota(officer, "2026-12-09", "2026-12-02"); st != 400 || !containsField(body, "ends_on") {
				t.Fatalf("end before start: %d %s", st, body)
			}
			if st, body := rota(emergency.Member{ID: "nobody"}, "12月1日", "2026-12-02"); st != 400 || !containsField(body, "member_id") || !containsField(body, "starts_on") {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM em_team_rota`); n != before {
				t.Fatalf("%d entries, was %d", n, before)
			}
		})
		t.Run("two entries for one member at once: one is kept", func(t *testing.T) {
			codes := make(chan int, 2)
			for range 2 {
				go func() { st, _ := rota(officer, "2027-01-01", "2027-01-07"); codes <- st }()
			}
			a, b := <-codes, <-codes
			if a+b != 201+400 || e.Count(`SELECT COUNT(*) FROM em_team_rota WHERE member_id = $1`, officer.ID) != 1 {
				t.Fatalf("%d %d", a, b)
			}
		})
		t.Run("a grid worker reads but does not write; another community and a resident see nothing", func(t *testing.T) {
			gw := e.Login("gw.1")
			if st, _ := gw.Do("POST", "/api/v1/emergency/teams/"+team.ID+"/rota", emergency.RotaInput{MemberID: grid.ID, StartsOn: "2027-02-01", EndsOn: "2027-02-02"}); st != 403 {
				t.Fatalf("%d", st)
			}
			if st, _ := e.Login("cw.b").Do("GET", "/api/v1/emergency/teams/"+team.ID, nil); st != 404 {
				t.Fatalf("%d", st)
			}
			if ts := apptest.JSON[[]emergency.TeamSummary](t, e.Login("cw.b"), "GET", "/api/v1/emergency/teams", nil, 200); len(ts) != 0 {
				t.Fatalf("%+v", ts)
			}
			if st, _, _ := e.Login("res.a").Get("/emergency/teams"); st != 403 {
				t.Fatalf("%d", st)
			}
		})
		t.Run("the pages add a member with the picker and a rota entry, and show who is on call", func(t *testing.T) {
			st, body, _ := cw.Form("/emergency/teams/"+team.ID+"/members/new", map[string]string{"member": "account:gw.2"}, sameOrigin)
			if st != 400 || !strings.Contains(body, `href="#f-skills"`) || !strings.Contains(body, `value="account:gw.2" selected`) {
				t.Fatalf("%d %s", st, body)
			}
			st, _, hdr := cw.Form("/emergency/teams/"+team.ID+"/members/new", map[string]string{"member": "account:gw.2", "skills": "first_aid"}, sameOrigin)
			if st != 303 || hdr.Get("Location") != "/emergency/teams/"+team.ID+"?done=member" {
				t.Fatalf("%d %s", st, hdr.Get("Location"))
			}
			gw2 := e.Count(`SELECT COUNT(*) FROM em_team_members WHERE team_id = $1 AND ref = 'gw.2'`, team.ID)
			var id string
			if err := e.App.DB.R.QueryRow(`SELECT id FROM em_team_members WHERE team_id = $1 AND ref = 'gw.2'`, team.ID).Scan(&id); err != nil || gw2 != 1 {
				t.Fatal(err, gw2)
			}
			st, body, _ = cw.Form("/emergency/teams/"+team.ID+"/rota/new", map[string]string{"member_id": id, "starts_on": "2026-11-30", "ends_on": "2026-11-28"}, sameOrigin)
			if st != 400 || !strings.Contains(body, `href="#f-ends_on"`) {
				t.Fatalf("%d %s", st, body)
			}
			st, _, _ = cw.Form("/emergency/teams/"+team.ID+"/rota/new", map[string]string{"member_id": id, "starts_on": "2026-11-29", "ends_on": "2026-11-30"}, sameOrigin)
			if st != 303 {
				t.Fatalf("%d", st)
			}
			_, page, _ := cw.Get("/emergency/teams/" + team.ID)
			for _, want := range []string{"孙**、gw.2", "医疗急救", "救援、驾驶", `id="rota"`} {
				if !strings.Contains(page, want) {
					t.Fatalf("lacks %s: %s", want, page)
				}
			}
		})
		onCall := func() []string {
			var out []string
			tm, err := w.es.Team(w.cw, team.ID) // the store: the clock moves past sessions' life
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range tm.OnCall {
				out = append(out, m.Name)
			}
			return out
		}
		t.Run("who is on call follows the clock: the volunteer (and gw.2, put on by the page) today, the grid worker from 4 December, nobody on the 12th", func(t *testing.T) {
			ts := apptest.JSON[[]emergency.TeamSummary](t, e.Login("gw.1"), "GET", "/api/v1/emergency/teams", nil, 200)
			if len(ts) != 1 || ts[0].Members != 4 || strings.Join(ts[0].OnCall, ",") != "gw.2,孙**" && strings.Join(ts[0].OnCall, ",") != "孙**,gw.2" {
				t.Fatalf("%+v", ts)
			}
			e.Clock.Add(24 * time.Hour) // 30 November: gw.2's last day
			if got := onCall(); len(got) != 2 {
				t.Fatalf("30 November: %v", got)
			}
			e.Clock.Set(time.Date(2026, 12, 3, 15, 59, 0, 0, time.UTC)) // 23:59 on the 3rd in China
			if got := onCall(); len(got) != 1 || got[0] != "孙**" {
				t.Fatalf("3 December, late: %v", got)
			}
			e.Clock.Add(2 * time.Minute) // 00:01 on the 4th
			if got := onCall(); len(got) != 1 || got[0] != "gw.1" {
				t.Fatalf("4 December: %v", got)
			}
			e.Clock.Set(time.Date(2026, 12, 12, 2, 0, 0, 0, time.UTC))
			if got := onCall(); len(got) != 0 {
				t.Fatalf("12 December: %v", got)
			}
		})
	})
}

// A warning's page names the area's teams with someone on call today.
func TestWarningPageShowsTeamsOnCall(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		t.Run("the teams of community A and of its township with someone on call today show on the warning's page; the other community's team does not", func(t *testing.T) {
			team, err := w.es.CreateTeam(w.cw, emergency.TeamInput{Name: "上保应急队"})
			if err != nil {
				t.Fatal(err)
			}
			m, err := w.es.AddMember(w.cw, team.ID, emergency.MemberInput{Kind: "account", Ref: "gw.1", Skills: []string{"rescue"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.es.AddRota(w.cw, team.ID, emergency.RotaInput{MemberID: m.ID, StartsOn: "2026-11-29", EndsOn: "2026-11-29"}); err != nil {
				t.Fatal(err)
			}
			other, err := w.es.CreateTeam(w.cwB, emergency.TeamInput{Name: "石灰桥应急队"})
			if err != nil {
				t.Fatal(err)
			}
			mb, err := w.es.AddMember(w.cwB, other.ID, emergency.MemberInput{Kind: "account", Ref: "cw.b", Skills: []string{"comms"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.es.AddRota(w.cwB, other.ID, emergency.RotaInput{MemberID: mb.ID, StartsOn: "2026-11-29", EndsOn: "2026-11-30"}); err != nil {
				t.Fatal(err)
			}
			town := as("officer.town", access.Officer, townA)
			street, err := w.es.CreateTeam(town, emergency.TeamInput{Name: "北山街道应急分队"})
			if err != nil {
				t.Fatal(err)
			}
			ms, err := w.es.AddMember(town, street.ID, emergency.MemberInput{Kind: "account", Ref: "officer.town", Skills: []string{"comms"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.es.AddRota(town, street.ID, emergency.RotaInput{MemberID: ms.ID, StartsOn: "2026-11-01", EndsOn: "2026-11-30"}); err != nil {
				t.Fatal(err)
			}
			is := w.issue(t, orange(communityA))
			_, page, _ := e.Login("officer.county").Get("/emergency/alerts/" + is.Alert.ID)
			if !strings.Contains(page, `id="on-call"`) || !strings.Contains(page, "上保应急队") || !strings.Contains(page, "gw.1") || !strings.Contains(page, "北山街道应急分队") || strings.Contains(page, "石灰桥应急队") {
				t.Fatalf("%s", page)
			}
		})
	})
}
