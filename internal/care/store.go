// Package care is 居家养老 home care bought from providers: a county's
// catalogue of service items and its providers (organisations under
// contract, with the communities they serve, the items they deliver and
// their staff); subsidy rules as data, granted each month into a quota
// ledger per eligible resident; orders that a staff member checks in and
// out of at the resident's home and the resident confirms, drawing the
// subsidy from the quota once; and the monthly settlement per provider.
package care

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
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

// Store holds the care module's data.
type Store struct {
	DB      *db.DB
	Keys    *secret.Keyring // seals the order list's cursors
	Audit   *audit.Log
	Now     func() time.Time
	Log     *slog.Logger
	Notices module.Notifier // may be nil
	// CheckinMeters is how far from the community's known places a
	// check-in may be (0: not checked).
	CheckinMeters float64
}

// Units of a service item.
const (
	UnitVisit = "visit"
	UnitHour  = "hour"
	UnitMeal  = "meal"
)

var unitNames = map[string]fault.Msg{UnitVisit: fault.M("次", "visit"), UnitHour: fault.M("小时", "hour"), UnitMeal: fault.M("餐", "meal")}

// Item is a service item of a county's catalogue.
type Item struct {
	ID         string `json:"id"`
	County     string `json:"county"`
	Code       string `json:"code"`
	NameZH     string `json:"name_zh"`
	NameEN     string `json:"name_en"`
	Unit       string `json:"unit"`
	MaxMinutes int    `json:"max_minutes"`
	PriceFen   int64  `json:"price_fen"`
}

// ItemInput adds an item to a county's catalogue.
type ItemInput struct {
	County     string `json:"county"`
	Code       string `json:"code"`
	NameZH     string `json:"name_zh"`
	NameEN     string `json:"name_en"`
	Unit       string `json:"unit"`
	MaxMinutes int    `json:"max_minutes"`
	PriceFen   int64  `json:"price_fen"`
}

// Provider is an organisation under contract to deliver home care.
type Provider struct {
	ID           string   `json:"id"`
	OrgID        string   `json:"org_id"`
	County       string   `json:"county"`
	Division     string   `json:"division"`
	Name         string   `json:"name"`
	ContractNo   string   `json:"contract_no"`
	ContractFrom string   `json:"contract_from"`
	ContractTo   string   `json:"contract_to"`
	Communities  []string `json:"communities"`
	Items        []string `json:"items"`
	Rating       float64  `json:"rating"`  // mean of the residents' ratings (0: none yet)
	Ratings      int      `json:"ratings"` // how many
}

// ProviderInput registers a provider: a registry organisation, its
// contract, the communities it serves and the items it delivers there.
type ProviderInput struct {
	OrgID        string   `json:"org_id"`
	County       string   `json:"county"`
	ContractNo   string   `json:"contract_no"`
	ContractFrom string   `json:"contract_from"`
	ContractTo   string   `json:"contract_to"`
	Communities  []string `json:"communities"`
	Items        []string `json:"items"`
}

// Staff is a provider's member: a registry person (a care worker) with an
// account, or the provider's manager account.
type Staff struct {
	ID          string `json:"id"`
	ProviderID  string `json:"provider_id"`
	PersonnelID string `json:"personnel_id,omitempty"`
	Username    string `json:"username"`
	Name        string `json:"name"` // surname only: 张**
	Certified   bool   `json:"certified"`
	Manager     bool   `json:"manager"`
}

// StaffInput adds a member to a provider.
type StaffInput struct {
	PersonnelID string `json:"personnel_id,omitempty"`
	Username    string `json:"username"`
	Manager     bool   `json:"manager,omitempty"`
}

type rowQuerier interface {
	db.Querier
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	errNoProvider = fault.NotFound(fault.M("找不到该服务机构，或不在您的辖区内", "no such provider in your jurisdiction"))
	errNoItem     = fault.NotFound(fault.M("找不到该服务项目", "no such service item"))
	errOfficer    = fault.Forbidden(fault.M("只有县级干部可以这样做", "only a county officer may do this"))
)

func bad(field string, zh, en string) *fault.Error {
	return fault.Invalid(fault.M("输入有误", "invalid input"), fault.Field(field, fault.M(zh, en)))
}

// month is the month of t in China.
func month(t time.Time) string { return t.In(questions.CST).Format("2006-01") }

func validMonth(field, m string) error {
	if _, err := time.Parse("2006-01", m); err != nil || len(m) != 7 {
		return bad(field, "应为年月，如 2026-11", "must be a month like 2026-11")
	}
	return nil
}

