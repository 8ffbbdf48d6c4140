package registry_test

import (
	"fmt"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/registry"
	"linli/internal/registry/idno"
)

// badCheckDigit is id with its last character wrong.
func badCheckDigit(id string) string {
	const digits = "0123456789X"
	return id[:17] + string(digits[(strings.IndexByte(digits, id[17])+1)%11])
}

func residentIDs(rs []registry.Resident) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestResidentsScopedAndMasked(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		list := func(c *apptest.Client, q string) registry.ResidentList {
			t.Helper()
			return apptest.JSON[registry.ResidentList](t, c, "GET", "/api/v1/residents?"+q, nil, 200)
		}

		t.Run("a record is masked, with birth date and gender from the ID number", func(t *testing.T) {
			r := apptest.JSON[registry.Resident](t, w.wa, "GET", "/api/v1/residents/"+w.res, nil, 200)
			if r.IDNumber != idno.Mask(id1) || r.Phone != "139****1234" || r.BirthDate != "1948-03-14" || r.Gender != "M" || r.Age != 78 ||
				!r.HasHealth || r.HasDisability || !r.HasIncome || r.Residence != "registered" || r.Relation != "户主" || r.HouseholdID != w.hh {
				t.Fatalf("record %+v", r)
			}
		})
		t.Run("a name prefix, a full ID number and a phone find the resident", func(t *testing.T) {
			for _, q := range []string{"q=" + url.QueryEscape("张"), "q=" + id1, "q=" + phone1} {
				if l := list(w.wa, q); l.Total != 1 || l.TotalCapped || strings.Join(residentIDs(l.Items), ",") != w.res || l.Items[0].IDNumber != idno.Mask(id1) {
					t.Fatalf("%s: %+v", q, l)
				}
			}
			if l := list(w.wa, "q="+url.QueryEscape("晓梅")); l.Total != 0 {
				t.Fatalf("a name search is a prefix: %+v", l)
			}
		})
		t.Run("the other community's worker sees nothing and gets not found", func(t *testing.T) {
			if l := list(w.wb, "q="+url.QueryEscape("张")); l.Total != 0 || len(l.Items) != 0 {
				t.Fatalf("other community list: %+v", l)
			}
			for _, m := range []string{"GET", "DELETE"} {
				if p := refusal(t, w.wb, m, "/api/v1/residents/"+w.res, nil, 404); p.Detail != "居民不存在或不在您的管辖范围内" {
					t.Fatalf("%s: %q", m, p.Detail)
				}
			}
			refusal(t, w.wb, "PUT", "/api/v1/residents/"+w.res, map[string]any{"name": "改名", "relation": "户主", "residence": "registered"}, 404)
		})
		t.Run("writing into another community names the field and writes nothing", func(t *testing.T) {
			p := refusal(t, w.wb, "POST", "/api/v1/residents", map[string]any{"household_id": w.hh, "name": "李四", "id_number": id2}, 400)
			wantFields(t, p, "household_id")
			p = refusal(t, w.wb, "POST", "/api/v1/households", map[string]any{"division": communityA, "household_no": "X", "address": "x"}, 400)
			wantFields(t, p, "division")
			if !strings.Contains(p.Detail, "管辖范围") {
				t.Fatalf("detail %q", p.Detail)
			}
		})
		t.Run("a wrong check digit, an impossible birth date and a registered ID are refused", func(t *testing.T) {
			for _, c := range []struct{ id, want string }{{badCheckDigit(id2), "校验位"}, {"330106199002300018", "出生日期"}, {id1, "不能在此登记"}} {
				p := refusal(t, w.wa, "POST", "/api/v1/residents", map[string]any{"household_id": w.hh, "name": "王五", "id_number": c.id}, 400)
				wantFields(t, p, "id_number")
				if !strings.Contains(messageOf(p, "id_number"), c.want) {
					t.Fatalf("%s: %q", c.id, messageOf(p, "id_number"))
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM reg_residents`); n != 1 {
				t.Fatalf("%d residents after refused input", n)
			}
		})
		t.Run("a given birth date or gender must match the ID number", func(t *testing.T) {
			p := refusal(t, w.wa, "POST", "/api/v1/residents", map[string]any{"household_id": w.hh, "name": "王五", "id_number": id2, "birth_date": "1990-07-03", "gender": "M"}, 400)
			wantFields(t, p, "birth_date", "gender")
		})
		t.Run("an update changes the plain fields and the phone", func(t *testing.T) {
			r := apptest.JSON[registry.Resident](t, w.wa, "PUT", "/api/v1/residents/"+w.res, map[string]any{"name": "张晓梅", "relation": "户主", "residence": "常住", "phone": "13800001111"}, 200)
			if r.Phone != "138****1111" || r.Residence != "resident" || r.IDNumber != idno.Mask(id1) || !r.HasHealth {
				t.Fatalf("updated %+v", r)
			}
		})
		t.Run("a county officer sees the resident", func(t *testing.T) {
			e.User("officer", access.Officer, county)
			if l := list(e.Login("officer"), "division="+communityA); strings.Join(residentIDs(l.Items), ",") != w.res {
				t.Fatalf("officer list: %+v", l)
			}
		})
		t.Run("an occupied household stays; residents and households delete, each audited", func(t *testing.T) {
			refusal(t, w.wa, "DELETE", "/api/v1/households/"+w.hh, nil, 409)
			for _, path := range []string{"/api/v1/residents/" + w.res, "/api/v1/households/" + w.hh} {
				if st, body := w.wa.Do("DELETE", path, nil); st != 204 {
					t.Fatalf("delete %s: %d %s", path, st, body)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'registry.%' AND action <> 'registry.resident.search' AND result = 'ok'`); n != 5 {
				t.Fatalf("%d registry audit entries, want 5 (2 creates, update, 2 deletes; searches apart)", n)
			}
		})
	})
}

