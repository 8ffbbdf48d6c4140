// Package emergency is 平战一体: graded warnings issued as OASIS CAP 1.2
// alerts for a set of divisions, the households and vulnerable residents
// they reach (each with the helper paired with them beforehand), and the
// "报平安" check-ins that follow, counted on a live board per community,
// with the shelters' occupancy against their capacity.
package emergency

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/questions"
	"linli/internal/secret"
)

// China's warning colours (预警颜色等级), least to most severe, and the
// CAP urgency, severity and certainty each implies when the officer
// does not choose them.
var colours = []struct {
	Key, ZH, EN                  string
	Urgency, Severity, Certainty string
}{
	{"blue", "蓝色", "Blue", "Future", "Minor", "Possible"},
	{"yellow", "黄色", "Yellow", "Expected", "Moderate", "Possible"},
	{"orange", "橙色", "Orange", "Expected", "Severe", "Likely"},
	{"red", "红色", "Red", "Immediate", "Extreme", "Likely"},
}

// responseLevels are the four emergency response levels (I the highest).
var responseLevels = []string{"I", "II", "III", "IV"}

// VulnerableTags are the registry tags of the residents a warning must
// reach one by one: living alone, disabled or dependent, aged 80+,
// children without guardians. Anyone aged 80 or more by birth date is
// counted too, tagged or not.
var VulnerableTags = []string{"living_alone", "disabled_full", "disabled_partial", "severe_disability", "disabled_person",
	"elderly_80", "orphan", "de_facto_unsupported_child"}

// Check statuses (报平安).
const (
	StatusPending     = "pending"     // 未联系
	StatusSafe        = "safe"        // 已确认安全
	StatusNeedsHelp   = "needs_help"  // 需要帮助
	StatusUnreachable = "unreachable" // 联系不上
	StatusEvacuated   = "evacuated"   // 已转移（到避难场所）
)

// transitions are the moves a check may make; any other is a conflict.
var transitions = map[string][]string{
	StatusPending:     {StatusSafe, StatusNeedsHelp, StatusUnreachable, StatusEvacuated},
	StatusUnreachable: {StatusSafe, StatusNeedsHelp, StatusEvacuated},
	StatusNeedsHelp:   {StatusSafe, StatusEvacuated},
	StatusEvacuated:   {StatusSafe, StatusNeedsHelp},
	StatusSafe:        {StatusNeedsHelp},
}

// Kinds of check.
const (
	KindHousehold = "household"
	KindPerson    = "person"
)

// Alert states: the newest message of an incident is active, earlier ones
// superseded; a Cancel makes every message of the incident cancelled; the
// newest one past its expiry becomes expired (StateExpired).
const (
	StateActive     = "active"
	StateSuperseded = "superseded"
	StateCancelled  = "cancelled"
)

// ShelterCategory is the registry's facility category of shelters.
const ShelterCategory = "emergency_shelter"

// Store holds the emergency module's data.
type Store struct {
	DB      *db.DB
	Audit   *audit.Log
	Now     func() time.Time
	Log     *slog.Logger
	Notices module.Notifier // may be nil
	Divs    module.Divisions
	Keys    *secret.Keyring // seals the lists' cursors
	// EscalateAfter is how long a vulnerable resident may stay
	// unconfirmed before the community and the township see them on their
	// 工作台 (zero: EscalateAfter).
	EscalateAfter time.Duration
	// group commits concurrent check-ins together (nil: one
	// transaction each).
	group *checkinGroup
	// cap signs the CAP documents served (nil: served unsigned).
	cap *capSigner
}

