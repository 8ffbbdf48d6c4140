package assistance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/questions"
)

// 动态监测: the other loops' risk signals find households before they
// apply. A signal is a visit that flagged the household for assistance,
// a request of the assistance category by one of its members, a member
// who needed help in an emergency check, or a member tagged 低保边缘. A
// household with an open application or enrolled is not listed: it is
// being handled. Two warnings concern enrolled households too (a need
// beside the allowance): a visit recorded at high risk without a flag,
// and a member newly tagged 重残. The registry has no tag for a serious
// illness and records neither a death nor a move out of the area, so
// those raise nothing. Each signal starts an application prefilled with its
// household and linked back to it (Source).
//
// The signals are read from the other modules' tables, as the module
// reads the registry's; none of them is written.

// Signal kinds.
const (
	SignalVisit     = "visit"      // a visit flagged the household (visits)
	SignalRequest   = "request"    // an assistance request (requests)
	SignalEmergency = "emergency"  // a member needed help in a check (emergency)
	SignalEdge      = "dibao_edge" // a member is tagged 低保边缘 (registry)
	SignalPayment   = "payment"    // the bank returned a payment as failed (payments)
	// Warnings that also concern a household already enrolled (a new need
	// beside the allowance, such as 临时救助):
	SignalRisk       = "risk"       // a visit was recorded at high risk (visits)
	SignalDisability = "disability" // a member was newly tagged 重残 (registry)
)

// alsoEnrolled are the signal kinds listed for enrolled households too.
const alsoEnrolled = `('risk', 'disability')`

var signalNames = map[string]fault.Msg{
	SignalVisit:      fault.M("走访发现需要救助", "a visit found a need for assistance"),
	SignalRequest:    fault.M("提出救助类诉求", "asked for assistance (request)"),
	SignalEmergency:  fault.M("应急核查时需要帮助", "needed help in an emergency check"),
	SignalEdge:       fault.M("低保边缘家庭", "near-dibao household"),
	SignalRisk:       fault.M("探访发现高风险", "a visit found a high risk"),
	SignalDisability: fault.M("家庭成员新认定重残", "a member newly tagged severely disabled"),
	SignalPayment:    fault.M("救助金发放失败", "a payment failed"),
}

// SignalRecent is how far back requests and emergency checks count.
const SignalRecent = 90 * 24 * time.Hour

// Signal is one reason to review a household.
type Signal struct {
	Kind        string    `json:"kind"`
	Ref         string    `json:"ref"` // the visit, request, check or resident
	HouseholdID string    `json:"household_id"`
	Division    string    `json:"division_code"`
	Address     string    `json:"address,omitempty"`
	Note        string    `json:"note,omitempty"` // the visit's reason, the request's number
	At          time.Time `json:"at"`
}

// Reason is the signal in words.
func (g Signal) Reason() fault.Msg {
	m := signalNames[g.Kind]
	if g.Note != "" {
		m = fault.M(m.ZH+"："+g.Note, m.EN+": "+g.Note)
	}
	return m
}

// Source is the signal as an application's source.
func (g Signal) Source() string { return g.Kind + ":" + g.Ref }

// SourceHref is where a source is read: the visit, request, check or
// resident that raised it.
func SourceHref(source string) string {
	kind, ref, _ := strings.Cut(source, ":")
	switch kind {
	case SignalVisit:
		return "/visits/" + ref
	case SignalRequest:
		return "/requests/" + ref
	case SignalEmergency:
		return "/emergency/checks/" + ref
	case SignalEdge, SignalDisability:
		return "/registry/residents/" + ref
	case SignalRisk:
		return "/visits/" + ref
	case SignalPayment:
		batch, _, _ := strings.Cut(ref, ".")
		return "/assistance/payments/" + batch
	}
	return ""
}

// SourceName is a source's kind in words.
func SourceName(source string) fault.Msg {
	kind, _, _ := strings.Cut(source, ":")
	return signalNames[kind]
}

// StartHref starts an application from the signal, prefilled; a failed
// payment's household is enrolled already: its batch is where it is
// followed up.
func (g Signal) StartHref() string {
	if g.Kind == SignalPayment {
		return SourceHref(g.Source())
	}
	return "/assistance/apply?household_id=" + g.HouseholdID + "&source=" + g.Source()
}

