package indicators

// SourceQueries are the aggregates of the precomputed values' freshness
// check, one statement each, for the benchmark to time alone.
func SourceQueries() []string {
	var out []string
	for _, src := range sources {
		out = append(out, src.exprs...)
	}
	return out
}

// WaitingQuery is the 工作台's query of reports to approve, for its plan.
const WaitingQuery = waitingQuery
