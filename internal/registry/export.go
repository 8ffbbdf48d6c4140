package registry

import (
	"context"
	"database/sql"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/registry/idno"
	"linli/internal/tabular"
)

// Template writes the import template of kind: the Chinese headers and one example row.
func Template(w io.Writer, kind, format string) error {
	k, ok := KindByKey(kind)
	if !ok {
		return fault.NotFound(fault.M("不支持的导入类型："+kind, "unknown import kind: "+kind))
	}
	tw, err := tabular.NewWriter(w, format)
	if err != nil {
		return errFormat
	}
	var hs []string
	for _, c := range k.Columns {
		h := c.Header
		if c.Required {
			h += "*"
		}
		hs = append(hs, h)
	}
	if err := tw.Row(hs...); err != nil {
		tw.Discard()
		return err
	}
	if err := tw.Row(k.Example...); err != nil {
		tw.Discard()
		return err
	}
	return tw.Close()
}

var errFormat = fault.Invalid(fault.M("格式须为 csv 或 xlsx", "format must be csv or xlsx"), fault.Field("format", fault.M("须为 csv 或 xlsx", "must be csv or xlsx")))

// ExportOptions choose an export.
type ExportOptions struct {
	Kind      string
	Format    string
	Unmasked  bool
	Reason    string
	Resident  ResidentFilter
	Household HouseholdFilter
	Filter    Filter
}

// ExportKinds are the lists that export, with their names.
var ExportKinds = []struct {
	Key  string
	Name fault.Msg
}{
	{"households", fault.M("户", "Households")}, {"residents", fault.M("居民", "Residents")}, {"facilities", fault.M("服务设施", "Facilities")},
	{"organizations", fault.M("组织", "Organisations")}, {"personnel", fault.M("人员", "Personnel")}, {"grids", fault.M("网格", "Grids")},
}

// rows is an export's table: its header, and a function that reads the
// rows and hands each to emit as it goes (numbers as numbers).
type rows struct {
	header []string
	each   func(ctx context.Context, unmasked bool, emit func(cells ...any) error) error
	// count counts the rows, up to limit+1.
	count func(ctx context.Context, limit int) (int, error)
}

// exportRows are the kinds that export. Each checks the caller and the
// filter before it returns, so that a refusal comes before the file.
var exportRows = map[string]func(*Store, context.Context, ExportOptions) (rows, error){
	"residents": (*Store).residentRows, "households": (*Store).householdRows, "facilities": (*Store).facilityRows,
	"organizations": (*Store).organizationRows, "personnel": (*Store).personnelRows, "grids": (*Store).gridRows,
}

// An Export is a checked and audited export, ready to write.
type Export struct {
	// Name is the file's name: the kind, the time, who asked and whether
	// it is masked (linli-residents-20261129-160000-worker.a-masked.csv).
	Name   string
	Format string
	// Progress, if set, is told the number of rows written after each row.
	Progress func(done int)
	sheet    string
	stamp    [][]string
	rows     rows
	clear    bool
}

