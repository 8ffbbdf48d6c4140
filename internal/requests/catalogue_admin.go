package requests

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
)

// CanManageCatalogue tells whether p may add categories and edit them:
// officers of a province or a city (division codes of 2 or 4 digits). The
// catalogue is shared by the whole deployment, so county and lower officers
// and community workers only read it; the system administrators of the
// three-role separation do not handle business data.
func CanManageCatalogue(p *access.Principal) bool {
	if p == nil || p.Role != access.Officer {
		return false
	}
	l := divisions.LevelOf(p.Division)
	return l == 1 || l == 2
}

var errCatalogueForbidden = fault.Forbidden(fault.M("只有省、市级民政干部可以维护服务目录", "only province or city officers may maintain the service catalogue"))

// CategoryEdit is a change to a category: only the fields given change. The
// code, handling level and extra questions are fixed once requests use
// them (add a new category instead).
type CategoryEdit struct {
	Group         *string   `json:"group,omitempty"`
	NameZH        *string   `json:"name_zh,omitempty"`
	NameEN        *string   `json:"name_en,omitempty"`
	DescZH        *string   `json:"description_zh,omitempty"`
	DescEN        *string   `json:"description_en,omitempty"`
	ResponseHours *int      `json:"response_hours,omitempty"`
	ResolveHours  *int      `json:"resolve_hours,omitempty"`
	WorkingHours  *bool     `json:"working_hours,omitempty"`
	Public        *bool     `json:"public,omitempty"`
	Templates     *[]string `json:"reply_templates,omitempty"`
}

// Limits of a category.
const (
	maxSLAHours   = 24 * 366
	maxTemplates  = 20
	maxTemplate   = 1000
	maxAttributes = 20
)

var (
	categoryCode  = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)
	attributeCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	reservedCodes = map[string]bool{"new": true}
	attrTypes     = map[string]bool{"string": true, "text": true, "number": true, "date": true, "datetime": true, "singlevaluelist": true, "multivaluelist": true}
)

// normalise trims the text fields of c in place.
func (c *Category) normalise() {
	for _, p := range []*string{&c.Code, &c.Group, &c.NameZH, &c.NameEN, &c.DescZH, &c.DescEN} {
		*p = strings.TrimSpace(*p)
	}
	var tpl []string
	for _, t := range c.Templates {
		if t = strings.TrimSpace(t); t != "" {
			tpl = append(tpl, t)
		}
	}
	c.Templates = tpl
	if c.Group == "" {
		c.Group = "其他 / Other"
	}
}

func text(field string, v string, max int, required bool, zh, en string) []fault.FieldError {
	switch n := utf8.RuneCountInString(v); {
	case !utf8.ValidString(v):
		return []fault.FieldError{fault.Field(field, fault.M(zh+"含无效字符", en+" holds invalid characters"))}
	case required && n == 0:
		return []fault.FieldError{fault.Field(field, fault.M("请填写"+zh, en+" is required"))}
	case n > max:
		return []fault.FieldError{fault.Field(field, fault.M(fmt.Sprintf("%s不能超过 %d 字", zh, max), fmt.Sprintf("%s must be at most %d characters", en, max)))}
	}
	return nil
}

// validate checks a (normalised) category; isNew also checks what only a
// new category sets.
func (c *Category) validate(isNew bool) []fault.FieldError {
	var errs []fault.FieldError
	if isNew {
		if !categoryCode.MatchString(c.Code) || reservedCodes[c.Code] {
			errs = append(errs, fault.Field("code", fault.M("代码须为 2–32 位小写字母、数字或下划线，以字母开头", "the code must be 2–32 lower-case letters, digits or underscores, starting with a letter")))
		}
		if c.UnitLevel < 3 || c.UnitLevel > 5 {
			errs = append(errs, fault.Field("unit_level", fault.M("承办层级须为 3（区县）、4（乡镇街道）或 5（社区村）", "the handling level must be 3 (county), 4 (township) or 5 (community)")))
		}
		errs = append(errs, checkAttributes(c.Attributes)...)
	}
	errs = append(errs, text("group", c.Group, 50, true, "分组", "the group")...)
	errs = append(errs, text("name_zh", c.NameZH, 50, true, "中文名称", "the Chinese name")...)
	errs = append(errs, text("name_en", c.NameEN, 100, true, "英文名称", "the English name")...)
	errs = append(errs, text("description_zh", c.DescZH, 500, false, "中文说明", "the Chinese description")...)
	errs = append(errs, text("description_en", c.DescEN, 1000, false, "英文说明", "the English description")...)
	if c.ResponseHours < 1 || c.ResponseHours > maxSLAHours {
		errs = append(errs, fault.Field("response_hours", fault.M(fmt.Sprintf("受理时限须为 1–%d 小时", maxSLAHours), fmt.Sprintf("the response time must be 1–%d hours", maxSLAHours))))
	}
	if c.ResolveHours < 1 || c.ResolveHours > maxSLAHours {
		errs = append(errs, fault.Field("resolve_hours", fault.M(fmt.Sprintf("办结时限须为 1–%d 小时", maxSLAHours), fmt.Sprintf("the resolution time must be 1–%d hours", maxSLAHours))))
	} else if c.ResolveHours < c.ResponseHours {
		errs = append(errs, fault.Field("resolve_hours", fault.M("办结时限不能短于受理时限", "the resolution time cannot be shorter than the response time")))
	}
	if len(c.Templates) > maxTemplates {
		errs = append(errs, fault.Field("reply_templates", fault.M(fmt.Sprintf("常用答复最多 %d 条", maxTemplates), fmt.Sprintf("at most %d reply templates", maxTemplates))))
	}
	for i, t := range c.Templates {
		if e := text("reply_templates", t, maxTemplate, true, fmt.Sprintf("第 %d 条常用答复", i+1), fmt.Sprintf("reply template %d", i+1)); e != nil {
			errs = append(errs, e...)
			break
		}
	}
	return errs
}

