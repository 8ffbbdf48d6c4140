package visits

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/questions"
)

const programmeCols = `id, code, division_code, name_zh, name_en, rate_group, unit, tags, min_age, max_age, every_weeks, high_risk_weeks, methods, require_home, tell_resident, questions, active, created_at, updated_at`

func scanProgramme(row db.Scanner) (Programme, error) {
	var p Programme
	var tags, methods, qs string
	var minAge, maxAge sql.NullInt64
	var c, u db.Time
	err := row.Scan(&p.ID, &p.Code, &p.Division, &p.NameZH, &p.NameEN, &p.RateGroup, &p.Unit, &tags, &minAge, &maxAge, &p.EveryWeeks, &p.HighRiskWeeks,
		&methods, &p.RequireHome, &p.TellResident, &qs, &p.Active, &c, &u)
	if err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = c.Time, u.Time
	p.Tags, p.Methods = split(tags), split(methods)
	if minAge.Valid {
		p.MinAge = intp(int(minAge.Int64))
	}
	if maxAge.Valid {
		p.MaxAge = intp(int(maxAge.Int64))
	}
	if err := json.Unmarshal([]byte(qs), &p.Questions); err != nil {
		return p, fmt.Errorf("programme %s questions: %w", p.Code, err)
	}
	return p, nil
}

func split(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func (s *Store) activeProgrammes(ctx context.Context) ([]Programme, error) {
	return db.Collect(ctx, s.DB.R, scanProgramme, `SELECT `+programmeCols+` FROM vis_programmes WHERE active ORDER BY division_code, code`)
}

// Programmes lists the programmes that hold in the caller's division: the
// provincial ones and those of the caller's county (every one for a
// province officer).
func (s *Store) Programmes(ctx context.Context) ([]Programme, error) {
	p := access.From(ctx)
	if p == nil || !p.Role.Business() {
		return nil, errNoRole
	}
	all, err := db.Collect(ctx, s.DB.R, scanProgramme, `SELECT `+programmeCols+` FROM vis_programmes ORDER BY division_code, code`)
	if err != nil {
		return nil, err
	}
	out := []Programme{}
	for _, g := range all {
		if access.Encloses(g.Division, p.Division) || access.Encloses(p.Division, g.Division) {
			out = append(out, g)
		}
	}
	return out, nil
}

// Programme returns one programme by id or code.
func (s *Store) Programme(ctx context.Context, idOrCode string) (Programme, error) {
	ps, err := s.Programmes(ctx)
	if err != nil {
		return Programme{}, err
	}
	for _, p := range ps {
		if p.ID == idOrCode || p.Code == idOrCode {
			return p, nil
		}
	}
	return Programme{}, errNoProgramme
}

var (
	errNoRole      = fault.Forbidden(fault.M("您的角色不能使用探访关爱", "your role may not use care visits"))
	errNoProgramme = fault.NotFound(fault.M("没有这个探访项目", "no such visit programme"))
	progCodeRE     = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)
)

