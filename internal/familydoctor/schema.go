package familydoctor

import "linli/internal/db"

// The module reads the registry's published people and tags
// (registry_people, registry_person_tags), its residents' names for
// workers' lists and its personnel for the teams, and writes only its gp_*
// tables.

const schemaSQL = `
CREATE TABLE gp_teams (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	name TEXT NOT NULL,
	members TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX gp_teams_div ON gp_teams (division_code, name, id);
CREATE TABLE gp_contracts (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	resident_id TEXT NOT NULL,
	household_id TEXT NOT NULL,
	team_id TEXT NOT NULL REFERENCES gp_teams(id),
	package TEXT NOT NULL,
	start_date TEXT NOT NULL,
	end_date TEXT NOT NULL,
	groups TEXT NOT NULL,
	renewed_by TEXT NOT NULL DEFAULT '',
	signed_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX gp_contracts_div ON gp_contracts (division_code, id);
CREATE INDEX gp_contracts_due ON gp_contracts (division_code, end_date) WHERE renewed_by = '';
CREATE INDEX gp_contracts_resident ON gp_contracts (resident_id, end_date);
CREATE INDEX gp_contracts_household ON gp_contracts (household_id);
CREATE TABLE gp_followups (
	id TEXT PRIMARY KEY,
	contract_id TEXT NOT NULL REFERENCES gp_contracts(id),
	division_code TEXT NOT NULL,
	on_date TEXT NOT NULL,
	kind TEXT NOT NULL,
	note TEXT NOT NULL,
	recorded_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX gp_followups_contract ON gp_followups (contract_id, on_date);
`

func migrations() []db.Migration {
	return []db.Migration{{ID: "familydoctor/001_schema", SQL: schemaSQL},
		// C13's two counts per community and day: counting a county's key
		// groups reads every resident (seconds), so the indicators read this.
		{ID: "familydoctor/002_daily", SQL: `CREATE TABLE gp_daily (
	day TEXT NOT NULL,
	division_code TEXT NOT NULL,
	key_group INTEGER NOT NULL,
	signed INTEGER NOT NULL,
	PRIMARY KEY (day, division_code)
);`}}
}
