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
	"linli/internal/module"
	"strconv"
	"strings"
	"sync"
	"time"
)

// endOfYear is the first instant after the year, as stored timestamps
// compare: a version valid before it existed at the year's end.
func endOfYear(year int) string { return strconv.Itoa(year+1) + "-01-01T00:00:00.000000Z" }

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
func attr(kind string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), SUM(value) FROM divisions_attributes
			WHERE division_code >= $1 AND division_code < $2 AND year = $3 AND kind = $4 AND length(division_code) = 12
			GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, g.Year, kind)
	}
}

// units counts village-level units: all, urban or rural.
func units(class string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(code, 1, %d), COUNT(*) FROM divisions_tree
			WHERE code >= $1 AND code < $2 AND level = 5 AND ($3 = '' OR urban_rural = $3) GROUP BY substr(code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, class)
	}
}

// designated counts units holding a designation at the year's end: awarded
// by then and not withdrawn by then.
func designated(kind string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), COUNT(*) FROM divisions_designations
			WHERE division_code >= $1 AND division_code < $2 AND kind = $3 AND year <= $4 AND (withdrawn_year IS NULL OR withdrawn_year > $4) GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, kind, g.Year)
	}
}

// citiesDesignated counts cities with at least one unit holding kind.
func citiesDesignated(kind string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		// Distinct cities per group: below the city level a group counts 1.
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), COUNT(DISTINCT substr(division_code, 1, 4)) FROM divisions_designations
			WHERE division_code >= $1 AND division_code < $2 AND kind = $3 AND year <= $4 AND (withdrawn_year IS NULL OR withdrawn_year > $4) GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, kind, g.Year)
	}
}

// incomeVillages counts rural units whose operating income reached min (万元).
func incomeVillages(min float64) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(a.division_code, 1, %d), COUNT(*) FROM divisions_attributes a JOIN divisions_tree d ON d.code = a.division_code
			WHERE a.division_code >= $1 AND a.division_code < $2 AND a.year = $3 AND a.kind = 'village_operating_income' AND a.value >= $4 AND d.urban_rural = 'rural'
			GROUP BY substr(a.division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, g.Year, min)
	}
}

// facilities counts open facilities of a category that existed by the year's end.
func facilities(cat string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), COUNT(*) FROM registry_facility_versions
			WHERE division_code >= $1 AND division_code < $2 AND category = $3 AND status = 'open' AND valid_from < $4 AND (valid_to IS NULL OR valid_to >= $4) GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, cat, endOfYear(g.Year))
	}
}

// facilityArea sums the floor area of open facilities of a category.
func facilityArea(cat string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), SUM(floor_area) FROM registry_facility_versions
			WHERE division_code >= $1 AND division_code < $2 AND category = $3 AND status = 'open' AND valid_from < $4 AND (valid_to IS NULL OR valid_to >= $4) GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, cat, endOfYear(g.Year))
	}
}

// unitsWith counts village-level units of a class having an open facility
// of a category.
func unitsWith(cat, class string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(u, 1, %d), COUNT(*) FROM (SELECT DISTINCT f.division_code AS u FROM registry_facility_versions f JOIN divisions_tree d ON d.code = f.division_code
			WHERE f.division_code >= $1 AND f.division_code < $2 AND f.category = $3 AND f.status = 'open' AND f.valid_from < $4 AND (f.valid_to IS NULL OR f.valid_to >= $4) AND d.level = 5 AND ($5 = '' OR d.urban_rural = $5)) x
			GROUP BY substr(u, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, cat, endOfYear(g.Year), class)
	}
}

// capacity sums one capacity kind (JSON map on each facility) of a category.
func capacity(cat, kind string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		rows, err := q.QueryContext(ctx, `SELECT division_code, capacities FROM registry_facility_versions
			WHERE division_code >= $1 AND division_code < $2 AND category = $3 AND status = 'open' AND valid_from < $4 AND (valid_to IS NULL OR valid_to >= $4)`, g.Lo, g.Hi, cat, endOfYear(g.Year))
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
			m, err := jsonObject[float64](caps)
			if err != nil {
				return nil, fmt.Errorf("capacities of a facility in %s: %w", code, err)
			}
			out[code[:min(g.Prefix, len(code))]] += m[kind]
		}
		return out, rows.Err()
	}
}