func validDate(field, d string) error {
	if _, err := time.Parse("2006-01-02", d); err != nil {
		return bad(field, "应为日期，如 2026-01-01", "must be a date like 2026-01-01")
	}
	return nil
}

// countyOfficer tells whether p is an officer of a county (or wider) over
// county.
func countyOfficer(p *access.Principal, county string) bool {
	return p != nil && p.Role == access.Officer && len(p.Division) <= 6 && access.Encloses(p.Division, county)
}

func (s *Store) record(ctx context.Context, tx *sql.Tx, action, object, id, division, detail string) error {
	return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: action, Object: object, ObjectID: id, Division: division, Result: "ok", Detail: detail})
}

// CreateItem adds an item to a county's catalogue (county officers).
func (s *Store) CreateItem(ctx context.Context, in ItemInput) (Item, error) {
	p := access.From(ctx)
	in.Code, in.NameZH, in.NameEN = strings.TrimSpace(in.Code), strings.TrimSpace(in.NameZH), strings.TrimSpace(in.NameEN)
	switch {
	case len(in.County) != 6:
		return Item{}, bad("county", "请选择县（市、区）", "choose a county")
	case !countyOfficer(p, in.County):
		return Item{}, errOfficer
	case in.Code == "" || len(in.Code) > 40:
		return Item{}, bad("code", "请填写项目代码", "give the item's code")
	case in.NameZH == "" || len(in.NameZH) > 100:
		return Item{}, bad("name_zh", "请填写项目名称", "give the item's name")
	case unitNames[in.Unit] == (fault.Msg{}):
		return Item{}, bad("unit", "计价单位应为 visit、hour 或 meal", "unit must be visit, hour or meal")
	case in.MaxMinutes < 1 || in.MaxMinutes > 24*60:
		return Item{}, bad("max_minutes", "最长服务时长应为 1–1440 分钟", "the longest service must be 1–1440 minutes")
	case in.PriceFen < 0 || in.PriceFen > 10_000_00:
		return Item{}, bad("price_fen", "价格应为 0–10,000 元", "the price must be 0–10,000 yuan")
	}
	if in.NameEN == "" {
		in.NameEN = in.Code
	}
	it := Item{ID: db.NewID(), County: in.County, Code: in.Code, NameZH: in.NameZH, NameEN: in.NameEN, Unit: in.Unit, MaxMinutes: in.MaxMinutes, PriceFen: in.PriceFen}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_items (id, county, code, name_zh, name_en, unit, max_minutes, price_fen, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
			it.ID, it.County, it.Code, it.NameZH, it.NameEN, it.Unit, it.MaxMinutes, it.PriceFen, db.T(s.Now())); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Conflict(fault.M("该县已有同代码的项目", "the county already has an item with this code"))
			}
			return err
		}
		return s.record(ctx, tx, "care.item.create", "care_item", it.ID, it.County, it.Code)
	})
	return it, err
}

const itemCols = `id, county, code, name_zh, name_en, unit, max_minutes, price_fen`

func scanItem(r db.Scanner) (Item, error) {
	var it Item
	err := r.Scan(&it.ID, &it.County, &it.Code, &it.NameZH, &it.NameEN, &it.Unit, &it.MaxMinutes, &it.PriceFen)
	return it, err
}

// Items is the catalogue of the county of the principal's division (for
// a province or city officer: of every county in it).
func (s *Store) Items(ctx context.Context) ([]Item, error) {
	p := access.From(ctx)
	if p == nil || !p.Role.Business() {
		return []Item{}, nil
	}
	county := p.Division
	if len(county) > 6 {
		county = county[:6]
	}
	sc := access.Subtree(county)
	items, err := db.Collect(ctx, s.DB.R, scanItem, `SELECT `+itemCols+` FROM care_items WHERE county >= $1 AND county < $2 ORDER BY county, code`, sc.Lo, sc.Hi)
	if items == nil {
		items = []Item{}
	}
	return items, err
}

