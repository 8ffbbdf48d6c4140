package visits

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// visitFrom reads visits with their resident's name and household's
// address. Only LEFT JOINs follow vis_visits, and the programme's code is a
// lookup in the columns rather than a join: SQLite never reorders a LEFT
// JOIN, so a list is always read from its own index on vis_visits in order.
// With an inner join to the three programmes it was seen to start from the
// programmes and sort a county's visits to show twenty.
const visitFrom = ` FROM vis_visits v
	LEFT JOIN reg_residents r ON r.id = v.resident_id LEFT JOIN reg_households h ON h.id = v.household_id`

const visitCols = `v.id, v.programme_id, (SELECT p.code FROM vis_programmes p WHERE p.id = v.programme_id), v.month, v.origin, v.subject_id, v.resident_id, v.household_id, v.division_code, v.grid_id, v.owner, v.due_date, v.status,
	v.parent_id, v.method, v.visited_at, v.present, v.answers, v.sealed, v.photo_type, v.lon, v.lat, v.risk, v.reason, v.note, v.recorded_by, v.request_id,
	v.created_at, v.updated_at, COALESCE(r.name, ''), COALESCE(h.address, '')`

// scanVisit reads a visit; sealed holds the sealed answers.
func scanVisit(row db.Scanner) (Visit, string, error) {
	var v Visit
	var parent sql.NullInt64
	var visited, c, u db.Time
	var lon, lat sql.NullFloat64
	var answers, sealed, photoType, name, address string
	err := row.Scan(&v.ID, &v.ProgrammeID, &v.Programme, &v.Month, &v.Origin, &v.SubjectID, &v.ResidentID, &v.HouseholdID, &v.Division, &v.GridID, &v.Owner,
		&v.Due, &v.Status, &parent, &v.Method, &visited, &v.Present, &answers, &sealed, &photoType, &lon, &lat, &v.Risk, &v.Reason, &v.Note, &v.Recorder,
		&v.RequestID, &c, &u, &name, &address)
	if err != nil {
		return v, "", err
	}
	v.IDText = strconv.FormatInt(v.ID, 10)
	if parent.Valid {
		v.ParentID = &parent.Int64
	}
	if lon.Valid && lat.Valid {
		v.Lon, v.Lat = &lon.Float64, &lat.Float64
	}
	v.VisitedAt, v.CreatedAt, v.UpdatedAt = visited.Time, c.Time, u.Time
	v.HasPhoto = photoType != ""
	if answers != "" && answers != "{}" {
		if err := json.Unmarshal([]byte(answers), &v.Answers); err != nil {
			return v, "", err
		}
	}
	if name != "" {
		v.Whose = MaskName(name)
	} else {
		v.Whose = MaskAddress(address)
	}
	return v, sealed, nil
}

func scanListed(row db.Scanner) (Visit, error) {
	v, _, err := scanVisit(row)
	v.Answers = nil
	return v, err
}

// MaskName shows a person's surname only (张**).
func MaskName(name string) string {
	n := utf8.RuneCountInString(name)
	if n == 0 {
		return ""
	}
	r, _ := utf8.DecodeRuneInString(name)
	return string(r) + strings.Repeat("*", max(1, n-1))
}

// MaskAddress keeps an address's first part (up to the building), hiding
// the door.
func MaskAddress(a string) string {
	rs := []rune(a)
	if len(rs) <= 6 {
		return a
	}
	return string(rs[:len(rs)-4]) + "****"
}

