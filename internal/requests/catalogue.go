package requests

import (
	"context"
	"encoding/json"
	"time"

	"linli/internal/fault"
	"linli/internal/questions"
)

// Attribute is one extra question of a category: the Open311 service
// definition attribute model, the questions kit's typed question.
type Attribute = questions.Question

// Choice is one allowed value of a list attribute.
type Choice = questions.Choice

// Category is a service of the catalogue.
type Category struct {
	Code          string      `json:"code"`
	Group         string      `json:"group"`
	NameZH        string      `json:"name_zh"`
	NameEN        string      `json:"name_en"`
	DescZH        string      `json:"description_zh"`
	DescEN        string      `json:"description_en"`
	UnitLevel     int         `json:"unit_level"` // 5 community, 4 township, 3 county
	ResponseHours int         `json:"response_hours"`
	ResolveHours  int         `json:"resolve_hours"`
	WorkingHours  bool        `json:"working_hours"` // false: calendar hours
	Public        bool        `json:"public"`
	Attributes    []Attribute `json:"attributes"`
	Templates     []string    `json:"reply_templates"`
}

// mustJSON encodes attributes, choices and templates: plain maps, slices
// and strings, which always encode.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	if string(b) == "null" {
		return "[]"
	}
	return string(b)
}

var yesNo = questions.YesNoChoices

// Catalogue is the initial service catalogue (seeded by a migration).
var Catalogue = []Category{
	{"sanitation", "环境 / Environment", "环境卫生", "Sanitation", "垃圾清运、楼道堆物、污水外溢等", "Rubbish, clutter in stairwells, sewage overflow", 5, 4, 24, true, true,
		[]Attribute{{Code: "spot", Type: "singlevaluelist", LabelZH: "位置类型", LabelEN: "Kind of place", Values: []Choice{{Key: "street", Name: "道路 / street"}, {Key: "stairwell", Name: "楼道 / stairwell"}, {Key: "green", Name: "绿地 / green space"}}, Required: true}},
		[]string{"已安排保洁人员清理，感谢您的反映。", "已联系物业限期整改。"}},
	{"property", "物业 / Property", "物业服务", "Property management", "物业服务质量、收费、公共设施维护", "Property service quality, fees, common facilities", 5, 8, 72, true, true, nil,
		[]string{"已约谈物业公司，限期整改并回访。"}},
	{"repair", "设施 / Facilities", "设施维修", "Facility repair", "路灯、井盖、健身器材、电梯等公共设施损坏", "Broken street lights, manhole covers, fitness equipment, lifts", 5, 4, 48, true, true,
		[]Attribute{{Code: "facility", Type: "singlevaluelist", Required: true, LabelZH: "设施", LabelEN: "Facility", Values: []Choice{{Key: "light", Name: "路灯 / street light"}, {Key: "manhole", Name: "井盖 / manhole"}, {Key: "lift", Name: "电梯 / lift"}, {Key: "fitness", Name: "健身器材 / fitness equipment"}, {Key: "other", Name: "其他 / other"}}},
			{Code: "danger", Type: "singlevaluelist", LabelZH: "是否有安全隐患", LabelEN: "Is it dangerous", Values: yesNo}},
		[]string{"已派维修人员现场修复。"}},
	{"elderly", "服务 / Services", "养老服务", "Elderly care", "居家养老、助浴助洁、适老化改造", "Home care, bathing and cleaning help, age-friendly refits", 5, 8, 72, true, false,
		[]Attribute{{Code: "age", Type: "number", LabelZH: "老人年龄", LabelEN: "Age of the elder"}}, []string{"已对接居家养老服务中心上门服务。"}},
	{"childcare", "服务 / Services", "托育服务", "Childcare", "托育机构、婴幼儿照护咨询", "Childcare places and infant care advice", 5, 8, 120, true, true, nil, nil},
	{"meals", "服务 / Services", "助餐", "Meal service", "老年食堂、助餐配送", "Canteens and meal delivery for the elderly", 5, 8, 72, true, true, nil, nil},
	{"dispute", "平安 / Safety", "邻里纠纷", "Neighbour dispute", "噪音、漏水、占道等邻里矛盾调解", "Mediation of noise, leaks, blocked passages", 5, 8, 120, true, false,
		[]Attribute{{Code: "parties", Type: "number", LabelZH: "涉及户数", LabelEN: "Households involved"}}, []string{"已组织双方调解，达成一致。"}},
	{"security", "平安 / Safety", "治安隐患", "Public security hazard", "可疑人员、技防设施缺失", "Suspicious activity, missing cameras or locks", 4, 2, 24, false, true, nil, nil},
	{"fire", "平安 / Safety", "消防隐患", "Fire hazard", "电动车楼道充电、消防通道堵塞", "E-bikes charging indoors, blocked fire lanes", 5, 2, 24, false, true,
		[]Attribute{{Code: "seen_at", Type: "datetime", LabelZH: "发现时间", LabelEN: "Seen at"}}, []string{"已现场清理并张贴提示。"}},
	{"policy", "咨询 / Advice", "政策咨询", "Policy question", "社保、医保、户籍等政策咨询", "Questions on social insurance, health insurance, residence", 5, 8, 40, true, true, nil, []string{"已电话解答，政策依据如下："}},
	{"employment", "服务 / Services", "就业", "Employment", "就业岗位、技能培训", "Jobs and skills training", 4, 8, 120, true, true, nil, nil},
	{"assistance", "救助 / Assistance", "社会救助", "Social assistance", "低保、临时救助、困难帮扶", "Minimum living allowance, emergency aid", 4, 8, 120, true, false, nil, nil},
	{"legal", "咨询 / Advice", "法律服务", "Legal aid", "法律咨询与援助", "Legal advice and aid", 4, 8, 120, true, false, nil, nil},
	{"culture", "文体 / Culture", "文体活动", "Culture and sports", "文体活动场地与组织", "Places and organisation of cultural and sports activities", 5, 8, 120, true, true,
		[]Attribute{{Code: "kinds", Type: "multivaluelist", LabelZH: "活动类别", LabelEN: "Kinds of activity", Values: []Choice{{Key: "dance", Name: "广场舞 / square dance"}, {Key: "chess", Name: "棋牌 / chess and cards"}, {Key: "ball", Name: "球类 / ball games"}, {Key: "reading", Name: "阅读 / reading"}}}},
		nil},
	{"suggestion", "建议 / Suggestions", "意见建议", "Suggestion", "对社区治理和服务的意见建议", "Suggestions on community governance and services", 5, 16, 120, true, true,
		[]Attribute{{Code: "visit_on", Type: "date", LabelZH: "希望回访日期", LabelEN: "Preferred visit date"}}, []string{"感谢您的建议，已纳入社区议事会议题。"}},
}

