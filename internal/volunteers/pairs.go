package volunteers

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/questions"
)

// 结对探访: a community worker pairs a verified volunteer with a target of
// a visit programme (the visits module's published visits_targets); the
// volunteer's visits close the target's open scheduled visits through the
// published visits_volunteer_visits (the visits module's trigger writes
// its own rows) and credit the volunteer's hours, once per pair and day.

var pairsMigration = db.Migration{ID: "volunteers/008_pairs", SQL: `
CREATE TABLE vol_pairs (
	id TEXT PRIMARY KEY,
	volunteer_id TEXT NOT NULL REFERENCES vol_volunteers(resident_id),
	programme_id TEXT NOT NULL,
	programme_zh TEXT NOT NULL,
	programme_en TEXT NOT NULL,
	target_id TEXT NOT NULL,
	resident_id TEXT NOT NULL,
	household_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	started_on TEXT NOT NULL,
	ended_on TEXT NOT NULL DEFAULT '',
	active BOOLEAN NOT NULL,
	created_by TEXT NOT NULL,
	ended_by TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX vol_pairs_active ON vol_pairs (volunteer_id, target_id) WHERE active;
CREATE INDEX vol_pairs_div ON vol_pairs (division_code, id);
CREATE INDEX vol_pairs_volunteer ON vol_pairs (volunteer_id, id);
CREATE TABLE vol_pair_visits (
	id TEXT PRIMARY KEY,
	pair_id TEXT NOT NULL REFERENCES vol_pairs(id),
	visit_date TEXT NOT NULL,
	minutes BIGINT NOT NULL,
	well BOOLEAN NOT NULL,
	note TEXT NOT NULL,
	visit_id BIGINT,
	txn_id TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	UNIQUE (pair_id, visit_date)
);
`}

// Pair is a volunteer paired with a visit target.
type Pair struct {
	ID          string `json:"id"`
	VolunteerID string `json:"volunteer_id"`
	Volunteer   string `json:"volunteer"` // masked
	ProgrammeID string `json:"programme_id"`
	ProgrammeZH string `json:"programme_zh"`
	ProgrammeEN string `json:"programme_en"`
	TargetID    string `json:"target_id"`
	ResidentID  string `json:"resident_id,omitempty"`
	HouseholdID string `json:"household_id"`
	Target      string `json:"target"` // masked
	Division    string `json:"division"`
	Started     string `json:"started_on"`
	Ended       string `json:"ended_on,omitempty"`
	Active      bool   `json:"active"`
	CreatedBy   string `json:"created_by"`
	EndedBy     string `json:"ended_by,omitempty"`
	NextDue     string `json:"next_due,omitempty"` // the target's next open visit
	username    string
}

// PairInput pairs a volunteer with a visit target.
type PairInput struct {
	VolunteerID string `json:"volunteer_id"`
	ProgrammeID string `json:"programme_id"`
	TargetID    string `json:"target_id"`
}

// PairVisit is one visit a paired volunteer made.
type PairVisit struct {
	ID      string    `json:"id"`
	PairID  string    `json:"pair_id"`
	Date    string    `json:"date"`
	Minutes int64     `json:"minutes"`
	Well    bool      `json:"well"`
	Note    string    `json:"note,omitempty"`
	VisitID *int64    `json:"visit_id,omitempty"` // the programme's visit it closed
	TxnID   string    `json:"txn_id"`             // the hours credited
	Created time.Time `json:"created_at"`
}

// PairVisitInput is what a volunteer records of a visit.
type PairVisitInput struct {
	Date    string `json:"date"`    // YYYY-MM-DD, China time, not in the future
	Minutes int64  `json:"minutes"` // 10–480
	Well    bool   `json:"well"`    // false: the resident needs help
	Note    string `json:"note"`
}

// Target is a visit target a worker may pair a volunteer with.
type Target struct {
	ProgrammeID string `json:"programme_id"`
	ProgrammeZH string `json:"programme_zh"`
	ProgrammeEN string `json:"programme_en"`
	TargetID    string `json:"target_id"`
	ResidentID  string `json:"resident_id"`
	HouseholdID string `json:"household_id"`
	Division    string `json:"division"`
	Name        string `json:"name"` // masked
	NextDue     string `json:"next_due,omitempty"`
}

// Key is the target as a form's picker value.
func (t Target) Key() string { return t.ProgrammeID + "|" + t.TargetID }

