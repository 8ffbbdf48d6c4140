package registry

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/registry/idno"
)

// Household is a 户: an address in one village/community, optionally in a grid.
type Household struct {
	ID          string    `json:"id"`
	Division    string    `json:"division"`
	HouseholdNo string    `json:"household_no"`
	GridID      string    `json:"grid_id,omitempty"`
	Address     string    `json:"address"`
	Note        string    `json:"note"`
	Members     int       `json:"members"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// HouseholdInput creates or replaces a household.
type HouseholdInput struct {
	Division    string `json:"division"`
	HouseholdNo string `json:"household_no"`
	GridID      string `json:"grid_id,omitempty"`
	Address     string `json:"address"`
	Note        string `json:"note,omitempty"`
}

// Residence types.
var residenceTypes = map[string][2]string{
	"registered": {"户籍", "Registered"},
	"resident":   {"常住", "Resident"},
	"floating":   {"流动", "Floating"},
}

// Relations to the household head.
var relations = []string{"户主", "配偶", "子女", "父母", "祖父母", "孙子女", "兄弟姐妹", "其他"}

// TagRef is a tag carried by a resident.
type TagRef struct {
	ID     string `json:"id"`
	Tag    string `json:"tag"`
	Since  string `json:"since,omitempty"`
	Until  string `json:"until,omitempty"`
	Source string `json:"source,omitempty"`
	Note   string `json:"note,omitempty"`
	Detail string `json:"detail,omitempty"`
	Active bool   `json:"active"`
}

// Resident is a person as lists and records show them: sensitive values
// masked, and only whether the free-text sensitive fields are filled.
// Lists show the age, never the birth date, which with the masked ID
// number would narrow it down.
type Resident struct {
	ID            string    `json:"id"`
	Division      string    `json:"division"`
	HouseholdID   string    `json:"household_id"`
	Name          string    `json:"name"`
	Gender        string    `json:"gender"`
	BirthDate     string    `json:"birth_date,omitempty"` // on a record for a role that may reveal the ID number, and the resident's own
	Age           int       `json:"age"`
	Relation      string    `json:"relation"`
	Residence     string    `json:"residence"`
	IDNumber      string    `json:"id_number"`
	Phone         string    `json:"phone"`
	HasHealth     bool      `json:"has_health"`
	HasDisability bool      `json:"has_disability"`
	HasIncome     bool      `json:"has_income"`
	Username      string    `json:"username,omitempty"`
	Tags          []TagRef  `json:"tags"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// ResidentInput creates or updates a resident. On update an empty
// id_number keeps the stored one, and a missing (null) sensitive field is
// left unchanged while "" clears it.
type ResidentInput struct {
	HouseholdID string  `json:"household_id"`
	Name        string  `json:"name"`
	IDNumber    string  `json:"id_number"`
	Gender      string  `json:"gender,omitempty"`
	BirthDate   string  `json:"birth_date,omitempty"`
	Relation    string  `json:"relation"`
	Residence   string  `json:"residence"`
	Phone       *string `json:"phone,omitempty"`
	Health      *string `json:"health,omitempty"`
	Disability  *string `json:"disability,omitempty"`
	Income      *string `json:"income,omitempty"`
	Username    string  `json:"username,omitempty"`
}

// sealed are the encrypted columns of a resident.
type sealed struct {
	idEnc, idIdx, idMask          string
	phoneEnc, phoneIdx, phoneMask string
	health, disability, income    string
}

// aad binds a ciphertext to its column.
func aad(field string) string { return "reg_residents/" + field }

// Sensitive fields that can be revealed.
var revealable = map[string]string{"id_number": "id_enc", "phone": "phone_enc", "health": "health_enc", "disability": "disability_enc", "income": "income_enc"}

// ResidentFilter narrows a resident list.
type ResidentFilter struct {
	Division  string
	Tag       string
	Q         string // name prefix, a full ID number or a phone number
	Household string
	Grid      string
	// Tagged keeps only residents with a service-object tag (a grid's
	// tagged residents), probed row by row through the resident_id key.
	Tagged bool
}

const residentCols = `r.id, r.division_code, r.household_id, r.name, r.gender, r.birth_date, r.relation, r.residence, r.id_mask, r.phone_mask,
	r.health_enc <> '', r.disability_enc <> '', r.income_enc <> '', r.username, r.created_at, r.updated_at`

func (s *Store) scanResident(row db.Scanner) (Resident, error) {
	var r Resident
	var c, u db.Time
	err := row.Scan(&r.ID, &r.Division, &r.HouseholdID, &r.Name, &r.Gender, &r.BirthDate, &r.Relation, &r.Residence, &r.IDNumber, &r.Phone,
		&r.HasHealth, &r.HasDisability, &r.HasIncome, &r.Username, &c, &u)
	r.CreatedAt, r.UpdatedAt = c.Time, u.Time
	if b, err := time.Parse("2006-01-02", r.BirthDate); err == nil {
		r.Age = idno.Age(b, s.Now().In(cst))
	}
	r.Tags = []TagRef{}
	return r, err
}

// residentWhere applies the caller's scope and the filter. Residents see
// only their own record; a grid worker the residents of the households of
// their grids (those in no grid are the community worker's).
func (s *Store) residentWhere(ctx context.Context, f ResidentFilter) (*where, error) {
	return s.residentWhereTag(ctx, f, nil)
}

// residentWhereTag is residentWhere with the tag read from its own index
// when sparse names the division whose count of the tag is small.
func (s *Store) residentWhereTag(ctx context.Context, f ResidentFilter, sparse *tagCount) (*where, error) {
	p := access.From(ctx)
	w := &where{}
	switch {
	case p != nil && p.Role == access.Resident:
		// The second term lets both stores use the partial unique index on
		// username (a bound value cannot show the planner it is not '').
		w.add("r.username = ? AND r.username <> ''", p.Username)
	case !canReadPeople(p):
		return nil, errNoRead
	case p.Role == access.GridWorker:
		// The worker's grids by account, their households by grid, the
		// residents by household: every step an index lookup, so that a
		// list reads a grid's residents whatever the community holds.
		grids := "SELECT gh.id FROM reg_households gh WHERE gh.grid_id IN (SELECT gw.grid_id FROM reg_grid_workers gw WHERE gw.username = ?)"
		if s.DB.Dialect == db.SQLite {
			// Without statistics that show grids are small (a community
			// whose households have none yet), SQLite would rather walk the
			// community in the list's order: made to look the grid up.
			grids = strings.Replace(grids, "reg_households gh", "reg_households gh INDEXED BY reg_households_grid", 1)
			w.from = "reg_residents r INDEXED BY reg_residents_household"
			w.add("r.household_id IN ("+grids+")", p.Username)
		} else {
			// As an array PostgreSQL looks the households' residents up;
			// as a semi-join it walked the community's 3,330 residents of
			// the county data, probing each one's tags, for a grid's 668.
			w.add("r.household_id = ANY(ARRAY("+grids+"))", p.Username)
		}
	}
	if err := checkFilterDivision(f.Division); err != nil {
		return nil, err
	}
	w.scope(ctx, "r.division_code", f.Division)
	if f.Household != "" {
		w.add("r.household_id = ?", f.Household)
	}
	if f.Grid != "" {
		w.add("r.household_id IN (SELECT id FROM reg_households WHERE grid_id = ?)", f.Grid)
	}
	if f.Tagged {
		w.add("EXISTS (SELECT 1 FROM reg_resident_tags t WHERE t.resident_id = r.id LIMIT 1 OFFSET 0)")
	}
	if f.Tag != "" && sparse != nil {
		// Few carry the tag here: its index gives them all, and the page
		// sorts that handful instead of probing row after row for it.
		sub := access.Subtree(sparse.division)
		if s.DB.Dialect == db.SQLite {
			// SQLite would rather walk the division index in order and test
			// each row against the handful: made to look the handful up.
			w.from = "reg_residents r INDEXED BY sqlite_autoindex_reg_residents_1"
		}
		w.add("r.id IN (SELECT t.resident_id FROM reg_resident_tags t WHERE t.tag = ? AND t.division_code >= ? AND t.division_code < ? AND t.active = TRUE)",
			f.Tag, sub.Lo, sub.Hi)
	} else if f.Tag != "" {
		// Probed per row through the (resident_id, tag, since_date) key, in
		// the list's order: a tag on every resident costs no more than a
		// rare one until the page is full. OFFSET 0 keeps PostgreSQL from
		// turning the probe into a hash of every resident's tag.
		w.add("EXISTS (SELECT 1 FROM reg_resident_tags t WHERE t.resident_id = r.id AND t.tag = ? AND t.active = TRUE LIMIT 1 OFFSET 0)", f.Tag)
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		switch field, value := s.searchKey(q); field {
		case "id_number":
			w.add("r.id_idx = ?", s.Keys.Index(field, value))
		case "phone":
			w.add("r.phone_idx = ?", s.Keys.Index(field, value))
		default:
			// A prefix is a range on the name in code-point order: the C
			// collation on PostgreSQL (whatever the database's collation,
			// served by reg_residents_name_c), BINARY on SQLite.
			lo, hi := prefixRange(q)
			w.add(s.nameExpr()+" >= ? AND "+s.nameExpr()+" < ?", lo, hi)
		}
	}
	return w, nil
}

// searchKey tells whether a search text is an ID number or a phone number,
// and gives it in the form its blind index takes (field "" for a name).
func (s *Store) searchKey(q string) (field, value string) {
	q = strings.TrimSpace(q)
	if info, err := idno.Parse(q, s.Now()); err == nil {
		return "id_number", info.Number
	}
	if ph, err := idno.NormalisePhone(q); err == nil && q != "" && strings.Trim(q, "0123456789+- ") == "" {
		return "phone", ph
	}
	return "", ""
}

// CountCap bounds the count of a resident list: a search matching more
// rows than this reports CountCap+1 ("1000+") instead of counting them all.
const CountCap = 1000

// nameExpr is the resident name in code-point order, matching the
// name indexes of each store.
func (s *Store) nameExpr() string {
	if s.DB.Dialect == db.Postgres {
		return `(r.name COLLATE "C")`
	}
	return "r.name"
}

// customPlan makes PostgreSQL plan a query with its actual values every
// time (an unnamed statement) rather than fall back to a cached generic
// plan, which cannot tell a rare surname's range from a common one's nor a
// community's division range from a province's.
func (s *Store) customPlan(args []any) []any {
	if s.DB.Dialect != db.Postgres {
		return args
	}
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// prefixRange returns [lo, hi) holding exactly the strings that start with
// prefix in code-point order: hi is prefix with its last rune incremented.
func prefixRange(prefix string) (string, string) {
	rs := []rune(prefix)
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i] < utf8.MaxRune {
			rs[i]++
			if rs[i] == 0xD800 { // skip the surrogate block
				rs[i] = 0xE000
			}
			return prefix, string(rs[:i+1])
		}
	}
	return prefix, prefix + string(utf8.MaxRune)
}

