// Package audit keeps Linli's append-only, hash-chained audit log: every
// login, failure, permission change, write, export and reveal of a personal
// value. Each entry's hash covers its content and the previous entry's hash,
// so an edited, deleted or reordered entry breaks the chain that Verify walks.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
)

// Results of an audited action.
const (
	OK     = "ok"
	Denied = "denied"
	Failed = "failed"
)

// Entry is one audit record.
type Entry struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	ActorID  string    `json:"actor_id,omitempty"`
	Actor    string    `json:"actor,omitempty"`
	Role     string    `json:"role,omitempty"`
	IP       string    `json:"ip,omitempty"`
	Action   string    `json:"action"`
	Object   string    `json:"object,omitempty"`
	ObjectID string    `json:"object_id,omitempty"`
	Division string    `json:"division,omitempty"`
	Result   string    `json:"result"`
	Detail   string    `json:"detail,omitempty"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// Log writes and reads the audit table.
type Log struct {
	DB  *db.DB
	Now func() time.Time // the clock that dates every entry
}

// New returns a log over d dated by now.
func New(d *db.DB, now func() time.Time) *Log { return &Log{DB: d, Now: now} }

type ipKey struct{}

// WithIP records the client address of the request in ctx.
func WithIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ipKey{}, ip)
}

// fill completes e with the actor and address found in ctx.
func fill(ctx context.Context, e *Entry) {
	if p := access.From(ctx); p != nil {
		if e.ActorID == "" {
			e.ActorID = p.UserID
		}
		if e.Actor == "" {
			e.Actor = p.Username
		}
		if e.Role == "" {
			e.Role = string(p.Role)
		}
	}
	if e.IP == "" {
		e.IP, _ = ctx.Value(ipKey{}).(string)
	}
	if e.Result == "" {
		e.Result = OK
	}
}

// Detail encodes v as compact JSON for Entry.Detail.
func Detail(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Record appends e in its own transaction.
func (l *Log) Record(ctx context.Context, e Entry) error {
	return l.DB.Tx(ctx, func(tx *sql.Tx) error { return l.RecordTx(ctx, tx, e) })
}

// RecordTx appends e inside tx, so that a change and its audit entry commit or
// fail together.
func (l *Log) RecordTx(ctx context.Context, tx *sql.Tx, e Entry) error {
	return l.RecordAllTx(ctx, tx, []Item{{Ctx: ctx, Entry: e}})
}

// Item is an entry with the context of its request (actor and address).
type Item struct {
	Ctx   context.Context
	Entry Entry
}

// RecordAllTx appends several entries inside tx with one lock, one read of
// the chain's head and one INSERT per 500: the way a batch of writes is
// audited.
func (l *Log) RecordAllTx(ctx context.Context, tx *sql.Tx, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	if l.Now == nil {
		return errors.New("audit: the log has no clock (Log.Now)")
	}
	if l.DB.Dialect == db.Postgres {
		// Serialise appenders across server processes: the chain is a line.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7384190)`); err != nil {
			return err
		}
	}
	var prev string
	var last int64
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit: %w", err)
	}
	at := db.T(l.Now()).Time
	// One INSERT per 500 entries: both stores cap the parameters of a
	// statement (SQLite 32,766, PostgreSQL 65,535), and a batch may be a
	// whole imported file.
	const chunk = 500
	for start := 0; start < len(items); start += chunk {
		part := items[start:min(start+chunk, len(items))]
		var q strings.Builder
		q.WriteString(`INSERT INTO audit_log (seq, at, actor_id, actor, role, ip, action, object, object_id, division_code, result, detail, prev_hash, hash) VALUES `)
		args := make([]any, 0, 14*len(part))
		for i, it := range part {
			e := it.Entry
			c := it.Ctx
			if c == nil {
				c = ctx
			}
			fill(c, &e)
			e.Seq, e.At, e.PrevHash = last+1, at, prev
			e.Hash = e.computeHash()
			last, prev = e.Seq, e.Hash
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(l.DB.Values(len(args), 14))
			args = append(args, e.Seq, db.T(e.At), e.ActorID, e.Actor, e.Role, e.IP, e.Action, e.Object, e.ObjectID, e.Division, e.Result, e.Detail, e.PrevHash, e.Hash)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}

// computeHash hashes the previous hash and every field in a fixed order.
func (e *Entry) computeHash() string {
	h := sha256.New()
	for _, f := range []string{e.PrevHash, strconv.FormatInt(e.Seq, 10), e.At.UTC().Format("2006-01-02T15:04:05.000000Z"),
		e.ActorID, e.Actor, e.Role, e.IP, e.Action, e.Object, e.ObjectID, e.Division, e.Result, e.Detail} {
		h.Write([]byte(strconv.Itoa(len(f))))
		h.Write([]byte{':'})
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// BrokenError reports where the chain breaks.
type BrokenError struct {
	Seq    int64
	Reason string
}

func (b *BrokenError) Error() string {
	return fmt.Sprintf("审计链在第 %d 条断开 / audit chain broken at entry %d: %s", b.Seq, b.Seq, b.Reason)
}

// Verify walks the whole chain and returns how many entries it checked, or a
// *BrokenError naming the first entry that does not fit.
func (l *Log) Verify(ctx context.Context) (int64, error) {
	rows, err := l.DB.R.QueryContext(ctx, `SELECT `+columns+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n, want int64 = 0, 1
	prev := ""
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return n, err
		}
		switch {
		case e.Seq != want:
			return n, &BrokenError{Seq: want, Reason: fmt.Sprintf("条目缺失 / entry missing (next found is %d)", e.Seq)}
		case e.PrevHash != prev:
			return n, &BrokenError{Seq: e.Seq, Reason: "前一条哈希不符 / previous hash does not match"}
		case e.computeHash() != e.Hash:
			return n, &BrokenError{Seq: e.Seq, Reason: "内容被修改 / content altered"}
		}
		prev = e.Hash
		want++
		n++
	}
	return n, rows.Err()
}

const columns = `seq, at, actor_id, actor, role, ip, action, object, object_id, division_code, result, detail, prev_hash, hash`

func scan(rows interface{ Scan(...any) error }) (Entry, error) {
	var e Entry
	var at db.Time
	if err := rows.Scan(&e.Seq, &at, &e.ActorID, &e.Actor, &e.Role, &e.IP, &e.Action, &e.Object, &e.ObjectID, &e.Division, &e.Result, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
		return Entry{}, err
	}
	e.At = at.Time
	return e, nil
}

// Filter narrows a search.
type Filter struct {
	Actor  string
	Action string
	Result string
	Object string
	From   time.Time
	To     time.Time
}

// Search lists entries newest first with a total count.
func (l *Log) Search(ctx context.Context, f Filter, offset, limit int) ([]Entry, int, error) {
	where := "1=1"
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where += " AND " + strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args)))
	}
	if f.Actor != "" {
		add("actor = $?", f.Actor)
	}
	if f.Action != "" {
		// A prefix: "_" and "%" in it are characters, not wildcards.
		add(`action LIKE $? ESCAPE '\'`, strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(f.Action)+"%")
	}
	if f.Result != "" {
		add("result = $?", f.Result)
	}
	if f.Object != "" {
		add("(object_id = $? OR object = $?)", f.Object)
	}
	if !f.From.IsZero() {
		add("at >= $?", db.T(f.From))
	}
	if !f.To.IsZero() {
		add("at < $?", db.T(f.To))
	}
	var total int
	if err := l.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := l.DB.R.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM audit_log WHERE %s ORDER BY seq DESC LIMIT %d OFFSET %d`, columns, where, limit, offset), args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	return out, total, rows.Err()
}

// Count is how many entries the log holds.
func (l *Log) Count(ctx context.Context) (int, error) {
	var n int
	err := l.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log`).Scan(&n)
	return n, err
}
