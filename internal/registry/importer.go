package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/tabular"
)

// Column is one column of an import template.
type Column struct {
	Header   string // Chinese header, as in the template
	Key      string // English header, also accepted
	Field    string // JSON field name used in validation messages
	Required bool
}

// Kind is an importable entity.
type Kind struct {
	Key     string
	Name    fault.Msg
	Columns []Column
	Example []string
}

// Kinds lists what can be imported.
var Kinds = []Kind{
	{Key: "residents", Name: fault.M("居民", "Residents"), Columns: []Column{
		{"区划代码", "division_code", "division", true}, {"户编号", "household_no", "household_no", true}, {"户地址", "address", "address", false},
		{"姓名", "name", "name", true}, {"身份证号", "id_number", "id_number", true}, {"与户主关系", "relation", "relation", false},
		{"户籍类型", "residence", "residence", false}, {"手机号", "phone", "phone", false}, {"健康状况", "health", "health", false},
		{"残疾情况", "disability", "disability", false}, {"收入", "income", "income", false}, {"服务对象标签", "tags", "tags", false},
	}, Example: []string{"330106002051", "H00001", "北山街道上保社区1幢101室", "张三", "11010519491231002X", "户主", "户籍", "13800000000", "", "", "", "高龄(80+);独居"}},
	{Key: "households", Name: fault.M("户", "Households"), Columns: []Column{
		{"区划代码", "division_code", "division", true}, {"户编号", "household_no", "household_no", true}, {"地址", "address", "address", true},
		{"网格编码", "grid_code", "grid_id", false}, {"备注", "note", "note", false},
	}, Example: []string{"330106002051", "H00001", "北山街道上保社区1幢101室", "G01", ""}},
	{Key: "tags", Name: fault.M("服务对象标签", "Service-object tags"), Columns: []Column{
		{"身份证号", "id_number", "id_number", true}, {"标签", "tag", "tag", true}, {"开始日期", "since", "since", false}, {"结束日期", "until", "until", false},
		{"来源", "source", "source", false}, {"备注", "note", "note", false}, {"详情", "detail", "detail", false},
	}, Example: []string{"11010519491231002X", "低保", "2025-01-01", "", "民政局", "", ""}},
	{Key: "facilities", Name: fault.M("服务设施", "Facilities"), Columns: []Column{
		{"设施编码", "code", "code", true}, {"区划代码", "division_code", "division", true}, {"名称", "name", "name", true}, {"类别", "category", "category", true},
		{"地址", "address", "address", false}, {"经度", "lon", "lon", true}, {"纬度", "lat", "lat", true}, {"建筑面积", "floor_area_m2", "floor_area_m2", false},
		{"容量", "capacities", "capacities", false}, {"开放时间", "opening_hours", "opening_hours", false}, {"状态", "status", "status", false},
	}, Example: []string{"F-330106002051-001", "330106002051", "上保社区居家养老服务照料中心", "居家养老服务照料中心", "", "120.1470", "30.2590", "500", "beds=10;meals_per_day=120", "07:30-18:00", "open"}},
	{Key: "organizations", Name: fault.M("组织", "Organisations"), Columns: []Column{
		{"区划代码", "division_code", "division", true}, {"组织类型", "kind", "kind", true}, {"名称", "name", "name", true}, {"登记证号", "reg_no", "reg_no", false},
		{"机构类别", "org_type", "org_type", false}, {"评估等级", "rating", "rating", false}, {"登记层级", "reg_level", "reg_level", false},
		{"党员占比", "party_share", "party_share", false}, {"地址", "address", "address", false},
	}, Example: []string{"330106002051", "社会组织", "上保社区邻里互助会", "51330106MJ0000000X", "社区社会组织", "3A", "county", "", ""}},
	{Key: "personnel", Name: fault.M("人员", "Personnel"), Columns: []Column{
		{"区划代码", "division_code", "division", true}, {"姓名", "name", "name", true}, {"岗位", "roles", "roles", true}, {"手机号", "phone", "phone", true},
		{"登录账号", "username", "username", false},
	}, Example: []string{"330106002051", "李四", "网格员;志愿者", "13900000000", ""}},
}

// KindByKey finds an import kind.
func KindByKey(k string) (Kind, bool) {
	for _, x := range Kinds {
		if x.Key == k {
			return x, true
		}
	}
	return Kind{}, false
}

// Report is the outcome of a dry run or an import.
type Report struct {
	Kind    string     `json:"kind"`
	DryRun  bool       `json:"dry_run"`
	Rows    int        `json:"rows"`
	Applied bool       `json:"applied"`
	Created int        `json:"created"`
	Updated int        `json:"updated"`
	Errors  []RowError `json:"errors"`
	Extra   BulkResult `json:"residents,omitempty"`
}

// maxErrors bounds a report.
const maxErrors = 1000

