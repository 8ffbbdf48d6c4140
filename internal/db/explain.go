package db

import (
	"context"
	"database/sql"
	"strings"
)

// ExplainOption changes how Explain asks the store for a plan.
type ExplainOption func(*explainOptions)

type explainOptions struct {
	noSeqScan bool
}

// NoSeqScan has PostgreSQL plan without sequential scans where it can,
// for the statement's transaction only: on tables as small as a test's it
// prefers them to any index, so an index it still does not use is one it
// cannot use. SQLite has no such setting and plans as usual.
func NoSeqScan() ExplainOption {
	return func(o *explainOptions) { o.noSeqScan = true }
}

// Explain returns the plan the store picks for query with args, one line
// per step: PostgreSQL's EXPLAIN lines as they come, SQLite's EXPLAIN
// QUERY PLAN detail column, indented two spaces per level under its parent
// as PostgreSQL's are. args go to the driver as they would with the query
// itself, so a PostgreSQL custom-plan mode in front of them still applies.
func (d *DB) Explain(ctx context.Context, query string, args []any, opts ...ExplainOption) (string, error) {
	var o explainOptions
	for _, f := range opts {
		f(&o)
	}
	if d.Dialect == Postgres {
		return d.explainPostgres(ctx, query, args, o)
	}
	depth := map[int]int{0: 0}
	var lines []string
	err := EachRow(ctx, d.R, func(r Scanner) error {
		var id, parent, unused int
		var detail string
		if err := r.Scan(&id, &parent, &unused, &detail); err != nil {
			return err
		}
		depth[id] = depth[parent] + 1
		lines = append(lines, strings.Repeat("  ", depth[id]-1)+detail)
		return nil
	}, "EXPLAIN QUERY PLAN "+query, args...)
	return strings.Join(lines, "\n"), err
}

func (d *DB) explainPostgres(ctx context.Context, query string, args []any, o explainOptions) (string, error) {
	var q Querier = d.R
	if o.noSeqScan {
		// SET LOCAL ends with the transaction: the pooled connection
		// goes back with the setting it came with.
		tx, err := d.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return "", err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			return "", err
		}
		q = tx
	}
	lines, err := Collect(ctx, q, Value[string], "EXPLAIN "+query, args...)
	return strings.Join(lines, "\n"), err
}
