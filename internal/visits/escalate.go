package visits

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
)

// The supervision migration adds the overdue clock's own marks to the
// visits and the indexes the supervision pages and the clock read by.
// warned_at: the owner was told the visit is overdue; escalated_to: the
// level the visit was escalated to ("community" its community's workers,
// "township" the township's officers) when escalated_at was set.
// vis_visits_overdue serves the overdue lists (open visits of a subtree by
// due date); vis_visits_supervision holds every column the completion
// figures read, so a township's month is read from the index alone; the
// two partial indexes keep the clock's scan to the visits
// it still has to act on, however many stay open after escalation.
const supervisionSQL = `
ALTER TABLE vis_visits ADD COLUMN warned_at TIMESTAMPTZ;
ALTER TABLE vis_visits ADD COLUMN escalated_to TEXT NOT NULL DEFAULT '';
CREATE INDEX vis_visits_overdue ON vis_visits (status, division_code, due_date);
CREATE INDEX vis_visits_to_warn ON vis_visits (status, due_date) WHERE status = 'open' AND warned_at IS NULL;
CREATE INDEX vis_visits_to_escalate ON vis_visits (status, due_date) WHERE status = 'open' AND escalated_at IS NULL;
CREATE INDEX vis_visits_escalated ON vis_visits (escalated_to, division_code, escalated_at);
CREATE INDEX vis_visits_supervision ON vis_visits (month, division_code, programme_id, subject_id, status, owner, grid_id, due_date, risk);
`

var supervisionMigrations = []db.Migration{
	{ID: "visits/004_supervision", SQL: supervisionSQL},
	{ID: "visits/005_list_indexes", SQL: listIndexSQL},
}

// migrations are the module's schema steps: the visits' own, then the
// supervision's.
func migrations() []db.Migration {
	return append(slices.Clone(Migrations), supervisionMigrations...)
}

// EscalateAfterDays is how long an overdue visit stays with its owner
// (who is warned the day after it fell due) before it is escalated.
const EscalateAfterDays = 3

// Levels a visit is escalated to.
const (
	LevelCommunity = "community" // the community's workers, over a grid worker
	LevelTownship  = "township"  // the township's officers, over a community worker
)

// EscalationResult counts what one run of the overdue clock did.
type EscalationResult struct {
	Warned, Escalated int
}

type overdueVisit struct {
	id                 int64
	division, owner    string
	due, role, ownerID string
	programme          string
	name, address      string
}

// RunEscalationOnce warns the owners of overdue visits and escalates those
// overdue for EscalateAfterDays one level up, each exactly once. Like the
// requests' clock it is safe to run in several processes at once: every
// step is a conditional update (warned_at IS NULL, escalated_at IS NULL),
// so only one runner wins it and only the winner audits and notifies; the
// notices carry a key, so a notifier never tells twice either.
func (s *Store) RunEscalationOnce(ctx context.Context, now time.Time) (EscalationResult, error) {
	var res EscalationResult
	today := day(now.In(cstZone()))
	escalateBefore := day(now.In(cstZone()).AddDate(0, 0, -EscalateAfterDays))
	for {
		batch, err := s.overdueBatch(ctx, `v.status = 'open' AND v.escalated_at IS NULL AND v.due_date < $1`, escalateBefore)
		if err != nil || len(batch) == 0 {
			if err != nil {
				return res, err
			}
			break
		}
		for _, v := range batch {
			ok, err := s.escalate(ctx, v, now)
			if err != nil {
				return res, err
			}
			if ok {
				res.Escalated++
			}
		}
		if len(batch) < overdueBatchSize {
			break
		}
	}
	for {
		batch, err := s.overdueBatch(ctx, `v.status = 'open' AND v.warned_at IS NULL AND v.due_date < $1`, today)
		if err != nil || len(batch) == 0 {
			if err != nil {
				return res, err
			}
			break
		}
		for _, v := range batch {
			ok, err := s.warn(ctx, v, now)
			if err != nil {
				return res, err
			}
			if ok {
				res.Warned++
			}
		}
		if len(batch) < overdueBatchSize {
			break
		}
	}
	return res, nil
}

const overdueBatchSize = 500

