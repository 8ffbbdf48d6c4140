package deliberation

import "linli/internal/db"

// The deliberation module reads the registry's households and residents
// (reg_households, reg_residents) to know who lives in a topic's affected
// area and which household an account belongs to, and writes only its own
// dlb_* tables. It must come after the registry in the app's module list.

const schemaSQL = `
CREATE TABLE dlb_councils (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	name TEXT NOT NULL,
	level TEXT NOT NULL,
	quorum_pm INTEGER NOT NULL,
	majority TEXT NOT NULL,
	cosign_threshold INTEGER NOT NULL,
	cosign_days INTEGER NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX dlb_councils_div ON dlb_councils (division_code, id);
CREATE TABLE dlb_members (
	id TEXT PRIMARY KEY,
	council_id TEXT NOT NULL REFERENCES dlb_councils(id),
	name TEXT NOT NULL,
	role TEXT NOT NULL,
	username TEXT NOT NULL DEFAULT '',
	term_from TEXT NOT NULL,
	term_until TEXT NOT NULL
);
CREATE INDEX dlb_members_council ON dlb_members (council_id, id);
CREATE TABLE dlb_topics (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	council_id TEXT NOT NULL REFERENCES dlb_councils(id),
	title TEXT NOT NULL,
	description TEXT NOT NULL,
	origin TEXT NOT NULL,
	raised_by TEXT NOT NULL,
	household_id TEXT NOT NULL DEFAULT '',
	area_kind TEXT NOT NULL,
	area_ref TEXT NOT NULL,
	status TEXT NOT NULL,
	reason TEXT NOT NULL DEFAULT '',
	cosign_needed INTEGER NOT NULL,
	cosign_until TIMESTAMPTZ,
	cosigns INTEGER NOT NULL DEFAULT 0,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX dlb_topics_div ON dlb_topics (division_code, id);
CREATE INDEX dlb_topics_status ON dlb_topics (division_code, status, id);
CREATE TABLE dlb_cosigns (
	topic_id TEXT NOT NULL REFERENCES dlb_topics(id),
	household_id TEXT NOT NULL,
	signed_by TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (topic_id, household_id)
);
CREATE TABLE dlb_topic_events (
	topic_id TEXT NOT NULL REFERENCES dlb_topics(id),
	seq INTEGER NOT NULL,
	action TEXT NOT NULL,
	from_status TEXT NOT NULL,
	to_status TEXT NOT NULL,
	actor TEXT NOT NULL,
	note TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (topic_id, seq)
);
CREATE TABLE dlb_meetings (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	council_id TEXT NOT NULL REFERENCES dlb_councils(id),
	title TEXT NOT NULL,
	place TEXT NOT NULL,
	starts_at TIMESTAMPTZ NOT NULL,
	minutes TEXT NOT NULL DEFAULT '',
	summary TEXT NOT NULL DEFAULT '',
	minutes_by TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX dlb_meetings_div ON dlb_meetings (division_code, starts_at, id);
CREATE TABLE dlb_agenda (
	meeting_id TEXT NOT NULL REFERENCES dlb_meetings(id),
	topic_id TEXT NOT NULL REFERENCES dlb_topics(id),
	position INTEGER NOT NULL,
	PRIMARY KEY (meeting_id, topic_id)
);
CREATE TABLE dlb_attendance (
	meeting_id TEXT NOT NULL REFERENCES dlb_meetings(id),
	member_id TEXT NOT NULL REFERENCES dlb_members(id),
	present BOOLEAN NOT NULL,
	PRIMARY KEY (meeting_id, member_id)
);
CREATE TABLE dlb_votes (
	id TEXT PRIMARY KEY,
	topic_id TEXT NOT NULL REFERENCES dlb_topics(id),
	division_code TEXT NOT NULL,
	electorate TEXT NOT NULL,
	secret BOOLEAN NOT NULL,
	options TEXT NOT NULL,
	opens_at TIMESTAMPTZ NOT NULL,
	closes_at TIMESTAMPTZ NOT NULL,
	quorum_pm INTEGER NOT NULL,
	majority TEXT NOT NULL,
	electorate_size INTEGER NOT NULL,
	result TEXT NOT NULL DEFAULT '',
	counted_at TIMESTAMPTZ,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX dlb_votes_topic ON dlb_votes (topic_id);
CREATE INDEX dlb_votes_div ON dlb_votes (division_code, id);
CREATE TABLE dlb_voters (
	vote_id TEXT NOT NULL REFERENCES dlb_votes(id),
	voter TEXT NOT NULL,
	proxy_name TEXT NOT NULL DEFAULT '',
	proxy_consent BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (vote_id, voter)
);
CREATE TABLE dlb_ballots (
	vote_id TEXT NOT NULL REFERENCES dlb_votes(id),
	seq INTEGER NOT NULL,
	choice TEXT NOT NULL,
	voter TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL,
	PRIMARY KEY (vote_id, seq)
);
CREATE TABLE dlb_decisions (
	id TEXT PRIMARY KEY,
	topic_id TEXT NOT NULL REFERENCES dlb_topics(id),
	vote_id TEXT NOT NULL DEFAULT '',
	division_code TEXT NOT NULL,
	text TEXT NOT NULL,
	decided_by TEXT NOT NULL,
	owner TEXT NOT NULL,
	plan TEXT NOT NULL,
	progress INTEGER NOT NULL DEFAULT 0,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX dlb_decisions_div ON dlb_decisions (division_code, created_at, id);
CREATE UNIQUE INDEX dlb_decisions_topic ON dlb_decisions (topic_id);
CREATE TABLE dlb_progress (
	decision_id TEXT NOT NULL REFERENCES dlb_decisions(id),
	seq INTEGER NOT NULL,
	percent INTEGER NOT NULL,
	note TEXT NOT NULL,
	actor TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (decision_id, seq)
);
`

