package deliberation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

// Topic states (议题状态).
const (
	Collecting   = "collecting"   // 收集中: gathering co-signing households
	Screening    = "screening"    // 待审
	Accepted     = "accepted"     // 已受理
	Referred     = "referred"     // 已转办 民呼我为
	Declined     = "declined"     // 不予受理
	Deliberating = "deliberating" // 协商中
	Decided      = "decided"      // 已决定
	Implementing = "implementing" // 实施中
	Done         = "done"         // 已完成
	Shelved      = "shelved"      // 已搁置
	Merged       = "merged"       // 已合并 into another topic (merge.go)
)

// States is every state in the order of the loop.
var States = []string{Collecting, Screening, Accepted, Referred, Declined, Deliberating, Decided, Implementing, Done, Shelved, Merged}

var stateNames = map[string]fault.Msg{
	Collecting: fault.M("收集中", "Collecting"), Screening: fault.M("待审", "Screening"), Accepted: fault.M("已受理", "Accepted"),
	Referred: fault.M("已转办", "Referred"), Declined: fault.M("不予受理", "Declined"), Deliberating: fault.M("协商中", "Deliberating"),
	Decided: fault.M("已决定", "Decided"), Implementing: fault.M("实施中", "Implementing"), Done: fault.M("已完成", "Done"), Shelved: fault.M("已搁置", "Shelved"),
	Merged: fault.M("已合并", "Merged"),
}

// StateName is a state in words.
func StateName(s string) fault.Msg { return stateNames[s] }

// Move is a worker's step of a topic: the states it leaves and the one it
// reaches. A move from any other state is a conflict (409).
type Move struct {
	From  []string
	To    string
	Label fault.Msg
	// Reason: the move needs a note (a declined topic says why).
	Reason bool
}

// Moves are the worker's steps; a topic reaches 已决定 by a decision and
// 实施中/已完成 by its progress.
var Moves = map[string]Move{
	"accept":     {From: []string{Screening}, To: Accepted, Label: fault.M("受理", "Accept")},
	"refer":      {From: []string{Screening}, To: Referred, Label: fault.M("转办民呼我为", "Refer to 民呼我为"), Reason: true},
	"decline":    {From: []string{Screening}, To: Declined, Label: fault.M("不予受理", "Decline"), Reason: true},
	"deliberate": {From: []string{Accepted}, To: Deliberating, Label: fault.M("进入协商", "Open deliberation")},
	"shelve":     {From: []string{Accepted, Deliberating, Decided, Implementing}, To: Shelved, Label: fault.M("搁置", "Shelve"), Reason: true},
}

// MoveOrder is the order the moves are offered in.
var MoveOrder = []string{"accept", "deliberate", "refer", "decline", "shelve"}

// Area kinds: who a topic affects.
const (
	AreaCommunity = "community" // the whole community or village
	AreaGrid      = "grid"      // a grid or village group (村民小组)
	AreaBuilding  = "building"  // the households whose address starts so
	AreaTownship  = "township"  // every household of a township (街道/乡镇): a township council's topic
)

// Topic is a 议题.
type Topic struct {
	ID           string     `json:"id"`
	Division     string     `json:"division_code"`
	CouncilID    string     `json:"council_id"`
	Title        string     `json:"title"`
	Description  string     `json:"description"`
	Origin       string     `json:"origin"` // resident, member, request, visit
	RaisedBy     string     `json:"raised_by"`
	AreaKind     string     `json:"area_kind"`
	AreaRef      string     `json:"area_ref,omitempty"`
	Status       string     `json:"status"`
	Reason       string     `json:"reason,omitempty"`
	CosignNeeded int        `json:"cosign_needed"`
	CosignUntil  *time.Time `json:"cosign_until,omitempty"`
	Cosigns      int        `json:"cosigns"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	History      []Event    `json:"history,omitempty"`
	// RequestID is the 民呼我为 request a referred topic became (its
	// request names the topic as its ref).
	RequestID string `json:"request_id,omitempty"`
	// Source is what the topic was raised from: request:<id> (a
	// suggestion) or visit:<id> (a visit's finding); empty otherwise.
	Source string `json:"source,omitempty"`
	// MergedInto is the topic a merged one went into.
	MergedInto *TopicRef `json:"merged_into,omitempty"`
}

// StateTag is the topic's state as a tag.
func (t Topic) StateTag() web.Tag { return stateTag(t.Status) }

func stateTag(s string) web.Tag {
	tone := web.ToneInfo
	switch s {
	case Done, Decided:
		tone = web.ToneOK
	case Declined:
		tone = web.ToneBad
	case Shelved, Referred, Merged:
		tone = web.ToneMuted
	}
	return web.Tag{Tone: tone, Label: StateName(s)}
}

// AreaText is the affected area in words.
func (t Topic) AreaText() fault.Msg {
	switch t.AreaKind {
	case AreaGrid:
		return fault.M("网格/村民小组 "+t.AreaRef, "grid or village group "+t.AreaRef)
	case AreaBuilding:
		return fault.M("楼栋 "+t.AreaRef, "building "+t.AreaRef)
	case AreaTownship:
		return fault.M("全街道（乡镇）", "the whole township")
	}
	return fault.M("全社区（村）", "the whole community")
}

// Event is one public step of a topic's history.
type Event struct {
	Seq    int       `json:"seq"`
	Action string    `json:"action"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Note   string    `json:"note,omitempty"`
	At     time.Time `json:"at"`
}

