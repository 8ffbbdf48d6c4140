package registry_test

import (
	"encoding/csv"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/registry"
	"linli/internal/registry/idno"
	"linli/internal/tabular"
)

// sheetRows reads an exported CSV or xlsx file into its rows.
func sheetRows(t *testing.T, body string) [][]string {
	t.Helper()
	if strings.HasPrefix(body, "PK") {
		f, err := excelize.OpenReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := f.GetRows("Sheet1")
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%v: %.300s", err, body)
	}
	return rows
}

// exported is a downloaded export: its file name, the stamp sheet of an
// xlsx file, the header and the data rows.
type exported struct {
	file   string
	stamp  [][]string
	header []string
	rows   [][]string
}

// export fetches an export that must succeed. A CSV file must be a table
// of equal rows (RFC 4180), header first; an xlsx file has the table on
// its first sheet and the stamp on the last.
func export(t *testing.T, c *apptest.Client, query string) exported {
	t.Helper()
	st, body, hdr := c.Get("/api/v1/registry/export/" + query)
	if st != 200 {
		t.Fatalf("export %s: %d %.300s", query, st, body)
	}
	var x exported
	if _, params, err := mime.ParseMediaType(hdr.Get("Content-Disposition")); err == nil {
		x.file = params["filename"]
	}
	var all [][]string
	if strings.HasPrefix(body, "PK") {
		f, err := excelize.OpenReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if len(sheets) != 2 || sheets[1] != tabular.StampSheet {
			t.Fatalf("export %s: sheets %q", query, sheets)
		}
		if all, err = f.GetRows(sheets[0]); err != nil {
			t.Fatal(err)
		}
		if x.stamp, err = f.GetRows(sheets[1]); err != nil {
			t.Fatal(err)
		}
		all = padRows(all, len(all[0]))
	} else {
		r := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff")))
		var err error
		if all, err = r.ReadAll(); err != nil {
			t.Fatalf("export %s is no table of equal rows: %v", query, err)
		}
	}
	if len(all) == 0 {
		t.Fatalf("export %s has no header", query)
	}
	x.header, x.rows = all[0], all[1:]
	return x
}

