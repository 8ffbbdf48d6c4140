package childcare

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/questions"
	"linli/internal/secret"
)

// Store owns the settings, their places and filings, the priority rules
// and the applications.
type Store struct {
	DB    *db.DB
	Keys  *secret.Keyring
	Audit *audit.Log
	Now   func() time.Time
	Divs  module.Divisions
}

// Band is an age band of licensed places, in months: [Min, Max).
type Band struct {
	Key      string
	Min, Max int
	Name     fault.Msg
}

// Bands are the age bands of the national childcare standard (托育机构设置
// 标准): 乳儿班 6–12 months, 托小班 12–24, 托大班 24–36.
var Bands = []Band{
	{"infant", 6, 12, fault.M("乳儿班（6–12 个月）", "Infants (6–12 months)")},
	{"toddler", 12, 24, fault.M("托小班（12–24 个月）", "Toddlers (12–24 months)")},
	{"older", 24, 36, fault.M("托大班（24–36 个月）", "Older toddlers (24–36 months)")},
}

// BandOf is the band of an age in months ("" when none takes it).
func BandOf(months int) string {
	for _, b := range Bands {
		if months >= b.Min && months < b.Max {
			return b.Key
		}
	}
	return ""
}

// BandName is a band in words.
func BandName(key string) fault.Msg {
	for _, b := range Bands {
		if b.Key == key {
			return b.Name
		}
	}
	return fault.M(key, key)
}

// Kinds of setting.
var Kinds = []struct {
	Key  string
	Name fault.Msg
}{
	{"institution", fault.M("托育机构", "Childcare institution")},
	{"community", fault.M("社区嵌入式托育点", "Community childcare centre")},
	{"family", fault.M("家庭托育点", "Family childcare point")},
}

// KindName is a kind in words.
func KindName(key string) fault.Msg {
	for _, k := range Kinds {
		if k.Key == key {
			return k.Name
		}
	}
	return fault.M(key, key)
}

// Statuses of an application.
const (
	Waiting  = "waiting"
	Enrolled = "enrolled"
	Left     = "left"
)

var statusNames = map[string]fault.Msg{Waiting: fault.M("候补中", "Waiting"), Enrolled: fault.M("已入托", "Enrolled"), Left: fault.M("已离托", "Left")}

// StatusName is a status in words.
func StatusName(s string) fault.Msg { return statusNames[s] }

// Setting is one childcare setting.
type Setting struct {
	ID       string         `json:"id"`
	Division string         `json:"division_code"`
	Kind     string         `json:"kind"`
	Name     string         `json:"name"`
	Address  string         `json:"address"`
	Places   map[string]int `json:"places"`
	// Filing is the latest 备案 filing; Filed tells whether one covers today.
	Filing   *Filing `json:"filing,omitempty"`
	Filed    bool    `json:"filed"`
	Waiting  int     `json:"waiting"`
	Enrolled int     `json:"enrolled"`
}

// TotalPlaces is the sum of the bands' places.
func (s Setting) TotalPlaces() int {
	n := 0
	for _, v := range s.Places {
		n += v
	}
	return n
}

// Filing is a 备案 filing of a setting.
type Filing struct {
	ID          string `json:"id"`
	Applicant   string `json:"applicant"`
	Premises    string `json:"premises"`
	Carers      int    `json:"carers"`
	Inspections string `json:"inspections"`
	FiledOn     string `json:"filed_on"`
	ValidUntil  string `json:"valid_until"`
}

// SettingInput is a new setting.
type SettingInput struct {
	Division string         `json:"division_code"`
	Kind     string         `json:"kind"`
	Name     string         `json:"name"`
	Address  string         `json:"address"`
	Places   map[string]int `json:"places"`
}

// Application is a family's application for a place.
type Application struct {
	ID        string    `json:"id"`
	SettingID string    `json:"setting_id"`
	Setting   string    `json:"setting_name,omitempty"`
	Division  string    `json:"division_code"`
	ChildID   string    `json:"child_id"`
	Child     string    `json:"child"` // the surname only (张**)
	Birth     string    `json:"birth_month"`
	Band      string    `json:"band"`
	Priority  int       `json:"priority"`
	Reasons   []string  `json:"reasons"`
	Status    string    `json:"status"`
	AppliedBy string    `json:"applied_by"`
	CreatedAt time.Time `json:"created_at"`
}

// ApplyInput is an application as submitted.
type ApplyInput struct {
	SettingID string `json:"setting_id"`
	ChildID   string `json:"child_id"`
	Note      string `json:"note,omitempty"`
}

