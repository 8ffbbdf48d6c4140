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

// ScheduleResult counts what a schedule run changed and what it cost: the
// statements it sent and, on an incremental run, the subjects it looked
// at again.
type ScheduleResult struct {
	Month      string `json:"month"`
	Full       bool   `json:"full"`
	Created    int64  `json:"created"`
	Cancelled  int64  `json:"cancelled"`
	Moved      int64  `json:"moved"`
	Notified   int    `json:"notified"`
	Statements int    `json:"statements"`
	Rechecked  int    `json:"rechecked"`
	// Steps are the run's writing statements with their time and rows,
	// for the benchmark's profile.
	Steps []Step `json:"-"`
}

// Step is one statement of a run.
type Step struct {
	Name string
	Took time.Duration
	Rows int64
}

// exec sends one statement of a run, counted and timed as step name.
func (s *Store) exec(ctx context.Context, res *ScheduleResult, name, q string, args ...any) (int64, error) {
	res.Statements++
	start := time.Now()
	r, err := s.DB.W.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := r.RowsAffected()
	res.Steps = append(res.Steps, Step{Name: name, Took: time.Since(start), Rows: n})
	return n, err
}

// ownerOf is the visit owner for a household's grid and community: the
// grid's worker (the first by name whose account is in use), else a
// community worker of the community, else nobody yet (a supervisor
// assigns one).
func ownerOf(grid, division string) string {
	return `COALESCE((SELECT MIN(w.username) FROM reg_grid_workers w JOIN users gu ON gu.username = w.username AND NOT gu.disabled WHERE w.grid_id = ` + grid + `),
		(SELECT MIN(u.username) FROM users u WHERE u.role = 'community_worker' AND u.division_code = ` + division + ` AND NOT u.disabled), '')`
}

// ownerGone is true when a visit's owner may no longer own it: the
// account is disabled or gone, or is not a grid or community worker of
// the visit's community — the rule a reassignment checks (read.go).
func ownerGone(owner, division string) string {
	return owner + ` <> '' AND NOT EXISTS (SELECT 1 FROM users ou WHERE ou.username = ` + owner + ` AND NOT ou.disabled
		AND ou.role IN ('grid_worker', 'community_worker') AND ou.division_code = ` + division + `)`
}

// targets is the SELECT of a programme's targets in [lo, hi) as of a day,
// columns subject, resident, household, division, grid, and with untold
// also untold: true when nobody with an account is there to be told of a
// visit. Args continue after `after` placeholders ($after+1: lo, +2: hi,
// +3: the day). Each of only, if set, is a further condition on the
// subject ("IN (…)"), applied where the tags are read so that a small
// set is not found by computing all. The tags drive: the targets are a
// few percent of the registry, found by the tag index, then their
// residents and households by key.
func (p Programme) targets(after int, asOf string, untold bool, only ...string) (string, []any) {
	ph := func(i int) string { return fmt.Sprintf("$%d", after+i) }
	tags := make([]string, len(p.Tags))
	for i, t := range p.Tags {
		tags[i] = sqlStr(t) // catalogue keys, checked when the programme was saved
	}
	tagCond := `t.tag IN (` + strings.Join(tags, ",") + `) AND t.division_code >= ` + ph(1) + ` AND t.division_code < ` + ph(2) +
		` AND (t.since_date = '' OR t.since_date <= ` + ph(3) + `) AND (t.until_date = '' OR t.until_date >= ` + ph(3) + `)`
	args := []any{"", "", asOf}
	if p.Unit == UnitHousehold {
		cols := ""
		if untold {
			// The households with an account are few: found once from the
			// accounts, not by reading every target household's members.
			cols = `, ` + untoldCol(p, `h.id NOT IN (SELECT m.household_id FROM users u JOIN reg_residents m ON m.username = u.username WHERE m.username <> '')`) + ` AS untold`
		}
		tagged := `SELECT DISTINCT r.household_id AS id FROM reg_resident_tags t JOIN reg_residents r ON r.id = t.resident_id WHERE ` + tagCond + onlyOn("r.household_id", only...)
		if p.RateGroup == GroupAssistedFamilies {
			// Households enrolled in assistance are assisted families
			// whether or not a member is tagged; UNION counts one tagged
			// and enrolled once.
			tagged = `SELECT r.household_id AS id FROM reg_resident_tags t JOIN reg_residents r ON r.id = t.resident_id WHERE ` + tagCond + onlyOn("r.household_id", only...) + `
				UNION SELECT e.household_id FROM ` + enrolledView + ` e WHERE e.division_code >= ` + ph(1) + ` AND e.division_code < ` + ph(2) +
				` AND (e.since_date = '' OR e.since_date <= ` + ph(3) + `) AND (e.until_date = '' OR e.until_date >= ` + ph(3) + `)` + onlyOn("e.household_id", only...)
		}
		return `SELECT h.id AS subject, '' AS resident, h.id AS household, h.division_code AS division, COALESCE(h.grid_id, '') AS grid` + cols + `
			FROM (` + tagged + `) x
			JOIN reg_households h ON h.id = x.id
			WHERE h.division_code >= ` + ph(1) + ` AND h.division_code < ` + ph(2), args
	}
	ages := ""
	day, _ := time.Parse("2006-01-02", asOf)
	if p.MinAge != nil {
		// born on or before the day, MinAge years back
		ages += ` AND r.birth_date <> '' AND r.birth_date <= ` + sqlStr(minBirth(day, *p.MinAge))
	}
	if p.MaxAge != nil {
		ages += ` AND r.birth_date > ` + sqlStr(maxBirth(day, *p.MaxAge))
	}
	cols := ""
	if untold {
		cols = `, ` + untoldCol(p, `(r.username = '' OR NOT EXISTS (SELECT 1 FROM users u WHERE u.username = r.username))`) + ` AS untold`
	}
	return `SELECT r.id AS subject, r.id AS resident, r.household_id AS household, r.division_code AS division, COALESCE(h.grid_id, '') AS grid` + cols + `
		FROM (SELECT DISTINCT t.resident_id AS id FROM reg_resident_tags t WHERE ` + tagCond + onlyOn("t.resident_id", only...) + `) x
		JOIN reg_residents r ON r.id = x.id JOIN reg_households h ON h.id = r.household_id
		WHERE r.division_code >= ` + ph(1) + ` AND r.division_code < ` + ph(2) + ages, args
}

