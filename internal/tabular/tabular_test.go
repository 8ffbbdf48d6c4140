package tabular

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestCSVAndXLSXRoundTrip(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"csv", "xlsx"} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, format)
		if err != nil {
			t.Fatal(err)
		}
		w.Row("姓名", "身份证号", "备注")
		w.Row("张三", "330106199001011234", "=cmd()")
		w.Row("", "", "")
		w.Row("李四", "", "a,b")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		tb, err := Read(buf.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if strings.Join(tb.Header, "|") != "姓名|身份证号|备注" || len(tb.Rows) != 3 || tb.Rows[0][2] != "=cmd()" || tb.Rows[1] != nil || tb.Rows[2][2] != "a,b" {
			t.Fatalf("%s: %q %q", format, tb.Header, tb.Rows)
		}
	}
}

func TestMergedHeaderRejected(t *testing.T) {
	t.Parallel()
	f := excelize.NewFile()
	f.SetSheetRow("Sheet1", "A1", &[]any{"居民信息", "", "手机号"})
	f.SetSheetRow("Sheet1", "A2", &[]any{"张三", "330106199001011234", "13800000000"})
	f.MergeCell("Sheet1", "A1", "B1")
	var buf bytes.Buffer
	f.WriteTo(&buf)
	_, err := Read(buf.Bytes())
	if e, ok := err.(*Error); !ok || !strings.Contains(e.ZH, "合并单元格") || !strings.Contains(e.ZH, "A1:B1") {
		t.Fatalf("merged header: %v", err)
	}
}

func TestBadCSV(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "表头", "\xff\xfe": "UTF-8"} {
		if _, err := Read([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func fuzzCheck(t *testing.T, data []byte) {
	tb, err := Read(data)
	if err != nil {
		if _, ok := err.(*Error); !ok {
			t.Fatalf("error of type %T: %v", err, err)
		}
		return
	}
	if len(tb.Header) == 0 {
		t.Fatal("table without header")
	}
	for _, r := range tb.Rows {
		if r != nil && len(r) != len(tb.Header) {
			t.Fatalf("row width %d, header %d", len(r), len(tb.Header))
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("姓名,身份证号\n张三,330106199001011234\n"))
	f.Add([]byte("\xef\xbb\xbfa,b\n\"x\"\"y\",z,extra\n\n"))
	f.Add([]byte("a\n\"unterminated"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
			return
		}
		fuzzCheck(t, data)
	})
}

func FuzzReadXLSX(f *testing.F) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, "xlsx")
	w.Row("区划代码", "户编号", "姓名")
	w.Row("330106002051", "H1", "张三")
	w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x03\x04garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		fuzzCheck(t, append([]byte("PK\x03\x04"), bytes.TrimPrefix(data, []byte("PK\x03\x04"))...))
	})
}

