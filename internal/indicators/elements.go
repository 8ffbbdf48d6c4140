// Package indicators monitors the plan's 43 indicators (22 main, 21 column
// targets) over the division tree. Each indicator is factor × Σnumerator ÷
// Σdenominator over named data elements; elements are computed from the
// registry or reported per division and year. Roll-up sums numerator and
// denominator separately over the subtree (a GROUP BY on a code prefix) and
// divides at each level — never an average of children's ratios.
package indicators

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"linli/internal/db"
)

// Group is the grouping of one element query: codes in [Lo, Hi), summed by
// their first Prefix characters, as of the end of Year. Fine (with Prefix
// 12) asks for each row's own division code, whatever its level, so that a
// full recompute can roll every value up to all of its ancestors in Go: a
// value at a code of length L counts for each prefix of length ≤ L, which is
// exactly what a live query grouped by that prefix counts.
type Group struct {
	Lo, Hi string
	Prefix int
	Year   int
	Fine   bool
}

func (g Group) endOfYear() string { return strconv.Itoa(g.Year+1) + "-01-01T00:00:00.000000Z" }

// Element is a named data element.
type Element struct {
	Key            string
	NameZH, NameEN string
	Source         string // "computed" or "reported"
	// Sum returns the element summed by group prefix; a prefix missing from
	// the map has no data. nil Sum means the data does not exist yet (e.g.
	// visits before that module exists): the indicator reads 'no data'.
	Sum func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error)
	// Distinct4: the element counts distinct cities (the first 4 digits)
	// rather than rows, so a roll-up unions cities instead of adding.
	Distinct4 bool
	// Structural elements depend on the division tree only (counts of
	// village-level units): they are computed once per tree and kept in
	// memory, and precomputed cells store only what differs from them.
	Structural bool
	// Volatile elements change with every request handled: an indicator
	// naming one is never precomputed, always computed when read.
	Volatile bool
}

func query(ctx context.Context, q *sql.DB, sqlText string, args ...any) (map[string]float64, error) {
	rows, err := q.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var k string
		var v sql.NullFloat64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		if v.Valid {
			out[k] += v.Float64
		}
	}
	return out, rows.Err()
}

// attr sums a unit attribute of village-level units for the year.
func attr(kind string) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), SUM(value) FROM unit_attributes
			WHERE division_code >= $1 AND division_code < $2 AND year = $3 AND kind = $4 AND length(division_code) = 12
			GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, g.Year, kind)
	}
}

// units counts village-level units: all, urban or rural.
func units(class string) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(code, 1, %d), COUNT(*) FROM divisions
			WHERE code >= $1 AND code < $2 AND level = 5 AND ($3 = '' OR urban_rural = $3) GROUP BY substr(code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, class)
	}
}

// designated counts units holding a designation at the year's end: awarded
// by then and not withdrawn by then.
func designated(kind string) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), COUNT(*) FROM unit_designations
			WHERE division_code >= $1 AND division_code < $2 AND kind = $3 AND year <= $4 AND (withdrawn_year IS NULL OR withdrawn_year > $4) GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, kind, g.Year)
	}
}

// citiesDesignated counts cities with at least one unit holding kind.
func citiesDesignated(kind string) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		// Distinct cities per group: below the city level a group counts 1.
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), COUNT(DISTINCT substr(division_code, 1, 4)) FROM unit_designations
			WHERE division_code >= $1 AND division_code < $2 AND kind = $3 AND year <= $4 AND (withdrawn_year IS NULL OR withdrawn_year > $4) GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, kind, g.Year)
	}
}

// incomeVillages counts rural units whose operating income reached min (万元).
func incomeVillages(min float64) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(a.division_code, 1, %d), COUNT(*) FROM unit_attributes a JOIN divisions d ON d.code = a.division_code
			WHERE a.division_code >= $1 AND a.division_code < $2 AND a.year = $3 AND a.kind = 'village_operating_income' AND a.value >= $4 AND d.urban_rural = 'rural'
			GROUP BY substr(a.division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, g.Year, min)
	}
}