// minBirth is the latest birth date of someone at least age on day;
// maxBirth the earliest-but-one of someone at most age.
func minBirth(day time.Time, age int) string { return day.AddDate(-age, 0, 0).Format("2006-01-02") }
func maxBirth(day time.Time, age int) string { return day.AddDate(-age-1, 0, 0).Format("2006-01-02") }

// untoldCol is whether a new visit of p needs no notice: p tells nobody,
// or cond (nobody with an account to tell).
func untoldCol(p Programme, cond string) string {
	if !p.TellResident {
		return "TRUE"
	}
	return cond
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
// written by INSERT … SELECT … ON CONFLICT DO NOTHING. It looks at every
// target; Reconcile looks only at what changed since.
func (s *Store) Schedule(ctx context.Context, month Month, within string) (ScheduleResult, error) {
	defer s.wrote()
	return s.scheduleAt(ctx, month, within, s.Now())
}

// scheduleAt is Schedule as of now (the demo fills last month as it was
// on its first day). A run over the province leaves the mark an
// incremental run starts from.
func (s *Store) scheduleAt(ctx context.Context, month Month, within string, now time.Time) (ScheduleResult, error) {
	res := ScheduleResult{Month: month.String(), Full: true}
	var mark reconcileMark
	if within == "" {
		var err error
		if mark, err = s.markNow(ctx, &res, month, now); err != nil {
			return res, err
		}
	}
	progs, err := s.activeProgrammes(ctx)
	if err != nil {
		return res, err
	}
	res.Statements++
	ws := access.Subtree(within)
	if within == "" {
		ws = access.Scope{Lo: "", Hi: "A"}
	}
	// The visits this run writes are where their targets are now: only
	// those written before it can need to follow a move.
	var before int64
	res.Statements++
	if err := s.DB.W.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM vis_visits`).Scan(&before); err != nil {
		return res, err
	}
	asOf := month.asOf(now)
	fresh := true // the month had none of its visits yet
	for _, p := range progs {
		sc, ok := scopeFor(p, ws)
		if !ok {
			continue
		}
		had, err := s.scheduleProgramme(ctx, &res, p, month, asOf, sc, now, "")
		if err != nil {
			return res, fmt.Errorf("visits: schedule %s %s: %w", p.Code, month, err)
		}
		fresh = fresh && !had
	}
	// Statistics for what follows (and for the pages) once the month's
	// rows are many more than the planner last saw. SQLite has no
	// automatic ANALYZE; PostgreSQL's autovacuum analyses a table after a
	// tenth of it changed, and an ANALYZE here cost 1–4 s of a county's run.
	if res.Created > 1000 && s.DB.Dialect == db.SQLite {
		start := time.Now()
		if err := db.Analyze(ctx, s.DB, "vis_visits"); err != nil {
			return res, err
		}
		res.Statements++
		res.Steps = append(res.Steps, Step{Name: "analyze", Took: time.Since(start)})
	}
	// Visits of the month before stay open while overdue: they follow too.
	written := fmt.Sprintf(" AND id <= %d", before)
	if fresh {
		written += " AND month < " + sqlStr(month.String())
	}
	if err := s.follow(ctx, &res, ws, MonthOf(month.first().AddDate(0, -1, 0)).String(), now, written); err != nil {
		return res, err
	}
	if err := s.notifyScheduled(ctx, &res, month, ws); err != nil {
		return res, err
	}
	if within == "" {
		return res, s.saveMark(ctx, &res, mark)
	}
	return res, nil
}

// slotsOf is the month's slots of p still ahead as of asOf, as a SELECT
// of (origin, due, high): the slots of targets last found at high risk
// (high = 1) when their frequency differs, of the others (high = 0).
func slotsOf(p Programme, month Month, asOf string) (slots string, split bool) {
	var rows []string
	add := func(weeks, high int) {
		dues := month.slotDues(weeks)
		for i, due := range dues {
			// A target found later in the month gets the slots still ahead.
			if due < asOf && i < len(dues)-1 {
				continue
			}
			rows = append(rows, fmt.Sprintf("SELECT %s AS origin, %s AS due, %d AS high", sqlStr(fmt.Sprintf("%s%d", originSlot, i)), sqlStr(due), high))
		}
	}
	add(p.EveryWeeks, 0)
	split = p.HighRiskWeeks > 0 && p.HighRiskWeeks != p.EveryWeeks
	if split {
		add(p.HighRiskWeeks, 1)
	}
	return strings.Join(rows, " UNION ALL "), split
}

// scheduleProgramme writes p's visits for the month in sc by one INSERT …
// SELECT (every target joined with its slots) and cancels the open ones of
// targets who left the group; subjects, if set ("IN (…)"), limits both to
// those subjects (an incremental run). had is whether the month had any
// of those visits before.
func (s *Store) scheduleProgramme(ctx context.Context, res *ScheduleResult, p Programme, month Month, asOf string, sc access.Scope, now time.Time, subjects string) (had bool, err error) {
	// Whether the month has any of p's visits yet: if not, nothing can be
	// cancelled (the month's first run skips that pass).
	var existing int
	res.Statements++
	err = s.DB.W.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM vis_visits WHERE month = $1 AND division_code >= $2 AND division_code < $3 AND programme_id = $4`+
		onlyOn("subject_id", subjects)+` LIMIT 1) x`, month.String(), sc.Lo, sc.Hi, p.ID).Scan(&existing)
	if err != nil {
		return false, err
	}
	slots, split := slotsOf(p, month, asOf)
	tq, targs := p.targets(4, asOf, true, subjects)
	targs[0], targs[1] = sc.Lo, sc.Hi
	risk, high := "", "0"
	if split {
		risk = ` LEFT JOIN vis_risk k ON k.programme_id = $1 AND k.subject_id = t.subject AND k.risk = 'high'`
		high = `CASE WHEN k.subject_id IS NULL THEN 0 ELSE 1 END`
	}
	n, err := s.exec(ctx, res, "insert "+p.Code, `INSERT INTO vis_visits (programme_id, month, origin, subject_id, resident_id, household_id, division_code, grid_id, owner, due_date, status, notified, created_at, updated_at)
		SELECT $1, $2, d.origin, t.subject, t.resident, t.household, t.division, t.grid, `+ownerOf("t.grid", "t.division")+`, d.due, 'open', t.untold, `+s.ts(3)+`, `+s.ts(4)+`
		FROM (`+tq+`) t`+risk+` JOIN (`+slots+`) d ON d.high = `+high+`
		WHERE 1 = 1
		ORDER BY t.division, t.grid, t.subject
		ON CONFLICT (programme_id, subject_id, month, origin) DO NOTHING`,
		append([]any{p.ID, month.String(), db.T(now), db.T(now)}, targs...)...)
	if err != nil {
		return true, err
	}
	res.Created += n
	if existing == 0 {
		return false, nil
	}
	// Those no longer in the group keep only what was done.
	tq, targs = p.targets(5, asOf, false, subjects)
	targs[0], targs[1] = sc.Lo, sc.Hi
	n, err = s.exec(ctx, res, "cancel "+p.Code, `UPDATE vis_visits SET status = 'cancelled', updated_at = $1
		WHERE programme_id = $2 AND month = $3 AND status = 'open' AND division_code >= $4 AND division_code < $5
		AND (origin LIKE 's%' OR origin LIKE 'r:%')`+onlyOn("subject_id", subjects)+`
		AND subject_id NOT IN (SELECT t.subject FROM (`+tq+`) t)`,
		append([]any{db.T(now), p.ID, month.String(), sc.Lo, sc.Hi}, targs...)...)
	res.Cancelled += n
	return true, err
}

