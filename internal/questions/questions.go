// Package questions is the typed-question kit shared by the modules that
// ask residents or workers extra questions: requests' category questions
// (the Open311 service-definition attribute model) and visits' forms. A
// question has a datatype — string or text, number, date, datetime, a
// single or multiple choice, or yes/no — and answers are checked against
// it with errors naming the form field.
package questions

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"linli/internal/fault"
)

// Datatypes, named as Open311 GeoReport v2 names them (YesNo is the kit's
// own: a single choice of 是/否 with fixed keys).
const (
	String = "string"
	Text   = "text"
	Number = "number"
	Date   = "date"
	// DateTime answers are read in China time when they carry no zone.
	DateTime = "datetime"
	Single   = "singlevaluelist"
	Multi    = "multivaluelist"
	YesNo    = "yesno"
)

// Types are the datatypes a question may have.
var Types = map[string]bool{String: true, Text: true, Number: true, Date: true, DateTime: true, Single: true, Multi: true, YesNo: true}

// Question is one typed question.
type Question struct {
	Code     string   `json:"code"`
	Type     string   `json:"datatype"`
	Required bool     `json:"required"`
	LabelZH  string   `json:"label_zh"`
	LabelEN  string   `json:"label_en"`
	Values   []Choice `json:"values,omitempty"`
	// Sensitive answers (health, income) are sealed at rest and shown
	// only to those who may read the person's record.
	Sensitive bool `json:"sensitive,omitempty"`
}

// Choice is one allowed value of a choice question; Name is written in
// both languages, "道路 / street".
type Choice struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// YesNoChoices are the answers of a yes/no question.
var YesNoChoices = []Choice{{Key: "yes", Name: "是 / yes"}, {Key: "no", Name: "否 / no"}}

// CST is China Standard Time, in which zoneless dates and times are read.
var CST = time.FixedZone("CST", 8*3600)

// MaxQuestions bounds a form's questions.
const MaxQuestions = 20

// codeRE is the form of a question's code.
var codeRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// FieldName is the form field of the question under prefix
// ("attribute" → attribute[code]).
func (q Question) FieldName(prefix string) string { return prefix + "[" + q.Code + "]" }

// Choices are the question's allowed values (the fixed pair for yes/no).
func (q Question) Choices() []Choice {
	if q.Type == YesNo {
		return YesNoChoices
	}
	return q.Values
}

// IsChoice tells whether the question is answered by choosing.
func (q Question) IsChoice() bool { return q.Type == Single || q.Type == Multi || q.Type == YesNo }

// SplitPair reads a name written in both languages ("道路 / street") as
// its two halves, the English one capitalised; a name in one language
// serves both.
func SplitPair(s string) (zh, en string) {
	zh, en, ok := strings.Cut(s, " / ")
	zh = strings.TrimSpace(zh)
	if !ok {
		return zh, zh
	}
	en = strings.TrimSpace(en)
	if r, n := utf8.DecodeRuneInString(en); n > 0 {
		en = string(unicode.ToUpper(r)) + en[n:]
	}
	return zh, en
}

// ZH is the choice's name in Chinese.
func (c Choice) ZH() string { zh, _ := SplitPair(c.Name); return zh }

// EN is the choice's name in English.
func (c Choice) EN() string { _, en := SplitPair(c.Name); return en }

// HasChoice tells whether k is one of cs's keys.
func HasChoice(cs []Choice, k string) bool {
	for _, c := range cs {
		if c.Key == k {
			return true
		}
	}
	return false
}

// CheckDefinitions validates a form's questions as an author wrote them
// (trimming codes and labels in place); errors name field.
func CheckDefinitions(field string, qs []Question) []fault.FieldError {
	bad := func(i int, zh, en string) []fault.FieldError {
		return []fault.FieldError{fault.Field(field, fault.M(fmt.Sprintf("第 %d 个问题：%s", i+1, zh), fmt.Sprintf("question %d: %s", i+1, en)))}
	}
	if len(qs) > MaxQuestions {
		return []fault.FieldError{fault.Field(field, fault.M(fmt.Sprintf("问题最多 %d 个", MaxQuestions), fmt.Sprintf("at most %d questions", MaxQuestions)))}
	}
	seen := map[string]bool{}
	for i := range qs {
		q := &qs[i]
		q.Code, q.LabelZH, q.LabelEN = strings.TrimSpace(q.Code), strings.TrimSpace(q.LabelZH), strings.TrimSpace(q.LabelEN)
		switch {
		case !codeRE.MatchString(q.Code):
			return bad(i, "代码须为小写字母、数字或下划线", "the code must be lower-case letters, digits or underscores")
		case seen[q.Code]:
			return bad(i, "代码重复", "duplicate code")
		case !Types[q.Type]:
			return bad(i, "类型须为 string、text、number、date、datetime、singlevaluelist、multivaluelist 或 yesno", "the datatype must be string, text, number, date, datetime, singlevaluelist, multivaluelist or yesno")
		case q.LabelZH == "" || q.LabelEN == "" || utf8.RuneCountInString(q.LabelZH) > 100 || utf8.RuneCountInString(q.LabelEN) > 200:
			return bad(i, "须有中英文标题（不超过 100 字）", "needs a Chinese and an English label (100 characters at most)")
		}
		seen[q.Code] = true
		list := q.Type == Single || q.Type == Multi
		if list != (len(q.Values) > 0) {
			return bad(i, "选择题须有选项，其他题型不能有选项", "list questions need values and other questions take none")
		}
		keys := map[string]bool{}
		for _, v := range q.Values {
			if strings.TrimSpace(v.Key) == "" || v.Key != strings.TrimSpace(v.Key) || strings.Contains(v.Key, ",") || keys[v.Key] || strings.TrimSpace(v.Name) == "" || len(v.Key) > 50 || utf8.RuneCountInString(v.Name) > 100 {
				return bad(i, "选项须有不重复、不含逗号的键和名称", "values need unique keys without commas and names")
			}
			keys[v.Key] = true
		}
	}
	return nil
}

