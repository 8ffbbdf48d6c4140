package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/registry"
	"linli/internal/registry/idno"
)

// Fictitious but valid-format numbers used across the registry tests.
var (
	testID1    = idno.Synthetic("330106", time.Date(1948, 3, 14, 0, 0, 0, 0, time.UTC), 917)
	testID2    = idno.Synthetic("330106", time.Date(1990, 7, 2, 0, 0, 0, 0, time.UTC), 924)
	testPhone1 = "13957101234"
)

type idOnly struct {
	ID string `json:"id"`
}

// registrySetup creates a worker in each of two communities, a county
// officer, a household and a resident in community A.
func registrySetup(t *testing.T, e *apptest.Env) (wa, wb *apptest.Client, hhID, resID string) {
	e.User("worker.a", access.CommunityWorker, apptest.CommunityA)
	e.User("worker.b", access.CommunityWorker, apptest.CommunityB)
	wa, wb = e.Login("worker.a"), e.Login("worker.b")
	hhID = apptest.JSON[idOnly](t, wa, "POST", "/api/v1/households", map[string]any{"division": apptest.CommunityA, "household_no": "HH-001", "address": "北山街道上保社区 1 幢 101 室"}, 201).ID
	resID = apptest.JSON[idOnly](t, wa, "POST", "/api/v1/residents", map[string]any{"household_id": hhID, "name": "张晓梅", "id_number": testID1, "relation": "户主",
		"residence": "户籍", "phone": testPhone1, "health": "高血压", "income": "1800"}, 201).ID
	return
}