// facilities counts open facilities of a category that existed by the year's end.
func facilities(cat string) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), COUNT(*) FROM reg_facility_versions
			WHERE division_code >= $1 AND division_code < $2 AND category = $3 AND status = 'open' AND valid_from < $4 AND (valid_to IS NULL OR valid_to >= $4) GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, cat, g.endOfYear())
	}
}

// facilityArea sums the floor area of open facilities of a category.
func facilityArea(cat string) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), SUM(floor_area) FROM reg_facility_versions
			WHERE division_code >= $1 AND division_code < $2 AND category = $3 AND status = 'open' AND valid_from < $4 AND (valid_to IS NULL OR valid_to >= $4) GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, cat, g.endOfYear())
	}
}

// unitsWith counts village-level units of a class having an open facility
// of a category.
func unitsWith(cat, class string) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(u, 1, %d), COUNT(*) FROM (SELECT DISTINCT f.division_code AS u FROM reg_facility_versions f JOIN divisions d ON d.code = f.division_code
			WHERE f.division_code >= $1 AND f.division_code < $2 AND f.category = $3 AND f.status = 'open' AND f.valid_from < $4 AND (f.valid_to IS NULL OR f.valid_to >= $4) AND d.level = 5 AND ($5 = '' OR d.urban_rural = $5)) x
			GROUP BY substr(u, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, cat, g.endOfYear(), class)
	}
}

// capacity sums one capacity kind (JSON map on each facility) of a category.
func capacity(cat, kind string) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		rows, err := q.QueryContext(ctx, `SELECT division_code, capacities FROM reg_facility_versions
			WHERE division_code >= $1 AND division_code < $2 AND category = $3 AND status = 'open' AND valid_from < $4 AND (valid_to IS NULL OR valid_to >= $4)`, g.Lo, g.Hi, cat, g.endOfYear())
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[string]float64{}
		for rows.Next() {
			var code, caps string
			if err := rows.Scan(&code, &caps); err != nil {
				return nil, err
			}
			var m map[string]float64
			json.Unmarshal([]byte(caps), &m)
			out[code[:min(g.Prefix, len(code))]] += m[kind]
		}
		return out, rows.Err()
	}
}

// personnel counts people holding a role (optionally with a true attribute,
// e.g. a certificate) in units of a class, registered by the year's end.
// A full recompute reads the personnel table once for all its elements.
func personnel(role, flag, class string) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		if m, ok := ctx.Value(scanMemoKey{}).(*scanMemo); ok && g.Fine {
			m.once.Do(func() { m.people, m.err = loadPeople(ctx, q, g) })
			if m.err != nil {
				return nil, m.err
			}
			out := map[string]float64{}
			for _, p := range m.people {
				if !strings.Contains(p.roles, ","+role+",") || (class != "" && p.class != class) {
					continue
				}
				if flag != "" {
					if b, _ := p.attrs[flag].(bool); !b {
						continue
					}
				}
				out[p.code]++
			}
			return out, nil
		}
		rows, err := q.QueryContext(ctx, `SELECT p.division_code, p.attrs FROM reg_personnel_versions p JOIN divisions d ON d.code = p.division_code
			WHERE p.division_code >= $1 AND p.division_code < $2 AND p.roles LIKE $3 AND p.valid_from < $4 AND (p.valid_to IS NULL OR p.valid_to >= $4) AND ($5 = '' OR d.urban_rural = $5)`,
			g.Lo, g.Hi, "%,"+role+",%", g.endOfYear(), class)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[string]float64{}
		for rows.Next() {
			var code, attrs string
			if err := rows.Scan(&code, &attrs); err != nil {
				return nil, err
			}
			if flag != "" {
				var m map[string]any
				json.Unmarshal([]byte(attrs), &m)
				if b, _ := m[flag].(bool); !b {
					continue
				}
			}
			out[code[:min(g.Prefix, len(code))]]++
		}
		return out, rows.Err()
	}
}

// scanMemo shares one read of a table among the elements of a recompute.
type scanMemoKey struct{}

type scanMemo struct {
	once   sync.Once
	people []person
	err    error
}

type person struct {
	code, roles, class string
	attrs              map[string]any
}

