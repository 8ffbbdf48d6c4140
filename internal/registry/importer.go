package registry

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/db"
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
			we, _ := e.(*fault.Error)
			msg := fault.M("区划代码无效", "invalid division")
			if we != nil {
				msg = we.Msg
			}
			rep.add(RowError{Row: r.Line, Column: "区划代码", ZH: msg.ZH, EN: msg.EN})
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
	if err == errRollback {
		rep.add(rowErrs...)
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	rep.Applied = true
	rep.Updated = rep.Extra.Residents
	return rep, nil
}

var errRollback = fmt.Errorf("rollback")

// importRows handles the smaller kinds row by row with the same
// validation as the API; the natural keys make re-imports idempotent.
func (s *Store) importRows(ctx context.Context, k Kind, rep Report, recs []map[string]string, lines []int, apply bool, progress func(done, total int)) (Report, error) {
	fieldCol := map[string]string{}
	for _, c := range k.Columns {
		fieldCol[c.Field] = c.Header
	}
	toRowErrs := func(line int, err error) []RowError {
		we, ok := err.(*fault.Error)
		if !ok {
			return []RowError{{Row: line, ZH: err.Error(), EN: err.Error()}}
		}
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
	ops := make([]func(tx *sql.Tx) (bool, error), 0, len(recs))
	seen := map[string]int{}
	for i, m := range recs {
		line := lines[i]
		op, key, err := s.prepareRow(ctx, k.Key, m)
		if err != nil {
			rep.add(toRowErrs(line, err)...)
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
				if we, ok := err.(*fault.Error); ok {
					rep.add(toRowErrs(lines[i], we)...)
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
	if err == errRollback {
		rep.Created, rep.Updated = 0, 0
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	rep.Applied = true
	return rep, nil
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

// existing finds a row by natural key inside the caller's scope.
func existing(ctx context.Context, tx *sql.Tx, q string, args ...any) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, q, args...).Scan(&id)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return id, err
}

// prepareRow validates one row and returns the write to run at apply time
// and the row's natural key.
func (s *Store) prepareRow(ctx context.Context, kind string, m map[string]string) (func(tx *sql.Tx) (bool, error), string, error) {
	now := db.T(s.Now())
	sc := access.ScopeOf(ctx)
	switch kind {
	case "households":
		in := HouseholdInput{Division: m["区划代码"], HouseholdNo: m["户编号"], Address: m["地址"], Note: m["备注"]}
		if g := m["网格编码"]; g != "" {
			if err := s.DB.R.QueryRowContext(ctx, `SELECT id FROM reg_grids WHERE division_code = $1 AND code = $2`, in.Division, g).Scan(&in.GridID); err != nil {
				in.GridID = "missing:" + g
			}
		}
		if err := s.validHousehold(ctx, &in); err != nil {
			return nil, "", err
		}
		return func(tx *sql.Tx) (bool, error) {
			id, err := existing(ctx, tx, `SELECT id FROM reg_households WHERE division_code = $1 AND household_no = $2`, in.Division, in.HouseholdNo)
			if err != nil {
				return false, err
			}
			if id != "" {
				_, err = tx.ExecContext(ctx, `UPDATE reg_households SET address=$1, grid_id=$2, note=$3, updated_at=$4 WHERE id=$5`, in.Address, nullable(in.GridID), in.Note, now, id)
				return false, err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO reg_households (id, division_code, household_no, grid_id, address, note, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$7)`,
				db.NewID(), in.Division, in.HouseholdNo, nullable(in.GridID), in.Address, in.Note, now)
			return true, err
		}, in.Division + "/" + in.HouseholdNo, nil
	case "facilities":
		lon, err1 := parseNum("lon", m["经度"])
		lat, err2 := parseNum("lat", m["纬度"])
		area, err3 := parseNum("floor_area_m2", m["建筑面积"])
		for _, e := range []error{err1, err2, err3} {
			if e != nil {
				return nil, "", e
			}
		}
		caps := map[string]float64{}
		for _, kv := range splitList(m["容量"]) {
			k, v, _ := strings.Cut(kv, "=")
			f, err := parseNum("capacities", v)
			if err != nil {
				return nil, "", err
			}
			caps[strings.TrimSpace(k)] = f
		}
		in := FacilityInput{Division: m["区划代码"], Code: m["设施编码"], Name: m["名称"], Category: m["类别"], Address: m["地址"], Lon: lon, Lat: lat,
			FloorArea: area, Capacities: caps, OpeningHours: m["开放时间"], Status: m["状态"]}
		if err := s.validFacility(ctx, &in); err != nil {
			return nil, "", err
		}
		return func(tx *sql.Tx) (bool, error) {
			var id, code string
			err := tx.QueryRowContext(ctx, `SELECT id, division_code FROM reg_facilities WHERE code = $1`, in.Code).Scan(&id, &code)
			if err == sql.ErrNoRows {
				return true, insertFacility(ctx, tx, db.NewID(), in, now)
			} else if err != nil {
				return false, err
			}
			if !sc.Contains(code) {
				return false, fault.Invalid(fault.M("设施编码已被其他辖区使用", "the facility code is used outside your jurisdiction"), fault.Field("code", fault.M("设施编码已被其他辖区使用", "used outside your jurisdiction")))
			}
			_, err = tx.ExecContext(ctx, `UPDATE reg_facilities SET division_code=$1, name=$2, category=$3, address=$4, lon=$5, lat=$6, floor_area=$7, capacities=$8, opening_hours=$9, status=$10, tier=$11, updated_at=$12 WHERE id=$13`,
				in.Division, in.Name, in.Category, in.Address, in.Lon, in.Lat, in.FloorArea, capsJSON(in.Capacities), in.OpeningHours, in.Status, in.Tier, now, id)
			return false, err
		}, in.Code, nil
	case "organizations":
		in := OrganizationInput{Division: m["区划代码"], Kind: m["组织类型"], Name: m["名称"], RegNo: m["登记证号"], OrgType: m["机构类别"], Rating: m["评估等级"], RegLevel: m["登记层级"], Address: m["地址"]}
		if v := m["党员占比"]; v != "" {
			f, err := parseNum("party_share", strings.TrimSuffix(v, "%"))
			if err != nil {
				return nil, "", err
			}
			if strings.HasSuffix(v, "%") {
				f /= 100
			}
			in.PartyShare = &f
		}
		if err := s.validOrg(ctx, &in); err != nil {
			return nil, "", err
		}
		key := in.RegNo
		if key == "" {
			key = in.Division + "/" + in.Kind + "/" + in.Name
		}
		return func(tx *sql.Tx) (bool, error) {
			var id, code string
			var err error
			if in.RegNo != "" {
				err = tx.QueryRowContext(ctx, `SELECT id, division_code FROM reg_organizations WHERE reg_no = $1`, in.RegNo).Scan(&id, &code)
			} else {
				err = tx.QueryRowContext(ctx, `SELECT id, division_code FROM reg_organizations WHERE division_code = $1 AND kind = $2 AND name = $3 AND reg_no IS NULL`, in.Division, in.Kind, in.Name).Scan(&id, &code)
			}
			if err == sql.ErrNoRows {
				_, err = tx.ExecContext(ctx, `INSERT INTO reg_organizations (id, division_code, kind, name, reg_no, org_type, rating, reg_level, party_share, address, created_at, updated_at)
					VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)`, db.NewID(), in.Division, in.Kind, in.Name, nullable(in.RegNo), in.OrgType, in.Rating, in.RegLevel, partyArg(in.PartyShare), in.Address, now)
				return true, err
			} else if err != nil {
				return false, err
			}
			if !sc.Contains(code) {
				return false, fault.Invalid(fault.M("登记证号已被其他辖区使用", "the registration number is used outside your jurisdiction"), fault.Field("reg_no", fault.M("已被其他辖区使用", "used outside your jurisdiction")))
			}
			_, err = tx.ExecContext(ctx, `UPDATE reg_organizations SET division_code=$1, kind=$2, name=$3, org_type=$4, rating=$5, reg_level=$6, party_share=$7, address=$8, updated_at=$9 WHERE id=$10`,
				in.Division, in.Kind, in.Name, in.OrgType, in.Rating, in.RegLevel, partyArg(in.PartyShare), in.Address, now, id)
			return false, err
		}, key, nil
	case "personnel":
		in := PersonInput{Division: m["区划代码"], Name: m["姓名"], Roles: splitList(m["岗位"]), Phone: m["手机号"], Username: m["登录账号"]}
		if in.Phone == "" {
			return nil, "", fault.Invalid(fault.M("手机号不能为空", "phone is required"), fault.Field("phone", fault.M("导入人员须填手机号（用于去重）", "personnel imports need a phone (the natural key)")))
		}
		if err := s.validPerson(ctx, &in); err != nil {
			return nil, "", err
		}
		roles, attrs, enc, idx, mask := s.personArgs(in)
		return func(tx *sql.Tx) (bool, error) {
			id, err := existing(ctx, tx, `SELECT id FROM reg_personnel WHERE division_code = $1 AND phone_idx = $2`, in.Division, idx)
			if err != nil {
				return false, err
			}
			if id != "" {
				_, err = tx.ExecContext(ctx, `UPDATE reg_personnel SET name=$1, roles=$2, username=$3, updated_at=$4 WHERE id=$5`, in.Name, roles, in.Username, now, id)
				return false, err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO reg_personnel (id, division_code, name, roles, attrs, org_id, username, phone_enc, phone_idx, phone_mask, created_at, updated_at)
				VALUES ($1,$2,$3,$4,$5,NULL,$6,$7,$8,$9,$10,$10)`, db.NewID(), in.Division, in.Name, roles, attrs, in.Username, enc, idx, mask, now)
			return true, err
		}, in.Division + "/" + idx, nil
	case "tags":
		tags, err := s.tagKeys(ctx)
		if err != nil {
			return nil, "", err
		}
		in := TagInput{Tag: tags[m["标签"]], Since: m["开始日期"], Until: m["结束日期"], Source: m["来源"], Note: m["备注"], Detail: m["详情"]}
		if in.Tag == "" {
			in.Tag = m["标签"]
		}
		info, perr := parseID(m["身份证号"], s.Now())
		if perr != nil {
			return nil, "", perr
		}
		if err := s.validTag(ctx, &in); err != nil {
			return nil, "", err
		}
		var rid, code string
		err = s.DB.R.QueryRowContext(ctx, `SELECT id, division_code FROM reg_residents WHERE id_idx = $1 AND division_code >= $2 AND division_code < $3`,
			s.Keys.Index("id_number", info), sc.Lo, sc.Hi).Scan(&rid, &code)
		if err != nil {
			return nil, "", fault.Invalid(fault.M("居民未登记或不在您的管辖范围内", "resident not registered in your jurisdiction"), fault.Field("id_number", fault.M("居民未登记或不在您的管辖范围内", "resident not registered in your jurisdiction")))
		}
		active := in.Until == "" || in.Until >= s.today()
		return func(tx *sql.Tx) (bool, error) {
			res, err := tx.ExecContext(ctx, `INSERT INTO reg_resident_tags (id, resident_id, division_code, tag, since_date, until_date, source, note, detail, active, created_at)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT (resident_id, tag, since_date) DO NOTHING`, db.NewID(), rid, code, in.Tag, in.Since, in.Until, in.Source, in.Note, in.Detail, active, now)
			if err != nil {
				return false, err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				if active {
					return true, s.adjustTags(ctx, tx, code, in.Tag, 1)
				}
				return true, nil
			}
			return false, nil
		}, rid + "/" + in.Tag + "/" + in.Since, nil
	}
	return nil, "", fault.NotFound(fault.M("不支持的导入类型", "unknown import kind"))
}
