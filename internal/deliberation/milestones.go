package deliberation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// An implementation plan's milestones, and 评价问效: once a topic is done
// the households of its affected area rate the result, 1–5 stars, once
// each. Where a 民呼我为 request's reporter rates their own request
// (satisfied, fairly, unsatisfied, stored on the request), a decision
// concerns a whole area, so its ratings are rows per household and the
// public sees their average and count.

// Milestone is a step of an implementation plan with its due date.
type Milestone struct {
	Seq     int        `json:"seq"`
	Title   string     `json:"title"`
	Due     string     `json:"due"` // YYYY-MM-DD in China
	Done    bool       `json:"done"`
	DoneAt  *time.Time `json:"done_at,omitempty"`
	Overdue bool       `json:"overdue"`
}

// MilestoneInput adds a milestone to a decision's plan.
type MilestoneInput struct {
	Title string `json:"title"`
	Due   string `json:"due"`
}

// Ratings is a decision's 评价问效: how many households rated and their
// average; Mine is the reader's household's stars (0: not rated).
type Ratings struct {
	Count   int     `json:"count"`
	Average float64 `json:"average"`
	Mine    int     `json:"mine,omitempty"`
	// Comments are the households' comments, for workers (no names).
	Comments []RatingComment `json:"comments,omitempty"`
}

// RatingComment is one household's rating with its comment.
type RatingComment struct {
	Stars   int       `json:"stars"`
	Comment string    `json:"comment"`
	At      time.Time `json:"at"`
}

// RatingInput rates a finished decision for the resident's household.
type RatingInput struct {
	Stars   int    `json:"stars"` // 1–5
	Comment string `json:"comment,omitempty"`
}

// maxMilestones keeps a plan readable on a phone.
const maxMilestones = 30

func today(now time.Time) string { return now.In(cst).Format("2006-01-02") }

// decisionOf reads a decision's topic and division for a write; a worker
// outside its division reads nothing.
func (s *Store) decisionOf(ctx context.Context, q rowQuerier, id string) (Topic, error) {
	var topic string
	err := q.QueryRowContext(ctx, `SELECT topic_id FROM dlb_decisions WHERE id = $1`, id).Scan(&topic)
	if errors.Is(err, sql.ErrNoRows) {
		return Topic{}, errNotFound
	} else if err != nil {
		return Topic{}, err
	}
	return s.readTopic(ctx, q, topic)
}