func TestRegistryResidentsScopedAndMasked(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		wa, wb, hhID, resID := registrySetup(t, e)
		// Masked in the record and in lists; birth date and gender derived from the ID.
		st, body := wa.Do("GET", "/api/v1/residents/"+resID, nil)
		if st != 200 || strings.Contains(body, testID1) || strings.Contains(body, testPhone1) || strings.Contains(body, "高血压") {
			t.Fatalf("get: %d %s", st, body)
		}
		var rec map[string]any
		json.Unmarshal([]byte(body), &rec)
		if rec["id_number"] != idno.Mask(testID1) || rec["phone"] != "139****1234" || rec["birth_date"] != "1948-03-14" || rec["gender"] != "M" || rec["has_health"] != true {
			t.Fatalf("record: %v", rec)
		}
		st, body = wa.Do("GET", "/api/v1/residents?q=张", nil)
		if st != 200 || !strings.Contains(body, `"total":1`) || strings.Contains(body, testID1) {
			t.Fatalf("search by name: %d %s", st, body)
		}
		// Exact lookup by the full ID number goes through the blind index.
		if st, body = wa.Do("GET", "/api/v1/residents?q="+testID1, nil); !strings.Contains(body, resID) {
			t.Fatalf("search by id: %d %s", st, body)
		}
		// The other community's worker sees nothing and gets 404s.
		if st, body = wb.Do("GET", "/api/v1/residents?q=张", nil); st != 200 || !strings.Contains(body, `"total":0`) {
			t.Fatalf("other community list: %d %s", st, body)
		}
		for _, m := range []string{"GET", "DELETE"} {
			if st, _ := wb.Do(m, "/api/v1/residents/"+resID, nil); st != 404 {
				t.Fatalf("other community %s: %d", m, st)
			}
		}
		if st, _ := wb.Do("PUT", "/api/v1/residents/"+resID, map[string]any{"name": "改名", "relation": "户主", "residence": "registered"}); st != 404 {
			t.Fatalf("other community update: %d", st)
		}
		// Creating in a household outside scope names the field; nothing written.
		st, body = wb.Do("POST", "/api/v1/residents", map[string]any{"household_id": hhID, "name": "李四", "id_number": testID2})
		if st != 400 || !strings.Contains(body, `"household_id"`) {
			t.Fatalf("out-of-scope create: %d %s", st, body)
		}
		st, body = wb.Do("POST", "/api/v1/households", map[string]any{"division": apptest.CommunityA, "household_no": "X", "address": "x"})
		if st != 400 || !strings.Contains(body, "管辖范围") || !strings.Contains(body, `"division"`) {
			t.Fatalf("out-of-scope household: %d %s", st, body)
		}
		// Bad input: wrong check digit, impossible birth date, duplicate ID.
		bad := testID2[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", testID2[17])+1)%11])
		for _, c := range []struct{ id, want string }{{bad, "校验位"}, {"330106199002300018", "出生日期"}, {testID1, "已登记"}} {
			st, body = wa.Do("POST", "/api/v1/residents", map[string]any{"household_id": hhID, "name": "王五", "id_number": c.id})
			if st != 400 || !strings.Contains(body, c.want) || !strings.Contains(body, `"id_number"`) {
				t.Fatalf("%s: %d %s", c.id, st, body)
			}
		}
		if n := e.Count(`SELECT COUNT(*) FROM reg_residents`); n != 1 {
			t.Fatalf("%d residents after rejected input", n)
		}
		// Update and delete in scope, each audited.
		st, body = wa.Do("PUT", "/api/v1/residents/"+resID, map[string]any{"name": "张晓梅", "relation": "户主", "residence": "常住", "phone": "13800001111"})
		if st != 200 || !strings.Contains(body, "138****1111") || !strings.Contains(body, `"residence":"resident"`) {
			t.Fatalf("update: %d %s", st, body)
		}
		// A county officer sees the resident; the household cannot be deleted while occupied.
		e.User("officer", access.Officer, apptest.County)
		of := e.Login("officer")
		if st, body = of.Do("GET", "/api/v1/residents?division="+apptest.CommunityA, nil); !strings.Contains(body, resID) {
			t.Fatalf("officer list: %d %s", st, body)
		}
		if st, _ = wa.Do("DELETE", "/api/v1/households/"+hhID, nil); st != 409 {
			t.Fatalf("delete occupied household: %d", st)
		}
		if st, _ = wa.Do("DELETE", "/api/v1/residents/"+resID, nil); st != 204 {
			t.Fatalf("delete: %d", st)
		}
		if st, _ = wa.Do("DELETE", "/api/v1/households/"+hhID, nil); st != 204 {
			t.Fatalf("delete household: %d", st)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'registry.%'`); n != 5 {
			t.Fatalf("%d registry audit entries, want 5 (2 creates, update, 2 deletes)", n)
		}
	})
}

func TestRegistryReveal(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		wa, wb, _, resID := registrySetup(t, e)
		// A reason is required.
		st, body := wa.Do("POST", "/api/v1/residents/"+resID+"/reveal", map[string]any{"field": "id_number", "reason": ""})
		if st != 400 || !strings.Contains(body, `"reason"`) {
			t.Fatalf("no reason: %d %s", st, body)
		}
		st, body = wa.Do("POST", "/api/v1/residents/"+resID+"/reveal", map[string]any{"field": "id_number", "reason": "办理高龄津贴核对身份"})
		if st != 200 || !strings.Contains(body, testID1) {
			t.Fatalf("reveal: %d %s", st, body)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'registry.reveal' AND object_id = $1 AND result = 'ok' AND detail LIKE '%高龄津贴%'`, resID); n != 1 {
			t.Fatalf("reveal audited %d times", n)
		}
		// Out of scope: 404. Grid workers may reveal the phone only. Admins never.
		if st, _ = wb.Do("POST", "/api/v1/residents/"+resID+"/reveal", map[string]any{"field": "id_number", "reason": "核对"}); st != 404 {
			t.Fatalf("other community reveal: %d", st)
		}
		e.User("grid.a", access.GridWorker, apptest.CommunityA)
		g := e.Login("grid.a")
		if st, _ = g.Do("POST", "/api/v1/residents/"+resID+"/reveal", map[string]any{"field": "id_number", "reason": "走访"}); st != 403 {
			t.Fatalf("grid worker id reveal: %d", st)
		}
		if st, body = g.Do("POST", "/api/v1/residents/"+resID+"/reveal", map[string]any{"field": "phone", "reason": "走访联系"}); st != 200 || !strings.Contains(body, testPhone1) {
			t.Fatalf("grid worker phone reveal: %d %s", st, body)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'registry.reveal' AND result = 'denied'`); n != 1 {
			t.Fatalf("denied reveal audited %d times", n)
		}
		e.User("aud", access.Auditor, "33")
		if st, _ = e.Login("aud").Do("GET", "/api/v1/residents", nil); st != 403 {
			t.Fatalf("auditor reads residents: %d", st)
		}
		// A resident linked to the record sees it masked, may reveal their own, and correct the phone.
		e.User("zhang", access.Resident, apptest.CommunityA)
		if _, err := e.App.DB.W.Exec(`UPDATE reg_residents SET username = 'zhang' WHERE id = $1`, resID); err != nil {
			t.Fatal(err)
		}
		me := e.Login("zhang")
		if st, body = me.Do("GET", "/api/v1/me/registry", nil); st != 200 || !strings.Contains(body, idno.Mask(testID1)) {
			t.Fatalf("own record: %d %s", st, body)
		}
		if st, body = me.Do("PUT", "/api/v1/me/registry", map[string]any{"phone": "13600002222"}); st != 200 || !strings.Contains(body, "136****2222") {
			t.Fatalf("own correction: %d %s", st, body)
		}
		if st, body = me.Do("GET", "/api/v1/residents", nil); st != 200 || !strings.Contains(body, `"total":1`) {
			t.Fatalf("resident sees others: %d %s", st, body)
		}
	})
}

// TestRegistryRawDumpHasNoClearValues greps the SQLite file (and the
// PostgreSQL tables' text) for the ID numbers and phones stored.
func TestRegistryRawDumpHasNoClearValues(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		wa, _, hhID, _ := registrySetup(t, e)
		wa.Do("POST", "/api/v1/residents", map[string]any{"household_id": hhID, "name": "李娜", "id_number": testID2, "relation": "子女", "phone": "15888886666"})
		wa.Do("POST", "/api/v1/personnel", map[string]any{"division": apptest.CommunityA, "name": "陈工", "roles": []string{"grid_worker"}, "phone": "13712345678"})
		secrets := []string{testID1, testID2, testPhone1, "15888886666", "13712345678", "高血压"}
		var dump string
		if e.App.DB.Dialect == db.SQLite {
			e.App.DB.W.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
			for _, f := range []string{e.App.DB.Path, e.App.DB.Path + "-wal"} {
				b, _ := os.ReadFile(f)
				dump += string(b)
			}
			if len(dump) < 10000 {
				t.Fatalf("dump too small: %d bytes", len(dump))
			}
		} else {
			for _, tbl := range []string{"reg_residents", "reg_personnel", "reg_households", "audit_log"} {
				rows, err := e.App.DB.R.Query(`SELECT t::text FROM ` + tbl + ` t`)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var s string
					rows.Scan(&s)
					dump += s + "\n"
				}
				rows.Close()
			}
		}
		if !strings.Contains(dump, "张晓梅") {
			t.Fatal("dump does not hold the records it should")
		}
		for _, s := range secrets {
			if strings.Contains(dump, s) {
				t.Errorf("raw store contains %q in clear", s)
			}
		}
	})
}

// TestRegistryDemo seeds one community, checks every role's view of it and
// that the raw store holds none of the demo's ID numbers or phones in clear.
func TestRegistryDemo(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		accts, err := e.App.SeedDemo(t.Context(), app.DemoOptions{Scale: "community", Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		n := e.Count(`SELECT COUNT(*) FROM reg_residents`)
		if n < 1000 {
			t.Fatalf("demo made %d residents", n)
		}
		aged := e.Count(`SELECT COUNT(*) FROM reg_residents WHERE birth_date <= '1966-11-29'`)
		if share := float64(aged) / float64(n); share < 0.14 || share > 0.26 {
			t.Fatalf("share aged 60+ is %.2f", share)
		}
		// Second seeding changes nothing.
		if _, err := e.App.SeedDemo(t.Context(), app.DemoOptions{Scale: "community", Seed: 7}); err != nil {
			t.Fatal(err)
		}
		if m := e.Count(`SELECT COUNT(*) FROM reg_residents`); m != n {
			t.Fatalf("second seeding: %d → %d residents", n, m)
		}
		// Collect the demo's clear values by decrypting, then grep the raw store.
		var secrets []string
		rows, err := e.App.DB.R.Query(`SELECT id_enc, phone_enc FROM reg_residents`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var ie, pe string
			rows.Scan(&ie, &pe)
			id, err := e.App.Keys.Open(ie, "reg_residents/id_number")
			if err != nil || len(id) != 18 {
				t.Fatalf("decrypt: %v", err)
			}
			secrets = append(secrets, id)
			if pe != "" {
				ph, _ := e.App.Keys.Open(pe, "reg_residents/phone")
				secrets = append(secrets, ph)
			}
		}
		rows.Close()
		dump := rawDump(t, e, "reg_residents", "reg_households", "reg_personnel", "reg_resident_tags", "audit_log")
		if leaked := findAny(dump, secrets); leaked != "" {
			t.Fatalf("raw store contains demo value %s in clear", leaked)
		}
		// Each role's view, through the store with the demo accounts' principals.
		st := registry.StoreOf(e.App.Module("registry"))
		as := func(u string) context.Context {
			for _, a := range accts {
				if a.Username == u {
					return access.With(t.Context(), &access.Principal{Username: u, Role: a.Role, Division: a.Division})
				}
			}
			t.Fatalf("no demo account %s", u)
			return nil
		}
		rs, total, err := st.ListResidents(as("demo.worker"), registry.ResidentFilter{}, 0, 20)
		if err != nil || total != min(n, registry.CountCap+1) || len(rs) != 20 || !strings.Contains(rs[0].IDNumber, "********") {
			t.Fatalf("worker list: %d of %d, %v", total, n, err)
		}
		if _, total, _ := st.ListResidents(as("demo.worker2"), registry.ResidentFilter{}, 0, 20); total != 0 {
			t.Fatalf("worker of another community sees %d residents", total)
		}
		sum, err := st.Summary(as("demo.officer"), apptest.County, true)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int64{}
		for _, c := range sum.Totals {
			counts[c.Tag] = c.Count
		}
		if counts["elderly_80"] == 0 || counts["elderly_80"] != int64(e.Count(`SELECT COUNT(*) FROM reg_resident_tags WHERE tag = 'elderly_80'`)) || len(sum.Children) == 0 {
			t.Fatalf("summary: %v", sum)
		}
		if _, err := st.Summary(as("demo.street"), apptest.County, false); err == nil {
			t.Fatal("township officer read the county summary")
		}
		gs, err := st.MyGrids(as("demo.grid"))
		if err != nil || len(gs) != 1 || gs[0].Households == 0 {
			t.Fatalf("grid worker's grids: %v %v", gs, err)
		}
		mine, _, err := st.ListResidents(as("demo.resident"), registry.ResidentFilter{}, 0, 20)
		if err != nil || len(mine) != 1 {
			t.Fatalf("resident's own record: %v %v", mine, err)
		}
		fs, total, err := st.ListFacilities(as("demo.resident"), registry.Filter{}, 0, 200)
		if err != nil || total < 8 {
			t.Fatalf("facilities: %d %v", total, err)
		}
		near, err := st.Nearby(as("demo.worker"), fs[0].Lon, fs[0].Lat, 500, "", 50)
		if err != nil || len(near) == 0 || near[0].DistanceM != 0 {
			t.Fatalf("nearby: %v %v", near, err)
		}
	})
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

// rawDump reads the SQLite file and its WAL, or the PostgreSQL tables as text.
func rawDump(t *testing.T, e *apptest.Env, tables ...string) string {
	t.Helper()
	var dump strings.Builder
	if e.App.DB.Dialect == db.SQLite {
		e.App.DB.W.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		for _, f := range []string{e.App.DB.Path, e.App.DB.Path + "-wal"} {
			b, _ := os.ReadFile(f)
			dump.Write(b)
		}
		return dump.String()
	}
	for _, tbl := range tables {
		rows, err := e.App.DB.R.Query(`SELECT t::text FROM ` + tbl + ` t`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			dump.WriteString(s + "\n")
		}
		rows.Close()
	}
	return dump.String()
}

func TestRegistryImportExport(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker.a", access.CommunityWorker, apptest.CommunityA)
		wa := e.Login("worker.a")
		hdr := "区划代码,户编号,户地址,姓名,身份证号,与户主关系,户籍类型,手机号,服务对象标签\n"
		good := hdr + apptest.CommunityA + ",H1,上保社区1幢101室,张一," + testID1 + ",户主,户籍," + testPhone1 + ",高龄(80+);独居\n" +
			apptest.CommunityA + ",H1,,张二," + testID2 + ",子女,常住,,\n"
		bad := good + apptest.CommunityB + ",H2,,李三,110105194912310021,户主,户籍,,\n"
		st, body := wa.Do("POST", "/api/v1/registry/import/residents?apply=true", bad)
		if st != 422 || !strings.Contains(body, `"row":4`) || !strings.Contains(body, "校验位") || !strings.Contains(body, "管辖范围") {
			t.Fatalf("bad file: %d %s", st, body)
		}
		if n := e.Count(`SELECT COUNT(*) FROM reg_residents`) + e.Count(`SELECT COUNT(*) FROM reg_households`); n != 0 {
			t.Fatalf("a rejected file wrote %d rows", n)
		}
		if st, body = wa.Do("POST", "/api/v1/registry/import/residents", good); st != 200 || !strings.Contains(body, `"dry_run":true`) || e.Count(`SELECT COUNT(*) FROM reg_residents`) != 0 {
			t.Fatalf("dry run: %d %s", st, body)
		}
		for i := 0; i < 2; i++ {
			if st, body = wa.Do("POST", "/api/v1/registry/import/residents?apply=true", good); st != 200 || !strings.Contains(body, `"applied":true`) {
				t.Fatalf("apply %d: %d %s", i, st, body)
			}
		}
		if r, h, tg := e.Count(`SELECT COUNT(*) FROM reg_residents`), e.Count(`SELECT COUNT(*) FROM reg_households`), e.Count(`SELECT COUNT(*) FROM reg_resident_tags`); r != 2 || h != 1 || tg != 2 {
			t.Fatalf("after two imports: %d residents, %d households, %d tags", r, h, tg)
		}
		if n := e.Count(`SELECT n FROM reg_tag_counts WHERE division_code = $1 AND tag = 'elderly_80'`, apptest.County); n != 1 {
			t.Fatalf("county count of elderly_80 = %d", n)
		}
		// Missing required column; facility outside Zhejiang.
		st, body = wa.Do("POST", "/api/v1/registry/import/residents", "区划代码,户编号,姓名\n"+apptest.CommunityA+",H1,王\n")
		if st != 422 || !strings.Contains(body, "身份证号") {
			t.Fatalf("missing column: %d %s", st, body)
		}
		fac := "设施编码,区划代码,名称,类别,经度,纬度\nF1," + apptest.CommunityA + ",上保食堂,老年食堂/助餐点,116.40,39.90\n"
		if st, body = wa.Do("POST", "/api/v1/registry/import/facilities?apply=true", fac); st != 422 || !strings.Contains(body, "浙江") || !strings.Contains(body, `"经度"`) {
			t.Fatalf("facility outside Zhejiang: %d %s", st, body)
		}
		fac = strings.Replace(fac, "116.40,39.90", "120.147,30.259", 1)
		for i := 0; i < 2; i++ {
			if st, body = wa.Do("POST", "/api/v1/registry/import/facilities?apply=true", fac); st != 200 {
				t.Fatalf("facility import: %d %s", st, body)
			}
		}
		if n := e.Count(`SELECT COUNT(*) FROM reg_facilities`); n != 1 {
			t.Fatalf("%d facilities after two imports", n)
		}
		// Export: masked by default; unmasked needs a reason and is audited.
		st, body = wa.Do("GET", "/api/v1/registry/export/residents?format=csv", nil)
		if st != 200 || strings.Contains(body, testID1) || !strings.Contains(body, idno.Mask(testID1)) || !strings.Contains(body, "worker.a") {
			t.Fatalf("masked export: %d %s", st, body)
		}
		if st, _ = wa.Do("GET", "/api/v1/registry/export/residents?format=csv&unmasked=true", nil); st != 400 {
			t.Fatalf("unmasked export without reason: %d", st)
		}
		st, body = wa.Do("GET", "/api/v1/registry/export/residents?format=csv&unmasked=true&reason=%E5%B9%B4%E5%BA%A6%E6%A0%B8%E6%9F%A5", nil)
		if st != 200 || !strings.Contains(body, testID1) || !strings.Contains(body, "UNMASKED") {
			t.Fatalf("unmasked export: %d %s", st, body)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'registry.export' AND detail LIKE '%"unmasked":true%'`); n != 1 {
			t.Fatalf("unmasked export audited %d times", n)
		}
	})
}

