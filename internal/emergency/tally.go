package emergency

import (
	"context"
	"database/sql"
	"fmt"
)

// The board's counts are kept, not counted: em_tally holds, per incident,
// community, kind and status, how many checks are in that status. The
// targeting writes it from the checks it wrote, every check-in moves one
// from the old status to the new in the same transaction, and a merge or
// the demo writes it again from the checks. A county's board then reads a
// few thousand rows instead of grouping half a million on every refresh.
// Its list of who is still waiting walks em_checks_persons, which holds
// only the vulnerable residents' checks (a household's never use it).
const tallySQL = `
CREATE TABLE em_tally (
	incident_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	kind TEXT NOT NULL,
	status TEXT NOT NULL,
	n INTEGER NOT NULL CHECK (n >= 0),
	PRIMARY KEY (incident_id, division_code, kind, status)
);
INSERT INTO em_tally (incident_id, division_code, kind, status, n)
	SELECT incident_id, division_code, kind, status, COUNT(*) FROM em_checks GROUP BY incident_id, division_code, kind, status;
CREATE INDEX em_checks_persons ON em_checks (incident_id, status, division_code) WHERE kind = 'person';
`

// retally writes an incident's counts again from its checks.
func retally(ctx context.Context, tx *sql.Tx, incident string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM em_tally WHERE incident_id = $1`, incident); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO em_tally (incident_id, division_code, kind, status, n)
		SELECT incident_id, division_code, kind, status, COUNT(*) FROM em_checks WHERE incident_id = $1 GROUP BY incident_id, division_code, kind, status`, incident)
	return err
}

// tallyMove moves one check of c's incident, community and kind from its
// status to another in one statement: its two rows are locked in the
// index's order, never one order by one writer and the reverse by another
// (safe → needs help beside needs help → safe would deadlock).
func tallyMove(ctx context.Context, tx *sql.Tx, c Check, to string) error {
	// The first check to reach a status in a community makes its row;
	// DO NOTHING takes no lock on a row that is already there.
	if _, err := tx.ExecContext(ctx, `INSERT INTO em_tally (incident_id, division_code, kind, status, n) VALUES ($1, $2, $3, $4, 0)
		ON CONFLICT (incident_id, division_code, kind, status) DO NOTHING`, c.IncidentID, c.Division, c.Kind, to); err != nil {
		return err
	}
	r, err := tx.ExecContext(ctx, `UPDATE em_tally SET n = n + CASE WHEN status = $4 THEN -1 ELSE 1 END
		WHERE incident_id = $1 AND division_code = $2 AND kind = $3 AND status IN ($4, $5)`, c.IncidentID, c.Division, c.Kind, c.Status, to)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n != 2 {
		return fmt.Errorf("emergency: the counts of %s/%s/%s moved %d rows, not 2", c.IncidentID, c.Division, c.Kind, n)
	}
	return nil
}
