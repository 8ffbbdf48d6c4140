package registry

import "linli/internal/db"

// publishedMigration publishes, for other modules, the registry's data
// they compute from: views with only the columns they need, never a name,
// an identity number or any encrypted personal column. Each view reads
// one table, so both stores inline it and a query on it uses the table's
// indexes.
var publishedMigration = db.Migration{
	ID: "registry/006_published",
	SQL: `
-- Facilities as they are now: where they are and what they offer (life circles).
CREATE VIEW registry_facilities AS
	SELECT id, division_code, category, status, lon, lat, updated_at FROM reg_facilities;
-- What facilities, personnel and organisations were at a time (indicators as of a year's end).
CREATE VIEW registry_facility_versions AS
	SELECT division_code, category, status, floor_area, capacities, valid_from, valid_to FROM reg_facility_versions;
CREATE VIEW registry_personnel_versions AS
	SELECT division_code, roles, attrs, valid_from, valid_to FROM reg_personnel_versions;
CREATE VIEW registry_organization_versions AS
	SELECT division_code, kind, party_share, valid_from, valid_to FROM reg_organization_versions;
-- Service-object tags without the resident: counts now, and each tag's dates for past years.
CREATE VIEW registry_tag_counts AS
	SELECT division_code, lvl, tag, n FROM reg_tag_counts;
CREATE VIEW registry_resident_tags AS
	SELECT division_code, tag, since_date, until_date, created_at FROM reg_resident_tags;
`,
}

// emergencyMigration publishes what a warning's response reads: who lives
// in which household and grid, each person's tags with their dates, the
// grids' workers, and facilities with their names and capacities (the
// shelters). A person is published by surname only (张**): enough for the
// helper paired with them beforehand, nothing more for anyone else.
var emergencyMigration = db.Migration{
	ID: "registry/014_published_people",
	SQL: `
CREATE VIEW registry_people AS
	SELECT id, household_id, division_code, substr(name, 1, 1) AS surname, birth_date, username FROM reg_residents;
CREATE VIEW registry_households AS
	SELECT id, division_code, grid_id FROM reg_households;
CREATE VIEW registry_person_tags AS
	SELECT resident_id, division_code, tag, since_date, until_date, active FROM reg_resident_tags;
CREATE VIEW registry_grid_workers AS
	SELECT grid_id, division_code, username FROM reg_grid_workers;
CREATE VIEW registry_facility_cards AS
	SELECT id, division_code, code, name, category, capacities, status FROM reg_facilities;
`,
}

// careMigration publishes what home-care services read: organisations by
// name (a provider is one with a contract) and personnel by surname, with
// their organisation, account and roles (a provider's staff).
var careMigration = db.Migration{
	ID: "registry/016_published_care",
	SQL: `
CREATE VIEW registry_organization_cards AS
	SELECT id, division_code, kind, name FROM reg_organizations;
CREATE VIEW registry_staff_cards AS
	SELECT id, division_code, substr(name, 1, 1) AS surname, roles, attrs, org_id, username FROM reg_personnel;
`,
}

// birthMigration: the monthly home-care subsidy run finds a county's
// elderly by birth date, from this index rather than every resident.
var birthMigration = db.Migration{ID: "registry/017_birth_index", SQL: `CREATE INDEX reg_residents_birth ON reg_residents (birth_date, division_code);`}

// tagKindsMigration publishes the tag catalogue, so that a rule written
// over tags (a subsidy tier) is picked from it, not typed.
var tagKindsMigration = db.Migration{ID: "registry/018_published_tag_kinds", SQL: `CREATE VIEW registry_tag_kinds AS SELECT key, name_zh, name_en, grp, sort FROM reg_tag_kinds;`}

// ratingsMigration publishes organisations with their assessment rating
// (评估等级, 1A–5A), so that a purchased-service project can hold an
// applicant to a minimum rating.
var ratingsMigration = db.Migration{ID: "registry/019_published_org_ratings", SQL: `CREATE VIEW registry_organization_ratings AS SELECT id, division_code, kind, name, rating FROM reg_organizations;`}