// follow moves open visits with their subject: a resident who moved to
// another household, a household moved to another grid or community; the
// owner becomes the new grid's worker. An open visit without an owner
// gets one when its grid or community has a worker again, and one whose
// owner left (ownerGone) goes to the grid's or community's worker. Visits of
// months before fromMonth are left where they are; only, if set, is a
// further condition on the visits looked at (an incremental run's).
func (s *Store) follow(ctx context.Context, res *ScheduleResult, ws access.Scope, fromMonth string, now time.Time, only string) error {
	start := time.Now()
	defer func() { res.Steps = append(res.Steps, Step{Name: "follow", Took: time.Since(start), Rows: res.Moved}) }()
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res.Statements += 2
		if _, err := tx.ExecContext(ctx, `UPDATE vis_visits SET household_id = (SELECT r.household_id FROM reg_residents r WHERE r.id = vis_visits.resident_id), updated_at = $1
			WHERE month >= $4 AND status = 'open' AND resident_id <> '' AND division_code >= $2 AND division_code < $3`+only+`
			AND household_id <> (SELECT r.household_id FROM reg_residents r WHERE r.id = vis_visits.resident_id)`, db.T(now), ws.Lo, ws.Hi, fromMonth); err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, `UPDATE vis_visits SET
			grid_id = (SELECT COALESCE(h.grid_id, '') FROM reg_households h WHERE h.id = vis_visits.household_id),
			division_code = (SELECT h.division_code FROM reg_households h WHERE h.id = vis_visits.household_id),
			owner = COALESCE((SELECT MIN(w.username) FROM reg_grid_workers w JOIN reg_households h ON w.grid_id = h.grid_id JOIN users gu ON gu.username = w.username AND NOT gu.disabled
				WHERE h.id = vis_visits.household_id),
				(SELECT MIN(u.username) FROM users u JOIN reg_households h ON u.division_code = h.division_code WHERE h.id = vis_visits.household_id AND u.role = 'community_worker' AND NOT u.disabled), ''),
			updated_at = $1
			WHERE month >= $4 AND status = 'open' AND division_code >= $2 AND division_code < $3`+only+`
			AND EXISTS (SELECT 1 FROM reg_households h WHERE h.id = vis_visits.household_id
				AND (COALESCE(h.grid_id, '') <> vis_visits.grid_id OR h.division_code <> vis_visits.division_code
					OR vis_visits.owner = '' AND `+ownerOf("h.grid_id", "h.division_code")+` <> ''
					OR `+ownerGone("vis_visits.owner", "h.division_code")+`))`, db.T(now), ws.Lo, ws.Hi, fromMonth)
		if err != nil {
			return err
		}
		moved, _ := r.RowsAffected()
		res.Moved += moved
		return nil
	})
}

