package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/registry/idno"
)

// Zhejiang's bounding box (WGS-84), with a small margin for islands.
const (
	MinLon, MaxLon = 118.0, 123.3
	MinLat, MaxLat = 27.0, 31.3
)

// InZhejiang tells whether a WGS-84 point lies in Zhejiang's bounding box.
func InZhejiang(lon, lat float64) bool {
	return lon >= MinLon && lon <= MaxLon && lat >= MinLat && lat <= MaxLat
}

// Facility is a service resource (服务资源).
type Facility struct {
	ID           string             `json:"id"`
	Division     string             `json:"division"`
	Code         string             `json:"code"`
	Name         string             `json:"name"`
	Category     string             `json:"category"`
	Address      string             `json:"address"`
	Lon          float64            `json:"lon"`
	Lat          float64            `json:"lat"`
	FloorArea    float64            `json:"floor_area_m2"`
	Capacities   map[string]float64 `json:"capacities"`
	OpeningHours string             `json:"opening_hours"`
	OperatorID   string             `json:"operator_id,omitempty"`
	Status       string             `json:"status"`
	Tier         string             `json:"tier"`
	DistanceM    float64            `json:"distance_m,omitempty"`
	CreatedAt    time.Time          `json:"created_at"`
	UpdatedAt    time.Time          `json:"updated_at"`
}

// FacilityInput creates or replaces a facility.
type FacilityInput struct {
	Division     string             `json:"division"`
	Code         string             `json:"code"`
	Name         string             `json:"name"`
	Category     string             `json:"category"`
	Address      string             `json:"address"`
	Lon          float64            `json:"lon"`
	Lat          float64            `json:"lat"`
	FloorArea    float64            `json:"floor_area_m2"`
	Capacities   map[string]float64 `json:"capacities,omitempty"`
	OpeningHours string             `json:"opening_hours,omitempty"`
	OperatorID   string             `json:"operator_id,omitempty"`
	Status       string             `json:"status,omitempty"`
	Tier         string             `json:"tier,omitempty"`
}

var facilityStatuses = map[string][2]string{"open": {"运营中", "Open"}, "building": {"建设中", "Being built"}, "closed": {"已停用", "Closed"}}

// Filter narrows a list of facilities, organisations, personnel or grids.
type Filter struct {
	Division string
	Category string // facility category, organisation kind or personnel role
	Q        string // name contains
}

const facilityCols = `f.id, f.division_code, f.code, f.name, f.category, f.address, f.lon, f.lat, f.floor_area, f.capacities, f.opening_hours,
	COALESCE(f.operator_id, ''), f.status, f.tier, f.created_at, f.updated_at`

func scanFacility(row interface{ Scan(...any) error }) (Facility, error) {
	var f Facility
	var caps string
	var c, u db.Time
	err := row.Scan(&f.ID, &f.Division, &f.Code, &f.Name, &f.Category, &f.Address, &f.Lon, &f.Lat, &f.FloorArea, &caps, &f.OpeningHours, &f.OperatorID, &f.Status, &f.Tier, &c, &u)
	f.CreatedAt, f.UpdatedAt = c.Time, u.Time
	f.Capacities = map[string]float64{}
	json.Unmarshal([]byte(caps), &f.Capacities)
	return f, err
}

func (s *Store) resourceWhere(ctx context.Context, alias string, f Filter) (*where, error) {
	if !canReadResources(access.From(ctx)) {
		return nil, errNoRead
	}
	if err := checkFilterDivision(f.Division); err != nil {
		return nil, err
	}
	w := &where{}
	w.scope(ctx, alias+".division_code", f.Division)
	if q := strings.TrimSpace(f.Q); q != "" {
		w.add(alias+`.name LIKE ? ESCAPE '\'`, "%"+likeEscape(q)+"%")
	}
	return w, nil
}

