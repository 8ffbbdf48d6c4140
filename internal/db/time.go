package db

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// timeLayout has a fixed width so that SQLite's text comparison orders
// instants correctly; PostgreSQL parses it into timestamptz.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Time is a UTC instant at microsecond precision (PostgreSQL's), written in
// the same fixed form to both stores. Every time that goes into SQL goes
// through it.
type Time struct{ time.Time }

// T wraps t for SQL.
func T(t time.Time) Time { return Time{t.UTC().Truncate(time.Microsecond)} }

// Value implements driver.Valuer.
func (t Time) Value() (driver.Value, error) {
	if t.IsZero() {
		return nil, nil
	}
	return t.UTC().Format(timeLayout), nil
}

// Scan implements sql.Scanner for both drivers' representations.
func (t *Time) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		t.Time = time.Time{}
	case time.Time:
		t.Time = x.UTC()
	case string:
		return t.parse(x)
	case []byte:
		return t.parse(string(x))
	default:
		return fmt.Errorf("db.Time: cannot scan %T", v)
	}
	return nil
}

func (t *Time) parse(s string) error {
	for _, l := range []string{timeLayout, time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05"} {
		if p, err := time.Parse(l, s); err == nil {
			t.Time = p.UTC()
			return nil
		}
	}
	return fmt.Errorf("db.Time: cannot parse %q", s)
}
