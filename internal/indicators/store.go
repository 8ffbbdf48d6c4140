package indicators

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
)

// Migrations of the indicators module.
var Migrations = []db.Migration{{
	ID: "indicators/001_tables",
	SQL: `
CREATE TABLE ind_reported (
	division_code TEXT NOT NULL,
	year INTEGER NOT NULL,
	element TEXT NOT NULL,
	value DOUBLE PRECISION NOT NULL,
	status TEXT NOT NULL,
	entered_by TEXT NOT NULL,
	entered_at TIMESTAMPTZ NOT NULL,
	approved_by TEXT NOT NULL,
	approved_at TIMESTAMPTZ,
	PRIMARY KEY (division_code, year, element)
);
CREATE INDEX ind_reported_element ON ind_reported (element, year, division_code);
CREATE TABLE ind_targets (
	division_code TEXT NOT NULL,
	indicator TEXT NOT NULL,
	year INTEGER NOT NULL,
	target DOUBLE PRECISION NOT NULL,
	set_by TEXT NOT NULL,
	set_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (division_code, indicator, year)
);
INSERT INTO designation_kinds (key, name_zh, name_en, level, sort) VALUES
('beautiful_village_showcase', '新时代美丽乡村精品村', 'New-era beautiful village showcase', 5, 35),
('deliberation_pilot_urban', '城市社区议事协商创新试点', 'Urban community deliberation pilot', 5, 130),
('deliberation_pilot_village', '村级议事协商创新试点', 'Village deliberation pilot', 5, 140);
`,
}, migrationValues, migrationCustom, migrationOwnElements, migrationWaiting}

// Store keeps reported values, targets, own indicators and elements, and
// the precomputed values of one app.
type Store struct {
	DB    *db.DB
	Audit *audit.Log
	// Elements are the data elements formulas may name.
	Elements Elements
	Now      func() time.Time
	values   *values
}

// NewStore is the store of one app over its database, audit log, data
// elements and clock.
func NewStore(d *db.DB, a *audit.Log, els Elements, now func() time.Time) *Store {
	return &Store{DB: d, Audit: a, Elements: els, Now: now, values: newValues()}
}

// Engine computes indicators from the store's data; precomputed reads the
// precomputed values when they are fresh.
func (s *Store) Engine(th Thresholds, precomputed bool) *Engine {
	return &Engine{Store: s, Thresholds: th, Precomputed: precomputed}
}

// invalid refuses the value of one field.
func invalid(field, zh, en string) *fault.Error {
	m := fault.M(zh, en)
	return fault.Invalid(m, fault.Field(field, m))
}

// divisionNotFound answers for a division that does not exist or lies
// outside the caller's jurisdiction: the two are not told apart.
func divisionNotFound(code string) *fault.Error {
	return fault.NotFound(fault.M("区划 "+code+" 不存在或不在您的管辖范围内", "division "+code+" not found or outside your jurisdiction"))
}

// locked refuses a change of approved data.
func locked() *fault.Error {
	return fault.Conflict(fault.M("数据已审核锁定，须上级解锁后才能修改", "the data is approved and locked; ask the level above to unlock it"))
}

// officer is the signed-in officer: only officers enter, import, approve,
// set targets and define indicators.
func officer(ctx context.Context) (*access.Principal, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer {
		return nil, fault.Forbidden(fault.M("只有民政干部可以填报、审核和分解目标", "only officers enter, approve and decompose targets"))
	}
	return p, nil
}

