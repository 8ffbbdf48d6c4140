package registry

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/registry/idno"
)

// DemoOptions choose the synthetic registry data.
type DemoOptions struct {
	County string
	Seed   uint64
	// Scale is the share of the full population (西湖区 at 1.0 is about
	// 1.2 million residents); 0 is DefaultScale.
	// Negative means one community only.
	Scale float64
	// Progress, if set, is told rows done and total.
	Progress func(done, total int)
}

// DefaultScale keeps the first start of `linli serve --demo` short.
const DefaultScale = 0.02

// FullScalePerCommunity is the synthetic population of one community at scale 1.
const FullScalePerCommunity = 5400

// DemoRegion is the region code of every synthetic ID number: 330199 is not
// an assigned county code, so no synthetic number can be a real person's.
const DemoRegion = "330199"

// ParseScale reads a --demo-scale / LINLI_DEMO_SCALE value: "community",
// "county" (1.0), or a positive fraction.
func ParseScale(s string) (float64, error) {
	switch strings.TrimSpace(s) {
	case "":
		return DefaultScale, nil
	case "community":
		return -1, nil
	case "county", "full":
		return 1, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0 && f <= 1) {
		msg := fault.M(fmt.Sprintf("演示规模须为 community、county 或 0–1 之间的比例：%q", s), fmt.Sprintf("demo scale must be community, county or a fraction in (0, 1]: %q", s))
		return 0, fault.Invalid(msg, fault.Field("scale", msg))
	}
	return f, nil
}

var (
	surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔")
	given    = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建国志文斌宇浩凯俊佳慧颖晨欣怡梓涵子轩雨桐诗琪思远嘉铭博雅梅兰")
	streets  = []string{"文三路", "学院路", "天目山路", "教工路", "古墩路", "西溪路", "保俶路", "北山街", "曙光路", "文一西路", "紫荆花路", "莫干山路"}
)