// ListFacilities returns a page of facilities in scope.
func (s *Store) ListFacilities(ctx context.Context, f Filter, offset, limit int) ([]Facility, int, error) {
	w, err := s.resourceWhere(ctx, "f", f)
	if err != nil {
		return nil, 0, err
	}
	if f.Category != "" {
		w.add("f.category = ?", f.Category)
	}
	var total int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM reg_facilities f WHERE `+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := s.facilities(ctx, `SELECT `+facilityCols+` FROM reg_facilities f WHERE `+w.sql()+` ORDER BY f.division_code, f.category, f.name LIMIT `+itoa(limit)+` OFFSET `+itoa(offset), w.args...)
	return out, total, err
}

func (s *Store) facilities(ctx context.Context, q string, args ...any) ([]Facility, error) {
	rows, err := s.DB.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Facility
	for rows.Next() {
		f, err := scanFacility(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

var errFacilityNotFound = notFound(fault.M("设施不存在或不在您的管辖范围内", "facility not found or outside your jurisdiction"))

// GetFacility returns one facility in scope.
func (s *Store) GetFacility(ctx context.Context, id string) (Facility, error) {
	w, err := s.resourceWhere(ctx, "f", Filter{})
	if err != nil {
		return Facility{}, err
	}
	w.add("f.id = ?", id)
	f, err := scanFacility(s.DB.R.QueryRowContext(ctx, `SELECT `+facilityCols+` FROM reg_facilities f WHERE `+w.sql(), w.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return f, errFacilityNotFound
	}
	return f, err
}

// Distance is the great-circle distance in metres (haversine).
func Distance(lon1, lat1, lon2, lat2 float64) float64 {
	const r = 6371008.8
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// Nearby lists facilities in scope within radius metres of a point,
// nearest first: a bounding-box range on the (lat, lon) index, then the
// exact distance.
func (s *Store) Nearby(ctx context.Context, lon, lat, radius float64, category string, limit int) ([]Facility, error) {
	var errs []fault.FieldError
	if !InZhejiang(lon, lat) {
		errs = append(errs, fault.Field("lon", fault.M("坐标不在浙江省范围内（经度 118.0–123.3，纬度 27.0–31.3）", "the point is outside Zhejiang (lon 118.0–123.3, lat 27.0–31.3)")))
	}
	if !(radius > 0 && radius <= 50000) {
		errs = append(errs, fault.Field("radius_m", fault.M("半径须为 1–50000 米", "radius must be 1–50000 metres")))
	}
	if len(errs) > 0 {
		return nil, fault.Invalid(fault.M("查询参数有误", "invalid query"), errs...)
	}
	w, err := s.resourceWhere(ctx, "f", Filter{})
	if err != nil {
		return nil, err
	}
	dlat := radius / 111195.0
	dlon := dlat / math.Cos(lat*math.Pi/180)
	w.add("f.lat >= ? AND f.lat <= ? AND f.lon >= ? AND f.lon <= ?", lat-dlat, lat+dlat, lon-dlon, lon+dlon)
	if category != "" {
		w.add("f.category = ?", category)
	}
	all, err := s.facilities(ctx, `SELECT `+facilityCols+` FROM reg_facilities f WHERE `+w.sql(), w.args...)
	if err != nil {
		return nil, err
	}
	out := []Facility{}
	for _, f := range all {
		if d := Distance(lon, lat, f.Lon, f.Lat); d <= radius {
			f.DistanceM = math.Round(d)
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DistanceM < out[j].DistanceM })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// validFacility checks a facility and names every bad field.
func (s *Store) validFacility(ctx context.Context, in *FacilityInput) error {
	if err := s.checkDivision(ctx, "division", in.Division); err != nil {
		return err
	}
	var errs []fault.FieldError
	bad := func(f, zh, en string) { errs = append(errs, fault.Field(f, fault.M(zh, en))) }
	in.Code, in.Name = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name)
	if in.Code == "" || len(in.Code) > 40 {
		bad("code", "请填写设施编码（不超过 40 字符）", "enter a facility code of at most 40 characters")
	}
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 100 {
		bad("name", "请填写名称（不超过 100 字）", "enter a name of at most 100 characters")
	}
	var tier string
	if err := s.DB.R.QueryRowContext(ctx, `SELECT tier FROM reg_facility_categories WHERE key = $1 OR name_zh = $1`, in.Category).Scan(&tier); err != nil {
		bad("category", "设施类别不在目录中："+in.Category, "not in the facility catalogue: "+in.Category)
	} else {
		s.DB.R.QueryRowContext(ctx, `SELECT key FROM reg_facility_categories WHERE key = $1 OR name_zh = $1`, in.Category).Scan(&in.Category)
	}
	if in.Tier == "" {
		in.Tier = tier
	}
	if !InZhejiang(in.Lon, in.Lat) {
		bad("lon", "坐标不在浙江省范围内（WGS-84 经度 118.0–123.3，纬度 27.0–31.3）", "the location is outside Zhejiang (WGS-84 lon 118.0–123.3, lat 27.0–31.3)")
		bad("lat", "坐标不在浙江省范围内", "the location is outside Zhejiang")
	}
	if in.FloorArea < 0 || in.FloorArea > 1e6 || math.IsNaN(in.FloorArea) {
		bad("floor_area_m2", "建筑面积须为 0–1000000 平方米", "floor area must be 0–1,000,000 m²")
	}
	for k, v := range in.Capacities {
		if v < 0 || k == "" || len(k) > 40 || math.IsNaN(v) {
			bad("capacities", "容量须为非负数", "capacities must be non-negative")
			break
		}
	}
	if in.Status == "" {
		in.Status = "open"
	}
	if _, ok := facilityStatuses[in.Status]; !ok {
		bad("status", "状态须为 open/building/closed", "status must be open, building or closed")
	}
	if in.OperatorID != "" {
		var one int
		sc := access.ScopeOf(ctx)
		if s.DB.R.QueryRowContext(ctx, `SELECT 1 FROM reg_organizations WHERE id = $1 AND division_code >= $2 AND division_code < $3`, in.OperatorID, sc.Lo, sc.Hi).Scan(&one) != nil {
			bad("operator_id", "运营机构不存在或不在您的管辖范围内", "operator not found in your jurisdiction")
		}
	}
	if len(errs) > 0 {
		return fault.Invalid(fault.M("设施信息有误", "the facility has errors"), errs...)
	}
	return nil
}

func capsJSON(m map[string]float64) string {
	if m == nil {
		m = map[string]float64{}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

var errDupFacility = fault.Invalid(fault.M("设施编码已存在", "a facility with this code exists"), fault.Field("code", fault.M("设施编码须唯一", "facility codes are unique")))

// CreateFacility adds a facility.
func (s *Store) CreateFacility(ctx context.Context, in FacilityInput) (Facility, error) {
	if !canWrite(access.From(ctx)) {
		return Facility{}, errNoWrite
	}
	if err := s.validFacility(ctx, &in); err != nil {
		return Facility{}, err
	}
	id := db.NewID()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := insertFacility(ctx, tx, id, in, db.T(s.now())); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.facility.create", "facility", id, in.Division, nil)
	})
	if err != nil {
		return Facility{}, err
	}
	return s.GetFacility(ctx, id)
}

func insertFacility(ctx context.Context, tx *sql.Tx, id string, in FacilityInput, now db.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO reg_facilities (id, division_code, code, name, category, address, lon, lat, floor_area, capacities, opening_hours, operator_id, status, tier, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$15)`,
		id, in.Division, in.Code, in.Name, in.Category, in.Address, in.Lon, in.Lat, in.FloorArea, capsJSON(in.Capacities), in.OpeningHours, nullable(in.OperatorID), in.Status, in.Tier, now)
	if db.IsUniqueViolation(err) {
		return errDupFacility
	}
	return err
}

