package emergency

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// Tally counts checks by status.
type Tally struct {
	Total       int `json:"total"`
	Pending     int `json:"pending"`
	Safe        int `json:"safe"`
	NeedsHelp   int `json:"needs_help"`
	Unreachable int `json:"unreachable"`
	Evacuated   int `json:"evacuated"`
}

func (t *Tally) add(status string, n int) {
	t.Total += n
	switch status {
	case StatusPending:
		t.Pending += n
	case StatusSafe:
		t.Safe += n
	case StatusNeedsHelp:
		t.NeedsHelp += n
	case StatusUnreachable:
		t.Unreachable += n
	case StatusEvacuated:
		t.Evacuated += n
	}
}

// Confirmed counts the reached: all but pending and unreachable.
func (t Tally) Confirmed() int { return t.Safe + t.NeedsHelp + t.Evacuated }

// BoardRow is one community's counts.
type BoardRow struct {
	Division   string `json:"division"`
	Name       string `json:"name"`
	Households Tally  `json:"households"`
	Vulnerable Tally  `json:"vulnerable"`
}

// Board is the live board of an incident within a division.
type Board struct {
	Alert      Alert      `json:"alert"` // the message in force
	Division   string     `json:"division"`
	Since      time.Time  `json:"since"` // the first warning's time
	Minutes    int        `json:"minutes_since_warning"`
	Households Tally      `json:"households"`
	Vulnerable Tally      `json:"vulnerable"`
	Rows       []BoardRow `json:"communities"`
	// Waiting are vulnerable residents not yet confirmed (at most 200):
	// not reached, unreachable, or needing help.
	Waiting  []Check   `json:"waiting"`
	Shelters []Shelter `json:"shelters"`
	// Drawn are the supplies taken out in the area since the first
	// warning; Timeline the latest messages and status changes.
	Drawn    []Drawn  `json:"supplies_drawn"`
	Timeline []Moment `json:"timeline"`
}

// Board counts an incident's checks by community within division (empty:
// the principal's own division), with who is still waiting.
func (s *Store) Board(ctx context.Context, alertID, division string) (Board, error) {
	b := Board{Rows: []BoardRow{}, Waiting: []Check{}, Shelters: []Shelter{}, Drawn: []Drawn{}, Timeline: []Moment{}}
	a, err := s.bare(ctx, s.DB.R, alertID) // the latest message's areas are read below
	if err != nil {
		return b, err
	}
	p := access.From(ctx)
	if p.Role == access.Resident {
		return b, fault.Forbidden(fault.M("看板供工作人员使用", "the board is for workers"))
	}
	if division == "" {
		division = p.Division
	}
	sc := access.BusinessScope(p)
	if !sc.Contains(division) {
		return b, fault.Invalid(fault.M("无法查看", "cannot show the board"), fault.Field("division", fault.M("不在您的辖区内", "is outside your jurisdiction")))
	}
	if b.Alert, err = s.latest(ctx, s.DB.R, a.IncidentID); err != nil {
		return b, err
	}
	var first db.Time
	if err := s.DB.R.QueryRowContext(ctx, `SELECT MIN(sent) FROM em_alerts WHERE incident_id = $1`, a.IncidentID).Scan(&first); err != nil {
		return b, err
	}
	b.Division, b.Since = division, first.Time
	b.Minutes = int(s.Now().Sub(first.Time).Minutes())
	ds := access.Subtree(division)
	rows := map[string]*BoardRow{}
	err = db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var div, kind, status string
		var n int
		if err := r.Scan(&div, &kind, &status, &n); err != nil {
			return err
		}
		row := rows[div]
		if row == nil {
			row = &BoardRow{Division: div}
			rows[div] = row
		}
		if kind == KindHousehold {
			row.Households.add(status, n)
			b.Households.add(status, n)
		} else {
			row.Vulnerable.add(status, n)
			b.Vulnerable.add(status, n)
		}
		return nil
	}, boardSQL, a.IncidentID, ds.Lo, ds.Hi)
	if err != nil {
		return b, err
	}
	for _, r := range rows {
		if d, err := s.Divs.Get(ctx, r.Division); err == nil {
			r.Name = d.Name
		}
		b.Rows = append(b.Rows, *r)
	}
	sort.Slice(b.Rows, func(i, j int) bool { return b.Rows[i].Division < b.Rows[j].Division })
	// Those needing help first, then the not yet reached, then the
	// unreachable: one walk of em_checks_persons per status, in its
	// order, stopping at the limit, so a county's board never sorts its
	// incident.
	for _, st := range []string{StatusNeedsHelp, StatusPending, StatusUnreachable} {
		more, err := s.checksBy(ctx, waitingSQL(WaitingMax-len(b.Waiting)), a.IncidentID, ds.Lo, ds.Hi, st)
		if err != nil {
			return b, err
		}
		if b.Waiting = append(b.Waiting, more...); len(b.Waiting) >= WaitingMax {
			break
		}
	}
	b.Waiting = orEmpty(b.Waiting)
	if b.Shelters, err = s.Shelters(ctx, b.Alert); err != nil {
		return b, err
	}
	return b, s.situation(ctx, &b, a.IncidentID)
}