var (
	errNoPair      = fault.NotFound(fault.M("找不到这个结对，或不在您的辖区内", "no such pair in your jurisdiction"))
	errNotPairMgr  = fault.Forbidden(fault.M("只有本社区的社区工作者可以结对和解除结对", "only the community's workers pair and unpair"))
	errNotYourPair = fault.Forbidden(fault.M("只能为自己的结对记录探访", "you record visits only for your own pairs"))
	errPairEnded   = fault.Conflict(fault.M("这个结对已解除", "this pair has ended"))
)

// pairWorker tells whether p makes and ends pairs in div: a community
// worker of it.
func pairWorker(p *access.Principal, div string) bool {
	return p != nil && p.Role == access.CommunityWorker && access.BusinessScope(p).Contains(div)
}

// targetName is the masked name of a target: the resident, or for a
// household target one of its members (published by surname only).
const targetName = `COALESCE((SELECT rp.surname FROM registry_people rp WHERE rp.id = t.resident_id),
	(SELECT MIN(rp.surname) FROM registry_people rp WHERE rp.household_id = t.household_id), '')`

const pairCols = `t.id, t.volunteer_id, v.surname, v.username, t.programme_id, t.programme_zh, t.programme_en, t.target_id, t.resident_id, t.household_id, ` + targetName + `,
	t.division_code, t.started_on, t.ended_on, t.active, t.created_by, t.ended_by,
	(SELECT MIN(o.due_date) FROM visits_volunteer_visits o WHERE o.programme_id = t.programme_id AND o.target_id = t.target_id AND o.status = 'open')`

const pairFrom = ` FROM vol_pairs t JOIN vol_volunteers v ON v.resident_id = t.volunteer_id`

func scanPair(r db.Scanner) (Pair, error) {
	var p Pair
	var due sql.NullString
	err := r.Scan(&p.ID, &p.VolunteerID, &p.Volunteer, &p.username, &p.ProgrammeID, &p.ProgrammeZH, &p.ProgrammeEN, &p.TargetID, &p.ResidentID, &p.HouseholdID, &p.Target,
		&p.Division, &p.Started, &p.Ended, &p.Active, &p.CreatedBy, &p.EndedBy, &due)
	p.Volunteer += "**"
	if p.Target != "" {
		p.Target += "**"
	}
	p.NextDue = due.String
	return p, err
}