// ResidentPage is one page of a resident list.
type ResidentPage struct {
	Items []Resident
	// Total is exact when Capped is false; a capped count stopped at
	// CountCap+1 ("1000+").
	Total  int
	Capped bool
	// Next is the cursor of the following page, "" on the last page.
	Next string
}

// residentOrder is a list's order. Lists run in division then name order,
// which one index (division, name, id) serves for any scope from a
// community to the province, so that a page reads its rows and stops; a
// name search runs in name order, served by the name index. Both end on
// the id, so that every row has exactly one place.
type residentOrder string

const (
	byDivision residentOrder = "d"
	byName     residentOrder = "n"
)

func (s *Store) orderOf(f ResidentFilter) residentOrder {
	if q := strings.TrimSpace(f.Q); q != "" {
		if field, _ := s.searchKey(q); field == "" {
			return byName
		}
	}
	return byDivision
}

// orderCols are the order's columns, matching the indexes of each store.
func (s *Store) orderCols(o residentOrder) []string {
	if o == byName {
		return []string{s.nameExpr(), "r.division_code", "r.id"}
	}
	return []string{"r.division_code", s.nameExpr(), "r.id"}
}

// sealKey and openKey seal and open a registry list's cursor (the keyset
// kit); order names the list and its order.
func (s *Store) sealKey(order string, key ...string) string {
	return keyset.Seal(s.Keys, order, key...)
}

