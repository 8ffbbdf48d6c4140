package divisions_test

import (
	"reflect"
	"strings"
	"testing"

	"linli/internal/dbtest"
	"linli/internal/divisions"
	"linli/internal/fault"
)

func TestImportAllOrNothing(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		off := as(countyOfficer)
		imp := func(csv string, dry bool) divisions.ImportReport {
			t.Helper()
			rep, err := e.store.ImportCSV(off, e.log, strings.NewReader(csv), dry)
			if err != nil {
				t.Fatal(err)
			}
			return rep
		}
		rows := func() int { return e.count(`SELECT COUNT(*) FROM unit_attributes`) }
		bad := "\ufeff区划代码,年份,属性,数值\n" + communityA + ",2025,population,4100\n" + communityB + ",2025,population,abc\n330106004055,1900,households,1200\n"
		t.Run("a file with bad rows reports each and writes nothing", func(t *testing.T) {
			rep := imp(bad, false)
			want := divisions.RowErrors{
				{Row: 3, Column: "value", ZH: "数值须为 0 至 10^15 之间的有限数", EN: "value must be a finite number from 0 to 10^15"},
				{Row: 4, Column: "year", ZH: "年份须为 1949 至 2100 的整数", EN: "year must be a whole number from 1949 to 2100"},
			}
			if rep.Applied || rep.Rows != 3 || !reflect.DeepEqual(rep.Errors, want) || rows() != 0 {
				t.Fatalf("got %+v, %d rows written", rep, rows())
			}
		})
		for _, k := range []struct {
			name, csv string
			want      divisions.RowError
		}{
			{"an unknown column", "division_code,year,attribute,value,colour\n", divisions.RowError{Row: 1, Column: "colour", ZH: "未知的列", EN: "unknown column"}},
			{"attributes and designations together", "division_code,year,attribute,value,designation\n", divisions.RowError{Row: 1, Column: "designation", ZH: "属性与称号须分开导入", EN: "import attributes and designations separately"}},
			{"neither attributes nor designations", "division_code,year\n", divisions.RowError{Row: 1, Column: "attribute", ZH: "缺少 attribute(属性) 或 designation(称号) 列", EN: "missing column attribute or designation"}},
			{"a missing value column", "division_code,year,attribute\n", divisions.RowError{Row: 1, Column: "value", ZH: "缺少必需的列", EN: "missing required column"}},
			{"no data rows", "division_code,year,attribute,value\n", divisions.RowError{Row: 2, Column: "-", ZH: "文件没有数据行", EN: "file has no data rows"}},
			{"an empty file", "", divisions.RowError{Row: 1, Column: "-", ZH: "无法读取表头", EN: "cannot read the header"}},
			{"a unit outside the jurisdiction", "division_code,year,attribute,value\n" + ningboVil + ",2025,population,1\n", divisions.RowError{Row: 2, Column: "division_code", ZH: "区划不存在或不在您的管辖范围内", EN: "division does not exist or is outside your jurisdiction"}},
			{"a unit that does not exist", "division_code,year,attribute,value\n330106999999,2025,population,1\n", divisions.RowError{Row: 2, Column: "division_code", ZH: "区划不存在或不在您的管辖范围内", EN: "division does not exist or is outside your jurisdiction"}},
			{"a malformed code", "division_code,year,attribute,value\n33x1,2025,population,1\n", divisions.RowError{Row: 2, Column: "division_code", ZH: "区划代码格式不正确", EN: "malformed division code"}},
			{"an unknown designation", "division_code,designation,year\n" + communityA + ",best_village,2024\n", divisions.RowError{Row: 2, Column: "designation", ZH: "未知的称号", EN: "unknown designation"}},
		} {
			t.Run(k.name+" is reported", func(t *testing.T) {
				rep := imp(k.csv, false)
				if rep.Applied || len(rep.Errors) == 0 || rep.Errors[0] != k.want {
					t.Errorf("got %+v", rep.Errors)
				}
			})
		}
		good := strings.Replace(strings.Replace(bad, ",abc", ",3900", 1), ",1900,", ",2025,", 1)
		t.Run("a dry run checks and writes nothing", func(t *testing.T) {
			if rep := imp(good, true); rep.Applied || rep.Rows != 3 || len(rep.Errors) != 0 || rows() != 0 {
				t.Fatalf("got %+v, %d rows", rep, rows())
			}
		})
		t.Run("a worker may check a file but not apply it", func(t *testing.T) {
			if rep, err := e.store.ImportCSV(as(workerA), e.log, strings.NewReader("division_code,year,attribute,value\n"+communityA+",2025,population,1\n"), true); err != nil || len(rep.Errors) != 0 {
				t.Fatalf("dry run: %+v %v", rep, err)
			}
			_, err := e.store.ImportCSV(as(workerA), e.log, strings.NewReader("division_code,year,attribute,value\n"+communityA+",2025,population,1\n"), false)
			dbtest.Refusal(t, err, fault.CodeForbidden, "")
		})
		t.Run("a good file applies in full, and again changes nothing", func(t *testing.T) {
			for i := 0; i < 2; i++ {
				if rep := imp(good, false); !rep.Applied || rep.Rows != 3 {
					t.Fatalf("apply %d: %+v", i, rep)
				}
			}
			if rows() != 3 || e.count(`SELECT COUNT(*) FROM unit_changes`) != 3 || e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'unit.import'`) != 2 {
				t.Fatalf("%d rows, %d changes", rows(), e.count(`SELECT COUNT(*) FROM unit_changes`))
			}
		})
		t.Run("designations import with their notes", func(t *testing.T) {
			if rep := imp("division_code,称号,year,备注\n"+communityA+",future_community,2024,第一批\n", false); !rep.Applied {
				t.Fatalf("got %+v", rep)
			}
			ds, err := e.store.Designations(off, communityA)
			if err != nil || len(ds) != 1 || ds[0].Kind != "future_community" || ds[0].Year != 2024 || ds[0].Note != "第一批" {
				t.Fatalf("got %+v %v", ds, err)
			}
		})
	})
}
