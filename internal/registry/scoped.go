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
	alias string // its alias in cols and keys
	cols  string
	// keys are the list's sort key, a unique one (it ends on the id or a
	// unique code), and key gives a row's values of it: pages are read
	// after the last row's key, never by an offset.
	keys []string
	key  func(T) []string
	// fixed is the key column the category filter fixes by equality ("" for
	// none): a filtered list orders by the other keys, which an index led
	// by the category serves.
	fixed string
	// pageCols, if set, are the page's columns where cols carry per-row
	// reads a page does once for all its rows in attach.
	pageCols string
	attach   func(ctx context.Context, q *sql.DB, rows []T) error
	scan     func(db.Scanner) (T, error)
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

// order is the full sort key, for reads of every row (an export).
func (t table[T]) order() string { return strings.Join(t.keys, ", ") }

// Page is one page of a scoped list, counted and continued as
// ResidentPage is.
type Page[T any] struct {
	Items []T
	// Total is exact when Capped is false; a capped count stopped at
	// CountCap+1 ("1000+").
	Total  int
	Capped bool
	// Next is the cursor of the following page, "" on the last page.
	Next string
}

// page returns the page of rows matching f after cursor ("" for the
// first), counted up to CountCap.
func (t table[T]) page(ctx context.Context, s *Store, f Filter, cursor string, limit int) (Page[T], error) {
	var p Page[T]
	w, err := t.where(ctx, f)
	if err != nil {
		return p, err
	}
	var after []any
	if cursor != "" {
		if after, err = s.openKey(cursor, t.name, len(t.keys)); err != nil {
			return p, err
		}
	}
	if err := s.DB.R.QueryRowContext(ctx, t.countQuery(w), s.customPlan(w.args)...).Scan(&p.Total); err != nil {
		return p, err
	}
	p.Capped = p.Total > CountCap
	if p.Total == 0 {
		return p, nil
	}
	query, args := t.pageQuery(w, f, after, limit+1)
	out, err := db.Collect(ctx, s.DB.R, t.scan, query, s.customPlan(args)...)
	if err != nil {
		return p, err
	}
	if len(out) > limit {
		out = out[:limit]
		p.Next = s.sealKey(t.name, t.key(out[limit-1])...)
	}
	if t.attach != nil {
		if err := t.attach(ctx, s.DB.R, out); err != nil {
			return p, err
		}
	}
	p.Items = out
	return p, nil
}

// countQuery counts the rows of w up to CountCap+1, in no order.
func (t table[T]) countQuery(w *where) string {
	return `SELECT COUNT(*) FROM (SELECT 1` + t.from() + w.sql() + ` LIMIT ` + itoa(CountCap+1) + `) x`
}

// pageQuery reads limit rows of w after the key after (nil for the first
// page) in the key's order; the key column the filter fixes is left out
// of both, so that the index led by it serves the range and the order.
func (t table[T]) pageQuery(w *where, f Filter, after []any, limit int) (string, []any) {
	var cols []string
	var vals []any
	for i, c := range t.keys {
		if c == t.fixed && f.Category != "" {
			continue
		}
		cols = append(cols, c)
		if after != nil {
			vals = append(vals, after[i])
		}
	}
	k := &where{conds: append([]string(nil), w.conds...), args: append([]any(nil), w.args...)}
	if after != nil {
		// First, so that SQLite starts its range at the key (see pageQuery
		// of the residents).
		k.add("("+strings.Join(cols, ", ")+") > ("+strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")+")", vals...)
		k.conds = append(k.conds[len(k.conds)-1:], k.conds[:len(k.conds)-1]...)
	}
	sel := t.cols
	if t.pageCols != "" {
		sel = t.pageCols
	}
	return `SELECT ` + sel + t.from() + k.sql() + ` ORDER BY ` + strings.Join(cols, ", ") + ` LIMIT ` + itoa(limit), k.args
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
