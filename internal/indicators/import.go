package indicators

// Import of reported data from a CSV or xlsx file: one row per division and
// year, one column per reported element — the shape of the reporting form,
// so that a county fills its townships' casework in one sheet. Every cell is
// checked with the rules of the form (level, bounds, consistency, locks);
// any problem names its row, column and reason, and then nothing is saved.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/tabular"
)

// ImportReport says what an import did or, on a dry run, would do.
type ImportReport struct {
	Rows    int                 `json:"rows"`     // data rows read
	Values  int                 `json:"values"`   // values that were (or would be) saved
	Changed int                 `json:"replaced"` // of them, stored values that were (or would be) overwritten with a different one
	Applied bool                `json:"applied"`
	Errors  divisions.RowErrors `json:"errors"`
}

// maxImportErrors stops a hopeless file early.
const maxImportErrors = 200

// headerKey reads a column name: "division_code"/"区划代码", "year"/"年份",
// "name"/"名称" (ignored), an element key, its Chinese name, or the
// template's "中文名 [key]". A Chinese name that two elements share reads
// as ambiguous.
func headerKey(rules map[string]Rule, h string) string {
	h = strings.TrimSpace(h)
	if i := strings.LastIndex(h, "["); i >= 0 && strings.HasSuffix(h, "]") {
		h = strings.TrimSpace(h[i+1 : len(h)-1])
	}
	switch strings.ToLower(h) {
	case "division_code", "区划代码", "code":
		return "division_code"
	case "year", "年份", "period":
		return "year"
	case "name", "名称", "区划名称":
		return "name"
	}
	if _, ok := rules[h]; ok {
		return h
	}
	found := ""
	for k, r := range rules {
		if r.NameZH == h {
			if found != "" {
				return ambiguous
			}
			found = k
		}
	}
	return found
}

// ambiguous marks a column name that more than one element has.
const ambiguous = "\x00ambiguous"

type importRow struct {
	line   int
	code   string
	year   int
	values map[string]float64
	cols   map[string]string // element → column header as written, for messages
	// previous holds the stored values a row overwrites: the audit keeps
	// them, so that a mistaken file can be put right.
	previous map[string]float64
}

// Import checks the file and, unless dryRun, saves every value as a draft
// in one transaction. A report with errors means nothing was saved. It
// goes in stages: parse the table and its header, check each row alone,
// then check the rows against what is stored and write them.
func (s *Store) Import(ctx context.Context, data []byte, dryRun bool) (ImportReport, error) {
	p, err := officer(ctx)
	if err != nil {
		return ImportReport{}, err
	}
	f, err := s.parseImport(ctx, data)
	if err != nil || len(f.rep.Errors) > 0 {
		return f.rep, err
	}
	sc := access.BusinessScope(p)
	rows := f.checkRows(s, sc)
	if len(f.rep.Errors) > 0 {
		return f.rep, nil
	}
	// Existence, locks and consistency with what is stored are checked in
	// the transaction that saves, all rows before any write; a dry run
	// rolls back.
	errDry := errors.New("dry run")
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkStored(ctx, tx, f, sc, rows); err != nil {
			return err
		}
		if len(f.rep.Errors) > 0 || dryRun {
			return errDry
		}
		return s.writeImport(ctx, tx, p.Username, rows)
	})
	if err != nil && !errors.Is(err, errDry) {
		return f.rep, err
	}
	if len(f.rep.Errors) > 0 {
		f.rep.Values = 0
	}
	f.rep.Applied = len(f.rep.Errors) == 0 && !dryRun
	return f.rep, nil
}

// importFile is a file being imported: its table, where its columns are,
// the rules of its elements and the report so far.
type importFile struct {
	t     *tabular.Table
	rules map[string]Rule
	col   map[string]int // division_code and year → 1-based column, 0 when absent
	elems []elemCol      // in the file's column order, so that a row's problems read left to right
	rep   ImportReport
}

// elemCol is the column of one reported element.
type elemCol struct {
	i   int
	key string
}

// bad adds a problem of a row (1 is the header) and column.
func (f *importFile) bad(row int, col, zh, en string) {
	f.rep.Errors = append(f.rep.Errors, divisions.RowError{Row: row, Column: col, ZH: zh, EN: en})
}

// heading is the header of a named column as the file writes it.
func (f *importFile) heading(name string) string { return f.t.Header[f.col[name]-1] }

