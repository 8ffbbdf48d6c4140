package care

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/tabular"
)

// 助餐 meal assistance: a canteen is a registry facility of the
// elderly_canteen category, run by a provider under contract (its staff
// keep the menu and the meals) or by the community (its workers do). The
// elderly of the communities it serves enrol; each meal served is
// recorded once per diner, date and sitting, with the subsidy of the meal
// rule version in force for the county and month; the diner pays the rest.

// Sittings and ways a meal is served.
const (
	SittingLunch  = "lunch"
	SittingDinner = "dinner"
	ModeDineIn    = "dine_in"  // 堂食
	ModeDelivery  = "delivery" // 送餐
)

var sittingNames = map[string]fault.Msg{SittingLunch: fault.M("午餐", "Lunch"), SittingDinner: fault.M("晚餐", "Dinner")}
var modeNames = map[string]fault.Msg{ModeDineIn: fault.M("堂食", "Dine-in"), ModeDelivery: fault.M("送餐", "Delivery")}

// MealAge is the age from which a resident may enrol.
const MealAge = 60

// mealWindowDays is how far back a meal may be recorded.
const mealWindowDays = 92

// Canteen is a registry facility serving meals to the elderly.
type Canteen struct {
	ID           string   `json:"id"`
	FacilityID   string   `json:"facility_id"`
	County       string   `json:"county"`
	Division     string   `json:"division"`
	Name         string   `json:"name"`
	ProviderID   string   `json:"provider_id,omitempty"` // "" when the community runs it
	ProviderName string   `json:"provider_name,omitempty"`
	Communities  []string `json:"communities"`
	Diners       int      `json:"diners"` // active enrolments
}

// CanteenInput registers a canteen facility: run by a provider of the
// county, or by the community when ProviderID is empty. Communities
// served default to the facility's own.
type CanteenInput struct {
	FacilityID  string   `json:"facility_id"`
	ProviderID  string   `json:"provider_id,omitempty"`
	Communities []string `json:"communities,omitempty"`
}

// MenuSitting is one sitting of one day: the dishes and the price of the
// meal.
type MenuSitting struct {
	Date     string   `json:"date"`
	Sitting  string   `json:"sitting"`
	Dishes   []string `json:"dishes"`
	PriceFen int64    `json:"price_fen"`
}

// MenuInput publishes a week's menu (Week is its Monday); it replaces
// what the week had.
type MenuInput struct {
	Week     string        `json:"week"`
	Sittings []MenuSitting `json:"sittings"`
}

// Enrolment is a diner's enrolment at a canteen.
type Enrolment struct {
	ID          string    `json:"id"`
	CanteenID   string    `json:"canteen_id"`
	CanteenName string    `json:"canteen_name"`
	ResidentID  string    `json:"resident_id"`
	Name        string    `json:"name"` // 张**
	Division    string    `json:"division"`
	Mode        string    `json:"mode"`
	Active      bool      `json:"active"`
	EnrolledBy  string    `json:"enrolled_by"`
	CreatedAt   time.Time `json:"created_at"`
}

// EnrolInput enrols a resident: a resident themself or a family member
// (ResidentID empty: themself), or a worker for a resident of their area.
type EnrolInput struct {
	CanteenID  string `json:"canteen_id"`
	ResidentID string `json:"resident_id,omitempty"`
	Mode       string `json:"mode,omitempty"` // the usual way (default dine_in)
}

// Tick is one diner served at a sitting.
type Tick struct {
	EnrolmentID string `json:"enrolment_id"`
	Mode        string `json:"mode,omitempty"` // default: the enrolment's
}

// SittingInput records a sitting's meals from its tick list.
type SittingInput struct {
	Date    string `json:"date"`
	Sitting string `json:"sitting"`
	Served  []Tick `json:"served"`
}

// MealResult is what a recording did: the meals added (a meal recorded
// before is not added again) and their subsidy.
type MealResult struct {
	Added      int   `json:"added"`
	Already    int   `json:"already"`
	SubsidyFen int64 `json:"subsidy_fen"`
}

// Meal is one meal served.
type Meal struct {
	ID         string `json:"id"`
	CanteenID  string `json:"canteen_id"`
	ResidentID string `json:"resident_id"`
	Name       string `json:"name"`
	Division   string `json:"division"`
	Date       string `json:"date"`
	Sitting    string `json:"sitting"`
	Mode       string `json:"mode"`
	AmountFen  int64  `json:"amount_fen"`
	SubsidyFen int64  `json:"subsidy_fen"`
	CopayFen   int64  `json:"copay_fen"`
	RuleID     string `json:"rule_id,omitempty"`
	Source     string `json:"source"`
}

// MealMonth is a canteen's month: meals and money, the subsidy due from
// the county.
type MealMonth struct {
	Month      string `json:"month"`
	Meals      int    `json:"meals"`
	Delivered  int    `json:"delivered"`
	AmountFen  int64  `json:"amount_fen"`
	SubsidyFen int64  `json:"subsidy_fen"`
	CopayFen   int64  `json:"copay_fen"`
	Settled    int    `json:"settled"` // meals in a settlement
}

var (
	errNoCanteen  = fault.NotFound(fault.M("找不到该助餐点，或您无权查看", "no such canteen, or not yours to see"))
	errNotCanteen = fault.Forbidden(fault.M("只有该助餐点的工作人员可以这样做", "only the canteen's staff may do this"))
)

// canteenVisible restricts canteens (alias c) to what p may see: a
// provider account those it runs; a resident those serving their
// community; a worker or officer those in or serving their subtree.
func (s *Store) canteenVisible(ctx context.Context, p *access.Principal, next int) (string, []any, error) {
	return s.servingVisible(ctx, p, next, "c.provider_id", "c.division_code", "care_canteen_areas a WHERE a.canteen_id = c.id")
}

