package projects

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
)

// Evaluation grades, from the score out of 100.
const (
	Excellent = "excellent" // 优秀, 90 and above
	Good      = "good"      // 良好, 80 to below 90
	Pass      = "pass"      // 合格, 60 to below 80
	Fail      = "fail"      // 不合格, below 60
)

// GradeOf is the grade of a score × 100 (0–10000): the usual bands of
// government purchased-service performance evaluations.
func GradeOf(scoreX100 int) string {
	switch {
	case scoreX100 >= 9000:
		return Excellent
	case scoreX100 >= 8000:
		return Good
	case scoreX100 >= 6000:
		return Pass
	}
	return Fail
}

// Evaluation is a completed project's final evaluation.
type Evaluation struct {
	ProjectID string    `json:"project_id"`
	Project   string    `json:"project_title,omitempty"`
	OrgID     string    `json:"org_id"`
	OrgName   string    `json:"org_name"`
	Score     int       `json:"score_x100"`       // 0–10000
	Grade     string    `json:"grade"`            // excellent, good, pass or fail
	Scores    []int     `json:"scores,omitempty"` // per criterion when scored so
	Comment   string    `json:"comment"`
	CreatedAt time.Time `json:"created_at"`
}

// EvaluateInput is a final evaluation: a score 0–100 per published
// criterion (in order), or an overall score when no criterion is scored.
type EvaluateInput struct {
	Scores  []int  `json:"scores,omitempty"`
	Score   *int   `json:"score,omitempty"`
	Comment string `json:"comment"`
}

// Record is an organisation's record of evaluated projects.
type Record struct {
	OrgID       string       `json:"org_id"`
	OrgName     string       `json:"org_name"`
	Count       int          `json:"count"`
	Average     int          `json:"average_x100"` // the evaluations' average score × 100, rounded half up
	Evaluations []Evaluation `json:"evaluations,omitempty"`
}

// Evaluate records the final evaluation of a completed project (every
// milestone paid), once, by an officer who manages it.
func (s *Store) Evaluate(ctx context.Context, projectID string, in EvaluateInput) (Evaluation, error) {
	var ev Evaluation
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		pr, err := s.managed(ctx, tx, projectID)
		if err != nil {
			return err
		}
		if pr.Status != Completed {
			return fault.Conflict(fault.M("全部节点拨付、项目完成后才能做结项评估", "a project is evaluated once every milestone is paid"))
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM proj_evaluations WHERE project_id = $1`, projectID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fault.Conflict(fault.M("本项目已做过结项评估", "the project has been evaluated already"))
		}
		weights, err := db.Collect(ctx, tx, db.Value[int], `SELECT weight FROM proj_criteria WHERE project_id = $1 ORDER BY seq`, projectID)
		if err != nil {
			return err
		}
		var errs []fault.FieldError
		score := 0
		switch {
		case len(in.Scores) > 0:
			if len(in.Scores) != len(weights) {
				errs = append(errs, *bad("scores", fmt.Sprintf("请为全部 %d 项评分标准打分，或只填总分", len(weights)), fmt.Sprintf("score all %d criteria, or give an overall score", len(weights))))
				break
			}
			for i, sc := range in.Scores {
				if sc < 0 || sc > 100 {
					errs = append(errs, *bad("scores."+strconv.Itoa(i), "分数应为 0–100 的整数", "a score is a whole number from 0 to 100"))
				}
				score += sc * weights[i]
			}
		case in.Score != nil && *in.Score >= 0 && *in.Score <= 100:
			score = *in.Score * 100
		default:
			errs = append(errs, *bad("score", "请填写 0–100 的总分，或按评分标准逐项打分", "give an overall score from 0 to 100, or score each criterion"))
		}
		in.Comment = strings.TrimSpace(in.Comment)
		if in.Comment == "" || utf8.RuneCountInString(in.Comment) > 2000 {
			errs = append(errs, *bad("comment", "请填写评估意见（2000 字以内）", "give the evaluation's comment (at most 2000 characters)"))
		}
		if len(errs) > 0 {
			return invalid(errs...)
		}
		c, err := s.contract(ctx, tx, projectID)
		if err != nil {
			return err
		}
		var parts []string
		for _, sc := range in.Scores {
			parts = append(parts, strconv.Itoa(sc))
		}
		t := s.Now()
		ev = Evaluation{ProjectID: pr.ID, Project: pr.Title, OrgID: c.OrgID, OrgName: c.OrgName, Score: score, Grade: GradeOf(score), Scores: in.Scores, Comment: in.Comment, CreatedAt: t}
		if _, err := tx.ExecContext(ctx, `INSERT INTO proj_evaluations (project_id, org_id, org_name, score_x100, grade, scores, comment, evaluated_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
			ev.ProjectID, ev.OrgID, ev.OrgName, ev.Score, ev.Grade, strings.Join(parts, ","), ev.Comment, access.From(ctx).Username, db.T(t)); err != nil {
			return err
		}
		return s.record(ctx, tx, "projects.evaluate", "proj_evaluations", pr.ID, pr.Division, ev.OrgName+" "+ScoreText(score)+" "+ev.Grade)
	})
	return ev, err
}

