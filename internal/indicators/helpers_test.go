package indicators_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/leakcheck"
	"linli/internal/web"
)

// TestMain fails the run when a test leaves a goroutine of the app running.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// Hand-built data for 西湖区 (330106) in 2026. The county has 222 village-level
// units: 181 urban communities and 41 villages (digits 10–12 of the NBS codes).
const (
	ruralR  = "330106010215" // 西湖茶场村委会, rural
	ruralR2 = "330106008201" // 梅家坞村委会, rural
	indYear = 2026
)

// indRow is an indicator's value for one division, as the API answers.
type indRow struct {
	ID         string   `json:"id"`
	Division   string   `json:"division_code"`
	Name       string   `json:"name"`
	Value      *float64 `json:"value"`
	Num        *float64 `json:"numerator"`
	Den        *float64 `json:"denominator"`
	Target     *float64 `json:"target"`
	TargetFrom string   `json:"target_from"`
	Status     string   `json:"status"`
	Expression string   `json:"formula"`
	Owner      string   `json:"owner_division"`
}

// indDetail is one indicator with its children and trend.
type indDetail struct {
	indRow
	Children []indRow `json:"children"`
	Trend    []indRow `json:"trend"`
}

// getRows reads a division's indicators of a year, by ID.
func getRows(t *testing.T, c *apptest.Client, division string, year int) map[string]indRow {
	t.Helper()
	rows := apptest.JSON[[]indRow](t, c, "GET", fmt.Sprintf("/api/v1/indicators?division=%s&period=%d", division, year), nil, 200)
	out := map[string]indRow{}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out
}

// getDetail reads one indicator of a division with its children.
func getDetail(t *testing.T, c *apptest.Client, id, division string, year int) indDetail {
	t.Helper()
	return apptest.JSON[indDetail](t, c, "GET", fmt.Sprintf("/api/v1/indicators/%s?division=%s&period=%d&children=true", id, division, year), nil, 200)
}

// refusal sends a request that must be refused with status want and
// returns the problem it answers.
func refusal(t *testing.T, c *apptest.Client, method, path string, body any, want int) web.Problem {
	t.Helper()
	return apptest.JSON[web.Problem](t, c, method, path, body, want)
}

// fields are the names of the fields a problem blames.
func fields(p web.Problem) []string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

// created sends a request that must succeed with 200 or 201 and returns
// the ID of what it made.
func created(t *testing.T, c *apptest.Client, method, path string, body any) string {
	t.Helper()
	st, text := c.Do(method, path, body)
	if st != 200 && st != 201 {
		t.Fatalf("%s %s: %d %s", method, path, st, text)
	}
	var v struct{ ID string }
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, text)
	}
	return v.ID
}

// done sends a request that must succeed without an answer to read.
func done(t *testing.T, c *apptest.Client, method, path string, body any) {
	t.Helper()
	if st, text := c.Do(method, path, body); st != 200 && st != 201 && st != 204 {
		t.Fatalf("%s %s: %d %s", method, path, st, text)
	}
}

func ptr(p *float64) any {
	if p == nil {
		return "no data"
	}
	return *p
}

// near tells whether a value is there and within 1e-9 of want.
func near(v *float64, want float64) bool {
	return v != nil && (*v-want) <= 1e-9 && (want-*v) <= 1e-9
}

// validID completes 17 digits with the GB 11643 check digit.
func validID(first17 string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, ch := range first17 {
		sum += int(ch-'0') * w[i]
	}
	return first17 + string("10X98765432"[sum%11])
}