func (s *Store) openKey(cursor, order string, n int) ([]any, error) {
	key, err := keyset.Open(s.Keys, cursor, order, n)
	if err != nil {
		return nil, err
	}
	out := make([]any, n)
	for i, v := range key {
		out[i] = v
	}
	return out, nil
}

func (s *Store) sealCursor(o residentOrder, last Resident) string {
	if o == byName {
		return s.sealKey("residents/"+string(o), last.Name, last.Division, last.ID)
	}
	return s.sealKey("residents/"+string(o), last.Division, last.Name, last.ID)
}

func (s *Store) openCursor(cursor string, o residentOrder) ([]any, error) {
	return s.openKey(cursor, "residents/"+string(o), 3)
}

// PageResidents returns the page of residents after cursor ("" for the
// first page), masked, in the list's order: division then name, or name
// for a name search. Pages are read by the sort key, never by an offset,
// so that a deep page costs what the first does and a row written between
// two page reads neither repeats nor hides another.
func (s *Store) PageResidents(ctx context.Context, f ResidentFilter, cursor string, limit int) (ResidentPage, error) {
	return s.pageResidents(ctx, f, cursor, limit, sparseTag)
}

// pageResidents is PageResidents with the tag's sparse bound given (the
// tests read both ways on one small fixture).
func (s *Store) pageResidents(ctx context.Context, f ResidentFilter, cursor string, limit, sparseBound int) (ResidentPage, error) {
	tc, err := s.tagCountOf(ctx, f)
	if err != nil {
		return ResidentPage{}, err
	}
	var sparse *tagCount
	if tc != nil && tc.n <= sparseBound {
		sparse = tc
	}
	w, err := s.residentWhereTag(ctx, f, sparse)
	if err != nil {
		return ResidentPage{}, err
	}
	o := s.orderOf(f)
	var after []any
	if cursor != "" {
		if after, err = s.openCursor(cursor, o); err != nil {
			return ResidentPage{}, err
		}
	}
	total, capped, err := s.countResidents(ctx, f, w, tc)
	if err != nil {
		return ResidentPage{}, err
	}
	if by, _ := s.searchKey(f.Q); by != "" {
		// A search by ID number or phone reaches a person directly: who
		// searched and what came back are audited (the number is not).
		if err := s.Audit.Record(ctx, audit.Entry{Action: "registry.resident.search", Object: "resident", Division: f.Division,
			Detail: audit.Detail(map[string]any{"by": by, "results": total})}); err != nil {
			return ResidentPage{}, err
		}
	}
	page := ResidentPage{Total: total, Capped: capped}
	if total == 0 {
		return page, nil
	}
	query, args := s.pageQuery(w, o, after, limit+1)
	out, err := db.Collect(ctx, s.DB.R, s.scanResident, query, s.customPlan(args)...)
	if err != nil {
		return page, err
	}
	if len(out) > limit {
		out = out[:limit]
		page.Next = s.sealCursor(o, out[limit-1])
	}
	if !ownRecord(access.From(ctx)) {
		for i := range out {
			out[i].BirthDate = ""
		}
	}
	page.Items = out
	return page, s.attachTags(ctx, out)
}

