package assistance

import (
	"fmt"
	"strconv"
	"strings"

	"linli/internal/fault"
)

// The eligibility rules are data: a programme's Rule says which household
// facts it tests and how its benefit is worked out, and Evaluate applies
// it in plain Go with a reason for every test it makes. Money is integer
// fen throughout; factors are per mille of the county's 低保标准 so that
// no comparison rounds (income × 1000 ≤ standard × factor × persons).

// Conditions a rule may require of a member or the household.
const (
	CondDisabled       = "disabled"        // any certified disability
	CondSevereDisabled = "severe_disabled" // disability grade 1 or 2
	CondElderly        = "elderly"         // aged 60 or over
	CondMinor          = "minor"           // under 18
	CondIll            = "ill"             // serious illness
	CondStudent        = "student"         // in school or college
	CondUnemployed     = "unemployed"      // of working age and out of work
	CondNoLabour       = "no_labour"       // household: nobody of working age able to work
	CondHousing        = "housing"         // household: declared housing difficulty
)

// Conditions are the known condition names, with their words.
var conditionNames = map[string]fault.Msg{
	CondDisabled:       fault.M("残疾", "disability"),
	CondSevereDisabled: fault.M("重度残疾", "severe disability"),
	CondElderly:        fault.M("60 岁及以上", "aged 60 or over"),
	CondMinor:          fault.M("未成年", "under 18"),
	CondIll:            fault.M("重病", "serious illness"),
	CondStudent:        fault.M("在校学生", "student"),
	CondUnemployed:     fault.M("劳动年龄失业", "unemployed of working age"),
	CondNoLabour:       fault.M("无劳动能力", "no one able to work"),
	CondHousing:        fault.M("住房困难", "housing difficulty"),
}

// Benefit kinds.
const (
	BenefitGap      = "gap"      // (standard − per-capita income) × persons, plus top-ups
	BenefitStandard = "standard" // standard × Permille per person counted
	BenefitFixed    = "fixed"    // FixedFen per household, person or member meeting the rule
	BenefitNone     = "none"     // no cash: a service or a bill-based amount decided later
)

// Rule is one version of a programme's eligibility and benefit.
type Rule struct {
	// IncomeMaxPermille: per-capita monthly income ≤ standard × this ÷ 1000
	// (0: no income test).
	IncomeMaxPermille int `json:"income_max_permille"`
	// IncomeMinPermille: per-capita income > standard × this ÷ 1000 (the
	// 低保边缘 band lies above the 低保 line; 0: no lower bound).
	IncomeMinPermille int `json:"income_min_permille,omitempty"`
	// AssetsMonths: per-capita financial assets ≤ standard × months
	// (0: no assets test).
	AssetsMonths int `json:"assets_months,omitempty"`
	// Requires: at least one member (or the household) meets one of these.
	Requires []string `json:"requires,omitempty"`
	// NoLabour: nobody in the household of working age is able to work.
	NoLabour bool    `json:"no_labour,omitempty"`
	Benefit  Benefit `json:"benefit"`
}

// Benefit is how a monthly amount is worked out.
type Benefit struct {
	Kind     string `json:"kind"`
	Permille int    `json:"permille,omitempty"`  // standard: share of the standard
	FixedFen int64  `json:"fixed_fen,omitempty"` // fixed: the amount
	// Per: "household" (once), "person" (each member) or "member" (each
	// member meeting Requires). Default household for fixed, person for standard.
	Per    string  `json:"per,omitempty"`
	TopUps []TopUp `json:"top_ups,omitempty"`
}

// TopUp adds a share of the standard for each member with a condition.
type TopUp struct {
	Condition string `json:"condition"`
	Permille  int    `json:"permille"`
}

// Member is one person's facts as declared (and checked).
type Member struct {
	ResidentID string `json:"resident_id"`
	Name       string `json:"name,omitempty"`
	Age        int    `json:"age"`
	Disability string `json:"disability,omitempty"` // "", "mild", "severe"
	Ill        bool   `json:"ill,omitempty"`
	Student    bool   `json:"student,omitempty"`
	Unemployed bool   `json:"unemployed,omitempty"`
}

