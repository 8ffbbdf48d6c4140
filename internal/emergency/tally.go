package emergency

import (
	"context"
	"database/sql"
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
// status to another.
func tallyMove(ctx context.Context, tx *sql.Tx, c Check, to string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE em_tally SET n = n - 1 WHERE incident_id = $1 AND division_code = $2 AND kind = $3 AND status = $4`,
		c.IncidentID, c.Division, c.Kind, c.Status); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO em_tally (incident_id, division_code, kind, status, n) VALUES ($1, $2, $3, $4, 1)
		ON CONFLICT (incident_id, division_code, kind, status) DO UPDATE SET n = em_tally.n + 1`, c.IncidentID, c.Division, c.Kind, to)
	return err
}
