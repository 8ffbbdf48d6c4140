package tabular

import (
	"bytes"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestControlCharactersInCellsRefused(t *testing.T) {
	t.Parallel()
	xlsx := func(rows ...[]any) []byte {
		f := excelize.NewFile()
		for i, r := range rows {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			f.SetSheetRow("Sheet1", cell, &r)
		}
		var buf bytes.Buffer
		f.WriteTo(&buf)
		return buf.Bytes()
	}
	for _, k := range []struct {
		name string
		file []byte
		en   string
	}{
		{"a NUL in a CSV cell", []byte("区划代码,地址\n330106002051,某处\n330106002051,a\x00b\n"), `row 3, column "地址": contains a NUL character`},
		{"an escape in a header", []byte("区划代码,地\x1b址\n330106002051,某处\n"), `the header, column 2: contains the control character U+001B`},
		{"a control character in an xlsx cell (_x0007_)", xlsx([]any{"区划代码", "地址"}, []any{"330106002051", "a_x0007_b"}), `row 2, column "地址": contains the control character U+0007`},
	} {
		t.Run(k.name, func(t *testing.T) {
			_, err := Read(k.file)
			e, ok := err.(*Error)
			if !ok || e.EN != k.en || e.ZH == "" {
				t.Errorf("got %v, want %q", err, k.en)
			}
		})
	}
	t.Run("tabs and line breaks inside a cell are text", func(t *testing.T) {
		tb, err := Read([]byte("区划代码,备注\n330106002051,\"第一行\r\n第二行\t完\"\n"))
		if err != nil || tb.Rows[0][1] != "第一行\n第二行\t完" {
			t.Errorf("got %q %v", tb, err)
		}
	})
}
