package volunteers

import "linli/internal/db"

// activitiesMigration publishes, for the projects module's automatic
// count of a contract's volunteer-activity targets, the activities held:
// where, when and who organised them — not who signed up; cancelled
// shifts were never held.
var activitiesMigration = db.Migration{ID: "volunteers/010_published_activities", SQL: `
CREATE VIEW volunteers_published_activities AS
	SELECT id AS activity_id, division_code, organiser, starts_at, ends_at FROM vol_activities WHERE status <> 'cancelled';
`}
