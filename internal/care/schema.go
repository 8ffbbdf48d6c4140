package care

import "linli/internal/db"

// The care module reads the registry only through the views it publishes
// (registry_people, registry_person_tags, registry_organization_cards,
// registry_staff_cards, registry_places) and writes only its own care_*
// tables. It must come after the registry in the app's module list.
//
// Money is integer fen everywhere; a month is "YYYY-MM".

const schemaSQL = `
CREATE TABLE care_items (
	id TEXT PRIMARY KEY,
	county TEXT NOT NULL,
	code TEXT NOT NULL,
	name_zh TEXT NOT NULL,
	name_en TEXT NOT NULL,
	unit TEXT NOT NULL,
	max_minutes INTEGER NOT NULL,
	price_fen BIGINT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	UNIQUE (county, code)
);
CREATE TABLE care_providers (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL,
	county TEXT NOT NULL,
	division_code TEXT NOT NULL,
	name TEXT NOT NULL,
	contract_no TEXT NOT NULL,
	contract_from TEXT NOT NULL,
	contract_to TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	UNIQUE (county, contract_no)
);
CREATE INDEX care_providers_county ON care_providers (county, name, id);
CREATE TABLE care_provider_areas (
	provider_id TEXT NOT NULL REFERENCES care_providers(id),
	community TEXT NOT NULL,
	PRIMARY KEY (provider_id, community)
);
CREATE INDEX care_provider_areas_community ON care_provider_areas (community, provider_id);
CREATE TABLE care_provider_items (
	provider_id TEXT NOT NULL REFERENCES care_providers(id),
	item_id TEXT NOT NULL REFERENCES care_items(id),
	PRIMARY KEY (provider_id, item_id)
);
CREATE TABLE care_staff (
	id TEXT PRIMARY KEY,
	provider_id TEXT NOT NULL REFERENCES care_providers(id),
	personnel_id TEXT NOT NULL,
	username TEXT NOT NULL,
	surname TEXT NOT NULL,
	certified BOOLEAN NOT NULL,
	manager BOOLEAN NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX care_staff_provider ON care_staff (provider_id, manager);
CREATE UNIQUE INDEX care_staff_username ON care_staff (username) WHERE username <> '';
CREATE TABLE care_rules (
	id TEXT PRIMARY KEY,
	county TEXT NOT NULL,
	year INTEGER NOT NULL,
	version INTEGER NOT NULL,
	from_month TEXT NOT NULL,
	name TEXT NOT NULL,
	tiers TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	UNIQUE (county, year, version)
);
CREATE TABLE care_quota (
	resident_id TEXT NOT NULL,
	month TEXT NOT NULL,
	division_code TEXT NOT NULL,
	rule_id TEXT NOT NULL,
	granted_fen BIGINT NOT NULL,
	used_fen BIGINT NOT NULL,
	expired_fen BIGINT NOT NULL,
	PRIMARY KEY (resident_id, month)
);
CREATE INDEX care_quota_div ON care_quota (month, division_code);
CREATE TABLE care_quota_runs (
	county TEXT NOT NULL,
	month TEXT NOT NULL,
	rule_id TEXT NOT NULL,
	residents INTEGER NOT NULL,
	granted_fen BIGINT NOT NULL,
	expired_fen BIGINT NOT NULL,
	run_by TEXT NOT NULL,
	run_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (county, month)
);
CREATE TABLE care_orders (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	resident_id TEXT NOT NULL,
	household_id TEXT NOT NULL,
	surname TEXT NOT NULL,
	provider_id TEXT NOT NULL REFERENCES care_providers(id),
	item_id TEXT NOT NULL REFERENCES care_items(id),
	status TEXT NOT NULL,
	wanted_at TEXT NOT NULL,
	note TEXT NOT NULL,
	ordered_by TEXT NOT NULL,
	staff_id TEXT NOT NULL,
	checkin_at TIMESTAMPTZ,
	checkin_lon DOUBLE PRECISION,
	checkin_lat DOUBLE PRECISION,
	checkout_at TIMESTAMPTZ,
	minutes INTEGER NOT NULL,
	month TEXT NOT NULL,
	amount_fen BIGINT NOT NULL,
	subsidy_fen BIGINT NOT NULL,
	copay_fen BIGINT NOT NULL,
	rating INTEGER NOT NULL,
	rating_note TEXT NOT NULL,
	dispute_note TEXT NOT NULL,
	dispute_due TIMESTAMPTZ,
	settlement_id TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX care_orders_provider ON care_orders (provider_id, created_at, id);
CREATE INDEX care_orders_div ON care_orders (division_code, created_at, id);
CREATE INDEX care_orders_resident ON care_orders (resident_id, created_at);
CREATE INDEX care_orders_staff ON care_orders (staff_id, status);
CREATE INDEX care_orders_settle ON care_orders (provider_id, month, status);
CREATE INDEX care_orders_unsettled ON care_orders (status, settlement_id, division_code);
CREATE TABLE care_order_events (
	id TEXT PRIMARY KEY,
	order_id TEXT NOT NULL REFERENCES care_orders(id),
	from_status TEXT NOT NULL,
	to_status TEXT NOT NULL,
	note TEXT NOT NULL,
	by_user TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL
);
CREATE INDEX care_order_events_order ON care_order_events (order_id, at);
CREATE TABLE care_settlements (
	id TEXT PRIMARY KEY,
	provider_id TEXT NOT NULL REFERENCES care_providers(id),
	county TEXT NOT NULL,
	month TEXT NOT NULL,
	status TEXT NOT NULL,
	services INTEGER NOT NULL,
	amount_fen BIGINT NOT NULL,
	subsidy_fen BIGINT NOT NULL,
	copay_fen BIGINT NOT NULL,
	open_disputes INTEGER NOT NULL,
	checked_by TEXT NOT NULL,
	approved_by TEXT NOT NULL,
	paid_by TEXT NOT NULL,
	paid_ref TEXT NOT NULL,
	statement TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	UNIQUE (provider_id, month)
);
CREATE INDEX care_settlements_county ON care_settlements (county, month, id);
`

