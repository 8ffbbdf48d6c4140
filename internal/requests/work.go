package requests

import (
	"context"
	"fmt"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
)

// The 工作台 reads only open requests: two partial indexes hold them, one
// by division for community and grid workers, one by handling unit for
// the officers a request was handed or escalated to, each with every
// column that sorts a request into its box and the id, so the counts and
// the choice of the items read the index alone and only the items shown
// are read from the table. However long the history of answered and
// closed requests grows, a worker's view reads their scope's open
// requests and nothing else. Both stores use a partial index only for a
// query naming the same condition, written out the same way: openSQL.
var workMigration = db.Migration{ID: "requests/008_open_work", SQL: `
CREATE INDEX requests_open_division ON requests (division_code, status, response_met, response_due, resolve_met, resolve_due, id) WHERE status IN ` + openSQL + `;
CREATE INDEX requests_open_unit ON requests (unit_code, division_code, status, response_met, response_due, resolve_met, resolve_due, id) WHERE status IN ` + openSQL + `;
`}

// openSQL lists resolvePhase, the states whose clock runs, as SQL.
const openSQL = `('submitted','transferred','returned','accepted','assigned','in_progress','reopened')`

// respondSQL lists responsePhase as SQL.
const respondSQL = `('submitted','transferred','returned')`

// The requests' kinds of work on the 工作台, most pressing first: a
// request is in the first box it fits (see boxSQL).
var workBoxes = []struct {
	kind string
	name fault.Msg
}{
	{"request.overdue", fault.M("超时诉求", "Overdue requests")},
	{"request.reopened", fault.M("重办诉求", "Reopened requests")},
	{"request.returned", fault.M("退回诉求", "Returned requests")},
	{"request.due", fault.M("即将超时", "Requests due soon")},
	{"request.new", fault.M("新诉求待受理", "New requests")},
}

// escalatedName is the overdue box's name for an officer: what reaches
// their unit past its deadline was escalated to it.
var escalatedName = fault.M("升级督办", "Escalated to my unit")

// boxSQL numbers an open request's box (1–5 as in workBoxes, 0: none)
// from its deadlines: $1 is now, $2 the end of the warning window. Past
// a deadline it is overdue whatever its state; a deadline within the
// window makes it due soon unless it was reopened or returned.
const boxSQL = `CASE
	WHEN (r.response_met IS NULL AND r.status IN ` + respondSQL + ` AND r.response_due <= $1) OR (r.resolve_met IS NULL AND r.resolve_due <= $1) THEN 1
	WHEN r.status = 'reopened' THEN 2
	WHEN r.status = 'returned' THEN 3
	WHEN (r.response_met IS NULL AND r.status IN ` + respondSQL + ` AND r.response_due <= $2) OR (r.resolve_met IS NULL AND r.resolve_due <= $2) THEN 4
	WHEN r.status IN ('submitted','transferred') THEN 5
	ELSE 0 END`

// dueSQL is the deadline an open request is working to: its response's
// while it waits to be taken on, else its resolution's.
const dueSQL = `CASE WHEN r.response_met IS NULL AND r.status IN ` + respondSQL + ` THEN r.response_due ELSE r.resolve_due END`

// workScope is the table, condition and arguments (numbered from $3) of
// the open requests waiting for p: for a community or grid worker those
// of their scope (a grid worker's grids'), for an officer those handed to
// their own unit within their subtree — the escalations of the subtree
// and what was transferred up. SQLite is told which partial index to
// read: its planner guesses a division range to hold a large share of
// the table and prefers the states' index, which reads the history.
func (s *Store) workScope(p *access.Principal) (string, []any) {
	sc := access.BusinessScope(p)
	from, index := `requests r`, `requests_open_division`
	where := ` WHERE r.status IN ` + openSQL + ` AND r.division_code >= $3 AND r.division_code < $4`
	args := []any{sc.Lo, sc.Hi}
	if p.Role == access.Officer {
		where += ` AND r.unit_code = $5`
		args = append(args, p.Division)
		index = `requests_open_unit`
	}
	if s.DB.Dialect == db.SQLite {
		from += ` INDEXED BY ` + index
	}
	grid, gargs := gridSQL(p, 3+len(args))
	return from + where + grid, append(args, gargs...)
}

