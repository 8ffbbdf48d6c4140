package divisions

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"html/template"
	"net/url"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
)

// A division picker lets a form choose a division code without JavaScript:
// one <select> per level below the top of the user's jurisdiction, each
// listing the children of the level above; a "下一级 / Next level" button
// submits the form to show the next level, and a search box offers the
// divisions whose names match as choices. The form's handler reads the
// picker first (ReadPicker) and, when one of the picker's own buttons was
// pressed, shows the form again with the picker's new state instead of
// acting on it.

// Picker actions: what the submitted form asked of the picker.
const (
	PickerNext = "next" // show the level below the chosen division
	PickerFind = "find" // search by name
)

// maxPickerMatches is how many name matches a search offers.
const maxPickerMatches = 20

// Picker is the state of a division picker in a form.
type Picker struct {
	Field  string // the form field that carries the chosen code
	Label  fault.Msg
	Hint   fault.Msg
	Root   Division  // the top of the user's jurisdiction
	Chosen *Division // the division chosen so far (nil: none below Root)
	Levels []PickerLevel
	Query  string
	// Matches answer a search; TooMany is set when more matched than shown.
	Matches  []Division
	TooMany  bool
	Searched bool
	// Action is PickerNext or PickerFind when one of the picker's buttons
	// was pressed (show the form again), "" when the form itself was sent.
	Action string
	Error  string // zh message of a refused choice, shown at the picker
	ErrEN  string
}

// PickerLevel is one <select>: the children of the division above.
type PickerLevel struct {
	Name     string // the select's form name
	ID       string
	LabelZH  string
	LabelEN  string
	Options  []Division
	Selected string
}

// Code is the chosen division code: the top of the jurisdiction when
// nothing below it was chosen. A form that needs a given level checks
// Division().Level.
func (p Picker) Code() string { return p.Division().Code }

// Division is the chosen division (the root when none below it).
func (p Picker) Division() Division {
	if p.Chosen == nil {
		return p.Root
	}
	return *p.Chosen
}

// Pending reports whether the form was sent by one of the picker's own
// buttons: the handler shows the form again instead of acting.
func (p Picker) Pending() bool { return p.Action != "" }

func levelField(field string, level int) string { return field + "_l" + strconv.Itoa(level) }

// ReadPicker reads the picker named field from a submitted (or first
// shown) form, within the jurisdiction of the principal in ctx: the
// subtree of their division. Codes outside it are refused, and searches
// only find divisions inside it. form may be nil for a first showing;
// initial is the code to start from then (e.g. the record's current
// division).
func (s *Store) ReadPicker(ctx context.Context, form url.Values, field, initial string) (Picker, error) {
	p := access.From(ctx)
	if p == nil || !ValidCode(p.Division) {
		return Picker{}, fault.Forbidden(fault.M("请先登录", "sign in first"))
	}
	root, err := s.Get(ctx, p.Division)
	if err != nil {
		return Picker{}, err
	}
	pk := Picker{Field: field, Root: root, Query: strings.TrimSpace(form.Get(field + "_q"))}
	switch {
	case form.Get(field+"_find") != "":
		pk.Action = PickerFind
	case form.Get(field+"_next") != "":
		pk.Action = PickerNext
	}
	scope := access.Subtree(root.Code)
	// The chosen code: a search match picked, else the deepest select
	// that follows from the one above it, else the field itself.
	code := ""
	if m := form.Get(field + "_match"); m != "" && pk.Action != PickerFind {
		code = m
	} else {
		cur, any := root.Code, false
		for l := root.Level + 1; l <= 5; l++ {
			v, ok := form[levelField(field, l)]
			if !ok {
				break
			}
			any = true
			if len(v) == 0 || v[0] == "" || !ValidCode(v[0]) || LevelOf(v[0]) != l || !strings.HasPrefix(v[0], cur) {
				break
			}
			cur = v[0]
		}
		switch {
		case any && cur != root.Code:
			code = cur
		case !any && form.Get(field) != "":
			code = strings.TrimSpace(form.Get(field))
		case !any && form == nil || !any && len(form) == 0:
			code = initial
		}
	}
	if code != "" && code != root.Code {
		refuse := func() {
			pk.Error, pk.ErrEN = "所选区划不在您的辖区内："+code, "that division is outside your jurisdiction: "+code
		}
		if !ValidCode(code) || !scope.Contains(code) {
			refuse()
		} else if d, err := s.Get(ctx, code); errors.Is(err, db.ErrNotFound) {
			refuse()
		} else if err != nil {
			return pk, err
		} else {
			pk.Chosen = &d
		}
	}
	// One select per level, from the root down to the children of the
	// chosen division.
	path := []string{root.Code}
	if pk.Chosen != nil {
		for _, a := range Ancestors(pk.Chosen.Code) {
			if len(a) > len(root.Code) {
				path = append(path, a)
			}
		}
		path = append(path, pk.Chosen.Code)
	}
	for i, parent := range path {
		kids, _, err := s.Children(ctx, parent, 0, 1000)
		if err != nil {
			return pk, err
		}
		if len(kids) == 0 {
			break
		}
		l := kids[0].Level
		zh, en := LevelName(l)
		lv := PickerLevel{Name: levelField(field, l), ID: "f-" + levelField(field, l), LabelZH: zh, LabelEN: en, Options: kids}
		if i+1 < len(path) {
			lv.Selected = path[i+1]
		}
		pk.Levels = append(pk.Levels, lv)
	}
	if pk.Action == PickerFind && pk.Query != "" {
		pk.Searched = true
		ms, total, err := s.Search(ctx, pk.Query, root.Code, 0, maxPickerMatches)
		if err != nil {
			return pk, err
		}
		pk.Matches, pk.TooMany = ms, total > len(ms)
	}
	return pk, nil
}

//go:embed picker.tmpl
var pickerSource string

// pickerPages are the picker's template in Chinese and in English.
var pickerPages = [2]*template.Template{pickerTemplate("zh"), pickerTemplate("en")}

func pickerTemplate(lang string) *template.Template {
	return template.Must(template.New("picker").Funcs(template.FuncMap{
		"tr": func(zh, en string) string {
			if lang == "en" {
				return en
			}
			return zh
		},
		"msg": func(m fault.Msg) string {
			if lang == "en" {
				return m.EN
			}
			return m.ZH
		},
	}).Parse(pickerSource))
}

// HTML renders the picker's fields for a form in lang ("zh" or "en"); a
// page puts it inside its <form> as {{.Data.Picker}}.
func (p Picker) HTML(lang string) template.HTML {
	t := pickerPages[0]
	if lang == "en" {
		t = pickerPages[1]
	}
	var b bytes.Buffer
	if err := t.Execute(&b, p); err != nil {
		// The template is compiled in and its data typed: a failure is a bug.
		panic("divisions: picker template: " + err.Error())
	}
	return template.HTML(b.String())
}
