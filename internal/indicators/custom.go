package indicators

// Indicators as data: besides the plan's 43, an officer adds indicators of
// their own division (a city's own, a county's own). A definition names its
// formula in text over the same data elements, e.g.
//
//	100 × community_workers_certified ÷ community_workers
//
// and is parsed and checked before anything is saved. It applies to its
// division and everything below; values, targets, progress, roll-up,
// precomputation and export treat it exactly as a plan indicator.

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
)

var migrationCustom = db.Migration{
	ID: "indicators/003_custom_indicators",
	SQL: `
CREATE TABLE ind_custom (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	name_zh TEXT NOT NULL,
	name_en TEXT NOT NULL,
	unit TEXT NOT NULL,
	formula TEXT NOT NULL,
	baseline DOUBLE PRECISION,
	target DOUBLE PRECISION,
	target_year INTEGER NOT NULL,
	attribute TEXT NOT NULL,
	direction TEXT NOT NULL,
	why TEXT NOT NULL,
	created_by TEXT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ind_custom_division ON ind_custom (division_code);
`,
}

// Definition is an officer's own indicator as entered.
type Definition struct {
	ID         string   `json:"id"`
	Division   string   `json:"division_code"`
	NameZH     string   `json:"name_zh"`
	NameEN     string   `json:"name_en"`
	Unit       string   `json:"unit"`
	Formula    string   `json:"formula"`
	Baseline   *float64 `json:"baseline"`
	Target     *float64 `json:"target"`
	TargetYear int      `json:"target_year"`
	Attribute  string   `json:"attribute"` // 预期性 (default) / 约束性
	Direction  string   `json:"direction"` // higher (default) / lower
	Why        string   `json:"why"`
}

var (
	idPattern   = regexp.MustCompile(`^[A-Z][A-Z0-9_-]{1,15}$`)
	planPattern = regexp.MustCompile(`^[IC][0-9]{2}$`)
)

// ParseFormula reads "[factor ×] numerator [÷ denominator]" or
// "[factor ×] (a ÷ b) ÷ (c ÷ d)" over data element keys; × may be written
// *, ÷ may be written /, over the elements of els and the own elements
// among rules. An unknown element is named in the error.
func ParseFormula(text string, els Elements, rules map[string]Rule) (Formula, error) {
	toks := formulaTokens(text)
	bad := invalid("formula", "公式格式应为 [系数 ×] 分子 [÷ 分母]，如 100 × community_workers_certified ÷ community_workers",
		"the formula reads [factor ×] numerator [÷ denominator], e.g. 100 × community_workers_certified ÷ community_workers")
	if len(toks) == 0 {
		return Formula{}, invalid("formula", "公式不能为空", "the formula is required")
	}
	f := Formula{Factor: 1}
	i := 0
	if v, err := strconv.ParseFloat(toks[0], 64); err == nil {
		if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 || v > 1e9 {
			return Formula{}, invalid("formula", "系数须为 0 至 10^9 之间的正数："+toks[0], "the factor must be a positive number up to 10^9: "+toks[0])
		}
		if len(toks) < 3 || toks[1] != "*" {
			return Formula{}, bad
		}
		f.Factor, i = v, 2
	}
	elem := func() (string, error) {
		if i >= len(toks) {
			return "", bad
		}
		k := toks[i]
		i++
		if strings.ContainsAny(k, "*/()") {
			return "", bad
		}
		_, known := els[k]
		if _, own := rules[k]; !known && !(own && strings.HasPrefix(k, OwnPrefix)) {
			return "", unknownElement(k)
		}
		return k, nil
	}
	expect := func(t string) error {
		if i >= len(toks) || toks[i] != t {
			return bad
		}
		i++
		return nil
	}
	var err error
	if toks[i] == "(" {
		// (a ÷ b) ÷ (c ÷ d): a ratio of two means, as I01.
		i++
		steps := []func() error{
			func() error { f.Num, err = elem(); return err }, func() error { return expect("/") },
			func() error { f.Den, err = elem(); return err }, func() error { return expect(")") },
			func() error { return expect("/") }, func() error { return expect("(") },
			func() error { f.Num2, err = elem(); return err }, func() error { return expect("/") },
			func() error { f.Den2, err = elem(); return err }, func() error { return expect(")") },
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return Formula{}, err
			}
		}
	} else {
		if f.Num, err = elem(); err != nil {
			return Formula{}, err
		}
		if i < len(toks) {
			if err := expect("/"); err != nil {
				return Formula{}, err
			}
			if f.Den, err = elem(); err != nil {
				return Formula{}, err
			}
		}
	}
	if i != len(toks) {
		return Formula{}, bad
	}
	// A plain sum adds up over children (and so may its targets); a
	// distinct count of cities does not.
	f.Additive = f.Den == "" && !els[f.Num].Distinct4 // own elements are sums
	return f, nil
}

