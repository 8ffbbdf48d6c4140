// Package volunteers is the volunteer loop: residents register as
// volunteers and their community verifies them; communities and stations
// post activities, residents sign up (a waitlist when full), the organiser
// confirms attendance and the hours are credited to a double-entry ledger
// that also carries points, redeemable at the community's points shop.
// Stars follow the hours at thresholds kept as data, and a certificate of
// service hours can be checked by anyone by its code.
package volunteers

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/questions"
)

// Store holds the volunteers module's data.
type Store struct {
	DB    *db.DB
	Audit *audit.Log
	Now   func() time.Time
	Divs  module.Divisions
}

// Volunteer statuses.
const (
	StatusPending  = "pending"  // 待审核
	StatusVerified = "verified" // 已认证
	StatusRejected = "rejected" // 未通过
)

type option struct{ Key, ZH, EN string }

// Skills, availabilities and languages are chosen from lists, never typed.
var (
	skillOptions = []option{{"elderly_care", "助老陪伴", "Elderly care"}, {"meals", "助餐送餐", "Meals"}, {"child_care", "儿童托管", "Child care"},
		{"tutoring", "课业辅导", "Tutoring"}, {"medical", "医疗护理", "Medical care"}, {"repair", "家电维修", "Repairs"},
		{"legal", "法律咨询", "Legal advice"}, {"digital", "数字助老", "Digital help"}, {"environment", "环境整治", "Clean-up"}}
	availabilityOptions = []option{{"weekday_day", "工作日白天", "Weekday daytime"}, {"weekday_evening", "工作日晚上", "Weekday evenings"}, {"weekend", "周末", "Weekends"}}
	languageOptions     = []option{{"mandarin", "普通话", "Mandarin"}, {"hangzhou", "杭州话", "Hangzhou dialect"}, {"english", "英语", "English"}, {"sign", "手语", "Sign language"}}
)

func keys(opts []option) []string {
	out := make([]string, len(opts))
	for i, o := range opts {
		out[i] = o.Key
	}
	return out
}

