package emergency

import (
	"context"
	"database/sql"
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
	"linli/internal/module"
	"linli/internal/questions"
	"linli/internal/web"
)

// The hazard register (隐患台账): each hazard a worker found on an
// inspection, a resident reported as a 民呼我为 request (fire and public
// security categories) or a visit found (unsafe gas or electricity use),
// with an owner and a deadline, open → rectifying → closed, each step
// with its note in the hazard's history. Requests and visits are read
// only through the views they publish (requests_hazard_reports,
// visits_safety_findings); a source is registered at most once
// (source_key is unique).

const hazardsSQL = `
CREATE TABLE em_hazards (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	place TEXT NOT NULL,
	description TEXT NOT NULL,
	kind TEXT NOT NULL,
	level TEXT NOT NULL,
	source TEXT NOT NULL,
	source_ref TEXT NOT NULL,
	source_label TEXT NOT NULL,
	source_key TEXT UNIQUE,
	owner TEXT NOT NULL,
	due_on TEXT NOT NULL,
	state TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX em_hazards_div ON em_hazards (division_code, due_on, id);
CREATE INDEX em_hazards_owner ON em_hazards (owner, state, due_on);
CREATE TABLE em_hazard_events (
	id TEXT PRIMARY KEY,
	hazard_id TEXT NOT NULL REFERENCES em_hazards(id),
	seq INTEGER NOT NULL,
	action TEXT NOT NULL,
	from_state TEXT NOT NULL,
	to_state TEXT NOT NULL,
	note TEXT NOT NULL,
	by_user TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL,
	UNIQUE (hazard_id, seq)
);
`

// Hazard states.
const (
	HazardOpen       = "open"
	HazardRectifying = "rectifying"
	HazardClosed     = "closed"
)

// Hazard sources.
const (
	SourceInspection = "inspection"
	SourceRequest    = "request"
	SourceVisit      = "visit"
)

// Actions on a hazard (POST …/events).
const (
	ActRectify = "rectify" // open → rectifying
	ActClose   = "close"   // open or rectifying → closed, with what was done
	ActReopen  = "reopen"  // closed → open, with the reason
)

// HazardKinds are the kinds of hazard, in the order pickers show them.
var HazardKinds = []Choice{
	{"fire", web.M("消防", "Fire")}, {"structural", web.M("房屋安全", "Building safety")}, {"flood", web.M("防汛", "Flooding")},
	{"electrical", web.M("用电", "Electricity")}, {"gas", web.M("燃气", "Gas")}, {"other", web.M("其他", "Other")},
}

// HazardLevels are the risk levels.
var HazardLevels = []Choice{{"general", web.M("一般", "General")}, {"major", web.M("较大", "Major")}, {"severe", web.M("重大", "Severe")}}

// HazardSources are where a hazard came from.
var HazardSources = []Choice{
	{SourceInspection, web.M("工作人员排查", "Worker's inspection")}, {SourceRequest, web.M("民呼我为诉求", "A 民呼我为 request")}, {SourceVisit, web.M("探访发现", "A visit's finding")},
}

// Choice is a key with its words.
type Choice struct {
	Key  string    `json:"key"`
	Name fault.Msg `json:"name"`
}

func choiceName(cs []Choice, key string) fault.Msg {
	for _, c := range cs {
		if c.Key == key {
			return c.Name
		}
	}
	return fault.M(key, key)
}

// requestKinds maps a published request category to a hazard kind.
var requestKinds = map[string]string{"fire": "fire", "security": "other"}