func migrations() []db.Migration {
	return []db.Migration{
		{ID: "deliberation/001_schema", SQL: schemaSQL},
		// A secret vote's ballots wait in a sealed box under random
		// tokens until the count: the chain is built then, in the
		// tokens' order, so that no ballot's place in it follows the order
		// in which the households cast (which the audit log records).
		// SQLite keeps a WITHOUT ROWID table in key order, not in the
		// order rows arrived.
		{ID: "deliberation/002_sealed_box",
			SQLiteSQL:   sealedBoxSQL + " WITHOUT ROWID;",
			PostgresSQL: sealedBoxSQL + ";"},
		{ID: "deliberation/003_comments", SQL: commentsSQL},
		{ID: "deliberation/004_notices", SQL: noticesSQL},
		{ID: "deliberation/006_merge", SQL: mergeSQL},
		{ID: "deliberation/007_meeting_registrations", SQL: registrationsSQL},
		{ID: "deliberation/008_minute_entries", SQL: minuteEntriesSQL},
		{ID: "deliberation/009_milestones_ratings", SQL: milestonesSQL},
		{ID: "deliberation/010_sources", SQL: sourcesSQL},
		filesMigration,
	}
}

const sealedBoxSQL = `CREATE TABLE dlb_box (
	vote_id TEXT NOT NULL REFERENCES dlb_votes(id),
	token TEXT NOT NULL,
	choice TEXT NOT NULL,
	PRIMARY KEY (vote_id, token)
)`

// Comments, household supports, reports and each community's sensitive
// words (online deliberation). A topic's comments are read in id order.
const commentsSQL = `
CREATE TABLE dlb_comments (
	id TEXT PRIMARY KEY,
	topic_id TEXT NOT NULL REFERENCES dlb_topics(id),
	division_code TEXT NOT NULL,
	parent_id TEXT NOT NULL DEFAULT '',
	author TEXT NOT NULL,
	author_kind TEXT NOT NULL,
	household_id TEXT NOT NULL DEFAULT '',
	body TEXT NOT NULL,
	state TEXT NOT NULL,
	reason TEXT NOT NULL DEFAULT '',
	moderated_by TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX dlb_comments_topic ON dlb_comments (topic_id, parent_id, id);
CREATE INDEX dlb_comments_parent ON dlb_comments (parent_id, id);
CREATE INDEX dlb_comments_queue ON dlb_comments (division_code, state, id);
CREATE TABLE dlb_comment_reports (
	comment_id TEXT NOT NULL REFERENCES dlb_comments(id),
	reporter TEXT NOT NULL,
	reason TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (comment_id, reporter)
);
CREATE TABLE dlb_supports (
	topic_id TEXT NOT NULL REFERENCES dlb_topics(id),
	household_id TEXT NOT NULL,
	supported_by TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (topic_id, household_id)
);
CREATE TABLE dlb_words (
	division_code TEXT NOT NULL,
	word TEXT NOT NULL,
	PRIMARY KEY (division_code, word)
);
`

// The 村(居)务公开 board: notices with publication windows (dates in
// China; an open end is 9999-12-31 so that the current notices are one
// range on the board index), a financial statement's lines in fen, and
// households' acknowledgements.
const noticesSQL = `
CREATE TABLE dlb_notices (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	category TEXT NOT NULL,
	title TEXT NOT NULL,
	body TEXT NOT NULL,
	publish_from TEXT NOT NULL,
	publish_until TEXT NOT NULL,
	ack_required BOOLEAN NOT NULL,
	period TEXT NOT NULL DEFAULT '',
	total BIGINT NOT NULL DEFAULT 0,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX dlb_notices_board ON dlb_notices (division_code, id, publish_until, publish_from);
CREATE TABLE dlb_notice_lines (
	notice_id TEXT NOT NULL REFERENCES dlb_notices(id),
	seq INTEGER NOT NULL,
	kind TEXT NOT NULL,
	item TEXT NOT NULL,
	amount BIGINT NOT NULL,
	PRIMARY KEY (notice_id, seq)
);
CREATE TABLE dlb_notice_acks (
	notice_id TEXT NOT NULL REFERENCES dlb_notices(id),
	household_id TEXT NOT NULL,
	acked_by TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (notice_id, household_id)
);
`
