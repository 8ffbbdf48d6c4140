package assistance_test

import (
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/assistance"
)

// Programmes and standards are the county's data: its officers add its
// own programme, publish rule versions and set the standard of a year;
// bad data is refused naming the field, and nobody else may set them.
func TestACountySetsItsProgrammesAndStandards(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		newTown(t, e)
		e.User("off.town", access.Officer, "330106002")
		off, cw, town := e.Login("off.county"), e.Login("cw.a"), e.Login("off.town")
		t.Run("the county runs the nine programmes of the catalogue, each at rule version 1", func(t *testing.T) {
			ps := apptest.JSON[[]assistance.Programme](t, cw, "GET", "/api/v1/assistance/programmes", nil, 200)
			if len(ps) != 9 {
				t.Fatalf("%d programmes", len(ps))
			}
			for _, p := range ps {
				if p.Version != 1 || p.County != county || len(p.Documents) == 0 {
					t.Errorf("%+v", p)
				}
			}
		})
		t.Run("the API is in the OpenAPI document, one POST per move", func(t *testing.T) {
			st, doc := cw.Do("GET", "/api/v1/openapi.json", nil)
			if st != 200 {
				t.Fatalf("%d", st)
			}
			for _, path := range []string{"/api/v1/assistance/programmes", "/api/v1/assistance/applications", "/api/v1/assistance/applications/{id}"} {
				if !strings.Contains(doc, `"`+path+`"`) {
					t.Errorf("%s is not documented", path)
				}
			}
			for _, a := range assistance.StepOrder {
				if !strings.Contains(doc, `"/api/v1/assistance/applications/{id}/`+a+`"`) {
					t.Errorf("the move %s is not documented", a)
				}
			}
		})
		own := assistance.ProgrammeInput{County: county, Code: "winter_aid", NameZH: "冬季送温暖", NameEN: "Winter warmth", AppliesTo: "household", Level: "township",
			Rule: assistance.Rule{IncomeMaxPermille: 1200, Requires: []string{assistance.CondElderly}, Benefit: assistance.Benefit{Kind: assistance.BenefitFixed, FixedFen: 30000}}}
		t.Run("the county adds its own programme, which applications are then tested against", func(t *testing.T) {
			p := apptest.JSON[assistance.Programme](t, off, "POST", "/api/v1/assistance/programmes", own, 201)
			if p.Code != "winter_aid" || p.Version != 1 || p.Rule.Benefit.FixedFen != 30000 {
				t.Fatalf("%+v", p)
			}
			if st, body := off.Do("POST", "/api/v1/assistance/programmes", own); st != 409 || !strings.Contains(body, "winter_aid") {
				t.Fatalf("twice: %d %s", st, body)
			}
		})
		for _, c := range []struct {
			name  string
			edit  func(*assistance.ProgrammeInput)
			field string
		}{
			{"a code with capitals", func(p *assistance.ProgrammeInput) { p.Code = "Winter" }, "code"},
			{"no name", func(p *assistance.ProgrammeInput) { p.NameZH = " " }, "name_zh"},
			{"an unknown applicant", func(p *assistance.ProgrammeInput) { p.AppliesTo = "village" }, "applies_to"},
			{"an unknown level", func(p *assistance.ProgrammeInput) { p.Level = "province" }, "level"},
			{"an unknown condition", func(p *assistance.ProgrammeInput) { p.Rule.Requires = []string{"tall"} }, "rule.requires"},
			{"an unknown benefit", func(p *assistance.ProgrammeInput) { p.Rule.Benefit.Kind = "lottery" }, "rule.benefit.kind"},
			{"a fixed benefit of nothing", func(p *assistance.ProgrammeInput) { p.Rule.Benefit.FixedFen = 0 }, "rule.benefit.fixed_fen"},
			{"a negative factor", func(p *assistance.ProgrammeInput) { p.Rule.IncomeMaxPermille = -1 }, "rule"},
		} {
			t.Run(c.name+" is refused naming "+c.field, func(t *testing.T) {
				in := own
				in.Code = "other_aid"
				in.Rule.Requires = append([]string{}, own.Rule.Requires...)
				c.edit(&in)
				st, body := off.Do("POST", "/api/v1/assistance/programmes", in)
				if st != 400 || !strings.Contains(body, `"field":"`+c.field+`"`) {
					t.Fatalf("%d %s", st, body)
				}
			})
		}
		t.Run("only the county's officers set programmes, rules and standards", func(t *testing.T) {
			for _, c := range []*apptest.Client{cw, town} {
				if st, _ := c.Do("POST", "/api/v1/assistance/standards", assistance.Standard{County: county, Year: 2027, DibaoFen: 120000}); st != 403 {
					t.Errorf("standard: %d", st)
				}
				if st, _ := c.Do("POST", "/api/v1/assistance/programmes/"+county+"/dibao/rules", assistance.RuleInput{Rule: assistance.Catalogue()[0].Rule}); st != 403 {
					t.Errorf("rule: %d", st)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_standards WHERE year = 2027`); n != 0 {
				t.Fatalf("%d standards written", n)
			}
		})
		t.Run("a standard is a positive amount for a year; setting it again changes it", func(t *testing.T) {
			for _, c := range []struct {
				in    assistance.Standard
				field string
			}{{assistance.Standard{County: county, Year: 2027, DibaoFen: -5}, "dibao_fen"}, {assistance.Standard{County: county, Year: 1900, DibaoFen: 5}, "year"}} {
				if st, body := off.Do("POST", "/api/v1/assistance/standards", c.in); st != 400 || !strings.Contains(body, `"field":"`+c.field+`"`) {
					t.Errorf("%d %s", st, body)
				}
			}
			apptest.JSON[[]assistance.Standard](t, off, "POST", "/api/v1/assistance/standards", assistance.Standard{County: county, Year: 2027, DibaoFen: 118000}, 200)
			st := apptest.JSON[[]assistance.Standard](t, off, "POST", "/api/v1/assistance/standards", assistance.Standard{County: county, Year: 2027, DibaoFen: 119000}, 200)
			if len(st) != 2 || st[1].Year != 2027 || st[1].DibaoFen != 119000 {
				t.Fatalf("%+v", st)
			}
		})
		t.Run("a rule version that is not valid is refused and the version stays", func(t *testing.T) {
			bad := assistance.Rule{Benefit: assistance.Benefit{Kind: assistance.BenefitStandard}}
			if st, body := off.Do("POST", "/api/v1/assistance/programmes/"+county+"/dibao/rules", assistance.RuleInput{Rule: bad}); st != 400 || !strings.Contains(body, "rule.benefit.permille") {
				t.Fatalf("%d %s", st, body)
			}
			if st, _ := off.Do("POST", "/api/v1/assistance/programmes/"+county+"/nothing/rules", assistance.RuleInput{Rule: assistance.Catalogue()[0].Rule}); st != 404 {
				t.Fatalf("unknown programme: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_rules r JOIN ast_programmes p ON p.id = r.programme_id WHERE p.code = 'dibao'`); n != 1 {
				t.Fatalf("%d versions", n)
			}
		})
	})
}
