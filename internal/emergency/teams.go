package emergency

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/questions"
	"linli/internal/web"
)

// Emergency teams (应急队伍, 平时): per community or township, members
// from the registry's personnel (staff and volunteers, by surname only)
// and the township's worker accounts, each with their skills, and an
// on-call rota (值班) of date ranges per member, so that who is on call
// today is known before any warning.

const teamsSQL = `
CREATE TABLE em_teams (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	name TEXT NOT NULL,
	note TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX em_teams_div ON em_teams (division_code, id);
CREATE TABLE em_team_members (
	id TEXT PRIMARY KEY,
	team_id TEXT NOT NULL REFERENCES em_teams(id),
	kind TEXT NOT NULL,
	ref TEXT NOT NULL,
	name TEXT NOT NULL,
	skills TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	UNIQUE (team_id, kind, ref)
);
CREATE TABLE em_team_rota (
	id TEXT PRIMARY KEY,
	team_id TEXT NOT NULL REFERENCES em_teams(id),
	member_id TEXT NOT NULL REFERENCES em_team_members(id),
	starts_on TEXT NOT NULL,
	ends_on TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX em_team_rota_member ON em_team_rota (member_id, starts_on);
CREATE INDEX em_team_rota_team ON em_team_rota (team_id, ends_on);
`

// Skills a member may have, in the order pages show them.
var Skills = []string{"rescue", "first_aid", "evacuation", "supplies", "comms", "counselling", "driving"}

var skillNames = map[string][2]string{
	"rescue":      {"救援", "Rescue"},
	"first_aid":   {"医疗急救", "First aid"},
	"evacuation":  {"转移引导", "Evacuation"},
	"supplies":    {"物资保障", "Supplies"},
	"comms":       {"通信", "Communications"},
	"counselling": {"心理疏导", "Counselling"},
	"driving":     {"驾驶", "Driving"},
}

// SkillName is a skill's label.
func SkillName(k string) web.Msg {
	n := skillNames[k]
	return web.M(n[0], n[1])
}

// Member kinds.
const (
	MemberPersonnel = "personnel" // a person of the registry (staff or volunteer)
	MemberAccount   = "account"   // a worker's account of the township
)

// Team is a team with its members and rota.
type Team struct {
	ID        string      `json:"id"`
	Division  string      `json:"division"`
	Name      string      `json:"name"`
	Note      string      `json:"note,omitempty"`
	Members   []Member    `json:"members"`
	Rota      []RotaEntry `json:"rota"`    // current and future entries, by start
	OnCall    []Member    `json:"on_call"` // on call today
	CreatedAt time.Time   `json:"created_at"`
}

// Member is a member of a team.
type Member struct {
	ID     string   `json:"id"`
	Kind   string   `json:"kind"`
	Ref    string   `json:"ref"`  // personnel id or username
	Name   string   `json:"name"` // 张** for personnel, the username for an account
	Skills []string `json:"skills"`
}

// RotaEntry is a member on call from one day to another, both included.
type RotaEntry struct {
	ID       string `json:"id"`
	MemberID string `json:"member_id"`
	Name     string `json:"name"`
	StartsOn string `json:"starts_on"`
	EndsOn   string `json:"ends_on"`
}

// TeamInput creates a team.
type TeamInput struct {
	Division string `json:"division"` // default the caller's division
	Name     string `json:"name"`
	Note     string `json:"note,omitempty"`
}

// MemberInput adds a member.
type MemberInput struct {
	Kind   string   `json:"kind"` // personnel or account
	Ref    string   `json:"ref"`
	Skills []string `json:"skills"`
}

// RotaInput puts a member on call.
type RotaInput struct {
	MemberID string `json:"member_id"`
	StartsOn string `json:"starts_on"`
	EndsOn   string `json:"ends_on"`
}

// MemberCandidate is someone who may join a team.
type MemberCandidate struct {
	Kind  string   `json:"kind"`
	Ref   string   `json:"ref"`
	Name  string   `json:"name"`
	Roles []string `json:"roles,omitempty"` // personnel roles, or the account's role
}