func TestImportAndExportResidents(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker.a", access.CommunityWorker, communityA)
		wa := e.Login("worker.a")
		hdr := "区划代码,户编号,户地址,姓名,身份证号,与户主关系,户籍类型,手机号,服务对象标签\n"
		good := hdr + communityA + ",H1,上保社区1幢101室,张一," + id1 + ",户主,户籍," + phone1 + ",高龄(80+);独居\n" +
			communityA + ",H1,,张二," + id2 + ",子女,常住,,\n"
		residents := func() int { return e.Count(`SELECT COUNT(*) FROM reg_residents`) }

		t.Run("a file with bad rows writes nothing and lists every problem", func(t *testing.T) {
			bad := good + communityB + ",H2,,李三,110105194912310021,户主,户籍,,\n"
			rep := apptest.JSON[struct{ Report registry.Report }](t, wa, "POST", "/api/v1/registry/import/residents?apply=true", bad, 422).Report
			want := []registry.RowError{
				{Row: 4, Column: "区划代码", ZH: "区划 " + communityB + " 不在您的管辖范围内", EN: "division " + communityB + " is outside your jurisdiction"},
				{Row: 4, Column: "身份证号", ZH: fmt.Sprintf("身份证号校验位错误（应为 %c）", idno.CheckDigit("11010519491231002")),
					EN: fmt.Sprintf("the ID number's check character is wrong (expected %c)", idno.CheckDigit("11010519491231002"))},
			}
			if !reflect.DeepEqual(rep.Errors, want) || rep.Applied || rep.Rows != 3 {
				t.Fatalf("report %+v", rep)
			}
			if n := residents() + e.Count(`SELECT COUNT(*) FROM reg_households`); n != 0 {
				t.Fatalf("a refused file wrote %d rows", n)
			}
		})
		t.Run("a dry run checks and writes nothing", func(t *testing.T) {
			rep := apptest.JSON[registry.Report](t, wa, "POST", "/api/v1/registry/import/residents", good, 200)
			if !rep.DryRun || rep.Applied || rep.Rows != 2 || len(rep.Errors) != 0 || residents() != 0 {
				t.Fatalf("dry run %+v", rep)
			}
		})
		t.Run("importing twice writes the rows once and counts the tags once", func(t *testing.T) {
			for i, want := range []registry.BulkResult{{Households: 1, Residents: 2, Tags: 2}, {Households: 0, Residents: 2, Tags: 0}} {
				rep := apptest.JSON[registry.Report](t, wa, "POST", "/api/v1/registry/import/residents?apply=true", good, 200)
				if !rep.Applied || rep.Extra != want {
					t.Fatalf("import %d: %+v", i+1, rep)
				}
			}
			if r, h, tg := residents(), e.Count(`SELECT COUNT(*) FROM reg_households`), e.Count(`SELECT COUNT(*) FROM reg_resident_tags`); r != 2 || h != 1 || tg != 2 {
				t.Fatalf("after two imports: %d residents, %d households, %d tags", r, h, tg)
			}
			if n := e.Count(`SELECT n FROM reg_tag_counts WHERE division_code = $1 AND tag = 'elderly_80'`, county); n != 1 {
				t.Fatalf("county count of elderly_80 = %d", n)
			}
		})
		t.Run("a missing required column refuses the file", func(t *testing.T) {
			p := refusal(t, wa, "POST", "/api/v1/registry/import/residents", "区划代码,户编号,姓名\n"+communityA+",H1,王\n", 422)
			wantFields(t, p, "身份证号")
		})
		t.Run("an unknown kind is not found", func(t *testing.T) {
			refusal(t, wa, "POST", "/api/v1/registry/import/spaceships", good, 404)
		})
		t.Run("an export is masked by default, shows the age and names who made it", func(t *testing.T) {
			for _, format := range []string{"csv", "xlsx"} {
				x := export(t, wa, "residents?format="+format)
				x.rows[0][9] = sortedList(x.rows[0][9]) // the tags come in no set order
				want := [][]string{
					{communityA, "H1", "张一", "男", "78", idno.Mask(id1), "139****1234", "户主", "户籍", "elderly_80;living_alone"},
					{communityA, "H1", "张二", "女", "36", idno.Mask(id2), "", "子女", "常住", ""},
				}
				file := "linli-residents-20261129-160000-worker.a-masked." + format
				if !reflect.DeepEqual(x.rows, want) || x.file != file || x.header[4] != "年龄" {
					t.Fatalf("%s export %q %q\n%q", format, x.file, x.header, x.rows)
				}
				var stamp [][]string
				if format == "xlsx" {
					stamp = [][]string{{"导出人 / exported by", "worker.a"}, {"时间 / time", "2026-11-29 16:00:00 CST"}, {"脱敏 / masked", "已脱敏 / masked"}, {"文件 / file", file}}
				}
				if !reflect.DeepEqual(x.stamp, stamp) {
					t.Fatalf("%s stamp %q", format, x.stamp)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'registry.export' AND detail LIKE '%linli-residents-20261129-160000-worker.a-masked.csv%'`); n != 1 {
				t.Fatalf("the export's file is named in %d audit entries", n)
			}
		})
		t.Run("an unmasked export needs a reason, shows clear values and is audited", func(t *testing.T) {
			wantFields(t, refusal(t, wa, "GET", "/api/v1/registry/export/residents?format=csv&unmasked=true", nil, 400), "reason")
			x := export(t, wa, "residents?format=xlsx&unmasked=true&reason="+url.QueryEscape("年度核查"))
			if x.rows[0][5] != id1 || x.rows[0][6] != phone1 || x.file != "linli-residents-20261129-160000-worker.a-unmasked.xlsx" ||
				!reflect.DeepEqual(x.stamp[2], []string{"脱敏 / masked", "未脱敏 / UNMASKED · 理由 / reason: 年度核查"}) {
				t.Fatalf("unmasked export %q %q %v", x.file, x.stamp, x.rows)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'registry.export' AND detail LIKE '%"unmasked":true%'`); n != 1 {
				t.Fatalf("unmasked export audited %d times", n)
			}
		})
		t.Run("a bad format or kind is refused", func(t *testing.T) {
			wantFields(t, refusal(t, wa, "GET", "/api/v1/registry/export/residents?format=pdf", nil, 400), "format")
			refusal(t, wa, "GET", "/api/v1/registry/export/spaceships?format=csv", nil, 404)
		})
	})
}

