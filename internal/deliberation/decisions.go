package deliberation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

// Decision is what a council decided on a topic, with its vote and the
// implementation's progress.
type Decision struct {
	ID         string     `json:"id"`
	TopicID    string     `json:"topic_id"`
	TopicTitle string     `json:"topic_title"`
	VoteID     string     `json:"vote_id,omitempty"`
	Division   string     `json:"division_code"`
	Text       string     `json:"text"`
	DecidedBy  string     `json:"decided_by"`
	Owner      string     `json:"owner"`
	Plan       string     `json:"plan"`
	Progress   int        `json:"progress"`
	Status     string     `json:"status"` // the topic's
	Result     *Result    `json:"result,omitempty"`
	Updates    []Progress `json:"updates,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`

	// Milestones of the plan, Overdue how many are past due, and Rating
	// the households' 评价问效 once done (milestones.go).
	Milestones []Milestone `json:"milestones,omitempty"`
	Overdue    int         `json:"overdue,omitempty"`
	Rating     *Ratings    `json:"rating,omitempty"`
}

// StateTag is the topic's state in words.
func (d Decision) StateTag() web.Tag { return stateTag(d.Status) }

// Progress is one update of a decision's implementation.
type Progress struct {
	Seq     int       `json:"seq"`
	Percent int       `json:"percent"`
	Note    string    `json:"note"`
	At      time.Time `json:"at"`
}

// DecisionInput records a decision.
type DecisionInput struct {
	TopicID string `json:"topic_id"`
	// VoteID: the vote it follows; it must have passed. Empty: a decision
	// the council made by consensus at a meeting.
	VoteID    string `json:"vote_id,omitempty"`
	Text      string `json:"text"`
	DecidedBy string `json:"decided_by"`
	Owner     string `json:"owner"`
	Plan      string `json:"plan"`
}