// personnel counts people holding a role (optionally with a true attribute,
// e.g. a certificate) in units of a class, registered by the year's end.
// A full recompute reads the personnel table once for all its elements (a
// live computation of one group reads only the rows of each role: sharing
// one read of every person's attributes there was slower).
func personnel(role, flag, class string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
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
				out[p.code[:min(g.Prefix, len(p.code))]]++
			}
			return out, nil
		}
		rows, err := q.QueryContext(ctx, `SELECT p.division_code, p.attrs FROM registry_personnel_versions p JOIN divisions_tree d ON d.code = p.division_code
			WHERE p.division_code >= $1 AND p.division_code < $2 AND p.roles LIKE $3 AND p.valid_from < $4 AND (p.valid_to IS NULL OR p.valid_to >= $4) AND ($5 = '' OR d.urban_rural = $5)`,
			g.Lo, g.Hi, "%,"+role+",%", endOfYear(g.Year), class)
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
				m, err := jsonObject[any](attrs)
				if err != nil {
					return nil, fmt.Errorf("attributes of a person in %s: %w", code, err)
				}
				if b, _ := m[flag].(bool); !b {
					continue
				}
			}
			out[code[:min(g.Prefix, len(code))]]++
		}
		return out, rows.Err()
	}
}

// jsonObject reads a JSON object column; empty text is an empty object.
func jsonObject[V any](text string) (map[string]V, error) {
	var m map[string]V
	if text == "" {
		return m, nil
	}
	return m, json.Unmarshal([]byte(text), &m)
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

func loadPeople(ctx context.Context, q *sql.DB, g module.Group) ([]person, error) {
	rows, err := q.QueryContext(ctx, `SELECT p.division_code, p.roles, p.attrs, d.urban_rural FROM registry_personnel_versions p JOIN divisions_tree d ON d.code = p.division_code
		WHERE p.division_code >= $1 AND p.division_code < $2 AND p.valid_from < $3 AND (p.valid_to IS NULL OR p.valid_to >= $3)`, g.Lo, g.Hi, endOfYear(g.Year))
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
		if p.attrs, err = jsonObject[any](attrs); err != nil {
			return nil, fmt.Errorf("attributes of a person in %s: %w", p.code, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// orgs counts organisations of a kind.
func orgs(kind string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), COUNT(*) FROM registry_organization_versions
			WHERE division_code >= $1 AND division_code < $2 AND kind = $3 AND valid_from < $4 AND (valid_to IS NULL OR valid_to >= $4) GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, kind, endOfYear(g.Year))
	}
}

// orgShare sums a share column of organisations of a kind (with a count
// element it gives the mean share).
func orgShare(kind string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), SUM(party_share) FROM registry_organization_versions
			WHERE division_code >= $1 AND division_code < $2 AND kind = $3 AND party_share IS NOT NULL AND valid_from < $4 AND (valid_to IS NULL OR valid_to >= $4) GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, kind, endOfYear(g.Year))
	}
}

// orgsWithShare counts organisations of a kind that state a share.
func orgsWithShare(kind string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), COUNT(*) FROM registry_organization_versions
			WHERE division_code >= $1 AND division_code < $2 AND kind = $3 AND party_share IS NOT NULL AND valid_from < $4 AND (valid_to IS NULL OR valid_to >= $4) GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, kind, endOfYear(g.Year))
	}
}

// countedTagList are the tags elements count (tagged, below), as SQL: the
// freshness check of precomputed values reads the tags of these kinds only.
const countedTagList = "'family_doctor'"