// Hazard is one entry of the register.
type Hazard struct {
	ID          string        `json:"id"`
	Division    string        `json:"division"`
	Place       string        `json:"place"`
	Description string        `json:"description"`
	Kind        string        `json:"kind"`
	Level       string        `json:"level"`
	Source      string        `json:"source"`
	SourceRef   string        `json:"source_ref,omitempty"`   // the request's or the visit's id
	SourceLabel string        `json:"source_label,omitempty"` // the request's number, the visit's day
	SourceHref  string        `json:"source_href,omitempty"`
	Owner       string        `json:"owner"`
	DueOn       string        `json:"due_on"` // YYYY-MM-DD
	State       string        `json:"state"`
	Overdue     bool          `json:"overdue"`
	CreatedBy   string        `json:"created_by"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
	Events      []HazardEvent `json:"events,omitempty"`
	// Actions are what the principal may do next (the page's form).
	Actions []string `json:"actions,omitempty"`
}

// HazardEvent is one step of a hazard's history.
type HazardEvent struct {
	Seq    int       `json:"seq"`
	Action string    `json:"action"` // create, rectify, close, reopen
	From   string    `json:"from_state,omitempty"`
	To     string    `json:"to_state"`
	Note   string    `json:"note,omitempty"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// HazardInput registers a hazard.
type HazardInput struct {
	Division    string `json:"division,omitempty"` // default: the worker's own; a source's division wins
	Place       string `json:"place"`
	Description string `json:"description,omitempty"`
	Kind        string `json:"kind"`  // fire, structural, flood, electrical, gas, other
	Level       string `json:"level"` // general, major, severe
	Source      string `json:"source,omitempty"`
	SourceRef   string `json:"source_ref,omitempty"` // a request's id or number; a visit's id
	Owner       string `json:"owner"`                // an account from GET /api/v1/emergency/hazards/owners
	DueOn       string `json:"due_on"`
}

// HazardAction changes a hazard's state.
type HazardAction struct {
	Action string `json:"action"` // rectify, close, reopen
	Note   string `json:"note,omitempty"`
}

// HazardFilter selects hazards.
type HazardFilter struct {
	State   string // open, rectifying, closed, "" (all)
	Kind    string
	Overdue bool // past the deadline and not closed
	Cursor  string
}

// HazardPage is one page of the register.
type HazardPage struct {
	Items []Hazard `json:"items"`
	Next  string   `json:"next,omitempty"`
}

// HazardCandidate is a request or a visit's finding not yet registered.
type HazardCandidate struct {
	Source   string    `json:"source"`
	Ref      string    `json:"source_ref"`
	Label    string    `json:"label"` // the request's number, the visit's finding
	Kind     string    `json:"kind"`
	Division string    `json:"division"`
	Text     string    `json:"text"`
	Place    string    `json:"place"`
	At       time.Time `json:"at"`
}

const hazardPageSize = 30

func hazardReader(p *access.Principal) error {
	if p == nil || p.Role != access.GridWorker && p.Role != access.CommunityWorker && p.Role != access.Officer {
		return fault.Forbidden(fault.M("只有工作人员可以查看隐患台账", "only workers see the hazard register"))
	}
	return nil
}

const hazardCols = `h.id, h.division_code, h.place, h.description, h.kind, h.level, h.source, h.source_ref, h.source_label, h.owner, h.due_on, h.state, h.created_by, h.created_at, h.updated_at`

func (s *Store) scanHazard(r db.Scanner) (Hazard, error) {
	var h Hazard
	var c, u db.Time
	err := r.Scan(&h.ID, &h.Division, &h.Place, &h.Description, &h.Kind, &h.Level, &h.Source, &h.SourceRef, &h.SourceLabel, &h.Owner, &h.DueOn, &h.State, &h.CreatedBy, &c, &u)
	h.CreatedAt, h.UpdatedAt = c.Time, u.Time
	h.Overdue = h.State != HazardClosed && h.DueOn < s.today()
	switch h.Source {
	case SourceRequest:
		h.SourceHref = "/requests/" + h.SourceRef
	case SourceVisit:
		h.SourceHref = "/visits/" + h.SourceRef
	}
	return h, err
}

// hazardVisible is the condition on hazards (alias h) the principal may
// read: their jurisdiction's, and those given to them.
func hazardVisible(p *access.Principal, next int) (string, []any) {
	sc := access.BusinessScope(p)
	n := strconv.Itoa
	return `(h.division_code >= $` + n(next) + ` AND h.division_code < $` + n(next+1) + ` OR h.owner = $` + n(next+2) + `)`, []any{sc.Lo, sc.Hi, p.Username}
}

// HazardOwners are the accounts a hazard of division may be given to: the
// workers and officers of its township (at most 300).
func (s *Store) HazardOwners(ctx context.Context, division string) ([]Candidate, error) {
	if len(division) > 9 {
		division = division[:9]
	}
	sc := access.Subtree(division)
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Candidate, error) {
		var c Candidate
		return c, r.Scan(&c.Username, &c.Role)
	}, ownersSQL+` ORDER BY CASE role WHEN 'community_worker' THEN 0 WHEN 'grid_worker' THEN 1 ELSE 2 END, username LIMIT 300`, sc.Lo, sc.Hi)
}

