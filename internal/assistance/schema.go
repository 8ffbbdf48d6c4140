package assistance

import "linli/internal/db"

// The assistance module reads the registry's households and residents
// (reg_households, reg_residents) to know who lives where and whose
// account is whose, and writes only its own ast_* tables. It must come
// after the registry in the app's module list.

const schemaSQL = `
CREATE TABLE ast_programmes (
	id TEXT PRIMARY KEY,
	county TEXT NOT NULL,
	code TEXT NOT NULL,
	name_zh TEXT NOT NULL,
	name_en TEXT NOT NULL,
	applies_to TEXT NOT NULL,
	level TEXT NOT NULL,
	documents TEXT NOT NULL,
	active BOOLEAN NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	UNIQUE (county, code)
);
CREATE TABLE ast_rules (
	programme_id TEXT NOT NULL REFERENCES ast_programmes(id),
	version INTEGER NOT NULL,
	rule TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (programme_id, version)
);
CREATE TABLE ast_standards (
	county TEXT NOT NULL,
	year INTEGER NOT NULL,
	dibao_fen BIGINT NOT NULL,
	set_by TEXT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (county, year)
);
CREATE TABLE ast_applications (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	county TEXT NOT NULL,
	household_id TEXT NOT NULL,
	year INTEGER NOT NULL,
	status TEXT NOT NULL,
	applicant TEXT NOT NULL,
	on_behalf BOOLEAN NOT NULL,
	consent_at TIMESTAMPTZ,
	consent_by TEXT NOT NULL DEFAULT '',
	facts_enc TEXT NOT NULL,
	results_enc TEXT NOT NULL,
	asked TEXT NOT NULL,
	plausible TEXT NOT NULL,
	approved TEXT NOT NULL DEFAULT '',
	amount_fen BIGINT NOT NULL DEFAULT 0,
	decided_by TEXT NOT NULL DEFAULT '',
	publicity_until TIMESTAMPTZ,
	due_at TIMESTAMPTZ,
	version INTEGER NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ast_applications_div ON ast_applications (division_code, id);
CREATE INDEX ast_applications_open ON ast_applications (division_code, due_at) WHERE due_at IS NOT NULL AND status <> 'enrolled';
CREATE INDEX ast_applications_household ON ast_applications (household_id);
CREATE TABLE ast_app_programmes (
	application_id TEXT NOT NULL REFERENCES ast_applications(id),
	code TEXT NOT NULL,
	programme_id TEXT NOT NULL,
	asked BOOLEAN NOT NULL,
	rule_version INTEGER NOT NULL,
	outcome TEXT NOT NULL,
	amount_fen BIGINT NOT NULL,
	PRIMARY KEY (application_id, code)
);
CREATE TABLE ast_events (
	application_id TEXT NOT NULL REFERENCES ast_applications(id),
	seq INTEGER NOT NULL,
	action TEXT NOT NULL,
	from_status TEXT NOT NULL,
	to_status TEXT NOT NULL,
	actor TEXT NOT NULL,
	note TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (application_id, seq)
);
`

func migrations() []db.Migration {
	return []db.Migration{{ID: "assistance/001_schema", SQL: schemaSQL},
		// An officer's 工作台 holds only the applications waiting for a
		// decision; a county's are picked from these few entries.
		{ID: "assistance/002_work_index", SQL: `CREATE INDEX ast_applications_decide ON ast_applications (division_code, due_at, status)
			WHERE due_at IS NOT NULL AND status IN ('publicity', 'appealed');`},
		// A household has at most one open application: the index, not a
		// read before the write, decides between two submitted at once.
		{ID: "assistance/003_one_open", SQL: `CREATE UNIQUE INDEX ast_applications_one_open ON ast_applications (household_id)
			WHERE status IN ` + openStatuses + `;`},
		// An application started from a risk signal names it ("visit:42").
		{ID: "assistance/004_source", SQL: `ALTER TABLE ast_applications ADD COLUMN source TEXT NOT NULL DEFAULT '';`},
		// Public holidays and make-up working days for the clocks.
		{ID: "assistance/005_calendar", SQL: calendarSQL()},
		// The household economic check's file exchange (checks.go).
		{ID: "assistance/006_checks", SQL: checksSQL},
		// Monthly payments: the months an entitlement runs, the sealed bank
		// account, and the batches sent to the bank (payments.go).
		{ID: "assistance/007_payments", SQL: paymentsSQL, SQLiteSQL: paymentsSQL + backfillSQLite, PostgresSQL: paymentsSQL + backfillPostgres}}
}

// openStatuses are the states of an application still on its way to a
// decision or an enrolment (an appeal reopens a refusal). Refused, enrolled
// and exited ones are closed: an enrolled household is reviewed, not
// applied for again.
const openStatuses = `('submitted', 'accepted', 'checking', 'investigating', 'publicity', 'approved', 'appealed')`