// UpdateFacility replaces a facility in scope.
func (s *Store) UpdateFacility(ctx context.Context, id string, in FacilityInput) (Facility, error) {
	if !canWrite(access.From(ctx)) {
		return Facility{}, errNoWrite
	}
	cur, err := s.GetFacility(ctx, id)
	if err != nil {
		return cur, err
	}
	if in.Division == "" {
		in.Division = cur.Division
	}
	if err := s.validFacility(ctx, &in); err != nil {
		return cur, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := execUnique(ctx, tx, errDupFacility, `UPDATE reg_facilities SET division_code=$1, code=$2, name=$3, category=$4, address=$5, lon=$6, lat=$7, floor_area=$8, capacities=$9,
			opening_hours=$10, operator_id=$11, status=$12, tier=$13, updated_at=$14 WHERE id=$15 AND division_code=$16`,
			in.Division, in.Code, in.Name, in.Category, in.Address, in.Lon, in.Lat, in.FloorArea, capsJSON(in.Capacities), in.OpeningHours, nullable(in.OperatorID), in.Status, in.Tier, db.T(s.now()), id, cur.Division); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.facility.update", "facility", id, in.Division, nil)
	})
	if err != nil {
		return cur, err
	}
	return s.GetFacility(ctx, id)
}

// deleteScoped deletes one row of table in scope and audits it.
func (s *Store) deleteScoped(ctx context.Context, table, object, id string, nf error) error {
	if !canWrite(access.From(ctx)) {
		return errNoWrite
	}
	sc := access.ScopeOf(ctx)
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var code string
		err := tx.QueryRowContext(ctx, `SELECT division_code FROM `+table+` WHERE id = $1 AND division_code >= $2 AND division_code < $3`, id, sc.Lo, sc.Hi).Scan(&code)
		if errors.Is(err, sql.ErrNoRows) {
			return nf
		} else if err != nil {
			return err
		}
		if isVersioned(table) {
			// The last version ends now, by the application's clock.
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET updated_at = $1 WHERE id = $2`, db.T(s.now()), id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = $1`, id); err != nil {
			if strings.Contains(err.Error(), "FOREIGN KEY") || strings.Contains(err.Error(), "23503") {
				return fault.Conflict(fault.M("仍有其他记录引用它，不能删除", "other records still refer to it"))
			}
			return err
		}
		return s.record(ctx, tx, "registry."+object+".delete", object, id, code, nil)
	})
}