func (s *Store) pair(ctx context.Context, q rowQuerier, id string) (Pair, error) {
	p, err := scanPair(q.QueryRowContext(ctx, `SELECT `+pairCols+pairFrom+` WHERE t.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, errNoPair
	}
	return p, err
}

// mayRead tells whether p sees the pair: its volunteer, or a worker or
// officer over its community.
func mayRead(p *access.Principal, pr Pair) bool {
	if p == nil {
		return false
	}
	if p.Role == access.Resident {
		return p.Username == pr.username
	}
	return manager(p, pr.Division)
}

// Pair reads one pair the principal may see.
func (s *Store) Pair(ctx context.Context, id string) (Pair, error) {
	pr, err := s.pair(ctx, s.DB.R, id)
	if err != nil {
		return pr, err
	}
	if !mayRead(access.From(ctx), pr) {
		return Pair{}, errNoPair
	}
	return pr, nil
}

// PairFilter narrows the pair list.
type PairFilter struct {
	Status string // active, ended or "" for both
	After  string // the last row's "division|id" of the page before
	Limit  int
}

// Cursor is a pair's keyset position in the list.
func (p Pair) Cursor() string { return p.Division + "|" + p.ID }

// Pairs lists the pairs of the principal's jurisdiction (a worker or
// officer), or a resident's own as a volunteer, by community and id.
func (s *Store) Pairs(ctx context.Context, f PairFilter) ([]Pair, error) {
	p := access.From(ctx)
	if p == nil || !p.Role.Business() {
		return nil, fault.Forbidden(fault.M("请先登录", "sign in first"))
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var q string
	var args []any
	if p.Role == access.Resident {
		q, args = ` WHERE v.username = $1 AND v.username <> ''`, []any{p.Username}
	} else if manager(p, p.Division) {
		sc := access.BusinessScope(p)
		q, args = ` WHERE t.division_code >= $1 AND t.division_code < $2`, []any{sc.Lo, sc.Hi}
	} else {
		return nil, fault.Forbidden(fault.M("只有社区工作者、干部可以查看结对", "only community workers and officers see pairs"))
	}
	switch f.Status {
	case "":
	case "active", "ended":
		args = append(args, f.Status == "active")
		q += ` AND t.active = ` + ph(len(args))
	default:
		return nil, fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("status", fault.M("应为 active 或 ended", "must be active or ended")))
	}
	if div, id, ok := strings.Cut(f.After, "|"); ok {
		args = append(args, div, id)
		q += ` AND (t.division_code > ` + ph(len(args)-1) + ` OR t.division_code = ` + ph(len(args)-1) + ` AND t.id > ` + ph(len(args)) + `)`
	}
	ps, err := db.Collect(ctx, s.DB.R, scanPair, `SELECT `+pairCols+pairFrom+q+` ORDER BY t.division_code, t.id LIMIT `+itoa(f.Limit), args...)
	if err != nil {
		return nil, err
	}
	if ps == nil {
		ps = []Pair{}
	}
	if p.Role != access.Resident {
		if err := s.Audit.Record(ctx, audit.Entry{Action: "volunteers.pairs.list", Object: "pair", Division: p.Division,
			Detail: audit.Detail(map[string]any{"status": f.Status, "rows": len(ps)})}); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// Targets lists the visit targets of this month in a worker's
// jurisdiction, for the pairing form's picker.
func (s *Store) Targets(ctx context.Context, limit int) ([]Target, error) {
	p := access.From(ctx)
	if !pairWorker(p, p.Division) {
		return nil, errNotPairMgr
	}
	sc := access.BusinessScope(p)
	ts, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Target, error) {
		var t Target
		var due sql.NullString
		err := r.Scan(&t.ProgrammeID, &t.ProgrammeZH, &t.ProgrammeEN, &t.TargetID, &t.ResidentID, &t.HouseholdID, &t.Division, &t.Name, &due)
		if t.Name != "" {
			t.Name += "**"
		}
		t.NextDue = due.String
		return t, err
	}, `SELECT t.programme_id, t.programme_zh, t.programme_en, t.target_id, t.resident_id, t.household_id, t.division_code, `+targetName+`, t.next_due
		FROM visits_targets t WHERE t.month = $1 AND t.division_code >= $2 AND t.division_code < $3 AND t.status <> 'cancelled'
		ORDER BY t.division_code, t.programme_id, t.target_id LIMIT `+itoa(limit), s.Now().In(questions.CST).Format("2006-01"), sc.Lo, sc.Hi)
	if ts == nil {
		ts = []Target{}
	}
	return ts, err
}

// CreatePair pairs a verified volunteer with a visit target, both in the
// worker's jurisdiction; one active pair per volunteer and target.
func (s *Store) CreatePair(ctx context.Context, in PairInput) (Pair, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.CommunityWorker {
		return Pair{}, errNotPairMgr
	}
	var fields []fault.FieldError
	v, err := s.volunteer(ctx, s.DB.R, strings.TrimSpace(in.VolunteerID))
	switch {
	case errors.Is(err, errNoVolunteer) || err == nil && !pairWorker(p, v.Division):
		fields = append(fields, fault.Field("volunteer_id", fault.M("请从列表中选择辖区内的志愿者", "choose a volunteer of your jurisdiction from the list")))
	case err != nil:
		return Pair{}, err
	case v.Status != StatusVerified:
		fields = append(fields, fault.Field("volunteer_id", fault.M("这位志愿者尚未通过社区认证", "the volunteer is not verified yet")))
	}
	var t Target
	var status string
	// The target as of its latest scheduled month: one who has left the
	// programme's group (their visits cancelled) is no longer a target.
	err = s.DB.R.QueryRowContext(ctx, `SELECT programme_id, programme_zh, programme_en, target_id, resident_id, household_id, division_code, status FROM visits_targets
		WHERE programme_id = $1 AND target_id = $2 ORDER BY month DESC LIMIT 1`, strings.TrimSpace(in.ProgrammeID), strings.TrimSpace(in.TargetID)).
		Scan(&t.ProgrammeID, &t.ProgrammeZH, &t.ProgrammeEN, &t.TargetID, &t.ResidentID, &t.HouseholdID, &t.Division, &status)
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && (!pairWorker(p, t.Division) || status == "cancelled"):
		fields = append(fields, fault.Field("target_id", fault.M("请从列表中选择辖区内的探访对象", "choose a visit target of your jurisdiction from the list")))
	case err != nil:
		return Pair{}, err
	case t.ResidentID == v.ResidentID:
		fields = append(fields, fault.Field("target_id", fault.M("志愿者不能与自己结对", "a volunteer is not paired with themself")))
	}
	if len(fields) > 0 {
		return Pair{}, fault.Invalid(fault.M("结对信息有误", "the pair has errors"), fields...)
	}
	id := db.NewID()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO vol_pairs (id, volunteer_id, programme_id, programme_zh, programme_en, target_id, resident_id, household_id, division_code,
			started_on, active, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,TRUE,$11,$12)`,
			id, v.ResidentID, t.ProgrammeID, t.ProgrammeZH, t.ProgrammeEN, t.TargetID, t.ResidentID, t.HouseholdID, t.Division, s.today(), p.Username, db.T(s.Now()))
		if db.IsUniqueViolation(err) {
			return fault.New(fault.CodeConflict, fault.M("这位志愿者已与该对象结对", "the volunteer is already paired with this target"),
				fault.Field("target_id", fault.M("已有进行中的结对", "an active pair exists")))
		} else if err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.pair.create", Object: "pair", ObjectID: id, Division: t.Division,
			Detail: audit.Detail(map[string]any{"volunteer": v.ResidentID, "programme": t.ProgrammeID, "target": t.TargetID})})
	})
	if err != nil {
		return Pair{}, err
	}
	return s.pair(ctx, s.DB.R, id)
}