// checkAttributes validates the extra questions of a new category.
func checkAttributes(as []Attribute) []fault.FieldError {
	bad := func(i int, zh, en string) fault.FieldError {
		return fault.Field("attributes", fault.M(fmt.Sprintf("第 %d 个补充问题：%s", i+1, zh), fmt.Sprintf("question %d: %s", i+1, en)))
	}
	if len(as) > maxAttributes {
		return []fault.FieldError{fault.Field("attributes", fault.M(fmt.Sprintf("补充问题最多 %d 个", maxAttributes), fmt.Sprintf("at most %d questions", maxAttributes)))}
	}
	seen := map[string]bool{}
	for i := range as {
		a := &as[i]
		a.Code, a.LabelZH, a.LabelEN = strings.TrimSpace(a.Code), strings.TrimSpace(a.LabelZH), strings.TrimSpace(a.LabelEN)
		switch {
		case !attributeCode.MatchString(a.Code):
			return []fault.FieldError{bad(i, "代码须为小写字母、数字或下划线", "the code must be lower-case letters, digits or underscores")}
		case seen[a.Code]:
			return []fault.FieldError{bad(i, "代码重复", "duplicate code")}
		case !attrTypes[a.Type]:
			return []fault.FieldError{bad(i, "类型须为 string、text、number、date、datetime、singlevaluelist 或 multivaluelist", "the datatype must be string, text, number, date, datetime, singlevaluelist or multivaluelist")}
		case a.LabelZH == "" || a.LabelEN == "" || utf8.RuneCountInString(a.LabelZH) > 100 || utf8.RuneCountInString(a.LabelEN) > 200:
			return []fault.FieldError{bad(i, "须有中英文标题（不超过 100 字）", "needs a Chinese and an English label (100 characters at most)")}
		}
		seen[a.Code] = true
		list := a.Type == "singlevaluelist" || a.Type == "multivaluelist"
		if list != (len(a.Values) > 0) {
			return []fault.FieldError{bad(i, "选择题须有选项，其他题型不能有选项", "list questions need values and other questions take none")}
		}
		keys := map[string]bool{}
		for _, v := range a.Values {
			if strings.TrimSpace(v.Key) == "" || v.Key != strings.TrimSpace(v.Key) || strings.Contains(v.Key, ",") || keys[v.Key] || strings.TrimSpace(v.Name) == "" || len(v.Key) > 50 || utf8.RuneCountInString(v.Name) > 100 {
				return []fault.FieldError{bad(i, "选项须有不重复、不含逗号的键和名称", "values need unique keys without commas and names")}
			}
			keys[v.Key] = true
		}
	}
	return nil
}

func (s *Store) dropCatalogueCache() {
	s.catMu.Lock()
	s.cats = nil
	s.catMu.Unlock()
}

const catCols = `code, grp, name_zh, name_en, description_zh, description_en, unit_level, response_hours, resolve_hours, working_hours, public, attributes, templates`

func scanCategory(row interface{ Scan(...any) error }) (Category, error) {
	var c Category
	var attrs, tpl string
	err := row.Scan(&c.Code, &c.Group, &c.NameZH, &c.NameEN, &c.DescZH, &c.DescEN, &c.UnitLevel, &c.ResponseHours, &c.ResolveHours, &c.WorkingHours, &c.Public, &attrs, &tpl)
	if errors.Is(err, sql.ErrNoRows) {
		return c, errNoCategory
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(attrs), &c.Attributes); err != nil {
		return c, fmt.Errorf("category %s: attributes: %w", c.Code, err)
	}
	if err := json.Unmarshal([]byte(tpl), &c.Templates); err != nil {
		return c, fmt.Errorf("category %s: templates: %w", c.Code, err)
	}
	return c, nil
}

