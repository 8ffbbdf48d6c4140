package db

import (
	"context"
	"database/sql/driver"
)

// The SQLite driver compiles a statement's SQL each time it is run
// through the connection (Exec, Query): on a busy server that compiling
// was a third of the CPU (a profile of 500 check-ins a second). A
// connection of a SQLite pool therefore keeps the statements it has
// compiled, by their SQL, and runs them again; SQLite re-prepares one by
// itself when the schema changes. A statement whose rows are still open
// is not shared: a second use meanwhile compiles its own, closed after.

// stmtCacheSize is how many statements a connection keeps; the least
// recently used goes first.
const stmtCacheSize = 200

// dsnConnector is a driver's connector for one DSN.
type dsnConnector struct {
	drv driver.Driver
	dsn string
}

func (c dsnConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if dc, ok := c.drv.(driver.DriverContext); ok {
		conn, err := dc.OpenConnector(c.dsn)
		if err != nil {
			return nil, err
		}
		return conn.Connect(ctx)
	}
	return c.drv.Open(c.dsn)
}

func (c dsnConnector) Driver() driver.Driver { return c.drv }

// cachingConnector makes connections that keep their statements.
type cachingConnector struct{ inner driver.Connector }

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := conn.(driver.ConnPrepareContext); !ok {
		return conn, nil
	}
	return &cachingConn{inner: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c cachingConnector) Driver() driver.Driver { return c.inner.Driver() }

// cachingConn is used by one goroutine at a time (database/sql holds it
// for each call), so its cache needs no lock.
type cachingConn struct {
	inner driver.Conn
	stmts map[string]*cachedStmt
	clock uint64
}

type cachedStmt struct {
	st   driver.Stmt
	busy bool   // its rows are open
	used uint64 // the connection's clock when last taken
}

// take returns the statement for q and a release to call when done with
// it: the kept one, or, while that one is busy, one of its own.
func (c *cachingConn) take(ctx context.Context, q string) (driver.Stmt, func() error, error) {
	c.clock++
	if s, ok := c.stmts[q]; ok {
		if s.busy {
			st, err := c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, q)
			if err != nil {
				return nil, nil, err
			}
			return st, st.Close, nil
		}
		s.busy, s.used = true, c.clock
		return s.st, func() error { s.busy = false; return nil }, nil
	}
	st, err := c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	if len(c.stmts) >= stmtCacheSize {
		c.evict()
	}
	s := &cachedStmt{st: st, busy: true, used: c.clock}
	c.stmts[q] = s
	return st, func() error { s.busy = false; return nil }, nil
}

// evict closes the least recently used statement not in use.
func (c *cachingConn) evict() {
	var oldest string
	var at uint64
	for q, s := range c.stmts {
		if !s.busy && (oldest == "" || s.used < at) {
			oldest, at = q, s.used
		}
	}
	if oldest != "" {
		c.stmts[oldest].st.Close()
		delete(c.stmts, oldest)
	}
}

func (c *cachingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	st, release, err := c.take(ctx, q)
	if err != nil {
		return nil, err
	}
	r, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
	if e := release(); err == nil {
		err = e
	}
	return r, err
}

func (c *cachingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	st, release, err := c.take(ctx, q)
	if err != nil {
		return nil, err
	}
	r, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		release()
		return nil, err
	}
	return &releasingRows{Rows: r, release: release}, nil
}

// releasingRows gives its statement back when closed.
type releasingRows struct {
	driver.Rows
	release func() error
}

func (r *releasingRows) Close() error {
	err := r.Rows.Close()
	if r.release != nil {
		if e := r.release(); err == nil {
			err = e
		}
		r.release = nil
	}
	return err
}

func (c *cachingConn) Prepare(q string) (driver.Stmt, error) { return c.inner.Prepare(q) }

func (c *cachingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

// Close closes the kept statements, then the connection.
func (c *cachingConn) Close() error {
	for q, s := range c.stmts {
		s.st.Close()
		delete(c.stmts, q)
	}
	return c.inner.Close()
}

func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *cachingConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	b, ok := c.inner.(driver.ConnBeginTx)
	if !ok {
		return nil, errLegacyDriver
	}
	return b.BeginTx(ctx, o)
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *cachingConn) CheckNamedValue(v *driver.NamedValue) error {
	if n, ok := c.inner.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(v)
	}
	return driver.ErrSkip
}
