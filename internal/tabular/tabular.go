// Package tabular reads and writes the CSV and xlsx files of bulk import
// and export: one header row, then data rows, every problem reported with
// its row and column in Chinese and English.
package tabular

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"linli/internal/fault"
)

// Error is a problem with the file as a whole (not one row).
type Error struct{ ZH, EN string }

func (e *Error) Error() string { return e.ZH + " / " + e.EN }

// Table is a parsed file: the header and the data rows, each padded or cut
// to the header's width. Line is the file row number of Rows[0] (2).
type Table struct {
	Header []string
	Rows   [][]string
}

// MaxRows bounds one file (2 million rows).
const MaxRows = 2_000_000

// Read parses CSV (UTF-8, optional BOM) or xlsx (first sheet), telling
// them apart by content.
func Read(data []byte) (*Table, error) {
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return readXLSX(data)
	}
	return readCSV(data)
}

func readCSV(data []byte) (*Table, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, &Error{"CSV 文件须为 UTF-8 编码（如为 GBK，请在 Excel 中另存为“CSV UTF-8”）", "the CSV file must be UTF-8 (save it as \"CSV UTF-8\" from Excel)"}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	t := &Table{}
	headerLine := 1
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &Error{fmt.Sprintf("CSV 第 %d 行格式错误", pe.Line), fmt.Sprintf("malformed CSV at line %d", pe.Line)}
			}
			return nil, &Error{"无法读取 CSV 文件", "cannot read the CSV file"}
		}
		line, _ := r.FieldPos(0)
		if t.Header == nil {
			t.Header, headerLine = rec, line
			continue
		}
		// The CSV reader skips blank lines: keep them as empty rows, so that
		// a row's number is its line in the file.
		if line-headerLine-1 > MaxRows {
			return nil, &Error{fmt.Sprintf("文件超过 %d 行", MaxRows), fmt.Sprintf("the file has more than %d rows", MaxRows)}
		}
		for len(t.Rows) < line-headerLine-1 {
			t.Rows = append(t.Rows, nil)
		}
		if err := t.add(rec); err != nil {
			return nil, err
		}
	}
	return t.finish()
}

func (t *Table) add(rec []string) error {
	empty := true
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			empty = false
			break
		}
	}
	if empty {
		// Keep numbering: an empty row still occupies a line.
		t.Rows = append(t.Rows, nil)
		return nil
	}
	if len(t.Rows) >= MaxRows {
		return &Error{fmt.Sprintf("文件超过 %d 行", MaxRows), fmt.Sprintf("the file has more than %d rows", MaxRows)}
	}
	row := make([]string, len(t.Header))
	for i := range row {
		if i < len(rec) {
			row[i] = unescape(strings.TrimSpace(rec[i]))
		}
		// Files are outside text like a form's: the same check.
		if why, ok := fault.TextProblem(row[i]); !ok {
			line, col := len(t.Rows)+2, strings.TrimSpace(t.Header[i])
			return &Error{fmt.Sprintf("第 %d 行“%s”列%s", line, col, why.ZH), fmt.Sprintf("row %d, column %q: %s", line, col, why.EN)}
		}
	}
	t.Rows = append(t.Rows, row)
	return nil
}

func (t *Table) finish() (*Table, error) {
	if len(t.Header) == 0 {
		return nil, &Error{"文件为空或缺少表头", "the file is empty or has no header row"}
	}
	for i, h := range t.Header {
		t.Header[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if why, ok := fault.TextProblem(t.Header[i]); !ok {
			return nil, &Error{fmt.Sprintf("表头第 %d 列%s", i+1, why.ZH), fmt.Sprintf("the header, column %d: %s", i+1, why.EN)}
		}
	}
	return t, nil
}

func readXLSX(data []byte) (t *Table, err error) {
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, &Error{"无法读取 xlsx 文件", "cannot read the xlsx file"}
		}
	}()
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: 1 << 30, UnzipXMLSizeLimit: 256 << 20})
	if err != nil {
		return nil, &Error{"无法读取 xlsx 文件（文件已损坏或不是 xlsx）", "cannot read the xlsx file (damaged or not xlsx)"}
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, &Error{"xlsx 文件没有工作表", "the xlsx file has no sheet"}
	}
	sheet := sheets[0]
	merged, err := f.GetMergeCells(sheet)
	if err != nil {
		return nil, &Error{"无法读取 xlsx 文件", "cannot read the xlsx file"}
	}
	for _, m := range merged {
		_, r1, e1 := excelize.CellNameToCoordinates(m.GetStartAxis())
		_, r2, e2 := excelize.CellNameToCoordinates(m.GetEndAxis())
		if e1 == nil && e2 == nil && r1 <= 1 && r2 >= 1 {
			return nil, &Error{"表头含合并单元格（" + m.GetStartAxis() + ":" + m.GetEndAxis() + "），请取消合并，每列一个列名", "the header has merged cells (" + m.GetStartAxis() + ":" + m.GetEndAxis() + "); unmerge them so that each column has one name"}
		}
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		return nil, &Error{"无法读取 xlsx 工作表", "cannot read the xlsx sheet"}
	}
	defer rows.Close()
	t = &Table{}
	for rows.Next() {
		rec, err := rows.Columns()
		if err != nil {
			return nil, &Error{"无法读取 xlsx 工作表", "cannot read the xlsx sheet"}
		}
		if t.Header == nil {
			if len(rec) == 0 {
				continue
			}
			t.Header = rec
			continue
		}
		if err := t.add(rec); err != nil {
			return nil, err
		}
	}
	return t.finish()
}