// Demo fills the county with a synthetic registry: households and residents
// with Zhejiang's age structure, service-object tags at plausible rates,
// facilities, organisations, personnel and grids. Deterministic by seed;
// a store that already holds registry data is left alone.
func Demo(ctx context.Context, s *Store, o DemoOptions) error {
	if o.County == "" {
		o.County = "330106"
	}
	if o.Scale == 0 {
		var err error
		if o.Scale, err = ParseScale(""); err != nil {
			return err
		}
	}
	var n int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM reg_households`).Scan(&n); err != nil || n > 0 {
		return err
	}
	defer s.facilitiesWritten()
	units, _, err := s.Divs.Search(ctx, o.County, "", 0, 100000)
	if err != nil {
		return err
	}
	var comms []divisions.Division
	for _, u := range units {
		if u.Level == 5 && strings.HasPrefix(u.Code, o.County) {
			comms = append(comms, u)
		}
	}
	if len(comms) == 0 {
		return fault.Invalid(fault.M("演示区县 "+o.County+" 下没有村(社区)", "demo county "+o.County+" has no communities"))
	}
	per := FullScalePerCommunity
	if o.Scale < 0 {
		comms = comms[:1]
		per = 2000
	} else {
		per = max(20, int(math.Round(float64(FullScalePerCommunity)*o.Scale)))
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x7265676973747279))
	ctx = access.With(ctx, access.Operator())
	now := s.Now()
	g := &demoGen{rng: rng, now: now, seqs: map[string]int{}}
	var rows []ResidentRow
	var gridsOf = map[string][]string{}
	for ci, c := range comms {
		urban := c.UrbanRural == divisions.Urban
		size := per/2 + rng.IntN(per+1)
		rows = g.community(rows, c, size, urban, ci)
		grids := max(1, size/600)
		for k := 0; k < grids; k++ {
			gridsOf[c.Code] = append(gridsOf[c.Code], db.NewID())
		}
	}
	// Households are assigned to the community's grids in turn.
	for i := range rows {
		gs := gridsOf[rows[i].Division]
		h, err := strconv.Atoi(strings.TrimPrefix(rows[i].HouseholdNo, "H"))
		if err != nil {
			return err
		}
		rows[i].GridID = gs[h%len(gs)]
	}
	restore, err := s.bulkMode(ctx, true)
	if err != nil {
		return err
	}
	defer restore()
	err = s.DB.ConnTx(ctx, func(conn *sql.Conn, tx *sql.Tx) error {
		w := newRowWriter(ctx, s.DB.Dialect, conn, tx)
		defer w.close()
		ts := w.time(now)
		var grids [][]any
		for _, c := range comms {
			for k, id := range gridsOf[c.Code] {
				grids = append(grids, []any{id, c.Code, fmt.Sprintf("G%02d", k+1), fmt.Sprintf("%s第%d网格", c.Name, k+1), "演示 / demo", ts, ts})
			}
		}
		if err := w.write("reg_grids", []string{"id", "division_code", "code", "name", "note", "created_at", "updated_at"}, rowsOf(grids)); err != nil {
			return err
		}
		res, err := s.loadFresh(ctx, conn, tx, rows, func(done int) {
			if o.Progress != nil {
				o.Progress(done, len(rows))
			}
		})
		if err != nil {
			return err
		}
		if err := g.resources(ctx, s, w, comms, gridsOf); err != nil {
			return err
		}
		if err := checkForeignKeys(ctx, s.DB.Dialect, tx, "reg_grids", "reg_grid_workers", "reg_facilities", "reg_organizations", "reg_personnel"); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.demo.seed", "division", o.County, o.County, map[string]any{"residents": res.Residents, "households": res.Households, "tags": res.Tags, "seed": o.Seed, "synthetic": true})
	})
	if err != nil {
		return err
	}
	return s.analyze(ctx)
}

type demoGen struct {
	rng  *rand.Rand
	now  time.Time
	seqs map[string]int
	hh   int
}

func (g *demoGen) name() string {
	n := string(surnames[g.rng.IntN(len(surnames))]) + string(given[g.rng.IntN(len(given))])
	if g.rng.IntN(3) > 0 {
		n += string(given[g.rng.IntN(len(given))])
	}
	return n
}

// age draws from Zhejiang's structure: about 13% under 15, 19% aged 60+
// (4% aged 80+).
func (g *demoGen) age() int {
	x := g.rng.Float64()
	switch {
	case x < 0.13:
		return g.rng.IntN(15)
	case x < 0.81:
		return 15 + g.rng.IntN(45)
	case x < 0.96:
		return 60 + g.rng.IntN(20)
	default:
		return 80 + g.rng.IntN(18)
	}
}

// id makes a unique synthetic ID number for a birth date.
func (g *demoGen) id(birth time.Time, male bool) string {
	key := birth.Format("20060102")
	seq := g.seqs[key]
	g.seqs[key] = seq + 2
	if male {
		seq++
	}
	return idno.Synthetic(DemoRegion, birth, seq%1000)
}

func (g *demoGen) phone() string {
	return fmt.Sprintf("1%d%09d", []int{3, 5, 7, 8, 9}[g.rng.IntN(5)], g.rng.IntN(1_000_000_000))
}

func (g *demoGen) chance(p float64) bool { return g.rng.Float64() < p }

func (g *demoGen) community(rows []ResidentRow, c divisions.Division, size int, urban bool, ci int) []ResidentRow {
	made := 0
	for made < size {
		g.hh++
		no := fmt.Sprintf("H%05d", g.hh%100000)
		addr := fmt.Sprintf("%s%s%d号%d幢%d室", c.Name, streets[ci%len(streets)], 1+g.rng.IntN(300), 1+g.rng.IntN(30), 101+g.rng.IntN(1800))
		if !urban {
			addr = fmt.Sprintf("%s%d组%d号", c.Name, 1+g.rng.IntN(12), 1+g.rng.IntN(120))
		}
		members := 1 + g.rng.IntN(4)
		if g.chance(0.1) {
			members = 5
		}
		headAge := 0
		for m := 0; m < members && made < size; m++ {
			a := g.age()
			rel := "户主"
			switch {
			case m == 0:
				if a < 18 {
					a = 18 + g.rng.IntN(70)
				}
				headAge = a
			case m == 1:
				rel = "配偶"
				a = max(18, headAge-5+g.rng.IntN(10))
			default:
				rel = "子女"
				a = max(0, headAge-22-g.rng.IntN(15))
			}
			birth := time.Date(g.now.Year()-a, time.Month(1+g.rng.IntN(12)), 1+g.rng.IntN(28), 0, 0, 0, 0, time.UTC)
			if birth.After(g.now) {
				birth = birth.AddDate(-1, 0, 0)
				a++
			}
			male := g.chance(0.51)
			r := ResidentRow{Line: len(rows) + 1, Division: c.Code, HouseholdNo: no, Address: addr, Name: g.name(), Relation: rel,
				IDNumber: g.id(birth, male), Residence: "registered", Birth: birth.Format("2006-01-02"), Gender: map[bool]string{true: "M", false: "F"}[male]}
			if g.chance(0.12) {
				r.Residence = "resident"
			} else if g.chance(0.08) {
				r.Residence = "floating"
			}
			if a >= 16 && g.chance(0.75) {
				r.Phone = g.phone()
			}
			if a >= 60 && g.chance(0.3) {
				r.Health = []string{"高血压", "糖尿病", "冠心病", "慢阻肺", "关节炎"}[g.rng.IntN(5)]
			}
			r.Tags = g.tags(a, members, male, urban)
			if contains(r.Tags, "disabled_person") {
				r.Disability = []string{"肢体", "视力", "听力", "智力", "精神"}[g.rng.IntN(5)] + []string{"一级", "二级", "三级", "四级"}[g.rng.IntN(4)]
			}
			if contains(r.Tags, "dibao") || contains(r.Tags, "tekun") {
				r.Income = strconv.Itoa(600 + g.rng.IntN(600))
			}
			rows = append(rows, r)
			made++
		}
	}
	return rows
}

// tags draws service-object tags at rates in line with Zhejiang's
// published shares (approximate; synthetic).
func (g *demoGen) tags(age, members int, male, urban bool) []string {
	var t []string
	add := func(k string, p float64) {
		if g.chance(p) {
			t = append(t, k)
		}
	}
	if age >= 80 {
		t = append(t, "elderly_80")
	}
	if age >= 60 {
		if members == 1 {
			add("living_alone", 0.6)
		}
		add("empty_nest", 0.2)
		if !urban {
			add("left_behind_elderly", 0.15)
		}
		add("disabled_partial", 0.025)
		add("disabled_full", 0.01)
		add("family_planning_special", 0.004)
	}
	if age >= 65 {
		add("family_doctor", 0.35)
	}
	if age < 18 {
		add("child_in_difficulty", 0.004)
		add("orphan", 0.0004)
		add("de_facto_unsupported_child", 0.0008)
		if !urban {
			add("left_behind_child", 0.03)
		}
	}
	add("disabled_person", 0.04)
	if contains(t, "disabled_person") {
		add("severe_disability", 0.25)
	}
	add("dibao", 0.012)
	add("dibao_edge", 0.006)
	add("tekun", 0.0015)
	add("expense_hardship", 0.002)
	if male && age >= 20 {
		add("veteran", 0.03)
		if contains(t, "veteran") {
			add("veteran_hardship", 0.05)
		}
	}
	if age >= 18 && age < 60 {
		add("worker_hardship", 0.003)
		add("zero_employment_family", 0.001)
	}
	if !urban {
		add("reservoir_migrant", 0.01)
	}
	return t
}

// demoFacilities are the facilities each community gets, with the chance
// of having one, a floor area range (m²) and capacities.
var demoFacilities = []struct {
	cat        string
	p          float64
	minA, maxA float64
	caps       map[string]float64
	hours      string
}{
	{"party_service_center", 1, 600, 2500, nil, "08:30-17:30"},
	{"community_service_facility", 0.9, 300, 1200, nil, "08:30-20:00"},
	{"home_care_center", 0.8, 300, 900, map[string]float64{"beds": 10, "meals_per_day": 120}, "07:30-18:00"},
	{"elderly_canteen", 0.85, 80, 300, map[string]float64{"meals_per_day": 150, "seats": 40}, "10:30-13:00"},
	{"health_station", 0.7, 120, 400, nil, "08:00-17:00"},
	{"childcare", 0.3, 300, 900, map[string]float64{"childcare_places": 60}, "07:30-17:30"},
	{"kindergarten", 0.35, 1800, 4500, map[string]float64{"places": 270}, "07:30-17:00"},
	{"culture_hall", 0.6, 200, 800, map[string]float64{"seats": 120}, "09:00-21:00"},
	{"city_study", 0.4, 100, 400, map[string]float64{"seats": 40}, "09:00-21:00"},
	{"fitness", 0.7, 150, 1500, nil, "06:00-22:00"},
	{"volunteer_station", 0.9, 20, 80, nil, "09:00-17:00"},
	{"micro_fire_station", 0.9, 20, 60, nil, "00:00-24:00"},
	{"mediation_room", 0.8, 20, 60, nil, "08:30-17:30"},
	{"convenience_store", 1, 50, 300, nil, "07:00-23:00"},
	{"parcel_point", 0.9, 20, 80, nil, "08:00-21:00"},
	{"bus_stop", 1, 0, 0, nil, "05:30-23:00"},
	{"market", 0.4, 800, 3000, nil, "06:00-19:00"},
	{"emergency_shelter", 0.3, 2000, 10000, map[string]float64{"people": 1500}, "00:00-24:00"},
}

// demoRows are the rows of the demo's smaller tables, written together
// once generated: a few statements (or COPY streams) instead of one each.
type demoRows struct {
	orgs, facilities, personnel [][]any
}

func (g *demoGen) resources(ctx context.Context, s *Store, w *rowWriter, comms []divisions.Division, gridsOf map[string][]string) error {
	tx := w.tx
	now := w.time(g.now)
	// The demo accounts, when the core made them, get a grid and a record.
	demoGrid, err := lookup(ctx, tx, `SELECT division_code FROM users WHERE username = 'demo.grid'`)
	if err != nil {
		return err
	}
	demoResident, err := lookup(ctx, tx, `SELECT division_code FROM users WHERE username = 'demo.resident'`)
	if err != nil {
		return err
	}
	// 西湖区 spans roughly 120.02–120.17 E, 30.13–30.34 N; communities are
	// placed on a jittered grid inside it (synthetic locations).
	side := int(math.Ceil(math.Sqrt(float64(len(comms)))))
	facN := 0
	var out demoRows
	for ci, c := range comms {
		lon0 := 120.03 + 0.13*(float64(ci%side)+g.rng.Float64()*0.6)/float64(side)
		lat0 := 30.15 + 0.17*(float64(ci/side)+g.rng.Float64()*0.6)/float64(side)
		org := g.organizations(&out, c, now)
		if err := g.facilities(&out, c, lon0, lat0, org, &facN, now); err != nil {
			return err
		}
		if err := g.staff(&out, s, c, len(gridsOf[c.Code]), now); err != nil {
			return err
		}
		if c.Code == demoGrid && len(gridsOf[c.Code]) > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO reg_grid_workers (grid_id, division_code, username) VALUES ($1,$2,'demo.grid')`, gridsOf[c.Code][0], c.Code); err != nil {
				return err
			}
		}
		if c.Code == demoResident {
			if _, err := tx.ExecContext(ctx, `UPDATE reg_residents SET username = 'demo.resident' WHERE id = (SELECT MIN(id) FROM reg_residents WHERE division_code = $1 AND relation = '户主')`, c.Code); err != nil {
				return err
			}
		}
	}
	for _, t := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"reg_organizations", []string{"id", "division_code", "kind", "name", "reg_no", "org_type", "rating", "reg_level", "party_share", "address", "created_at", "updated_at"}, out.orgs},
		{"reg_facilities", []string{"id", "division_code", "code", "name", "category", "address", "lon", "lat", "floor_area", "capacities", "opening_hours", "operator_id", "status", "tier", "created_at", "updated_at"}, out.facilities},
		{"reg_personnel", []string{"id", "division_code", "name", "roles", "attrs", "org_id", "username", "phone_enc", "phone_idx", "phone_mask", "created_at", "updated_at"}, out.personnel},
	} {
		if err := w.write(t.table, t.cols, rowsOf(t.rows)); err != nil {
			return err
		}
	}
	return nil
}

