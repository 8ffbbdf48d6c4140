package questions

import (
	"embed"
	"net/url"

	"linli/internal/fault"
)

// Templates holds the partial "question", which renders one question as
// a form field without JavaScript: pass it Question.Field. Pages parse it
// with web.Renderer.ParseWith(…, questions.Templates).
//
//go:embed templates/*.html
var Templates embed.FS

// Field is a question ready to render: its form name and id, the values
// submitted (to fill the form again) and its error.
type Field struct {
	Q      Question
	Name   string
	ID     string
	Values []string
	Err    *fault.FieldError
	// Loose leaves the browser's required check off (the answer is
	// required only for some outcomes, checked by the server).
	Loose bool
}

// Required tells whether the input carries the browser's required check.
func (f Field) Required() bool { return f.Q.Required && !f.Loose }

// Field prepares q for the "question" partial under prefix, with the
// submitted form and the errors of the last submission.
func (q Question) Field(prefix string, form url.Values, errs []fault.FieldError) Field {
	f := Field{Q: q, Name: q.FieldName(prefix), Values: form[q.FieldName(prefix)]}
	f.ID = "f-" + f.Name // where the error summary links
	for i := range errs {
		if errs[i].Field == f.Name {
			f.Err = &errs[i]
		}
	}
	return f
}

// Value is the first value submitted.
func (f Field) Value() string {
	if len(f.Values) == 0 {
		return ""
	}
	return f.Values[0]
}

// Checked tells whether key is among the values submitted.
func (f Field) Checked(key string) bool {
	for _, v := range f.Values {
		if v == key {
			return true
		}
	}
	return false
}
