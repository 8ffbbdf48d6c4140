package divisions

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// Kind is an entry of the attribute or designation catalogue.
type Kind struct {
	Key      string `json:"key"`
	NameZH   string `json:"name_zh"`
	NameEN   string `json:"name_en"`
	Unit     string `json:"unit,omitempty"`
	Additive bool   `json:"additive,omitempty"`
	Level    int    `json:"level,omitempty"`
}

// AttributeKinds lists the attribute catalogue.
func (s *Store) AttributeKinds(ctx context.Context) ([]Kind, error) {
	return s.kinds(ctx, `SELECT key, name_zh, name_en, unit, additive, 0 FROM attribute_kinds ORDER BY sort, key`)
}

// DesignationKinds lists the designation catalogue.
func (s *Store) DesignationKinds(ctx context.Context) ([]Kind, error) {
	return s.kinds(ctx, `SELECT key, name_zh, name_en, '', FALSE, level FROM designation_kinds ORDER BY sort, key`)
}

func (s *Store) kinds(ctx context.Context, query string) ([]Kind, error) {
	rows, err := s.DB.R.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Kind
	for rows.Next() {
		var k Kind
		if err := rows.Scan(&k.Key, &k.NameZH, &k.NameEN, &k.Unit, &k.Additive, &k.Level); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// Attribute is one value of a unit for a year.
type Attribute struct {
	Kind      string    `json:"kind"`
	Year      int       `json:"year"`
	Value     float64   `json:"value"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Designation is a title a unit holds since a year.
type Designation struct {
	Kind      string    `json:"kind"`
	Year      int       `json:"year"`
	Note      string    `json:"note"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Change is one entry of a unit's change history.
type Change struct {
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	What     string    `json:"what"`
	OldValue string    `json:"old_value"`
	NewValue string    `json:"new_value"`
}

// unitNotFound is the answer for a unit that does not exist or lies outside
// the caller's scope: the two read the same.
func unitNotFound(code string) *fault.Error {
	return fault.NotFound(fault.M("区划 "+code+" 不存在或不在您的管辖范围内", "division "+code+" not found or outside your jurisdiction"))
}

// officersOnly is the refusal for a caller who sees the unit but whose
// role may not change it.
func officersOnly() *fault.Error {
	return fault.Forbidden(fault.M("只有上级民政干部可以修改单元数据", "only officers of an enclosing division may change unit data"))
}

// invalid is a refusal of one field's value.
func invalid(field string, m fault.Msg) *fault.Error {
	return fault.Invalid(m, fault.Field(field, m))
}

// readable checks, inside SQL, that code exists and lies in the caller's
// business scope; otherwise the unit is "not found".
func (s *Store) readable(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, code string) error {
	sc := access.ScopeOf(ctx)
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM divisions WHERE code = $1 AND code >= $2 AND code < $3`, code, sc.Lo, sc.Hi).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return unitNotFound(code)
	}
	return err
}

// writable: readable, and the caller is an officer (officers of an
// enclosing division maintain unit data).
func (s *Store) writable(ctx context.Context, tx *sql.Tx, code string) error {
	if err := s.readable(ctx, tx, code); err != nil {
		return err
	}
	if p := access.From(ctx); p == nil || p.Role != access.Officer {
		return officersOnly()
	}
	return nil
}

// Attributes returns a unit's attributes for a year (all years when 0).
func (s *Store) Attributes(ctx context.Context, code string, year int) ([]Attribute, error) {
	if err := s.readable(ctx, s.DB.R, code); err != nil {
		return nil, err
	}
	sc := access.ScopeOf(ctx)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT a.kind, a.year, a.value, a.updated_by, a.updated_at
		FROM unit_attributes a JOIN attribute_kinds k ON k.key = a.kind
		WHERE a.division_code = $1 AND a.division_code >= $2 AND a.division_code < $3 AND ($4 = 0 OR a.year = $4)
		ORDER BY a.year DESC, k.sort`, code, sc.Lo, sc.Hi, year)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Attribute{}
	for rows.Next() {
		var a Attribute
		var at db.Time
		if err := rows.Scan(&a.Kind, &a.Year, &a.Value, &a.UpdatedBy, &at); err != nil {
			return nil, err
		}
		a.UpdatedAt = at.Time
		out = append(out, a)
	}
	return out, rows.Err()
}

func checkYear(y int) error {
	if y < 1949 || y > 2100 {
		return invalid("year", fault.M("年份须在 1949 至 2100 之间", "year must be from 1949 to 2100"))
	}
	return nil
}

func checkValue(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e15 {
		return invalid(field, fault.M("数值须为 0 至 10^15 之间的有限数", "value must be a finite number from 0 to 10^15"))
	}
	return nil
}

// SetAttributes writes some attributes of a unit for one year, recording the
// old and new value of each and an audit entry, all in one transaction.
func (s *Store) SetAttributes(ctx context.Context, log *audit.Log, code string, year int, values map[string]float64) error {
	if err := checkYear(year); err != nil {
		return err
	}
	kinds, err := s.kindSet(ctx, "attribute_kinds")
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(values))
	for k, v := range values {
		if !kinds[k] {
			return invalid(k, fault.M("未知的属性："+k, "unknown attribute: "+k))
		}
		if err := checkValue(k, v); err != nil {
			return err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return invalid("values", fault.M("没有要保存的数值", "no values to save"))
	}
	sort.Strings(keys)
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.writable(ctx, tx, code); err != nil {
			return err
		}
		for _, k := range keys {
			if err := s.setAttributeTx(ctx, tx, code, year, k, values[k]); err != nil {
				return err
			}
		}
		return log.RecordTx(ctx, tx, audit.Entry{Action: "unit.attributes.set", Object: "division", ObjectID: code, Division: code,
			Detail: audit.Detail(map[string]any{"year": year, "values": values})})
	})
}

