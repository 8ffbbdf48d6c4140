package assistance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
	"linli/internal/secret"
)

// Store owns the programmes, standards, applications and their events.
type Store struct {
	DB    *db.DB
	Keys  *secret.Keyring
	Audit *audit.Log
	Now   func() time.Time
	Log   *slog.Logger
	Divs  module.Divisions
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Statuses of an application.
const (
	Submitted     = "submitted"
	Accepted      = "accepted"
	Checking      = "checking"      // 家庭经济状况核对
	Investigating = "investigating" // 入户调查
	Publicity     = "publicity"     // 公示
	Approved      = "approved"
	Refused       = "refused"
	Appealed      = "appealed" // 申诉/复核
	Enrolled      = "enrolled"
	Exited        = "exited"
)

var statusNames = map[string]fault.Msg{
	Submitted: fault.M("已提交", "Submitted"), Accepted: fault.M("已受理", "Accepted"), Checking: fault.M("经济状况核对中", "Economic check"),
	Investigating: fault.M("入户调查中", "Home investigation"), Publicity: fault.M("公示中", "Public notice"), Approved: fault.M("已批准", "Approved"),
	Refused: fault.M("不予批准", "Refused"), Appealed: fault.M("申诉复核中", "Under appeal"), Enrolled: fault.M("救助中", "Enrolled"), Exited: fault.M("已退出", "Exited"),
}

// StatusName is a status in words.
func StatusName(s string) fault.Msg { return statusNames[s] }

// Application is one 一件事 application.
type Application struct {
	ID             string     `json:"id"`
	Division       string     `json:"division_code"`
	County         string     `json:"county"`
	HouseholdID    string     `json:"household_id"`
	Address        string     `json:"address,omitempty"`
	Year           int        `json:"year"`
	Status         string     `json:"status"`
	Applicant      string     `json:"applicant"`
	OnBehalf       bool       `json:"on_behalf"`
	Consent        bool       `json:"consent"`
	Asked          []string   `json:"asked"`
	Plausible      []string   `json:"plausible"`
	Approved       []string   `json:"approved"`
	AmountFen      int64      `json:"amount_fen"`
	DecidedBy      string     `json:"decided_by,omitempty"`
	PublicityUntil *time.Time `json:"publicity_until,omitempty"`
	Due            *time.Time `json:"due_at,omitempty"`
	Version        int        `json:"version"`
	CreatedAt      time.Time  `json:"created_at"`
	// Source is the risk signal the application was started from
	// ("visit:42", "request:…"; see watch.go), read with the application.
	Source string `json:"source,omitempty"`
	// Read with the application alone (Get): the sealed facts, every
	// programme's result and the events.
	Facts   *Facts   `json:"facts,omitempty"`
	Results []Result `json:"results,omitempty"`
	Events  []Event  `json:"events,omitempty"`
	// Check is the freshest result of the economic check (Get only).
	Check *CheckResult `json:"check,omitempty"`
}

// SourceHref links the application back to the signal it started from.
func (a Application) SourceHref() string { return SourceHref(a.Source) }

// SourceName is the kind of that signal in words.
func (a Application) SourceName() fault.Msg { return SourceName(a.Source) }

// Overdue tells whether the current step is past its clock.
func (a Application) Overdue(now time.Time) bool { return a.Due != nil && now.After(*a.Due) }

// Event is one step of an application.
type Event struct {
	Seq    int       `json:"seq"`
	Action string    `json:"action"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Actor  string    `json:"actor"`
	Note   string    `json:"note,omitempty"`
	At     time.Time `json:"at"`
}

// MemberInput is one member's declared conditions.
type MemberInput struct {
	ResidentID string `json:"resident_id"`
	Disability string `json:"disability,omitempty"` // "", mild, severe
	Ill        bool   `json:"ill,omitempty"`
	Student    bool   `json:"student,omitempty"`
	Unemployed bool   `json:"unemployed,omitempty"`
}

// ApplyInput is an application as submitted.
type ApplyInput struct {
	// HouseholdID: a worker names it; a resident's is their own (empty
	// means their own; another is refused).
	HouseholdID string `json:"household_id"`
	Year        int    `json:"year,omitempty"` // default: this year
	// Members: the household's members with their conditions; empty
	// means every registered member without a condition.
	Members    []MemberInput `json:"members,omitempty"`
	IncomeFen  *int64        `json:"income_fen,omitempty"` // monthly household income; absent: not declared
	AssetsFen  *int64        `json:"assets_fen,omitempty"` // financial assets; absent: not declared
	Housing    bool          `json:"housing,omitempty"`
	Programmes []string      `json:"programmes"`
	// Consent to the household economic check (PIPL art. 29: separate
	// consent for sensitive personal information).
	Consent bool `json:"consent"`
	// Source: a worker starting from a risk signal of the household names
	// it ("visit:42"), and the application links back to it.
	Source string `json:"source,omitempty"`
}

func factsAAD(id string) string   { return "ast_applications.facts:" + id }
func resultsAAD(id string) string { return "ast_applications.results:" + id }

func invalid(fields ...fault.FieldError) error {
	return fault.Invalid(fault.M("申请有误", "the application has errors"), fields...)
}

// Apply records an application: every programme the county runs is
// tested against the declared facts, the asked ones and the others the
// facts make plausible.
func (s *Store) Apply(ctx context.Context, in ApplyInput) (Application, error) {
	p := access.From(ctx)
	if p == nil || !(p.Role == access.Resident || p.Role == access.CommunityWorker || p.Role == access.GridWorker || p.Role == access.Officer) {
		return Application{}, fault.Forbidden(fault.M("只有居民本人或工作人员可以申请", "only a resident or a worker may apply"))
	}
	now := s.Now()
	if in.Year == 0 {
		in.Year = now.In(questions.CST).Year()
	}
	// The household: a resident's own, or one in the worker's jurisdiction.
	var div, address string
	if p.Role == access.Resident {
		var own string
		err := s.DB.R.QueryRowContext(ctx, `SELECT household_id FROM reg_residents WHERE username = $1 AND username <> ''`, p.Username).Scan(&own)
		if errors.Is(err, sql.ErrNoRows) {
			return Application{}, fault.Conflict(fault.M("您的账号还没有关联居民登记信息，请联系社区", "your account is not linked to a registry record yet: contact your community"))
		} else if err != nil {
			return Application{}, err
		}
		if in.HouseholdID != "" && in.HouseholdID != own {
			return Application{}, fault.Forbidden(fault.M("只能为本人所在家庭申请", "you may apply only for your own household"))
		}
		in.HouseholdID = own
	}
	err := s.DB.R.QueryRowContext(ctx, `SELECT division_code, address FROM reg_households WHERE id = $1`, in.HouseholdID).Scan(&div, &address)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && p.Role != access.Resident && !access.BusinessScope(p).Contains(div)) {
		return Application{}, invalid(fault.Field("household_id", fault.M("辖区内没有这一户", "no such household in your jurisdiction")))
	} else if err != nil {
		return Application{}, err
	}
	county := countyOf(div)
	facts, fields, err := s.facts(ctx, in, now)
	if err != nil {
		return Application{}, err
	}
	progs, err := s.Programmes(ctx, county)
	if err != nil {
		return Application{}, err
	}
	if len(in.Programmes) == 0 {
		fields = append(fields, fault.Field("programmes", fault.M("请至少选择一个救助项目", "choose at least one programme")))
	}
	byCode := map[string]Programme{}
	for _, pr := range progs {
		byCode[pr.Code] = pr
	}
	for i, c := range in.Programmes {
		if _, ok := byCode[c]; !ok {
			fields = append(fields, fault.Field(fmt.Sprintf("programmes[%d]", i), fault.M("本县（市、区）没有开办“"+c+"”救助项目", "the county does not run the programme "+c)))
		}
	}
	var standard int64
	err = s.DB.R.QueryRowContext(ctx, `SELECT dibao_fen FROM ast_standards WHERE county = $1 AND year = $2`, county, in.Year).Scan(&standard)
	if errors.Is(err, sql.ErrNoRows) {
		fields = append(fields, fault.Field("year", fault.M(fmt.Sprintf("本县（市、区）尚未公布 %d 年的低保标准", in.Year), fmt.Sprintf("the county has not set its standard for %d", in.Year))))
	} else if err != nil {
		return Application{}, err
	}
	var sig Signal // the warning it is started from, handled by it
	if in.Source != "" {
		if p.Role == access.Resident {
			fields = append(fields, fault.Field("source", fault.M("居民本人申请不填来源", "a resident's own application has no source")))
		} else if g, fe, err := s.signal(ctx, p, in.Source, in.HouseholdID); err != nil {
			return Application{}, err
		} else if fe != nil {
			fields = append(fields, *fe)
		} else {
			sig = g
		}
	}
	if len(fields) > 0 {
		return Application{}, invalid(fields...)
	}
	// A friendly refusal first; the unique index decides a race.
	if err := s.noOpenApplication(ctx, in.HouseholdID); err != nil {
		return Application{}, err
	}
	results, plausible := evaluateAll(progs, standard, facts, in.Programmes)
	id := db.NewID()
	a := Application{ID: id, Division: div, County: county, HouseholdID: in.HouseholdID, Year: in.Year, Status: Submitted, Applicant: p.Username,
		OnBehalf: p.Role != access.Resident, Consent: in.Consent, Asked: dedupe(in.Programmes), Plausible: plausible, Version: 1, CreatedAt: db.T(now).Time, Source: in.Source}
	cal, err := s.Calendar(ctx, s.DB.R)
	if err != nil {
		return Application{}, err
	}
	due := clock(cal, Submitted, now)
	a.Due = &due
	factsRaw, _ := json.Marshal(facts)
	resultsRaw, _ := json.Marshal(results)
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var consentAt any
		consentBy := ""
		if in.Consent {
			consentAt, consentBy = db.T(now), p.Username
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ast_applications (id, division_code, county, household_id, year, status, applicant, on_behalf, consent_at, consent_by,
			facts_enc, results_enc, asked, plausible, due_at, version, created_at, updated_at, source)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,1,$16,$16,$17)`,
			id, div, county, in.HouseholdID, in.Year, Submitted, p.Username, a.OnBehalf, consentAt, consentBy,
			s.Keys.Seal(string(factsRaw), factsAAD(id)), s.Keys.Seal(string(resultsRaw), resultsAAD(id)),
			strings.Join(a.Asked, ","), strings.Join(plausible, ","), db.T(due), db.T(now), in.Source); err != nil {
			if db.IsUniqueViolation(err) {
				return errOpenRace
			}
			return err
		}
		if err := s.writeResults(ctx, tx, id, byCode, results, a.Asked); err != nil {
			return err
		}
		if in.Source != "" {
			if err := s.handled(ctx, tx, sig, HandledApplied, id, "", p.Username, now); err != nil {
				return err
			}
		}
		var notes []string
		if in.Consent {
			notes = append(notes, "已授权家庭经济状况核对 / consent to the economic check given")
		}
		if in.Source != "" {
			notes = append(notes, "来源 / source: "+SourceName(in.Source).String()+" ("+in.Source+")")
		}
		note := strings.Join(notes, "; ")
		if err := s.event(ctx, tx, id, 1, "submit", "", Submitted, p.Username, note, now); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "assistance.apply", Object: "application", ObjectID: id, Division: div,
			Detail: "programmes " + strings.Join(a.Asked, ",") + "; consent " + strconv.FormatBool(in.Consent) + "; source " + in.Source})
	})
	if errors.Is(err, errOpenRace) {
		// Another application for the household won the race: name it.
		if err := s.noOpenApplication(ctx, in.HouseholdID); err != nil {
			return Application{}, err
		}
		return Application{}, fault.Conflict(fault.M("这一户已有一份办理中的救助申请", "the household already has an open application"))
	}
	if err != nil {
		return Application{}, err
	}
	return s.Get(ctx, id)
}