const canteenCols = `c.id, c.facility_id, c.county, c.division_code, c.name, c.provider_id, COALESCE(pr.name, ''),
	(SELECT COUNT(*) FROM care_meal_enrolments e WHERE e.canteen_id = c.id AND e.active)`

const canteenFrom = ` FROM care_canteens c LEFT JOIN care_providers pr ON pr.id = c.provider_id`

func scanCanteen(r db.Scanner) (Canteen, error) {
	var c Canteen
	err := r.Scan(&c.ID, &c.FacilityID, &c.County, &c.Division, &c.Name, &c.ProviderID, &c.ProviderName, &c.Diners)
	return c, err
}

func (s *Store) fillCanteen(ctx context.Context, q db.Querier, c *Canteen) error {
	var err error
	c.Communities, err = db.Collect(ctx, q, db.Value[string], `SELECT community FROM care_canteen_areas WHERE canteen_id = $1 ORDER BY community`, c.ID)
	return err
}

// RegisterCanteen makes a registry canteen facility a meal service: a
// county officer for any in the county; a township officer or community
// worker for one in their area, run by the community or by a provider of
// the county.
func (s *Store) RegisterCanteen(ctx context.Context, in CanteenInput) (Canteen, error) {
	p := access.From(ctx)
	if p == nil || !(p.Role == access.Officer || p.Role == access.CommunityWorker) {
		return Canteen{}, fault.Forbidden(fault.M("由社区工作者或干部登记助餐点", "a community worker or an officer registers a canteen"))
	}
	c := Canteen{ID: db.NewID(), FacilityID: strings.TrimSpace(in.FacilityID), ProviderID: strings.TrimSpace(in.ProviderID)}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var cat, status string
		err := tx.QueryRowContext(ctx, `SELECT division_code, name, category, status FROM registry_facility_cards WHERE id = $1`, c.FacilityID).Scan(&c.Division, &c.Name, &cat, &status)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !access.Encloses(p.Division, c.Division)) {
			return bad("facility_id", "辖区内没有这个设施", "no such facility in your area")
		} else if err != nil {
			return err
		}
		if cat != "elderly_canteen" {
			return bad("facility_id", "该设施不是老年食堂/助餐点", "the facility is not an elderly canteen or meal point")
		}
		if len(c.Division) < 6 {
			return bad("facility_id", "设施所在区划无效", "the facility's division is invalid")
		}
		c.County = c.Division[:6]
		if c.ProviderID != "" {
			var county string
			if err := tx.QueryRowContext(ctx, `SELECT county, name FROM care_providers WHERE id = $1`, c.ProviderID).Scan(&county, &c.ProviderName); errors.Is(err, sql.ErrNoRows) || (err == nil && county != c.County) {
				return bad("provider_id", "找不到本县的这家服务机构", "no such provider in the county")
			} else if err != nil {
				return err
			}
		}
		c.Communities = dedupe(in.Communities)
		if len(c.Communities) == 0 {
			c.Communities = []string{c.Division}
		}
		for _, cm := range c.Communities {
			if len(cm) != 12 || !access.Encloses(c.County, cm) {
				return bad("communities", "服务社区应为本县的村（社区）: "+cm, "a community served must be a village or community of the county: "+cm)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_canteens (id, facility_id, county, division_code, name, provider_id, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
			c.ID, c.FacilityID, c.County, c.Division, c.Name, c.ProviderID, p.Username, db.T(s.Now())); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Conflict(fault.M("该设施已登记为助餐点", "the facility is already registered as a canteen"))
			}
			return err
		}
		for _, cm := range c.Communities {
			if _, err := tx.ExecContext(ctx, `INSERT INTO care_canteen_areas (canteen_id, community) VALUES ($1, $2)`, c.ID, cm); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "care.canteen.register", "care_canteen", c.ID, c.Division, c.ProviderID)
	})
	return c, err
}

// Canteens lists the canteens the principal may see.
func (s *Store) Canteens(ctx context.Context) ([]Canteen, error) {
	cond, args, err := s.canteenVisible(ctx, access.From(ctx), 1)
	if err != nil {
		return nil, err
	}
	cs, err := db.Collect(ctx, s.DB.R, scanCanteen, `SELECT `+canteenCols+canteenFrom+` WHERE `+cond+` ORDER BY c.division_code, c.name, c.id LIMIT 500`, args...)
	if err != nil {
		return nil, err
	}
	// The communities served, of every canteen listed in one read.
	at := map[string]int{}
	for i := range cs {
		at[cs[i].ID] = i
	}
	err = db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var id, cm string
		if err := r.Scan(&id, &cm); err != nil {
			return err
		}
		if i, ok := at[id]; ok {
			cs[i].Communities = append(cs[i].Communities, cm)
		}
		return nil
	}, `SELECT a.canteen_id, a.community FROM care_canteen_areas a WHERE a.canteen_id IN (SELECT c.id FROM care_canteens c WHERE `+cond+`) ORDER BY a.canteen_id, a.community`, args...)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		cs = []Canteen{}
	}
	return cs, nil
}

// Canteen reads one canteen the principal may see.
func (s *Store) Canteen(ctx context.Context, id string) (Canteen, error) {
	return s.canteen(ctx, s.DB.R, id)
}