// Facts are a household's facts an application declares.
type Facts struct {
	Members []Member `json:"members"`
	// IncomeFen is the household's monthly income; nil when not declared.
	IncomeFen *int64 `json:"income_fen,omitempty"`
	// AssetsFen is the household's financial assets; nil when not declared.
	AssetsFen *int64 `json:"assets_fen,omitempty"`
	Housing   bool   `json:"housing,omitempty"`
}

// Outcomes of an evaluation.
const (
	Eligible   = "eligible"
	Ineligible = "ineligible"
	Unknown    = "unknown" // a fact the rule tests is missing: the 核对 decides
)

// Result is one programme tested against the facts.
type Result struct {
	Programme string      `json:"programme"` // code
	Version   int         `json:"rule_version"`
	Outcome   string      `json:"outcome"`
	Reasons   []fault.Msg `json:"reasons"`
	AmountFen int64       `json:"amount_fen"` // monthly; 0 unless eligible
}

// Has tells whether a member meets a member condition.
func (m Member) Has(cond string) bool {
	switch cond {
	case CondDisabled:
		return m.Disability != ""
	case CondSevereDisabled:
		return m.Disability == "severe"
	case CondElderly:
		return m.Age >= 60
	case CondMinor:
		return m.Age < 18
	case CondIll:
		return m.Ill
	case CondStudent:
		return m.Student
	case CondUnemployed:
		return m.Unemployed && m.working()
	}
	return false
}

// working: of working age (16–59).
func (m Member) working() bool { return m.Age >= 16 && m.Age < 60 }

// labour: of working age and able to work.
func (m Member) labour() bool { return m.working() && m.Disability != "severe" && !m.Ill && !m.Student }

func (f Facts) has(cond string) bool {
	switch cond {
	case CondNoLabour:
		return f.noLabour()
	case CondHousing:
		return f.Housing
	}
	for _, m := range f.Members {
		if m.Has(cond) {
			return true
		}
	}
	return false
}

func (f Facts) noLabour() bool {
	for _, m := range f.Members {
		if m.labour() {
			return false
		}
	}
	return true
}