// hazardDivisions are the divisions the principal may register a hazard
// in, for the picker: their own (a township or a community) and, for an
// officer, the divisions just below.
func (s *Store) hazardDivisions(ctx context.Context, p *access.Principal) ([]Choice, error) {
	var out []Choice
	if len(p.Division) == 9 || len(p.Division) == 12 {
		d, err := s.Divs.Get(ctx, p.Division)
		if err != nil {
			return nil, err
		}
		out = append(out, Choice{d.Code, fault.M(d.Name, d.Name)})
	}
	if p.Role == access.Officer && len(p.Division) < 12 {
		ds, _, err := s.Divs.Children(ctx, p.Division, 0, 300)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			out = append(out, Choice{d.Code, fault.M(d.Name, d.Name)})
		}
	}
	return out, nil
}

// source is what a hazard's source reference points at.
type source struct{ ref, label, key, division, kind string }

// lookupSource finds a request or a visit's finding in the principal's
// jurisdiction through the views their modules publish.
func (s *Store) lookupSource(ctx context.Context, src, ref, kind string) (source, error) {
	sc := access.ScopeOf(ctx)
	var x source
	var err error
	switch src {
	case SourceRequest:
		var cat string
		err = s.DB.R.QueryRowContext(ctx, `SELECT id, number, division_code, category FROM requests_hazard_reports WHERE (id = $1 OR number = $1) AND division_code >= $2 AND division_code < $3`,
			ref, sc.Lo, sc.Hi).Scan(&x.ref, &x.label, &x.division, &cat)
		x.key, x.kind = "request:"+x.ref, requestKinds[cat]
	case SourceVisit:
		id, perr := strconv.ParseInt(ref, 10, 64)
		if perr != nil {
			return x, sql.ErrNoRows
		}
		var at db.Time
		err = s.DB.R.QueryRowContext(ctx, `SELECT division_code, visited_at FROM visits_safety_findings WHERE visit_id = $1 AND kind = $2 AND division_code >= $3 AND division_code < $4`,
			id, kind, sc.Lo, sc.Hi).Scan(&x.division, &at)
		x.ref, x.kind, x.key = ref, kind, "visit:"+ref+":"+kind
		x.label = "探访 / visit " + at.Time.In(questions.CST).Format("2006-01-02")
	}
	return x, err
}

