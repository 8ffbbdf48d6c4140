package deliberation_test

import (
	"testing"

	"linli/internal/apptest"
	"linli/internal/deliberation"
)

// demoMore checks what the demo has beyond its topics and votes: a merged
// topic pointing at its target, an online meeting with registrations,
// structured minutes for both past meetings, milestones with one overdue,
// and the finished decision's ratings on the board.
func demoMore(t *testing.T, e *apptest.Env, worker *apptest.Client, community string, board deliberation.DecisionPage) {
	t.Helper()
	if n := e.Count(`SELECT COUNT(*) FROM dlb_topics m JOIN dlb_topics t ON t.id = m.merged_into WHERE m.division_code = $1 AND m.status = 'merged' AND t.status = 'collecting'`, community); n != 1 {
		t.Errorf("%d merged topics", n)
	}
	var online string
	if err := e.App.DB.R.QueryRow(`SELECT id FROM dlb_meetings WHERE division_code = $1 AND mode = 'online'`, community).Scan(&online); err != nil {
		t.Fatalf("the online meeting: %v", err)
	}
	m := apptest.JSON[deliberation.Meeting](t, worker, "GET", "/api/v1/meetings/"+online, nil, 200)
	if m.Link == "" || m.Registered == 0 || len(m.Registrations) != m.Registered || m.Registrations[0].Name == "" {
		t.Errorf("the online meeting %+v", m)
	}
	if n := e.Count(`SELECT COUNT(DISTINCT e.meeting_id) FROM dlb_minute_entries e JOIN dlb_meetings m ON m.id = e.meeting_id WHERE m.division_code = $1 AND m.minutes <> ''`, community); n != 2 {
		t.Errorf("%d meetings with structured minutes", n)
	}
	overdue, rated := 0, 0
	for _, d := range board.Items {
		overdue += d.Overdue
		if d.Rating != nil && d.Status == deliberation.Done {
			rated = d.Rating.Count
		}
	}
	if n := e.Count(`SELECT COUNT(*) FROM dlb_milestones WHERE decision_id IN (SELECT id FROM dlb_decisions WHERE division_code = $1)`, community); n < 3 || overdue != 1 || rated == 0 {
		t.Errorf("%d milestones, %d overdue, %d ratings on the done decision", n, overdue, rated)
	}
}
