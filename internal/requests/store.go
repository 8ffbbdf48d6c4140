package requests

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/pii"
	"linli/internal/secret"
)

// errNoRequest answers for a request that does not exist or that the
// caller may not see: the two are indistinguishable on purpose.
var errNoRequest = fault.NotFound(fault.M("诉求不存在或不在您的辖区内", "no such request in your area"))

var errUnauthenticated = fault.New(fault.CodeUnauthenticated, fault.M("请先登录", "authentication required"))

// Status is a lifecycle state of a request.
type Status string

// The lifecycle states.
const (
	Submitted   Status = "submitted"
	Accepted    Status = "accepted"
	Assigned    Status = "assigned"
	InProgress  Status = "in_progress"
	Answered    Status = "answered"
	Evaluated   Status = "evaluated"
	Closed      Status = "closed"
	Returned    Status = "returned"
	Transferred Status = "transferred"
	Merged      Status = "merged"
	Rejected    Status = "rejected"
	Reopened    Status = "reopened"
)

// Statuses lists every state in lifecycle order.
var Statuses = []Status{Submitted, Accepted, Assigned, InProgress, Answered, Evaluated, Closed, Returned, Transferred, Merged, Rejected, Reopened}

// Label is the bilingual name of a state.
func (s Status) Label() fault.Msg {
	return map[Status]fault.Msg{
		Submitted: fault.M("待受理", "Submitted"), Accepted: fault.M("已受理", "Accepted"), Assigned: fault.M("已派单", "Assigned"),
		InProgress: fault.M("办理中", "In progress"), Answered: fault.M("已办结", "Answered"), Evaluated: fault.M("已评价", "Evaluated"),
		Closed: fault.M("已关闭", "Closed"), Returned: fault.M("已退回", "Returned"), Transferred: fault.M("已转办", "Transferred"),
		Merged: fault.M("已合并", "Merged"), Rejected: fault.M("不予受理", "Rejected"), Reopened: fault.M("已重办", "Reopened"),
	}[s]
}

// Open tells whether the request still waits for the handling unit.
func (s Status) Open() bool {
	switch s {
	case Submitted, Accepted, Assigned, InProgress, Returned, Transferred, Reopened:
		return true
	}
	return false
}

// responsePhase: states whose response (受理) clock runs.
var responsePhase = []Status{Submitted, Transferred, Returned}

// resolvePhase: states whose resolution (办结) clock runs.
var resolvePhase = []Status{Submitted, Transferred, Returned, Accepted, Assigned, InProgress, Reopened}

// Ratings of an evaluation.
const (
	Satisfied      = "satisfied"
	FairlySatisfed = "fairly_satisfied"
	Unsatisfied    = "unsatisfied"
)