func TestReveal(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		reveal := func(field, reason string) map[string]any { return map[string]any{"field": field, "reason": reason} }
		path := "/api/v1/residents/" + w.res + "/reveal"

		t.Run("a reason is required and the field must be revealable", func(t *testing.T) {
			wantFields(t, refusal(t, w.wa, "POST", path, reveal("id_number", ""), 400), "reason")
			wantFields(t, refusal(t, w.wa, "POST", path, reveal("name", "核对"), 400), "field")
		})
		t.Run("a worker reveals the ID number, and the reveal is audited with its reason", func(t *testing.T) {
			got := apptest.JSON[registry.RevealResponse](t, w.wa, "POST", path, reveal("id_number", "办理高龄津贴核对身份"), 200)
			if got != (registry.RevealResponse{ID: w.res, Field: "id_number", Value: id1}) {
				t.Fatalf("reveal %+v", got)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'registry.reveal' AND object_id = $1 AND result = 'ok' AND detail LIKE '%高龄津贴%'`, w.res); n != 1 {
				t.Fatalf("reveal audited %d times", n)
			}
		})
		t.Run("an empty sensitive field reveals as empty", func(t *testing.T) {
			if got := apptest.JSON[registry.RevealResponse](t, w.wa, "POST", path, reveal("disability", "核对残疾情况"), 200); got.Value != "" {
				t.Fatalf("reveal %+v", got)
			}
		})
		t.Run("out of scope is not found", func(t *testing.T) {
			refusal(t, w.wb, "POST", path, reveal("id_number", "核对"), 404)
		})
		t.Run("a grid worker reveals the phone only; the refusal is audited", func(t *testing.T) {
			e.User("grid.a", access.GridWorker, communityA)
			g := e.Login("grid.a")
			refusal(t, g, "POST", path, reveal("phone", "走访联系"), 404) // not in their grid yet
			grid := apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/grids", map[string]any{"division": communityA, "code": "G01", "name": "一网格", "workers": []string{"grid.a"}}, 201).ID
			apptest.JSON[idOnly](t, w.wa, "PUT", "/api/v1/households/"+w.hh, map[string]any{"household_no": "HH-001", "address": "北山街道上保社区 1 幢 101 室", "grid_id": grid}, 200)
			refusal(t, g, "POST", path, reveal("id_number", "走访"), 403)
			if got := apptest.JSON[registry.RevealResponse](t, g, "POST", path, reveal("phone", "走访联系"), 200); got.Value != phone1 {
				t.Fatalf("phone %+v", got)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'registry.reveal' AND result = 'denied'`); n != 1 {
				t.Fatalf("denied reveal audited %d times", n)
			}
		})
		t.Run("an auditor reads no residents", func(t *testing.T) {
			e.User("aud", access.Auditor, "33")
			refusal(t, e.Login("aud"), "GET", "/api/v1/residents", nil, 403)
		})
		t.Run("a linked resident sees their own record masked, reveals it and corrects the phone", func(t *testing.T) {
			e.User("zhang", access.Resident, communityA)
			if _, err := e.App.DB.W.Exec(`UPDATE reg_residents SET username = 'zhang' WHERE id = $1`, w.res); err != nil {
				t.Fatal(err)
			}
			me := e.Login("zhang")
			if r := apptest.JSON[registry.Resident](t, me, "GET", "/api/v1/me/registry", nil, 200); r.ID != w.res || r.IDNumber != idno.Mask(id1) {
				t.Fatalf("own record %+v", r)
			}
			if got := apptest.JSON[registry.RevealResponse](t, me, "POST", path, reveal("health", "查看本人信息"), 200); got.Value != "高血压" {
				t.Fatalf("own reveal %+v", got)
			}
			if r := apptest.JSON[registry.Resident](t, me, "PUT", "/api/v1/me/registry", registry.CorrectionRequest{Phone: "13600002222"}, 200); r.Phone != "136****2222" {
				t.Fatalf("own correction %+v", r)
			}
			wantFields(t, refusal(t, me, "PUT", "/api/v1/me/registry", registry.CorrectionRequest{Phone: "12"}, 400), "phone")
			if l := apptest.JSON[registry.ResidentList](t, me, "GET", "/api/v1/residents", nil, 200); l.Total != 1 || l.Items[0].ID != w.res {
				t.Fatalf("a resident lists %+v", l)
			}
			refusal(t, w.wa, "GET", "/api/v1/me/registry", nil, 403)
		})
		t.Run("a resident with no linked record is told so", func(t *testing.T) {
			e.User("li.na", access.Resident, communityA)
			if p := refusal(t, e.Login("li.na"), "GET", "/api/v1/me/registry", nil, 404); p.Detail != "登记库中没有与您账号关联的记录" {
				t.Fatalf("detail %q", p.Detail)
			}
		})
	})
}

