package registry

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
)

// Filter narrows a list of facilities, organisations, personnel or grids.
type Filter struct {
	Division string
	Category string // facility category, organisation kind or personnel role
	Q        string // name contains
}

// table is a registry table read in the caller's scope: facilities,
// organisations, personnel and grids are listed, counted and looked up
// the same way, through it. The scope is a range on the division code
// inside the SQL, so a row outside it is never read.
type table[T any] struct {
	name  string // SQL table
	alias string // its alias in cols and order
	cols  string
	order string
	scan  func(db.Scanner) (T, error)
	// readable tells whether a role may read the table at all.
	readable func(*access.Principal) bool
	// category narrows to Filter.Category (nil: the filter has none).
	category func(w *where, c string)
	// narrow, if set, narrows a role's view inside its scope.
	narrow  func(w *where, p *access.Principal)
	missing error // the answer for an id out of reach
}

// where checks the caller may read the table and applies the scope and
// the filter.
func (t table[T]) where(ctx context.Context, f Filter) (*where, error) {
	if !t.readable(access.From(ctx)) {
		return nil, errNoRead
	}
	if err := checkFilterDivision(f.Division); err != nil {
		return nil, err
	}
	w := &where{}
	w.scope(ctx, t.alias+".division_code", f.Division)
	if t.narrow != nil {
		t.narrow(w, access.From(ctx))
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		w.add(t.alias+`.name LIKE ? ESCAPE '\'`, "%"+likeEscape(q)+"%")
	}
	if f.Category != "" && t.category != nil {
		t.category(w, f.Category)
	}
	return w, nil
}

func (t table[T]) from() string { return ` FROM ` + t.name + ` ` + t.alias + ` WHERE ` }

// list returns a page of the rows matching f and how many match.
func (t table[T]) list(ctx context.Context, q *sql.DB, f Filter, offset, limit int) ([]T, int, error) {
	w, err := t.where(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*)`+t.from()+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := db.Collect(ctx, q, t.scan, `SELECT `+t.cols+t.from()+w.sql()+` ORDER BY `+t.order+` LIMIT `+itoa(limit)+` OFFSET `+itoa(offset), w.args...)
	return out, total, err
}

// all returns every row matching w (already scoped by where).
func (t table[T]) all(ctx context.Context, q *sql.DB, w *where) ([]T, error) {
	return db.Collect(ctx, q, t.scan, `SELECT `+t.cols+t.from()+w.sql(), w.args...)
}

// get returns one row in scope, or t.missing.
func (t table[T]) get(ctx context.Context, q *sql.DB, id string) (T, error) {
	w, err := t.where(ctx, Filter{})
	if err != nil {
		var zero T
		return zero, err
	}
	w.add(t.alias+".id = ?", id)
	v, err := t.scan(q.QueryRowContext(ctx, `SELECT `+t.cols+t.from()+w.sql(), w.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, t.missing
	}
	return v, err
}

// deleteScoped deletes one row of table in scope and audits it. unlink
// are statements run first, in the same transaction, with the id and the
// time as $1 and $2: they drop other rows' references to it.
func (s *Store) deleteScoped(ctx context.Context, table, object, id string, nf error, unlink ...string) error {
	if !canWrite(access.From(ctx)) {
		return errNoWrite
	}
	sc := access.ScopeOf(ctx)
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var code string
		err := tx.QueryRowContext(ctx, `SELECT division_code FROM `+table+` WHERE id = $1 AND division_code >= $2 AND division_code < $3`, id, sc.Lo, sc.Hi).Scan(&code)
		if errors.Is(err, sql.ErrNoRows) {
			return nf
		} else if err != nil {
			return err
		}
		now := db.T(s.Now())
		for _, q := range unlink {
			if _, err := tx.ExecContext(ctx, q, id, now); err != nil {
				return err
			}
		}
		if isVersioned(table) {
			// The last version ends now, by the application's clock.
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET updated_at = $1 WHERE id = $2`, now, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = $1`, id); err != nil {
			if strings.Contains(err.Error(), "FOREIGN KEY") || strings.Contains(err.Error(), "23503") {
				return fault.Conflict(fault.M("仍有其他记录引用它，不能删除", "other records still refer to it"))
			}
			return err
		}
		return s.record(ctx, tx, "registry."+object+".delete", object, id, code, nil)
	})
}