// parseImport reads the table and its header. An unreadable file or a
// bad header is reported as problems of row 1.
func (s *Store) parseImport(ctx context.Context, data []byte) (*importFile, error) {
	f := &importFile{col: map[string]int{}}
	t, err := tabular.Read(data)
	if te, ok := errors.AsType[*tabular.Error](err); ok {
		f.bad(1, "-", te.ZH, te.EN)
		return f, nil
	} else if err != nil {
		return f, err
	}
	f.t = t
	if f.rules, err = s.rules(ctx); err != nil {
		return f, err
	}
	f.readHeader()
	return f, nil
}

// readHeader finds the columns: division code, year and the elements.
func (f *importFile) readHeader() {
	for i, h := range f.t.Header {
		k := headerKey(f.rules, h)
		switch {
		case k == "" && h == "":
			continue
		case k == "":
			f.bad(1, h, "未知的列（应为区划代码、年份、名称或填报数据项）", "unknown column (expected division_code, year, name or a reported element)")
		case k == ambiguous:
			f.bad(1, h, "多个数据项同名，请写数据项的键，如“名称 [key]”", "several elements have this name; write the element's key, e.g. \"name [key]\"")
		case f.col[k] != 0:
			f.bad(1, h, "列重复", "duplicate column")
		default:
			f.col[k] = i + 1
			if _, ok := f.rules[k]; ok {
				f.elems = append(f.elems, elemCol{i, k})
			}
		}
	}
	for _, k := range []string{"division_code", "year"} {
		if f.col[k] == 0 {
			f.bad(1, k, "缺少必需的列", "missing required column")
		}
	}
	if len(f.elems) == 0 && len(f.rep.Errors) == 0 {
		f.bad(1, "-", "没有填报数据项的列", "no column of a reported element")
	}
}

// checkRows checks each row on its own — code, jurisdiction, year, values
// and their rules, consistency within the row, repeats — and returns the
// rows without problems that carry values. It stops at maxImportErrors.
func (f *importFile) checkRows(s *Store, sc access.Scope) []importRow {
	seen := map[string]int{}
	var rows []importRow
	for i, rec := range f.t.Rows {
		line := i + 2
		if rec == nil {
			continue // a blank line: nothing to import, numbering kept
		}
		f.rep.Rows++
		n0 := len(f.rep.Errors)
		row := f.checkRow(s, sc, line, rec)
		key := row.code + "/" + strconv.Itoa(row.year)
		if first, dup := seen[key]; dup && len(f.rep.Errors) == n0 {
			f.bad(line, f.heading("division_code"), fmt.Sprintf("与第 %d 行重复（同一区划、同一年份）", first), fmt.Sprintf("repeats row %d (same division and year)", first))
		}
		seen[key] = line
		if len(f.rep.Errors) == n0 && len(row.values) > 0 {
			rows = append(rows, row)
		}
		if len(f.rep.Errors) >= maxImportErrors {
			f.bad(line, "-", "错误过多，已停止检查", "too many errors; checking stopped")
			return nil
		}
	}
	if len(f.rep.Errors) == 0 && len(rows) == 0 {
		f.bad(2, "-", "文件没有可导入的数值", "the file has no values to import")
	}
	return rows
}

// checkRow reads one row, reporting what is wrong with it alone.
func (f *importFile) checkRow(s *Store, sc access.Scope, line int, rec []string) importRow {
	codeCol, yearCol := f.heading("division_code"), f.heading("year")
	row := importRow{line: line, code: strings.TrimSpace(rec[f.col["division_code"]-1]), values: map[string]float64{}, cols: map[string]string{}}
	switch {
	case !divisions.ValidCode(row.code):
		f.bad(line, codeCol, "区划代码格式不正确："+row.code, "malformed division code: "+row.code)
	case !sc.Contains(row.code):
		f.bad(line, codeCol, "区划 "+row.code+" 不在您的管辖范围内", "division "+row.code+" is outside your jurisdiction")
	}
	ys := strings.TrimSpace(rec[f.col["year"]-1])
	if y, err := strconv.Atoi(ys); err != nil {
		f.bad(line, yearCol, "年份须为整数："+ys, "the year must be a whole number: "+ys)
	} else if err := checkPeriod(y); err != nil {
		f.bad(line, yearCol, err.Msg.ZH, err.Msg.EN)
	} else {
		row.year = y
	}
	for _, ec := range f.elems {
		cell := strings.ReplaceAll(strings.TrimSpace(rec[ec.i]), ",", "")
		if cell == "" {
			continue // not reported in this file
		}
		v, err := strconv.ParseFloat(cell, 64)
		if err != nil {
			f.bad(line, f.t.Header[ec.i], "须为数字："+cell, "must be a number: "+cell)
			continue
		}
		if divisions.ValidCode(row.code) {
			if err := checkValue(f.rules, row.code, ec.key, v); err != nil {
				f.bad(line, f.t.Header[ec.i], err.Msg.ZH, err.Msg.EN)
				continue
			}
		}
		row.values[ec.key], row.cols[ec.key] = v, f.t.Header[ec.i]
	}
	for _, pr := range notAbove {
		a, okA := row.values[pr[0]]
		b, okB := row.values[pr[1]]
		if okA && okB && a > b {
			zh, en := s.notAboveMsg(pr, a, b)
			f.bad(line, row.cols[pr[0]], zh, en)
		}
	}
	return row
}