// Volunteer is a registered volunteer; the name is published by surname
// only (张**).
type Volunteer struct {
	ResidentID   string    `json:"id"` // the resident's id
	Username     string    `json:"username,omitempty"`
	HouseholdID  string    `json:"household_id"`
	Division     string    `json:"division"`
	Name         string    `json:"name"` // masked
	BirthDate    string    `json:"-"`
	Skills       []string  `json:"skills"`
	Availability []string  `json:"availability"`
	Languages    []string  `json:"languages"`
	Drives       bool      `json:"drives"`
	PartyMember  bool      `json:"party_member"`
	PartyBranch  string    `json:"party_branch,omitempty"`
	Status       string    `json:"status"`
	VerifiedBy   string    `json:"verified_by,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	// The ledger's figures, filled where a view shows them.
	Hours  float64 `json:"hours"`  // service hours recorded (the stars' basis)
	Stars  int     `json:"stars"`  // 0–5
	Bank   float64 `json:"bank"`   // time-bank hours to spend or give
	Points int64   `json:"points"` // points to redeem
}

// StatusName is the status in words.
func (v Volunteer) StatusName() fault.Msg {
	switch v.Status {
	case StatusVerified:
		return fault.M("已认证", "Verified")
	case StatusRejected:
		return fault.M("未通过", "Not verified")
	}
	return fault.M("待审核", "Awaiting verification")
}

// VolunteerInput registers a volunteer: a resident registers themself;
// a community worker may register a resident of the community by id.
type VolunteerInput struct {
	ResidentID   string   `json:"resident_id,omitempty"`
	Skills       []string `json:"skills"`
	Availability []string `json:"availability"`
	Languages    []string `json:"languages"`
	Drives       bool     `json:"drives"`
	PartyMember  bool     `json:"party_member"`
	PartyBranch  string   `json:"party_branch"`
}

var (
	errNoVolunteer = fault.NotFound(fault.M("找不到这位志愿者，或不在您的辖区内", "no such volunteer in your jurisdiction"))
	errNotLinked   = fault.Conflict(fault.M("您的账号尚未关联住户信息，请联系社区", "your account is not linked to a resident record; ask your community"))
)

// rowQuerier is a pool or a transaction.
type rowQuerier interface {
	db.Querier
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) today() string { return s.Now().In(questions.CST).Format("2006-01-02") }

// manager tells whether p manages volunteers and activities in div: a
// community worker or officer whose subtree holds it.
func manager(p *access.Principal, div string) bool {
	return p != nil && (p.Role == access.CommunityWorker || p.Role == access.Officer) && access.BusinessScope(p).Contains(div)
}

func mustManage(ctx context.Context, div string) (*access.Principal, error) {
	p := access.From(ctx)
	if !manager(p, div) {
		return p, fault.Forbidden(fault.M("只有本社区（或上级）的社区工作者、干部可以这样做", "only the community's workers and officers above it may do this"))
	}
	return p, nil
}

func checkList(field string, vals []string, allowed []option, zh, en string) (string, *fault.FieldError) {
	ok := keys(allowed)
	var clean []string
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if v == "" || slices.Contains(clean, v) {
			continue
		}
		if !slices.Contains(ok, v) {
			fe := fault.Field(field, fault.M("请从列表中选择"+zh, "choose "+en+" from the list"))
			return "", &fe
		}
		clean = append(clean, v)
	}
	return strings.Join(clean, ","), nil
}

const volunteerCols = `v.resident_id, v.username, v.household_id, v.division_code, v.surname, v.birth_date, v.skills, v.availability, v.languages,
	v.drives, v.party_member, v.party_branch, v.status, v.verified_by, v.created_at`

func scanVolunteer(r db.Scanner) (Volunteer, error) {
	var v Volunteer
	var skills, avail, langs string
	var created db.Time
	err := r.Scan(&v.ResidentID, &v.Username, &v.HouseholdID, &v.Division, &v.Name, &v.BirthDate, &skills, &avail, &langs,
		&v.Drives, &v.PartyMember, &v.PartyBranch, &v.Status, &v.VerifiedBy, &created)
	v.Name += "**"
	v.Skills, v.Availability, v.Languages, v.CreatedAt = split(skills), split(avail), split(langs), created.Time
	return v, err
}

func split(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// Cursor is a volunteer's keyset position in the list.
func (v Volunteer) Cursor() string { return v.Division + "|" + v.ResidentID }

// Register records a resident as a volunteer, waiting for the community's
// verification; registering again updates the details (and asks for
// verification again when they were refused).
func (s *Store) Register(ctx context.Context, in VolunteerInput) (Volunteer, error) {
	p := access.From(ctx)
	var fields []fault.FieldError
	skills, fe := checkList("skills", in.Skills, skillOptions, "技能", "skills")
	if fe != nil {
		fields = append(fields, *fe)
	} else if skills == "" {
		fields = append(fields, fault.Field("skills", fault.M("请至少选择一项技能或服务意向", "choose at least one skill")))
	}
	avail, fe := checkList("availability", in.Availability, availabilityOptions, "服务时间", "availability")
	if fe != nil {
		fields = append(fields, *fe)
	} else if avail == "" {
		fields = append(fields, fault.Field("availability", fault.M("请至少选择一个可服务时间", "choose when you are available")))
	}
	langs, fe := checkList("languages", in.Languages, languageOptions, "语言", "languages")
	if fe != nil {
		fields = append(fields, *fe)
	}
	branch := strings.TrimSpace(in.PartyBranch)
	if in.PartyMember && branch == "" {
		fields = append(fields, fault.Field("party_branch", fault.M("党员请填写所在党组织（报到用）", "party members give their home branch")))
	}
	if len([]rune(branch)) > 100 {
		fields = append(fields, fault.Field("party_branch", fault.M("不超过 100 字", "at most 100 characters")))
	}
	if !in.PartyMember {
		branch = ""
	}
	if len(fields) > 0 {
		return Volunteer{}, fault.Invalid(fault.M("登记信息有误", "the registration has errors"), fields...)
	}
	var who struct{ id, hh, div, surname, birth, username string }
	q := `SELECT id, household_id, division_code, surname, birth_date, username FROM registry_people WHERE `
	var arg string
	switch {
	case p != nil && p.Role == access.Resident:
		q, arg = q+`username = $1 AND username <> ''`, p.Username // <> '': the account index is partial
	case p != nil && (p.Role == access.CommunityWorker || p.Role == access.Officer) && in.ResidentID != "":
		q, arg = q+`id = $1`, in.ResidentID
	default:
		return Volunteer{}, fault.Forbidden(fault.M("居民本人登记，或社区工作者为本社区居民登记", "residents register themselves; a community worker may register a resident"))
	}
	err := s.DB.R.QueryRowContext(ctx, q, arg).Scan(&who.id, &who.hh, &who.div, &who.surname, &who.birth, &who.username)
	if errors.Is(err, sql.ErrNoRows) {
		if p.Role == access.Resident {
			return Volunteer{}, errNotLinked
		}
		return Volunteer{}, errNoVolunteer
	}
	if err != nil {
		return Volunteer{}, err
	}
	if p.Role != access.Resident && !manager(p, who.div) {
		return Volunteer{}, errNoVolunteer
	}
	now := db.T(s.Now())
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vol_volunteers (resident_id, username, household_id, division_code, surname, birth_date, skills, availability, languages,
			drives, party_member, party_branch, status, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$14)
			ON CONFLICT (resident_id) DO UPDATE SET skills = excluded.skills, availability = excluded.availability, languages = excluded.languages, drives = excluded.drives,
			party_member = excluded.party_member, party_branch = excluded.party_branch, household_id = excluded.household_id, division_code = excluded.division_code,
			status = CASE WHEN vol_volunteers.status = 'rejected' THEN 'pending' ELSE vol_volunteers.status END, updated_at = excluded.updated_at`,
			who.id, who.username, who.hh, who.div, who.surname, who.birth, skills, avail, langs, in.Drives, in.PartyMember, branch, StatusPending, now); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.register", Object: "volunteer", ObjectID: who.id, Division: who.div,
			Detail: audit.Detail(map[string]any{"skills": skills, "availability": avail, "drives": in.Drives, "party_member": in.PartyMember})})
	})
	if err != nil {
		return Volunteer{}, err
	}
	return s.volunteer(ctx, s.DB.R, who.id)
}