// Categories reads the active catalogue.
func (s *Store) Categories(ctx context.Context) ([]Category, error) {
	s.catMu.Lock()
	defer s.catMu.Unlock()
	if s.cats != nil && s.Now().Sub(s.catAt) < time.Minute {
		return s.cats, nil
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+catCols+` FROM request_categories WHERE active ORDER BY sort, code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Category
	for rows.Next() {
		c, err := scanCategory(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.cats, s.catAt = out, s.Now()
	return out, nil
}

// Category returns one active category.
func (s *Store) Category(ctx context.Context, code string) (Category, error) {
	cs, err := s.Categories(ctx)
	if err != nil {
		return Category{}, err
	}
	for _, c := range cs {
		if c.Code == code {
			return c, nil
		}
	}
	return Category{}, errNoCategory
}

// errNoCategory answers for a category that is not (or no longer) in the
// catalogue.
var errNoCategory = fault.NotFound(fault.M("没有这个服务类别", "no such service category"))

// CheckAttributes validates answers to a category's extra questions and
// returns them normalised (multi-value answers joined by commas); errors
// name the fields attribute[code].
func CheckAttributes(c Category, in map[string][]string) (map[string]string, []fault.FieldError) {
	return questions.Check("attribute", c.Attributes, in)
}

func hasChoice(cs []Choice, k string) bool { return questions.HasChoice(cs, k) }

// parseDateTime reads a date-time as GeoReport asks (see
// questions.ParseDateTime).
func parseDateTime(v string, local bool) (time.Time, bool) { return questions.ParseDateTime(v, local) }