// rowsOf hands out rows one by one, for rowWriter.write.
func rowsOf(rows [][]any) func() ([]any, bool) {
	i := 0
	return func() ([]any, bool) {
		if i == len(rows) {
			return nil, false
		}
		i++
		return rows[i-1], true
	}
}

// organizations adds a community's property company, mutual-aid society
// and, in a town, owners' committee; it returns the property company.
func (g *demoGen) organizations(out *demoRows, c divisions.Division, now any) string {
	org := db.NewID()
	out.orgs = append(out.orgs, []any{org, c.Code, "property", c.Name + "物业服务中心", "DEMO-P-" + c.Code, "物业服务", "", "", nil, c.Name, now, now})
	out.orgs = append(out.orgs, []any{db.NewID(), c.Code, "social_org", c.Name + "邻里互助会", "DEMO-S-" + c.Code, "社区社会组织", ratings[1+g.rng.IntN(5)], "county", nil, c.Name, now, now})
	if c.UrbanRural == divisions.Urban {
		out.orgs = append(out.orgs, []any{db.NewID(), c.Code, "owners_committee", c.Name + "业主委员会", nil, "业主委员会", "", "", math.Round(30+g.rng.Float64()*50) / 100, c.Name, now, now})
	}
	return org
}

// facilities places a community's facilities around (lon0, lat0); the
// property company org runs its elderly care. facN numbers them.
func (g *demoGen) facilities(out *demoRows, c divisions.Division, lon0, lat0 float64, org string, facN *int, now any) error {
	for _, f := range demoFacilities {
		if !g.chance(f.p) {
			continue
		}
		*facN++
		area := math.Round(f.minA + g.rng.Float64()*(f.maxA-f.minA))
		caps := map[string]float64{}
		for k, v := range f.caps {
			caps[k] = math.Round(v * (0.6 + g.rng.Float64()*0.8))
		}
		var op string
		if f.cat == "home_care_center" || f.cat == "elderly_canteen" {
			op = org
		}
		in := FacilityInput{Division: c.Code, Code: fmt.Sprintf("DEMO-%s-%03d", c.Code, *facN%1000), Name: c.Name + catName(f.cat), Category: f.cat,
			Address: c.Name, Lon: lon0 + (g.rng.Float64()-0.5)*0.008, Lat: lat0 + (g.rng.Float64()-0.5)*0.008, FloorArea: area, Capacities: caps,
			OpeningHours: f.hours, OperatorID: op, Status: "open", Tier: catTier(f.cat)}
		capsText, err := capsJSON(in.Capacities)
		if err != nil {
			return err
		}
		out.facilities = append(out.facilities, []any{db.NewID(), in.Division, in.Code, in.Name, in.Category, in.Address, in.Lon, in.Lat, in.FloorArea, capsText,
			in.OpeningHours, nullable(in.OperatorID), in.Status, in.Tier, now, now})
	}
	return nil
}

