package familydoctor

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/questions"
	"linli/internal/secret"
)

// Store owns the teams, contracts and follow-ups.
type Store struct {
	DB    *db.DB
	Keys  *secret.Keyring
	Audit *audit.Log
	Now   func() time.Time
	Log   *slog.Logger
}

// KeyGroup is one of the key groups of 专栏3-3: by age, or by any of the
// registry tags named.
type KeyGroup struct {
	Key      string
	Name     fault.Msg
	MinAge   int // 65+: at least this old (0: no)
	UnderAge int // children 0–6: younger than this (0: no)
	Tags     []string
}

// KeyGroups are the key groups. The registry's catalogue has the tags of
// disability and 低保/特困; hypertension, diabetes, pregnancy and severe
// mental illness have no built-in tag: they count as soon as an
// administrator adds tag kinds with these keys.
var KeyGroups = []KeyGroup{
	{Key: "elderly_65", Name: fault.M("65岁及以上老年人", "Aged 65+"), MinAge: 65},
	{Key: "child_0_6", Name: fault.M("0–6岁儿童", "Children aged 0–6"), UnderAge: 7},
	{Key: "chronic", Name: fault.M("高血压、糖尿病患者", "Hypertension or diabetes"), Tags: []string{"hypertension", "diabetes"}},
	{Key: "pregnant", Name: fault.M("孕产妇", "Pregnant and postpartum women"), Tags: []string{"pregnant"}},
	{Key: "mental", Name: fault.M("严重精神障碍患者", "Severe mental illness"), Tags: []string{"severe_mental_illness"}},
	{Key: "disability", Name: fault.M("残疾人", "Persons with a disability"), Tags: []string{"disabled_person", "severe_disability"}},
	{Key: "poverty", Name: fault.M("低保、特困人员", "Minimum-allowance or extreme-poverty support"), Tags: []string{"dibao", "tekun"}},
}

func keyGroupTags() string {
	var out []string
	for _, g := range KeyGroups {
		for _, t := range g.Tags {
			out = append(out, "'"+t+"'")
		}
	}
	return strings.Join(out, ", ")
}

// keyGroupCond is true of a person (alias p, with id and birth_date) in a
// key group on the day $day, where $old is the day 65 years before and
// $young the day 7 years before. A count over many residents lets
// PostgreSQL read the day's key tags once (a hashed subplan); a list that
// stops after a page probes each resident's tags instead (keyGroupRow).
func keyGroupCond(p, day, old, young string) string {
	return `(` + p + `.birth_date <= ` + old + ` OR (` + p + `.birth_date > ` + young + ` AND ` + p + `.birth_date <= ` + day + `)
		OR EXISTS (` + keyTags(p, day) + `))`
}

func keyTags(p, day string) string {
	return `SELECT 1 FROM registry_person_tags t WHERE t.resident_id = ` + p + `.id AND t.tag IN (` + keyGroupTags() + `)
			AND t.since_date <= ` + day + ` AND (t.until_date = '' OR t.until_date >= ` + day + `)`
}

// keyGroupRow is keyGroupCond with the tags probed per resident: a scalar
// subquery is never hashed.
func keyGroupRow(p, day, old, young string) string {
	return `(` + p + `.birth_date <= ` + old + ` OR (` + p + `.birth_date > ` + young + ` AND ` + p + `.birth_date <= ` + day + `)
		OR (` + keyTags(p, day) + ` LIMIT 1) IS NOT NULL)`
}

// dayArgs are a day's three arguments of keyGroupCond.
func dayArgs(day string) []any {
	d, _ := time.Parse("2006-01-02", day)
	return []any{day, d.AddDate(-65, 0, 0).Format("2006-01-02"), d.AddDate(-7, 0, 0).Format("2006-01-02")}
}

