package assistance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// Programme is one assistance programme a county runs, with its current
// rule version.
type Programme struct {
	ID        string   `json:"id"`
	County    string   `json:"county"`
	Code      string   `json:"code"`
	NameZH    string   `json:"name_zh"`
	NameEN    string   `json:"name_en"`
	AppliesTo string   `json:"applies_to"` // household or person
	Level     string   `json:"level"`      // township or county: who approves
	Documents []string `json:"documents"`
	Version   int      `json:"rule_version"`
	Rule      Rule     `json:"rule"`
}

// Name is the programme's name as a message.
func (p Programme) Name() fault.Msg { return fault.M(p.NameZH, p.NameEN) }

// Catalogue is the platform's default programme list; a county starts
// running them with EnableCounty and may add its own.
func Catalogue() []Programme {
	idDocs := []string{"身份证或户口簿 / ID card or household register", "家庭经济状况核对授权书 / consent to the economic check"}
	return []Programme{
		{Code: "dibao", NameZH: "最低生活保障", NameEN: "Minimum living allowance (dibao)", AppliesTo: "household", Level: "county", Documents: idDocs,
			Rule: Rule{IncomeMaxPermille: 1000, AssetsMonths: 24, Benefit: Benefit{Kind: BenefitGap, TopUps: []TopUp{{Condition: CondDisabled, Permille: 200}}}}},
		{Code: "tekun", NameZH: "特困人员供养", NameEN: "Support for persons in extreme poverty (tekun)", AppliesTo: "person", Level: "county", Documents: idDocs,
			Rule: Rule{IncomeMaxPermille: 1000, AssetsMonths: 24, Requires: []string{CondElderly, CondSevereDisabled, CondMinor}, NoLabour: true,
				Benefit: Benefit{Kind: BenefitStandard, Permille: 1300, Per: "member"}}},
		{Code: "dibao_edge", NameZH: "低保边缘家庭", NameEN: "Near-dibao households", AppliesTo: "household", Level: "county", Documents: idDocs,
			Rule: Rule{IncomeMinPermille: 1000, IncomeMaxPermille: 1500, AssetsMonths: 24, Benefit: Benefit{Kind: BenefitNone}}},
		{Code: "temporary", NameZH: "临时救助", NameEN: "Temporary assistance", AppliesTo: "household", Level: "township", Documents: idDocs,
			Rule: Rule{IncomeMaxPermille: 2000, Benefit: Benefit{Kind: BenefitFixed, FixedFen: 100000}}},
		{Code: "medical", NameZH: "医疗救助", NameEN: "Medical assistance", AppliesTo: "person", Level: "county", Documents: append(idDocs, "医疗费用票据 / medical bills"),
			Rule: Rule{IncomeMaxPermille: 1500, Requires: []string{CondIll}, Benefit: Benefit{Kind: BenefitNone}}},
		{Code: "education", NameZH: "教育救助", NameEN: "Education assistance", AppliesTo: "person", Level: "county", Documents: append(idDocs, "在校证明 / proof of enrolment"),
			Rule: Rule{IncomeMaxPermille: 1500, Requires: []string{CondStudent}, Benefit: Benefit{Kind: BenefitFixed, FixedFen: 50000, Per: "member"}}},
		{Code: "housing", NameZH: "住房救助", NameEN: "Housing assistance", AppliesTo: "household", Level: "county", Documents: append(idDocs, "住房情况说明 / housing statement"),
			Rule: Rule{IncomeMaxPermille: 1500, AssetsMonths: 24, Requires: []string{CondHousing}, Benefit: Benefit{Kind: BenefitNone}}},
		{Code: "employment", NameZH: "就业救助", NameEN: "Employment assistance", AppliesTo: "person", Level: "township", Documents: idDocs,
			Rule: Rule{IncomeMaxPermille: 1500, Requires: []string{CondUnemployed}, Benefit: Benefit{Kind: BenefitNone}}},
		{Code: "disability", NameZH: "残疾人两项补贴", NameEN: "Two disability subsidies", AppliesTo: "person", Level: "county", Documents: append(idDocs, "残疾人证 / disability certificate"),
			Rule: Rule{IncomeMaxPermille: 1500, Requires: []string{CondDisabled}, Benefit: Benefit{Kind: BenefitFixed, FixedFen: 15000, Per: "member"}}},
	}
}

var errNoProgramme = fault.NotFound(fault.M("没有这个救助项目", "no such programme"))

// countyOf is the county code (6 digits) of a division code.
func countyOf(code string) string {
	if len(code) < 6 {
		return ""
	}
	return code[:6]
}