const evalCols = `e.project_id, x.title, e.org_id, e.org_name, e.score_x100, e.grade, e.scores, e.comment, e.created_at`

func scanEvaluation(r db.Scanner) (Evaluation, error) {
	var ev Evaluation
	var scores string
	var at db.Time
	err := r.Scan(&ev.ProjectID, &ev.Project, &ev.OrgID, &ev.OrgName, &ev.Score, &ev.Grade, &scores, &ev.Comment, &at)
	for _, f := range strings.Split(scores, ",") {
		if n, err := strconv.Atoi(f); err == nil {
			ev.Scores = append(ev.Scores, n)
		}
	}
	ev.CreatedAt = at.Time
	return ev, err
}

// evaluation reads a project's evaluation (nil before it is made).
func (s *Store) evaluation(ctx context.Context, q querier, projectID string) (*Evaluation, error) {
	ev, err := scanEvaluation(q.QueryRowContext(ctx, `SELECT `+evalCols+` FROM proj_evaluations e JOIN proj_projects x ON x.id = e.project_id WHERE e.project_id = $1`, projectID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &ev, err
}

// records reads the evaluation count and average of organisations, by id
// (all their evaluated projects, wherever they were: a record follows the
// organisation).
func (s *Store) records(ctx context.Context, orgIDs []string) (map[string]Record, error) {
	out := map[string]Record{}
	if len(orgIDs) == 0 {
		return out, nil
	}
	marks := make([]string, len(orgIDs))
	args := make([]any, len(orgIDs))
	for i, id := range orgIDs {
		marks[i], args[i] = "$"+strconv.Itoa(i+1), id
	}
	rows, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Record, error) {
		var rc Record
		var sum int64
		err := r.Scan(&rc.OrgID, &rc.OrgName, &rc.Count, &sum)
		if rc.Count > 0 {
			rc.Average = int((2*sum + int64(rc.Count)) / (2 * int64(rc.Count)))
		}
		return rc, err
	}, `SELECT org_id, MAX(org_name), COUNT(*), SUM(score_x100) FROM proj_evaluations WHERE org_id IN (`+strings.Join(marks, ",")+`) GROUP BY org_id`, args...)
	if err != nil {
		return nil, err
	}
	for _, rc := range rows {
		out[rc.OrgID] = rc
	}
	return out, nil
}

// Records lists, for an officer, the organisations holding contracts of
// projects in their area with their evaluation count and average; for a
// provider, its own organisation's record with each evaluation.
func (s *Store) Records(ctx context.Context) ([]Record, error) {
	p := access.From(ctx)
	var ids []string
	var err error
	switch {
	case p != nil && p.Role == access.Officer:
		sc := access.Subtree(p.Division)
		ids, err = db.Collect(ctx, s.DB.R, db.Value[string], `SELECT DISTINCT c.org_id FROM proj_contracts c JOIN proj_projects x ON x.id = c.project_id
WHERE x.division_code >= $1 AND x.division_code < $2 ORDER BY c.org_id LIMIT 200`, sc.Lo, sc.Hi)
	case p != nil && p.Role == access.Provider:
		org, oerr := s.orgOf(ctx, p)
		if oerr != nil {
			return nil, oerr
		}
		ids = []string{org.ID}
	default:
		return nil, errRoles
	}
	if err != nil {
		return nil, err
	}
	recs, err := s.records(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := []Record{}
	for _, id := range ids {
		rc, ok := recs[id]
		if !ok {
			continue // no project evaluated yet
		}
		if p.Role == access.Provider {
			if rc.Evaluations, err = db.Collect(ctx, s.DB.R, scanEvaluation, `SELECT `+evalCols+` FROM proj_evaluations e JOIN proj_projects x ON x.id = e.project_id
WHERE e.org_id = $1 ORDER BY e.created_at DESC LIMIT 100`, id); err != nil {
				return nil, err
			}
		}
		out = append(out, rc)
	}
	return out, nil
}

// ScoreText writes a score × 100 with two decimals.
func ScoreText(x100 int) string { return fmt.Sprintf("%d.%02d", x100/100, x100%100) }