func (s *Store) setAttributeTx(ctx context.Context, tx *sql.Tx, code string, year int, kind string, v float64) error {
	p := access.From(ctx)
	now := db.T(s.Now())
	var old float64
	oldText := ""
	err := tx.QueryRowContext(ctx, `SELECT value FROM unit_attributes WHERE division_code = $1 AND year = $2 AND kind = $3`, code, year, kind).Scan(&old)
	switch {
	case err == nil:
		if old == v {
			return nil
		}
		oldText = fmtNum(old)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO unit_attributes (division_code, year, kind, value, updated_by, updated_at) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (division_code, year, kind) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		code, year, kind, v, p.Username, now); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO unit_changes (id, division_code, at, actor, what, old_value, new_value) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		db.NewID(), code, now, p.Username, fmt.Sprintf("attribute:%s:%d", kind, year), oldText, fmtNum(v))
	return err
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func (s *Store) kindSet(ctx context.Context, table string) (map[string]bool, error) {
	return db.StringSet(ctx, s.DB.R, `SELECT key FROM `+table)
}

// Designations lists the titles a unit holds.
func (s *Store) Designations(ctx context.Context, code string) ([]Designation, error) {
	if err := s.readable(ctx, s.DB.R, code); err != nil {
		return nil, err
	}
	sc := access.ScopeOf(ctx)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT d.kind, d.year, d.note, d.updated_by, d.updated_at FROM unit_designations d
		JOIN designation_kinds k ON k.key = d.kind
		WHERE d.division_code = $1 AND d.division_code >= $2 AND d.division_code < $3 AND d.withdrawn_year IS NULL ORDER BY k.sort`, code, sc.Lo, sc.Hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Designation{}
	for rows.Next() {
		var d Designation
		var at db.Time
		if err := rows.Scan(&d.Kind, &d.Year, &d.Note, &d.UpdatedBy, &at); err != nil {
			return nil, err
		}
		d.UpdatedAt = at.Time
		out = append(out, d)
	}
	return out, rows.Err()
}

// SetDesignation awards (or re-dates) a designation.
func (s *Store) SetDesignation(ctx context.Context, log *audit.Log, code, kind string, year int, note string) error {
	if err := checkYear(year); err != nil {
		return err
	}
	if len(note) > 500 {
		return invalid("note", fault.M("备注不能超过 500 字节", "note must be at most 500 bytes"))
	}
	kinds, err := s.kindSet(ctx, "designation_kinds")
	if err != nil {
		return err
	}
	if !kinds[kind] {
		return invalid("kind", fault.M("未知的称号："+kind, "unknown designation: "+kind))
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.writable(ctx, tx, code); err != nil {
			return err
		}
		if err := s.setDesignationTx(ctx, tx, code, kind, year, note); err != nil {
			return err
		}
		return log.RecordTx(ctx, tx, audit.Entry{Action: "unit.designation.set", Object: "division", ObjectID: code, Division: code,
			Detail: audit.Detail(map[string]any{"kind": kind, "year": year})})
	})
}

func (s *Store) setDesignationTx(ctx context.Context, tx *sql.Tx, code, kind string, year int, note string) error {
	p := access.From(ctx)
	now := db.T(s.Now())
	var oldYear int
	old := ""
	err := tx.QueryRowContext(ctx, `SELECT year FROM unit_designations WHERE division_code = $1 AND kind = $2 AND withdrawn_year IS NULL`, code, kind).Scan(&oldYear)
	if err == nil {
		old = strconv.Itoa(oldYear)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO unit_designations (division_code, kind, year, note, updated_by, updated_at) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (division_code, kind) DO UPDATE SET year = excluded.year, note = excluded.note, updated_by = excluded.updated_by, updated_at = excluded.updated_at,
		withdrawn_year = NULL`,
		code, kind, year, note, p.Username, now); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO unit_changes (id, division_code, at, actor, what, old_value, new_value) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		db.NewID(), code, now, p.Username, "designation:"+kind, old, strconv.Itoa(year))
	return err
}