// Rule is one priority rule of a county.
type Rule struct {
	County string `json:"county"`
	Code   string `json:"code"`
	Kind   string `json:"kind"` // tag: a household member has the tag; local: lives in the setting's community
	Tag    string `json:"tag,omitempty"`
	Points int    `json:"points"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
}

func invalid(fields ...fault.FieldError) error {
	return fault.Invalid(fault.M("填写有误", "the input has errors"), fields...)
}

func isWorker(p *access.Principal) bool {
	return p != nil && (p.Role == access.CommunityWorker || p.Role == access.Officer)
}

var errWorkers = fault.Forbidden(fault.M("只有社区工作者和干部可以管理托育", "only community workers and officers manage childcare"))

func countyOf(code string) string {
	if len(code) < 6 {
		return code
	}
	return code[:6]
}

// today is the date in China.
func (s *Store) today() string { return s.Now().In(questions.CST).Format("2006-01-02") }

func validDate(v string) bool {
	_, err := time.Parse("2006-01-02", v)
	return err == nil
}

// monthsOld is an age in whole months on a date ("2006-01-02" both).
func monthsOld(birth, on string) (int, bool) {
	b, err1 := time.Parse("2006-01-02", birth)
	d, err2 := time.Parse("2006-01-02", on)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	m := (d.Year()-b.Year())*12 + int(d.Month()-b.Month())
	if d.Day() < b.Day() {
		m--
	}
	return m, true
}

// CreateSetting records a setting in a village or community of the
// principal's jurisdiction.
func (s *Store) CreateSetting(ctx context.Context, in SettingInput) (Setting, error) {
	p := access.From(ctx)
	if !isWorker(p) {
		return Setting{}, errWorkers
	}
	var fields []fault.FieldError
	if len(in.Division) != 12 || !access.BusinessScope(p).Contains(in.Division) {
		fields = append(fields, fault.Field("division_code", fault.M("请选择辖区内的村（社区）", "choose a village or community in your jurisdiction")))
	} else if _, err := s.Divs.Get(ctx, in.Division); err != nil {
		fields = append(fields, fault.Field("division_code", fault.M("没有这个村（社区）", "no such village or community")))
	}
	if KindName(in.Kind).EN == in.Kind {
		fields = append(fields, fault.Field("kind", fault.M("请选择托育点类型", "choose the kind of setting")))
	}
	in.Name, in.Address = strings.TrimSpace(in.Name), strings.TrimSpace(in.Address)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 60 {
		fields = append(fields, fault.Field("name", fault.M("请填写名称（不超过 60 字）", "enter a name of at most 60 characters")))
	}
	if utf8.RuneCountInString(in.Address) > 120 {
		fields = append(fields, fault.Field("address", fault.M("地址不超过 120 字", "the address is at most 120 characters")))
	}
	total := 0
	for k, v := range in.Places {
		if BandName(k).EN == k || v < 0 || v > 1000 {
			fields = append(fields, fault.Field("places."+k, fault.M("托位数须为 0–1000 的整数，班型为 infant、toddler、older", "places are 0–1000 per band infant, toddler or older")))
		}
		total += v
	}
	if total == 0 {
		fields = append(fields, fault.Field("places", fault.M("请至少填写一个班型的托位数", "give the places of at least one band")))
	}
	if len(fields) > 0 {
		return Setting{}, invalid(fields...)
	}
	id := db.NewID()
	now := db.T(s.Now())
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cc_settings (id, division_code, kind, name, address, created_by, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$7)`,
			id, in.Division, in.Kind, in.Name, in.Address, p.Username, now); err != nil {
			return err
		}
		for _, b := range Bands {
			if n := in.Places[b.Key]; n > 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO cc_places (setting_id, band, places) VALUES ($1,$2,$3)`, id, b.Key, n); err != nil {
					return err
				}
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "childcare.setting.create", Object: "cc_setting", ObjectID: id, Division: in.Division, Detail: in.Kind + " " + strconv.Itoa(total) + " places"})
	})
	if err != nil {
		return Setting{}, err
	}
	return s.Get(ctx, id)
}

// FilingInput is a 备案 filing as submitted.
type FilingInput struct {
	Applicant   string `json:"applicant"`
	Premises    string `json:"premises"`
	Carers      int    `json:"carers"`
	Inspections string `json:"inspections"`
	FiledOn     string `json:"filed_on"`
	ValidUntil  string `json:"valid_until"`
}

// AddFiling records a filing of a setting in the principal's jurisdiction.
func (s *Store) AddFiling(ctx context.Context, settingID string, in FilingInput) (Setting, error) {
	p := access.From(ctx)
	if !isWorker(p) {
		return Setting{}, errWorkers
	}
	st, err := s.Get(ctx, settingID)
	if err != nil {
		return Setting{}, err
	}
	var fields []fault.FieldError
	in.Applicant, in.Premises, in.Inspections = strings.TrimSpace(in.Applicant), strings.TrimSpace(in.Premises), strings.TrimSpace(in.Inspections)
	if in.Applicant == "" || utf8.RuneCountInString(in.Applicant) > 60 {
		fields = append(fields, fault.Field("applicant", fault.M("请填写备案申请人（不超过 60 字）", "enter the applicant (at most 60 characters)")))
	}
	if in.Premises == "" || utf8.RuneCountInString(in.Premises) > 200 {
		fields = append(fields, fault.Field("premises", fault.M("请填写场所情况（不超过 200 字）", "describe the premises (at most 200 characters)")))
	}
	if in.Carers < 1 || in.Carers > 500 {
		fields = append(fields, fault.Field("carers", fault.M("保育人员数须为 1–500", "carers are 1–500")))
	}
	if utf8.RuneCountInString(in.Inspections) > 500 {
		fields = append(fields, fault.Field("inspections", fault.M("检查记录不超过 500 字", "inspections are at most 500 characters")))
	}
	if !validDate(in.FiledOn) {
		fields = append(fields, fault.Field("filed_on", fault.M("请填写备案日期（年-月-日）", "give the filing date (YYYY-MM-DD)")))
	}
	if !validDate(in.ValidUntil) || in.ValidUntil <= in.FiledOn {
		fields = append(fields, fault.Field("valid_until", fault.M("有效期至须晚于备案日期", "valid until must be after the filing date")))
	}
	if len(fields) > 0 {
		return Setting{}, invalid(fields...)
	}
	id := db.NewID()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cc_filings (id, setting_id, applicant, premises, carers, inspections, filed_on, valid_until, created_by, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, id, settingID, in.Applicant, in.Premises, in.Carers, in.Inspections, in.FiledOn, in.ValidUntil, p.Username, db.T(s.Now())); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "childcare.filing.add", Object: "cc_setting", ObjectID: settingID, Division: st.Division, Detail: in.FiledOn + "–" + in.ValidUntil})
	})
	if err != nil {
		return Setting{}, err
	}
	return s.Get(ctx, settingID)
}

var errNoSetting = fault.NotFound(fault.M("没有这个托育点", "no such childcare setting"))

// Get reads a setting with its places, latest filing and counts. Workers
// see their jurisdiction's; residents any of their county's (the settings
// are public, the applications are not).
func (s *Store) Get(ctx context.Context, id string) (Setting, error) {
	p := access.From(ctx)
	if p == nil || !(isWorker(p) || p.Role == access.Resident) {
		return Setting{}, errWorkers
	}
	st := Setting{Places: map[string]int{}}
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, division_code, kind, name, address FROM cc_settings WHERE id = $1`, id).Scan(&st.ID, &st.Division, &st.Kind, &st.Name, &st.Address)
	if errors.Is(err, sql.ErrNoRows) {
		return Setting{}, errNoSetting
	} else if err != nil {
		return Setting{}, err
	}
	if isWorker(p) && !access.BusinessScope(p).Contains(st.Division) {
		return Setting{}, errNoSetting
	}
	if p.Role == access.Resident && countyOf(st.Division) != countyOf(p.Division) {
		return Setting{}, errNoSetting
	}
	if err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var b string
		var n int
		err := r.Scan(&b, &n)
		st.Places[b] = n
		return err
	}, `SELECT band, places FROM cc_places WHERE setting_id = $1`, id); err != nil {
		return Setting{}, err
	}
	var f Filing
	err = s.DB.R.QueryRowContext(ctx, `SELECT id, applicant, premises, carers, inspections, filed_on, valid_until FROM cc_filings WHERE setting_id = $1 ORDER BY filed_on DESC, created_at DESC LIMIT 1`, id).
		Scan(&f.ID, &f.Applicant, &f.Premises, &f.Carers, &f.Inspections, &f.FiledOn, &f.ValidUntil)
	if err == nil {
		st.Filing = &f
		today := s.today()
		st.Filed = f.FiledOn <= today && f.ValidUntil >= today
	} else if !errors.Is(err, sql.ErrNoRows) {
		return Setting{}, err
	}
	err = s.DB.R.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN status = 'waiting' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN status = 'enrolled' THEN 1 ELSE 0 END), 0)
		FROM cc_applications WHERE setting_id = $1 AND status IN ('waiting', 'enrolled')`, id).Scan(&st.Waiting, &st.Enrolled)
	return st, err
}

// Rules are the priority rules in force in a county: its own, or the
// defaults when it has none.
func (s *Store) Rules(ctx context.Context, county string) ([]Rule, error) {
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Rule, error) {
		var x Rule
		return x, r.Scan(&x.County, &x.Code, &x.Kind, &x.Tag, &x.Points, &x.NameZH, &x.NameEN)
	}, `SELECT county, code, kind, tag, points, name_zh, name_en FROM cc_priority_rules
		WHERE county = (SELECT COALESCE(MAX(county), '') FROM cc_priority_rules WHERE county = $1) ORDER BY points DESC, code`, county)
}

// SetRules replaces a county's priority rules (county officers).
func (s *Store) SetRules(ctx context.Context, county string, rules []Rule) ([]Rule, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer || len(p.Division) > 6 || !access.BusinessScope(p).Contains(county) || len(county) != 6 {
		return nil, fault.Forbidden(fault.M("只有县级及以上干部可以设置本县优先规则", "only county officers set the county's priority rules"))
	}
	var fields []fault.FieldError
	seen := map[string]bool{}
	for i, r := range rules {
		f := "rules[" + strconv.Itoa(i) + "]"
		if r.Code == "" || seen[r.Code] {
			fields = append(fields, fault.Field(f+".code", fault.M("规则代码不能为空或重复", "a rule's code is required and unique")))
		}
		seen[r.Code] = true
		if r.Kind != "tag" && r.Kind != "local" {
			fields = append(fields, fault.Field(f+".kind", fault.M("规则类型为 tag 或 local", "a rule's kind is tag or local")))
		}
		if r.Kind == "tag" {
			var one int
			if err := s.DB.R.QueryRowContext(ctx, `SELECT 1 FROM reg_tag_kinds WHERE key = $1`, r.Tag).Scan(&one); err != nil {
				fields = append(fields, fault.Field(f+".tag", fault.M("标签目录中没有这个标签", "no such tag in the catalogue")))
			}
		}
		if r.Points < 0 || r.Points > 100 {
			fields = append(fields, fault.Field(f+".points", fault.M("分值为 0–100", "points are 0–100")))
		}
		if strings.TrimSpace(r.NameZH) == "" {
			fields = append(fields, fault.Field(f+".name_zh", fault.M("请填写规则名称", "enter the rule's name")))
		}
	}
	if len(fields) > 0 {
		return nil, invalid(fields...)
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM cc_priority_rules WHERE county = $1`, county); err != nil {
			return err
		}
		for _, r := range rules {
			if r.NameEN == "" {
				r.NameEN = r.NameZH
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO cc_priority_rules (county, code, kind, tag, points, name_zh, name_en) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
				county, r.Code, r.Kind, r.Tag, r.Points, r.NameZH, r.NameEN); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "childcare.rules.set", Object: "cc_priority_rules", ObjectID: county, Division: county, Detail: strconv.Itoa(len(rules)) + " rules"})
	})
	if err != nil {
		return nil, err
	}
	return s.Rules(ctx, county)
}

