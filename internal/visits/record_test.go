package visits_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/visits"
)

func pngBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fields lists the fields an error names.
func fields(err error) []string {
	var out []string
	if fe, ok := err.(*fault.Error); ok {
		for _, f := range fe.Fields {
			out = append(out, f.Field)
		}
	}
	return out
}

func TestRecord(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.schedule(t, "2026-12")
		e.Clock.Set(day("2026-12-15T18:00"))
		gw1 := as("gw.1", access.GridWorker, communityA)
		elder := w.visitsOf(t, w.elder1, "2026-12")[0]
		good := func() visits.RecordInput {
			return visits.RecordInput{Method: visits.MethodHome, VisitedAt: "2026-12-15T10:00", Outcome: visits.OutcomeDone, Risk: visits.RiskNormal,
				Answers: map[string][]string{"health": {"fair"}, "living": {"good"}, "gas_safe": {"yes"}}, Present: "本人、女儿"}
		}
		t.Run("bad input is refused naming the field, and nothing is written", func(t *testing.T) {
			big := append(pngBytes(t), make([]byte, visits.MaxPhoto)...)
			lon := 120.1
			cases := []struct {
				name  string
				edit  func(*visits.RecordInput)
				field string
			}{
				{"a visit dated in the future", func(in *visits.RecordInput) { in.VisitedAt = "2026-12-16T10:00" }, "visited_at"},
				{"a visit before the month's schedule", func(in *visits.RecordInput) { in.VisitedAt = "2026-11-30T10:00" }, "visited_at"},
				{"an answer of the wrong type", func(in *visits.RecordInput) { in.Answers["health"] = []string{"excellent"} }, "answer[health]"},
				{"a yes/no answered otherwise", func(in *visits.RecordInput) { in.Answers["gas_safe"] = []string{"maybe"} }, "answer[gas_safe]"},
				{"a required answer missing", func(in *visits.RecordInput) { delete(in.Answers, "living") }, "answer[living]"},
				{"a photo too large", func(in *visits.RecordInput) { in.Photo = big }, "photo"},
				{"a photo that is not an image", func(in *visits.RecordInput) { in.Photo = []byte("%PDF-1.4 not an image") }, "photo"},
				{"a refusal without its reason", func(in *visits.RecordInput) { in.Outcome = visits.OutcomeRefused }, "reason"},
				{"an unknown outcome", func(in *visits.RecordInput) { in.Outcome = "maybe" }, "outcome"},
				{"an unknown risk level", func(in *visits.RecordInput) { in.Risk = "extreme" }, "risk"},
				{"a longitude without latitude", func(in *visits.RecordInput) { in.Lon = &lon }, "lat"},
				{"an extra visit in the past", func(in *visits.RecordInput) { in.ExtraDue = "2026-12-01" }, "extra_due"},
			}
			for _, c := range cases {
				in := good()
				c.edit(&in)
				_, err := w.vs.Record(gw1, elder.ID, in)
				if !fault.Is(err, fault.CodeInvalid) || !contains(fields(err), c.field) {
					t.Errorf("%s: %v (fields %v), want an invalid %s", c.name, err, fields(err), c.field)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE status <> 'open'`); n != 0 {
				t.Fatalf("%d visits recorded by bad input", n)
			}
		})
		t.Run("a programme that requires home visits refuses a phone call", func(t *testing.T) {
			child := w.visitsOf(t, w.child, "2026-12")[0]
			_, err := w.vs.Record(as("gw.2", access.GridWorker, communityA), child.ID, visits.RecordInput{Method: visits.MethodPhone, VisitedAt: "2026-12-15T10:00",
				Outcome: visits.OutcomeDone, Answers: map[string][]string{"health": {"good"}, "guardian_present": {"yes"}}})
			if !contains(fields(err), "method") {
				t.Fatalf("phone call: %v", err)
			}
		})
		t.Run("a worker outside the resident's scope is refused", func(t *testing.T) {
			for _, who := range []struct {
				name string
				p    *access.Principal
			}{
				{"a grid worker of another community", &access.Principal{Username: "gw.b", Role: access.GridWorker, Division: communityB}},
				{"a grid worker of another grid", &access.Principal{Username: "gw.2", Role: access.GridWorker, Division: communityA}},
			} {
				_, err := w.vs.Record(access.With(t.Context(), who.p), elder.ID, good())
				if !fault.Is(err, fault.CodeNotFound) {
					t.Errorf("%s: %v, want not found", who.name, err)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE status <> 'open'`); n != 0 {
				t.Fatalf("%d visits recorded out of scope", n)
			}
		})
		t.Run("a double tap records the visit once", func(t *testing.T) {
			in := good()
			in.SubmitKey = "tap-1"
			in.Answers["income"] = nil
			delete(in.Answers, "income")
			in.Photo = pngBytes(t)
			lon, lat := 120.13, 30.27
			in.Lon, in.Lat = &lon, &lat
			first, err := w.vs.Record(gw1, elder.ID, in)
			if err != nil {
				t.Fatal(err)
			}
			second, err := w.vs.Record(gw1, elder.ID, in)
			if err != nil || second.ID != first.ID || second.Status != visits.StatusDone {
				t.Fatalf("second tap: %+v %v", second, err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'visits.visit.record' AND object_id = $1`, fmt.Sprint(elder.ID)); n != 1 {
				t.Fatalf("%d record entries, want 1", n)
			}
			if first.Answers["health"] != "fair" || !first.HasPhoto {
				t.Fatalf("recorded: %+v", first)
			}
			var sealed, plain string
			if err := e.App.DB.R.QueryRow(`SELECT sealed, answers FROM vis_visits WHERE id = $1`, elder.ID).Scan(&sealed, &plain); err != nil {
				t.Fatal(err)
			}
			if sealed == "" || bytes.Contains([]byte(plain), []byte("fair")) {
				t.Fatalf("the health answer is not sealed: answers %s", plain)
			}
			_, err = w.vs.Record(gw1, elder.ID, good())
			if !fault.Is(err, fault.CodeConflict) {
				t.Fatalf("recording again without the key: %v", err)
			}
		})
		t.Run("the photo is shown to those who may read the visit, as a kept thumbnail and in full, and each full view is audited", func(t *testing.T) {
			ph, err := w.vs.Photo(w.cw, elder.ID)
			if err != nil || ph.Type != "image/png" || !bytes.Equal(ph.Data, pngBytes(t)) {
				t.Fatalf("full photo: %q %d bytes, %v", ph.Type, len(ph.Data), err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'visits.photo.read' AND object_id = $1`, fmt.Sprint(elder.ID)); n != 1 {
				t.Fatalf("%d photo views audited, want 1", n)
			}
			small, ok, err := w.vs.Thumb(gw1, elder.ID)
			if err != nil || !ok || !bytes.HasPrefix(small, []byte{0xFF, 0xD8}) {
				t.Fatalf("thumbnail: ok %v, %d bytes, %v", ok, len(small), err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE id = $1 AND photo_thumb IS NOT NULL`, elder.ID); n != 1 {
				t.Fatal("the thumbnail was not kept")
			}
			for _, who := range []context.Context{as("gw.2", access.GridWorker, communityA), as("res", access.Resident, communityA)} {
				if _, err := w.vs.Photo(who, elder.ID); err == nil {
					t.Errorf("a caller outside the visit's scope saw its photo")
				}
			}
			if _, err := w.vs.Photo(w.cw, w.visitsOf(t, w.child, "2026-12")[0].ID); !fault.Is(err, fault.CodeNotFound) {
				t.Errorf("a visit without a photo: %v, want not found", err)
			}
		})
		t.Run("the photo and its thumbnail are stored sealed, bound to their visit; one recorded before sealing is sealed at start", func(t *testing.T) {
			var photo, small []byte
			stored := func() {
				t.Helper()
				if err := e.App.DB.R.QueryRow(`SELECT photo, photo_thumb FROM vis_visits WHERE id = $1`, elder.ID).Scan(&photo, &small); err != nil {
					t.Fatal(err)
				}
			}
			stored()
			if bytes.Contains(photo, []byte("\x89PNG")) || bytes.HasPrefix(small, []byte{0xFF, 0xD8}) || len(photo) <= len(pngBytes(t)) {
				t.Fatal("the photo or its thumbnail is stored as a plain image")
			}
			other := w.visitsOf(t, w.child, "2026-12")[0].ID
			if _, err := e.App.DB.W.Exec(`UPDATE vis_visits SET photo = $1, photo_type = 'image/png', photo_sealed = TRUE WHERE id = $2`, photo, other); err != nil {
				t.Fatal(err)
			}
			if _, err := w.vs.Photo(w.cw, other); err == nil {
				t.Fatal("a sealed photo copied to another visit opened there")
			}
			if _, err := e.App.DB.W.Exec(`UPDATE vis_visits SET photo = NULL, photo_type = '', photo_sealed = FALSE WHERE id = $1`, other); err != nil {
				t.Fatal(err)
			}
			thumbBefore, _, err := w.vs.Thumb(w.cw, elder.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.App.DB.W.Exec(`UPDATE vis_visits SET photo = $1, photo_thumb = NULL, photo_sealed = FALSE WHERE id = $2`, pngBytes(t), elder.ID); err != nil {
				t.Fatal(err)
			}
			if ph, err := w.vs.Photo(w.cw, elder.ID); err != nil || !bytes.Equal(ph.Data, pngBytes(t)) {
				t.Fatalf("a photo recorded before sealing: %v", err)
			}
			if n, err := w.vs.SealPhotoBacklog(context.Background()); err != nil || n != 1 {
				t.Fatalf("sealed %d: %v", n, err)
			}
			stored()
			if bytes.Contains(photo, []byte("\x89PNG")) {
				t.Fatal("the start-up pass left the photo plain")
			}
			if ph, err := w.vs.Photo(w.cw, elder.ID); err != nil || !bytes.Equal(ph.Data, pngBytes(t)) {
				t.Fatalf("photo after sealing: %v", err)
			}
			path := fmt.Sprintf("/api/v1/visits/%d/photo", elder.ID)
			if st, body := e.Login("cw.a").Do("GET", path, nil); st != 200 || body != string(pngBytes(t)) {
				t.Fatalf("the API's photo: %d, %d bytes", st, len(body))
			}
			if st, _ := e.Login("gw.b").Do("GET", path, nil); st != 404 {
				t.Fatalf("the API gave another community's worker the photo: %d", st)
			}
			if again, ok, err := w.vs.Thumb(w.cw, elder.ID); err != nil || !ok || !bytes.Equal(again, thumbBefore) {
				t.Fatalf("thumbnail after sealing: %v %v", ok, err)
			}
			if n, _ := w.vs.SealPhotoBacklog(context.Background()); n != 0 {
				t.Fatalf("a second pass sealed %d", n)
			}
			plan, err := e.App.DB.Explain(context.Background(), `SELECT id FROM vis_visits WHERE photo_type <> '' AND NOT photo_sealed ORDER BY id LIMIT 50`, nil, db.NoSeqScan())
			if err != nil || !bytes.Contains([]byte(plan), []byte("vis_visits_plain_photos")) {
				t.Fatalf("the pass does not read its index: %s %v", plan, err)
			}
		})
		t.Run("a community worker reassigns an open visit to a worker of its community only", func(t *testing.T) {
			child := w.visitsOf(t, w.child, "2026-12")[0]
			if _, err := w.vs.Reassign(gw1, child.ID, "gw.1"); !fault.Is(err, fault.CodeForbidden) {
				t.Fatalf("a grid worker reassigning: %v", err)
			}
			if _, err := w.vs.Reassign(w.cw, child.ID, "gw.b"); !contains(fields(err), "owner") {
				t.Fatalf("to a worker of another community: %v", err)
			}
			v, err := w.vs.Reassign(w.cw, child.ID, "gw.1")
			if err != nil || v.Owner != "gw.1" {
				t.Fatalf("%+v %v", v, err)
			}
			if got := w.visitsOf(t, w.child, "2026-12")[0].Owner; got != "gw.1" {
				t.Fatalf("owner now %s", got)
			}
		})
		t.Run("nobody home makes a retry due within three days", func(t *testing.T) {
			hh := w.visitsOf(t, w.h2, "2026-12")[0]
			_, err := w.vs.Record(as("gw.2", access.GridWorker, communityA), hh.ID, visits.RecordInput{Method: visits.MethodHome, VisitedAt: "2026-12-15T09:30", Outcome: visits.OutcomeNotHome})
			if err != nil {
				t.Fatal(err)
			}
			vs := w.visitsOf(t, w.h2, "2026-12")
			if len(vs) != 2 || vs[0].Status != visits.StatusNotHome || vs[1].Status != visits.StatusOpen || vs[1].Due != "2026-12-18" || vs[1].Owner != "gw.2" {
				t.Fatalf("after not home: %+v", vs)
			}
		})
		t.Run("a high-risk finding flags assistance and schedules an extra visit in one step", func(t *testing.T) {
			v := w.visitsOf(t, w.elder2, "2026-12")[0]
			in := good()
			in.Risk, in.ExtraDue, in.FlagAssistance, in.AssistanceReason = visits.RiskHigh, "2026-12-20", true, "独居失能，需助餐"
			if _, err := w.vs.Record(w.cw, v.ID, in); err != nil {
				t.Fatal(err)
			}
			vs := w.visitsOf(t, w.elder2, "2026-12")
			if len(vs) != 2 || vs[1].Due != "2026-12-20" || vs[1].Status != visits.StatusOpen {
				t.Fatalf("extra visit: %+v", vs)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_assistance_flags WHERE resident_id = $1`, w.elder2); n != 1 {
				t.Fatalf("%d assistance flags", n)
			}
		})
	})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
