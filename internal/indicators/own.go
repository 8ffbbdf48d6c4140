package indicators

// Own reported data elements: a city's own indicator often needs data the
// platform does not hold (e.g. village council meetings held). An officer
// defines the element — names, unit, bounds and the one level that reports
// it — and then its divisions enter or import it like the built-in reported
// elements, and formulas name it by its key (always beginning own_).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
)

var migrationOwnElements = db.Migration{
	ID: "indicators/004_own_elements",
	SQL: `
CREATE TABLE ind_own_elements (
	key TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	name_zh TEXT NOT NULL,
	name_en TEXT NOT NULL,
	unit TEXT NOT NULL,
	min_value DOUBLE PRECISION NOT NULL,
	max_value DOUBLE PRECISION NOT NULL,
	level INTEGER NOT NULL,
	created_by TEXT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
`,
}

// Rule says how a reported element is entered.
type Rule struct {
	Key    string  `json:"key"`
	NameZH string  `json:"name_zh"`
	NameEN string  `json:"name_en"`
	Unit   string  `json:"unit"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Level  int     `json:"level"`                   // the division level that reports it
	Owner  string  `json:"division_code,omitempty"` // own elements: the defining division; reported inside it only
}

var ownKeyPattern = regexp.MustCompile(`^own_[a-z][a-z0-9_]{1,40}$`)

// rules returns every reported element: the built-in ones and the own ones.
func (s *Store) rules(ctx context.Context) (map[string]Rule, error) {
	out := make(map[string]Rule, len(bounds))
	for k, b := range bounds {
		e := s.Elements[k]
		out[k] = Rule{Key: k, NameZH: e.NameZH, NameEN: e.NameEN, Min: b[0], Max: b[1], Level: reportLevel[k]}
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT key, division_code, name_zh, name_en, unit, min_value, max_value, level FROM ind_own_elements`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r Rule
		if err := rows.Scan(&r.Key, &r.Owner, &r.NameZH, &r.NameEN, &r.Unit, &r.Min, &r.Max, &r.Level); err != nil {
			return nil, err
		}
		out[r.Key] = r
	}
	return out, rows.Err()
}

// checkValue applies the rules of one reported value: a known element,
// reported at its level (and inside its division, for an own element),
// within its bounds.
func checkValue(rules map[string]Rule, code, k string, v float64) *fault.Error {
	r, ok := rules[k]
	if !ok {
		return invalid(k, "未知的填报数据项："+k, "unknown reported data element: "+k)
	}
	if r.Owner != "" && !strings.HasPrefix(code, r.Owner) {
		// Another division's own element does not exist here.
		return invalid(k, "未知的填报数据项："+k, "unknown reported data element: "+k)
	}
	if divisions.LevelOf(code) != r.Level {
		zh, en := divisions.LevelName(r.Level)
		return invalid(k, r.NameZH+" 由"+zh+"级填报", r.NameEN+" is reported by each "+strings.ToLower(en))
	}
	if math.IsNaN(v) || v < r.Min || v > r.Max {
		return invalid(k, fmt.Sprintf("%s 须在 %g 至 %g 之间", r.NameZH, r.Min, r.Max), fmt.Sprintf("%s must be from %g to %g", r.NameEN, r.Min, r.Max))
	}
	return nil
}

