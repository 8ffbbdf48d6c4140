package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
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

const facilityCols = `f.id, f.division_code, f.code, f.name, f.category, f.address, f.lon, f.lat, f.floor_area, f.capacities, f.opening_hours,
	COALESCE(f.operator_id, ''), f.status, f.tier, f.created_at, f.updated_at`

func scanFacility(row db.Scanner) (Facility, error) {
	var f Facility
	var caps string
	var c, u db.Time
	if err := row.Scan(&f.ID, &f.Division, &f.Code, &f.Name, &f.Category, &f.Address, &f.Lon, &f.Lat, &f.FloorArea, &caps, &f.OpeningHours, &f.OperatorID, &f.Status, &f.Tier, &c, &u); err != nil {
		return f, err
	}
	f.CreatedAt, f.UpdatedAt = c.Time, u.Time
	f.Capacities = map[string]float64{}
	return f, json.Unmarshal([]byte(caps), &f.Capacities)
}

var errFacilityNotFound = notFound(fault.M("设施不存在或不在您的管辖范围内", "facility not found or outside your jurisdiction"))

// facilities are read by every business role: residents and providers
// look for services too.
var facilities = table[Facility]{name: "reg_facilities", alias: "f", cols: facilityCols,
	keys: []string{"f.division_code", "f.category", "f.name", "f.id"}, fixed: "f.category",
	key:  func(f Facility) []string { return []string{f.Division, f.Category, f.Name, f.ID} },
	scan: scanFacility, readable: canReadResources, missing: errFacilityNotFound,
	category: func(w *where, c string) { w.add("f.category = ?", c) }}

// PageFacilities returns the page of facilities in scope after cursor
// ("" for the first page), in (division, category, name) order.
func (s *Store) PageFacilities(ctx context.Context, f Filter, cursor string, limit int) (Page[Facility], error) {
	return facilities.page(ctx, s, f, cursor, limit)
}

// ListFacilities returns the first limit facilities of a list and its
// count as PageFacilities gives it.
func (s *Store) ListFacilities(ctx context.Context, f Filter, limit int) ([]Facility, int, error) {
	p, err := s.PageFacilities(ctx, f, "", limit)
	return p.Items, p.Total, err
}

// GetFacility returns one facility in scope.
func (s *Store) GetFacility(ctx context.Context, id string) (Facility, error) {
	return facilities.get(ctx, s.DB.R, id)
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
	w, err := facilities.where(ctx, Filter{Category: category})
	if err != nil {
		return nil, err
	}
	dlat := radius / 111195.0
	dlon := dlat / math.Cos(lat*math.Pi/180)
	w.add("f.lat >= ? AND f.lat <= ? AND f.lon >= ? AND f.lon <= ?", lat-dlat, lat+dlat, lon-dlon, lon+dlon)
	all, err := facilities.all(ctx, s.DB.R, w)
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
	// The category may be given by key or by its Chinese name.
	var key, tier string
	known, err := found(s.DB.R.QueryRowContext(ctx, `SELECT key, tier FROM reg_facility_categories WHERE key = $1 OR name_zh = $1`, in.Category), &key, &tier)
	if err != nil {
		return err
	}
	if known {
		in.Category = key
	} else {
		bad("category", "设施类别不在目录中："+in.Category, "not in the facility catalogue: "+in.Category)
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
		if v < 0 || k == "" || len(k) > 40 || math.IsNaN(v) || math.IsInf(v, 0) {
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
		ok, err := s.orgInScope(ctx, in.OperatorID)
		if err != nil {
			return err
		}
		if !ok {
			bad("operator_id", "运营机构不存在或不在您的管辖范围内", "operator not found in your jurisdiction")
		}
	}
	if len(errs) > 0 {
		return fault.Invalid(fault.M("设施信息有误", "the facility has errors"), errs...)
	}
	return nil
}

// capsJSON is the stored form of capacities ("{}" for none).
func capsJSON(m map[string]float64) (string, error) {
	if m == nil {
		m = map[string]float64{}
	}
	b, err := json.Marshal(m)
	return string(b), err
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
	defer s.facilitiesWritten()
	id := db.NewID()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := insertFacility(ctx, tx, id, in, db.T(s.Now())); err != nil {
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
	caps, err := capsJSON(in.Capacities)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO reg_facilities (id, division_code, code, name, category, address, lon, lat, floor_area, capacities, opening_hours, operator_id, status, tier, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$15)`,
		id, in.Division, in.Code, in.Name, in.Category, in.Address, in.Lon, in.Lat, in.FloorArea, caps, in.OpeningHours, nullable(in.OperatorID), in.Status, in.Tier, now)
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
	caps, err := capsJSON(in.Capacities)
	if err != nil {
		return cur, err
	}
	defer s.facilitiesWritten()
	err = s.writeRecorded(ctx, errDupFacility, "registry.facility.update", "facility", id, in.Division,
		`UPDATE reg_facilities SET division_code=$1, code=$2, name=$3, category=$4, address=$5, lon=$6, lat=$7, floor_area=$8, capacities=$9,
			opening_hours=$10, operator_id=$11, status=$12, tier=$13, updated_at=$14 WHERE id=$15 AND division_code=$16`,
		in.Division, in.Code, in.Name, in.Category, in.Address, in.Lon, in.Lat, in.FloorArea, caps, in.OpeningHours, nullable(in.OperatorID), in.Status, in.Tier, db.T(s.Now()), id, cur.Division)
	if err != nil {
		return cur, err
	}
	return s.GetFacility(ctx, id)
}

// DeleteFacility removes a facility in scope.
func (s *Store) DeleteFacility(ctx context.Context, id string) error {
	defer s.facilitiesWritten()
	return s.deleteScoped(ctx, facilities.name, "facility", id, errFacilityNotFound)
}

// Categories lists the facility catalogue.
func (s *Store) Categories(ctx context.Context) ([]Category, error) {
	return db.Collect(ctx, s.DB.R, func(row db.Scanner) (Category, error) {
		var c Category
		err := row.Scan(&c.Key, &c.NameZH, &c.NameEN, &c.Tier, &c.CapacityKinds, &c.Sort, &c.Builtin)
		return c, err
	}, `SELECT key, name_zh, name_en, tier, capacity_kinds, sort, builtin FROM reg_facility_categories ORDER BY sort, key`)
}

var tiers = []string{"5min", "10min", "15min", "township", "county"}

// AddCategory adds a facility category (a province officer).
func (s *Store) AddCategory(ctx context.Context, c Category) (Category, error) {
	if !canEditCatalogue(access.From(ctx)) {
		return c, errNotCatalogueOwner
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
	defer s.facilitiesWritten() // the legend names the categories
	err := s.writeRecorded(ctx, fault.Conflict(fault.M("类别标识已存在", "a category with this key exists")), "registry.category.create", "facility_category", c.Key, "",
		`INSERT INTO reg_facility_categories (key, name_zh, name_en, tier, capacity_kinds, sort, builtin) VALUES ($1,$2,$3,$4,$5,$6,FALSE)`,
		c.Key, c.NameZH, c.NameEN, c.Tier, c.CapacityKinds, c.Sort)
	return c, err
}