func (s *Store) canteen(ctx context.Context, q rowQuerier, id string) (Canteen, error) {
	cond, args, err := s.canteenVisible(ctx, access.From(ctx), 2)
	if err != nil {
		return Canteen{}, err
	}
	c, err := scanCanteen(q.QueryRowContext(ctx, `SELECT `+canteenCols+canteenFrom+` WHERE c.id = $1 AND `+cond, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return c, errNoCanteen
	}
	if err != nil {
		return c, err
	}
	return c, s.fillCanteen(ctx, q, &c)
}

// Runs tells whether p keeps the canteen's menu and meals: the staff of
// the provider running it, or for a community-run canteen the workers of
// its community.
func (s *Store) Runs(ctx context.Context, p *access.Principal, c Canteen) bool {
	switch {
	case p == nil:
		return false
	case p.Role == access.Provider && c.ProviderID != "":
		me, err := s.memberOf(ctx, p)
		return err == nil && me.ProviderID == c.ProviderID
	case p.Role == access.CommunityWorker && c.ProviderID == "":
		return access.Encloses(p.Division, c.Division)
	}
	return false
}

// validWeek is a week's Monday.
func validWeek(field, w string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", w)
	if err != nil || t.Weekday() != time.Monday {
		return t, bad(field, "应为一周的星期一，如 2026-11-30", "must be a week's Monday, like 2026-11-30")
	}
	return t, nil
}

// Monday is the Monday of the week of day (YYYY-MM-DD).
func Monday(day time.Time) string {
	off := (int(day.Weekday()) + 6) % 7
	return day.AddDate(0, 0, -off).Format("2006-01-02")
}

// PublishMenu publishes a canteen's week: each sitting's dishes and the
// meal's price; what the week had before is replaced (meals recorded keep
// the price they were recorded at).
func (s *Store) PublishMenu(ctx context.Context, canteenID string, in MenuInput) ([]MenuSitting, error) {
	p := access.From(ctx)
	monday, err := validWeek("week", in.Week)
	if err != nil {
		return nil, err
	}
	if len(in.Sittings) > 14 {
		return nil, bad("sittings", "一周最多 14 个餐次", "a week has at most 14 sittings")
	}
	seen := map[string]bool{}
	for i := range in.Sittings {
		m := &in.Sittings[i]
		f := fmt.Sprintf("sittings[%d]", i)
		d, err := time.Parse("2006-01-02", m.Date)
		if err != nil || d.Before(monday) || !d.Before(monday.AddDate(0, 0, 7)) {
			return nil, bad(f+".date", "日期应在该周内", "the date must be in the week")
		}
		if sittingNames[m.Sitting] == (fault.Msg{}) {
			return nil, bad(f+".sitting", "餐次应为 lunch 或 dinner", "the sitting must be lunch or dinner")
		}
		if seen[m.Date+m.Sitting] {
			return nil, bad(f, "同一天同一餐次只能有一份菜单", "one menu per day and sitting")
		}
		seen[m.Date+m.Sitting] = true
		m.Dishes = dedupe(m.Dishes)
		if len(m.Dishes) == 0 || len(m.Dishes) > 12 {
			return nil, bad(f+".dishes", "请填写 1–12 道菜", "give 1–12 dishes")
		}
		for _, dish := range m.Dishes {
			if len(dish) > 90 || strings.ContainsAny(dish, "\n\r") {
				return nil, bad(f+".dishes", "菜名过长: "+dish, "a dish name is too long: "+dish)
			}
			if why, ok := fault.TextProblem(dish); !ok {
				return nil, bad(f+".dishes", why.ZH, why.EN)
			}
		}
		if m.PriceFen < 0 || m.PriceFen > 100_00 {
			return nil, bad(f+".price_fen", "每餐价格应为 0–100 元", "a meal's price must be 0–100 yuan")
		}
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		c, err := s.canteen(ctx, tx, canteenID)
		if err != nil {
			return err
		}
		if !s.Runs(ctx, p, c) {
			return errNotCanteen
		}
		sunday := monday.AddDate(0, 0, 6).Format("2006-01-02")
		if _, err := tx.ExecContext(ctx, `DELETE FROM care_menus WHERE canteen_id = $1 AND served_on >= $2 AND served_on <= $3`, c.ID, in.Week, sunday); err != nil {
			return err
		}
		now := db.T(s.Now())
		for _, m := range in.Sittings {
			if _, err := tx.ExecContext(ctx, `INSERT INTO care_menus (canteen_id, served_on, sitting, dishes, price_fen, published_by, published_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
				c.ID, m.Date, m.Sitting, strings.Join(m.Dishes, "\n"), m.PriceFen, p.Username, now); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "care.menu.publish", "care_canteen", c.ID, c.Division, fmt.Sprintf("%s sittings=%d", in.Week, len(in.Sittings)))
	})
	if err != nil {
		return nil, err
	}
	return s.Menu(ctx, canteenID, in.Week)
}

// Menu is a canteen's week (from its Monday), by date and sitting.
func (s *Store) Menu(ctx context.Context, canteenID, week string) ([]MenuSitting, error) {
	monday, err := validWeek("week", week)
	if err != nil {
		return nil, err
	}
	if _, err := s.Canteen(ctx, canteenID); err != nil {
		return nil, err
	}
	ms, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (MenuSitting, error) {
		var m MenuSitting
		var dishes string
		err := r.Scan(&m.Date, &m.Sitting, &dishes, &m.PriceFen)
		m.Dishes = strings.Split(dishes, "\n")
		return m, err
	}, `SELECT served_on, sitting, dishes, price_fen FROM care_menus WHERE canteen_id = $1 AND served_on >= $2 AND served_on <= $3 ORDER BY served_on, sitting DESC`,
		canteenID, week, monday.AddDate(0, 0, 6).Format("2006-01-02"))
	if ms == nil {
		ms = []MenuSitting{}
	}
	return ms, err
}

// agedOn tells whether someone born on birth (YYYY-MM-DD) is at least
// age years old on day.
func agedOn(birth, day string, age int) bool {
	if len(birth) != 10 || len(day) != 10 {
		return false
	}
	y, err := strconv.Atoi(day[:4])
	if err != nil {
		return false
	}
	return birth <= fmt.Sprintf("%04d%s", y-age, day[4:])
}

// Enrol enrols a resident aged 60 or more at a canteen serving their
// community; one active enrolment per resident and canteen.
func (s *Store) Enrol(ctx context.Context, in EnrolInput) (Enrolment, error) {
	p := access.From(ctx)
	if in.Mode == "" {
		in.Mode = ModeDineIn
	}
	if modeNames[in.Mode] == (fault.Msg{}) {
		return Enrolment{}, bad("mode", "就餐方式应为 dine_in（堂食）或 delivery（送餐）", "the mode must be dine_in or delivery")
	}
	res, err := s.beneficiary(ctx, p, in.ResidentID,
		fault.M("只能为本户家人登记", "you may enrol your own household only"),
		fault.M("居民本人、家人或社区工作人员才能登记就餐", "only the resident, the family or a community worker may enrol"))
	if err != nil {
		return Enrolment{}, err
	}
	today := s.Now().In(cstZone()).Format("2006-01-02")
	if !agedOn(res.Birth, today, MealAge) {
		return Enrolment{}, bad("resident_id", "助餐服务面向 60 岁及以上老年人", "meal assistance is for residents aged 60 or more")
	}
	e := Enrolment{ID: db.NewID(), CanteenID: in.CanteenID, ResidentID: res.ID, Name: res.Surname + "**", Division: res.Division, Mode: in.Mode, Active: true, EnrolledBy: p.Username, CreatedAt: s.Now()}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var name string
		err := tx.QueryRowContext(ctx, `SELECT c.name FROM care_canteens c JOIN care_canteen_areas a ON a.canteen_id = c.id AND a.community = $2 WHERE c.id = $1`, in.CanteenID, res.Division).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return bad("canteen_id", "该助餐点不服务这位居民所在的社区", "the canteen does not serve the resident's community")
		} else if err != nil {
			return err
		}
		e.CanteenName = name
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_meal_enrolments (id, canteen_id, resident_id, household_id, division_code, surname, mode, active, enrolled_by, created_at, ended_by, ended_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,TRUE,$8,$9,'',NULL)`, e.ID, e.CanteenID, e.ResidentID, res.Household, e.Division, res.Surname, e.Mode, e.EnrolledBy, db.T(e.CreatedAt)); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Conflict(fault.M("这位居民已在该助餐点登记就餐", "the resident is already enrolled at this canteen"))
			}
			return err
		}
		return s.record(ctx, tx, "care.meal.enrol", "care_meal_enrolment", e.ID, e.Division, e.CanteenID)
	})
	return e, err
}