// StartExport checks an export — the role, the reason of an unmasked one,
// the kind, the format, the filter — and audits it, all before the first
// byte, so that a refusal is a clean answer and no file leaves unaudited.
// The file carries no stamp line: the stamp is in its name, in the audit
// log and, in xlsx, on a sheet of its own.
func (s *Store) StartExport(ctx context.Context, o ExportOptions) (*Export, error) {
	x, err := s.prepareExport(ctx, o)
	if err != nil {
		return nil, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.record(ctx, tx, "registry.export", o.Kind, "", access.From(ctx).Division, map[string]any{"unmasked": o.Unmasked, "reason": o.Reason, "format": x.Format, "file": x.Name})
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// prepareExport checks an export and readies its rows and stamp, as the
// principal in ctx (the requester, also when a job runs it later).
func (s *Store) prepareExport(ctx context.Context, o ExportOptions) (*Export, error) {
	p := access.From(ctx)
	if p == nil {
		return nil, errNoRead
	}
	if o.Unmasked {
		if !canReveal(p, "id_number") {
			if err := s.Audit.Record(ctx, auditDenied("registry.export", o.Kind, "unmasked", o.Reason)); err != nil {
				return nil, err
			}
			return nil, fault.Forbidden(fault.M("您的角色不能导出未脱敏数据", "your role may not export unmasked data"))
		}
		if n := utf8.RuneCountInString(strings.TrimSpace(o.Reason)); n < 2 || n > 200 {
			return nil, fault.Invalid(fault.M("导出未脱敏数据须填写理由", "an unmasked export needs a reason"), fault.Field("reason", fault.M("请填写 2–200 字的理由", "give a reason of 2–200 characters")))
		}
	}
	if o.Format == "" {
		o.Format = "csv"
	}
	if o.Format != "csv" && o.Format != "xlsx" {
		return nil, errFormat
	}
	source, ok := exportRows[o.Kind]
	if !ok {
		return nil, fault.NotFound(fault.M("不支持的导出类型："+o.Kind, "unknown export kind: "+o.Kind))
	}
	rs, err := source(s, ctx, o)
	if err != nil {
		return nil, err
	}
	now := s.Now().In(cst)
	x := &Export{Format: o.Format, rows: rs, clear: o.Unmasked,
		Name: "linli-" + o.Kind + "-" + now.Format("20060102-150405") + "-" + fileSafe(p.Username) + "-" + map[bool]string{false: "masked", true: "unmasked"}[o.Unmasked] + "." + o.Format}
	for _, k := range ExportKinds {
		if k.Key == o.Kind {
			x.sheet = k.Name.ZH + " " + k.Name.EN
		}
	}
	x.stamp = [][]string{{"导出人 / exported by", p.Username}, {"时间 / time", now.Format("2006-01-02 15:04:05 CST")}, {"脱敏 / masked", "已脱敏 / masked"}, {"文件 / file", x.Name}}
	if o.Unmasked {
		x.stamp[2] = []string{"脱敏 / masked", "未脱敏 / UNMASKED · 理由 / reason: " + o.Reason}
	}
	return x, nil
}

// Write writes the file onto w as the rows are read: CSV reaches w row
// by row (through a 32 KiB buffer), xlsx when it is complete (its sheet is
// streamed into a temporary file, so memory stays flat). After an error
// the file is left unfinished.
func (x *Export) Write(ctx context.Context, w io.Writer) error {
	tw, err := tabular.New(w, x.Format, tabular.Options{Sheet: x.sheet, Stamp: x.stamp})
	if err != nil {
		return err
	}
	if err := tw.Row(x.rows.header...); err != nil {
		tw.Discard()
		return err
	}
	emit := tw.Values
	if x.Progress != nil {
		done := 0
		emit = func(cells ...any) error {
			if err := tw.Values(cells...); err != nil {
				return err
			}
			done++
			x.Progress(done)
			return nil
		}
	}
	if err := x.rows.each(ctx, x.clear, emit); err != nil {
		tw.Discard()
		return err
	}
	return tw.Close()
}

// Count counts the export's rows, up to limit+1 (so a count above limit
// means "more than limit").
func (x *Export) Count(ctx context.Context, limit int) (int, error) {
	return x.rows.count(ctx, limit)
}

// Export checks, audits and writes an export onto w.
func (s *Store) Export(ctx context.Context, w io.Writer, o ExportOptions) error {
	x, err := s.StartExport(ctx, o)
	if err != nil {
		return err
	}
	return x.Write(ctx, w)
}

// fileSafe keeps a name to the letters, digits and . _ - of a file name.
func fileSafe(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-", r)) {
			return r
		}
		return '_'
	}, name)
}

// streamTable calls each for every row of t matching f, in t's order (the
// id breaking ties), from one query read as it goes: no page is read twice
// and nothing waits for the last row.
func streamTable[T any](ctx context.Context, q db.Querier, t table[T], f Filter, each func(T) error) error {
	w, err := t.where(ctx, f)
	if err != nil {
		return err
	}
	return db.EachRow(ctx, q, func(row db.Scanner) error {
		v, err := t.scan(row)
		if err != nil {
			return err
		}
		return each(v)
	}, `SELECT `+t.cols+t.from()+w.sql()+` ORDER BY `+t.order(), w.args...)
}