// overdueBatch reads the next visits the clock has to act on; cond
// matches one of the partial indexes.
func (s *Store) overdueBatch(ctx context.Context, cond, before string) ([]overdueVisit, error) {
	return db.Collect(ctx, s.DB.R, func(row db.Scanner) (overdueVisit, error) {
		var v overdueVisit
		err := row.Scan(&v.id, &v.division, &v.owner, &v.due, &v.role, &v.ownerID, &v.programme, &v.name, &v.address)
		return v, err
	}, `SELECT v.id, v.division_code, v.owner, v.due_date, COALESCE(u.role, ''), COALESCE(u.id, ''), p.name_zh,
		COALESCE(r.name, ''), COALESCE(h.address, '')
		FROM vis_visits v JOIN vis_programmes p ON p.id = v.programme_id
		LEFT JOIN users u ON u.username = v.owner AND v.owner <> '' AND NOT u.disabled
		LEFT JOIN reg_residents r ON r.id = v.resident_id LEFT JOIN reg_households h ON h.id = v.household_id
		WHERE `+cond+fmt.Sprintf(` ORDER BY v.due_date, v.id LIMIT %d`, overdueBatchSize), before)
}

// whose is how a notice names the visit's subject: masked, as lists do.
func (v overdueVisit) whose() string {
	if v.name != "" {
		return MaskName(v.name)
	}
	return MaskAddress(v.address)
}

// warn tells the owner their visit is overdue, once.
func (s *Store) warn(ctx context.Context, v overdueVisit, now time.Time) (bool, error) {
	won := false
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE vis_visits SET warned_at = $1 WHERE id = $2 AND status = 'open' AND warned_at IS NULL`, db.T(now), v.id)
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil || n != 1 {
			return err // nil: another runner warned first, or the visit was recorded
		}
		won = true
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Actor: "system", Role: "system", Action: "visits.visit.overdue", Object: "visit", ObjectID: fmt.Sprint(v.id), Division: v.division,
			Detail: audit.Detail(map[string]string{"owner": v.owner, "due": v.due})})
	})
	if err != nil || !won {
		return false, err
	}
	if v.ownerID != "" {
		s.notify(ctx, module.Notice{UserID: v.ownerID, Kind: "visit.overdue", Key: fmt.Sprintf("visit.overdue:%d", v.id),
			Title: fault.M("探访已逾期："+v.programme, "A visit is overdue"),
			Body: fault.M(fmt.Sprintf("%s 的探访应于 %s 前完成，请尽快入户；%d 天后将上报。", v.whose(), v.due, EscalateAfterDays),
				fmt.Sprintf("The visit to %s was due by %s; it is escalated in %d days.", v.whose(), v.due, EscalateAfterDays)),
			Href: fmt.Sprintf("/visits/%d", v.id)})
	}
	return true, nil
}

// escalate raises an overdue visit one level, once: a grid worker's to
// the community's workers, a community worker's (or an ownerless one) to
// the township's officers.
func (s *Store) escalate(ctx context.Context, v overdueVisit, now time.Time) (bool, error) {
	level := LevelTownship
	if v.role == string(access.GridWorker) {
		level = LevelCommunity
	}
	won := false
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE vis_visits SET escalated_at = $1, escalated_to = $2, warned_at = COALESCE(warned_at, $1)
			WHERE id = $3 AND status = 'open' AND escalated_at IS NULL`, db.T(now), level, v.id)
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil || n != 1 {
			return err // nil: another runner escalated first, or the visit was recorded
		}
		won = true
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Actor: "system", Role: "system", Action: "visits.visit.escalate", Object: "visit", ObjectID: fmt.Sprint(v.id), Division: v.division,
			Detail: audit.Detail(map[string]string{"owner": v.owner, "due": v.due, "to": level})})
	})
	if err != nil || !won {
		return false, err
	}
	if s.Notices == nil {
		return true, nil
	}
	for _, id := range s.escalationAudience(ctx, v.division, level) {
		s.notify(ctx, module.Notice{UserID: id, Kind: "visit.escalated", Key: fmt.Sprintf("visit.escalated:%d", v.id),
			Title: fault.M("逾期探访督办："+v.programme, "An overdue visit is escalated to you"),
			Body: fault.M(fmt.Sprintf("%s 的探访应于 %s 前完成，负责人 %s 逾期 %d 天未探访。", v.whose(), v.due, ownerName(v.owner), EscalateAfterDays),
				fmt.Sprintf("The visit to %s was due by %s; its owner %s is %d days late.", v.whose(), v.due, ownerName(v.owner), EscalateAfterDays)),
			Href: "/visits/overdue?escalated=1"})
	}
	return true, nil
}