// Apply puts a child on a setting's waiting list. A resident applies for
// a child of their own household, a worker for a child of their
// jurisdiction. The child's age on the day must fall in a band the
// setting has places for.
func (s *Store) Apply(ctx context.Context, in ApplyInput) (Application, error) {
	p := access.From(ctx)
	if p == nil || !(isWorker(p) || p.Role == access.Resident) {
		return Application{}, fault.Forbidden(fault.M("只有家长或工作人员可以申请托位", "only a family or a worker may apply"))
	}
	st, err := s.Get(ctx, in.SettingID)
	if errors.Is(err, errNoSetting) {
		return Application{}, invalid(fault.Field("setting_id", fault.M("没有这个托育点", "no such childcare setting")))
	} else if err != nil {
		return Application{}, err
	}
	var childDiv, household, birth string
	err = s.DB.R.QueryRowContext(ctx, `SELECT division_code, household_id, birth_date FROM registry_people WHERE id = $1`, in.ChildID).Scan(&childDiv, &household, &birth)
	noChild := invalid(fault.Field("child_id", fault.M("没有这个孩子的登记信息", "no such child in the registry")))
	if errors.Is(err, sql.ErrNoRows) {
		return Application{}, noChild
	} else if err != nil {
		return Application{}, err
	}
	if p.Role == access.Resident {
		var own string
		if err := s.DB.R.QueryRowContext(ctx, `SELECT household_id FROM registry_people WHERE username = $1 AND username <> ''`, p.Username).Scan(&own); err != nil || own != household {
			return Application{}, fault.Forbidden(fault.M("只能为本户的孩子申请", "you may apply only for a child of your own household"))
		}
	} else if !access.BusinessScope(p).Contains(childDiv) {
		return Application{}, noChild
	}
	today := s.today()
	months, ok := monthsOld(birth, today)
	band := BandOf(months)
	if !ok || band == "" || st.Places[band] == 0 {
		var takes []string
		for _, b := range Bands {
			if st.Places[b.Key] > 0 {
				takes = append(takes, strconv.Itoa(b.Min)+"–"+strconv.Itoa(b.Max))
			}
		}
		return Application{}, invalid(fault.Field("child_id", fault.M("孩子现年 "+strconv.Itoa(months)+" 个月，该托育点不收这个年龄（收 "+strings.Join(takes, "、")+" 个月）",
			"the child is "+strconv.Itoa(months)+" months old: the setting does not take this age (it takes "+strings.Join(takes, ", ")+" months)")))
	}
	if utf8.RuneCountInString(in.Note) > 200 {
		return Application{}, invalid(fault.Field("note", fault.M("说明不超过 200 字", "the note is at most 200 characters")))
	}
	priority, reasons, err := s.priority(ctx, st, household, childDiv)
	if err != nil {
		return Application{}, err
	}
	id := db.NewID()
	now := db.T(s.Now())
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM cc_applications WHERE child_id = $1 AND setting_id = $2 AND status IN ('waiting', 'enrolled')`, in.ChildID, in.SettingID).Scan(&one)
		if err == nil {
			return fault.Conflict(fault.M("孩子已在该托育点候补或入托", "the child is already waiting for or enrolled at this setting"))
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO cc_applications (id, setting_id, division_code, child_id, household_id, band, priority, reasons, status, applied_by, note, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'waiting',$9,$10,$11,$11)`, id, st.ID, st.Division, in.ChildID, household, band, priority, strings.Join(reasons, "；"), p.Username, in.Note, now); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "childcare.apply", Object: "cc_application", ObjectID: id, Division: st.Division, Detail: "band " + band + "; priority " + strconv.Itoa(priority)})
	})
	if err != nil {
		return Application{}, err
	}
	return s.Application(ctx, id)
}

