package lifecircle

// CountiesSQL is the read of the counties below a division of the level,
// for the plan test.
func CountiesSQL(level int) string { return countiesSQL(level) }