// pageQuery is the read of a page of limit rows in order o after the sort
// key after (nil for the first page).
func (s *Store) pageQuery(w *where, o residentOrder, after []any, limit int) (string, []any) {
	cols := strings.Join(s.orderCols(o), ", ")
	k := &where{conds: append([]string(nil), w.conds...), args: append([]any(nil), w.args...), from: w.from}
	if after != nil {
		// The key comes first: SQLite starts its index range at the first
		// lower bound on the leading column it meets, and the scope's
		// would make a deep page walk every row before the cursor.
		k.add("("+cols+") > (?, ?, ?)", after...)
		k.conds = append(k.conds[len(k.conds)-1:], k.conds[:len(k.conds)-1]...)
	}
	return `SELECT ` + residentCols + ` FROM ` + w.table() + ` WHERE ` + k.sql() + ` ORDER BY ` + cols + ` LIMIT ` + itoa(limit), k.args
}

// table is the list's FROM.
func (w *where) table() string {
	if w.from != "" {
		return w.from
	}
	return "reg_residents r"
}

// countQuery counts a list's rows up to CountCap+1, in no order: the
// count reads the first rows any index gives and stops.
func countQuery(w *where) string {
	return `SELECT COUNT(*) FROM (SELECT 1 FROM ` + w.table() + ` WHERE ` + w.sql() + ` LIMIT ` + itoa(CountCap+1) + `) x`
}

// tagCount is the maintained count of a tag in a division.
type tagCount struct {
	division string
	n        int
}

// sparseTag is the most residents a tag may have in a list's division for
// the list to start from the tag's index. Above it the tag is common
// enough that probing rows in the list's order fills a page sooner than
// sorting every tagged resident would (20 rows of a county of 1.2 M take
// ~6,000 probes at this density).
const sparseTag = 4000

// tagCountOf reads the maintained count of the filter's tag for the
// division a division-scoped caller lists (nil when there is no tag, or
// the caller's rows are not a division's: a grid worker, a resident).
// A division outside the caller's has a count of 0.
func (s *Store) tagCountOf(ctx context.Context, f ResidentFilter) (*tagCount, error) {
	p := access.From(ctx)
	if f.Tag == "" || p == nil || (p.Role != access.Officer && p.Role != access.CommunityWorker) || checkFilterDivision(f.Division) != nil {
		return nil, nil
	}
	code := p.Division
	switch {
	case f.Division == "" || access.Encloses(f.Division, p.Division):
	case access.Encloses(p.Division, f.Division):
		code = f.Division
	default:
		return &tagCount{division: f.Division}, nil
	}
	var n int64
	if _, err := found(s.DB.R.QueryRowContext(ctx, `SELECT n FROM reg_tag_counts WHERE division_code = $1 AND tag = $2`, code, f.Tag), &n); err != nil {
		return nil, err
	}
	return &tagCount{division: code, n: int(n)}, nil
}

// countResidents counts a list. A list of one tag over a division subtree
// is the count the registry maintains (exact, one indexed read); any other
// is counted up to CountCap+1 and reported capped beyond: a count never
// walks a county.
func (s *Store) countResidents(ctx context.Context, f ResidentFilter, w *where, tc *tagCount) (int, bool, error) {
	if tc != nil && strings.TrimSpace(f.Q) == "" && f.Household == "" && f.Grid == "" {
		return tc.n, false, nil
	}
	var total int
	if err := s.DB.R.QueryRowContext(ctx, countQuery(w), s.customPlan(w.args)...).Scan(&total); err != nil {
		return 0, false, err
	}
	return total, total > CountCap, nil
}

// ListResidents returns the first limit residents of a list (a household's
// members, a grid's residents, the resident's own record) and the count
// as PageResidents gives it.
func (s *Store) ListResidents(ctx context.Context, f ResidentFilter, limit int) ([]Resident, int, error) {
	page, err := s.PageResidents(ctx, f, "", limit)
	return page.Items, page.Total, err
}

// ownRecord tells whether p reads its own record: a resident.
func ownRecord(p *access.Principal) bool { return p != nil && p.Role == access.Resident }

// showsBirthDate tells whether a person's record shows p the birth date:
// their own, or to a role that may reveal the ID number anyway. Lists
// show the age only.
func showsBirthDate(p *access.Principal) bool { return ownRecord(p) || canReveal(p, "id_number") }