// divisionExists refuses a division that is not in the tree.
func divisionExists(ctx context.Context, tx *sql.Tx, code string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM divisions_tree WHERE code = $1`, code).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return divisionNotFound(code)
	}
	return err
}

// bounds of reported elements: values outside are rejected.
var bounds = map[string][2]float64{
	"urban_income_total": {0, 1e10}, "urban_income_pop": {0, 1e8}, "rural_income_total": {0, 1e10}, "rural_income_pop": {0, 1e8},
	"dibao_standard": {1000, 100000}, "assistance_joint_cases": {0, 1e7}, "assistance_cases": {0, 1e7},
}

// reportLevel is the one division level at which each element is reported,
// so that a roll-up never counts a value twice: statistics and allowance
// standards by counties, assistance casework by townships.
var reportLevel = map[string]int{
	"urban_income_total": 3, "urban_income_pop": 3, "rural_income_total": 3, "rural_income_pop": 3, "dibao_standard": 3,
	"assistance_joint_cases": 4, "assistance_cases": 4,
}

// pairs whose first may not exceed the second for the same unit and year.
var notAbove = [][2]string{{"assistance_joint_cases", "assistance_cases"}}

// checkPeriod refuses a year outside the plan's monitoring frame.
func checkPeriod(year int) *fault.Error {
	if year < 2020 || year > 2035 {
		return invalid("year", fmt.Sprintf("年份 %d 不在规划监测期 2020–2035 内", year), fmt.Sprintf("year %d is outside the monitoring frame 2020–2035", year))
	}
	return nil
}

// Enter saves reported values of one division and year as a draft (or
// overwrites a draft or returned value); approved values are locked.
func (s *Store) Enter(ctx context.Context, code string, year int, values map[string]float64) error {
	p, err := officer(ctx)
	if err != nil {
		return err
	}
	if !access.BusinessScope(p).Contains(code) || !divisions.ValidCode(code) {
		return divisionNotFound(code)
	}
	if err := checkPeriod(year); err != nil {
		return err
	}
	if len(values) == 0 {
		return invalid("values", "没有要保存的数值", "no values to save")
	}
	rules, err := s.rules(ctx)
	if err != nil {
		return err
	}
	for k, v := range values {
		if err := checkValue(rules, code, k, v); err != nil {
			return err
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := divisionExists(ctx, tx, code); err != nil {
			return err
		}
		if err := s.enterTx(ctx, tx, p.Username, code, year, values); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "indicator.report.enter", Object: "division", ObjectID: code, Division: code,
			Detail: audit.Detail(map[string]any{"year": year, "values": values})})
	})
}

// enterTx writes checked values as drafts: a locked (approved) value
// refuses, and the consistency pairs must hold with what is stored.
func (s *Store) enterTx(ctx context.Context, tx *sql.Tx, user, code string, year int, values map[string]float64) error {
	now := db.T(s.Now())
	// Approval locks a division's year as a whole, and everything below
	// it: no value changes and none is added until the level above unlocks.
	approved, err := approvedIn(ctx, tx, year, code)
	if err != nil {
		return err
	}
	if lockedBy(approved, code) {
		return locked()
	}
	for k, v := range values {
		// The guard on status keeps an approval that commits meanwhile.
		res, err := tx.ExecContext(ctx, `INSERT INTO ind_reported (division_code, year, element, value, status, entered_by, entered_at, approved_by, approved_at)
			VALUES ($1,$2,$3,$4,'draft',$5,$6,'',NULL) ON CONFLICT (division_code, year, element) DO UPDATE SET value = excluded.value, status = 'draft',
			entered_by = excluded.entered_by, entered_at = excluded.entered_at WHERE ind_reported.status <> 'approved'`, code, year, k, v, user, now)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n != 1 {
			return locked()
		}
	}
	for _, pr := range notAbove {
		a, err := reportedValue(ctx, tx, code, year, pr[0])
		if err != nil {
			return err
		}
		b, err := reportedValue(ctx, tx, code, year, pr[1])
		if err != nil {
			return err
		}
		if a.Valid && b.Valid && a.Float64 > b.Float64 {
			a, b := s.Elements[pr[0]], s.Elements[pr[1]]
			return invalid(pr[0], a.NameZH+" 不能大于 "+b.NameZH, a.NameEN+" must not exceed "+b.NameEN)
		}
	}
	return nil
}

// reportedValue is one stored value; not Valid when none is stored.
func reportedValue(ctx context.Context, tx *sql.Tx, code string, year int, element string) (sql.NullFloat64, error) {
	var v sql.NullFloat64
	err := tx.QueryRowContext(ctx, `SELECT value FROM ind_reported WHERE division_code = $1 AND year = $2 AND element = $3`, code, year, element).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return v, nil
	}
	return v, err
}

// approvedIn is the set of divisions whose data of the year is approved:
// among the code and its ancestors, or all of them when code is "".
func approvedIn(ctx context.Context, tx *sql.Tx, year int, code string) (map[string]bool, error) {
	q := `SELECT DISTINCT division_code FROM ind_reported WHERE year = $1 AND status = 'approved'`
	args := []any{year}
	if code != "" {
		var ph []string
		for _, l := range codeLevels {
			if l <= len(code) {
				args = append(args, code[:l])
				ph = append(ph, fmt.Sprintf("$%d", len(args)))
			}
		}
		q += ` AND division_code IN (` + strings.Join(ph, ",") + `)`
	}
	return db.StringSet(ctx, tx, q, args...)
}

// lockedBy tells whether code or a division enclosing it is approved.
func lockedBy(approved map[string]bool, code string) bool {
	for _, l := range codeLevels {
		if l <= len(code) && approved[code[:l]] {
			return true
		}
	}
	return false
}

// Approve locks a division's reported values for a year. Only an officer of
// an enclosing division (strictly above) approves, and only after every
// child's values of that year have been approved (DHIS2's order).
func (s *Store) Approve(ctx context.Context, code string, year int, unlock bool) error {
	p, err := officer(ctx)
	if err != nil {
		return err
	}
	if !access.BusinessScope(p).Contains(code) {
		return divisionNotFound(code)
	}
	if p.Division == code {
		return invalid("division_code", "须由上级审核本级数据", "data is approved by the level above")
	}
	sub := access.Subtree(code)
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ind_reported WHERE division_code = $1 AND year = $2`, code, year).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return divisionNotFound(code)
		}
		if !unlock {
			var pending int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ind_reported WHERE division_code > $1 AND division_code < $2 AND year = $3 AND status <> 'approved'`,
				sub.Lo, sub.Hi, year).Scan(&pending); err != nil {
				return err
			}
			if pending > 0 {
				return invalid("division_code", strconv.Itoa(pending)+" 项下级数据尚未审核，须先审核下级", strconv.Itoa(pending)+" values below are not yet approved; approve them first")
			}
			if _, err := tx.ExecContext(ctx, `UPDATE ind_reported SET status = 'approved', approved_by = $1, approved_at = $2 WHERE division_code = $3 AND year = $4`,
				p.Username, db.T(s.Now()), code, year); err != nil {
				return err
			}
		} else {
			// A failed look-up must not read as "not locked".
			var parentLocked int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ind_reported WHERE $1 LIKE division_code || '%' AND division_code <> $1 AND year = $2 AND status = 'approved'`,
				code, year).Scan(&parentLocked); err != nil {
				return err
			}
			if parentLocked > 0 {
				return invalid("division_code", "上级数据已审核锁定，须先解锁上级", "an enclosing level is approved; unlock it first")
			}
			if _, err := tx.ExecContext(ctx, `UPDATE ind_reported SET status = 'draft', approved_by = '', approved_at = NULL WHERE division_code = $1 AND year = $2`, code, year); err != nil {
				return err
			}
		}
		action := "indicator.report.approve"
		if unlock {
			action = "indicator.report.unlock"
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: action, Object: "division", ObjectID: code, Division: code, Detail: audit.Detail(map[string]int{"year": year})})
	})
}

