package indicators_test

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/indicators"
	"linli/internal/module"
)

var update = flag.Bool("update", false, "rewrite docs/indicators.md from the catalogue")

// realCatalogue wires the real app's modules on a fresh SQLite store and
// returns the indicators module's element catalogue with, for each
// element another module supplies, that module's name.
func realCatalogue(t *testing.T) (indicators.Elements, map[string]string) {
	t.Helper()
	a := apptest.Open(t, dbtest.Open(t, db.SQLite, nil), nil)
	supplier := map[string]string{}
	for _, s := range app.Modules() {
		if es, ok := a.Module(s.Name).(module.ElementSupplier); ok {
			for _, e := range es.Elements() {
				supplier[e.Key] = s.Name
			}
		}
	}
	return indicators.StoreOf(a.Module("indicators")).Elements, supplier
}

// catalogueDoc renders the formula catalogue for readers.
func catalogueDoc(t *testing.T) string {
	els, supplier := realCatalogue(t)
	inds, err := indicators.Catalogue(els)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(inds, func(i, j int) bool { return inds[i].ID < inds[j].ID })
	var b strings.Builder
	b.WriteString("# 规划指标公式目录 / Indicator formula catalogue\n\n")
	b.WriteString("由 `internal/indicators` 生成（`go test ./internal/indicators -run TestDocs -update`）。每项指标 = 系数 × Σ分子 ÷ Σ分母，分子分母分别在辖区子树上求和后再相除，从不对下级比率取平均。\n")
	b.WriteString("Generated from `internal/indicators`. Each indicator is factor × Σnumerator ÷ Σdenominator, both summed over the subtree before dividing — never an average of children's ratios.\n\n")
	b.WriteString("**时点 / As of.** 年度数值按该年末的状态计算：单元属性按年份填报，称号自授予年份起、至撤销年份止（撤销只记年份，不删除），服务对象标签按其起止日期（当年按实时统计），设施、人员和组织读取其版本表（数据库触发器在每次新增、修改、删除时记录，有效期自 created_at/updated_at 起至下次变更），所以 2024 年改建或关闭的设施不会改变 2023 年的数值。\n")
	b.WriteString("Yearly values are computed as of the end of the year: unit attributes are entered per year, designations count from their award year until the year of their withdrawal (withdrawal keeps the row), service-object tags by their own start and end dates (this year from the live counts), and facilities, personnel and organisations are read from their version tables (kept by database triggers on every insert, update and delete, each version valid from created_at/updated_at until the next change), so a facility rebuilt or closed in 2024 leaves 2023's values as they were.\n\n")
	b.WriteString("**月度指标 / Monthly indicators.** 公式中含按月数据元（下表汇总方式注明“按月”，如走访模块的 `special_elderly_due`、`special_elderly_visited`）的指标按月计算：每个（区划, 年, 月）分别求和分子与分母（汇总时分子分母各自相加后再相除），得到当月数值；该年的数值是截至当月（往年为 12 月，当年为本月）各有数据月份数值的算术平均（分母为零或无数据的月份不计入），不给出分子分母。C07、C10、C12 即如此：当月有完成探访的对象 ÷ 当月应探访的对象。指标页、API（`?month=2026-11`，`?month=2026` 为全年均值）和导出可选月份；看板默认显示当年本月的数值并注明月份。月度指标在读取时计算，不进入预计算表（其数据源不在预计算的指纹内）。\n")
	b.WriteString("Indicators whose formula names a monthly element (marked monthly in the roll-up column below, such as the visits module's `special_elderly_due` and `special_elderly_visited`) are computed per month: numerator and denominator are each summed for every (division, year, month) — a roll-up adds numerators and denominators, then divides — giving the month's value; the year's value is the arithmetic mean of the values of its months that have data, up to the as-of month (December for a past year, this month for the current one; a month whose denominator is zero or missing does not count), without a numerator or denominator. C07, C10 and C12 are such: targets with a done visit in the month ÷ targets due a visit in the month. The indicator pages, the API (`?month=2026-11`; `?month=2026` is the year's mean) and the export take a month; the dashboard shows the current month's value with the month named. Monthly indicators are computed when read, never precomputed (their sources are outside the precomputed values' fingerprint).\n\n")
	b.WriteString("**I16 与 C13 / I16 and C13.** I16 的分子原为登记设施（托育机构类）填写的托位容量；现改为托育模块的 `childcare_filed_places`：托育点（托育机构、社区嵌入式托育点、家庭托育点）按班型核定的托位，只计当日（往年为年末）有备案覆盖（备案日期 ≤ 该日 ≤ 有效期至）的托育点——备案过期，其托位即离开 I16。C13 原以 60 岁及以上人口近似“重点人群”、以 `family_doctor` 标签计签约；现为家庭医生模块的 `gp_key_group_signed ÷ gp_key_group`：重点人群为 65 岁及以上、0–6 岁儿童，以及在该日有效的 `disabled_person`、`severe_disability`、`dibao`、`tekun` 标签；高血压、糖尿病、孕产妇、严重精神障碍在标签目录中尚无内置标签，管理员以 `hypertension`、`diabetes`、`pregnant`、`severe_mental_illness` 为键新增后即计入。分子为其中在该日有有效签约（开始 ≤ 该日 ≤ 结束）的居民。两者都在读取时计算。旧数据元 `childcare_places`、`family_doctor_signed` 仍可用于自设指标。\n")
	b.WriteString("I16's numerator was the capacity entered on registry facilities of the childcare category; it is now the childcare module's `childcare_filed_places`: the licensed places by age band of childcare settings (institutions, community centres, family points) whose filing covers the day counted (a past year's end) — a filing that expires takes its places out of I16. C13 used the population aged 60+ as a stand-in for the key groups and the `family_doctor` tag for contracts; it is now the family-doctor module's `gp_key_group_signed ÷ gp_key_group`: key-group residents are those aged 65+, children aged 0–6, and holders of the `disabled_person`, `severe_disability`, `dibao` or `tekun` tag on the day; hypertension, diabetes, pregnancy and severe mental illness have no built-in tag yet and count once an administrator adds tag kinds keyed `hypertension`, `diabetes`, `pregnant` and `severe_mental_illness`. The numerator is those of them with a contract valid on the day. Both are computed when read. The old elements `childcare_places` and `family_doctor_signed` remain for own indicators.\n\n")
	b.WriteString("**C06.** C06 原为有在用老年食堂/助餐点设施（登记库）的村(社区) ÷ 村(社区)；现为居家养老模块的 `units_with_meals_served ÷ units`：当年至少有一名在助餐点登记就餐的老人实际就餐一餐（堂食或送餐，由助餐点按餐次勾选或批量导入登记）的村(社区)，按就餐老人在登记库中所在的社区计，而不是按助餐点所在社区计——一个助餐点服务几个社区，就可能覆盖几个社区；只有设施、没有供餐的社区不计入。原来按设施计算的数值保留为数据元 `units_with_canteen`（有在用助餐设施的村(社区)），可用于自设指标与之对照。两者都在读取时计算。\n")
	b.WriteString("C06 was the villages and communities with an open canteen or meal point facility (registry) ÷ all; it is now the home-care module's `units_with_meals_served ÷ units`: villages and communities where at least one diner enrolled at a canteen was served at least one meal (dine-in or delivered, recorded by the canteen from a sitting's tick list or a bulk import) in the year, counted by the diner's community in the registry rather than the canteen's — a canteen serving several communities may cover each of them; a community with a facility but no meals served does not count. The facility-based value remains as the element `units_with_canteen` (units with an open canteen facility), for own indicators to compare with. Both are computed when read.\n\n")
	b.WriteString("| ID | 指标 / Indicator | 单位 | 2020 | 目标 / target | 公式 / formula | 说明 / why |\n|---|---|---|---|---|---|---|\n")
	f := func(p *float64) string {
		if p == nil {
			return "—"
		}
		return fmt.Sprintf("%g", *p)
	}
	for _, in := range inds {
		fmt.Fprintf(&b, "| %s | %s / %s | %s | %s | %s (%d, %s) | %s | %s |\n", in.ID, in.NameZH, in.NameEN, in.Unit, f(in.Baseline), f(in.Target), in.TargetYear, in.Attribute, in.Expression, in.Why)
	}
	b.WriteString("\n## 自设指标 / Own indicators\n\n")
	b.WriteString("乡镇(街道)及以上的民政干部可在“指标目录”页（`/indicators/catalogue`）或 `POST /api/v1/indicator-definitions` 新增本级自设指标，公式写作 `[系数 ×] 分子 [÷ 分母]` 或 `[系数 ×] (a ÷ b) ÷ (c ÷ d)`，分子分母为下表数据元的键，例如 `10000 × care_workers_certified ÷ population_60plus`。公式逐项校验（未知数据元会被点名，不保存任何内容）；自设指标适用于设立单位及其下级，与规划指标一样汇总、预计算、分解目标和导出。\n")
	b.WriteString("Officers of a township or higher add their own indicators on the catalogue page or through `POST /api/v1/indicator-definitions`, writing the formula over the element keys below. A formula naming an unknown element is refused with the name and nothing is saved; an own indicator applies to its division and below and is rolled up, precomputed, targeted and exported like the plan's.\n")
	b.WriteString("\n平台没有的数据可定义为自设填报数据项（`POST /api/v1/data-elements`，键以 `own_` 开头）：指定名称、单位、取值范围和填报层级，只在设立单位辖区内填报或导入，按 SUM 汇总；被公式引用或已有填报值的数据项不能删除。\n")
	b.WriteString("Data the platform lacks can be defined as an own reported element (`POST /api/v1/data-elements`, key starting `own_`) with names, unit, bounds and the reporting level; it is reported or imported inside the defining division only and rolls up by SUM. An element a formula names or that holds values cannot be deleted.\n")
	b.WriteString("\n## 数据元 / Data elements\n\n汇总方式：除注明者外均为 SUM（按代码前缀求和）；加权平均由两个 SUM 元素相除得到（如 I03）。/ Roll-up is SUM over the code prefix unless noted; a weighted mean is the ratio of two SUM elements (I03).\n\n| key | 名称 / name | 来源 / source | 汇总 / roll-up |\n|---|---|---|---|\n")
	rows := map[string]string{}
	for k, e := range els {
		src := e.Source
		switch m := supplier[k]; {
		case m != "" && e.Volatile:
			src += "（" + m + " 模块提供，读取时计算 / from the " + m + " module, computed when read）"
		case m != "":
			src += "（" + m + " 模块提供 / from the " + m + " module）"
		}
		agg := "SUM"
		if e.Monthly {
			agg = "SUM，按月 / SUM, monthly"
		}
		if e.Distinct4 {
			agg = "COUNT DISTINCT 设区市 / distinct cities"
		}
		rows[k] = fmt.Sprintf("| %s | %s / %s | %s | %s |\n", k, e.NameZH, e.NameEN, src, agg)
	}
	// Elements a plan formula names that no module supplies yet.
	for _, fm := range indicators.Formulas {
		for _, k := range []string{fm.Num, fm.Den, fm.Num2, fm.Den2} {
			if _, ok := els[k]; k != "" && !ok {
				rows[k] = fmt.Sprintf("| %s | — | 模块上线前无数据 / no data until its module exists | SUM |\n", k)
			}
		}
	}
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(rows[k])
	}
	return b.String()
}

func TestDocsInStep(t *testing.T) {
	want := catalogueDoc(t)
	path := "../../docs/indicators.md"
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("docs/indicators.md is out of step with the catalogue: run go test ./internal/indicators -run TestDocs -update")
	}
}