// DefineElement saves an own reported element. Its key gets the own_
// prefix when it lacks one; nothing is saved on any problem.
func (s *Store) DefineElement(ctx context.Context, r Rule) (Rule, error) {
	p, err := officer(ctx)
	if err != nil {
		return r, err
	}
	r.Key = strings.ToLower(strings.TrimSpace(r.Key))
	if !strings.HasPrefix(r.Key, OwnPrefix) {
		r.Key = OwnPrefix + r.Key
	}
	r.NameZH, r.NameEN, r.Unit, r.Owner = strings.TrimSpace(r.NameZH), strings.TrimSpace(r.NameEN), strings.TrimSpace(r.Unit), strings.TrimSpace(r.Owner)
	if r.NameEN == "" {
		r.NameEN = r.NameZH
	}
	switch {
	case !ownKeyPattern.MatchString(r.Key):
		return r, invalid("key", "数据项键须为小写字母开头的 2–41 位小写字母、数字或 _："+r.Key, "the key is 2–41 lower-case letters, digits or _, starting with a letter: "+r.Key)
	case !divisions.ValidCode(r.Owner) || divisions.LevelOf(r.Owner) > 4:
		return r, invalid("division_code", "设立单位须为乡镇(街道)及以上的区划代码："+r.Owner, "the defining division is a township or higher: "+r.Owner)
	case r.NameZH == "" || utf8.RuneCountInString(r.NameZH) > 100 || utf8.RuneCountInString(r.NameEN) > 200:
		return r, invalid("name_zh", "名称（中文）必填，不超过 100 字", "the Chinese name is required, at most 100 characters")
	case r.Unit == "" || utf8.RuneCountInString(r.Unit) > 20:
		return r, invalid("unit", "计量单位必填，不超过 20 字", "the unit is required, at most 20 characters")
	case r.Level < divisions.LevelOf(r.Owner) || r.Level > 5:
		return r, invalid("level", "填报层级须为设立单位本级或其下级（1 省 … 5 村(社区)）", "the reporting level is the defining division's or one below it (1 province … 5 village)")
	case math.IsNaN(r.Min) || math.IsNaN(r.Max) || math.IsInf(r.Min, 0) || math.IsInf(r.Max, 0) || r.Min < 0 || r.Max <= r.Min || r.Max > 1e15:
		return r, invalid("max", "取值范围无效：须 0 ≤ 最小值 < 最大值 ≤ 10^15", "invalid range: 0 ≤ min < max ≤ 10^15")
	}
	if !access.BusinessScope(p).Contains(r.Owner) {
		return r, divisionNotFound(r.Owner)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := divisionExists(ctx, tx, r.Owner); err != nil {
			return err
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM ind_own_elements WHERE key = $1`, r.Key).Scan(&one); err == nil {
			return invalid("key", "数据项键 "+r.Key+" 已被使用", "the key "+r.Key+" is taken")
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// Names are unique among reported elements, so that a file's
		// column named in Chinese finds exactly one.
		for k, e := range s.Elements {
			if e.NameZH == r.NameZH {
				return invalid("name_zh", "名称“"+r.NameZH+"”已是数据项 "+k+" 的名称", "the name is already that of element "+k)
			}
		}
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM ind_own_elements WHERE name_zh = $1`, r.NameZH).Scan(&one); err == nil {
			return invalid("name_zh", "名称“"+r.NameZH+"”已被其他自设数据项使用", "another own element has this name")
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ind_own_elements (key, division_code, name_zh, name_en, unit, min_value, max_value, level, created_by, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, r.Key, r.Owner, r.NameZH, r.NameEN, r.Unit, r.Min, r.Max, r.Level, p.Username, db.T(s.Now()))
		if db.IsUniqueViolation(err) {
			return invalid("key", "数据项键 "+r.Key+" 已被使用", "the key "+r.Key+" is taken")
		}
		if err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "indicator.element.define", Object: "data_element", ObjectID: r.Key, Division: r.Owner, Detail: audit.Detail(r)})
	})
	return r, err
}

// DeleteElement removes an own element that nothing uses.
func (s *Store) DeleteElement(ctx context.Context, key string) error {
	p, err := officer(ctx)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		owner, err := ownedTx(ctx, tx, p, `SELECT division_code FROM ind_own_elements WHERE key = $1`, key,
			fault.M("没有可删除的自设数据项 "+key, "no own data element "+key+" that you may delete"))
		if err != nil {
			return err
		}
		// In the deleting transaction, so that no formula can start naming it unseen.
		rows, err := tx.QueryContext(ctx, `SELECT id, formula FROM ind_custom ORDER BY id`)
		if err != nil {
			return err
		}
		var user string
		for rows.Next() && user == "" {
			var id, formula string
			if err := rows.Scan(&id, &formula); err != nil {
				rows.Close()
				return err
			}
			for _, tok := range formulaTokens(formula) {
				if tok == key {
					user = id
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if user != "" {
			return invalid("key", "指标 "+user+" 的公式使用了 "+key+"，须先修改或删除该指标", "indicator "+user+" uses "+key+"; change or delete it first")
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ind_reported WHERE element = $1`, key).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return invalid("key", fmt.Sprintf("%s 已有 %d 个填报值，不能删除", key, n), fmt.Sprintf("%s holds %d reported values and cannot be deleted", key, n))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ind_own_elements WHERE key = $1`, key); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "indicator.element.delete", Object: "data_element", ObjectID: key, Division: owner})
	})
}

// ownRules lists the own elements the caller sees, by key.
func (s *Store) ownRules(ctx context.Context) ([]Rule, error) {
	all, err := s.rules(ctx)
	if err != nil {
		return nil, err
	}
	p := access.From(ctx)
	var out []Rule
	for _, r := range all {
		if r.Owner != "" && sees(p, Indicator{Owner: r.Owner}) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