func (s *Store) attachTags(ctx context.Context, rs []Resident) error {
	if len(rs) == 0 {
		return nil
	}
	idx := map[string]int{}
	ph := make([]string, len(rs))
	args := make([]any, len(rs))
	for i, r := range rs {
		idx[r.ID] = i
		ph[i] = "$" + itoa(i+1)
		args[i] = r.ID
	}
	return db.EachRow(ctx, s.DB.R, func(row db.Scanner) error {
		var t TagRef
		var rid string
		if err := row.Scan(&t.ID, &rid, &t.Tag, &t.Since, &t.Until, &t.Source, &t.Note, &t.Detail, &t.Active); err != nil {
			return err
		}
		rs[idx[rid]].Tags = append(rs[idx[rid]].Tags, t)
		return nil
	}, tagsQuery(ph), args...)
}

// tagsQuery reads the tags of a page of residents in one statement,
// through the resident_id key.
func tagsQuery(placeholders []string) string {
	return `SELECT id, resident_id, tag, since_date, until_date, source, note, detail, active FROM reg_resident_tags
		WHERE resident_id IN (` + strings.Join(placeholders, ",") + `) ORDER BY tag, since_date`
}

var errResidentNotFound = notFound(fault.M("居民不存在或不在您的管辖范围内", "resident not found or outside your jurisdiction"))

// GetResident returns one resident in scope (masked) or a 404 error.
func (s *Store) GetResident(ctx context.Context, id string) (Resident, error) {
	w, err := s.residentWhere(ctx, ResidentFilter{})
	if err != nil {
		return Resident{}, err
	}
	w.add("r.id = ?", id)
	r, err := s.scanResident(s.DB.R.QueryRowContext(ctx, `SELECT `+residentCols+` FROM reg_residents r WHERE `+w.sql(), w.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return r, errResidentNotFound
	} else if err != nil {
		return r, err
	}
	if !showsBirthDate(access.From(ctx)) {
		r.BirthDate = ""
	}
	rs := []Resident{r}
	err = s.attachTags(ctx, rs)
	return rs[0], err
}

// validResident checks the plain fields and derives birth date and gender
// from the ID number. Field names in errors are the JSON names.
func (s *Store) validResident(in *ResidentInput, creating bool) (idno.Info, []fault.FieldError) {
	var errs []fault.FieldError
	bad := func(f, zh, en string) { errs = append(errs, fault.Field(f, fault.M(zh, en))) }
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 50 {
		bad("name", "请填写姓名（不超过 50 字）", "enter a name of at most 50 characters")
	}
	var info idno.Info
	if in.IDNumber != "" || creating {
		var err error
		info, err = idno.Parse(in.IDNumber, s.Now())
		if err != nil {
			errs = append(errs, fault.Field("id_number", idnoMsg(err)))
		} else {
			in.IDNumber = info.Number
			if in.BirthDate != "" && in.BirthDate != info.Birth.Format("2006-01-02") {
				bad("birth_date", "出生日期与身份证号不符（身份证为 "+info.Birth.Format("2006-01-02")+"）", "the birth date does not match the ID number ("+info.Birth.Format("2006-01-02")+")")
			}
			if in.Gender != "" && in.Gender != info.Gender {
				bad("gender", "性别与身份证号不符", "the gender does not match the ID number")
			}
		}
	}
	if in.Relation == "" {
		in.Relation = "其他"
	}
	if !contains(relations, in.Relation) {
		bad("relation", "与户主关系须为："+strings.Join(relations, "、"), "relation must be one of: "+strings.Join(relations, ", "))
	}
	if in.Residence == "" {
		in.Residence = "registered"
	}
	if k, ok := residenceKey(in.Residence); ok {
		in.Residence = k
	} else {
		bad("residence", "户籍类型须为 户籍/常住/流动", "residence must be registered, resident or floating")
	}
	if in.Phone != nil && *in.Phone != "" {
		p, err := idno.NormalisePhone(*in.Phone)
		if err != nil {
			errs = append(errs, fault.Field("phone", idnoMsg(err)))
		} else {
			*in.Phone = p
		}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"health", in.Health}, {"disability", in.Disability}, {"income", in.Income}} {
		if f.v != nil && utf8.RuneCountInString(*f.v) > 500 {
			bad(f.name, "不超过 500 字", "at most 500 characters")
		}
	}
	return info, errs
}

