package tabular

import (
	"archive/zip"
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/xuri/excelize/v2"
)

// Writer writes tables as CSV or xlsx, row by row, without holding them:
// CSV goes straight to the output, xlsx through excelize's stream writer.
// Every text cell a spreadsheet could take for a formula is escaped.
type Writer interface {
	// Row writes a row of text cells.
	Row(cells ...string) error
	// Values writes a row of typed cells: string, int, int64 and float64
	// (numbers in xlsx), *float64 and nil (nil is an empty cell).
	Values(cells ...any) error
	// Sheet begins another sheet (xlsx); a CSV file holds one table and
	// refuses.
	Sheet(name string) error
	// Close finishes the file: flushes CSV, writes the whole xlsx.
	Close() error
	// Discard gives up a file after an error, unfinished (nothing more is
	// written), and releases what it holds.
	Discard()
}

// Options shape a file.
type Options struct {
	// Sheet names the first sheet of an xlsx file (default "Sheet1").
	Sheet string
	// Stamp says who made the file, when and how: the last sheet of an xlsx
	// file (StampSheet). A CSV file gets none, so that every line is a row
	// of the table (RFC 4180): the caller puts the stamp in the file's
	// name and in the audit log.
	Stamp [][]string
}

// StampSheet is the name of the sheet that carries the stamp.
const StampSheet = "导出信息 Export"

// NewWriter returns a writer of format "csv" or "xlsx" onto w.
func NewWriter(w io.Writer, format string) (Writer, error) { return New(w, format, Options{}) }

// New returns a writer of format "csv" or "xlsx" onto w, shaped by o.
func New(w io.Writer, format string, o Options) (Writer, error) {
	switch format {
	case "csv", "":
		return &csvWriter{out: w}, nil
	case "xlsx":
		return newXLSX(w, o)
	}
	return nil, &Error{"格式须为 csv 或 xlsx", "format must be csv or xlsx"}
}

// Escape neutralises a text cell that a spreadsheet would read as a
// formula (OWASP "CSV injection"): one that starts, after any leading
// white space, with = + - or @, or that starts with a tab or a carriage
// return, gets a leading apostrophe. A plain number ("-3.5") is left
// alone. Read takes the apostrophe off again.
func Escape(s string) string {
	if needsEscape(s) {
		return "'" + s
	}
	return s
}

func needsEscape(s string) bool {
	t := strings.TrimLeftFunc(s, unicode.IsSpace)
	if t == "" {
		return false
	}
	if strings.ContainsAny(s[:len(s)-len(t)], "\t\r\n") {
		return true
	}
	return strings.ContainsRune("=+-@", rune(t[0])) && !isNumber(t)
}

// unescape undoes Escape on a cell read back.
func unescape(s string) string {
	if rest, ok := strings.CutPrefix(s, "'"); ok && needsEscape(rest) {
		return strings.TrimSpace(rest)
	}
	return s
}

// isNumber tells whether s is a plain decimal number with an optional sign.
func isNumber(s string) bool {
	digits := 0
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' || i == 0 && (c == '-' || c == '+'):
		default:
			return false
		}
	}
	return digits > 0 && strings.Count(s, ".") <= 1
}

// cell turns a typed value into what a sheet stores: text escaped, a
// number as a float64 or an int, nil for an empty cell.
func cell(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return Escape(x), nil
	case int, int64:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, nil
		}
		return x, nil
	case *float64:
		if x == nil {
			return nil, nil
		}
		return cell(*x)
	}
	return nil, fmt.Errorf("tabular: a cell of type %T", v)
}

// text is a cell as CSV writes it.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

// csvWriter writes rows to its output as they come (through a small
// buffer), the byte-order mark first so that Excel reads UTF-8.
type csvWriter struct {
	out     io.Writer
	buf     *bufio.Writer
	w       *csv.Writer
	started bool
}

func (c *csvWriter) start() error {
	if c.started {
		return nil
	}
	c.started = true
	c.buf = bufio.NewWriterSize(c.out, 32<<10)
	c.w = csv.NewWriter(c.buf)
	_, err := c.buf.WriteString("\ufeff")
	return err
}

