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
// in one transaction. A report with errors means nothing was saved.
func (s *Store) Import(ctx context.Context, data []byte, dryRun bool) (ImportReport, error) {
	var rep ImportReport
	p, err := officer(ctx)
	if err != nil {
		return rep, err
	}
	t, err := tabular.Read(data)
	if err != nil {
		var te *tabular.Error
		if errors.As(err, &te) {
			rep.Errors = divisions.RowErrors{{Row: 1, Column: "-", ZH: te.ZH, EN: te.EN}}
			return rep, nil
		}
		return rep, err
	}
	bad := func(row int, col, zh, en string) {
		rep.Errors = append(rep.Errors, divisions.RowError{Row: row, Column: col, ZH: zh, EN: en})
	}
	rules, err := s.rules(ctx)
	if err != nil {
		return rep, err
	}
	col := map[string]int{}
	type elemCol struct {
		i   int
		key string
	}
	var elems []elemCol // in the file's column order, so that a row's problems read left to right
	for i, h := range t.Header {
		k := headerKey(rules, h)
		switch {
		case k == "" && h == "":
			continue
		case k == "":
			bad(1, h, "未知的列（应为区划代码、年份、名称或填报数据项）", "unknown column (expected division_code, year, name or a reported element)")
		case k == ambiguous:
			bad(1, h, "多个数据项同名，请写数据项的键，如“名称 [key]”", "several elements have this name; write the element's key, e.g. \"name [key]\"")
		case col[k] != 0:
			bad(1, h, "列重复", "duplicate column")
		default:
			col[k] = i + 1 // 1-based, 0 is absent
			if _, ok := rules[k]; ok {
				elems = append(elems, elemCol{i, k})
			}
		}
	}
	for _, k := range []string{"division_code", "year"} {
		if col[k] == 0 {
			bad(1, k, "缺少必需的列", "missing required column")
		}
	}
	if len(elems) == 0 && len(rep.Errors) == 0 {
		bad(1, "-", "没有填报数据项的列", "no column of a reported element")
	}
	if len(rep.Errors) > 0 {
		return rep, nil
	}
	sc := access.BusinessScope(p)
	seen := map[string]int{}
	var rows []importRow
	for i, rec := range t.Rows {
		line := i + 2
		if rec == nil {
			continue // a blank line: nothing to import, numbering kept
		}
		rep.Rows++
		n0 := len(rep.Errors)
		row := importRow{line: line, code: strings.TrimSpace(rec[col["division_code"]-1]), values: map[string]float64{}, cols: map[string]string{}}
		switch {
		case !divisions.ValidCode(row.code):
			bad(line, t.Header[col["division_code"]-1], "区划代码格式不正确："+row.code, "malformed division code: "+row.code)
		case !sc.Contains(row.code):
			bad(line, t.Header[col["division_code"]-1], "区划 "+row.code+" 不在您的管辖范围内", "division "+row.code+" is outside your jurisdiction")
		}
		ys := strings.TrimSpace(rec[col["year"]-1])
		if y, err := strconv.Atoi(ys); err != nil {
			bad(line, t.Header[col["year"]-1], "年份须为整数："+ys, "the year must be a whole number: "+ys)
		} else if err := checkPeriod(y); err != nil {
			bad(line, t.Header[col["year"]-1], err.Msg.ZH, err.Msg.EN)
		} else {
			row.year = y
		}
		for _, ec := range elems {
			ci, k := ec.i, ec.key
			cell := strings.ReplaceAll(strings.TrimSpace(rec[ci]), ",", "")
			if cell == "" {
				continue // not reported in this file
			}
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				bad(line, t.Header[ci], "须为数字："+cell, "must be a number: "+cell)
				continue
			}
			if divisions.ValidCode(row.code) {
				if err := checkValue(rules, row.code, k, v); err != nil {
					bad(line, t.Header[ci], err.Msg.ZH, err.Msg.EN)
					continue
				}
			}
			row.values[k], row.cols[k] = v, t.Header[ci]
		}
		for _, pr := range notAbove {
			a, okA := row.values[pr[0]]
			b, okB := row.values[pr[1]]
			if okA && okB && a > b {
				zh, en := s.notAboveMsg(pr, a, b)
				bad(line, row.cols[pr[0]], zh, en)
			}
		}
		key := row.code + "/" + strconv.Itoa(row.year)
		if first, dup := seen[key]; dup && len(rep.Errors) == n0 {
			bad(line, t.Header[col["division_code"]-1], fmt.Sprintf("与第 %d 行重复（同一区划、同一年份）", first), fmt.Sprintf("repeats row %d (same division and year)", first))
		}
		seen[key] = line
		if len(rep.Errors) == n0 && len(row.values) > 0 {
			rows = append(rows, row)
		}
		if len(rep.Errors) >= maxImportErrors {
			bad(line, "-", "错误过多，已停止检查", "too many errors; checking stopped")
			return rep, nil
		}
	}
	if len(rep.Errors) == 0 && len(rows) == 0 {
		bad(2, "-", "文件没有可导入的数值", "the file has no values to import")
	}
	if len(rep.Errors) > 0 {
		return rep, nil
	}
	// Existence, locks and consistency with what is stored are checked in
	// the transaction that saves, all rows before any write; a dry run
	// rolls back.
	errDry := errors.New("dry run")
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		codeCol := t.Header[col["division_code"]-1]
		// One read of the jurisdiction's divisions and of what it has
		// stored for the file's years, however long the file.
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
				bad(row.line, codeCol, "区划 "+row.code+" 不存在", "division "+row.code+" does not exist")
				continue
			}
			if lockedBy(approved[row.year], row.code) {
				bad(row.line, codeCol, fmt.Sprintf("%s %d 年的数据（或其上级的数据）已审核锁定，须上级解锁后才能修改", row.code, row.year),
					fmt.Sprintf("the values of %s (or of a level above it) for %d are approved and locked; the level above must unlock them", row.code, row.year))
				continue
			}
			merged := map[string]float64{}
			for k, v := range stored[yearKey{row.code, row.year}] {
				merged[k] = v
			}
			row.previous = map[string]float64{}
			for k, v := range row.values {
				if old, ok := merged[k]; ok && old != v {
					row.previous[k] = old
					rep.Changed++
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
					bad(row.line, c, zh, en)
				}
			}
			rep.Values += len(row.values)
		}
		if len(rep.Errors) > 0 || dryRun {
			return errDry
		}
		if err := s.writeRows(ctx, tx, p.Username, rows); err != nil {
			return err
		}
		items := make([]audit.Item, 0, len(rows))
		for _, row := range rows {
			items = append(items, audit.Item{Ctx: ctx, Entry: audit.Entry{Action: "indicator.report.import", Object: "division", ObjectID: row.code, Division: row.code,
				Detail: audit.Detail(map[string]any{"year": row.year, "values": row.values, "previous": row.previous, "row": row.line})}})
		}
		return s.Audit.RecordAllTx(ctx, tx, items)
	})
	if err != nil && !errors.Is(err, errDry) {
		return rep, err
	}
	if len(rep.Errors) > 0 {
		rep.Values = 0
	}
	rep.Applied = len(rep.Errors) == 0 && !dryRun
	return rep, nil
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