func unknownElement(k string) error {
	return invalid("formula", "公式中的数据元素“"+k+"”不存在（可用的数据元素见目录页）", "the formula names an unknown data element \""+k+"\" (the catalogue page lists them)")
}

// formulaTokens splits a formula into numbers, element keys and operators.
func formulaTokens(text string) []string {
	r := strings.NewReplacer("×", " * ", "÷", " / ", "*", " * ", "/", " / ", "(", " ( ", ")", " ) ", "（", " ( ", "）", " ) ", "Σ", " ")
	return strings.Fields(r.Replace(text))
}

// normalize fills defaults and checks every field of a definition; the
// first problem is returned, naming the field.
func (d *Definition) normalize(els Elements, rules map[string]Rule) (Formula, error) {
	d.ID = strings.ToUpper(strings.TrimSpace(d.ID))
	d.NameZH, d.NameEN, d.Unit = strings.TrimSpace(d.NameZH), strings.TrimSpace(d.NameEN), strings.TrimSpace(d.Unit)
	d.Why, d.Formula = strings.TrimSpace(d.Why), strings.TrimSpace(d.Formula)
	switch {
	case !idPattern.MatchString(d.ID):
		return Formula{}, invalid("id", "指标编号须为 2–16 位大写字母、数字、- 或 _，以字母开头："+d.ID, "the indicator ID is 2–16 capital letters, digits, - or _, starting with a letter: "+d.ID)
	case planPattern.MatchString(d.ID):
		return Formula{}, invalid("id", "编号 "+d.ID+" 为规划指标保留（I01–I22、C01–C21 式样）", "IDs like "+d.ID+" are reserved for the plan's indicators (I01–I22, C01–C21)")
	case !divisions.ValidCode(d.Division):
		return Formula{}, invalid("division_code", "区划代码格式不正确："+d.Division, "malformed division code: "+d.Division)
	case divisions.LevelOf(d.Division) > 4:
		return Formula{}, invalid("division_code", "自设指标由乡镇(街道)及以上单位设立", "own indicators are set by a township or a higher level")
	case d.NameZH == "" || utf8.RuneCountInString(d.NameZH) > 100:
		return Formula{}, invalid("name_zh", "指标名称（中文）必填，不超过 100 字", "the Chinese name is required, at most 100 characters")
	case utf8.RuneCountInString(d.NameEN) > 200:
		return Formula{}, invalid("name_en", "英文名称不超过 200 字符", "the English name is at most 200 characters")
	case d.Unit == "" || utf8.RuneCountInString(d.Unit) > 20:
		return Formula{}, invalid("unit", "计量单位必填，不超过 20 字", "the unit is required, at most 20 characters")
	case utf8.RuneCountInString(d.Why) > 1000:
		return Formula{}, invalid("why", "说明不超过 1000 字", "the explanation is at most 1000 characters")
	}
	if d.NameEN == "" {
		d.NameEN = d.NameZH
	}
	if d.TargetYear == 0 {
		d.TargetYear = 2025
	}
	if err := checkPeriod(d.TargetYear); err != nil {
		return Formula{}, invalid("target_year", err.Msg.ZH, err.Msg.EN)
	}
	if d.Attribute == "" {
		d.Attribute = "预期性"
	}
	if d.Attribute != "预期性" && d.Attribute != "约束性" {
		return Formula{}, invalid("attribute", "属性须为 预期性 或 约束性", "the attribute is 预期性 (expected) or 约束性 (binding)")
	}
	if d.Direction == "" {
		d.Direction = "higher"
	}
	if d.Direction != "higher" && d.Direction != "lower" {
		return Formula{}, invalid("direction", "方向须为 higher（越高越好）或 lower（越低越好）", "the direction is higher or lower (is better)")
	}
	for _, x := range []struct {
		field string
		v     *float64
		zh    string
	}{{"baseline", d.Baseline, "基期值"}, {"target", d.Target, "目标值"}} {
		if x.v == nil {
			continue
		}
		if math.IsNaN(*x.v) || math.IsInf(*x.v, 0) || *x.v < 0 || (d.Unit == "%" && *x.v > 100) {
			return Formula{}, invalid(x.field, x.zh+"无效（不能为负，百分比不超过 100）", x.field+" is invalid (not negative; a percentage is at most 100)")
		}
	}
	f, err := ParseFormula(d.Formula, els, rules)
	if err != nil {
		return Formula{}, err
	}
	for _, k := range []string{f.Num, f.Den, f.Num2, f.Den2} {
		// Another division's own element does not exist for this one.
		if r, ok := rules[k]; ok && r.Owner != "" && !strings.HasPrefix(d.Division, r.Owner) {
			return Formula{}, unknownElement(k)
		}
	}
	if d.Why == "" {
		d.Why = d.Formula
	}
	f.Why = d.Why
	return f, nil
}