// errOpenRace marks a write the one-open index refused.
var errOpenRace = errors.New("assistance: the household has an open application")

// noOpenApplication refuses a second open application for a household,
// naming the open one: its number, state and submission date.
func (s *Store) noOpenApplication(ctx context.Context, household string) error {
	var id, status string
	var created db.Time
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, status, created_at FROM ast_applications WHERE household_id = $1 AND status IN `+openStatuses+` LIMIT 1`, household).Scan(&id, &status, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	return openConflict(id, status, created.Time)
}

func openConflict(id, status string, created time.Time) error {
	st, day := StatusName(status), created.In(questions.CST).Format("2006-01-02")
	return &fault.Error{Code: fault.CodeConflict,
		Msg: fault.M(fmt.Sprintf("这一户已有一份办理中的救助申请（编号 %s，%s 提交，当前“%s”），请在该申请中办理，不要重复申请", id, day, st.ZH),
			fmt.Sprintf("the household already has an open application (%s, submitted %s, now %s): continue with it instead of applying again", id, day, strings.ToLower(st.EN))),
		Fields: []fault.FieldError{fault.Field("household_id", fault.M("已有办理中的申请 "+id, "open application "+id))}}
}

func dedupe(cs []string) []string {
	out := []string{}
	for _, c := range cs {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// evaluateAll tests every programme; plausible are those not asked that
// the facts qualify for.
func evaluateAll(progs []Programme, standard int64, f Facts, asked []string) ([]Result, []string) {
	results := make([]Result, 0, len(progs))
	plausible := []string{}
	for _, pr := range progs {
		r := Evaluate(pr.Code, pr.Version, pr.Rule, standard, f)
		results = append(results, r)
		if r.Outcome == Eligible && !slices.Contains(asked, pr.Code) {
			plausible = append(plausible, pr.Code)
		}
	}
	return results, plausible
}

func (s *Store) writeResults(ctx context.Context, tx *sql.Tx, id string, byCode map[string]Programme, results []Result, asked []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM ast_app_programmes WHERE application_id = $1`, id); err != nil {
		return err
	}
	for _, r := range results {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ast_app_programmes (application_id, code, programme_id, asked, rule_version, outcome, amount_fen) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
			id, r.Programme, byCode[r.Programme].ID, slices.Contains(asked, r.Programme), r.Version, r.Outcome, r.AmountFen); err != nil {
			return err
		}
	}
	return nil
}