// DeleteFacility removes a facility in scope.
func (s *Store) DeleteFacility(ctx context.Context, id string) error {
	return s.deleteScoped(ctx, "reg_facilities", "facility", id, errFacilityNotFound)
}

// Categories lists the facility catalogue.
func (s *Store) Categories(ctx context.Context) ([]Category, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT key, name_zh, name_en, tier, capacity_kinds, sort, builtin FROM reg_facility_categories ORDER BY sort, key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Category
	for rows.Next() {
		var c Category
		if err := rows.Scan(&c.Key, &c.NameZH, &c.NameEN, &c.Tier, &c.CapacityKinds, &c.Sort, &c.Builtin); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

var tiers = []string{"5min", "10min", "15min", "township", "county"}

// AddCategory adds a facility category (system administrator or officer).
func (s *Store) AddCategory(ctx context.Context, c Category) (Category, error) {
	if !canEditCatalogue(access.From(ctx)) {
		return c, fault.Forbidden(fault.M("只有系统管理员或民政干部可以维护设施目录", "only system administrators and officers maintain the facility catalogue"))
	}
	var errs []fault.FieldError
	if !keyRE.MatchString(c.Key) {
		errs = append(errs, fault.Field("key", fault.M("标识须为小写字母开头的 2–40 位字母、数字或下划线", "key must be 2–40 lower-case letters, digits or underscores")))
	}
	if strings.TrimSpace(c.NameZH) == "" {
		errs = append(errs, fault.Field("name_zh", fault.M("请填写中文名称", "enter a Chinese name")))
	}
	if !contains(tiers, c.Tier) {
		errs = append(errs, fault.Field("tier", fault.M("生活圈层级须为 5min/10min/15min/township/county", "tier must be 5min, 10min, 15min, township or county")))
	}
	if len(errs) > 0 {
		return c, fault.Invalid(fault.M("设施类别有误", "the category has errors"), errs...)
	}
	if c.NameEN == "" {
		c.NameEN = c.NameZH
	}
	if c.Sort == 0 {
		c.Sort = 1000
	}
	c.Builtin = false
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := execUnique(ctx, tx, fault.Conflict(fault.M("类别标识已存在", "a category with this key exists")), `INSERT INTO reg_facility_categories (key, name_zh, name_en, tier, capacity_kinds, sort, builtin) VALUES ($1,$2,$3,$4,$5,$6,FALSE)`,
			c.Key, c.NameZH, c.NameEN, c.Tier, c.CapacityKinds, c.Sort); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.category.create", "facility_category", c.Key, "", nil)
	})
	return c, err
}