var sameOrigin = map[string]string{"Sec-Fetch-Site": "same-origin"}

func TestRegistryResidentSearchCapsTheCount(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker.a", access.CommunityWorker, apptest.CommunityA)
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
			fmt.Fprintf(&b, "%s,H%d,上保社区%d号,%s,%s,户主\n", apptest.CommunityA, i, i, name, id)
		}
		if st, body := wa.Do("POST", "/api/v1/registry/import/residents?apply=true", b.String()); st != 200 {
			t.Fatalf("import: %d %.300s", st, body)
		}
		l := apptest.JSON[struct {
			Items  []registry.Resident `json:"items"`
			Total  int                 `json:"total"`
			Capped bool                `json:"total_capped"`
		}](t, wa, "GET", "/api/v1/residents?q=王&page_size=5", nil, 200)
		if l.Total != registry.CountCap+1 || !l.Capped || len(l.Items) != 5 || !strings.HasPrefix(l.Items[0].Name, "王") {
			t.Fatalf("capped search: total %d capped %v items %d", l.Total, l.Capped, len(l.Items))
		}
		// A prefix is exact: 汪 is not 王, and a narrow search counts exactly.
		exact := apptest.JSON[struct {
			Total  int  `json:"total"`
			Capped bool `json:"total_capped"`
		}](t, wa, "GET", "/api/v1/residents?q=汪", nil, 200)
		if exact.Total != 2 || exact.Capped {
			t.Fatalf("exact search: total %d capped %v", exact.Total, exact.Capped)
		}
		st, page, _ := wa.Get("/registry/residents?q=" + url.QueryEscape("王"))
		if st != 200 || !strings.Contains(page, "共 1000&#43; 条") || !strings.Contains(page, `rel="next"`) {
			t.Fatalf("capped page: %d", st)
		}
	})
}

