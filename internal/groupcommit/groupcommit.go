// Package groupcommit writes work that arrives while a transaction is
// being written together, in the next one: each piece in its own
// savepoint (one refused rolls back alone, with its own error), then one
// end step for the pieces that went in, and one commit for all. Where every
// write takes the same line — the audit chain's lock, a vote's row — one
// commit per piece caps a busy minute at the disk's flushes per second; a
// group pays one flush for as many as came meanwhile. Run returns once
// its group has committed, with its own piece's result.
package groupcommit

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"linli/internal/db"
)

// Group queues pieces of work whose results are of type T. Its zero value
// is ready; every caller of one Group passes the same end.
type Group[T any] struct {
	mu      sync.Mutex
	queue   []*waiter[T]
	writing bool
}

type waiter[T any] struct {
	ctx   context.Context
	apply func(ctx context.Context, tx *sql.Tx) (T, error)
	err   error
	lead  bool
	wake  chan struct{}
}

// Run applies apply in the next group's transaction and returns its error:
// its own, or the group's. end runs once per group, after every piece,
// with the results of those that went in (in arrival order).
func (g *Group[T]) Run(ctx context.Context, d *db.DB, apply func(ctx context.Context, tx *sql.Tx) (T, error),
	end func(ctx context.Context, tx *sql.Tx, done []T) error) error {
	me := &waiter[T]{ctx: ctx, apply: apply, wake: make(chan struct{})}
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

	commitErr := errors.New("groupcommit: the group was not written")
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
				q.err = commitErr // nil once committed
			}
			if q != me {
				close(q.wake)
			}
		}
	}()
	// The group is written even if the request that leads it has gone:
	// the others' work is in it.
	gctx := context.WithoutCancel(ctx)
	commitErr = d.Tx(gctx, func(tx *sql.Tx) error {
		var done []T
		for _, q := range group {
			if _, err := tx.ExecContext(gctx, `SAVEPOINT piece`); err != nil {
				return err
			}
			got, err := q.apply(context.WithoutCancel(q.ctx), tx)
			if err != nil {
				q.err = err
				if _, err := tx.ExecContext(gctx, `ROLLBACK TO SAVEPOINT piece`); err != nil {
					return err
				}
			} else {
				done = append(done, got)
			}
			if _, err := tx.ExecContext(gctx, `RELEASE SAVEPOINT piece`); err != nil {
				return err
			}
		}
		return end(gctx, tx, done)
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
