package tabular

import (
	"bytes"
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
		if strings.Join(tb.Header, "|") != "姓名|身份证号|备注" || len(tb.Rows) != 3 || tb.Rows[0][2] != "'=cmd()" || tb.Rows[1] != nil || tb.Rows[2][2] != "a,b" {
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