// Decide records a decision on a deliberating topic; a vote that did not
// pass (quorum not reached, no majority) makes no decision.
func (s *Store) Decide(ctx context.Context, in DecisionInput) (Decision, error) {
	p := access.From(ctx)
	if !worker(p) {
		return Decision{}, fault.Forbidden(fault.M("只有社区工作者或干部可以记录决定", "only community workers and officers record decisions"))
	}
	var fields []fault.FieldError
	in.Text = text("text", in.Text, 2000, true, &fields)
	in.DecidedBy = text("decided_by", in.DecidedBy, 80, true, &fields)
	in.Owner = text("owner", in.Owner, 80, true, &fields)
	in.Plan = text("plan", in.Plan, 2000, true, &fields)
	if len(fields) > 0 {
		return Decision{}, invalid(fields...)
	}
	if in.VoteID != "" {
		// Counts a vote whose window has closed.
		if _, err := s.Vote(ctx, in.VoteID); err != nil {
			return Decision{}, invalid(fault.Field("vote_id", fault.M("没有这场表决", "no such vote")))
		}
	}
	now := s.Now()
	id := db.NewID()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.readTopic(ctx, tx, in.TopicID)
		if err != nil || !access.BusinessScope(p).Contains(t.Division) {
			return invalid(fault.Field("topic_id", fault.M("辖区内没有这个议题", "no such topic in your jurisdiction")))
		}
		if in.VoteID != "" {
			v, err := s.readVote(ctx, tx, in.VoteID)
			if err != nil || v.TopicID != t.ID {
				return invalid(fault.Field("vote_id", fault.M("这场表决不属于这个议题", "the vote is not on this topic")))
			}
			switch {
			case v.Result == nil:
				return fault.Conflict(fault.M("表决尚未结束", "the vote has not closed"))
			case v.Result.Outcome == NoQuorum:
				return fault.Conflict(fault.M("表决未达法定人数，不能据此作出决定", "the vote did not reach its quorum: no decision"))
			case v.Result.Outcome != Passed:
				return fault.Conflict(fault.M("表决未形成多数，不能据此作出决定", "the vote reached no majority: no decision"))
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_decisions (id, topic_id, vote_id, division_code, text, decided_by, owner, plan, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$9)`, id, t.ID, in.VoteID, t.Division, in.Text, in.DecidedBy, in.Owner, in.Plan, db.T(now)); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Conflict(fault.M("这个议题已有决定", "the topic already has a decision"))
			}
			return err
		}
		if err := s.move(ctx, tx, t, "decide", []string{Deliberating}, Decided, ""); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.decide", Object: "decision", ObjectID: id, Division: t.Division, Detail: "vote " + in.VoteID})
	})
	if err != nil {
		return Decision{}, err
	}
	return s.Decision(ctx, id)
}

// ProgressInput is an implementation update.
type ProgressInput struct {
	Percent int    `json:"percent"`
	Note    string `json:"note"`
	// Milestone is the seq of a milestone this update marks done (0: none).
	Milestone int `json:"milestone,omitempty"`
}

// AddProgress records an update: the first moves the topic to 实施中,
// 100% to 已完成.
func (s *Store) AddProgress(ctx context.Context, id string, in ProgressInput) (Decision, error) {
	p := access.From(ctx)
	if !worker(p) {
		return Decision{}, fault.Forbidden(fault.M("只有社区工作者或干部可以更新进度", "only community workers and officers update progress"))
	}
	var fields []fault.FieldError
	in.Note = text("note", in.Note, 1000, true, &fields)
	if in.Percent < 0 || in.Percent > 100 {
		fields = append(fields, fault.Field("percent", fault.M("进度为 0–100", "progress is 0–100")))
	}
	if len(fields) > 0 {
		return Decision{}, invalid(fields...)
	}
	now := s.Now()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var topicID, div string
		var progress int
		err := tx.QueryRowContext(ctx, `SELECT topic_id, division_code, progress FROM dlb_decisions WHERE id = $1`, id).Scan(&topicID, &div, &progress)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !access.BusinessScope(p).Contains(div)) {
			return errNotFound
		} else if err != nil {
			return err
		}
		if in.Percent < progress {
			return invalid(fault.Field("percent", fault.M(fmt.Sprintf("进度不能低于上次的 %d%%", progress), fmt.Sprintf("progress cannot fall below the last %d%%", progress))))
		}
		t, err := s.readTopic(ctx, tx, topicID)
		if err != nil {
			return err
		}
		if t.Status == Decided {
			if err := s.move(ctx, tx, t, "implement", []string{Decided}, Implementing, ""); err != nil {
				return err
			}
			t.Status = Implementing
		}
		if t.Status != Implementing {
			return fault.Conflict(fault.M("议题当前为“"+StateName(t.Status).ZH+"”，不能更新进度", "the topic is "+StateName(t.Status).EN+": no progress can be added"))
		}
		if in.Percent == 100 {
			if err := s.move(ctx, tx, t, "complete", []string{Implementing}, Done, ""); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_progress (decision_id, seq, percent, note, actor, at)
			SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5 FROM dlb_progress WHERE decision_id = $1`, id, in.Percent, in.Note, p.Username, db.T(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dlb_decisions SET progress = $2, updated_at = $3 WHERE id = $1`, id, in.Percent, db.T(now)); err != nil {
			return err
		}
		if err := markMilestone(ctx, tx, id, in.Milestone, now); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.progress", Object: "decision", ObjectID: id, Division: div, Detail: fmt.Sprintf("%d%%", in.Percent)})
	})
	if err != nil {
		return Decision{}, err
	}
	return s.Decision(ctx, id)
}

const decisionCols = `d.id, d.topic_id, t.title, d.vote_id, d.division_code, d.text, d.decided_by, d.owner, d.plan, d.progress, t.status, d.created_at, d.updated_at`

func scanDecision(r db.Scanner) (Decision, error) {
	var d Decision
	var c, u db.Time
	err := r.Scan(&d.ID, &d.TopicID, &d.TopicTitle, &d.VoteID, &d.Division, &d.Text, &d.DecidedBy, &d.Owner, &d.Plan, &d.Progress, &d.Status, &c, &u)
	d.CreatedAt, d.UpdatedAt = c.Time, u.Time
	return d, err
}

// Decision reads a decision with its vote's result and its updates;
// decisions are public.
func (s *Store) Decision(ctx context.Context, id string) (Decision, error) {
	d, err := scanDecision(s.DB.R.QueryRowContext(ctx, `SELECT `+decisionCols+` FROM dlb_decisions d JOIN dlb_topics t ON t.id = d.topic_id WHERE d.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, errNotFound
	} else if err != nil {
		return d, err
	}
	if d.VoteID != "" {
		v, err := s.readVote(ctx, s.DB.R, d.VoteID)
		if err != nil {
			return d, err
		}
		d.Result = v.Result
	}
	d.Updates, err = db.Collect(ctx, s.DB.R, func(r db.Scanner) (Progress, error) {
		var p Progress
		var at db.Time
		err := r.Scan(&p.Seq, &p.Percent, &p.Note, &at)
		p.At = at.Time
		return p, err
	}, `SELECT seq, percent, note, at FROM dlb_progress WHERE decision_id = $1 ORDER BY seq DESC`, id)
	if err != nil {
		return d, err
	}
	return d, s.decisionExtras(ctx, &d)
}

// DecisionPage is one page of a community's public board.
type DecisionPage struct {
	Items []Decision `json:"items"`
	Next  string     `json:"next,omitempty"`
}

// Decisions is a community's public board (or, for a wider division,
// every board below it): the decisions, the latest first, paged by key.
// Anyone may read it.
func (s *Store) Decisions(ctx context.Context, division, cursor string, size int) (DecisionPage, error) {
	sc := access.Subtree(division)
	q := `SELECT ` + decisionCols + ` FROM dlb_decisions d JOIN dlb_topics t ON t.id = d.topic_id WHERE d.division_code >= $1 AND d.division_code < $2`
	args := []any{sc.Lo, sc.Hi}
	list := "dlb_decisions:" + division
	if cursor != "" {
		k, err := keyset.Open(s.Keys, cursor, list, 2)
		if err != nil {
			return DecisionPage{}, err
		}
		q += ` AND (d.created_at < $3 OR (d.created_at = $3 AND d.id < $4))`
		at, _ := time.Parse(time.RFC3339Nano, k[0])
		args = append(args, db.T(at), k[1])
	}
	q += fmt.Sprintf(` ORDER BY d.created_at DESC, d.id DESC LIMIT %d`, size+1)
	items, err := db.Collect(ctx, s.DB.R, scanDecision, q, args...)
	if err != nil {
		return DecisionPage{}, err
	}
	if items == nil {
		items = []Decision{}
	}
	pg := DecisionPage{Items: items}
	if len(items) > size {
		pg.Items = items[:size]
		last := items[size-1]
		pg.Next = keyset.Seal(s.Keys, list, last.CreatedAt.Format(time.RFC3339Nano), last.ID)
	}
	for i := range pg.Items {
		pg.Items[i].Plan = ""
	}
	return pg, s.boardExtras(ctx, pg.Items)
}
