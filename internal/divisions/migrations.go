package divisions

import "linli/internal/db"

// Migrations of the divisions feature.
var Migrations = []db.Migration{{
	ID: "divisions/001_tables",
	SQL: `
CREATE TABLE divisions (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	level INTEGER NOT NULL,
	parent_code TEXT,
	urban_rural TEXT NOT NULL,
	full_name TEXT NOT NULL,
	children INTEGER NOT NULL
);
CREATE INDEX divisions_parent ON divisions (parent_code, code);
CREATE INDEX divisions_name ON divisions (name);

CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- Catalogues are data: an operator may add a kind.
CREATE TABLE attribute_kinds (
	key TEXT PRIMARY KEY,
	name_zh TEXT NOT NULL,
	name_en TEXT NOT NULL,
	unit TEXT NOT NULL,
	additive BOOLEAN NOT NULL,
	sort INTEGER NOT NULL
);
CREATE TABLE designation_kinds (
	key TEXT PRIMARY KEY,
	name_zh TEXT NOT NULL,
	name_en TEXT NOT NULL,
	level INTEGER NOT NULL,
	sort INTEGER NOT NULL
);

CREATE TABLE unit_attributes (
	division_code TEXT NOT NULL,
	year INTEGER NOT NULL,
	kind TEXT NOT NULL REFERENCES attribute_kinds(key),
	value DOUBLE PRECISION NOT NULL,
	updated_by TEXT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (division_code, year, kind)
);
CREATE INDEX unit_attributes_kind ON unit_attributes (kind, year, division_code);

CREATE TABLE unit_designations (
	division_code TEXT NOT NULL,
	kind TEXT NOT NULL REFERENCES designation_kinds(key),
	year INTEGER NOT NULL,
	note TEXT NOT NULL,
	updated_by TEXT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (division_code, kind)
);
CREATE INDEX unit_designations_kind ON unit_designations (kind, year, division_code);

-- Every change of a unit's attributes or designations, old and new value.
CREATE TABLE unit_changes (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL,
	actor TEXT NOT NULL,
	what TEXT NOT NULL,
	old_value TEXT NOT NULL,
	new_value TEXT NOT NULL
);
CREATE INDEX unit_changes_division ON unit_changes (division_code, at);

INSERT INTO attribute_kinds (key, name_zh, name_en, unit, additive, sort) VALUES
('population', '常住人口', 'Resident population', '人', TRUE, 10),
('urban_population', '城镇常住人口', 'Urban resident population', '人', TRUE, 20),
('registered_population', '户籍人口', 'Registered population', '人', TRUE, 30),
('population_60plus', '60岁及以上人口', 'Population aged 60+', '人', TRUE, 40),
('households', '户数', 'Households', '户', TRUE, 50),
('building_floor_area', '社区总建筑面积', 'Total building floor area', '平方米', TRUE, 60),
('commercial_service_floor_area', '社区商业和综合服务设施面积', 'Community commercial and service floor area', '平方米', TRUE, 70),
('village_operating_income', '村级年经营性收入', 'Annual village operating income', '万元', TRUE, 80),
('old_compounds_renovated', '城镇老旧小区改造数量', 'Old urban residential compounds renovated', '个', TRUE, 90);

INSERT INTO designation_kinds (key, name_zh, name_en, level, sort) VALUES
('future_community', '未来社区', 'Future community', 5, 10),
('future_village', '未来乡村', 'Future village', 5, 20),
('beautiful_village', '新时代美丽乡村达标村', 'New-era beautiful village (meets standard)', 5, 30),
('leading_rural_community', '引领型农村社区', 'Leading rural community', 5, 40),
('barrier_free_community', '省级无障碍社区', 'Provincial barrier-free community', 5, 50),
('epidemic_free', '无疫村(社区)', 'Epidemic-free village/community', 5, 60),
('health_village', '省级卫生村', 'Provincial health village', 5, 70),
('smart_community', '智慧社区', 'Smart community', 5, 80),
('smart_county', '智慧社区建成县(市、区)', 'County with smart communities built', 3, 85),
('childcare_friendly', '育儿友好型社区', 'Childcare-friendly community', 5, 90),
('learning_community', '学习型社区', 'Learning community', 5, 100),
('elderly_friendly', '老年友好型社区', 'Elderly-friendly community', 5, 110),
('residents_lounge', '居民会客厅', 'Residents'' lounge', 5, 120);
`,
}, {
	// A withdrawn designation is kept with the year of withdrawal, so that
	// the years it was held still count it.
	ID:  "divisions/002_designation_withdrawal",
	SQL: `ALTER TABLE unit_designations ADD COLUMN withdrawn_year INTEGER;`,
}, {
	// Published for the modules: the tree and the units' yearly data they
	// compute from, one table per view (both stores inline them).
	ID: "divisions/003_published",
	SQL: `
CREATE VIEW divisions_tree AS
	SELECT code, name, level, parent_code, urban_rural FROM divisions;
CREATE VIEW divisions_attributes AS
	SELECT division_code, year, kind, value, updated_at FROM unit_attributes;
CREATE VIEW divisions_designations AS
	SELECT division_code, kind, year, withdrawn_year, updated_at FROM unit_designations;
`,
}}
