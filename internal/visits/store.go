// Package visits is 探访关爱: care visits to the plan's special groups —
// elderly people in special difficulty, orphans and children in
// difficulty, and assisted families. Programmes are data (target tags,
// frequency, who visits, methods, the visit form); each month's schedule
// is generated from the registry before the month starts and reconciled
// when tags, addresses or grids change; workers record visits on a phone;
// the monthly visit rates are indicator data elements (C07, C10, C12).
package visits

import (
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/module"
	"linli/internal/questions"
	"linli/internal/secret"
)

// Visit statuses. A visit is open until recorded; 未遇 (not home) closes
// it and opens a retry; cancelled visits are those whose resident left the
// programme's group before they were done.
const (
	StatusOpen      = "open"
	StatusDone      = "done"
	StatusNotHome   = "not_home"
	StatusRefused   = "refused"
	StatusCancelled = "cancelled"
)

// Methods of a visit.
const (
	MethodHome  = "home"
	MethodPhone = "phone"
	MethodVideo = "video"
)

// Risk levels found by a visit.
const (
	RiskNormal    = "normal"
	RiskAttention = "attention"
	RiskHigh      = "high"
)

// Units a programme targets.
const (
	UnitResident  = "resident"
	UnitHousehold = "household"
)

// Rate groups: the plan's three groups whose monthly rates are indicator
// data elements (a county's own programme has none).
const (
	GroupSpecialElderly   = "special_elderly"
	GroupChildren         = "children"
	GroupAssistedFamilies = "assisted_families"
)

// Origins of a visit within its month: s0, s1, … the schedule's slots;
// r:<id> the retry after visit <id> found nobody home; x:<id> the extra
// visit a worker scheduled from visit <id>; ask:<id> a visit a resident
// asked for.
const (
	originSlot  = "s"
	originRetry = "r:"
	originExtra = "x:"
	originAsk   = "ask:"
)

