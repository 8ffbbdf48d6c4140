package divisions

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"linli/internal/access"
	"linli/internal/db"
)

//go:embed data/zhejiang_divisions.csv
var embeddedCSV []byte

// Embedded returns the 27,036 Zhejiang divisions shipped in the binary
// (NBS 2023 statistical division codes), decoded once per process: it is
// embedded data, the same for every app. Callers must not change it.
var Embedded = sync.OnceValues(func() ([]Division, error) { return ParseCSV(bytes.NewReader(embeddedCSV)) })

func embeddedHash() string {
	s := sha256.Sum256(embeddedCSV)
	return hex.EncodeToString(s[:])
}

// Store reads divisions and unit data.
type Store struct {
	DB  *db.DB
	Now func() time.Time // the clock that dates unit-data changes
}

// Load fills the divisions table from the embedded data on first start. A
// later start with the same data changes nothing; it returns how many
// divisions it inserted.
func (s *Store) Load(ctx context.Context) (int, error) {
	var have string
	err := s.DB.R.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'divisions_source'`).Scan(&have)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if have == embeddedHash() {
		return 0, nil
	}
	ds, err := Embedded()
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		const batch = 100
		for i := 0; i < len(ds); i += batch {
			end := min(i+batch, len(ds))
			var q strings.Builder
			q.WriteString(`INSERT INTO divisions (code, name, level, parent_code, urban_rural, full_name, children) VALUES `)
			args := make([]any, 0, 7*(end-i))
			for j, d := range ds[i:end] {
				if j > 0 {
					q.WriteByte(',')
				}
				q.WriteString(s.DB.Values(len(args), 7))
				var parent any
				if d.ParentCode != "" {
					parent = d.ParentCode
				}
				args = append(args, d.Code, d.Name, d.Level, parent, d.UrbanRural, d.FullName, d.Children)
			}
			q.WriteString(` ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, parent_code = excluded.parent_code,
				urban_rural = excluded.urban_rural, full_name = excluded.full_name, children = excluded.children`)
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
			n += end - i
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('divisions_source', $1)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, embeddedHash())
		return err
	})
	return n, err
}

const divCols = `code, name, level, COALESCE(parent_code, ''), urban_rural, full_name, children`

func scanDivision(r interface{ Scan(...any) error }) (Division, error) {
	var d Division
	err := r.Scan(&d.Code, &d.Name, &d.Level, &d.ParentCode, &d.UrbanRural, &d.FullName, &d.Children)
	return d, err
}

// Get returns one division or db.ErrNotFound. Divisions are public
// reference data: no scope applies.
func (s *Store) Get(ctx context.Context, code string) (Division, error) {
	d, err := scanDivision(s.DB.R.QueryRowContext(ctx, `SELECT `+divCols+` FROM divisions WHERE code = $1`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return d, db.ErrNotFound
	}
	return d, err
}

// GetMany reads the divisions of codes in one statement, by code; codes
// that name no division are absent from the map.
func (s *Store) GetMany(ctx context.Context, codes []string) (map[string]Division, error) {
	out := map[string]Division{}
	if len(codes) == 0 {
		return out, nil
	}
	args := make([]any, len(codes))
	for i, c := range codes {
		args[i] = c
	}
	err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		d, err := scanDivision(r)
		out[d.Code] = d
		return err
	}, GetManyQuery(s.DB, len(codes)), args...)
	return out, err
}

// GetManyQuery is GetMany's statement for n codes on d (for its plan test).
func GetManyQuery(d *db.DB, n int) string {
	return `SELECT ` + divCols + ` FROM divisions WHERE code IN ` + d.Values(0, n)
}

// Path returns the division and its ancestors, top first.
func (s *Store) Path(ctx context.Context, code string) ([]Division, error) {
	codes := append(Ancestors(code), code)
	out := make([]Division, 0, len(codes))
	for _, c := range codes {
		d, err := s.Get(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Children lists the direct children of code in code order.
func (s *Store) Children(ctx context.Context, code string, offset, limit int) ([]Division, int, error) {
	var total int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM divisions WHERE parent_code = $1`, code).Scan(&total); err != nil {
		return nil, 0, err
	}
	return s.list(ctx, total, `SELECT `+divCols+` FROM divisions WHERE parent_code = $1 ORDER BY code LIMIT $2 OFFSET $3`, code, limit, offset)
}

// Search finds divisions by name (or by code prefix when q is digits),
// ranked: exact name, then name prefix, then name containing q; higher
// levels first. within, when set, limits results to a subtree.
func (s *Store) Search(ctx context.Context, q, within string, offset, limit int) ([]Division, int, error) {
	q = strings.TrimSpace(q)
	sc := access.Subtree(within)
	lo, hi := sc.Lo, sc.Hi
	if q != "" && strings.Trim(q, "0123456789") == "" {
		pat := q + "%"
		var total int
		if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM divisions WHERE code LIKE $1 AND code >= $2 AND code < $3`, pat, lo, hi).Scan(&total); err != nil {
			return nil, 0, err
		}
		return s.list(ctx, total, `SELECT `+divCols+` FROM divisions WHERE code LIKE $1 AND code >= $2 AND code < $3 ORDER BY level, code LIMIT $4 OFFSET $5`, pat, lo, hi, limit, offset)
	}
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
	var total int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM divisions WHERE name LIKE $1 ESCAPE '\' AND code >= $2 AND code < $3`, "%"+esc+"%", lo, hi).Scan(&total); err != nil {
		return nil, 0, err
	}
	return s.list(ctx, total, `SELECT `+divCols+` FROM divisions WHERE name LIKE $1 ESCAPE '\' AND code >= $4 AND code < $5
		ORDER BY CASE WHEN name = $2 THEN 0 WHEN name LIKE $3 ESCAPE '\' THEN 1 ELSE 2 END, level, code LIMIT $6 OFFSET $7`,
		"%"+esc+"%", q, esc+"%", lo, hi, limit, offset)
}

func (s *Store) list(ctx context.Context, total int, query string, args ...any) ([]Division, int, error) {
	rows, err := s.DB.R.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Division
	for rows.Next() {
		d, err := scanDivision(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, d)
	}
	return out, total, rows.Err()
}

// Count returns how many divisions are loaded.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM divisions`).Scan(&n)
	return n, err
}