func residenceKey(v string) (string, bool) {
	for k, n := range residenceTypes {
		if v == k || v == n[0] {
			return k, true
		}
	}
	return "", false
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

var errNoHousehold = fault.Invalid(fault.M("户不存在或不在您的管辖范围内", "household not found or outside your jurisdiction"),
	fault.Field("household_id", fault.M("户不存在或不在您的管辖范围内", "household not found or outside your jurisdiction")))

// householdDivision returns the division of a household the caller may
// see, or errNoHousehold.
func (s *Store) householdDivision(ctx context.Context, q rowReader, id string) (string, error) {
	sc := access.ScopeOf(ctx)
	var code string
	ok, err := found(q.QueryRowContext(ctx, `SELECT division_code FROM reg_households WHERE id = $1 AND division_code >= $2 AND division_code < $3`, id, sc.Lo, sc.Hi), &code)
	if err == nil && !ok {
		err = errNoHousehold
	}
	return code, err
}

func (s *Store) seal(in ResidentInput) sealed {
	var z sealed
	z.idEnc = s.Keys.Seal(in.IDNumber, aad("id_number"))
	z.idIdx = s.Keys.Index("id_number", in.IDNumber)
	z.idMask = idno.Mask(in.IDNumber)
	if in.Phone != nil && *in.Phone != "" {
		z.phoneEnc = s.Keys.Seal(*in.Phone, aad("phone"))
		z.phoneIdx = s.Keys.Index("phone", *in.Phone)
		z.phoneMask = idno.MaskPhone(*in.Phone)
	}
	opt := func(v *string, f string) string {
		if v == nil || *v == "" {
			return ""
		}
		return s.Keys.Seal(*v, aad(f))
	}
	z.health, z.disability, z.income = opt(in.Health, "health"), opt(in.Disability, "disability"), opt(in.Income, "income")
	return z
}

// CreateResident validates, encrypts and stores a resident.
func (s *Store) CreateResident(ctx context.Context, in ResidentInput) (Resident, error) {
	if !canWrite(access.From(ctx)) {
		return Resident{}, errNoWrite
	}
	info, errs := s.validResident(&in, true)
	if len(errs) > 0 {
		return Resident{}, fault.Invalid(fault.M("居民信息有误", "the resident record has errors"), errs...)
	}
	if err := s.mayRegister(ctx); err != nil {
		return Resident{}, err
	}
	z := s.seal(in)
	id := db.NewID()
	now := db.T(s.Now())
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		code, err := s.householdDivision(ctx, tx, in.HouseholdID)
		if err != nil {
			return err
		}
		if err := s.checkBinding(ctx, tx, in.Username, code, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO reg_residents (id, division_code, household_id, name, gender, birth_date, relation, residence,
			id_enc, id_idx, id_mask, phone_enc, phone_idx, phone_mask, health_enc, disability_enc, income_enc, username, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$19)`,
			id, code, in.HouseholdID, in.Name, info.Gender, info.Birth.Format("2006-01-02"), in.Relation, in.Residence,
			z.idEnc, z.idIdx, z.idMask, z.phoneEnc, z.phoneIdx, z.phoneMask, z.health, z.disability, z.income, in.Username, now)
		if err := residentClash(err); err != nil {
			return err
		}
		if err := s.record(ctx, tx, "registry.resident.create", "resident", id, code, nil); err != nil {
			return err
		}
		return s.recordBinding(ctx, tx, id, code, "", in.Username)
	})
	if errors.Is(err, errDuplicateID) {
		return Resident{}, s.refuseDuplicate(ctx, z.idIdx)
	}
	if err := s.auditRefusedBinding(ctx, err, id, in.Username); err != nil {
		return Resident{}, err
	}
	return s.GetResident(ctx, id)
}

var (
	errAccountTaken = fault.New(fault.CodeConflict, fault.M("该账号已关联另一位居民的登记记录，一个账号只能对应一人", "this account is already linked to another resident's record: one account, one person"),
		fault.Field("username", fault.M("该账号已关联另一条登记记录", "already linked to another record")))
	errNotResidentAccount = fault.Invalid(fault.M("关联账号须为本村(社区)的居民账号", "the linked account must be a resident account of the record's community"),
		fault.Field("username", fault.M("须为本村(社区)的居民账号", "must be a resident account of this community")))
)

// checkBinding allows linking the record id of community code to a login
// account: a resident account of that community, linked to no other
// record (one account, one person). The unique index on the column holds
// the rule when two bindings race.
func (s *Store) checkBinding(ctx context.Context, tx *sql.Tx, username, code, id string) error {
	if username == "" {
		return nil
	}
	var role, div string
	ok, err := found(tx.QueryRowContext(ctx, `SELECT role, division_code FROM users WHERE username = $1`, username), &role, &div)
	if err != nil {
		return err
	}
	if !ok || role != string(access.Resident) || div != code {
		return errNotResidentAccount
	}
	var other string
	if taken, err := found(tx.QueryRowContext(ctx, `SELECT id FROM reg_residents WHERE username = $1 AND id <> $2`, username, id), &other); err != nil {
		return err
	} else if taken {
		return errAccountTaken
	}
	return nil
}

// residentClash turns a write's unique-key clash into its message: the
// account already linked, or the ID number already registered.
func residentClash(err error) error {
	switch {
	case !db.IsUniqueViolation(err):
		return err
	case strings.Contains(err.Error(), "username"):
		return errAccountTaken
	}
	return errDuplicateID
}

// recordBinding audits a record's link to a new account.
func (s *Store) recordBinding(ctx context.Context, tx *sql.Tx, id, code, was, username string) error {
	if username == "" || username == was {
		return nil
	}
	return s.record(ctx, tx, "registry.resident.bind", "resident", id, code, map[string]string{"username": username, "was": was})
}

// auditRefusedBinding audits a binding refused because the account is
// taken, and passes err on.
func (s *Store) auditRefusedBinding(ctx context.Context, err error, id, username string) error {
	if errors.Is(err, errAccountTaken) {
		if aerr := s.Audit.Record(ctx, audit.Entry{Action: "registry.resident.bind", Object: "resident", ObjectID: id, Result: audit.Denied,
			Detail: audit.Detail(map[string]string{"username": username, "why": "account already linked"})}); aerr != nil {
			return aerr
		}
	}
	return err
}

// UpdateResident changes a resident in scope. Residents may correct their
// own phone only (PIPL right of correction); other changes go through a worker.
func (s *Store) UpdateResident(ctx context.Context, id string, in ResidentInput) (Resident, error) {
	p := access.From(ctx)
	if !canWrite(p) {
		return Resident{}, errNoWrite
	}
	info, errs := s.validResident(&in, false)
	if len(errs) > 0 {
		return Resident{}, fault.Invalid(fault.M("居民信息有误", "the resident record has errors"), errs...)
	}
	if in.IDNumber != "" {
		if err := s.mayRegister(ctx); err != nil {
			return Resident{}, err
		}
	}
	z := s.seal(in)
	sc := access.ScopeOf(ctx)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var code, hh, was string
		err := tx.QueryRowContext(ctx, `SELECT division_code, household_id, username FROM reg_residents WHERE id = $1 AND division_code >= $2 AND division_code < $3`, id, sc.Lo, sc.Hi).Scan(&code, &hh, &was)
		if errors.Is(err, sql.ErrNoRows) {
			return errResidentNotFound
		} else if err != nil {
			return err
		}
		newCode, moved := code, ""
		if in.HouseholdID != "" && in.HouseholdID != hh {
			moved = hh
			if newCode, err = s.householdDivision(ctx, tx, in.HouseholdID); err != nil {
				return err
			}
			hh = in.HouseholdID
		}
		if in.Username != was {
			if err := s.checkBinding(ctx, tx, in.Username, newCode, id); err != nil {
				return err
			}
		}
		set, args, changed := residentChanges(in, info, z)
		set, args = append(set, "household_id", "division_code", "updated_at"), append(args, hh, newCode, db.T(s.Now()))
		assign := make([]string, len(set))
		for i, col := range set {
			assign[i] = col + " = $" + itoa(i+1)
		}
		_, err = tx.ExecContext(ctx, `UPDATE reg_residents SET `+strings.Join(assign, ", ")+` WHERE id = $`+itoa(len(args)+1), append(args, id)...)
		if err := residentClash(err); err != nil {
			return err
		}
		if err := s.recordBinding(ctx, tx, id, newCode, was, in.Username); err != nil {
			return err
		}
		if newCode != code {
			if _, err := tx.ExecContext(ctx, `UPDATE reg_resident_tags SET division_code = $1 WHERE resident_id = $2`, newCode, id); err != nil {
				return err
			}
			if err := s.moveTagCounts(ctx, tx, id, code, newCode); err != nil {
				return err
			}
		}
		detail := map[string]any{"sensitive_fields_changed": changed}
		if moved != "" {
			detail["household_was"] = moved // schedules follow a move from here
		}
		return s.record(ctx, tx, "registry.resident.update", "resident", id, newCode, detail)
	})
	if errors.Is(err, errDuplicateID) {
		return Resident{}, s.refuseDuplicate(ctx, z.idIdx)
	}
	if err := s.auditRefusedBinding(ctx, err, id, in.Username); err != nil {
		return Resident{}, err
	}
	return s.GetResident(ctx, id)
}

// activeTags lists the tags a resident carries now.
func activeTags(ctx context.Context, tx *sql.Tx, residentID string) ([]string, error) {
	return db.Collect(ctx, tx, db.Value[string], `SELECT tag FROM reg_resident_tags WHERE resident_id = $1 AND active = TRUE`, residentID)
}

// residentChanges lists the columns an update sets and their values (the
// household and division aside), and the sensitive fields it changes: an
// empty ID number and a missing sensitive field keep the stored value.
func residentChanges(in ResidentInput, info idno.Info, z sealed) (cols []string, vals []any, changed []string) {
	put := func(col string, v any) { cols, vals = append(cols, col), append(vals, v) }
	put("name", in.Name)
	put("relation", in.Relation)
	put("residence", in.Residence)
	if in.IDNumber != "" {
		put("id_enc", z.idEnc)
		put("id_idx", z.idIdx)
		put("id_mask", z.idMask)
		put("gender", info.Gender)
		put("birth_date", info.Birth.Format("2006-01-02"))
		changed = append(changed, "id_number")
	}
	if in.Phone != nil {
		put("phone_enc", z.phoneEnc)
		put("phone_idx", z.phoneIdx)
		put("phone_mask", z.phoneMask)
		changed = append(changed, "phone")
	}
	for _, f := range []struct {
		v         *string
		col, name string
		val       string
	}{{in.Health, "health_enc", "health", z.health}, {in.Disability, "disability_enc", "disability", z.disability}, {in.Income, "income_enc", "income", z.income}} {
		if f.v != nil {
			put(f.col, f.val)
			changed = append(changed, f.name)
		}
	}
	if in.Username != "" {
		put("username", in.Username)
	}
	return cols, vals, changed
}

func (s *Store) moveTagCounts(ctx context.Context, tx *sql.Tx, residentID, from, to string) error {
	tags, err := activeTags(ctx, tx, residentID)
	if err != nil {
		return err
	}
	d := tagDeltas{}
	for _, t := range tags {
		d.add(from, t, -1)
		d.add(to, t, 1)
	}
	return s.applyDeltas(ctx, tx, d)
}

// CorrectOwn lets a resident correct their own phone number.
func (s *Store) CorrectOwn(ctx context.Context, phone string) (Resident, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Resident {
		return Resident{}, fault.Forbidden(fault.M("只有居民本人可以更正本人信息", "only residents correct their own record here"))
	}
	ph, err := idno.NormalisePhone(phone)
	if err != nil {
		return Resident{}, fault.Invalid(idnoMsg(err), fault.Field("phone", idnoMsg(err)))
	}
	mine, _, err := s.ListResidents(ctx, ResidentFilter{}, 1)
	if err != nil {
		return Resident{}, err
	}
	if len(mine) == 0 {
		return Resident{}, notFound(fault.M("登记库中没有与您账号关联的记录", "no registry record is linked to your account"))
	}
	id := mine[0].ID
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE reg_residents SET phone_enc = $1, phone_idx = $2, phone_mask = $3, updated_at = $4 WHERE id = $5 AND username = $6`,
			s.Keys.Seal(ph, aad("phone")), s.Keys.Index("phone", ph), idno.MaskPhone(ph), db.T(s.Now()), id, p.Username); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.resident.self_correct", "resident", id, mine[0].Division, map[string]any{"fields": []string{"phone"}})
	})
	if err != nil {
		return Resident{}, err
	}
	return s.GetResident(ctx, id)
}