func loadPeople(ctx context.Context, q *sql.DB, g Group) ([]person, error) {
	rows, err := q.QueryContext(ctx, `SELECT p.division_code, p.roles, p.attrs, d.urban_rural FROM reg_personnel_versions p JOIN divisions d ON d.code = p.division_code
		WHERE p.division_code >= $1 AND p.division_code < $2 AND p.valid_from < $3 AND (p.valid_to IS NULL OR p.valid_to >= $3)`, g.Lo, g.Hi, g.endOfYear())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []person
	for rows.Next() {
		var p person
		var attrs string
		if err := rows.Scan(&p.code, &p.roles, &attrs, &p.class); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(attrs), &p.attrs)
		out = append(out, p)
	}
	return out, rows.Err()
}

// orgs counts organisations of a kind.
func orgs(kind string) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), COUNT(*) FROM reg_organization_versions
			WHERE division_code >= $1 AND division_code < $2 AND kind = $3 AND valid_from < $4 AND (valid_to IS NULL OR valid_to >= $4) GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, kind, g.endOfYear())
	}
}

// orgShare sums a share column of organisations of a kind (with a count
// element it gives the mean share).
func orgShare(kind string) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), SUM(party_share) FROM reg_organization_versions
			WHERE division_code >= $1 AND division_code < $2 AND kind = $3 AND party_share IS NOT NULL AND valid_from < $4 AND (valid_to IS NULL OR valid_to >= $4) GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, kind, g.endOfYear())
	}
}

// orgsWithShare counts organisations of a kind that state a share.
func orgsWithShare(kind string) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), COUNT(*) FROM reg_organization_versions
			WHERE division_code >= $1 AND division_code < $2 AND kind = $3 AND party_share IS NOT NULL AND valid_from < $4 AND (valid_to IS NULL OR valid_to >= $4) GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, kind, g.endOfYear())
	}
}

// tagged counts residents carrying a tag: this year from the registry's
// maintained per-division counts (village rows summed by prefix); a past
// year from the tags themselves, those held on its last day by their own
// dates (since_date … until_date, inclusive; without a start date, from
// when the tag was recorded).
func tagged(tag string) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		if g.Year < time.Now().Year() {
			last := fmt.Sprintf("%d-12-31", g.Year)
			return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), COUNT(*) FROM reg_resident_tags
				WHERE tag = $3 AND division_code >= $1 AND division_code < $2 AND (until_date = '' OR until_date >= $4)
				AND (since_date <> '' AND since_date <= $4 OR since_date = '' AND created_at < $5)
				GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, tag, last, g.endOfYear())
		}
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), SUM(n) FROM reg_tag_counts
			WHERE division_code >= $1 AND division_code < $2 AND tag = $3 AND lvl = 5 GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, tag)
	}
}