// residentRows show the age, never the birth date, and the masked
// numbers unless the export is unmasked.
func (s *Store) residentRows(ctx context.Context, o ExportOptions) (rows, error) {
	wh, err := s.residentWhere(ctx, o.Resident)
	if err != nil {
		return rows{}, err
	}
	at := s.Now().In(cst)
	// One query: each resident joined to its tags by the resident_id index
	// (the unique key's first column), one line per tag, merged here. The
	// active flag is read, not filtered on, so that no store's planner can
	// pick the (active, until_date) index and walk every tag per resident.
	query := `SELECT r.id, r.division_code, h.household_no, r.name, r.gender, r.birth_date, r.id_mask, r.phone_mask, r.id_enc, r.phone_enc, r.relation, r.residence,
		COALESCE(t.tag, ''), COALESCE(t.active, FALSE)
		FROM reg_residents r JOIN reg_households h ON h.id = r.household_id LEFT JOIN reg_resident_tags t ON t.resident_id = r.id
		WHERE ` + wh.sql() + ` ORDER BY r.division_code, h.household_no, r.name, r.id, t.tag`
	each := func(ctx context.Context, unmasked bool, emit func(...any) error) error {
		var cur residentLine
		var tags []string
		flush := func() error {
			if cur.id == "" {
				return nil
			}
			err := s.emitResident(cur, strings.Join(tags, ";"), unmasked, at, emit)
			tags = tags[:0]
			return err
		}
		err := db.EachRow(ctx, s.DB.R, func(row db.Scanner) error {
			var l residentLine
			var tag string
			var active bool
			if err := row.Scan(&l.id, &l.div, &l.hh, &l.name, &l.gender, &l.birth, &l.idMask, &l.phoneMask, &l.idEnc, &l.phoneEnc, &l.relation, &l.residence, &tag, &active); err != nil {
				return err
			}
			if l.id != cur.id {
				if err := flush(); err != nil {
					return err
				}
				cur = l
			}
			if active && tag != "" {
				tags = append(tags, tag)
			}
			return nil
		}, query, wh.args...)
		if err != nil {
			return err
		}
		return flush()
	}
	return rows{header: []string{"区划代码", "户编号", "姓名", "性别", "年龄", "身份证号", "手机号", "与户主关系", "户籍类型", "服务对象标签"}, each: each,
		count: func(ctx context.Context, limit int) (int, error) {
			return s.boundedCount(ctx, `SELECT 1 FROM reg_residents r WHERE `+wh.sql(), wh.args, limit)
		}}, nil
}

// tableCount counts the rows of a scoped table in wh.
func tableCount(s *Store, from string, wh *where) func(context.Context, int) (int, error) {
	return func(ctx context.Context, limit int) (int, error) {
		return s.boundedCount(ctx, `SELECT 1 FROM `+from+` WHERE `+wh.sql(), wh.args, limit)
	}
}

// residentLine is one resident as the export query reads it.
type residentLine struct {
	id, div, hh, name, gender, birth, idMask, phoneMask, idEnc, phoneEnc, relation, residence string
}

var genderNames = map[string]string{"M": "男", "F": "女"}

// emitResident writes one resident, opening the sealed numbers of an
// unmasked export.
func (s *Store) emitResident(l residentLine, tags string, unmasked bool, at time.Time, emit func(...any) error) error {
	idm, phm := l.idMask, l.phoneMask
	if unmasked {
		var err error
		if idm, err = s.Keys.Open(l.idEnc, aad("id_number")); err != nil {
			return err
		}
		if l.phoneEnc != "" {
			if phm, err = s.Keys.Open(l.phoneEnc, aad("phone")); err != nil {
				return err
			}
		}
	}
	birth, err := time.Parse("2006-01-02", l.birth)
	if err != nil {
		return err
	}
	return emit(l.div, l.hh, l.name, genderNames[l.gender], idno.Age(birth, at), idm, phm, l.relation, residenceTypes[l.residence][0], tags)
}