// facts reads the household's members from the registry and checks the
// declared ones: every member named must live in the household.
func (s *Store) facts(ctx context.Context, in ApplyInput, now time.Time) (Facts, []fault.FieldError, error) {
	var fields []fault.FieldError
	if in.IncomeFen != nil && *in.IncomeFen < 0 {
		fields = append(fields, fault.Field("income_fen", fault.M("家庭月收入不能为负数", "the monthly income cannot be negative")))
	}
	if in.AssetsFen != nil && *in.AssetsFen < 0 {
		fields = append(fields, fault.Field("assets_fen", fault.M("家庭金融资产不能为负数", "the assets cannot be negative")))
	}
	type person struct{ name, birth string }
	reg := map[string]person{}
	var order []string
	err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var id string
		var p person
		if err := r.Scan(&id, &p.name, &p.birth); err != nil {
			return err
		}
		reg[id] = p
		order = append(order, id)
		return nil
	}, `SELECT id, name, birth_date FROM reg_residents WHERE household_id = $1 ORDER BY id`, in.HouseholdID)
	if err != nil {
		return Facts{}, nil, err
	}
	members := in.Members
	if len(members) == 0 {
		for _, id := range order {
			members = append(members, MemberInput{ResidentID: id})
		}
	}
	f := Facts{IncomeFen: in.IncomeFen, AssetsFen: in.AssetsFen, Housing: in.Housing}
	seen := map[string]bool{}
	for i, m := range members {
		p, ok := reg[m.ResidentID]
		if !ok {
			fields = append(fields, fault.Field(fmt.Sprintf("members[%d].resident_id", i), fault.M("此人不是本户成员", "this person is not a member of the household")))
			continue
		}
		if seen[m.ResidentID] {
			fields = append(fields, fault.Field(fmt.Sprintf("members[%d].resident_id", i), fault.M("成员重复", "the member is named twice")))
			continue
		}
		seen[m.ResidentID] = true
		if m.Disability != "" && m.Disability != "mild" && m.Disability != "severe" {
			fields = append(fields, fault.Field(fmt.Sprintf("members[%d].disability", i), fault.M("残疾程度应为 mild 或 severe", "disability is mild or severe")))
		}
		f.Members = append(f.Members, Member{ResidentID: m.ResidentID, Name: p.name, Age: ageOn(p.birth, now), Disability: m.Disability, Ill: m.Ill, Student: m.Student, Unemployed: m.Unemployed})
	}
	if len(reg) == 0 {
		fields = append(fields, fault.Field("household_id", fault.M("这一户没有登记成员", "the household has no registered member")))
	}
	return f, fields, nil
}

