package emergency

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// Check is one household's or vulnerable resident's status in an incident.
type Check struct {
	ID          int64     `json:"id"`
	IncidentID  string    `json:"incident_id"`
	Kind        string    `json:"kind"` // household or person
	SubjectID   string    `json:"subject_id"`
	HouseholdID string    `json:"household_id"`
	Division    string    `json:"division"`
	GridID      string    `json:"grid_id,omitempty"`
	Helper      string    `json:"helper"`
	Whose       string    `json:"whose,omitempty"` // the person's surname (张**)
	Status      string    `json:"status"`
	ShelterID   string    `json:"shelter_id,omitempty"`
	People      int       `json:"people"`
	Note        string    `json:"note,omitempty"`
	UpdatedBy   string    `json:"updated_by,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// CheckinInput is a status report. A resident reports for themselves and
// their household (CheckID is ignored); a helper or worker names the check.
type CheckinInput struct {
	AlertID   string `json:"alert_id"`
	CheckID   int64  `json:"check_id,omitempty"`
	Status    string `json:"status"`               // safe, needs_help, unreachable, evacuated
	ShelterID string `json:"shelter_id,omitempty"` // for evacuated
	People    int    `json:"people,omitempty"`     // for a household evacuated: how many (default: its members)
	Note      string `json:"note,omitempty"`       // what help is needed
}

// CheckinResult is what a report changed.
type CheckinResult struct {
	Checks  []Check    `json:"checks"`
	Shelter *Shelter   `json:"shelter,omitempty"`
	Warning *fault.Msg `json:"warning,omitempty"` // e.g. the shelter is over capacity
}

// Shelter is an emergency shelter with its capacity and occupancy now.
type Shelter struct {
	ID        string `json:"id"`
	Code      string `json:"code"`
	Name      string `json:"name"`
	Division  string `json:"division"`
	Capacity  int    `json:"capacity"`
	Occupancy int    `json:"occupancy"`
	// Opened is the shelter's state in the warning's incident where a
	// list is of one: open, closed, or "" (not opened).
	Opened string `json:"opened,omitempty"`
}

// Over tells whether more people are there than it holds.
func (s Shelter) Over() bool { return s.Capacity > 0 && s.Occupancy > s.Capacity }

const checkCols = `c.id, c.incident_id, c.kind, c.subject_id, c.household_id, c.division_code, c.grid_id, c.helper, c.status, c.shelter_id, c.people, c.note, c.updated_by, c.updated_at`

func scanCheck(r db.Scanner) (Check, error) {
	var c Check
	var at db.Time
	err := r.Scan(&c.ID, &c.IncidentID, &c.Kind, &c.SubjectID, &c.HouseholdID, &c.Division, &c.GridID, &c.Helper, &c.Status, &c.ShelterID, &c.People, &c.Note, &c.UpdatedBy, &at)
	c.UpdatedAt = at.Time
	return c, err
}

func statusWords(st string) fault.Msg {
	switch st {
	case StatusPending:
		return fault.M("未联系", "Not reached")
	case StatusSafe:
		return fault.M("已确认安全", "Safe")
	case StatusNeedsHelp:
		return fault.M("需要帮助", "Needs help")
	case StatusUnreachable:
		return fault.M("联系不上", "Unreachable")
	case StatusEvacuated:
		return fault.M("已转移", "Evacuated")
	}
	return fault.M(st, st)
}

var reportStatuses = []string{StatusSafe, StatusNeedsHelp, StatusUnreachable, StatusEvacuated}

// residentOf is the registry record linked to a resident's account.
func (s *Store) residentOf(ctx context.Context, p *access.Principal) (id, household string, err error) {
	err = s.DB.R.QueryRowContext(ctx, `SELECT id, household_id FROM registry_people WHERE username = $1 AND username <> ''`, p.Username).Scan(&id, &household)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return id, household, err
}

var errOutside = fault.Forbidden(fault.M("您的住户不在该预警区域内", "your household is not in this warning's area"))

// Checkin records a status report (see CheckinInput), each change a move
// of the check's state machine: a move it does not allow is a conflict.
func (s *Store) Checkin(ctx context.Context, in CheckinInput) (CheckinResult, error) {
	p := access.From(ctx)
	var res CheckinResult
	if p == nil || !p.Role.Business() {
		return res, fault.Forbidden(fault.M("无权登记", "you may not record check-ins"))
	}
	var fields []fault.FieldError
	if !contains(reportStatuses, in.Status) || p.Role == access.Resident && in.Status == StatusUnreachable {
		fields = append(fields, fault.Field("status", fault.M("状态应为 safe（安全）、needs_help（需要帮助）、unreachable（联系不上）或 evacuated（已转移）",
			"status must be safe, needs_help, unreachable or evacuated")))
	}
	if in.Status == StatusEvacuated && in.ShelterID == "" {
		fields = append(fields, fault.Field("shelter_id", fault.M("请选择转移到的避难场所", "choose the shelter they went to")))
	}
	if in.Status == StatusNeedsHelp && strings.TrimSpace(in.Note) == "" {
		fields = append(fields, fault.Field("note", fault.M("请写明需要什么帮助", "say what help is needed")))
	}
	if in.People < 0 {
		fields = append(fields, fault.Field("people", fault.M("人数不能为负", "people cannot be negative")))
	}
	if len([]rune(in.Note)) > 500 {
		fields = append(fields, fault.Field("note", fault.M("说明不超过 500 字", "the note is at most 500 characters")))
	}
	if p.Role != access.Resident && in.CheckID <= 0 {
		fields = append(fields, fault.Field("check_id", fault.M("请指明登记哪一户或哪一位", "name the household or person")))
	}
	if len(fields) > 0 {
		return res, fault.Invalid(fault.M("无法登记", "cannot record the check-in"), fields...)
	}
	alert, err := s.bare(ctx, s.DB.R, in.AlertID)
	if err != nil {
		if p.Role == access.Resident {
			alert, err = s.residentAlert(ctx, p, in.AlertID)
		}
		if err != nil {
			return res, err
		}
	}
	last, err := s.latestBare(ctx, s.DB.R, alert.IncidentID)
	if err != nil {
		return res, err
	}
	if err := s.inForce(last); err != nil {
		return res, err
	}
	var shelter *Shelter
	if in.Status == StatusEvacuated {
		sh, err := s.shelter(ctx, s.DB.R, in.ShelterID)
		if err != nil {
			return res, err
		}
		shelter = &sh
	}
	// apply writes the check-in inside tx, adds its moves of the counts to
	// moves and returns its audit entries; it runs in the next group of
	// check-ins (group.go), which writes the counts and the entries once.
	apply := func(ctx context.Context, tx *sql.Tx, moves tallyMoves) ([]audit.Item, error) {
		var items []audit.Item
		res.Checks = nil
		var checks []Check
		if p.Role == access.Resident {
			rid, hh, err := s.residentOf(ctx, p)
			if err != nil {
				return nil, err
			}
			if rid == "" {
				return nil, errOutside
			}
			checks, err = db.Collect(ctx, tx, scanCheck, `SELECT `+checkCols+` FROM em_checks c WHERE c.incident_id = $1 AND (c.kind = 'household' AND c.subject_id = $2 OR c.kind = 'person' AND c.subject_id = $3)`,
				alert.IncidentID, hh, rid)
			if err != nil {
				return nil, err
			}
			if len(checks) == 0 {
				return nil, errOutside
			}
		} else {
			sc := access.BusinessScope(p)
			// By key alone, then the incident and the jurisdiction: with
			// them in the WHERE, PostgreSQL's plan for a county's fresh
			// incident (its statistics not yet updated) walked its index.
			c, err := scanCheck(tx.QueryRowContext(ctx, `SELECT `+checkCols+` FROM em_checks c WHERE c.id = $1`, in.CheckID))
			if errors.Is(err, sql.ErrNoRows) || err == nil && (c.IncidentID != alert.IncidentID || !sc.Contains(c.Division)) {
				return nil, fault.NotFound(fault.M("找不到这条登记，或不在您的辖区内", "no such check in your jurisdiction"))
			}
			if err != nil {
				return nil, err
			}
			checks = []Check{c}
		}
		moved := 0
		for _, c := range checks {
			if c.Status == in.Status && c.ShelterID == in.ShelterID && len(checks) > 1 {
				continue // the resident's household already reported this
			}
			if !contains(transitions[c.Status], in.Status) {
				return nil, fault.Conflict(fault.M("状态不能从「"+statusWords(c.Status).ZH+"」改为「"+statusWords(in.Status).ZH+"」",
					"the status cannot go from "+statusWords(c.Status).EN+" to "+statusWords(in.Status).EN))
			}
			people := c.People
			if in.Status == StatusEvacuated {
				people = in.People
				if c.Kind == KindPerson {
					people = 1
				} else if people == 0 {
					if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM registry_people WHERE household_id = $1`, c.HouseholdID).Scan(&people); err != nil {
						return nil, err
					}
				}
			}
			shelterID := ""
			if in.Status == StatusEvacuated {
				shelterID = in.ShelterID
			}
			now := s.Now()
			r, err := tx.ExecContext(ctx, `UPDATE em_checks SET status = $1, shelter_id = $2, people = $3, note = $4, updated_by = $5, updated_at = $6 WHERE id = $7 AND status = $8`,
				in.Status, shelterID, people, strings.TrimSpace(in.Note), p.Username, db.T(now), c.ID, c.Status)
			if err != nil {
				return nil, err
			}
			if n, _ := r.RowsAffected(); n != 1 {
				return nil, fault.Conflict(fault.M("这条登记刚被他人更新，请刷新后再试", "someone has just updated this check; reload and try again"))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO em_check_events (id, check_id, incident_id, from_status, to_status, shelter_id, note, by_user, by_role, at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
				db.NewID(), c.ID, c.IncidentID, c.Status, in.Status, shelterID, strings.TrimSpace(in.Note), p.Username, string(p.Role), db.T(now)); err != nil {
				return nil, err
			}
			if c.Status != in.Status {
				moves.move(c, in.Status)
			}
			items = append(items, audit.Item{Ctx: ctx, Entry: audit.Entry{Action: "emergency.checkin", Object: "check", ObjectID: itoa64(c.ID), Division: c.Division,
				Detail: audit.Detail(map[string]any{"incident": c.IncidentID, "kind": c.Kind, "from": c.Status, "to": in.Status, "shelter": shelterID})}})
			c.Status, c.ShelterID, c.People, c.Note, c.UpdatedBy, c.UpdatedAt = in.Status, shelterID, people, strings.TrimSpace(in.Note), p.Username, now
			res.Checks = append(res.Checks, c)
			moved++
		}
		if moved == 0 {
			return nil, fault.Conflict(fault.M("已登记过这一状态", "this status is already recorded"))
		}
		return items, nil
	}
	err = s.checkin(ctx, apply)
	if err != nil {
		return CheckinResult{}, err
	}
	if shelter != nil {
		sh, err := s.shelter(ctx, s.DB.R, shelter.ID)
		if err != nil {
			return res, err
		}
		res.Shelter = &sh
		if sh.Over() {
			w := fault.M("避难场所「"+sh.Name+"」已超出容量（"+itoa(sh.Occupancy)+"/"+itoa(sh.Capacity)+"人）", "shelter "+sh.Name+" is over capacity ("+itoa(sh.Occupancy)+"/"+itoa(sh.Capacity)+")")
			res.Warning = &w
		}
	}
	return res, nil
}

