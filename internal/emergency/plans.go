package emergency

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/questions"
	"linli/internal/web"
)

// Emergency plans (应急预案, 平时): per community, or per township for its
// subtree, what is done for each hazard at each warning level, whether
// grid workers go door to door, which shelters open, who is responsible
// and when the plan is next reviewed (yearly). Editing writes a new
// version; every version stays readable.

const plansSQL = `
CREATE TABLE em_plans (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	title TEXT NOT NULL,
	hazards TEXT NOT NULL,
	owner TEXT NOT NULL,
	review_on TEXT NOT NULL,
	version INTEGER NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX em_plans_div ON em_plans (division_code, id);
CREATE INDEX em_plans_review ON em_plans (review_on, division_code);
CREATE TABLE em_plan_versions (
	plan_id TEXT NOT NULL REFERENCES em_plans(id),
	version INTEGER NOT NULL,
	title TEXT NOT NULL,
	owner TEXT NOT NULL,
	review_on TEXT NOT NULL,
	note TEXT NOT NULL,
	body TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (plan_id, version)
);
`

// Hazards a plan covers, in the order pages show them.
var Hazards = []string{"flood", "typhoon", "landslide", "fire", "epidemic", "chemical"}

var hazardNames = map[string][2]string{
	"flood":     {"洪涝", "Flood"},
	"typhoon":   {"台风", "Typhoon"},
	"landslide": {"地质灾害", "Landslide"},
	"fire":      {"火灾", "Fire"},
	"epidemic":  {"公共卫生", "Epidemic"},
	"chemical":  {"危化品", "Hazardous chemicals"},
}

// Levels are the warning colours from the lowest; each has its response
// level (蓝色 IV 级 … 红色 I 级).
var Levels = []string{"blue", "yellow", "orange", "red"}

var levelNames = map[string][3]string{
	"blue":   {"蓝色预警（IV 级响应）", "Blue (response IV)", "IV"},
	"yellow": {"黄色预警（III 级响应）", "Yellow (response III)", "III"},
	"orange": {"橙色预警（II 级响应）", "Orange (response II)", "II"},
	"red":    {"红色预警（I 级响应）", "Red (response I)", "I"},
}

// HazardName is a hazard's label.
func HazardName(h string) web.Msg { n := hazardNames[h]; return web.M(n[0], n[1]) }

// LevelName is a level's label.
func LevelName(l string) web.Msg { n := levelNames[l]; return web.M(n[0], n[1]) }

// Plan is one version of a plan (the current one unless asked).
type Plan struct {
	ID        string       `json:"id"`
	Division  string       `json:"division"`
	Title     string       `json:"title"`
	Version   int          `json:"version"`
	Latest    int          `json:"latest"` // the current version
	Hazards   []PlanHazard `json:"hazards"`
	Owner     string       `json:"owner"`     // the responsible account
	ReviewOn  string       `json:"review_on"` // next yearly review, YYYY-MM-DD
	ReviewDue bool         `json:"review_due"`
	Note      string       `json:"note,omitempty"` // what this version changed
	CreatedBy string       `json:"created_by"`
	CreatedAt time.Time    `json:"created_at"` // of this version
}

// PlanHazard is what a plan does for one hazard.
type PlanHazard struct {
	Hazard string      `json:"hazard"`
	Levels []PlanLevel `json:"levels"`
}

// PlanLevel is what is done at one warning level.
type PlanLevel struct {
	Level      string        `json:"level"`
	Actions    []string      `json:"actions"`
	DoorToDoor bool          `json:"door_to_door"` // grid workers check every household
	Shelters   []string      `json:"shelters"`     // facility ids to open
	Open       []PlanShelter `json:"open,omitempty"`
}

// PlanShelter is a shelter facility a plan may open.
type PlanShelter struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Division string `json:"division"`
}

