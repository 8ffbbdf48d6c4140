package registry

import (
	"context"
	"database/sql"
	"strings"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
)

// rowOp is the write of one checked import row, run at apply time; it
// tells whether it created a record (else it updated one or found it
// there already).
type rowOp func(tx *sql.Tx) (created bool, err error)

// prepareRow validates one row and returns the write to run at apply time
// and the row's natural key.
func (s *Store) prepareRow(ctx context.Context, kind string, m map[string]string) (rowOp, string, error) {
	switch kind {
	case "households":
		return s.prepareHousehold(ctx, m)
	case "facilities":
		return s.prepareFacility(ctx, m)
	case "organizations":
		return s.prepareOrganization(ctx, m)
	case "personnel":
		return s.preparePerson(ctx, m)
	case "tags":
		return s.prepareTag(ctx, m)
	}
	return nil, "", fault.NotFound(fault.M("不支持的导入类型", "unknown import kind"))
}

// lookup reads the one text column of the row a query may find ("" for none).
func lookup(ctx context.Context, q rowReader, query string, args ...any) (string, error) {
	var id string
	_, err := found(q.QueryRowContext(ctx, query, args...), &id)
	return id, err
}

func (s *Store) prepareHousehold(ctx context.Context, m map[string]string) (rowOp, string, error) {
	in := HouseholdInput{Division: m["区划代码"], HouseholdNo: m["户编号"], Address: m["地址"], Note: m["备注"]}
	if g := m["网格编码"]; g != "" {
		id, err := lookup(ctx, s.DB.R, `SELECT id FROM reg_grids WHERE division_code = $1 AND code = $2`, in.Division, g)
		if err != nil {
			return nil, "", err
		}
		in.GridID = id
		if id == "" {
			in.GridID = "missing:" + g // refused by validHousehold with the grid's message
		}
	}
	if err := s.validHousehold(ctx, &in); err != nil {
		return nil, "", err
	}
	now := db.T(s.Now())
	return func(tx *sql.Tx) (bool, error) {
		id, err := lookup(ctx, tx, `SELECT id FROM reg_households WHERE division_code = $1 AND household_no = $2`, in.Division, in.HouseholdNo)
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
}

// facilityRow reads a facility's numbers and capacities ("beds=10;seats=40").
func facilityRow(m map[string]string) (FacilityInput, error) {
	in := FacilityInput{Division: m["区划代码"], Code: m["设施编码"], Name: m["名称"], Category: m["类别"], Address: m["地址"],
		OpeningHours: m["开放时间"], Status: m["状态"], Capacities: map[string]float64{}}
	for _, n := range []struct {
		to         *float64
		field, col string
	}{{&in.Lon, "lon", "经度"}, {&in.Lat, "lat", "纬度"}, {&in.FloorArea, "floor_area_m2", "建筑面积"}} {
		v, err := parseNum(n.field, m[n.col])
		if err != nil {
			return in, err
		}
		*n.to = v
	}
	for _, kv := range splitList(m["容量"]) {
		k, v, _ := strings.Cut(kv, "=")
		f, err := parseNum("capacities", v)
		if err != nil {
			return in, err
		}
		in.Capacities[strings.TrimSpace(k)] = f
	}
	return in, nil
}

func (s *Store) prepareFacility(ctx context.Context, m map[string]string) (rowOp, string, error) {
	in, err := facilityRow(m)
	if err != nil {
		return nil, "", err
	}
	if err := s.validFacility(ctx, &in); err != nil {
		return nil, "", err
	}
	caps, err := capsJSON(in.Capacities)
	if err != nil {
		return nil, "", err
	}
	now := db.T(s.Now())
	sc := access.ScopeOf(ctx)
	return func(tx *sql.Tx) (bool, error) {
		var id, code string
		ok, err := found(tx.QueryRowContext(ctx, `SELECT id, division_code FROM reg_facilities WHERE code = $1`, in.Code), &id, &code)
		if err != nil {
			return false, err
		}
		if !ok {
			return true, insertFacility(ctx, tx, db.NewID(), in, now)
		}
		if !sc.Contains(code) {
			return false, fault.Invalid(fault.M("设施编码已被其他辖区使用", "the facility code is used outside your jurisdiction"), fault.Field("code", fault.M("设施编码已被其他辖区使用", "used outside your jurisdiction")))
		}
		_, err = tx.ExecContext(ctx, `UPDATE reg_facilities SET division_code=$1, name=$2, category=$3, address=$4, lon=$5, lat=$6, floor_area=$7, capacities=$8, opening_hours=$9, status=$10, tier=$11, updated_at=$12 WHERE id=$13`,
			in.Division, in.Name, in.Category, in.Address, in.Lon, in.Lat, in.FloorArea, caps, in.OpeningHours, in.Status, in.Tier, now, id)
		return false, err
	}, in.Code, nil
}

func (s *Store) prepareOrganization(ctx context.Context, m map[string]string) (rowOp, string, error) {
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
	// The registration number is the natural key; without one, the name
	// within the community and kind.
	key := in.RegNo
	if key == "" {
		key = in.Division + "/" + in.Kind + "/" + in.Name
	}
	now := db.T(s.Now())
	sc := access.ScopeOf(ctx)
	return func(tx *sql.Tx) (bool, error) {
		var id, code string
		var row *sql.Row
		if in.RegNo != "" {
			row = tx.QueryRowContext(ctx, `SELECT id, division_code FROM reg_organizations WHERE reg_no = $1`, in.RegNo)
		} else {
			row = tx.QueryRowContext(ctx, `SELECT id, division_code FROM reg_organizations WHERE division_code = $1 AND kind = $2 AND name = $3 AND reg_no IS NULL`, in.Division, in.Kind, in.Name)
		}
		ok, err := found(row, &id, &code)
		if err != nil {
			return false, err
		}
		if !ok {
			_, err = tx.ExecContext(ctx, `INSERT INTO reg_organizations (id, division_code, kind, name, reg_no, org_type, rating, reg_level, party_share, address, created_at, updated_at)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)`, db.NewID(), in.Division, in.Kind, in.Name, nullable(in.RegNo), in.OrgType, in.Rating, in.RegLevel, partyArg(in.PartyShare), in.Address, now)
			return true, err
		}
		if !sc.Contains(code) {
			return false, fault.Invalid(fault.M("登记证号已被其他辖区使用", "the registration number is used outside your jurisdiction"), fault.Field("reg_no", fault.M("已被其他辖区使用", "used outside your jurisdiction")))
		}
		_, err = tx.ExecContext(ctx, `UPDATE reg_organizations SET division_code=$1, kind=$2, name=$3, org_type=$4, rating=$5, reg_level=$6, party_share=$7, address=$8, updated_at=$9 WHERE id=$10`,
			in.Division, in.Kind, in.Name, in.OrgType, in.Rating, in.RegLevel, partyArg(in.PartyShare), in.Address, now, id)
		return false, err
	}, key, nil
}

func (s *Store) preparePerson(ctx context.Context, m map[string]string) (rowOp, string, error) {
	in := PersonInput{Division: m["区划代码"], Name: m["姓名"], Roles: splitList(m["岗位"]), Phone: m["手机号"], Username: m["登录账号"]}
	if in.Phone == "" {
		return nil, "", fault.Invalid(fault.M("手机号不能为空", "phone is required"), fault.Field("phone", fault.M("导入人员须填手机号（用于去重）", "personnel imports need a phone (the natural key)")))
	}
	if err := s.validPerson(ctx, &in); err != nil {
		return nil, "", err
	}
	pr, err := s.personRow(in)
	if err != nil {
		return nil, "", err
	}
	now := db.T(s.Now())
	return func(tx *sql.Tx) (bool, error) {
		id, err := lookup(ctx, tx, `SELECT id FROM reg_personnel WHERE division_code = $1 AND phone_idx = $2`, in.Division, pr.idx)
		if err != nil {
			return false, err
		}
		if id != "" {
			_, err = tx.ExecContext(ctx, `UPDATE reg_personnel SET name=$1, roles=$2, username=$3, updated_at=$4 WHERE id=$5`, in.Name, pr.roles, in.Username, now, id)
			return false, err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO reg_personnel (id, division_code, name, roles, attrs, org_id, username, phone_enc, phone_idx, phone_mask, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,NULL,$6,$7,$8,$9,$10,$10)`, db.NewID(), in.Division, in.Name, pr.roles, pr.attrs, in.Username, pr.enc, pr.idx, pr.mask, now)
		return true, err
	}, in.Division + "/" + pr.idx, nil
}

var errTagResident = fault.Invalid(fault.M("居民未登记或不在您的管辖范围内", "resident not registered in your jurisdiction"),
	fault.Field("id_number", fault.M("居民未登记或不在您的管辖范围内", "resident not registered in your jurisdiction")))

func (s *Store) prepareTag(ctx context.Context, m map[string]string) (rowOp, string, error) {
	tags, err := s.tagKeys(ctx)
	if err != nil {
		return nil, "", err
	}
	in := TagInput{Tag: tags[m["标签"]], Since: m["开始日期"], Until: m["结束日期"], Source: m["来源"], Note: m["备注"], Detail: m["详情"]}
	if in.Tag == "" {
		in.Tag = m["标签"]
	}
	number, err := parseID(m["身份证号"], s.Now())
	if err != nil {
		return nil, "", err
	}
	if err := s.validTag(ctx, &in); err != nil {
		return nil, "", err
	}
	var rid, code string
	sc := access.ScopeOf(ctx)
	ok, err := found(s.DB.R.QueryRowContext(ctx, `SELECT id, division_code FROM reg_residents WHERE id_idx = $1 AND division_code >= $2 AND division_code < $3`,
		s.Keys.Index("id_number", number), sc.Lo, sc.Hi), &rid, &code)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", errTagResident
	}
	active := in.Until == "" || in.Until >= s.today()
	now := db.T(s.Now())
	return func(tx *sql.Tx) (bool, error) {
		res, err := tx.ExecContext(ctx, `INSERT INTO reg_resident_tags (id, resident_id, division_code, tag, since_date, until_date, source, note, detail, active, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT (resident_id, tag, since_date) DO NOTHING`, db.NewID(), rid, code, in.Tag, in.Since, in.Until, in.Source, in.Note, in.Detail, active, now)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return false, err // already tagged from that date
		}
		if active {
			return true, s.adjustTags(ctx, tx, code, in.Tag, 1)
		}
		return true, nil
	}, rid + "/" + in.Tag + "/" + in.Since, nil
}
