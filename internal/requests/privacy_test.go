package requests_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/pii"
)

// Personal data a resident types into free text, and what others see of it.
var (
	idNumber    = "33010619480314917" + string(pii.CheckDigit("33010619480314917"))
	mobile      = "13957112345"
	email       = "wang.xm@example.cn"
	clearValues = []string{idNumber, mobile, email}

	personalText = "楼道堆物，联系 " + mobile + "，身份证 " + idNumber + "，邮箱 " + email
	maskedText   = "楼道堆物，联系 139****2345，身份证 3301************" + idNumber[16:] + "，邮箱 w***@example.cn"
)

// withheld is what Open311 shows of a description that holds personal data
// and that no worker has cleared.
const withheld = "（含个人信息，待工作人员审核后公开）/ (withheld: it holds personal data and awaits review)"

// private is a request with the flags of its free text.
type private struct {
	request
	PersonalData  bool   `json:"personal_data"`
	PublicCleared bool   `json:"public_cleared"`
	RatingComment string `json:"rating_comment"`
}

// auditResults counts the audit entries of an action on an object by result.
func auditResults(e *apptest.Env, action, number string) map[string]int {
	out := map[string]int{}
	for _, r := range []string{"ok", "denied"} {
		out[r] = e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = $1 AND object_id = $2 AND result = $3`, action, number, r)
	}
	return out
}

func TestFreeTextPersonalDataMasked(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		e.User("gridA", access.GridWorker, communityA)
		res, res2, wa, grid, co := e.Login("res1"), e.Login("res2"), e.Login("workerA"), e.Login("gridA"), e.Login("countyOfficer")
		gridOf(t, wa, "G01", "grida", "res1", "33010619610301901X") // gridA (stored lower-case) lives on the grid of res1's home
		var mine private
		t.Run("the reporter's own answer shows what they wrote", func(t *testing.T) {
			mine = apptest.JSON[private](t, res, "POST", "/api/v1/requests", map[string]any{"category": "property", "description": personalText, "address": "12 幢，电话 " + mobile}, 201)
			if mine.Description != personalText || !mine.PersonalData || mine.PublicCleared {
				t.Fatalf("receipt: %q personal=%v cleared=%v", mine.Description, mine.PersonalData, mine.PublicCleared)
			}
		})
		t.Run("the row keeps the masked text and the original only sealed", func(t *testing.T) {
			var desc, sealed, addr string
			if err := e.App.DB.R.QueryRow(`SELECT description, description_sealed, address FROM requests WHERE id = $1`, mine.ID).Scan(&desc, &sealed, &addr); err != nil {
				t.Fatal(err)
			}
			if desc != maskedText || sealed == "" || strings.Contains(sealed, mobile) || addr != "12 幢，电话 139****2345" {
				t.Fatalf("stored %q / sealed %q / address %q", desc, sealed, addr)
			}
		})
		t.Run("workers, grid workers and officers see the masked text in details and lists", func(t *testing.T) {
			for name, c := range map[string]*apptest.Client{"worker": wa, "grid worker": grid, "officer": co} {
				got := apptest.JSON[private](t, c, "GET", "/api/v1/requests/"+mine.ID, nil, 200)
				l := apptest.JSON[list](t, c, "GET", "/api/v1/requests", nil, 200)
				if got.Description != maskedText || !got.PersonalData || len(l.Items) != 1 || l.Items[0].Description != maskedText {
					t.Errorf("%s: detail %q, list %+v", name, got.Description, l.Items)
				}
			}
		})
		t.Run("replies, comments and notes are masked for workers and shown to the reporter", func(t *testing.T) {
			act(t, wa, mine.ID, "accept", nil)
			act(t, wa, mine.ID, "answer", map[string]any{"reply": "已清理，物业电话 " + mobile})
			act(t, res, mine.ID, "evaluate", map[string]any{"rating": "unsatisfied", "comment": "请发邮件到 " + email})
			worker := apptest.JSON[private](t, wa, "GET", "/api/v1/requests/"+mine.ID, nil, 200)
			own := apptest.JSON[private](t, res, "GET", "/api/v1/requests/"+mine.ID, nil, 200)
			if worker.Reply != "已清理，物业电话 139****2345" || worker.RatingComment != "请发邮件到 w***@example.cn" {
				t.Errorf("worker sees reply %q, comment %q", worker.Reply, worker.RatingComment)
			}
			if own.Reply != "已清理，物业电话 "+mobile || own.RatingComment != "请发邮件到 "+email || own.Description != personalText {
				t.Errorf("reporter sees reply %q, comment %q", own.Reply, own.RatingComment)
			}
			for i, ev := range worker.Events {
				if strings.Contains(ev.Note, mobile) || strings.Contains(ev.Note, email) {
					t.Errorf("worker's event %d: %q", i, ev.Note)
				}
			}
			if last := own.Events[len(own.Events)-1]; last.Action != "evaluate" || !strings.HasSuffix(last.Note, email) {
				t.Errorf("reporter's last event: %+v", last)
			}
		})
		t.Run("another resident following a merged request sees its text masked", func(t *testing.T) {
			dup := submit(t, res2, map[string]any{"category": "property", "description": "同一处堆物"})
			act(t, wa, dup.ID, "merge", map[string]any{"into": mine.Number})
			if got := apptest.JSON[private](t, res2, "GET", "/api/v1/requests/"+mine.ID, nil, 200); got.Description != maskedText || got.Reply != "已清理，物业电话 139****2345" {
				t.Fatalf("follower sees %q / %q", got.Description, got.Reply)
			}
		})
		t.Run("Open311 withholds the description until a worker clears it", func(t *testing.T) {
			published := 0
			defer func() { t.Logf("clear personal values published by Open311 (4 answers × 3 values): %d", published) }()
			for _, format := range []string{"json", "xml"} {
				g := geo{e: e, format: format}
				for _, path := range []string{"requests/" + mine.Number + ".{f}", "requests.{f}?service_request_id=" + mine.Number} {
					text := g.get(t, path, 200)
					rs := geoList[geoPublished](t, g, text)
					if len(rs) != 1 || rs[0].Description != withheld || rs[0].Address != "12 幢，电话 139****2345" {
						t.Errorf("%s %s: %+v", format, path, rs)
					}
					for _, v := range clearValues {
						if strings.Contains(text, v) {
							published++
							t.Errorf("%s %s publishes %s", format, path, v)
						}
					}
				}
			}
		})
		t.Run("a grid worker may not see the original, and the refusal is audited", func(t *testing.T) {
			p := apptest.JSON[problem](t, grid, "POST", "/api/v1/requests/"+mine.ID+"/reveal", map[string]any{"reason": "回访居民"}, 403)
			if p.Status != 403 || auditResults(e, "request.reveal", mine.Number)["denied"] != 1 {
				t.Fatalf("refusal %+v, audit %v", p, auditResults(e, "request.reveal", mine.Number))
			}
		})
		t.Run("seeing the original needs a reason", func(t *testing.T) {
			p := apptest.JSON[problem](t, wa, "POST", "/api/v1/requests/"+mine.ID+"/reveal", map[string]any{"reason": " "}, 400)
			if strings.Join(p.fields(), ",") != "reason" {
				t.Fatalf("refusal %+v", p)
			}
		})
		t.Run("a community worker sees the original with a reason, and it is audited", func(t *testing.T) {
			got := apptest.JSON[private](t, wa, "POST", "/api/v1/requests/"+mine.ID+"/reveal", map[string]any{"reason": "电话回访居民"}, 200)
			if got.Description != personalText || got.Reply != "已清理，物业电话 "+mobile || got.RatingComment != "请发邮件到 "+email {
				t.Fatalf("revealed %q / %q / %q", got.Description, got.Reply, got.RatingComment)
			}
			if a := auditResults(e, "request.reveal", mine.Number); a["ok"] != 1 || a["denied"] != 1 {
				t.Fatalf("audit %v", a)
			}
		})
		t.Run("only workers and officers clear a description for publication, audited", func(t *testing.T) {
			for name, c := range map[string]*apptest.Client{"the reporter": res, "a grid worker": grid} {
				if p := apptest.JSON[problem](t, c, "POST", "/api/v1/requests/"+mine.ID+"/clear", nil, 403); p.Status != 403 {
					t.Errorf("%s: %+v", name, p)
				}
			}
			got := apptest.JSON[private](t, wa, "POST", "/api/v1/requests/"+mine.ID+"/clear", nil, 200)
			if !got.PublicCleared || got.Description != maskedText || eventsOf(e, mine.ID, "clear") != 1 {
				t.Fatalf("cleared: %+v", got)
			}
			if a := auditResults(e, "request.clear", mine.Number); a["ok"] != 1 || a["denied"] != 2 {
				t.Fatalf("audit %v", a)
			}
			if p := apptest.JSON[problem](t, wa, "POST", "/api/v1/requests/"+mine.ID+"/clear", nil, 409); p.Status != 409 {
				t.Fatalf("second clear: %+v", p)
			}
		})
		t.Run("Open311 then publishes the masked text", func(t *testing.T) {
			for _, format := range []string{"json", "xml"} {
				g := geo{e: e, format: format}
				if rs := geoList[geoPublished](t, g, g.get(t, "requests/"+mine.Number+".{f}", 200)); len(rs) != 1 || rs[0].Description != maskedText {
					t.Errorf("%s: %+v", format, rs)
				}
			}
		})
		t.Run("plain text is published at once and has nothing to clear", func(t *testing.T) {
			plain := submit(t, res, map[string]any{"category": "property", "description": "电梯异响，12 幢 302 室"})
			g := geo{e: e, format: "json"}
			if rs := geoList[geoPublished](t, g, g.get(t, "requests/"+plain.Number+".json", 200)); len(rs) != 1 || rs[0].Description != "电梯异响，12 幢 302 室" {
				t.Errorf("published %+v", rs)
			}
			if p := apptest.JSON[problem](t, wa, "POST", "/api/v1/requests/"+plain.ID+"/clear", nil, 409); p.Status != 409 {
				t.Fatalf("clear plain: %+v", p)
			}
		})
		t.Run("a category that is not public is never published, cleared or not", func(t *testing.T) {
			care := submit(t, res, map[string]any{"category": "elderly", "description": "母亲需要助浴，电话 " + mobile})
			act(t, wa, care.ID, "clear", nil)
			geo{e: e, format: "json"}.get(t, "requests/"+care.Number+".json", 404)
		})
		t.Run("the pages show the reporter the original and the worker the mask", func(t *testing.T) {
			_, own, _ := res.Get("/requests/" + mine.ID)
			_, work, _ := wa.Get("/requests/" + mine.ID)
			if !strings.Contains(own, mobile) || strings.Contains(work, mobile) || !strings.Contains(work, "139****2345") {
				t.Fatalf("reporter's page has the number: %v; worker's page has it: %v", strings.Contains(own, mobile), strings.Contains(work, mobile))
			}
			st, shown, _ := wa.Form("/requests/"+mine.ID+"/reveal", map[string]string{"reason": "电话回访"}, nil)
			if st != 200 || !strings.Contains(shown, mobile) || auditResults(e, "request.reveal", mine.Number)["ok"] != 2 {
				t.Fatalf("reveal page: %d", st)
			}
		})
	})
}

// geoPublished is what Open311 publishes of a request's texts.
type geoPublished struct {
	ID          string `json:"service_request_id" xml:"service_request_id"`
	Description string `json:"description" xml:"description"`
	Address     string `json:"address" xml:"address"`
	StatusNotes string `json:"status_notes" xml:"status_notes"`
	MediaURL    string `json:"media_url" xml:"media_url"`
}

func TestNoClearPersonalDataOnDisk(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		res, wa := e.Login("res1"), e.Login("workerA")
		key, err := store(e).CreateKey(access.With(context.Background(), access.Operator()), "12345 热线", county)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("submit, answer, evaluate and post through Open311 with personal data in every text", func(t *testing.T) {
			r := submit(t, res, map[string]any{"category": "property", "description": personalText, "address": "电话 " + mobile})
			act(t, wa, r.ID, "accept", map[string]any{"note": "已致电 " + mobile})
			act(t, wa, r.ID, "answer", map[string]any{"reply": "身份证 " + idNumber + " 已核实"})
			act(t, res, r.ID, "evaluate", map[string]any{"rating": "satisfied", "comment": "回复请发 " + email})
			act(t, res, r.ID, "reopen", map[string]any{"note": "再打 " + mobile})
			geo{e: e, format: "json"}.post(t, map[string]string{"api_key": key, "service_code": "property", "address_id": communityA, "description": personalText}, 201)
		})
		t.Run("the store holds none of the values in clear", func(t *testing.T) {
			found := clearOnDisk(t, e)
			t.Logf("clear personal values found in the stored data (%s): %d", e.App.DB.Dialect, len(found))
			if len(found) != 0 {
				t.Fatalf("in clear: %v", found)
			}
		})
	})
}

// clearOnDisk lists where a clear value lies: on SQLite in the database
// file, its WAL and a backup made as `linli backup` makes it; on PostgreSQL
// in any row of any table of the schema, as a dump would hold them.
func clearOnDisk(t *testing.T, e *apptest.Env) []string {
	t.Helper()
	var found []string
	look := func(where string, data []byte) {
		for _, v := range clearValues {
			if strings.Contains(string(data), v) {
				found = append(found, v+" in "+where)
			}
		}
	}
	if e.App.DB.Dialect == db.SQLite {
		backup := filepath.Join(t.TempDir(), "backup.db")
		if _, err := e.App.DB.W.Exec(`VACUUM INTO $1`, backup); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{e.App.DB.Path, e.App.DB.Path + "-wal", backup} {
			data, err := os.ReadFile(path)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			look(filepath.Base(path), data)
		}
		return found
	}
	rows, err := e.App.DB.R.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Close(); err != nil || len(tables) < 10 {
		t.Fatalf("tables %v: %v", tables, err)
	}
	for _, table := range tables {
		var dump string
		if err := e.App.DB.R.QueryRow(`SELECT COALESCE(string_agg(t::text, E'\n'), '') FROM "` + table + `" t`).Scan(&dump); err != nil {
			t.Fatal(err)
		}
		look(table, []byte(dump))
	}
	return found
}

func TestOldRequestsSealedOnUpgrade(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		res, wa := e.Login("res1"), e.Login("workerA")
		r := submit(t, res, map[string]any{"category": "property", "description": "旧诉求"})
		act(t, wa, r.ID, "accept", map[string]any{"note": "已致电 " + mobile})
		// As a row written before the detector: clear text, not yet checked.
		for _, q := range []string{
			`UPDATE requests SET description = $1, description_sealed = '', personal = FALSE, pii_checked = FALSE WHERE id = $2`,
			`UPDATE request_events SET note = $1, note_sealed = '' WHERE request_id = $2 AND action = 'accept'`,
		} {
			if _, err := e.App.DB.W.Exec(q, personalText, r.ID); err != nil {
				t.Fatal(err)
			}
		}
		t.Run("Open311 withholds a text not yet checked", func(t *testing.T) {
			g := geo{e: e, format: "json"}
			if rs := geoList[geoPublished](t, g, g.get(t, "requests/"+r.Number+".json", 200)); len(rs) != 1 || rs[0].Description != withheld {
				t.Fatalf("published %+v", rs)
			}
		})
		t.Run("the backlog job masks and seals the old texts once", func(t *testing.T) {
			n, err := store(e).SealBacklog(context.Background())
			if err != nil || n != 1 {
				t.Fatalf("sealed %d: %v", n, err)
			}
			if n, err := store(e).SealBacklog(context.Background()); err != nil || n != 0 {
				t.Fatalf("second run sealed %d: %v", n, err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM requests WHERE id = $1 AND description = $2 AND personal AND pii_checked`, r.ID, maskedText); n != 1 {
				t.Fatal("the description is not masked")
			}
			if n := e.Count(`SELECT COUNT(*) FROM request_events WHERE request_id = $1 AND note <> $2 AND note_sealed <> ''`, r.ID, personalText); n != 1 {
				t.Fatal("the note is not masked")
			}
		})
		t.Run("the reporter still reads the original, the worker the mask", func(t *testing.T) {
			own := apptest.JSON[private](t, res, "GET", "/api/v1/requests/"+r.ID, nil, 200)
			work := apptest.JSON[private](t, wa, "GET", "/api/v1/requests/"+r.ID, nil, 200)
			if own.Description != personalText || own.Events[1].Note != personalText || work.Description != maskedText || work.Events[1].Note != maskedText {
				t.Fatalf("reporter %q / %q, worker %q / %q", own.Description, own.Events[1].Note, work.Description, work.Events[1].Note)
			}
		})
	})
}