// PlanInput writes a plan or its next version.
type PlanInput struct {
	Division string       `json:"division"` // new plans only; default the caller's division
	Title    string       `json:"title"`
	Owner    string       `json:"owner"`
	ReviewOn string       `json:"review_on,omitempty"` // default a year from today
	Note     string       `json:"note,omitempty"`
	Hazards  []PlanHazard `json:"hazards"`
}

// PlanVersion is a version in a plan's history.
type PlanVersion struct {
	Version   int       `json:"version"`
	Title     string    `json:"title"`
	Note      string    `json:"note"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Limits of a plan.
const (
	maxActions    = 20
	maxActionLen  = 200
	maxPlanShelts = 20
)

func planReader(p *access.Principal) error {
	if p == nil || p.Role != access.GridWorker && p.Role != access.CommunityWorker && p.Role != access.Officer {
		return fault.Forbidden(fault.M("只有工作人员可以查看应急预案和队伍", "only workers see the plans and teams"))
	}
	return nil
}

func planWriter(p *access.Principal) error {
	if p == nil || p.Role != access.CommunityWorker && p.Role != access.Officer {
		return fault.Forbidden(fault.M("只有社区工作者和乡镇（街道）、县级干部可以编制预案和队伍", "only community workers and officers write plans and teams"))
	}
	return nil
}

// checkUnit checks a plan's or team's division: a township or a village
// or community of the principal's jurisdiction.
func (s *Store) checkUnit(ctx context.Context, div string, bad func(f, zh, en string)) {
	if len(div) != 9 && len(div) != 12 || !access.ScopeOf(ctx).Contains(div) {
		bad("division", "应为辖区内的乡镇（街道）或村（社区）", "must be a township or a village or community in your jurisdiction")
	} else if _, err := s.Divs.Get(ctx, div); err != nil {
		bad("division", "没有这个区划", "no such division")
	}
}

// PlanShelters are the open shelters a plan of div may open: those in its
// subtree and those of its township.
func (s *Store) PlanShelters(ctx context.Context, div string) ([]PlanShelter, error) {
	if len(div) < 9 {
		return nil, nil
	}
	sc := access.Subtree(div)
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (PlanShelter, error) {
		var sh PlanShelter
		return sh, r.Scan(&sh.ID, &sh.Name, &sh.Division)
	}, `SELECT id, name, division_code FROM registry_facility_cards WHERE category = $1 AND status = 'open'
		AND (division_code >= $2 AND division_code < $3 OR division_code = $4) ORDER BY division_code, name LIMIT 200`, ShelterCategory, sc.Lo, sc.Hi, div[:9])
}

// Responsibles are the accounts that may answer for a plan or lead a
// team of div: the workers and officers of its township, and officers
// above it.
func (s *Store) Responsibles(ctx context.Context, div string) ([]Candidate, error) {
	if len(div) < 9 {
		return nil, nil
	}
	sc := access.Subtree(div[:9])
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Candidate, error) {
		var c Candidate
		return c, r.Scan(&c.Username, &c.Role)
	}, `SELECT username, role FROM users WHERE NOT disabled AND role IN ('grid_worker', 'community_worker', 'officer')
		AND (division_code >= $1 AND division_code < $2 OR role = 'officer' AND $3 LIKE division_code || '%')
		ORDER BY CASE role WHEN 'community_worker' THEN 0 WHEN 'officer' THEN 1 ELSE 2 END, username LIMIT 300`, sc.Lo, sc.Hi, div)
}

// validPlan normalises and checks a plan, naming each bad field.
func (s *Store) validPlan(ctx context.Context, div string, in *PlanInput, fields []fault.FieldError) ([]fault.FieldError, error) {
	bad := func(f, zh, en string) { fields = append(fields, fault.Field(f, fault.M(zh, en))) }
	in.Title, in.Owner, in.ReviewOn, in.Note = strings.TrimSpace(in.Title), strings.TrimSpace(in.Owner), strings.TrimSpace(in.ReviewOn), strings.TrimSpace(in.Note)
	if n := utf8.RuneCountInString(in.Title); n == 0 || n > 60 {
		bad("title", "请填写预案名称（不超过 60 字）", "give the plan's title (at most 60 characters)")
	}
	if utf8.RuneCountInString(in.Note) > 200 {
		bad("note", "修订说明不超过 200 字", "the note is at most 200 characters")
	}
	today := s.Now().In(questions.CST)
	if in.ReviewOn == "" {
		in.ReviewOn = today.AddDate(1, 0, 0).Format("2006-01-02")
	} else if d, err := time.ParseInLocation("2006-01-02", in.ReviewOn, questions.CST); err != nil || d.Format("2006-01-02") < today.Format("2006-01-02") || d.After(today.AddDate(1, 0, 0)) {
		bad("review_on", "复查日期应为今天起一年之内的日期，如 "+today.AddDate(1, 0, 0).Format("2006-01-02"), "the review date is a date within a year from today, such as "+today.AddDate(1, 0, 0).Format("2006-01-02"))
	}
	var shelters map[string]bool
	var owners []Candidate
	if len(fields) == 0 || fields[0].Field != "division" {
		sh, err := s.PlanShelters(ctx, div)
		if err != nil {
			return nil, err
		}
		shelters = map[string]bool{}
		for _, x := range sh {
			shelters[x.ID] = true
		}
		if owners, err = s.Responsibles(ctx, div); err != nil {
			return nil, err
		}
	}
	found := shelters == nil // no division: nobody to check the owner against
	for _, o := range owners {
		found = found || o.Username == in.Owner
	}
	if !found {
		bad("owner", "请选择本乡镇（街道）的工作人员作为责任人", "choose a worker of the township as the responsible person")
	}
	if len(in.Hazards) == 0 {
		bad("hazards", "请至少填写一种灾种的分级行动", "give the actions for at least one hazard")
	}
	seenH := map[string]bool{}
	for i := range in.Hazards {
		h := &in.Hazards[i]
		at := "hazards[" + strconv.Itoa(i) + "]"
		if hazardNames[h.Hazard][0] == "" {
			bad(at+".hazard", "灾种应为 flood、typhoon、landslide、fire、epidemic 或 chemical", "the hazard is flood, typhoon, landslide, fire, epidemic or chemical")
		} else if seenH[h.Hazard] {
			bad(at+".hazard", "同一灾种只填一次", "each hazard once")
		}
		seenH[h.Hazard] = true
		if len(h.Levels) == 0 {
			bad(at+".levels", "请至少填写一个预警级别的行动", "give the actions for at least one level")
		}
		seenL := map[string]bool{}
		for j := range h.Levels {
			l := &h.Levels[j]
			lat := at + ".levels[" + strconv.Itoa(j) + "]"
			if levelNames[l.Level][0] == "" {
				bad(lat+".level", "预警级别应为 blue、yellow、orange 或 red", "the level is blue, yellow, orange or red")
			} else if seenL[l.Level] {
				bad(lat+".level", "同一级别只填一次", "each level once")
			}
			seenL[l.Level] = true
			var acts []string
			long := false
			for _, a := range l.Actions {
				if a = strings.TrimSpace(a); a != "" {
					acts = append(acts, a)
					long = long || utf8.RuneCountInString(a) > maxActionLen
				}
			}
			l.Actions = acts
			if len(acts) == 0 || len(acts) > maxActions || long {
				bad(lat+".actions", "请填写 1 到 20 条行动，每条不超过 200 字", "give 1 to 20 actions of at most 200 characters each")
			}
			if l.Shelters == nil {
				l.Shelters = []string{}
			}
			if len(l.Shelters) > maxPlanShelts {
				bad(lat+".shelters", "开放的避难场所不超过 20 处", "at most 20 shelters")
			}
			for _, id := range l.Shelters {
				if shelters != nil && !shelters[id] {
					bad(lat+".shelters", "只能选择本社区、本乡镇（街道）开放中的避难场所", "choose open shelters of the community or its township")
					break
				}
			}
			l.Open = nil
		}
		sortLevels(h.Levels)
	}
	sortHazards(in.Hazards)
	return fields, nil
}

func sortHazards(hs []PlanHazard) {
	order := map[string]int{}
	for i, h := range Hazards {
		order[h] = i
	}
	for i := 1; i < len(hs); i++ {
		for j := i; j > 0 && order[hs[j].Hazard] < order[hs[j-1].Hazard]; j-- {
			hs[j], hs[j-1] = hs[j-1], hs[j]
		}
	}
}

func sortLevels(ls []PlanLevel) {
	order := map[string]int{}
	for i, l := range Levels {
		order[l] = i
	}
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && order[ls[j].Level] < order[ls[j-1].Level]; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

func hazardKey(hs []PlanHazard) string {
	k := ","
	for _, h := range hs {
		k += h.Hazard + ","
	}
	return k
}

// CreatePlan writes a plan's first version.
func (s *Store) CreatePlan(ctx context.Context, in PlanInput) (Plan, error) {
	p := access.From(ctx)
	if err := planWriter(p); err != nil {
		return Plan{}, err
	}
	in.Division = strings.TrimSpace(in.Division)
	if in.Division == "" {
		in.Division = p.Division
	}
	var fields []fault.FieldError
	s.checkUnit(ctx, in.Division, func(f, zh, en string) { fields = append(fields, fault.Field(f, fault.M(zh, en))) })
	fields, err := s.validPlan(ctx, in.Division, &in, fields)
	if err != nil {
		return Plan{}, err
	}
	if len(fields) > 0 {
		return Plan{}, fault.Invalid(fault.M("无法保存预案", "cannot save the plan"), fields...)
	}
	id := db.NewID()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO em_plans (id, division_code, title, hazards, owner, review_on, version, created_by, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,1,$7,$8,$8)`, id, in.Division, in.Title, hazardKey(in.Hazards), in.Owner, in.ReviewOn, p.Username, db.T(s.Now())); err != nil {
			return err
		}
		return s.writeVersion(ctx, tx, id, 1, in, "emergency.plan.create")
	})
	if err != nil {
		return Plan{}, err
	}
	return s.Plan(ctx, id, 0)
}