func itoa64(n int64) string { return itoa(int(n)) }

// residentAlert finds an alert for a resident whose account is not a
// business scope match (a resident's own division is their scope).
func (s *Store) residentAlert(ctx context.Context, p *access.Principal, id string) (Alert, error) {
	a, err := scanAlert(s.DB.R.QueryRowContext(ctx, `SELECT `+alertCols+` FROM em_alerts x WHERE x.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, errNotFound
	}
	if err != nil {
		return a, err
	}
	return a, errOutside
}

// occupancySQL counts the people at a shelter now: evacuated households
// with their people, and evacuated persons whose household is not also
// counted there.
const occupancySQL = `SELECT COALESCE(SUM(c.people), 0) FROM em_checks c WHERE c.shelter_id = $1 AND c.status = 'evacuated'
	AND (c.kind = 'household' OR NOT EXISTS (SELECT 1 FROM em_checks hh WHERE hh.incident_id = c.incident_id AND hh.kind = 'household'
		AND hh.subject_id = c.household_id AND hh.status = 'evacuated' AND hh.shelter_id = c.shelter_id))`

// occupancies counts the people at each of some shelters now, as
// occupancySQL does for one, in one statement (a county's board lists
// dozens of shelters on every read).
func (s *Store) occupancies(ctx context.Context, ids []string) (map[string]int, error) {
	out := make(map[string]int, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	marks := make([]string, len(ids))
	for i, id := range ids {
		args[i], marks[i] = id, ph(i+1)
	}
	err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var id string
		var n int
		err := r.Scan(&id, &n)
		out[id] = n
		return err
	}, `SELECT c.shelter_id, COALESCE(SUM(c.people), 0) FROM em_checks c WHERE c.shelter_id IN (`+strings.Join(marks, ", ")+`) AND c.status = 'evacuated'
		AND (c.kind = 'household' OR NOT EXISTS (SELECT 1 FROM em_checks hh WHERE hh.incident_id = c.incident_id AND hh.kind = 'household'
		AND hh.subject_id = c.household_id AND hh.status = 'evacuated' AND hh.shelter_id = c.shelter_id)) GROUP BY c.shelter_id`, args...)
	return out, err
}

// shelter reads an open emergency shelter with its occupancy now.
func (s *Store) shelter(ctx context.Context, q rowQuerier, id string) (Shelter, error) {
	var sh Shelter
	var caps string
	err := q.QueryRowContext(ctx, `SELECT id, code, name, division_code, capacities FROM registry_facility_cards WHERE id = $1 AND category = $2 AND status = 'open'`,
		id, ShelterCategory).Scan(&sh.ID, &sh.Code, &sh.Name, &sh.Division, &caps)
	if errors.Is(err, sql.ErrNoRows) {
		return sh, fault.Invalid(fault.M("无法登记", "cannot record the check-in"), fault.Field("shelter_id", fault.M("不是开放中的应急避难场所", "is not an open emergency shelter")))
	}
	if err != nil {
		return sh, err
	}
	sh.Capacity = capacityOf(caps)
	return sh, q.QueryRowContext(ctx, occupancySQL, id).Scan(&sh.Occupancy)
}

func capacityOf(caps string) int {
	var m map[string]float64
	if json.Unmarshal([]byte(caps), &m) != nil {
		return 0
	}
	return int(m["people"])
}

// Shelters lists the open shelters in and around an alert's area (its
// divisions' county), with occupancy.
func (s *Store) Shelters(ctx context.Context, a Alert) ([]Shelter, error) {
	out := []Shelter{}
	seen := map[string]bool{}
	for _, c := range a.Divisions {
		county := c
		if len(county) > 6 {
			county = county[:6]
		}
		if seen[county] {
			continue
		}
		seen[county] = true
		sc := access.Subtree(county)
		rows, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Shelter, error) {
			var sh Shelter
			var caps string
			err := r.Scan(&sh.ID, &sh.Code, &sh.Name, &sh.Division, &caps)
			sh.Capacity = capacityOf(caps)
			return sh, err
		}, `SELECT id, code, name, division_code, capacities FROM registry_facility_cards WHERE category = $1 AND status = 'open' AND division_code >= $2 AND division_code < $3 ORDER BY division_code, name LIMIT 200`,
			ShelterCategory, sc.Lo, sc.Hi)
		if err != nil {
			return nil, err
		}
		opened, err := s.openings(ctx, a.IncidentID)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(rows))
		for i := range rows {
			ids[i] = rows[i].ID
		}
		occ, err := s.occupancies(ctx, ids)
		if err != nil {
			return nil, err
		}
		for i := range rows {
			rows[i].Occupancy, rows[i].Opened = occ[rows[i].ID], opened[rows[i].ID]
		}
		out = append(out, rows...)
	}
	return out, nil
}

// Check reads one check in the principal's jurisdiction, with its alert.
func (s *Store) Check(ctx context.Context, id int64) (Check, Alert, error) {
	sc := access.ScopeOf(ctx)
	cs, err := s.checks(ctx, `c.id = $1 AND c.division_code >= $2 AND c.division_code < $3`, 1, id, sc.Lo, sc.Hi)
	if err != nil {
		return Check{}, Alert{}, err
	}
	if len(cs) == 0 || access.From(ctx).Role == access.Resident {
		return Check{}, Alert{}, fault.NotFound(fault.M("找不到这条登记，或不在您的辖区内", "no such check in your jurisdiction"))
	}
	a, err := s.latest(ctx, s.DB.R, cs[0].IncidentID)
	return cs[0], a, err
}
