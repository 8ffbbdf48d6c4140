package requests

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/fault"
)

// Attribute is one extra question of a category: the Open311 service
// definition attribute model.
type Attribute struct {
	Code     string   `json:"code"`
	Type     string   `json:"datatype"` // string, text, number, datetime, singlevaluelist, multivaluelist
	Required bool     `json:"required"`
	LabelZH  string   `json:"label_zh"`
	LabelEN  string   `json:"label_en"`
	Values   []Choice `json:"values,omitempty"`
}

// Choice is one allowed value of a list attribute.
type Choice struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

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

var yesNo = []Choice{{"yes", "是 / yes"}, {"no", "否 / no"}}

// Catalogue is the initial service catalogue (seeded by a migration).
var Catalogue = []Category{
	{"sanitation", "环境 / Environment", "环境卫生", "Sanitation", "垃圾清运、楼道堆物、污水外溢等", "Rubbish, clutter in stairwells, sewage overflow", 5, 4, 24, true, true,
		[]Attribute{{Code: "spot", Type: "singlevaluelist", LabelZH: "位置类型", LabelEN: "Kind of place", Values: []Choice{{"street", "道路 / street"}, {"stairwell", "楼道 / stairwell"}, {"green", "绿地 / green space"}}, Required: true}},
		[]string{"已安排保洁人员清理，感谢您的反映。", "已联系物业限期整改。"}},
	{"property", "物业 / Property", "物业服务", "Property management", "物业服务质量、收费、公共设施维护", "Property service quality, fees, common facilities", 5, 8, 72, true, true, nil,
		[]string{"已约谈物业公司，限期整改并回访。"}},
	{"repair", "设施 / Facilities", "设施维修", "Facility repair", "路灯、井盖、健身器材、电梯等公共设施损坏", "Broken street lights, manhole covers, fitness equipment, lifts", 5, 4, 48, true, true,
		[]Attribute{{Code: "facility", Type: "singlevaluelist", Required: true, LabelZH: "设施", LabelEN: "Facility", Values: []Choice{{"light", "路灯 / street light"}, {"manhole", "井盖 / manhole"}, {"lift", "电梯 / lift"}, {"fitness", "健身器材 / fitness equipment"}, {"other", "其他 / other"}}},
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
		[]Attribute{{Code: "kinds", Type: "multivaluelist", LabelZH: "活动类别", LabelEN: "Kinds of activity", Values: []Choice{{"dance", "广场舞 / square dance"}, {"chess", "棋牌 / chess and cards"}, {"ball", "球类 / ball games"}, {"reading", "阅读 / reading"}}}},
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
// returns them normalised (multi-value answers joined by commas).
func CheckAttributes(c Category, in map[string][]string) (map[string]string, []fault.FieldError) {
	out := map[string]string{}
	var errs []fault.FieldError
	known := map[string]bool{}
	for _, a := range c.Attributes {
		known[a.Code] = true
		vals := in[a.Code]
		var clean []string
		for _, v := range vals {
			if v = strings.TrimSpace(v); v != "" {
				clean = append(clean, v)
			}
		}
		field := "attribute[" + a.Code + "]"
		if len(clean) == 0 {
			if a.Required {
				errs = append(errs, fault.Field(field, fault.M("请回答："+a.LabelZH, "please answer: "+a.LabelEN)))
			}
			continue
		}
		if a.Type != "multivaluelist" && len(clean) > 1 {
			errs = append(errs, fault.Field(field, fault.M("只能有一个值", "takes one value")))
			continue
		}
		v := clean[0]
		bad := false
		switch a.Type {
		case "number":
			f, err := strconv.ParseFloat(v, 64)
			bad = err != nil || f != f || f < -1e12 || f > 1e12
		case "date":
			_, err := time.Parse("2006-01-02", v)
			bad = err != nil
		case "datetime":
			_, ok := parseDateTime(v, true)
			bad = !ok
		case "singlevaluelist", "multivaluelist":
			for _, x := range clean {
				if !hasChoice(a.Values, x) {
					bad = true
				}
			}
			v = strings.Join(clean, ",")
		default:
			bad = utf8.RuneCountInString(v) > 500 || !utf8.ValidString(v)
		}
		if bad {
			errs = append(errs, fault.Field(field, fault.M(fmt.Sprintf("“%s”的值无效", a.LabelZH), fmt.Sprintf("invalid value for %q", a.LabelEN))))
			continue
		}
		out[a.Code] = v
	}
	for k := range in {
		if !known[k] {
			errs = append(errs, fault.Field("attribute["+k+"]", fault.M("该服务没有此问题", "this service has no such question")))
		}
	}
	return out, errs
}

func hasChoice(cs []Choice, k string) bool {
	for _, c := range cs {
		if c.Key == k {
			return true
		}
	}
	return false
}

// parseDateTime reads a date-time as GeoReport asks (ISO 8601 in the W3C
// profile: 2026-11-29T08:00:00.5+08:00, 2026-11-29T08:00Z, or a whole day
// 2026-11-29, taken in China time). local also accepts a time without zone
// (2026-11-29T08:00[:00], as a datetime-local input sends it), in China time.
func parseDateTime(v string, local bool) (time.Time, bool) {
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
