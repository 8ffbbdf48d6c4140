package visits

import (
	"context"
	"fmt"
	"strings"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// Supervision lists: the overdue visits (open past their due date, of any
// month) and the high-risk ones (found at high risk in a month).
const (
	ListOverdue  = "overdue"
	ListHighRisk = "high-risk"
)

// WatchFilter narrows a supervision list.
type WatchFilter struct {
	Kind      string `json:"kind"`     // overdue or high-risk
	Division  string `json:"division"` // default: the caller's own
	Programme string `json:"programme"`
	Worker    string `json:"worker"`
	Grid      string `json:"grid"`
	Escalated bool   `json:"escalated"` // only escalated visits (overdue)
	Month     string `json:"month"`     // high-risk: the month (default this one)
}

// WatchList returns the page of a supervision list in the caller's scope
// after cursor ("" for the first): the longest overdue (the earliest due)
// first, or the latest high-risk finding first; names masked, the read
// audited with its filter. Pages are read by the sort key and counted up
// to ListCountCap, as the visits list is.
func (s *Store) WatchList(ctx context.Context, f WatchFilter, cursor string, limit int) (VisitList, error) {
	p := access.From(ctx)
	division, err := supervisedDivision(p, f.Division)
	if err != nil {
		return VisitList{}, err
	}
	f.Division = division
	if f.Kind == ListHighRisk && f.Month == "" {
		f.Month = MonthOf(s.Now()).String()
	}
	q, err := s.watchQuery(f, cursor, limit)
	if err != nil {
		return VisitList{}, err
	}
	out, err := s.readList(ctx, q, limit)
	if err != nil {
		return out, err
	}
	err = s.Audit.Record(ctx, audit.Entry{Action: "visits.watch.list", Object: "visit", Division: division, Detail: audit.Detail(f)})
	return out, err
}

// watchQuery is a supervision list's reads within f.Division (checked).
func (s *Store) watchQuery(f WatchFilter, cursor string, limit int) (keysetQuery, error) {
	sc := access.Subtree(f.Division)
	today := day(s.Now().In(cstZone()))
	var cond string
	var args []any
	add := func(c string, a any) {
		args = append(args, a)
		if cond != "" {
			cond += " AND "
		}
		cond += strings.ReplaceAll(c, "?", fmt.Sprintf("$%d", len(args)))
	}
	q := keysetQuery{order: " ORDER BY v.due_date, v.id", key: "(v.due_date, v.id) > ", list: cursorByDue, pageHides: byDueHides()}
	switch f.Kind {
	case ListOverdue:
		// Paged in due order by vis_visits_list; counted by
		// vis_visits_overdue (status, division_code, due_date).
		add("v.status = ?", StatusOpen)
		add("v.division_code >= ?", sc.Lo)
		add("v.division_code < ?", sc.Hi)
		add("v.due_date < ?", today)
		if f.Escalated {
			cond += " AND v.escalated_at IS NOT NULL"
		}
	case ListHighRisk:
		if _, err := ParseMonth(f.Month); err != nil {
			return q, err
		}
		// Read by vis_visits_high_risk, whose condition SQLite matches
		// only against the same literal; a finding always has its time.
		add("v.month = ?", f.Month)
		add("v.division_code >= ?", sc.Lo)
		add("v.division_code < ?", sc.Hi)
		cond += " AND v.risk = 'high' AND v.visited_at IS NOT NULL"
		q = keysetQuery{order: " ORDER BY v.visited_at DESC, v.id DESC", key: "(v.visited_at, v.id) < ", list: cursorByHighRisk,
			countHides: []string{"v.division_code"}, pageHides: []string{"v.division_code"}}
	default:
		return q, fault.Invalid(fault.M("列表类型有误", "unknown list"), fault.Field("kind", fault.M("须为 overdue 或 high-risk", "must be overdue or high-risk")))
	}
	if err := q.open(s, cursor); err != nil {
		return q, err
	}
	if f.Programme != "" {
		args = append(args, f.Programme)
		cond += fmt.Sprintf(" AND v.programme_id IN (SELECT id FROM vis_programmes WHERE id = $%d OR code = $%d)", len(args), len(args))
	}
	if f.Worker != "" {
		add("v.owner = ?", f.Worker)
	}
	if f.Grid != "" {
		add("v.grid_id = ?", f.Grid)
	}
	q.build(s, cond, args, sc.Lo, limit)
	return q, nil
}

// visitsByID reads visits in the caller's scope (for a confirmation).
func (s *Store) visitsByID(ctx context.Context, ids []int64) ([]Visit, error) {
	p := access.From(ctx)
	if !canRead(p) || len(ids) == 0 {
		return nil, nil
	}
	cond, args := scopeSQL(p, 1)
	ph := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	return db.Collect(ctx, s.DB.R, scanListed, `SELECT `+visitCols+visitFrom+` WHERE `+cond+` AND v.id IN (`+strings.Join(ph, ",")+`) ORDER BY v.due_date, v.id`, args...)
}
