package visits

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/questions"
)

// Month is a calendar month in China time.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth reads "2026-12".
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", strings.TrimSpace(s))
	if err != nil {
		return Month{}, fault.Invalid(fault.M("月份格式应为 YYYY-MM", "the month must be YYYY-MM"), fault.Field("month", fault.M("月份格式应为 YYYY-MM", "the month must be YYYY-MM")))
	}
	return Month{t.Year(), t.Month()}, nil
}

// MonthOf is the month of t in China time.
func MonthOf(t time.Time) Month {
	c := t.In(questions.CST)
	return Month{c.Year(), c.Month()}
}

func (m Month) String() string   { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }
func (m Month) first() time.Time { return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, questions.CST) }
func (m Month) last() time.Time  { return m.first().AddDate(0, 1, -1) }
func (m Month) Next() Month      { return MonthOf(m.first().AddDate(0, 1, 0)) }
func (m Month) FirstDay() string { return day(m.first()) }
func (m Month) LastDay() string  { return day(m.last()) }
func day(t time.Time) string     { return t.Format("2006-01-02") }

// asOf is the day the month's targets are taken as of: today within the
// month, its first day before it, its last after it.
func (m Month) asOf(now time.Time) string {
	today := day(now.In(questions.CST))
	switch {
	case today < m.FirstDay():
		return m.FirstDay()
	case today > m.LastDay():
		return m.LastDay()
	}
	return today
}

// slotDues are the due dates of the month's slots for a frequency of every
// `weeks` weeks (0: once, at the month's end): each period of 7·weeks days
// from the first is due on its last day, the last one on the month's end.
func (m Month) slotDues(weeks int) []string {
	if weeks <= 0 {
		return []string{m.LastDay()}
	}
	var out []string
	end := m.last()
	for start := m.first(); !start.After(end); start = start.AddDate(0, 0, 7*weeks) {
		due := start.AddDate(0, 0, 7*weeks-1)
		if due.After(end) {
			due = end
		}
		out = append(out, day(due))
	}
	out[len(out)-1] = m.LastDay()
	return out
}

// ScheduleResult counts what a schedule run changed.
type ScheduleResult struct {
	Month     string `json:"month"`
	Created   int64  `json:"created"`
	Cancelled int64  `json:"cancelled"`
	Moved     int64  `json:"moved"`
	Notified  int    `json:"notified"`
}

// ownerOf is the visit owner for a household's grid and community: the
// grid's worker (the first by name), else a community worker of the
// community, else nobody yet (a supervisor assigns one).
func ownerOf(grid, division string) string {
	return `COALESCE((SELECT MIN(w.username) FROM reg_grid_workers w WHERE w.grid_id = ` + grid + `),
		(SELECT MIN(u.username) FROM users u WHERE u.role = 'community_worker' AND u.division_code = ` + division + ` AND NOT u.disabled), '')`
}

