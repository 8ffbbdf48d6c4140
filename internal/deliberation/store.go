package deliberation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/groupcommit"
	"linli/internal/module"
	"linli/internal/secret"
)

// Store owns the councils, topics, meetings, votes and decisions.
type Store struct {
	DB    *db.DB
	Keys  *secret.Keyring
	Audit *audit.Log
	Now   func() time.Time
	Divs  module.Divisions
	// casts writes ballots in groups, one commit for as many as came
	// while the last group was written: a vote's row and the audit chain
	// are lines every ballot takes, held to the commit.
	casts groupcommit.Group[[]audit.Item]
}

// Member roles of a council (议事会成员身份).
var memberRoles = map[string]fault.Msg{
	"resident_rep": fault.M("居民代表", "Residents' representative"), "party": fault.M("党员", "Party member"),
	"owners": fault.M("业委会", "Owners' committee"), "property": fault.M("物业", "Property management"),
	"social_org": fault.M("社会组织", "Social organisation"), "elite": fault.M("乡贤", "Local notable"),
}

// RoleName is a member role in words.
func RoleName(r string) fault.Msg { return memberRoles[r] }

// Majority rules, as data on the council and copied to each vote.
const (
	MajoritySimple    = "simple"     // more than half of the ballots cast
	MajorityTwoThirds = "two_thirds" // at least two thirds of the electorate
)

// Council is a 议事会 of a community, village or township.
type Council struct {
	ID       string `json:"id"`
	Division string `json:"division_code"`
	Name     string `json:"name"`
	Level    string `json:"level"` // community or township
	// QuorumPM is the share of the electorate (per mille) that must take
	// part for a vote to decide.
	QuorumPM        int       `json:"quorum_pm"`
	Majority        string    `json:"majority"`
	CosignThreshold int       `json:"cosign_threshold"`
	CosignDays      int       `json:"cosign_days"`
	Members         []Member  `json:"members,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
}

// Member is one member of a council with their term.
type Member struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	Username  string `json:"username,omitempty"`
	TermFrom  string `json:"term_from"`
	TermUntil string `json:"term_until"`
}

// RoleLabel is the member's role in words.
func (m Member) RoleLabel() fault.Msg { return RoleName(m.Role) }

// CouncilInput creates a council.
type CouncilInput struct {
	Division        string        `json:"division_code"`
	Name            string        `json:"name"`
	QuorumPM        int           `json:"quorum_pm"`
	Majority        string        `json:"majority"`
	CosignThreshold int           `json:"cosign_threshold"`
	CosignDays      int           `json:"cosign_days"`
	Members         []MemberInput `json:"members"`
}

// MemberInput is a member as entered.
type MemberInput struct {
	Name      string `json:"name"`
	Role      string `json:"role"`
	Username  string `json:"username,omitempty"`
	TermFrom  string `json:"term_from"`
	TermUntil string `json:"term_until"`
}

var errNotFound = fault.NotFound(fault.M("没有找到，或不在您的辖区内", "not found, or outside your jurisdiction"))

func invalid(fields ...fault.FieldError) error {
	return fault.Invalid(fault.M("填写有误", "the input has errors"), fields...)
}

func worker(p *access.Principal) bool {
	return p != nil && (p.Role == access.CommunityWorker || p.Role == access.Officer)
}

func text(field string, v string, max int, required bool, fields *[]fault.FieldError) string {
	v = strings.TrimSpace(v)
	switch {
	case required && v == "":
		*fields = append(*fields, fault.Field(field, fault.M("请填写", "required")))
	case utf8.RuneCountInString(v) > max:
		*fields = append(*fields, fault.Field(field, fault.M(fmt.Sprintf("不超过 %d 字", max), fmt.Sprintf("at most %d characters", max))))
	}
	return v
}

func validDate(s string) bool {
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

// CreateCouncil adds a council for a community/village (12 digits) or a
// township (9 digits) in the worker's jurisdiction, with its members.
func (s *Store) CreateCouncil(ctx context.Context, in CouncilInput) (Council, error) {
	p := access.From(ctx)
	if !worker(p) {
		return Council{}, fault.Forbidden(fault.M("只有社区工作者或干部可以设立议事会", "only community workers and officers may set up a council"))
	}
	var fields []fault.FieldError
	level := ""
	switch len(in.Division) {
	case 12:
		level = "community"
	case 9:
		level = "township"
	}
	if level == "" || !access.BusinessScope(p).Contains(in.Division) {
		fields = append(fields, fault.Field("division_code", fault.M("请选择辖区内的村（社区）或乡镇（街道）", "choose a community, village or township in your jurisdiction")))
	}
	in.Name = text("name", in.Name, 60, true, &fields)
	if in.QuorumPM < 1 || in.QuorumPM > 1000 {
		fields = append(fields, fault.Field("quorum_pm", fault.M("法定人数比例为 1–1000‰", "the quorum is 1–1000 per mille")))
	}
	if in.Majority != MajoritySimple && in.Majority != MajorityTwoThirds {
		fields = append(fields, fault.Field("majority", fault.M("表决规则为 simple（过半数）或 two_thirds（三分之二户）", "majority is simple or two_thirds")))
	}
	if in.CosignThreshold < 0 || in.CosignThreshold > 1000 {
		fields = append(fields, fault.Field("cosign_threshold", fault.M("联署户数为 0–1000", "co-signing households are 0–1000")))
	}
	if in.CosignDays < 1 || in.CosignDays > 365 {
		fields = append(fields, fault.Field("cosign_days", fault.M("联署期限为 1–365 天", "the co-signing window is 1–365 days")))
	}
	for i, m := range in.Members {
		in.Members[i].Name = text(fmt.Sprintf("members[%d].name", i), m.Name, 40, true, &fields)
		if _, ok := memberRoles[m.Role]; !ok {
			fields = append(fields, fault.Field(fmt.Sprintf("members[%d].role", i), fault.M("身份应为居民代表、党员、业委会、物业、社会组织或乡贤", "role is resident_rep, party, owners, property, social_org or elite")))
		}
		if !validDate(m.TermFrom) || !validDate(m.TermUntil) || m.TermUntil < m.TermFrom {
			fields = append(fields, fault.Field(fmt.Sprintf("members[%d].term_until", i), fault.M("任期起止日期有误（YYYY-MM-DD，止不早于起）", "the term is two dates (YYYY-MM-DD), the end not before the start")))
		}
	}
	if len(fields) > 0 {
		return Council{}, invalid(fields...)
	}
	now := s.Now()
	c := Council{ID: db.NewID(), Division: in.Division, Name: in.Name, Level: level, QuorumPM: in.QuorumPM, Majority: in.Majority,
		CosignThreshold: in.CosignThreshold, CosignDays: in.CosignDays, CreatedAt: db.T(now).Time}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_councils (id, division_code, name, level, quorum_pm, majority, cosign_threshold, cosign_days, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, c.ID, c.Division, c.Name, c.Level, c.QuorumPM, c.Majority, c.CosignThreshold, c.CosignDays, db.T(now)); err != nil {
			return err
		}
		for _, m := range in.Members {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_members (id, council_id, name, role, username, term_from, term_until) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
				db.NewID(), c.ID, m.Name, m.Role, m.Username, m.TermFrom, m.TermUntil); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.council_create", Object: "council", ObjectID: c.ID, Division: c.Division,
			Detail: fmt.Sprintf("%d members; quorum %d‰; %s", len(in.Members), c.QuorumPM, c.Majority)})
	})
	if err != nil {
		return Council{}, err
	}
	return s.Council(ctx, c.ID)
}

// Council reads a council with its members: public, since who sits on a
// council is published.
func (s *Store) Council(ctx context.Context, id string) (Council, error) {
	var c Council
	var at db.Time
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, division_code, name, level, quorum_pm, majority, cosign_threshold, cosign_days, created_at FROM dlb_councils WHERE id = $1`, id).
		Scan(&c.ID, &c.Division, &c.Name, &c.Level, &c.QuorumPM, &c.Majority, &c.CosignThreshold, &c.CosignDays, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return c, errNotFound
	} else if err != nil {
		return c, err
	}
	c.CreatedAt = at.Time
	c.Members, err = db.Collect(ctx, s.DB.R, func(r db.Scanner) (Member, error) {
		var m Member
		err := r.Scan(&m.ID, &m.Name, &m.Role, &m.Username, &m.TermFrom, &m.TermUntil)
		return m, err
	}, `SELECT id, name, role, username, term_from, term_until FROM dlb_members WHERE council_id = $1 ORDER BY id`, id)
	return c, err
}