// countyOfficer checks that the principal in ctx is an officer of county
// (or above it) and returns them.
func countyOfficer(ctx context.Context, county string) (*access.Principal, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer || len(p.Division) > 6 || !access.Encloses(p.Division, county) || len(county) != 6 {
		return nil, fault.Forbidden(fault.M("只有本县（市、区）及以上民政干部可以设置救助项目和标准", "only officers of the county or above may set programmes and standards"))
	}
	return p, nil
}

// EnableCounty starts a county running the platform's catalogue (rule
// version 1 each); programmes it already runs are left as they are.
func (s *Store) EnableCounty(ctx context.Context, county string) error {
	p, err := countyOfficer(ctx, county)
	if err != nil {
		return err
	}
	now := db.T(s.Now())
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, c := range Catalogue() {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ast_programmes WHERE county = $1 AND code = $2`, county, c.Code).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			if err := s.insertProgramme(ctx, tx, county, c, p.Username, now); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "assistance.enable", Object: "county", ObjectID: county, Division: county})
	})
}

func (s *Store) insertProgramme(ctx context.Context, tx *sql.Tx, county string, c Programme, by string, now db.Time) error {
	id := db.NewID()
	docs, _ := json.Marshal(c.Documents)
	rule, _ := json.Marshal(c.Rule)
	if _, err := tx.ExecContext(ctx, `INSERT INTO ast_programmes (id, county, code, name_zh, name_en, applies_to, level, documents, active, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,TRUE,$9,$9)`, id, county, c.Code, c.NameZH, c.NameEN, c.AppliesTo, c.Level, string(docs), now); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO ast_rules (programme_id, version, rule, created_by, created_at) VALUES ($1, 1, $2, $3, $4)`, id, string(rule), by, now)
	return err
}

// ProgrammeInput is a county's own programme.
type ProgrammeInput struct {
	County    string   `json:"county"`
	Code      string   `json:"code"`
	NameZH    string   `json:"name_zh"`
	NameEN    string   `json:"name_en"`
	AppliesTo string   `json:"applies_to"`
	Level     string   `json:"level"`
	Documents []string `json:"documents"`
	Rule      Rule     `json:"rule"`
}

// AddProgramme adds a county's own programme with its first rule version.
func (s *Store) AddProgramme(ctx context.Context, in ProgrammeInput) (Programme, error) {
	p, err := countyOfficer(ctx, in.County)
	if err != nil {
		return Programme{}, err
	}
	var fields []fault.FieldError
	if !codeOK(in.Code) {
		fields = append(fields, fault.Field("code", fault.M("代码为 2–32 位小写字母、数字或下划线", "the code is 2–32 lower-case letters, digits or underscores")))
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(in.NameZH)); n == 0 || n > 40 {
		fields = append(fields, fault.Field("name_zh", fault.M("请填写中文名称（不超过 40 字）", "give the Chinese name (40 characters at most)")))
	}
	if in.AppliesTo != "household" && in.AppliesTo != "person" {
		fields = append(fields, fault.Field("applies_to", fault.M("申请单位应为 household 或 person", "applies_to is household or person")))
	}
	if in.Level != "township" && in.Level != "county" {
		fields = append(fields, fault.Field("level", fault.M("审批层级应为 township 或 county", "level is township or county")))
	}
	if fe := ValidRule(in.Rule); fe != nil {
		fields = append(fields, *fe)
	}
	if len(fields) > 0 {
		return Programme{}, fault.Invalid(fault.M("救助项目有误", "the programme has errors"), fields...)
	}
	c := Programme{Code: in.Code, NameZH: strings.TrimSpace(in.NameZH), NameEN: strings.TrimSpace(in.NameEN), AppliesTo: in.AppliesTo, Level: in.Level, Documents: in.Documents, Rule: in.Rule}
	if c.Documents == nil {
		c.Documents = []string{}
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertProgramme(ctx, tx, in.County, c, p.Username, db.T(s.Now())); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Conflict(fault.M("本县已有代码为 "+in.Code+" 的救助项目", "the county already runs a programme "+in.Code))
			}
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "assistance.programme_add", Object: "programme", ObjectID: in.County + "/" + in.Code, Division: in.County})
	})
	if err != nil {
		return Programme{}, err
	}
	return s.Programme(ctx, in.County, in.Code)
}