// Packages are the service packages a contract may take.
var Packages = []struct {
	Key  string
	Name fault.Msg
}{
	{"basic", fault.M("基础包", "Basic package")},
	{"elderly", fault.M("老年人健康管理包", "Older people's package")},
	{"chronic", fault.M("慢病管理包", "Chronic-disease package")},
	{"maternal_child", fault.M("妇幼健康包", "Maternal and child package")},
	{"disability", fault.M("残疾人康复包", "Rehabilitation package")},
}

// PackageName is a package in words.
func PackageName(key string) fault.Msg {
	for _, p := range Packages {
		if p.Key == key {
			return p.Name
		}
	}
	return fault.M(key, key)
}

// GroupName is a key group in words.
func GroupName(key string) fault.Msg {
	for _, g := range KeyGroups {
		if g.Key == key {
			return g.Name
		}
	}
	return fault.M(key, key)
}

// Team is a GP team.
type Team struct {
	ID       string   `json:"id"`
	Division string   `json:"division_code"`
	Name     string   `json:"name"`
	Members  []string `json:"members"` // personnel ids
}

// TeamInput is a new team.
type TeamInput struct {
	Division string   `json:"division_code"`
	Name     string   `json:"name"`
	Members  []string `json:"members"`
}

// Contract is a family-doctor contract.
type Contract struct {
	ID         string     `json:"id"`
	Division   string     `json:"division_code"`
	ResidentID string     `json:"resident_id"`
	Resident   string     `json:"resident"` // surname only (张**)
	TeamID     string     `json:"team_id"`
	Team       string     `json:"team"`
	Package    string     `json:"package"`
	Start      string     `json:"start_date"`
	End        string     `json:"end_date"`
	Groups     []string   `json:"groups"`
	RenewedBy  string     `json:"renewed_by,omitempty"`
	SignedBy   string     `json:"signed_by"`
	CreatedAt  time.Time  `json:"created_at"`
	Followups  []Followup `json:"followups,omitempty"`
}

// Followup is one follow-up of a contract.
type Followup struct {
	On   string `json:"on_date"`
	Kind string `json:"kind"`
	Note string `json:"note"`
	By   string `json:"recorded_by"`
}

// ContractInput is a contract as signed.
type ContractInput struct {
	ResidentID string `json:"resident_id"`
	TeamID     string `json:"team_id"`
	Package    string `json:"package"`
	Start      string `json:"start_date"`
	End        string `json:"end_date"`
}

// FollowupInput is a follow-up as recorded.
type FollowupInput struct {
	On   string `json:"on_date"`
	Kind string `json:"kind"`
	Note string `json:"note"`
}

// FollowupKinds are the kinds of follow-up.
var FollowupKinds = []struct {
	Key  string
	Name fault.Msg
}{{"visit", fault.M("上门随访", "Home visit")}, {"clinic", fault.M("门诊随访", "Clinic visit")}, {"phone", fault.M("电话随访", "Phone call")}}

func invalid(fields ...fault.FieldError) error {
	return fault.Invalid(fault.M("填写有误", "the input has errors"), fields...)
}

func isWorker(p *access.Principal) bool {
	return p != nil && (p.Role == access.CommunityWorker || p.Role == access.Officer)
}

var errWorkers = fault.Forbidden(fault.M("只有社区工作者和干部可以办理家庭医生签约", "only community workers and officers handle family-doctor contracts"))

func validDate(v string) bool {
	_, err := time.Parse("2006-01-02", v)
	return err == nil
}

func (s *Store) today() string { return s.Now().In(questions.CST).Format("2006-01-02") }