// Key is the picker's value: kind and ref.
func (c MemberCandidate) Key() string { return c.Kind + ":" + c.Ref }

// CreateTeam creates a team of a community or township.
func (s *Store) CreateTeam(ctx context.Context, in TeamInput) (Team, error) {
	p := access.From(ctx)
	if err := planWriter(p); err != nil {
		return Team{}, err
	}
	in.Division, in.Name, in.Note = strings.TrimSpace(in.Division), strings.TrimSpace(in.Name), strings.TrimSpace(in.Note)
	if in.Division == "" {
		in.Division = p.Division
	}
	var fields []fault.FieldError
	bad := func(f, zh, en string) { fields = append(fields, fault.Field(f, fault.M(zh, en))) }
	s.checkUnit(ctx, in.Division, bad)
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 40 {
		bad("name", "请填写队伍名称（不超过 40 字）", "give the team's name (at most 40 characters)")
	}
	if utf8.RuneCountInString(in.Note) > 200 {
		bad("note", "说明不超过 200 字", "the note is at most 200 characters")
	}
	if len(fields) > 0 {
		return Team{}, fault.Invalid(fault.M("无法建立队伍", "cannot create the team"), fields...)
	}
	id := db.NewID()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO em_teams (id, division_code, name, note, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6)`,
			id, in.Division, in.Name, in.Note, p.Username, db.T(s.Now())); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.team.create", Object: "team", ObjectID: id, Division: in.Division,
			Detail: audit.Detail(map[string]any{"name": in.Name})})
	})
	if err != nil {
		return Team{}, err
	}
	return s.Team(ctx, id)
}

var errNoTeam = fault.NotFound(fault.M("找不到这支队伍，或不在您的辖区内", "no such team in your jurisdiction"))

// team reads a team's own row within the jurisdiction.
func (s *Store) team(ctx context.Context, id string) (Team, error) {
	if err := planReader(access.From(ctx)); err != nil {
		return Team{}, err
	}
	sc := access.ScopeOf(ctx)
	var t Team
	var at db.Time
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, division_code, name, note, created_at FROM em_teams WHERE id = $1 AND division_code >= $2 AND division_code < $3`,
		id, sc.Lo, sc.Hi).Scan(&t.ID, &t.Division, &t.Name, &t.Note, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return t, errNoTeam
	}
	t.CreatedAt = at.Time
	return t, err
}

// Team reads a team with its members, its rota from today on and who is
// on call today.
func (s *Store) Team(ctx context.Context, id string) (Team, error) {
	t, err := s.team(ctx, id)
	if err != nil {
		return t, err
	}
	if t.Members, err = s.members(ctx, `m.team_id = $1`, id); err != nil {
		return t, err
	}
	today := s.today()
	t.Rota, err = db.Collect(ctx, s.DB.R, func(r db.Scanner) (RotaEntry, error) {
		var e RotaEntry
		return e, r.Scan(&e.ID, &e.MemberID, &e.Name, &e.StartsOn, &e.EndsOn)
	}, `SELECT r.id, r.member_id, m.name, r.starts_on, r.ends_on FROM em_team_rota r JOIN em_team_members m ON m.id = r.member_id
		WHERE r.team_id = $1 AND r.ends_on >= $2 ORDER BY r.starts_on, m.name, r.id`, id, today)
	if err != nil {
		return t, err
	}
	t.Rota = orEmpty(t.Rota)
	t.OnCall, err = s.members(ctx, `m.team_id = $1 AND m.id IN (SELECT r.member_id FROM em_team_rota r WHERE r.team_id = $1 AND r.starts_on <= $2 AND r.ends_on >= $2)`, id, today)
	return t, err
}

func (s *Store) members(ctx context.Context, cond string, args ...any) ([]Member, error) {
	ms, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Member, error) {
		var m Member
		var skills string
		err := r.Scan(&m.ID, &m.Kind, &m.Ref, &m.Name, &skills)
		m.Skills = strings.Split(strings.Trim(skills, ","), ",")
		return m, err
	}, `SELECT m.id, m.kind, m.ref, m.name, m.skills FROM em_team_members m WHERE `+cond+` ORDER BY m.kind DESC, m.name, m.id`, args...)
	return orEmpty(ms), err
}

