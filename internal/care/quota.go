package care

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
)

// Tier is one line of a subsidy rule: residents who are at least AgeMin
// years old at the month's end (0: any age) and, when Tags is not empty,
// hold one of the tags during the month, get AmountFen in vouchers that
// month. A resident who meets several tiers gets the largest.
type Tier struct {
	Label     string   `json:"label"`
	AgeMin    int      `json:"age_min,omitempty"`
	Tags      []string `json:"tags,omitempty"`
	AmountFen int64    `json:"amount_fen"`
}

// Rule is one version of a county's subsidy rule for a year: applied to
// the months from FromMonth until a later version starts. A rule is never
// edited; a change is a new version.
type Rule struct {
	ID        string    `json:"id"`
	County    string    `json:"county"`
	Year      int       `json:"year"`
	Version   int       `json:"version"`
	FromMonth string    `json:"from_month"`
	Name      string    `json:"name"`
	Tiers     []Tier    `json:"tiers"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// RuleInput publishes a new version of a county's rule for a year.
type RuleInput struct {
	County    string `json:"county"`
	FromMonth string `json:"from_month"`
	Name      string `json:"name"`
	Tiers     []Tier `json:"tiers"`
}

// tagKey is a registry tag key: lower-case letters, digits and _.
func tagKey(t string) bool {
	if t == "" || len(t) > 40 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// PublishRule adds a version of the county's rule (county officers).
func (s *Store) PublishRule(ctx context.Context, in RuleInput) (Rule, error) {
	return s.publish(ctx, in, ruleBook{
		table: "care_rules", action: "care.rule.publish", object: "care_rule",
		maxFen: 1_000_000, amount: fault.M("每月补贴应为 0.01–10,000 元", "the monthly amount must be 0.01–10,000 yuan"),
		heldSQL: `SELECT COUNT(*) FROM care_quota_runs WHERE county = $1 AND month >= $2`,
		held:    fault.M("已发放额度的月份不能改用新规则", "months already granted cannot take a new rule"),
		heldFix: fault.M("应晚于已发放的月份", "must be after the months already granted"),
	})
}

// ruleBook is what sets the two versioned subsidy rules apart: the
// monthly home-care quota and the per-meal subsidy.
type ruleBook struct {
	table, action, object string
	maxFen                int64
	amount                fault.Msg // the amount's range in words
	// heldSQL counts what the months from the new version's first already
	// hold (granted quotas, recorded meals): those keep the rule they had.
	heldSQL       string
	held, heldFix fault.Msg
}

// publish validates a rule version and adds it as the next version of
// its county's year.
func (s *Store) publish(ctx context.Context, in RuleInput, book ruleBook) (Rule, error) {
	p := access.From(ctx)
	if len(in.County) != 6 {
		return Rule{}, bad("county", "请选择县（市、区）", "choose a county")
	}
	if !countyOfficer(p, in.County) {
		return Rule{}, errOfficer
	}
	if err := validMonth("from_month", in.FromMonth); err != nil {
		return Rule{}, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 200 {
		return Rule{}, bad("name", "请填写规则名称", "give the rule a name")
	}
	if len(in.Tiers) == 0 || len(in.Tiers) > 20 {
		return Rule{}, bad("tiers", "请设置 1–20 档补贴", "give 1–20 tiers")
	}
	for i, t := range in.Tiers {
		f := fmt.Sprintf("tiers[%d]", i)
		if t.AgeMin < 0 || t.AgeMin > 120 {
			return Rule{}, bad(f+".age_min", "年龄应为 0–120", "age must be 0–120")
		}
		if t.AgeMin == 0 && len(t.Tags) == 0 {
			return Rule{}, bad(f, "每档须有年龄或标签条件", "each tier needs an age or a tag")
		}
		for _, tg := range t.Tags {
			if !tagKey(tg) {
				return Rule{}, bad(f+".tags", "标签无效: "+tg, "invalid tag: "+tg)
			}
		}
		if t.AmountFen <= 0 || t.AmountFen > book.maxFen {
			return Rule{}, fault.Invalid(fault.M("输入有误", "invalid input"), fault.Field(f+".amount_fen", book.amount))
		}
	}
	year, _ := strconv.Atoi(in.FromMonth[:4])
	r := Rule{ID: db.NewID(), County: in.County, Year: year, FromMonth: in.FromMonth, Name: in.Name, Tiers: in.Tiers, CreatedBy: p.Username, CreatedAt: s.Now()}
	tiers, _ := json.Marshal(r.Tiers)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM `+book.table+` WHERE county = $1 AND year = $2`, r.County, r.Year).Scan(&r.Version); err != nil {
			return err
		}
		var held int
		if err := tx.QueryRowContext(ctx, book.heldSQL, r.County, r.FromMonth).Scan(&held); err != nil {
			return err
		}
		if held > 0 {
			return fault.Invalid(book.held, fault.Field("from_month", book.heldFix))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+book.table+` (id, county, year, version, from_month, name, tiers, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
			r.ID, r.County, r.Year, r.Version, r.FromMonth, r.Name, string(tiers), r.CreatedBy, db.T(r.CreatedAt)); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Conflict(fault.M("规则刚被他人修改，请重试", "the rule was just changed by someone else; try again"))
			}
			return err
		}
		return s.record(ctx, tx, book.action, book.object, r.ID, r.County, fmt.Sprintf("%d v%d from %s", r.Year, r.Version, r.FromMonth))
	})
	return r, err
}

const ruleCols = `id, county, year, version, from_month, name, tiers, created_by, created_at`

func scanRule(r db.Scanner) (Rule, error) {
	var ru Rule
	var tiers string
	var at db.Time
	err := r.Scan(&ru.ID, &ru.County, &ru.Year, &ru.Version, &ru.FromMonth, &ru.Name, &tiers, &ru.CreatedBy, &at)
	ru.CreatedAt = at.Time
	if err == nil {
		err = json.Unmarshal([]byte(tiers), &ru.Tiers)
	}
	return ru, err
}

// Rules lists the rule versions of the principal's county, newest first.
func (s *Store) Rules(ctx context.Context) ([]Rule, error) {
	p := access.From(ctx)
	if p == nil || !p.Role.Business() {
		return []Rule{}, nil
	}
	county := p.Division
	if len(county) > 6 {
		county = county[:6]
	}
	sc := access.Subtree(county)
	rs, err := db.Collect(ctx, s.DB.R, scanRule, `SELECT `+ruleCols+` FROM care_rules WHERE county >= $1 AND county < $2 ORDER BY county, year DESC, version DESC LIMIT 100`, sc.Lo, sc.Hi)
	if rs == nil {
		rs = []Rule{}
	}
	return rs, err
}

// ruleFor is the version in force for a county's month.
func (s *Store) ruleFor(ctx context.Context, q rowQuerier, county, m string) (Rule, error) {
	r, err := scanRule(q.QueryRowContext(ctx, `SELECT `+ruleCols+` FROM care_rules WHERE county = $1 AND year = $2 AND from_month <= $3 ORDER BY version DESC LIMIT 1`, county, m[:4], m))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fault.Invalid(fault.M("该月没有生效的补贴规则", "no subsidy rule is in force for the month"), fault.Field("month", fault.M("请先发布该年的补贴规则", "publish the year's rule first")))
	}
	return r, err
}

// monthBounds are the first and last dates of a month.
func monthBounds(m string) (first, last string) {
	t, _ := time.Parse("2006-01", m)
	return t.Format("2006-01-02"), t.AddDate(0, 1, -1).Format("2006-01-02")
}

// amountSQL is the rule as one SQL expression over registry_people p: the
// largest tier the person meets at the month's end, 0 when none. Every
// value is an argument numbered from next.
func amountSQL(r Rule, m string, next int) (string, []any) {
	first, last := monthBounds(m)
	tiers := slices.Clone(r.Tiers)
	slices.SortStableFunc(tiers, func(a, b Tier) int { return int(b.AmountFen - a.AmountFen) })
	var b strings.Builder
	var args []any
	arg := func(v any) string { args = append(args, v); return ph(next + len(args) - 1) }
	b.WriteString("CASE")
	for _, t := range tiers {
		var conds []string
		if t.AgeMin > 0 {
			year, _ := strconv.Atoi(last[:4])
			conds = append(conds, "p.birth_date <= "+arg(fmt.Sprintf("%04d%s", year-t.AgeMin, last[4:])))
		}
		if len(t.Tags) > 0 {
			var in []string
			for _, tg := range t.Tags {
				in = append(in, arg(tg))
			}
			conds = append(conds, "EXISTS (SELECT 1 FROM registry_person_tags t WHERE t.resident_id = p.id AND t.tag IN ("+strings.Join(in, ", ")+
				") AND t.since_date <= "+arg(last)+" AND (t.until_date = '' OR t.until_date >= "+arg(first)+"))")
		}
		b.WriteString(" WHEN " + strings.Join(conds, " AND ") + " THEN " + strconv.FormatInt(t.AmountFen, 10))
	}
	b.WriteString(" ELSE 0 END")
	return b.String(), args
}

// eligibleSQL selects, in the county ($3, $4), each resident who might
// meet a tier with the rule's amount for them (amountSQL), from two
// disjoint parts read from indexes: those born early enough for the
// tiers of age alone (the youngest age among them), and, younger than
// that, the holders of the tiers' tags. Each part reads the resident's
// row once, so no candidate list is joined back to the residents (that
// join was most of the run). Arguments are numbered from next.
func eligibleSQL(r Rule, m string, next int, sqlite bool) (string, []any) {
	first, last := monthBounds(m)
	var args []any
	arg := func(v any) string { args = append(args, v); return ph(next + len(args) - 1) }
	amount := func() string {
		e, a := amountSQL(r, m, next+len(args))
		args = append(args, a...)
		return e
	}
	youngest := 0
	var tags []string
	for _, t := range r.Tiers {
		if len(t.Tags) == 0 {
			if youngest == 0 || t.AgeMin < youngest {
				youngest = t.AgeMin
			}
			continue
		}
		for _, tg := range t.Tags {
			if !slices.Contains(tags, tg) {
				tags = append(tags, tg)
			}
		}
	}
	var parts []string
	born := ""
	if youngest > 0 {
		year, _ := strconv.Atoi(last[:4])
		born = fmt.Sprintf("%04d%s", year-youngest, last[4:])
		// On SQLite a unary + keeps the county's range from choosing the
		// division index (the whole county) over the birth-date one.
		div := "p.division_code"
		if sqlite {
			div = "+p.division_code"
		}
		e := amount()
		parts = append(parts, "SELECT p.id, p.division_code, "+e+" AS amount FROM registry_people p WHERE p.birth_date <= "+arg(born)+
			" AND "+div+" >= $3 AND "+div+" < $4")
	}
	if len(tags) > 0 {
		e := amount()
		var in []string
		for _, tg := range tags {
			in = append(in, arg(tg))
		}
		q := "SELECT p.id, p.division_code, " + e + " AS amount FROM registry_people p WHERE p.id IN (SELECT t.resident_id FROM registry_person_tags t WHERE t.tag IN (" +
			strings.Join(in, ", ") + ") AND t.division_code >= $3 AND t.division_code < $4 AND t.since_date <= " + arg(last) + " AND (t.until_date = '' OR t.until_date >= " + arg(first) + "))" +
			" AND p.division_code >= $3 AND p.division_code < $4"
		if born != "" {
			q += " AND p.birth_date > " + arg(born)
		}
		parts = append(parts, q)
	}
	return strings.Join(parts, " UNION ALL "), args
}

// QuotaRun is what a month's run granted.
type QuotaRun struct {
	County     string    `json:"county"`
	Month      string    `json:"month"`
	RuleID     string    `json:"rule_id"`
	Version    int       `json:"version"`
	Residents  int       `json:"residents"`
	GrantedFen int64     `json:"granted_fen"`
	ExpiredFen int64     `json:"expired_fen"` // of the months before, expired by this run
	RunBy      string    `json:"run_by"`
	RunAt      time.Time `json:"run_at"`
}

// RunMonth grants a county's month of vouchers to every eligible resident
// under the rule version in force, in one INSERT … SELECT, and expires
// what is left of earlier months. A month is run once (county officers).
func (s *Store) RunMonth(ctx context.Context, county, m string) (QuotaRun, error) {
	p := access.From(ctx)
	if len(county) != 6 {
		return QuotaRun{}, bad("county", "请选择县（市、区）", "choose a county")
	}
	if !countyOfficer(p, county) {
		return QuotaRun{}, errOfficer
	}
	if err := validMonth("month", m); err != nil {
		return QuotaRun{}, err
	}
	run := QuotaRun{County: county, Month: m, RunBy: p.Username, RunAt: s.Now()}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.ruleFor(ctx, tx, county, m)
		if err != nil {
			return err
		}
		run.RuleID, run.Version = r.ID, r.Version
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_quota_runs (county, month, rule_id, residents, granted_fen, expired_fen, run_by, run_at) VALUES ($1,$2,$3,0,0,0,$4,$5)`,
			county, m, r.ID, run.RunBy, db.T(run.RunAt)); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Conflict(fault.M("该月额度已经发放", "the month's quota was already granted"))
			}
			return err
		}
		sc := access.Subtree(county)
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(granted_fen - used_fen), 0) FROM care_quota WHERE division_code >= $1 AND division_code < $2 AND month < $3 AND expired_fen = 0 AND granted_fen > used_fen`,
			sc.Lo, sc.Hi, m).Scan(&run.ExpiredFen); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE care_quota SET expired_fen = granted_fen - used_fen WHERE division_code >= $1 AND division_code < $2 AND month < $3 AND expired_fen = 0 AND granted_fen > used_fen`,
			sc.Lo, sc.Hi, m); err != nil {
			return err
		}
		eligible, args := eligibleSQL(r, m, 5, s.DB.Dialect == db.SQLite)
		res, err := tx.ExecContext(ctx, `INSERT INTO care_quota (resident_id, month, division_code, rule_id, granted_fen, used_fen, expired_fen)
			SELECT id, $1, division_code, $2, amount, 0, 0 FROM (`+eligible+`) q WHERE amount > 0`,
			append([]any{m, r.ID, sc.Lo, sc.Hi}, args...)...)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		run.Residents = int(n)
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(granted_fen), 0) FROM care_quota WHERE month = $1 AND division_code >= $2 AND division_code < $3`, m, sc.Lo, sc.Hi).Scan(&run.GrantedFen); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE care_quota_runs SET residents = $1, granted_fen = $2, expired_fen = $3 WHERE county = $4 AND month = $5`,
			run.Residents, run.GrantedFen, run.ExpiredFen, county, m); err != nil {
			return err
		}
		return s.record(ctx, tx, "care.quota.run", "care_quota_run", county+"/"+m, county, fmt.Sprintf("v%d residents=%d granted=%d expired=%d", r.Version, run.Residents, run.GrantedFen, run.ExpiredFen))
	})
	return run, err
}