// Councils lists the councils of a division: a community's own and its
// township's, or for a township or wider every council below it.
func (s *Store) Councils(ctx context.Context, division string) ([]Council, error) {
	q := `SELECT id, division_code, name, level, quorum_pm, majority, cosign_threshold, cosign_days, created_at FROM dlb_councils `
	var args []any
	if len(division) == 12 {
		q += `WHERE division_code IN ($1, $2) ORDER BY division_code DESC, id`
		args = []any{division, division[:9]}
	} else {
		sc := access.Subtree(division)
		q += `WHERE division_code >= $1 AND division_code < $2 ORDER BY division_code, id LIMIT 500`
		args = []any{sc.Lo, sc.Hi}
	}
	cs, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Council, error) {
		var c Council
		var at db.Time
		err := r.Scan(&c.ID, &c.Division, &c.Name, &c.Level, &c.QuorumPM, &c.Majority, &c.CosignThreshold, &c.CosignDays, &at)
		c.CreatedAt = at.Time
		return c, err
	}, q, args...)
	if cs == nil {
		cs = []Council{}
	}
	return cs, err
}

// councilOf is the council that takes a division's topics: the
// community's own, else its township's.
func (s *Store) councilOf(ctx context.Context, q rowQuerier, division string) (Council, error) {
	var c Council
	err := q.QueryRowContext(ctx, `SELECT id, division_code, quorum_pm, majority, cosign_threshold, cosign_days FROM dlb_councils
		WHERE division_code IN ($1, $2) ORDER BY division_code DESC, id LIMIT 1`, division, division[:min(9, len(division))]).
		Scan(&c.ID, &c.Division, &c.QuorumPM, &c.Majority, &c.CosignThreshold, &c.CosignDays)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fault.Conflict(fault.M("本社区尚未设立议事会", "the community has no council yet"))
	}
	return c, err
}

// household is the resident's own household and its community.
func (s *Store) household(ctx context.Context, p *access.Principal) (id, division string, err error) {
	err = s.DB.R.QueryRowContext(ctx, `SELECT h.id, h.division_code FROM reg_residents r JOIN reg_households h ON h.id = r.household_id
		WHERE r.username = $1 AND r.username <> ''`, p.Username).Scan(&id, &division)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", fault.Conflict(fault.M("您的账号还没有关联居民登记信息，请联系社区", "your account is not linked to a registry record yet: contact your community"))
	}
	return id, division, err
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