// Reported lists a division's reported values for a year.
func (s *Store) Reported(ctx context.Context, code string, year int) ([]Reported, error) {
	if !access.ScopeOf(ctx).Contains(code) {
		return nil, divisionNotFound(code)
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT element, value, status, entered_by FROM ind_reported WHERE division_code = $1 AND year = $2 ORDER BY element`, code, year)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Reported{}
	for rows.Next() {
		var r Reported
		if err := rows.Scan(&r.Element, &r.Value, &r.Status, &r.EnteredBy); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Reported is one reported value.
type Reported struct {
	Element   string  `json:"element"`
	Value     float64 `json:"value"`
	Status    string  `json:"status"`
	EnteredBy string  `json:"entered_by"`
}

// SetTarget decomposes a target to a division (逐级分解): an officer of an
// enclosing division sets it; for additive indicators the children's targets
// may not add up to more than the parent's; a percentage never exceeds 100.
func (s *Store) SetTarget(ctx context.Context, in Indicator, code string, year int, target float64) error {
	p, err := officer(ctx)
	if err != nil {
		return err
	}
	if !access.BusinessScope(p).Contains(code) || p.Division == code {
		return divisionNotFound(code)
	}
	if err := checkPeriod(year); err != nil {
		return err
	}
	if math.IsNaN(target) || target < 0 || (in.Unit == "%" && target > 100) {
		return invalid("target", in.ID+" 的目标值无效（不能为负，百分比不超过 100）", in.ID+": invalid target (not negative; a percentage is at most 100)")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if in.Formula.Additive {
			parent := divisions.ParentCode(code)
			parentTarget, ok, err := s.targetTx(ctx, tx, in, parent, year)
			if err != nil {
				return err
			}
			if ok {
				var siblings sql.NullFloat64
				if err := tx.QueryRowContext(ctx, `SELECT SUM(t.target) FROM ind_targets t JOIN divisions_tree d ON d.code = t.division_code
					WHERE d.parent_code = $1 AND t.indicator = $2 AND t.year = $3 AND t.division_code <> $4`, parent, in.ID, year, code).Scan(&siblings); err != nil {
					return err
				}
				if siblings.Float64+target > parentTarget {
					return invalid("target", fmt.Sprintf("%s：下级目标之和 %g 将超过上级目标 %g", in.ID, siblings.Float64+target, parentTarget),
						fmt.Sprintf("%s: children's targets would add up to %g, above the parent's %g", in.ID, siblings.Float64+target, parentTarget))
				}
			}
		}
		if in.Formula.Additive {
			var kids sql.NullFloat64
			if err := tx.QueryRowContext(ctx, `SELECT SUM(t.target) FROM ind_targets t JOIN divisions_tree d ON d.code = t.division_code
				WHERE d.parent_code = $1 AND t.indicator = $2 AND t.year = $3`, code, in.ID, year).Scan(&kids); err != nil {
				return err
			}
			if kids.Float64 > target {
				return invalid("target", fmt.Sprintf("%s：已分解给下级的目标之和 %g 大于 %g", in.ID, kids.Float64, target),
					fmt.Sprintf("%s: targets already given to children add up to %g, above %g", in.ID, kids.Float64, target))
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ind_targets (division_code, indicator, year, target, set_by, set_at) VALUES ($1,$2,$3,$4,$5,$6)
			ON CONFLICT (division_code, indicator, year) DO UPDATE SET target = excluded.target, set_by = excluded.set_by, set_at = excluded.set_at`,
			code, in.ID, year, target, p.Username, db.T(s.Now())); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "indicator.target.set", Object: "indicator", ObjectID: in.ID, Division: code,
			Detail: audit.Detail(map[string]any{"year": year, "target": target})})
	})
}