func TestImportEachKind(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		imp := func(kind, file string, apply bool, status int) registry.Report {
			t.Helper()
			q := ""
			if apply {
				q = "?apply=true"
			}
			if status == 422 { // a refused file's report is inside the problem
				return apptest.JSON[struct{ Report registry.Report }](t, w.wa, "POST", "/api/v1/registry/import/"+kind+q, file, status).Report
			}
			return apptest.JSON[registry.Report](t, w.wa, "POST", "/api/v1/registry/import/"+kind+q, file, status)
		}
		// twice imports a file twice: the second time every row is there already.
		twice := func(t *testing.T, kind, file string, created, updated int) {
			t.Helper()
			for i, want := range [][2]int{{created, updated}, {0, created + updated}} {
				rep := imp(kind, file, true, 200)
				if !rep.Applied || rep.Created != want[0] || rep.Updated != want[1] {
					t.Fatalf("%s import %d: %+v", kind, i+1, rep)
				}
			}
		}

		t.Run("households match by community and number, and name their grid by code", func(t *testing.T) {
			g := apptest.JSON[registry.Grid](t, w.wa, "POST", "/api/v1/grids", map[string]any{"division": communityA, "code": "G01", "name": "一网格"}, 201)
			file := "区划代码,户编号,地址,网格编码\n" + communityA + ",HH-001,上保社区1幢101室,G01\n" + communityA + ",HH-002,上保社区2幢,\n"
			twice(t, "households", file, 1, 1) // HH-001 exists already
			if n := e.Count(`SELECT COUNT(*) FROM reg_households WHERE grid_id = $1`, g.ID); n != 1 {
				t.Fatalf("%d households in the grid", n)
			}
			rep := imp("households", "区划代码,户编号,地址,网格编码\n"+communityA+",HH-003,某处,G99\n", false, 422)
			want := []registry.RowError{{Row: 2, Column: "网格编码", ZH: "网格不存在或不属于该社区", EN: "grid not found in this community"}}
			if !reflect.DeepEqual(rep.Errors, want) {
				t.Fatalf("unknown grid: %+v", rep.Errors)
			}
		})
		t.Run("facilities match by code; a code used elsewhere is refused", func(t *testing.T) {
			file := "设施编码,区划代码,名称,类别,经度,纬度,建筑面积,容量,状态\nF-1," + communityA + ",上保食堂,老年食堂/助餐点,120.147,30.259,120,meals_per_day=150;seats=40,open\n"
			rep := imp("facilities", file, true, 200)
			if rep.Created != 1 {
				t.Fatalf("first import %+v", rep)
			}
			list := apptest.JSON[struct{ Items []registry.Facility }](t, w.wa, "GET", "/api/v1/facilities?q="+url.QueryEscape("上保食堂"), nil, 200)
			if len(list.Items) != 1 || !reflect.DeepEqual(list.Items[0].Capacities, map[string]float64{"meals_per_day": 150, "seats": 40}) || list.Items[0].Category != "elderly_canteen" {
				t.Fatalf("imported facility %+v", list.Items)
			}
			if rep := imp("facilities", file, true, 200); rep.Updated != 1 || rep.Created != 0 {
				t.Fatalf("second import %+v", rep)
			}
			outside := strings.Replace(file, "120.147,30.259", "116.40,39.90", 1)
			rep = imp("facilities", outside, true, 422)
			if len(rep.Errors) != 2 || rep.Errors[0].Column != "经度" || rep.Errors[1].Column != "纬度" || rep.Errors[0].ZH != "坐标不在浙江省范围内（WGS-84 经度 118.0–123.3，纬度 27.0–31.3）" {
				t.Fatalf("outside Zhejiang: %+v", rep.Errors)
			}
			other := strings.Replace(file, communityA, communityB, 1)
			rep = apptest.JSON[struct{ Report registry.Report }](t, w.wb, "POST", "/api/v1/registry/import/facilities?apply=true", other, 422).Report
			want := []registry.RowError{{Row: 2, Column: "设施编码", ZH: "设施编码已被其他辖区使用", EN: "used outside your jurisdiction"}}
			if !reflect.DeepEqual(rep.Errors, want) || rep.Applied {
				t.Fatalf("code used elsewhere: %+v", rep)
			}
		})
		t.Run("organisations match by registration number, else by name; a share may be a percentage", func(t *testing.T) {
			file := "区划代码,组织类型,名称,登记证号,评估等级,党员占比\n" + communityA + ",社会组织,上保互助会,51330106MJ0000001X,3A,\n" +
				communityA + ",业主委员会,上保业委会,,,35%\n"
			twice(t, "organizations", file, 2, 0)
			orgs := apptest.JSON[struct{ Items []registry.Organization }](t, w.wa, "GET", "/api/v1/organizations?category=owners_committee", nil, 200)
			if len(orgs.Items) != 1 || orgs.Items[0].PartyShare == nil || *orgs.Items[0].PartyShare != 0.35 {
				t.Fatalf("owners' committee %+v", orgs.Items)
			}
		})
		t.Run("personnel match by phone within the community and need one", func(t *testing.T) {
			file := "区划代码,姓名,岗位,手机号\n" + communityA + ",陈网格,网格员;志愿者,13957109999\n"
			twice(t, "personnel", file, 1, 0)
			rep := imp("personnel", "区划代码,姓名,岗位,手机号\n"+communityA+",无号,网格员,\n", false, 422)
			want := []registry.RowError{{Row: 2, Column: "手机号", ZH: "导入人员须填手机号（用于去重）", EN: "personnel imports need a phone (the natural key)"}}
			if !reflect.DeepEqual(rep.Errors, want) {
				t.Fatalf("no phone: %+v", rep.Errors)
			}
		})
		t.Run("tags find the resident by ID number within reach", func(t *testing.T) {
			file := "身份证号,标签,开始日期\n" + id1 + ",低保,2025-01-01\n"
			twice(t, "tags", file, 1, 0)
			if n := e.Count(`SELECT n FROM reg_tag_counts WHERE division_code = $1 AND tag = 'dibao'`, communityA); n != 1 {
				t.Fatalf("dibao count %d", n)
			}
			rep := apptest.JSON[struct{ Report registry.Report }](t, w.wb, "POST", "/api/v1/registry/import/tags", file, 422).Report
			want := []registry.RowError{{Row: 2, Column: "身份证号", ZH: "居民未登记或不在您的管辖范围内", EN: "resident not registered in your jurisdiction"}}
			if !reflect.DeepEqual(rep.Errors, want) {
				t.Fatalf("out of reach: %+v", rep.Errors)
			}
		})
		t.Run("two rows with one natural key are refused", func(t *testing.T) {
			file := "区划代码,户编号,地址\n" + communityA + ",HH-9,甲\n" + communityA + ",HH-9,乙\n"
			rep := imp("households", file, true, 422)
			want := []registry.RowError{{Row: 3, ZH: "与第 2 行重复", EN: "duplicates row 2"}}
			if !reflect.DeepEqual(rep.Errors, want) || rep.Applied {
				t.Fatalf("duplicate rows: %+v", rep)
			}
		})
		t.Run("a template has the required columns starred and an example", func(t *testing.T) {
			st, body, hdr := w.wa.Get("/api/v1/registry/templates/personnel?format=csv")
			rows := sheetRows(t, body)
			if st != 200 || !strings.Contains(hdr.Get("Content-Disposition"), "linli-personnel-template.csv") ||
				!reflect.DeepEqual(rows[0], []string{"区划代码*", "姓名*", "岗位*", "手机号*", "登录账号"}) || len(rows) != 2 {
				t.Fatalf("template %d %v", st, rows)
			}
			refusal(t, w.wa, "GET", "/api/v1/registry/templates/spaceships", nil, 404)
			wantFields(t, refusal(t, w.wa, "GET", "/api/v1/registry/templates/personnel?format=pdf", nil, 400), "format")
		})
	})
}