func TestRegistryFacilityMap(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker.a", access.CommunityWorker, apptest.CommunityA)
		wa := e.Login("worker.a")
		for i, f := range []struct{ code, name, cat string }{{"F1", "上保老年食堂", "elderly_canteen"}, {"F2", "上保卫生站", "health_station"}, {"F3", "上保助餐点", "elderly_canteen"}} {
			st, body := wa.Do("POST", "/api/v1/facilities", map[string]any{"division": apptest.CommunityA, "code": f.code, "name": f.name, "category": f.cat,
				"lon": 120.147 + float64(i)*0.004, "lat": 30.259 + float64(i)*0.003, "floor_area_m2": 120})
			if st != 201 {
				t.Fatalf("create facility: %d %s", st, body)
			}
		}
		st, page, hdr := wa.Get("/registry/facilities")
		if st != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "style-src 'self'") {
			t.Fatalf("facilities page: %d", st)
		}
		svg := page[strings.Index(page, "<svg"):strings.LastIndex(page, "</svg>")]
		if n := strings.Count(svg, "<circle cx="); n != 3+2 { // three points, two legend swatches
			t.Fatalf("%d circles in %s", n, svg)
		}
		for _, want := range []string{`data-category="elderly_canteen"`, `data-category="health_station"`, "老年食堂/助餐点 (2)", "社区卫生服务站/村卫生室 (1)", "<table", "°E", "上保卫生站"} {
			if !strings.Contains(page, want) {
				t.Fatalf("facilities page lacks %q", want)
			}
		}
		if strings.Contains(page, "style=") || strings.Contains(page, "<script") || strings.Contains(page, "http://tile") {
			t.Fatal("the map uses inline style, script or external tiles")
		}
		// Points lie inside the drawing.
		if strings.Contains(svg, `cx="-`) || strings.Contains(svg, `cy="-`) {
			t.Fatalf("point outside the map: %s", svg)
		}
		// A filter narrows map, legend and table alike.
		_, page, _ = wa.Get("/registry/facilities?category=health_station")
		if strings.Contains(page, "上保老年食堂") || !strings.Contains(page, "上保卫生站") {
			t.Fatal("filtered map shows other categories")
		}
	})
}