// Check validates answers (by question code) to qs and returns them
// normalised: trimmed, multiple choices joined by commas. Errors name the
// form field prefix[code]; an answer to no question is refused.
func Check(prefix string, qs []Question, in map[string][]string) (map[string]string, []fault.FieldError) {
	out := map[string]string{}
	var errs []fault.FieldError
	known := map[string]bool{}
	for _, q := range qs {
		known[q.Code] = true
		var clean []string
		for _, v := range in[q.Code] {
			if v = strings.TrimSpace(v); v != "" {
				clean = append(clean, v)
			}
		}
		field := q.FieldName(prefix)
		if len(clean) == 0 {
			if q.Required {
				errs = append(errs, fault.Field(field, fault.M("请回答："+q.LabelZH, "please answer: "+q.LabelEN)))
			}
			continue
		}
		if q.Type != Multi && len(clean) > 1 {
			errs = append(errs, fault.Field(field, fault.M("只能有一个值", "takes one value")))
			continue
		}
		v := clean[0]
		bad := false
		what := fault.M("", "")
		switch q.Type {
		case Number:
			f, err := strconv.ParseFloat(v, 64)
			bad = err != nil || f != f || f < -1e12 || f > 1e12
			what = fault.M("须为数字", "must be a number")
		case Date:
			_, err := time.Parse("2006-01-02", v)
			bad = err != nil
			what = fault.M("须为日期 YYYY-MM-DD", "must be a date YYYY-MM-DD")
		case DateTime:
			_, ok := ParseDateTime(v, true)
			bad = !ok
			what = fault.M("须为日期时间", "must be a date and time")
		case Single, Multi, YesNo:
			for _, x := range clean {
				if !HasChoice(q.Choices(), x) {
					bad = true
				}
			}
			v = strings.Join(clean, ",")
			what = fault.M("须为所列选项之一", "must be one of the listed choices")
		default:
			bad = utf8.RuneCountInString(v) > 500 || !utf8.ValidString(v)
			what = fault.M("不超过 500 字", "at most 500 characters")
		}
		if bad {
			errs = append(errs, fault.Field(field, fault.M(fmt.Sprintf("“%s”的值无效：%s", q.LabelZH, what.ZH), fmt.Sprintf("invalid value for %q: %s", q.LabelEN, what.EN))))
			continue
		}
		out[q.Code] = v
	}
	for k := range in {
		if !known[k] {
			errs = append(errs, fault.Field(prefix+"["+k+"]", fault.M("没有此问题", "there is no such question")))
		}
	}
	return out, errs
}

// FromForm collects the answers to qs from a submitted form (fields
// prefix[code]).
func FromForm(prefix string, qs []Question, form map[string][]string) map[string][]string {
	in := map[string][]string{}
	for _, q := range qs {
		if vs := form[q.FieldName(prefix)]; len(vs) > 0 {
			in[q.Code] = vs
		}
	}
	return in
}

// ParseDateTime reads a date-time as GeoReport asks (ISO 8601 in the W3C
// profile: 2026-11-29T08:00:00.5+08:00, 2026-11-29T08:00Z, or a whole day
// 2026-11-29, taken in China time). local also accepts a time without zone
// (2026-11-29T08:00[:00], as a datetime-local input sends it), in China time.
func ParseDateTime(v string, local bool) (time.Time, bool) {
	layouts := []string{"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04Z07:00"}
	for _, l := range layouts {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	zoneless := []string{"2006-01-02"}
	if local {
		zoneless = append(zoneless, "2006-01-02T15:04:05", "2006-01-02T15:04")
	}
	for _, l := range zoneless {
		if t, err := time.ParseInLocation(l, v, CST); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
