package requests

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/module"
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
	ID              string            `json:"id"`
	Number          string            `json:"number"`
	Division        string            `json:"division_code"`
	Unit            string            `json:"unit_code"`
	UnitName        string            `json:"unit_name"`
	Category        string            `json:"category"`
	Status          Status            `json:"status"`
	Version         int               `json:"version"`
	Channel         string            `json:"channel"`
	Description     string            `json:"description"`
	Address         string            `json:"address"`
	MediaURL        string            `json:"media_url,omitempty"`
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
	media_url, personal, cleared_at, pii_checked, description_sealed, address_sealed, reply_sealed, reason_sealed, comment_sealed`

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
		&r.MediaURL, &r.PersonalData, &cleared, &r.checked, &o.description, &o.address, &o.reply, &o.reason, &o.comment)
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
		r.ReporterPhone = maskPhone(v)
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

func maskPhone(v string) string {
	if len(v) < 7 {
		return strings.Repeat("*", len(v))
	}
	return v[:3] + strings.Repeat("*", len(v)-7) + v[len(v)-4:]
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

// List returns a page of requests in the caller's scope.
func (s *Store) List(ctx context.Context, f Filter, offset, limit int) ([]Request, int, error) {
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
	order := "r.created_at DESC, r.id DESC"
	switch f.Sort {
	case "created":
		order = "r.created_at, r.id"
	case "due":
		order = "r.resolve_due, r.id"
	case "updated":
		order = "r.updated_at DESC, r.id"
	}
	var total int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM requests r WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+cols+` FROM requests r WHERE `+where+` ORDER BY `+order+` LIMIT `+arg(limit)+` OFFSET `+arg(offset), args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, 0, err
		}
		if err := s.present(ctx, &r); err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// NewRequest is what a reporter submits.
type NewRequest struct {
	Category    string            `json:"category"`
	Description string            `json:"description"`
	Division    string            `json:"division_code,omitempty"`
	Lon         *float64          `json:"lon,omitempty"`
	Lat         *float64          `json:"lat,omitempty"`
	Address     string            `json:"address,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	Channel     string            `json:"channel,omitempty"` // for workers: hotline, walkin
	Name        string            `json:"name,omitempty"`
	Phone       string            `json:"phone,omitempty"`
	Email       string            `json:"email,omitempty"`
	MediaURL    string            `json:"media_url,omitempty"` // a link to a photo or video of the place

	MultiAttrs map[string][]string `json:"-"` // form input (Open311, pages)
	Photo      *Photo              `json:"-"`
	SourceKey  string              `json:"-"` // Open311 key id
	KeyScope   string              `json:"-"` // Open311 key division
}

// Photo is an uploaded image.
type Photo struct {
	ContentType string
	Data        []byte
}

// MaxPhoto is the largest accepted photo.
const MaxPhoto = 5 << 20

// MaxDescription is the longest description in characters.
const MaxDescription = 4000

// Zhejiang's bounding box (WGS-84), generous by a few kilometres.
const (
	minLon, maxLon = 118.0, 123.3
	minLat, maxLat = 26.9, 31.3
)

// Channels of intake.
var workerChannels = map[string]bool{"hotline": true, "walkin": true}

