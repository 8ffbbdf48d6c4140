package emergency

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/module"
)

// Demo pairs a handful of vulnerable residents with a worker in every
// community that has a worker's account, and leaves one past warning (a
// township's orange rainstorm warning, three days ago, since cancelled)
// with its check-ins: most households safe, some moved to a shelter, a
// few needing help or unreachable. The check-ins are written in bulk, so
// the county scale takes seconds.
func (m *emergencyModule) Demo(ctx context.Context, o module.DemoOptions) error {
	county := o.County
	if county == "" {
		county = "330106"
	}
	if err := Demo(ctx, m.store, county); err != nil {
		return err
	}
	return demoHazards(ctx, m.store, county)
}

// Demo is the demo data of one county (see emergencyModule.Demo).
func Demo(ctx context.Context, s *Store, county string) error {
	sc := access.Subtree(county)
	type worker struct{ name, div string }
	workers, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (worker, error) {
		var w worker
		return w, r.Scan(&w.name, &w.div)
	}, `SELECT username, division_code FROM users WHERE role IN ('grid_worker', 'community_worker') AND NOT disabled AND division_code >= $1 AND division_code < $2 ORDER BY role DESC, username`, sc.Lo, sc.Hi)
	if err != nil {
		return err
	}
	helperOf := map[string]string{}
	for _, w := range workers {
		if helperOf[w.div] == "" {
			helperOf[w.div] = w.name
		}
	}
	now := s.Now()
	tags := "'" + strings.Join(VulnerableTags, "','") + "'"
	for div, helper := range helperOf {
		ids, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT DISTINCT t.resident_id FROM registry_person_tags t WHERE t.tag IN (`+tags+`) AND t.division_code = $1 AND t.active = TRUE ORDER BY t.resident_id LIMIT 5`, div)
		if err != nil {
			return err
		}
		kind := "grid_worker"
		for i, id := range ids {
			if i%2 == 1 {
				kind = "volunteer"
			}
			if _, err := s.DB.W.ExecContext(ctx, `INSERT INTO em_helpers (id, resident_id, division_code, helper, kind, note, reviewed_on, created_by, created_at, updated_at)
				VALUES ($1,$2,$3,$4,$5,'',$6,'demo',$7,$7) ON CONFLICT (resident_id) DO NOTHING`, db.NewID(), id, div, helper, kind, now.AddDate(0, -2, 0).Format("2006-01-02"), db.T(now)); err != nil {
				return err
			}
		}
	}
	// The community's worker manages its shelters.
	for div, worker := range helperOf {
		if _, err := s.DB.W.ExecContext(ctx, `INSERT INTO em_shelter_managers (facility_id, division_code, username, assigned_by, assigned_at)
			SELECT id, division_code, $1, 'demo', $2 FROM registry_facility_cards WHERE category = $3 AND status = 'open' AND division_code = $4
			ON CONFLICT (facility_id) DO NOTHING`, worker, db.T(now), ShelterCategory, div); err != nil {
			return err
		}
	}
	// Supplies in every community with a worker: one batch below its
	// minimum, one expiring within days, one in order.
	for div, worker := range helperOf {
		batches := []struct {
			name, unit, expires string
			qty, min            int
		}{
			{"救生衣", "件", "", 40, 30},
			{"瓶装饮用水", "箱", now.AddDate(0, 0, 20).Format("2006-01-02"), 12, 20},
			{"应急食品", "箱", now.AddDate(0, 7, 0).Format("2006-01-02"), 25, 10},
		}
		for _, b := range batches {
			id := db.NewID()
			if _, err := s.DB.W.ExecContext(ctx, `INSERT INTO em_stock (`+stockCols+`, created_by, created_at) VALUES ($1,$2,'社区应急仓库',$3,$4,$5,$6,$7,$8,$9,$8)
				ON CONFLICT (division_code, place, name, expires_on) DO NOTHING`, id, div, b.name, b.unit, b.qty, b.min, b.expires, db.T(now), worker); err != nil {
				return err
			}
			if _, err := s.DB.W.ExecContext(ctx, `INSERT INTO em_stock_moves (id, item_id, delta, reason, created_by, created_at)
				SELECT $1, id, quantity, '入库（登记）', $2, $3 FROM em_stock WHERE id = $4`, db.NewID(), worker, db.T(now), id); err != nil {
				return err
			}
		}
	}
	if err := demoPlanAndTeam(ctx, s); err != nil {
		return err
	}
	// The past warning, by the township officer of the demo.
	var town string
	err = s.DB.R.QueryRowContext(ctx, `SELECT division_code FROM users WHERE username = 'demo.street'`).Scan(&town)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !sc.Contains(town) {
		return nil
	}
	if err != nil {
		return err
	}
	past := *s
	at := now.Add(-72 * time.Hour).Truncate(time.Minute)
	past.Now = func() time.Time { return at }
	past.Notices = nil // long over: nobody is told now
	octx := access.With(ctx, &access.Principal{Username: "demo.street", Role: access.Officer, Division: town})
	a, _, err := past.Issue(octx, AlertInput{Divisions: []string{town}, Event: "暴雨", Category: "Met", ResponseType: "Prepare", Colour: "orange", ResponseLevel: "III",
		Onset: at.Add(time.Hour).In(time.UTC).Format(time.RFC3339), Expires: at.Add(30 * time.Hour).In(time.UTC).Format(time.RFC3339),
		Headline: "暴雨橙色预警", Description: "预计未来 24 小时内将出现 100 毫米以上降水，低洼地带可能积水。",
		Instruction: "请勿前往低洼地带和河道；独居、行动不便的居民请等候结对帮扶人联系，必要时转移至就近避难场所。"})
	if err != nil {
		return err
	}
	var shelter string
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COALESCE(MIN(id), '') FROM registry_facility_cards WHERE category = $1 AND status = 'open' AND division_code >= $2 AND division_code < $3`,
		ShelterCategory, access.Subtree(town).Lo, access.Subtree(town).Hi).Scan(&shelter); err != nil {
		return err
	}
	done := db.T(at.Add(90 * time.Minute))
	// By number: 1 in 40 needs help, 1 in 40 unreachable, 1 in 20 moved
	// to the shelter (when there is one), the rest safe.
	sets := []struct {
		cond, set string
		args      []any
	}{
		{`id % 40 = 0`, `status = 'needs_help', note = '需要协助转移'`, nil},
		{`id % 40 = 1`, `status = 'unreachable'`, nil},
	}
	if shelter != "" {
		sets = append(sets, struct {
			cond, set string
			args      []any
		}{`id % 20 = 2`, `status = 'evacuated', shelter_id = $4, people = CASE WHEN kind = 'person' THEN 1 ELSE 2 END`, []any{shelter}})
	}
	sets = append(sets, struct {
		cond, set string
		args      []any
	}{`TRUE`, `status = 'safe'`, nil})
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, x := range sets {
			if _, err := tx.ExecContext(ctx, `UPDATE em_checks SET `+x.set+`, updated_by = 'demo', updated_at = $1 WHERE incident_id = $2 AND status = $3 AND `+x.cond,
				append([]any{done, a.IncidentID, StatusPending}, x.args...)...); err != nil {
				return err
			}
		}
		return retally(ctx, tx, a.IncidentID)
	})
	if err != nil {
		return err
	}
	later := past
	end := at.Add(20 * time.Hour)
	later.Now = func() time.Time { return end }
	if _, err = later.Cancel(octx, a.ID, CancelInput{Note: "降雨已减弱，预警解除。"}); err != nil {
		return err
	}
	if err := demoReview(ctx, s, octx, a.ID, at.Add(44*time.Hour), town); err != nil {
		return err
	}
	return demoDrill(ctx, s, octx, town)
}
