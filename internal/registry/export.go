package registry

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/tabular"
	"linli/internal/web"
)

// Template writes the import template of kind: the Chinese headers and one example row.
func Template(w io.Writer, kind, format string) error {
	k, ok := KindByKey(kind)
	if !ok {
		return fault.NotFound(web.M("不支持的导入类型："+kind, "unknown import kind: "+kind))
	}
	tw, err := tabular.NewWriter(w, format)
	if err != nil {
		return fault.Invalid(web.M("格式须为 csv 或 xlsx", "format must be csv or xlsx"), fault.Field("format", web.M("须为 csv 或 xlsx", "must be csv or xlsx")))
	}
	var hs []string
	for _, c := range k.Columns {
		h := c.Header
		if c.Required {
			h += "*"
		}
		hs = append(hs, h)
	}
	tw.Row(hs...)
	tw.Row(k.Example...)
	return tw.Close()
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
	Name web.Msg
}{
	{"households", web.M("户", "Households")}, {"residents", web.M("居民", "Residents")}, {"facilities", web.M("服务设施", "Facilities")},
	{"organizations", web.M("组织", "Organisations")}, {"personnel", web.M("人员", "Personnel")}, {"grids", web.M("网格", "Grids")},
}

// pageAll calls list page by page until every row has been seen.
func pageAll[T any](ctx context.Context, f Filter, list func(context.Context, Filter, int, int) ([]T, int, error), each func(T)) error {
	for off := 0; ; off += web.MaxPageSize {
		items, total, err := list(ctx, f, off, web.MaxPageSize)
		if err != nil {
			return err
		}
		for _, it := range items {
			each(it)
		}
		if off+web.MaxPageSize >= total || len(items) == 0 {
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
			s.Audit.Record(ctx, auditDenied("registry.export", o.Kind, "unmasked", o.Reason))
			return fault.Forbidden(web.M("您的角色不能导出未脱敏数据", "your role may not export unmasked data"))
		}
		if n := utf8.RuneCountInString(strings.TrimSpace(o.Reason)); n < 2 || n > 200 {
			return fault.Invalid(web.M("导出未脱敏数据须填写理由", "an unmasked export needs a reason"), fault.Field("reason", web.M("请填写 2–200 字的理由", "give a reason of 2–200 characters")))
		}
	}
	tw, err := tabular.NewWriter(w, o.Format)
	if err != nil {
		return fault.Invalid(web.M("格式须为 csv 或 xlsx", "format must be csv or xlsx"), fault.Field("format", web.M("须为 csv 或 xlsx", "must be csv or xlsx")))
	}
	stamp := "导出人 / exported by: " + p.Username + " · " + s.now().In(cst).Format("2006-01-02 15:04:05 CST")
	if o.Unmasked {
		stamp += " · 未脱敏 / UNMASKED · 理由 / reason: " + o.Reason
	} else {
		stamp += " · 已脱敏 / masked"
	}
	rows := 0
	switch o.Kind {
	case "residents":
		wh, err := s.residentWhere(ctx, o.Resident)
		if err != nil {
			return err
		}
		tw.Row(stamp)
		tw.Row("区划代码", "户编号", "姓名", "性别", "出生日期", "身份证号", "手机号", "与户主关系", "户籍类型", "服务对象标签")
		q, err := s.DB.R.QueryContext(ctx, `SELECT r.division_code, h.household_no, r.name, r.gender, r.birth_date, r.id_mask, r.phone_mask, r.id_enc, r.phone_enc, r.relation, r.residence,
			COALESCE((SELECT `+s.groupConcat("t.tag")+` FROM reg_resident_tags t WHERE t.resident_id = r.id AND t.active = TRUE), '')
			FROM reg_residents r JOIN reg_households h ON h.id = r.household_id WHERE `+wh.sql()+` ORDER BY r.division_code, h.household_no, r.name`, wh.args...)
		if err != nil {
			return err
		}
		defer q.Close()
		for q.Next() {
			var div, hh, name, g, b, idm, phm, ide, phe, rel, res, tags string
			if err := q.Scan(&div, &hh, &name, &g, &b, &idm, &phm, &ide, &phe, &rel, &res, &tags); err != nil {
				return err
			}
			if o.Unmasked {
				if idm, err = s.Keys.Open(ide, aad("id_number")); err != nil {
					return err
				}
				if phe != "" {
					if phm, err = s.Keys.Open(phe, aad("phone")); err != nil {
						return err
					}
				}
			}
			tw.Row(div, hh, name, map[string]string{"M": "男", "F": "女"}[g], b, idm, phm, rel, residenceTypes[res][0], tags)
			rows++
		}
		if err := q.Err(); err != nil {
			return err
		}
	case "households":
		wh, err := s.householdWhere(ctx, o.Household)
		if err != nil {
			return err
		}
		tw.Row(stamp)
		tw.Row("区划代码", "户编号", "地址", "网格编码", "人数", "备注")
		q, err := s.DB.R.QueryContext(ctx, `SELECT h.division_code, h.household_no, h.address, COALESCE(g.code, ''),
			(SELECT COUNT(*) FROM reg_residents r WHERE r.household_id = h.id), h.note
			FROM reg_households h LEFT JOIN reg_grids g ON g.id = h.grid_id WHERE `+wh.sql()+` ORDER BY h.division_code, h.household_no`, wh.args...)
		if err != nil {
			return err
		}
		defer q.Close()
		for q.Next() {
			var div, no, addr, grid, note string
			var n int
			if err := q.Scan(&div, &no, &addr, &grid, &n, &note); err != nil {
				return err
			}
			tw.Row(div, no, addr, grid, strconv.Itoa(n), note)
			rows++
		}
		if err := q.Err(); err != nil {
			return err
		}
	case "facilities":
		tw.Row(stamp)
		tw.Row("设施编码", "区划代码", "名称", "类别", "地址", "经度", "纬度", "建筑面积", "容量", "开放时间", "状态")
		err := pageAll(ctx, o.Filter, s.ListFacilities, func(f Facility) {
			var caps []string
			for k, v := range f.Capacities {
				caps = append(caps, k+"="+strconv.FormatFloat(v, 'f', -1, 64))
			}
			sort.Strings(caps)
			tw.Row(f.Code, f.Division, f.Name, f.Category, f.Address, strconv.FormatFloat(f.Lon, 'f', 6, 64), strconv.FormatFloat(f.Lat, 'f', 6, 64),
				strconv.FormatFloat(f.FloorArea, 'f', -1, 64), strings.Join(caps, ";"), f.OpeningHours, f.Status)
			rows++
		})
		if err != nil {
			return err
		}
	case "organizations":
		tw.Row(stamp)
		tw.Row("区划代码", "组织类型", "名称", "登记证号", "类别", "评估等级", "登记层级", "党员占比", "地址", "运营设施数", "人员数")
		err := pageAll(ctx, o.Filter, s.ListOrganizations, func(g Organization) {
			share := ""
			if g.PartyShare != nil {
				share = strconv.FormatFloat(*g.PartyShare, 'f', -1, 64)
			}
			tw.Row(g.Division, OrgKinds[g.Kind][0], g.Name, g.RegNo, g.OrgType, g.Rating, g.RegLevel, share, g.Address, strconv.Itoa(g.Facilities), strconv.Itoa(g.Staff))
			rows++
		})
		if err != nil {
			return err
		}
	case "personnel":
		wh, err := s.personnelWhere(ctx, o.Filter)
		if err != nil {
			return err
		}
		tw.Row(stamp)
		tw.Row("区划代码", "姓名", "岗位", "手机号", "所属组织", "登录账号", "属性")
		q, err := s.DB.R.QueryContext(ctx, `SELECT p.division_code, p.name, p.roles, p.phone_mask, p.phone_enc, COALESCE(o.name, ''), p.username, p.attrs
			FROM reg_personnel p LEFT JOIN reg_organizations o ON o.id = p.org_id WHERE `+wh.sql()+` ORDER BY p.division_code, p.name`, wh.args...)
		if err != nil {
			return err
		}
		defer q.Close()
		for q.Next() {
			var div, name, roles, phm, phe, org, user, attrs string
			if err := q.Scan(&div, &name, &roles, &phm, &phe, &org, &user, &attrs); err != nil {
				return err
			}
			if o.Unmasked && phe != "" {
				if phm, err = s.Keys.Open(phe, "reg_personnel/phone"); err != nil {
					return err
				}
			}
			var rs []string
			for _, k := range strings.Split(strings.Trim(roles, ","), ",") {
				if n, ok := PersonnelRoles[k]; ok {
					rs = append(rs, n[0])
				}
			}
			tw.Row(div, name, strings.Join(rs, ";"), phm, org, user, attrs)
			rows++
		}
		if err := q.Err(); err != nil {
			return err
		}
	case "grids":
		tw.Row(stamp)
		tw.Row("区划代码", "网格编码", "网格名称", "户数", "网格员", "备注")
		err := pageAll(ctx, o.Filter, s.ListGrids, func(g Grid) {
			tw.Row(g.Division, g.Code, g.Name, strconv.Itoa(g.Households), strings.Join(g.Workers, ";"), g.Note)
			rows++
		})
		if err != nil {
			return err
		}
	default:
		return fault.NotFound(web.M("不支持的导出类型："+o.Kind, "unknown export kind: "+o.Kind))
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.record(ctx, tx, "registry.export", o.Kind, "", p.Division, map[string]any{"rows": rows, "unmasked": o.Unmasked, "reason": o.Reason, "format": o.Format})
	})
}