func (s *Store) writeVersion(ctx context.Context, tx *sql.Tx, id string, version int, in PlanInput, action string) error {
	body, err := json.Marshal(in.Hazards)
	if err != nil {
		return err
	}
	p := access.From(ctx)
	var div string
	if err := tx.QueryRowContext(ctx, `SELECT division_code FROM em_plans WHERE id = $1`, id).Scan(&div); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO em_plan_versions (plan_id, version, title, owner, review_on, note, body, created_by, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, id, version, in.Title, in.Owner, in.ReviewOn, in.Note, string(body), p.Username, db.T(s.Now())); err != nil {
		return err
	}
	return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: action, Object: "plan", ObjectID: id, Division: div,
		Detail: audit.Detail(map[string]any{"version": version, "title": in.Title, "hazards": hazardKey(in.Hazards)})})
}

// RevisePlan writes a plan's next version; the earlier ones stay.
func (s *Store) RevisePlan(ctx context.Context, id string, in PlanInput) (Plan, error) {
	if err := planWriter(access.From(ctx)); err != nil {
		return Plan{}, err
	}
	cur, err := s.Plan(ctx, id, 0)
	if err != nil {
		return Plan{}, err
	}
	var fields []fault.FieldError
	if d := strings.TrimSpace(in.Division); d != "" && d != cur.Division {
		fields = append(fields, fault.Field("division", fault.M("预案的区划不能更改", "a plan's division does not change")))
	}
	fields, err = s.validPlan(ctx, cur.Division, &in, fields)
	if err != nil {
		return Plan{}, err
	}
	if len(fields) > 0 {
		return Plan{}, fault.Invalid(fault.M("无法保存预案", "cannot save the plan"), fields...)
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var v int
		// The version is taken by the row's own update, so two edits at
		// once get two versions, never the same one.
		if err := tx.QueryRowContext(ctx, `UPDATE em_plans SET version = version + 1, title = $2, hazards = $3, owner = $4, review_on = $5, updated_at = $6
			WHERE id = $1 RETURNING version`, id, in.Title, hazardKey(in.Hazards), in.Owner, in.ReviewOn, db.T(s.Now())).Scan(&v); err != nil {
			return err
		}
		return s.writeVersion(ctx, tx, id, v, in, "emergency.plan.revise")
	})
	if err != nil {
		return Plan{}, err
	}
	return s.Plan(ctx, id, 0)
}

