package db

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// ErrNoCopy is returned by CopyFrom when the connection cannot stream rows
// with COPY (a SQLite store); the caller writes them with INSERTs.
var ErrNoCopy = errors.New("db: COPY needs a PostgreSQL connection")

// CopyFrom streams rows into table with PostgreSQL's COPY on conn, inside
// whatever transaction conn has open (begun with conn.BeginTx): one round
// trip for any number of rows, no statement per batch. next is called until
// it returns false; values must be of the column's Go type (time.Time for
// TIMESTAMPTZ, nil for NULL).
func CopyFrom(ctx context.Context, conn *sql.Conn, table string, cols []string, next func() ([]any, bool)) (int64, error) {
	var n int64
	err := conn.Raw(func(dc any) error {
		if o, ok := dc.(*observedConn); ok {
			dc = o.inner
		}
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return ErrNoCopy
		}
		var err error
		n, err = pc.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, &copySource{next: next})
		return err
	})
	return n, err
}

// copySource adapts a row function to pgx.CopyFromSource.
type copySource struct {
	next func() ([]any, bool)
	row  []any
}

func (c *copySource) Next() bool {
	var ok bool
	c.row, ok = c.next()
	return ok
}

func (c *copySource) Values() ([]any, error) { return c.row, nil }

func (c *copySource) Err() error { return nil }