// WorkBoard is the requests' part of the 工作台: one statement counts the
// boxes, one picks the most pressing q.Limit requests the filters let
// through and reads them. Both read the open requests of the worker's
// scope and no other: the SLA clock keeps that set moving, so it stays
// small beside the history; the counts are then capped at q.Bound+1.
func (m *requestsModule) WorkBoard(ctx context.Context, p *access.Principal, q module.WorkQuery) (module.WorkBoard, error) {
	var b module.WorkBoard
	if !isHandler(p) {
		return b, nil
	}
	s := m.store
	now := s.Now()
	scope, args := s.workScope(p)
	args = append([]any{db.T(now), db.T(now.Add(s.warnBefore()))}, args...)
	name := func(i int) fault.Msg {
		if i == 0 && p.Role == access.Officer {
			return escalatedName
		}
		return workBoxes[i].name
	}
	if q.Bound > 0 {
		counts, err := s.workCounts(ctx, scope, args, q.Bound)
		if err != nil {
			return b, err
		}
		for i, n := range counts {
			if n > 0 {
				b.Counts = append(b.Counts, module.WorkCount{Kind: workBoxes[i].kind, Name: name(i), Count: n})
			}
		}
		b.Overdue = counts[0]
	}
	box := 0 // every box
	for i, w := range workBoxes {
		if q.Kind == w.kind {
			box = i + 1
		}
	}
	switch {
	case q.Limit <= 0 || q.Kind != "" && box == 0 || q.Overdue && box > 1:
		return b, nil
	case q.Overdue:
		box = 1 // past a deadline is the first box
	}
	items, err := s.workItems(ctx, scope, args, box, q.Limit)
	if err != nil {
		return b, err
	}
	names := map[string]fault.Msg{}
	if cs, err := s.Categories(ctx); err == nil {
		for _, c := range cs {
			names[c.Code] = fault.M(c.NameZH, c.NameEN)
		}
	} else {
		return b, err
	}
	for _, it := range items {
		cat := names[it.category]
		if cat.ZH == "" {
			cat = fault.M(it.category, it.category)
		}
		text := summary(it.description, 24)
		b.Items = append(b.Items, module.WorkItem{Module: "requests", Kind: workBoxes[it.box-1].kind, KindName: name(it.box - 1),
			Title: fault.M(fmt.Sprintf("%s %s：%s", it.number, cat.ZH, text), fmt.Sprintf("%s %s: %s", it.number, cat.EN, text)),
			Whose: it.whose, Href: "/requests/" + it.id, Due: it.due, Urgent: it.box == 1 || it.status == Reopened})
	}
	return b, nil
}

// Work lists the most pressing requests waiting for p (see WorkBoard).
func (m *requestsModule) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	b, err := m.WorkBoard(ctx, p, module.WorkQuery{Limit: limit})
	return b.Items, err
}

// workCountsSQL counts each box of the open requests of scope (see
// workScope) in one pass over their partial index.
func workCountsSQL(scope string) string {
	return `SELECT w.box, COUNT(*) FROM (SELECT ` + boxSQL + ` AS box FROM ` + scope + `) w GROUP BY w.box`
}

// workCounts are the boxes' counts, in the order of workBoxes, each at
// most bound+1.
func (s *Store) workCounts(ctx context.Context, scope string, args []any, bound int) ([]int, error) {
	counts := make([]int, len(workBoxes))
	err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var box, n int
		if err := r.Scan(&box, &n); err != nil {
			return err
		}
		if box >= 1 && box <= len(counts) {
			counts[box-1] = min(n, bound+1)
		}
		return nil
	}, workCountsSQL(scope), args...)
	return counts, err
}

// workItem is one open request as the 工作台 shows it.
type workItem struct {
	id, number, category, description, whose string
	status                                   Status
	due                                      time.Time
	box                                      int
}

// workItemsSQL picks the most pressing open requests of scope, of
// one box (box > 0) or of all — the overdue first, then the reopened,
// then the rest, each by the deadline they work to — from the partial
// index, and reads those from the table.
func workItemsSQL(scope string, box, limit int) string {
	only := `w.box > 0`
	if box > 0 {
		only = fmt.Sprintf(`w.box = %d`, box)
	}
	return fmt.Sprintf(`SELECT r.id, r.number, r.category, r.status, r.description, r.reporter_name, r.address, t.due, t.box FROM (
		SELECT w.id, w.due, w.box, CASE w.box WHEN 1 THEN 0 WHEN 2 THEN 1 ELSE 2 END AS grp FROM (
			SELECT r.id, %s AS due, %s AS box FROM %s) w
		WHERE %s ORDER BY grp, w.due, w.id LIMIT %d) t
		JOIN requests r ON r.id = t.id ORDER BY t.grp, t.due, t.id`, dueSQL, boxSQL, scope, only, limit)
}

// workItems reads the items; the reporter's name, sealed, is opened and
// masked for the few read.
func (s *Store) workItems(ctx context.Context, scope string, args []any, box, limit int) ([]workItem, error) {
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (workItem, error) {
		var it workItem
		var sealedName, address string
		var due db.Time
		if err := r.Scan(&it.id, &it.number, &it.category, &it.status, &it.description, &sealedName, &address, &due, &it.box); err != nil {
			return it, err
		}
		it.due = due.Time
		if sealedName != "" {
			name, err := s.Keys.Open(sealedName, "requests.name:"+it.id)
			if err != nil {
				return it, fmt.Errorf("request %s: reporter name: %w", it.number, err)
			}
			it.whose = maskName(name)
		}
		if it.whose == "" {
			it.whose = summary(address, 24)
		}
		return it, nil
	}, workItemsSQL(scope, box, limit), args...)
}

var (
	_ module.WorkBoarder = (*requestsModule)(nil)
	_ module.Settler     = (*requestsModule)(nil)
)