// EndEnrolment ends an enrolment: the diner or their family, a worker of
// their area, or the canteen's staff.
func (s *Store) EndEnrolment(ctx context.Context, id string) error {
	p := access.From(ctx)
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var canteen, hh, div string
		err := tx.QueryRowContext(ctx, `SELECT canteen_id, household_id, division_code FROM care_meal_enrolments WHERE id = $1 AND active`, id).Scan(&canteen, &hh, &div)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.NotFound(fault.M("找不到在册的就餐登记", "no such active enrolment"))
		} else if err != nil {
			return err
		}
		allowed := false
		switch {
		case p == nil:
		case p.Role == access.Resident:
			r, err := s.residentOf(ctx, p)
			allowed = err == nil && r.Household == hh
		case p.Role == access.GridWorker || p.Role == access.CommunityWorker:
			allowed = access.Encloses(p.Division, div)
		case p.Role == access.Provider:
			c, err := s.canteen(ctx, tx, canteen)
			allowed = err == nil && s.Runs(ctx, p, c)
		}
		if !allowed {
			return fault.Forbidden(fault.M("您不能结束这份就餐登记", "you may not end this enrolment"))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE care_meal_enrolments SET active = FALSE, ended_by = $1, ended_at = $2 WHERE id = $3 AND active`, p.Username, db.T(s.Now()), id); err != nil {
			return err
		}
		return s.record(ctx, tx, "care.meal.unenrol", "care_meal_enrolment", id, div, canteen)
	})
}

const enrolCols = `e.id, e.canteen_id, c.name, e.resident_id, e.surname, e.division_code, e.mode, e.active, e.enrolled_by, e.created_at`

func scanEnrolment(r db.Scanner) (Enrolment, error) {
	var e Enrolment
	var at db.Time
	err := r.Scan(&e.ID, &e.CanteenID, &e.CanteenName, &e.ResidentID, &e.Name, &e.Division, &e.Mode, &e.Active, &e.EnrolledBy, &at)
	e.Name += "**"
	e.CreatedAt = at.Time
	return e, err
}

// Diners are a canteen's active enrolments (the canteen visible to the
// principal; a resident sees only their household's).
func (s *Store) Diners(ctx context.Context, canteenID string) ([]Enrolment, error) {
	p := access.From(ctx)
	c, err := s.Canteen(ctx, canteenID)
	if err != nil {
		return nil, err
	}
	cond, args := "", []any{c.ID}
	switch {
	case s.Runs(ctx, p, c) || p.Role == access.Officer && access.Encloses(p.Division, c.Division):
	case p.Role == access.Resident:
		r, err := s.residentOf(ctx, p)
		if err != nil {
			return nil, err
		}
		cond, args = " AND e.household_id = $2", append(args, r.Household)
	default: // workers of a community served see their own residents
		sc := access.Subtree(p.Division)
		cond, args = " AND e.division_code >= $2 AND e.division_code < $3", append(args, sc.Lo, sc.Hi)
	}
	es, err := db.Collect(ctx, s.DB.R, scanEnrolment, `SELECT `+enrolCols+` FROM care_meal_enrolments e JOIN care_canteens c ON c.id = e.canteen_id
		WHERE e.canteen_id = $1 AND e.active`+cond+` ORDER BY e.surname, e.id LIMIT 1000`, args...)
	if es == nil {
		es = []Enrolment{}
	}
	return es, err
}

// MyEnrolments are the active enrolments of the resident's household.
func (s *Store) MyEnrolments(ctx context.Context) ([]Enrolment, error) {
	r, err := s.residentOf(ctx, access.From(ctx))
	if err != nil {
		return nil, err
	}
	es, err := db.Collect(ctx, s.DB.R, scanEnrolment, `SELECT `+enrolCols+` FROM care_meal_enrolments e JOIN care_canteens c ON c.id = e.canteen_id
		WHERE e.household_id = $1 AND e.active ORDER BY c.name, e.id`, r.Household)
	if es == nil {
		es = []Enrolment{}
	}
	return es, err
}

// PublishMealRule adds a version of the county's meal subsidy rule for a
// year (county officers): each tier's amount is per meal. A version
// cannot start in a month whose meals are already recorded.
func (s *Store) PublishMealRule(ctx context.Context, in RuleInput) (Rule, error) {
	return s.publish(ctx, in, ruleBook{
		table: "care_meal_rules", action: "care.meal_rule.publish", object: "care_meal_rule",
		maxFen: 100_00, amount: fault.M("每餐补贴应为 0.01–100 元", "the amount per meal must be 0.01–100 yuan"),
		heldSQL: `SELECT COUNT(*) FROM care_meals WHERE county = $1 AND month >= $2`,
		held:    fault.M("已有就餐记录的月份不能改用新规则", "months with meals recorded cannot take a new rule"),
		heldFix: fault.M("应晚于已有就餐记录的月份", "must be after the months with meals recorded"),
	})
}

// MealRules lists the meal rule versions of the principal's county,
// newest first.
func (s *Store) MealRules(ctx context.Context) ([]Rule, error) {
	p := access.From(ctx)
	if p == nil || !p.Role.Business() {
		return []Rule{}, nil
	}
	county := p.Division[:min(6, len(p.Division))]
	sc := access.Subtree(county)
	rs, err := db.Collect(ctx, s.DB.R, scanRule, `SELECT `+ruleCols+` FROM care_meal_rules WHERE county >= $1 AND county < $2 ORDER BY county, year DESC, version DESC LIMIT 100`, sc.Lo, sc.Hi)
	if rs == nil {
		rs = []Rule{}
	}
	return rs, err
}

// mealRuleFor is the version in force for a county's month (nil: none,
// no subsidy).
func (s *Store) mealRuleFor(ctx context.Context, q rowQuerier, county, m string) (*Rule, error) {
	r, err := scanRule(q.QueryRowContext(ctx, `SELECT `+ruleCols+` FROM care_meal_rules WHERE county = $1 AND year = $2 AND from_month <= $3 ORDER BY version DESC LIMIT 1`, county, m[:4], m))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &r, err
}

// tagSpan is a tag held from Since to Until ("" open).
type tagSpan struct{ Tag, Since, Until string }

// mealSubsidy is the largest tier a diner meets on day: aged at least
// AgeMin and, when the tier names tags, holding one of them that day.
func mealSubsidy(r *Rule, birth string, tags []tagSpan, day string) int64 {
	if r == nil {
		return 0
	}
	var best int64
	for _, t := range r.Tiers {
		if t.AgeMin > 0 && !agedOn(birth, day, t.AgeMin) {
			continue
		}
		if len(t.Tags) > 0 {
			held := false
			for _, h := range tags {
				for _, want := range t.Tags {
					if h.Tag == want && h.Since <= day && (h.Until == "" || h.Until >= day) {
						held = true
					}
				}
			}
			if !held {
				continue
			}
		}
		best = max(best, t.AmountFen)
	}
	return best
}

// mealLine is one meal to record, checked.
type mealLine struct {
	enrolment, resident, household, division, surname, birth string
	date, sitting, mode                                      string
}

// lineError names the line (0: a form) and field of a meal that cannot
// be recorded.
func lineError(line int, field string, zh, en string) error {
	if line > 0 {
		return fault.Invalid(fault.M(fmt.Sprintf("第 %d 行：%s", line, zh), fmt.Sprintf("line %d: %s", line, en)),
			fault.Field(fmt.Sprintf("line %d: %s", line, field), fault.M(zh, en)))
	}
	return bad(field, zh, en)
}

// recordMeals writes the meals of a canteen in tx, each once: a meal
// already recorded for the diner, date and sitting is left as it was.
// Every line is checked first; any error writes nothing.
func (s *Store) recordMeals(ctx context.Context, tx *sql.Tx, c Canteen, lines []mealLine, rows []int, source string) (MealResult, error) {
	p := access.From(ctx)
	var res MealResult
	today := s.Now().In(cstZone())
	earliest := today.AddDate(0, 0, -mealWindowDays).Format("2006-01-02")
	todayS := today.Format("2006-01-02")
	prices := map[string]int64{}
	rules := map[string]*Rule{}
	settled := map[string]bool{}
	people := map[string]mealLine{}
	tags := map[string][]tagSpan{}
	for i := range lines {
		l := &lines[i]
		row := rows[i]
		d, err := time.Parse("2006-01-02", l.date)
		if err != nil {
			return res, lineError(row, "date", "日期应为 YYYY-MM-DD", "the date must be YYYY-MM-DD")
		}
		if l.date > todayS {
			return res, lineError(row, "date", "不能登记未来的就餐", "a meal cannot be recorded ahead")
		}
		if l.date < earliest {
			return res, lineError(row, "date", fmt.Sprintf("只能登记 %d 天内的就餐", mealWindowDays), fmt.Sprintf("only meals of the last %d days can be recorded", mealWindowDays))
		}
		if sittingNames[l.sitting] == (fault.Msg{}) {
			return res, lineError(row, "sitting", "餐次应为 lunch（午餐）或 dinner（晚餐）", "the sitting must be lunch or dinner")
		}
		key := l.date + "/" + l.sitting
		if _, ok := prices[key]; !ok {
			var price int64
			err := tx.QueryRowContext(ctx, `SELECT price_fen FROM care_menus WHERE canteen_id = $1 AND served_on = $2 AND sitting = $3`, c.ID, l.date, l.sitting).Scan(&price)
			if errors.Is(err, sql.ErrNoRows) {
				return res, lineError(row, "date", "该日该餐次没有发布菜单", "no menu was published for that day and sitting")
			} else if err != nil {
				return res, err
			}
			prices[key] = price
		}
		m := d.Format("2006-01")
		if _, ok := rules[m]; !ok {
			if rules[m], err = s.mealRuleFor(ctx, tx, c.County, m); err != nil {
				return res, err
			}
			// A provider's month, or a community-run canteen's own.
			payeeCanteen := ""
			if c.ProviderID == "" {
				payeeCanteen = c.ID
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM care_settlements WHERE provider_id = $1 AND canteen_id = $2 AND month = $3`,
				c.ProviderID, payeeCanteen, m).Scan(&n); err != nil {
				return res, err
			}
			settled[m] = n > 0
		}
		if settled[m] {
			return res, lineError(row, "date", "该月已结算，不能再登记", "the month is settled; no more meals can be recorded")
		}
		who, ok := people[l.enrolment]
		if !ok {
			err := tx.QueryRowContext(ctx, `SELECT e.resident_id, e.household_id, e.division_code, e.surname, e.mode, COALESCE(pp.birth_date, '') FROM care_meal_enrolments e
				LEFT JOIN registry_people pp ON pp.id = e.resident_id WHERE e.id = $1 AND e.canteen_id = $2 AND e.active`, l.enrolment, c.ID).
				Scan(&who.resident, &who.household, &who.division, &who.surname, &who.mode, &who.birth)
			if errors.Is(err, sql.ErrNoRows) {
				return res, lineError(row, "enrolment_id", "该居民未在本助餐点登记就餐", "the diner is not enrolled at this canteen")
			} else if err != nil {
				return res, err
			}
			people[l.enrolment] = who
			ts, err := db.Collect(ctx, tx, func(r db.Scanner) (tagSpan, error) {
				var t tagSpan
				return t, r.Scan(&t.Tag, &t.Since, &t.Until)
			}, `SELECT tag, since_date, until_date FROM registry_person_tags WHERE resident_id = $1`, who.resident)
			if err != nil {
				return res, err
			}
			tags[who.resident] = ts
		}
		if l.mode == "" {
			l.mode = who.mode
		}
		if modeNames[l.mode] == (fault.Msg{}) {
			return res, lineError(row, "mode", "就餐方式应为 dine_in（堂食）或 delivery（送餐）", "the mode must be dine_in or delivery")
		}
		l.resident, l.household, l.division, l.surname, l.birth = who.resident, who.household, who.division, who.surname, who.birth
	}
	now := db.T(s.Now())
	for _, l := range lines {
		m := l.date[:7]
		price := prices[l.date+"/"+l.sitting]
		subsidy := min(mealSubsidy(rules[m], l.birth, tags[l.resident], l.date), price)
		ruleID := ""
		if rules[m] != nil {
			ruleID = rules[m].ID
		}
		r, err := tx.ExecContext(ctx, `INSERT INTO care_meals (id, canteen_id, enrolment_id, resident_id, household_id, division_code, surname, served_on, sitting, mode, month, county, provider_id,
			amount_fen, subsidy_fen, copay_fen, rule_id, source, recorded_by, settlement_id, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,'',$20) ON CONFLICT (canteen_id, resident_id, served_on, sitting) DO NOTHING`,
			db.NewID(), c.ID, l.enrolment, l.resident, l.household, l.division, l.surname, l.date, l.sitting, l.mode, m, c.County, c.ProviderID,
			price, subsidy, price-subsidy, ruleID, source, p.Username, now)
		if err != nil {
			return res, err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			res.Already++
			continue
		}
		res.Added++
		res.SubsidyFen += subsidy
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_meal_units (community, month) VALUES ($1, $2) ON CONFLICT (community, month) DO NOTHING`, l.division, m); err != nil {
			return res, err
		}
	}
	return res, nil
}

// RecordSitting records a sitting's tick list: every diner ticked is
// served once; submitting the list again changes nothing.
func (s *Store) RecordSitting(ctx context.Context, canteenID string, in SittingInput) (MealResult, error) {
	p := access.From(ctx)
	var res MealResult
	if len(in.Served) > 1000 {
		return res, bad("served", "一次最多 1,000 人", "at most 1,000 diners at once")
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		c, err := s.canteen(ctx, tx, canteenID)
		if err != nil {
			return err
		}
		if !s.Runs(ctx, p, c) {
			return errNotCanteen
		}
		lines := make([]mealLine, len(in.Served))
		rows := make([]int, len(in.Served))
		for i, t := range in.Served {
			lines[i] = mealLine{enrolment: t.EnrolmentID, date: in.Date, sitting: in.Sitting, mode: t.Mode}
		}
		if len(lines) == 0 { // still check the sitting asked for
			if _, err := validSitting(in.Date, in.Sitting); err != nil {
				return err
			}
		}
		if res, err = s.recordMeals(ctx, tx, c, lines, rows, "tick"); err != nil {
			return err
		}
		return s.record(ctx, tx, "care.meal.record", "care_canteen", c.ID, c.Division, fmt.Sprintf("%s %s added=%d already=%d", in.Date, in.Sitting, res.Added, res.Already))
	})
	return res, err
}

func validSitting(date, sitting string) (time.Time, error) {
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		return d, bad("date", "日期应为 YYYY-MM-DD", "the date must be YYYY-MM-DD")
	}
	if sittingNames[sitting] == (fault.Msg{}) {
		return d, bad("sitting", "餐次应为 lunch（午餐）或 dinner（晚餐）", "the sitting must be lunch or dinner")
	}
	return d, nil
}

// MealCSVHeader is the bulk file's header.
var MealCSVHeader = []string{"enrolment_id", "date", "sitting", "mode"}

// ImportMeals records a CSV (or xlsx) of meals: columns enrolment_id,
// date, sitting and mode (empty: the enrolment's). The file is checked
// whole; an error names its line and field and nothing is written.
func (s *Store) ImportMeals(ctx context.Context, canteenID string, data []byte) (MealResult, error) {
	p := access.From(ctx)
	var res MealResult
	t, err := tabular.Read(data)
	if err != nil {
		var te *tabular.Error
		if errors.As(err, &te) {
			return res, fault.Invalid(fault.M(te.ZH, te.EN), fault.Field("file", fault.M(te.ZH, te.EN)))
		}
		return res, err
	}
	col := map[string]int{}
	for i, h := range t.Header {
		col[strings.ToLower(h)] = i
	}
	for _, h := range MealCSVHeader {
		if _, ok := col[h]; !ok {
			return res, bad("file", "表头缺少“"+h+"”列（应为 "+strings.Join(MealCSVHeader, ",")+"）", "the header lacks the column "+h+" (want "+strings.Join(MealCSVHeader, ",")+")")
		}
	}
	var lines []mealLine
	var rows []int
	for i, r := range t.Rows {
		if r == nil {
			continue
		}
		lines = append(lines, mealLine{enrolment: r[col["enrolment_id"]], date: r[col["date"]], sitting: r[col["sitting"]], mode: r[col["mode"]]})
		rows = append(rows, i+2)
	}
	if len(lines) == 0 {
		return res, bad("file", "文件中没有就餐记录", "the file has no meals")
	}
	if len(lines) > 20000 {
		return res, bad("file", "一个文件最多 20,000 行", "a file has at most 20,000 lines")
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		c, err := s.canteen(ctx, tx, canteenID)
		if err != nil {
			return err
		}
		if !s.Runs(ctx, p, c) {
			return errNotCanteen
		}
		if res, err = s.recordMeals(ctx, tx, c, lines, rows, "csv"); err != nil {
			return err
		}
		return s.record(ctx, tx, "care.meal.import", "care_canteen", c.ID, c.Division, fmt.Sprintf("lines=%d added=%d already=%d", len(lines), res.Added, res.Already))
	})
	return res, err
}

// mealVisible restricts meals (alias m) to what p may see of a canteen
// they may see: its staff and the officers over it all; a worker their
// area's diners; a resident their household's.
func (s *Store) mealVisible(ctx context.Context, p *access.Principal, c Canteen, next int) (string, []any, error) {
	switch {
	case s.Runs(ctx, p, c) || p.Role == access.Officer && access.Encloses(p.Division, c.Division):
		return "1 = 1", nil, nil
	case p.Role == access.Resident:
		r, err := s.residentOf(ctx, p)
		if err != nil {
			return "", nil, err
		}
		return "m.household_id = " + ph(next), []any{r.Household}, nil
	default:
		sc := access.Subtree(p.Division)
		return "m.division_code >= " + ph(next) + " AND m.division_code < " + ph(next+1), []any{sc.Lo, sc.Hi}, nil
	}
}

// Meals lists a canteen's meals of a day (default today; dinner first) that the
// principal may see.
func (s *Store) Meals(ctx context.Context, canteenID, day string) ([]Meal, error) {
	if day == "" {
		day = s.Now().In(cstZone()).Format("2006-01-02")
	}
	if err := validDate("date", day); err != nil {
		return nil, err
	}
	c, err := s.Canteen(ctx, canteenID)
	if err != nil {
		return nil, err
	}
	cond, args, err := s.mealVisible(ctx, access.From(ctx), c, 3)
	if err != nil {
		return nil, err
	}
	ms, err := db.Collect(ctx, s.DB.R, scanMeal, `SELECT `+mealCols+` FROM care_meals m WHERE m.canteen_id = $1 AND m.served_on = $2 AND `+cond+` ORDER BY m.sitting DESC, m.surname, m.id LIMIT 2000`,
		append([]any{c.ID, day}, args...)...)
	if ms == nil {
		ms = []Meal{}
	}
	return ms, err
}

const mealCols = `m.id, m.canteen_id, m.resident_id, m.surname, m.division_code, m.served_on, m.sitting, m.mode, m.amount_fen, m.subsidy_fen, m.copay_fen, m.rule_id, m.source`

func scanMeal(r db.Scanner) (Meal, error) {
	var m Meal
	err := r.Scan(&m.ID, &m.CanteenID, &m.ResidentID, &m.Name, &m.Division, &m.Date, &m.Sitting, &m.Mode, &m.AmountFen, &m.SubsidyFen, &m.CopayFen, &m.RuleID, &m.Source)
	m.Name += "**"
	return m, err
}

// MealMonths are a canteen's months (newest first, at most 24): the
// meals the principal may see and the subsidy due.
func (s *Store) MealMonths(ctx context.Context, canteenID string) ([]MealMonth, error) {
	c, err := s.Canteen(ctx, canteenID)
	if err != nil {
		return nil, err
	}
	cond, args, err := s.mealVisible(ctx, access.From(ctx), c, 2)
	if err != nil {
		return nil, err
	}
	ms, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (MealMonth, error) {
		var m MealMonth
		return m, r.Scan(&m.Month, &m.Meals, &m.Delivered, &m.AmountFen, &m.SubsidyFen, &m.CopayFen, &m.Settled)
	}, `SELECT m.month, COUNT(*), SUM(CASE WHEN m.mode = 'delivery' THEN 1 ELSE 0 END), SUM(m.amount_fen), SUM(m.subsidy_fen), SUM(m.copay_fen),
		SUM(CASE WHEN m.settlement_id <> '' THEN 1 ELSE 0 END)
		FROM care_meals m WHERE m.canteen_id = $1 AND `+cond+` GROUP BY m.month ORDER BY m.month DESC LIMIT 24`, append([]any{c.ID}, args...)...)
	if ms == nil {
		ms = []MealMonth{}
	}
	return ms, err
}

// MealStatement is a canteen's month as xlsx: one row per meal the
// principal may see (diners by surname only), then the totals — the meals
// and the subsidy due from the county. The download is audited.
func (s *Store) MealStatement(ctx context.Context, canteenID, m string) ([]byte, error) {
	if err := validMonth("month", m); err != nil {
		return nil, err
	}
	c, err := s.Canteen(ctx, canteenID)
	if err != nil {
		return nil, err
	}
	p := access.From(ctx)
	cond, args, err := s.mealVisible(ctx, p, c, 3)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := tabular.New(&buf, "xlsx", tabular.Options{Sheet: "助餐 Meals", Stamp: [][]string{
		{"助餐点 / Canteen", c.Name}, {"月份 / Month", m}, {"导出人 / Exported by", p.Username}, {"生成时间 / Written at", s.Now().In(cstZone()).Format("2006-01-02 15:04")}}})
	if err != nil {
		return nil, err
	}
	fail := func(err error) ([]byte, error) { w.Discard(); return nil, err }
	if err := w.Values("日期 Date", "餐次 Sitting", "社区 Community", "居民 Diner", "方式 Mode", "金额（元）Amount (yuan)", "补贴（元）Subsidy (yuan)", "自付（元）Co-payment (yuan)", "来源 Source"); err != nil {
		return fail(err)
	}
	var n int
	var amount, subsidy, copay int64
	err = db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		ml, err := scanMeal(r)
		if err != nil {
			return err
		}
		n++
		amount, subsidy, copay = amount+ml.AmountFen, subsidy+ml.SubsidyFen, copay+ml.CopayFen
		return w.Values(ml.Date, sittingNames[ml.Sitting].ZH, ml.Division, ml.Name, modeNames[ml.Mode].ZH, yuan(ml.AmountFen), yuan(ml.SubsidyFen), yuan(ml.CopayFen), ml.Source)
	}, `SELECT `+mealCols+` FROM care_meals m WHERE m.canteen_id = $1 AND m.month = $2 AND `+cond+` ORDER BY m.served_on, m.sitting DESC, m.surname, m.id`, append([]any{c.ID, m}, args...)...)
	if err != nil {
		return fail(err)
	}
	if err := w.Values("合计 Total", m, c.Name, fmt.Sprintf("%d 餐 meals", n), "", yuan(amount), yuan(subsidy), yuan(copay), ""); err != nil {
		return fail(err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), s.Audit.Record(ctx, auditEntry("care.meal.statement", "care_canteen", c.ID, c.Division, fmt.Sprintf("%s meals=%d", m, n)))
}

// Elements supply C06's numerator: the villages and communities where a
// diner enrolled at a canteen was served at least one meal in the period
// (the year, or a month when asked), counted by the diner's community. It
// is read when an indicator is: the indicators keep no copy.
func (m *careModule) Elements() []module.Element {
	return []module.Element{{Key: "units_with_meals_served", NameZH: "有助餐服务实际供餐的村(社区)", NameEN: "Villages and communities where enrolled diners were served meals",
		Source: "computed", Volatile: true, Sum: mealUnits}}
}

// mealUnits counts, per group, the communities with a meal in the period.
func mealUnits(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
	key := "community"
	if !g.Fine && g.Prefix > 0 {
		key = "substr(community, 1, " + strconv.Itoa(g.Prefix) + ")"
	}
	from, to := fmt.Sprintf("%04d-01", g.Year), fmt.Sprintf("%04d-12", g.Year)
	if g.Month >= 1 && g.Month <= 12 {
		from = fmt.Sprintf("%04d-%02d", g.Year, g.Month)
		to = from
	}
	out := map[string]float64{}
	err := db.EachRow(ctx, q, func(r db.Scanner) error {
		var k string
		var n float64
		err := r.Scan(&k, &n)
		out[k] = n
		return err
	}, `SELECT `+key+`, COUNT(DISTINCT community) FROM care_meal_units WHERE community >= $1 AND community < $2 AND month >= $3 AND month <= $4 AND length(community) = 12 GROUP BY `+key,
		g.Lo, g.Hi, from, to)
	return out, err
}