// DeleteResident removes a resident in scope with their tags.
func (s *Store) DeleteResident(ctx context.Context, id string) error {
	if !canWrite(access.From(ctx)) {
		return errNoWrite
	}
	sc := access.ScopeOf(ctx)
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var code, hh string
		err := tx.QueryRowContext(ctx, `SELECT division_code, household_id FROM reg_residents WHERE id = $1 AND division_code >= $2 AND division_code < $3`, id, sc.Lo, sc.Hi).Scan(&code, &hh)
		if errors.Is(err, sql.ErrNoRows) {
			return errResidentNotFound
		} else if err != nil {
			return err
		}
		tags, err := activeTags(ctx, tx, id)
		if err != nil {
			return err
		}
		d := tagDeltas{}
		for _, t := range tags {
			d.add(code, t, -1)
		}
		if err := s.applyDeltas(ctx, tx, d); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM reg_resident_tags WHERE resident_id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM reg_residents WHERE id = $1`, id); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.resident.delete", "resident", id, code, map[string]string{"household": hh})
	})
}

// Reveal returns the full value of one sensitive field to a role allowed
// it, with a reason, and audits the reveal (also a refused one).
func (s *Store) Reveal(ctx context.Context, id, field, reason string) (string, error) {
	p := access.From(ctx)
	col, ok := revealable[field]
	if !ok {
		return "", fault.Invalid(fault.M("不能查看该字段", "this field cannot be revealed"), fault.Field("field", fault.M("须为 id_number、phone、health、disability 或 income", "must be id_number, phone, health, disability or income")))
	}
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) < 2 || utf8.RuneCountInString(reason) > 200 {
		return "", fault.Invalid(fault.M("请填写查看理由", "give a reason for revealing the value"), fault.Field("reason", fault.M("请填写 2–200 字的查看理由", "give a reason of 2–200 characters")))
	}
	own := p != nil && p.Role == access.Resident
	if !own && !canReveal(p, field) {
		if err := s.Audit.Record(ctx, auditDenied("registry.reveal", id, field, reason)); err != nil {
			return "", err
		}
		return "", fault.Forbidden(fault.M("您的角色无权查看完整信息", "your role may not reveal full values"))
	}
	w, err := s.residentWhere(ctx, ResidentFilter{})
	if err != nil {
		return "", err
	}
	w.add("r.id = ?", id)
	var enc, code string
	err = s.DB.R.QueryRowContext(ctx, `SELECT r.`+col+`, r.division_code FROM reg_residents r WHERE `+w.sql(), w.args...).Scan(&enc, &code)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errResidentNotFound
	} else if err != nil {
		return "", err
	}
	plain := ""
	if enc != "" {
		if plain, err = s.Keys.Open(enc, aad(field)); err != nil {
			return "", err
		}
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.record(ctx, tx, "registry.reveal", "resident", id, code, map[string]string{"field": field, "reason": reason})
	})
	return plain, err
}

// parseID validates an ID number with a field error for "id_number".
func parseID(s string, now time.Time) (string, error) {
	info, err := idno.Parse(s, now)
	if err != nil {
		return "", fault.Invalid(idnoMsg(err), fault.Field("id_number", idnoMsg(err)))
	}
	return info.Number, nil
}