// AddHazard registers a hazard: by a grid or community worker in their
// community, by an officer in their jurisdiction; from a request or a
// visit's finding at most once.
func (s *Store) AddHazard(ctx context.Context, in HazardInput) (Hazard, error) {
	p := access.From(ctx)
	if err := hazardReader(p); err != nil {
		return Hazard{}, err
	}
	trim := func(ss ...*string) {
		for _, x := range ss {
			*x = strings.TrimSpace(*x)
		}
	}
	trim(&in.Division, &in.Place, &in.Description, &in.Kind, &in.Level, &in.Source, &in.SourceRef, &in.Owner, &in.DueOn)
	if in.Source == "" {
		in.Source = SourceInspection
	}
	if in.Division == "" {
		in.Division = p.Division
	}
	var fields []fault.FieldError
	bad := func(f, zh, en string) { fields = append(fields, fault.Field(f, fault.M(zh, en))) }
	var src source
	switch in.Source {
	case SourceInspection:
		if in.SourceRef != "" {
			bad("source_ref", "工作人员排查的隐患没有来源编号", "an inspection has no source reference")
		}
	case SourceRequest, SourceVisit:
		x, err := s.lookupSource(ctx, in.Source, in.SourceRef, in.Kind)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if in.Source == SourceRequest {
				bad("source_ref", "辖区内没有这件消防或治安隐患诉求", "no fire or security request with this id or number in your jurisdiction")
			} else {
				bad("source_ref", "辖区内没有这次探访的这一类安全发现（请先选择隐患类别）", "no visit in your jurisdiction found a hazard of this kind (choose the kind first)")
			}
		case err != nil:
			return Hazard{}, err
		default:
			src, in.Division = x, x.division
		}
	default:
		bad("source", "来源应为 工作人员排查、民呼我为诉求 或 探访发现", "the source is inspection, request or visit")
	}
	if len(in.Division) != 9 && len(in.Division) != 12 || !access.BusinessScope(p).Contains(in.Division) {
		bad("division", "应为辖区内的乡镇（街道）或村（社区）", "must be a township or a village or community in your jurisdiction")
	} else if _, err := s.Divs.Get(ctx, in.Division); err != nil {
		bad("division", "没有这个区划", "no such division")
	}
	if n := utf8.RuneCountInString(in.Place); n == 0 || n > 100 {
		bad("place", "请填写隐患位置（不超过 100 字）", "give the hazard's place (at most 100 characters)")
	}
	if utf8.RuneCountInString(in.Description) > 1000 {
		bad("description", "情况说明不超过 1000 字", "the description is at most 1000 characters")
	}
	if choiceName(HazardKinds, in.Kind).ZH == in.Kind {
		bad("kind", "请选择隐患类别", "choose the kind of hazard")
	}
	if choiceName(HazardLevels, in.Level).ZH == in.Level {
		bad("level", "请选择风险等级（一般、较大、重大）", "choose the risk level (general, major, severe)")
	}
	if d, err := time.Parse("2006-01-02", in.DueOn); err != nil || in.DueOn < s.today() || d.After(s.Now().AddDate(2, 0, 0)) {
		bad("due_on", "整改期限应为今天起两年内的日期", "the deadline is a date from today to two years ahead")
	}
	owners := 0
	if in.Owner != "" && len(in.Division) >= 9 {
		town := access.Subtree(in.Division[:9])
		if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM (`+ownersSQL+` AND username = $3) o`, town.Lo, town.Hi, in.Owner).Scan(&owners); err != nil {
			return Hazard{}, err
		}
	}
	if owners == 0 {
		bad("owner", "请从名单中选择负责人（隐患所在乡镇（街道）的工作人员）", "choose the owner from the list (a worker of the hazard's township)")
	}
	if len(fields) > 0 {
		return Hazard{}, fault.Invalid(fault.M("无法登记隐患", "cannot register the hazard"), fields...)
	}
	now := s.Now()
	h := Hazard{ID: db.NewID(), Division: in.Division, Place: in.Place, Description: in.Description, Kind: in.Kind, Level: in.Level, Source: in.Source,
		SourceRef: src.ref, SourceLabel: src.label, Owner: in.Owner, DueOn: in.DueOn, State: HazardOpen, CreatedBy: p.Username, CreatedAt: now, UpdatedAt: now}
	var key any
	if src.key != "" {
		key = src.key
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO em_hazards (id, division_code, place, description, kind, level, source, source_ref, source_label, source_key, owner, due_on, state, created_by, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$15)`,
			h.ID, h.Division, h.Place, h.Description, h.Kind, h.Level, h.Source, h.SourceRef, h.SourceLabel, key, h.Owner, h.DueOn, h.State, h.CreatedBy, db.T(now)); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Conflict(fault.M("这一来源已登记为隐患", "this source is already registered as a hazard"))
			}
			return err
		}
		if err := addHazardEvent(ctx, tx, h.ID, 1, "create", "", HazardOpen, "", p.Username, now); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.hazard.add", Object: "hazard", ObjectID: h.ID, Division: h.Division,
			Detail: audit.Detail(map[string]any{"kind": h.Kind, "level": h.Level, "source": h.Source, "source_ref": h.SourceRef, "owner": h.Owner, "due_on": h.DueOn})})
	})
	if err != nil {
		return Hazard{}, err
	}
	return s.Hazard(ctx, h.ID)
}

func addHazardEvent(ctx context.Context, tx *sql.Tx, id string, seq int, action, from, to, note, by string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO em_hazard_events (id, hazard_id, seq, action, from_state, to_state, note, by_user, at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
		db.NewID(), id, seq, action, from, to, note, by, db.T(at))
	return err
}