// Create validates and stores a new request, numbering it and computing its
// deadlines in the same transaction.
func (s *Store) Create(ctx context.Context, in NewRequest) (Request, error) {
	p := access.From(ctx)
	var errs []fault.FieldError
	cat, err := s.Category(ctx, strings.TrimSpace(in.Category))
	if fault.Is(err, fault.CodeNotFound) {
		errs = append(errs, fault.Field("category", fault.M("未知的服务类别", "unknown service category")))
	} else if err != nil {
		return Request{}, err
	}
	desc := strings.TrimSpace(in.Description)
	switch n := utf8.RuneCountInString(desc); {
	case !utf8.ValidString(desc):
		errs = append(errs, fault.Field("description", fault.M("描述含无效字符", "description holds invalid characters")))
	case n == 0 && in.KeyScope == "": // GeoReport makes the description optional
		errs = append(errs, fault.Field("description", fault.M("请描述诉求", "please describe the request")))
	case n > MaxDescription:
		errs = append(errs, fault.Field("description", fault.M(fmt.Sprintf("描述不能超过 %d 字（现有 %d 字）", MaxDescription, n), fmt.Sprintf("description must be at most %d characters (it has %d)", MaxDescription, n))))
	}
	if (in.Lon == nil) != (in.Lat == nil) {
		errs = append(errs, fault.Field("lat", fault.M("经纬度须同时提供", "give both longitude and latitude")))
	} else if in.Lon != nil && (math.IsNaN(*in.Lon) || math.IsNaN(*in.Lat) || *in.Lon < minLon || *in.Lon > maxLon || *in.Lat < minLat || *in.Lat > maxLat) {
		errs = append(errs, fault.Field("lat", fault.M("位置不在浙江省范围内", "the location is outside Zhejiang")))
	}
	if utf8.RuneCountInString(in.Address) > 200 {
		errs = append(errs, fault.Field("address", fault.M("地址不能超过 200 字", "address must be at most 200 characters")))
	}
	in.MediaURL = strings.TrimSpace(in.MediaURL)
	if in.MediaURL != "" && !mediaURL(in.MediaURL) {
		errs = append(errs, fault.Field("media_url", fault.M("须为 http(s):// 开头、不超过 1000 字符的网址", "must be an http(s):// URL of at most 1000 characters")))
	}
	if len(in.Name) > 100 || len(in.Phone) > 30 || len(in.Email) > 200 {
		errs = append(errs, fault.Field("phone", fault.M("联系方式过长", "contact details too long")))
	}
	if in.Photo != nil {
		if len(in.Photo.Data) > MaxPhoto {
			errs = append(errs, fault.Field("photo", fault.M("照片不能超过 5 MB", "the photo must be at most 5 MB")))
		} else if ct := sniffImage(in.Photo.Data); ct == "" {
			errs = append(errs, fault.Field("photo", fault.M("只接受 JPEG、PNG 或 WebP 图片", "only JPEG, PNG or WebP images are accepted")))
		} else {
			in.Photo.ContentType = ct
		}
	}
	// Location: the community chosen, else the reporter's own unit.
	div := strings.TrimSpace(in.Division)
	channel := "web"
	reporter := ""
	scope := access.ScopeOf(ctx)
	switch {
	case in.KeyScope != "":
		channel, scope = "open311", access.Subtree(in.KeyScope)
		if div == "" {
			div = in.KeyScope
		}
	case p == nil:
		return Request{}, errUnauthenticated
	case p.Role == access.Resident:
		reporter = p.UserID
		if div == "" {
			div = p.Division
		}
	case p.Role == access.CommunityWorker || p.Role == access.GridWorker || p.Role == access.Officer:
		channel = in.Channel
		if channel == "" {
			channel = "hotline"
		}
		if !workerChannels[channel] && channel != "api" {
			errs = append(errs, fault.Field("channel", fault.M("渠道须为 hotline（12345 热线）、walkin（来访）或 api", "channel must be hotline (12345), walkin or api")))
		}
		if div == "" {
			div = p.Division
		}
	default:
		return Request{}, fault.Forbidden(fault.M("该角色不能提交诉求", "this role cannot submit requests"))
	}
	if p != nil && p.TokenID != "" && in.KeyScope == "" && p.Role != access.Resident {
		channel = "api"
	}
	// A place given only as coordinates inside a larger area is routed to
	// the community it lies in, as far as the deployment can tell.
	if s.Locate != nil && in.Lon != nil && in.Lat != nil && divisions.LevelOf(div) < 5 && scope.Contains(div) {
		if code, ok, err := s.Locate(ctx, *in.Lon, *in.Lat, div); err != nil {
			return Request{}, err
		} else if ok {
			div = code
		}
	}
	var unitDiv divisions.Division
	if !divisions.ValidCode(div) || !scope.Contains(div) {
		errs = append(errs, fault.Field("division_code", fault.M("请选择您所在辖区内的社区（村）", "choose a community (village) within your area")))
	} else if d, err := s.division(ctx, div); errors.Is(err, db.ErrNotFound) || (err == nil && d.Level < 3) {
		errs = append(errs, fault.Field("division_code", fault.M("区划代码不存在", "no such division code")))
	} else if err != nil {
		return Request{}, err
	} else {
		unitDiv = d
	}
	var attrs map[string]string
	if cat.Code != "" {
		multi := in.MultiAttrs
		if multi == nil {
			multi = map[string][]string{}
			for k, v := range in.Attributes {
				if strings.Contains(v, ",") {
					multi[k] = strings.Split(v, ",")
				} else {
					multi[k] = []string{v}
				}
			}
		}
		var aerrs []fault.FieldError
		attrs, aerrs = CheckAttributes(cat, multi)
		errs = append(errs, aerrs...)
	}
	if len(errs) > 0 {
		return Request{}, fault.Invalid(fault.M("诉求信息有误，请修改后重新提交", "the request has errors; please correct and resubmit"), errs...)
	}
	// Dispatch: the unit of the category's level that holds the location.
	unit, err := s.unitFor(ctx, unitDiv, cat.UnitLevel)
	if err != nil {
		return Request{}, err
	}
	now := s.Now()
	r := Request{ID: db.NewID(), Division: div, Unit: unit.Code, UnitName: unit.Name, Category: cat.Code, Status: Submitted, Version: 1, Channel: channel,
		Lon: in.Lon, Lat: in.Lat, Attributes: attrs, ReporterID: reporter, MediaURL: in.MediaURL, CreatedAt: now, UpdatedAt: now, checked: true}
	addr := strings.TrimSpace(in.Address)
	r.Description, r.sealed.description = s.seal(desc, "description", r.ID)
	r.Address, r.sealed.address = s.seal(addr, "address", r.ID)
	r.PersonalData = r.sealed.description != "" || r.sealed.address != ""
	r.Token = r.ID // GeoReport token: the request id, unguessable
	r.ResponseDue = s.cal().Due(now, cat.ResponseHours, cat.WorkingHours)
	r.ResolveDue = s.cal().Due(now, cat.ResolveHours, cat.WorkingHours)
	seal := func(v, field string) string {
		if v = strings.TrimSpace(v); v == "" {
			return ""
		}
		return s.Keys.Seal(v, "requests."+field+":"+r.ID)
	}
	name, phone, email := seal(in.Name, "name"), seal(in.Phone, "phone"), seal(in.Email, "email")
	phoneIdx := ""
	if ph := strings.TrimSpace(in.Phone); ph != "" {
		phoneIdx = s.Keys.Index("requests.phone", ph)
	}
	j := &createJob{ctx: context.WithoutCancel(ctx), r: &r, name: name, phone: phone, email: email, phoneIdx: phoneIdx, sourceKey: in.SourceKey,
		photo: in.Photo, actor: actorOf(ctx), done: make(chan error, 1)}
	if err := s.commitCreate(ctx, j); err != nil {
		return Request{}, err
	}
	if ownRequest(ctx, r) {
		r.Description, r.Address = desc, addr
	}
	return r, nil
}