func codeOK(c string) bool {
	if len(c) < 2 || len(c) > 32 {
		return false
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// PublishRule adds the next rule version of a county's programme; later
// applications use it, earlier decisions keep the version they used.
func (s *Store) PublishRule(ctx context.Context, county, code string, r Rule) (Programme, error) {
	p, err := countyOfficer(ctx, county)
	if err != nil {
		return Programme{}, err
	}
	if fe := ValidRule(r); fe != nil {
		return Programme{}, fault.Invalid(fault.M("规则有误", "the rule has errors"), *fe)
	}
	cur, err := s.Programme(ctx, county, code)
	if err != nil {
		return Programme{}, err
	}
	raw, _ := json.Marshal(r)
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var v int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM ast_rules WHERE programme_id = $1`, cur.ID).Scan(&v); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ast_rules (programme_id, version, rule, created_by, created_at) VALUES ($1,$2,$3,$4,$5)`,
			cur.ID, v+1, string(raw), p.Username, db.T(s.Now())); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "assistance.rule_publish", Object: "programme", ObjectID: county + "/" + code, Division: county, Detail: "version " + strconv.Itoa(v+1)})
	})
	if err != nil {
		return Programme{}, err
	}
	return s.Programme(ctx, county, code)
}

const programmeCols = `p.id, p.county, p.code, p.name_zh, p.name_en, p.applies_to, p.level, p.documents, r.version, r.rule`

// latestRule joins each programme's highest rule version.
const latestRule = `JOIN ast_rules r ON r.programme_id = p.id AND r.version = (SELECT MAX(version) FROM ast_rules x WHERE x.programme_id = p.id)`

func scanProgramme(r db.Scanner) (Programme, error) {
	var p Programme
	var docs, rule string
	if err := r.Scan(&p.ID, &p.County, &p.Code, &p.NameZH, &p.NameEN, &p.AppliesTo, &p.Level, &docs, &p.Version, &rule); err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(docs), &p.Documents); err != nil {
		return p, err
	}
	return p, json.Unmarshal([]byte(rule), &p.Rule)
}

// Programmes lists the programmes a county runs, with their current rules.
func (s *Store) Programmes(ctx context.Context, county string) ([]Programme, error) {
	return db.Collect(ctx, s.DB.R, scanProgramme, `SELECT `+programmeCols+` FROM ast_programmes p `+latestRule+`
		WHERE p.county = $1 AND p.active ORDER BY p.created_at, p.code`, county)
}

// Programme is one programme of a county, by code.
func (s *Store) Programme(ctx context.Context, county, code string) (Programme, error) {
	row := s.DB.R.QueryRowContext(ctx, `SELECT `+programmeCols+` FROM ast_programmes p `+latestRule+` WHERE p.county = $1 AND p.code = $2`, county, code)
	p, err := scanProgramme(row)
	if errors.Is(err, sql.ErrNoRows) {
		return p, errNoProgramme
	}
	return p, err
}

// ruleOf reads one rule version of a programme.
func (s *Store) ruleOf(ctx context.Context, q rowQuerier, programmeID string, version int) (Rule, error) {
	var raw string
	if err := q.QueryRowContext(ctx, `SELECT rule FROM ast_rules WHERE programme_id = $1 AND version = $2`, programmeID, version).Scan(&raw); err != nil {
		return Rule{}, err
	}
	var r Rule
	return r, json.Unmarshal([]byte(raw), &r)
}

// Standard is a county's 低保标准 for a year (monthly, per person).
type Standard struct {
	County   string `json:"county"`
	Year     int    `json:"year"`
	DibaoFen int64  `json:"dibao_fen"`
}

// SetStandard sets (or changes) a county's standard for a year.
func (s *Store) SetStandard(ctx context.Context, in Standard) error {
	p, err := countyOfficer(ctx, in.County)
	if err != nil {
		return err
	}
	if in.Year < 2000 || in.Year > 2100 {
		return fault.Invalid(fault.M("标准有误", "the standard has errors"), fault.Field("year", fault.M("年份应在 2000–2100 之间", "the year lies in 2000–2100")))
	}
	if in.DibaoFen <= 0 || in.DibaoFen > 10_000_000 {
		return fault.Invalid(fault.M("标准有误", "the standard has errors"), fault.Field("dibao_fen", fault.M("低保标准应为正数（分/人·月）", "the standard is a positive amount (fen per person and month)")))
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ast_standards SET dibao_fen = $3, set_by = $4, updated_at = $5 WHERE county = $1 AND year = $2`, in.County, in.Year, in.DibaoFen, p.Username, db.T(s.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ast_standards (county, year, dibao_fen, set_by, updated_at) VALUES ($1,$2,$3,$4,$5)`, in.County, in.Year, in.DibaoFen, p.Username, db.T(s.Now())); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "assistance.standard_set", Object: "standard", ObjectID: in.County + "/" + strconv.Itoa(in.Year), Division: in.County, Detail: Yuan(in.DibaoFen)})
	})
}

// Standards lists a county's standards by year.
func (s *Store) Standards(ctx context.Context, county string) ([]Standard, error) {
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Standard, error) {
		var st Standard
		return st, r.Scan(&st.County, &st.Year, &st.DibaoFen)
	}, `SELECT county, year, dibao_fen FROM ast_standards WHERE county = $1 ORDER BY year`, county)
}