var migrations = []db.Migration{
	{ID: "care/001_schema", SQL: schemaSQL},
	// A resident's orders are read by household; an officer's newest
	// orders by time across their area, with the division to filter; a
	// provider's rating from the index alone.
	{ID: "care/002_list_indexes", SQL: `CREATE INDEX care_orders_household ON care_orders (household_id, created_at, id);
CREATE INDEX care_orders_created ON care_orders (created_at, id, division_code);
CREATE INDEX care_orders_rating ON care_orders (provider_id, rating);`},
	{ID: "care/003_meals", SQL: mealsSQL},
	// Open disputes (a dispute's clock is cleared when it is resolved),
	// read by area for the 工作台 whatever the number of orders.
	{ID: "care/004_open_disputes", SQL: `CREATE INDEX care_orders_disputes ON care_orders (division_code, dispute_due) WHERE dispute_due IS NOT NULL;`},
	// Published for other modules: which organisation a provider staff member's
	// account acts for (a purchased-service project's applicant).
	{ID: "care/005_published_provider_accounts", SQL: `CREATE VIEW care_provider_accounts AS
	SELECT st.username, pr.org_id, pr.county, st.manager FROM care_staff st JOIN care_providers pr ON pr.id = st.provider_id WHERE st.username <> '';`},
	// A settlement's payee is a provider or a community-run canteen (paid
	// to its community): provider_id is '' for the latter, so it no longer
	// references care_providers, and one settlement per payee and month;
	// a check keeps exactly one payee named.
	// SQLite cannot drop a constraint, so there the table is rebuilt.
	{ID: "care/006_canteen_settlements", PostgresSQL: `ALTER TABLE care_settlements DROP CONSTRAINT care_settlements_provider_id_fkey;
ALTER TABLE care_settlements DROP CONSTRAINT care_settlements_provider_id_month_key;
ALTER TABLE care_settlements ADD COLUMN canteen_id TEXT NOT NULL DEFAULT '';
ALTER TABLE care_settlements ADD CONSTRAINT care_settlements_one_payee CHECK ((provider_id = '') <> (canteen_id = ''));
CREATE UNIQUE INDEX care_settlements_payee ON care_settlements (provider_id, canteen_id, month);
CREATE INDEX care_meals_canteen_settle ON care_meals (canteen_id, month, settlement_id);`,
		SQLiteSQL: `CREATE TABLE care_settlements_006 (
	id TEXT PRIMARY KEY,
	provider_id TEXT NOT NULL,
	canteen_id TEXT NOT NULL DEFAULT '',
	county TEXT NOT NULL,
	month TEXT NOT NULL,
	status TEXT NOT NULL,
	services INTEGER NOT NULL,
	meals INTEGER NOT NULL DEFAULT 0,
	amount_fen BIGINT NOT NULL,
	subsidy_fen BIGINT NOT NULL,
	copay_fen BIGINT NOT NULL,
	open_disputes INTEGER NOT NULL,
	checked_by TEXT NOT NULL,
	approved_by TEXT NOT NULL,
	paid_by TEXT NOT NULL,
	paid_ref TEXT NOT NULL,
	statement TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	CHECK ((provider_id = '') <> (canteen_id = ''))
);
INSERT INTO care_settlements_006 (id, provider_id, canteen_id, county, month, status, services, meals, amount_fen, subsidy_fen, copay_fen, open_disputes,
	checked_by, approved_by, paid_by, paid_ref, statement, sha256, created_by, created_at, updated_at)
	SELECT id, provider_id, '', county, month, status, services, meals, amount_fen, subsidy_fen, copay_fen, open_disputes,
	checked_by, approved_by, paid_by, paid_ref, statement, sha256, created_by, created_at, updated_at FROM care_settlements;
DROP TABLE care_settlements;
ALTER TABLE care_settlements_006 RENAME TO care_settlements;
CREATE INDEX care_settlements_county ON care_settlements (county, month, id);
CREATE UNIQUE INDEX care_settlements_payee ON care_settlements (provider_id, canteen_id, month);
CREATE INDEX care_meals_canteen_settle ON care_meals (canteen_id, month, settlement_id);`},
}

