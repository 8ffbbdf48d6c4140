package emergency_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"linli/internal/apptest"
	"linli/internal/emergency"
)

// The situation view: the board with the supplies drawn since the first
// warning and a timeline, refreshed only when the reader asks, and the
// whole as an xlsx file for the command post.
func TestTheSituationViewCountsWhatTheCommandPostNeeds(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		cw := e.Login("cw.a")
		jackets := apptest.JSON[emergency.StockItem](t, cw, "POST", "/api/v1/emergency/stock",
			emergency.StockInput{Place: "社区应急仓库", Name: "救生衣", Unit: "件", Quantity: 20, Minimum: 5}, 201)
		move := func(delta int, reason string) {
			t.Helper()
			if st, body := cw.Do("POST", "/api/v1/emergency/stock/"+jackets.ID+"/moves", emergency.MoveInput{Delta: delta, Reason: reason}); st != 201 && st != 200 {
				t.Fatalf("%d %s", st, body)
			}
		}
		move(-2, "演练领用") // before the warning: not drawn for it
		e.Clock.Add(time.Minute)
		issued := w.issue(t, orange(communityA))
		alert := issued.Alert.ID
		elder, _, _ := w.checkOf(t, issued.Alert.IncidentID, "person", w.elder)
		e.Clock.Add(time.Minute)
		move(-5, "发放转移群众")
		move(3, "归还")
		e.Clock.Add(time.Minute)
		apptest.JSON[emergency.CheckinResult](t, e.Login("nb.1"), "POST", "/api/v1/emergency/checkins", emergency.CheckinInput{AlertID: alert, CheckID: elder, Status: "unreachable"}, 200)
		e.Clock.Add(time.Minute)
		apptest.JSON[emergency.CheckinResult](t, e.Login("res.a"), "POST", "/api/v1/emergency/checkins", emergency.CheckinInput{AlertID: alert, Status: "safe"}, 200)
		var b emergency.Board

		t.Run("the board counts only what was drawn since the first warning, net of nothing returned", func(t *testing.T) {
			b = apptest.JSON[emergency.Board](t, e.Login("officer.town"), "GET", "/api/v1/emergency/alerts/"+alert+"/board", nil, 200)
			if len(b.Drawn) != 1 || b.Drawn[0].Name != "救生衣" || b.Drawn[0].Quantity != 5 || b.Drawn[0].Unit != "件" {
				t.Fatalf("%+v", b.Drawn)
			}
		})
		t.Run("the timeline lists status changes and the warning, newest first, naming no one", func(t *testing.T) {
			tl := b.Timeline
			if len(tl) != 3 || tl[0].Kind != "household" || tl[0].Status != "safe" || tl[1].Kind != "person" || tl[1].Status != "unreachable" ||
				tl[2].Kind != "message" || !strings.Contains(tl[2].What.ZH, "台风橙色预警") {
				t.Fatalf("%+v", tl)
			}
			if tl[0].ByRole != "resident" || tl[1].ByRole != "grid_worker" || tl[0].Division != communityA {
				t.Fatalf("%+v", tl)
			}
		})
		t.Run("the page refreshes itself only when the reader chooses, and says how to stop", func(t *testing.T) {
			off := e.Login("officer.town")
			_, page, hdr := off.Get("/emergency/alerts/" + alert)
			if hdr.Get("Refresh") != "" || !strings.Contains(page, `id="auto-on"`) || !strings.Contains(page, "救生衣") || !strings.Contains(page, `id="timeline"`) {
				t.Fatalf("refresh %q", hdr.Get("Refresh"))
			}
			_, page, hdr = off.Get("/emergency/alerts/" + alert + "?auto=1")
			if hdr.Get("Refresh") != strconv.Itoa(emergency.RefreshSeconds) || !strings.Contains(page, `id="auto-off"`) {
				t.Fatalf("refresh %q", hdr.Get("Refresh"))
			}
		})
		t.Run("the map draws the community where its facilities are, shaped by how many are reached, and its shelter", func(t *testing.T) {
			_, page, _ := e.Login("officer.town").Get("/emergency/alerts/" + alert)
			for _, want := range []string{`id="situation-map"`, `data-division="` + communityA + `" data-band="low"`, `data-over="false"`, `id="sitmap-legend"`} {
				if !strings.Contains(page, want) {
					t.Fatalf("the page lacks %s", want)
				}
			}
			apptest.JSON[emergency.CheckinResult](t, e.Login("nb.1"), "POST", "/api/v1/emergency/checkins", emergency.CheckinInput{AlertID: alert, CheckID: elder, Status: "safe"}, 200)
			_, page, _ = e.Login("officer.town").Get("/emergency/alerts/" + alert)
			if !strings.Contains(page, `data-division="`+communityA+`" data-band="half"`) {
				t.Fatal("one of two confirmed is not drawn as half")
			}
			b = apptest.JSON[emergency.Board](t, e.Login("officer.town"), "GET", "/api/v1/emergency/alerts/"+alert+"/board", nil, 200)
		})
		t.Run("the xlsx file holds the same figures, surnames only, and the export is audited", func(t *testing.T) {
			st, body, hdr := e.Login("officer.town").Get("/emergency/alerts/" + alert + "/situation.xlsx")
			if st != 200 || !strings.Contains(hdr.Get("Content-Disposition"), "situation-"+alert) {
				t.Fatalf("%d %v", st, hdr)
			}
			f, err := excelize.OpenReader(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rows := func(sheet string) [][]string {
				t.Helper()
				rs, err := f.GetRows(sheet)
				if err != nil {
					t.Fatalf("%s: %v", sheet, err)
				}
				return rs
			}
			var households []string
			for _, r := range rows("态势 Situation") {
				if len(r) > 0 && r[0] == "住户 Households" {
					households = r
				}
			}
			if strings.Join(households, "|") != "住户 Households|"+strconv.Itoa(b.Households.Total)+"|1|1|0|0|0|"+strconv.Itoa(b.Households.Total-1) {
				t.Fatalf("%q (board %+v)", households, b.Households)
			}
			comm := rows("各社区 Communities")
			if len(comm) != 1+len(b.Rows) || comm[1][0] != communityA {
				t.Fatalf("%q", comm)
			}
			for _, r := range rows("待确认 Waiting")[1:] {
				if !strings.HasSuffix(r[0], "**") {
					t.Fatalf("a full name in the file: %q", r)
				}
			}
			if d := rows("物资动用 Supplies drawn"); len(d) != 2 || d[1][0] != "救生衣" || d[1][2] != "5" {
				t.Fatalf("%q", d)
			}
			if tl := rows("时间线 Timeline"); len(tl) != 5 {
				t.Fatalf("%q", tl)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.situation.export' AND object_id = $1`, alert); n != 1 {
				t.Fatalf("%d audit entries", n)
			}
		})
		t.Run("narrowed to another community it holds none of A's supplies or timeline; outside the area and for residents there is no file", func(t *testing.T) {
			st, body, _ := e.Login("officer.county").Get("/emergency/alerts/" + alert + "/situation.xlsx?division=" + communityB)
			if st != 200 {
				t.Fatalf("%d", st)
			}
			f, err := excelize.OpenReader(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if rs, _ := f.GetRows("物资动用 Supplies drawn"); len(rs) != 1 {
				t.Fatalf("community B sees A's supplies: %q", rs)
			}
			if rs, _ := f.GetRows("时间线 Timeline"); len(rs) != 2 { // the header and the warning
				t.Fatalf("community B sees A's timeline: %q", rs)
			}
			for _, who := range []string{"cw.b", "res.a"} {
				if st, _, _ := e.Login(who).Get("/emergency/alerts/" + alert + "/situation.xlsx"); st == 200 {
					t.Fatalf("%s downloaded the situation", who)
				}
			}
		})
	})
}
