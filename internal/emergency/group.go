package emergency

import (
	"context"
	"database/sql"

	"linli/internal/audit"
	"linli/internal/groupcommit"
)

// checkinGroup commits the check-ins that arrive while one group is being
// written together (groupcommit): the audit chain is a line — on
// PostgreSQL an advisory lock held to the commit — so one commit per
// check-in would cap a warning's busiest minutes at the disk's flushes
// per second.
type checkinGroup = groupcommit.Group[checkinDone]

// checkinDone is what one check-in wrote: its moves of the board's counts
// and its audit entries, written for the whole group at its end.
type checkinDone struct {
	moves tallyMoves
	items []audit.Item
}

// applyCheckin is one check-in's writes inside a transaction.
type applyCheckin func(ctx context.Context, tx *sql.Tx, moves tallyMoves) ([]audit.Item, error)

// checkin writes one check-in: in the next group when the store groups
// them, else in a transaction of its own.
func (s *Store) checkin(ctx context.Context, apply applyCheckin) error {
	one := func(ctx context.Context, tx *sql.Tx) (checkinDone, error) {
		d := checkinDone{moves: tallyMoves{}}
		var err error
		d.items, err = apply(ctx, tx, d.moves)
		return d, err
	}
	if s.group == nil {
		return s.DB.Tx(ctx, func(tx *sql.Tx) error {
			d, err := one(ctx, tx)
			if err != nil {
				return err
			}
			return s.endCheckins(ctx, tx, []checkinDone{d})
		})
	}
	return s.group.Run(ctx, s.DB, one, s.endCheckins)
}

// endCheckins writes the checks-ins' moves of the counts, summed so that
// each row is updated once (PostgreSQL keeps every version of a row
// updated within a transaction), and appends their audit entries under
// one lock of the chain.
func (s *Store) endCheckins(ctx context.Context, tx *sql.Tx, done []checkinDone) error {
	moves := tallyMoves{}
	var items []audit.Item
	for _, d := range done {
		moves.add(d.moves)
		items = append(items, d.items...)
	}
	if err := moves.write(ctx, tx); err != nil {
		return err
	}
	return s.Audit.RecordAllTx(ctx, tx, items)
}