var errNoPlan = fault.NotFound(fault.M("找不到这份预案，或不在您的辖区内", "no such plan in your jurisdiction"))

// Plan reads a plan at a version (0: the current one) within the
// principal's jurisdiction, with the names of the shelters it opens.
func (s *Store) Plan(ctx context.Context, id string, version int) (Plan, error) {
	if err := planReader(access.From(ctx)); err != nil {
		return Plan{}, err
	}
	sc := access.ScopeOf(ctx)
	var pl Plan
	var body string
	var at db.Time
	err := s.DB.R.QueryRowContext(ctx, `SELECT p.id, p.division_code, p.version, v.version, v.title, v.owner, v.review_on, v.note, v.body, v.created_by, v.created_at
		FROM em_plans p JOIN em_plan_versions v ON v.plan_id = p.id AND v.version = CASE WHEN $4 > 0 THEN $4 ELSE p.version END
		WHERE p.id = $1 AND p.division_code >= $2 AND p.division_code < $3`, id, sc.Lo, sc.Hi, version).
		Scan(&pl.ID, &pl.Division, &pl.Latest, &pl.Version, &pl.Title, &pl.Owner, &pl.ReviewOn, &pl.Note, &body, &pl.CreatedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		if version > 0 {
			if _, err := s.Plan(ctx, id, 0); err != nil {
				return Plan{}, err
			}
			return Plan{}, fault.NotFound(fault.M("这份预案没有该版本", "the plan has no such version"))
		}
		return Plan{}, errNoPlan
	}
	if err != nil {
		return Plan{}, err
	}
	pl.CreatedAt = at.Time
	pl.ReviewDue = pl.ReviewOn <= s.today()
	if err := json.Unmarshal([]byte(body), &pl.Hazards); err != nil {
		return Plan{}, err
	}
	sh, err := s.PlanShelters(ctx, pl.Division)
	if err != nil {
		return Plan{}, err
	}
	byID := map[string]PlanShelter{}
	for _, x := range sh {
		byID[x.ID] = x
	}
	for i := range pl.Hazards {
		for j := range pl.Hazards[i].Levels {
			l := &pl.Hazards[i].Levels[j]
			for _, id := range l.Shelters {
				x, ok := byID[id]
				if !ok {
					x = PlanShelter{ID: id, Name: "（已关闭或撤销的避难场所）"}
				}
				l.Open = append(l.Open, x)
			}
		}
	}
	return pl, nil
}