func (s *Store) item(ctx context.Context, q rowQuerier, id string) (Item, error) {
	it, err := scanItem(q.QueryRowContext(ctx, `SELECT `+itemCols+` FROM care_items WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return it, errNoItem
	}
	return it, err
}

// CreateProvider registers an organisation of the registry as a provider
// under contract (county officers).
func (s *Store) CreateProvider(ctx context.Context, in ProviderInput) (Provider, error) {
	p := access.From(ctx)
	in.ContractNo = strings.TrimSpace(in.ContractNo)
	switch {
	case len(in.County) != 6:
		return Provider{}, bad("county", "请选择县（市、区）", "choose a county")
	case !countyOfficer(p, in.County):
		return Provider{}, errOfficer
	case in.ContractNo == "" || len(in.ContractNo) > 60:
		return Provider{}, bad("contract_no", "请填写合同编号", "give the contract number")
	}
	if err := validDate("contract_from", in.ContractFrom); err != nil {
		return Provider{}, err
	}
	if err := validDate("contract_to", in.ContractTo); err != nil {
		return Provider{}, err
	}
	if in.ContractTo < in.ContractFrom {
		return Provider{}, bad("contract_to", "合同结束日期早于开始日期", "the contract ends before it starts")
	}
	if len(in.Communities) == 0 {
		return Provider{}, bad("communities", "请选择服务的社区", "choose the communities served")
	}
	for _, c := range in.Communities {
		if len(c) != 12 || !access.Encloses(in.County, c) {
			return Provider{}, bad("communities", "服务社区应为本县的村（社区）: "+c, "a community served must be a village or community of the county: "+c)
		}
	}
	if len(in.Items) == 0 {
		return Provider{}, bad("items", "请选择提供的服务项目", "choose the items delivered")
	}
	pr := Provider{ID: db.NewID(), OrgID: in.OrgID, County: in.County, ContractNo: in.ContractNo, ContractFrom: in.ContractFrom, ContractTo: in.ContractTo,
		Communities: dedupe(in.Communities), Items: dedupe(in.Items)}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT division_code, name FROM registry_organization_cards WHERE id = $1`, in.OrgID).Scan(&pr.Division, &pr.Name)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !access.Encloses(in.County, pr.Division)) {
			return bad("org_id", "找不到本县的这个组织", "no such organisation in the county")
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_providers (id, org_id, county, division_code, name, contract_no, contract_from, contract_to, created_by, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, pr.ID, pr.OrgID, pr.County, pr.Division, pr.Name, pr.ContractNo, pr.ContractFrom, pr.ContractTo, p.Username, db.T(s.Now())); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Conflict(fault.M("该县已有同编号的合同", "the county already has a contract with this number"))
			}
			return err
		}
		for _, c := range pr.Communities {
			if _, err := tx.ExecContext(ctx, `INSERT INTO care_provider_areas (provider_id, community) VALUES ($1, $2)`, pr.ID, c); err != nil {
				return err
			}
		}
		for _, id := range pr.Items {
			var county string
			if err := tx.QueryRowContext(ctx, `SELECT county FROM care_items WHERE id = $1`, id).Scan(&county); errors.Is(err, sql.ErrNoRows) || (err == nil && county != pr.County) {
				return bad("items", "找不到本县的这个服务项目: "+id, "no such item in the county: "+id)
			} else if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO care_provider_items (provider_id, item_id) VALUES ($1, $2)`, pr.ID, id); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "care.provider.create", "care_provider", pr.ID, pr.Division, pr.ContractNo)
	})
	return pr, err
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

const providerCols = `x.id, x.org_id, x.county, x.division_code, x.name, x.contract_no, x.contract_from, x.contract_to,
	(SELECT COALESCE(SUM(o.rating), 0) FROM care_orders o WHERE o.provider_id = x.id AND o.rating > 0),
	(SELECT COUNT(*) FROM care_orders o WHERE o.provider_id = x.id AND o.rating > 0)`

func (s *Store) scanProvider(ctx context.Context, q rowQuerier) func(db.Scanner) (Provider, error) {
	return func(r db.Scanner) (Provider, error) {
		var pr Provider
		var sum int
		err := r.Scan(&pr.ID, &pr.OrgID, &pr.County, &pr.Division, &pr.Name, &pr.ContractNo, &pr.ContractFrom, &pr.ContractTo, &sum, &pr.Ratings)
		if pr.Ratings > 0 {
			pr.Rating = float64(sum*10/pr.Ratings) / 10
		}
		return pr, err
	}
}

func (s *Store) fill(ctx context.Context, q db.Querier, pr *Provider) error {
	var err error
	if pr.Communities, err = db.Collect(ctx, q, db.Value[string], `SELECT community FROM care_provider_areas WHERE provider_id = $1 ORDER BY community`, pr.ID); err != nil {
		return err
	}
	pr.Items, err = db.Collect(ctx, q, db.Value[string], `SELECT item_id FROM care_provider_items WHERE provider_id = $1 ORDER BY item_id`, pr.ID)
	return err
}

// providerVisible restricts providers (alias x) to what p may see: a
// provider account its own; a resident those serving their community;
// a worker or officer those of their county that serve in their subtree.
func (s *Store) providerVisible(ctx context.Context, p *access.Principal, next int) (string, []any, error) {
	return s.servingVisible(ctx, p, next, "x.id", "x.division_code", "care_provider_areas a WHERE a.provider_id = x.id")
}

// servingVisible restricts what serves communities (a provider, a
// canteen) to what p may see: a provider account what it runs (ownCol is
// its provider's id); a resident what serves their community; a worker or
// officer what stands in or serves their subtree. areas names the rows of
// the communities served, alias a.
func (s *Store) servingVisible(ctx context.Context, p *access.Principal, next int, ownCol, divCol, areas string) (string, []any, error) {
	switch {
	case p == nil || !p.Role.Business():
		return "1 = 0", nil, nil
	case p.Role == access.Provider:
		me, err := s.memberOf(ctx, p)
		if err != nil {
			return "", nil, err
		}
		return ownCol + " = " + ph(next), []any{me.ProviderID}, nil
	case p.Role == access.Resident:
		r, err := s.residentOf(ctx, p)
		if err != nil {
			return "", nil, err
		}
		return "EXISTS (SELECT 1 FROM " + areas + " AND a.community = " + ph(next) + ")", []any{r.Division}, nil
	default:
		sc := access.Subtree(p.Division)
		return "(" + divCol + " >= " + ph(next) + " AND " + divCol + " < " + ph(next+1) + " OR EXISTS (SELECT 1 FROM " + areas + " AND a.community >= " + ph(next) +
			" AND a.community < " + ph(next+1) + "))", []any{sc.Lo, sc.Hi}, nil
	}
}

// Providers lists the providers the principal may see.
func (s *Store) Providers(ctx context.Context) ([]Provider, error) {
	cond, args, err := s.providerVisible(ctx, access.From(ctx), 1)
	if err != nil {
		return nil, err
	}
	prs, err := db.Collect(ctx, s.DB.R, s.scanProvider(ctx, s.DB.R), `SELECT `+providerCols+` FROM care_providers x WHERE `+cond+` ORDER BY x.name, x.id LIMIT 500`, args...)
	if err != nil {
		return nil, err
	}
	for i := range prs {
		if err := s.fill(ctx, s.DB.R, &prs[i]); err != nil {
			return nil, err
		}
	}
	if prs == nil {
		prs = []Provider{}
	}
	return prs, nil
}

// Provider reads one provider the principal may see.
func (s *Store) Provider(ctx context.Context, id string) (Provider, error) {
	cond, args, err := s.providerVisible(ctx, access.From(ctx), 2)
	if err != nil {
		return Provider{}, err
	}
	pr, err := s.scanProvider(ctx, s.DB.R)(s.DB.R.QueryRowContext(ctx, `SELECT `+providerCols+` FROM care_providers x WHERE x.id = $1 AND `+cond, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return pr, errNoProvider
	}
	if err != nil {
		return pr, err
	}
	return pr, s.fill(ctx, s.DB.R, &pr)
}

// AddStaff adds a member to a provider: a county officer adds the
// manager; the manager adds care workers of the registry who belong to
// the provider's organisation.
func (s *Store) AddStaff(ctx context.Context, providerID string, in StaffInput) (Staff, error) {
	p := access.From(ctx)
	in.Username = strings.TrimSpace(in.Username)
	var st Staff
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var county, orgID, div string
		if err := tx.QueryRowContext(ctx, `SELECT county, org_id, division_code FROM care_providers WHERE id = $1`, providerID).Scan(&county, &orgID, &div); errors.Is(err, sql.ErrNoRows) {
			return errNoProvider
		} else if err != nil {
			return err
		}
		allowed := countyOfficer(p, county)
		if !allowed && p != nil && p.Role == access.Provider {
			me, err := s.memberOf(ctx, p)
			if err != nil {
				return err
			}
			allowed = me.Manager && me.ProviderID == providerID && !in.Manager
		}
		if !allowed {
			return fault.Forbidden(fault.M("只有县级干部或本机构负责人可以添加人员", "only a county officer or the provider's manager may add staff"))
		}
		st = Staff{ID: db.NewID(), ProviderID: providerID, Username: in.Username, Manager: in.Manager, PersonnelID: in.PersonnelID}
		if in.PersonnelID != "" {
			var roles, attrs, org, user string
			err := tx.QueryRowContext(ctx, `SELECT surname, roles, attrs, COALESCE(org_id, ''), username FROM registry_staff_cards WHERE id = $1`, in.PersonnelID).Scan(&st.Name, &roles, &attrs, &org, &user)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && org != orgID) {
				return bad("personnel_id", "找不到本机构的这名人员", "no such person in the provider's organisation")
			} else if err != nil {
				return err
			}
			st.Name += "**"
			st.Certified = strings.Contains(roles, "care_worker") && strings.Contains(strings.ReplaceAll(attrs, " ", ""), `"certified":true`)
			if st.Username == "" {
				st.Username = user
			}
		} else {
			st.Name = fault.M("负责人", "Manager").ZH
		}
		if st.Username == "" {
			return bad("username", "请填写该人员的账号", "give the person's account")
		}
		var role string
		if err := tx.QueryRowContext(ctx, `SELECT role FROM users WHERE username = $1`, st.Username).Scan(&role); errors.Is(err, sql.ErrNoRows) || (err == nil && role != string(access.Provider)) {
			return bad("username", "该账号不存在或不是服务机构账号", "no such provider account")
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_staff (id, provider_id, personnel_id, username, surname, certified, manager, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
			st.ID, st.ProviderID, st.PersonnelID, st.Username, st.Name, st.Certified, st.Manager, db.T(s.Now())); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Conflict(fault.M("该账号已属于一家服务机构", "the account already belongs to a provider"))
			}
			return err
		}
		return s.record(ctx, tx, "care.staff.add", "care_staff", st.ID, div, st.Username)
	})
	return st, err
}

const staffCols = `id, provider_id, personnel_id, username, surname, certified, manager`

func scanStaff(r db.Scanner) (Staff, error) {
	var st Staff
	err := r.Scan(&st.ID, &st.ProviderID, &st.PersonnelID, &st.Username, &st.Name, &st.Certified, &st.Manager)
	return st, err
}

// StaffOf lists a provider's members (the provider may be seen by the
// principal).
func (s *Store) StaffOf(ctx context.Context, providerID string) ([]Staff, error) {
	if _, err := s.Provider(ctx, providerID); err != nil {
		return nil, err
	}
	return s.staffOf(ctx, providerID)
}

// staffOf lists a provider's members, for a caller that has read the
// provider as the principal already.
func (s *Store) staffOf(ctx context.Context, providerID string) ([]Staff, error) {
	st, err := db.Collect(ctx, s.DB.R, scanStaff, `SELECT `+staffCols+` FROM care_staff WHERE provider_id = $1 ORDER BY manager, username = '', surname, id`, providerID)
	if st == nil {
		st = []Staff{}
	}
	return st, err
}

var errNotMember = fault.Forbidden(fault.M("您的账号不属于任何服务机构", "your account belongs to no provider"))

// memberOf is the provider membership of a provider account.
func (s *Store) memberOf(ctx context.Context, p *access.Principal) (Staff, error) {
	st, err := scanStaff(s.DB.R.QueryRowContext(ctx, `SELECT `+staffCols+` FROM care_staff WHERE username = $1 AND username <> ''`, p.Username))
	if errors.Is(err, sql.ErrNoRows) {
		return st, errNotMember
	}
	return st, err
}

// Resident is the registry person behind a resident account.
type Resident struct {
	ID, Household, Division, Surname, Birth string
}

var errNotLinked = fault.Forbidden(fault.M("您的账号尚未关联住户信息，请联系社区", "your account is not linked to a household; ask your community"))

func (s *Store) residentOf(ctx context.Context, p *access.Principal) (Resident, error) {
	var r Resident
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, household_id, division_code, surname, birth_date FROM registry_people WHERE username = $1 AND username <> ''`, p.Username).
		Scan(&r.ID, &r.Household, &r.Division, &r.Surname, &r.Birth)
	if errors.Is(err, sql.ErrNoRows) {
		return r, errNotLinked
	}
	return r, err
}

func ph(i int) string { return "$" + itoa(i) }

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func auditEntry(action, object, id, division, detail string) audit.Entry {
	return audit.Entry{Action: action, Object: object, ObjectID: id, Division: division, Result: "ok", Detail: detail}
}