// TeamSummary is a team in the list, with who is on call today.
type TeamSummary struct {
	ID       string   `json:"id"`
	Division string   `json:"division"`
	Name     string   `json:"name"`
	Members  int      `json:"members"`
	OnCall   []string `json:"on_call"`
}

// Teams lists the teams of the jurisdiction (or of a division within
// it), at most 200, by division and name.
func (s *Store) Teams(ctx context.Context, division string) ([]TeamSummary, error) {
	p := access.From(ctx)
	if err := planReader(p); err != nil {
		return nil, err
	}
	sc := access.BusinessScope(p)
	if division != "" {
		if !sc.Contains(division) {
			return nil, fault.Invalid(fault.M("请选择辖区内的区划", "choose a division in your jurisdiction"), fault.Field("division", fault.M("辖区内的区划", "a division in your jurisdiction")))
		}
		sc = access.Subtree(division)
	}
	return s.teamList(ctx, `t.division_code >= $2 AND t.division_code < $3`, sc.Lo, sc.Hi)
}

// teamList reads the teams where cond holds (its arguments from $2)
// with who is on call today.
func (s *Store) teamList(ctx context.Context, cond string, args ...any) ([]TeamSummary, error) {
	ts, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (TeamSummary, error) {
		var t TeamSummary
		var on string
		err := r.Scan(&t.ID, &t.Division, &t.Name, &t.Members, &on)
		t.OnCall = []string{}
		if on != "" {
			t.OnCall = strings.Split(on, "、")
		}
		return t, err
	}, `SELECT t.id, t.division_code, t.name, (SELECT COUNT(*) FROM em_team_members m WHERE m.team_id = t.id),
		COALESCE((SELECT `+s.aggNames()+` FROM em_team_members m WHERE m.team_id = t.id
			AND m.id IN (SELECT r.member_id FROM em_team_rota r WHERE r.team_id = t.id AND r.starts_on <= $1 AND r.ends_on >= $1)), '')
		FROM em_teams t WHERE `+cond+` ORDER BY t.division_code, t.name, t.id LIMIT 200`, append([]any{s.today()}, args...)...)
	return orEmpty(ts), err
}

// aggNames joins members' names with 、 in either store.
func (s *Store) aggNames() string {
	if s.DB.Dialect == db.Postgres {
		return `string_agg(m.name, '、' ORDER BY m.name)`
	}
	return `group_concat(m.name, '、')`
}

// OnCallIn are the teams of the given divisions' subtrees and of their
// townships with who is on call today, for the warning's page.
func (s *Store) OnCallIn(ctx context.Context, divisions []string) ([]TeamSummary, error) {
	if planReader(access.From(ctx)) != nil {
		return nil, nil
	}
	if len(divisions) == 0 {
		return nil, nil
	}
	// The area's subtrees and the townships above them, within the
	// principal's jurisdiction.
	var codes []string
	for _, d := range divisions {
		codes = append(codes, d)
		if len(d) > 9 {
			codes = append(codes, d[:9])
		}
	}
	area, args := areaCond("t.division_code", divisions, 4)
	towns := "''"
	for _, c := range codes {
		if len(c) == 9 {
			args = append(args, c)
			towns += ", " + ph(3+len(args))
		}
	}
	sc := access.ScopeOf(ctx)
	ts, err := s.teamList(ctx, `t.division_code >= $2 AND t.division_code < $3 AND (`+area+` OR t.division_code IN (`+towns+`))`, append([]any{sc.Lo, sc.Hi}, args...)...)
	if err != nil {
		return nil, err
	}
	var out []TeamSummary
	for _, t := range ts {
		if len(t.OnCall) > 0 {
			out = append(out, t)
		}
	}
	return out, nil
}

