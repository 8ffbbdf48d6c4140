package emergency

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/questions"
)

// reviewSQL: one after-action review (复盘) per incident, its figures per
// community computed from the checks when it is written and kept, and
// its findings, each with an owner and a deadline, open until done.
const reviewSQL = `
CREATE TABLE em_reviews (
	id TEXT PRIMARY KEY,
	incident_id TEXT NOT NULL UNIQUE,
	division_code TEXT NOT NULL,
	status TEXT NOT NULL,
	event TEXT NOT NULL,
	headline TEXT NOT NULL,
	area_desc TEXT NOT NULL,
	first_sent TIMESTAMPTZ NOT NULL,
	closed_at TIMESTAMPTZ NOT NULL,
	happened TEXT NOT NULL,
	worked TEXT NOT NULL,
	failed TEXT NOT NULL,
	participants TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX em_reviews_created ON em_reviews (created_at, id);
CREATE TABLE em_review_figures (
	review_id TEXT NOT NULL REFERENCES em_reviews(id),
	division_code TEXT NOT NULL,
	name TEXT NOT NULL,
	households INTEGER NOT NULL,
	households_reached INTEGER NOT NULL,
	vulnerable INTEGER NOT NULL,
	vulnerable_reached INTEGER NOT NULL,
	all_reached_at TIMESTAMPTZ,
	help_requests INTEGER NOT NULL,
	moved INTEGER NOT NULL,
	PRIMARY KEY (review_id, division_code)
);
CREATE TABLE em_findings (
	id TEXT PRIMARY KEY,
	review_id TEXT NOT NULL REFERENCES em_reviews(id),
	seq INTEGER NOT NULL,
	body TEXT NOT NULL,
	owner TEXT NOT NULL,
	due_on TEXT NOT NULL,
	state TEXT NOT NULL,
	done_note TEXT NOT NULL DEFAULT '',
	done_by TEXT NOT NULL DEFAULT '',
	done_at TIMESTAMPTZ,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX em_findings_review ON em_findings (review_id, seq);
CREATE INDEX em_findings_owner ON em_findings (owner, state, due_on);
`

// Review is an incident's after-action review (复盘), with the figures
// computed from its records when it was written.
type Review struct {
	ID         string    `json:"id"`
	IncidentID string    `json:"incident_id"`
	Division   string    `json:"division"` // the reviewing officer's
	Status     string    `json:"status"`   // the incident's CAP status: Exercise is a drill
	Drill      bool      `json:"drill"`
	Event      string    `json:"event"`
	Headline   string    `json:"headline"`
	AreaDesc   string    `json:"area_desc"`
	FirstSent  time.Time `json:"first_sent"` // the first warning
	ClosedAt   time.Time `json:"closed_at"`  // the Cancel, or the expiry
	Happened   string    `json:"happened"`
	Worked     string    `json:"worked"`
	Failed     string    `json:"failed"`
	Figures    []Figure  `json:"figures,omitempty"` // per community; the list leaves these three out
	Total      Figure    `json:"total"`
	// Participants are the accounts that reported a status, workers by
	// name; residents reporting for themselves are only counted.
	Participants      []Participant `json:"participants,omitempty"`
	ResidentsReported int           `json:"residents_reported"`
	Findings          []Finding     `json:"findings,omitempty"`
	CreatedBy         string        `json:"created_by"`
	CreatedAt         time.Time     `json:"created_at"`
}

// Figure is one community's outcome of an incident.
type Figure struct {
	Division          string    `json:"division"`
	Name              string    `json:"name"`
	Households        int       `json:"households"`
	HouseholdsReached int       `json:"households_reached"`
	Vulnerable        int       `json:"vulnerable"`
	VulnerableReached int       `json:"vulnerable_reached"`
	AllReachedAt      time.Time `json:"all_reached_at,omitzero"` // the last vulnerable resident confirmed; zero: not all reached (or none)
	// MinutesToAll is from the first warning to AllReachedAt; nil when
	// not every vulnerable resident was reached.
	MinutesToAll *int `json:"minutes_to_all"`
	HelpRequests int  `json:"help_requests"` // checks that asked for help at any time
	Moved        int  `json:"moved"`         // people moved to a shelter at any time
}