// Entitlement is one resident's quota for a month.
type Entitlement struct {
	ResidentID string `json:"resident_id"`
	Surname    string `json:"name"` // 张**
	Division   string `json:"division"`
	Month      string `json:"month"`
	RuleID     string `json:"rule_id"`
	GrantedFen int64  `json:"granted_fen"`
	UsedFen    int64  `json:"used_fen"`
	ExpiredFen int64  `json:"expired_fen"`
	LeftFen    int64  `json:"left_fen"`
}

// Entitlements lists quotas: a resident their household's; a provider
// none; a worker or officer those in their subtree for a month, by
// resident after the given one.
func (s *Store) Entitlements(ctx context.Context, m, after string, limit int) ([]Entitlement, error) {
	p := access.From(ctx)
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	cols := `SELECT q.resident_id, pp.surname, q.division_code, q.month, q.rule_id, q.granted_fen, q.used_fen, q.expired_fen FROM care_quota q JOIN registry_people pp ON pp.id = q.resident_id`
	scan := func(r db.Scanner) (Entitlement, error) {
		var e Entitlement
		err := r.Scan(&e.ResidentID, &e.Surname, &e.Division, &e.Month, &e.RuleID, &e.GrantedFen, &e.UsedFen, &e.ExpiredFen)
		e.Surname += "**"
		e.LeftFen = e.GrantedFen - e.UsedFen - e.ExpiredFen
		return e, err
	}
	var out []Entitlement
	var err error
	switch {
	case p == nil || !p.Role.Business() || p.Role == access.Provider:
		return []Entitlement{}, nil
	case p.Role == access.Resident:
		r, rerr := s.residentOf(ctx, p)
		if rerr != nil {
			return nil, rerr
		}
		out, err = db.Collect(ctx, s.DB.R, scan, cols+` WHERE pp.household_id = $1 ORDER BY q.month DESC, q.resident_id LIMIT 24`, r.Household)
	default:
		if m == "" {
			m = month(s.Now())
		}
		if err := validMonth("month", m); err != nil {
			return nil, err
		}
		sc := access.Subtree(p.Division)
		out, err = db.Collect(ctx, s.DB.R, scan, cols+` WHERE q.month = $1 AND q.division_code >= $2 AND q.division_code < $3 AND q.resident_id > $4 ORDER BY q.resident_id LIMIT `+itoa(limit),
			m, sc.Lo, sc.Hi, after)
		if err == nil {
			err = s.Audit.Record(ctx, auditEntry("care.entitlement.list", "care_quota", m, p.Division, fmt.Sprintf("%d rows", len(out))))
		}
	}
	if out == nil {
		out = []Entitlement{}
	}
	return out, err
}
