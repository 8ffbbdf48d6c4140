package indicators_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/indicators"
	"linli/internal/tabular"
	"linli/internal/web"
)

// xlsxFile builds a workbook whose first sheet holds rows.
func xlsxFile(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// importFile posts a file's bytes as the import API takes them and decodes
// its report.
func importFile(t *testing.T, c *apptest.Client, path string, data []byte) (int, indicators.ImportReport) {
	t.Helper()
	req := c.NewRequest("POST", path, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/octet-stream")
	st, body, hdr := c.Send(req)
	var rep indicators.ImportReport
	if st == 422 {
		// A refused file is a problem whose report lists the rows at fault.
		var p struct {
			web.Problem
			Report *indicators.ImportReport `json:"report"`
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil || hdr.Get("Content-Type") != "application/problem+json; charset=utf-8" || p.Status != 422 || p.Title != "Unprocessable Content" || p.Report == nil {
			t.Fatalf("%s: 422 is not a problem with a report: %v: %s", path, err, body)
		}
		return st, *p.Report
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("%s: %d %v: %s", path, st, err, body)
	}
	return st, rep
}

// readTemplate fetches a division's import template as CSV.
func readTemplate(t *testing.T, c *apptest.Client, division string, year int) *tabular.Table {
	t.Helper()
	st, tpl := c.Do("GET", fmt.Sprintf("/indicators/report/template?division=%s&period=%d&format=csv", division, year), nil)
	if st != 200 {
		t.Fatalf("template: %d %s", st, tpl)
	}
	tab, err := tabular.Read([]byte(tpl))
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// Reported data by file: the template lists the units that report, a bad
// file is refused as a whole with row, column and reason, a good one is
// saved as drafts in one step and shows in the indicators at once.
func TestReportedDataImport(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		e.User("city", access.Officer, "3301")
		e.User("worker", access.CommunityWorker, apptest.CommunityA)
		c := e.Login("county")
		const imp = "/api/v1/indicator-reports/import"
		header := []any{"区划代码 [division_code]", "年份", "名称", "dibao_standard", "社会救助件数（填报）", "assistance_joint_cases"}
		good := [][]any{header,
			{apptest.County, indYear, "西湖区", 12000, nil, nil},
			{"330106002", indYear, "北山街道", nil, 40, 30},
			{"330106004", indYear, "西溪街道", nil, "60", "50"},
		}
		bad := [][]any{header,
			{apptest.County, indYear, "西湖区", 500, nil, nil}, // below the standard's bound
			{"330106002", indYear, "北山街道", nil, 40, 45},     // joint cases above all cases
			{"330201001", indYear, "宁波", nil, 1, 1},         // another city
			{"330106004", indYear, "西溪街道", 9000, nil, nil},  // a county element at a township
			{"330106004", 2040, "西溪街道", nil, 1, 1},          // outside the frame
			{"330106005", indYear, "", nil, "abc", nil},     // not a number
			{"330106002", indYear, "北山街道", nil, 41, 30},     // the same division and year again
		}
		t.Run("the template lists the county and its townships, one column per element", func(t *testing.T) {
			st, tpl := c.Do("GET", fmt.Sprintf("/indicators/report/template?division=%s&period=%d", apptest.County, indYear), nil)
			if st != 200 {
				t.Fatalf("template: %d", st)
			}
			tab, err := tabular.Read([]byte(tpl)) // xlsx by default
			if err != nil {
				t.Fatal(err)
			}
			townships := e.Count(`SELECT COUNT(*) FROM divisions WHERE parent_code = $1`, apptest.County)
			if len(tab.Rows) != 1+townships || tab.Rows[0][0] != apptest.County || len(tab.Header) != 3+7 { // seven reported elements (C12 is computed from visits, not reported)
				t.Fatalf("template: %d rows (want %d), header %v", len(tab.Rows), 1+townships, tab.Header)
			}
			if !strings.Contains(strings.Join(tab.Header, "|"), "年低保标准（填报，元） [dibao_standard]") {
				t.Errorf("template header %v", tab.Header)
			}
		})
		t.Run("a bad file is refused as a whole with row, column and reason", func(t *testing.T) {
			st, rep := importFile(t, c, imp, xlsxFile(t, bad))
			if st != 422 || rep.Applied || rep.Values != 0 {
				t.Fatalf("bad file: %d %+v", st, rep)
			}
			want := map[string]string{ // row/column → a word of the reason
				"2/dibao_standard": "1000", "3/assistance_joint_cases": "不能大于", "4/区划代码 [division_code]": "管辖范围",
				"5/dibao_standard": "县", "6/年份": "2040", "7/社会救助件数（填报）": "abc", "8/区划代码 [division_code]": "第 3 行",
			}
			got := map[string]string{}
			for _, x := range rep.Errors {
				got[fmt.Sprintf("%d/%s", x.Row, x.Column)] = x.ZH
			}
			for k, w := range want {
				if !strings.Contains(got[k], w) {
					t.Errorf("row/column %s: %q, want it to say %q (all: %v)", k, got[k], w, got)
				}
			}
			if len(rep.Errors) != len(want) {
				t.Errorf("%d errors, want %d: %v", len(rep.Errors), len(want), got)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ind_reported`); n != 0 {
				t.Fatalf("a bad file saved %d values", n)
			}
		})
		t.Run("blank lines are passed over with their numbers kept", func(t *testing.T) {
			st, rep := importFile(t, c, imp+"?dry_run=1", []byte("区划代码,年份,dibao_standard\n\n"+apptest.County+",2026,abc\n,,\n"))
			if st != 422 || rep.Rows != 1 || len(rep.Errors) != 1 || rep.Errors[0].Row != 3 {
				t.Errorf("blank lines: %d %+v", st, rep)
			}
		})
		t.Run("an unknown column and a broken file are named", func(t *testing.T) {
			if st, rep := importFile(t, c, imp, []byte("区划代码,年份,population_total\n330106,2026,5\n")); st != 422 || len(rep.Errors) != 1 || rep.Errors[0].Row != 1 || rep.Errors[0].Column != "population_total" {
				t.Errorf("unknown column: %d %+v", st, rep)
			}
			if st, rep := importFile(t, c, imp, []byte("PK\x03\x04broken")); st != 422 || len(rep.Errors) != 1 || rep.Errors[0].Row != 1 || !strings.Contains(rep.Errors[0].ZH, "xlsx") {
				t.Errorf("broken xlsx: %d %+v", st, rep)
			}
			if st, rep := importFile(t, c, imp, []byte("区划代码,名称\n330106,西湖区\n")); st != 422 || len(rep.Errors) != 1 || rep.Errors[0].Column != "year" {
				t.Errorf("no year column: %d %+v", st, rep)
			}
			if st, rep := importFile(t, c, imp, []byte("区划代码,年份\n330106,2026\n")); st != 422 || len(rep.Errors) != 1 || rep.Errors[0].Column != "-" {
				t.Errorf("no element column: %d %+v", st, rep)
			}
		})
		t.Run("only officers import", func(t *testing.T) {
			st, _ := e.Login("worker").Do("POST", imp, "区划代码,年份,dibao_standard\n330106,2026,12000\n")
			if st != 403 {
				t.Errorf("worker import: %d", st)
			}
		})
		t.Run("a dry run saves nothing, the real run all 5 values at once", func(t *testing.T) {
			if st, rep := importFile(t, c, imp+"?dry_run=true", xlsxFile(t, good)); st != 200 || rep.Applied || rep.Values != 5 {
				t.Fatalf("dry run: %d %+v", st, rep)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ind_reported`); n != 0 {
				t.Fatalf("dry run saved %d values", n)
			}
			if st, rep := importFile(t, c, imp, xlsxFile(t, good)); st != 200 || !rep.Applied || rep.Values != 5 || rep.Rows != 3 {
				t.Fatalf("import: %d %+v", st, rep)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ind_reported WHERE status = 'draft' AND entered_by = 'county'`); n != 5 {
				t.Fatalf("%d drafts saved, want 5", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'indicator.report.import'`); n != 3 {
				t.Errorf("%d audit entries, want one per row (3)", n)
			}
		})
		t.Run("the indicators read the imported values", func(t *testing.T) {
			// C11 is computed from the assistance applications now; an own
			// indicator reads the reported cases: 100 × (30 + 50) ÷ (40 + 60) = 80.
			apptest.JSON[indRow](t, c, "POST", "/api/v1/indicator-definitions", map[string]any{"id": "XH-JOINT", "division_code": apptest.County,
				"name_zh": "填报的一件事联办率", "unit": "%", "formula": "100 × assistance_joint_cases ÷ assistance_cases"}, 201)
			if v := getRows(t, c, apptest.County, indYear)["XH-JOINT"].Value; !near(v, 80) {
				t.Errorf("the reported joint share after import = %v, want 80", ptr(v))
			}
		})
		t.Run("a CSV's values are checked against the stored ones", func(t *testing.T) {
			// 北山街道 has 40 cases, so 41 joint cases are refused.
			if st, rep := importFile(t, c, imp, []byte("\ufeff区划代码,年份,assistance_joint_cases\n330106002,2026,41\n")); st != 422 || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].ZH, "不能大于") {
				t.Errorf("CSV against stored values: %d %+v", st, rep)
			}
		})
		t.Run("a file touching approved data changes nothing at all", func(t *testing.T) {
			done(t, c, "POST", fmt.Sprintf("/api/v1/indicator-reports/330106002/%d/approve", indYear), nil)
			locked := "division_code,year,assistance_cases,assistance_joint_cases\n330106004,2026,70,50\n330106002,2026,50,30\n"
			if st, rep := importFile(t, c, imp, []byte(locked)); st != 422 || len(rep.Errors) != 1 || rep.Errors[0].Row != 3 || !strings.Contains(rep.Errors[0].ZH, "锁定") {
				t.Errorf("locked: %d %+v", st, rep)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ind_reported WHERE division_code = '330106004' AND element = 'assistance_cases' AND value = 60`); n != 1 {
				t.Error("a refused file changed an unlocked row")
			}
		})
		page := func(apply string, data []byte) (int, string) {
			fields := map[string]string{"division": apptest.County, "period": fmt.Sprint(indYear), "apply": apply}
			st, body, _ := c.Multipart("/indicators/report/import", fields, "file", "data.xlsx", data, nil)
			return st, body
		}
		next := [][]any{{"区划代码", "年份", "dibao_standard"}, {apptest.County, indYear, 12600}}
		t.Run("the page shows a bad file's report", func(t *testing.T) {
			if st, body := page("1", xlsxFile(t, bad)); st != 422 || !strings.Contains(body, "import-errors") || !strings.Contains(body, "管辖范围") {
				t.Errorf("page with a bad file: %d", st)
			}
		})
		t.Run("the page's check tells what would be overwritten", func(t *testing.T) {
			if st, body := page("0", xlsxFile(t, next)); st != 200 || !strings.Contains(body, "其中 1 个将覆盖") {
				t.Errorf("page check: %d", st)
			}
			if st, rep := importFile(t, c, imp+"?dry_run=1", xlsxFile(t, next)); st != 200 || rep.Changed != 1 || rep.Values != 1 {
				t.Errorf("API check: %d %+v", st, rep)
			}
		})
		t.Run("the page imports and the audit keeps the overwritten value", func(t *testing.T) {
			if st, body := page("1", xlsxFile(t, next)); st != 200 || !strings.Contains(body, "已导入 1 个数值") {
				t.Errorf("page import: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ind_reported WHERE division_code = $1 AND element = 'dibao_standard' AND value = 12600`, apptest.County); n != 1 {
				t.Error("the page's import did not save")
			}
			var detail string
			if err := e.App.DB.R.QueryRow(`SELECT detail FROM audit_log WHERE action = 'indicator.report.import' AND object_id = $1 ORDER BY seq DESC LIMIT 1`, apptest.County).Scan(&detail); err != nil {
				t.Fatal(err)
			}
			var d struct {
				Previous map[string]float64 `json:"previous"`
				Values   map[string]float64 `json:"values"`
			}
			if err := json.Unmarshal([]byte(detail), &d); err != nil || d.Previous["dibao_standard"] != 12000 || d.Values["dibao_standard"] != 12600 {
				t.Errorf("audit detail %s (%v)", detail, err)
			}
		})
	})
}