// ToName is the state reached, in words.
func (e Event) ToName() fault.Msg { return StateName(e.To) }

// TopicInput raises a topic.
type TopicInput struct {
	// Division: a worker names the community; a resident's is their own.
	Division    string `json:"division_code,omitempty"`
	Title       string `json:"title"`
	Description string `json:"description"`
	AreaKind    string `json:"area_kind"`
	AreaRef     string `json:"area_ref,omitempty"`
	// Source (workers only): request:<id> of a suggestion or visit:<id>
	// of a recorded visit; the topic is raised in its community.
	Source string `json:"source,omitempty"`
}

// areaWhere is the condition on reg_households h that picks a topic's
// affected households, with its arguments from $n on.
func areaWhere(kind, ref, division string, n int) (string, []any) {
	switch kind {
	case AreaGrid:
		return fmt.Sprintf("h.grid_id = $%d", n), []any{ref}
	case AreaBuilding:
		return fmt.Sprintf("h.division_code = $%d AND h.address LIKE $%d", n, n+1), []any{division, likePrefix(ref)}
	case AreaTownship:
		sc := access.Subtree(division)
		return fmt.Sprintf("h.division_code >= $%d AND h.division_code < $%d", n, n+1), []any{sc.Lo, sc.Hi}
	}
	return fmt.Sprintf("h.division_code = $%d", n), []any{division}
}

func likePrefix(s string) string {
	out := make([]rune, 0, len(s)+1)
	for _, r := range s {
		if r == '%' || r == '_' {
			continue
		}
		out = append(out, r)
	}
	return string(out) + "%"
}

// inArea tells whether a household lies in the topic's affected area.
func (s *Store) inArea(ctx context.Context, q rowQuerier, t Topic, household string) (bool, error) {
	cond, args := areaWhere(t.AreaKind, t.AreaRef, t.Division, 2)
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM reg_households h WHERE h.id = $1 AND `+cond, append([]any{household}, args...)...).Scan(&n)
	return n > 0, err
}

// areaSize counts the affected households.
func (s *Store) areaSize(ctx context.Context, q rowQuerier, t Topic) (int, error) {
	cond, args := areaWhere(t.AreaKind, t.AreaRef, t.Division, 1)
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM reg_households h WHERE `+cond, args...).Scan(&n)
	return n, err
}