// Organization is a social organisation, service enterprise,
// property-management company or owners' committee.
type Organization struct {
	ID         string    `json:"id"`
	Division   string    `json:"division"`
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	RegNo      string    `json:"reg_no,omitempty"`
	OrgType    string    `json:"org_type,omitempty"`
	Rating     string    `json:"rating,omitempty"`
	RegLevel   string    `json:"reg_level,omitempty"`
	PartyShare *float64  `json:"party_share,omitempty"`
	Address    string    `json:"address"`
	Facilities int       `json:"facilities"`
	Staff      int       `json:"staff"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// OrganizationInput creates or replaces an organisation.
type OrganizationInput struct {
	Division   string   `json:"division"`
	Kind       string   `json:"kind"`
	Name       string   `json:"name"`
	RegNo      string   `json:"reg_no,omitempty"`
	OrgType    string   `json:"org_type,omitempty"`
	Rating     string   `json:"rating,omitempty"`
	RegLevel   string   `json:"reg_level,omitempty"`
	PartyShare *float64 `json:"party_share,omitempty"`
	Address    string   `json:"address,omitempty"`
}

// OrgKinds are the organisation kinds.
var OrgKinds = map[string][2]string{
	"social_org":       {"社会组织", "Social organisation"},
	"enterprise":       {"服务企业", "Service enterprise"},
	"property":         {"物业服务企业", "Property-management company"},
	"owners_committee": {"业主委员会", "Owners' committee"},
}

var ratings = []string{"", "1A", "2A", "3A", "4A", "5A"}
var regLevels = []string{"", "province", "city", "county", "township"}

const orgCols = `o.id, o.division_code, o.kind, o.name, COALESCE(o.reg_no, ''), o.org_type, o.rating, o.reg_level, o.party_share, o.address,
	(SELECT COUNT(*) FROM reg_facilities f WHERE f.operator_id = o.id), (SELECT COUNT(*) FROM reg_personnel p WHERE p.org_id = o.id), o.created_at, o.updated_at`

func scanOrg(row interface{ Scan(...any) error }) (Organization, error) {
	var o Organization
	var ps sql.NullFloat64
	var c, u db.Time
	err := row.Scan(&o.ID, &o.Division, &o.Kind, &o.Name, &o.RegNo, &o.OrgType, &o.Rating, &o.RegLevel, &ps, &o.Address, &o.Facilities, &o.Staff, &c, &u)
	if ps.Valid {
		o.PartyShare = &ps.Float64
	}
	o.CreatedAt, o.UpdatedAt = c.Time, u.Time
	return o, err
}

// ListOrganizations returns a page of organisations in scope.
func (s *Store) ListOrganizations(ctx context.Context, f Filter, offset, limit int) ([]Organization, int, error) {
	w, err := s.resourceWhere(ctx, "o", f)
	if err != nil {
		return nil, 0, err
	}
	if f.Category != "" {
		w.add("o.kind = ?", f.Category)
	}
	var total int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM reg_organizations o WHERE `+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+orgCols+` FROM reg_organizations o WHERE `+w.sql()+` ORDER BY o.division_code, o.name LIMIT `+itoa(limit)+` OFFSET `+itoa(offset), w.args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Organization
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, o)
	}
	return out, total, rows.Err()
}

var errOrgNotFound = notFound(fault.M("组织不存在或不在您的管辖范围内", "organisation not found or outside your jurisdiction"))

