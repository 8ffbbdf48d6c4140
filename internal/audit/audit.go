// Package audit keeps Linli's append-only, hash-chained audit log: every
// login, failure, permission change, write, export and reveal of a personal
// value, and refused attempts. Each entry's hash covers its content and the
// previous entry's hash, so an edited, deleted or reordered entry breaks the
// chain that Verify walks. Because whoever owns the database can recompute
// hashes, each entry also carries a MAC under a key kept outside the
// database, and checkpoints (count and head, MACed) go to an append-only
// file and the log stream, where that owner cannot take entries back.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
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
	// MAC is the keyed MAC of Hash: without the key no one can write an
	// entry that passes, nor rewrite one and recompute what follows.
	MAC string `json:"mac,omitempty"`
}

// Log writes and reads the audit table.
type Log struct {
	DB  *db.DB
	Now func() time.Time // the clock that dates every entry
	// Key MACs entries and checkpoints (nil: neither, as in tests of
	// other parts that need only a chain).
	Key []byte
	// Checkpoints is the append-only file checkpoints are written to
	// ("": none).
	Checkpoints string
	// Logger receives each checkpoint too, and the errors of the
	// background work (nil: discarded).
	Logger *slog.Logger
	// CountCap bounds a search's count (0: DefaultCountCap).
	CountCap int

	anchorMu sync.Mutex
	anchored *Checkpoint // the newest checkpoint this log wrote or read
	loaded   bool        // whether anchored was read from the file

	burstsMu sync.Mutex
	bursts   map[burstKey]*burst

	// Entries recorded while another group is being written wait here
	// for the next group (see Record).
	groupMu sync.Mutex
	queue   []*queued
	writing bool
}

