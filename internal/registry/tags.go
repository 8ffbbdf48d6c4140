package registry

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
)

// TagInput adds a tag to a resident.
type TagInput struct {
	Tag    string `json:"tag"`
	Since  string `json:"since,omitempty"`
	Until  string `json:"until,omitempty"`
	Source string `json:"source,omitempty"`
	Note   string `json:"note,omitempty"`
	// Detail holds e.g. the disability category and grade ("肢体 二级").
	Detail string `json:"detail,omitempty"`
}

// TagKinds lists the catalogue.
func (s *Store) TagKinds(ctx context.Context) ([]TagKind, error) {
	return db.Collect(ctx, s.DB.R, func(row db.Scanner) (TagKind, error) {
		var t TagKind
		err := row.Scan(&t.Key, &t.NameZH, &t.NameEN, &t.Group, &t.Sort, &t.Builtin)
		return t, err
	}, `SELECT key, name_zh, name_en, grp, sort, builtin FROM reg_tag_kinds ORDER BY sort, key`)
}

var keyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)

// The tag and facility catalogues hold for the whole province, so they
// are changed by the level that owns them: a province officer. An officer
// below would change every county's catalogue, and the system
// administrator has no business writes (separation of duties).
func canEditCatalogue(p *access.Principal) bool {
	return p != nil && p.Role == access.Officer && divisions.LevelOf(p.Division) == 1
}

var errNotCatalogueOwner = fault.Forbidden(fault.M("目录属省级，只有省级民政干部可以维护", "the catalogue is the province's: only province officers maintain it"))

// AddTagKind adds a catalogue entry (a province officer).
func (s *Store) AddTagKind(ctx context.Context, t TagKind) (TagKind, error) {
	if !canEditCatalogue(access.From(ctx)) {
		return t, errNotCatalogueOwner
	}
	var errs []fault.FieldError
	if !keyRE.MatchString(t.Key) {
		errs = append(errs, fault.Field("key", fault.M("标识须为小写字母开头的 2–40 位字母、数字或下划线", "key must be 2–40 lower-case letters, digits or underscores, starting with a letter")))
	}
	if strings.TrimSpace(t.NameZH) == "" || utf8.RuneCountInString(t.NameZH) > 40 {
		errs = append(errs, fault.Field("name_zh", fault.M("请填写中文名称（不超过 40 字）", "enter a Chinese name of at most 40 characters")))
	}
	if t.NameEN == "" {
		t.NameEN = t.NameZH
	}
	if t.Group == "" {
		t.Group = "other"
	}
	if len(errs) > 0 {
		return t, fault.Invalid(fault.M("标签信息有误", "the tag has errors"), errs...)
	}
	if t.Sort == 0 {
		t.Sort = 1000
	}
	t.Builtin = false
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := execUnique(ctx, tx, fault.Conflict(fault.M("标签标识已存在", "a tag with this key exists")), `INSERT INTO reg_tag_kinds (key, name_zh, name_en, grp, sort, builtin) VALUES ($1,$2,$3,$4,$5,FALSE)`, t.Key, t.NameZH, t.NameEN, t.Group, t.Sort); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.tag_kind.create", "tag_kind", t.Key, "", nil)
	})
	return t, err
}

func validDate(s string) bool {
	if s == "" {
		return true
	}
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

func (s *Store) validTag(ctx context.Context, in *TagInput) error {
	var errs []fault.FieldError
	var one int
	if ok, err := found(s.DB.R.QueryRowContext(ctx, `SELECT 1 FROM reg_tag_kinds WHERE key = $1`, in.Tag), &one); err != nil {
		return err
	} else if !ok {
		errs = append(errs, fault.Field("tag", fault.M("标签不在目录中："+in.Tag, "not in the tag catalogue: "+in.Tag)))
	}
	if !validDate(in.Since) {
		errs = append(errs, fault.Field("since", fault.M("日期格式应为 YYYY-MM-DD", "must be YYYY-MM-DD")))
	}
	if !validDate(in.Until) || in.Until != "" && in.Since != "" && in.Until < in.Since {
		errs = append(errs, fault.Field("until", fault.M("结束日期格式应为 YYYY-MM-DD 且不早于开始日期", "must be YYYY-MM-DD and not before the start")))
	}
	for f, v := range map[string]string{"source": in.Source, "note": in.Note, "detail": in.Detail} {
		if utf8.RuneCountInString(v) > 200 {
			errs = append(errs, fault.Field(f, fault.M("不超过 200 字", "at most 200 characters")))
		}
	}
	if len(errs) > 0 {
		return fault.Invalid(fault.M("标签信息有误", "the tag has errors"), errs...)
	}
	return nil
}

// AddTag puts a tag on a resident in scope.
func (s *Store) AddTag(ctx context.Context, residentID string, in TagInput) (TagRef, error) {
	if !canWrite(access.From(ctx)) {
		return TagRef{}, errNoWrite
	}
	if err := s.validTag(ctx, &in); err != nil {
		return TagRef{}, err
	}
	sc := access.ScopeOf(ctx)
	active := in.Until == "" || in.Until >= s.today()
	t := TagRef{ID: db.NewID(), Tag: in.Tag, Since: in.Since, Until: in.Until, Source: in.Source, Note: in.Note, Detail: in.Detail, Active: active}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var code string
		err := tx.QueryRowContext(ctx, `SELECT division_code FROM reg_residents WHERE id = $1 AND division_code >= $2 AND division_code < $3`, residentID, sc.Lo, sc.Hi).Scan(&code)
		if errors.Is(err, sql.ErrNoRows) {
			return errResidentNotFound
		} else if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO reg_resident_tags (id, resident_id, division_code, tag, since_date, until_date, source, note, detail, active, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`, t.ID, residentID, code, t.Tag, t.Since, t.Until, t.Source, t.Note, t.Detail, active, db.T(s.Now()))
		if db.IsUniqueViolation(err) {
			return fault.Conflict(fault.M("该居民已有同一开始日期的此标签", "the resident already has this tag from that date"))
		} else if err != nil {
			return err
		}
		if active {
			if err := s.adjustTags(ctx, tx, code, t.Tag, 1); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "registry.tag.add", "resident", residentID, code, map[string]string{"tag": t.Tag})
	})
	return t, err
}

// RemoveTag deletes one tag of a resident in scope.
func (s *Store) RemoveTag(ctx context.Context, residentID, tagID string) error {
	if !canWrite(access.From(ctx)) {
		return errNoWrite
	}
	sc := access.ScopeOf(ctx)
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var code, tag string
		var active bool
		err := tx.QueryRowContext(ctx, `SELECT division_code, tag, active FROM reg_resident_tags WHERE id = $1 AND resident_id = $2 AND division_code >= $3 AND division_code < $4`,
			tagID, residentID, sc.Lo, sc.Hi).Scan(&code, &tag, &active)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(fault.M("标签不存在", "tag not found"))
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM reg_resident_tags WHERE id = $1`, tagID); err != nil {
			return err
		}
		if active {
			if err := s.adjustTags(ctx, tx, code, tag, -1); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "registry.tag.remove", "resident", residentID, code, map[string]string{"tag": tag})
	})
}

