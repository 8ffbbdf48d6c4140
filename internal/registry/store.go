package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/memo"
	"linli/internal/module"
	"linli/internal/registry/idno"
	"linli/internal/secret"
)

// Store reads and writes the registry. Every method takes the caller from
// ctx and applies its division scope inside the SQL it runs.
type Store struct {
	DB    *db.DB
	Keys  *secret.Keyring
	Audit *audit.Log
	Divs  module.Divisions
	// Now is the clock every date and time of the registry comes from
	// (required: a test moves it instead of sleeping).
	Now func() time.Time
	// Files is the folder of export files made by jobs (empty: no jobs).
	Files string
	// AsyncRows is the count above which a page's export becomes a job
	// (0: DefaultAsyncRows).
	AsyncRows int
	// jobsWake tells the job worker a job is waiting (nil: it polls).
	jobsWake chan struct{}
	// probes holds back accounts that collect refusals of ID numbers
	// registered outside their jurisdiction.
	probes probes
	// maps keeps the drawn facility maps (nil: drawn on every view; see
	// KeepMaps); facilityWrites counts this store's writes of facilities
	// and their catalogue, so that a kept map is drawn again after one.
	maps           *memo.Cache[FacilityMap]
	facilityWrites atomic.Uint64
}

// KeepMaps keeps each drawn facility map for ttl, or until this store
// writes a facility or a category: a county's map takes milliseconds of
// CPU to read and draw on every view, and facilities change seldom.
// Writes by another process (an import from the command line) show
// within ttl.
func (s *Store) KeepMaps(ttl time.Duration) {
	s.maps = memo.New[FacilityMap](ttl, s.Now, s.facilityWrites.Load, nil)
}

// facilitiesWritten marks every kept map old (deferred by each write of
// facilities or categories, so that it moves after the commit).
func (s *Store) facilitiesWritten() { s.facilityWrites.Add(1) }

// today is the calendar date in China Standard Time.
func (s *Store) today() string { return s.Now().In(cst).Format("2006-01-02") }

var cst = time.FixedZone("CST", 8*3600)

// where builds a WHERE clause with numbered placeholders: each "?" in a
// condition becomes the next $N.
type where struct {
	conds []string
	args  []any
	// from replaces a list's table when the conditions call for another
	// access path ("" for the plain table).
	from string
}

func (w *where) add(cond string, vals ...any) {
	var b strings.Builder
	i := 0
	for _, r := range cond {
		if r == '?' && i < len(vals) {
			w.args = append(w.args, vals[i])
			i++
			b.WriteString("$" + strconv.Itoa(len(w.args)))
			continue
		}
		b.WriteRune(r)
	}
	w.conds = append(w.conds, b.String())
}

// scope adds the caller's subtree and an optional narrower division filter
// on column col.
func (w *where) scope(ctx context.Context, col, division string) {
	sc := access.ScopeOf(ctx)
	w.add(col+" >= ? AND "+col+" < ?", sc.Lo, sc.Hi)
	if division != "" {
		sub := access.Subtree(division)
		w.add(col+" >= ? AND "+col+" < ?", sub.Lo, sub.Hi)
	}
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return "1=1"
	}
	return strings.Join(w.conds, " AND ")
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Roles allowed each kind of work.
func canReadPeople(p *access.Principal) bool {
	return p != nil && (p.Role == access.CommunityWorker || p.Role == access.GridWorker || p.Role == access.Officer)
}

func canWrite(p *access.Principal) bool {
	return p != nil && (p.Role == access.CommunityWorker || p.Role == access.Officer)
}

func canReadResources(p *access.Principal) bool { return p != nil && p.Role.Business() }

// canReveal tells whether p may see the full value of a field: community
// workers and officers any field, grid workers the phone only.
func canReveal(p *access.Principal, field string) bool {
	switch {
	case p == nil:
		return false
	case p.Role == access.CommunityWorker || p.Role == access.Officer:
		return true
	case p.Role == access.GridWorker:
		return field == "phone"
	}
	return false
}

var (
	errNoRead  = fault.Forbidden(fault.M("您的角色不能查看登记库中的个人信息", "your role may not read personal records in the registry"))
	errNoWrite = fault.Forbidden(fault.M("您的角色不能修改登记库", "your role may not change the registry"))
)

// checkDivision checks that code is a village/community inside the
// caller's scope, naming field in the message.
func (s *Store) checkDivision(ctx context.Context, field, code string) error {
	if !divisions.ValidCode(code) || divisions.LevelOf(code) != 5 {
		return fault.Invalid(fault.M("区划代码须为 12 位村(社区)代码", "the division must be a 12-digit village/community code"),
			fault.Field(field, fault.M("须为 12 位村(社区)代码，如 330106002051", "must be a 12-digit village/community code such as 330106002051")))
	}
	if !access.ScopeOf(ctx).Contains(code) {
		return fault.Invalid(fault.M("区划 "+code+" 不在您的管辖范围内", "division "+code+" is outside your jurisdiction"),
			fault.Field(field, fault.M("不在您的管辖范围内", "outside your jurisdiction")))
	}
	if _, err := s.Divs.Get(ctx, code); errors.Is(err, db.ErrNotFound) {
		return fault.Invalid(fault.M("区划 "+code+" 不存在", "division "+code+" does not exist"),
			fault.Field(field, fault.M("区划代码不存在", "no such division")))
	} else if err != nil {
		return err
	}
	return nil
}

