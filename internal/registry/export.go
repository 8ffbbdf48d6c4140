package registry

import (
	"context"
	"database/sql"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/tabular"
)

// sheet writes rows to a table, counting them and keeping the first
// error, which Close reports.
type sheet struct {
	tw   tabular.Writer
	rows int
	err  error
}

func (sh *sheet) row(cells ...string) {
	if sh.err == nil {
		sh.err = sh.tw.Row(cells...)
	}
}

// record writes one data row (the stamp and header are not counted).
func (sh *sheet) record(cells ...string) {
	sh.row(cells...)
	sh.rows++
}

func (sh *sheet) close() error {
	if err := sh.tw.Close(); sh.err == nil {
		sh.err = err
	}
	return sh.err
}

var errFormat = fault.Invalid(fault.M("格式须为 csv 或 xlsx", "format must be csv or xlsx"), fault.Field("format", fault.M("须为 csv 或 xlsx", "must be csv or xlsx")))

func newSheet(w io.Writer, format string) (*sheet, error) {
	tw, err := tabular.NewWriter(w, format)
	if err != nil {
		return nil, errFormat
	}
	return &sheet{tw: tw}, nil
}

// Template writes the import template of kind: the Chinese headers and one example row.
func Template(w io.Writer, kind, format string) error {
	k, ok := KindByKey(kind)
	if !ok {
		return fault.NotFound(fault.M("不支持的导入类型："+kind, "unknown import kind: "+kind))
	}
	sh, err := newSheet(w, format)
	if err != nil {
		return err
	}
	var hs []string
	for _, c := range k.Columns {
		h := c.Header
		if c.Required {
			h += "*"
		}
		hs = append(hs, h)
	}
	sh.row(hs...)
	sh.row(k.Example...)
	return sh.close()
}

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

// exportPage is the page size of the list-based exports.
const exportPage = 200

// pageAll calls list page by page until every row has been seen.
func pageAll[T any](ctx context.Context, f Filter, list func(context.Context, Filter, int, int) ([]T, int, error), each func(T)) error {
	for off := 0; ; off += exportPage {
		items, total, err := list(ctx, f, off, exportPage)
		if err != nil {
			return err
		}
		for _, it := range items {
			each(it)
		}
		if off+exportPage >= total || len(items) == 0 {
			return nil
		}
	}
}

// Export writes a filtered list, masked unless an allowed role asks for
// clear values with a reason; every export is audited, and the file
// carries the requester and the time.
func (s *Store) Export(ctx context.Context, w io.Writer, o ExportOptions) error {
	p := access.From(ctx)
	if o.Unmasked {
		if !canReveal(p, "id_number") {
			if err := s.Audit.Record(ctx, auditDenied("registry.export", o.Kind, "unmasked", o.Reason)); err != nil {
				return err
			}
			return fault.Forbidden(fault.M("您的角色不能导出未脱敏数据", "your role may not export unmasked data"))
		}
		if n := utf8.RuneCountInString(strings.TrimSpace(o.Reason)); n < 2 || n > 200 {
			return fault.Invalid(fault.M("导出未脱敏数据须填写理由", "an unmasked export needs a reason"), fault.Field("reason", fault.M("请填写 2–200 字的理由", "give a reason of 2–200 characters")))
		}
	}
	sh, err := newSheet(w, o.Format)
	if err != nil {
		return err
	}
	stamp := "导出人 / exported by: " + p.Username + " · " + s.Now().In(cst).Format("2006-01-02 15:04:05 CST")
	if o.Unmasked {
		stamp += " · 未脱敏 / UNMASKED · 理由 / reason: " + o.Reason
	} else {
		stamp += " · 已脱敏 / masked"
	}
	write, ok := map[string]func(context.Context, *sheet, ExportOptions) error{
		"residents": s.exportResidents, "households": s.exportHouseholds, "facilities": s.exportFacilities,
		"organizations": s.exportOrganizations, "personnel": s.exportPersonnel, "grids": s.exportGrids,
	}[o.Kind]
	if !ok {
		return fault.NotFound(fault.M("不支持的导出类型："+o.Kind, "unknown export kind: "+o.Kind))
	}
	sh.row(stamp)
	if err := write(ctx, sh, o); err != nil {
		return err
	}
	if err := sh.close(); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.record(ctx, tx, "registry.export", o.Kind, "", p.Division, map[string]any{"rows": sh.rows, "unmasked": o.Unmasked, "reason": o.Reason, "format": o.Format})
	})
}

