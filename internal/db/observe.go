package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"time"
)

// Statement is one statement the store ran, with its arguments and how
// long it took from start to its last row read (for queries).
type Statement struct {
	Query string
	Args  []any
	Took  time.Duration
}

// Option changes how a store is opened.
type Option func(*options)

type options struct {
	observe func(Statement)
}

// Observe has every statement on both pools reported to fn when it ends
// (fn must be safe for concurrent use). A benchmark uses it to find the
// slowest statements; the server never sets it, so it costs nothing there.
func Observe(fn func(Statement)) Option {
	return func(o *options) { o.observe = fn }
}

func collect(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// open opens a pool for the driver registered as name: a SQLite pool's
// connections keep their compiled statements (stmtcache.go), and every
// statement is reported when observed.
func (o options) open(name, dsn string) (*sql.DB, error) {
	p, err := sql.Open(name, dsn)
	keep := name == "sqlite"
	if err != nil || o.observe == nil && !keep {
		return p, err
	}
	drv := p.Driver()
	p.Close()
	var c driver.Connector = dsnConnector{drv: drv, dsn: dsn}
	if keep {
		c = cachingConnector{inner: c}
	}
	if o.observe != nil {
		c = observedConnector{inner: c, fn: o.observe}
	}
	return sql.OpenDB(c), nil
}

type observedConnector struct {
	inner driver.Connector
	fn    func(Statement)
}

func (c observedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	inner, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &observedConn{inner: inner, fn: c.fn}, nil
}

func (c observedConnector) Driver() driver.Driver { return c.inner.Driver() }

// observedConn passes everything to the driver's connection, timing the
// statements; an optional interface the driver lacks answers ErrSkip so
// that database/sql takes its usual fallback.
type observedConn struct {
	inner driver.Conn
	fn    func(Statement)
}

func values(args []driver.NamedValue) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a.Value
	}
	return out
}

func (c *observedConn) report(q string, args []driver.NamedValue, start time.Time) {
	c.fn(Statement{Query: q, Args: values(args), Took: time.Since(start)})
}

func (c *observedConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c *observedConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	var st driver.Stmt
	var err error
	if p, ok := c.inner.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, q)
	} else {
		st, err = c.inner.Prepare(q)
	}
	if err != nil {
		return nil, err
	}
	return &observedStmt{inner: st, conn: c, query: q}, nil
}

func (c *observedConn) Close() error { return c.inner.Close() }

func (c *observedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *observedConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	b, ok := c.inner.(driver.ConnBeginTx)
	if !ok {
		return nil, errLegacyDriver
	}
	return b.BeginTx(ctx, o)
}

// errLegacyDriver: both drivers Linli uses implement the context
// interfaces, and an observed store needs nothing older.
var errLegacyDriver = errors.New("db: the driver lacks the context interfaces an observed store needs")

func (c *observedConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.inner.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	start := time.Now()
	r, err := e.ExecContext(ctx, q, args)
	if err == nil {
		c.report(q, args, start)
	}
	return r, err
}

func (c *observedConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	qc, ok := c.inner.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	start := time.Now()
	r, err := qc.QueryContext(ctx, q, args)
	if err != nil {
		return nil, err
	}
	return &observedRows{Rows: r, done: func() { c.report(q, args, start) }}, nil
}

func (c *observedConn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *observedConn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *observedConn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *observedConn) CheckNamedValue(v *driver.NamedValue) error {
	if n, ok := c.inner.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

type observedStmt struct {
	inner driver.Stmt
	conn  *observedConn
	query string
}

func (s *observedStmt) Close() error  { return s.inner.Close() }
func (s *observedStmt) NumInput() int { return s.inner.NumInput() }

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, a := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return out
}

func (s *observedStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *observedStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s *observedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	e, ok := s.inner.(driver.StmtExecContext)
	if !ok {
		return nil, errLegacyDriver
	}
	start := time.Now()
	r, err := e.ExecContext(ctx, args)
	if err == nil {
		s.conn.report(s.query, args, start)
	}
	return r, err
}

func (s *observedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := s.inner.(driver.StmtQueryContext)
	if !ok {
		return nil, errLegacyDriver
	}
	start := time.Now()
	r, err := q.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	return &observedRows{Rows: r, done: func() { s.conn.report(s.query, args, start) }}, nil
}

func (s *observedStmt) CheckNamedValue(v *driver.NamedValue) error {
	if n, ok := s.inner.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(v)
	}
	return s.conn.CheckNamedValue(v)
}

// observedRows reports its query when closed: a SQLite query does its
// work while the rows are read.
type observedRows struct {
	driver.Rows
	done func()
}

func (r *observedRows) Close() error {
	err := r.Rows.Close()
	if r.done != nil {
		r.done()
		r.done = nil
	}
	return err
}