func ageOn(birth string, now time.Time) int {
	b, err := time.Parse("2006-01-02", birth)
	if err != nil {
		return 0
	}
	n := now.In(questions.CST)
	age := n.Year() - b.Year()
	if n.YearDay() < b.YearDay() {
		age--
	}
	return age
}

func (s *Store) event(ctx context.Context, tx *sql.Tx, id string, seq int, action, from, to, actor, note string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO ast_events (application_id, seq, action, from_status, to_status, actor, note, at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		id, seq, action, from, to, actor, note, db.T(at))
	return err
}

var errNotFound = fault.NotFound(fault.M("没有这份申请，或不在您的辖区", "no such application in your jurisdiction"))

const appCols = `a.id, a.division_code, a.county, a.household_id, COALESCE(h.address, ''), a.year, a.status, a.applicant, a.on_behalf, a.consent_at,
	a.asked, a.plausible, a.approved, a.amount_fen, a.decided_by, a.publicity_until, a.due_at, a.version, a.created_at`

// appRowCols are the application's own columns appCols reads: a pick of
// rows reads these, not the sealed facts beside them.
const appRowCols = `a.id, a.division_code, a.county, a.household_id, a.year, a.status, a.applicant, a.on_behalf, a.consent_at,
	a.asked, a.plausible, a.approved, a.amount_fen, a.decided_by, a.publicity_until, a.due_at, a.version, a.created_at`