// tagged counts residents carrying a tag: this year from the registry's
// maintained per-division counts (village rows summed by prefix); a past
// year from the tags themselves, those held on its last day by their own
// dates (since_date … until_date, inclusive; without a start date, from
// when the tag was recorded).
func tagged(tag string, now func() time.Time) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		if g.Year < now().Year() {
			last := fmt.Sprintf("%d-12-31", g.Year)
			return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), COUNT(*) FROM registry_resident_tags
				WHERE tag = $3 AND division_code >= $1 AND division_code < $2 AND (until_date = '' OR until_date >= $4)
				AND (since_date <> '' AND since_date <= $4 OR since_date = '' AND created_at < $5)
				GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, tag, last, endOfYear(g.Year))
		}
		return query(ctx, q, fmt.Sprintf(`SELECT substr(division_code, 1, %d), SUM(n) FROM registry_tag_counts
			WHERE division_code >= $1 AND division_code < $2 AND tag = $3 AND lvl = 5 GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix), g.Lo, g.Hi, tag)
	}
}

// reported sums reported values of village-level and higher units as they
// were entered; a weighted element stores value × weight so that the sum
// divided by Σweight is the weighted mean.
func reported(key string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
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
func weightedReport(key, weightKind string, withValue bool) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
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
		if err := rows.Err(); err != nil {
			return nil, err
		}
		out := map[string]float64{}
		if g.Fine {
			// One query for every village's weight, rolled up in Go.
			w, err := attr(weightKind)(ctx, q, module.Group{Lo: g.Lo, Hi: g.Hi, Prefix: 12, Year: g.Year})
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
			if err := q.QueryRowContext(ctx, `SELECT SUM(value) FROM divisions_attributes WHERE division_code >= $1 AND division_code < $2 AND year = $3 AND kind = $4 AND length(division_code) = 12`,
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

// Elements is a catalogue of data elements by key: the module's own
// (Builtin) and those other modules supply. Each app holds its own.
type Elements map[string]module.Element

// Builtin are the data elements this module computes from the division
// tree, the registry and reported data; now is the clock that tells the
// current year.
func Builtin(now func() time.Time) Elements {
	es := Elements{}
	add := func(e module.Element) { es[e.Key] = e }
	computed := func(key, zh, en string, sum module.SumFunc) {
		add(module.Element{Key: key, NameZH: zh, NameEN: en, Source: "computed", Sum: sum})
	}
	reportedEl := func(key, zh, en string) {
		add(module.Element{Key: key, NameZH: zh, NameEN: en, Source: "reported", Sum: reported(key)})
	}
	// Unit attributes are entered: a unit without a row has no data.
	for _, a := range [][3]string{
		{"population", "常住人口", "Resident population"}, {"urban_population", "城镇常住人口", "Urban resident population"},
		{"population_60plus", "60岁及以上人口", "Population aged 60+"}, {"households", "户数", "Households"},
		{"building_floor_area", "社区总建筑面积", "Total community floor area"},
		{"commercial_service_floor_area", "社区商业和综合服务设施面积", "Community commercial and service floor area"},
		{"old_compounds_renovated", "城镇老旧小区改造数量", "Old compounds renovated"},
	} {
		add(module.Element{Key: a[0], NameZH: a[1], NameEN: a[2], Source: "computed", Sum: attr(a[0]), Measured: true})
	}
	// The village-level units depend on the division tree only.
	for _, u := range [][4]string{
		{"units", "村(社区)数", "Villages and communities", ""}, {"urban_units", "城市社区数", "Urban communities", "urban"},
		{"rural_units", "行政村数", "Administrative villages", "rural"},
	} {
		add(module.Element{Key: u[0], NameZH: u[1], NameEN: u[2], Source: "computed", Sum: units(u[3]), Structural: true})
	}
	computed("villages_income_50", "年经营性收入50万元以上的村", "Villages with operating income ≥ 500k yuan", incomeVillages(50))
	for _, d := range [][3]string{
		{"future_community", "未来社区", "Future communities"}, {"future_village", "未来乡村", "Future villages"},
		{"beautiful_village", "美丽乡村达标村", "Beautiful villages (standard)"}, {"beautiful_village_showcase", "美丽乡村精品村", "Beautiful village showcases"},
		{"leading_rural_community", "引领型农村社区", "Leading rural communities"}, {"barrier_free_community", "省级无障碍社区", "Barrier-free communities"},
		{"epidemic_free", "无疫村(社区)", "Epidemic-free units"}, {"health_village", "省级卫生村", "Health villages"},
		{"smart_county", "智慧社区建成县", "Counties with smart communities"}, {"childcare_friendly", "育儿友好型社区", "Childcare-friendly communities"},
		{"learning_community", "学习型社区", "Learning communities"}, {"deliberation_pilot_urban", "城市社区议事协商试点", "Urban deliberation pilots"},
		{"deliberation_pilot_village", "村级议事协商试点", "Village deliberation pilots"},
	} {
		computed("desig_"+d[0], d[1], d[2], designated(d[0]))
	}
	add(module.Element{Key: "cities_smart", NameZH: "有智慧社区的设区市", NameEN: "Cities with smart communities", Source: "computed",
		Sum: citiesDesignated("smart_community"), Distinct4: true})
	computed("fac_residents_lounge", "居民会客厅", "Residents' lounges", facilities("residents_lounge"))
	computed("fac_urban_service_complex", "城市社区服务综合体", "Urban service complexes", facilities("urban_service_complex"))
	computed("area_community_service", "社区综合服务设施面积", "Community service facility floor area", facilityArea("community_service_facility"))
	computed("childcare_places", "托育机构托位", "Childcare places", capacity("childcare", "childcare_places"))
	computed("rural_with_service_facility", "有综合服务设施的行政村", "Villages with a service facility", unitsWith("community_service_facility", "rural"))
	computed("units_with_canteen", "有在用助餐设施的村(社区)", "Units with an open canteen or meal point", unitsWith("elderly_canteen", ""))
	computed("rural_with_kiosk", "有政务自助一体机的行政村", "Villages with a self-service kiosk", unitsWith("gov_kiosk", "rural"))
	computed("units_with_volunteer_station", "有志愿服务站点的村(社区)", "Units with a volunteer station", unitsWith("volunteer_station", ""))
	computed("community_workers", "专职社区工作者", "Full-time community workers", personnel("community_worker", "", ""))
	computed("urban_community_workers", "城市社区专职社区工作者", "Full-time community workers in urban units", personnel("community_worker", "", "urban"))
	computed("community_workers_certified", "持证专职社区工作者", "Certified full-time community workers", personnel("community_worker", "sw_certificate", ""))
	computed("social_workers", "持证社会工作者", "Certified social workers", personnel("social_worker", "", ""))
	computed("care_workers_certified", "持证养老护理员", "Certified elderly caregivers", personnel("care_worker", "certified", ""))
	computed("gps", "全科医生", "General practitioners", personnel("gp", "", ""))
	computed("leading_talents", "社区工作领军人才", "Leading community-work talents", personnel("leading_talent", "", ""))
	computed("social_orgs", "登记社会组织", "Registered social organisations", orgs("social_org"))
	computed("owners_committee_party_share", "业委会党员比例之和", "Sum of owners' committees' Party shares", orgShare("owners_committee"))
	computed("owners_committees", "填报党员比例的业委会", "Owners' committees stating a Party share", orgsWithShare("owners_committee"))
	computed("family_doctor_signed", "重点人群家庭医生签约人数", "Key-group residents with a family doctor", tagged("family_doctor", now))
	reportedEl("urban_income_total", "城镇居民可支配收入总额（填报，万元）", "Urban residents' disposable income, total (reported, 10k yuan)")
	reportedEl("urban_income_pop", "城镇居民人口（填报）", "Urban residents covered by the income survey (reported)")
	reportedEl("rural_income_total", "农村居民可支配收入总额（填报，万元）", "Rural residents' disposable income, total (reported, 10k yuan)")
	reportedEl("rural_income_pop", "农村居民人口（填报）", "Rural residents covered by the income survey (reported)")
	reportedEl("dibao_standard", "年低保标准（填报，元）", "Annual minimum allowance standard (reported, yuan)")
	computed("dibao_standard_weighted", "低保标准×常住人口", "Allowance standard × population of the reporting unit", weightedReport("dibao_standard", "population", true))
	computed("dibao_standard_weight", "填报低保标准单位的常住人口", "Population of units reporting the standard", weightedReport("dibao_standard", "population", false))
	reportedEl("assistance_joint_cases", "一件事联办的救助件数（填报）", "Assistance cases handled jointly (reported)")
	reportedEl("assistance_cases", "社会救助件数（填报）", "Assistance cases (reported)")
	return es
}

// With is the catalogue with the elements other modules supply (life
// circles for C20/C21, request counts). A key already catalogued, or one
// without its sum, is refused.
func (es Elements) With(supplied []module.Element) (Elements, error) {
	out := make(Elements, len(es)+len(supplied))
	for k, e := range es {
		out[k] = e
	}
	for _, e := range supplied {
		switch _, dup := out[e.Key]; {
		case dup:
			return nil, fmt.Errorf("data element %s is supplied twice", e.Key)
		case e.Sum == nil:
			return nil, fmt.Errorf("data element %s has no sum", e.Key)
		case strings.HasPrefix(e.Key, OwnPrefix):
			return nil, fmt.Errorf("data element %s takes the prefix of own elements", e.Key)
		case e.Structural:
			return nil, fmt.Errorf("data element %s: only the division tree's unit counts are structural", e.Key)
		}
		out[e.Key] = e
	}
	return out, nil
}

// OwnPrefix begins the key of every data element an officer defines (see
// own.go): such an element is reported, summed like the built-in ones.
const OwnPrefix = "own_"

// Get looks a data element up: a catalogued one, or an own reported
// element by its prefix (its names and rules live in the database). An
// element no module supplies is not found: a plan formula naming it reads
// 'no data'.
func (es Elements) Get(k string) (module.Element, bool) {
	if e, ok := es[k]; ok {
		return e, true
	}
	if strings.HasPrefix(k, OwnPrefix) {
		return module.Element{Key: k, NameZH: k, NameEN: k, Source: "reported", Sum: reported(k)}, true
	}
	return module.Element{}, false
}

// name is an element's Chinese name, or its key when no module supplies it.
func (es Elements) name(k string) string {
	if e, ok := es[k]; ok {
		return e.NameZH
	}
	return k
}

// monthly tells whether an indicator names a monthly element: it has
// month periods.
func (es Elements) monthly(in Indicator) bool {
	for _, k := range in.Formula.keys() {
		if e, ok := es.Get(k); ok && e.Monthly {
			return true
		}
	}
	return false
}

// volatile tells whether an indicator names a volatile element.
func (es Elements) volatile(in Indicator) bool {
	for _, k := range in.Formula.keys() {
		if e, ok := es.Get(k); ok && e.Volatile {
			return true
		}
	}
	return false
}
