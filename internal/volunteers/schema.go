package volunteers

import "linli/internal/db"

// The volunteers module reads the registry only through its published
// views (registry_people for who a resident is and which household they
// belong to, registry_facility_cards for the volunteer stations) and
// writes only its own vol_* tables. Stations are the registry's facilities
// of category volunteer_station: placed in a community, on the life-circle
// map, and counted by C19.

const volunteersSQL = `
CREATE TABLE vol_volunteers (
	resident_id TEXT PRIMARY KEY,
	username TEXT NOT NULL,
	household_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	surname TEXT NOT NULL,
	birth_date TEXT NOT NULL,
	skills TEXT NOT NULL,
	availability TEXT NOT NULL,
	languages TEXT NOT NULL,
	drives BOOLEAN NOT NULL,
	party_member BOOLEAN NOT NULL,
	party_branch TEXT NOT NULL,
	status TEXT NOT NULL,
	verified_by TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX vol_volunteers_div ON vol_volunteers (division_code, status, resident_id);
CREATE INDEX vol_volunteers_user ON vol_volunteers (username);
CREATE TABLE vol_teams (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	station_id TEXT NOT NULL,
	name TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	UNIQUE (division_code, name)
);
CREATE TABLE vol_team_members (
	team_id TEXT NOT NULL REFERENCES vol_teams(id),
	resident_id TEXT NOT NULL REFERENCES vol_volunteers(resident_id),
	PRIMARY KEY (team_id, resident_id)
);
CREATE INDEX vol_team_members_resident ON vol_team_members (resident_id);
CREATE TABLE vol_activities (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	station_id TEXT NOT NULL,
	organiser TEXT NOT NULL,
	title TEXT NOT NULL,
	description TEXT NOT NULL,
	place TEXT NOT NULL,
	starts_at TIMESTAMPTZ NOT NULL,
	ends_at TIMESTAMPTZ NOT NULL,
	cutoff TIMESTAMPTZ NOT NULL,
	minutes BIGINT NOT NULL,
	points BIGINT NOT NULL,
	slots INTEGER NOT NULL,
	taken INTEGER NOT NULL DEFAULT 0,
	queued INTEGER NOT NULL DEFAULT 0,
	min_age INTEGER NOT NULL,
	time_bank BOOLEAN NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX vol_activities_div ON vol_activities (division_code, starts_at, id);
CREATE INDEX vol_activities_starts ON vol_activities (starts_at, id);
CREATE TABLE vol_signups (
	activity_id TEXT NOT NULL REFERENCES vol_activities(id),
	resident_id TEXT NOT NULL REFERENCES vol_volunteers(resident_id),
	seq INTEGER NOT NULL,
	status TEXT NOT NULL,
	attendance TEXT NOT NULL DEFAULT '',
	credited BOOLEAN NOT NULL DEFAULT FALSE,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (activity_id, resident_id)
);
CREATE INDEX vol_signups_queue ON vol_signups (activity_id, status, seq);
CREATE INDEX vol_signups_resident ON vol_signups (resident_id, created_at);
`

// The ledger: every transaction is two or more entries summing to zero
// per currency; an account's balance (and, for service hours, what it
// earned, the basis of its stars) is kept on the account row in the same
// transaction, so that reading it is one row, never a scan of entries.
const ledgerSQL = `
CREATE TABLE vol_accounts (
	id TEXT PRIMARY KEY,
	currency TEXT NOT NULL,
	owner_kind TEXT NOT NULL,
	owner_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	balance BIGINT NOT NULL DEFAULT 0,
	earned BIGINT NOT NULL DEFAULT 0,
	may_go_negative BOOLEAN NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	UNIQUE (owner_kind, owner_id, currency)
);
CREATE INDEX vol_accounts_div ON vol_accounts (division_code, currency, owner_kind);
CREATE TABLE vol_star_levels (
	stars INTEGER PRIMARY KEY,
	hours INTEGER NOT NULL UNIQUE
);
INSERT INTO vol_star_levels (stars, hours) VALUES (1, 100), (2, 300), (3, 600), (4, 1000), (5, 1500);
CREATE TABLE vol_shop_items (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	name TEXT NOT NULL,
	points BIGINT NOT NULL,
	stock INTEGER NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX vol_shop_items_div ON vol_shop_items (division_code, name, id);
CREATE TABLE vol_redemptions (
	id TEXT PRIMARY KEY,
	item_id TEXT NOT NULL REFERENCES vol_shop_items(id),
	resident_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	points BIGINT NOT NULL,
	txn_id TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX vol_redemptions_div ON vol_redemptions (division_code, created_at, id);
CREATE INDEX vol_redemptions_resident ON vol_redemptions (resident_id, created_at);
CREATE TABLE vol_certificates (
	code TEXT PRIMARY KEY,
	resident_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	holder TEXT NOT NULL,
	minutes BIGINT NOT NULL,
	stars INTEGER NOT NULL,
	issued_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX vol_certificates_resident ON vol_certificates (resident_id, issued_at);
`

