// Package registry is 一库: the community-level database of residents,
// households, service-object tags, facilities, organisations, personnel and
// grids that every other module reads. Personal fields are encrypted per
// field with a blind index for exact lookup; every read and write is scoped
// to the caller's division subtree inside SQL, and every write and reveal is
// audited in the same transaction.
package registry

import (
	"fmt"
	"strings"

	"linli/internal/db"
)

// TagKind is one entry of the service-object tag catalogue.
type TagKind struct {
	Key     string `json:"key"`
	NameZH  string `json:"name_zh"`
	NameEN  string `json:"name_en"`
	Group   string `json:"group"`
	Sort    int    `json:"sort"`
	Builtin bool   `json:"builtin"`
}

// Category is one entry of the facility category catalogue.
type Category struct {
	Key    string `json:"key"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	// Tier is the life-circle tier the category serves (GB 50180-2018):
	// "5min" (居住街坊), "10min", "15min", or "township"/"county" for
	// facilities serving a wider area.
	Tier string `json:"tier"`
	// CapacityKinds lists the capacity measures usual for the category.
	CapacityKinds string `json:"capacity_kinds"`
	Sort          int    `json:"sort"`
	Builtin       bool   `json:"builtin"`
}

// DefaultTags is the built-in tag catalogue; an administrator adds more as data.
var DefaultTags = []TagKind{
	{Key: "elderly_80", NameZH: "高龄(80+)", NameEN: "Aged 80+", Group: "elderly"},
	{Key: "living_alone", NameZH: "独居", NameEN: "Living alone", Group: "elderly"},
	{Key: "empty_nest", NameZH: "空巢", NameEN: "Empty nest", Group: "elderly"},
	{Key: "left_behind_elderly", NameZH: "留守老人", NameEN: "Left-behind elderly", Group: "elderly"},
	{Key: "disabled_full", NameZH: "失能", NameEN: "Fully dependent", Group: "elderly"},
	{Key: "disabled_partial", NameZH: "半失能", NameEN: "Partly dependent", Group: "elderly"},
	{Key: "severe_disability", NameZH: "重残", NameEN: "Severe disability", Group: "elderly"},
	{Key: "family_planning_special", NameZH: "计划生育特殊家庭", NameEN: "Family-planning special family", Group: "elderly"},
	{Key: "orphan", NameZH: "孤儿", NameEN: "Orphan", Group: "children"},
	{Key: "de_facto_unsupported_child", NameZH: "事实无人抚养儿童", NameEN: "De facto unsupported child", Group: "children"},
	{Key: "child_in_difficulty", NameZH: "困境儿童", NameEN: "Child in difficulty", Group: "children"},
	{Key: "left_behind_child", NameZH: "留守儿童", NameEN: "Left-behind child", Group: "children"},
	{Key: "dibao", NameZH: "低保", NameEN: "Minimum living allowance", Group: "assistance"},
	{Key: "dibao_edge", NameZH: "低保边缘", NameEN: "Near minimum allowance", Group: "assistance"},
	{Key: "tekun", NameZH: "特困供养", NameEN: "Extreme poverty support", Group: "assistance"},
	{Key: "expense_hardship", NameZH: "支出型困难", NameEN: "Expense-driven hardship", Group: "assistance"},
	{Key: "disabled_person", NameZH: "残疾人", NameEN: "Person with disability", Group: "disability"},
	{Key: "veteran", NameZH: "退役军人", NameEN: "Veteran", Group: "veterans"},
	{Key: "veteran_hardship", NameZH: "困难退役军人", NameEN: "Veteran in hardship", Group: "veterans"},
	{Key: "zero_employment_family", NameZH: "零就业家庭", NameEN: "Zero-employment family", Group: "employment"},
	{Key: "worker_hardship", NameZH: "困难职工", NameEN: "Worker in hardship", Group: "employment"},
	{Key: "reservoir_migrant", NameZH: "水库移民", NameEN: "Reservoir resettler", Group: "other"},
	{Key: "family_doctor", NameZH: "重点人群家庭医生签约", NameEN: "Family-doctor contract (priority group)", Group: "health"},
}

// DefaultCategories is the built-in facility catalogue (the plan and the
// GB 50180-2018 life-circle tiers).
var DefaultCategories = []Category{
	{"party_service_center", "党群服务中心", "Party-mass service centre", "15min", "", 0, true},
	{"community_service_facility", "社区综合服务设施", "Community service facility", "5min", "", 0, true},
	{"urban_service_complex", "城市社区服务综合体", "Urban community service complex", "15min", "", 0, true},
	{"residents_lounge", "居民会客厅", "Residents' lounge", "5min", "", 0, true},
	{"home_care_center", "居家养老服务照料中心", "Home-based elderly care centre", "10min", "beds,meals_per_day", 0, true},
	{"elderly_day_care", "老年人日间照料中心", "Elderly day-care centre", "10min", "places", 0, true},
	{"elderly_canteen", "老年食堂/助餐点", "Elderly canteen / meal point", "5min", "meals_per_day,seats", 0, true},
	{"nursing_home", "养老机构", "Nursing home", "county", "beds", 0, true},
	{"care_alliance", "康养联合体", "Health-and-care alliance", "county", "beds", 0, true},
	{"childcare", "托育机构", "Childcare centre", "10min", "childcare_places", 0, true},
	{"kindergarten", "幼儿园", "Kindergarten", "5min", "places", 0, true},
	{"primary_school", "小学", "Primary school", "10min", "places", 0, true},
	{"middle_school", "初中", "Junior middle school", "15min", "places", 0, true},
	{"health_center", "社区卫生服务中心", "Community health centre", "15min", "beds", 0, true},
	{"health_station", "社区卫生服务站/村卫生室", "Health station / village clinic", "5min", "", 0, true},
	{"culture_hall", "文化家园/农村文化礼堂", "Culture home / rural culture hall", "10min", "seats", 0, true},
	{"city_study", "城市书房/文化驿站", "City study / culture post", "10min", "seats", 0, true},
	{"fitness", "百姓健身房/体育场地", "Public gym / sports ground", "10min", "", 0, true},
	{"community_school", "社区学校(老年学堂)", "Community school (elders' school)", "15min", "places", 0, true},
	{"volunteer_station", "志愿服务站点", "Volunteer station", "5min", "", 0, true},
	{"micro_fire_station", "微型消防站", "Micro fire station", "5min", "", 0, true},
	{"emergency_shelter", "应急避难场所", "Emergency shelter", "15min", "people", 0, true},
	{"police_room", "警务室", "Community police room", "10min", "", 0, true},
	{"mediation_room", "人民调解室", "People's mediation room", "10min", "", 0, true},
	{"market", "菜市场/生鲜超市", "Food market / fresh grocery", "10min", "", 0, true},
	{"convenience_store", "便利店/超市", "Convenience store / supermarket", "5min", "", 0, true},
	{"parcel_point", "快递点", "Parcel point", "5min", "", 0, true},
	{"bus_stop", "公交站", "Bus stop", "5min", "", 0, true},
	{"gov_kiosk", "农村政务自助服务一体机", "Rural e-government kiosk", "5min", "", 0, true},
}

func sqlStr(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func seedSQL() string {
	var b strings.Builder
	b.WriteString("INSERT INTO reg_tag_kinds (key, name_zh, name_en, grp, sort, builtin) VALUES\n")
	for i, t := range DefaultTags {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "(%s, %s, %s, %s, %d, TRUE)", sqlStr(t.Key), sqlStr(t.NameZH), sqlStr(t.NameEN), sqlStr(t.Group), (i+1)*10)
	}
	b.WriteString(";\nINSERT INTO reg_facility_categories (key, name_zh, name_en, tier, capacity_kinds, sort, builtin) VALUES\n")
	for i, c := range DefaultCategories {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "(%s, %s, %s, %s, %s, %d, TRUE)", sqlStr(c.Key), sqlStr(c.NameZH), sqlStr(c.NameEN), sqlStr(c.Tier), sqlStr(c.CapacityKinds), (i+1)*10)
	}
	b.WriteString(";\n")
	return b.String()
}

const schemaSQL = `
CREATE TABLE reg_tag_kinds (
	key TEXT PRIMARY KEY,
	name_zh TEXT NOT NULL,
	name_en TEXT NOT NULL,
	grp TEXT NOT NULL,
	sort INTEGER NOT NULL,
	builtin BOOLEAN NOT NULL
);
CREATE TABLE reg_facility_categories (
	key TEXT PRIMARY KEY,
	name_zh TEXT NOT NULL,
	name_en TEXT NOT NULL,
	tier TEXT NOT NULL,
	capacity_kinds TEXT NOT NULL,
	sort INTEGER NOT NULL,
	builtin BOOLEAN NOT NULL
);
CREATE TABLE reg_grids (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	code TEXT NOT NULL,
	name TEXT NOT NULL,
	note TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	UNIQUE (division_code, code)
);
CREATE TABLE reg_grid_workers (
	grid_id TEXT NOT NULL REFERENCES reg_grids(id) ON DELETE CASCADE,
	division_code TEXT NOT NULL,
	username TEXT NOT NULL,
	PRIMARY KEY (grid_id, username)
);
CREATE INDEX reg_grid_workers_user ON reg_grid_workers (username);
CREATE TABLE reg_households (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	household_no TEXT NOT NULL,
	grid_id TEXT REFERENCES reg_grids(id) ON DELETE SET NULL,
	address TEXT NOT NULL,
	note TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	UNIQUE (division_code, household_no)
);
CREATE INDEX reg_households_grid ON reg_households (grid_id);
CREATE TABLE reg_residents (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	household_id TEXT NOT NULL REFERENCES reg_households(id),
	name TEXT NOT NULL,
	gender TEXT NOT NULL,
	birth_date TEXT NOT NULL,
	relation TEXT NOT NULL,
	residence TEXT NOT NULL,
	id_enc TEXT NOT NULL,
	id_idx TEXT NOT NULL UNIQUE,
	id_mask TEXT NOT NULL,
	phone_enc TEXT NOT NULL,
	phone_idx TEXT NOT NULL,
	phone_mask TEXT NOT NULL,
	health_enc TEXT NOT NULL,
	disability_enc TEXT NOT NULL,
	income_enc TEXT NOT NULL,
	username TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX reg_residents_div_name ON reg_residents (division_code, name);
CREATE INDEX reg_residents_name ON reg_residents (name, division_code);
CREATE INDEX reg_residents_household ON reg_residents (household_id);
CREATE INDEX reg_residents_phone ON reg_residents (phone_idx);
CREATE TABLE reg_resident_tags (
	id TEXT PRIMARY KEY,
	resident_id TEXT NOT NULL REFERENCES reg_residents(id) ON DELETE CASCADE,
	division_code TEXT NOT NULL,
	tag TEXT NOT NULL REFERENCES reg_tag_kinds(key),
	since_date TEXT NOT NULL,
	until_date TEXT NOT NULL,
	source TEXT NOT NULL,
	note TEXT NOT NULL,
	detail TEXT NOT NULL,
	active BOOLEAN NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	UNIQUE (resident_id, tag, since_date)
);
CREATE INDEX reg_resident_tags_tag ON reg_resident_tags (tag, division_code);
CREATE INDEX reg_resident_tags_expiry ON reg_resident_tags (active, until_date);
CREATE TABLE reg_tag_counts (
	division_code TEXT NOT NULL,
	lvl INTEGER NOT NULL,
	tag TEXT NOT NULL,
	n BIGINT NOT NULL,
	PRIMARY KEY (division_code, tag)
);
CREATE INDEX reg_tag_counts_lvl ON reg_tag_counts (lvl, division_code);
CREATE TABLE reg_organizations (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	kind TEXT NOT NULL,
	name TEXT NOT NULL,
	reg_no TEXT,
	org_type TEXT NOT NULL,
	rating TEXT NOT NULL,
	reg_level TEXT NOT NULL,
	party_share DOUBLE PRECISION,
	address TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX reg_organizations_regno ON reg_organizations (reg_no);
CREATE INDEX reg_organizations_div ON reg_organizations (division_code, name);
CREATE TABLE reg_facilities (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	code TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	category TEXT NOT NULL REFERENCES reg_facility_categories(key),
	address TEXT NOT NULL,
	lon DOUBLE PRECISION NOT NULL,
	lat DOUBLE PRECISION NOT NULL,
	floor_area DOUBLE PRECISION NOT NULL,
	capacities TEXT NOT NULL,
	opening_hours TEXT NOT NULL,
	operator_id TEXT,
	status TEXT NOT NULL,
	tier TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX reg_facilities_div ON reg_facilities (division_code, category);
CREATE INDEX reg_facilities_cat ON reg_facilities (category, division_code);
CREATE INDEX reg_facilities_lat ON reg_facilities (lat, lon);
CREATE TABLE reg_personnel (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	name TEXT NOT NULL,
	roles TEXT NOT NULL,
	attrs TEXT NOT NULL,
	org_id TEXT,
	username TEXT NOT NULL,
	phone_enc TEXT NOT NULL,
	phone_idx TEXT NOT NULL,
	phone_mask TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX reg_personnel_div ON reg_personnel (division_code, name);
CREATE UNIQUE INDEX reg_personnel_phone ON reg_personnel (division_code, phone_idx) WHERE phone_idx <> '';
`

// Migrations are the registry's schema steps.
var Migrations = []db.Migration{
	{ID: "registry/001_schema", SQL: schemaSQL},
	{ID: "registry/002_catalogues", SQL: seedSQL()},
	// Name search is a prefix range in code-point order whatever the
	// database collation; the index also serves the list's order.
	{ID: "registry/003_name_prefix",
		SQLiteSQL: `CREATE INDEX reg_residents_name_id ON reg_residents (name, division_code, id);
DROP INDEX reg_residents_name;`,
		PostgresSQL: `CREATE INDEX reg_residents_name_c ON reg_residents ((name COLLATE "C"), division_code, id);
CREATE INDEX reg_residents_div_name_c ON reg_residents (division_code, (name COLLATE "C"), id);
DROP INDEX reg_residents_name;
DROP INDEX reg_residents_div_name;`},
	versionsMigration(),
	// Published for other modules: the places the registry knows.
	{ID: "registry/005_published_places", SQL: `CREATE VIEW registry_places AS SELECT division_code, lon, lat FROM reg_facilities;`},
	publishedMigration,
	// The mask shows four digits and the last two (3301**********34): the
	// old one hid only the birth date, which lists showed beside it.
	{ID: "registry/007_id_mask_4_2", SQL: `UPDATE reg_residents SET id_mask = substr(id_mask, 1, 4) || '**********' || substr(id_mask, 17, 2) WHERE length(id_mask) = 18;`},
	// One account, one person. An account linked to several records showed
	// its holder another person's: every such link is undone (a worker
	// links the right record again), then the index holds the rule.
	{ID: "registry/008_one_account_one_person", SQL: `UPDATE reg_residents SET username = '' WHERE username IN
	(SELECT username FROM reg_residents WHERE username <> '' GROUP BY username HAVING COUNT(*) > 1);
CREATE UNIQUE INDEX reg_residents_username ON reg_residents (username) WHERE username <> '';`},
	// Published for other modules: which resident accounts live in a grid
	// worker's grids (a grid worker's share of the requests).
	{ID: "registry/009_published_grid_accounts", SQL: `CREATE VIEW registry_grid_accounts AS
	SELECT gw.username AS grid_worker, r.username AS resident
	FROM reg_grid_workers gw JOIN reg_households h ON h.grid_id = gw.grid_id JOIN reg_residents r ON r.household_id = h.id
	WHERE r.username <> '';`},
	exportJobsMigration,
	// The resident list runs in (division, name, id) order over a division
	// range: one index serves the range, the order and the page's cursor,
	// for a community and a county alike (PostgreSQL has had it since 003).
	// The expiry index holds only the tags that can expire: on (active,
	// until_date) it also matched "active = TRUE", and the planners probed
	// a resident's tags through it — every active tag per resident — where
	// the (resident_id, tag, since_date) key reads one.
	{ID: "registry/011_list_keys",
		SQLiteSQL: `CREATE INDEX reg_residents_div_name_id ON reg_residents (division_code, name, id);
DROP INDEX reg_residents_div_name;
DROP INDEX reg_resident_tags_expiry;
CREATE INDEX reg_resident_tags_due ON reg_resident_tags (until_date) WHERE active = TRUE AND until_date > '';`,
		PostgresSQL: `DROP INDEX reg_resident_tags_expiry;
CREATE INDEX reg_resident_tags_due ON reg_resident_tags (until_date) WHERE active = TRUE AND until_date > '';`},
	// Facilities, organisations and personnel page by their sort key
	// (scoped.go): one index each serves the scope's range, the order and
	// the cursor, and one led by the category serves a filtered list (the
	// filter fixes it, the rest is the same order). An organisation's
	// counts are grouped reads of the operator_id and org_id indexes.
	{ID: "registry/012_list_indexes", SQL: `CREATE INDEX reg_facilities_div_key ON reg_facilities (division_code, category, name, id);
CREATE INDEX reg_facilities_cat_key ON reg_facilities (category, division_code, name, id);
DROP INDEX reg_facilities_div;
DROP INDEX reg_facilities_cat;
CREATE INDEX reg_facilities_operator ON reg_facilities (operator_id);
CREATE INDEX reg_organizations_div_key ON reg_organizations (division_code, name, id);
CREATE INDEX reg_organizations_kind_key ON reg_organizations (kind, division_code, name, id);
DROP INDEX reg_organizations_div;
CREATE INDEX reg_personnel_div_key ON reg_personnel (division_code, name, id);
DROP INDEX reg_personnel_div;
CREATE INDEX reg_personnel_org ON reg_personnel (org_id);`},
	// The facility map reads a county's points (category and place) in the
	// list's division order: these cover that read, with or without the
	// category filter, so that no row is looked up in the table. The life
	// circles ask on every view whether a county's facilities changed (how
	// many, and the latest change, through registry_facilities): the last
	// covers that.
	{ID: "registry/013_facility_map", SQL: `CREATE INDEX reg_facilities_div_map ON reg_facilities (division_code, category, lon, lat);
CREATE INDEX reg_facilities_cat_map ON reg_facilities (category, division_code, lon, lat);
CREATE INDEX reg_facilities_div_updated ON reg_facilities (division_code, updated_at);`},
	emergencyMigration,
	// A division's residents by birth date: the aged 80 or more whom a
	// warning targets and the emergency helpers list shows are found in
	// this narrow index, not by reading each of a community's wide rows.
	{ID: "registry/015_residents_by_birth", SQL: `CREATE INDEX reg_residents_div_birth ON reg_residents (division_code, birth_date, id);`},
	careMigration,
	birthMigration,
	tagKindsMigration,
	ratingsMigration,
}