func TestExportEveryList(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		e.User("grid.a", access.GridWorker, communityA)
		ga := e.Login("grid.a")
		apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/grids", map[string]any{"division": communityA, "code": "G01", "name": "一网格", "workers": []string{"grid.a"}}, 201)
		apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/organizations", map[string]any{"division": communityA, "kind": "social_org", "name": "上保互助会", "reg_no": "51330106MJ0000001X", "rating": "4A"}, 201)
		apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/personnel", map[string]any{"division": communityA, "name": "陈网格", "roles": []string{"grid_worker"}, "phone": "13957109999"}, 201)
		apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/facilities", map[string]any{"division": communityA, "code": "F1", "name": "上保食堂", "category": "elderly_canteen", "lon": 120.147, "lat": 30.259}, 201)

		t.Run("every list exports as CSV and xlsx with the same rows", func(t *testing.T) {
			want := map[string][][]string{
				"households":    {{communityA, "HH-001", "北山街道上保社区 1 幢 101 室", "", "1", ""}},
				"residents":     {{communityA, "HH-001", "张晓梅", "男", "78", idno.Mask(id1), "139****1234", "户主", "户籍", ""}},
				"facilities":    {{"F1", communityA, "上保食堂", "elderly_canteen", "", "120.147", "30.259", "0", "", "", "open"}},
				"organizations": {{communityA, "社会组织", "上保互助会", "51330106MJ0000001X", "", "4A", "", "", "", "0", "0"}},
				"personnel":     {{communityA, "陈网格", "网格员", "139****9999", "", "", "{}"}},
				"grids":         {{communityA, "G01", "一网格", "0", "grid.a", ""}},
			}
			for kind, rows := range want {
				for _, format := range []string{"csv", "xlsx"} {
					if got := export(t, w.wa, kind+"?format="+format).rows; !reflect.DeepEqual(got, rows) {
						t.Fatalf("%s %s:\n%q\nwant\n%q", kind, format, got, rows)
					}
				}
			}
		})
		t.Run("numbers are numbers in xlsx", func(t *testing.T) {
			st, body, _ := w.wa.Get("/api/v1/registry/export/facilities?format=xlsx")
			f, err := excelize.OpenReader(strings.NewReader(body))
			if st != 200 || err != nil {
				t.Fatalf("export %d %v", st, err)
			}
			defer f.Close()
			sheet := f.GetSheetList()[0]
			for axis, number := range map[string]bool{"A2": false, "F2": true, "G2": true, "H2": true, "K2": false} {
				ct, err := f.GetCellType(sheet, axis)
				text := ct == excelize.CellTypeInlineString || ct == excelize.CellTypeSharedString
				if err != nil || text == number {
					t.Errorf("%s: type %v (%v), want a number %v", axis, ct, err, number)
				}
			}
		})
		t.Run("the filters of the list apply", func(t *testing.T) {
			if x := export(t, w.wa, "households?format=csv&q=nothing-like-this"); len(x.rows) != 0 || len(x.header) != 6 {
				t.Fatalf("filtered export %v", x)
			}
			if x := export(t, w.wa, "facilities?format=csv&category=health_station"); len(x.rows) != 0 {
				t.Fatalf("filtered export %v", x)
			}
			wantFields(t, refusal(t, w.wa, "GET", "/api/v1/registry/export/facilities?format=csv&division=33x", nil, 400), "division")
		})
		t.Run("personnel phones are clear only for an allowed role with a reason", func(t *testing.T) {
			x := export(t, w.wa, "personnel?format=csv&unmasked=true&reason="+url.QueryEscape("网格员联络表"))
			if x.rows[0][3] != "13957109999" || !strings.HasSuffix(x.file, "-unmasked.csv") {
				t.Fatalf("unmasked personnel %q %v", x.file, x.rows)
			}
			p := refusal(t, ga, "GET", "/api/v1/registry/export/residents?format=csv&unmasked=true&reason="+url.QueryEscape("想看看"), nil, 403)
			if p.Detail != "您的角色不能导出未脱敏数据" {
				t.Fatalf("detail %q", p.Detail)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'registry.export' AND result = 'denied'`); n != 1 {
				t.Fatalf("refused export audited %d times", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'registry.export' AND object = 'personnel' AND detail LIKE '%"unmasked":true%'`); n != 1 {
				t.Fatalf("unmasked personnel export audited %d times", n)
			}
		})
		t.Run("a cell that looks like a formula is escaped in every export", func(t *testing.T) {
			for i, addr := range []string{"\t=1+2", " -1+3", "=HYPERLINK(\"http://evil.example\")", "@SUM(A1)"} {
				apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/facilities", map[string]any{"division": communityA, "code": fmt.Sprintf("X%d", i), "name": "设施" + strconv.Itoa(i),
					"category": "elderly_canteen", "address": addr, "lon": 120.147, "lat": 30.259}, 201)
			}
			for _, format := range []string{"csv", "xlsx"} {
				for _, r := range export(t, w.wa, "facilities?format="+format+"&q="+url.QueryEscape("设施")).rows {
					if a := r[4]; !strings.HasPrefix(a, "'") {
						t.Errorf("%s: address %q left as a formula", format, a)
					}
				}
			}
		})
		t.Run("the exports page offers every list and a reason field", func(t *testing.T) {
			html := page(t, w.wa, "/registry/exports", 200)
			for _, k := range registry.ExportKinds {
				if !strings.Contains(html, `value="`+k.Key+`"`) {
					t.Fatalf("the page lacks %s", k.Key)
				}
			}
			if !strings.Contains(html, `name="reason"`) {
				t.Fatal("no reason field")
			}
		})
		exports := func() int {
			return e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'registry.export'`)
		}
		t.Run("a list's export link opens the form filled in, recording nothing", func(t *testing.T) {
			before := exports()
			html := page(t, w.wa, "/registry/export?kind=grids&format=csv&division="+communityA, 200)
			if !strings.Contains(html, `method="post" action="/registry/export"`) || !strings.Contains(html, `name="division" maxlength="12" inputmode="numeric" value="`+communityA+`"`) {
				t.Fatal("the export link does not lead to the filled-in form")
			}
			if n := exports(); n != before {
				t.Fatalf("a GET recorded %d exports", n-before)
			}
		})
		t.Run("the page's download, posted, is the same file", func(t *testing.T) {
			before := exports()
			st, body, hdr := w.wa.Form("/registry/export", map[string]string{"kind": "grids", "format": "csv"}, sameOrigin)
			if n := exports(); n != before+1 {
				t.Fatalf("the POST recorded %d exports", n-before)
			}
			if st != 200 || hdr.Get("Cache-Control") != "no-store" || !strings.Contains(hdr.Get("Content-Disposition"), "linli-grids-20261129-160000-worker.a-masked.csv") {
				t.Fatalf("download %d %v", st, hdr)
			}
			if rows := sheetRows(t, body); !reflect.DeepEqual(rows[1:], [][]string{{communityA, "G01", "一网格", "0", "grid.a", ""}}) {
				t.Fatalf("rows %v", rows)
			}
		})
	})
}

// sortedList sorts a ;-separated list.
func sortedList(s string) string {
	parts := strings.Split(s, ";")
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// padRows pads rows to width: xlsx leaves trailing empty cells out.
func padRows(rows [][]string, width int) [][]string {
	for i := range rows {
		for len(rows[i]) < width {
			rows[i] = append(rows[i], "")
		}
	}
	return rows
}

func TestImportJobPage(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker.a", access.CommunityWorker, communityA)
		e.User("worker.b", access.CommunityWorker, communityB)
		wa := e.Login("worker.a")
		file := []byte("区划代码,户编号,户地址,姓名,身份证号,与户主关系\n" + communityA + ",H1,上保1幢,张一," + id1 + ",户主\n" + communityA + ",H1,,张二," + id2 + ",子女\n")
		upload := func(c *apptest.Client, fields map[string]string) string {
			t.Helper()
			st, _, h := c.Multipart("/registry/import", fields, "file", "r.csv", file, sameOrigin)
			if st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/registry/import/jobs/") {
				t.Fatalf("upload: %d %v", st, h)
			}
			return h.Get("Location")
		}
		// follow reads the job's page until it stops refreshing itself.
		follow := func(loc string) string {
			t.Helper()
			for i := 0; i < 500; i++ {
				st, html, h := wa.Get(loc)
				if st != 200 {
					t.Fatalf("job page: %d", st)
				}
				if h.Get("Refresh") == "" {
					return html
				}
				if !strings.Contains(html, "<progress") {
					t.Fatal("a running job's page shows no progress")
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Fatal("the import job never finished")
			return ""
		}

		t.Run("a dry run reports the rows and writes nothing", func(t *testing.T) {
			html := follow(upload(wa, map[string]string{"kind": "residents"}))
			if !strings.Contains(html, "检查报告") || !strings.Contains(html, `id="rows-total">2<`) || !strings.Contains(html, `id="rows-bad">0<`) {
				t.Fatalf("dry run page: %s", html)
			}
			if n := e.Count(`SELECT COUNT(*) FROM reg_residents`); n != 0 {
				t.Fatalf("a dry run wrote %d residents", n)
			}
		})
		t.Run("an import writes the rows", func(t *testing.T) {
			html := follow(upload(wa, map[string]string{"kind": "residents", "apply": "1"}))
			if !strings.Contains(html, "导入完成") || !strings.Contains(html, `id="rows-total">2<`) {
				t.Fatalf("apply page: %s", html)
			}
			if n := e.Count(`SELECT COUNT(*) FROM reg_residents`); n != 2 {
				t.Fatalf("%d residents", n)
			}
		})
		t.Run("another user cannot read the job", func(t *testing.T) {
			loc := upload(wa, map[string]string{"kind": "residents"})
			follow(loc)
			page(t, e.Login("worker.b"), loc, 404)
		})
		t.Run("a job expires an hour after it started, by the app's clock", func(t *testing.T) {
			loc := upload(wa, map[string]string{"kind": "residents"})
			follow(loc)
			e.Clock.Add(61 * time.Minute)
			// The session ended meanwhile; adding a job forgets the expired ones.
			wa = e.Login("worker.a")
			upload(wa, map[string]string{"kind": "residents"})
			page(t, wa, loc, 404)
		})
		t.Run("an upload without a file or of an unknown kind is refused on the page", func(t *testing.T) {
			if st, _, _ := wa.Multipart("/registry/import", map[string]string{"kind": "residents"}, "file", "", nil, sameOrigin); st != 400 {
				t.Fatalf("no file: %d", st)
			}
			if st, _, _ := wa.Multipart("/registry/import", map[string]string{"kind": "spaceships"}, "file", "r.csv", file, sameOrigin); st != 400 {
				t.Fatalf("unknown kind: %d", st)
			}
			e.User("grid.a", access.GridWorker, communityA)
			if st, _, _ := e.Login("grid.a").Multipart("/registry/import", map[string]string{"kind": "residents"}, "file", "r.csv", file, sameOrigin); st != 403 {
				t.Fatalf("grid worker upload: %d", st)
			}
		})
	})
}