// mediaURL tells whether v is an absolute http(s) address of sensible length.
func mediaURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && len(v) <= 1000 && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && utf8.ValidString(v) && !strings.ContainsAny(v, " \t\r\n\x00")
}

// writeCreates writes new requests with their numbers and events inside tx:
// one counter update per county and day, one multi-row insert per table.
func (s *Store) writeCreates(tx *sql.Tx, jobs []*createJob) error {
	ctx := context.Background()
	type key struct{ county, day string }
	groups := map[key][]*createJob{}
	var order []key
	for _, j := range jobs {
		k := key{j.r.Division[:6], j.r.CreatedAt.In(CST).Format("20060102")}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], j)
	}
	for _, k := range order {
		g := groups[k]
		var n int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO request_counters (county, day, n) VALUES ($1, $2, $3)
			ON CONFLICT (county, day) DO UPDATE SET n = request_counters.n + $3 RETURNING n`, k.county, k.day, len(g)).Scan(&n); err != nil {
			return err
		}
		for i, j := range g {
			j.r.Number = fmt.Sprintf("MH-%s-%s-%06d", k.county, k.day, n-int64(len(g))+int64(i)+1)
		}
	}
	var rq, ev strings.Builder
	var rargs, eargs []any
	for i, j := range jobs {
		r := j.r
		var lon, lat any
		if r.Lon != nil {
			lon, lat = *r.Lon, *r.Lat
		}
		if i > 0 {
			rq.WriteByte(',')
			ev.WriteByte(',')
		}
		rq.WriteString(s.DB.Values(len(rargs), 41))
		rargs = append(rargs, r.ID, r.Number, r.Division, r.Unit, r.UnitName, r.Category, string(r.Status), 1, r.Channel, r.Description, r.Address, lon, lat, mustJSON(r.Attributes),
			r.ReporterID, j.name, j.phone, j.email, j.phoneIdx, j.sourceKey, r.Token, "", "", "", "", "", "", 0, 0, 0,
			db.T(r.CreatedAt), db.T(r.CreatedAt), db.T(r.ResponseDue), db.T(r.ResolveDue), 0, 0,
			r.sealed.description, r.sealed.address, r.PersonalData, true, r.MediaURL)
		ev.WriteString(s.DB.Values(len(eargs), 13))
		eargs = append(eargs, db.NewID(), r.ID, r.Division, 1, "submit", "", string(Submitted), r.Unit, j.actor.id, j.actor.name, j.actor.role, channelNote(r.Channel), db.T(r.CreatedAt))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO requests (id, number, division_code, unit_code, unit_name, category, status, version, channel, description, address, lon, lat, attributes,
		reporter_id, reporter_name, reporter_phone, reporter_email, reporter_phone_idx, source_key, token, assignee, merged_into, reply, reason, rating, rating_comment,
		reopen_count, return_count, escalation_level, created_at, updated_at, response_due, resolve_due, response_stage, resolve_stage,
		description_sealed, address_sealed, personal, pii_checked, media_url) VALUES `+rq.String(), rargs...); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO request_events (id, request_id, division_code, seq, action, from_status, to_status, unit_code, actor_id, actor, role, note, at) VALUES `+ev.String(), eargs...); err != nil {
		return err
	}
	for _, j := range jobs {
		if j.photo != nil {
			if _, err := tx.ExecContext(ctx, `INSERT INTO request_attachments (id, request_id, division_code, content_type, size, data, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
				db.NewID(), j.r.ID, j.r.Division, j.photo.ContentType, len(j.photo.Data), j.photo.Data, db.T(j.r.CreatedAt)); err != nil {
				return err
			}
		}
	}
	return nil
}

