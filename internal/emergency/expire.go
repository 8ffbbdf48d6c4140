package emergency

import (
	"context"
	"database/sql"
	"time"

	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// StateExpired is the state of an incident's message in force once its
// CAP expires time has passed without a Cancel: check-ins close, the
// 工作台 and 我的 stop showing it, and the incident may be reviewed.
const StateExpired = "expired"

// expired tells whether the message a is past its expiry at now.
func (a Alert) expired(now time.Time) bool {
	return a.State == StateExpired || !a.Expires.IsZero() && !a.Expires.After(now)
}

// errExpired refuses what only a warning in force allows.
var errExpired = fault.Conflict(fault.M("该预警已过失效时间，不再登记报平安；如仍有险情请重新发布预警",
	"the warning has expired; check-ins are closed — issue a new warning if the danger remains"))

// ExpireDue marks every message in force whose expiry has passed as
// expired, each with an audit entry, and says how many it marked. The
// readers already treat such a message as ended; this makes the state
// (and so the 工作台's and 我的's queries, which select by state) agree.
func (s *Store) ExpireDue(ctx context.Context) (int, error) {
	now := s.Now()
	type due struct{ id, division string }
	rows, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (due, error) {
		var d due
		return d, r.Scan(&d.id, &d.division)
	}, `SELECT x.id, COALESCE((SELECT MIN(a.division_code) FROM em_alert_areas a WHERE a.alert_id = x.id), '')
		FROM em_alerts x WHERE x.state = 'active' AND x.msg_type <> 'Cancel' AND x.expires IS NOT NULL AND x.expires <= $1
		ORDER BY x.expires LIMIT 500`, db.T(now))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range rows {
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			r, err := tx.ExecContext(ctx, `UPDATE em_alerts SET state = $1 WHERE id = $2 AND state = $3`, StateExpired, d.id, StateActive)
			if err != nil {
				return err
			}
			if k, err := r.RowsAffected(); err != nil || k != 1 {
				return err // nil: an Update, a Cancel or another runner came first
			}
			n++
			return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.alert.expire", Object: "alert", ObjectID: d.id, Division: d.division,
				Detail: audit.Detail(map[string]any{"at": now})})
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Run marks expired warnings every minute until ctx ends.
func (m *emergencyModule) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if n, err := m.store.ExpireDue(ctx); err != nil && ctx.Err() == nil {
			m.store.log().Error("emergency: expiring warnings", "err", err.Error())
		} else if n > 0 {
			m.store.log().Info("emergency: warnings expired", "alerts", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