// Evaluate tests facts against one rule version with the county's
// monthly 低保标准 (fen) for the year.
func Evaluate(code string, version int, r Rule, standardFen int64, f Facts) Result {
	res := Result{Programme: code, Version: version, Outcome: Eligible}
	n := int64(len(f.Members))
	fail := func(m fault.Msg) { res.Outcome = Ineligible; res.Reasons = append(res.Reasons, m) }
	pass := func(m fault.Msg) { res.Reasons = append(res.Reasons, m) }
	unknown := func(m fault.Msg) {
		if res.Outcome == Eligible {
			res.Outcome = Unknown
		}
		res.Reasons = append(res.Reasons, m)
	}
	if n == 0 {
		fail(fault.M("没有家庭成员", "no household member"))
		return res
	}
	std := Yuan(standardFen)
	if r.IncomeMaxPermille > 0 || r.IncomeMinPermille > 0 {
		if f.IncomeFen == nil {
			unknown(fault.M("未申报收入：须经家庭经济状况核对后认定", "income not declared: the household economic check decides"))
		} else {
			income := *f.IncomeFen
			pc := Yuan(income / n)
			if r.IncomeMaxPermille > 0 {
				line := fmt.Sprintf("低保标准 %s 元 × %s", std, factor(r.IncomeMaxPermille))
				lineEN := fmt.Sprintf("the standard %s yuan × %s", std, factor(r.IncomeMaxPermille))
				if income*1000 <= standardFen*int64(r.IncomeMaxPermille)*n {
					pass(fault.M("人均月收入 "+pc+" 元 ≤ "+line, "monthly income per person "+pc+" yuan ≤ "+lineEN))
				} else {
					fail(fault.M("人均月收入 "+pc+" 元 > "+line, "monthly income per person "+pc+" yuan > "+lineEN))
				}
			}
			if r.IncomeMinPermille > 0 {
				line := fmt.Sprintf("低保标准 %s 元 × %s", std, factor(r.IncomeMinPermille))
				lineEN := fmt.Sprintf("the standard %s yuan × %s", std, factor(r.IncomeMinPermille))
				if income*1000 > standardFen*int64(r.IncomeMinPermille)*n {
					pass(fault.M("人均月收入 "+pc+" 元 > "+line, "monthly income per person "+pc+" yuan > "+lineEN))
				} else {
					fail(fault.M("人均月收入 "+pc+" 元 ≤ "+line+"（应申请低保）", "monthly income per person "+pc+" yuan ≤ "+lineEN+" (apply for dibao)"))
				}
			}
		}
	}
	if r.AssetsMonths > 0 {
		if f.AssetsFen == nil {
			unknown(fault.M("未申报家庭金融资产：须经核对后认定", "assets not declared: the economic check decides"))
		} else {
			pc := Yuan(*f.AssetsFen / n)
			limit := Yuan(standardFen * int64(r.AssetsMonths))
			if *f.AssetsFen <= standardFen*int64(r.AssetsMonths)*n {
				pass(fault.M(fmt.Sprintf("人均金融资产 %s 元 ≤ 低保标准 × %d 个月 = %s 元", pc, r.AssetsMonths, limit),
					fmt.Sprintf("financial assets per person %s yuan ≤ the standard × %d months = %s yuan", pc, r.AssetsMonths, limit)))
			} else {
				fail(fault.M(fmt.Sprintf("人均金融资产 %s 元 > 低保标准 × %d 个月 = %s 元", pc, r.AssetsMonths, limit),
					fmt.Sprintf("financial assets per person %s yuan > the standard × %d months = %s yuan", pc, r.AssetsMonths, limit)))
			}
		}
	}
	if len(r.Requires) > 0 {
		var met []string
		for _, c := range r.Requires {
			if f.has(c) {
				met = append(met, c)
			}
		}
		if len(met) > 0 {
			pass(fault.M("家庭成员情况："+condWords(met, "zh"), "members: "+condWords(met, "en")))
		} else {
			fail(fault.M("家庭成员中没有："+condWords(r.Requires, "zh"), "no member with: "+condWords(r.Requires, "en")))
		}
	}
	if r.NoLabour {
		if f.noLabour() {
			pass(fault.M("家庭中无劳动年龄内有劳动能力的成员", "no one of working age able to work"))
		} else {
			fail(fault.M("家庭中有劳动年龄内有劳动能力的成员", "someone of working age is able to work"))
		}
	}
	if res.Outcome == Eligible {
		res.AmountFen, res.Reasons = benefit(r, standardFen, f, res.Reasons)
	}
	return res
}

// benefit works out the monthly amount and says how.
func benefit(r Rule, standardFen int64, f Facts, reasons []fault.Msg) (int64, []fault.Msg) {
	b := r.Benefit
	n := int64(len(f.Members))
	var amount int64
	switch b.Kind {
	case BenefitGap:
		income := int64(0)
		if f.IncomeFen != nil {
			income = *f.IncomeFen
		}
		amount = standardFen*n - income
		if amount < 0 {
			amount = 0
		}
		reasons = append(reasons, fault.M(fmt.Sprintf("差额：低保标准 %s 元 × %d 人 − 家庭月收入 %s 元 = %s 元", Yuan(standardFen), n, Yuan(income), Yuan(amount)),
			fmt.Sprintf("gap: the standard %s yuan × %d − monthly income %s yuan = %s yuan", Yuan(standardFen), n, Yuan(income), Yuan(amount))))
	case BenefitStandard:
		count := counted(r, b.Per, f, BenefitStandard)
		amount = standardFen * int64(b.Permille) / 1000 * count
		reasons = append(reasons, fault.M(fmt.Sprintf("低保标准 %s 元 × %s × %d 人 = %s 元", Yuan(standardFen), factor(b.Permille), count, Yuan(amount)),
			fmt.Sprintf("the standard %s yuan × %s × %d = %s yuan", Yuan(standardFen), factor(b.Permille), count, Yuan(amount))))
	case BenefitFixed:
		count := counted(r, b.Per, f, BenefitFixed)
		amount = b.FixedFen * count
		reasons = append(reasons, fault.M(fmt.Sprintf("定额 %s 元 × %d = %s 元", Yuan(b.FixedFen), count, Yuan(amount)),
			fmt.Sprintf("fixed %s yuan × %d = %s yuan", Yuan(b.FixedFen), count, Yuan(amount))))
	default:
		reasons = append(reasons, fault.M("不发放定额现金，按实际费用或服务核定", "no fixed cash: decided on bills or as a service"))
		return 0, reasons
	}
	for _, t := range b.TopUps {
		k := int64(0)
		for _, m := range f.Members {
			if m.Has(t.Condition) {
				k++
			}
		}
		if k == 0 {
			continue
		}
		add := standardFen * int64(t.Permille) / 1000 * k
		amount += add
		w := conditionNames[t.Condition]
		reasons = append(reasons, fault.M(fmt.Sprintf("%s加发：低保标准 × %s × %d 人 = %s 元", w.ZH, factor(t.Permille), k, Yuan(add)),
			fmt.Sprintf("top-up for %s: the standard × %s × %d = %s yuan", w.EN, factor(t.Permille), k, Yuan(add))))
	}
	reasons = append(reasons, fault.M("每月救助金额 "+Yuan(amount)+" 元", "monthly amount "+Yuan(amount)+" yuan"))
	return amount, reasons
}

