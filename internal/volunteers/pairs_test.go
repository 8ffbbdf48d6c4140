package volunteers_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/registry"
	"linli/internal/visits"
	"linli/internal/volunteers"
)

// elders tags res.m (born 1955) and a new resident res.old (born 1948,
// household H2) as empty-nest elderly, and has the visits module schedule
// this month: both are targets of the special-elderly programme.
func (w *town) elders(t *testing.T) (old string) {
	t.Helper()
	w.e.User("res.old", access.Resident, communityA)
	var hh string
	if err := w.e.App.DB.R.QueryRow(`SELECT household_id FROM registry_people WHERE id = $1`, w.x).Scan(&hh); err != nil {
		t.Fatal(err)
	}
	old = w.resident(t, hh, 1948, "res.old")
	for _, id := range []string{w.m, old} {
		if _, err := w.reg.AddTag(w.cw, id, registry.TagInput{Tag: "empty_nest"}); err != nil {
			t.Fatal(err)
		}
	}
	vs := visits.StoreOf(w.e.App.Module("visits"))
	if _, err := vs.Schedule(context.Background(), visits.MonthOf(w.e.Clock.Now()), ""); err != nil {
		t.Fatal(err)
	}
	return old
}

const elderly = "prog-special-elderly"

func TestPairs(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		old := w.elders(t)
		a := w.volunteer(t, w.resA)
		x := w.volunteer(t, w.resX)
		today := e.Clock.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		yesterday := e.Clock.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, -1).Format("2006-01-02")
		cw := e.Login("cw.a")
		var pair volunteers.Pair
		t.Run("the worker's picker lists this month's visit targets of the community, masked", func(t *testing.T) {
			ts := apptest.JSON[[]volunteers.Target](t, cw, "GET", "/api/v1/volunteer-pairs/targets", nil, 200)
			found := map[string]bool{}
			for _, tg := range ts {
				if tg.ProgrammeID == elderly {
					found[tg.TargetID] = true
					if !strings.HasSuffix(tg.Name, "**") || tg.NextDue == "" {
						t.Fatalf("target %+v", tg)
					}
				}
			}
			if !found[w.m] || !found[old] {
				t.Fatalf("targets %+v", ts)
			}
			if ts := apptest.JSON[[]volunteers.Target](t, e.Login("cw.b"), "GET", "/api/v1/volunteer-pairs/targets", nil, 200); len(ts) != 0 {
				t.Fatalf("community B's worker sees %d of A's targets", len(ts))
			}
		})
		t.Run("a community worker pairs a verified volunteer with a visit target of the community, audited", func(t *testing.T) {
			pair = apptest.JSON[volunteers.Pair](t, cw, "POST", "/api/v1/volunteer-pairs", volunteers.PairInput{VolunteerID: a.ResidentID, ProgrammeID: elderly, TargetID: w.m}, 201)
			if !pair.Active || pair.VolunteerID != w.a || pair.ResidentID != w.m || pair.Division != communityA || pair.Started != today || pair.NextDue == "" || !strings.HasSuffix(pair.Target, "**") {
				t.Fatalf("%+v", pair)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'volunteers.pair.create' AND object_id = $1`, pair.ID); n != 1 {
				t.Fatalf("%d audit records", n)
			}
		})
		t.Run("the same volunteer and target again is refused with 409, nothing written", func(t *testing.T) {
			st, body := cw.Do("POST", "/api/v1/volunteer-pairs", volunteers.PairInput{VolunteerID: a.ResidentID, ProgrammeID: elderly, TargetID: w.m})
			if st != 409 || !strings.Contains(body, "已与该对象结对") || !strings.Contains(body, "already paired") {
				t.Fatalf("got %d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_pairs`); n != 1 {
				t.Fatalf("%d pairs", n)
			}
		})
		t.Run("an unverified volunteer, another community's worker and a resident cannot pair; nothing written", func(t *testing.T) {
			pending, err := w.vs.Register(w.resKid, volunteers.VolunteerInput{Skills: []string{"tutoring"}, Availability: []string{"weekend"}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.vs.CreatePair(w.cw, volunteers.PairInput{VolunteerID: pending.ResidentID, ProgrammeID: elderly, TargetID: old})
			fieldOf(t, err, fault.CodeInvalid, "volunteer_id")
			_, err = w.vs.CreatePair(w.cwB, volunteers.PairInput{VolunteerID: x.ResidentID, ProgrammeID: elderly, TargetID: old})
			fieldOf(t, err, fault.CodeInvalid, "volunteer_id")
			fieldOf(t, err, fault.CodeInvalid, "target_id")
			_, err = w.vs.CreatePair(w.cw, volunteers.PairInput{VolunteerID: x.ResidentID, ProgrammeID: elderly, TargetID: "no-such-target"})
			fieldOf(t, err, fault.CodeInvalid, "target_id")
			if st, _ := e.Login("res.a").Do("POST", "/api/v1/volunteer-pairs", volunteers.PairInput{VolunteerID: x.ResidentID, ProgrammeID: elderly, TargetID: old}); st != 403 {
				t.Fatalf("a resident pairing: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_pairs`); n != 1 {
				t.Fatalf("%d pairs", n)
			}
		})
		t.Run("a target who has left the programme's group cannot be paired", func(t *testing.T) {
			var hh string
			if err := e.App.DB.R.QueryRow(`SELECT household_id FROM registry_people WHERE id = $1`, w.a).Scan(&hh); err != nil {
				t.Fatal(err)
			}
			e.User("res.left", access.Resident, communityA)
			left := w.resident(t, hh, 1946, "res.left")
			ref, err := w.reg.AddTag(w.cw, left, registry.TagInput{Tag: "empty_nest"})
			if err != nil {
				t.Fatal(err)
			}
			vs := visits.StoreOf(e.App.Module("visits"))
			if _, err := vs.Schedule(context.Background(), visits.MonthOf(e.Clock.Now()), ""); err != nil {
				t.Fatal(err)
			}
			if err := w.reg.RemoveTag(w.cw, left, ref.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := vs.Schedule(context.Background(), visits.MonthOf(e.Clock.Now()), ""); err != nil {
				t.Fatal(err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM visits_targets WHERE target_id = $1 AND status = 'cancelled'`, left); n != 1 {
				t.Fatalf("%d cancelled months of the target who left", n)
			}
			_, err = w.vs.CreatePair(w.cw, volunteers.PairInput{VolunteerID: x.ResidentID, ProgrammeID: elderly, TargetID: left})
			fieldOf(t, err, fault.CodeInvalid, "target_id")
		})
		var openVisit int64
		t.Run("the paired volunteer records a visit: it closes the target's earliest open visit, which the programme counts, and credits the hours", func(t *testing.T) {
			if err := e.App.DB.R.QueryRow(`SELECT id FROM vis_visits WHERE programme_id = $1 AND subject_id = $2 AND status = 'open' ORDER BY due_date, id LIMIT 1`, elderly, w.m).Scan(&openVisit); err != nil {
				t.Fatal(err)
			}
			before := e.Count(`SELECT COALESCE(SUM(earned), 0) FROM vol_accounts WHERE id = $1`, volunteers.AccountID(volunteers.OwnerVolunteer, w.a, volunteers.Hours))
			pv := apptest.JSON[volunteers.PairVisit](t, e.Login("res.a"), "POST", "/api/v1/volunteer-pairs/"+pair.ID+"/visits",
				volunteers.PairVisitInput{Date: today, Minutes: 90, Well: true, Note: "精神不错，聊了家常"}, 201)
			if pv.VisitID == nil || *pv.VisitID != openVisit || pv.TxnID == "" || pv.Minutes != 90 {
				t.Fatalf("%+v", pv)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE id = $1 AND status = 'done' AND recorded_by = 'res.a' AND method = 'home' AND risk = 'normal' AND visited_at IS NOT NULL`, openVisit); n != 1 {
				t.Fatal("the programme's visit is not closed as done by the volunteer")
			}
			if after := e.Count(`SELECT COALESCE(SUM(earned), 0) FROM vol_accounts WHERE id = $1`, volunteers.AccountID(volunteers.OwnerVolunteer, w.a, volunteers.Hours)); after != before+90 {
				t.Fatalf("earned %d → %d minutes, want +90", before, after)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_entries WHERE entry_key = $1 AND ref = $2 AND kind = 'service'`, "pair:"+pair.ID+":"+today, pair.ID); n != 1 {
				t.Fatalf("%d keyed ledger entries", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'volunteers.pair.visit' AND object_id = $1`, pair.ID); n != 1 {
				t.Fatalf("%d audit records", n)
			}
			invariants(t, e, "after a paired visit")
		})
		t.Run("a second record the same day is refused with a clear 409, nothing more credited or closed", func(t *testing.T) {
			st, body := e.Login("res.a").Do("POST", "/api/v1/volunteer-pairs/"+pair.ID+"/visits", volunteers.PairVisitInput{Date: today, Minutes: 30, Well: true})
			if st != 409 || !strings.Contains(body, "这一天已记录") || !strings.Contains(body, `"date"`) {
				t.Fatalf("got %d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_pair_visits`); n != 1 {
				t.Fatalf("%d pair visits", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_entries WHERE ref = $1`, pair.ID); n != 2 {
				t.Fatalf("%d ledger legs, want the one transaction's 2", n)
			}
			invariants(t, e, "after a refused second record")
		})
		t.Run("another volunteer and the worker cannot record for the pair (403); bad input names its fields", func(t *testing.T) {
			if st, _ := e.Login("res.x").Do("POST", "/api/v1/volunteer-pairs/"+pair.ID+"/visits", volunteers.PairVisitInput{Date: yesterday, Minutes: 60, Well: true}); st != 404 && st != 403 {
				t.Fatalf("another volunteer: %d", st)
			}
			if st, _ := cw.Do("POST", "/api/v1/volunteer-pairs/"+pair.ID+"/visits", volunteers.PairVisitInput{Date: yesterday, Minutes: 60, Well: true}); st != 403 {
				t.Fatalf("the worker: %d", st)
			}
			_, err := w.vs.RecordPairVisit(w.resX, pair.ID, volunteers.PairVisitInput{Date: yesterday, Minutes: 60, Well: true})
			if we, ok := fault.As(err); !ok || (we.Code != fault.CodeForbidden && we.Code != fault.CodeNotFound) {
				t.Fatalf("another volunteer: %v", err)
			}
			_, err = w.vs.RecordPairVisit(w.resA, pair.ID, volunteers.PairVisitInput{Date: "2099-01-01", Minutes: 5, Well: false})
			fieldOf(t, err, fault.CodeInvalid, "date")
			fieldOf(t, err, fault.CodeInvalid, "minutes")
			fieldOf(t, err, fault.CodeInvalid, "note")
			if n := e.Count(`SELECT COUNT(*) FROM vol_pair_visits`); n != 1 {
				t.Fatalf("%d pair visits", n)
			}
		})
		t.Run("a visit the next day, with nothing left open this month, credits the hours without closing a visit", func(t *testing.T) {
			e.Clock.Add(24 * time.Hour)
			today = e.Clock.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
			cw = e.Login("cw.a") // the session of the day before has lapsed
			pv, err := w.vs.RecordPairVisit(w.resA, pair.ID, volunteers.PairVisitInput{Date: today, Minutes: 60, Well: true})
			if err != nil || pv.VisitID != nil || pv.TxnID == "" {
				t.Fatalf("%+v %v", pv, err)
			}
			invariants(t, e, "after a visit with nothing open")
		})
		t.Run("a volunteer finding the resident needs help closes the visit at attention and flags it to the community", func(t *testing.T) {
			p2, err := w.vs.CreatePair(w.cw, volunteers.PairInput{VolunteerID: x.ResidentID, ProgrammeID: elderly, TargetID: old})
			if err != nil {
				t.Fatal(err)
			}
			pv, err := w.vs.RecordPairVisit(w.resX, p2.ID, volunteers.PairVisitInput{Date: today, Minutes: 45, Well: false, Note: "腿脚不便，需要助餐"})
			if err != nil || pv.VisitID == nil {
				t.Fatalf("%+v %v", pv, err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE id = $1 AND status = 'done' AND risk = 'attention'`, *pv.VisitID); n != 1 {
				t.Fatal("the visit is not closed at attention")
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_assistance_flags WHERE visit_id = $1 AND status = 'open' AND reason = '腿脚不便，需要助餐' AND created_by = 'res.x'`, *pv.VisitID); n != 1 {
				t.Fatalf("%d assistance flags", n)
			}
		})
		t.Run("the visits module's trigger refuses to close a visit that is not open", func(t *testing.T) {
			_, err := e.App.DB.W.Exec(`INSERT INTO visits_volunteer_visits (visit_id, visited_at, note, recorded_by, needs_help, flag_id, recorded_at) VALUES ($1, $2, '', 'x', FALSE, '', $2)`,
				openVisit, db.T(e.Clock.Now()))
			if err == nil || !strings.Contains(err.Error(), "visit is not open") {
				t.Fatalf("closing a done visit again: %v", err)
			}
		})
		t.Run("the list is scoped and paged by key; a resident sees only their own pairs", func(t *testing.T) {
			pg := apptest.JSON[volunteers.Page[volunteers.Pair]](t, cw, "GET", "/api/v1/volunteer-pairs?page_size=1", nil, 200)
			if len(pg.Items) != 1 || pg.Next == "" {
				t.Fatalf("%+v", pg)
			}
			pg2 := apptest.JSON[volunteers.Page[volunteers.Pair]](t, cw, "GET", "/api/v1/volunteer-pairs?page_size=1&cursor="+url.QueryEscape(pg.Next), nil, 200)
			if len(pg2.Items) != 1 || pg2.Items[0].ID == pg.Items[0].ID {
				t.Fatalf("%+v", pg2)
			}
			if pg := apptest.JSON[volunteers.Page[volunteers.Pair]](t, e.Login("cw.b"), "GET", "/api/v1/volunteer-pairs", nil, 200); len(pg.Items) != 0 {
				t.Fatalf("community B sees %d", len(pg.Items))
			}
			mine := apptest.JSON[volunteers.Page[volunteers.Pair]](t, e.Login("res.a"), "GET", "/api/v1/volunteer-pairs", nil, 200)
			if len(mine.Items) != 1 || mine.Items[0].ID != pair.ID {
				t.Fatalf("%+v", mine)
			}
			if st, _ := e.Login("cw.b").Do("GET", "/api/v1/volunteer-pairs/"+pair.ID+"/visits", nil); st != 404 {
				t.Fatalf("community B reading the visits: %d", st)
			}
			if vs := apptest.JSON[[]volunteers.PairVisit](t, cw, "GET", "/api/v1/volunteer-pairs/"+pair.ID+"/visits", nil, 200); len(vs) != 2 || vs[0].Date != today {
				t.Fatalf("%+v", vs)
			}
		})
		t.Run("ending a pair keeps its history; an ended pair records nothing and ends once; the pair can be made again", func(t *testing.T) {
			if st, _ := e.Login("cw.b").Do("POST", "/api/v1/volunteer-pairs/"+pair.ID+"/end", nil); st != 404 {
				t.Fatalf("another community ending: %d", st)
			}
			if st, _ := e.Login("res.a").Do("POST", "/api/v1/volunteer-pairs/"+pair.ID+"/end", nil); st != 403 {
				t.Fatalf("the volunteer ending: %d", st)
			}
			ended := apptest.JSON[volunteers.Pair](t, cw, "POST", "/api/v1/volunteer-pairs/"+pair.ID+"/end", nil, 200)
			if ended.Active || ended.Ended != today || ended.EndedBy != "cw.a" {
				t.Fatalf("%+v", ended)
			}
			if st, _ := cw.Do("POST", "/api/v1/volunteer-pairs/"+pair.ID+"/end", nil); st != 409 {
				t.Fatalf("ending twice: %d", st)
			}
			if st, _ := e.Login("res.a").Do("POST", "/api/v1/volunteer-pairs/"+pair.ID+"/visits", volunteers.PairVisitInput{Date: today, Minutes: 60, Well: true}); st != 409 {
				t.Fatalf("recording on an ended pair: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_pair_visits WHERE pair_id = $1`, pair.ID); n != 2 {
				t.Fatalf("%d visits kept", n)
			}
			again := apptest.JSON[volunteers.Pair](t, cw, "POST", "/api/v1/volunteer-pairs", volunteers.PairInput{VolunteerID: a.ResidentID, ProgrammeID: elderly, TargetID: w.m}, 201)
			if again.ID == pair.ID || !again.Active {
				t.Fatalf("%+v", again)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'volunteers.pair.end'`); n != 1 {
				t.Fatalf("%d end audits", n)
			}
		})
	})
}

func TestPairPages(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.elders(t)
		w.volunteer(t, w.resA)
		cw := e.Login("cw.a")
		t.Run("the worker's pairs page offers volunteers and targets from lists, no typed ids", func(t *testing.T) {
			st, body, _ := cw.Get("/volunteers/pairs")
			if st != 200 || !strings.Contains(body, `id="new-pair"`) || !strings.Contains(body, `<option value="`+w.a+`"`) ||
				!strings.Contains(body, `<option value="`+elderly+`|`+w.m+`"`) || strings.Contains(body, "<script") {
				t.Fatalf("got %d", st)
			}
		})
		t.Run("a pairing without a target shows the form again naming the field", func(t *testing.T) {
			st, body, _ := cw.Form("/volunteers/pairs", map[string]string{"volunteer_id": w.a}, nil)
			if st != 400 || !strings.Contains(body, `href="#f-target_id"`) {
				t.Fatalf("got %d", st)
			}
		})
		var pairID string
		t.Run("the worker pairs by the form and the list shows the pair with its end link", func(t *testing.T) {
			st, _, hdr := cw.Form("/volunteers/pairs", map[string]string{"volunteer_id": w.a, "target": elderly + "|" + w.m}, nil)
			if st != 303 || hdr.Get("Location") != "/volunteers/pairs?done=paired" {
				t.Fatalf("got %d %v", st, hdr)
			}
			if err := e.App.DB.R.QueryRow(`SELECT id FROM vol_pairs`).Scan(&pairID); err != nil {
				t.Fatal(err)
			}
			st, body, _ := cw.Get("/volunteers/pairs?done=paired")
			if st != 200 || !strings.Contains(body, `id="done"`) || !strings.Contains(body, `/volunteers/pairs/`+pairID+`/end`) {
				t.Fatalf("got %d", st)
			}
		})
		t.Run("the volunteer finds the pair on 我的志愿服务 and records a visit by the form", func(t *testing.T) {
			res := e.Login("res.a")
			st, body, _ := res.Get("/volunteers/me")
			if st != 200 || !strings.Contains(body, `id="my-pairs"`) || !strings.Contains(body, `/volunteers/me/pairs/`+pairID) {
				t.Fatalf("got %d", st)
			}
			st, body, _ = res.Get("/volunteers/me/pairs/" + pairID)
			if st != 200 || !strings.Contains(body, `id="record"`) || !strings.Contains(body, `name="minutes" value="60" checked`) {
				t.Fatalf("got %d", st)
			}
			today := e.Clock.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
			st, _, hdr := res.Form("/volunteers/me/pairs/"+pairID, map[string]string{"date": today, "minutes": "60", "well": "yes"}, nil)
			if st != 303 || hdr.Get("Location") != "/volunteers/me/pairs/"+pairID+"?done=recorded" {
				t.Fatalf("got %d %v", st, hdr)
			}
			st, body, _ = res.Get(hdr.Get("Location"))
			if st != 200 || !strings.Contains(body, `id="done"`) || !strings.Contains(body, `id="visits"`) {
				t.Fatalf("got %d", st)
			}
			st, body, _ = res.Form("/volunteers/me/pairs/"+pairID, map[string]string{"date": today, "minutes": "30", "well": "yes"}, nil)
			if st != 409 || !strings.Contains(body, `href="#f-date"`) || !strings.Contains(body, "这一天已记录") {
				t.Fatalf("the same day again: %d", st)
			}
			if st, _, _ := e.Login("res.x").Get("/volunteers/me/pairs/" + pairID); st != 404 {
				t.Fatalf("another resident's view: %d", st)
			}
		})
		t.Run("ending asks first, then ends the pair", func(t *testing.T) {
			st, body, _ := cw.Get("/volunteers/pairs/" + pairID + "/end")
			if st != 200 || !strings.Contains(body, `id="confirm-end"`) || !strings.Contains(body, `id="cancel"`) {
				t.Fatalf("got %d", st)
			}
			st, _, hdr := cw.Form("/volunteers/pairs/"+pairID+"/end", nil, nil)
			if st != 303 || hdr.Get("Location") != "/volunteers/pairs?done=ended" {
				t.Fatalf("got %d %v", st, hdr)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_pairs WHERE NOT active AND ended_by = 'cw.a'`); n != 1 {
				t.Fatalf("%d ended", n)
			}
			if st, _, _ := cw.Get("/volunteers/pairs/" + pairID + "/end"); st != 409 {
				t.Fatalf("the confirmation of an ended pair: %d", st)
			}
		})
	})
}