// CreateCategory adds a category to the catalogue. Requests submitted from
// then on may use it.
func (s *Store) CreateCategory(ctx context.Context, c Category) (Category, error) {
	if !CanManageCatalogue(access.From(ctx)) {
		return Category{}, errCatalogueForbidden
	}
	c.normalise()
	if errs := c.validate(true); len(errs) > 0 {
		return Category{}, fault.Invalid(fault.M("服务类别信息有误", "the service category has errors"), errs...)
	}
	exists := fault.Conflict(fault.M("已有代码为“"+c.Code+"”的服务类别", "a service category with code "+c.Code+" exists"))
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM request_categories WHERE code = $1`, c.Code).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return exists
		}
		var sort int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(sort), 0) + 10 FROM request_categories`).Scan(&sort); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO request_categories (`+catCols+`, sort, active) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`,
			c.Code, c.Group, c.NameZH, c.NameEN, c.DescZH, c.DescEN, c.UnitLevel, c.ResponseHours, c.ResolveHours, c.WorkingHours, c.Public, mustJSON(c.Attributes), mustJSON(c.Templates), sort, true); err != nil {
			if db.IsUniqueViolation(err) {
				return exists
			}
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "request.category.create", Object: "request_category", ObjectID: c.Code, Division: access.From(ctx).Division,
			Detail: audit.Detail(map[string]any{"name": c.NameZH, "unit_level": c.UnitLevel, "response_hours": c.ResponseHours, "resolve_hours": c.ResolveHours,
				"working_hours": c.WorkingHours, "public": c.Public, "attributes": len(c.Attributes), "templates": len(c.Templates)})})
	})
	if err != nil {
		return Category{}, err
	}
	s.dropCatalogueCache()
	if c.Attributes == nil {
		c.Attributes = []Attribute{}
	}
	return c, nil
}

// UpdateCategory changes the fields given in e. Deadlines already computed
// for requests stay as they are; new requests (and clocks restarted by a
// transfer or a reopen) use the new SLAs.
func (s *Store) UpdateCategory(ctx context.Context, code string, e CategoryEdit) (Category, error) {
	if !CanManageCatalogue(access.From(ctx)) {
		return Category{}, errCatalogueForbidden
	}
	var out Category
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		old, err := scanCategory(tx.QueryRowContext(ctx, `SELECT `+catCols+` FROM request_categories WHERE code = $1 AND active`, code))
		if err != nil {
			return err
		}
		c := old
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&c.Group, e.Group)
		set(&c.NameZH, e.NameZH)
		set(&c.NameEN, e.NameEN)
		set(&c.DescZH, e.DescZH)
		set(&c.DescEN, e.DescEN)
		if e.ResponseHours != nil {
			c.ResponseHours = *e.ResponseHours
		}
		if e.ResolveHours != nil {
			c.ResolveHours = *e.ResolveHours
		}
		if e.WorkingHours != nil {
			c.WorkingHours = *e.WorkingHours
		}
		if e.Public != nil {
			c.Public = *e.Public
		}
		if e.Templates != nil {
			c.Templates = append([]string(nil), (*e.Templates)...)
		}
		c.normalise()
		if errs := c.validate(false); len(errs) > 0 {
			return fault.Invalid(fault.M("服务类别信息有误", "the service category has errors"), errs...)
		}
		changes := categoryChanges(old, c)
		out = c
		if len(changes) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE request_categories SET grp = $1, name_zh = $2, name_en = $3, description_zh = $4, description_en = $5, response_hours = $6, resolve_hours = $7,
			working_hours = $8, public = $9, templates = $10 WHERE code = $11`,
			c.Group, c.NameZH, c.NameEN, c.DescZH, c.DescEN, c.ResponseHours, c.ResolveHours, c.WorkingHours, c.Public, mustJSON(c.Templates), c.Code); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "request.category.update", Object: "request_category", ObjectID: c.Code, Division: access.From(ctx).Division,
			Detail: audit.Detail(changes)})
	})
	if err != nil {
		return Category{}, err
	}
	s.dropCatalogueCache()
	if out.Attributes == nil {
		out.Attributes = []Attribute{}
	}
	return out, nil
}

// categoryChanges lists the changed fields as {field: [old, new]}.
func categoryChanges(a, b Category) map[string]any {
	m := map[string]any{}
	diff := func(k string, x, y any) {
		if fmt.Sprint(x) != fmt.Sprint(y) {
			m[k] = []any{x, y}
		}
	}
	diff("group", a.Group, b.Group)
	diff("name_zh", a.NameZH, b.NameZH)
	diff("name_en", a.NameEN, b.NameEN)
	diff("description_zh", a.DescZH, b.DescZH)
	diff("description_en", a.DescEN, b.DescEN)
	diff("response_hours", a.ResponseHours, b.ResponseHours)
	diff("resolve_hours", a.ResolveHours, b.ResolveHours)
	diff("working_hours", a.WorkingHours, b.WorkingHours)
	diff("public", a.Public, b.Public)
	if mustJSON(a.Templates) != mustJSON(b.Templates) {
		m["reply_templates"] = []any{a.Templates, b.Templates}
	}
	return m
}
