package emergency

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
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

// tallyMoves are the changes to the counts that check-ins make, summed,
// so that a group of them writes each row once: PostgreSQL keeps every
// version of a row updated within one transaction, and a group that
// moved one community's "pending" row for each of its hundreds of
// check-ins would walk an ever longer chain of them.
type tallyMoves map[tallyKey]int

type tallyKey struct{ incident, division, kind, status string }

// move counts one check moving from its status to another.
func (m tallyMoves) move(c Check, to string) {
	m[tallyKey{c.IncidentID, c.Division, c.Kind, c.Status}]--
	m[tallyKey{c.IncidentID, c.Division, c.Kind, to}]++
}

// add sums other into m.
func (m tallyMoves) add(other tallyMoves) {
	for k, n := range other {
		m[k] += n
	}
}

// write applies the sums, the rows in key order — never one order by one
// writer and the reverse by another, which could deadlock — a new status's
// row made by its first check.
func (m tallyMoves) write(ctx context.Context, tx *sql.Tx) error {
	keys := make([]tallyKey, 0, len(m))
	for k, n := range m {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b tallyKey) int {
		return cmp.Or(cmp.Compare(a.incident, b.incident), cmp.Compare(a.division, b.division), cmp.Compare(a.kind, b.kind), cmp.Compare(a.status, b.status))
	})
	for _, k := range keys {
		// A status checks leave has its row; one they reach may not yet
		// (and an INSERT's CHECK (n >= 0) is tested before its conflict).
		q := `UPDATE em_tally SET n = n + $5 WHERE incident_id = $1 AND division_code = $2 AND kind = $3 AND status = $4`
		if m[k] > 0 {
			q = `INSERT INTO em_tally (incident_id, division_code, kind, status, n) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (incident_id, division_code, kind, status) DO UPDATE SET n = em_tally.n + excluded.n`
		}
		if _, err := tx.ExecContext(ctx, q, k.incident, k.division, k.kind, k.status, m[k]); err != nil {
			return err
		}
	}
	return nil
}
