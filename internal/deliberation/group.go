package deliberation

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"linli/internal/audit"
	"linli/internal/db"
)

// castGroup commits the ballots that arrive while one group is being
// written together, in the next transaction: each in its own savepoint
// (one refused rolls back alone), their audit entries appended with one
// lock and one read of the chain's head, and one commit for all. The
// audit chain is a line — on PostgreSQL an advisory lock held to the
// commit — and so is a vote (its row is held to the commit), so one
// commit per ballot caps a township's vote at the disk's flushes per
// second (a commit took 6–15 ms on the shared test machine, below the 84
// ballots a second of 50,000 households in ten minutes); a group pays one
// flush for as many as came meanwhile. A ballot returns once its group
// has committed, with its own result. (The emergency module's check-in
// group does the same.)
type castGroup struct {
	mu      sync.Mutex
	queue   []*queuedCast
	writing bool
}

type queuedCast struct {
	ctx   context.Context
	apply func(ctx context.Context, tx *sql.Tx) ([]audit.Item, error)
	err   error
	lead  bool
	wake  chan struct{}
}

// run applies one ballot in the next group and returns its error (its
// own, or the group's commit's).
func (g *castGroup) run(ctx context.Context, d *db.DB, log *audit.Log, apply func(ctx context.Context, tx *sql.Tx) ([]audit.Item, error)) error {
	me := &queuedCast{ctx: ctx, apply: apply, wake: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, me)
	if g.writing {
		g.mu.Unlock()
		<-me.wake
		if !me.lead {
			return me.err
		}
		g.mu.Lock()
	}
	g.writing = true
	group := g.queue
	g.queue = nil
	g.mu.Unlock()

	var commitErr error = errors.New("deliberation: the ballot group was not written")
	defer func() { // even on a panic: those waiting must not wait forever
		g.mu.Lock()
		if len(g.queue) > 0 { // the first who waited writes the next group
			g.queue[0].lead = true
			close(g.queue[0].wake)
		} else {
			g.writing = false
		}
		g.mu.Unlock()
		for _, q := range group {
			if q.err == nil {
				q.err = commitErr
			}
			if q != me {
				close(q.wake)
			}
		}
	}()
	// The group is written even if the request that leads it has gone:
	// the others' ballots are in it.
	gctx := context.WithoutCancel(ctx)
	commitErr = d.Tx(gctx, func(tx *sql.Tx) error {
		var items []audit.Item
		for _, q := range group {
			if _, err := tx.ExecContext(gctx, `SAVEPOINT ballot`); err != nil {
				return err
			}
			got, err := q.apply(context.WithoutCancel(q.ctx), tx)
			if err != nil {
				q.err = err
				if _, err := tx.ExecContext(gctx, `ROLLBACK TO SAVEPOINT ballot`); err != nil {
					return err
				}
			} else {
				items = append(items, got...)
			}
			if _, err := tx.ExecContext(gctx, `RELEASE SAVEPOINT ballot`); err != nil {
				return err
			}
		}
		return log.RecordAllTx(gctx, tx, items)
	})
	if commitErr != nil {
		for _, q := range group {
			if q.err == nil {
				q.err = commitErr // what it wrote is gone with the group
			}
		}
	}
	return me.err
}