func (d Definition) indicator(f Formula, els Elements, rules map[string]Rule) Indicator {
	in := Indicator{ID: d.ID, Source: "自设 own", Owner: d.Division, NameZH: d.NameZH, NameEN: d.NameEN, Unit: d.Unit,
		Baseline: d.Baseline, Target: d.Target, TargetYear: d.TargetYear, Attribute: d.Attribute, Direction: d.Direction,
		Binding: d.Attribute == "约束性", Formula: f, Why: d.Why, Definition: d.Formula}
	in.Expression = f.describe(func(k string) string {
		if r, ok := rules[k]; ok {
			return r.NameZH
		}
		return els.name(k)
	})
	return in
}

// Define saves a new own indicator (update false) or replaces the
// definition of an existing one (update true). Only an officer whose
// jurisdiction holds the division may; nothing is saved on any problem.
func (s *Store) Define(ctx context.Context, d Definition, update bool) (Indicator, error) {
	p, err := officer(ctx)
	if err != nil {
		return Indicator{}, err
	}
	rules, err := s.rules(ctx)
	if err != nil {
		return Indicator{}, err
	}
	f, err := d.normalize(s.Elements, rules)
	if err != nil {
		return Indicator{}, err
	}
	if !access.BusinessScope(p).Contains(d.Division) {
		return Indicator{}, divisionNotFound(d.Division)
	}
	in := d.indicator(f, s.Elements, rules)
	noSuch := fault.NotFound(fault.M("没有可修改的自设指标 "+d.ID, "no own indicator "+d.ID+" that you may change"))
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := divisionExists(ctx, tx, d.Division); err != nil {
			return err
		}
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT division_code FROM ind_custom WHERE id = $1`, d.ID).Scan(&owner)
		switch {
		case err == nil && !update:
			return invalid("id", "指标编号 "+d.ID+" 已被使用", "the indicator ID "+d.ID+" is taken")
		case errors.Is(err, sql.ErrNoRows) && update:
			return noSuch
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		case update && !access.BusinessScope(p).Contains(owner):
			return noSuch
		}
		now := db.T(s.Now())
		if update {
			_, err = tx.ExecContext(ctx, `UPDATE ind_custom SET division_code = $2, name_zh = $3, name_en = $4, unit = $5, formula = $6, baseline = $7, target = $8,
				target_year = $9, attribute = $10, direction = $11, why = $12, created_by = $13, updated_at = $14 WHERE id = $1`,
				d.ID, d.Division, d.NameZH, d.NameEN, d.Unit, d.Formula, nullable(d.Baseline), nullable(d.Target), d.TargetYear, d.Attribute, d.Direction, d.Why, p.Username, now)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO ind_custom (id, division_code, name_zh, name_en, unit, formula, baseline, target, target_year, attribute, direction, why, created_by, updated_at)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`,
				d.ID, d.Division, d.NameZH, d.NameEN, d.Unit, d.Formula, nullable(d.Baseline), nullable(d.Target), d.TargetYear, d.Attribute, d.Direction, d.Why, p.Username, now)
		}
		if db.IsUniqueViolation(err) {
			return invalid("id", "指标编号 "+d.ID+" 已被使用", "the indicator ID "+d.ID+" is taken")
		}
		if err != nil {
			return err
		}
		action := "indicator.define"
		if update {
			action = "indicator.redefine"
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: action, Object: "indicator", ObjectID: d.ID, Division: d.Division, Detail: audit.Detail(d)})
	})
	return in, err
}