// targets is the SELECT of a programme's targets in [lo, hi) as of a day,
// columns subject, resident, household, division, grid; args continue
// after `after` placeholders ($after+1: lo, +2: hi, +3: the day). only,
// if set, is a further condition on the subject ("IN (…)"), applied where
// the subject is read so that a small set is not found by computing all.
func (p Programme) targets(after int, asOf, only string) (string, []any) {
	ph := func(i int) string { return fmt.Sprintf("$%d", after+i) }
	tags := make([]string, len(p.Tags))
	for i, t := range p.Tags {
		tags[i] = sqlStr(t) // catalogue keys, checked when the programme was saved
	}
	tagCond := `t.tag IN (` + strings.Join(tags, ",") + `) AND t.division_code >= ` + ph(1) + ` AND t.division_code < ` + ph(2) +
		` AND (t.since_date = '' OR t.since_date <= ` + ph(3) + `) AND (t.until_date = '' OR t.until_date >= ` + ph(3) + `)`
	args := []any{"", "", asOf}
	if p.Unit == UnitHousehold {
		return `SELECT h.id AS subject, '' AS resident, h.id AS household, h.division_code AS division, COALESCE(h.grid_id, '') AS grid
			FROM reg_households h WHERE h.division_code >= ` + ph(1) + ` AND h.division_code < ` + ph(2) + onlyOn("h.id", only) + `
			AND h.id IN (SELECT r.household_id FROM reg_resident_tags t JOIN reg_residents r ON r.id = t.resident_id WHERE ` + tagCond + `)`, args
	}
	ages := ""
	day, _ := time.Parse("2006-01-02", asOf)
	if p.MinAge != nil {
		// born on or before the day, MinAge years back
		ages += ` AND r.birth_date <> '' AND r.birth_date <= ` + sqlStr(day.AddDate(-*p.MinAge, 0, 0).Format("2006-01-02"))
	}
	if p.MaxAge != nil {
		ages += ` AND r.birth_date > ` + sqlStr(day.AddDate(-*p.MaxAge-1, 0, 0).Format("2006-01-02"))
	}
	return `SELECT r.id AS subject, r.id AS resident, r.household_id AS household, r.division_code AS division, COALESCE(h.grid_id, '') AS grid
		FROM reg_residents r JOIN reg_households h ON h.id = r.household_id
		WHERE r.division_code >= ` + ph(1) + ` AND r.division_code < ` + ph(2) + ages + onlyOn("r.id", only) + `
		AND r.id IN (SELECT t.resident_id FROM reg_resident_tags t WHERE ` + tagCond + `)`, args
}

// scopeFor is the part of within a programme covers: a provincial
// programme covers everything, a county's its county.
func scopeFor(p Programme, within access.Scope) (access.Scope, bool) {
	ps := access.Subtree(p.Division)
	lo, hi := max(ps.Lo, within.Lo), min(ps.Hi, within.Hi)
	return access.Scope{Lo: lo, Hi: hi}, lo < hi
}

// Schedule generates the month's visits for every active programme in the
// subtree `within` ("" the province) and reconciles what exists: every
// target as of the month has its due visits with an owner, a target that
// left the group loses its open scheduled visits (done ones stay), and
// open visits follow their resident to another household, grid or
// community. It is idempotent and safe to run in two processes at once:
// each visit has a unique key (programme, subject, month, slot) and is
// written by INSERT … SELECT … ON CONFLICT DO NOTHING.
func (s *Store) Schedule(ctx context.Context, month Month, within string) (ScheduleResult, error) {
	return s.scheduleAt(ctx, month, within, s.Now())
}

// scheduleAt is Schedule as of now (the demo fills last month as it was
// on its first day).
func (s *Store) scheduleAt(ctx context.Context, month Month, within string, now time.Time) (ScheduleResult, error) {
	res := ScheduleResult{Month: month.String()}
	progs, err := s.activeProgrammes(ctx)
	if err != nil {
		return res, err
	}
	ws := access.Subtree(within)
	if within == "" {
		ws = access.Scope{Lo: "", Hi: "A"}
	}
	asOf := month.asOf(now)
	for _, p := range progs {
		sc, ok := scopeFor(p, ws)
		if !ok {
			continue
		}
		c, x, err := s.scheduleProgramme(ctx, p, month, asOf, sc, now)
		if err != nil {
			return res, fmt.Errorf("visits: schedule %s %s: %w", p.Code, month, err)
		}
		res.Created += c
		res.Cancelled += x
	}
	// Visits of the month before stay open while overdue: they follow too.
	mv, err := s.follow(ctx, ws, MonthOf(month.first().AddDate(0, -1, 0)).String(), now)
	if err != nil {
		return res, err
	}
	res.Moved = mv
	res.Notified, err = s.notifyScheduled(ctx, month, ws)
	return res, err
}

