package emergency

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/questions"
	"linli/internal/web"
)

// Drills (演练) are scheduled ahead per community or township with their
// hazard, time and place; one is held by issuing an Exercise warning over
// its place, which the drill then names (its checks, figures and review
// are that incident's), or it is cancelled with a reason. A drill coming
// within a week, and one past its time and not yet recorded, sit on the
// 工作台 of the unit's workers.

const drillsSQL = `
CREATE TABLE em_drills (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	title TEXT NOT NULL,
	hazard TEXT NOT NULL,
	starts_at TIMESTAMPTZ NOT NULL,
	place TEXT NOT NULL,
	state TEXT NOT NULL,
	incident_id TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT '',
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX em_drills_div ON em_drills (division_code, starts_at);
CREATE INDEX em_drills_due ON em_drills (state, starts_at);
`

// Drill states.
const (
	DrillScheduled = "scheduled"
	DrillHeld      = "held"
	DrillCancelled = "cancelled"
)

const kindDrill = "emergency.drill"

// Drill is a scheduled drill.
type Drill struct {
	ID         string    `json:"id"`
	Division   string    `json:"division"`
	Title      string    `json:"title"`
	Hazard     string    `json:"hazard"`
	StartsAt   time.Time `json:"starts_at"`
	Place      string    `json:"place"`
	State      string    `json:"state"`
	IncidentID string    `json:"incident_id,omitempty"` // the Exercise it was held with
	ReviewID   string    `json:"review_id,omitempty"`   // that incident's review, once written
	Reason     string    `json:"reason,omitempty"`      // why it was cancelled
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
}

// DrillInput schedules a drill.
type DrillInput struct {
	Division string    `json:"division"`
	Title    string    `json:"title"`
	Hazard   string    `json:"hazard"`
	StartsAt time.Time `json:"starts_at"`
	Place    string    `json:"place"`
}

// DrillHeldInput names the Exercise warning a drill was held with.
type DrillHeldInput struct {
	IncidentID string `json:"incident_id"`
}

// DrillCancelInput says why a drill is cancelled.
type DrillCancelInput struct {
	Reason string `json:"reason"`
}

// StateTag is the drill's state as a tag.
func (d Drill) StateTag() web.Tag {
	switch d.State {
	case DrillHeld:
		return web.Tag{Tone: web.ToneOK, Label: web.M("已举行", "Held")}
	case DrillCancelled:
		return web.Tag{Tone: web.ToneMuted, Label: web.M("已取消", "Cancelled")}
	}
	return web.Tag{Tone: web.ToneInfo, Label: web.M("待举行", "Scheduled")}
}

// HazardWords names the drill's hazard.
func (d Drill) HazardWords() web.Msg { return HazardName(d.Hazard) }

const drillCols = `id, division_code, title, hazard, starts_at, place, state, incident_id, reason, created_by, created_at`

func scanDrill(r db.Scanner) (Drill, error) {
	var d Drill
	var at, created db.Time
	err := r.Scan(&d.ID, &d.Division, &d.Title, &d.Hazard, &at, &d.Place, &d.State, &d.IncidentID, &d.Reason, &d.CreatedBy, &created)
	d.StartsAt, d.CreatedAt = at.Time, created.Time
	return d, err
}

