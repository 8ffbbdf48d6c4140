package assistance

import "linli/internal/db"

// enrolledMigration publishes, for the visits module's 救助家庭关爱
// programme (C12), the households enrolled in assistance: one row per
// enrolled or exited application with the day of its enrolment and, once
// exited, the last day of the month it exited in (China time), so that an
// enrolled household is a visit target from the day it is enrolled and
// stops being one from the month after it exits; the visits already made
// stay. The day comes from the events the workflow writes (by the state an
// event leads to, so that the demo's events, which name no action, count
// too); the application itself keeps only the months, which payments
// read. Never a name, an amount or the application's facts.
var enrolledMigration = db.Migration{ID: "assistance/008_published_enrolled",
	SQLiteSQL: enrolledView(`date(MIN(e.at), '+8 hours')`, `date(MAX(e.at), '+8 hours', 'start of month', '+1 month', '-1 day')`),
	PostgresSQL: enrolledView(`to_char(MIN(e.at) AT TIME ZONE 'UTC' + interval '8 hours', 'YYYY-MM-DD')`,
		`to_char(date_trunc('month', MAX(e.at) AT TIME ZONE 'UTC' + interval '8 hours') + interval '1 month' - interval '1 day', 'YYYY-MM-DD')`),
}

// enrolledView is the view with the dialect's day of the first enrolment
// and last day of the exit's month.
func enrolledView(enrolDay, exitMonthEnd string) string {
	return `CREATE VIEW assistance_enrolled_households AS
	SELECT a.id AS application_id, a.household_id, a.division_code,
		COALESCE((SELECT ` + enrolDay + ` FROM ast_events e WHERE e.application_id = a.id AND e.to_status = 'enrolled'), '') AS since_date,
		CASE WHEN a.status = 'exited' THEN COALESCE((SELECT ` + exitMonthEnd + ` FROM ast_events e WHERE e.application_id = a.id AND e.to_status = 'exited'), '') ELSE '' END AS until_date
	FROM ast_applications a WHERE a.status IN ('enrolled', 'exited');`
}