// PlanVersions lists a plan's versions, newest first.
func (s *Store) PlanVersions(ctx context.Context, id string) ([]PlanVersion, error) {
	if _, err := s.Plan(ctx, id, 0); err != nil {
		return nil, err
	}
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (PlanVersion, error) {
		var v PlanVersion
		var at db.Time
		err := r.Scan(&v.Version, &v.Title, &v.Note, &v.CreatedBy, &at)
		v.CreatedAt = at.Time
		return v, err
	}, `SELECT version, title, note, created_by, created_at FROM em_plan_versions WHERE plan_id = $1 ORDER BY version DESC`, id)
}

// PlanFilter narrows the plan list.
type PlanFilter struct {
	Division string // a division within the jurisdiction
	Hazard   string // plans covering this hazard
	Due      bool   // plans whose yearly review is due (on or before today)
}

// PlanSummary is a plan in the list.
type PlanSummary struct {
	ID        string    `json:"id"`
	Division  string    `json:"division"`
	Title     string    `json:"title"`
	Hazards   []string  `json:"hazards"`
	Owner     string    `json:"owner"`
	Version   int       `json:"version"`
	ReviewOn  string    `json:"review_on"`
	ReviewDue bool      `json:"review_due"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PlanPage is one page of plans.
type PlanPage struct {
	Items []PlanSummary `json:"items"`
	Next  string        `json:"next,omitempty"`
}

const planPageSize = 30

// Plans lists the plans of the jurisdiction by division and id, a page
// at a time.
func (s *Store) Plans(ctx context.Context, f PlanFilter, cursor string) (PlanPage, error) {
	p := access.From(ctx)
	if err := planReader(p); err != nil {
		return PlanPage{}, err
	}
	sc := access.BusinessScope(p)
	var fields []fault.FieldError
	if f.Division != "" {
		if !sc.Contains(f.Division) {
			fields = append(fields, fault.Field("division", fault.M("辖区内的区划", "a division in your jurisdiction")))
		}
		sc = access.Subtree(f.Division)
	}
	if f.Hazard != "" && hazardNames[f.Hazard][0] == "" {
		fields = append(fields, fault.Field("hazard", fault.M("灾种应为 flood、typhoon、landslide、fire、epidemic 或 chemical", "the hazard is flood, typhoon, landslide, fire, epidemic or chemical")))
	}
	if len(fields) > 0 {
		return PlanPage{}, fault.Invalid(fault.M("筛选条件无效", "unknown filter"), fields...)
	}
	list := "emergency.plans." + sc.Lo + "." + f.Hazard + "." + strconv.FormatBool(f.Due)
	after := []string{"", ""}
	if cursor != "" {
		key, err := keyset.Open(s.Keys, cursor, list, 2)
		if err != nil {
			return PlanPage{}, err
		}
		after = key
	}
	q := `SELECT id, division_code, title, hazards, owner, version, review_on, updated_at FROM em_plans
		WHERE division_code >= $1 AND division_code < $2 AND (division_code > $3 OR division_code = $3 AND id > $4)`
	args := []any{sc.Lo, sc.Hi, after[0], after[1]}
	if f.Hazard != "" {
		args = append(args, "%,"+f.Hazard+",%")
		q += ` AND hazards LIKE $` + strconv.Itoa(len(args))
	}
	today := s.today()
	if f.Due {
		args = append(args, today)
		q += ` AND review_on <= $` + strconv.Itoa(len(args))
	}
	items, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (PlanSummary, error) {
		var it PlanSummary
		var hz string
		var at db.Time
		err := r.Scan(&it.ID, &it.Division, &it.Title, &hz, &it.Owner, &it.Version, &it.ReviewOn, &at)
		it.Hazards = strings.Split(strings.Trim(hz, ","), ",")
		it.UpdatedAt, it.ReviewDue = at.Time, it.ReviewOn <= today
		return it, err
	}, q+` ORDER BY division_code, id LIMIT `+strconv.Itoa(planPageSize+1), args...)
	if err != nil {
		return PlanPage{}, err
	}
	pg := PlanPage{Items: orEmpty(items)}
	if len(items) > planPageSize {
		pg.Items = items[:planPageSize]
		last := pg.Items[len(pg.Items)-1]
		pg.Next = keyset.Seal(s.Keys, list, last.Division, last.ID)
	}
	return pg, nil
}