// signalsSQL is every signal within [$1, $2) since $3, of households
// without an open or enrolled application (an enrolled one still shows
// the kinds in alsoEnrolled), and every failed payment not since paid,
// unless dismissed. Each branch reads its table
// by an index on the division (or the incidents of the period); a
// request's reporter is looked up from the request (CROSS JOIN keeps
// SQLite from walking every linked account first).
const signalsSQL = `SELECT s.kind, s.ref, s.household_id, s.division_code, s.note, s.at FROM (
	SELECT 'visit' AS kind, CAST(f.visit_id AS TEXT) AS ref, f.household_id, f.division_code, f.reason AS note, f.created_at AS at FROM vis_assistance_flags f
		WHERE f.division_code >= $1 AND f.division_code < $2 AND f.status = 'open'
	UNION ALL
	SELECT 'request', q.id, r.household_id, q.division_code, q.number, q.created_at FROM requests q CROSS JOIN users u CROSS JOIN reg_residents r
		WHERE q.division_code >= $1 AND q.division_code < $2 AND q.category = 'assistance' AND q.created_at >= $3
		AND u.id = q.reporter_id AND r.username = u.username AND r.username <> ''
	UNION ALL
	SELECT 'emergency', CAST(c.id AS TEXT), c.household_id, c.division_code, '', c.updated_at FROM em_checks c
		WHERE c.incident_id IN (SELECT incident_id FROM em_alerts WHERE sent >= $3) AND c.division_code >= $1 AND c.division_code < $2
		AND c.status = 'needs_help' AND c.household_id <> ''
	UNION ALL
	SELECT 'dibao_edge', t.resident_id, r.household_id, t.division_code, '', t.created_at FROM reg_resident_tags t JOIN reg_residents r ON r.id = t.resident_id
		WHERE t.tag = 'dibao_edge' AND t.division_code >= $1 AND t.division_code < $2 AND t.active
	UNION ALL
	SELECT 'risk', CAST(v.id AS TEXT), v.household_id, v.division_code, '', v.visited_at FROM vis_visits v
		WHERE v.month >= $4 AND v.division_code >= $1 AND v.division_code < $2 AND v.status = 'done' AND v.risk = 'high' AND v.visited_at >= $3
		AND NOT EXISTS (SELECT 1 FROM vis_assistance_flags f WHERE f.visit_id = v.id)
	UNION ALL
	SELECT 'disability', t.resident_id, r.household_id, t.division_code, '', t.created_at FROM reg_resident_tags t JOIN reg_residents r ON r.id = t.resident_id
		WHERE t.tag = 'severe_disability' AND t.division_code >= $1 AND t.division_code < $2 AND t.active AND t.created_at >= $3
	UNION ALL
	SELECT 'payment', p.batch_id || '.' || CAST(p.ref AS TEXT), p.household_id, p.division_code, p.reason, p.returned_at FROM ast_payments p
		WHERE p.status = 'failed' AND p.division_code >= $1 AND p.division_code < $2
		AND NOT EXISTS (SELECT 1 FROM ast_payments q WHERE q.application_id = p.application_id AND q.code = p.code AND q.to_month > p.to_month AND q.status = 'paid')
	) s
	WHERE (s.kind = 'payment' OR NOT EXISTS (SELECT 1 FROM ast_applications a WHERE a.household_id = s.household_id
		AND (a.status IN ` + openStatuses + ` OR a.status = 'enrolled' AND s.kind NOT IN ` + alsoEnrolled + `)))
	AND ` + notDismissed

// signalSince is when the recent signals begin ($3), and the month of
// the visits read for them ($4: the month it falls in, so that the visits'
// month index bounds the read).
func (s *Store) signalSince() (db.Time, string) {
	t := s.Now().Add(-SignalRecent)
	return db.T(t), t.In(questions.CST).Format("2006-01")
}

// watcher: reviewing the households found is the community's work; a
// township's or county's signals would be read whole to sort them.
func watcher(p *access.Principal) bool {
	return p != nil && p.Role == access.CommunityWorker
}

var errWatchForbidden = fault.Forbidden(fault.M("动态监测由社区工作者核实", "community workers review the monitoring list"))

