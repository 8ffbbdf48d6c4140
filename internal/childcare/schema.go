package childcare

import "linli/internal/db"

// The childcare module reads the registry's published people and tags
// (registry_people, registry_person_tags) and writes only its cc_* tables.

const schemaSQL = `
CREATE TABLE cc_settings (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	kind TEXT NOT NULL,
	name TEXT NOT NULL,
	address TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX cc_settings_div_name ON cc_settings (division_code, name, id);
CREATE TABLE cc_places (
	setting_id TEXT NOT NULL REFERENCES cc_settings(id),
	band TEXT NOT NULL,
	places INTEGER NOT NULL,
	PRIMARY KEY (setting_id, band)
);
CREATE TABLE cc_filings (
	id TEXT PRIMARY KEY,
	setting_id TEXT NOT NULL REFERENCES cc_settings(id),
	applicant TEXT NOT NULL,
	premises TEXT NOT NULL,
	carers INTEGER NOT NULL,
	inspections TEXT NOT NULL,
	filed_on TEXT NOT NULL,
	valid_until TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX cc_filings_setting ON cc_filings (setting_id, filed_on, valid_until);
CREATE TABLE cc_priority_rules (
	county TEXT NOT NULL,
	code TEXT NOT NULL,
	kind TEXT NOT NULL,
	tag TEXT NOT NULL,
	points INTEGER NOT NULL,
	name_zh TEXT NOT NULL,
	name_en TEXT NOT NULL,
	PRIMARY KEY (county, code)
);
CREATE TABLE cc_applications (
	id TEXT PRIMARY KEY,
	setting_id TEXT NOT NULL REFERENCES cc_settings(id),
	division_code TEXT NOT NULL,
	child_id TEXT NOT NULL,
	household_id TEXT NOT NULL,
	band TEXT NOT NULL,
	priority INTEGER NOT NULL,
	reasons TEXT NOT NULL,
	status TEXT NOT NULL,
	applied_by TEXT NOT NULL,
	note TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX cc_applications_queue ON cc_applications (setting_id, status, priority, created_at, id);
CREATE INDEX cc_applications_household ON cc_applications (household_id);
CREATE UNIQUE INDEX cc_applications_open ON cc_applications (child_id, setting_id) WHERE status IN ('waiting', 'enrolled');
`

// defaultRules apply in a county without its own (county ”): points a
// household earns on a setting's waiting list, highest first.
const defaultRules = `
INSERT INTO cc_priority_rules (county, code, kind, tag, points, name_zh, name_en) VALUES
('', 'tekun', 'tag', 'tekun', 40, '特困供养家庭', 'Extreme-poverty household'),
('', 'dibao', 'tag', 'dibao', 30, '低保家庭', 'Minimum-allowance household'),
('', 'disabled', 'tag', 'disabled_person', 20, '家中有残疾人', 'A household member with a disability'),
('', 'local', 'local', '', 10, '本社区居民', 'Lives in the setting''s community');
`

func migrations() []db.Migration {
	return []db.Migration{{ID: "childcare/001_schema", SQL: schemaSQL}, {ID: "childcare/002_default_rules", SQL: defaultRules}}
}