// checkStored checks the rows against the store: the division exists, its
// year is not locked, and the values hold together with those stored. It
// counts the values and the stored ones they overwrite, kept for the audit.
func (s *Store) checkStored(ctx context.Context, tx *sql.Tx, f *importFile, sc access.Scope, rows []importRow) error {
	codeCol := f.heading("division_code")
	// One read of the jurisdiction's divisions and of what it has stored
	// for the file's years, however long the file.
	known, err := codesIn(ctx, tx, sc)
	if err != nil {
		return err
	}
	stored, err := storedIn(ctx, tx, sc, rows)
	if err != nil {
		return err
	}
	approved := map[int]map[string]bool{}
	for _, r := range rows {
		if approved[r.year] == nil {
			if approved[r.year], err = approvedIn(ctx, tx, r.year, ""); err != nil {
				return err
			}
		}
	}
	for i := range rows {
		row := &rows[i]
		if !known[row.code] {
			f.bad(row.line, codeCol, "区划 "+row.code+" 不存在", "division "+row.code+" does not exist")
			continue
		}
		if lockedBy(approved[row.year], row.code) {
			f.bad(row.line, codeCol, fmt.Sprintf("%s %d 年的数据（或其上级的数据）已审核锁定，须上级解锁后才能修改", row.code, row.year),
				fmt.Sprintf("the values of %s (or of a level above it) for %d are approved and locked; the level above must unlock them", row.code, row.year))
			continue
		}
		merged := maps.Clone(stored[yearKey{row.code, row.year}])
		if merged == nil {
			merged = map[string]float64{}
		}
		row.previous = map[string]float64{}
		for k, v := range row.values {
			if old, ok := merged[k]; ok && old != v {
				row.previous[k] = old
				f.rep.Changed++
			}
			merged[k] = v
		}
		for _, pr := range notAbove {
			a, okA := merged[pr[0]]
			b, okB := merged[pr[1]]
			if okA && okB && a > b {
				c := row.cols[pr[0]]
				if c == "" {
					c = row.cols[pr[1]]
				}
				zh, en := s.notAboveMsg(pr, a, b)
				f.bad(row.line, c, zh, en)
			}
		}
		f.rep.Values += len(row.values)
	}
	return nil
}

// writeImport saves the checked rows as drafts and audits each row with
// the values it overwrote.
func (s *Store) writeImport(ctx context.Context, tx *sql.Tx, user string, rows []importRow) error {
	if err := s.writeRows(ctx, tx, user, rows); err != nil {
		return err
	}
	items := make([]audit.Item, 0, len(rows))
	for _, row := range rows {
		items = append(items, audit.Item{Ctx: ctx, Entry: audit.Entry{Action: "indicator.report.import", Object: "division", ObjectID: row.code, Division: row.code,
			Detail: audit.Detail(map[string]any{"year": row.year, "values": row.values, "previous": row.previous, "row": row.line})}})
	}
	return s.Audit.RecordAllTx(ctx, tx, items)
}

func (s *Store) notAboveMsg(pr [2]string, a, b float64) (string, string) {
	ea, eb := s.Elements[pr[0]], s.Elements[pr[1]]
	return fmt.Sprintf("%s（%g）不能大于 %s（%g）", ea.NameZH, a, eb.NameZH, b),
		fmt.Sprintf("%s (%g) must not exceed %s (%g)", ea.NameEN, a, eb.NameEN, b)
}

type yearKey struct {
	code string
	year int
}

// codesIn is the set of division codes in a jurisdiction.
func codesIn(ctx context.Context, tx *sql.Tx, sc access.Scope) (map[string]bool, error) {
	return db.StringSet(ctx, tx, `SELECT code FROM divisions_tree WHERE code >= $1 AND code < $2`, sc.Lo, sc.Hi)
}