// Watch lists the signals in the principal's jurisdiction, the newest
// first, at most limit of them, with how many there are (bounded).
func (s *Store) Watch(ctx context.Context, p *access.Principal, limit int) ([]Signal, int, error) {
	if !watcher(p) {
		return nil, 0, errWatchForbidden
	}
	sc := access.BusinessScope(p)
	since, month := s.signalSince()
	var n int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM (`+signalsSQL+` LIMIT `+strconv.Itoa(ListCountCap+1)+`) c`, sc.Lo, sc.Hi, since, month).Scan(&n); err != nil {
		return nil, 0, err
	}
	sigs, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Signal, error) {
		var g Signal
		var at db.Time
		err := r.Scan(&g.Kind, &g.Ref, &g.HouseholdID, &g.Division, &g.Note, &g.Address, &at)
		g.At = at.Time
		return g, err
	}, `SELECT w.kind, w.ref, w.household_id, w.division_code, w.note, COALESCE(h.address, ''), w.at FROM (`+signalsSQL+`
		ORDER BY s.at DESC, s.kind, s.ref LIMIT `+strconv.Itoa(limit)+`) w LEFT JOIN reg_households h ON h.id = w.household_id ORDER BY w.at DESC, w.kind, w.ref`, sc.Lo, sc.Hi, since, month)
	return sigs, min(n, ListCountCap), err
}

// WatchRead is Watch for a page or the API: the read of the list (its
// addresses and the visits' reasons) is audited.
func (s *Store) WatchRead(ctx context.Context, p *access.Principal, limit int) ([]Signal, int, error) {
	sigs, n, err := s.Watch(ctx, p, limit)
	if err != nil {
		return nil, 0, err
	}
	return sigs, n, s.Audit.Record(ctx, audit.Entry{Action: "assistance.watch_read", Object: "division", ObjectID: p.Division, Division: p.Division, Detail: strconv.Itoa(len(sigs)) + " signals"})
}

// signal reads one source ("kind:ref") as a signal of the household,
// within the principal's jurisdiction; a source that is not a current
// signal of that household is a field error.
func (s *Store) signal(ctx context.Context, p *access.Principal, source, household string) (Signal, *fault.FieldError, error) {
	bad := func() (Signal, *fault.FieldError, error) {
		fe := fault.Field("source", fault.M("来源不是这一户的监测信号", "the source is not a signal of this household"))
		return Signal{}, &fe, nil
	}
	kind, ref, ok := strings.Cut(source, ":")
	if _, known := signalNames[kind]; !ok || !known || ref == "" {
		return bad()
	}
	sc := access.BusinessScope(p)
	since, month := s.signalSince()
	var g Signal
	var at db.Time
	err := s.DB.R.QueryRowContext(ctx, `SELECT w.kind, w.ref, w.household_id, w.division_code, w.note, w.at FROM (`+signalsSQL+`) w
		WHERE w.kind = $5 AND w.ref = $6 AND w.household_id = $7 LIMIT 1`,
		sc.Lo, sc.Hi, since, month, kind, ref, household).Scan(&g.Kind, &g.Ref, &g.HouseholdID, &g.Division, &g.Note, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return bad()
	} else if err != nil {
		return Signal{}, nil, err
	}
	g.At = at.Time
	return g, nil, nil
}

// watchWork is the monitoring list as 工作台 items: each household to
// review, its reason, and one tap to start its application.
func (s *Store) watchWork(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, int, error) {
	sigs, n, err := s.Watch(ctx, p, limit)
	if err != nil {
		return nil, 0, err
	}
	out := make([]module.WorkItem, 0, len(sigs))
	now := s.Now()
	cal, err := s.Calendar(ctx, s.DB.R)
	if err != nil {
		return nil, 0, err
	}
	for _, g := range sigs {
		due := cal.AddWorkingDays(g.At, WatchSLADays)
		out = append(out, module.WorkItem{Module: "assistance", Kind: "assistance.watch", KindName: fault.M("主动发现：待核实救助需求", "Found: assistance needs to review"),
			Title: fault.M("主动发现（"+g.Reason().ZH+"）", fmt.Sprintf("Found (%s)", g.Reason().EN)), Whose: g.Address, Href: g.StartHref(), Due: due, Urgent: now.After(due)})
	}
	return out, n, nil
}