// notifyScheduled tells residents with an account of their new visits
// (once: the notice's key is the visit), when the programme allows telling.
// The schedule marks the visits of targets without an account as it
// writes them; visits written otherwise (retries, extra visits) are
// marked here.
func (s *Store) notifyScheduled(ctx context.Context, res *ScheduleResult, month Month, ws access.Scope) error {
	if s.Notices == nil {
		return nil
	}
	type pending struct {
		id     int64
		userID string
		due    string
		zh, en string
	}
	if _, err := s.exec(ctx, res, "mark untold", `UPDATE vis_visits SET notified = TRUE WHERE month = $1 AND division_code >= $2 AND division_code < $3 AND NOT notified
		AND NOT EXISTS (SELECT 1 FROM reg_residents r JOIN users u ON u.username = r.username JOIN vis_programmes p ON p.id = vis_visits.programme_id
			WHERE p.tell_resident AND r.username <> '' AND (r.id = vis_visits.resident_id OR vis_visits.resident_id = '' AND r.household_id = vis_visits.household_id))`,
		month.String(), ws.Lo, ws.Hi); err != nil {
		return err
	}
	for {
		res.Statements++
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
			return err
		}
		ids := make([]string, 0, len(batch))
		for _, b := range batch {
			if b.userID != "" {
				if err := s.Notices.Notify(ctx, noticeOf(b.id, b.userID, b.due, b.zh, b.en)); err != nil {
					return err
				}
				res.Statements++
				res.Notified++
			}
			ids = append(ids, fmt.Sprint(b.id))
		}
		if _, err := s.exec(ctx, res, "mark told", `UPDATE vis_visits SET notified = TRUE WHERE id IN (`+strings.Join(ids, ",")+`)`); err != nil {
			return err
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

// onlyOn is the conditions only on column col (empty ones left out).
func onlyOn(col string, only ...string) string {
	var b strings.Builder
	for _, o := range only {
		if o != "" {
			b.WriteString(" AND " + col + " " + o)
		}
	}
	return b.String()
}