// EndPair ends an active pair; its visits stay.
func (s *Store) EndPair(ctx context.Context, id string) (Pair, error) {
	pr, err := s.pair(ctx, s.DB.R, id)
	if err != nil {
		return pr, err
	}
	p := access.From(ctx)
	if !pairWorker(p, pr.Division) {
		if mayRead(p, pr) {
			return Pair{}, errNotPairMgr
		}
		return Pair{}, errNoPair
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE vol_pairs SET active = FALSE, ended_on = $1, ended_by = $2 WHERE id = $3 AND active`, s.today(), p.Username, id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return errPairEnded
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.pair.end", Object: "pair", ObjectID: id, Division: pr.Division})
	})
	if err != nil {
		return Pair{}, err
	}
	return s.pair(ctx, s.DB.R, id)
}

const pairVisitCols = `id, pair_id, visit_date, minutes, well, note, visit_id, txn_id, created_at`

func scanPairVisit(r db.Scanner) (PairVisit, error) {
	var v PairVisit
	var visit sql.NullInt64
	var c db.Time
	err := r.Scan(&v.ID, &v.PairID, &v.Date, &v.Minutes, &v.Well, &v.Note, &visit, &v.TxnID, &c)
	if visit.Valid {
		v.VisitID = &visit.Int64
	}
	v.Created = c.Time
	return v, err
}

// PairVisits lists a pair's visits, newest first.
func (s *Store) PairVisits(ctx context.Context, id string) ([]PairVisit, error) {
	if _, err := s.Pair(ctx, id); err != nil {
		return nil, err
	}
	vs, err := db.Collect(ctx, s.DB.R, scanPairVisit, `SELECT `+pairVisitCols+` FROM vol_pair_visits WHERE pair_id = $1 ORDER BY visit_date DESC LIMIT 100`, id)
	if vs == nil {
		vs = []PairVisit{} // the API answers an empty list, not null
	}
	return vs, err
}

// Durations are the visit lengths a volunteer picks from, in minutes.
var Durations = []int64{30, 45, 60, 90, 120, 180}

// RecordPairVisit records the signed-in volunteer's visit to a paired
// target: it closes the target's earliest open visit of the programme due
// by then (so the programme counts it) and credits the hours from the
// community's time bank, once per pair and day.
func (s *Store) RecordPairVisit(ctx context.Context, id string, in PairVisitInput) (PairVisit, error) {
	pr, err := s.pair(ctx, s.DB.R, id)
	if err != nil {
		return PairVisit{}, err
	}
	p := access.From(ctx)
	if p == nil || p.Role != access.Resident || p.Username != pr.username {
		if mayRead(p, pr) {
			return PairVisit{}, errNotYourPair
		}
		return PairVisit{}, errNoPair
	}
	if !pr.Active {
		return PairVisit{}, errPairEnded
	}
	now := s.Now()
	today := s.today()
	var fields []fault.FieldError
	d, derr := time.ParseInLocation("2006-01-02", in.Date, questions.CST)
	switch {
	case derr != nil || in.Date > today:
		fields = append(fields, fault.Field("date", fault.M("请填写探访日期（不晚于今天）", "give the visit's date, not after today")))
	case in.Date < pr.Started || d.Before(now.In(questions.CST).AddDate(0, 0, -31)):
		fields = append(fields, fault.Field("date", fault.M("探访日期须在结对之后、31 天以内", "the date is after the pairing and within the last 31 days")))
	}
	if in.Minutes < 10 || in.Minutes > 480 {
		fields = append(fields, fault.Field("minutes", fault.M("探访时长应为 10 分钟到 8 小时", "the visit lasts 10 minutes to 8 hours")))
	}
	note := strings.TrimSpace(in.Note)
	if utf8.RuneCountInString(note) > 500 {
		fields = append(fields, fault.Field("note", fault.M("情况说明不超过 500 字", "the note is at most 500 characters")))
	}
	if !in.Well && note == "" {
		fields = append(fields, fault.Field("note", fault.M("需要帮助时请简述情况", "say briefly what help is needed")))
	}
	if len(fields) > 0 {
		return PairVisit{}, fault.Invalid(fault.M("探访记录有误", "the visit record has errors"), fields...)
	}
	at := time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, questions.CST)
	if in.Date == today || at.After(now) {
		at = now
	}
	v, err := s.volunteer(ctx, s.DB.R, pr.VolunteerID)
	if err != nil {
		return PairVisit{}, err
	}
	out := PairVisit{ID: db.NewID(), PairID: id, Date: in.Date, Minutes: in.Minutes, Well: in.Well, Note: note, Created: now}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// The day is taken first: a second record that day is refused
		// before anything else is written.
		if _, err := tx.ExecContext(ctx, `INSERT INTO vol_pair_visits (`+pairVisitCols+`, created_by) VALUES ($1,$2,$3,$4,$5,$6,NULL,'',$8,$7)`,
			out.ID, id, in.Date, in.Minutes, in.Well, note, p.Username, db.T(now)); db.IsUniqueViolation(err) {
			return fault.New(fault.CodeConflict, fault.M("这一天已记录过与该对象的探访", "a visit to this target is already recorded for that day"),
				fault.Field("date", fault.M("每个结对每天记录一次", "one record per pair and day")))
		} else if err != nil {
			return err
		}
		var visit int64
		err := tx.QueryRowContext(ctx, `SELECT visit_id FROM visits_volunteer_visits WHERE programme_id = $1 AND target_id = $2 AND status = 'open' AND month <= $3
			ORDER BY due_date, visit_id LIMIT 1`, pr.ProgrammeID, pr.TargetID, in.Date[:7]).Scan(&visit)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			// Nothing due: the visit is the volunteer's, not the programme's.
		case err != nil:
			return err
		default:
			flag := ""
			if !in.Well {
				flag = db.NewID()
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO visits_volunteer_visits (visit_id, visited_at, note, recorded_by, needs_help, flag_id, recorded_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
				visit, db.T(at), note, p.Username, !in.Well, flag, db.T(now)); err != nil {
				if strings.Contains(err.Error(), "visit is not open") {
					return fault.Conflict(fault.M("这次探访刚刚已被记录，请重试", "the visit was just recorded by someone else; try again"))
				}
				return err
			}
			out.VisitID = &visit
		}
		txn, err := s.creditService(ctx, tx, v, pr.Division, in.Minutes, 0, in.Date, id, "结对探访 / paired visit", "pair:"+id+":"+in.Date, p.Username)
		if err != nil {
			return err
		}
		out.TxnID = txn
		if _, err := tx.ExecContext(ctx, `UPDATE vol_pair_visits SET visit_id = $1, txn_id = $2 WHERE id = $3`, out.VisitID, txn, out.ID); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.pair.visit", Object: "pair", ObjectID: id, Division: pr.Division,
			Detail: audit.Detail(map[string]any{"date": in.Date, "minutes": in.Minutes, "well": in.Well, "visit": out.VisitID, "txn": txn})})
	})
	if err != nil {
		return PairVisit{}, err
	}
	return out, nil
}
