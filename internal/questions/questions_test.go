package questions_test

import (
	"bytes"
	"html/template"
	"net/url"
	"strings"
	"testing"

	"linli/internal/fault"
	"linli/internal/questions"
)

var form = []questions.Question{
	{Code: "age", Type: questions.Number, Required: true, LabelZH: "年龄", LabelEN: "Age"},
	{Code: "since", Type: questions.Date, LabelZH: "开始日期", LabelEN: "Since"},
	{Code: "gas", Type: questions.YesNo, LabelZH: "燃气安全", LabelEN: "Gas safe"},
	{Code: "needs", Type: questions.Multi, LabelZH: "需求", LabelEN: "Needs", Values: []questions.Choice{{Key: "meals", Name: "助餐 / meals"}, {Key: "care", Name: "照护 / care"}}},
	{Code: "note", Type: questions.Text, LabelZH: "备注", LabelEN: "Note"},
}

func fieldsOf(errs []fault.FieldError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

func TestCheck(t *testing.T) {
	t.Parallel()
	t.Run("good answers come back normalised", func(t *testing.T) {
		out, errs := questions.Check("answer", form, map[string][]string{"age": {" 81 "}, "gas": {"no"}, "needs": {"meals", "care"}, "since": {"2026-01-02"}})
		if len(errs) > 0 || out["age"] != "81" || out["gas"] != "no" || out["needs"] != "meals,care" || out["since"] != "2026-01-02" {
			t.Fatalf("%v %v", out, errs)
		}
	})
	for _, c := range []struct {
		name  string
		in    map[string][]string
		field string
	}{
		{"a required answer missing", map[string][]string{}, "answer[age]"},
		{"a number that is not one", map[string][]string{"age": {"eighty"}}, "answer[age]"},
		{"a date that is not one", map[string][]string{"age": {"80"}, "since": {"02/01/2026"}}, "answer[since]"},
		{"yes/no answered otherwise", map[string][]string{"age": {"80"}, "gas": {"maybe"}}, "answer[gas]"},
		{"a choice not offered", map[string][]string{"age": {"80"}, "needs": {"money"}}, "answer[needs]"},
		{"two answers to a single question", map[string][]string{"age": {"80", "81"}}, "answer[age]"},
		{"an answer to no question", map[string][]string{"age": {"80"}, "shoe_size": {"42"}}, "answer[shoe_size]"},
	} {
		t.Run(c.name+" is refused naming its field", func(t *testing.T) {
			_, errs := questions.Check("answer", form, c.in)
			if got := fieldsOf(errs); len(got) != 1 || got[0] != c.field || errs[0].Message == "" || errs[0].MessageEN == "" {
				t.Fatalf("errors %v, want one bilingual error on %s", errs, c.field)
			}
		})
	}
	t.Run("definitions with a list question without values are refused", func(t *testing.T) {
		bad := []questions.Question{{Code: "x", Type: questions.Single, LabelZH: "甲", LabelEN: "A"}}
		if errs := questions.CheckDefinitions("questions", bad); len(errs) != 1 || errs[0].Field != "questions" {
			t.Fatalf("%v", errs)
		}
	})
}

func TestPartial(t *testing.T) {
	t.Parallel()
	tr := template.FuncMap{"tr": func(zh, en string) string { return zh }}
	tpl := template.Must(template.New("x").Funcs(tr).ParseFS(questions.Templates, "templates/*.html"))
	submitted := url.Values{"answer[gas]": {"no"}, "answer[needs]": {"care"}}
	errs := []fault.FieldError{{Field: "answer[age]", Message: "须为数字", MessageEN: "must be a number"}}
	var b bytes.Buffer
	for _, q := range form {
		if err := tpl.ExecuteTemplate(&b, "question", q.Field("answer", submitted, errs)); err != nil {
			t.Fatal(err)
		}
	}
	html := b.String()
	for _, want := range []string{
		`id="f-answer[age]" name="answer[age]" inputmode="decimal"`, `须为数字`,
		`type="radio" name="answer[gas]" value="no" checked`, `type="checkbox" name="answer[needs]" value="care" checked`,
		`type="date" name="answer[since]"`, `<textarea id="f-answer[note]"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the form lacks %s:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<script") {
		t.Error("the partial uses JavaScript")
	}
}
