package visits

import (
	"context"
	"fmt"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/module"
)

// Demo schedules last month and this month for the demo county and
// records visits in every state, in bulk (INSERT … SELECT and UPDATEs by
// visit number), so the county scale takes seconds: last month mostly
// done, a few not home with their retries, refusals and some left open
// (overdue); this month about half done, with high-risk findings, extra
// visits and assistance flags.
func (m *visitsModule) Demo(ctx context.Context, o module.DemoOptions) error {
	county := o.County
	if county == "" {
		county = "330106"
	}
	return Demo(ctx, m.store, county, o.Progress)
}

// Demo is the demo data of one county (see visitsModule.Demo).
func Demo(ctx context.Context, s *Store, county string, progress func(string, int, int)) error {
	now := s.Now()
	this := MonthOf(now)
	last := MonthOf(this.first().AddDate(0, -1, 0))
	sc := access.Subtree(county)
	for i, plan := range []struct {
		m         Month
		doneShare int // of 20
	}{{last, 17}, {this, 9}} {
		if progress != nil {
			progress("探访 / visits", i, 2)
		}
		if _, err := s.scheduleAt(ctx, plan.m, county, plan.m.first()); err != nil {
			return err
		}
		// Four visiting days spread over what has passed of the month.
		passed := now.Sub(plan.m.first())
		if plan.m != this {
			passed = plan.m.last().Sub(plan.m.first()) + 20*time.Hour
		}
		for b := range 4 {
			at := plan.m.first().Add(time.Duration(b+1) * passed / 5).Truncate(time.Hour).Add(10 * time.Hour)
			if at.After(now) {
				at = now.Add(-time.Hour)
			}
			args := []any{db.T(at), db.T(now), plan.m.String(), sc.Lo, sc.Hi, b}
			sets := []struct{ cond, set string }{
				{fmt.Sprintf("v.id %% 20 < %d", plan.doneShare), `status = 'done', risk = CASE WHEN id % 41 = 0 THEN 'high' WHEN id % 9 = 0 THEN 'attention' ELSE 'normal' END,
					answers = '{"living":"good","gas_safe":"yes","power_safe":"yes"}'`},
				{fmt.Sprintf("v.id %% 20 = %d", plan.doneShare), `status = 'not_home'`},
				{fmt.Sprintf("v.id %% 20 = %d", plan.doneShare+1), `status = 'refused', reason = '本人表示近期不便，改期再访'`},
			}
			for _, x := range sets {
				q := `UPDATE vis_visits SET ` + x.set + `, method = CASE WHEN id % 7 = 0 AND programme_id <> 'prog-children' THEN 'phone' ELSE 'home' END,
					visited_at = $1, present = '本人', recorded_by = owner, updated_at = $2
					WHERE id IN (SELECT v.id FROM vis_visits v WHERE v.month = $3 AND v.division_code >= $4 AND v.division_code < $5 AND v.status = 'open'
					AND v.origin = 's0' AND v.id % 4 = $6 AND ` + x.cond + `)`
				if _, err := s.DB.W.ExecContext(ctx, q, args...); err != nil {
					return fmt.Errorf("visits demo: %w", err)
				}
			}
		}
		// Retries after not home; extra visits and assistance after high risk.
		for _, q := range []string{
			`INSERT INTO vis_visits (programme_id, month, origin, subject_id, resident_id, household_id, division_code, grid_id, owner, due_date, status, parent_id, created_at, updated_at)
				SELECT v.programme_id, v.month, 'r:' || CAST(v.id AS TEXT), v.subject_id, v.resident_id, v.household_id, v.division_code, v.grid_id, v.owner, v.due_date, 'open', v.id, v.updated_at, v.updated_at
				FROM vis_visits v WHERE v.month = $1 AND v.division_code >= $2 AND v.division_code < $3 AND v.status = 'not_home'
				ON CONFLICT (programme_id, subject_id, month, origin) DO NOTHING`,
			`INSERT INTO vis_visits (programme_id, month, origin, subject_id, resident_id, household_id, division_code, grid_id, owner, due_date, status, parent_id, created_at, updated_at)
				SELECT v.programme_id, v.month, 'x:' || CAST(v.id AS TEXT), v.subject_id, v.resident_id, v.household_id, v.division_code, v.grid_id, v.owner, v.due_date, 'open', v.id, v.updated_at, v.updated_at
				FROM vis_visits v WHERE v.month = $1 AND v.division_code >= $2 AND v.division_code < $3 AND v.status = 'done' AND v.risk = 'high'
				ON CONFLICT (programme_id, subject_id, month, origin) DO NOTHING`,
			`INSERT INTO vis_risk (programme_id, subject_id, risk, updated_at)
				SELECT v.programme_id, v.subject_id, v.risk, v.updated_at FROM vis_visits v WHERE v.month = $1 AND v.division_code >= $2 AND v.division_code < $3 AND v.risk <> ''
				ON CONFLICT (programme_id, subject_id) DO NOTHING`,
			`INSERT INTO vis_assistance_flags (id, visit_id, resident_id, household_id, division_code, reason, status, created_by, created_at)
				SELECT 'demo-' || CAST(v.id AS TEXT), v.id, v.resident_id, v.household_id, v.division_code, '探访发现生活困难，建议评估救助', 'open', v.owner, v.updated_at
				FROM vis_visits v WHERE v.month = $1 AND v.division_code >= $2 AND v.division_code < $3 AND v.status = 'done' AND v.risk = 'high' AND v.id % 2 = 0
				AND NOT EXISTS (SELECT 1 FROM vis_assistance_flags f WHERE f.visit_id = v.id)`,
		} {
			if _, err := s.DB.W.ExecContext(ctx, q, plan.m.String(), sc.Lo, sc.Hi); err != nil {
				return fmt.Errorf("visits demo: %w", err)
			}
		}
	}
	if progress != nil {
		progress("探访 / visits", 2, 2)
	}
	return db.Analyze(ctx, s.DB, "vis_visits", "vis_risk")
}