// storedIn reads the jurisdiction's reported values of the rows' years.
func storedIn(ctx context.Context, tx *sql.Tx, sc access.Scope, rows []importRow) (map[yearKey]map[string]float64, error) {
	years := map[int]bool{}
	for _, r := range rows {
		years[r.year] = true
	}
	out := map[yearKey]map[string]float64{}
	for y := range years {
		rs, err := tx.QueryContext(ctx, `SELECT division_code, element, value FROM ind_reported WHERE division_code >= $1 AND division_code < $2 AND year = $3`, sc.Lo, sc.Hi, y)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			var c, k string
			var v float64
			if err := rs.Scan(&c, &k, &v); err != nil {
				rs.Close()
				return nil, err
			}
			yk := yearKey{c, y}
			if out[yk] == nil {
				out[yk] = map[string]float64{}
			}
			out[yk][k] = v
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writeRows upserts checked rows as drafts, 500 values a statement.
func (s *Store) writeRows(ctx context.Context, tx *sql.Tx, user string, rows []importRow) error {
	now := db.T(s.Now())
	var sb strings.Builder
	args := make([]any, 0, 500*6)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		want := int64(len(args) / 6)
		// The guard on status keeps an approval that commits meanwhile.
		res, err := tx.ExecContext(ctx, `INSERT INTO ind_reported (division_code, year, element, value, entered_by, entered_at, status, approved_by) VALUES `+sb.String()+`
			ON CONFLICT (division_code, year, element) DO UPDATE SET value = excluded.value, status = 'draft', entered_by = excluded.entered_by, entered_at = excluded.entered_at
			WHERE ind_reported.status <> 'approved'`, args...)
		sb.Reset()
		args = args[:0]
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n != want {
			return locked()
		}
		return nil
	}
	for _, r := range rows {
		for k, v := range r.values {
			if len(args) > 0 {
				sb.WriteByte(',')
			}
			// status and approved_by are constants of a draft.
			sb.WriteString(strings.TrimSuffix(s.DB.Values(len(args), 6), ")") + ",'draft','')")
			args = append(args, r.code, r.year, k, v, user, now)
			if len(args) >= 500*6 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// templateRows lists the divisions of a subtree that report something,
// with their stored values for the year, for a template to fill in.
func (s *Store) templateRows(ctx context.Context, code string, year int) ([]string, [][]string, error) {
	if !access.ScopeOf(ctx).Contains(code) {
		return nil, nil, divisionNotFound(code)
	}
	rules, err := s.rules(ctx)
	if err != nil {
		return nil, nil, err
	}
	var keys []string
	levels := map[int]bool{}
	for k, r := range rules {
		// Elements reported in the subtree: at or below its level, and an
		// own element only where its division and the subtree overlap.
		if r.Level >= divisions.LevelOf(code) && (strings.HasPrefix(code, r.Owner) || strings.HasPrefix(r.Owner, code)) {
			keys = append(keys, k)
			levels[r.Level] = true
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if a, b := rules[keys[i]], rules[keys[j]]; a.Level != b.Level {
			return a.Level < b.Level
		}
		return keys[i] < keys[j]
	})
	header := []string{"区划代码 [division_code]", "名称 [name]", "年份 [year]"}
	for _, k := range keys {
		header = append(header, rules[k].NameZH+" ["+k+"]")
	}
	if len(keys) == 0 {
		return header, nil, nil // nothing is reported in this subtree
	}
	sub := access.Subtree(code)
	stored := map[string]map[string]float64{}
	rs, err := s.DB.R.QueryContext(ctx, `SELECT division_code, element, value FROM ind_reported WHERE division_code >= $1 AND division_code < $2 AND year = $3`, sub.Lo, sub.Hi, year)
	if err != nil {
		return nil, nil, err
	}
	for rs.Next() {
		var c, k string
		var v float64
		if err := rs.Scan(&c, &k, &v); err != nil {
			rs.Close()
			return nil, nil, err
		}
		if stored[c] == nil {
			stored[c] = map[string]float64{}
		}
		stored[c][k] = v
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, nil, err
	}
	var lv []any
	var ph []string
	for l := range levels {
		lv = append(lv, l)
		ph = append(ph, fmt.Sprintf("$%d", len(lv)+2))
	}
	args := append([]any{sub.Lo, sub.Hi}, lv...)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT code, name, level FROM divisions_tree WHERE code >= $1 AND code < $2 AND level IN (`+strings.Join(ph, ",")+`) ORDER BY code`, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		var c, n string
		var l int
		if err := rows.Scan(&c, &n, &l); err != nil {
			return nil, nil, err
		}
		rec := []string{c, n, strconv.Itoa(year)}
		for _, k := range keys {
			cell := ""
			if v, ok := stored[c][k]; ok {
				cell = strconv.FormatFloat(v, 'f', -1, 64)
			}
			if r := rules[k]; r.Level != l || !strings.HasPrefix(c, r.Owner) {
				cell = "" // reported at another level or elsewhere: leave blank
			}
			rec = append(rec, cell)
		}
		out = append(out, rec)
	}
	return header, out, rows.Err()
}