// MemberCandidates are who may join team: the registry's personnel of
// its subtree and of its township, and the township's worker accounts
// (at most 300 each).
func (s *Store) MemberCandidates(ctx context.Context, teamID string) ([]MemberCandidate, error) {
	t, err := s.team(ctx, teamID)
	if err != nil {
		return nil, err
	}
	return s.candidatesOf(ctx, t.Division, "")
}

func (s *Store) candidatesOf(ctx context.Context, div, only string) ([]MemberCandidate, error) {
	sc, town := access.Subtree(div), access.Subtree(div[:9])
	q := `SELECT id, surname, roles FROM registry_staff_cards WHERE (division_code >= $1 AND division_code < $2 OR division_code = $3)`
	args := []any{sc.Lo, sc.Hi, div[:9]}
	if only != "" {
		q += ` AND id = $4`
		args = append(args, only)
	}
	people, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (MemberCandidate, error) {
		c := MemberCandidate{Kind: MemberPersonnel}
		var roles string
		err := r.Scan(&c.Ref, &c.Name, &roles)
		c.Name += "**"
		for _, x := range strings.Split(strings.Trim(roles, ","), ",") {
			if x != "" {
				c.Roles = append(c.Roles, x)
			}
		}
		return c, err
	}, q+` ORDER BY division_code, id LIMIT 300`, args...)
	if err != nil {
		return nil, err
	}
	q = `SELECT username, role FROM users WHERE NOT disabled AND role IN ('grid_worker', 'community_worker', 'officer') AND division_code >= $1 AND division_code < $2`
	args = []any{town.Lo, town.Hi}
	if only != "" {
		q += ` AND username = $3`
		args = append(args, only)
	}
	accounts, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (MemberCandidate, error) {
		c := MemberCandidate{Kind: MemberAccount}
		var role string
		err := r.Scan(&c.Ref, &role)
		c.Name, c.Roles = c.Ref, []string{role}
		return c, err
	}, q+` ORDER BY username LIMIT 300`, args...)
	return append(people, accounts...), err
}

// AddMember adds a member with their skills.
func (s *Store) AddMember(ctx context.Context, teamID string, in MemberInput) (Member, error) {
	p := access.From(ctx)
	if err := planWriter(p); err != nil {
		return Member{}, err
	}
	t, err := s.team(ctx, teamID)
	if err != nil {
		return Member{}, err
	}
	var fields []fault.FieldError
	bad := func(f, zh, en string) { fields = append(fields, fault.Field(f, fault.M(zh, en))) }
	in.Ref = strings.TrimSpace(in.Ref)
	var who MemberCandidate
	if in.Kind != MemberPersonnel && in.Kind != MemberAccount {
		bad("kind", "应为 personnel（登记库人员）或 account（工作人员账号）", "must be personnel or account")
	} else if in.Ref == "" {
		bad("ref", "请选择队员", "choose the member")
	} else {
		cs, err := s.candidatesOf(ctx, t.Division, in.Ref)
		if err != nil {
			return Member{}, err
		}
		for _, c := range cs {
			if c.Kind == in.Kind {
				who = c
			}
		}
		if who.Ref == "" {
			bad("ref", "队员须为本社区（或所属乡镇、街道）的登记人员或工作人员账号", "the member must be personnel or a worker's account of the team's community or township")
		}
	}
	seen := map[string]bool{}
	for _, k := range in.Skills {
		if skillNames[k][0] == "" {
			bad("skills", "技能应从救援、医疗急救、转移引导、物资保障、通信、心理疏导、驾驶中选择", "skills are rescue, first_aid, evacuation, supplies, comms, counselling or driving")
			break
		}
		seen[k] = true
	}
	if len(in.Skills) == 0 {
		bad("skills", "请至少选择一项技能", "choose at least one skill")
	}
	if len(fields) > 0 {
		return Member{}, fault.Invalid(fault.M("无法加入队员", "cannot add the member"), fields...)
	}
	var skills []string
	for _, k := range Skills {
		if seen[k] {
			skills = append(skills, k)
		}
	}
	m := Member{ID: db.NewID(), Kind: in.Kind, Ref: who.Ref, Name: who.Name, Skills: skills}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO em_team_members (id, team_id, kind, ref, name, skills, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
			m.ID, t.ID, m.Kind, m.Ref, m.Name, ","+strings.Join(skills, ",")+",", p.Username, db.T(s.Now())); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Invalid(fault.M("无法加入队员", "cannot add the member"), fault.Field("ref", fault.M("已是本队队员", "already a member of the team")))
			}
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.team.member", Object: "team", ObjectID: t.ID, Division: t.Division,
			Detail: audit.Detail(map[string]any{"member": m.ID, "kind": m.Kind, "skills": skills})})
	})
	if err != nil {
		return Member{}, err
	}
	return m, nil
}