// Alert is one CAP message as stored.
type Alert struct {
	ID            string    `json:"id"`
	IncidentID    string    `json:"incident_id"` // the first alert of its chain
	Identifier    string    `json:"identifier"`
	Sender        string    `json:"sender"`
	Sent          time.Time `json:"sent"`
	SentText      string    `json:"sent_text"` // as written in CAP, with its offset
	Status        string    `json:"status"`
	MsgType       string    `json:"msg_type"`
	Scope         string    `json:"scope"`
	References    string    `json:"references,omitempty"`
	Divisions     []string  `json:"divisions"`
	Language      string    `json:"language"`
	Category      []string  `json:"category"`
	Event         string    `json:"event"`
	ResponseType  []string  `json:"response_type,omitempty"`
	Urgency       string    `json:"urgency"`
	Severity      string    `json:"severity"`
	Certainty     string    `json:"certainty"`
	Effective     time.Time `json:"effective,omitzero"`
	Onset         time.Time `json:"onset,omitzero"`
	Expires       time.Time `json:"expires,omitzero"`
	SenderName    string    `json:"sender_name"`
	Headline      string    `json:"headline"`
	Description   string    `json:"description"`
	Instruction   string    `json:"instruction"`
	Colour        string    `json:"colour"`
	ResponseLevel string    `json:"response_level"`
	AreaDesc      string    `json:"area_desc"`
	Polygons      []string  `json:"polygons,omitempty"`
	Circles       []string  `json:"circles,omitempty"`
	State         string    `json:"state"`
	CreatedBy     string    `json:"created_by"`
	CreatedAt     time.Time `json:"created_at"`
}

// ColourName is the colour in words.
func (a Alert) ColourName() fault.Msg {
	for _, c := range colours {
		if c.Key == a.Colour {
			return fault.M(c.ZH+"预警", c.EN+" warning")
		}
	}
	return fault.M("预警", "Warning")
}