func scanApp(r db.Scanner) (Application, error) {
	var a Application
	var consent, until, due, created db.Time
	var asked, plausible, approved string
	err := r.Scan(&a.ID, &a.Division, &a.County, &a.HouseholdID, &a.Address, &a.Year, &a.Status, &a.Applicant, &a.OnBehalf, &consent,
		&asked, &plausible, &approved, &a.AmountFen, &a.DecidedBy, &until, &due, &a.Version, &created)
	a.Consent = !consent.IsZero()
	a.Asked, a.Plausible, a.Approved = split(asked), split(plausible), split(approved)
	if !until.IsZero() {
		a.PublicityUntil = &until.Time
	}
	if !due.IsZero() {
		a.Due = &due.Time
	}
	a.CreatedAt = created.Time
	return a, err
}

func split(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// visible tells whether the principal may see an application: a worker
// within their jurisdiction, a resident for their own household.
func (s *Store) visible(ctx context.Context, p *access.Principal, a Application) (bool, error) {
	if p == nil {
		return false, nil
	}
	if p.Role == access.Resident {
		var n int
		err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM reg_residents WHERE username = $1 AND username <> '' AND household_id = $2`, p.Username, a.HouseholdID).Scan(&n)
		return n > 0, err
	}
	return access.BusinessScope(p).Contains(a.Division), nil
}

// Get reads one application with its facts, results and events; the
// reading of the sealed facts is audited.
func (s *Store) Get(ctx context.Context, id string) (Application, error) {
	a, factsEnc, resultsEnc, err := s.read(ctx, s.DB.R, id)
	if err != nil {
		return a, err
	}
	p := access.From(ctx)
	if ok, err := s.visible(ctx, p, a); err != nil {
		return a, err
	} else if !ok {
		return a, errNotFound
	}
	var f Facts
	raw, err := s.Keys.Open(factsEnc, factsAAD(id))
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		return a, err
	}
	a.Facts = &f
	if raw, err = s.Keys.Open(resultsEnc, resultsAAD(id)); err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(raw), &a.Results); err != nil {
		return a, err
	}
	a.Events, err = db.Collect(ctx, s.DB.R, func(r db.Scanner) (Event, error) {
		var e Event
		var at db.Time
		err := r.Scan(&e.Seq, &e.Action, &e.From, &e.To, &e.Actor, &e.Note, &at)
		e.At = at.Time
		return e, err
	}, `SELECT seq, action, from_status, to_status, actor, note, at FROM ast_events WHERE application_id = $1 ORDER BY seq`, id)
	if err != nil {
		return a, err
	}
	if a.Check, err = s.latestCheck(ctx, s.DB.R, id); err != nil {
		return a, err
	}
	if err := s.Audit.Record(ctx, audit.Entry{Action: "assistance.read", Object: "application", ObjectID: id, Division: a.Division}); err != nil {
		return a, err
	}
	return a, nil
}

func (s *Store) read(ctx context.Context, q rowQuerier, id string) (Application, string, string, error) {
	row := q.QueryRowContext(ctx, `SELECT `+appCols+`, a.facts_enc, a.results_enc, a.source FROM ast_applications a LEFT JOIN reg_households h ON h.id = a.household_id WHERE a.id = $1`, id)
	var a Application
	var fe, re string
	var consent, until, due, created db.Time
	var asked, plausible, approved string
	err := row.Scan(&a.ID, &a.Division, &a.County, &a.HouseholdID, &a.Address, &a.Year, &a.Status, &a.Applicant, &a.OnBehalf, &consent,
		&asked, &plausible, &approved, &a.AmountFen, &a.DecidedBy, &until, &due, &a.Version, &created, &fe, &re, &a.Source)
	if errors.Is(err, sql.ErrNoRows) {
		return a, "", "", errNotFound
	}
	a.Consent = !consent.IsZero()
	a.Asked, a.Plausible, a.Approved = split(asked), split(plausible), split(approved)
	if !until.IsZero() {
		a.PublicityUntil = &until.Time
	}
	if !due.IsZero() {
		a.Due = &due.Time
	}
	a.CreatedAt = created.Time
	return a, fe, re, err
}