// Hazard reads a hazard the principal may see, with its history and what
// they may do next.
func (s *Store) Hazard(ctx context.Context, id string) (Hazard, error) {
	p := access.From(ctx)
	if err := hazardReader(p); err != nil {
		return Hazard{}, err
	}
	cond, args := hazardVisible(p, 2)
	h, err := s.scanHazard(s.DB.R.QueryRowContext(ctx, `SELECT `+hazardCols+` FROM em_hazards h WHERE h.id = $1 AND `+cond, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return h, fault.NotFound(fault.M("找不到这条隐患，或不在您的辖区内", "no such hazard in your jurisdiction"))
	}
	if err != nil {
		return h, err
	}
	h.Events, err = db.Collect(ctx, s.DB.R, func(r db.Scanner) (HazardEvent, error) {
		var e HazardEvent
		var at db.Time
		err := r.Scan(&e.Seq, &e.Action, &e.From, &e.To, &e.Note, &e.By, &at)
		e.At = at.Time
		return e, err
	}, `SELECT seq, action, from_state, to_state, note, by_user, at FROM em_hazard_events WHERE hazard_id = $1 ORDER BY seq`, id)
	if mayChangeHazard(p, h) {
		h.Actions = map[string][]string{HazardOpen: {ActRectify, ActClose}, HazardRectifying: {ActClose}, HazardClosed: {ActReopen}}[h.State]
	}
	return h, err
}

// mayChangeHazard: its owner, and the community workers and officers of
// its jurisdiction (a grid worker registers and reads).
func mayChangeHazard(p *access.Principal, h Hazard) bool {
	return h.Owner == p.Username || (p.Role == access.CommunityWorker || p.Role == access.Officer) && access.BusinessScope(p).Contains(h.Division)
}

// ChangeHazard takes a hazard a step: rectify (open → rectifying), close
// (with what was done) or reopen (a closed one, with the reason).
func (s *Store) ChangeHazard(ctx context.Context, id string, in HazardAction) (Hazard, error) {
	p := access.From(ctx)
	h, err := s.Hazard(ctx, id)
	if err != nil {
		return h, err
	}
	if !mayChangeHazard(p, h) {
		return Hazard{}, fault.Forbidden(fault.M("只有负责人、所在社区工作者和上级干部可以办理隐患", "only the owner, the community's workers and officers above handle a hazard"))
	}
	in.Note = strings.TrimSpace(in.Note)
	var fields []fault.FieldError
	to := map[string]string{ActRectify: HazardRectifying, ActClose: HazardClosed, ActReopen: HazardOpen}[in.Action]
	allowed := false
	for _, a := range h.Actions {
		allowed = allowed || a == in.Action
	}
	switch {
	case to == "":
		fields = append(fields, fault.Field("action", fault.M("操作应为 rectify（开始整改）、close（整改完成）或 reopen（重新打开）", "the action is rectify, close or reopen")))
	case !allowed:
		fields = append(fields, fault.Field("action", fault.M("隐患当前状态下不能这样操作", "the hazard's state does not allow this")))
	}
	switch n := utf8.RuneCountInString(in.Note); {
	case n > 500:
		fields = append(fields, fault.Field("note", fault.M("说明不超过 500 字", "the note is at most 500 characters")))
	case n == 0 && in.Action == ActClose:
		fields = append(fields, fault.Field("note", fault.M("办结须写明整改情况", "closing needs a note of what was done")))
	case n == 0 && in.Action == ActReopen:
		fields = append(fields, fault.Field("note", fault.M("重新打开须写明原因", "reopening needs the reason")))
	}
	if len(fields) > 0 {
		return Hazard{}, fault.Invalid(fault.M("无法办理隐患", "cannot change the hazard"), fields...)
	}
	now := s.Now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE em_hazards SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4`, to, db.T(now), id, h.State)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.Conflict(fault.M("隐患刚被他人办理，请刷新后重试", "someone else has just changed the hazard: reload and try again"))
		}
		if err := addHazardEvent(ctx, tx, id, len(h.Events)+1, in.Action, h.State, to, in.Note, p.Username, now); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.hazard." + in.Action, Object: "hazard", ObjectID: id, Division: h.Division,
			Detail: audit.Detail(map[string]any{"from": h.State, "to": to, "note": in.Note})})
	})
	if err != nil {
		if db.IsUniqueViolation(err) {
			return Hazard{}, fault.Conflict(fault.M("隐患刚被他人办理，请刷新后重试", "someone else has just changed the hazard: reload and try again"))
		}
		return Hazard{}, err
	}
	return s.Hazard(ctx, id)
}

// Hazards lists the register the principal may read, most pressing
// deadline first, a page at a time.
func (s *Store) Hazards(ctx context.Context, f HazardFilter) (HazardPage, error) {
	p := access.From(ctx)
	if err := hazardReader(p); err != nil {
		return HazardPage{}, err
	}
	var fields []fault.FieldError
	if f.State != "" && f.State != HazardOpen && f.State != HazardRectifying && f.State != HazardClosed {
		fields = append(fields, fault.Field("state", fault.M("状态应为 open、rectifying 或 closed", "the state is open, rectifying or closed")))
	}
	if f.Kind != "" && choiceName(HazardKinds, f.Kind).ZH == f.Kind {
		fields = append(fields, fault.Field("kind", fault.M("没有这个隐患类别", "no such kind of hazard")))
	}
	if len(fields) > 0 {
		return HazardPage{}, fault.Invalid(fault.M("筛选条件无效", "unknown filter"), fields...)
	}
	overdue := ""
	if f.Overdue {
		overdue = "1"
	}
	list := "emergency.hazards." + p.Username + "." + f.State + "." + f.Kind + "." + overdue
	after := []string{"", ""}
	if f.Cursor != "" {
		key, err := keyset.Open(s.Keys, f.Cursor, list, 2)
		if err != nil {
			return HazardPage{}, err
		}
		after = key
	}
	cond, args := hazardVisible(p, 1)
	q := `SELECT ` + hazardCols + ` FROM em_hazards h WHERE ` + cond + ` AND (h.due_on > $4 OR h.due_on = $4 AND h.id > $5)`
	args = append(args, after[0], after[1])
	if f.State != "" {
		args = append(args, f.State)
		q += ` AND h.state = $` + strconv.Itoa(len(args))
	}
	if f.Kind != "" {
		args = append(args, f.Kind)
		q += ` AND h.kind = $` + strconv.Itoa(len(args))
	}
	if f.Overdue {
		args = append(args, s.today())
		q += ` AND h.state <> 'closed' AND h.due_on < $` + strconv.Itoa(len(args))
	}
	items, err := db.Collect(ctx, s.DB.R, s.scanHazard, q+` ORDER BY h.due_on, h.id LIMIT `+strconv.Itoa(hazardPageSize+1), args...)
	if err != nil {
		return HazardPage{}, err
	}
	pg := HazardPage{Items: orEmpty(items)}
	if len(items) > hazardPageSize {
		pg.Items = items[:hazardPageSize]
		last := pg.Items[len(pg.Items)-1]
		pg.Next = keyset.Seal(s.Keys, list, last.DueOn, last.ID)
	}
	return pg, nil
}

// HazardCandidates are the fire and security requests and the visits'
// safety findings of the principal's jurisdiction not yet registered,
// newest first (at most 50 of each).
func (s *Store) HazardCandidates(ctx context.Context) ([]HazardCandidate, error) {
	p := access.From(ctx)
	if err := hazardReader(p); err != nil {
		return nil, err
	}
	sc := access.BusinessScope(p)
	reqs, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (HazardCandidate, error) {
		c := HazardCandidate{Source: SourceRequest}
		var cat string
		var at db.Time
		err := r.Scan(&c.Ref, &c.Label, &c.Division, &cat, &c.Text, &c.Place, &at)
		c.Kind, c.At = requestKinds[cat], at.Time
		return c, err
	}, `SELECT r.id, r.number, r.division_code, r.category, r.description, r.address, r.created_at FROM requests_hazard_reports r
		WHERE r.division_code >= $1 AND r.division_code < $2 AND NOT EXISTS (SELECT 1 FROM em_hazards h WHERE h.source_key = 'request:' || r.id)
		ORDER BY r.created_at DESC, r.id LIMIT 50`, sc.Lo, sc.Hi)
	if err != nil {
		return nil, err
	}
	visits, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (HazardCandidate, error) {
		c := HazardCandidate{Source: SourceVisit}
		var at db.Time
		err := r.Scan(&c.Ref, &c.Division, &c.Kind, &at)
		c.At = at.Time
		what := map[string]fault.Msg{"gas": fault.M("燃气使用不安全", "gas not used safely"), "electrical": fault.M("用电不安全", "electricity not used safely")}[c.Kind]
		c.Label = "探访 / visit " + at.Time.In(questions.CST).Format("2006-01-02")
		c.Text = "入户探访发现：" + what.ZH + " / a visit found " + what.EN
		return c, err
	}, `SELECT CAST(v.visit_id AS TEXT), v.division_code, v.kind, v.visited_at FROM visits_safety_findings v
		WHERE v.division_code >= $1 AND v.division_code < $2 AND NOT EXISTS (SELECT 1 FROM em_hazards h WHERE h.source_key = 'visit:' || CAST(v.visit_id AS TEXT) || ':' || v.kind)
		ORDER BY v.visited_at DESC LIMIT 50`, sc.Lo, sc.Hi)
	if err != nil {
		return nil, err
	}
	return append(reqs, visits...), nil
}

// hazardWork adds, after the other items, the open hazards given to the
// worker, nearest deadline first; an overdue one is urgent.
func (s *Store) hazardWork(ctx context.Context, p *access.Principal, out []module.WorkItem, limit int) ([]module.WorkItem, error) {
	if len(out) >= limit {
		return out, nil
	}
	hs, err := db.Collect(ctx, s.DB.R, s.scanHazard, `SELECT `+hazardCols+` FROM em_hazards h WHERE h.owner = $1 AND h.state <> 'closed' ORDER BY h.due_on, h.id LIMIT `+itoa(limit-len(out)), p.Username)
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		due, _ := time.ParseInLocation("2006-01-02", h.DueOn, questions.CST)
		k := choiceName(HazardKinds, h.Kind)
		out = append(out, module.WorkItem{Module: "emergency", Kind: kindHazard, KindName: fault.M("隐患整改", "Hazards to rectify"),
			Title: fault.M(k.ZH+"隐患："+h.Place, k.EN+" hazard: "+h.Place), Whose: h.Place, Href: "/emergency/hazards/" + h.ID, Due: due.AddDate(0, 0, 1), Urgent: h.Overdue})
	}
	return out, nil
}

const kindHazard = "emergency.hazard"

// KindName, LevelName, SourceName and StateTag are the hazard in words.
func (h Hazard) KindName() fault.Msg   { return choiceName(HazardKinds, h.Kind) }
func (h Hazard) LevelName() fault.Msg  { return choiceName(HazardLevels, h.Level) }
func (h Hazard) SourceName() fault.Msg { return choiceName(HazardSources, h.Source) }

// StateTag is the hazard's state as a tag.
func (h Hazard) StateTag() web.Tag {
	switch {
	case h.State == HazardClosed:
		return web.Tag{Tone: web.ToneOK, Label: web.M("已销号", "Closed")}
	case h.Overdue:
		return web.Tag{Tone: web.ToneBad, Label: web.M("已逾期", "Overdue")}
	case h.State == HazardRectifying:
		return web.Tag{Tone: web.ToneWarn, Label: web.M("整改中", "Being rectified")}
	}
	return web.Tag{Tone: web.ToneWarn, Label: web.M("待整改", "Open")}
}

// hazardStateName is a state in words (the history).
func hazardStateName(s string) fault.Msg {
	return map[string]fault.Msg{HazardOpen: fault.M("待整改", "open"), HazardRectifying: fault.M("整改中", "being rectified"), HazardClosed: fault.M("已销号", "closed")}[s]
}

// ActionName is an action in words.
func (e HazardEvent) ActionName() fault.Msg {
	return map[string]fault.Msg{"create": fault.M("登记", "Registered"), ActRectify: fault.M("开始整改", "Rectification begun"),
		ActClose: fault.M("整改完成，销号", "Rectified and closed"), ActReopen: fault.M("重新打开", "Reopened")}[e.Action]
}

// ToName is the state an event led to, in words.
func (e HazardEvent) ToName() fault.Msg { return hazardStateName(e.To) }
