package visits

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
)

// The background reconcile is incremental. A full run over the province
// leaves a mark per month: the audit log's head (every registry write that
// can change a schedule — tags, residents, households, grids, imports — and
// every visit recorded, enrolment in assistance and exit is audited, in
// commit order), the day the targets
// were taken as of, and the programmes' state. The next run reads the
// audit entries after the mark and the tags and birthdays that the passing
// days brought in or out, and looks again only at those residents,
// households and grids. It falls back to a full run when there is no mark
// (the month's first run), when a programme changed, or when the changes
// are too many to list (an import, a demo seed over a whole county).

// reconcileMigration is the mark table, and the partial index that keeps
// finding visits not yet told about cheap once all are.
var reconcileMigration = db.Migration{ID: "visits/006_reconcile", SQL: `CREATE TABLE vis_reconcile (
	month TEXT PRIMARY KEY,
	audit_seq BIGINT NOT NULL,
	as_of TEXT NOT NULL,
	programmes TEXT NOT NULL,
	ran_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX vis_visits_untold ON vis_visits (month, division_code) WHERE NOT notified;`}

// ratesMigration is the index the monthly rates (rates.go) read alone, in
// its order: a programme's month, target by target.
var ratesMigration = db.Migration{ID: "visits/007_rates_index", SQL: `CREATE INDEX vis_visits_rates ON vis_visits (month, programme_id, subject_id, division_code, status);`}

// maxListed is how many residents, households and grids an incremental run
// names in its statements before a full run is the cheaper way.
const maxListed = 5000

// reconcileMark is where a month's schedule was last brought up to date.
type reconcileMark struct {
	month      string
	seq        int64  // the audit log's head
	asOf       string // the day targets were taken as of
	programmes string // the programmes' count and last change
}

// markNow is the mark a run that starts now leaves when it succeeds: read
// before the registry, so that anything committed meanwhile is looked at
// again by the next run.
func (s *Store) markNow(ctx context.Context, res *ScheduleResult, month Month, now time.Time) (reconcileMark, error) {
	m := reconcileMark{month: month.String(), asOf: month.asOf(now)}
	res.Statements += 2
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_log`).Scan(&m.seq); err != nil {
		return m, err
	}
	var n int
	var last sql.NullString
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*), CAST(MAX(updated_at) AS TEXT) FROM vis_programmes`).Scan(&n, &last); err != nil {
		return m, err
	}
	m.programmes = fmt.Sprintf("%d/%s", n, last.String)
	return m, nil
}

func (s *Store) loadMark(ctx context.Context, res *ScheduleResult, month Month) (reconcileMark, bool, error) {
	m := reconcileMark{month: month.String()}
	res.Statements++
	err := s.DB.R.QueryRowContext(ctx, `SELECT audit_seq, as_of, programmes FROM vis_reconcile WHERE month = $1`, month.String()).Scan(&m.seq, &m.asOf, &m.programmes)
	if errors.Is(err, sql.ErrNoRows) {
		return m, false, nil
	}
	return m, err == nil, err
}

// saveMark records m; a mark never moves back (two runners at once).
func (s *Store) saveMark(ctx context.Context, res *ScheduleResult, m reconcileMark) error {
	_, err := s.exec(ctx, res, "mark", `INSERT INTO vis_reconcile (month, audit_seq, as_of, programmes, ran_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (month) DO UPDATE SET audit_seq = excluded.audit_seq, as_of = excluded.as_of, programmes = excluded.programmes, ran_at = excluded.ran_at
		WHERE vis_reconcile.audit_seq <= excluded.audit_seq`, m.month, m.seq, m.asOf, m.programmes, db.T(s.Now()))
	return err
}

// changes are what an incremental run looks at again.
type changes struct {
	residents, households, grids map[string]bool
	divisions                    map[string]bool // subtrees to schedule in full
	visits                       []string        // visits recorded: their subjects
	ownerless                    bool            // accounts changed: visits without an owner may get one
	owners                       map[string]bool // accounts changed: their visits may need another owner
	everything                   bool            // too much, or unknown: a full run
}