// Request is one resident request. Personal fields of the reporter are only
// ever returned masked; its free texts are masked except to their reporter
// (see private.go).
type Request struct {
	ID          string `json:"id"`
	Number      string `json:"number"`
	Division    string `json:"division_code"`
	Unit        string `json:"unit_code"`
	UnitName    string `json:"unit_name"`
	Category    string `json:"category"`
	Status      Status `json:"status"`
	Version     int    `json:"version"`
	Channel     string `json:"channel"`
	Description string `json:"description"`
	Address     string `json:"address"`
	MediaURL    string `json:"media_url,omitempty"`
	// Ref links the request to what it was raised from (visit:<id>: a
	// care visit's finding).
	Ref             string            `json:"ref,omitempty"`
	PersonalData    bool              `json:"personal_data"`  // the description or address held personal data: shown masked
	PublicCleared   bool              `json:"public_cleared"` // a worker cleared the masked description for Open311
	Lon             *float64          `json:"lon,omitempty"`
	Lat             *float64          `json:"lat,omitempty"`
	Attributes      map[string]string `json:"attributes"`
	ReporterID      string            `json:"reporter_id,omitempty"`
	ReporterName    string            `json:"reporter_name,omitempty"`
	ReporterPhone   string            `json:"reporter_phone,omitempty"`
	Assignee        string            `json:"assignee,omitempty"`
	MergedInto      string            `json:"merged_into,omitempty"`
	Reply           string            `json:"reply,omitempty"`
	Reason          string            `json:"reason,omitempty"`
	Rating          string            `json:"rating,omitempty"`
	RatingComment   string            `json:"rating_comment,omitempty"`
	ReopenCount     int               `json:"reopen_count"`
	ReturnCount     int               `json:"return_count"`
	EscalationLevel int               `json:"escalation_level"`
	Token           string            `json:"-"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
	AcceptedAt      *time.Time        `json:"accepted_at,omitempty"`
	AnsweredAt      *time.Time        `json:"answered_at,omitempty"`
	ClosedAt        *time.Time        `json:"closed_at,omitempty"`
	ResponseDue     time.Time         `json:"response_due"`
	ResolveDue      time.Time         `json:"resolve_due"`
	ResponseMet     *bool             `json:"response_met,omitempty"`
	ResolveMet      *bool             `json:"resolve_met,omitempty"`
	ResponseStage   int               `json:"-"`
	ResolveStage    int               `json:"-"`
	Events          []Event           `json:"events,omitempty"`

	nameSealed, phoneSealed, emailSealed string
	sealed                               originals
	checked                              bool // its texts went through the detector
}

// Overdue tells whether a running clock has passed its deadline at now.
func (r Request) Overdue(now time.Time) bool {
	if r.ResponseMet == nil && inStates(r.Status, responsePhase) && now.After(r.ResponseDue) {
		return true
	}
	return r.ResolveMet == nil && inStates(r.Status, resolvePhase) && now.After(r.ResolveDue)
}

func inStates(s Status, set []Status) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

// Event is one step of a request's timeline.
type Event struct {
	Seq    int       `json:"seq"`
	Action string    `json:"action"`
	From   Status    `json:"from_status"`
	To     Status    `json:"to_status"`
	Unit   string    `json:"unit_code"`
	Actor  string    `json:"actor"`
	Role   string    `json:"role"`
	Note   string    `json:"note"`
	At     time.Time `json:"at"`

	id, noteSealed string
}

// Notifier delivers a notice outside the app (SMS gateway, 浙里办 message);
// a deployment binds it. Errors are logged, never block the loop: the inbox
// row is the durable record.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// Store reads and writes requests, scoped by the principal in the context.
type Store struct {
	DB       *db.DB
	Keys     *secret.Keyring
	Audit    *audit.Log
	Divs     module.Divisions
	Now      func() time.Time // the clock; required
	Log      *slog.Logger     // where failed notifier deliveries are reported
	Calendar *Calendar
	Notifier Notifier
	// Tell tells reporters with an account what became of their
	// requests (nil: nobody is told in the app).
	Tell module.Notifier
	// Locate finds the village/community at a point within a division
	// (nil: requests stay with the division they name).
	Locate func(ctx context.Context, lon, lat float64, within string) (code string, ok bool, err error)
	// WarnBefore is how long before a deadline the SLA job warns.
	WarnBefore time.Duration
	// ReopenWithin is how long after the answer a reporter may reopen.
	ReopenWithin time.Duration
	// AutoCloseAfter is how long after the answer the SLA job closes a
	// request the reporter has not evaluated (0: 7 calendar days; negative:
	// never).
	AutoCloseAfter time.Duration

	catMu sync.Mutex
	cats  []Category
	catAt time.Time

	divCache sync.Map // code → divisions.Division (reference data, immutable while running)
	keyCache sync.Map // key hash → cachedKey
	batch    batcher
}

// division reads a division through a cache: they are reference data that
// only change by a migration at start.
func (s *Store) division(ctx context.Context, code string) (divisions.Division, error) {
	if d, ok := s.divCache.Load(code); ok {
		return d.(divisions.Division), nil
	}
	d, err := s.Divs.Get(ctx, code)
	if err == nil {
		s.divCache.Store(code, d)
	}
	return d, err
}

func (s *Store) cal() *Calendar {
	if s.Calendar != nil {
		return s.Calendar
	}
	return DefaultCalendar
}

func (s *Store) warnBefore() time.Duration {
	if s.WarnBefore > 0 {
		return s.WarnBefore
	}
	return 2 * time.Hour
}

func (s *Store) reopenWithin() time.Duration {
	if s.ReopenWithin > 0 {
		return s.ReopenWithin
	}
	return 7 * 24 * time.Hour
}

func (s *Store) autoCloseAfter() time.Duration {
	if s.AutoCloseAfter == 0 {
		return 7 * 24 * time.Hour
	}
	return s.AutoCloseAfter
}

const cols = `id, number, division_code, unit_code, unit_name, category, status, version, channel, description, address, lon, lat, attributes,
	reporter_id, reporter_name, reporter_phone, reporter_email, assignee, merged_into, reply, reason, rating, rating_comment,
	reopen_count, return_count, escalation_level, token, created_at, updated_at, accepted_at, answered_at, closed_at,
	response_due, resolve_due, response_met, resolve_met, response_stage, resolve_stage,
	media_url, personal, cleared_at, pii_checked, description_sealed, address_sealed, reply_sealed, reason_sealed, comment_sealed, ref`

func scan(row interface{ Scan(...any) error }) (Request, error) {
	var r Request
	var lon, lat sql.NullFloat64
	var attrs string
	var created, updated, acc, ans, closed, rdue, sdue, cleared db.Time
	var rmet, smet sql.NullBool
	o := &r.sealed
	err := row.Scan(&r.ID, &r.Number, &r.Division, &r.Unit, &r.UnitName, &r.Category, &r.Status, &r.Version, &r.Channel, &r.Description, &r.Address, &lon, &lat, &attrs,
		&r.ReporterID, &r.nameSealed, &r.phoneSealed, &r.emailSealed, &r.Assignee, &r.MergedInto, &r.Reply, &r.Reason, &r.Rating, &r.RatingComment,
		&r.ReopenCount, &r.ReturnCount, &r.EscalationLevel, &r.Token, &created, &updated, &acc, &ans, &closed, &rdue, &sdue, &rmet, &smet, &r.ResponseStage, &r.ResolveStage,
		&r.MediaURL, &r.PersonalData, &cleared, &r.checked, &o.description, &o.address, &o.reply, &o.reason, &o.comment, &r.Ref)
	if errors.Is(err, sql.ErrNoRows) {
		return r, errNoRequest
	}
	if err != nil {
		return r, err
	}
	if lon.Valid && lat.Valid {
		r.Lon, r.Lat = &lon.Float64, &lat.Float64
	}
	if r.Attributes, err = decodeAttrs(attrs); err != nil {
		return r, fmt.Errorf("request %s: %w", r.Number, err)
	}
	r.CreatedAt, r.UpdatedAt, r.ResponseDue, r.ResolveDue = created.Time, updated.Time, rdue.Time, sdue.Time
	opt := func(t db.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		v := t.Time
		return &v
	}
	r.AcceptedAt, r.AnsweredAt, r.ClosedAt = opt(acc), opt(ans), opt(closed)
	r.PublicCleared = !cleared.IsZero()
	if rmet.Valid {
		r.ResponseMet = &rmet.Bool
	}
	if smet.Valid {
		r.ResolveMet = &smet.Bool
	}
	return r, nil
}

// reveal fills the masked reporter fields.
func (s *Store) reveal(r *Request) error {
	if r.nameSealed != "" {
		v, err := s.Keys.Open(r.nameSealed, "requests.name:"+r.ID)
		if err != nil {
			return fmt.Errorf("request %s: reporter name: %w", r.Number, err)
		}
		r.ReporterName = maskName(v)
	}
	if r.phoneSealed != "" {
		v, err := s.Keys.Open(r.phoneSealed, "requests.phone:"+r.ID)
		if err != nil {
			return fmt.Errorf("request %s: reporter phone: %w", r.Number, err)
		}
		r.ReporterPhone = pii.MaskPhone(v)
	}
	return nil
}

func maskName(v string) string {
	rs := []rune(v)
	if len(rs) <= 1 {
		return v
	}
	return string(rs[:1]) + strings.Repeat("*", len(rs)-1)
}

// scopeSQL returns the scope condition on the alias r, numbered from n:
// the principal's division subtree, and for residents only their own
// requests and the originals they follow after a merge.
func scopeSQL(ctx context.Context, n int) (string, []any) {
	p := access.From(ctx)
	sc := access.ScopeOf(ctx)
	cond := fmt.Sprintf(" AND r.division_code >= $%d AND r.division_code < $%d", n, n+1)
	args := []any{sc.Lo, sc.Hi}
	if p != nil && p.Role == access.Resident {
		cond += fmt.Sprintf(" AND (r.reporter_id = $%d OR r.id IN (SELECT m.merged_into FROM requests m WHERE m.reporter_id = $%d AND m.merged_into <> ''))", n+2, n+2)
		args = append(args, p.UserID)
	} else if p != nil && p.Role == access.Provider {
		args = []any{access.Nothing.Lo, access.Nothing.Hi}
	}
	grid, gargs := gridSQL(p, n+len(args))
	return cond + grid, append(args, gargs...)
}

// gridSQL narrows a grid worker, numbered from n, to the requests of their
// grids: those of the resident accounts living in them (as the registry
// publishes them in registry_grid_accounts), those dispatched to them by
// name and those they recorded. Other roles are not narrowed.
func gridSQL(p *access.Principal, n int) (string, []any) {
	if p == nil || p.Role != access.GridWorker {
		return "", nil
	}
	return fmt.Sprintf(` AND (r.reporter_id IN (SELECT u.id FROM users u JOIN registry_grid_accounts g ON g.resident = u.username WHERE g.grid_worker = $%d)`+
		` OR r.assignee = $%d OR EXISTS (SELECT 1 FROM request_events ev WHERE ev.request_id = r.id AND ev.seq = 1 AND ev.actor_id = $%d))`, n, n, n+1), []any{p.Username, p.UserID}
}

// Get returns a request in the caller's scope with its timeline.
func (s *Store) Get(ctx context.Context, id string) (Request, error) {
	cond, args := scopeSQL(ctx, 2)
	r, err := scan(s.DB.R.QueryRowContext(ctx, `SELECT `+cols+` FROM requests r WHERE (r.id = $1 OR r.number = $1)`+cond, append([]any{id}, args...)...))
	if err != nil {
		return r, err
	}
	if r.Events, err = s.events(ctx, r.ID); err != nil {
		return r, err
	}
	return r, s.present(ctx, &r)
}

func (s *Store) events(ctx context.Context, id string) ([]Event, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, seq, action, from_status, to_status, unit_code, actor, role, note, note_sealed, at FROM request_events WHERE request_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at db.Time
		if err := rows.Scan(&e.id, &e.Seq, &e.Action, &e.From, &e.To, &e.Unit, &e.Actor, &e.Role, &e.Note, &e.noteSealed, &at); err != nil {
			return nil, err
		}
		e.At = at.Time
		out = append(out, e)
	}
	return out, rows.Err()
}

// Filter selects requests for lists and the inbox.
type Filter struct {
	Status   []Status
	Category string
	Box      string // new, due, overdue, returned, reopened, mine, open, done
	Q        string // number prefix or text
	Sort     string // created, -created, due
	Within   string // division subtree inside the caller's scope
	Unit     string // handling unit (exact)
}

// List returns a page of requests in the caller's scope after the cursor
// ("" for the first page), with its total counted up to ListCountCap.
func (s *Store) List(ctx context.Context, f Filter, cursor string, limit int) (Page, error) {
	return s.list(ctx, s.DB.R, f, cursor, limit)
}

// reader is where a read runs: the store's pool, or a transaction that
// must see its own writes.
type reader interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) list(ctx context.Context, q reader, f Filter, cursor string, limit int) (Page, error) {
	l, err := s.listSQL(ctx, f, cursor, limit)
	if err != nil {
		return Page{}, err
	}
	var pg Page
	if err := q.QueryRowContext(ctx, l.count, l.countArgs...).Scan(&pg.Total); err != nil {
		return Page{}, err
	}
	pg.Capped = pg.Total > ListCountCap
	// The page is chosen on the sort key and the id alone, then its rows
	// are read whole: sorting a county's every request with all its
	// columns costs more than the page.
	ids, err := db.Collect(ctx, q, db.Value[string], l.pick, l.args...)
	if err != nil || len(ids) == 0 {
		return pg, err
	}
	more := len(ids) > limit
	ids = ids[:min(len(ids), limit)]
	byID := map[string]Request{}
	marks := make([]any, len(ids))
	for i, id := range ids {
		marks[i] = id
	}
	rows, err := q.QueryContext(ctx, `SELECT `+cols+` FROM requests r WHERE r.id IN `+s.DB.Values(0, len(ids)), marks...)
	if err != nil {
		return Page{}, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return Page{}, err
		}
		if err := s.present(ctx, &r); err != nil {
			return Page{}, err
		}
		byID[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return Page{}, err
	}
	pg.Items = make([]Request, 0, len(ids))
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			pg.Items = append(pg.Items, r)
		}
	}
	if more && len(pg.Items) > 0 {
		pg.Next = s.sealCursor(l.order, pg.Items[len(pg.Items)-1])
	}
	return pg, nil
}

// listSQL is List's two statements: the bounded count of the filtered
// requests in the caller's scope, and the pick of a page's ids (one more
// than the page, to know whether another follows) after the cursor's key
// in the list's order.
//
// A county or wider reads its page in the order of the time-first index,
// stopping at the page, as PostgreSQL does on its own: SQLite's planner
// guesses a division range to hold a small share of the table and sorts
// the county's every request for a page of twenty (2.6 ms of C SQLite on
// the county demo, against 0.16 ms). A narrower scope or a filter on the
// subtree, the unit or the text keeps the division's index: walking the
// county's time order would read the neighbours' requests too.
func (s *Store) listSQL(ctx context.Context, f Filter, cursor string, limit int) (listQuery, error) {
	cond, args := scopeSQL(ctx, 1)
	where := "1=1" + cond
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	now := s.Now()
	inList := func(ss []Status) string {
		var ps []string
		for _, x := range ss {
			ps = append(ps, arg(string(x)))
		}
		return "r.status IN (" + strings.Join(ps, ",") + ")"
	}
	if len(f.Status) > 0 {
		where += " AND " + inList(f.Status)
	}
	if f.Category != "" {
		where += " AND r.category = " + arg(f.Category)
	}
	if f.Within != "" {
		sc := access.Subtree(f.Within)
		where += " AND r.division_code >= " + arg(sc.Lo) + " AND r.division_code < " + arg(sc.Hi)
	}
	if f.Unit != "" {
		where += " AND r.unit_code = " + arg(f.Unit)
	}
	if f.Q != "" {
		q := strings.ToUpper(strings.TrimSpace(f.Q))
		if strings.HasPrefix(q, "MH-") {
			where += " AND r.number >= " + arg(q) + " AND r.number < " + arg(q+"\x7f")
		} else {
			where += " AND r.description LIKE " + arg("%"+strings.NewReplacer("%", "", "_", "").Replace(f.Q)+"%")
		}
	}
	switch f.Box {
	case "new":
		where += " AND " + inList([]Status{Submitted, Transferred})
	case "due":
		where += " AND ((r.response_met IS NULL AND " + inList(responsePhase) + " AND r.response_due > " + arg(db.T(now)) + " AND r.response_due <= " + arg(db.T(now.Add(s.warnBefore()))) + ")" +
			" OR (r.resolve_met IS NULL AND " + inList(resolvePhase) + " AND r.resolve_due > " + arg(db.T(now)) + " AND r.resolve_due <= " + arg(db.T(now.Add(s.warnBefore()))) + "))"
	case "overdue":
		where += " AND ((r.response_met IS NULL AND " + inList(responsePhase) + " AND r.response_due <= " + arg(db.T(now)) + ")" +
			" OR (r.resolve_met IS NULL AND " + inList(resolvePhase) + " AND r.resolve_due <= " + arg(db.T(now)) + "))"
	case "returned":
		where += " AND r.status = " + arg(string(Returned))
	case "reopened":
		where += " AND r.status = " + arg(string(Reopened))
	case "open":
		where += " AND " + inList(resolvePhase)
	case "done":
		where += " AND " + inList([]Status{Answered, Evaluated, Closed, Rejected, Merged})
	}
	o := orderOf(f.Sort)
	count := `SELECT COUNT(*) FROM (SELECT 1 FROM requests r WHERE ` + where + ` LIMIT ` + strconv.Itoa(ListCountCap+1) + `) t`
	countArgs := slices.Clone(args)
	if cursor != "" {
		at, id, err := s.openCursor(cursor, o)
		if err != nil {
			return listQuery{}, err
		}
		where += " AND (" + o.col + ", r.id) " + o.after + " (" + arg(db.T(at)) + ", " + arg(id) + ")"
	}
	from := "requests r"
	p := access.From(ctx)
	if s.DB.Dialect == db.SQLite && p != nil && p.Role == access.Officer && len(access.ScopeOf(ctx).Lo) <= 6 &&
		(f.Sort == "" || f.Sort == "created") && f.Within == "" && f.Unit == "" && f.Q == "" {
		from += " INDEXED BY requests_window_time"
	}
	pick := `SELECT r.id FROM ` + from + ` WHERE ` + where + ` ORDER BY ` + o.by + ` LIMIT ` + arg(limit+1)
	return listQuery{order: o, count: count, countArgs: countArgs, pick: pick, args: args}, nil
}

// Duplicates suggests likely duplicates of r: same category, same community
// (or within about 300 m), still open, submitted in the last 14 days.
// A resident is shown only the number, category, state and time of others'
// requests, never their text.
func (s *Store) Duplicates(ctx context.Context, r Request) ([]Request, error) {
	sc := access.ScopeOf(ctx)
	cond, args := " AND r.division_code >= $1 AND r.division_code < $2", []any{sc.Lo, sc.Hi}
	p := access.From(ctx)
	resident := p != nil && p.Role == access.Resident
	args = append(args, r.Category, r.ID, db.T(r.CreatedAt.Add(-14*24*time.Hour)))
	n := len(args)
	where := fmt.Sprintf(`r.category = $%d AND r.id <> $%d AND r.created_at >= $%d AND r.status IN ('submitted','accepted','assigned','in_progress','returned','transferred','reopened')`, n-2, n-1, n)
	if r.Lon != nil {
		const d = 0.003 // about 300 m
		args = append(args, *r.Lon-d, *r.Lon+d, *r.Lat-d, *r.Lat+d, r.Division)
		m := len(args)
		where += fmt.Sprintf(` AND ((r.lon BETWEEN $%d AND $%d AND r.lat BETWEEN $%d AND $%d) OR (r.lon IS NULL AND r.division_code = $%d))`, m-4, m-3, m-2, m-1, m)
	} else {
		args = append(args, r.Division)
		where += fmt.Sprintf(` AND r.division_code = $%d`, len(args))
	}
	grid, gargs := gridSQL(p, len(args)+1)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+cols+` FROM requests r WHERE `+where+cond+grid+` ORDER BY r.created_at DESC LIMIT 5`, append(args, gargs...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, err
		}
		if resident && x.ReporterID != p.UserID {
			x = Request{ID: x.ID, Number: x.Number, Category: x.Category, Status: x.Status, Division: x.Division, UnitName: x.UnitName, CreatedAt: x.CreatedAt, ResolveDue: x.ResolveDue, ResponseDue: x.ResponseDue}
		} else if err := s.present(ctx, &x); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func decodeAttrs(s string) (map[string]string, error) {
	m := map[string]string{}
	if s != "" && s != "[]" {
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return nil, fmt.Errorf("attributes: %w", err)
		}
	}
	return m, nil
}

// RefHref is the page of what the request was raised from ("" for none).
func (r Request) RefHref() string {
	if id, ok := strings.CutPrefix(r.Ref, "visit:"); ok {
		return "/visits/" + id
	}
	if id, ok := strings.CutPrefix(r.Ref, "topic:"); ok {
		return "/deliberation/topics/" + id
	}
	return ""
}

// RefTopic tells whether the request was referred from a deliberation topic.
func (r Request) RefTopic() bool { return strings.HasPrefix(r.Ref, "topic:") }

// topicOf is the council topic a suggestion became, if any.
func (s *Store) topicOf(ctx context.Context, id string) (*topicLink, error) {
	var t topicLink
	err := s.DB.R.QueryRowContext(ctx, `SELECT topic_id, division_code, title FROM deliberation_topic_sources WHERE source = $1`, "request:"+id).Scan(&t.ID, &t.Division, &t.Title)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &t, nil
}
