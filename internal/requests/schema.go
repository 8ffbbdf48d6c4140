// Package requests is 民呼我为: the closed loop of resident requests —
// intake (web, worker on behalf of a caller, JSON API, Open311 GeoReport v2),
// dispatch by category and location, a checked lifecycle with a timeline of
// events, response and resolution deadlines with a background SLA job that
// warns, marks overdue and escalates, a worker inbox, and metrics.
package requests

import (
	"fmt"
	"strings"

	"linli/internal/db"
)

// Migrations are the schema steps of the requests capability.
var Migrations = []db.Migration{
	{ID: "requests/001_schema", SQL: `
CREATE TABLE request_categories (
	code TEXT PRIMARY KEY,
	grp TEXT NOT NULL,
	name_zh TEXT NOT NULL,
	name_en TEXT NOT NULL,
	description_zh TEXT NOT NULL,
	description_en TEXT NOT NULL,
	unit_level INTEGER NOT NULL,
	response_hours INTEGER NOT NULL,
	resolve_hours INTEGER NOT NULL,
	working_hours BOOLEAN NOT NULL,
	public BOOLEAN NOT NULL,
	attributes TEXT NOT NULL,
	templates TEXT NOT NULL,
	sort INTEGER NOT NULL,
	active BOOLEAN NOT NULL
);
CREATE TABLE requests (
	id TEXT PRIMARY KEY,
	number TEXT NOT NULL UNIQUE,
	division_code TEXT NOT NULL,
	unit_code TEXT NOT NULL,
	unit_name TEXT NOT NULL,
	category TEXT NOT NULL,
	status TEXT NOT NULL,
	version INTEGER NOT NULL,
	channel TEXT NOT NULL,
	description TEXT NOT NULL,
	address TEXT NOT NULL,
	lon DOUBLE PRECISION,
	lat DOUBLE PRECISION,
	attributes TEXT NOT NULL,
	reporter_id TEXT NOT NULL,
	reporter_name TEXT NOT NULL,
	reporter_phone TEXT NOT NULL,
	reporter_email TEXT NOT NULL,
	reporter_phone_idx TEXT NOT NULL,
	source_key TEXT NOT NULL,
	token TEXT NOT NULL,
	assignee TEXT NOT NULL,
	merged_into TEXT NOT NULL,
	reply TEXT NOT NULL,
	reason TEXT NOT NULL,
	rating TEXT NOT NULL,
	rating_comment TEXT NOT NULL,
	reopen_count INTEGER NOT NULL,
	return_count INTEGER NOT NULL,
	escalation_level INTEGER NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	accepted_at TIMESTAMPTZ,
	answered_at TIMESTAMPTZ,
	closed_at TIMESTAMPTZ,
	response_due TIMESTAMPTZ NOT NULL,
	resolve_due TIMESTAMPTZ NOT NULL,
	response_met BOOLEAN,
	resolve_met BOOLEAN,
	response_stage INTEGER NOT NULL,
	resolve_stage INTEGER NOT NULL
);
CREATE INDEX requests_scope ON requests (division_code, status, created_at);
CREATE INDEX requests_reporter ON requests (reporter_id, created_at);
CREATE INDEX requests_due ON requests (status, resolve_due);
CREATE INDEX requests_created ON requests (created_at);
CREATE TABLE request_events (
	id TEXT PRIMARY KEY,
	request_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	seq INTEGER NOT NULL,
	action TEXT NOT NULL,
	from_status TEXT NOT NULL,
	to_status TEXT NOT NULL,
	unit_code TEXT NOT NULL,
	actor_id TEXT NOT NULL,
	actor TEXT NOT NULL,
	role TEXT NOT NULL,
	note TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL,
	UNIQUE (request_id, seq)
);
CREATE INDEX request_events_at ON request_events (division_code, action, at);
CREATE TABLE request_counters (
	county TEXT NOT NULL,
	day TEXT NOT NULL,
	n BIGINT NOT NULL,
	PRIMARY KEY (county, day)
);
CREATE TABLE request_sla_marks (
	request_id TEXT NOT NULL,
	mark TEXT NOT NULL,
	division_code TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (request_id, mark)
);
CREATE TABLE request_notices (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	unit_code TEXT NOT NULL,
	request_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	text_zh TEXT NOT NULL,
	text_en TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	read_at TIMESTAMPTZ
);
CREATE INDEX request_notices_unit ON request_notices (unit_code, created_at);
CREATE TABLE request_attachments (
	id TEXT PRIMARY KEY,
	request_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size INTEGER NOT NULL,
	data BLOB NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX request_attachments_req ON request_attachments (request_id);
CREATE TABLE open311_keys (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	division_code TEXT NOT NULL,
	key_hash TEXT NOT NULL UNIQUE,
	created_at TIMESTAMPTZ NOT NULL,
	revoked_at TIMESTAMPTZ
);
`},
	{ID: "requests/002_catalogue", SQL: catalogueSQL()},
	// Free text is stored masked, its original sealed beside it when the
	// detector found personal data; rows written before are checked by the
	// backlog job (pii_checked). media_url is the GeoReport media link.
	{ID: "requests/003_private_text", SQL: `
ALTER TABLE requests ADD COLUMN description_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN address_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN reply_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN reason_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN comment_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN personal BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE requests ADD COLUMN cleared_at TIMESTAMPTZ;
ALTER TABLE requests ADD COLUMN pii_checked BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE requests ADD COLUMN media_url TEXT NOT NULL DEFAULT '';
ALTER TABLE request_events ADD COLUMN note_sealed TEXT NOT NULL DEFAULT '';
CREATE INDEX requests_unchecked ON requests (created_at) WHERE NOT pii_checked;
`},
	// A photo's thumbnail is made on its first view and kept beside it.
	{ID: "requests/004_photo_thumbs", SQL: `ALTER TABLE request_attachments ADD COLUMN thumb BLOB;`},
	// The metrics page counts a window of requests by day, state, category
	// and community: two indexes hold every column it reads, one for a
	// county's (or wider) window, time first, and one for a community's or
	// street's, division first. PostgreSQL keeps the counted columns out of
	// the key (INCLUDE); SQLite has no INCLUDE, so they close the key. The
	// time-first index also serves what requests_created did, which goes:
	// a narrower copy of it drew the planner away from the covering one.
	// On PostgreSQL, created_day is the day in China a request came in,
	// kept by the store itself: its statistics then know how many days
	// there are (grouped by an expression of created_at, it expects a
	// group per request and sorts on disk instead of hashing). SQLite
	// always groups with a sorter, and reads an expression's value from an
	// index only by computing it from the row: it groups by the expression.
	{ID: "requests/005_metrics_window",
		SQLiteSQL: `
CREATE INDEX requests_window_time ON requests (created_at, division_code, status, category, accepted_at, response_met, answered_at, resolve_met, rating, reopen_count);
CREATE INDEX requests_window_div ON requests (division_code, created_at, status, category, accepted_at, response_met, answered_at, resolve_met, rating, reopen_count);
DROP INDEX requests_created;
`,
		PostgresSQL: `
ALTER TABLE requests ADD COLUMN created_day DATE GENERATED ALWAYS AS (CAST(timezone('Asia/Shanghai', created_at) AS DATE)) STORED;
CREATE INDEX requests_window_time ON requests (created_at, division_code) INCLUDE (created_day, status, category, accepted_at, response_met, answered_at, resolve_met, rating, reopen_count);
CREATE INDEX requests_window_div ON requests (division_code, created_at) INCLUDE (created_day, status, category, accepted_at, response_met, answered_at, resolve_met, rating, reopen_count);
DROP INDEX requests_created;
`},
	// A request raised from something else names it (visit:<id>: a care
	// visit's finding), so each links to the other.
	{ID: "requests/006_ref", SQL: `ALTER TABLE requests ADD COLUMN ref TEXT NOT NULL DEFAULT '';
CREATE INDEX requests_ref ON requests (ref) WHERE ref <> '';`},
	// The metrics page's figures kept per area and day by triggers, filled
	// once from the requests already stored (see daily.go).
	dailyMigration("requests/007_daily"),
	// The 工作台's partial indexes of open requests (work.go).
	workMigration,
	photoSealMigration,
	hazardReportsMigration,
}