func (s *Store) volunteer(ctx context.Context, q rowQuerier, residentID string) (Volunteer, error) {
	v, err := scanVolunteer(q.QueryRowContext(ctx, `SELECT `+volunteerCols+` FROM vol_volunteers v WHERE v.resident_id = $1`, residentID))
	if errors.Is(err, sql.ErrNoRows) {
		return v, errNoVolunteer
	}
	if err != nil {
		return v, err
	}
	return v, s.figures(ctx, q, &v)
}

// Get reads a volunteer the principal may see: their own record, or one
// in a worker's jurisdiction (an audited read).
func (s *Store) Get(ctx context.Context, residentID string) (Volunteer, error) {
	v, err := s.volunteer(ctx, s.DB.R, residentID)
	if err != nil {
		return v, err
	}
	p := access.From(ctx)
	own := p != nil && p.Role == access.Resident && p.Username == v.Username
	worker := p != nil && p.Role.Business() && p.Role != access.Resident && access.BusinessScope(p).Contains(v.Division)
	if !own && !worker {
		return Volunteer{}, errNoVolunteer
	}
	if p.Role != access.Resident {
		if err := s.Audit.Record(ctx, audit.Entry{Action: "volunteers.read", Object: "volunteer", ObjectID: v.ResidentID, Division: v.Division}); err != nil {
			return v, err
		}
	}
	return v, nil
}

// Mine is the signed-in resident's volunteer record (errNoVolunteer when
// they have not registered).
func (s *Store) Mine(ctx context.Context) (Volunteer, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Resident {
		return Volunteer{}, errNoVolunteer
	}
	v, err := scanVolunteer(s.DB.R.QueryRowContext(ctx, `SELECT `+volunteerCols+` FROM vol_volunteers v WHERE v.username = $1`, p.Username))
	if errors.Is(err, sql.ErrNoRows) {
		return v, errNoVolunteer
	}
	if err != nil {
		return v, err
	}
	return v, s.figures(ctx, s.DB.R, &v)
}

// StatusUnregistered is the status a resident has before registering.
const StatusUnregistered = "unregistered"

// Me is the signed-in resident's volunteer record; before they register,
// a record of status unregistered with whatever hours were carried over
// for them (409 when the account is not linked to a resident).
func (s *Store) Me(ctx context.Context) (Volunteer, error) {
	v, err := s.Mine(ctx)
	if !errors.Is(err, errNoVolunteer) {
		return v, err
	}
	p := access.From(ctx)
	if p == nil || p.Role != access.Resident {
		return v, fault.Forbidden(fault.M("只有居民有志愿者记录", "only residents have a volunteer record"))
	}
	err = s.DB.R.QueryRowContext(ctx, `SELECT id, household_id, division_code, surname FROM registry_people WHERE username = $1 AND username <> ''`, p.Username).Scan(&v.ResidentID, &v.HouseholdID, &v.Division, &v.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return v, errNotLinked
	}
	if err != nil {
		return v, err
	}
	v.Name += "**"
	v.Username, v.Status, v.Skills, v.Availability, v.Languages = p.Username, StatusUnregistered, []string{}, []string{}, []string{}
	return v, s.figures(ctx, s.DB.R, &v)
}