// GetOrganization returns one organisation in scope.
func (s *Store) GetOrganization(ctx context.Context, id string) (Organization, error) {
	w, err := s.resourceWhere(ctx, "o", Filter{})
	if err != nil {
		return Organization{}, err
	}
	w.add("o.id = ?", id)
	o, err := scanOrg(s.DB.R.QueryRowContext(ctx, `SELECT `+orgCols+` FROM reg_organizations o WHERE `+w.sql(), w.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return o, errOrgNotFound
	}
	return o, err
}

func (s *Store) validOrg(ctx context.Context, in *OrganizationInput) error {
	if err := s.checkDivision(ctx, "division", in.Division); err != nil {
		return err
	}
	var errs []fault.FieldError
	bad := func(f, zh, en string) { errs = append(errs, fault.Field(f, fault.M(zh, en))) }
	in.Name, in.RegNo = strings.TrimSpace(in.Name), strings.TrimSpace(in.RegNo)
	if k, ok := orgKindKey(in.Kind); ok {
		in.Kind = k
	} else {
		bad("kind", "组织类型须为 social_org/enterprise/property/owners_committee（社会组织/服务企业/物业服务企业/业主委员会）", "kind must be social_org, enterprise, property or owners_committee")
	}
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 100 {
		bad("name", "请填写名称（不超过 100 字）", "enter a name of at most 100 characters")
	}
	if in.Kind == "social_org" && in.RegNo == "" {
		bad("reg_no", "社会组织须填写登记证号（统一社会信用代码）", "a social organisation needs its registration number")
	}
	if len(in.RegNo) > 40 {
		bad("reg_no", "登记证号不超过 40 字符", "registration number of at most 40 characters")
	}
	in.Rating = strings.ToUpper(in.Rating)
	if !contains(ratings, in.Rating) {
		bad("rating", "评估等级须为 1A–5A", "rating must be 1A to 5A")
	}
	if !contains(regLevels, in.RegLevel) {
		bad("reg_level", "登记层级须为 province/city/county/township", "registration level must be province, city, county or township")
	}
	if in.PartyShare != nil && (*in.PartyShare < 0 || *in.PartyShare > 1) {
		bad("party_share", "党员占比须在 0–1 之间", "party share must be between 0 and 1")
	}
	if len(errs) > 0 {
		return fault.Invalid(fault.M("组织信息有误", "the organisation has errors"), errs...)
	}
	return nil
}

func orgKindKey(v string) (string, bool) {
	for k, n := range OrgKinds {
		if v == k || v == n[0] {
			return k, true
		}
	}
	return "", false
}

var errDupOrg = fault.Invalid(fault.M("登记证号已存在", "an organisation with this registration number exists"), fault.Field("reg_no", fault.M("登记证号须唯一", "registration numbers are unique")))

func partyArg(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// CreateOrganization adds an organisation.
func (s *Store) CreateOrganization(ctx context.Context, in OrganizationInput) (Organization, error) {
	if !canWrite(access.From(ctx)) {
		return Organization{}, errNoWrite
	}
	if err := s.validOrg(ctx, &in); err != nil {
		return Organization{}, err
	}
	id := db.NewID()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := execUnique(ctx, tx, errDupOrg, `INSERT INTO reg_organizations (id, division_code, kind, name, reg_no, org_type, rating, reg_level, party_share, address, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)`, id, in.Division, in.Kind, in.Name, nullable(in.RegNo), in.OrgType, in.Rating, in.RegLevel, partyArg(in.PartyShare), in.Address, db.T(s.now())); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.organization.create", "organization", id, in.Division, nil)
	})
	if err != nil {
		return Organization{}, err
	}
	return s.GetOrganization(ctx, id)
}

// UpdateOrganization replaces an organisation in scope.
func (s *Store) UpdateOrganization(ctx context.Context, id string, in OrganizationInput) (Organization, error) {
	if !canWrite(access.From(ctx)) {
		return Organization{}, errNoWrite
	}
	cur, err := s.GetOrganization(ctx, id)
	if err != nil {
		return cur, err
	}
	if in.Division == "" {
		in.Division = cur.Division
	}
	if err := s.validOrg(ctx, &in); err != nil {
		return cur, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := execUnique(ctx, tx, errDupOrg, `UPDATE reg_organizations SET division_code=$1, kind=$2, name=$3, reg_no=$4, org_type=$5, rating=$6, reg_level=$7, party_share=$8, address=$9, updated_at=$10
			WHERE id=$11 AND division_code=$12`, in.Division, in.Kind, in.Name, nullable(in.RegNo), in.OrgType, in.Rating, in.RegLevel, partyArg(in.PartyShare), in.Address, db.T(s.now()), id, cur.Division); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.organization.update", "organization", id, in.Division, nil)
	})
	if err != nil {
		return cur, err
	}
	return s.GetOrganization(ctx, id)
}

// DeleteOrganization removes an organisation in scope.
func (s *Store) DeleteOrganization(ctx context.Context, id string) error {
	return s.deleteScoped(ctx, "reg_organizations", "organization", id, errOrgNotFound)
}