// checkFilterDivision validates a ?division= filter: empty, or a valid code.
func checkFilterDivision(code string) error {
	if code != "" && !divisions.ValidCode(code) {
		return fault.Invalid(fault.M("区划代码格式不正确", "malformed division code"), fault.Field("division", fault.M("须为 2/4/6/9/12 位区划代码", "must be a 2/4/6/9/12-digit division code")))
	}
	return nil
}

func notFound(what fault.Msg) error { return fault.NotFound(what) }

// rowReader is what *sql.DB and *sql.Tx have for one-row reads.
type rowReader interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// found scans the row a look-up may find: false without error when there
// is none, so that a missing row is told apart from a failed read.
func found(row *sql.Row, dest ...any) (bool, error) {
	err := row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// idnoMsg is the message of an ID number or phone that idno refused.
func idnoMsg(err error) fault.Msg {
	var e *idno.Error
	if errors.As(err, &e) {
		return fault.M(e.ZH, e.EN)
	}
	return fault.M(err.Error(), err.Error())
}

func (s *Store) record(ctx context.Context, tx *sql.Tx, action, object, id, division string, detail any) error {
	e := audit.Entry{Action: action, Object: object, ObjectID: id, Division: division}
	if detail != nil {
		e.Detail = audit.Detail(detail)
	}
	return s.Audit.RecordTx(ctx, tx, e)
}

// execUnique runs one statement in tx, turning a unique-key clash into dup,
// the message that tells the user which natural key is taken.
func execUnique(ctx context.Context, tx *sql.Tx, dup error, query string, args ...any) (sql.Result, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if db.IsUniqueViolation(err) {
		return nil, dup
	}
	return res, err
}

// writeRecorded runs one insert or update that may clash with a natural
// key (answered with dup) and records action on the object in the same
// transaction: the write and its audit entry commit together or not at all.
func (s *Store) writeRecorded(ctx context.Context, dup error, action, object, id, division, query string, args ...any) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := execUnique(ctx, tx, dup, query, args...); err != nil {
			return err
		}
		return s.record(ctx, tx, action, object, id, division, nil)
	})
}

// adjustTags adds delta to the count of tag at code and at each of its
// ancestors, so that a summary for any division is one indexed read.
func (s *Store) adjustTags(ctx context.Context, tx *sql.Tx, code, tag string, delta int64) error {
	if delta == 0 {
		return nil
	}
	for _, c := range append(divisions.Ancestors(code), code) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO reg_tag_counts (division_code, lvl, tag, n) VALUES ($1, $2, $3, $4)
			ON CONFLICT (division_code, tag) DO UPDATE SET n = reg_tag_counts.n + excluded.n`, c, divisions.LevelOf(c), tag, delta); err != nil {
			return err
		}
	}
	return nil
}

// tagDeltas accumulates count changes for a bulk write and applies them once.
type tagDeltas map[[2]string]int64

func (t tagDeltas) add(code, tag string, d int64) { t[[2]string{code, tag}] += d }

func (s *Store) applyDeltas(ctx context.Context, tx *sql.Tx, t tagDeltas) error {
	up := tagDeltas{}
	for k, d := range t {
		for _, c := range append(divisions.Ancestors(k[0]), k[0]) {
			up.add(c, k[1], d)
		}
	}
	for k, d := range up {
		if d == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO reg_tag_counts (division_code, lvl, tag, n) VALUES ($1, $2, $3, $4)
			ON CONFLICT (division_code, tag) DO UPDATE SET n = reg_tag_counts.n + excluded.n`, k[0], divisions.LevelOf(k[0]), k[1], d); err != nil {
			return err
		}
	}
	return nil
}

// ExpireTags marks tags whose end date has passed as inactive and takes
// them out of the counts. It is cheap when nothing has expired (one
// indexed probe) and runs before summaries are read.
func (s *Store) ExpireTags(ctx context.Context) error {
	today := s.today()
	var one int
	err := s.DB.R.QueryRowContext(ctx, `SELECT 1 FROM reg_resident_tags WHERE active = TRUE AND until_date > '' AND until_date < $1 LIMIT 1`, today).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		type expired struct{ id, code, tag string }
		gone, err := db.Collect(ctx, tx, func(row db.Scanner) (expired, error) {
			var e expired
			err := row.Scan(&e.id, &e.code, &e.tag)
			return e, err
		}, `SELECT id, division_code, tag FROM reg_resident_tags WHERE active = TRUE AND until_date > '' AND until_date < $1`, today)
		if err != nil {
			return err
		}
		d := tagDeltas{}
		for _, e := range gone {
			if _, err := tx.ExecContext(ctx, `UPDATE reg_resident_tags SET active = FALSE WHERE id = $1`, e.id); err != nil {
				return err
			}
			d.add(e.code, e.tag, -1)
		}
		return s.applyDeltas(ctx, tx, d)
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

func auditDenied(action, id, field, reason string) audit.Entry {
	return audit.Entry{Action: action, Object: "resident", ObjectID: id, Result: audit.Denied, Detail: audit.Detail(map[string]string{"field": field, "reason": reason})}
}

type contextT = context.Context

func jsonMarshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