func counted(r Rule, per string, f Facts, kind string) int64 {
	if per == "" {
		per = map[string]string{BenefitFixed: "household", BenefitStandard: "person"}[kind]
	}
	switch per {
	case "person":
		return int64(len(f.Members))
	case "member":
		k := int64(0)
		for _, m := range f.Members {
			for _, c := range r.Requires {
				if m.Has(c) {
					k++
					break
				}
			}
		}
		return k
	}
	return 1
}

func condWords(cs []string, lang string) string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, conditionNames[c].In(lang))
	}
	if lang == "en" {
		return strings.Join(out, ", ")
	}
	return strings.Join(out, "、")
}

// factor writes a per-mille factor as a decimal: 1000 → "1.0", 1500 → "1.5".
func factor(permille int) string {
	s := strconv.FormatFloat(float64(permille)/1000, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// Yuan writes fen as yuan with thousands separators: 112000 → "1,120",
// 82050 → "820.50", -500 → "-5".
func Yuan(fen int64) string {
	neg := fen < 0
	if neg {
		fen = -fen
	}
	whole := strconv.FormatInt(fen/100, 10)
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	s := b.String()
	if cents := fen % 100; cents != 0 {
		s += fmt.Sprintf(".%02d", cents)
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ValidRule checks a rule's data; the field named is the rule's.
func ValidRule(r Rule) *fault.FieldError {
	bad := func(f string, m fault.Msg) *fault.FieldError { e := fault.Field(f, m); return &e }
	if r.IncomeMaxPermille < 0 || r.IncomeMinPermille < 0 || r.AssetsMonths < 0 {
		return bad("rule", fault.M("系数和月数不能为负数", "factors and months cannot be negative"))
	}
	for _, c := range r.Requires {
		if _, ok := conditionNames[c]; !ok {
			return bad("rule.requires", fault.M("未知的条件："+c, "unknown condition: "+c))
		}
	}
	switch r.Benefit.Kind {
	case BenefitGap, BenefitNone:
	case BenefitStandard:
		if r.Benefit.Permille <= 0 {
			return bad("rule.benefit.permille", fault.M("须填写标准的倍数（千分比）", "give the share of the standard (per mille)"))
		}
	case BenefitFixed:
		if r.Benefit.FixedFen <= 0 {
			return bad("rule.benefit.fixed_fen", fault.M("须填写定额（分）", "give the fixed amount (fen)"))
		}
	default:
		return bad("rule.benefit.kind", fault.M("救助金计算方式应为 gap、standard、fixed 或 none", "the benefit kind is gap, standard, fixed or none"))
	}
	switch r.Benefit.Per {
	case "", "household", "person", "member":
	default:
		return bad("rule.benefit.per", fault.M("计发单位应为 household、person 或 member", "per is household, person or member"))
	}
	for _, t := range r.Benefit.TopUps {
		if _, ok := conditionNames[t.Condition]; !ok || t.Permille <= 0 {
			return bad("rule.benefit.top_ups", fault.M("加发条件或比例无效："+t.Condition, "invalid top-up: "+t.Condition))
		}
	}
	return nil
}