func (s *Store) scheduleProgramme(ctx context.Context, p Programme, month Month, asOf string, sc access.Scope, now time.Time) (created, cancelled int64, err error) {
	highRisk := `IN (SELECT k.subject_id FROM vis_risk k WHERE k.programme_id = $1 AND k.risk = 'high')`
	weeks := map[string]int{"NOT " + highRisk: p.EveryWeeks}
	if p.HighRiskWeeks > 0 && p.HighRiskWeeks != p.EveryWeeks {
		weeks[highRisk] = p.HighRiskWeeks
	} else {
		weeks = map[string]int{"": p.EveryWeeks}
	}
	for only, w := range weeks {
		tq, targs := p.targets(6, asOf, only)
		targs[0], targs[1] = sc.Lo, sc.Hi
		dues := month.slotDues(w)
		for i, due := range dues {
			// A target found later in the month gets the slots still ahead.
			if due < asOf && i < len(dues)-1 {
				continue
			}
			q := `INSERT INTO vis_visits (programme_id, month, origin, subject_id, resident_id, household_id, division_code, grid_id, owner, due_date, status, created_at, updated_at)
				SELECT $1, $2, $3, t.subject, t.resident, t.household, t.division, t.grid, ` + ownerOf("t.grid", "t.division") + `, $4, 'open', ` + s.ts(5) + `, ` + s.ts(6) + `
				FROM (` + tq + `) t WHERE 1 = 1
				ON CONFLICT (programme_id, subject_id, month, origin) DO NOTHING`
			args := append([]any{p.ID, month.String(), fmt.Sprintf("%s%d", originSlot, i), due, db.T(now), db.T(now)}, targs...)
			r, err := s.DB.W.ExecContext(ctx, q, args...)
			if err != nil {
				return created, cancelled, err
			}
			n, _ := r.RowsAffected()
			created += n
		}
	}
	// Those no longer in the group keep only what was done.
	tq, targs := p.targets(5, asOf, "")
	targs[0], targs[1] = sc.Lo, sc.Hi
	r, err := s.DB.W.ExecContext(ctx, `UPDATE vis_visits SET status = 'cancelled', updated_at = $1
		WHERE programme_id = $2 AND month = $3 AND status = 'open' AND division_code >= $4 AND division_code < $5
		AND (origin LIKE 's%' OR origin LIKE 'r:%')
		AND subject_id NOT IN (SELECT t.subject FROM (`+tq+`) t)`,
		append([]any{db.T(now), p.ID, month.String(), sc.Lo, sc.Hi}, targs...)...)
	if err != nil {
		return created, cancelled, err
	}
	cancelled, _ = r.RowsAffected()
	return created, cancelled, nil
}