// rowQuerier is a pool or a transaction.
type rowQuerier interface {
	db.Querier
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var errNotFound = fault.NotFound(fault.M("找不到这条预警，或不在您的辖区内", "no such warning in your jurisdiction"))

func (s *Store) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// today is the date in China.
func (s *Store) today() string { return s.Now().In(questions.CST).Format("2006-01-02") }

// areaCond is "(col in subtree 1 OR col in subtree 2 …)", its arguments
// numbered from next.
func areaCond(col string, codes []string, next int) (string, []any) {
	var parts []string
	var args []any
	for _, c := range codes {
		sc := access.Subtree(c)
		parts = append(parts, "("+col+" >= "+ph(next)+" AND "+col+" < "+ph(next+1)+")")
		args = append(args, sc.Lo, sc.Hi)
		next += 2
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

func ph(i int) string { return "$" + itoa(i) }

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// visibleCond restricts alerts (alias x) to those whose area meets the
// principal's jurisdiction: an area inside it, or an area enclosing it.
func visibleCond(p *access.Principal, next int) (string, []any) {
	sc := access.BusinessScope(p)
	div := ""
	if p != nil {
		div = p.Division
	}
	return `EXISTS (SELECT 1 FROM em_alert_areas a WHERE a.alert_id = x.id AND (a.division_code >= ` + ph(next) + ` AND a.division_code < ` + ph(next+1) +
		` OR (` + ph(next+2) + ` <> '' AND substr(` + ph(next+2) + `, 1, length(a.division_code)) = a.division_code)))`, []any{sc.Lo, sc.Hi, div}
}

const alertCols = `x.id, x.incident_id, x.identifier, x.sender, x.sent, x.sent_text, x.status, x.msg_type, x.scope, x.refs, x.language, x.category, x.event,
	x.response_type, x.urgency, x.severity, x.certainty, x.effective, x.onset, x.expires, x.sender_name, x.headline, x.description, x.instruction,
	x.colour, x.response_level, x.area_desc, x.polygons, x.circles, x.state, x.created_by, x.created_at`

func scanAlert(r db.Scanner) (Alert, error) {
	var a Alert
	var sent, eff, onset, exp, created db.Time
	var cat, rt, polys, circles string
	err := r.Scan(&a.ID, &a.IncidentID, &a.Identifier, &a.Sender, &sent, &a.SentText, &a.Status, &a.MsgType, &a.Scope, &a.References, &a.Language, &cat, &a.Event,
		&rt, &a.Urgency, &a.Severity, &a.Certainty, &eff, &onset, &exp, &a.SenderName, &a.Headline, &a.Description, &a.Instruction,
		&a.Colour, &a.ResponseLevel, &a.AreaDesc, &polys, &circles, &a.State, &a.CreatedBy, &created)
	a.Sent, a.Effective, a.Onset, a.Expires, a.CreatedAt = sent.Time, eff.Time, onset.Time, exp.Time, created.Time
	a.Category, a.ResponseType, a.Polygons, a.Circles = splitList(cat, ","), splitList(rt, ","), splitList(polys, "\n"), splitList(circles, "\n")
	return a, err
}

func splitList(s, sep string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

func (s *Store) areas(ctx context.Context, q rowQuerier, a *Alert) error {
	codes, err := db.Collect(ctx, q, db.Value[string], `SELECT division_code FROM em_alert_areas WHERE alert_id = $1 ORDER BY division_code`, a.ID)
	a.Divisions = orEmpty(codes)
	return err
}

// Get reads an alert the principal in ctx may see.
func (s *Store) Get(ctx context.Context, id string) (Alert, error) {
	return s.get(ctx, s.DB.R, id)
}

func (s *Store) get(ctx context.Context, q rowQuerier, id string) (Alert, error) {
	a, err := s.bare(ctx, q, id)
	if err != nil {
		return a, err
	}
	return a, s.areas(ctx, q, &a)
}

// bare reads an alert the principal may see without its areas: all a
// check-in needs, one query.
func (s *Store) bare(ctx context.Context, q rowQuerier, id string) (Alert, error) {
	cond, args := visibleCond(access.From(ctx), 2)
	a, err := scanAlert(q.QueryRowContext(ctx, `SELECT `+alertCols+` FROM em_alerts x WHERE x.id = $1 AND `+cond, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return a, errNotFound
	}
	return a, err
}

// List reads the newest alerts the principal may see: at most limit,
// before the given sent time (zero: the newest).
func (s *Store) List(ctx context.Context, before time.Time, limit int) ([]Alert, error) {
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	cond, args := visibleCond(access.From(ctx), 1)
	q := `SELECT ` + alertCols + ` FROM em_alerts x WHERE ` + cond
	if !before.IsZero() {
		q += ` AND x.sent < ` + ph(len(args)+1)
		args = append(args, db.T(before))
	}
	q += ` ORDER BY x.sent DESC, x.id DESC LIMIT ` + itoa(limit)
	as, err := db.Collect(ctx, s.DB.R, scanAlert, q, args...)
	if err != nil {
		return nil, err
	}
	for i := range as {
		if err := s.areas(ctx, s.DB.R, &as[i]); err != nil {
			return nil, err
		}
	}
	return as, nil
}

// Latest is the newest message of an incident (the one in force).
func (s *Store) latest(ctx context.Context, q rowQuerier, incident string) (Alert, error) {
	a, err := s.latestBare(ctx, q, incident)
	if err != nil {
		return a, err
	}
	return a, s.areas(ctx, q, &a)
}

// latestBare is an incident's latest message without its areas.
func (s *Store) latestBare(ctx context.Context, q rowQuerier, incident string) (Alert, error) {
	a, err := scanAlert(q.QueryRowContext(ctx, `SELECT `+alertCols+` FROM em_alerts x WHERE x.incident_id = $1 ORDER BY x.sent DESC, x.created_at DESC LIMIT 1`, incident))
	if errors.Is(err, sql.ErrNoRows) {
		return a, errNotFound
	}
	return a, err
}

// inForce tells whether check-ins are still taken for the incident of a.
func (s *Store) inForce(a Alert) error {
	if a.State == StateCancelled || a.MsgType == "Cancel" {
		return fault.Conflict(fault.M("该预警已解除，不再登记报平安", "the warning was cancelled; check-ins are closed"))
	}
	if a.expired(s.Now()) {
		return errExpired
	}
	return nil
}

func contains(list []string, v string) bool { return slices.Contains(list, v) }
