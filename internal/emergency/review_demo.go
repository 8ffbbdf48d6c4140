package emergency

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"linli/internal/access"
	"linli/internal/db"
)

// demoReview writes the review of the demo's past warning the day after
// it was cancelled, with one finding for a community worker of the
// township (when there is one) and one for the officer.
func demoReview(ctx context.Context, s *Store, octx context.Context, alertID string, at time.Time, town string) error {
	st := *s
	st.Now = func() time.Time { return at }
	var worker string
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COALESCE(MIN(username), '') FROM users WHERE role = 'community_worker' AND NOT disabled AND division_code >= $1 AND division_code < $2`,
		access.Subtree(town).Lo, access.Subtree(town).Hi).Scan(&worker); err != nil {
		return err
	}
	due := at.AddDate(0, 0, 30).Format("2006-01-02")
	findings := []FindingInput{{Text: "为未结对的重点人员全部落实帮扶人", Owner: "demo.street", DueOn: due}}
	if worker != "" {
		findings = append(findings, FindingInput{Text: "补充社区应急仓库的瓶装饮用水", Owner: worker, DueOn: due})
	}
	_, err := st.WriteReview(octx, ReviewInput{AlertID: alertID,
		Happened: "暴雨橙色预警发布后，网格员和结对帮扶人逐户、逐人确认；少数住户转移至避难场所，个别重点人员一时联系不上。",
		Worked:   "结对帮扶人在 90 分钟内确认了绝大多数重点人员；避难场所在容量之内。",
		Failed:   "未结对的重点人员由网格员临时联系，耗时较长；部分物资低于最低库存。",
		Findings: findings})
	return err
}

// demoDrill leaves a drill (CAP status Exercise) of one community of the
// township ten days ago, over and not yet reviewed: a worker confirmed a
// few vulnerable residents during it.
func demoDrill(ctx context.Context, s *Store, octx context.Context, town string) error {
	var div, worker, role string
	err := s.DB.R.QueryRowContext(ctx, `SELECT division_code, username, role FROM users WHERE role IN ('grid_worker', 'community_worker') AND NOT disabled
		AND division_code >= $1 AND division_code < $2 AND length(division_code) = 12 ORDER BY role DESC, username LIMIT 1`,
		access.Subtree(town).Lo, access.Subtree(town).Hi).Scan(&div, &worker, &role)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	at := s.Now().AddDate(0, 0, -10).Truncate(time.Hour)
	past := *s
	past.Notices = nil
	past.Now = func() time.Time { return at }
	a, _, err := past.Issue(octx, AlertInput{Divisions: []string{div}, Status: "Exercise", Event: "台风", Category: "Met", ResponseType: "Prepare",
		Colour: "yellow", ResponseLevel: "IV", Headline: "台风防御演练", Description: "演练：模拟台风黄色预警，检验逐户、逐人确认和转移流程。",
		Instruction: "演练：请按平时约定向帮扶人报平安。"})
	if err != nil {
		return err
	}
	ids, err := db.Collect(ctx, s.DB.R, db.Value[int64], `SELECT id FROM em_checks WHERE incident_id = $1 AND kind = 'person' ORDER BY id LIMIT 3`, a.IncidentID)
	if err != nil {
		return err
	}
	wctx := access.With(ctx, &access.Principal{Username: worker, Role: access.Role(role), Division: div})
	for i, id := range ids {
		past.Now = func() time.Time { return at.Add(time.Duration(15+10*i) * time.Minute) }
		if _, err := past.Checkin(wctx, CheckinInput{AlertID: a.ID, CheckID: id, Status: StatusSafe}); err != nil {
			return err
		}
	}
	past.Now = func() time.Time { return at.Add(2 * time.Hour) }
	if _, err = past.Cancel(octx, a.ID, CancelInput{Note: "演练结束。"}); err != nil {
		return err
	}
	// The drill was on the schedule and is recorded held with that
	// exercise; the next one is scheduled a fortnight ahead.
	next := s.Now().AddDate(0, 0, 14).Truncate(time.Hour)
	for _, d := range []struct {
		title, state, incident string
		at                     time.Time
	}{{"台风防御演练", DrillHeld, a.IncidentID, at}, {"防汛转移演练", DrillScheduled, "", next}} {
		if _, err := s.DB.W.ExecContext(ctx, `INSERT INTO em_drills (id, division_code, title, hazard, starts_at, place, state, incident_id, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, 'typhoon', $4, '社区文化家园', $5, $6, 'demo', $7, $7)`, db.NewID(), div, d.title, db.T(d.at), d.state, d.incident, db.T(at.Add(-7*24*time.Hour))); err != nil {
			return err
		}
	}
	return nil
}