// boundedCount counts the rows of query, up to limit+1: enough to tell a
// large export from a small one without counting a province.
func (s *Store) boundedCount(ctx context.Context, query string, args []any, limit int) (int, error) {
	var n int
	err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM (`+query+` LIMIT `+itoa(limit+1)+`) b`, args...).Scan(&n)
	return n, err
}

func (s *Store) householdRows(ctx context.Context, o ExportOptions) (rows, error) {
	wh, err := s.householdWhere(ctx, o.Household)
	if err != nil {
		return rows{}, err
	}
	each := func(ctx context.Context, _ bool, emit func(...any) error) error {
		return db.EachRow(ctx, s.DB.R, func(row db.Scanner) error {
			var div, no, addr, grid, note string
			var n int
			if err := row.Scan(&div, &no, &addr, &grid, &n, &note); err != nil {
				return err
			}
			return emit(div, no, addr, grid, n, note)
		}, `SELECT h.division_code, h.household_no, h.address, COALESCE(g.code, ''),
		(SELECT COUNT(*) FROM reg_residents r WHERE r.household_id = h.id), h.note
		FROM reg_households h LEFT JOIN reg_grids g ON g.id = h.grid_id WHERE `+wh.sql()+` ORDER BY h.division_code, h.household_no`, wh.args...)
	}
	return rows{header: []string{"区划代码", "户编号", "地址", "网格编码", "人数", "备注"}, each: each, count: func(ctx context.Context, limit int) (int, error) {
		return s.boundedCount(ctx, `SELECT 1 FROM reg_households h WHERE `+wh.sql(), wh.args, limit)
	}}, nil
}

func (s *Store) facilityRows(ctx context.Context, o ExportOptions) (rows, error) {
	wh, err := facilities.where(ctx, o.Filter)
	if err != nil {
		return rows{}, err
	}
	each := func(ctx context.Context, _ bool, emit func(...any) error) error {
		return streamTable(ctx, s.DB.R, facilities, o.Filter, func(f Facility) error {
			var caps []string
			for k, v := range f.Capacities {
				caps = append(caps, k+"="+strconv.FormatFloat(v, 'f', -1, 64))
			}
			sort.Strings(caps)
			return emit(f.Code, f.Division, f.Name, f.Category, f.Address, f.Lon, f.Lat, f.FloorArea, strings.Join(caps, ";"), f.OpeningHours, f.Status)
		})
	}
	return rows{header: []string{"设施编码", "区划代码", "名称", "类别", "地址", "经度", "纬度", "建筑面积", "容量", "开放时间", "状态"}, each: each, count: tableCount(s, facilities.name+" "+facilities.alias, wh)}, nil
}

func (s *Store) organizationRows(ctx context.Context, o ExportOptions) (rows, error) {
	wh, err := organizations.where(ctx, o.Filter)
	if err != nil {
		return rows{}, err
	}
	each := func(ctx context.Context, _ bool, emit func(...any) error) error {
		return streamTable(ctx, s.DB.R, organizations, o.Filter, func(g Organization) error {
			return emit(g.Division, OrgKinds[g.Kind][0], g.Name, g.RegNo, g.OrgType, g.Rating, g.RegLevel, g.PartyShare, g.Address, g.Facilities, g.Staff)
		})
	}
	return rows{header: []string{"区划代码", "组织类型", "名称", "登记证号", "类别", "评估等级", "登记层级", "党员占比", "地址", "运营设施数", "人员数"}, each: each, count: tableCount(s, organizations.name+" "+organizations.alias, wh)}, nil
}

func (s *Store) personnelRows(ctx context.Context, o ExportOptions) (rows, error) {
	wh, err := personnel.where(ctx, o.Filter)
	if err != nil {
		return rows{}, err
	}
	each := func(ctx context.Context, unmasked bool, emit func(...any) error) error {
		return db.EachRow(ctx, s.DB.R, func(row db.Scanner) error {
			var div, name, roles, phm, phe, org, user, attrs string
			if err := row.Scan(&div, &name, &roles, &phm, &phe, &org, &user, &attrs); err != nil {
				return err
			}
			if unmasked && phe != "" {
				var err error
				if phm, err = s.Keys.Open(phe, personPhoneAAD); err != nil {
					return err
				}
			}
			var rs []string
			for _, k := range strings.Split(strings.Trim(roles, ","), ",") {
				if n, ok := PersonnelRoles[k]; ok {
					rs = append(rs, n[0])
				}
			}
			return emit(div, name, strings.Join(rs, ";"), phm, org, user, attrs)
		}, `SELECT p.division_code, p.name, p.roles, p.phone_mask, p.phone_enc, COALESCE(o.name, ''), p.username, p.attrs
		FROM reg_personnel p LEFT JOIN reg_organizations o ON o.id = p.org_id WHERE `+wh.sql()+` ORDER BY p.division_code, p.name, p.id`, wh.args...)
	}
	return rows{header: []string{"区划代码", "姓名", "岗位", "手机号", "所属组织", "登录账号", "属性"}, each: each, count: tableCount(s, personnel.name+" "+personnel.alias, wh)}, nil
}

func (s *Store) gridRows(ctx context.Context, o ExportOptions) (rows, error) {
	wh, err := grids.where(ctx, o.Filter)
	if err != nil {
		return rows{}, err
	}
	each := func(ctx context.Context, _ bool, emit func(...any) error) error {
		// Grids are few (hundreds in a county): read them, then their
		// workers in one look-up, so that no second query runs while the
		// first is open (a pool of a few connections is shared).
		var gs []Grid
		if err := streamTable(ctx, s.DB.R, grids, o.Filter, func(g Grid) error { gs = append(gs, g); return nil }); err != nil {
			return err
		}
		gs, err := s.withWorkers(ctx, gs)
		if err != nil {
			return err
		}
		for _, g := range gs {
			if err := emit(g.Division, g.Code, g.Name, g.Households, strings.Join(g.Workers, ";"), g.Note); err != nil {
				return err
			}
		}
		return nil
	}
	return rows{header: []string{"区划代码", "网格编码", "网格名称", "户数", "网格员", "备注"}, each: each, count: tableCount(s, grids.name+" "+grids.alias, wh)}, nil
}