// AddRota puts a member on call from one day to another; a member's
// entries never overlap.
func (s *Store) AddRota(ctx context.Context, teamID string, in RotaInput) (RotaEntry, error) {
	p := access.From(ctx)
	if err := planWriter(p); err != nil {
		return RotaEntry{}, err
	}
	t, err := s.team(ctx, teamID)
	if err != nil {
		return RotaEntry{}, err
	}
	var fields []fault.FieldError
	bad := func(f, zh, en string) { fields = append(fields, fault.Field(f, fault.M(zh, en))) }
	var name string
	err = s.DB.R.QueryRowContext(ctx, `SELECT name FROM em_team_members WHERE id = $1 AND team_id = $2`, in.MemberID, t.ID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		bad("member_id", "请选择本队的队员", "choose a member of the team")
	} else if err != nil {
		return RotaEntry{}, err
	}
	start, e1 := time.ParseInLocation("2006-01-02", strings.TrimSpace(in.StartsOn), questions.CST)
	end, e2 := time.ParseInLocation("2006-01-02", strings.TrimSpace(in.EndsOn), questions.CST)
	if e1 != nil {
		bad("starts_on", "开始日期应为日期，如 2026-12-01", "the start is a date such as 2026-12-01")
	}
	if e2 != nil {
		bad("ends_on", "结束日期应为日期，如 2026-12-07", "the end is a date such as 2026-12-07")
	} else if e1 == nil && end.Before(start) {
		bad("ends_on", "结束日期不能早于开始日期", "the end cannot be before the start")
	} else if e1 == nil && end.Sub(start) > 366*24*time.Hour {
		bad("ends_on", "一次值班不超过一年", "one entry is at most a year")
	}
	if len(fields) > 0 {
		return RotaEntry{}, fault.Invalid(fault.M("无法排班", "cannot add the rota entry"), fields...)
	}
	e := RotaEntry{ID: db.NewID(), MemberID: in.MemberID, Name: name, StartsOn: start.Format("2006-01-02"), EndsOn: end.Format("2006-01-02")}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// Two entries for one member at once: the member's row is held
		// until the end (a SQLite transaction already excludes others).
		if s.DB.Dialect == db.Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT id FROM em_team_members WHERE id = $1 FOR UPDATE`, e.MemberID); err != nil {
				return err
			}
		}
		var clash string
		err := tx.QueryRowContext(ctx, `SELECT starts_on || ' – ' || ends_on FROM em_team_rota WHERE member_id = $1 AND starts_on <= $3 AND ends_on >= $2 LIMIT 1`,
			e.MemberID, e.StartsOn, e.EndsOn).Scan(&clash)
		if err == nil {
			return fault.Invalid(fault.M("排班时间重叠", "the entry overlaps another"),
				fault.Field("starts_on", fault.M("该队员 "+clash+" 已有值班，时间不能重叠", "the member is on call "+clash+" already: entries cannot overlap")))
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO em_team_rota (id, team_id, member_id, starts_on, ends_on, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
			e.ID, t.ID, e.MemberID, e.StartsOn, e.EndsOn, p.Username, db.T(s.Now())); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.team.rota", Object: "team", ObjectID: t.ID, Division: t.Division,
			Detail: audit.Detail(map[string]any{"member": e.MemberID, "starts_on": e.StartsOn, "ends_on": e.EndsOn})})
	})
	if err != nil {
		return RotaEntry{}, err
	}
	return e, nil
}