// ProgrammeInput is a county's new programme.
type ProgrammeInput struct {
	Code   string `json:"code"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	// Division defaults to the officer's county.
	Division string   `json:"division"`
	Unit     string   `json:"unit"` // resident (default) or household
	Tags     []string `json:"tags"`
	MinAge   *int     `json:"min_age,omitempty"`
	MaxAge   *int     `json:"max_age,omitempty"`
	// Frequency is "monthly" (default) or "weeks" with EveryWeeks.
	Frequency     string               `json:"frequency"`
	EveryWeeks    int                  `json:"every_weeks"`
	HighRiskWeeks int                  `json:"high_risk_weeks"`
	Methods       []string             `json:"methods"`
	RequireHome   bool                 `json:"require_home"`
	TellResident  bool                 `json:"tell_resident"`
	Questions     []questions.Question `json:"questions"`
}

// AddProgramme adds a county's own programme (a county officer).
func (s *Store) AddProgramme(ctx context.Context, in ProgrammeInput) (Programme, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer || divisions.LevelOf(p.Division) > 3 {
		return Programme{}, fault.Forbidden(fault.M("只有县级及以上民政干部可以新增探访项目", "only county (or higher) officers add visit programmes"))
	}
	if in.Division == "" {
		in.Division = p.Division
	}
	var errs []fault.FieldError
	in.Code, in.NameZH, in.NameEN = strings.TrimSpace(in.Code), strings.TrimSpace(in.NameZH), strings.TrimSpace(in.NameEN)
	if !progCodeRE.MatchString(in.Code) {
		errs = append(errs, fault.Field("code", fault.M("标识须为小写字母开头的 2–40 位字母、数字或下划线", "code must be 2–40 lower-case letters, digits or underscores, starting with a letter")))
	}
	if in.NameZH == "" || utf8.RuneCountInString(in.NameZH) > 60 {
		errs = append(errs, fault.Field("name_zh", fault.M("请填写项目名称（不超过 60 字）", "enter a name of at most 60 characters")))
	}
	if in.NameEN == "" {
		in.NameEN = in.NameZH
	}
	if divisions.LevelOf(in.Division) != 3 || !access.ScopeOf(ctx).Contains(in.Division) {
		errs = append(errs, fault.Field("division", fault.M("须为您管辖范围内的县（市、区）", "must be a county within your jurisdiction")))
	}
	switch in.Unit {
	case "":
		in.Unit = UnitResident
	case UnitResident, UnitHousehold:
	default:
		errs = append(errs, fault.Field("unit", fault.M("对象须为 resident（居民）或 household（家庭）", "unit must be resident or household")))
	}
	kinds, err := db.StringSet(ctx, s.DB.R, `SELECT key FROM reg_tag_kinds`)
	if err != nil {
		return Programme{}, err
	}
	var tags []string
	seen := map[string]bool{}
	for _, t := range in.Tags {
		t = strings.TrimSpace(t)
		if t == "" || seen[t] {
			continue
		}
		if !kinds[t] {
			errs = append(errs, fault.Field("tags", fault.M("标签不在目录中："+t, "not in the tag catalogue: "+t)))
			continue
		}
		seen[t] = true
		tags = append(tags, t)
	}
	if len(in.Tags) == 0 {
		errs = append(errs, fault.Field("tags", fault.M("请至少选择一个服务对象标签", "choose at least one service-object tag")))
	}
	for f, a := range map[string]*int{"min_age": in.MinAge, "max_age": in.MaxAge} {
		if a != nil && (*a < 0 || *a > 130) {
			errs = append(errs, fault.Field(f, fault.M("年龄须在 0–130 之间", "the age must be 0–130")))
		}
	}
	if in.MinAge != nil && in.MaxAge != nil && *in.MaxAge < *in.MinAge {
		errs = append(errs, fault.Field("max_age", fault.M("最大年龄不能小于最小年龄", "the maximum age is below the minimum")))
	}
	switch in.Frequency {
	case "", "monthly":
		in.EveryWeeks = 0
	case "weeks":
		if in.EveryWeeks <= 0 || in.EveryWeeks > 4 {
			errs = append(errs, fault.Field("every_weeks", fault.M("探访频次须为每 1–4 周一次", "the frequency must be every 1–4 weeks")))
		}
	default:
		errs = append(errs, fault.Field("frequency", fault.M("频次须为 monthly（每月）或 weeks（每 N 周）", "frequency must be monthly or weeks")))
	}
	if in.HighRiskWeeks < 0 || in.HighRiskWeeks > 4 {
		errs = append(errs, fault.Field("high_risk_weeks", fault.M("高风险对象的探访频次须为每 1–4 周一次（0：同上）", "the high-risk frequency must be every 1–4 weeks (0: the same)")))
	}
	if len(in.Methods) == 0 {
		in.Methods = []string{MethodHome}
	}
	for _, m := range in.Methods {
		if m != MethodHome && m != MethodPhone && m != MethodVideo {
			errs = append(errs, fault.Field("methods", fault.M("探访方式须为 home、phone 或 video", "methods are home, phone or video")))
			break
		}
	}
	if in.RequireHome {
		in.Methods = []string{MethodHome}
	}
	if len(in.Questions) == 0 {
		in.Questions = append([]questions.Question{}, visitForm...)
	}
	errs = append(errs, questions.CheckDefinitions("questions", in.Questions)...)
	if len(errs) > 0 {
		return Programme{}, fault.Invalid(fault.M("探访项目信息有误", "the programme has errors"), errs...)
	}
	now := s.Now()
	g := Programme{ID: db.NewID(), Code: in.Code, NameZH: in.NameZH, NameEN: in.NameEN, Division: in.Division, Unit: in.Unit, Tags: tags,
		MinAge: in.MinAge, MaxAge: in.MaxAge, EveryWeeks: in.EveryWeeks, HighRiskWeeks: in.HighRiskWeeks, Methods: in.Methods,
		RequireHome: in.RequireHome, TellResident: in.TellResident, Questions: in.Questions, Active: true, CreatedAt: now, UpdatedAt: now}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO vis_programmes (`+programmeCols+`, created_by) VALUES ($1,$2,$3,$4,$5,'',$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,TRUE,$16,$17,$18)`,
			g.ID, g.Code, g.Division, g.NameZH, g.NameEN, g.Unit, strings.Join(g.Tags, ","), nullInt(g.MinAge), nullInt(g.MaxAge), g.EveryWeeks, g.HighRiskWeeks,
			strings.Join(g.Methods, ","), g.RequireHome, g.TellResident, mustJSON(g.Questions), db.T(now), db.T(now), p.Username)
		if db.IsUniqueViolation(err) {
			return fault.Invalid(fault.M("探访项目信息有误", "the programme has errors"), fault.Field("code", fault.M("该标识已被使用", "this code is taken")))
		} else if err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "visits.programme.create", Object: "visit_programme", ObjectID: g.ID, Division: g.Division,
			Detail: audit.Detail(map[string]any{"code": g.Code, "tags": g.Tags, "every_weeks": g.EveryWeeks})})
	})
	return g, err
}

func nullInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
