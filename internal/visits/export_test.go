package visits

import "linli/internal/access"

// CompletionSQL is the supervision page's query, for the plan test.
func CompletionSQL(childExpr string) string { return completionSQL(childExpr) }

// WorkSQL are the 工作台's statements for p — the counts and the items of
// every kind — with their arguments, for the plan test.
func (s *Store) WorkSQL(p *access.Principal) (counts string, countArgs []any, items string, itemArgs []any) {
	w, _ := s.workPlan(p)
	counts, countArgs = w.countsSQL(1000)
	items, itemArgs = w.visitsSQL(31, func(string, bool) bool { return true })
	return counts, countArgs, items, itemArgs
}