// boardSQL reads the kept counts by community, kind and status of an
// incident ($1) within a division's subtree ($2–$3).
const boardSQL = `SELECT division_code, kind, status, n FROM em_tally WHERE incident_id = $1 AND division_code >= $2 AND division_code < $3 AND n > 0`

// WaitingMax is how many waiting vulnerable residents the board lists.
const WaitingMax = 200

// waitingSQL reads up to limit vulnerable residents of an incident ($1)
// within a division ($2–$3) in one status ($4), by community.
func waitingSQL(limit int) string {
	return checksInOrder(`c.incident_id = $1 AND c.kind = 'person' AND c.status = $4 AND c.division_code >= $2 AND c.division_code < $3`,
		`c.division_code, c.id`, limit) // em_checks_persons' order
}

// checksSQL reads checks matching cond (alias c) with the person's
// surname, in status order.
func checksSQL(cond string, limit int) string {
	return checksInOrder(cond, `c.status, c.division_code, c.id`, limit)
}

// checksInOrder is checksSQL in another order.
func checksInOrder(cond, order string, limit int) string {
	return `SELECT ` + checkCols + `, (SELECT r.surname FROM registry_people r WHERE r.id = c.subject_id AND c.kind = 'person') FROM em_checks c WHERE ` + cond +
		` ORDER BY ` + order + ` LIMIT ` + itoa(limit)
}

// Statement is one of the module's hot statements with its arguments.
type Statement struct {
	SQL  string
	Args []any
}

// HotSQL are the statements read most (the 工作台, 我的, the board) for
// a worker, a household and an incident within a division: for plan tests.
func HotSQL(worker, household, incident, division string) map[string]Statement {
	ds := access.Subtree(division)
	return map[string]Statement{
		"work.helper":   {checksSQL(helperCond, 50), []any{worker}},
		"work.grid":     {checksSQL(gridCond, 50), []any{worker}},
		"mine":          {mySQL, []any{household}},
		"board.counts":  {boardSQL, []any{incident, ds.Lo, ds.Hi}},
		"board.waiting": {waitingSQL(WaitingMax), []any{incident, ds.Lo, ds.Hi, StatusPending}},
	}
}

// checks reads checks matching cond (alias c) with the person's surname.
func (s *Store) checks(ctx context.Context, cond string, limit int, args ...any) ([]Check, error) {
	return s.checksBy(ctx, checksSQL(cond, limit), args...)
}

func (s *Store) checksBy(ctx context.Context, query string, args ...any) ([]Check, error) {
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Check, error) {
		var c Check
		var at db.Time
		var surname sql.NullString
		err := r.Scan(&c.ID, &c.IncidentID, &c.Kind, &c.SubjectID, &c.HouseholdID, &c.Division, &c.GridID, &c.Helper, &c.Status, &c.ShelterID, &c.People, &c.Note, &c.UpdatedBy, &at, &surname)
		c.UpdatedAt = at.Time
		if surname.String != "" {
			c.Whose = surname.String + "**"
		}
		return c, err
	}, query, args...)
}