// Undefine deletes an own indicator with its targets and stored values.
func (s *Store) Undefine(ctx context.Context, id string) error {
	p, err := officer(ctx)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		owner, err := ownedTx(ctx, tx, p, `SELECT division_code FROM ind_custom WHERE id = $1`, id,
			fault.M("没有可删除的自设指标 "+id, "no own indicator "+id+" that you may delete"))
		if err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM ind_targets WHERE indicator = $1`, `DELETE FROM ind_values WHERE indicator = $1`, `DELETE FROM ind_custom WHERE id = $1`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "indicator.undefine", Object: "indicator", ObjectID: id, Division: owner})
	})
}

// ownedTx reads the defining division of an own indicator or element;
// one outside the officer's jurisdiction does not exist for them: both
// are answered with notFound.
func ownedTx(ctx context.Context, tx *sql.Tx, p *access.Principal, query, key string, notFound fault.Msg) (string, error) {
	var owner string
	err := tx.QueryRowContext(ctx, query, key).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !access.BusinessScope(p).Contains(owner) {
		return "", fault.NotFound(notFound)
	}
	return owner, err
}

// Custom returns every own indicator (all divisions: the recompute and the
// caller's filtering decide what is shown). A stored definition that no
// longer parses (its own element is gone) is left out.
func (s *Store) Custom(ctx context.Context) ([]Indicator, error) {
	rules, err := s.rules(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, division_code, name_zh, name_en, unit, formula, baseline, target, target_year, attribute, direction, why
		FROM ind_custom ORDER BY division_code, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Indicator
	for rows.Next() {
		var d Definition
		var b, t sql.NullFloat64
		if err := rows.Scan(&d.ID, &d.Division, &d.NameZH, &d.NameEN, &d.Unit, &d.Formula, &b, &t, &d.TargetYear, &d.Attribute, &d.Direction, &d.Why); err != nil {
			return nil, err
		}
		if b.Valid {
			d.Baseline = &b.Float64
		}
		if t.Valid {
			d.Target = &t.Float64
		}
		f, err := ParseFormula(d.Formula, s.Elements, rules)
		if err != nil {
			continue
		}
		f.Why = d.Why
		out = append(out, d.indicator(f, s.Elements, rules))
	}
	return out, rows.Err()
}

// Indicators is the catalogue that applies to a division: the plan's and the
// own indicators of the division and of every division enclosing it.
// Binding indicators come first, the plan's before own ones.
func (s *Store) Indicators(ctx context.Context, plan []Indicator, code string) ([]Indicator, error) {
	custom, err := s.Custom(ctx)
	if err != nil {
		return nil, err
	}
	out := append([]Indicator{}, plan...)
	for _, in := range custom {
		if strings.HasPrefix(code, in.Owner) {
			out = append(out, in)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Binding && !out[j].Binding })
	return out, nil
}

// ownerCode is the division whose target the indicator's Target is: the
// province for the plan's, the defining division for an own indicator.
func (in Indicator) ownerCode() string {
	if in.Owner != "" {
		return in.Owner
	}
	return "33"
}