// RemoveDesignation withdraws a designation as of this year; the row stays
// with the year of withdrawal, so that earlier years still count it, and
// the change history keeps it.
func (s *Store) RemoveDesignation(ctx context.Context, log *audit.Log, code, kind string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.writable(ctx, tx, code); err != nil {
			return err
		}
		var year int
		err := tx.QueryRowContext(ctx, `SELECT year FROM unit_designations WHERE division_code = $1 AND kind = $2 AND withdrawn_year IS NULL`, code, kind).Scan(&year)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.NotFound(fault.M("区划 "+code+" 没有称号 "+kind, "division "+code+" holds no designation "+kind))
		} else if err != nil {
			return err
		}
		now := s.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE unit_designations SET withdrawn_year = $1, updated_at = $2 WHERE division_code = $3 AND kind = $4`,
			now.Year(), db.T(now), code, kind); err != nil {
			return err
		}
		p := access.From(ctx)
		if _, err := tx.ExecContext(ctx, `INSERT INTO unit_changes (id, division_code, at, actor, what, old_value, new_value) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
			db.NewID(), code, db.T(now), p.Username, "designation:"+kind, strconv.Itoa(year), ""); err != nil {
			return err
		}
		return log.RecordTx(ctx, tx, audit.Entry{Action: "unit.designation.remove", Object: "division", ObjectID: code, Division: code,
			Detail: audit.Detail(map[string]any{"kind": kind})})
	})
}

// Changes lists a unit's change history, newest first.
func (s *Store) Changes(ctx context.Context, code string, offset, limit int) ([]Change, int, error) {
	if err := s.readable(ctx, s.DB.R, code); err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM unit_changes WHERE division_code = $1`, code).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT at, actor, what, old_value, new_value FROM unit_changes WHERE division_code = $1 ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3`, code, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []Change{}
	for rows.Next() {
		var c Change
		var at db.Time
		if err := rows.Scan(&at, &c.Actor, &c.What, &c.OldValue, &c.NewValue); err != nil {
			return nil, 0, err
		}
		c.At = at.Time
		out = append(out, c)
	}
	return out, total, rows.Err()
}

// ImportReport says what an import did or would do.
type ImportReport struct {
	Rows    int       `json:"rows"`
	Applied bool      `json:"applied"`
	Errors  RowErrors `json:"errors"`
}

// Column names accepted in unit-data CSV files, English or Chinese.
var importHeaders = map[string]string{
	"division_code": "division_code", "区划代码": "division_code",
	"year": "year", "年份": "year",
	"attribute": "attribute", "属性": "attribute", "指标": "attribute",
	"value": "value", "数值": "value",
	"designation": "designation", "称号": "designation",
	"note": "note", "备注": "note",
}

type importRow struct {
	line              int
	code, kind, note  string
	year              int
	value             float64
	designation, attr bool
}