// CreateTeam records a team of registry personnel in the principal's
// jurisdiction.
func (s *Store) CreateTeam(ctx context.Context, in TeamInput) (Team, error) {
	p := access.From(ctx)
	if !isWorker(p) {
		return Team{}, errWorkers
	}
	sc := access.BusinessScope(p)
	var fields []fault.FieldError
	if len(in.Division) < 9 || !sc.Contains(in.Division) {
		fields = append(fields, fault.Field("division_code", fault.M("请选择辖区内的乡镇（街道）或村（社区）", "choose a township, village or community in your jurisdiction")))
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 60 {
		fields = append(fields, fault.Field("name", fault.M("请填写团队名称（不超过 60 字）", "enter the team's name (at most 60 characters)")))
	}
	if len(in.Members) == 0 || len(in.Members) > 20 {
		fields = append(fields, fault.Field("members", fault.M("请选择 1–20 名团队成员", "choose 1–20 members")))
	}
	for i, id := range in.Members {
		var div string
		if err := s.DB.R.QueryRowContext(ctx, `SELECT division_code FROM reg_personnel WHERE id = $1`, id).Scan(&div); err != nil || !sc.Contains(div) {
			fields = append(fields, fault.Field("members["+strconv.Itoa(i)+"]", fault.M("辖区人员库中没有这个人", "no such person in your jurisdiction's personnel")))
		}
	}
	if len(fields) > 0 {
		return Team{}, invalid(fields...)
	}
	t := Team{ID: db.NewID(), Division: in.Division, Name: in.Name, Members: in.Members}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO gp_teams (id, division_code, name, members, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6)`,
			t.ID, t.Division, t.Name, strings.Join(t.Members, ","), p.Username, db.T(s.Now())); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "gp.team.create", Object: "gp_team", ObjectID: t.ID, Division: t.Division, Detail: strconv.Itoa(len(t.Members)) + " members"})
	})
	return t, err
}

// Teams lists GP teams: with near, those serving that division (teams of
// it or of a unit above it); without, those of the principal's
// jurisdiction and those serving it.
func (s *Store) Teams(ctx context.Context, near string) ([]Team, error) {
	p := access.From(ctx)
	if !isWorker(p) {
		return nil, errWorkers
	}
	lo, hi := access.BusinessScope(p).Lo, access.BusinessScope(p).Hi
	if near != "" {
		lo, hi = near, near // nothing lies in [near, near): only the units above it
	} else {
		near = p.Division
	}
	cs := access.Subtree(p.Division[:min(6, len(p.Division))])
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Team, error) {
		var t Team
		var members string
		err := r.Scan(&t.ID, &t.Division, &t.Name, &members)
		t.Members = strings.Split(members, ",")
		return t, err
	}, `SELECT id, division_code, name, members FROM gp_teams WHERE division_code >= $1 AND division_code < $2
		AND (substr($3, 1, length(division_code)) = division_code OR (division_code >= $4 AND division_code < $5)) ORDER BY division_code, name, id LIMIT 200`,
		cs.Lo, cs.Hi, near, lo, hi)
}

var errNoResident = invalid(fault.Field("resident_id", fault.M("辖区内没有这位居民", "no such resident in your jurisdiction")))

// Groups are the key groups a resident belongs to on a day.
func (s *Store) Groups(ctx context.Context, residentID, day string) ([]string, error) {
	var birth string
	if err := s.DB.R.QueryRowContext(ctx, `SELECT birth_date FROM registry_people WHERE id = $1`, residentID).Scan(&birth); err != nil {
		return nil, err
	}
	tags, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT tag FROM registry_person_tags WHERE resident_id = $1 AND since_date <= $2 AND (until_date = '' OR until_date >= $2)`, residentID, day)
	if err != nil {
		return nil, err
	}
	args := dayArgs(day)
	var out []string
	for _, g := range KeyGroups {
		in := (g.MinAge > 0 && birth <= args[1].(string)) || (g.UnderAge > 0 && birth > args[2].(string) && birth <= day)
		for _, t := range g.Tags {
			for _, have := range tags {
				in = in || have == t
			}
		}
		if in {
			out = append(out, g.Key)
		}
	}
	return out, nil
}