// Import checks a CSV or xlsx file of kind and, when apply is set and
// every row is right, writes all of it in one transaction (nothing on any
// error). Re-importing the same file changes nothing new: rows are matched
// by their natural keys.
func (s *Store) Import(ctx context.Context, kind string, data []byte, apply bool, progress func(done, total int)) (Report, error) {
	rep := Report{Kind: kind, DryRun: !apply, Errors: []RowError{}}
	if !canWrite(access.From(ctx)) {
		return rep, errNoWrite
	}
	k, ok := KindByKey(kind)
	if !ok {
		return rep, fault.NotFound(fault.M("不支持的导入类型："+kind, "unknown import kind: "+kind))
	}
	if apply && k.Key == "facilities" {
		defer s.facilitiesWritten()
	}
	tb, err := tabular.Read(data)
	if te, ok := err.(*tabular.Error); ok {
		return rep, fault.Unprocessable(fault.M(te.ZH, te.EN), fault.Field("file", fault.M(te.ZH, te.EN)))
	} else if err != nil {
		return rep, err
	}
	idx, missing := mapHeader(k, tb.Header)
	if len(missing) > 0 {
		var fe []fault.FieldError
		for _, m := range missing {
			fe = append(fe, fault.Field(m, fault.M("缺少必填列“"+m+"”", "required column \""+m+"\" is missing")))
		}
		return rep, fault.Unprocessable(fault.M("缺少必填列："+strings.Join(missing, "、"), "required columns missing: "+strings.Join(missing, ", ")), fe...)
	}
	recs := make([]map[string]string, 0, len(tb.Rows))
	lines := make([]int, 0, len(tb.Rows))
	for i, row := range tb.Rows {
		if row == nil {
			continue
		}
		m := make(map[string]string, len(k.Columns))
		for _, c := range k.Columns {
			if j, ok := idx[c.Header]; ok {
				m[c.Header] = row[j]
			}
		}
		recs = append(recs, m)
		lines = append(lines, i+2)
	}
	rep.Rows = len(recs)
	if rep.Rows == 0 {
		return rep, fault.Unprocessable(fault.M("文件中没有数据行", "the file has no data rows"), fault.Field("file", fault.M("没有数据行", "no data rows")))
	}
	if kind == "residents" {
		return s.importResidents(ctx, rep, recs, lines, apply, progress)
	}
	return s.importRows(ctx, k, rep, recs, lines, apply, progress)
}

func mapHeader(k Kind, header []string) (map[string]int, []string) {
	idx := map[string]int{}
	for j, h := range header {
		for _, c := range k.Columns {
			if strings.EqualFold(h, c.Header) || strings.EqualFold(h, c.Key) || strings.TrimSuffix(h, "*") == c.Header {
				idx[c.Header] = j
			}
		}
	}
	var missing []string
	for _, c := range k.Columns {
		if _, ok := idx[c.Header]; !ok && c.Required {
			missing = append(missing, c.Header)
		}
	}
	return idx, missing
}

func (rep *Report) add(errs ...RowError) {
	for _, e := range errs {
		if len(rep.Errors) < maxErrors {
			rep.Errors = append(rep.Errors, e)
		}
	}
}

// tagKeys resolves tag names or keys separated by ; 、 or ,.
func (s *Store) tagKeys(ctx context.Context) (map[string]string, error) {
	ks, err := s.TagKinds(ctx)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, k := range ks {
		m[k.Key], m[k.NameZH] = k.Key, k.Key
	}
	return m, nil
}

func splitList(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '；' || r == '、' || r == ',' || r == '，' })
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	return f
}

func (s *Store) importResidents(ctx context.Context, rep Report, recs []map[string]string, lines []int, apply bool, progress func(done, total int)) (Report, error) {
	tags, err := s.tagKeys(ctx)
	if err != nil {
		return rep, err
	}
	sc := access.ScopeOf(ctx)
	divOK := map[string]error{}
	seen := make(map[string]int, len(recs))
	rows := make([]ResidentRow, len(recs))
	now := s.Now()
	for i, m := range recs {
		r := ResidentRow{Line: lines[i], Division: m["区划代码"], HouseholdNo: m["户编号"], Address: m["户地址"], Name: m["姓名"], IDNumber: m["身份证号"],
			Relation: m["与户主关系"], Residence: m["户籍类型"], Phone: m["手机号"], Health: m["健康状况"], Disability: m["残疾情况"], Income: m["收入"]}
		if r.Address == "" {
			r.Address = r.HouseholdNo
		}
		e, ok := divOK[r.Division]
		if !ok {
			if !sc.Contains(r.Division) {
				e = fault.Invalid(fault.M("区划 "+r.Division+" 不在您的管辖范围内", "division "+r.Division+" is outside your jurisdiction"))
			} else {
				e = s.checkDivision(ctx, "division", r.Division)
			}
			divOK[r.Division] = e
		}
		if e != nil {
			we, ok := fault.As(e)
			if !ok {
				return rep, e
			}
			rep.add(RowError{Row: r.Line, Column: "区划代码", ZH: we.Msg.ZH, EN: we.Msg.EN})
		}
		rep.add(s.CheckResidentRow(&r, now)...)
		if r.Gender != "" {
			if first, dup := seen[r.IDNumber]; dup {
				rep.add(RowError{Row: r.Line, Column: "身份证号", ZH: fmt.Sprintf("与第 %d 行身份证号重复", first), EN: fmt.Sprintf("same ID number as row %d", first)})
			}
			seen[r.IDNumber] = r.Line
		}
		for _, t := range splitList(m["服务对象标签"]) {
			if key, ok := tags[t]; ok {
				r.Tags = append(r.Tags, key)
			} else {
				rep.add(RowError{Row: r.Line, Column: "服务对象标签", ZH: "标签不在目录中：" + t, EN: "not in the tag catalogue: " + t})
			}
		}
		rows[i] = r
	}
	if len(rep.Errors) > 0 || !apply {
		return rep, nil
	}
	if err := s.mayRegister(ctx); err != nil {
		return rep, err
	}
	var rowErrs []RowError
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, re, err := s.LoadResidents(ctx, tx, rows, func(done int) {
			if progress != nil {
				progress(done, len(rows))
			}
		})
		if err != nil {
			return err
		}
		if len(re) > 0 {
			rowErrs = re
			return errRollback
		}
		rep.Extra = res
		return s.record(ctx, tx, "registry.import", "residents", "", access.From(ctx).Division, map[string]any{"rows": len(rows), "written": res.Residents, "households_created": res.Households, "tags_added": res.Tags})
	})
	if errors.Is(err, errRollback) {
		return s.refuseRows(ctx, rep, rowErrs)
	}
	if err != nil {
		return rep, err
	}
	rep.Applied = true
	rep.Updated = rep.Extra.Residents
	return rep, s.analyze(ctx)
}