func (s *Store) groupConcat(col string) string {
	if s.DB.Dialect == "postgres" {
		return "string_agg(" + col + ", ';')"
	}
	return "group_concat(" + col + ", ';')"
}

// MaxUpload bounds an import file (64 MiB).
const MaxUpload = 64 << 20

func (h *Handlers) registerTransfer(rt *web.Router) {
	rt.API("GET /api/v1/registry/templates/{kind}", web.Op{Summary: "下载导入模板 / Download an import template", Tag: "registry",
		Params: []web.Param{{Name: "format", Description: "csv | xlsx"}}},
		func(w http.ResponseWriter, r *http.Request) error {
			format := r.URL.Query().Get("format")
			if format == "" {
				format = "xlsx"
			}
			if _, ok := KindByKey(r.PathValue("kind")); !ok {
				return fault.NotFound(web.M("不支持的导入类型", "unknown import kind"))
			}
			setDownload(w, r.PathValue("kind")+"-template", format)
			return Template(w, r.PathValue("kind"), format)
		})
	rt.API("POST /api/v1/registry/import/{kind}", web.Op{Summary: "批量导入（CSV/xlsx；默认只检查，apply=true 时全部导入或全部不导入）/ Bulk import (dry run unless apply=true; all or nothing)", Tag: "registry",
		Params: []web.Param{{Name: "apply", Type: "boolean"}}, Response: Report{}},
		func(w http.ResponseWriter, r *http.Request) error {
			data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxUpload))
			if err != nil {
				return fault.Invalid(web.M("文件超过 64 MB", "the file exceeds 64 MB"), fault.Field("file", web.M("文件过大", "too large")))
			}
			rep, err := h.Store.Import(r.Context(), r.PathValue("kind"), data, r.URL.Query().Get("apply") == "true", nil)
			if err != nil {
				return err
			}
			status := 200
			if len(rep.Errors) > 0 {
				status = 422
			}
			web.WriteJSON(w, status, rep)
			return nil
		})
	rt.API("GET /api/v1/registry/export/{kind}", web.Op{Summary: "导出列表 households/residents/facilities/organizations/personnel/grids（按筛选条件；默认脱敏；未脱敏须有权限并填理由，记入审计；文件含导出人和时间）/ Export a list as filtered (masked unless an allowed role gives a reason; audited; the file names the requester and time)", Tag: "registry",
		Params: withParams(web.Param{Name: "format", Description: "csv | xlsx"}, web.Param{Name: "tag"}, web.Param{Name: "category"}, web.Param{Name: "grid"}, web.Param{Name: "unmasked", Type: "boolean"}, web.Param{Name: "reason"})},
		func(w http.ResponseWriter, r *http.Request) error { return h.export(w, r) })
}