// Get returns one visit in the caller's scope with its answers (sensitive
// ones opened); reading it is audited.
func (s *Store) Get(ctx context.Context, id int64) (Visit, error) {
	p := access.From(ctx)
	if !canRead(p) {
		return Visit{}, errNoRole
	}
	cond, args := scopeSQL(p, 2)
	v, sealed, err := scanVisit(s.DB.R.QueryRowContext(ctx, `SELECT `+visitCols+visitFrom+` WHERE v.id = $1 AND `+cond, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return Visit{}, errNotFound
	} else if err != nil {
		return Visit{}, err
	}
	if sealed != "" {
		plain, err := s.Keys.Open(sealed, answersAAD(id))
		if err != nil {
			return Visit{}, err
		}
		var sens map[string]string
		if err := json.Unmarshal([]byte(plain), &sens); err != nil {
			return Visit{}, err
		}
		if v.Answers == nil {
			v.Answers = map[string]string{}
		}
		for k, a := range sens {
			v.Answers[k] = a
		}
	}
	// A request raised from the visit names it (requests.ref).
	var req sql.NullString
	if err := s.DB.R.QueryRowContext(ctx, `SELECT MIN(id) FROM requests WHERE ref = $1`, fmt.Sprintf("visit:%d", id)).Scan(&req); err != nil {
		return Visit{}, err
	}
	if req.Valid {
		v.RequestID = req.String
	}
	err = s.Audit.Record(ctx, audit.Entry{Action: "visits.visit.read", Object: "visit", ObjectID: fmt.Sprint(id), Division: v.Division})
	return v, err
}

// visitForWork reads an open or recorded visit the caller may record,
// with its programme.
func (s *Store) visitForWork(ctx context.Context, id int64) (Visit, Programme, error) {
	p := access.From(ctx)
	cond, args := scopeSQL(p, 2)
	v, _, err := scanVisit(s.DB.R.QueryRowContext(ctx, `SELECT `+visitCols+visitFrom+` WHERE v.id = $1 AND `+cond, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return Visit{}, Programme{}, errNotFound
	} else if err != nil {
		return Visit{}, Programme{}, err
	}
	prog, err := scanProgramme(s.DB.R.QueryRowContext(ctx, `SELECT `+programmeCols+` FROM vis_programmes WHERE id = $1`, v.ProgrammeID))
	return v, prog, err
}

// Filter narrows a list of visits.
type Filter struct {
	Division  string `json:"division"`
	Programme string `json:"programme"` // id or code
	Status    string `json:"status"`    // a status, or "overdue"
	DueBefore string `json:"due_before"`
	Worker    string `json:"worker"`
	Month     string `json:"month"`
	Risk      string `json:"risk"`
	Grid      string `json:"grid"`
}

// VisitList is a page of visits: Total is exact up to ListCountCap,
// Capped beyond it; Next is the cursor of the page after ("" on the last).
type VisitList struct {
	Visits []Visit `json:"visits"`
	Total  int     `json:"total"`
	Capped bool    `json:"total_capped"`
	Next   string  `json:"next"`
}

// List returns the page of visits in scope after cursor ("" for the
// first), the earliest due first (then by number). Lists show masked
// names only; reading a list is audited with its filter.
func (s *Store) List(ctx context.Context, f Filter, cursor string, limit int) (VisitList, error) {
	p := access.From(ctx)
	if !canRead(p) {
		return VisitList{}, errNoRole
	}
	q, err := s.listQuery(p, f, cursor, limit)
	if err != nil {
		return VisitList{}, err
	}
	out, err := s.readList(ctx, q, limit)
	if err != nil {
		return out, err
	}
	err = s.Audit.Record(ctx, audit.Entry{Action: "visits.visit.list", Object: "visit", Division: p.Division, Detail: audit.Detail(f)})
	return out, err
}

// listQuery is the visits list's reads of p's page after cursor.
func (s *Store) listQuery(p *access.Principal, f Filter, cursor string, limit int) (keysetQuery, error) {
	q := keysetQuery{order: " ORDER BY v.due_date, v.id", key: "(v.due_date, v.id) > ", list: cursorByDue, pageHides: byDueHides()}
	if err := q.open(s, cursor); err != nil {
		return q, err
	}
	cond, args := scopeSQL(p, 1)
	add := func(c string, a any) {
		args = append(args, a)
		cond += " AND " + strings.ReplaceAll(c, "?", fmt.Sprintf("$%d", len(args)))
	}
	var errs []fault.FieldError
	if f.Division != "" {
		sc := access.Subtree(f.Division)
		add("v.division_code >= ?", sc.Lo)
		add("v.division_code < ?", sc.Hi)
	}
	if f.Programme != "" {
		args = append(args, f.Programme)
		cond += fmt.Sprintf(" AND v.programme_id IN (SELECT id FROM vis_programmes WHERE id = $%d OR code = $%d)", len(args), len(args))
	}
	today := day(s.Now().In(cstZone()))
	switch f.Status {
	case "":
	case "overdue":
		add("v.status = 'open' AND v.due_date < ?", today)
	case StatusOpen, StatusDone, StatusNotHome, StatusRefused, StatusCancelled:
		add("v.status = ?", f.Status)
	default:
		errs = append(errs, fault.Field("status", fault.M("状态须为 open、done、not_home、refused、cancelled 或 overdue", "status is open, done, not_home, refused, cancelled or overdue")))
	}
	if f.DueBefore != "" {
		if !validDay(f.DueBefore) {
			errs = append(errs, fault.Field("due_before", fault.M("日期格式应为 YYYY-MM-DD", "must be YYYY-MM-DD")))
		} else {
			add("v.due_date < ?", f.DueBefore)
		}
	}
	if f.Worker != "" {
		add("v.owner = ?", f.Worker)
	}
	if f.Month != "" {
		if _, err := ParseMonth(f.Month); err != nil {
			errs = append(errs, fault.Field("month", fault.M("月份格式应为 YYYY-MM", "the month must be YYYY-MM")))
		} else {
			add("v.month = ?", f.Month)
		}
	}
	if f.Risk != "" {
		add("v.risk = ?", f.Risk)
	}
	if f.Grid != "" {
		add("v.grid_id = ?", f.Grid)
	}
	if len(errs) > 0 {
		return q, fault.Invalid(fault.M("查询条件有误", "the filter has errors"), errs...)
	}
	q.build(s, cond, args, narrowest(access.BusinessScope(p).Lo, f.Division), limit)
	return q, nil
}

// Reassign gives an open visit to another worker of its community (a
// community worker or officer in scope).
func (s *Store) Reassign(ctx context.Context, id int64, owner string) (Visit, error) {
	defer s.wrote()
	p := access.From(ctx)
	if p == nil || (p.Role != access.CommunityWorker && p.Role != access.Officer) {
		return Visit{}, fault.Forbidden(fault.M("只有社区工作者和民政干部可以改派探访", "only community workers and officers reassign visits"))
	}
	v, _, err := s.visitForWork(ctx, id)
	if err != nil {
		return Visit{}, err
	}
	if v.Status != StatusOpen {
		return v, errRecorded
	}
	var role, div string
	err = s.DB.R.QueryRowContext(ctx, `SELECT role, division_code FROM users WHERE username = $1 AND NOT disabled`, owner).Scan(&role, &div)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (div != v.Division || (role != string(access.GridWorker) && role != string(access.CommunityWorker)))) {
		return v, fault.Invalid(fault.M("无法改派", "cannot reassign"), fault.Field("owner", fault.M("须为该社区的网格员或社区工作者", "must be a grid or community worker of the visit's community")))
	} else if err != nil {
		return v, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE vis_visits SET owner = $1, updated_at = $2 WHERE id = $3 AND status = 'open'`, owner, db.T(s.Now()), id); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "visits.visit.reassign", Object: "visit", ObjectID: fmt.Sprint(id), Division: v.Division,
			Detail: audit.Detail(map[string]string{"from": v.Owner, "to": owner})})
	})
	if err != nil {
		return v, err
	}
	v.Owner = owner
	return v, nil
}