// Person is a member of staff or a volunteer holding one or more roles.
type Person struct {
	ID        string         `json:"id"`
	Division  string         `json:"division"`
	Name      string         `json:"name"`
	Roles     []string       `json:"roles"`
	Attrs     map[string]any `json:"attrs"`
	OrgID     string         `json:"org_id,omitempty"`
	Username  string         `json:"username,omitempty"`
	Phone     string         `json:"phone"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// PersonInput creates or replaces a person.
type PersonInput struct {
	Division string         `json:"division"`
	Name     string         `json:"name"`
	Roles    []string       `json:"roles"`
	Attrs    map[string]any `json:"attrs,omitempty"`
	OrgID    string         `json:"org_id,omitempty"`
	Username string         `json:"username,omitempty"`
	Phone    string         `json:"phone,omitempty"`
}

// PersonnelRoles are the roles a person can hold. Attributes by role:
// community_worker: post_grade, sw_certificate (bool), sw_level;
// care_worker: certified (bool); volunteer: volunteer_no, hours.
var PersonnelRoles = map[string][2]string{
	"community_worker": {"专职社区工作者", "Full-time community worker"},
	"social_worker":    {"持证社会工作者", "Certified social worker"},
	"grid_worker":      {"网格员", "Grid worker"},
	"care_worker":      {"养老护理员", "Elderly care worker"},
	"gp":               {"全科医生", "General practitioner"},
	"mediator":         {"人民调解员", "People's mediator"},
	"legal_adviser":    {"法律顾问", "Legal adviser"},
	"volunteer":        {"志愿者", "Volunteer"},
	"leading_talent":   {"社区工作领军人才", "Leading community-work talent"},
}

func roleKey(v string) (string, bool) {
	for k, n := range PersonnelRoles {
		if v == k || v == n[0] {
			return k, true
		}
	}
	return "", false
}

// personPhoneAAD binds a person's sealed phone to its column.
const personPhoneAAD = "reg_personnel/phone"

const personCols = `p.id, p.division_code, p.name, p.roles, p.attrs, COALESCE(p.org_id, ''), p.username, p.phone_mask, p.created_at, p.updated_at`

func scanPerson(row interface{ Scan(...any) error }) (Person, error) {
	var p Person
	var roles, attrs string
	var c, u db.Time
	err := row.Scan(&p.ID, &p.Division, &p.Name, &roles, &attrs, &p.OrgID, &p.Username, &p.Phone, &c, &u)
	p.Roles = strings.Split(strings.Trim(roles, ","), ",")
	p.Attrs = map[string]any{}
	json.Unmarshal([]byte(attrs), &p.Attrs)
	p.CreatedAt, p.UpdatedAt = c.Time, u.Time
	return p, err
}

func (s *Store) personnelWhere(ctx context.Context, f Filter) (*where, error) {
	if !canReadPeople(access.From(ctx)) {
		return nil, errNoRead
	}
	w, err := s.resourceWhere(ctx, "p", f)
	if err != nil {
		return nil, err
	}
	if f.Category != "" {
		w.add("p.roles LIKE ?", "%,"+likeEscape(f.Category)+",%")
	}
	return w, nil
}

// ListPersonnel returns a page of personnel in scope.
func (s *Store) ListPersonnel(ctx context.Context, f Filter, offset, limit int) ([]Person, int, error) {
	w, err := s.personnelWhere(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM reg_personnel p WHERE `+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+personCols+` FROM reg_personnel p WHERE `+w.sql()+` ORDER BY p.division_code, p.name LIMIT `+itoa(limit)+` OFFSET `+itoa(offset), w.args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Person
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, p)
	}
	return out, total, rows.Err()
}

var errPersonNotFound = notFound(fault.M("人员不存在或不在您的管辖范围内", "person not found or outside your jurisdiction"))

