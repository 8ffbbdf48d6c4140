package registry

import (
	"context"
	"database/sql"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
)

// Organization is a social organisation, service enterprise,
// property-management company or owners' committee.
type Organization struct {
	ID         string    `json:"id"`
	Division   string    `json:"division"`
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	RegNo      string    `json:"reg_no,omitempty"`
	OrgType    string    `json:"org_type,omitempty"`
	Rating     string    `json:"rating,omitempty"`
	RegLevel   string    `json:"reg_level,omitempty"`
	PartyShare *float64  `json:"party_share,omitempty"`
	Address    string    `json:"address"`
	Facilities int       `json:"facilities"`
	Staff      int       `json:"staff"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// OrganizationInput creates or replaces an organisation.
type OrganizationInput struct {
	Division   string   `json:"division"`
	Kind       string   `json:"kind"`
	Name       string   `json:"name"`
	RegNo      string   `json:"reg_no,omitempty"`
	OrgType    string   `json:"org_type,omitempty"`
	Rating     string   `json:"rating,omitempty"`
	RegLevel   string   `json:"reg_level,omitempty"`
	PartyShare *float64 `json:"party_share,omitempty"`
	Address    string   `json:"address,omitempty"`
}

// OrgKinds are the organisation kinds.
var OrgKinds = map[string][2]string{
	"social_org":       {"社会组织", "Social organisation"},
	"enterprise":       {"服务企业", "Service enterprise"},
	"property":         {"物业服务企业", "Property-management company"},
	"owners_committee": {"业主委员会", "Owners' committee"},
}

var ratings = []string{"", "1A", "2A", "3A", "4A", "5A"}
var regLevels = []string{"", "province", "city", "county", "township"}

// orgCols read one organisation with its counts (a look-up, an export
// row: each count one probe of the operator_id / org_id index);
// orgPageCols leave the counts to staffCounts, one grouped read a page.
const (
	orgCols = `o.id, o.division_code, o.kind, o.name, COALESCE(o.reg_no, ''), o.org_type, o.rating, o.reg_level, o.party_share, o.address,
	(SELECT COUNT(*) FROM reg_facilities f WHERE f.operator_id = o.id), (SELECT COUNT(*) FROM reg_personnel p WHERE p.org_id = o.id), o.created_at, o.updated_at`
	orgPageCols = `o.id, o.division_code, o.kind, o.name, COALESCE(o.reg_no, ''), o.org_type, o.rating, o.reg_level, o.party_share, o.address,
	0, 0, o.created_at, o.updated_at`
)

// orgCountsQuery counts the facilities or the staff (table, column) of
// the organisations whose ids are the placeholders, in one grouped read
// of the column's index.
func orgCountsQuery(table, col string, placeholders []string) string {
	return `SELECT ` + col + `, COUNT(*) FROM ` + table + ` WHERE ` + col + ` IN (` + strings.Join(placeholders, ",") + `) GROUP BY ` + col
}

// staffCounts fills in a page's facility and staff counts.
func staffCounts(ctx context.Context, q *sql.DB, orgs []Organization) error {
	if len(orgs) == 0 {
		return nil
	}
	idx := map[string]int{}
	ph := make([]string, len(orgs))
	args := make([]any, len(orgs))
	for i, o := range orgs {
		idx[o.ID], ph[i], args[i] = i, "$"+itoa(i+1), o.ID
	}
	for _, c := range []struct {
		table, col string
		n          func(*Organization) *int
	}{
		{"reg_facilities", "operator_id", func(o *Organization) *int { return &o.Facilities }},
		{"reg_personnel", "org_id", func(o *Organization) *int { return &o.Staff }},
	} {
		err := db.EachRow(ctx, q, func(row db.Scanner) error {
			var id string
			var n int
			if err := row.Scan(&id, &n); err != nil {
				return err
			}
			*c.n(&orgs[idx[id]]) = n
			return nil
		}, orgCountsQuery(c.table, c.col, ph), args...)
		if err != nil {
			return err
		}
	}
	return nil
}

func scanOrg(row db.Scanner) (Organization, error) {
	var o Organization
	var ps sql.NullFloat64
	var c, u db.Time
	if err := row.Scan(&o.ID, &o.Division, &o.Kind, &o.Name, &o.RegNo, &o.OrgType, &o.Rating, &o.RegLevel, &ps, &o.Address, &o.Facilities, &o.Staff, &c, &u); err != nil {
		return o, err
	}
	if ps.Valid {
		o.PartyShare = &ps.Float64
	}
	o.CreatedAt, o.UpdatedAt = c.Time, u.Time
	return o, nil
}

var errOrgNotFound = notFound(fault.M("组织不存在或不在您的管辖范围内", "organisation not found or outside your jurisdiction"))

var organizations = table[Organization]{name: "reg_organizations", alias: "o", cols: orgCols, pageCols: orgPageCols, attach: staffCounts,
	keys: []string{"o.division_code", "o.name", "o.id"}, key: func(o Organization) []string { return []string{o.Division, o.Name, o.ID} },
	scan: scanOrg, readable: canReadResources, missing: errOrgNotFound,
	category: func(w *where, kind string) { w.add("o.kind = ?", kind) }}

// PageOrganizations returns the page of organisations in scope after
// cursor ("" for the first page), in (division, name) order.
func (s *Store) PageOrganizations(ctx context.Context, f Filter, cursor string, limit int) (Page[Organization], error) {
	return organizations.page(ctx, s, f, cursor, limit)
}

// ListOrganizations returns the first limit organisations of a list and
// its count as PageOrganizations gives it.
func (s *Store) ListOrganizations(ctx context.Context, f Filter, limit int) ([]Organization, int, error) {
	p, err := s.PageOrganizations(ctx, f, "", limit)
	return p.Items, p.Total, err
}

// GetOrganization returns one organisation in scope.
func (s *Store) GetOrganization(ctx context.Context, id string) (Organization, error) {
	return organizations.get(ctx, s.DB.R, id)
}

func (s *Store) validOrg(ctx context.Context, in *OrganizationInput) error {
	if err := s.checkDivision(ctx, "division", in.Division); err != nil {
		return err
	}
	var errs []fault.FieldError
	bad := func(f, zh, en string) { errs = append(errs, fault.Field(f, fault.M(zh, en))) }
	in.Name, in.RegNo = strings.TrimSpace(in.Name), strings.TrimSpace(in.RegNo)
	if k, ok := orgKindKey(in.Kind); ok {
		in.Kind = k
	} else {
		bad("kind", "组织类型须为 social_org/enterprise/property/owners_committee（社会组织/服务企业/物业服务企业/业主委员会）", "kind must be social_org, enterprise, property or owners_committee")
	}
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 100 {
		bad("name", "请填写名称（不超过 100 字）", "enter a name of at most 100 characters")
	}
	if in.Kind == "social_org" && in.RegNo == "" {
		bad("reg_no", "社会组织须填写登记证号（统一社会信用代码）", "a social organisation needs its registration number")
	}
	if len(in.RegNo) > 40 {
		bad("reg_no", "登记证号不超过 40 字符", "registration number of at most 40 characters")
	}
	in.Rating = strings.ToUpper(in.Rating)
	if !contains(ratings, in.Rating) {
		bad("rating", "评估等级须为 1A–5A", "rating must be 1A to 5A")
	}
	if !contains(regLevels, in.RegLevel) {
		bad("reg_level", "登记层级须为 province/city/county/township", "registration level must be province, city, county or township")
	}
	if in.PartyShare != nil && (*in.PartyShare < 0 || *in.PartyShare > 1) {
		bad("party_share", "党员占比须在 0–1 之间", "party share must be between 0 and 1")
	}
	if len(errs) > 0 {
		return fault.Invalid(fault.M("组织信息有误", "the organisation has errors"), errs...)
	}
	return nil
}

func orgKindKey(v string) (string, bool) {
	for k, n := range OrgKinds {
		if v == k || v == n[0] {
			return k, true
		}
	}
	return "", false
}

var errDupOrg = fault.Invalid(fault.M("登记证号已存在", "an organisation with this registration number exists"), fault.Field("reg_no", fault.M("登记证号须唯一", "registration numbers are unique")))

func partyArg(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// orgInScope tells whether an organisation exists in the caller's scope.
func (s *Store) orgInScope(ctx context.Context, id string) (bool, error) {
	sc := access.ScopeOf(ctx)
	var one int
	return found(s.DB.R.QueryRowContext(ctx, `SELECT 1 FROM reg_organizations WHERE id = $1 AND division_code >= $2 AND division_code < $3`, id, sc.Lo, sc.Hi), &one)
}

// CreateOrganization adds an organisation.
func (s *Store) CreateOrganization(ctx context.Context, in OrganizationInput) (Organization, error) {
	if !canWrite(access.From(ctx)) {
		return Organization{}, errNoWrite
	}
	if err := s.validOrg(ctx, &in); err != nil {
		return Organization{}, err
	}
	id := db.NewID()
	err := s.writeRecorded(ctx, errDupOrg, "registry.organization.create", "organization", id, in.Division,
		`INSERT INTO reg_organizations (id, division_code, kind, name, reg_no, org_type, rating, reg_level, party_share, address, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)`,
		id, in.Division, in.Kind, in.Name, nullable(in.RegNo), in.OrgType, in.Rating, in.RegLevel, partyArg(in.PartyShare), in.Address, db.T(s.Now()))
	if err != nil {
		return Organization{}, err
	}
	return s.GetOrganization(ctx, id)
}

// UpdateOrganization replaces an organisation in scope.
func (s *Store) UpdateOrganization(ctx context.Context, id string, in OrganizationInput) (Organization, error) {
	if !canWrite(access.From(ctx)) {
		return Organization{}, errNoWrite
	}
	cur, err := s.GetOrganization(ctx, id)
	if err != nil {
		return cur, err
	}
	if in.Division == "" {
		in.Division = cur.Division
	}
	if err := s.validOrg(ctx, &in); err != nil {
		return cur, err
	}
	err = s.writeRecorded(ctx, errDupOrg, "registry.organization.update", "organization", id, in.Division,
		`UPDATE reg_organizations SET division_code=$1, kind=$2, name=$3, reg_no=$4, org_type=$5, rating=$6, reg_level=$7, party_share=$8, address=$9, updated_at=$10
			WHERE id=$11 AND division_code=$12`,
		in.Division, in.Kind, in.Name, nullable(in.RegNo), in.OrgType, in.Rating, in.RegLevel, partyArg(in.PartyShare), in.Address, db.T(s.Now()), id, cur.Division)
	if err != nil {
		return cur, err
	}
	return s.GetOrganization(ctx, id)
}

// DeleteOrganization removes an organisation in scope; the facilities it
// ran and the people it employed stay, linked to no organisation.
func (s *Store) DeleteOrganization(ctx context.Context, id string) error {
	return s.deleteScoped(ctx, organizations.name, "organization", id, errOrgNotFound,
		`UPDATE reg_facilities SET operator_id = NULL, updated_at = $2 WHERE operator_id = $1`,
		`UPDATE reg_personnel SET org_id = NULL, updated_at = $2 WHERE org_id = $1`)
}