// targetTx is the target of a division: its own, or the plan's for the province.
func (s *Store) targetTx(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, in Indicator, code string, year int) (float64, bool, error) {
	var t float64
	err := q.QueryRowContext(ctx, `SELECT target FROM ind_targets WHERE division_code = $1 AND indicator = $2 AND year = $3`, code, in.ID, year).Scan(&t)
	if err == nil {
		return t, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, err
	}
	if code == in.ownerCode() && in.Target != nil {
		return *in.Target, true, nil
	}
	return 0, false, nil
}

// targetOf is a resolved target: the division's own, the plan's for the
// province, or — for an indicator that is not additive (a rate, a ratio, a
// per-capita figure) and that no one decomposed — the nearest enclosing
// division's, which holds for every part of it. A count's target is never
// inherited: a province's 350 future communities say nothing of one county.
type targetOf struct {
	v    float64
	from string // the division whose target it is, when inherited
}

// targets resolves the targets of every (division, indicator) with one query.
func (s *Store) targets(ctx context.Context, inds []Indicator, codes []string) (map[cellKey]targetOf, error) {
	want := map[string]bool{}
	for _, c := range codes {
		for _, l := range codeLevels {
			if l <= len(c) {
				want[c[:l]] = true
			}
		}
	}
	args := []any{}
	ph := []string{}
	for c := range want {
		args = append(args, c)
		ph = append(ph, fmt.Sprintf("$%d", len(args)))
	}
	own := map[cellKey]map[int]float64{}
	if len(args) > 0 {
		rows, err := s.DB.R.QueryContext(ctx, `SELECT division_code, indicator, year, target FROM ind_targets WHERE division_code IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k cellKey
			var y int
			var t float64
			if err := rows.Scan(&k.code, &k.ind, &y, &t); err != nil {
				rows.Close()
				return nil, err
			}
			if own[k] == nil {
				own[k] = map[int]float64{}
			}
			own[k][y] = t
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	at := func(in Indicator, code string) (float64, bool) {
		if t, ok := own[cellKey{code, in.ID}][in.TargetYear]; ok {
			return t, true
		}
		if code == in.ownerCode() && in.Target != nil {
			return *in.Target, true
		}
		return 0, false
	}
	out := map[cellKey]targetOf{}
	for _, in := range inds {
		for _, c := range codes {
			if t, ok := at(in, c); ok {
				out[cellKey{c, in.ID}] = targetOf{v: t}
				continue
			}
			if in.Formula.Additive {
				continue
			}
			for l := len(codeLevels) - 1; l >= 0; l-- {
				p := codeLevels[l]
				if p >= len(c) {
					continue
				}
				if t, ok := at(in, c[:p]); ok {
					out[cellKey{c, in.ID}] = targetOf{v: t, from: c[:p]}
					break
				}
			}
		}
	}
	return out, nil
}