// Raise records a topic. A resident's starts 收集中 until enough other
// households co-sign (the council's threshold, within its window); a
// worker's or a council member's goes straight to 待审.
func (s *Store) Raise(ctx context.Context, in TopicInput) (Topic, error) {
	p := access.From(ctx)
	if p == nil || !(p.Role == access.Resident || worker(p)) {
		return Topic{}, fault.Forbidden(fault.M("只有居民或社区工作者可以提出议题", "only residents and community workers may raise a topic"))
	}
	var fields []fault.FieldError
	household := ""
	var src source
	if in.Source != "" {
		var err error
		if src, err = s.findSource(ctx, in.Source); err != nil {
			return Topic{}, err
		}
		in.Division = src.Division
	}
	if p.Role == access.Resident {
		hh, div, err := s.household(ctx, p)
		if err != nil {
			return Topic{}, err
		}
		household, in.Division = hh, div
	} else if in.AreaKind == AreaTownship {
		// A township-wide topic belongs to the township, for its council.
		if len(in.Division) != 9 || !access.BusinessScope(p).Contains(in.Division) {
			fields = append(fields, fault.Field("division_code", fault.M("全街道（乡镇）的议题请选择辖区内的街道（乡镇）", "a township-wide topic names a township in your jurisdiction")))
		}
	} else if len(in.Division) != 12 || !access.BusinessScope(p).Contains(in.Division) {
		fields = append(fields, fault.Field("division_code", fault.M("请选择辖区内的村（社区）", "choose a community or village in your jurisdiction")))
	}
	in.Title = text("title", in.Title, 80, true, &fields)
	in.Description = text("description", in.Description, 2000, true, &fields)
	switch in.AreaKind {
	case AreaCommunity:
		in.AreaRef = ""
	case AreaGrid, AreaBuilding:
		in.AreaRef = text("area_ref", in.AreaRef, 60, true, &fields)
	case AreaTownship:
		in.AreaRef = ""
		if household != "" {
			fields = append(fields, fault.Field("area_kind", fault.M("居民在本社区提出议题；全街道（乡镇）的议题由街道提出", "residents raise topics in their community; a township-wide topic is raised by the township")))
		}
	default:
		fields = append(fields, fault.Field("area_kind", fault.M("请选择涉及范围：楼栋、村民小组（网格）、全社区或全街道（乡镇）", "choose the affected area: a building, a village group (grid), the whole community or the whole township")))
	}
	if len(fields) > 0 {
		return Topic{}, invalid(fields...)
	}
	c, err := s.councilOf(ctx, s.DB.R, in.Division)
	if err != nil {
		return Topic{}, err
	}
	now := s.Now()
	t := Topic{ID: db.NewID(), Division: in.Division, CouncilID: c.ID, Title: in.Title, Description: in.Description, Origin: "member", RaisedBy: p.Username,
		AreaKind: in.AreaKind, AreaRef: in.AreaRef, Status: Screening, Source: src.Ref}
	if src.Origin != "" {
		t.Origin = src.Origin
	}
	if p.Role == access.Resident {
		var member int
		if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM dlb_members WHERE council_id = $1 AND username = $2`, c.ID, p.Username).Scan(&member); err != nil {
			return Topic{}, err
		}
		if member == 0 {
			t.Origin = "resident"
			if c.CosignThreshold > 0 {
				t.Status, t.CosignNeeded = Collecting, c.CosignThreshold
				until := db.T(now.Add(time.Duration(c.CosignDays) * 24 * time.Hour)).Time
				t.CosignUntil = &until
			}
		}
	}
	if in.AreaKind != AreaCommunity {
		n, err := s.areaSize(ctx, s.DB.R, t)
		if err != nil {
			return Topic{}, err
		}
		if n == 0 {
			return Topic{}, invalid(fault.Field("area_ref", fault.M("这个范围内没有登记的家庭", "no registered household lies in this area")))
		}
	}
	if household != "" {
		if ok, err := s.inArea(ctx, s.DB.R, t, household); err != nil {
			return Topic{}, err
		} else if !ok {
			return Topic{}, invalid(fault.Field("area_ref", fault.M("您家不在所选范围内", "your household is outside the chosen area")))
		}
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var until any
		if t.CosignUntil != nil {
			until = db.T(*t.CosignUntil)
		}
		if err := insertTopic(ctx, tx, t, p.Username, household, until, db.T(now)); err != nil {
			return err
		}
		if err := event(ctx, tx, t.ID, "raise", "", t.Status, p.Username, "", now); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.topic_raise", Object: "topic", ObjectID: t.ID, Division: t.Division, Detail: strings.TrimSpace(t.Origin + " " + t.AreaKind + " " + t.Source)})
	})
	if err != nil {
		return Topic{}, err
	}
	return s.Topic(ctx, t.ID)
}

func event(ctx context.Context, tx *sql.Tx, topic, action, from, to, actor, note string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO dlb_topic_events (topic_id, seq, action, from_status, to_status, actor, note, at)
		SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7 FROM dlb_topic_events WHERE topic_id = $1`, topic, action, from, to, actor, note, db.T(at))
	return err
}

const topicCols = `id, division_code, council_id, title, description, origin, raised_by, area_kind, area_ref, status, reason, cosign_needed, cosign_until, cosigns, created_at, updated_at, source`

func scanTopic(r db.Scanner) (Topic, error) {
	var t Topic
	var until sql.Null[db.Time]
	var created, updated db.Time
	err := r.Scan(&t.ID, &t.Division, &t.CouncilID, &t.Title, &t.Description, &t.Origin, &t.RaisedBy, &t.AreaKind, &t.AreaRef, &t.Status, &t.Reason,
		&t.CosignNeeded, &until, &t.Cosigns, &created, &updated, &t.Source)
	if until.Valid {
		u := until.V.Time
		t.CosignUntil = &u
	}
	t.CreatedAt, t.UpdatedAt = created.Time, updated.Time
	return t, err
}