// auditCreate appends the audit entry of a written submission. A batch
// appends all its entries last, so that the audit chain's lock (one writer
// at a time across processes on PostgreSQL) is held only for them and the
// commit.
func (s *Store) auditCreate(tx *sql.Tx, j *createJob) error {
	return s.Audit.RecordTx(j.ctx, tx, createEntry(j))
}

func createEntry(j *createJob) audit.Entry {
	r := j.r
	return audit.Entry{Action: "request.create", Object: "request", ObjectID: r.Number, Division: r.Division,
		Detail: audit.Detail(map[string]any{"category": r.Category, "channel": r.Channel, "unit": r.Unit})}
}

func channelNote(ch string) string {
	return map[string]string{"web": "网上提交 / submitted online", "hotline": "12345 热线代录 / entered from the 12345 hotline", "walkin": "来访代录 / entered for a walk-in caller",
		"api": "接口提交 / submitted through the API", "open311": "Open311 接入 / submitted through Open311"}[ch]
}

type actor struct{ id, name, role string }

func actorOf(ctx context.Context) actor {
	if p := access.From(ctx); p != nil {
		return actor{p.UserID, p.Username, string(p.Role)}
	}
	return actor{"", "system", "system"}
}

// insertEvent adds a step to r's timeline; its note is stored masked, the
// original sealed when it held personal data.
func (s *Store) insertEvent(ctx context.Context, tx *sql.Tx, r Request, seq int, action string, from, to Status, a actor, note string, at time.Time) error {
	id := db.NewID()
	masked, sealed := s.seal(note, "note", id)
	_, err := tx.ExecContext(ctx, `INSERT INTO request_events (id, request_id, division_code, seq, action, from_status, to_status, unit_code, actor_id, actor, role, note, note_sealed, at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`, id, r.ID, r.Division, seq, action, string(from), string(to), r.Unit, a.id, a.name, a.role, masked, sealed, db.T(at))
	return err
}

// unitFor returns the handling unit at level (5 community, 4 township,
// 3 county) that holds the location.
func (s *Store) unitFor(ctx context.Context, loc divisions.Division, level int) (divisions.Division, error) {
	if level <= 0 || loc.Level <= level {
		return loc, nil
	}
	code := loc.Code
	for divisions.LevelOf(code) > level {
		code = divisions.ParentCode(code)
	}
	return s.division(ctx, code)
}

// sniffImage names the type of a JPEG, PNG or WebP image by its first
// bytes ("" for anything else).
func sniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\xFF\xD8\xFF")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1A\n")):
		return "image/png"
	case len(b) >= 14 && bytes.HasPrefix(b, []byte("RIFF")) && string(b[8:14]) == "WEBPVP":
		return "image/webp"
	}
	return ""
}

// Attachments lists the ids of a request's photos (scope checked by Get).
func (s *Store) Photo(ctx context.Context, requestID, id string) (Photo, error) {
	if _, err := s.Get(ctx, requestID); err != nil {
		return Photo{}, err
	}
	var p Photo
	err := s.DB.R.QueryRowContext(ctx, `SELECT content_type, data FROM request_attachments WHERE id = $1 AND request_id = $2`, id, requestID).Scan(&p.ContentType, &p.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fault.NotFound(fault.M("照片不存在", "no such photo"))
	}
	return p, err
}

// PhotoIDs lists a request's photos.
func (s *Store) PhotoIDs(ctx context.Context, requestID string) ([]string, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id FROM request_attachments WHERE request_id = $1 ORDER BY id`, requestID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
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