// ImportCSV reads unit attributes ("division_code,year,attribute,value") or
// designations ("division_code,designation,year[,note]") and applies them all
// in one transaction — or, when dryRun is set or any row is bad, none. The
// report names every bad row, column and reason.
func (s *Store) ImportCSV(ctx context.Context, log *audit.Log, r io.Reader, dryRun bool) (ImportReport, error) {
	var rep ImportReport
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		rep.Errors = RowErrors{{Row: 1, Column: "-", ZH: "无法读取表头", EN: "cannot read the header"}}
		return rep, nil
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		name, ok := importHeaders[strings.ToLower(h)]
		if !ok {
			rep.Errors = append(rep.Errors, RowError{Row: 1, Column: h, ZH: "未知的列", EN: "unknown column"})
			continue
		}
		col[name] = i
	}
	_, isAttr := col["attribute"]
	_, isDesig := col["designation"]
	need := []string{"division_code", "year"}
	switch {
	case isAttr && isDesig:
		rep.Errors = append(rep.Errors, RowError{Row: 1, Column: "designation", ZH: "属性与称号须分开导入", EN: "import attributes and designations separately"})
	case isAttr:
		need = append(need, "attribute", "value")
	case isDesig:
		need = append(need, "designation")
	default:
		rep.Errors = append(rep.Errors, RowError{Row: 1, Column: "attribute", ZH: "缺少 attribute(属性) 或 designation(称号) 列", EN: "missing column attribute or designation"})
	}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			rep.Errors = append(rep.Errors, RowError{Row: 1, Column: n, ZH: "缺少必需的列", EN: "missing required column"})
		}
	}
	if len(rep.Errors) > 0 {
		return rep, nil
	}
	attrKinds, err := s.kindSet(ctx, "attribute_kinds")
	if err != nil {
		return rep, err
	}
	desigKinds, err := s.kindSet(ctx, "designation_kinds")
	if err != nil {
		return rep, err
	}
	sc := access.ScopeOf(ctx)
	p := access.From(ctx)
	var rows []importRow
	line := 1
	for {
		rec, err := cr.Read()
		line++
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rep.Errors = append(rep.Errors, RowError{Row: line, Column: "-", ZH: "CSV 格式错误", EN: "malformed CSV"})
			break
		}
		get := func(n string) string {
			if i, ok := col[n]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		bad := func(c, zh, en string) {
			rep.Errors = append(rep.Errors, RowError{Row: line, Column: c, ZH: zh, EN: en})
		}
		row := importRow{line: line, code: get("division_code"), attr: isAttr, designation: isDesig, note: get("note")}
		n0 := len(rep.Errors)
		if !ValidCode(row.code) {
			bad("division_code", "区划代码格式不正确", "malformed division code")
		} else if !sc.Contains(row.code) {
			bad("division_code", "区划不存在或不在您的管辖范围内", "division does not exist or is outside your jurisdiction")
		}
		if y, err := strconv.Atoi(get("year")); err != nil || checkYear(y) != nil {
			bad("year", "年份须为 1949 至 2100 的整数", "year must be a whole number from 1949 to 2100")
		} else {
			row.year = y
		}
		if isAttr {
			row.kind = get("attribute")
			if !attrKinds[row.kind] {
				bad("attribute", "未知的属性", "unknown attribute")
			}
			v, err := strconv.ParseFloat(get("value"), 64)
			if err != nil || checkValue("value", v) != nil {
				bad("value", "数值须为 0 至 10^15 之间的有限数", "value must be a finite number from 0 to 10^15")
			}
			row.value = v
		} else {
			row.kind = get("designation")
			if !desigKinds[row.kind] {
				bad("designation", "未知的称号", "unknown designation")
			}
			if len(row.note) > 500 {
				bad("note", "备注不能超过 500 字节", "note must be at most 500 bytes")
			}
			if why, ok := fault.TextProblem(row.note); !ok {
				bad("note", "备注"+why.ZH, "the note "+why.EN)
			}
		}
		if len(rep.Errors) == n0 {
			rows = append(rows, row)
		}
		if len(rep.Errors) >= 200 {
			break
		}
	}
	rep.Rows = line - 2
	if len(rep.Errors) == 0 && rep.Rows == 0 {
		rep.Errors = RowErrors{{Row: 2, Column: "-", ZH: "文件没有数据行", EN: "file has no data rows"}}
	}
	if len(rep.Errors) > 0 {
		return rep, nil
	}
	// Existence (and scope again, inside SQL) of every code, in one pass.
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, row := range rows {
			if err := s.readable(ctx, tx, row.code); fault.Is(err, fault.CodeNotFound) {
				rep.Errors = append(rep.Errors, RowError{Row: row.line, Column: "division_code", ZH: "区划不存在或不在您的管辖范围内", EN: "division does not exist or is outside your jurisdiction"})
			} else if err != nil {
				return err
			}
		}
		if len(rep.Errors) > 0 || dryRun {
			return errRollback
		}
		if p == nil || p.Role != access.Officer {
			return fault.Forbidden(fault.M("只有民政干部可以导入单元数据", "only officers may import unit data"))
		}
		for _, row := range rows {
			var err error
			if row.attr {
				err = s.setAttributeTx(ctx, tx, row.code, row.year, row.kind, row.value)
			} else {
				err = s.setDesignationTx(ctx, tx, row.code, row.kind, row.year, row.note)
			}
			if err != nil {
				return err
			}
		}
		return log.RecordTx(ctx, tx, audit.Entry{Action: "unit.import", Object: "division", Division: p.Division,
			Detail: audit.Detail(map[string]any{"rows": len(rows), "attributes": isAttr})})
	})
	if errors.Is(err, errRollback) {
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	rep.Applied = true
	return rep, nil
}

var errRollback = errors.New("rollback")