// priority sums the county's rules the household meets.
func (s *Store) priority(ctx context.Context, st Setting, household, childDiv string) (int, []string, error) {
	rules, err := s.Rules(ctx, countyOf(st.Division))
	if err != nil {
		return 0, nil, err
	}
	tags, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT DISTINCT t.tag FROM registry_person_tags t JOIN registry_people r ON r.id = t.resident_id
		WHERE r.household_id = $1 AND t.active = TRUE`, household)
	if err != nil {
		return 0, nil, err
	}
	has := map[string]bool{}
	for _, t := range tags {
		has[t] = true
	}
	total, reasons := 0, []string{}
	for _, r := range rules {
		if (r.Kind == "tag" && has[r.Tag]) || (r.Kind == "local" && childDiv == st.Division) {
			total += r.Points
			reasons = append(reasons, r.NameZH+" +"+strconv.Itoa(r.Points))
		}
	}
	return total, reasons, nil
}

const appCols = `a.id, a.setting_id, s.name, a.division_code, a.child_id, COALESCE(r.surname, ''), COALESCE(r.birth_date, ''), a.band, a.priority, a.reasons, a.status, a.applied_by, a.created_at`

func scanApp(r db.Scanner) (Application, error) {
	var a Application
	var reasons string
	var at db.Time
	err := r.Scan(&a.ID, &a.SettingID, &a.Setting, &a.Division, &a.ChildID, &a.Child, &a.Birth, &a.Band, &a.Priority, &reasons, &a.Status, &a.AppliedBy, &at)
	a.CreatedAt = at.Time
	if a.Child != "" {
		a.Child += "**"
	}
	if len(a.Birth) >= 7 {
		a.Birth = a.Birth[:7]
	}
	a.Reasons = []string{}
	if reasons != "" {
		a.Reasons = strings.Split(reasons, "；")
	}
	return a, err
}

const appFrom = ` FROM cc_applications a JOIN cc_settings s ON s.id = a.setting_id LEFT JOIN registry_people r ON r.id = a.child_id`

var errNoApp = fault.NotFound(fault.M("没有这份托位申请", "no such application"))

// Application reads one application: a worker's jurisdiction's, a
// resident's own household's.
func (s *Store) Application(ctx context.Context, id string) (Application, error) {
	p := access.From(ctx)
	if p == nil {
		return Application{}, errNoApp
	}
	a, err := scanApp(s.DB.R.QueryRowContext(ctx, `SELECT `+appCols+appFrom+` WHERE a.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Application{}, errNoApp
	} else if err != nil {
		return Application{}, err
	}
	switch {
	case isWorker(p) && access.BusinessScope(p).Contains(a.Division):
	case p.Role == access.Resident && s.ownChild(ctx, p, a.ChildID):
	default:
		return Application{}, errNoApp
	}
	return a, nil
}