// rawDump reads the SQLite file and its WAL, or the PostgreSQL tables as text.
func rawDump(t *testing.T, e *apptest.Env, tables ...string) string {
	t.Helper()
	var dump strings.Builder
	d := e.App.DB
	if d.Dialect == db.SQLite {
		if _, err := d.W.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{d.Path, d.Path + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			dump.Write(b)
		}
		return dump.String()
	}
	for _, tbl := range tables {
		rows, err := db.Collect(t.Context(), d.R, db.Value[string], `SELECT t::text FROM `+tbl+` t`)
		if err != nil {
			t.Fatal(err)
		}
		dump.WriteString(strings.Join(rows, "\n"))
	}
	return dump.String()
}

// findAny returns the first of values found in s: it scans the runs of
// digits (and X) once instead of searching for each value.
func findAny(s string, values []string) string {
	set := map[string]bool{}
	for _, v := range values {
		set[v] = true
	}
	isD := func(c byte) bool { return c >= '0' && c <= '9' || c == 'X' }
	for i := 0; i < len(s); {
		if !isD(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isD(s[j]) {
			j++
		}
		for _, l := range []int{11, 18} {
			for k := i; k+l <= j; k++ {
				if set[s[k:k+l]] {
					return s[k : k+l]
				}
			}
		}
		i = j
	}
	return ""
}

func TestRawStoreHoldsNoClearValues(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/residents", map[string]any{"household_id": w.hh, "name": "李娜", "id_number": id2, "relation": "子女", "phone": "15888886666"}, 201)
		apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/personnel", map[string]any{"division": communityA, "name": "陈工", "roles": []string{"grid_worker"}, "phone": "13712345678"}, 201)
		dump := rawDump(t, e, "reg_residents", "reg_personnel", "reg_households", "audit_log")

		t.Run("the dump holds the records", func(t *testing.T) {
			if !strings.Contains(dump, "张晓梅") || !strings.Contains(dump, "陈工") {
				t.Fatal("the dump does not hold the records it should")
			}
		})
		t.Run("no ID number, phone or health note is in clear", func(t *testing.T) {
			if leaked := findAny(dump, []string{id1, id2, phone1, "15888886666", "13712345678"}); leaked != "" {
				t.Fatalf("raw store contains %s in clear", leaked)
			}
			if strings.Contains(dump, "高血压") {
				t.Fatal("raw store contains the health note in clear")
			}
		})
	})
}