func newChanges() *changes {
	return &changes{residents: map[string]bool{}, households: map[string]bool{}, grids: map[string]bool{}, divisions: map[string]bool{}, owners: map[string]bool{}}
}

func (c *changes) listed() int { return len(c.residents) + len(c.households) + len(c.grids) }

// wideImports are the import kinds that write residents, households or
// tags row by row without an audit entry per row.
var wideImports = map[string]bool{"residents": true, "households": true, "tags": true}

// fromAudit reads the audit entries in (from, to].
func (s *Store) fromAudit(ctx context.Context, res *ScheduleResult, c *changes, from, to int64) error {
	res.Statements++
	rows, err := s.DB.R.QueryContext(ctx, `SELECT action, object, object_id, division_code, detail FROM audit_log
		WHERE seq > $1 AND seq <= $2 AND result = 'ok' AND (action LIKE 'registry.%' OR action LIKE 'visits.%' OR action LIKE 'user.%' OR action IN ('assistance.enrol', 'assistance.exit', 'assistance.demo.seed'))
		ORDER BY seq LIMIT $3`, from, to, maxListed+1)
	if err != nil {
		return err
	}
	defer rows.Close()
	seen := 0
	apps := map[string]bool{} // enrolments and exits
	for rows.Next() {
		var action, object, id, division, detail string
		if err := rows.Scan(&action, &object, &id, &division, &detail); err != nil {
			return err
		}
		seen++
		switch {
		case strings.HasPrefix(action, "user."):
			c.ownerless = true
			c.owners[id] = true
		case enrolmentActions[action]:
			apps[id] = true
		case strings.HasPrefix(action, "visits.programme."):
			c.everything = true
		case action == "visits.visit.record":
			c.visits = append(c.visits, id)
		case action == "registry.import" && wideImports[object], action == "registry.demo.seed", action == "assistance.demo.seed":
			if division == "" {
				c.everything = true
			}
			c.divisions[division] = true
		case strings.HasPrefix(action, "registry.tag.") || strings.HasPrefix(action, "registry.resident."):
			c.residents[id] = true
			// A resident who moved or was deleted leaves a household that
			// may no longer be a target.
			var d struct {
				Household    string `json:"household"`
				HouseholdWas string `json:"household_was"`
			}
			if json.Unmarshal([]byte(detail), &d) == nil {
				for _, h := range []string{d.Household, d.HouseholdWas} {
					if h != "" {
						c.households[h] = true
					}
				}
			}
		case strings.HasPrefix(action, "registry.household."):
			c.households[id] = true
		case strings.HasPrefix(action, "registry.grid."):
			c.grids[id] = true
		}
	}
	if seen > maxListed {
		c.everything = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	return s.enrolledHouseholds(ctx, res, c, apps)
}

// passedDays adds the residents whose tags began or ended, or who came
// into or out of a programme's ages, on the days after from up to to.
func (s *Store) passedDays(ctx context.Context, res *ScheduleResult, c *changes, progs []Programme, from, to string) error {
	var all []string
	seenTag := map[string]bool{}
	for _, p := range progs {
		for _, t := range p.Tags {
			if !seenTag[t] {
				seenTag[t] = true
				all = append(all, sqlStr(t))
			}
		}
	}
	if len(all) == 0 {
		return nil
	}
	tagIn := `t.tag IN (` + strings.Join(all, ",") + `)`
	qs := []struct {
		q    string
		args []any
	}{{`SELECT DISTINCT t.resident_id FROM reg_resident_tags t WHERE ` + tagIn + `
		AND (t.since_date > $1 AND t.since_date <= $2 OR t.until_date <> '' AND t.until_date >= $1 AND t.until_date < $2)`, []any{from, to}}}
	fromDay, _ := time.Parse("2006-01-02", from)
	toDay, _ := time.Parse("2006-01-02", to)
	for _, p := range progs {
		if p.Unit != UnitResident {
			continue
		}
		tags := make([]string, len(p.Tags))
		for i, t := range p.Tags {
			tags[i] = sqlStr(t)
		}
		if p.MinAge != nil {
			qs = append(qs, struct {
				q    string
				args []any
			}{`SELECT DISTINCT r.id FROM reg_resident_tags t JOIN reg_residents r ON r.id = t.resident_id WHERE t.tag IN (` + strings.Join(tags, ",") + `)
				AND r.birth_date > $1 AND r.birth_date <= $2`, []any{minBirth(fromDay, *p.MinAge), minBirth(toDay, *p.MinAge)}})
		}
		if p.MaxAge != nil {
			qs = append(qs, struct {
				q    string
				args []any
			}{`SELECT DISTINCT r.id FROM reg_resident_tags t JOIN reg_residents r ON r.id = t.resident_id WHERE t.tag IN (` + strings.Join(tags, ",") + `)
				AND r.birth_date > $1 AND r.birth_date <= $2`, []any{maxBirth(fromDay, *p.MaxAge), maxBirth(toDay, *p.MaxAge)}})
		}
	}
	for _, q := range qs {
		res.Statements++
		ids, err := db.Collect(ctx, s.DB.R, db.Value[string], q.q, q.args...)
		if err != nil {
			return err
		}
		for _, id := range ids {
			c.residents[id] = true
		}
	}
	return nil
}

// widen adds what the changes reach: a changed resident's household (for
// household programmes), the households of a changed grid, the subjects
// of recorded visits (their risk sets their frequency).
func (s *Store) widen(ctx context.Context, res *ScheduleResult, c *changes) error {
	if len(c.visits) > 0 {
		res.Statements++
		type subject struct{ resident, household string }
		subs, err := db.Collect(ctx, s.DB.R, func(row db.Scanner) (subject, error) {
			var x subject
			err := row.Scan(&x.resident, &x.household)
			return x, err
		}, `SELECT resident_id, household_id FROM vis_visits WHERE id IN (`+numbers(c.visits)+`)`)
		if err != nil {
			return err
		}
		for _, x := range subs {
			if x.resident != "" {
				c.residents[x.resident] = true
			} else {
				c.households[x.household] = true
			}
		}
	}
	add := func(q string, ids map[string]bool) error {
		if len(ids) == 0 {
			return nil
		}
		res.Statements++
		found, err := db.Collect(ctx, s.DB.R, db.Value[string], q+inList(ids)+`)`)
		for _, h := range found {
			c.households[h] = true
		}
		return err
	}
	if err := add(`SELECT household_id FROM reg_residents WHERE id IN (`, c.residents); err != nil {
		return err
	}
	return add(`SELECT id FROM reg_households WHERE grid_id IN (`, c.grids)
}

// Reconcile brings the month's schedule up to date with what changed since
// its last run over the province (see the top of this file): the same
// result as Schedule, found by looking only at what changed. Without a
// mark for the month it runs Schedule.
func (s *Store) Reconcile(ctx context.Context, month Month) (ScheduleResult, error) {
	defer s.wrote()
	return s.reconcileAt(ctx, month, s.Now())
}

func (s *Store) reconcileAt(ctx context.Context, month Month, now time.Time) (ScheduleResult, error) {
	res := ScheduleResult{Month: month.String()}
	was, ok, err := s.loadMark(ctx, &res, month)
	if err != nil || !ok {
		return s.fullAfter(ctx, res, month, now, err)
	}
	mark, err := s.markNow(ctx, &res, month, now)
	if err != nil || mark.programmes != was.programmes || mark.asOf < was.asOf || mark.seq < was.seq {
		return s.fullAfter(ctx, res, month, now, err)
	}
	c := newChanges()
	if err := s.fromAudit(ctx, &res, c, was.seq, mark.seq); err != nil || c.everything {
		return s.fullAfter(ctx, res, month, now, err)
	}
	progs, err := s.activeProgrammes(ctx)
	if err != nil {
		return res, err
	}
	res.Statements++
	if mark.asOf != was.asOf {
		if err := s.passedDays(ctx, &res, c, progs, was.asOf, mark.asOf); err != nil {
			return res, err
		}
	}
	if err := s.widen(ctx, &res, c); err != nil {
		return res, err
	}
	if c.listed() > maxListed {
		return s.fullAfter(ctx, res, month, now, nil)
	}
	res.Rechecked = len(c.residents) + len(c.households)
	province := access.Scope{Lo: "", Hi: "A"}
	// Imports and seeds: their subtrees in full.
	for _, d := range sortedKeys(c.divisions) {
		r, err := s.scheduleAt(ctx, month, d, now)
		res.add(r)
		if err != nil {
			return res, err
		}
	}
	asOf := month.asOf(now)
	for _, p := range progs {
		sc, ok := scopeFor(p, province)
		if !ok {
			continue
		}
		subjects := c.residents
		if p.Unit == UnitHousehold {
			subjects = c.households
		}
		if len(subjects) == 0 {
			continue
		}
		if _, err := s.scheduleProgramme(ctx, &res, p, month, asOf, sc, now, `IN (`+inList(subjects)+`)`); err != nil {
			return res, fmt.Errorf("visits: reconcile %s %s: %w", p.Code, month, err)
		}
	}
	var near []string
	for col, ids := range map[string]map[string]bool{"resident_id": c.residents, "household_id": c.households, "grid_id": c.grids, "owner": c.owners} {
		if len(ids) > 0 {
			near = append(near, col+` IN (`+inList(ids)+`)`)
		}
	}
	if c.ownerless {
		near = append(near, `owner = ''`)
	}
	if len(near) > 0 {
		sort.Strings(near)
		if err := s.follow(ctx, &res, province, MonthOf(month.first().AddDate(0, -1, 0)).String(), now, ` AND (`+strings.Join(near, " OR ")+`)`); err != nil {
			return res, err
		}
	}
	if res.Created > 0 || len(c.visits) > 0 {
		if err := s.notifyScheduled(ctx, &res, month, province); err != nil {
			return res, err
		}
	}
	if mark.seq == was.seq && mark.asOf == was.asOf {
		return res, nil // nothing to move the mark on for
	}
	return res, s.saveMark(ctx, &res, mark)
}

// fullAfter is a full run in place of an incremental one, counting what
// the incremental one had sent.
func (s *Store) fullAfter(ctx context.Context, res ScheduleResult, month Month, now time.Time, err error) (ScheduleResult, error) {
	if err != nil {
		return res, err
	}
	r, err := s.scheduleAt(ctx, month, "", now)
	r.Statements += res.Statements
	r.Steps = append(res.Steps, r.Steps...)
	return r, err
}

func (r *ScheduleResult) add(o ScheduleResult) {
	r.Created += o.Created
	r.Cancelled += o.Cancelled
	r.Moved += o.Moved
	r.Notified += o.Notified
	r.Statements += o.Statements
	r.Steps = append(r.Steps, o.Steps...)
}

// inList is ids quoted for an IN list, in a stable order.
func inList(ids map[string]bool) string {
	out := make([]string, 0, len(ids))
	for _, id := range sortedKeys(ids) {
		out = append(out, sqlStr(id))
	}
	return strings.Join(out, ",")
}

// numbers is visit ids (audit object ids, written by the module) as an IN
// list of integers; anything else is left out.
func numbers(ids []string) string {
	out := []string{"0"}
	for _, id := range ids {
		var n int64
		if _, err := fmt.Sscan(id, &n); err == nil && fmt.Sprint(n) == id {
			out = append(out, id)
		}
	}
	return strings.Join(out, ",")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
