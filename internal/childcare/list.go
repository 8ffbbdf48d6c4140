package childcare

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/module"
	"linli/internal/questions"
	"linli/internal/web"
)

// ListCountCap bounds the count of a list.
const ListCountCap = 1000

const cursorList = "childcare/settings"

// Page is one page of settings in (division, name, id) order.
type Page struct {
	Items  []Setting `json:"items"`
	Total  int       `json:"total"`
	Capped bool      `json:"total_capped"`
	Next   string    `json:"next,omitempty"`
}

// List pages the settings of the principal's jurisdiction by key,
// optionally of one kind and by a name's beginning. The page's rows are
// read with their places, latest filing and counts in one statement.
func (s *Store) List(ctx context.Context, kind, q, cursor string, size int) (Page, error) {
	p := access.From(ctx)
	if !isWorker(p) {
		return Page{}, errWorkers
	}
	if size <= 0 || size > 100 {
		size = 20
	}
	if kind != "" && KindName(kind).EN == kind {
		return Page{}, fault.Invalid(fault.M("筛选条件有误", "bad filter"), fault.Field("kind", fault.M("没有这个类型", "no such kind")))
	}
	sc := access.BusinessScope(p)
	where, args := `s.division_code >= $1 AND s.division_code < $2`, []any{sc.Lo, sc.Hi}
	if kind != "" {
		args = append(args, kind)
		where += ` AND s.kind = $` + strconv.Itoa(len(args))
	}
	if q = strings.TrimSpace(q); q != "" {
		args = append(args, strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)+"%")
		where += ` AND s.name LIKE $` + strconv.Itoa(len(args)) + ` ESCAPE '\'`
	}
	var page Page
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM cc_settings s WHERE `+where+` LIMIT `+strconv.Itoa(ListCountCap+1)+`) c`, args...).Scan(&page.Total); err != nil {
		return page, err
	}
	if page.Total > ListCountCap {
		page.Total, page.Capped = ListCountCap, true
	}
	if cursor != "" {
		key, err := keyset.Open(s.Keys, cursor, cursorList, 3)
		if err != nil {
			return page, err
		}
		n := len(args)
		args = append(args, key[0], key[1], key[2])
		where += ` AND (s.division_code > $` + strconv.Itoa(n+1) + ` OR (s.division_code = $` + strconv.Itoa(n+1) + ` AND (s.name > $` + strconv.Itoa(n+2) +
			` OR (s.name = $` + strconv.Itoa(n+2) + ` AND s.id > $` + strconv.Itoa(n+3) + `))))`
	}
	args = append(args, s.today())
	today := `$` + strconv.Itoa(len(args))
	items, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Setting, error) {
		st := Setting{Places: map[string]int{}}
		var infant, toddler, older int
		var valid sql.NullString
		err := r.Scan(&st.ID, &st.Division, &st.Kind, &st.Name, &st.Address, &infant, &toddler, &older, &valid, &st.Waiting, &st.Enrolled)
		st.Places["infant"], st.Places["toddler"], st.Places["older"] = infant, toddler, older
		if valid.Valid {
			st.Filing = &Filing{ValidUntil: valid.String}
			st.Filed = valid.String >= s.today()
		}
		return st, err
	}, `SELECT s.id, s.division_code, s.kind, s.name, s.address,
		COALESCE((SELECT places FROM cc_places WHERE setting_id = s.id AND band = 'infant'), 0),
		COALESCE((SELECT places FROM cc_places WHERE setting_id = s.id AND band = 'toddler'), 0),
		COALESCE((SELECT places FROM cc_places WHERE setting_id = s.id AND band = 'older'), 0),
		(SELECT MAX(valid_until) FROM cc_filings WHERE setting_id = s.id AND filed_on <= `+today+`),
		(SELECT COUNT(*) FROM cc_applications WHERE setting_id = s.id AND status = 'waiting'),
		(SELECT COUNT(*) FROM cc_applications WHERE setting_id = s.id AND status = 'enrolled')
		FROM (SELECT s.id FROM cc_settings s WHERE `+where+` ORDER BY s.division_code, s.name, s.id LIMIT `+strconv.Itoa(size+1)+`) t
		JOIN cc_settings s ON s.id = t.id ORDER BY s.division_code, s.name, s.id`, args...)
	if err != nil {
		return page, err
	}
	if len(items) > size {
		items = items[:size]
		last := items[size-1]
		page.Next = keyset.Seal(s.Keys, cursorList, last.Division, last.Name, last.ID)
	}
	page.Items = items
	return page, nil
}

// Near lists a resident's choice of settings: those of their township,
// filed and valid today, by name.
func (s *Store) Near(ctx context.Context) ([]Setting, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Resident {
		return nil, fault.Forbidden(fault.M("只有居民可以查看", "residents only"))
	}
	var div string
	if err := s.DB.R.QueryRowContext(ctx, `SELECT division_code FROM registry_people WHERE username = $1 AND username <> ''`, p.Username).Scan(&div); err != nil {
		return nil, fault.Conflict(fault.M("您的账号还没有关联居民登记信息，请联系社区", "your account is not linked to a registry record yet: contact your community"))
	}
	sc := access.Subtree(div[:min(9, len(div))])
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Setting, error) {
		var st Setting
		return st, r.Scan(&st.ID, &st.Division, &st.Kind, &st.Name, &st.Address)
	}, `SELECT s.id, s.division_code, s.kind, s.name, s.address FROM cc_settings s WHERE s.division_code >= $1 AND s.division_code < $2
		AND EXISTS (SELECT 1 FROM cc_filings f WHERE f.setting_id = s.id AND f.filed_on <= $3 AND f.valid_until >= $3)
		ORDER BY s.name, s.id LIMIT 100`, sc.Lo, sc.Hi, s.today())
}

// Children are the children of a household (under three), for a picker.
type Child struct {
	ID, Name, Birth string
	Months          int
}

// OwnChildren lists the children under three of the resident's household.
func (s *Store) OwnChildren(ctx context.Context) ([]Child, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Resident {
		return nil, nil
	}
	today := s.today()
	kids, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Child, error) {
		var c Child
		err := r.Scan(&c.ID, &c.Name, &c.Birth)
		c.Name += "**"
		c.Months, _ = monthsOld(c.Birth, today)
		return c, err
	}, `SELECT c.id, c.surname, c.birth_date FROM registry_people c JOIN registry_people me ON me.household_id = c.household_id
		WHERE me.username = $1 AND me.username <> '' AND c.birth_date > $2 ORDER BY c.birth_date DESC, c.id`, p.Username, minus(today, 3))
	return kids, err
}

// minus is a date some years before another ("2006-01-02").
func minus(date string, years int) string {
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		return date
	}
	return d.AddDate(-years, 0, 0).Format("2006-01-02")
}

// Mine lists the applications of the resident's household.
func (s *Store) Mine(ctx context.Context, p *access.Principal) ([]module.MineSection, error) {
	if p == nil || p.Role != access.Resident {
		return nil, nil
	}
	apps, err := db.Collect(ctx, s.DB.R, scanApp, `SELECT `+appCols+appFrom+`
		WHERE a.household_id = (SELECT household_id FROM registry_people WHERE username = $1 AND username <> '') ORDER BY a.created_at DESC, a.id LIMIT 5`, p.Username)
	if err != nil {
		return nil, err
	}
	sec := module.MineSection{Module: "childcare", Order: 45, Title: fault.M("托育", "Childcare"),
		Empty:  fault.M("您家还没有托位申请。", "Your household has no childcare application."),
		Action: &module.MineItem{Label: fault.M("申请托位", "Apply for a childcare place"), Href: "/childcare/apply"}}
	for _, a := range apps {
		sec.Items = append(sec.Items, module.MineItem{Label: fault.M(a.Setting+" · "+a.Child, a.Setting+" · "+a.Child), When: a.CreatedAt,
			Href: "/childcare/applications/" + a.ID, Status: &web.Tag{Tone: tone(a.Status), Label: StatusName(a.Status)}})
	}
	return []module.MineSection{sec}, nil
}

func tone(status string) web.Tone {
	switch status {
	case Enrolled:
		return web.ToneOK
	case Left:
		return web.ToneMuted
	}
	return web.ToneInfo
}

// asOf is the day a group's figure is counted on: the end of its month or
// year, or today when that is still to come.
func asOf(g module.Group, now time.Time) string {
	end := time.Date(g.Year, 12, 31, 0, 0, 0, 0, time.UTC)
	if g.Month >= 1 && g.Month <= 12 {
		end = time.Date(g.Year, time.Month(g.Month)+1, 0, 0, 0, 0, 0, time.UTC)
	}
	today := now.Format("2006-01-02")
	if d := end.Format("2006-01-02"); d < today {
		return d
	}
	return today
}

// Elements supply I16's numerator: the licensed places of settings whose
// filing covers the day counted (a setting without a valid filing counts
// nothing). They are counted when read: the indicators keep no copy.
func (s *Store) Elements() []module.Element {
	return []module.Element{{Key: "childcare_filed_places", NameZH: "已备案且在有效期内的托育托位", NameEN: "Childcare places in settings with a valid filing",
		Source: "computed", Volatile: true, Sum: func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
			return FiledPlaces(ctx, q, g, asOf(g, s.Now().In(questions.CST)))
		}}}
}

// FiledPlaces sums the places of settings filed and valid on day, by
// division prefix.
func FiledPlaces(ctx context.Context, q db.Querier, g module.Group, day string) (map[string]float64, error) {
	key := `substr(s.division_code, 1, ` + strconv.Itoa(g.Prefix) + `)`
	if g.Fine {
		key = `s.division_code`
	}
	out := map[string]float64{}
	err := db.EachRow(ctx, q, func(r db.Scanner) error {
		var k string
		var n float64
		err := r.Scan(&k, &n)
		out[k] = n
		return err
	}, `SELECT `+key+`, SUM(p.places) FROM cc_settings s JOIN cc_places p ON p.setting_id = s.id
		WHERE s.division_code >= $1 AND s.division_code < $2
		AND EXISTS (SELECT 1 FROM cc_filings f WHERE f.setting_id = s.id AND f.filed_on <= $3 AND f.valid_until >= $3)
		GROUP BY `+key, g.Lo, g.Hi, day)
	return out, err
}

// Coverage is one township's settings: how many, how many are filed and
// valid, and their places.
type Coverage struct {
	Code     string `json:"division_code"`
	Name     string `json:"name"`
	Settings int    `json:"settings"`
	Filed    int    `json:"filed"`
	Places   int    `json:"places"`
}

// Covered tells whether the township has at least one filed setting.
func (c Coverage) Covered() bool { return c.Filed > 0 }

// Coverage lists the townships of the principal's county (or of their own
// township) with their settings, as the plan asks every township to have
// at least one.
func (s *Store) Coverage(ctx context.Context) ([]Coverage, error) {
	p := access.From(ctx)
	if !isWorker(p) {
		return nil, errWorkers
	}
	county := countyOf(p.Division)
	towns, _, err := s.Divs.Children(ctx, county, 0, 500)
	if err != nil {
		return nil, err
	}
	sc := access.BusinessScope(p)
	byCode := map[string]*Coverage{}
	var out []Coverage
	for _, d := range towns {
		if len(p.Division) > 6 && !strings.HasPrefix(d.Code, p.Division[:min(9, len(p.Division))]) {
			continue
		}
		out = append(out, Coverage{Code: d.Code, Name: d.Name})
	}
	for i := range out {
		byCode[out[i].Code] = &out[i]
	}
	err = db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var town string
		var n, filed, places int
		if err := r.Scan(&town, &n, &filed, &places); err != nil {
			return err
		}
		if c := byCode[town]; c != nil {
			c.Settings, c.Filed, c.Places = n, filed, places
		}
		return nil
	}, `SELECT substr(s.division_code, 1, 9), COUNT(*), SUM(s.ok), SUM(s.ok * s.places)
		FROM (SELECT s.division_code, (SELECT COALESCE(SUM(places), 0) FROM cc_places WHERE setting_id = s.id) AS places,
			CASE WHEN EXISTS (SELECT 1 FROM cc_filings f WHERE f.setting_id = s.id AND f.filed_on <= $3 AND f.valid_until >= $3) THEN 1 ELSE 0 END AS ok
			FROM cc_settings s WHERE s.division_code >= $1 AND s.division_code < $2) s
		GROUP BY substr(s.division_code, 1, 9)`, sc.Lo, sc.Hi, s.today())
	return out, err
}

// plusMonths is a date some months after another ("2006-01-02").
func plusMonths(date string, months int) string {
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		return date
	}
	return d.AddDate(0, months, 0).Format("2006-01-02")
}

// AppPage is one page of applications, newest first.
type AppPage struct {
	Items  []Application `json:"items"`
	Total  int           `json:"total"`
	Capped bool          `json:"total_capped"`
	Next   string        `json:"next,omitempty"`
}

// Applications pages the applications of the principal's jurisdiction
// by id, newest first (a resident: their household's), optionally of one
// status.
func (s *Store) Applications(ctx context.Context, status, cursor string, size int) (AppPage, error) {
	p := access.From(ctx)
	if p == nil || !(isWorker(p) || p.Role == access.Resident) {
		return AppPage{}, errWorkers
	}
	if size <= 0 || size > 100 {
		size = 20
	}
	if status != "" && statusNames[status].ZH == "" {
		return AppPage{}, fault.Invalid(fault.M("筛选条件有误", "bad filter"), fault.Field("status", fault.M("没有这个状态", "no such status")))
	}
	var where string
	var args []any
	if p.Role == access.Resident {
		where, args = `a.household_id = (SELECT household_id FROM registry_people WHERE username = $1 AND username <> '')`, []any{p.Username}
	} else {
		sc := access.BusinessScope(p)
		where, args = `a.division_code >= $1 AND a.division_code < $2`, []any{sc.Lo, sc.Hi}
	}
	if status != "" {
		args = append(args, status)
		where += ` AND a.status = $` + strconv.Itoa(len(args))
	}
	var page AppPage
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM cc_applications a WHERE `+where+` LIMIT `+strconv.Itoa(ListCountCap+1)+`) c`, args...).Scan(&page.Total); err != nil {
		return page, err
	}
	if page.Total > ListCountCap {
		page.Total, page.Capped = ListCountCap, true
	}
	if cursor != "" {
		key, err := keyset.Open(s.Keys, cursor, "childcare/applications", 1)
		if err != nil {
			return page, err
		}
		args = append(args, key[0])
		where += ` AND a.id < $` + strconv.Itoa(len(args))
	}
	items, err := db.Collect(ctx, s.DB.R, scanApp, `SELECT `+appCols+` FROM (SELECT a.id FROM cc_applications a WHERE `+where+` ORDER BY a.id DESC LIMIT `+strconv.Itoa(size+1)+`) k
		JOIN cc_applications a ON a.id = k.id JOIN cc_settings s ON s.id = a.setting_id LEFT JOIN registry_people r ON r.id = a.child_id ORDER BY a.id DESC`, args...)
	if err != nil {
		return page, err
	}
	if len(items) > size {
		items = items[:size]
		page.Next = keyset.Seal(s.Keys, "childcare/applications", items[size-1].ID)
	}
	page.Items = items
	return page, nil
}
