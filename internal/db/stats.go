package db

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// The query planner of either store picks indexes from table statistics.
// Without them SQLite guesses, and its guesses for a division range and a
// tag on every resident pick the wrong index at county scale. Statistics
// are kept fresh three ways: after every bulk load (Analyze), when the
// SQLite file is opened and every hour while it stays open (optimize,
// bounded by analysisLimit), and when it is closed.

// analysisLimit bounds the rows SQLite reads per index when it gathers
// statistics: approximate figures in milliseconds instead of a full pass
// over every index of a million-row table (SQLite's recommendation).
const analysisLimit = 1000

// optimizeEvery is how often a long-lived SQLite store refreshes its
// statistics.
const optimizeEvery = time.Hour

// Analyze refreshes the planner's statistics of tables after a bulk load:
// ANALYZE on PostgreSQL, a bounded ANALYZE on SQLite. Table names are the
// caller's own constants, never user input.
func Analyze(ctx context.Context, d *DB, tables ...string) error {
	if d.Dialect == Postgres {
		stmt := "ANALYZE"
		if len(tables) > 0 {
			stmt += " " + strings.Join(tables, ", ")
		}
		_, err := d.W.ExecContext(ctx, stmt)
		return err
	}
	c, err := d.W.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "PRAGMA analysis_limit = "+strconv.Itoa(analysisLimit)); err != nil {
		return err
	}
	if len(tables) == 0 {
		tables = []string{""}
	}
	for _, t := range tables {
		if _, err := c.ExecContext(ctx, strings.TrimSpace("ANALYZE "+t)); err != nil {
			return err
		}
	}
	return nil
}

// optimize runs SQLite's PRAGMA optimize on the writer with the analysis
// limit: mask 0x10002 at open (every table, since this connection has run
// no query yet), the default mask later.
func (d *DB) optimize(ctx context.Context, atOpen bool) error {
	c, err := d.W.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "PRAGMA analysis_limit = "+strconv.Itoa(analysisLimit)); err != nil {
		return err
	}
	stmt := "PRAGMA optimize"
	if atOpen {
		stmt = "PRAGMA optimize = 0x10002"
	}
	_, err = c.ExecContext(ctx, stmt)
	return err
}

// keepOptimized refreshes the statistics every optimizeEvery until stop
// is closed.
func (d *DB) keepOptimized(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(optimizeEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			d.optimize(ctx, false) // best effort: stale statistics are no fault
			cancel()
		}
	}
}