func TestRegistryExportEveryList(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		wa, _, hhID, _ := registrySetup(t, e)
		e.User("grid.a", access.GridWorker, apptest.CommunityA)
		ga := e.Login("grid.a")
		if st, body := wa.Do("POST", "/api/v1/grids", map[string]any{"division": apptest.CommunityA, "code": "G01", "name": "一网格", "workers": []string{"grid.a"}}); st != 201 {
			t.Fatalf("grid: %d %s", st, body)
		}
		if st, body := wa.Do("POST", "/api/v1/organizations", map[string]any{"division": apptest.CommunityA, "kind": "social_org", "name": "上保互助会", "reg_no": "51330106MJ0000001X", "rating": "4A"}); st != 201 {
			t.Fatalf("org: %d %s", st, body)
		}
		if st, body := wa.Do("POST", "/api/v1/personnel", map[string]any{"division": apptest.CommunityA, "name": "陈网格", "roles": []string{"grid_worker"}, "phone": "13957109999"}); st != 201 {
			t.Fatalf("person: %d %s", st, body)
		}
		if st, body := wa.Do("POST", "/api/v1/facilities", map[string]any{"division": apptest.CommunityA, "code": "F1", "name": "上保食堂", "category": "elderly_canteen", "lon": 120.147, "lat": 30.259}); st != 201 {
			t.Fatalf("facility: %d %s", st, body)
		}
		want := map[string]string{"households": "HH-001", "residents": "张晓梅", "facilities": "上保食堂", "organizations": "上保互助会", "personnel": "陈网格", "grids": "一网格"}
		for kind, row := range want {
			for _, format := range []string{"csv", "xlsx"} {
				st, body := wa.Do("GET", "/api/v1/registry/export/"+kind+"?format="+format, nil)
				if st != 200 {
					t.Fatalf("%s %s: %d %.300s", kind, format, st, body)
				}
				if format == "csv" && (!strings.Contains(body, row) || !strings.Contains(body, "worker.a") || !strings.Contains(body, "已脱敏")) {
					t.Fatalf("%s csv: %s", kind, body)
				}
				if format == "xlsx" && !strings.HasPrefix(body, "PK") {
					t.Fatalf("%s xlsx is not a zip", kind)
				}
			}
		}
		// Filters apply: a household search that matches nothing exports only the header.
		if _, body := wa.Do("GET", "/api/v1/registry/export/households?format=csv&q=nothing-like-this", nil); strings.Contains(body, "HH-001") {
			t.Fatalf("filtered export: %s", body)
		}
		_ = hhID
		// Personnel phones are masked unless an allowed role gives a reason.
		if _, body := wa.Do("GET", "/api/v1/registry/export/personnel?format=csv", nil); strings.Contains(body, "13957109999") || !strings.Contains(body, "139****9999") {
			t.Fatalf("masked personnel: %s", body)
		}
		st, body := wa.Do("GET", "/api/v1/registry/export/personnel?format=csv&unmasked=true&reason="+url.QueryEscape("网格员联络表"), nil)
		if st != 200 || !strings.Contains(body, "13957109999") || !strings.Contains(body, "UNMASKED") || !strings.Contains(body, "网格员联络表") {
			t.Fatalf("unmasked personnel: %d %s", st, body)
		}
		if st, _ := ga.Do("GET", "/api/v1/registry/export/residents?format=csv&unmasked=true&reason="+url.QueryEscape("想看看"), nil); st != 403 {
			t.Fatalf("grid worker unmasked export: %d", st)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'registry.export' AND result = 'denied'`); n != 1 {
			t.Fatalf("refused export audited %d times", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'registry.export' AND object = 'personnel' AND detail LIKE '%"unmasked":true%'`); n != 1 {
			t.Fatalf("unmasked personnel export audited %d times", n)
		}
		// The export page offers every list.
		if st, page, _ := wa.Get("/registry/exports"); st != 200 || !strings.Contains(page, `value="grids"`) || !strings.Contains(page, `name="reason"`) {
			t.Fatalf("exports page: %d", st)
		}
	})
}

