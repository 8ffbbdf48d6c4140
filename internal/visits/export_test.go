package visits

import (
	"strconv"

	"linli/internal/access"
)

// CompletionSQL is the supervision page's query, for the plan test.
func CompletionSQL(childExpr string, byWorker bool) string { return completionSQL(childExpr, byWorker) }

// ListReads are the visits list's count and page reads for p, after a
// cursor on (due, id) when due is not empty, for the plan test.
func (s *Store) ListReads(p *access.Principal, f Filter, due string, id int64) (count string, countArgs []any, page string, pageArgs []any, err error) {
	cursor := ""
	if due != "" {
		cursor = s.sealCursor(cursorByDue, due, strconv.FormatInt(id, 10))
	}
	q, err := s.listQuery(p, f, cursor, 20)
	return q.count, q.countArgs, q.page, q.args, err
}

// WatchReads are a supervision list's count and page reads, for the plan
// test.
func (s *Store) WatchReads(f WatchFilter) (count string, countArgs []any, page string, pageArgs []any, err error) {
	q, err := s.watchQuery(f, "", 20)
	return q.count, q.countArgs, q.page, q.args, err
}

// WorkSQL are the 工作台's statements for p — the counts and the items of
// every kind — with their arguments, for the plan test.
func (s *Store) WorkSQL(p *access.Principal) (counts string, countArgs []any, items string, itemArgs []any) {
	w, _ := s.workPlan(p)
	counts, countArgs = w.countsSQL(1000)
	items, itemArgs = w.visitsSQL(31, func(string, bool) bool { return true })
	return counts, countArgs, items, itemArgs
}

// CountyTargetsSQL is the rates' count of a county's (or wider) targets of
// one programme in a month, done or due, for the plan test.
func CountyTargetsSQL(visited bool) string {
	cond := "v.status <> 'cancelled'"
	if visited {
		cond = "v.status = 'done'"
	}
	return divisionTargetsSQL("COALESCE(v.division_code, '')", "v.month = $4", cond, "v.subject_id")
}