func (s *Store) ownChild(ctx context.Context, p *access.Principal, child string) bool {
	var one int
	return s.DB.R.QueryRowContext(ctx, `SELECT 1 FROM registry_people c JOIN registry_people me ON me.household_id = c.household_id
		WHERE c.id = $1 AND me.username = $2 AND me.username <> ''`, child, p.Username).Scan(&one) == nil
}

// QueueCap bounds the waiting and enrolled lists shown with a setting: a
// setting has some dozens of places.
const QueueCap = 200

// Queue is a setting's applications of one status: the waiting list by
// priority then time of application, the enrolled by band. Reading it is
// a read of personal data and is audited.
func (s *Store) Queue(ctx context.Context, settingID, status string) ([]Application, error) {
	st, err := s.Get(ctx, settingID)
	if err != nil {
		return nil, err
	}
	if !isWorker(access.From(ctx)) {
		return nil, errWorkers
	}
	order := ` ORDER BY a.priority DESC, a.created_at, a.id`
	if status == Enrolled {
		order = ` ORDER BY a.band, a.created_at, a.id`
	}
	items, err := db.Collect(ctx, s.DB.R, scanApp, `SELECT `+appCols+appFrom+` WHERE a.setting_id = $1 AND a.status = $2`+order+` LIMIT `+strconv.Itoa(QueueCap), settingID, status)
	if err != nil {
		return nil, err
	}
	return items, s.Audit.Record(ctx, audit.Entry{Action: "childcare.queue.read", Object: "cc_setting", ObjectID: settingID, Division: st.Division, Detail: status + " " + strconv.Itoa(len(items))})
}

