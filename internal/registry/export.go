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
	sheet  string
	stamp  [][]string
	rows   rows
	clear  bool
}

// StartExport checks an export — the role, the reason of an unmasked one,
// the kind, the format, the filter — and audits it, all before the first
// byte, so that a refusal is a clean answer and no file leaves unaudited.
// The file carries no stamp line: the stamp is in its name, in the audit
// log and, in xlsx, on a sheet of its own.
func (s *Store) StartExport(ctx context.Context, o ExportOptions) (*Export, error) {
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
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.record(ctx, tx, "registry.export", o.Kind, "", p.Division, map[string]any{"unmasked": o.Unmasked, "reason": o.Reason, "format": o.Format, "file": x.Name})
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// Write writes the file onto w as the rows are read: CSV reaches w row
// by row, xlsx when it is complete. After an error the file is left
// unfinished.
func (x *Export) Write(ctx context.Context, w io.Writer) error {
	tw, err := tabular.New(w, x.Format, tabular.Options{Sheet: x.sheet, Stamp: x.stamp})
	if err != nil {
		return err
	}
	if err := tw.Row(x.rows.header...); err != nil {
		tw.Discard()
		return err
	}
	if err := x.rows.each(ctx, x.clear, tw.Values); err != nil {
		tw.Discard()
		return err
	}
	return tw.Close()
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

// exportPage is the page size of the list-based exports.
const exportPage = 200

// pageAll calls list page by page until every row has been seen.
func pageAll[T any](ctx context.Context, f Filter, list func(context.Context, Filter, int, int) ([]T, int, error), each func(T) error) error {
	for off := 0; ; off += exportPage {
		items, total, err := list(ctx, f, off, exportPage)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := each(it); err != nil {
				return err
			}
		}
		if off+exportPage >= total || len(items) == 0 {
			return nil
		}
	}
}

// residentRows show the age, never the birth date, and the masked
// numbers unless the export is unmasked.
func (s *Store) residentRows(ctx context.Context, o ExportOptions) (rows, error) {
	wh, err := s.residentWhere(ctx, o.Resident)
	if err != nil {
		return rows{}, err
	}
	at := s.Now().In(cst)
	// The tags' condition sits in the aggregate, so that the look-up is by
	// resident on every store (SQLite would otherwise walk the active tags
	// of the whole table for each resident).
	query := `SELECT r.division_code, h.household_no, r.name, r.gender, r.birth_date, r.id_mask, r.phone_mask, r.id_enc, r.phone_enc, r.relation, r.residence,
		COALESCE((SELECT ` + s.groupConcat("CASE WHEN t.active THEN t.tag END") + ` FROM reg_resident_tags t WHERE t.resident_id = r.id), '')
		FROM reg_residents r JOIN reg_households h ON h.id = r.household_id WHERE ` + wh.sql() + ` ORDER BY r.division_code, h.household_no, r.name`
	each := func(ctx context.Context, unmasked bool, emit func(...any) error) error {
		return db.EachRow(ctx, s.DB.R, func(row db.Scanner) error {
			var div, hh, name, g, b, idm, phm, ide, phe, rel, res, tags string
			if err := row.Scan(&div, &hh, &name, &g, &b, &idm, &phm, &ide, &phe, &rel, &res, &tags); err != nil {
				return err
			}
			if unmasked {
				var err error
				if idm, err = s.Keys.Open(ide, aad("id_number")); err != nil {
					return err
				}
				if phe != "" {
					if phm, err = s.Keys.Open(phe, aad("phone")); err != nil {
						return err
					}
				}
			}
			birth, err := time.Parse("2006-01-02", b)
			if err != nil {
				return err
			}
			return emit(div, hh, name, map[string]string{"M": "男", "F": "女"}[g], idno.Age(birth, at), idm, phm, rel, residenceTypes[res][0], tags)
		}, query, wh.args...)
	}
	return rows{header: []string{"区划代码", "户编号", "姓名", "性别", "年龄", "身份证号", "手机号", "与户主关系", "户籍类型", "服务对象标签"}, each: each}, nil
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
	return rows{header: []string{"区划代码", "户编号", "地址", "网格编码", "人数", "备注"}, each: each}, nil
}

func (s *Store) facilityRows(ctx context.Context, o ExportOptions) (rows, error) {
	if _, err := facilities.where(ctx, o.Filter); err != nil {
		return rows{}, err
	}
	each := func(ctx context.Context, _ bool, emit func(...any) error) error {
		return pageAll(ctx, o.Filter, s.ListFacilities, func(f Facility) error {
			var caps []string
			for k, v := range f.Capacities {
				caps = append(caps, k+"="+strconv.FormatFloat(v, 'f', -1, 64))
			}
			sort.Strings(caps)
			return emit(f.Code, f.Division, f.Name, f.Category, f.Address, f.Lon, f.Lat, f.FloorArea, strings.Join(caps, ";"), f.OpeningHours, f.Status)
		})
	}
	return rows{header: []string{"设施编码", "区划代码", "名称", "类别", "地址", "经度", "纬度", "建筑面积", "容量", "开放时间", "状态"}, each: each}, nil
}

func (s *Store) organizationRows(ctx context.Context, o ExportOptions) (rows, error) {
	if _, err := organizations.where(ctx, o.Filter); err != nil {
		return rows{}, err
	}
	each := func(ctx context.Context, _ bool, emit func(...any) error) error {
		return pageAll(ctx, o.Filter, s.ListOrganizations, func(g Organization) error {
			return emit(g.Division, OrgKinds[g.Kind][0], g.Name, g.RegNo, g.OrgType, g.Rating, g.RegLevel, g.PartyShare, g.Address, g.Facilities, g.Staff)
		})
	}
	return rows{header: []string{"区划代码", "组织类型", "名称", "登记证号", "类别", "评估等级", "登记层级", "党员占比", "地址", "运营设施数", "人员数"}, each: each}, nil
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
		FROM reg_personnel p LEFT JOIN reg_organizations o ON o.id = p.org_id WHERE `+wh.sql()+` ORDER BY p.division_code, p.name`, wh.args...)
	}
	return rows{header: []string{"区划代码", "姓名", "岗位", "手机号", "所属组织", "登录账号", "属性"}, each: each}, nil
}

func (s *Store) gridRows(ctx context.Context, o ExportOptions) (rows, error) {
	if _, err := grids.where(ctx, o.Filter); err != nil {
		return rows{}, err
	}
	each := func(ctx context.Context, _ bool, emit func(...any) error) error {
		return pageAll(ctx, o.Filter, s.ListGrids, func(g Grid) error {
			return emit(g.Division, g.Code, g.Name, g.Households, strings.Join(g.Workers, ";"), g.Note)
		})
	}
	return rows{header: []string{"区划代码", "网格编码", "网格名称", "户数", "网格员", "备注"}, each: each}, nil
}

func (s *Store) groupConcat(col string) string {
	if s.DB.Dialect == db.Postgres {
		return "string_agg(" + col + ", ';')"
	}
	return "group_concat(" + col + ", ';')"
}