// mealsSQL is 助餐: canteens (registry facilities run by a provider or
// by the community) with the communities they serve, their menus by day
// and sitting, the elderly enrolled, each meal served with its subsidy,
// the meal subsidy rule's versions, and which communities were served
// meals in which month (C06 reads that small table, not every meal).
const mealsSQL = `
CREATE TABLE care_canteens (
	id TEXT PRIMARY KEY,
	facility_id TEXT NOT NULL UNIQUE,
	county TEXT NOT NULL,
	division_code TEXT NOT NULL,
	name TEXT NOT NULL,
	provider_id TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX care_canteens_div ON care_canteens (division_code, name, id);
CREATE INDEX care_canteens_provider ON care_canteens (provider_id);
CREATE TABLE care_canteen_areas (
	canteen_id TEXT NOT NULL REFERENCES care_canteens(id),
	community TEXT NOT NULL,
	PRIMARY KEY (canteen_id, community)
);
CREATE INDEX care_canteen_areas_community ON care_canteen_areas (community, canteen_id);
CREATE TABLE care_menus (
	canteen_id TEXT NOT NULL REFERENCES care_canteens(id),
	served_on TEXT NOT NULL,
	sitting TEXT NOT NULL,
	dishes TEXT NOT NULL,
	price_fen BIGINT NOT NULL,
	published_by TEXT NOT NULL,
	published_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (canteen_id, served_on, sitting)
);
CREATE TABLE care_meal_enrolments (
	id TEXT PRIMARY KEY,
	canteen_id TEXT NOT NULL REFERENCES care_canteens(id),
	resident_id TEXT NOT NULL,
	household_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	surname TEXT NOT NULL,
	mode TEXT NOT NULL,
	active BOOLEAN NOT NULL,
	enrolled_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	ended_by TEXT NOT NULL,
	ended_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX care_meal_enrolments_one ON care_meal_enrolments (canteen_id, resident_id) WHERE active;
CREATE INDEX care_meal_enrolments_canteen ON care_meal_enrolments (canteen_id, active, surname, id);
CREATE INDEX care_meal_enrolments_household ON care_meal_enrolments (household_id, active);
CREATE INDEX care_meal_enrolments_div ON care_meal_enrolments (division_code, active);
CREATE TABLE care_meal_rules (
	id TEXT PRIMARY KEY,
	county TEXT NOT NULL,
	year INTEGER NOT NULL,
	version INTEGER NOT NULL,
	from_month TEXT NOT NULL,
	name TEXT NOT NULL,
	tiers TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	UNIQUE (county, year, version)
);
CREATE TABLE care_meals (
	id TEXT PRIMARY KEY,
	canteen_id TEXT NOT NULL REFERENCES care_canteens(id),
	enrolment_id TEXT NOT NULL,
	resident_id TEXT NOT NULL,
	household_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	surname TEXT NOT NULL,
	served_on TEXT NOT NULL,
	sitting TEXT NOT NULL,
	mode TEXT NOT NULL,
	month TEXT NOT NULL,
	county TEXT NOT NULL,
	provider_id TEXT NOT NULL,
	amount_fen BIGINT NOT NULL,
	subsidy_fen BIGINT NOT NULL,
	copay_fen BIGINT NOT NULL,
	rule_id TEXT NOT NULL,
	source TEXT NOT NULL,
	recorded_by TEXT NOT NULL,
	settlement_id TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	UNIQUE (canteen_id, resident_id, served_on, sitting)
);
CREATE INDEX care_meals_canteen ON care_meals (canteen_id, month, served_on);
CREATE INDEX care_meals_settle ON care_meals (provider_id, month, settlement_id);
CREATE INDEX care_meals_county ON care_meals (county, month);
CREATE INDEX care_meals_household ON care_meals (household_id, served_on);
CREATE TABLE care_meal_units (
	community TEXT NOT NULL,
	month TEXT NOT NULL,
	PRIMARY KEY (community, month)
);
ALTER TABLE care_settlements ADD COLUMN meals INTEGER NOT NULL DEFAULT 0;
`