func TestResidentSearchCapsTheCount(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker.a", access.CommunityWorker, communityA)
		wa := e.Login("worker.a")
		// 1,003 residents named 王…, 2 named 汪…, through one import.
		var b strings.Builder
		b.WriteString("区划代码,户编号,户地址,姓名,身份证号,与户主关系\n")
		for i := 0; i < 1005; i++ {
			name := "王" + string(rune(0x4e00+i%50))
			if i >= 1003 {
				name = "汪" + string(rune(0x4e00+i))
			}
			id := idno.Synthetic("330106", time.Date(1950+i%50, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC), 100+i)
			fmt.Fprintf(&b, "%s,H%d,上保社区%d号,%s,%s,户主\n", communityA, i, i, name, id)
		}
		if rep := apptest.JSON[registry.Report](t, wa, "POST", "/api/v1/registry/import/residents?apply=true", b.String(), 200); !rep.Applied || rep.Extra.Residents != 1005 {
			t.Fatalf("import %+v", rep.Extra)
		}

		t.Run("a broad search stops counting at the cap", func(t *testing.T) {
			l := apptest.JSON[registry.ResidentList](t, wa, "GET", "/api/v1/residents?q="+url.QueryEscape("王")+"&page_size=5", nil, 200)
			if l.Total != registry.CountCap+1 || !l.TotalCapped || len(l.Items) != 5 || !strings.HasPrefix(l.Items[0].Name, "王") {
				t.Fatalf("capped search: total %d capped %v items %d", l.Total, l.TotalCapped, len(l.Items))
			}
		})
		t.Run("a prefix is exact and a narrow search counts exactly", func(t *testing.T) {
			l := apptest.JSON[registry.ResidentList](t, wa, "GET", "/api/v1/residents?q="+url.QueryEscape("汪"), nil, 200)
			if l.Total != 2 || l.TotalCapped || len(l.Items) != 2 {
				t.Fatalf("exact search: %+v", l)
			}
		})
		t.Run("the page says 1,000+ and still offers the next page", func(t *testing.T) {
			html := page(t, wa, "/registry/residents?q="+url.QueryEscape("王"), 200)
			if !strings.Contains(html, "共 1,000&#43; 条") || !strings.Contains(html, `rel="next"`) {
				t.Fatal("the capped page lacks its count or next link")
			}
		})
		t.Run("the next link shows the following residents and links back to the first page", func(t *testing.T) {
			first := page(t, wa, "/registry/residents?page_size=5&q="+url.QueryEscape("王"), 200)
			next := linkOf(t, first, "next")
			if !strings.Contains(next, "cursor=") || !strings.Contains(next, "page_size=5") || strings.Contains(first, `rel="first"`) {
				t.Fatalf("first page: next %q", next)
			}
			second := page(t, wa, next, 200)
			a, b := residentLinks(first), residentLinks(second)
			if len(a) != 5 || len(b) != 5 {
				t.Fatalf("pages of %d and %d residents", len(a), len(b))
			}
			for id := range b {
				if a[id] {
					t.Fatalf("%s is on both pages", id)
				}
			}
			if back := linkOf(t, second, "first"); back != "/registry/residents?page_size=5&q="+url.QueryEscape("王") {
				t.Fatalf("first-page link %q", back)
			}
		})
		t.Run("the API's next cursor walks every match exactly once", func(t *testing.T) {
			seen := map[string]bool{}
			for cursor := ""; ; {
				l := apptest.JSON[registry.ResidentList](t, wa, "GET", "/api/v1/residents?page_size=200&q="+url.QueryEscape("王")+"&cursor="+url.QueryEscape(cursor), nil, 200)
				for _, r := range l.Items {
					if seen[r.ID] || !strings.HasPrefix(r.Name, "王") {
						t.Fatalf("%s %s repeated or not a match", r.ID, r.Name)
					}
					seen[r.ID] = true
				}
				if cursor = l.Next; cursor == "" {
					break
				}
			}
			if len(seen) != 1003 {
				t.Fatalf("%d residents, want 1003", len(seen))
			}
		})
		t.Run("a malformed cursor is a 400 that names it, on the API and the page", func(t *testing.T) {
			if p := refusal(t, wa, "GET", "/api/v1/residents?cursor=v1:xyz", nil, 400); !reflect.DeepEqual(fieldsOf(p), []string{"cursor"}) {
				t.Fatalf("problem %+v", p)
			}
			if html := page(t, wa, "/registry/residents?cursor=nonsense", 400); !strings.Contains(html, "翻页位置无效") {
				t.Fatal("the page does not say what is wrong")
			}
		})
		t.Run("a page number past the first is refused with a pointer to the cursor", func(t *testing.T) {
			if p := refusal(t, wa, "GET", "/api/v1/residents?page=2", nil, 400); !reflect.DeepEqual(fieldsOf(p), []string{"page"}) {
				t.Fatalf("problem %+v", p)
			}
		})
	})
}

// linkOf returns the href of the page's link with rel, unescaped.
func linkOf(t *testing.T, html, rel string) string {
	t.Helper()
	m := regexp.MustCompile(`<a href="([^"]+)" rel="` + rel + `"`).FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no %s link", rel)
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// residentLinks are the residents a list page links to.
func residentLinks(html string) map[string]bool {
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`href="/registry/residents/([0-9a-zA-Z_-]+)"`).FindAllStringSubmatch(html, -1) {
		out[m[1]] = true
	}
	return out
}