func (h *Handlers) export(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	o := ExportOptions{Kind: r.PathValue("kind"), Format: q.Get("format"), Unmasked: q.Get("unmasked") == "true", Reason: q.Get("reason"),
		Resident: residentFilter(r), Filter: Filter{Division: q.Get("division"), Category: q.Get("category"), Q: q.Get("q")},
		Household: HouseholdFilter{Division: q.Get("division"), Grid: q.Get("grid"), Q: q.Get("q")}}
	if o.Kind == "" {
		o.Kind = q.Get("kind")
	}
	if o.Format == "" {
		o.Format = "xlsx"
	}
	if o.Format != "csv" && o.Format != "xlsx" {
		return fault.Invalid(web.M("格式须为 csv 或 xlsx", "format must be csv or xlsx"), fault.Field("format", web.M("须为 csv 或 xlsx", "must be csv or xlsx")))
	}
	// Write to a buffer first so that a refusal is still a clean problem response.
	var buf strings.Builder
	if err := h.Store.Export(r.Context(), &buf, o); err != nil {
		return err
	}
	setDownload(w, o.Kind, o.Format)
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, buf.String())
	return nil
}

func setDownload(w http.ResponseWriter, name, format string) {
	ct := "text/csv; charset=utf-8"
	if format == "xlsx" {
		ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="linli-`+name+`.`+format+`"`)
}