func (c *csvWriter) Row(cells ...string) error {
	vals := make([]any, len(cells))
	for i, s := range cells {
		vals[i] = s
	}
	return c.Values(vals...)
}

func (c *csvWriter) Values(cells ...any) error {
	if err := c.start(); err != nil {
		return err
	}
	out := make([]string, len(cells))
	for i, v := range cells {
		x, err := cell(v)
		if err != nil {
			return err
		}
		out[i] = text(x)
	}
	return c.w.Write(out)
}

func (c *csvWriter) Sheet(string) error {
	return &Error{"CSV 文件只有一张表", "a CSV file holds one table"}
}

func (c *csvWriter) Discard() {}

func (c *csvWriter) Close() error {
	if err := c.start(); err != nil {
		return err
	}
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.buf.Flush()
}

// xlsxWriter streams each sheet's rows into the workbook, which is
// written out whole on Close (a zip file cannot be sent before its end).
type xlsxWriter struct {
	f     *excelize.File
	sw    *excelize.StreamWriter
	out   io.Writer
	n     int // rows of the current sheet
	stamp [][]string
	// A table longer than a sheet holds (maxRows, Excel's limit) goes on
	// in sheets "NAME (2)", "NAME (3)"…, each beginning with the table's
	// first row, its header.
	maxRows int
	name    string
	header  []any
	part    int
}

func newXLSX(w io.Writer, o Options) (*xlsxWriter, error) {
	f := excelize.NewFile()
	x := &xlsxWriter{f: f, out: w, stamp: o.Stamp, maxRows: excelize.TotalRows, part: 1}
	first := "Sheet1"
	if o.Sheet != "" {
		if err := f.SetSheetName(first, o.Sheet); err != nil {
			f.Close()
			return nil, err
		}
		first = o.Sheet
	}
	x.name = first
	var err error
	if x.sw, err = f.NewStreamWriter(first); err != nil {
		f.Close()
		return nil, err
	}
	return x, nil
}

func (x *xlsxWriter) Row(cells ...string) error {
	vals := make([]any, len(cells))
	for i, s := range cells {
		vals[i] = s
	}
	return x.Values(vals...)
}

func (x *xlsxWriter) Values(cells ...any) error {
	vals := make([]any, len(cells))
	for i, v := range cells {
		var err error
		if vals[i], err = cell(v); err != nil {
			return err
		}
	}
	if x.n == 0 && x.header == nil {
		x.header = vals
	}
	if x.n == x.maxRows && x.header != nil {
		x.part++
		if err := x.startSheet(fmt.Sprintf("%s (%d)", x.name, x.part)); err != nil {
			return err
		}
		if err := x.sw.SetRow("A1", x.header); err != nil {
			return err
		}
		x.n = 1
	}
	x.n++
	name, err := excelize.CoordinatesToCellName(1, x.n)
	if err != nil {
		return err
	}
	return x.sw.SetRow(name, vals)
}

func (x *xlsxWriter) Sheet(name string) error {
	if err := x.startSheet(name); err != nil {
		return err
	}
	x.name, x.header, x.part = name, nil, 1
	return nil
}

func (x *xlsxWriter) startSheet(name string) error {
	if err := x.sw.Flush(); err != nil {
		return err
	}
	if _, err := x.f.NewSheet(name); err != nil {
		return err
	}
	sw, err := x.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	x.sw, x.n = sw, 0
	return nil
}

func (x *xlsxWriter) Discard() { x.f.Close() }

func (x *xlsxWriter) Close() error {
	defer x.f.Close()
	if len(x.stamp) > 0 {
		if err := x.Sheet(StampSheet); err != nil {
			return err
		}
		for _, r := range x.stamp {
			if err := x.Row(r...); err != nil {
				return err
			}
		}
	}
	if err := x.sw.Flush(); err != nil {
		return err
	}
	// The first sheet stays the active one. (Setting it would load every
	// streamed sheet back into memory.) The zip goes straight onto the
	// output: excelize would build the whole file in a buffer first (a
	// county's 68 MB file took the process to 450 MB).
	x.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(x.out) })
	_, err := x.f.WriteTo(x.out)
	return err
}
