package indicators

// Formula defines an indicator: Factor × Σ Num ÷ Σ Den over the subtree, or
// Σ Num alone when Den is empty (a count). When Num2/Den2 are set the value
// is Factor × (ΣNum/ΣDen) ÷ (ΣNum2/ΣDen2), a ratio of two means (I01).
type Formula struct {
	Factor     float64
	Num, Den   string
	Num2, Den2 string
	Additive   bool   // children's values (and targets) add up to the parent's
	Why        string // the reasoning, shown in the catalogue
}

// Formulas of the plan's 43 indicators. Sources of each element are in
// elements.go; docs/indicators.md lists the same table for readers.
var Formulas = map[string]Formula{
	"I01": {Factor: 1, Num: "urban_income_total", Den: "urban_income_pop", Num2: "rural_income_total", Den2: "rural_income_pop",
		Why: "城镇人均可支配收入 ÷ 农村人均可支配收入；两者均由总收入与人口之和求得，而不是对下级倍差取平均 / urban per-capita income ÷ rural per-capita income, each from summed totals and summed population, never an average of children's ratios"},
	"I02": {Factor: 100, Num: "villages_income_50", Den: "rural_units", Why: "年经营性收入≥50万元的行政村 ÷ 行政村（代码第10–12位为2xx/3xx/5xx的村级单位）/ villages with operating income ≥ 500k yuan ÷ administrative villages"},
	"I03": {Factor: 1, Num: "assistance_standard_weighted", Den: "assistance_standard_weight", Why: "各县在社会救助模块设定的当年低保标准（元/人·月 × 12）按常住人口加权平均，不再填报 / the counties' standards for the year as set in the assistance module (yuan per person and month × 12), weighted by resident population; no longer reported"},
	"I04": {Factor: 1, Num: "desig_future_community", Additive: true, Why: "获评未来社区称号的社区数 / count of units designated 未来社区"},
	"I05": {Factor: 1, Num: "desig_future_village", Additive: true, Why: "获评未来乡村称号的村数 / count of units designated 未来乡村"},
	"I06": {Factor: 100, Num: "desig_beautiful_village", Den: "rural_units", Why: "达标村 ÷ 行政村 / villages meeting the standard ÷ administrative villages"},
	"I07": {Factor: 1, Num: "desig_leading_rural_community", Additive: true, Why: "引领型农村社区称号数 / count of leading rural communities"},
	"I08": {Factor: 1, Num: "desig_barrier_free_community", Additive: true, Why: "省级无障碍社区称号数 / count of provincial barrier-free communities"},
	"I09": {Factor: 100, Num: "desig_epidemic_free", Den: "units", Why: "无疫村(社区) ÷ 全部村(社区) / epidemic-free units ÷ all villages and communities"},
	"I10": {Factor: 1, Num: "old_compounds_renovated", Additive: true, Why: "各社区年度属性“城镇老旧小区改造数量”之和 / sum of the yearly unit attribute old compounds renovated"},
	"I11": {Factor: 1, Num: "desig_smart_county", Additive: true, Why: "获“智慧社区建成县”称号的县(市、区)数 / counties designated as having smart communities built"},
	"I12": {Factor: 1, Num: "fac_residents_lounge", Additive: true, Why: "登记在册、在用的居民会客厅设施数 / open facilities of category 居民会客厅"},
	"I13": {Factor: 100, Num: "commercial_service_floor_area", Den: "building_floor_area", Why: "Σ社区商业和综合服务设施面积 ÷ Σ社区总建筑面积 / summed service floor area ÷ summed total floor area"},
	"I14": {Factor: 100, Num: "area_community_service", Den: "households", Why: "100 × Σ社区综合服务设施面积 ÷ Σ户数 / 100 × floor area of community service facilities ÷ households"},
	"I15": {Factor: 100, Num: "desig_health_village", Den: "rural_units", Why: "省级卫生村 ÷ 行政村 / provincial health villages ÷ administrative villages"},
	"I16": {Factor: 1000, Num: "childcare_filed_places", Den: "population", Why: "1000 × Σ备案在有效期内的托育点核定托位（托育模块）÷ Σ常住人口 / 1000 × licensed places of childcare settings with a valid filing (childcare module) ÷ population"},
	"I17": {Factor: 10000, Num: "urban_community_workers", Den: "urban_population", Why: "10000 × 城市社区专职社区工作者 ÷ Σ城镇常住人口 / 10000 × full-time workers in urban units ÷ urban population"},
	"I18": {Factor: 10000, Num: "social_orgs", Den: "population", Why: "10000 × 登记社会组织 ÷ Σ常住人口 / 10000 × registered social organisations ÷ population"},
	"I19": {Factor: 10000, Num: "social_workers", Den: "population", Why: "10000 × 持证社会工作者 ÷ Σ常住人口 / 10000 × certified social workers ÷ population"},
	"I20": {Factor: 100, Num: "community_workers_certified", Den: "community_workers", Why: "持证专职社区工作者 ÷ 专职社区工作者 / certified ÷ all full-time community workers"},
	"I21": {Factor: 10000, Num: "care_workers_certified", Den: "population_60plus", Why: "10000 × 持证养老护理员 ÷ Σ60岁及以上人口（规划称“老年人口”）/ 10000 × certified caregivers ÷ population aged 60+"},
	"I22": {Factor: 10000, Num: "gps", Den: "population", Why: "10000 × 全科医生 ÷ Σ常住人口 / 10000 × general practitioners ÷ population"},
	"C01": {Factor: 1, Num: "desig_deliberation_pilot_urban", Additive: true, Why: "城市社区议事协商创新试点称号数 / urban deliberation pilots"},
	"C02": {Factor: 1, Num: "desig_deliberation_pilot_village", Additive: true, Why: "村级议事协商创新试点称号数 / village deliberation pilots"},
	"C03": {Factor: 1, Num: "fac_urban_service_complex", Additive: true, Why: "在用的城市社区服务综合体设施数 / open urban service complexes"},
	"C04": {Factor: 100, Num: "rural_with_service_facility", Den: "rural_units", Why: "有在用社区综合服务设施的行政村 ÷ 行政村 / villages with an open community service facility ÷ villages"},
	"C05": {Factor: 1, Num: "desig_beautiful_village_showcase", Additive: true, Why: "美丽乡村精品村称号数 / showcase villages"},
	"C06": {Factor: 100, Num: "units_with_meals_served", Den: "units", Why: "当年有在册就餐老人实际就餐（至少一餐）的村(社区) ÷ 全部村(社区)，按就餐老人所在社区计（居家养老模块的助餐记录）；仅有助餐设施的口径见数据元 units_with_canteen / units where an enrolled diner was served at least one meal in the year ÷ all units, by the diner's community (the home-care module's meal records); the facility-based count remains as the element units_with_canteen"},
	"C07": {Factor: 100, Num: "special_elderly_visited", Den: "special_elderly_due", Why: "当月有完成探访的特殊困难老年人 ÷ 当月应探访的特殊困难老年人（按月计算，年度值为各月均值；走访模块上线前为“无数据”）/ special-difficulty elderly with a done visit in the month ÷ those due a visit in the month (per month; a year is the mean of its months; no data until visits exist)"},
	"C08": {Factor: 1, Num: "population_60plus", Den: "social_workers", Why: "Σ60岁及以上人口 ÷ 持证社会工作者（越低越好，目标每人服务不超过500人）/ population aged 60+ ÷ certified social workers (lower is better)"},
	"C09": {Factor: 1, Num: "desig_childcare_friendly", Additive: true, Why: "育儿友好型社区称号数 / childcare-friendly communities"},
	"C10": {Factor: 100, Num: "children_visited", Den: "children_due", Why: "当月有完成探访的孤儿和困境儿童 ÷ 当月应探访的孤儿和困境儿童（按月计算，年度值为各月均值；走访模块上线前为“无数据”）/ orphans and children in difficulty with a done visit in the month ÷ those due a visit in the month (per month; a year is the mean of its months; no data until visits exist)"},
	"C11": {Factor: 100, Num: "assistance_decided_joint", Den: "assistance_decided", Why: "当年作出决定（批准或不予批准，含申诉复核）的救助申请中，一份申请申请了两个及以上项目或一次批准两个及以上项目的件数 ÷ 当年作出决定的申请件数（由救助申请计算，不再填报；跨部门联办尚未记录）/ applications decided in the year (approved or refused, appeals included) that asked for or were approved for two programmes or more at once ÷ all applications decided in the year (computed from the applications, no longer reported; joint handling across departments is not recorded yet)"},
	"C12": {Factor: 100, Num: "assisted_families_cared", Den: "assisted_families_due", Why: "当月有完成关爱探访的救助家庭 ÷ 当月应探访的救助家庭（由走访计算，不再填报；按月计算，年度值为各月均值）/ assisted families with a done care visit in the month ÷ those due a visit in the month (computed from visits, no longer reported; per month; a year is the mean of its months)"},
	"C13": {Factor: 100, Num: "gp_key_group_signed", Den: "gp_key_group", Why: "有有效家庭医生签约的重点人群居民 ÷ 重点人群居民（65岁及以上、0–6岁儿童、残疾人、低保/特困及目录中的高血压、糖尿病、孕产妇、严重精神障碍标签；家庭医生模块）/ key-group residents with a valid family-doctor contract ÷ key-group residents (65+, children 0–6, disability, 低保/特困, and the hypertension, diabetes, pregnancy and severe-mental-illness tags when in the catalogue; family-doctor module)"},
	"C14": {Factor: 1, Num: "desig_learning_community", Additive: true, Why: "学习型社区称号数 / learning communities"},
	"C15": {Factor: 100, Num: "owners_committee_party_share", Den: "owners_committees", Why: "业委会党员比例的均值（各业委会比例之和 ÷ 业委会数）/ mean Party share over owners' committees"},
	"C16": {Factor: 1, Num: "cities_smart", Additive: true, Why: "至少有一个智慧社区的设区市数 / cities with at least one smart community"},
	"C17": {Factor: 100, Num: "rural_with_kiosk", Den: "rural_units", Why: "有政务自助服务一体机的行政村 ÷ 行政村 / villages with a self-service kiosk ÷ villages"},
	"C18": {Factor: 1, Num: "leading_talents", Additive: true, Why: "社区工作领军人才人数 / leading community-work talents"},
	"C19": {Factor: 100, Num: "units_with_volunteer_station", Den: "units", Why: "有在用志愿服务站点的村(社区) ÷ 全部村(社区)；站点是登记库中类别为“志愿服务站点”的设施，志愿服务模块的活动挂在站点上 / units with an open volunteer station ÷ all units; stations are the registry's facilities of category volunteer_station, where the volunteers module's activities are held"},
	"C20": {Factor: 100, Num: "urban_units_in_15min", Den: "urban_units_analysed", Why: "已分析城市社区的15分钟生活圈完整度之和 ÷ 已分析的城市社区数（完整度 = 人口加权的必备设施类别可达比例；只有当年有值，无路网分析时为“无数据”）/ Σ 15-minute completeness of analysed urban communities ÷ analysed urban communities (completeness: population-weighted share of the required categories within reach; current year only, no data without an analysis)"},
	"C21": {Factor: 100, Num: "rural_units_in_30min", Den: "rural_units_analysed", Why: "已分析行政村的30分钟生活圈完整度之和 ÷ 已分析的行政村数（同上）/ Σ 30-minute completeness of analysed villages ÷ analysed villages (as C20)"},
}

// keys are the elements the formula names, in order.
func (f Formula) keys() []string {
	var out []string
	for _, k := range []string{f.Num, f.Den, f.Num2, f.Den2} {
		if k != "" {
			out = append(out, k)
		}
	}
	return out
}