// AddMilestone adds a milestone to the plan of a decision not yet done.
func (s *Store) AddMilestone(ctx context.Context, id string, in MilestoneInput) (Decision, error) {
	p := access.From(ctx)
	if !worker(p) {
		return Decision{}, fault.Forbidden(fault.M("只有社区工作者或干部可以安排实施节点", "only community workers and officers set milestones"))
	}
	var fields []fault.FieldError
	in.Title = text("title", in.Title, 80, true, &fields)
	in.Due = strings.TrimSpace(in.Due)
	now := s.Now()
	switch {
	case !validDate(in.Due):
		fields = append(fields, fault.Field("due", fault.M("请填写截止日期（YYYY-MM-DD）", "give the due date (YYYY-MM-DD)")))
	case in.Due < today(now):
		fields = append(fields, fault.Field("due", fault.M("截止日期不能早于今天", "the due date cannot be before today")))
	}
	if len(fields) > 0 {
		return Decision{}, invalid(fields...)
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.decisionOf(ctx, tx, id)
		if err != nil || !access.BusinessScope(p).Contains(t.Division) {
			return errNotFound
		}
		if t.Status != Decided && t.Status != Implementing {
			return fault.Conflict(fault.M("议题当前为“"+StateName(t.Status).ZH+"”，不能再安排节点", "the topic is "+StateName(t.Status).EN+": no milestone can be added"))
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM dlb_milestones WHERE decision_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n >= maxMilestones {
			return fault.Conflict(fault.M(fmt.Sprintf("一项决定最多 %d 个节点", maxMilestones), fmt.Sprintf("a decision has at most %d milestones", maxMilestones)))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_milestones (decision_id, seq, title, due, done, actor) VALUES ($1,$2,$3,$4,FALSE,$5)`,
			id, n+1, in.Title, in.Due, p.Username); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.milestone_add", Object: "decision", ObjectID: id, Division: t.Division, Detail: in.Due})
	})
	if err != nil {
		return Decision{}, err
	}
	return s.Decision(ctx, id)
}

// markMilestone marks a milestone done with a progress update (seq 0:
// none); one already done or missing is refused.
func markMilestone(ctx context.Context, tx *sql.Tx, id string, seq int, at time.Time) error {
	if seq == 0 {
		return nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE dlb_milestones SET done = TRUE, done_at = $3 WHERE decision_id = $1 AND seq = $2 AND done = FALSE`, id, seq, db.T(at))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return invalid(fault.Field("milestone", fault.M("没有这个未完成的节点", "no such milestone still open")))
	}
	return nil
}

// Rate records the household's 评价问效 of a finished decision: only once
// the topic is 已完成, only from a household of the affected area, once.
func (s *Store) Rate(ctx context.Context, id string, in RatingInput) (Decision, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Resident {
		return Decision{}, fault.Forbidden(fault.M("只有居民可以评价", "only residents rate a result"))
	}
	var fields []fault.FieldError
	if in.Stars < 1 || in.Stars > 5 {
		fields = append(fields, fault.Field("stars", fault.M("请选择 1–5 星", "choose 1 to 5 stars")))
	}
	in.Comment = text("comment", in.Comment, 500, false, &fields)
	if len(fields) > 0 {
		return Decision{}, invalid(fields...)
	}
	hh, _, err := s.household(ctx, p)
	if err != nil {
		return Decision{}, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.decisionOf(ctx, tx, id)
		if err != nil || !s.sees(ctx, t.Division) {
			return errNotFound
		}
		if in, err := s.inArea(ctx, tx, t, hh); err != nil {
			return err
		} else if !in {
			return fault.Forbidden(fault.M("您家不在这个议题涉及的范围内", "your household is outside the topic's affected area"))
		}
		if t.Status != Done {
			return fault.Conflict(fault.M("落实完成后才能评价", "the result can be rated once it is done"))
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO dlb_ratings (decision_id, household_id, stars, comment, rated_by, at) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING`,
			id, hh, in.Stars, in.Comment, p.Username, db.T(s.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.Conflict(fault.M("您家已经评价过", "your household has already rated it"))
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.rate", Object: "decision", ObjectID: id, Division: t.Division, Detail: fmt.Sprintf("%d stars", in.Stars)})
	})
	if err != nil {
		return Decision{}, err
	}
	return s.Decision(ctx, id)
}

// decisionExtras adds a decision's milestones and ratings: comments for
// workers, the reader's own stars for a resident.
func (s *Store) decisionExtras(ctx context.Context, d *Decision) error {
	now := today(s.Now())
	ms, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Milestone, error) {
		var m Milestone
		var at sql.Null[db.Time]
		err := r.Scan(&m.Seq, &m.Title, &m.Due, &m.Done, &at)
		if at.Valid {
			t := at.V.Time
			m.DoneAt = &t
		}
		m.Overdue = !m.Done && m.Due < now
		return m, err
	}, `SELECT seq, title, due, done, done_at FROM dlb_milestones WHERE decision_id = $1 ORDER BY due, seq`, d.ID)
	if err != nil {
		return err
	}
	d.Milestones = ms
	for _, m := range ms {
		if m.Overdue {
			d.Overdue++
		}
	}
	rs, err := s.ratings(ctx, []string{d.ID})
	if err != nil {
		return err
	}
	r := rs[d.ID]
	p := access.From(ctx)
	if worker(p) {
		if r.Comments, err = db.Collect(ctx, s.DB.R, func(sc db.Scanner) (RatingComment, error) {
			var c RatingComment
			var at db.Time
			err := sc.Scan(&c.Stars, &c.Comment, &at)
			c.At = at.Time
			return c, err
		}, `SELECT stars, comment, at FROM dlb_ratings WHERE decision_id = $1 AND comment <> '' ORDER BY at DESC LIMIT 100`, d.ID); err != nil {
			return err
		}
	} else if p != nil && p.Role == access.Resident {
		if hh, _, err := s.household(ctx, p); err == nil {
			if err := s.DB.R.QueryRowContext(ctx, `SELECT COALESCE(MAX(stars), 0) FROM dlb_ratings WHERE decision_id = $1 AND household_id = $2`, d.ID, hh).Scan(&r.Mine); err != nil {
				return err
			}
		}
	}
	d.Rating = r
	return nil
}

// boardExtras adds each decision's rating and overdue milestones to a
// page of the board in two queries.
func (s *Store) boardExtras(ctx context.Context, ds []Decision) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	rs, err := s.ratings(ctx, ids)
	if err != nil {
		return err
	}
	marks, args := s.in(ids, 2)
	overdue := map[string]int{}
	err = db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var id string
		var n int
		if err := r.Scan(&id, &n); err != nil {
			return err
		}
		overdue[id] = n
		return nil
	}, `SELECT decision_id, COUNT(*) FROM dlb_milestones WHERE done = FALSE AND due < $1 AND decision_id IN (`+marks+`) GROUP BY decision_id`,
		append([]any{today(s.Now())}, args...)...)
	if err != nil {
		return err
	}
	for i := range ds {
		if r, ok := rs[ds[i].ID]; ok && r.Count > 0 {
			ds[i].Rating = r
		}
		ds[i].Overdue = overdue[ds[i].ID]
	}
	return nil
}

// ratings counts and averages the ratings of some decisions.
func (s *Store) ratings(ctx context.Context, ids []string) (map[string]*Ratings, error) {
	out := map[string]*Ratings{}
	for _, id := range ids {
		out[id] = &Ratings{}
	}
	marks, args := s.in(ids, 1)
	err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var id string
		var n, sum int
		if err := r.Scan(&id, &n, &sum); err != nil {
			return err
		}
		out[id].Count = n
		if n > 0 {
			out[id].Average = math.Round(float64(sum)*10/float64(n)) / 10
		}
		return nil
	}, `SELECT decision_id, COUNT(*), SUM(stars) FROM dlb_ratings WHERE decision_id IN (`+marks+`) GROUP BY decision_id`, args...)
	return out, err
}

// in is the placeholders $n, $n+1 … for values and the values as
// arguments.
func (s *Store) in(values []string, n int) (string, []any) {
	marks := make([]string, len(values))
	args := make([]any, len(values))
	for i, v := range values {
		marks[i] = fmt.Sprintf("$%d", n+i)
		args[i] = v
	}
	return strings.Join(marks, ","), args
}

// Stars is a rating's average as whole stars for the page (★★★★☆).
func (r Ratings) Stars() string {
	n := int(math.Round(r.Average))
	return strings.Repeat("★", n) + strings.Repeat("☆", 5-n)
}