// Sign records a contract for a resident of the principal's jurisdiction.
// A contract ending before it starts, or overlapping the resident's valid
// one, is refused.
func (s *Store) Sign(ctx context.Context, in ContractInput) (Contract, error) {
	p := access.From(ctx)
	if !isWorker(p) {
		return Contract{}, errWorkers
	}
	var div, household string
	err := s.DB.R.QueryRowContext(ctx, `SELECT division_code, household_id FROM registry_people WHERE id = $1`, in.ResidentID).Scan(&div, &household)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !access.BusinessScope(p).Contains(div)) {
		return Contract{}, errNoResident
	} else if err != nil {
		return Contract{}, err
	}
	var fields []fault.FieldError
	teams, err := s.Teams(ctx, div)
	if err != nil {
		return Contract{}, err
	}
	found := false
	for _, t := range teams {
		found = found || t.ID == in.TeamID
	}
	if !found {
		fields = append(fields, fault.Field("team_id", fault.M("请选择服务该居民的家庭医生团队", "choose a GP team serving the resident")))
	}
	if PackageName(in.Package).EN == in.Package {
		fields = append(fields, fault.Field("package", fault.M("请选择服务包", "choose a service package")))
	}
	if !validDate(in.Start) {
		fields = append(fields, fault.Field("start_date", fault.M("请填写开始日期（年-月-日）", "give the start date (YYYY-MM-DD)")))
	}
	if !validDate(in.End) {
		fields = append(fields, fault.Field("end_date", fault.M("请填写结束日期（年-月-日）", "give the end date (YYYY-MM-DD)")))
	} else if validDate(in.Start) && in.End < in.Start {
		fields = append(fields, fault.Field("end_date", fault.M("结束日期不能早于开始日期", "the contract cannot end before it starts")))
	}
	if len(fields) > 0 {
		return Contract{}, invalid(fields...)
	}
	groups, err := s.Groups(ctx, in.ResidentID, in.Start)
	if err != nil {
		return Contract{}, err
	}
	id := db.NewID()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var other string
		err := tx.QueryRowContext(ctx, `SELECT id FROM gp_contracts WHERE resident_id = $1 AND start_date <= $3 AND end_date >= $2`, in.ResidentID, in.Start, in.End).Scan(&other)
		if err == nil {
			return fault.Conflict(fault.M("该居民在这段时间已有签约", "the resident already has a contract in this period"))
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO gp_contracts (id, division_code, resident_id, household_id, team_id, package, start_date, end_date, groups, signed_by, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`, id, div, in.ResidentID, household, in.TeamID, in.Package, in.Start, in.End, strings.Join(groups, ","), p.Username, db.T(s.Now())); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "gp.contract.sign", Object: "gp_contract", ObjectID: id, Division: div, Detail: in.Package + " " + in.Start + "–" + in.End})
	})
	if err != nil {
		return Contract{}, err
	}
	if err := s.Refresh(ctx, div); err != nil {
		return Contract{}, err
	}
	return s.Get(ctx, id)
}

// Renew signs the next year's contract after one that ends, with the same
// team and package, and marks the old one renewed.
func (s *Store) Renew(ctx context.Context, id string) (Contract, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return Contract{}, err
	}
	if c.RenewedBy != "" {
		return Contract{}, fault.Conflict(fault.M("该签约已续约", "the contract is already renewed"))
	}
	end, _ := time.Parse("2006-01-02", c.End)
	start := end.AddDate(0, 0, 1)
	n, err := s.Sign(ctx, ContractInput{ResidentID: c.ResidentID, TeamID: c.TeamID, Package: c.Package, Start: start.Format("2006-01-02"), End: start.AddDate(1, 0, -1).Format("2006-01-02")})
	if err != nil {
		return Contract{}, err
	}
	if _, err := s.DB.W.ExecContext(ctx, `UPDATE gp_contracts SET renewed_by = $1 WHERE id = $2 AND renewed_by = ''`, n.ID, id); err != nil {
		return Contract{}, err
	}
	return n, nil
}

const contractCols = `c.id, c.division_code, c.resident_id, COALESCE(r.surname, ''), c.team_id, t.name, c.package, c.start_date, c.end_date, c.groups, c.renewed_by, c.signed_by, c.created_at`
const contractFrom = ` FROM gp_contracts c JOIN gp_teams t ON t.id = c.team_id LEFT JOIN registry_people r ON r.id = c.resident_id`

func scanContract(r db.Scanner) (Contract, error) {
	var c Contract
	var groups string
	var at db.Time
	err := r.Scan(&c.ID, &c.Division, &c.ResidentID, &c.Resident, &c.TeamID, &c.Team, &c.Package, &c.Start, &c.End, &groups, &c.RenewedBy, &c.SignedBy, &at)
	c.CreatedAt = at.Time
	if c.Resident != "" {
		c.Resident += "**"
	}
	c.Groups = []string{}
	if groups != "" {
		c.Groups = strings.Split(groups, ",")
	}
	return c, err
}

var errNoContract = fault.NotFound(fault.M("没有这份签约", "no such contract"))

// Get reads a contract with its follow-ups: a worker's jurisdiction's, a
// resident's own household's.
func (s *Store) Get(ctx context.Context, id string) (Contract, error) {
	p := access.From(ctx)
	if p == nil {
		return Contract{}, errNoContract
	}
	c, err := scanContract(s.DB.R.QueryRowContext(ctx, `SELECT `+contractCols+contractFrom+` WHERE c.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Contract{}, errNoContract
	} else if err != nil {
		return Contract{}, err
	}
	switch {
	case isWorker(p) && access.BusinessScope(p).Contains(c.Division):
	case p.Role == access.Resident && s.own(ctx, p, c.ResidentID):
	default:
		return Contract{}, errNoContract
	}
	c.Followups, err = db.Collect(ctx, s.DB.R, func(r db.Scanner) (Followup, error) {
		var f Followup
		return f, r.Scan(&f.On, &f.Kind, &f.Note, &f.By)
	}, `SELECT on_date, kind, note, recorded_by FROM gp_followups WHERE contract_id = $1 ORDER BY on_date DESC, created_at DESC LIMIT 100`, id)
	return c, err
}