// staff adds a community's workers, one grid worker a grid, care workers
// and volunteers, with their role attributes.
func (g *demoGen) staff(out *demoRows, s *Store, c divisions.Division, grids int, now any) error {
	staff := []struct {
		role  string
		n     int
		attrs func() map[string]any
	}{
		{"community_worker", 6 + g.rng.IntN(6), func() map[string]any {
			return map[string]any{"post_grade": fmt.Sprintf("%d岗%d级", 1+g.rng.IntN(3), 1+g.rng.IntN(6)), "sw_certificate": g.chance(0.6), "sw_level": []string{"助理社工师", "社工师", "高级社工师"}[g.rng.IntN(3)]}
		}},
		{"grid_worker", grids, func() map[string]any { return map[string]any{} }},
		{"care_worker", 1 + g.rng.IntN(3), func() map[string]any { return map[string]any{"certified": g.chance(0.7)} }},
		{"volunteer", 8 + g.rng.IntN(20), func() map[string]any {
			return map[string]any{"volunteer_no": fmt.Sprintf("ZJV%08d", g.rng.IntN(1e8)), "hours": g.rng.IntN(300)}
		}},
	}
	for _, st := range staff {
		for k := 0; k < st.n; k++ {
			ph := g.phone()
			b, err := jsonMarshal(st.attrs())
			if err != nil {
				return err
			}
			out.personnel = append(out.personnel, []any{db.NewID(), c.Code, g.name(), "," + st.role + ",", b, nil, "",
				s.Keys.Seal(ph, personPhoneAAD), s.Keys.Index("phone", ph), idno.MaskPhone(ph), now, now})
		}
	}
	return nil
}

func catName(key string) string {
	for _, c := range DefaultCategories {
		if c.Key == key {
			return c.NameZH
		}
	}
	return key
}

func catTier(key string) string {
	for _, c := range DefaultCategories {
		if c.Key == key {
			return c.Tier
		}
	}
	return ""
}