// Verify records the community's decision on a registration.
func (s *Store) Verify(ctx context.Context, residentID string, approve bool) (Volunteer, error) {
	v, err := s.volunteer(ctx, s.DB.R, residentID)
	if err != nil {
		return v, err
	}
	p, err := mustManage(ctx, v.Division)
	if err != nil {
		return Volunteer{}, errNoVolunteer
	}
	status := StatusVerified
	if !approve {
		status = StatusRejected
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE vol_volunteers SET status = $1, verified_by = $2, updated_at = $3 WHERE resident_id = $4`, status, p.Username, db.T(s.Now()), residentID); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.verify", Object: "volunteer", ObjectID: residentID, Division: v.Division,
			Detail: audit.Detail(map[string]any{"status": status})})
	})
	if err != nil {
		return Volunteer{}, err
	}
	return s.volunteer(ctx, s.DB.R, residentID)
}

// VolunteerFilter narrows the volunteer list.
type VolunteerFilter struct {
	Division string // within the principal's jurisdiction; default their own
	Status   string
	After    string // the last row's "division|resident id" of the page before
	Limit    int
	// Newest lists the latest registrations first (one page only: the
	// dashboard's box of those waiting).
	Newest bool
}

// List reads the volunteers of a division, by community and resident id
// (keyset), with their hours, stars and points; an audited read.
func (s *Store) List(ctx context.Context, f VolunteerFilter) ([]Volunteer, error) {
	vs, err := s.list(ctx, f)
	if err != nil {
		return nil, err
	}
	if err := s.Audit.Record(ctx, audit.Entry{Action: "volunteers.list", Object: "volunteer", Division: access.From(ctx).Division,
		Detail: audit.Detail(map[string]any{"division": f.Division, "status": f.Status, "rows": len(vs)})}); err != nil {
		return nil, err
	}
	return vs, nil
}

// list is List unaudited, for a page that records one entry for all it
// shows (the dashboard).
func (s *Store) list(ctx context.Context, f VolunteerFilter) ([]Volunteer, error) {
	p := access.From(ctx)
	if p == nil || !p.Role.Business() || p.Role == access.Resident {
		return nil, fault.Forbidden(fault.M("只有工作人员可以查看志愿者名单", "only workers see the volunteer list"))
	}
	div := f.Division
	if div == "" {
		div = p.Division
	}
	if !access.BusinessScope(p).Contains(div) {
		return nil, fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("division", fault.M("不在您的辖区内", "outside your jurisdiction")))
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	sc := access.Subtree(div)
	q := `SELECT ` + volunteerCols + `, COALESCE(h.earned, 0), COALESCE(h.balance, 0), COALESCE(pt.balance, 0) FROM vol_volunteers v
		LEFT JOIN vol_accounts h ON h.id = 'volunteer:' || v.resident_id || ':hours'
		LEFT JOIN vol_accounts pt ON pt.id = 'volunteer:' || v.resident_id || ':points'
		WHERE v.division_code >= $1 AND v.division_code < $2`
	args := []any{sc.Lo, sc.Hi}
	if f.Status != "" {
		args = append(args, f.Status)
		q += ` AND v.status = $3`
	}
	if div, id, ok := strings.Cut(f.After, "|"); ok {
		args = append(args, div, id)
		q += ` AND (v.division_code > ` + ph(len(args)-1) + ` OR v.division_code = ` + ph(len(args)-1) + ` AND v.resident_id > ` + ph(len(args)) + `)`
	}
	// By community, then id: the (status, division, id) index gives the
	// order, so a county's page reads its rows, not the county's.
	if f.Newest {
		q += ` ORDER BY v.updated_at DESC, v.resident_id LIMIT ` + itoa(f.Limit)
	} else {
		q += ` ORDER BY v.division_code, v.resident_id LIMIT ` + itoa(f.Limit)
	}
	levels, err := s.StarLevels(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Volunteer, error) {
		var v Volunteer
		var skills, avail, langs string
		var created db.Time
		var earned, bank int64
		err := r.Scan(&v.ResidentID, &v.Username, &v.HouseholdID, &v.Division, &v.Name, &v.BirthDate, &skills, &avail, &langs,
			&v.Drives, &v.PartyMember, &v.PartyBranch, &v.Status, &v.VerifiedBy, &created, &earned, &bank, &v.Points)
		v.Name += "**"
		v.Skills, v.Availability, v.Languages, v.CreatedAt = split(skills), split(avail), split(langs), created.Time
		v.Hours, v.Bank, v.Stars = hours(earned), hours(bank), starsFor(levels, earned)
		return v, err
	}, q, args...)
	return vs, err
}

func itoa(i int) string { return strconv.Itoa(i) }