// Programme is a visit programme: whom to visit, how often, how, and what
// to ask.
type Programme struct {
	ID     string `json:"id"`
	Code   string `json:"code"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	// Division is the province ("33") for the provincial defaults, or the
	// county that added the programme.
	Division string `json:"division"`
	// RateGroup names the indicator group the programme's visits count
	// for; empty for a county's own programme.
	RateGroup string `json:"rate_group"`
	// Unit: "resident" (each tagged person) or "household" (each
	// household with a tagged member).
	Unit string   `json:"unit"`
	Tags []string `json:"tags"` // any of them
	// MinAge, MaxAge bound the age (whole years, as of the month) of a
	// resident target.
	MinAge *int `json:"min_age,omitempty"`
	MaxAge *int `json:"max_age,omitempty"`
	// EveryWeeks is the frequency: 0 once a month, else every N weeks;
	// HighRiskWeeks the frequency for a target last found at high risk (0:
	// the same).
	EveryWeeks    int                  `json:"every_weeks"`
	HighRiskWeeks int                  `json:"high_risk_weeks"`
	Methods       []string             `json:"methods"`
	RequireHome   bool                 `json:"require_home"`
	TellResident  bool                 `json:"tell_resident"` // the resident sees the date and the worker's name
	Questions     []questions.Question `json:"questions"`
	Active        bool                 `json:"active"`
	CreatedAt     time.Time            `json:"created_at"`
	UpdatedAt     time.Time            `json:"updated_at"`
}

// Visit is one due or recorded visit.
type Visit struct {
	ID          int64     `json:"-"`
	IDText      string    `json:"id"` // ID as the API writes ids: a string
	ProgrammeID string    `json:"programme_id"`
	Programme   string    `json:"programme"` // the programme's code
	Month       string    `json:"month"`     // 2026-12
	Origin      string    `json:"origin"`
	SubjectID   string    `json:"subject_id"` // the resident, or the household
	ResidentID  string    `json:"resident_id,omitempty"`
	HouseholdID string    `json:"household_id"`
	Division    string    `json:"division"`
	GridID      string    `json:"grid_id,omitempty"`
	Owner       string    `json:"owner"`
	Due         string    `json:"due_date"` // YYYY-MM-DD, China time
	Status      string    `json:"status"`
	ParentID    *int64    `json:"parent_id,omitempty"`
	Whose       string    `json:"whose"` // the resident's masked name, or the household's address
	Method      string    `json:"method,omitempty"`
	VisitedAt   time.Time `json:"visited_at,omitzero"`
	Present     string    `json:"present,omitempty"`
	// Answers are the form's answers; sensitive ones only for those who
	// may read them.
	Answers   map[string]string `json:"answers,omitempty"`
	HasPhoto  bool              `json:"has_photo"`
	Lon       *float64          `json:"lon,omitempty"`
	Lat       *float64          `json:"lat,omitempty"`
	Risk      string            `json:"risk,omitempty"`
	Reason    string            `json:"reason,omitempty"`
	Note      string            `json:"note,omitempty"`
	Recorder  string            `json:"recorded_by,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Store holds the visits module's data.
type Store struct {
	DB      *db.DB
	Keys    *secret.Keyring
	Audit   *audit.Log
	Now     func() time.Time
	Log     *slog.Logger
	Notices module.Notifier // may be nil
	Divs    module.Divisions
	// writes counts this store's writes, so that the supervision figures
	// kept for a while are computed again after any (see supervision).
	writes atomic.Uint64
}

// wrote marks a write: deferred by every method that changes what the
// supervision figures count (statuses, risks, owners, the schedule), done
// or not (a needless recomputation costs less than a missed one). The
// overdue clock's escalations change none of it and do not call it: a
// backlog of them would otherwise recount a county's figures on every view.
func (s *Store) wrote() { s.writes.Add(1) }

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

func intp(n int) *int { return &n }

func ch(key, name string) questions.Choice { return questions.Choice{Key: key, Name: name} }

// visitForm is the default visit form: health, living conditions, safety
// hazards, needs.
var visitForm = []questions.Question{
	{Code: "health", Type: questions.Single, Required: true, LabelZH: "身体状况", LabelEN: "Health", Sensitive: true,
		Values: []questions.Choice{ch("good", "良好 / good"), ch("fair", "一般 / fair"), ch("poor", "较差 / poor")}},
	{Code: "living", Type: questions.Single, Required: true, LabelZH: "生活状况", LabelEN: "Living conditions",
		Values: []questions.Choice{ch("good", "良好 / good"), ch("fair", "一般 / fair"), ch("hard", "困难 / hard")}},
	{Code: "gas_safe", Type: questions.YesNo, LabelZH: "燃气使用安全", LabelEN: "Gas used safely"},
	{Code: "power_safe", Type: questions.YesNo, LabelZH: "用电安全", LabelEN: "Electricity used safely"},
	{Code: "needs", Type: questions.Multi, LabelZH: "需求", LabelEN: "Needs",
		Values: []questions.Choice{ch("meals", "助餐 / meals"), ch("cleaning", "助洁 / cleaning"), ch("medical", "就医 / medical"), ch("company", "陪伴 / company"), ch("repair", "维修 / repairs")}},
	{Code: "note", Type: questions.Text, LabelZH: "其他情况", LabelEN: "Other findings"},
}

var familyForm = append(append([]questions.Question{}, visitForm[:5]...),
	questions.Question{Code: "income", Type: questions.Number, LabelZH: "家庭月收入（元）", LabelEN: "Household monthly income (yuan)", Sensitive: true},
	visitForm[5])

var childForm = []questions.Question{
	{Code: "health", Type: questions.Single, Required: true, LabelZH: "身体状况", LabelEN: "Health", Sensitive: true,
		Values: []questions.Choice{ch("good", "良好 / good"), ch("fair", "一般 / fair"), ch("poor", "较差 / poor")}},
	{Code: "guardian_present", Type: questions.YesNo, Required: true, LabelZH: "监护人履责", LabelEN: "Guardian looking after the child"},
	{Code: "schooling", Type: questions.Single, LabelZH: "就学情况", LabelEN: "Schooling",
		Values: []questions.Choice{ch("in_school", "在学 / in school"), ch("preschool", "学龄前 / pre-school"), ch("dropped", "辍学 / dropped out")}},
	{Code: "needs", Type: questions.Multi, LabelZH: "需求", LabelEN: "Needs",
		Values: []questions.Choice{ch("study", "学业 / study"), ch("psych", "心理 / counselling"), ch("medical", "就医 / medical"), ch("living", "生活 / living")}},
	{Code: "note", Type: questions.Text, LabelZH: "其他情况", LabelEN: "Other findings"},
}

// DefaultProgrammes are the plan's three provincial programmes (专栏3-1,
// 3-2), shipped by a migration.
var DefaultProgrammes = []Programme{
	{ID: "prog-special-elderly", Code: "special_elderly", Division: "33", NameZH: "特殊困难老年人探访关爱", NameEN: "Visits to elderly people in special difficulty",
		RateGroup: GroupSpecialElderly, Unit: UnitResident, Tags: []string{"empty_nest", "left_behind_elderly", "disabled_full", "severe_disability", "family_planning_special"},
		MinAge: intp(60), EveryWeeks: 0, HighRiskWeeks: 1, Methods: []string{MethodHome, MethodPhone, MethodVideo}, TellResident: true, Questions: visitForm},
	{ID: "prog-children", Code: "children", Division: "33", NameZH: "孤儿和困境儿童探访关爱", NameEN: "Visits to orphans and children in difficulty",
		RateGroup: GroupChildren, Unit: UnitResident, Tags: []string{"orphan", "child_in_difficulty", "left_behind_child"},
		EveryWeeks: 0, HighRiskWeeks: 1, Methods: []string{MethodHome}, RequireHome: true, TellResident: true, Questions: childForm},
	{ID: "prog-assisted-families", Code: "assisted_families", Division: "33", NameZH: "救助家庭关爱", NameEN: "Care visits to assisted families",
		RateGroup: GroupAssistedFamilies, Unit: UnitHousehold, Tags: []string{"dibao", "tekun", "dibao_edge"},
		EveryWeeks: 0, HighRiskWeeks: 2, Methods: []string{MethodHome, MethodPhone, MethodVideo}, TellResident: true, Questions: familyForm},
}
