package visits

import "linli/internal/db"

// homeVisitsMigration publishes, for the projects module's automatic
// count of a contract's home-visit targets, the home visits done: where
// and when, and by which account — never whom.
var homeVisitsMigration = db.Migration{ID: "visits/013_published_home_visits", SQL: `
CREATE VIEW visits_published_home_visits AS
	SELECT id AS visit_id, division_code, visited_at, recorded_by FROM vis_visits WHERE status = 'done' AND method = 'home';
`}