// ScheduleDrill schedules a drill of a community or township of the
// principal's jurisdiction, in the future.
func (s *Store) ScheduleDrill(ctx context.Context, in DrillInput) (Drill, error) {
	p := access.From(ctx)
	if err := planWriter(p); err != nil {
		return Drill{}, err
	}
	var fields []fault.FieldError
	bad := func(f, zh, en string) { fields = append(fields, fault.Field(f, fault.M(zh, en))) }
	s.checkUnit(ctx, in.Division, bad)
	in.Title, in.Place = strings.TrimSpace(in.Title), strings.TrimSpace(in.Place)
	if n := len([]rune(in.Title)); n == 0 || n > 80 {
		bad("title", "请填写演练名称（80 字以内）", "give the drill a title (up to 80 characters)")
	}
	if !slices.Contains(Hazards, in.Hazard) {
		bad("hazard", "请选择演练的灾种", "choose the hazard drilled")
	}
	if !in.StartsAt.After(s.Now()) {
		bad("starts_at", "演练时间须在将来", "the drill must be in the future")
	}
	if n := len([]rune(in.Place)); n == 0 || n > 100 {
		bad("place", "请填写演练地点（100 字以内）", "give the place (up to 100 characters)")
	}
	if len(fields) > 0 {
		return Drill{}, fault.Invalid(fault.M("无法安排演练", "cannot schedule the drill"), fields...)
	}
	d := Drill{ID: db.NewID(), Division: in.Division, Title: in.Title, Hazard: in.Hazard, StartsAt: in.StartsAt, Place: in.Place, State: DrillScheduled,
		CreatedBy: p.Username, CreatedAt: s.Now()}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO em_drills (id, division_code, title, hazard, starts_at, place, state, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`, d.ID, d.Division, d.Title, d.Hazard, db.T(d.StartsAt), d.Place, d.State, d.CreatedBy, db.T(d.CreatedAt)); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.drill_schedule", Object: "drill", ObjectID: d.ID, Division: d.Division, Detail: d.Hazard})
	})
	if err != nil {
		return Drill{}, err
	}
	return s.Drill(ctx, d.ID)
}

// Drills lists the drills of the reader's jurisdiction (within division,
// if given): the coming ones first, soonest first, then the past, latest
// first; at most 200.
func (s *Store) Drills(ctx context.Context, division string) ([]Drill, error) {
	sc := access.ScopeOf(ctx)
	if division != "" {
		if !sc.Contains(division) {
			return nil, fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("division", fault.M("不在您的辖区内", "outside your jurisdiction")))
		}
		sc = access.Subtree(division)
	}
	now := db.T(s.Now())
	coming, err := db.Collect(ctx, s.DB.R, scanDrill, `SELECT `+drillCols+` FROM em_drills WHERE division_code >= $1 AND division_code < $2 AND starts_at >= $3
		ORDER BY starts_at, id LIMIT 100`, sc.Lo, sc.Hi, now)
	if err != nil {
		return nil, err
	}
	past, err := db.Collect(ctx, s.DB.R, scanDrill, `SELECT `+drillCols+` FROM em_drills WHERE division_code >= $1 AND division_code < $2 AND starts_at < $3
		ORDER BY starts_at DESC, id LIMIT 100`, sc.Lo, sc.Hi, now)
	return append(append([]Drill{}, coming...), past...), err
}

// Drill reads one drill of the reader's jurisdiction, with its review.
func (s *Store) Drill(ctx context.Context, id string) (Drill, error) {
	d, err := scanDrill(s.DB.R.QueryRowContext(ctx, `SELECT `+drillCols+` FROM em_drills WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && !access.ScopeOf(ctx).Contains(d.Division) {
		return Drill{}, fault.NotFound(fault.M("没有这次演练，或不在您的辖区内", "no such drill in your jurisdiction"))
	}
	if err != nil || d.IncidentID == "" {
		return d, err
	}
	err = s.DB.R.QueryRowContext(ctx, `SELECT id FROM em_reviews WHERE incident_id = $1`, d.IncidentID).Scan(&d.ReviewID)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return d, err
}

// HoldDrill records a scheduled drill held with an Exercise warning whose
// area meets the drill's place.
func (s *Store) HoldDrill(ctx context.Context, id string, in DrillHeldInput) (Drill, error) {
	return s.closeDrill(ctx, id, func(tx *sql.Tx, d Drill) (string, string, error) {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM em_alerts a JOIN em_alert_areas ar ON ar.alert_id = a.id
			WHERE a.incident_id = $1 AND a.status = 'Exercise' AND (substr(CAST($2 AS TEXT), 1, length(ar.division_code)) = ar.division_code OR substr(ar.division_code, 1, length(CAST($2 AS TEXT))) = $2)`,
			in.IncidentID, d.Division).Scan(&n)
		if err != nil {
			return "", "", err
		}
		if n == 0 {
			return "", "", fault.Invalid(fault.M("无法登记", "cannot record it"), fault.Field("incident_id", fault.M("请选择在演练地点发布的演练（Exercise）预警", "choose an Exercise warning issued over the drill's place")))
		}
		return DrillHeld, in.IncidentID, nil
	}, "emergency.drill_held")
}

// CancelDrill cancels a scheduled drill, with its reason.
func (s *Store) CancelDrill(ctx context.Context, id string, in DrillCancelInput) (Drill, error) {
	reason := strings.TrimSpace(in.Reason)
	return s.closeDrill(ctx, id, func(tx *sql.Tx, d Drill) (string, string, error) {
		if n := len([]rune(reason)); n == 0 || n > 200 {
			return "", "", fault.Invalid(fault.M("无法取消", "cannot cancel it"), fault.Field("reason", fault.M("请说明取消原因（200 字以内）", "say why (up to 200 characters)")))
		}
		return DrillCancelled, reason, nil
	}, "emergency.drill_cancel")
}

// closeDrill moves a scheduled drill to the state decide answers, with
// the incident (held) or the reason (cancelled).
func (s *Store) closeDrill(ctx context.Context, id string, decide func(*sql.Tx, Drill) (state, value string, err error), action string) (Drill, error) {
	if err := planWriter(access.From(ctx)); err != nil {
		return Drill{}, err
	}
	d, err := s.Drill(ctx, id)
	if err != nil {
		return d, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		state, value, err := decide(tx, d)
		if err != nil {
			return err
		}
		col := "incident_id"
		if state == DrillCancelled {
			col = "reason"
		}
		res, err := tx.ExecContext(ctx, `UPDATE em_drills SET state = $1, `+col+` = $2, updated_at = $3 WHERE id = $4 AND state = 'scheduled'`, state, value, db.T(s.Now()), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fault.Conflict(fault.M("这次演练已登记举行或已取消", "the drill is already recorded held or cancelled"))
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: action, Object: "drill", ObjectID: id, Division: d.Division, Detail: value})
	})
	if err != nil {
		return Drill{}, err
	}
	return s.Drill(ctx, id)
}

// ExerciseIncidents are the Exercise warnings of the reader's jurisdiction
// whose area meets a drill's place, latest first: what it may have been
// held with.
func (s *Store) ExerciseIncidents(ctx context.Context, d Drill) ([]Alert, error) {
	ids, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT DISTINCT a.incident_id FROM em_alerts a JOIN em_alert_areas ar ON ar.alert_id = a.id
		WHERE a.status = 'Exercise' AND a.id = a.incident_id AND (substr(CAST($1 AS TEXT), 1, length(ar.division_code)) = ar.division_code OR substr(ar.division_code, 1, length(CAST($1 AS TEXT))) = $1)
		ORDER BY a.incident_id DESC LIMIT 20`, d.Division)
	if err != nil {
		return nil, err
	}
	var out []Alert
	for _, id := range ids {
		a, err := s.Get(ctx, id)
		if fault.Is(err, fault.CodeNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// drillWork is, for a community worker or officer, the drills of their
// jurisdiction coming within a week, and those past their time by a day
// and not yet recorded (urgent).
func (s *Store) drillWork(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	if planWriter(p) != nil {
		return nil, nil
	}
	sc := access.BusinessScope(p)
	now := s.Now()
	ds, err := db.Collect(ctx, s.DB.R, scanDrill, `SELECT `+drillCols+` FROM em_drills WHERE state = 'scheduled' AND starts_at < $1
		AND division_code >= $2 AND division_code < $3 ORDER BY starts_at, id LIMIT $4`, db.T(now.AddDate(0, 0, 7)), sc.Lo, sc.Hi, limit)
	out := make([]module.WorkItem, 0, len(ds))
	for _, d := range ds {
		late := d.StartsAt.Before(now.Add(-24 * time.Hour))
		title := fault.M("演练「"+d.Title+"」"+d.StartsAt.In(questions.CST).Format("1月2日 15:04")+"举行", "Drill "+d.Title+" at "+d.StartsAt.In(questions.CST).Format("Jan 2 15:04"))
		if late {
			title = fault.M("登记演练「"+d.Title+"」是否举行", "Record whether the drill "+d.Title+" was held")
		}
		out = append(out, module.WorkItem{Module: "emergency", Kind: kindDrill, KindName: fault.M("应急演练", "Drills"), Title: title, Whose: d.Place,
			Href: "/emergency/drills/" + d.ID, Due: d.StartsAt, Urgent: late})
	}
	return out, err
}
