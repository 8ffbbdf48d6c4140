package assistance_test

import (
	"slices"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/assistance"
	"linli/internal/fault"
)

// Five households worked out by hand against the county's 2026 standard
// of 1,120 yuan a month, under the catalogue's 低保 rule (version 1:
// income ≤ standard × 1.0, assets ≤ standard × 24 per person, the gap plus
// 20 % of the standard per disabled member) and then version 2 (assets ×
// 36 months, disabled top-up 30 %). Applications made before version 2
// keep version 1.
func TestEligibilityAndBenefitOfFiveHouseholdsUnderTwoRuleVersions(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		cw := e.Login("cw.a")
		apply := func(t *testing.T, in assistance.ApplyInput) assistance.Application {
			t.Helper()
			in.Consent = true
			return apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications", in, 201)
		}
		type want struct {
			outcome string
			amount  int64
			reason  string // one reason, in Chinese, in full
		}
		check := func(t *testing.T, a assistance.Application, code string, version int, wt want) {
			t.Helper()
			r := result(a, code)
			if r.Version != version || r.Outcome != wt.outcome || r.AmountFen != wt.amount {
				t.Errorf("%s: version %d %s %d fen, want version %d %s %d: %v", code, r.Version, r.Outcome, r.AmountFen, version, wt.outcome, wt.amount, r.Reasons)
			}
			if wt.reason != "" && !slices.ContainsFunc(r.Reasons, func(m fault.Msg) bool { return m.ZH == wt.reason }) {
				t.Errorf("%s: reasons %v lack %q", code, r.Reasons, wt.reason)
			}
		}
		// A household has one open application at a time: each round of
		// applications is made for its own five households, alike.
		inputs := func(t *testing.T) map[string]assistance.ApplyInput {
			atLine, _ := w.household(t, "", 1986, 1988)
			disabled, dm := w.household(t, "", 1976, 1978)
			rich, _ := w.household(t, "", 1981)
			three, tm := w.household(t, "", 1981, 2011, 1956)
			silent, _ := w.household(t, "", 1996)
			return map[string]assistance.ApplyInput{
				// 2 persons, 2,240 yuan: exactly at the line; the gap is 0.
				"atLine": {HouseholdID: atLine, IncomeFen: fen(224000), AssetsFen: fen(0), Programmes: []string{"dibao"}},
				// 2 persons, 1,000 yuan, one mildly disabled: 2,240 − 1,000 = 1,240 plus 224 (v1) or 336 (v2).
				"disabled": {HouseholdID: disabled, IncomeFen: fen(100000), AssetsFen: fen(500000), Programmes: []string{"dibao"},
					Members: []assistance.MemberInput{{ResidentID: dm[0], Disability: "mild"}, {ResidentID: dm[1]}}},
				// 1 person, 500 yuan, 30,000 of savings: over 24 months (26,880), under 36 (40,320).
				"rich": {HouseholdID: rich, IncomeFen: fen(50000), AssetsFen: fen(3000000), Programmes: []string{"dibao"}},
				// 3 persons (45, a student of 15, an ill 70), 2,000 yuan: asks 低保 and 临时救助,
				// and may also have 医疗救助 and 教育救助.
				"three": {HouseholdID: three, IncomeFen: fen(200000), AssetsFen: fen(0), Programmes: []string{"dibao", "temporary"},
					Members: []assistance.MemberInput{{ResidentID: tm[0]}, {ResidentID: tm[1], Student: true}, {ResidentID: tm[2], Ill: true}}},
				// No income or assets declared: the check decides.
				"silent": {HouseholdID: silent, Programmes: []string{"dibao"}},
			}
		}
		first := map[string]assistance.Application{}
		t.Run("under version 1 every outcome, amount and reason is as worked out by hand", func(t *testing.T) {
			for k, in := range inputs(t) {
				first[k] = apply(t, in)
			}
			check(t, first["atLine"], "dibao", 1, want{assistance.Eligible, 0, "人均月收入 1,120 元 ≤ 低保标准 1,120 元 × 1.0"})
			check(t, first["atLine"], "dibao_edge", 1, want{assistance.Ineligible, 0, "人均月收入 1,120 元 ≤ 低保标准 1,120 元 × 1.0（应申请低保）"})
			check(t, first["disabled"], "dibao", 1, want{assistance.Eligible, 146400, "残疾加发：低保标准 × 0.2 × 1 人 = 224 元"})
			check(t, first["disabled"], "disability", 1, want{assistance.Eligible, 15000, "定额 150 元 × 1 = 150 元"})
			check(t, first["rich"], "dibao", 1, want{assistance.Ineligible, 0, "人均金融资产 30,000 元 > 低保标准 × 24 个月 = 26,880 元"})
			check(t, first["three"], "dibao", 1, want{assistance.Eligible, 136000, "人均月收入 666.66 元 ≤ 低保标准 1,120 元 × 1.0"})
			check(t, first["three"], "temporary", 1, want{assistance.Eligible, 100000, ""})
			check(t, first["three"], "medical", 1, want{assistance.Eligible, 0, "家庭成员情况：重病"})
			check(t, first["three"], "education", 1, want{assistance.Eligible, 50000, ""})
			check(t, first["three"], "tekun", 1, want{assistance.Ineligible, 0, "家庭中有劳动年龄内有劳动能力的成员"})
			check(t, first["silent"], "dibao", 1, want{assistance.Unknown, 0, "未申报收入：须经家庭经济状况核对后认定"})
			if got := first["three"].Plausible; !slices.Equal(got, []string{"education", "medical"}) {
				t.Errorf("the household that asked for 低保 and 临时救助 may also have %v, want [education medical]", got)
			}
			if got := first["silent"].Plausible; len(got) != 0 {
				t.Errorf("no income data, yet plausible %v", got)
			}
		})
		t.Run("the page tells the household which programmes it may also qualify for", func(t *testing.T) {
			st, page, _ := cw.Get("/assistance/applications/" + first["three"].ID)
			if st != 200 || !strings.Contains(page, "你家可能还符合：教育救助、医疗救助") {
				t.Fatalf("status %d; the sentence is missing", st)
			}
		})
		t.Run("the county publishes version 2; new applications use it, the first keep version 1", func(t *testing.T) {
			off := e.Login("off.county")
			rule := assistance.Rule{IncomeMaxPermille: 1000, AssetsMonths: 36, Benefit: assistance.Benefit{Kind: assistance.BenefitGap, TopUps: []assistance.TopUp{{Condition: assistance.CondDisabled, Permille: 300}}}}
			p := apptest.JSON[assistance.Programme](t, off, "POST", "/api/v1/assistance/programmes/"+county+"/dibao/rules", assistance.RuleInput{Rule: rule}, 201)
			if p.Version != 2 {
				t.Fatalf("version %d, want 2", p.Version)
			}
			second := map[string]assistance.Application{}
			for k, in := range inputs(t) {
				second[k] = apply(t, in)
			}
			check(t, second["atLine"], "dibao", 2, want{assistance.Eligible, 0, "人均月收入 1,120 元 ≤ 低保标准 1,120 元 × 1.0"})
			check(t, second["disabled"], "dibao", 2, want{assistance.Eligible, 157600, "残疾加发：低保标准 × 0.3 × 1 人 = 336 元"})
			check(t, second["rich"], "dibao", 2, want{assistance.Eligible, 62000, "人均金融资产 30,000 元 ≤ 低保标准 × 36 个月 = 40,320 元"})
			check(t, second["three"], "dibao", 2, want{assistance.Eligible, 136000, ""})
			check(t, second["silent"], "dibao", 2, want{assistance.Unknown, 0, ""})
			again := apptest.JSON[assistance.Application](t, cw, "GET", "/api/v1/assistance/applications/"+first["disabled"].ID, nil, 200)
			check(t, again, "dibao", 1, want{assistance.Eligible, 146400, ""})
		})
		t.Run("the check's income decides the household that declared none, under its own rule version", func(t *testing.T) {
			id := first["silent"].ID
			for _, step := range []struct {
				action string
				in     assistance.Input
			}{{"accept", assistance.Input{}}, {"check", assistance.Input{}}, {"checked", assistance.Input{IncomeFen: fen(30000), AssetsFen: fen(100000)}}} {
				apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications/"+id+"/"+step.action, step.in, 200)
			}
			a := apptest.JSON[assistance.Application](t, cw, "GET", "/api/v1/assistance/applications/"+id, nil, 200)
			check(t, a, "dibao", 1, want{assistance.Eligible, 82000, "差额：低保标准 1,120 元 × 1 人 − 家庭月收入 300 元 = 820 元"})
		})
	})
}

// The evaluator alone: yuan are written with separators and cents, and a
// household without members qualifies for nothing.
func TestYuanAndAnEmptyHousehold(t *testing.T) {
	for fen, want := range map[int64]string{112000: "1,120", 82050: "820.50", 0: "0", 123456789: "1,234,567.89", -500: "-5"} {
		if got := assistance.Yuan(fen); got != want {
			t.Errorf("Yuan(%d) = %q, want %q", fen, got, want)
		}
	}
	r := assistance.Evaluate("dibao", 1, assistance.Catalogue()[0].Rule, 112000, assistance.Facts{IncomeFen: fen(0)})
	if r.Outcome != assistance.Ineligible {
		t.Errorf("no members: %s", r.Outcome)
	}
}