// Enrol gives a waiting child a place, when the band has one free.
func (s *Store) Enrol(ctx context.Context, id string) (Application, error) {
	return s.move(ctx, id, Waiting, Enrolled)
}

// Leave ends an enrolment.
func (s *Store) Leave(ctx context.Context, id string) (Application, error) {
	return s.move(ctx, id, Enrolled, Left)
}

func (s *Store) move(ctx context.Context, id, from, to string) (Application, error) {
	p := access.From(ctx)
	if !isWorker(p) {
		return Application{}, errWorkers
	}
	a, err := s.Application(ctx, id)
	if err != nil {
		return Application{}, err
	}
	if a.Status != from {
		return Application{}, fault.Conflict(fault.M("申请现为“"+StatusName(a.Status).ZH+"”，不能这样办理", "the application is "+StatusName(a.Status).EN+": not possible now"))
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if to == Enrolled {
			var places, taken int
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(places), 0) FROM cc_places WHERE setting_id = $1 AND band = $2`, a.SettingID, a.Band).Scan(&places); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM cc_applications WHERE setting_id = $1 AND band = $2 AND status = 'enrolled'`, a.SettingID, a.Band).Scan(&taken); err != nil {
				return err
			}
			if taken >= places {
				return fault.Conflict(fault.M("“"+BandName(a.Band).ZH+"”已满（"+strconv.Itoa(places)+" 个托位）", "the band "+BandName(a.Band).EN+" is full ("+strconv.Itoa(places)+" places)"))
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE cc_applications SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4`, to, db.T(s.Now()), id, from)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fault.Conflict(fault.M("申请已被他人办理，请刷新", "someone else has just handled the application: reload"))
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "childcare." + to, Object: "cc_application", ObjectID: id, Division: a.Division, Detail: from + " → " + to})
	})
	if err != nil {
		return Application{}, err
	}
	return s.Application(ctx, id)
}