// follow moves open visits with their subject: a resident who moved to
// another household, a household moved to another grid or community; the
// owner becomes the new grid's worker. An open visit without an owner
// gets one when its grid or community has a worker again. Visits of
// months before fromMonth are left where they are.
func (s *Store) follow(ctx context.Context, ws access.Scope, fromMonth string, now time.Time) (int64, error) {
	var moved int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE vis_visits SET household_id = (SELECT r.household_id FROM reg_residents r WHERE r.id = vis_visits.resident_id), updated_at = $1
			WHERE month >= $4 AND status = 'open' AND resident_id <> '' AND division_code >= $2 AND division_code < $3
			AND household_id <> (SELECT r.household_id FROM reg_residents r WHERE r.id = vis_visits.resident_id)`, db.T(now), ws.Lo, ws.Hi, fromMonth); err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, `UPDATE vis_visits SET
			grid_id = (SELECT COALESCE(h.grid_id, '') FROM reg_households h WHERE h.id = vis_visits.household_id),
			division_code = (SELECT h.division_code FROM reg_households h WHERE h.id = vis_visits.household_id),
			owner = COALESCE((SELECT MIN(w.username) FROM reg_grid_workers w JOIN reg_households h ON w.grid_id = h.grid_id WHERE h.id = vis_visits.household_id),
				(SELECT MIN(u.username) FROM users u JOIN reg_households h ON u.division_code = h.division_code WHERE h.id = vis_visits.household_id AND u.role = 'community_worker' AND NOT u.disabled), ''),
			updated_at = $1
			WHERE month >= $4 AND status = 'open' AND division_code >= $2 AND division_code < $3
			AND EXISTS (SELECT 1 FROM reg_households h WHERE h.id = vis_visits.household_id
				AND (COALESCE(h.grid_id, '') <> vis_visits.grid_id OR h.division_code <> vis_visits.division_code
					OR vis_visits.owner = '' AND `+ownerOf("h.grid_id", "h.division_code")+` <> ''))`, db.T(now), ws.Lo, ws.Hi, fromMonth)
		if err != nil {
			return err
		}
		moved, _ = r.RowsAffected()
		return nil
	})
	return moved, err
}

// notifyScheduled tells residents with an account of their new visits
// (once: the notice's key is the visit), when the programme allows telling.
func (s *Store) notifyScheduled(ctx context.Context, month Month, ws access.Scope) (int, error) {
	if s.Notices == nil {
		return 0, nil
	}
	type pending struct {
		id     int64
		userID string
		due    string
		zh, en string
	}
	// Most targets have no account: they are marked at once, in bulk.
	if _, err := s.DB.W.ExecContext(ctx, `UPDATE vis_visits SET notified = TRUE WHERE month = $1 AND division_code >= $2 AND division_code < $3 AND NOT notified
		AND NOT EXISTS (SELECT 1 FROM reg_residents r JOIN users u ON u.username = r.username JOIN vis_programmes p ON p.id = vis_visits.programme_id
			WHERE p.tell_resident AND r.username <> '' AND (r.id = vis_visits.resident_id OR vis_visits.resident_id = '' AND r.household_id = vis_visits.household_id))`,
		month.String(), ws.Lo, ws.Hi); err != nil {
		return 0, err
	}
	sent := 0
	for {
		batch, err := db.Collect(ctx, s.DB.R, func(row db.Scanner) (pending, error) {
			var p pending
			err := row.Scan(&p.id, &p.userID, &p.due, &p.zh, &p.en)
			return p, err
		}, `SELECT v.id, COALESCE(u.id, ''), v.due_date, p.name_zh, p.name_en FROM vis_visits v
			JOIN vis_programmes p ON p.id = v.programme_id
			LEFT JOIN reg_residents r ON r.username <> '' AND (r.id = v.resident_id OR v.resident_id = '' AND r.household_id = v.household_id)
			LEFT JOIN users u ON u.username = r.username
			WHERE v.month = $1 AND v.division_code >= $2 AND v.division_code < $3 AND NOT v.notified AND p.tell_resident
			ORDER BY v.id LIMIT 500`, month.String(), ws.Lo, ws.Hi)
		if err != nil || len(batch) == 0 {
			return sent, err
		}
		for _, b := range batch {
			if b.userID != "" {
				if err := s.Notices.Notify(ctx, noticeOf(b.id, b.userID, b.due, b.zh, b.en)); err != nil {
					return sent, err
				}
				sent++
			}
			if _, err := s.DB.W.ExecContext(ctx, `UPDATE vis_visits SET notified = TRUE WHERE id = $1`, b.id); err != nil {
				return sent, err
			}
		}
	}
}

// ts is placeholder n as a timestamp: PostgreSQL types a bare parameter in
// an INSERT … SELECT list as text.
func (s *Store) ts(n int) string {
	if s.DB.Dialect == db.Postgres {
		return fmt.Sprintf("CAST($%d AS TIMESTAMPTZ)", n)
	}
	return fmt.Sprintf("$%d", n)
}

func noticeOf(id int64, userID, due, zh, en string) module.Notice {
	return module.Notice{UserID: userID, Kind: "visit.scheduled", Key: fmt.Sprintf("visit.scheduled:%d", id),
		Title: fault.M("已安排上门探访："+zh, "A visit is scheduled: "+en),
		Body:  fault.M("计划于 "+due+" 前探访。如需改期请联系社区。", "Due by "+due+". Contact your community to change it."),
		Href:  "/visits/mine"}
}

func cstZone() *time.Location { return questions.CST }

func validDay(s string) bool {
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

// onlyOn is the condition only on column col.
func onlyOn(col, only string) string {
	if only == "" {
		return ""
	}
	return " AND " + col + " " + only
}