// Blank lines keep their numbers: a row's index + 2 is its line in the file.
func TestBlankLinesKeepNumbers(t *testing.T) {
	t.Parallel()
	tab, err := Read([]byte("a,b\n\n1,2\n,\n\n3,4\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 5 || tab.Rows[1][0] != "1" || tab.Rows[4][0] != "3" || tab.Rows[0] != nil || tab.Rows[2] != nil {
		t.Fatalf("rows %q", tab.Rows)
	}
}

// rawCells reads a written file without Read's unescaping: every row of
// the CSV, or of the first sheet of the xlsx.
func rawCells(t *testing.T, data []byte) [][]string {
	t.Helper()
	if bytes.HasPrefix(data, []byte("PK")) {
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := f.GetRows(f.GetSheetList()[0])
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestFormulaCellsEscaped(t *testing.T) {
	t.Parallel()
	cells := []string{"=1+2", "+1", "-1+2", "@SUM(A1)", "\t=1+2", "\r=1+3", "  =1", "\u3000=1", "\tplain", "\rplain",
		"-3.5", "+86", "42", "a=b", "中文", "", "'quoted", "=HYPERLINK(\"http://evil.example\")"}
	want := []string{"'=1+2", "+1", "'-1+2", "'@SUM(A1)", "'\t=1+2", "'\r=1+3", "'  =1", "'\u3000=1", "'\tplain", "'\rplain",
		"-3.5", "+86", "42", "a=b", "中文", "", "'quoted", "'=HYPERLINK(\"http://evil.example\")"}
	for _, format := range []string{"csv", "xlsx"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, format)
			if err != nil {
				t.Fatal(err)
			}
			header := make([]string, len(cells))
			for i := range header {
				header[i] = fmt.Sprintf("c%d", i)
			}
			if err := w.Row(header...); err != nil {
				t.Fatal(err)
			}
			if err := w.Row(cells...); err != nil {
				t.Fatal(err)
			}
			if err := w.Values("=typed", 7, -2.5); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			raw := rawCells(t, buf.Bytes())
			t.Run("every cell a spreadsheet would evaluate starts with an apostrophe", func(t *testing.T) {
				got := append(raw[1], make([]string, len(cells))...)[:len(cells)] // xlsx leaves trailing empty cells out
				for i := range cells {
					// A spreadsheet keeps a lone CR of a cell as LF.
					if g := strings.ReplaceAll(got[i], "\n", "\r"); g != want[i] && got[i] != want[i] {
						t.Errorf("cell %q written as %q, want %q", cells[i], got[i], want[i])
					}
				}
				if !reflect.DeepEqual(raw[2], []string{"'=typed", "7", "-2.5"}) {
					t.Errorf("typed row %q", raw[2])
				}
			})
			t.Run("reading the file back takes the apostrophes off", func(t *testing.T) {
				tb, err := Read(buf.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				for i, c := range cells {
					if w := strings.TrimSpace(c); tb.Rows[0][i] != w && !(c == "\r=1+3" && tb.Rows[0][i] == "=1+3") {
						t.Errorf("cell %q read back as %q, want %q", c, tb.Rows[0][i], w)
					}
				}
			})
		})
	}
}

func TestNumbersAreNumbersInXLSX(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := New(&buf, "xlsx", Options{Sheet: "设施 Facilities"})
	if err != nil {
		t.Fatal(err)
	}
	area := 1200.5
	w.Row("经度", "纬度", "建筑面积", "户数", "党员占比", "名称")
	if err := w.Values(120.147, 30.259, &area, 3, (*float64)(nil), "120.5"); err != nil {
		t.Fatal(err)
	}
	if err := w.Values(struct{}{}); err == nil {
		t.Error("a cell of an unknown type was written")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	isText := func(ct excelize.CellType) bool {
		return ct == excelize.CellTypeInlineString || ct == excelize.CellTypeSharedString
	}
	for axis, want := range map[string]string{"A2": "120.147", "B2": "30.259", "C2": "1200.5", "D2": "3", "E2": "", "F2": "120.5"} {
		ct, err := f.GetCellType("设施 Facilities", axis)
		v, _ := f.GetCellValue("设施 Facilities", axis)
		if err != nil || v != want || isText(ct) != (axis == "F2") {
			t.Errorf("%s: %q of type %v (%v), want %q as %s", axis, v, ct, err, want, map[bool]string{true: "text", false: "a number"}[axis == "F2"])
		}
	}
}

func TestStampNeverInTheTable(t *testing.T) {
	t.Parallel()
	stamp := [][]string{{"导出人 / exported by", "worker.a"}, {"时间 / time", "2026-11-29 16:00:00 CST"}}
	write := func(t *testing.T, format string) []byte {
		var buf bytes.Buffer
		w, err := New(&buf, format, Options{Sheet: "居民 Residents", Stamp: stamp})
		if err != nil {
			t.Fatal(err)
		}
		w.Row("姓名", "年龄")
		w.Values("张三", 78)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	t.Run("a CSV file is the header and its rows, each line as wide", func(t *testing.T) {
		data := write(t, "csv")
		if want := "\ufeff姓名,年龄\n张三,78\n"; string(data) != want {
			t.Fatalf("csv %q, want %q", data, want)
		}
	})
	t.Run("an xlsx file has the table first and the stamp on a sheet of its own", func(t *testing.T) {
		f, err := excelize.OpenReader(bytes.NewReader(write(t, "xlsx")))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if got := f.GetSheetList(); !reflect.DeepEqual(got, []string{"居民 Residents", StampSheet}) || f.GetActiveSheetIndex() != 0 {
			t.Fatalf("sheets %q, active %d", got, f.GetActiveSheetIndex())
		}
		table, _ := f.GetRows("居民 Residents")
		st, _ := f.GetRows(StampSheet)
		if !reflect.DeepEqual(table, [][]string{{"姓名", "年龄"}, {"张三", "78"}}) || !reflect.DeepEqual(st, stamp) {
			t.Fatalf("table %q, stamp %q", table, st)
		}
	})
}

func TestSheets(t *testing.T) {
	t.Parallel()
	t.Run("an xlsx file takes more sheets", func(t *testing.T) {
		var buf bytes.Buffer
		w, _ := New(&buf, "xlsx", Options{Sheet: "指标 Indicators"})
		w.Row("a")
		if err := w.Sheet("公式 Formulas"); err != nil {
			t.Fatal(err)
		}
		w.Row("=x")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, _ := f.GetRows("公式 Formulas")
		if got := f.GetSheetList(); !reflect.DeepEqual(got, []string{"指标 Indicators", "公式 Formulas"}) || !reflect.DeepEqual(rows, [][]string{{"'=x"}}) {
			t.Fatalf("sheets %q, second %q", got, rows)
		}
	})
	t.Run("a CSV file refuses a second table", func(t *testing.T) {
		w, _ := NewWriter(io.Discard, "csv")
		if _, ok := w.Sheet("second").(*Error); !ok {
			t.Fatal("a CSV writer took a second sheet")
		}
	})
	t.Run("an unknown format is refused", func(t *testing.T) {
		if _, err := NewWriter(io.Discard, "pdf"); err == nil {
			t.Fatal("pdf accepted")
		}
	})
}

// TestCSVStreams: rows reach the output while the file is being written,
// not all at the end.
func TestCSVStreams(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, "csv")
	for i := 0; i < 10000; i++ {
		w.Values("区划代码", i, 120.5)
	}
	if buf.Len() == 0 {
		t.Fatal("10,000 rows written and nothing reached the output")
	}
	before := buf.Len()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len()-before > 32<<10 {
		t.Fatalf("%d bytes held back until Close", buf.Len()-before)
	}
}

func TestDiscardWritesNothingMore(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"csv", "xlsx"} {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, format)
		w.Row("a", "b")
		w.Discard()
		if buf.Len() != 0 {
			t.Errorf("%s: a discarded file wrote %d bytes", format, buf.Len())
		}
	}
}