func ownerName(owner string) string {
	if owner == "" {
		return "（未分配 / unassigned）"
	}
	return owner
}

// escalationAudience are the accounts a visit escalated to level is
// shown to: the community's workers, or the township's officers (the
// county's when the township has none).
func (s *Store) escalationAudience(ctx context.Context, community, level string) []string {
	q := func(role, division string) []string {
		ids, err := db.Collect(ctx, s.DB.R, func(row db.Scanner) (string, error) {
			var id string
			return id, row.Scan(&id)
		}, `SELECT id FROM users WHERE role = $1 AND division_code = $2 AND NOT disabled ORDER BY username`, role, division)
		if err != nil {
			s.supLog().Warn("visits: escalation audience", "err", err.Error())
		}
		return ids
	}
	if level == LevelCommunity {
		return q(string(access.CommunityWorker), community)
	}
	if len(community) < 9 {
		return nil
	}
	if ids := q(string(access.Officer), community[:9]); len(ids) > 0 {
		return ids
	}
	return q(string(access.Officer), community[:6])
}

// notify hands a notice to the deployment's notifier, best effort: the
// audit entry and the visit's marks are the durable record.
func (s *Store) notify(ctx context.Context, n module.Notice) {
	if s.Notices == nil {
		return
	}
	if err := s.Notices.Notify(ctx, n); err != nil {
		s.supLog().Warn("visits: notice not delivered", "kind", n.Kind, "key", n.Key, "err", err.Error())
	}
}

func (s *Store) supLog() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// RunEscalation runs the overdue clock at once and then every interval
// until ctx ends; first (if set) is called when the first run has ended.
func (s *Store) RunEscalation(ctx context.Context, every time.Duration, first func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if res, err := s.RunEscalationOnce(ctx, s.Now()); err != nil && ctx.Err() == nil {
			s.supLog().Warn("visits: overdue clock", "err", err.Error())
		} else if res.Warned+res.Escalated > 0 && s.Log != nil {
			s.Log.Info("visits: overdue clock", "warned", res.Warned, "escalated", res.Escalated)
		}
		if first != nil {
			first()
			first = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// EscalatedWork are the escalated visits waiting for p at the next level,
// as 工作台 items (kind "visit.escalated"): a community worker's
// community's visits escalated over its grid workers, an officer's
// subtree's visits escalated to the township; the most overdue first.
func (s *Store) EscalatedWork(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	var level string
	switch {
	case p == nil || limit <= 0:
		return nil, nil
	case p.Role == access.CommunityWorker:
		level = LevelCommunity
	case p.Role == access.Officer:
		level = LevelTownship
	default:
		return nil, nil
	}
	sc := access.BusinessScope(p)
	vs, err := db.Collect(ctx, s.DB.R, scanListed, `SELECT `+visitCols+visitFrom+`
		WHERE v.escalated_to = $1 AND v.division_code >= $2 AND v.division_code < $3 AND v.status = 'open'
		ORDER BY v.due_date, v.id LIMIT `+fmt.Sprint(limit), level, sc.Lo, sc.Hi)
	if err != nil {
		return nil, err
	}
	out := make([]module.WorkItem, 0, len(vs))
	for _, v := range vs {
		due, _ := time.ParseInLocation("2006-01-02", v.Due, cstZone())
		out = append(out, module.WorkItem{Module: "visits", Kind: "visit.escalated", KindName: fault.M("逾期探访督办", "Escalated overdue visits"),
			Title: fault.M("逾期未探访（负责人 "+ownerName(v.Owner)+"）", "Overdue visit (owner "+ownerName(v.Owner)+")"),
			Whose: v.Whose, Href: fmt.Sprintf("/visits/%d", v.ID), Due: due.AddDate(0, 0, 1), Urgent: true})
	}
	return out, nil
}