// queued is an entry waiting to be written with the next group: woken
// when it was written (err is the group's answer) or when it is to write
// the group itself (lead).
type queued struct {
	item Item
	wake chan struct{}
	lead bool
	err  error
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

// Record appends e in a transaction of its own, or shared with the entries
// others record meanwhile: the chain is a line (one lock, one head), so
// while one group is written the entries that arrive wait and go together
// in the next one — one lock, head read and commit for all of them, where
// one each made every audited read under load queue behind the others'
// commits. Record returns once e is committed (or failed with its group).
// The group is written even when the request that writes it has gone: the
// entries of the others are in it.
func (l *Log) Record(ctx context.Context, e Entry) (err error) {
	me := &queued{item: Item{Ctx: ctx, Entry: e}, wake: make(chan struct{})}
	l.groupMu.Lock()
	l.queue = append(l.queue, me)
	if l.writing {
		l.groupMu.Unlock()
		<-me.wake
		if !me.lead {
			return me.err
		}
		l.groupMu.Lock()
	}
	l.writing = true
	group := l.queue
	l.queue = nil
	l.groupMu.Unlock()

	err = errors.New("audit: the group was not written")
	defer func() { // even on a panic: those waiting must not wait forever
		l.groupMu.Lock()
		if len(l.queue) > 0 { // the first who waited writes the next group
			l.queue[0].lead = true
			close(l.queue[0].wake)
		} else {
			l.writing = false
		}
		l.groupMu.Unlock()
		for _, q := range group {
			if q != me {
				q.err = err
				close(q.wake)
			}
		}
	}()
	items := make([]Item, len(group))
	for i, q := range group {
		items[i] = q.item
	}
	gctx := context.WithoutCancel(ctx)
	return l.DB.Tx(gctx, func(tx *sql.Tx) error { return l.RecordAllTx(gctx, tx, items) })
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
		q.WriteString(`INSERT INTO audit_log (` + columns + `) VALUES `)
		args := make([]any, 0, 15*len(part))
		for i, it := range part {
			e := it.Entry
			c := it.Ctx
			if c == nil {
				c = ctx
			}
			fill(c, &e)
			if e.Result != OK {
				markRefusal(c)
			}
			e.Seq, e.At, e.PrevHash = last+1, at, prev
			e.Hash = e.computeHash()
			e.MAC = l.mac(e.Hash)
			last, prev = e.Seq, e.Hash
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(l.DB.Values(len(args), 15))
			args = append(args, e.Seq, db.T(e.At), e.ActorID, e.Actor, e.Role, e.IP, e.Action, e.Object, e.ObjectID, e.Division, e.Result, e.Detail, e.PrevHash, e.Hash, e.MAC)
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

// mac is the keyed MAC of an entry's hash ("" without a key). The hash
// covers the entry and, through the previous hash, every entry before it.
func (l *Log) mac(hash string) string {
	return l.sum("entry", hash)
}

// sum is the hex HMAC of the fields under the log's key, with a label
// that keeps entry and checkpoint MACs apart ("" without a key).
func (l *Log) sum(label string, fields ...string) string {
	if l.Key == nil {
		return ""
	}
	m := hmac.New(sha256.New, l.Key)
	for _, f := range append([]string{label}, fields...) {
		m.Write([]byte(strconv.Itoa(len(f))))
		m.Write([]byte{':'})
		m.Write([]byte(f))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// BrokenError reports where the chain breaks (Seq 0: the checkpoint file
// itself was altered).
type BrokenError struct {
	Seq    int64
	Reason string
}

func (b *BrokenError) Error() string {
	if b.Seq == 0 {
		return "审计检查点文件被改动 / the audit checkpoint file was altered: " + b.Reason
	}
	return fmt.Sprintf("审计链在第 %d 条断开 / audit chain broken at entry %d: %s", b.Seq, b.Seq, b.Reason)
}

// Verify walks the whole chain and returns how many entries it checked, or a
// *BrokenError naming the first entry that does not fit (see Check).
func (l *Log) Verify(ctx context.Context) (int64, error) {
	v, err := l.Check(ctx)
	return v.Entries, err
}

// Verification is what Check found.
type Verification struct {
	Entries int64
	// Checkpoint is the newest checkpoint held against the chain (nil:
	// none yet, so a cut tail cannot be seen).
	Checkpoint *Checkpoint
}

// Check walks the whole chain: each entry must follow the one before, hash
// to its stored hash and, with a key, carry its MAC (entries written before
// MACs began are let through up to the checkpoints' legacy mark); entries
// a checkpoint names must have the hash it recorded, and the chain must be
// at least as long as the newest checkpoint says.
func (l *Log) Check(ctx context.Context) (Verification, error) {
	cps, err := l.checkpoints()
	if err != nil {
		return Verification{}, err
	}
	return l.check(ctx, cps)
}

// check walks the chain against the checkpoints cps.
func (l *Log) check(ctx context.Context, cps []Checkpoint) (Verification, error) {
	var v Verification
	heads := map[int64]string{}
	legacy := int64(-1) // unknown: entries without a MAC may only lead
	for _, c := range cps {
		heads[c.Seq] = c.Head
		legacy = c.Legacy
	}
	v.Checkpoint = newest(cps)
	rows, err := l.DB.R.QueryContext(ctx, `SELECT `+columns+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return v, err
	}
	defer rows.Close()
	var want int64 = 1
	prev, macSeen := "", false
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return v, err
		}
		if err := l.fits(e, want, prev, legacy, macSeen); err != nil {
			return v, err
		}
		if h, ok := heads[e.Seq]; ok && h != e.Hash {
			return v, &BrokenError{Seq: e.Seq, Reason: fmt.Sprintf("与 %s 的检查点不符 / differs from the checkpoint of %s", stamp(cps, e.Seq), stamp(cps, e.Seq))}
		}
		macSeen = macSeen || e.MAC != ""
		prev = e.Hash
		want++
		v.Entries++
	}
	if err := rows.Err(); err != nil {
		return v, err
	}
	if c := v.Checkpoint; c != nil && v.Entries < c.Seq {
		at := c.At.Format(time.RFC3339)
		return v, &BrokenError{Seq: v.Entries + 1, Reason: fmt.Sprintf("链尾被截断：%s 的检查点记录了 %d 条，现只有 %d 条 / tail cut: the checkpoint of %s records %d entries, the chain holds %d",
			at, c.Seq, v.Entries, at, c.Seq, v.Entries)}
	}
	return v, nil
}

// fits checks one entry against its place in the chain and its MAC.
func (l *Log) fits(e Entry, want int64, prev string, legacy int64, macSeen bool) error {
	switch {
	case e.Seq != want:
		return &BrokenError{Seq: want, Reason: fmt.Sprintf("条目缺失 / entry missing (next found is %d)", e.Seq)}
	case e.PrevHash != prev:
		return &BrokenError{Seq: e.Seq, Reason: "前一条哈希不符 / previous hash does not match"}
	case e.computeHash() != e.Hash:
		return &BrokenError{Seq: e.Seq, Reason: "内容被修改 / content altered"}
	case l.Key == nil:
		return nil
	case e.MAC == "" && (macSeen || legacy >= 0 && e.Seq > legacy):
		return &BrokenError{Seq: e.Seq, Reason: "缺少校验码 / MAC missing"}
	case e.MAC != "" && !hmac.Equal([]byte(e.MAC), []byte(l.mac(e.Hash))):
		return &BrokenError{Seq: e.Seq, Reason: "校验码不符：条目被改写 / MAC does not match: the entry was rewritten"}
	}
	return nil
}

// stamp is the time of the checkpoint at seq.
func stamp(cps []Checkpoint, seq int64) string {
	for _, c := range cps {
		if c.Seq == seq {
			return c.At.Format(time.RFC3339)
		}
	}
	return ""
}

const columns = `seq, at, actor_id, actor, role, ip, action, object, object_id, division_code, result, detail, prev_hash, hash, mac`

func scan(rows interface{ Scan(...any) error }) (Entry, error) {
	var e Entry
	var at db.Time
	if err := rows.Scan(&e.Seq, &at, &e.ActorID, &e.Actor, &e.Role, &e.IP, &e.Action, &e.Object, &e.ObjectID, &e.Division, &e.Result, &e.Detail, &e.PrevHash, &e.Hash, &e.MAC); err != nil {
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
	// Before lists only entries older than this sequence number: the
	// position a page continues from (0: the newest).
	Before int64
}

// DefaultCountCap bounds a search's count: the log grows without end, so
// beyond this many matches the total reads "10,000+" instead of counting
// them all.
const DefaultCountCap = 10000

func (l *Log) countCap() int {
	if l.CountCap > 0 {
		return l.CountCap
	}
	return DefaultCountCap
}

// Page is a page of a search, newest first.
type Page struct {
	Entries []Entry
	// Total entries match, exactly unless Capped: more than the log's
	// CountCap match.
	Total  int
	Capped bool
	// Next is the Before of the following page (0: this is the last).
	Next int64
}

// Search lists entries newest first, from f.Before on, with a bounded
// count. Pages continue by sequence number, so a deep page costs what the
// first does and entries written between reads neither repeat nor vanish.
func (l *Log) Search(ctx context.Context, f Filter, limit int) (Page, error) {
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
	var p Page
	bound := l.countCap()
	if err := l.DB.R.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM (SELECT 1 FROM audit_log WHERE %s LIMIT %d) m`, where, bound+1), args...).Scan(&p.Total); err != nil {
		return Page{}, err
	}
	if p.Total > bound {
		p.Total, p.Capped = bound, true
	}
	if f.Before > 0 {
		add("seq < $?", f.Before)
	}
	rows, err := l.DB.R.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM audit_log WHERE %s ORDER BY seq DESC LIMIT %d`, columns, where, limit+1), args...)
	if err != nil {
		return Page{}, err
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return Page{}, err
		}
		p.Entries = append(p.Entries, e)
	}
	if len(p.Entries) > limit {
		p.Entries = p.Entries[:limit]
		p.Next = p.Entries[limit-1].Seq
	}
	return p, rows.Err()
}

// Count is how many entries the log holds.
func (l *Log) Count(ctx context.Context) (int, error) {
	var n int
	err := l.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log`).Scan(&n)
	return n, err
}