// indSetup enters the dataset through the public APIs, as officers and
// workers would, and returns the county officer's client.
func indSetup(t *testing.T, e *apptest.Env) *apptest.Client {
	t.Helper()
	e.User("county", access.Officer, apptest.County)
	e.User("city", access.Officer, "3301")
	c := e.Login("county")
	attrs := func(code string, m map[string]float64) {
		done(t, c, "PUT", fmt.Sprintf("/api/v1/divisions/%s/attributes/%d", code, indYear), map[string]any{"values": m})
	}
	attrs(apptest.CommunityA, map[string]float64{"population": 1000, "urban_population": 1000, "households": 400, "population_60plus": 200,
		"building_floor_area": 10000, "commercial_service_floor_area": 2000, "old_compounds_renovated": 2})
	attrs(apptest.CommunityB, map[string]float64{"population": 3000, "urban_population": 3000, "households": 1000, "population_60plus": 300,
		"building_floor_area": 90000, "commercial_service_floor_area": 6000, "old_compounds_renovated": 1})
	attrs(ruralR, map[string]float64{"population": 500, "households": 200, "population_60plus": 100, "village_operating_income": 60})
	attrs(ruralR2, map[string]float64{"village_operating_income": 30})
	desig := func(code, kind string, year int) {
		done(t, c, "POST", "/api/v1/divisions/"+code+"/designations", map[string]any{"kind": kind, "year": year})
	}
	desig(apptest.CommunityA, "future_community", 2024)
	desig(apptest.CommunityA, "epidemic_free", 2022)
	desig(apptest.CommunityA, "smart_community", 2026)
	desig(apptest.CommunityB, "epidemic_free", 2026)
	desig(apptest.CommunityB, "learning_community", 2027) // not yet awarded in 2026
	desig(ruralR, "future_village", 2026)
	desig(ruralR, "beautiful_village", 2023)
	desig(ruralR, "health_village", 2026)
	desig(apptest.County, "smart_county", 2026)
	fac := func(code, cat string, area float64, caps map[string]float64) {
		created(t, c, "POST", "/api/v1/facilities", map[string]any{"division": code, "code": fmt.Sprintf("F%s%d", code, len(cat)*1000+int(area)), "name": cat, "category": cat,
			"address": "测试路1号", "lon": 120.13, "lat": 30.27, "floor_area_m2": area, "capacities": caps})
	}
	fac(apptest.CommunityA, "community_service_facility", 300, nil)
	fac(apptest.CommunityB, "community_service_facility", 500, nil)
	fac(ruralR, "community_service_facility", 100, nil)
	fac(apptest.CommunityB, "childcare", 200, map[string]float64{"childcare_places": 45})
	fac(apptest.CommunityA, "elderly_canteen", 80, nil)
	fac(apptest.CommunityA, "residents_lounge", 60, nil)
	fac(ruralR, "volunteer_station", 20, nil)
	fac(ruralR, "gov_kiosk", 2, nil)
	person := func(code string, roles []string, attrs map[string]any) {
		created(t, c, "POST", "/api/v1/personnel", map[string]any{"division": code, "name": "测试人员", "roles": roles, "attrs": attrs})
	}
	person(apptest.CommunityA, []string{"community_worker"}, map[string]any{"sw_certificate": true})
	person(apptest.CommunityB, []string{"community_worker"}, map[string]any{"sw_certificate": false})
	person(ruralR, []string{"community_worker"}, map[string]any{"sw_certificate": true})
	person(apptest.CommunityA, []string{"social_worker", "leading_talent"}, nil)
	person(apptest.CommunityB, []string{"care_worker"}, map[string]any{"certified": true})
	person(apptest.CommunityA, []string{"care_worker"}, map[string]any{"certified": false})
	person(apptest.CommunityB, []string{"gp"}, nil)
	share := func(v float64) *float64 { return &v }
	org := func(body map[string]any) { created(t, c, "POST", "/api/v1/organizations", body) }
	org(map[string]any{"division": apptest.CommunityA, "kind": "social_org", "name": "社会组织甲", "reg_no": "REG-A"})
	org(map[string]any{"division": apptest.CommunityB, "kind": "social_org", "name": "社会组织乙", "reg_no": "REG-B"})
	org(map[string]any{"division": apptest.CommunityA, "kind": "owners_committee", "name": "业委会甲", "party_share": share(0.6)})
	org(map[string]any{"division": apptest.CommunityB, "kind": "owners_committee", "name": "业委会乙", "party_share": share(0.4)})
	hh := created(t, c, "POST", "/api/v1/households", map[string]any{"division": apptest.CommunityA, "household_no": "H-1", "address": "上保路1号"})
	res := created(t, c, "POST", "/api/v1/residents", map[string]any{"household_id": hh, "name": "张测试", "id_number": validID("33010619500101001"), "relation": "户主", "residence": "registered"})
	created(t, c, "POST", "/api/v1/residents/"+res+"/tags", map[string]any{"tag": "family_doctor"})
	// Reported data: statistics by the county, assistance casework by townships.
	done(t, c, "PUT", fmt.Sprintf("/api/v1/indicator-reports/%s/%d", apptest.County, indYear), map[string]float64{
		"urban_income_total": 700000, "urban_income_pop": 100000, "rural_income_total": 300000, "rural_income_pop": 100000, "dibao_standard": 12000})
	// The county's allowance standard (I03) is the assistance module's:
	// 1,000 yuan a person and month, 12,000 a year.
	done(t, c, "POST", "/api/v1/assistance/standards", map[string]any{"county": apptest.County, "year": indYear, "dibao_fen": 100000})
	done(t, c, "PUT", fmt.Sprintf("/api/v1/indicator-reports/330106002/%d", indYear), map[string]float64{"assistance_joint_cases": 30, "assistance_cases": 40})
	done(t, c, "PUT", fmt.Sprintf("/api/v1/indicator-reports/330106004/%d", indYear), map[string]float64{"assistance_joint_cases": 50, "assistance_cases": 60})
	return c
}