// GetPerson returns one person in scope.
func (s *Store) GetPerson(ctx context.Context, id string) (Person, error) {
	w, err := s.personnelWhere(ctx, Filter{})
	if err != nil {
		return Person{}, err
	}
	w.add("p.id = ?", id)
	p, err := scanPerson(s.DB.R.QueryRowContext(ctx, `SELECT `+personCols+` FROM reg_personnel p WHERE `+w.sql(), w.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return p, errPersonNotFound
	}
	return p, err
}

func (s *Store) validPerson(ctx context.Context, in *PersonInput) error {
	if err := s.checkDivision(ctx, "division", in.Division); err != nil {
		return err
	}
	var errs []fault.FieldError
	bad := func(f, zh, en string) { errs = append(errs, fault.Field(f, fault.M(zh, en))) }
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 50 {
		bad("name", "请填写姓名（不超过 50 字）", "enter a name of at most 50 characters")
	}
	if len(in.Roles) == 0 {
		bad("roles", "请至少选择一个岗位", "choose at least one role")
	}
	for i, r := range in.Roles {
		k, ok := roleKey(strings.TrimSpace(r))
		if !ok {
			bad("roles", "未知岗位："+r, "unknown role: "+r)
			break
		}
		in.Roles[i] = k
	}
	if in.Phone != "" {
		p, err := idno.NormalisePhone(in.Phone)
		if e, ok := err.(*idno.Error); ok {
			bad("phone", e.ZH, e.EN)
		} else {
			in.Phone = p
		}
	}
	if in.OrgID != "" {
		var one int
		sc := access.ScopeOf(ctx)
		if s.DB.R.QueryRowContext(ctx, `SELECT 1 FROM reg_organizations WHERE id = $1 AND division_code >= $2 AND division_code < $3`, in.OrgID, sc.Lo, sc.Hi).Scan(&one) != nil {
			bad("org_id", "组织不存在或不在您的管辖范围内", "organisation not found in your jurisdiction")
		}
	}
	if len(errs) > 0 {
		return fault.Invalid(fault.M("人员信息有误", "the person has errors"), errs...)
	}
	return nil
}

func (s *Store) personArgs(in PersonInput) (roles, attrs, enc, idx, mask string) {
	sort.Strings(in.Roles)
	roles = "," + strings.Join(in.Roles, ",") + ","
	if in.Attrs == nil {
		in.Attrs = map[string]any{}
	}
	b, _ := json.Marshal(in.Attrs)
	attrs = string(b)
	if in.Phone != "" {
		enc, idx, mask = s.Keys.Seal(in.Phone, personPhoneAAD), s.Keys.Index("phone", in.Phone), idno.MaskPhone(in.Phone)
	}
	return
}

var errDupPerson = fault.Invalid(fault.M("该社区已有相同电话的人员", "a person with this phone exists in this community"), fault.Field("phone", fault.M("电话在社区内须唯一", "phones are unique within a community")))

// CreatePerson adds a person.
func (s *Store) CreatePerson(ctx context.Context, in PersonInput) (Person, error) {
	if !canWrite(access.From(ctx)) {
		return Person{}, errNoWrite
	}
	if err := s.validPerson(ctx, &in); err != nil {
		return Person{}, err
	}
	id := db.NewID()
	roles, attrs, enc, idx, mask := s.personArgs(in)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := execUnique(ctx, tx, errDupPerson, `INSERT INTO reg_personnel (id, division_code, name, roles, attrs, org_id, username, phone_enc, phone_idx, phone_mask, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)`, id, in.Division, in.Name, roles, attrs, nullable(in.OrgID), in.Username, enc, idx, mask, db.T(s.now())); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.person.create", "person", id, in.Division, nil)
	})
	if err != nil {
		return Person{}, err
	}
	return s.GetPerson(ctx, id)
}

// UpdatePerson replaces a person in scope; an empty phone keeps the stored one.
func (s *Store) UpdatePerson(ctx context.Context, id string, in PersonInput) (Person, error) {
	if !canWrite(access.From(ctx)) {
		return Person{}, errNoWrite
	}
	cur, err := s.GetPerson(ctx, id)
	if err != nil {
		return cur, err
	}
	if in.Division == "" {
		in.Division = cur.Division
	}
	if err := s.validPerson(ctx, &in); err != nil {
		return cur, err
	}
	roles, attrs, enc, idx, mask := s.personArgs(in)
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		q := `UPDATE reg_personnel SET division_code=$1, name=$2, roles=$3, attrs=$4, org_id=$5, username=$6, updated_at=$7`
		args := []any{in.Division, in.Name, roles, attrs, nullable(in.OrgID), in.Username, db.T(s.now())}
		if in.Phone != "" {
			q += `, phone_enc=$8, phone_idx=$9, phone_mask=$10`
			args = append(args, enc, idx, mask)
		}
		args = append(args, id, cur.Division)
		if _, err := execUnique(ctx, tx, errDupPerson, q+` WHERE id=$`+itoa(len(args)-1)+` AND division_code=$`+itoa(len(args)), args...); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.person.update", "person", id, in.Division, nil)
	})
	if err != nil {
		return cur, err
	}
	return s.GetPerson(ctx, id)
}

// DeletePerson removes a person in scope.
func (s *Store) DeletePerson(ctx context.Context, id string) error {
	return s.deleteScoped(ctx, "reg_personnel", "person", id, errPersonNotFound)
}