func (s *Store) readTopic(ctx context.Context, q rowQuerier, id string) (Topic, error) {
	t, err := scanTopic(q.QueryRowContext(ctx, `SELECT `+topicCols+` FROM dlb_topics WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, errNotFound
	}
	return t, err
}

// Topic reads a topic with its public history. Topics are public to the
// signed-in users of their community and of the offices above it; the
// raiser is shown to workers only.
func (s *Store) Topic(ctx context.Context, id string) (Topic, error) {
	t, err := s.readTopic(ctx, s.DB.R, id)
	if err != nil {
		return t, err
	}
	if !s.sees(ctx, t.Division) {
		return Topic{}, errNotFound
	}
	if !worker(access.From(ctx)) {
		t.RaisedBy = ""
	}
	if t.Status == Referred {
		var req sql.NullString
		if err := s.DB.R.QueryRowContext(ctx, `SELECT MIN(id) FROM requests WHERE ref = $1 AND ref <> ''`, "topic:"+t.ID).Scan(&req); err != nil {
			return t, err
		}
		t.RequestID = req.String
	}
	if t.Status == Merged {
		if t.MergedInto, err = s.mergedInto(ctx, id); err != nil {
			return t, err
		}
	}
	t.History, err = db.Collect(ctx, s.DB.R, func(r db.Scanner) (Event, error) {
		var e Event
		var at db.Time
		err := r.Scan(&e.Seq, &e.Action, &e.From, &e.To, &e.Note, &at)
		e.At = at.Time
		return e, err
	}, `SELECT seq, action, from_status, to_status, note, at FROM dlb_topic_events WHERE topic_id = $1 ORDER BY seq`, id)
	return t, err
}

// sees tells whether the signed-in user may read a division's
// deliberation: a worker their subtree, a resident their own community.
func (s *Store) sees(ctx context.Context, division string) bool {
	p := access.From(ctx)
	if p == nil {
		return false
	}
	if p.Role == access.Resident {
		// Their community's, and their township's township-wide matters.
		_, div, err := s.household(ctx, p)
		return err == nil && (div == division || len(division) == 9 && strings.HasPrefix(div, division))
	}
	return p.Role.Business() && access.BusinessScope(p).Contains(division)
}

// Cosign adds the resident's household to a collecting topic; the co-sign
// that reaches the threshold exactly moves the topic to 待审.
func (s *Store) Cosign(ctx context.Context, id string) (Topic, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Resident {
		return Topic{}, fault.Forbidden(fault.M("只有居民可以联署", "only residents may co-sign"))
	}
	hh, _, err := s.household(ctx, p)
	if err != nil {
		return Topic{}, err
	}
	now := s.Now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.readTopic(ctx, tx, id)
		if err != nil {
			return err
		}
		var raiser string
		if err := tx.QueryRowContext(ctx, `SELECT household_id FROM dlb_topics WHERE id = $1`, id).Scan(&raiser); err != nil {
			return err
		}
		if ok, err := s.inArea(ctx, tx, t, hh); err != nil {
			return err
		} else if !ok {
			return fault.Forbidden(fault.M("您家不在这个议题涉及的范围内", "your household is outside the topic's affected area"))
		}
		switch {
		case t.Status != Collecting:
			return fault.Conflict(fault.M("这个议题不在联署阶段", "the topic is not collecting co-signatures"))
		case t.CosignUntil != nil && now.After(*t.CosignUntil):
			return fault.Conflict(fault.M("联署期限已过", "the co-signing window has closed"))
		case raiser == hh:
			return fault.Conflict(fault.M("提出议题的家庭不能再联署", "the household that raised the topic cannot co-sign it"))
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO dlb_cosigns (topic_id, household_id, signed_by, at) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`, id, hh, p.Username, db.T(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.Conflict(fault.M("您家已经联署过这个议题", "your household has already co-signed this topic"))
		}
		to := Collecting
		if t.Cosigns+1 >= t.CosignNeeded {
			to = Screening
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dlb_topics SET cosigns = cosigns + 1, status = $2, updated_at = $3 WHERE id = $1`, id, to, db.T(now)); err != nil {
			return err
		}
		if to != t.Status {
			if err := event(ctx, tx, id, "threshold", t.Status, to, "", strconv.Itoa(t.Cosigns+1)+" 户联署 / households co-signed", now); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.topic_cosign", Object: "topic", ObjectID: id, Division: t.Division})
	})
	if err != nil {
		return Topic{}, err
	}
	return s.Topic(ctx, id)
}

// MoveInput is a worker's step with its note.
type MoveInput struct {
	Reason string `json:"reason,omitempty"`
}

// Transition takes a worker's step; a step the topic's state does not
// allow is a conflict.
func (s *Store) Transition(ctx context.Context, id, action string, in MoveInput) (Topic, error) {
	p := access.From(ctx)
	mv, ok := Moves[action]
	if !ok {
		return Topic{}, fault.NotFound(fault.M("没有这个操作", "no such step"))
	}
	if !worker(p) {
		return Topic{}, fault.Forbidden(fault.M("只有社区工作者或干部可以处理议题", "only community workers and officers handle topics"))
	}
	var fields []fault.FieldError
	in.Reason = text("reason", in.Reason, 500, mv.Reason, &fields)
	if len(fields) > 0 {
		return Topic{}, invalid(fields...)
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.readTopic(ctx, tx, id)
		if err != nil {
			return err
		}
		if !access.BusinessScope(p).Contains(t.Division) {
			return errNotFound
		}
		return s.move(ctx, tx, t, action, mv.From, mv.To, in.Reason)
	})
	if err != nil {
		return Topic{}, err
	}
	return s.Topic(ctx, id)
}

// move changes a topic's state inside tx when it is in one of from.
func (s *Store) move(ctx context.Context, tx *sql.Tx, t Topic, action string, from []string, to, note string) error {
	allowed := false
	for _, f := range from {
		allowed = allowed || f == t.Status
	}
	if !allowed {
		return fault.Conflict(fault.M("议题当前为“"+StateName(t.Status).ZH+"”，不能“"+action+"”", "the topic is "+StateName(t.Status).EN+": "+action+" is not allowed"))
	}
	now := s.Now()
	reason := t.Reason
	if note != "" {
		reason = note
	}
	if _, err := tx.ExecContext(ctx, `UPDATE dlb_topics SET status = $2, reason = $3, updated_at = $4 WHERE id = $1`, t.ID, to, reason, db.T(now)); err != nil {
		return err
	}
	if err := event(ctx, tx, t.ID, action, t.Status, to, access.From(ctx).Username, note, now); err != nil {
		return err
	}
	return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.topic_" + action, Object: "topic", ObjectID: t.ID, Division: t.Division, Detail: t.Status + " → " + to})
}

// TopicPage is one page of topics.
type TopicPage struct {
	Items []Topic `json:"items"`
	Next  string  `json:"next,omitempty"`
}

// Topics lists a community's topics, newest first, paged by key; status
// filters.
func (s *Store) Topics(ctx context.Context, division, status, cursor string, size int) (TopicPage, error) {
	if !s.sees(ctx, division) || len(division) != 12 && len(division) != 9 {
		return TopicPage{}, fault.Invalid(fault.M("请选择您能查看的村（社区）", "choose a community you may see"),
			fault.Field("division_code", fault.M("不在您的辖区内", "outside your jurisdiction")))
	}
	q := `SELECT ` + topicCols + ` FROM dlb_topics WHERE division_code = $1`
	args := []any{division}
	if status != "" {
		if _, ok := stateNames[status]; !ok {
			return TopicPage{}, fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("status", fault.M("没有这个状态", "no such state")))
		}
		args = append(args, status)
		q += fmt.Sprintf(" AND status = $%d", len(args))
	}
	if cursor != "" {
		k, err := keyset.Open(s.Keys, cursor, "dlb_topics:"+division+":"+status, 1)
		if err != nil {
			return TopicPage{}, err
		}
		args = append(args, k[0])
		q += fmt.Sprintf(" AND id < $%d", len(args))
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", size+1)
	items, err := db.Collect(ctx, s.DB.R, scanTopic, q, args...)
	if err != nil {
		return TopicPage{}, err
	}
	if items == nil {
		items = []Topic{}
	}
	pg := TopicPage{Items: items}
	if len(items) > size {
		pg.Items = items[:size]
		pg.Next = keyset.Seal(s.Keys, "dlb_topics:"+division+":"+status, items[size-1].ID)
	}
	if !worker(access.From(ctx)) {
		for i := range pg.Items {
			pg.Items[i].RaisedBy = ""
		}
	}
	return pg, nil
}