// AllReached tells whether every vulnerable resident was reached.
func (f Figure) AllReached() bool { return f.Vulnerable > 0 && f.VulnerableReached == f.Vulnerable }

// Participant is an account that reported statuses in the incident.
type Participant struct {
	Username string      `json:"username"`
	Role     access.Role `json:"role"`
	Reports  int         `json:"reports"`
}

// Finding is a lesson of a review turned into a task.
type Finding struct {
	ID       string    `json:"id"`
	ReviewID string    `json:"review_id"`
	Text     string    `json:"text"`
	Owner    string    `json:"owner"`
	DueOn    string    `json:"due_on"` // YYYY-MM-DD
	Done     bool      `json:"done"`
	DoneNote string    `json:"done_note,omitempty"`
	DoneBy   string    `json:"done_by,omitempty"`
	DoneAt   time.Time `json:"done_at,omitzero"`
	Overdue  bool      `json:"overdue"`
	CanClose bool      `json:"-"`
}

// ReviewInput is what an officer writes of an incident.
type ReviewInput struct {
	AlertID  string         `json:"alert_id"` // any message of the incident
	Happened string         `json:"happened"` // what happened
	Worked   string         `json:"worked"`   // what worked
	Failed   string         `json:"failed"`   // what did not
	Findings []FindingInput `json:"findings,omitempty"`
}

// FindingInput is one finding: what to do, by whom, by when.
type FindingInput struct {
	Text  string `json:"text"`
	Owner string `json:"owner"`  // an account from GET /api/v1/emergency/reviews/owners
	DueOn string `json:"due_on"` // YYYY-MM-DD
}

// DoneInput closes a finding.
type DoneInput struct {
	Note string `json:"note,omitempty"` // what was done
}

const (
	findingOpen = "open"
	findingDone = "done"
	// MaxFindings is how many findings one review holds.
	MaxFindings = 20
)

var errNoReview = fault.NotFound(fault.M("找不到这份复盘，或不在您的辖区内", "no such review in your jurisdiction"))

// Title is the incident's headline, without the prefix of its Cancel.
func (a Alert) Title() string { return strings.TrimPrefix(a.Headline, "解除：") }

// closedAt is when an incident's warnings ended: its Cancel, or the
// expiry of the message in force; zero while they are in force.
func (s *Store) closedAt(last Alert) time.Time {
	if last.MsgType == "Cancel" || last.State == StateCancelled {
		return last.Sent
	}
	if !last.Expires.IsZero() && !last.Expires.After(s.Now()) {
		return last.Expires
	}
	return time.Time{}
}

// reviewer checks that the principal is an officer whose jurisdiction
// holds the whole area of the incident's message in force.
func reviewer(p *access.Principal, last Alert) error {
	if p == nil || p.Role != access.Officer {
		return fault.Forbidden(fault.M("只有乡镇（街道）、县级干部可以复盘", "only township and county officers write reviews"))
	}
	sc := access.BusinessScope(p)
	for _, c := range last.Divisions {
		if !sc.Contains(c) {
			return fault.Forbidden(fault.M("预警区域超出您的辖区，请由上级复盘", "the warning's area is wider than your jurisdiction; a higher level reviews it"))
		}
	}
	return nil
}

// Owners are the accounts an officer may give a finding to: the workers
// and officers of their jurisdiction (at most 300).
func (s *Store) Owners(ctx context.Context) ([]Candidate, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer {
		return nil, fault.Forbidden(fault.M("只有乡镇（街道）、县级干部可以复盘", "only township and county officers write reviews"))
	}
	sc := access.BusinessScope(p)
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Candidate, error) {
		var c Candidate
		return c, r.Scan(&c.Username, &c.Role)
	}, ownersSQL+` ORDER BY CASE role WHEN 'officer' THEN 0 WHEN 'community_worker' THEN 1 ELSE 2 END, username LIMIT 300`, sc.Lo, sc.Hi)
}

const ownersSQL = `SELECT username, role FROM users WHERE NOT disabled AND role IN ('grid_worker', 'community_worker', 'officer') AND division_code >= $1 AND division_code < $2`