func (s *Store) own(ctx context.Context, p *access.Principal, resident string) bool {
	var one int
	return s.DB.R.QueryRowContext(ctx, `SELECT 1 FROM registry_people c JOIN registry_people me ON me.household_id = c.household_id
		WHERE c.id = $1 AND me.username = $2 AND me.username <> ''`, resident, p.Username).Scan(&one) == nil
}

// AddFollowup records a follow-up of a contract.
func (s *Store) AddFollowup(ctx context.Context, id string, in FollowupInput) (Contract, error) {
	p := access.From(ctx)
	if !isWorker(p) {
		return Contract{}, errWorkers
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return Contract{}, err
	}
	var fields []fault.FieldError
	if !validDate(in.On) || in.On > s.today() {
		fields = append(fields, fault.Field("on_date", fault.M("请填写随访日期（不晚于今天）", "give the follow-up's date (not after today)")))
	}
	ok := false
	for _, k := range FollowupKinds {
		ok = ok || k.Key == in.Kind
	}
	if !ok {
		fields = append(fields, fault.Field("kind", fault.M("请选择随访方式", "choose the kind of follow-up")))
	}
	if in.Note = strings.TrimSpace(in.Note); utf8.RuneCountInString(in.Note) > 500 {
		fields = append(fields, fault.Field("note", fault.M("记录不超过 500 字", "the note is at most 500 characters")))
	}
	if len(fields) > 0 {
		return Contract{}, invalid(fields...)
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO gp_followups (id, contract_id, division_code, on_date, kind, note, recorded_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
			db.NewID(), id, c.Division, in.On, in.Kind, in.Note, p.Username, db.T(s.Now())); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "gp.followup.add", Object: "gp_contract", ObjectID: id, Division: c.Division, Detail: in.Kind + " " + in.On})
	})
	if err != nil {
		return Contract{}, err
	}
	return s.Get(ctx, id)
}

func auditRead(c Contract) audit.Entry {
	return audit.Entry{Action: "gp.contract.read", Object: "gp_contract", ObjectID: c.ID, Division: c.Division}
}