// entriesCols: rows are only ever inserted. key makes a posting
// idempotent (an attendance credited once, a transaction reversed once).
const entriesCols = `
	txn_id TEXT NOT NULL,
	account_id TEXT NOT NULL,
	currency TEXT NOT NULL,
	amount BIGINT NOT NULL,
	kind TEXT NOT NULL,
	service_date TEXT NOT NULL,
	ref TEXT NOT NULL,
	reason TEXT NOT NULL,
	entry_key TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX vol_entries_account ON vol_entries (account_id, id);
CREATE INDEX vol_entries_day ON vol_entries (account_id, service_date) WHERE service_date <> '';
CREATE INDEX vol_entries_txn ON vol_entries (txn_id);
CREATE UNIQUE INDEX vol_entries_key ON vol_entries (entry_key) WHERE entry_key <> '';
`

var migrations = []db.Migration{
	{ID: "volunteers/001_volunteers", SQL: volunteersSQL},
	{ID: "volunteers/002_ledger", SQL: ledgerSQL},
	{ID: "volunteers/003_entries",
		SQLiteSQL:   "CREATE TABLE vol_entries (\n\tid INTEGER PRIMARY KEY AUTOINCREMENT," + entriesCols,
		PostgresSQL: "CREATE TABLE vol_entries (\n\tid BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY," + entriesCols},
	// The volunteer list of a county runs by status, community and id:
	// the index gives that order, so a page reads its own rows.
	// The dashboard's star counts read a subtree's recorded hours from an
	// index that holds them.
	{ID: "volunteers/004_list_order", SQL: `CREATE INDEX vol_volunteers_status ON vol_volunteers (status, division_code, resident_id);
CREATE INDEX vol_accounts_earned ON vol_accounts (currency, owner_kind, division_code, earned);`},
	// It replaces the division index, which the planners preferred for the
	// star counts and which made them read every account row.
	{ID: "volunteers/005_drop_account_division", SQL: `DROP INDEX vol_accounts_div;`},
	// Recurring activities: a series generates its shifts as activities,
	// one per series and date (the unique key makes generation idempotent).
	{ID: "volunteers/006_series", SQL: seriesSQL},
	// Party members' reports to their community (once each), the
	// community's service posts and who holds them.
	{ID: "volunteers/007_party", SQL: partySQL},
	// Volunteers paired with visit targets (结对探访) and their visits.
	pairsMigration,
	// Community charity funds (社区基金) and their public ledgers.
	fundsMigration,
	// Activities held, for the projects' target counts.
	activitiesMigration,
}

const seriesSQL = `
CREATE TABLE vol_series (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	station_id TEXT NOT NULL,
	organiser TEXT NOT NULL,
	title TEXT NOT NULL,
	description TEXT NOT NULL,
	place TEXT NOT NULL,
	rule TEXT NOT NULL,
	weekdays TEXT NOT NULL,
	every_days INTEGER NOT NULL,
	start_date TEXT NOT NULL,
	end_date TEXT NOT NULL,
	max_count INTEGER NOT NULL,
	start_time TEXT NOT NULL,
	end_time TEXT NOT NULL,
	cutoff_hours INTEGER NOT NULL,
	minutes BIGINT NOT NULL,
	points BIGINT NOT NULL,
	slots INTEGER NOT NULL,
	min_age INTEGER NOT NULL,
	time_bank BOOLEAN NOT NULL,
	status TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX vol_series_div ON vol_series (division_code, created_at);
ALTER TABLE vol_activities ADD COLUMN series_id TEXT NOT NULL DEFAULT '';
ALTER TABLE vol_activities ADD COLUMN series_date TEXT NOT NULL DEFAULT '';
ALTER TABLE vol_activities ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
CREATE UNIQUE INDEX vol_activities_series ON vol_activities (series_id, series_date) WHERE series_id <> '';
`

const partySQL = `
CREATE TABLE vol_party_reports (
	resident_id TEXT PRIMARY KEY REFERENCES vol_volunteers(resident_id),
	division_code TEXT NOT NULL,
	branch TEXT NOT NULL,
	reported_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX vol_party_reports_div ON vol_party_reports (division_code, branch, resident_id);
CREATE TABLE vol_posts (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	name TEXT NOT NULL,
	description TEXT NOT NULL,
	capacity INTEGER NOT NULL,
	taken INTEGER NOT NULL DEFAULT 0,
	skills TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	UNIQUE (division_code, name)
);
CREATE TABLE vol_post_members (
	post_id TEXT NOT NULL REFERENCES vol_posts(id),
	resident_id TEXT NOT NULL REFERENCES vol_party_reports(resident_id),
	created_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (post_id, resident_id)
);
CREATE INDEX vol_post_members_resident ON vol_post_members (resident_id);
`