// CanReview tells whether the principal may write the review of the
// incident of alertID now (nil), or why not.
func (s *Store) CanReview(ctx context.Context, alertID string) (Alert, error) {
	a, err := s.Get(ctx, alertID)
	if err != nil {
		return a, err
	}
	last, err := s.latest(ctx, s.DB.R, a.IncidentID)
	if err != nil {
		return a, err
	}
	if err := reviewer(access.From(ctx), last); err != nil {
		return a, err
	}
	if s.closedAt(last).IsZero() {
		return a, fault.Conflict(fault.M("预警尚未解除或失效，解除（或到期）后才能复盘", "the warning is still in force: review it once it is cancelled or has expired"))
	}
	var n int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM em_reviews WHERE incident_id = $1`, a.IncidentID).Scan(&n); err != nil {
		return a, err
	}
	if n > 0 {
		return a, errReviewed
	}
	return last, nil
}

var errReviewed = fault.Conflict(fault.M("该事件已复盘，每个事件只复盘一次", "this incident has been reviewed; an incident is reviewed once"))

// WriteReview stores an incident's review with its figures and findings,
// all or nothing: bad input names its field and writes nothing.
func (s *Store) WriteReview(ctx context.Context, in ReviewInput) (Review, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer {
		return Review{}, fault.Forbidden(fault.M("只有乡镇（街道）、县级干部可以复盘", "only township and county officers write reviews"))
	}
	if strings.TrimSpace(in.AlertID) == "" {
		return Review{}, fault.Invalid(fault.M("无法复盘", "cannot write the review"), fault.Field("alert_id", fault.M("请指明复盘哪一次预警", "name the warning reviewed")))
	}
	last, err := s.CanReview(ctx, in.AlertID)
	if err != nil {
		return Review{}, err
	}
	var fields []fault.FieldError
	bad := func(f, zh, en string) { fields = append(fields, fault.Field(f, fault.M(zh, en))) }
	text := func(f, v, zh, en string) string {
		v = strings.TrimSpace(v)
		if v == "" {
			bad(f, "请填写"+zh, "write "+en)
		}
		if utf8.RuneCountInString(v) > 4000 {
			bad(f, zh+"不超过 4000 字", en+" is at most 4,000 characters")
		}
		return v
	}
	rv := Review{Happened: text("happened", in.Happened, "事件经过", "what happened"), Worked: text("worked", in.Worked, "做得好的", "what worked"),
		Failed: text("failed", in.Failed, "存在的不足", "what did not work")}
	owners, err := s.Owners(ctx)
	if err != nil {
		return Review{}, err
	}
	mayOwn := map[string]bool{}
	for _, o := range owners {
		mayOwn[o.Username] = true
	}
	today := s.today()
	var kept []FindingInput
	for i, f := range in.Findings {
		f.Text, f.Owner, f.DueOn = strings.TrimSpace(f.Text), strings.TrimSpace(f.Owner), strings.TrimSpace(f.DueOn)
		if f.Text == "" && f.Owner == "" && f.DueOn == "" {
			continue // an empty row of the form
		}
		at := "findings[" + strconv.Itoa(i) + "]."
		if f.Text == "" {
			bad(at+"text", "请写明要做什么", "say what is to be done")
		} else if utf8.RuneCountInString(f.Text) > 500 {
			bad(at+"text", "每条不超过 500 字", "a finding is at most 500 characters")
		}
		if !mayOwn[f.Owner] {
			bad(at+"owner", "请从名单中选择负责人（本辖区的工作人员）", "choose the owner from the list (a worker of your jurisdiction)")
		}
		if d, err := time.ParseInLocation("2006-01-02", f.DueOn, questions.CST); err != nil || d.Format("2006-01-02") != f.DueOn {
			bad(at+"due_on", "请填写完成期限（如 2026-12-31）", "give the deadline (such as 2026-12-31)")
		} else if f.DueOn < today {
			bad(at+"due_on", "完成期限不能早于今天", "the deadline cannot be before today")
		}
		kept = append(kept, f)
	}
	if len(kept) > MaxFindings {
		bad("findings", "每份复盘最多 "+itoa(MaxFindings)+" 条整改事项", "a review holds at most "+itoa(MaxFindings)+" findings")
	}
	if len(fields) > 0 {
		return Review{}, fault.Invalid(fault.M("无法复盘", "cannot write the review"), fields...)
	}
	now := s.Now()
	rv.ID, rv.IncidentID, rv.Division, rv.Status, rv.Drill = db.NewID(), last.IncidentID, p.Division, last.Status, last.Status == "Exercise"
	rv.Event, rv.Headline, rv.AreaDesc = last.Event, last.Title(), last.AreaDesc
	rv.ClosedAt, rv.CreatedBy, rv.CreatedAt = s.closedAt(last), p.Username, now
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var first db.Time
		if err := tx.QueryRowContext(ctx, `SELECT MIN(sent) FROM em_alerts WHERE incident_id = $1 AND msg_type <> 'Cancel'`, rv.IncidentID).Scan(&first); err != nil {
			return err
		}
		rv.FirstSent = first.Time
		var err error
		if rv.Figures, err = s.figures(ctx, tx, rv.IncidentID, rv.FirstSent); err != nil {
			return err
		}
		if rv.Participants, rv.ResidentsReported, err = participants(ctx, tx, rv.IncidentID); err != nil {
			return err
		}
		ps, _ := json.Marshal(struct {
			Accounts  []Participant `json:"accounts"`
			Residents int           `json:"residents"`
		}{rv.Participants, rv.ResidentsReported})
		if _, err := tx.ExecContext(ctx, `INSERT INTO em_reviews (id, incident_id, division_code, status, event, headline, area_desc, first_sent, closed_at,
			happened, worked, failed, participants, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`,
			rv.ID, rv.IncidentID, rv.Division, rv.Status, rv.Event, rv.Headline, rv.AreaDesc, db.T(rv.FirstSent), db.T(rv.ClosedAt),
			rv.Happened, rv.Worked, rv.Failed, string(ps), rv.CreatedBy, db.T(now)); err != nil {
			if db.IsUniqueViolation(err) {
				return errReviewed
			}
			return err
		}
		for _, f := range rv.Figures {
			if _, err := tx.ExecContext(ctx, `INSERT INTO em_review_figures (review_id, division_code, name, households, households_reached, vulnerable, vulnerable_reached,
				all_reached_at, help_requests, moved) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, rv.ID, f.Division, f.Name, f.Households, f.HouseholdsReached,
				f.Vulnerable, f.VulnerableReached, db.T(f.AllReachedAt), f.HelpRequests, f.Moved); err != nil {
				return err
			}
		}
		for i, f := range kept {
			fd := Finding{ID: db.NewID(), ReviewID: rv.ID, Text: f.Text, Owner: f.Owner, DueOn: f.DueOn}
			if _, err := tx.ExecContext(ctx, `INSERT INTO em_findings (id, review_id, seq, body, owner, due_on, state, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
				fd.ID, rv.ID, i+1, fd.Text, fd.Owner, fd.DueOn, findingOpen, db.T(now)); err != nil {
				return err
			}
			rv.Findings = append(rv.Findings, fd)
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.review", Object: "review", ObjectID: rv.ID, Division: p.Division,
			Detail: audit.Detail(map[string]any{"incident": rv.IncidentID, "status": rv.Status, "findings": len(kept), "communities": len(rv.Figures)})})
	})
	if err != nil {
		return Review{}, err
	}
	return s.Review(ctx, rv.ID)
}

// figures counts an incident's checks per community. A check is reached
// once its status is safe, needs help or moved (no move leads back); it
// was reached at its first such event, or — for checks written in bulk,
// without events — when it was last updated.
func (s *Store) figures(ctx context.Context, q db.Querier, incident string, first time.Time) ([]Figure, error) {
	byDiv := map[string]*Figure{}
	type moved struct {
		household string
		people    int
		kind      string
		div       string
	}
	var evac []moved
	evacHouseholds := map[string]bool{}
	err := db.EachRow(ctx, q, func(r db.Scanner) error {
		var div, kind, status, household string
		var people, helped, evacuated int
		var updated, reached db.Time
		if err := r.Scan(&div, &kind, &status, &household, &people, &updated, &reached, &helped, &evacuated); err != nil {
			return err
		}
		f := byDiv[div]
		if f == nil {
			f = &Figure{Division: div}
			byDiv[div] = f
		}
		ok := status == StatusSafe || status == StatusNeedsHelp || status == StatusEvacuated
		if kind == KindHousehold {
			f.Households++
			if ok {
				f.HouseholdsReached++
			}
		} else {
			f.Vulnerable++
			if ok {
				f.VulnerableReached++
				at := reached.Time
				if at.IsZero() {
					at = updated.Time
				}
				if at.After(f.AllReachedAt) {
					f.AllReachedAt = at
				}
			}
		}
		if helped > 0 || status == StatusNeedsHelp {
			f.HelpRequests++
		}
		if evacuated > 0 || status == StatusEvacuated {
			evac = append(evac, moved{household, people, kind, div})
			if kind == KindHousehold {
				evacHouseholds[household] = true
			}
		}
		return nil
	}, `SELECT c.division_code, c.kind, c.status, c.household_id, c.people, c.updated_at,
		(SELECT MIN(e.at) FROM em_check_events e WHERE e.check_id = c.id AND e.to_status IN ('safe', 'needs_help', 'evacuated')),
		(SELECT COUNT(*) FROM em_check_events e WHERE e.check_id = c.id AND e.to_status = 'needs_help'),
		(SELECT COUNT(*) FROM em_check_events e WHERE e.check_id = c.id AND e.to_status = 'evacuated')
		FROM em_checks c WHERE c.incident_id = $1`, incident)
	if err != nil {
		return nil, err
	}
	// A household moved counts its people; a vulnerable resident moved
	// counts one unless their household is counted already.
	for _, m := range evac {
		if m.kind == KindPerson && evacHouseholds[m.household] {
			continue
		}
		n := m.people
		if m.kind == KindPerson {
			n = 1
		}
		byDiv[m.div].Moved += n
	}
	out := make([]Figure, 0, len(byDiv))
	for _, f := range byDiv {
		if d, err := s.Divs.Get(ctx, f.Division); err == nil {
			f.Name = d.Name
		}
		if !f.AllReached() {
			f.AllReachedAt = time.Time{}
		}
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Division < out[j].Division })
	for i := range out {
		out[i].minutes(first)
	}
	return out, nil
}

func (f *Figure) minutes(first time.Time) {
	f.MinutesToAll = nil
	if f.AllReached() && !f.AllReachedAt.IsZero() {
		m := int(f.AllReachedAt.Sub(first).Minutes())
		f.MinutesToAll = &m
	}
}

// participants are the accounts that reported a status in the incident.
func participants(ctx context.Context, q db.Querier, incident string) ([]Participant, int, error) {
	var out []Participant
	residents := 0
	err := db.EachRow(ctx, q, func(r db.Scanner) error {
		var pt Participant
		var role string
		if err := r.Scan(&pt.Username, &role, &pt.Reports); err != nil {
			return err
		}
		pt.Role = access.Role(role)
		if pt.Role == access.Resident {
			residents++
			return nil
		}
		out = append(out, pt)
		return nil
	}, `SELECT by_user, by_role, COUNT(*) FROM em_check_events WHERE incident_id = $1 GROUP BY by_user, by_role ORDER BY by_user, by_role`, incident)
	return orEmpty(out), residents, err
}

const reviewCols = `v.id, v.incident_id, v.division_code, v.status, v.event, v.headline, v.area_desc, v.first_sent, v.closed_at, v.happened, v.worked, v.failed,
	v.participants, v.created_by, v.created_at`

func scanReview(r db.Scanner) (Review, error) {
	var rv Review
	var first, closed, created db.Time
	var ps string
	err := r.Scan(&rv.ID, &rv.IncidentID, &rv.Division, &rv.Status, &rv.Event, &rv.Headline, &rv.AreaDesc, &first, &closed, &rv.Happened, &rv.Worked, &rv.Failed,
		&ps, &rv.CreatedBy, &created)
	rv.FirstSent, rv.ClosedAt, rv.CreatedAt, rv.Drill = first.Time, closed.Time, created.Time, rv.Status == "Exercise"
	var x struct {
		Accounts  []Participant `json:"accounts"`
		Residents int           `json:"residents"`
	}
	if err == nil && ps != "" {
		if jerr := json.Unmarshal([]byte(ps), &x); jerr == nil {
			rv.Participants, rv.ResidentsReported = x.Accounts, x.Residents
		}
	}
	rv.Participants = orEmpty(rv.Participants)
	return rv, err
}

// reviewVisible restricts reviews (alias v) to those whose incident the
// principal may see, or that give them a finding ($next: the username).
func reviewVisible(p *access.Principal, next int) (string, []any) {
	cond, args := visibleCond(p, next)
	return `(EXISTS (SELECT 1 FROM em_alerts x WHERE x.id = v.incident_id AND ` + cond + `) OR EXISTS (SELECT 1 FROM em_findings f WHERE f.review_id = v.id AND f.owner = ` +
		ph(next+len(args)) + `))`, append(args, p.Username)
}

func workerOnly(p *access.Principal) error {
	if p == nil || p.Role != access.GridWorker && p.Role != access.CommunityWorker && p.Role != access.Officer {
		return fault.Forbidden(fault.M("复盘供工作人员查看", "reviews are for workers"))
	}
	return nil
}

// Review reads one review the principal may see, with its figures and
// findings.
func (s *Store) Review(ctx context.Context, id string) (Review, error) {
	p := access.From(ctx)
	if err := workerOnly(p); err != nil {
		return Review{}, err
	}
	cond, args := reviewVisible(p, 2)
	rv, err := scanReview(s.DB.R.QueryRowContext(ctx, `SELECT `+reviewCols+` FROM em_reviews v WHERE v.id = $1 AND `+cond, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return rv, errNoReview
	}
	if err != nil {
		return rv, err
	}
	rv.Figures, err = db.Collect(ctx, s.DB.R, func(r db.Scanner) (Figure, error) {
		var f Figure
		var at db.Time
		err := r.Scan(&f.Division, &f.Name, &f.Households, &f.HouseholdsReached, &f.Vulnerable, &f.VulnerableReached, &at, &f.HelpRequests, &f.Moved)
		f.AllReachedAt = at.Time
		f.minutes(rv.FirstSent)
		return f, err
	}, `SELECT division_code, name, households, households_reached, vulnerable, vulnerable_reached, all_reached_at, help_requests, moved
		FROM em_review_figures WHERE review_id = $1 ORDER BY division_code`, rv.ID)
	if err != nil {
		return rv, err
	}
	rv.Figures = orEmpty(rv.Figures)
	rv.Total = Figure{Name: "合计"}
	for _, f := range rv.Figures {
		rv.Total.Households += f.Households
		rv.Total.HouseholdsReached += f.HouseholdsReached
		rv.Total.Vulnerable += f.Vulnerable
		rv.Total.VulnerableReached += f.VulnerableReached
		rv.Total.HelpRequests += f.HelpRequests
		rv.Total.Moved += f.Moved
		if f.AllReachedAt.After(rv.Total.AllReachedAt) {
			rv.Total.AllReachedAt = f.AllReachedAt
		}
	}
	if !rv.Total.AllReached() {
		rv.Total.AllReachedAt = time.Time{}
	}
	rv.Total.minutes(rv.FirstSent)
	rv.Findings, err = s.findings(ctx, `f.review_id = $1 ORDER BY f.seq`, rv.ID)
	if err != nil {
		return rv, err
	}
	officer := p.Role == access.Officer && access.BusinessScope(p).Contains(rv.Division)
	for i := range rv.Findings {
		f := &rv.Findings[i]
		f.CanClose = !f.Done && (f.Owner == p.Username || officer)
	}
	return rv, nil
}

func (s *Store) findings(ctx context.Context, cond string, args ...any) ([]Finding, error) {
	today := s.today()
	fs, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Finding, error) {
		var f Finding
		var state string
		var at db.Time
		err := r.Scan(&f.ID, &f.ReviewID, &f.Text, &f.Owner, &f.DueOn, &state, &f.DoneNote, &f.DoneBy, &at)
		f.Done, f.DoneAt = state == findingDone, at.Time
		f.Overdue = !f.Done && f.DueOn < today
		return f, err
	}, `SELECT f.id, f.review_id, f.body, f.owner, f.due_on, f.state, f.done_note, f.done_by, f.done_at FROM em_findings f WHERE `+cond, args...)
	return orEmpty(fs), err
}

// ReviewFilter chooses reviews.
type ReviewFilter struct {
	Drills bool // only drills (CAP status Exercise)
}

// Reviews lists the newest reviews the principal may see (at most 100).
func (s *Store) Reviews(ctx context.Context, f ReviewFilter) ([]Review, error) {
	p := access.From(ctx)
	if err := workerOnly(p); err != nil {
		return nil, err
	}
	cond, args := reviewVisible(p, 1)
	if f.Drills {
		cond += ` AND v.status = 'Exercise'`
	}
	rs, err := db.Collect(ctx, s.DB.R, scanReview, `SELECT `+reviewCols+` FROM em_reviews v WHERE `+cond+` ORDER BY v.created_at DESC, v.id DESC LIMIT 100`, args...)
	return orEmpty(rs), err
}

// Unreviewed are the incidents an officer may review now: over, in
// their jurisdiction, without a review (the newest 20).
func (s *Store) Unreviewed(ctx context.Context) ([]Alert, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer {
		return []Alert{}, nil
	}
	cond, args := visibleCond(p, 1)
	firsts, err := db.Collect(ctx, s.DB.R, scanAlert, `SELECT `+alertCols+` FROM em_alerts x WHERE x.id = x.incident_id AND `+cond+`
		AND NOT EXISTS (SELECT 1 FROM em_reviews v WHERE v.incident_id = x.id) ORDER BY x.sent DESC, x.id DESC LIMIT 100`, args...)
	if err != nil {
		return nil, err
	}
	out := []Alert{}
	for _, a := range firsts {
		last, err := s.latest(ctx, s.DB.R, a.IncidentID)
		if err != nil {
			return nil, err
		}
		if reviewer(p, last) == nil && !s.closedAt(last).IsZero() {
			out = append(out, last)
		}
		if len(out) == 20 {
			break
		}
	}
	return out, nil
}

// CloseFinding marks a finding done: by its owner, or by an officer whose
// jurisdiction holds the review's.
func (s *Store) CloseFinding(ctx context.Context, reviewID, findingID string, in DoneInput) (Finding, error) {
	p := access.From(ctx)
	rv, err := s.Review(ctx, reviewID)
	if err != nil {
		return Finding{}, err
	}
	var f *Finding
	for i := range rv.Findings {
		if rv.Findings[i].ID == findingID {
			f = &rv.Findings[i]
		}
	}
	if f == nil {
		return Finding{}, fault.NotFound(fault.M("这份复盘中没有这条整改事项", "no such finding in this review"))
	}
	if f.Done {
		return Finding{}, fault.Conflict(fault.M("这条整改事项已完成", "this finding is already done"))
	}
	if !f.CanClose {
		return Finding{}, fault.Forbidden(fault.M("只有负责人或复盘所在辖区的干部可以办结", "only the owner or an officer of the review's jurisdiction closes a finding"))
	}
	note := strings.TrimSpace(in.Note)
	if utf8.RuneCountInString(note) > 500 {
		return Finding{}, fault.Invalid(fault.M("无法办结", "cannot close the finding"), fault.Field("note", fault.M("说明不超过 500 字", "the note is at most 500 characters")))
	}
	now := s.Now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE em_findings SET state = $1, done_note = $2, done_by = $3, done_at = $4 WHERE id = $5 AND review_id = $6 AND state = $7`,
			findingDone, note, p.Username, db.T(now), f.ID, rv.ID, findingOpen)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return fault.Conflict(fault.M("这条整改事项已完成", "this finding is already done"))
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.finding.done", Object: "finding", ObjectID: f.ID, Division: rv.Division,
			Detail: audit.Detail(map[string]any{"review": rv.ID, "owner": f.Owner})})
	})
	if err != nil {
		return Finding{}, err
	}
	f.Done, f.DoneNote, f.DoneBy, f.DoneAt, f.Overdue, f.CanClose = true, note, p.Username, now, false, false
	return *f, nil
}

// findingsWork are a worker's open findings for the 工作台, the earliest
// deadline first.
func (s *Store) findingsWork(ctx context.Context, user string, limit int) ([]Finding, error) {
	return s.findings(ctx, `f.owner = $1 AND f.state = 'open' ORDER BY f.due_on, f.id LIMIT `+itoa(limit), user)
}