func (s *Store) exportResidents(ctx context.Context, sh *sheet, o ExportOptions) error {
	wh, err := s.residentWhere(ctx, o.Resident)
	if err != nil {
		return err
	}
	sh.row("区划代码", "户编号", "姓名", "性别", "出生日期", "身份证号", "手机号", "与户主关系", "户籍类型", "服务对象标签")
	return db.EachRow(ctx, s.DB.R, func(row db.Scanner) error {
		var div, hh, name, g, b, idm, phm, ide, phe, rel, res, tags string
		if err := row.Scan(&div, &hh, &name, &g, &b, &idm, &phm, &ide, &phe, &rel, &res, &tags); err != nil {
			return err
		}
		if o.Unmasked {
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
		sh.record(div, hh, name, map[string]string{"M": "男", "F": "女"}[g], b, idm, phm, rel, residenceTypes[res][0], tags)
		return nil
	}, `SELECT r.division_code, h.household_no, r.name, r.gender, r.birth_date, r.id_mask, r.phone_mask, r.id_enc, r.phone_enc, r.relation, r.residence,
		COALESCE((SELECT `+s.groupConcat("t.tag")+` FROM reg_resident_tags t WHERE t.resident_id = r.id AND t.active = TRUE), '')
		FROM reg_residents r JOIN reg_households h ON h.id = r.household_id WHERE `+wh.sql()+` ORDER BY r.division_code, h.household_no, r.name`, wh.args...)
}

func (s *Store) exportHouseholds(ctx context.Context, sh *sheet, o ExportOptions) error {
	wh, err := s.householdWhere(ctx, o.Household)
	if err != nil {
		return err
	}
	sh.row("区划代码", "户编号", "地址", "网格编码", "人数", "备注")
	return db.EachRow(ctx, s.DB.R, func(row db.Scanner) error {
		var div, no, addr, grid, note string
		var n int
		if err := row.Scan(&div, &no, &addr, &grid, &n, &note); err != nil {
			return err
		}
		sh.record(div, no, addr, grid, strconv.Itoa(n), note)
		return nil
	}, `SELECT h.division_code, h.household_no, h.address, COALESCE(g.code, ''),
		(SELECT COUNT(*) FROM reg_residents r WHERE r.household_id = h.id), h.note
		FROM reg_households h LEFT JOIN reg_grids g ON g.id = h.grid_id WHERE `+wh.sql()+` ORDER BY h.division_code, h.household_no`, wh.args...)
}

func (s *Store) exportFacilities(ctx context.Context, sh *sheet, o ExportOptions) error {
	sh.row("设施编码", "区划代码", "名称", "类别", "地址", "经度", "纬度", "建筑面积", "容量", "开放时间", "状态")
	return pageAll(ctx, o.Filter, s.ListFacilities, func(f Facility) {
		var caps []string
		for k, v := range f.Capacities {
			caps = append(caps, k+"="+strconv.FormatFloat(v, 'f', -1, 64))
		}
		sort.Strings(caps)
		sh.record(f.Code, f.Division, f.Name, f.Category, f.Address, strconv.FormatFloat(f.Lon, 'f', 6, 64), strconv.FormatFloat(f.Lat, 'f', 6, 64),
			strconv.FormatFloat(f.FloorArea, 'f', -1, 64), strings.Join(caps, ";"), f.OpeningHours, f.Status)
	})
}

func (s *Store) exportOrganizations(ctx context.Context, sh *sheet, o ExportOptions) error {
	sh.row("区划代码", "组织类型", "名称", "登记证号", "类别", "评估等级", "登记层级", "党员占比", "地址", "运营设施数", "人员数")
	return pageAll(ctx, o.Filter, s.ListOrganizations, func(g Organization) {
		share := ""
		if g.PartyShare != nil {
			share = strconv.FormatFloat(*g.PartyShare, 'f', -1, 64)
		}
		sh.record(g.Division, OrgKinds[g.Kind][0], g.Name, g.RegNo, g.OrgType, g.Rating, g.RegLevel, share, g.Address, strconv.Itoa(g.Facilities), strconv.Itoa(g.Staff))
	})
}

func (s *Store) exportPersonnel(ctx context.Context, sh *sheet, o ExportOptions) error {
	wh, err := personnel.where(ctx, o.Filter)
	if err != nil {
		return err
	}
	sh.row("区划代码", "姓名", "岗位", "手机号", "所属组织", "登录账号", "属性")
	return db.EachRow(ctx, s.DB.R, func(row db.Scanner) error {
		var div, name, roles, phm, phe, org, user, attrs string
		if err := row.Scan(&div, &name, &roles, &phm, &phe, &org, &user, &attrs); err != nil {
			return err
		}
		if o.Unmasked && phe != "" {
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
		sh.record(div, name, strings.Join(rs, ";"), phm, org, user, attrs)
		return nil
	}, `SELECT p.division_code, p.name, p.roles, p.phone_mask, p.phone_enc, COALESCE(o.name, ''), p.username, p.attrs
		FROM reg_personnel p LEFT JOIN reg_organizations o ON o.id = p.org_id WHERE `+wh.sql()+` ORDER BY p.division_code, p.name`, wh.args...)
}

func (s *Store) exportGrids(ctx context.Context, sh *sheet, o ExportOptions) error {
	sh.row("区划代码", "网格编码", "网格名称", "户数", "网格员", "备注")
	return pageAll(ctx, o.Filter, s.ListGrids, func(g Grid) {
		sh.record(g.Division, g.Code, g.Name, strconv.Itoa(g.Households), strings.Join(g.Workers, ";"), g.Note)
	})
}

func (s *Store) groupConcat(col string) string {
	if s.DB.Dialect == db.Postgres {
		return "string_agg(" + col + ", ';')"
	}
	return "group_concat(" + col + ", ';')"
}