// CheckFilter chooses checks.
type CheckFilter struct {
	AlertID  string // the checks of this alert's incident; empty: of every warning
	Division string // within the principal's jurisdiction
	Kind     string // household, person
	Status   string
	After    int64 // the last id of the page before
	Limit    int
}

// Checks lists an incident's checks in id order, a page at a time.
func (s *Store) Checks(ctx context.Context, f CheckFilter) ([]Check, error) {
	incident := ""
	if f.AlertID != "" {
		a, err := s.Get(ctx, f.AlertID)
		if err != nil {
			return nil, err
		}
		incident = a.IncidentID
	}
	p := access.From(ctx)
	if p.Role == access.Resident {
		return nil, fault.Forbidden(fault.M("仅供工作人员使用", "for workers only"))
	}
	sc := access.BusinessScope(p)
	if f.Division != "" {
		if !sc.Contains(f.Division) {
			return nil, fault.Invalid(fault.M("无法列出", "cannot list"), fault.Field("division", fault.M("不在您的辖区内", "is outside your jurisdiction")))
		}
		sc = access.Subtree(f.Division)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	cond := `c.division_code >= $1 AND c.division_code < $2 AND c.id > $3`
	args := []any{sc.Lo, sc.Hi, f.After}
	if incident != "" {
		args = append(args, incident)
		cond += ` AND c.incident_id = ` + ph(len(args))
	}
	if f.Kind != "" {
		if f.Kind != KindHousehold && f.Kind != KindPerson {
			return nil, fault.Invalid(fault.M("无法列出", "cannot list"), fault.Field("kind", fault.M("应为 household 或 person", "must be household or person")))
		}
		args = append(args, f.Kind)
		cond += ` AND c.kind = ` + ph(len(args))
	}
	if f.Status != "" {
		if _, ok := transitions[f.Status]; !ok {
			return nil, fault.Invalid(fault.M("无法列出", "cannot list"), fault.Field("status", fault.M("未知状态", "unknown status")))
		}
		args = append(args, f.Status)
		cond += ` AND c.status = ` + ph(len(args))
	}
	return db.Collect(ctx, s.DB.R, scanCheck, `SELECT `+checkCols+` FROM em_checks c WHERE `+cond+` ORDER BY c.id LIMIT `+itoa(f.Limit), args...)
}

// Pairing is a vulnerable resident's named helper (一对一结对), reviewed
// each year.
type Pairing struct {
	ID         string    `json:"id"`
	ResidentID string    `json:"resident_id"`
	Division   string    `json:"division"`
	Helper     string    `json:"helper"` // the helper's account
	Kind       string    `json:"kind"`   // grid_worker, neighbour, volunteer
	Note       string    `json:"note,omitempty"`
	ReviewedOn string    `json:"reviewed_on"`
	ReviewDue  bool      `json:"review_due"` // not reviewed for a year
	UpdatedAt  time.Time `json:"updated_at"`
}

// PairingInput pairs a resident with a helper (again: the review).
type PairingInput struct {
	ResidentID string `json:"resident_id"`
	Helper     string `json:"helper"`
	Kind       string `json:"kind"`
	Note       string `json:"note,omitempty"`
}

var pairKinds = []string{"grid_worker", "neighbour", "volunteer"}

// Pair records (or reviews) a resident's helper: the helper is a worker
// account of the resident's community or above.
func (s *Store) Pair(ctx context.Context, in PairingInput) (Pairing, error) {
	p := access.From(ctx)
	if p == nil || (p.Role != access.CommunityWorker && p.Role != access.Officer && p.Role != access.GridWorker) {
		return Pairing{}, fault.Forbidden(fault.M("只有工作人员可以安排结对", "only workers pair helpers"))
	}
	sc := access.BusinessScope(p)
	bad := func(f, zh, en string) error {
		return fault.Invalid(fault.M("无法结对", "cannot pair"), fault.Field(f, fault.M(zh, en)))
	}
	if !contains(pairKinds, in.Kind) {
		return Pairing{}, bad("kind", "应为 grid_worker（网格员）、neighbour（邻居）或 volunteer（志愿者）", "must be grid_worker, neighbour or volunteer")
	}
	if utf8.RuneCountInString(strings.TrimSpace(in.Note)) > 500 {
		return Pairing{}, bad("note", "帮扶计划不超过 500 字", "the plan is at most 500 characters")
	}
	if in.Helper == "" {
		return Pairing{}, bad("helper", "请选择帮扶人", "choose a helper")
	}
	var div string
	err := s.DB.R.QueryRowContext(ctx, `SELECT division_code FROM registry_people WHERE id = $1 AND division_code >= $2 AND division_code < $3`, in.ResidentID, sc.Lo, sc.Hi).Scan(&div)
	if errors.Is(err, sql.ErrNoRows) {
		return Pairing{}, bad("resident_id", "找不到该居民，或不在您的辖区内", "no such resident in your jurisdiction")
	}
	if err != nil {
		return Pairing{}, err
	}
	var helperDiv, role string
	err = s.DB.R.QueryRowContext(ctx, `SELECT division_code, role FROM users WHERE username = $1 AND NOT disabled`, in.Helper).Scan(&helperDiv, &role)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (!access.Role(role).Business() || !strings.HasPrefix(div, helperDiv) && !strings.HasPrefix(helperDiv, div[:9])) {
		return Pairing{}, bad("helper", "结对人须为本社区（或所属街道）的账号", "the helper must be an account of the resident's community or township")
	}
	if err != nil {
		return Pairing{}, err
	}
	now := s.Now()
	pr := Pairing{ID: db.NewID(), ResidentID: in.ResidentID, Division: div, Helper: in.Helper, Kind: in.Kind, Note: strings.TrimSpace(in.Note), ReviewedOn: s.today(), UpdatedAt: now}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO em_helpers (id, resident_id, division_code, helper, kind, note, reviewed_on, created_by, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$9)
			ON CONFLICT (resident_id) DO UPDATE SET helper = excluded.helper, kind = excluded.kind, note = excluded.note, reviewed_on = excluded.reviewed_on, updated_at = excluded.updated_at`,
			pr.ID, pr.ResidentID, div, pr.Helper, pr.Kind, pr.Note, pr.ReviewedOn, p.Username, db.T(now)); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.pair", Object: "resident", ObjectID: in.ResidentID, Division: div,
			Detail: audit.Detail(map[string]string{"helper": in.Helper, "kind": in.Kind})})
	})
	if err != nil {
		return Pairing{}, err
	}
	return pr, s.DB.R.QueryRowContext(ctx, `SELECT id FROM em_helpers WHERE resident_id = $1`, in.ResidentID).Scan(&pr.ID)
}

// Pairings lists the pairings in the principal's jurisdiction (at most 500).
func (s *Store) Pairings(ctx context.Context) ([]Pairing, error) {
	sc := access.ScopeOf(ctx)
	due := s.Now().In(time.UTC).AddDate(-1, 0, 0).Format("2006-01-02")
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Pairing, error) {
		var pr Pairing
		var at db.Time
		err := r.Scan(&pr.ID, &pr.ResidentID, &pr.Division, &pr.Helper, &pr.Kind, &pr.Note, &pr.ReviewedOn, &at)
		pr.UpdatedAt, pr.ReviewDue = at.Time, pr.ReviewedOn < due
		return pr, err
	}, `SELECT id, resident_id, division_code, helper, kind, note, reviewed_on, updated_at FROM em_helpers WHERE division_code >= $1 AND division_code < $2 ORDER BY division_code, reviewed_on, id LIMIT 500`, sc.Lo, sc.Hi)
}