// refuseRows reports the rows whose ID numbers could not be registered,
// audited as one refusal. Those registered outside the caller's
// jurisdiction count against the account; an import with more of them than
// the account has left is refused whole, naming none.
func (s *Store) refuseRows(ctx context.Context, rep Report, rowErrs []RowError) (Report, error) {
	elsewhere := 0
	for _, e := range rowErrs {
		if e.elsewhere {
			elsewhere++
		}
	}
	if err := s.auditRefused(ctx, elsewhere > 0, len(rowErrs), ""); err != nil {
		return rep, err
	}
	if elsewhere > 0 && !s.countRefused(ctx, elsewhere) {
		return Report{Kind: rep.Kind, Rows: rep.Rows, Errors: []RowError{}}, errProbing
	}
	rep.add(rowErrs...)
	return rep, nil
}

// errRollback undoes an import whose rows were refused while writing.
var errRollback = errors.New("rollback")

// rowErrors places a refusal of one row on the template's columns.
func rowErrors(line int, we *fault.Error, fieldCol map[string]string) []RowError {
	if len(we.Fields) == 0 {
		return []RowError{{Row: line, ZH: we.Msg.ZH, EN: we.Msg.EN}}
	}
	var out []RowError
	for _, f := range we.Fields {
		col := fieldCol[f.Field]
		if col == "" {
			col = f.Field
		}
		out = append(out, RowError{Row: line, Column: col, ZH: f.Message, EN: f.MessageEN})
	}
	return out
}

// importRows handles the smaller kinds row by row with the same
// validation as the API; the natural keys make re-imports idempotent.
func (s *Store) importRows(ctx context.Context, k Kind, rep Report, recs []map[string]string, lines []int, apply bool, progress func(done, total int)) (Report, error) {
	fieldCol := map[string]string{}
	for _, c := range k.Columns {
		fieldCol[c.Field] = c.Header
	}
	ops := make([]rowOp, 0, len(recs))
	seen := map[string]int{}
	for i, m := range recs {
		line := lines[i]
		op, key, err := s.prepareRow(ctx, k.Key, m)
		if err != nil {
			we, ok := fault.As(err)
			if !ok {
				return rep, err
			}
			rep.add(rowErrors(line, we, fieldCol)...)
			continue
		}
		if first, dup := seen[key]; dup {
			rep.add(RowError{Row: line, ZH: fmt.Sprintf("与第 %d 行重复", first), EN: fmt.Sprintf("duplicates row %d", first)})
			continue
		}
		seen[key] = line
		ops = append(ops, op)
	}
	if len(rep.Errors) > 0 || !apply {
		return rep, nil
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for i, op := range ops {
			created, err := op(tx)
			if err != nil {
				if we, ok := fault.As(err); ok {
					rep.add(rowErrors(lines[i], we, fieldCol)...)
					return errRollback
				}
				return err
			}
			if created {
				rep.Created++
			} else {
				rep.Updated++
			}
			if progress != nil && (i%500 == 0 || i == len(ops)-1) {
				progress(i+1, len(ops))
			}
		}
		return s.record(ctx, tx, "registry.import", k.Key, "", access.From(ctx).Division, map[string]any{"rows": len(ops), "created": rep.Created, "updated": rep.Updated})
	})
	if errors.Is(err, errRollback) {
		rep.Created, rep.Updated = 0, 0
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	rep.Applied = true
	return rep, s.analyze(ctx)
}

func parseNum(field, v string) (float64, error) {
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fault.Invalid(fault.M("须为数字", "must be a number"), fault.Field(field, fault.M("须为数字："+v, "must be a number: "+v)))
	}
	return f, nil
}