func TestRegistryWebForms(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker.a", access.CommunityWorker, apptest.CommunityA)
		wa := e.Login("worker.a")
		// Household: a missing address is named beside the field, in both languages.
		st, body, _ := wa.Form("/registry/households", map[string]string{"division": apptest.CommunityA, "household_no": "H9", "address": ""}, sameOrigin)
		if st != 400 || !strings.Contains(body, `id="err-address"`) || !strings.Contains(body, "请填写地址") || !strings.Contains(body, "enter an address") {
			t.Fatalf("household form error: %d %s", st, body)
		}
		st, _, h := wa.Form("/registry/households", map[string]string{"division": apptest.CommunityA, "household_no": "H9", "address": "上保社区9幢"}, sameOrigin)
		if st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "/registry/households/") {
			t.Fatalf("household create: %d", st)
		}
		hh := strings.TrimSuffix(strings.TrimPrefix(h.Get("Location"), "/registry/households/"), "?saved=1")
		if st, page, _ := wa.Get("/registry/households/" + hh + "?saved=1"); st != 200 || !strings.Contains(page, "上保社区9幢") || !strings.Contains(page, "已保存") {
			t.Fatalf("household page: %d", st)
		}
		if st, page, _ := wa.Get("/registry/residents/new?household=" + hh); st != 200 || !strings.Contains(page, `name="id_number"`) {
			t.Fatalf("resident form: %d", st)
		}
		// Resident: a wrong check digit is named beside the ID field; nothing written.
		bad := testID1[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", testID1[17])+1)%11])
		st, body, _ = wa.Form("/registry/residents", map[string]string{"household_id": hh, "name": "张三", "id_number": bad, "relation": "户主", "residence": "registered", "phone": "123"}, sameOrigin)
		if st != 400 || !strings.Contains(body, `id="err-id_number"`) || !strings.Contains(body, "校验位") || !strings.Contains(body, `id="err-phone"`) || e.Count(`SELECT COUNT(*) FROM reg_residents`) != 0 {
			t.Fatalf("resident form error: %d %s", st, body)
		}
		if !strings.Contains(body, `value="张三"`) {
			t.Fatal("the form did not keep the typed values")
		}
		st, _, h = wa.Form("/registry/residents", map[string]string{"household_id": hh, "name": "张三", "id_number": testID1, "relation": "户主", "residence": "registered", "phone": testPhone1, "health": "高血压"}, sameOrigin)
		if st != http.StatusSeeOther {
			t.Fatalf("resident create: %d", st)
		}
		res := strings.TrimSuffix(strings.TrimPrefix(h.Get("Location"), "/registry/residents/"), "?saved=1")
		// Edit: empty sensitive fields keep their values; the form never shows them.
		if st, page, _ := wa.Get("/registry/residents/" + res + "/edit"); st != 200 || strings.Contains(page, testID1) || strings.Contains(page, testPhone1) || strings.Contains(page, "高血压") {
			t.Fatalf("edit form leaks a value: %d", st)
		}
		st, _, _ = wa.Form("/registry/residents/"+res+"/edit", map[string]string{"household_id": hh, "name": "张三丰", "relation": "户主", "residence": "resident"}, sameOrigin)
		if st != http.StatusSeeOther {
			t.Fatalf("resident edit: %d", st)
		}
		r := registryGet(t, wa, res)
		if r.Name != "张三丰" || r.Residence != "resident" || r.Phone != "139****1234" || !r.HasHealth {
			t.Fatalf("after edit: %+v", r)
		}
		// English page: the message beside the field leads in English.
		wa.HTTP.Jar.SetCookies(mustURL(e.URL), []*http.Cookie{{Name: "lang", Value: "en", Path: "/"}})
		_, body, _ = wa.Form("/registry/residents/"+res+"/edit", map[string]string{"household_id": hh, "name": "", "relation": "户主", "residence": "resident"}, sameOrigin)
		if !strings.Contains(body, "enter a name of at most 50 characters") || !strings.Contains(body, "请填写姓名") {
			t.Fatalf("english form error: %s", body)
		}
		wa.HTTP.Jar.SetCookies(mustURL(e.URL), []*http.Cookie{{Name: "lang", Value: "zh", Path: "/"}})
		// Delete asks first; the household cannot go while occupied.
		if st, page, _ := wa.Get("/registry/residents/" + res + "/delete"); st != 200 || !strings.Contains(page, "确认删除") || e.Count(`SELECT COUNT(*) FROM reg_residents`) != 1 {
			t.Fatalf("delete confirmation: %d", st)
		}
		if st, page, _ := wa.Get("/registry/households/" + hh + "/delete"); st != 200 || !strings.Contains(page, "须先迁出或删除居民") {
			t.Fatalf("occupied household confirmation: %d", st)
		}
		if st, _, _ := wa.Form("/registry/residents/"+res+"/delete", map[string]string{"confirm": "yes"}, sameOrigin); st != http.StatusSeeOther || e.Count(`SELECT COUNT(*) FROM reg_residents`) != 0 {
			t.Fatalf("resident delete: %d", st)
		}
		if st, _, _ := wa.Form("/registry/households/"+hh+"/delete", map[string]string{"confirm": "yes"}, sameOrigin); st != http.StatusSeeOther || e.Count(`SELECT COUNT(*) FROM reg_households`) != 0 {
			t.Fatalf("household delete: %d", st)
		}
		// Facility: outside Zhejiang is named beside the coordinates.
		fac := map[string]string{"division": apptest.CommunityA, "code": "F9", "name": "上保食堂", "category": "elderly_canteen", "lon": "116.4", "lat": "39.9", "capacities": "meals_per_day=120", "status": "open"}
		st, body, _ = wa.Form("/registry/facilities", fac, sameOrigin)
		if st != 400 || !strings.Contains(body, `id="err-lon"`) || !strings.Contains(body, "浙江") {
			t.Fatalf("facility form error: %d %s", st, body)
		}
		fac["lon"], fac["lat"] = "120.147", "30.259"
		if st, _, _ = wa.Form("/registry/facilities", fac, sameOrigin); st != http.StatusSeeOther {
			t.Fatalf("facility create: %d", st)
		}
		var fid string
		e.App.DB.R.QueryRow(`SELECT id FROM reg_facilities`).Scan(&fid)
		fac["name"] = "上保老年食堂"
		if st, _, _ = wa.Form("/registry/facilities/"+fid+"/edit", fac, sameOrigin); st != http.StatusSeeOther || e.Count(`SELECT COUNT(*) FROM reg_facilities WHERE name = '上保老年食堂' AND capacities LIKE '%120%'`) != 1 {
			t.Fatalf("facility edit: %d", st)
		}
		if st, page, _ := wa.Get("/registry/facilities/" + fid + "/delete"); st != 200 || !strings.Contains(page, "确认删除") {
			t.Fatalf("facility delete confirmation: %d", st)
		}
		if st, _, _ = wa.Form("/registry/facilities/"+fid+"/delete", map[string]string{"confirm": "yes"}, sameOrigin); st != http.StatusSeeOther || e.Count(`SELECT COUNT(*) FROM reg_facilities`) != 0 {
			t.Fatalf("facility delete: %d", st)
		}
		// Every change is audited.
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'registry.%'`); n != 8 {
			t.Fatalf("%d registry audit entries, want 8", n)
		}
		// Other roles get no forms.
		e.User("grid.a", access.GridWorker, apptest.CommunityA)
		if st, _, _ := e.Login("grid.a").Get("/registry/households/new"); st != 403 {
			t.Fatalf("grid worker form: %d", st)
		}
	})
}

func registryGet(t *testing.T, c *apptest.Client, id string) registry.Resident {
	t.Helper()
	return apptest.JSON[registry.Resident](t, c, "GET", "/api/v1/residents/"+id, nil, 200)
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestRegistryImportJobPage(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker.a", access.CommunityWorker, apptest.CommunityA)
		wa := e.Login("worker.a")
		file := "区划代码,户编号,户地址,姓名,身份证号,与户主关系\n" + apptest.CommunityA + ",H1,上保1幢,张一," + testID1 + ",户主\n" + apptest.CommunityA + ",H1,,张二," + testID2 + ",子女\n"
		follow := func(apply string) string {
			st, _, h := wa.Multipart("/registry/import", map[string]string{"kind": "residents", "apply": apply}, "file", "r.csv", []byte(file), sameOrigin)
			if st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/registry/import/jobs/") {
				t.Fatalf("upload: %d %v", st, h)
			}
			for i := 0; i < 200; i++ {
				st, page, h := wa.Get(h.Get("Location"))
				if st != 200 {
					t.Fatalf("job page: %d", st)
				}
				if h.Get("Refresh") == "" {
					return page
				}
				if !strings.Contains(page, "<progress") {
					t.Fatal("a running job's page shows no progress")
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Fatal("the import job never finished")
			return ""
		}
		page := follow("")
		if !strings.Contains(page, "检查报告") || !strings.Contains(page, `id="rows-total">2<`) || !strings.Contains(page, `id="rows-bad">0<`) || e.Count(`SELECT COUNT(*) FROM reg_residents`) != 0 {
			t.Fatalf("dry run page: %s", page)
		}
		page = follow("1")
		if !strings.Contains(page, "导入完成") || !strings.Contains(page, `id="rows-total">2<`) || e.Count(`SELECT COUNT(*) FROM reg_residents`) != 2 {
			t.Fatalf("apply page: %s", page)
		}
		// Another user cannot read the job.
		e.User("worker.b", access.CommunityWorker, apptest.CommunityB)
		st, _, h := wa.Multipart("/registry/import", map[string]string{"kind": "residents"}, "file", "r.csv", []byte(file), sameOrigin)
		if st != http.StatusSeeOther {
			t.Fatal(st)
		}
		if st, _, _ := e.Login("worker.b").Get(h.Get("Location")); st != 404 {
			t.Fatalf("other user's job: %d", st)
		}
	})
}

// TestRegistryOrgPersonnelGridPages walks the web pages of organisations,
// personnel and grids: list and search, a form with a bad field (named
// beside it in both languages, nothing written), delete behind a
// confirmation page, and another community's worker getting 404s.
func TestRegistryOrgPersonnelGridPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		wa, wb, hhID, _ := registrySetup(t, e)
		e.User("grid.a", access.GridWorker, apptest.CommunityA)
		idFrom := func(loc, prefix string) string {
			t.Helper()
			if !strings.HasPrefix(loc, prefix) || !strings.HasSuffix(loc, "?saved=1") {
				t.Fatalf("redirect to %q, want %s…?saved=1", loc, prefix)
			}
			return strings.TrimSuffix(strings.TrimPrefix(loc, prefix), "?saved=1")
		}
		outOfScope := func(base, id string, form map[string]string) {
			t.Helper()
			for _, p := range []string{base + id, base + id + "/edit", base + id + "/delete"} {
				if st, page, _ := wb.Get(p); st != 404 || !strings.Contains(page, "管辖范围") {
					t.Fatalf("other community GET %s: %d", p, st)
				}
			}
			if st, _, _ := wb.Form(base+id+"/edit", form, sameOrigin); st != 404 {
				t.Fatalf("other community edit %s: %d", base+id, st)
			}
			if st, _, _ := wb.Form(base+id+"/delete", map[string]string{"confirm": "yes"}, sameOrigin); st != 404 {
				t.Fatalf("other community delete %s: %d", base+id, st)
			}
		}

		// Organisations. A social organisation without its registration
		// number, and a party share that is not a number: both named.
		org := map[string]string{"division": apptest.CommunityA, "kind": "social_org", "name": "上保邻里互助会", "reg_no": "", "rating": "4A", "party_share": "abc"}
		st, body, _ := wa.Form("/registry/organizations", org, sameOrigin)
		if st != 400 || !strings.Contains(body, `id="err-party_share"`) || !strings.Contains(body, "must be a number") || e.Count(`SELECT COUNT(*) FROM reg_organizations`) != 0 {
			t.Fatalf("org form error: %d %s", st, body)
		}
		org["party_share"] = "0.4"
		st, body, _ = wa.Form("/registry/organizations", org, sameOrigin)
		if st != 400 || !strings.Contains(body, `id="err-reg_no"`) || !strings.Contains(body, "登记证号") || !strings.Contains(body, "registration number") ||
			!strings.Contains(body, `value="上保邻里互助会"`) || e.Count(`SELECT COUNT(*) FROM reg_organizations`) != 0 {
			t.Fatalf("org reg_no error: %d %s", st, body)
		}
		org["reg_no"] = "51330106MJ0000001X"
		st, _, h := wa.Form("/registry/organizations", org, sameOrigin)
		if st != http.StatusSeeOther {
			t.Fatalf("org create: %d", st)
		}
		oid := idFrom(h.Get("Location"), "/registry/organizations/")
		if st, page, _ := wa.Get("/registry/organizations/" + oid + "?saved=1"); st != 200 || !strings.Contains(page, "上保邻里互助会") || !strings.Contains(page, "已保存") || !strings.Contains(page, "社会组织") {
			t.Fatalf("org page: %d", st)
		}
		wa.Do("POST", "/api/v1/organizations", map[string]any{"division": apptest.CommunityA, "kind": "property", "name": "绿城物业上保项目部"})
		if _, page, _ := wa.Get("/registry/organizations?q=" + url.QueryEscape("互助")); !strings.Contains(page, "上保邻里互助会") || strings.Contains(page, "绿城物业") {
			t.Fatalf("org search: %s", page)
		}
		if _, page, _ := wa.Get("/registry/organizations?kind=property"); strings.Contains(page, "上保邻里互助会") || !strings.Contains(page, "绿城物业") || !strings.Contains(page, "category=property") {
			t.Fatalf("org kind filter: %s", page)
		}
		if _, page, _ := wb.Get("/registry/organizations"); strings.Contains(page, "上保邻里互助会") || !strings.Contains(page, "没有符合条件的组织") {
			t.Fatal("the other community lists the organisation")
		}
		outOfScope("/registry/organizations/", oid, org)
		org["name"] = "上保邻里互助协会"
		if st, _, _ := wa.Form("/registry/organizations/"+oid+"/edit", org, sameOrigin); st != http.StatusSeeOther || e.Count(`SELECT COUNT(*) FROM reg_organizations WHERE name = '上保邻里互助协会'`) != 1 {
			t.Fatalf("org edit: %d", st)
		}

		// Personnel: no role and a short phone, both named; phones masked everywhere.
		per := map[string]string{"division": apptest.CommunityA, "name": "陈网格", "phone": "123", "org_id": oid}
		st, body, _ = wa.Form("/registry/personnel", per, sameOrigin)
		if st != 400 || !strings.Contains(body, `id="err-roles"`) || !strings.Contains(body, "choose at least one role") || !strings.Contains(body, `id="err-phone"`) ||
			e.Count(`SELECT COUNT(*) FROM reg_personnel`) != 0 {
			t.Fatalf("person form error: %d %s", st, body)
		}
		// In English the message beside the field leads in English, the Chinese after it.
		wa.HTTP.Jar.SetCookies(mustURL(e.URL), []*http.Cookie{{Name: "lang", Value: "en", Path: "/"}})
		_, body, _ = wa.Form("/registry/personnel", per, sameOrigin)
		if !strings.Contains(body, "choose at least one role <span") || !strings.Contains(body, "/ 请至少选择一个岗位") {
			t.Fatalf("english person form error: %s", body)
		}
		wa.HTTP.Jar.SetCookies(mustURL(e.URL), []*http.Cookie{{Name: "lang", Value: "zh", Path: "/"}})
		per["roles"], per["phone"] = "grid_worker,volunteer", "13957109999"
		st, _, h = wa.Form("/registry/personnel", per, sameOrigin)
		if st != http.StatusSeeOther {
			t.Fatalf("person create: %d", st)
		}
		pid := idFrom(h.Get("Location"), "/registry/personnel/")
		wa.Do("POST", "/api/v1/personnel", map[string]any{"division": apptest.CommunityA, "name": "李医生", "roles": []string{"gp"}})
		for path, want := range map[string]string{"/registry/personnel?q=" + url.QueryEscape("陈"): "陈网格", "/registry/personnel?role=volunteer": "陈网格", "/registry/personnel?role=gp": "李医生"} {
			st, page, _ := wa.Get(path)
			other := map[string]string{"陈网格": "李医生", "李医生": "陈网格"}[want]
			if st != 200 || !strings.Contains(page, want) || strings.Contains(page, other) || strings.Contains(page, "13957109999") {
				t.Fatalf("personnel %s: %d %s", path, st, page)
			}
			if want == "陈网格" && (!strings.Contains(page, "139****9999") || !strings.Contains(page, "志愿者")) {
				t.Fatalf("personnel %s: phone or roles not shown: %s", path, page)
			}
		}
		for _, p := range []string{"/registry/personnel/" + pid, "/registry/personnel/" + pid + "/edit", "/registry/personnel/" + pid + "/delete"} {
			if st, page, _ := wa.Get(p); st != 200 || strings.Contains(page, "13957109999") || !strings.Contains(page, "139****9999") {
				t.Fatalf("%s shows the full phone or none: %d", p, st)
			}
		}
		if _, page, _ := wa.Get("/registry/personnel/" + pid); !strings.Contains(page, "上保邻里互助协会") {
			t.Fatal("the person's page does not name the organisation")
		}
		// Editing with an empty phone keeps it.
		per["phone"], per["roles"] = "", "grid_worker"
		if st, _, _ := wa.Form("/registry/personnel/"+pid+"/edit", per, sameOrigin); st != http.StatusSeeOther {
			t.Fatalf("person edit: %d", st)
		}
		if _, body := wa.Do("GET", "/api/v1/personnel/"+pid, nil); !strings.Contains(body, "139****9999") || strings.Contains(body, "volunteer") {
			t.Fatalf("after edit: %s", body)
		}
		if _, page, _ := wb.Get("/registry/personnel?q=" + url.QueryEscape("陈")); strings.Contains(page, "陈网格") {
			t.Fatal("the other community lists the person")
		}
		outOfScope("/registry/personnel/", pid, per)

		// Grids: the community's grid workers are offered; a missing code
		// and a worker of the wrong kind are named.
		if st, page, _ := wa.Get("/registry/grids/new"); st != 200 || !strings.Contains(page, `value="grid.a"`) || strings.Contains(page, `value="worker.b"`) {
			t.Fatalf("grid form: %d %s", st, page)
		}
		grid := map[string]string{"division": apptest.CommunityA, "code": "", "name": "一网格", "workers": "worker.b"}
		st, body, _ = wa.Form("/registry/grids", grid, sameOrigin)
		if st != 400 || !strings.Contains(body, `id="err-code"`) || !strings.Contains(body, "请填写网格编码") || !strings.Contains(body, `id="err-workers"`) ||
			!strings.Contains(body, "not a grid worker") || e.Count(`SELECT COUNT(*) FROM reg_grids`) != 0 {
			t.Fatalf("grid form error: %d %s", st, body)
		}
		grid["code"], grid["workers"] = "G01", "grid.a"
		st, _, h = wa.Form("/registry/grids", grid, sameOrigin)
		if st != http.StatusSeeOther {
			t.Fatalf("grid create: %d", st)
		}
		gid := idFrom(h.Get("Location"), "/registry/grids/")
		wa.Do("POST", "/api/v1/grids", map[string]any{"division": apptest.CommunityA, "code": "G02", "name": "二网格"})
		if st, _, _ := wa.Form("/registry/households/"+hhID+"/edit", map[string]string{"division": apptest.CommunityA, "household_no": "HH-001", "address": "北山街道上保社区 1 幢 101 室", "grid_id": gid}, sameOrigin); st != http.StatusSeeOther {
			t.Fatalf("assign household: %d", st)
		}
		if _, page, _ := wa.Get("/registry/grids?q=" + url.QueryEscape("一网格")); !strings.Contains(page, "G01") || strings.Contains(page, "G02") || !strings.Contains(page, `>1</a>`) || !strings.Contains(page, "grid.a") {
			t.Fatalf("grid search: %s", page)
		}
		if _, page, _ := wa.Get("/registry/grids/" + gid); !strings.Contains(page, "HH-001") || !strings.Contains(page, `id="households">1<`) || !strings.Contains(page, "grid.a") {
			t.Fatalf("grid page: %s", page)
		}
		if _, page, _ := wa.Get("/registry/grids/" + gid + "/edit"); !strings.Contains(page, `value="grid.a" checked`) {
			t.Fatalf("grid edit form does not tick the assigned worker: %s", page)
		}
		outOfScope("/registry/grids/", gid, grid)
		if st, _, _ := e.Login("grid.a").Get("/registry/grids/new"); st != 403 {
			t.Fatalf("grid worker's grid form: %d", st)
		}

		// Deletes ask first; nothing goes until confirmed.
		if st, page, _ := wa.Get("/registry/grids/" + gid + "/delete"); st != 200 || !strings.Contains(page, "确认删除") || !strings.Contains(page, "1 户会保留") || e.Count(`SELECT COUNT(*) FROM reg_grids`) != 2 {
			t.Fatalf("grid delete confirmation: %d %s", st, page)
		}
		if st, page, _ := wa.Get("/registry/organizations/" + oid + "/delete"); st != 200 || !strings.Contains(page, "确认删除") || !strings.Contains(page, "1 名人员") {
			t.Fatalf("org delete confirmation: %d %s", st, page)
		}
		if st, page, _ := wa.Get("/registry/personnel/" + pid + "/delete"); st != 200 || !strings.Contains(page, "确认删除") || e.Count(`SELECT COUNT(*) FROM reg_personnel`) != 2 {
			t.Fatalf("person delete confirmation: %d", st)
		}
		for _, c := range []struct{ path, table string }{{"/registry/grids/" + gid, "reg_grids"}, {"/registry/personnel/" + pid, "reg_personnel"}, {"/registry/organizations/" + oid, "reg_organizations"}} {
			if st, _, h := wa.Form(c.path+"/delete", map[string]string{"confirm": "yes"}, sameOrigin); st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "deleted=1") ||
				e.Count(`SELECT COUNT(*) FROM `+c.table) != 1 {
				t.Fatalf("delete %s: %d", c.path, st)
			}
		}
		if e.Count(`SELECT COUNT(*) FROM reg_households WHERE grid_id IS NULL`) != 1 {
			t.Fatal("the deleted grid's household is gone or still assigned")
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action IN ('registry.grid.delete', 'registry.person.delete', 'registry.organization.delete')`); n != 3 {
			t.Fatalf("%d deletes audited, want 3", n)
		}
		// The new lists are in the navigation.
		if _, page, _ := wa.Get("/registry/grids?deleted=1"); !strings.Contains(page, `href="/registry/organizations"`) || !strings.Contains(page, `href="/registry/personnel"`) ||
			!strings.Contains(page, `href="/registry/grids"`) || !strings.Contains(page, "已删除") {
			t.Fatal("navigation or notice missing")
		}
	})
}