// reported sums reported values of village-level and higher units as they
// were entered; a weighted element stores value × weight so that the sum
// divided by Σweight is the weighted mean.
func reported(key string) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		minLen := g.Prefix
		if g.Fine {
			minLen = 0
		}
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), SUM(value) FROM ind_reported
			WHERE division_code >= $1 AND division_code < $2 AND year = $3 AND element = $4 AND length(division_code) >= %d GROUP BY substr(division_code, 1, %d)`, g.Prefix, minLen, g.Prefix), g.Lo, g.Hi, g.Year, key)
	}
}

// weightedReport gives, for a value reported per division (e.g. a county's
// allowance standard), Σ value × weight (withValue) or Σ weight over the
// divisions that reported it, the weight being an attribute summed over the
// reporting division's own subtree: their ratio is the weighted mean.
func weightedReport(key, weightKind string, withValue bool) func(context.Context, *sql.DB, Group) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error) {
		rows, err := q.QueryContext(ctx, `SELECT division_code, value FROM ind_reported WHERE division_code >= $1 AND division_code < $2 AND year = $3 AND element = $4`, g.Lo, g.Hi, g.Year, key)
		if err != nil {
			return nil, err
		}
		type rep struct {
			code string
			v    float64
		}
		var reps []rep
		for rows.Next() {
			var r rep
			if err := rows.Scan(&r.code, &r.v); err != nil {
				rows.Close()
				return nil, err
			}
			reps = append(reps, r)
		}
		rows.Close()
		out := map[string]float64{}
		if g.Fine {
			// One query for every village's weight, rolled up in Go.
			w, err := attr(weightKind)(ctx, q, Group{Lo: g.Lo, Hi: g.Hi, Prefix: 12, Year: g.Year})
			if err != nil {
				return nil, err
			}
			weights := rollUp(w)
			for _, r := range reps {
				wv, ok := weights[r.code]
				if !ok {
					continue
				}
				if withValue {
					out[r.code] += r.v * wv
				} else {
					out[r.code] += wv
				}
			}
			return out, nil
		}
		for _, r := range reps {
			if len(r.code) < g.Prefix {
				continue // reported above the grouping level
			}
			b := []byte(r.code)
			b[len(b)-1]++
			var w sql.NullFloat64
			if err := q.QueryRowContext(ctx, `SELECT SUM(value) FROM unit_attributes WHERE division_code >= $1 AND division_code < $2 AND year = $3 AND kind = $4 AND length(division_code) = 12`,
				r.code, string(b), g.Year, weightKind).Scan(&w); err != nil {
				return nil, err
			}
			if !w.Valid {
				continue
			}
			if withValue {
				out[r.code[:g.Prefix]] += r.v * w.Float64
			} else {
				out[r.code[:g.Prefix]] += w.Float64
			}
		}
		return out, nil
	}
}

// Elements is the catalogue of data elements.
var Elements = map[string]Element{}

func el(key, zh, en, source string, sum func(context.Context, *sql.DB, Group) (map[string]float64, error)) {
	Elements[key] = Element{Key: key, NameZH: zh, NameEN: en, Source: source, Sum: sum}
}

func init() {
	c, r := "computed", "reported"
	el("population", "常住人口", "Resident population", c, attr("population"))
	el("urban_population", "城镇常住人口", "Urban resident population", c, attr("urban_population"))
	el("population_60plus", "60岁及以上人口", "Population aged 60+", c, attr("population_60plus"))
	el("households", "户数", "Households", c, attr("households"))
	el("building_floor_area", "社区总建筑面积", "Total community floor area", c, attr("building_floor_area"))
	el("commercial_service_floor_area", "社区商业和综合服务设施面积", "Community commercial and service floor area", c, attr("commercial_service_floor_area"))
	el("old_compounds_renovated", "城镇老旧小区改造数量", "Old compounds renovated", c, attr("old_compounds_renovated"))
	el("units", "村(社区)数", "Villages and communities", c, units(""))
	el("urban_units", "城市社区数", "Urban communities", c, units("urban"))
	el("rural_units", "行政村数", "Administrative villages", c, units("rural"))
	el("villages_income_50", "年经营性收入50万元以上的村", "Villages with operating income ≥ 500k yuan", c, incomeVillages(50))
	for _, d := range [][3]string{
		{"future_community", "未来社区", "Future communities"}, {"future_village", "未来乡村", "Future villages"},
		{"beautiful_village", "美丽乡村达标村", "Beautiful villages (standard)"}, {"beautiful_village_showcase", "美丽乡村精品村", "Beautiful village showcases"},
		{"leading_rural_community", "引领型农村社区", "Leading rural communities"}, {"barrier_free_community", "省级无障碍社区", "Barrier-free communities"},
		{"epidemic_free", "无疫村(社区)", "Epidemic-free units"}, {"health_village", "省级卫生村", "Health villages"},
		{"smart_county", "智慧社区建成县", "Counties with smart communities"}, {"childcare_friendly", "育儿友好型社区", "Childcare-friendly communities"},
		{"learning_community", "学习型社区", "Learning communities"}, {"deliberation_pilot_urban", "城市社区议事协商试点", "Urban deliberation pilots"},
		{"deliberation_pilot_village", "村级议事协商试点", "Village deliberation pilots"},
	} {
		el("desig_"+d[0], d[1], d[2], c, designated(d[0]))
	}
	el("cities_smart", "有智慧社区的设区市", "Cities with smart communities", c, citiesDesignated("smart_community"))
	for _, k := range []string{"units", "urban_units", "rural_units"} {
		e := Elements[k]
		e.Structural = true
		Elements[k] = e
	}
	cs := Elements["cities_smart"]
	cs.Distinct4 = true
	Elements["cities_smart"] = cs
	el("fac_residents_lounge", "居民会客厅", "Residents' lounges", c, facilities("residents_lounge"))
	el("fac_urban_service_complex", "城市社区服务综合体", "Urban service complexes", c, facilities("urban_service_complex"))
	el("area_community_service", "社区综合服务设施面积", "Community service facility floor area", c, facilityArea("community_service_facility"))
	el("childcare_places", "托育机构托位", "Childcare places", c, capacity("childcare", "childcare_places"))
	el("rural_with_service_facility", "有综合服务设施的行政村", "Villages with a service facility", c, unitsWith("community_service_facility", "rural"))
	el("units_with_canteen", "有助餐服务的村(社区)", "Units with meal assistance", c, unitsWith("elderly_canteen", ""))
	el("rural_with_kiosk", "有政务自助一体机的行政村", "Villages with a self-service kiosk", c, unitsWith("gov_kiosk", "rural"))
	el("units_with_volunteer_station", "有志愿服务站点的村(社区)", "Units with a volunteer station", c, unitsWith("volunteer_station", ""))
	el("community_workers", "专职社区工作者", "Full-time community workers", c, personnel("community_worker", "", ""))
	el("urban_community_workers", "城市社区专职社区工作者", "Full-time community workers in urban units", c, personnel("community_worker", "", "urban"))
	el("community_workers_certified", "持证专职社区工作者", "Certified full-time community workers", c, personnel("community_worker", "sw_certificate", ""))
	el("social_workers", "持证社会工作者", "Certified social workers", c, personnel("social_worker", "", ""))
	el("care_workers_certified", "持证养老护理员", "Certified elderly caregivers", c, personnel("care_worker", "certified", ""))
	el("gps", "全科医生", "General practitioners", c, personnel("gp", "", ""))
	el("leading_talents", "社区工作领军人才", "Leading community-work talents", c, personnel("leading_talent", "", ""))
	el("social_orgs", "登记社会组织", "Registered social organisations", c, orgs("social_org"))
	el("owners_committee_party_share", "业委会党员比例之和", "Sum of owners' committees' Party shares", c, orgShare("owners_committee"))
	el("owners_committees", "填报党员比例的业委会", "Owners' committees stating a Party share", c, orgsWithShare("owners_committee"))
	el("family_doctor_signed", "重点人群家庭医生签约人数", "Key-group residents with a family doctor", c, tagged("family_doctor"))
	el("urban_income_total", "城镇居民可支配收入总额（填报，万元）", "Urban residents' disposable income, total (reported, 10k yuan)", r, reported("urban_income_total"))
	el("urban_income_pop", "城镇居民人口（填报）", "Urban residents covered by the income survey (reported)", r, reported("urban_income_pop"))
	el("rural_income_total", "农村居民可支配收入总额（填报，万元）", "Rural residents' disposable income, total (reported, 10k yuan)", r, reported("rural_income_total"))
	el("rural_income_pop", "农村居民人口（填报）", "Rural residents covered by the income survey (reported)", r, reported("rural_income_pop"))
	el("dibao_standard", "年低保标准（填报，元）", "Annual minimum allowance standard (reported, yuan)", r, reported("dibao_standard"))
	el("dibao_standard_weighted", "低保标准×常住人口", "Allowance standard × population of the reporting unit", c, weightedReport("dibao_standard", "population", true))
	el("dibao_standard_weight", "填报低保标准单位的常住人口", "Population of units reporting the standard", c, weightedReport("dibao_standard", "population", false))
	el("assistance_joint_cases", "一件事联办的救助件数（填报）", "Assistance cases handled jointly (reported)", r, reported("assistance_joint_cases"))
	el("assistance_cases", "社会救助件数（填报）", "Assistance cases (reported)", r, reported("assistance_cases"))
	el("assisted_families_cared", "获关爱探访的救助家庭（填报）", "Assisted families visited (reported)", r, reported("assisted_families_cared"))
	el("assisted_families", "救助家庭数（填报）", "Assisted families (reported)", r, reported("assisted_families"))
	// Data that other modules will provide; until then 'no data'.
	el("special_elderly_visited", "当月已探访的特殊困难老年人", "Special-difficulty elderly visited this month", c, nil)
	el("special_elderly", "特殊困难老年人", "Special-difficulty elderly", c, nil)
	el("children_visited", "当月已探访的孤儿和困境儿童", "Orphans and children in difficulty visited this month", c, nil)
	el("children_in_difficulty", "孤儿和困境儿童", "Orphans and children in difficulty", c, nil)
	el("urban_units_in_15min", "城市社区15分钟生活圈完整度之和", "Σ 15-minute circle completeness of urban communities", c, nil)
	el("rural_units_in_30min", "行政村30分钟生活圈完整度之和", "Σ 30-minute circle completeness of villages", c, nil)
	el("urban_units_analysed", "已做生活圈分析的城市社区", "Urban communities with a life-circle analysis", c, nil)
	// 民呼我为 requests received in the year, from the requests module (for
	// own indicators such as an on-time rate).
	for _, k := range [][3]string{
		{"received", "民呼我为诉求件数", "Requests received"}, {"accepted", "已受理的诉求", "Requests accepted"},
		{"accepted_in_time", "及时受理的诉求", "Requests accepted in time"}, {"resolved", "已办结的诉求", "Requests resolved"},
		{"resolved_on_time", "按期办结的诉求", "Requests resolved on time"}, {"rated", "已评价的诉求", "Requests rated"},
		{"satisfied", "评价满意的诉求", "Requests rated satisfied"},
	} {
		el("requests_"+k[0], k[1], k[2], c, nil)
		e := Elements["requests_"+k[0]]
		e.Volatile = true
		Elements["requests_"+k[0]] = e
	}
	el("rural_units_analysed", "已做生活圈分析的行政村", "Villages with a life-circle analysis", c, nil)
}

// SumFunc sums an element by group prefix (see Element.Sum).
type SumFunc = func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error)

// provided holds the sums other modules supply, per database: an app
// provides them for its own store, so that apps sharing a process (tests
// running in parallel) never compute with each other's.
var (
	providedMu sync.RWMutex
	provided   = map[*db.DB]map[string]SumFunc{}
)

// Provide supplies, for the store d, the data of an element that another
// module computes (life circles for C20/C21); until then the element reads
// 'no data'. It is called once at start, before any computation.
func Provide(d *db.DB, key string, sum SumFunc) {
	if _, ok := Elements[key]; !ok {
		panic("indicators: no element " + key)
	}
	providedMu.Lock()
	defer providedMu.Unlock()
	if provided[d] == nil {
		provided[d] = map[string]SumFunc{}
	}
	provided[d][key] = sum
}

// Forget drops what this package keeps for the store d (provided sums,
// cached structural sums); the app calls it when it closes d.
func Forget(d *db.DB) {
	providedMu.Lock()
	delete(provided, d)
	providedMu.Unlock()
	structCaches.Delete(d)
}

// sumOf is how the store d sums element k: as provided for d, else the
// element's own Sum; nil when no data exists.
func sumOf(d *db.DB, k string) SumFunc {
	providedMu.RLock()
	f := provided[d][k]
	providedMu.RUnlock()
	if f != nil {
		return f
	}
	e, _ := element(k)
	return e.Sum
}

// volatile tells whether an indicator names a volatile element.
func volatile(in Indicator) bool {
	for _, k := range []string{in.Formula.Num, in.Formula.Den, in.Formula.Num2, in.Formula.Den2} {
		if e, ok := element(k); ok && e.Volatile {
			return true
		}
	}
	return false
}

// OwnPrefix begins the key of every data element an officer defines (see
// own.go): such an element is reported, summed like the built-in ones.
const OwnPrefix = "own_"

// element looks a data element up: a built-in one, or an own reported
// element by its prefix (its names and rules live in the database).
func element(k string) (Element, bool) {
	if e, ok := Elements[k]; ok {
		return e, true
	}
	if strings.HasPrefix(k, OwnPrefix) {
		return Element{Key: k, NameZH: k, NameEN: k, Source: "reported", Sum: reported(k)}, true
	}
	return Element{}, false
}