// hazardReportsMigration publishes, for the emergency module's hazard
// register (隐患台账), the requests that report a hazard — fire (消防隐患)
// and public security (治安隐患) — still standing (not merged into
// another or rejected): where, what (the masked text) and when, never who
// reported it.
var hazardReportsMigration = db.Migration{ID: "requests/010_hazard_reports", SQL: `
CREATE VIEW requests_hazard_reports AS
	SELECT id, number, division_code, category, status, description, address, created_at FROM requests
	WHERE category IN ('fire', 'security') AND status NOT IN ('merged', 'rejected');
`}

// catalogueSQL seeds the service catalogue from Catalogue; later edits are
// data changes, not code changes.
func catalogueSQL() string {
	var b strings.Builder
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	bl := func(v bool) string {
		if v {
			return "TRUE"
		}
		return "FALSE"
	}
	for i, c := range Catalogue {
		fmt.Fprintf(&b, "INSERT INTO request_categories (code, grp, name_zh, name_en, description_zh, description_en, unit_level, response_hours, resolve_hours, working_hours, public, attributes, templates, sort, active) VALUES (%s, %s, %s, %s, %s, %s, %d, %d, %d, %s, %s, %s, %s, %d, TRUE);\n",
			q(c.Code), q(c.Group), q(c.NameZH), q(c.NameEN), q(c.DescZH), q(c.DescEN), c.UnitLevel, c.ResponseHours, c.ResolveHours, bl(c.WorkingHours), bl(c.Public), q(mustJSON(c.Attributes)), q(mustJSON(c.Templates)), (i+1)*10)
	}
	return b.String()
}