// TagCount is one line of a tag summary.
type TagCount struct {
	Tag    string `json:"tag"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	Count  int64  `json:"count"`
}

// ChildTagCounts are the counts of one child division.
type ChildTagCounts struct {
	Division string           `json:"division"`
	Name     string           `json:"name"`
	Counts   map[string]int64 `json:"counts"`
}

// TagSummary counts residents' current tags in a subtree, in total and by child division.
type TagSummary struct {
	Division string           `json:"division"`
	Totals   []TagCount       `json:"totals"`
	Children []ChildTagCounts `json:"children"`
}

// Summary reads the maintained counts for code (which must be in scope):
// one indexed read however large the subtree.
func (s *Store) Summary(ctx context.Context, code string, children bool) (TagSummary, error) {
	sum := TagSummary{Division: code, Totals: []TagCount{}, Children: []ChildTagCounts{}}
	p := access.From(ctx)
	if p == nil || !p.Role.Business() || p.Role == access.Resident || p.Role == access.Provider {
		return sum, fault.Forbidden(fault.M("您的角色不能查看服务对象统计", "your role may not read service-object counts"))
	}
	if !divisions.ValidCode(code) {
		return sum, fault.Invalid(fault.M("区划代码格式不正确", "malformed division code"), fault.Field("division", fault.M("须为 2/4/6/9/12 位区划代码", "must be a 2/4/6/9/12-digit division code")))
	}
	if !access.ScopeOf(ctx).Contains(code) {
		return sum, notFound(fault.M("区划不在您的管辖范围内", "division outside your jurisdiction"))
	}
	if err := s.ExpireTags(ctx); err != nil {
		return sum, err
	}
	kinds, err := s.TagKinds(ctx)
	if err != nil {
		return sum, err
	}
	counts := map[string]int64{}
	err = db.EachRow(ctx, s.DB.R, func(row db.Scanner) error {
		var t string
		var n int64
		err := row.Scan(&t, &n)
		counts[t] = n
		return err
	}, `SELECT tag, n FROM reg_tag_counts WHERE division_code = $1`, code)
	if err != nil {
		return sum, err
	}
	for _, k := range kinds {
		sum.Totals = append(sum.Totals, TagCount{Tag: k.Key, NameZH: k.NameZH, NameEN: k.NameEN, Count: counts[k.Key]})
	}
	lvl := divisions.LevelOf(code)
	if !children || lvl >= 5 {
		return sum, nil
	}
	sub := access.Subtree(code)
	err = db.EachRow(ctx, s.DB.R, func(row db.Scanner) error {
		var c, name, t string
		var n int64
		if err := row.Scan(&c, &name, &t, &n); err != nil {
			return err
		}
		if len(sum.Children) == 0 || sum.Children[len(sum.Children)-1].Division != c {
			sum.Children = append(sum.Children, ChildTagCounts{Division: c, Name: name, Counts: map[string]int64{}})
		}
		sum.Children[len(sum.Children)-1].Counts[t] = n
		return nil
	}, `SELECT c.division_code, COALESCE(d.name, ''), c.tag, c.n FROM reg_tag_counts c LEFT JOIN divisions d ON d.code = c.division_code
		WHERE c.lvl = $1 AND c.division_code >= $2 AND c.division_code < $3 ORDER BY c.division_code`, lvl+1, sub.Lo, sub.Hi)
	return sum, err
}
