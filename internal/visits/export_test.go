package visits

// CompletionSQL is the supervision page's query, for the plan test.
func CompletionSQL(childExpr string) string { return completionSQL(childExpr) }
