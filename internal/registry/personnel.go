package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/registry/idno"
)

// Person is a member of staff or a volunteer holding one or more roles.
type Person struct {
	ID        string         `json:"id"`
	Division  string         `json:"division"`
	Name      string         `json:"name"`
	Roles     []string       `json:"roles"`
	Attrs     map[string]any `json:"attrs"`
	OrgID     string         `json:"org_id,omitempty"`
	Username  string         `json:"username,omitempty"`
	Phone     string         `json:"phone"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// PersonInput creates or replaces a person.
type PersonInput struct {
	Division string         `json:"division"`
	Name     string         `json:"name"`
	Roles    []string       `json:"roles"`
	Attrs    map[string]any `json:"attrs,omitempty"`
	OrgID    string         `json:"org_id,omitempty"`
	Username string         `json:"username,omitempty"`
	Phone    string         `json:"phone,omitempty"`
}

// PersonnelRoles are the roles a person can hold. Attributes by role:
// community_worker: post_grade, sw_certificate (bool), sw_level;
// care_worker: certified (bool); volunteer: volunteer_no, hours.
var PersonnelRoles = map[string][2]string{
	"community_worker": {"专职社区工作者", "Full-time community worker"},
	"social_worker":    {"持证社会工作者", "Certified social worker"},
	"grid_worker":      {"网格员", "Grid worker"},
	"care_worker":      {"养老护理员", "Elderly care worker"},
	"gp":               {"全科医生", "General practitioner"},
	"mediator":         {"人民调解员", "People's mediator"},
	"legal_adviser":    {"法律顾问", "Legal adviser"},
	"volunteer":        {"志愿者", "Volunteer"},
	"leading_talent":   {"社区工作领军人才", "Leading community-work talent"},
}

func roleKey(v string) (string, bool) {
	for k, n := range PersonnelRoles {
		if v == k || v == n[0] {
			return k, true
		}
	}
	return "", false
}

// personPhoneAAD binds a person's sealed phone to its column.
const personPhoneAAD = "reg_personnel/phone"

const personCols = `p.id, p.division_code, p.name, p.roles, p.attrs, COALESCE(p.org_id, ''), p.username, p.phone_mask, p.created_at, p.updated_at`

func scanPerson(row db.Scanner) (Person, error) {
	var p Person
	var roles, attrs string
	var c, u db.Time
	if err := row.Scan(&p.ID, &p.Division, &p.Name, &roles, &attrs, &p.OrgID, &p.Username, &p.Phone, &c, &u); err != nil {
		return p, err
	}
	p.Roles = strings.Split(strings.Trim(roles, ","), ",")
	p.CreatedAt, p.UpdatedAt = c.Time, u.Time
	p.Attrs = map[string]any{}
	return p, json.Unmarshal([]byte(attrs), &p.Attrs)
}

var errPersonNotFound = notFound(fault.M("人员不存在或不在您的管辖范围内", "person not found or outside your jurisdiction"))

// personnel are people's records: the roles that read residents read them.
var personnel = table[Person]{name: "reg_personnel", alias: "p", cols: personCols,
	keys: []string{"p.division_code", "p.name", "p.id"}, key: func(p Person) []string { return []string{p.Division, p.Name, p.ID} },
	scan: scanPerson, readable: canReadPeople, missing: errPersonNotFound,
	category: func(w *where, role string) { w.add(`p.roles LIKE ? ESCAPE '\'`, "%,"+likeEscape(role)+",%") }}

// PagePersonnel returns the page of personnel in scope after cursor
// ("" for the first page), in (division, name) order.
func (s *Store) PagePersonnel(ctx context.Context, f Filter, cursor string, limit int) (Page[Person], error) {
	return personnel.page(ctx, s, f, cursor, limit)
}

// ListPersonnel returns the first limit people of a list and its count
// as PagePersonnel gives it.
func (s *Store) ListPersonnel(ctx context.Context, f Filter, limit int) ([]Person, int, error) {
	p, err := s.PagePersonnel(ctx, f, "", limit)
	return p.Items, p.Total, err
}

// GetPerson returns one person in scope.
func (s *Store) GetPerson(ctx context.Context, id string) (Person, error) {
	return personnel.get(ctx, s.DB.R, id)
}

func (s *Store) validPerson(ctx context.Context, in *PersonInput) error {
	if err := s.checkDivision(ctx, "division", in.Division); err != nil {
		return err
	}
	var errs []fault.FieldError
	bad := func(f, zh, en string) { errs = append(errs, fault.Field(f, fault.M(zh, en))) }
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 50 {
		bad("name", "请填写姓名（不超过 50 字）", "enter a name of at most 50 characters")
	}
	if len(in.Roles) == 0 {
		bad("roles", "请至少选择一个岗位", "choose at least one role")
	}
	for i, r := range in.Roles {
		k, ok := roleKey(strings.TrimSpace(r))
		if !ok {
			bad("roles", "未知岗位："+r, "unknown role: "+r)
			break
		}
		in.Roles[i] = k
	}
	if in.Phone != "" {
		p, err := idno.NormalisePhone(in.Phone)
		if err != nil {
			errs = append(errs, fault.Field("phone", idnoMsg(err)))
		} else {
			in.Phone = p
		}
	}
	if in.OrgID != "" {
		ok, err := s.orgInScope(ctx, in.OrgID)
		if err != nil {
			return err
		}
		if !ok {
			bad("org_id", "组织不存在或不在您的管辖范围内", "organisation not found in your jurisdiction")
		}
	}
	if len(errs) > 0 {
		return fault.Invalid(fault.M("人员信息有误", "the person has errors"), errs...)
	}
	return nil
}

// personRow is a person's stored form: roles as ",a,b,", attributes as
// JSON, and the phone sealed, blind-indexed and masked (empty if none).
type personRow struct {
	roles, attrs   string
	enc, idx, mask string
}

func (s *Store) personRow(in PersonInput) (personRow, error) {
	roles := append([]string(nil), in.Roles...)
	sort.Strings(roles)
	attrs := in.Attrs
	if attrs == nil {
		attrs = map[string]any{}
	}
	b, err := json.Marshal(attrs)
	r := personRow{roles: "," + strings.Join(roles, ",") + ",", attrs: string(b)}
	if in.Phone != "" {
		r.enc, r.idx, r.mask = s.Keys.Seal(in.Phone, personPhoneAAD), s.Keys.Index("phone", in.Phone), idno.MaskPhone(in.Phone)
	}
	return r, err
}

var errDupPerson = fault.Invalid(fault.M("该社区已有相同电话的人员", "a person with this phone exists in this community"), fault.Field("phone", fault.M("电话在社区内须唯一", "phones are unique within a community")))

// CreatePerson adds a person.
func (s *Store) CreatePerson(ctx context.Context, in PersonInput) (Person, error) {
	if !canWrite(access.From(ctx)) {
		return Person{}, errNoWrite
	}
	if err := s.validPerson(ctx, &in); err != nil {
		return Person{}, err
	}
	id := db.NewID()
	pr, err := s.personRow(in)
	if err != nil {
		return Person{}, err
	}
	err = s.writeRecorded(ctx, errDupPerson, "registry.person.create", "person", id, in.Division,
		`INSERT INTO reg_personnel (id, division_code, name, roles, attrs, org_id, username, phone_enc, phone_idx, phone_mask, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)`,
		id, in.Division, in.Name, pr.roles, pr.attrs, nullable(in.OrgID), in.Username, pr.enc, pr.idx, pr.mask, db.T(s.Now()))
	if err != nil {
		return Person{}, err
	}
	return s.GetPerson(ctx, id)
}

// UpdatePerson replaces a person in scope; an empty phone keeps the stored one.
func (s *Store) UpdatePerson(ctx context.Context, id string, in PersonInput) (Person, error) {
	if !canWrite(access.From(ctx)) {
		return Person{}, errNoWrite
	}
	cur, err := s.GetPerson(ctx, id)
	if err != nil {
		return cur, err
	}
	if in.Division == "" {
		in.Division = cur.Division
	}
	if err := s.validPerson(ctx, &in); err != nil {
		return cur, err
	}
	pr, err := s.personRow(in)
	if err != nil {
		return cur, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		q := `UPDATE reg_personnel SET division_code=$1, name=$2, roles=$3, attrs=$4, org_id=$5, username=$6, updated_at=$7`
		args := []any{in.Division, in.Name, pr.roles, pr.attrs, nullable(in.OrgID), in.Username, db.T(s.Now())}
		if in.Phone != "" {
			q += `, phone_enc=$8, phone_idx=$9, phone_mask=$10`
			args = append(args, pr.enc, pr.idx, pr.mask)
		}
		args = append(args, id, cur.Division)
		if _, err := execUnique(ctx, tx, errDupPerson, q+` WHERE id=$`+itoa(len(args)-1)+` AND division_code=$`+itoa(len(args)), args...); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.person.update", "person", id, in.Division, nil)
	})
	if err != nil {
		return cur, err
	}
	return s.GetPerson(ctx, id)
}

// DeletePerson removes a person in scope.
func (s *Store) DeletePerson(ctx context.Context, id string) error {
	return s.deleteScoped(ctx, personnel.name, "person", id, errPersonNotFound)
}
