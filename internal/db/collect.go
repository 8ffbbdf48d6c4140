package db

import "context"

// Scanner is what *sql.Row and *sql.Rows have in common: one scan
// function reads a row from a list query and from a single-row look-up.
type Scanner interface {
	Scan(dest ...any) error
}

// EachRow runs a query and calls fn for every row, stopping at fn's first
// error. The rows are closed however it ends, and an error met while
// iterating is returned, so no caller can forget rows.Err.
func EachRow(ctx context.Context, q Querier, fn func(Scanner) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Collect runs a query and returns scan's value for every row, in order
// (nil when there is none). The rows are closed before it returns, so the
// caller may run other statements on the same transaction at once.
func Collect[T any](ctx context.Context, q Querier, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := EachRow(ctx, q, func(r Scanner) error {
		v, err := scan(r)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Value scans a one-column row into a T: the scan function of Collect for
// a list of ids, names or counts.
func Value[T any](r Scanner) (T, error) {
	var v T
	err := r.Scan(&v)
	return v, err
}