func TestLongTableGoesOnInMoreSheets(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := New(&buf, "xlsx", Options{Sheet: "居民", Stamp: [][]string{{"导出", "测试"}}})
	if err != nil {
		t.Fatal(err)
	}
	// A sheet of four rows stands for Excel's 1,048,576.
	w.(*xlsxWriter).maxRows = 4
	w.Row("姓名", "序号")
	for i := 1; i <= 8; i++ {
		if err := w.Values(fmt.Sprintf("居民%d", i), i); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string][][]string{
		"居民":       {{"姓名", "序号"}, {"居民1", "1"}, {"居民2", "2"}, {"居民3", "3"}},
		"居民 (2)":   {{"姓名", "序号"}, {"居民4", "4"}, {"居民5", "5"}, {"居民6", "6"}},
		"居民 (3)":   {{"姓名", "序号"}, {"居民7", "7"}, {"居民8", "8"}},
		StampSheet: {{"导出", "测试"}},
	}
	t.Run("every row is on one sheet, in order, each sheet headed by the header", func(t *testing.T) {
		if got := f.GetSheetList(); !reflect.DeepEqual(got, []string{"居民", "居民 (2)", "居民 (3)", StampSheet}) {
			t.Fatalf("sheets %q", got)
		}
		for sheet, rows := range want {
			got, err := f.GetRows(sheet)
			if err != nil || !reflect.DeepEqual(got, rows) {
				t.Fatalf("%s: %q (%v), want %q", sheet, got, err, rows)
			}
		}
	})
}

// writeSizes records the size of each write it is given.
type writeSizes struct {
	total, largest int
	buf            bytes.Buffer
}

func (w *writeSizes) Write(p []byte) (int, error) {
	w.total += len(p)
	w.largest = max(w.largest, len(p))
	return w.buf.Write(p)
}

func TestXLSXIsZippedOntoTheOutput(t *testing.T) {
	t.Parallel()
	out := &writeSizes{}
	w, err := New(out, "xlsx", Options{Stamp: [][]string{{"导出", "测试"}}})
	if err != nil {
		t.Fatal(err)
	}
	w.Row("姓名", "序号", "备注")
	for i := 0; i < 20000; i++ {
		if err := w.Values(fmt.Sprintf("居民%d", i), i, strings.Repeat("备注", i%7)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Run("the file arrives in pieces, never as one buffer of the whole", func(t *testing.T) {
		if out.total < 100_000 || out.largest > out.total/4 {
			t.Fatalf("%d bytes, the largest write %d", out.total, out.largest)
		}
	})
	t.Run("and it is a whole workbook with every row", func(t *testing.T) {
		f, err := excelize.OpenReader(&out.buf)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := f.GetRows("Sheet1")
		if err != nil || len(rows) != 20001 || rows[20000][0] != "居民19999" {
			t.Fatalf("%d rows (%v)", len(rows), err)
		}
	})
}
