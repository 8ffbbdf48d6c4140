package deliberation

// A merged topic names the topic it went into; it keeps its own comments,
// co-signs and supports as its record, and copies of the co-signs and
// supports count on the target once per household.
const mergeSQL = `
ALTER TABLE dlb_topics ADD COLUMN merged_into TEXT NOT NULL DEFAULT '';
CREATE INDEX dlb_topics_merged ON dlb_topics (merged_into);
`

// A meeting is held at a place or online (a link or meeting number);
// residents of the council's area register once per resident record, up
// to the capacity (0: no limit). registered counts the registrations so
// that a conditional update refuses the one past the capacity.
const registrationsSQL = `
ALTER TABLE dlb_meetings ADD COLUMN mode TEXT NOT NULL DEFAULT 'place';
ALTER TABLE dlb_meetings ADD COLUMN link TEXT NOT NULL DEFAULT '';
ALTER TABLE dlb_meetings ADD COLUMN capacity INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dlb_meetings ADD COLUMN registered INTEGER NOT NULL DEFAULT 0;
CREATE TABLE dlb_registrations (
	id TEXT PRIMARY KEY,
	meeting_id TEXT NOT NULL REFERENCES dlb_meetings(id),
	resident_id TEXT NOT NULL,
	household_id TEXT NOT NULL,
	username TEXT NOT NULL DEFAULT '',
	present BOOLEAN NOT NULL DEFAULT FALSE,
	at TIMESTAMPTZ NOT NULL,
	UNIQUE (meeting_id, resident_id)
);
`

// Structured minutes: who spoke (a council member, or a resident named
// for the record only), on which agenda topic, for or against, and what
// they said.
const minuteEntriesSQL = `
CREATE TABLE dlb_minute_entries (
	meeting_id TEXT NOT NULL REFERENCES dlb_meetings(id),
	seq INTEGER NOT NULL,
	speaker_kind TEXT NOT NULL,
	member_id TEXT NOT NULL DEFAULT '',
	speaker_name TEXT NOT NULL,
	speaker_role TEXT NOT NULL,
	topic_id TEXT NOT NULL REFERENCES dlb_topics(id),
	position TEXT NOT NULL,
	said TEXT NOT NULL,
	actor TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (meeting_id, seq)
);
`

// An implementation plan's milestones (due dates in China, YYYY-MM-DD)
// and the households' 评价问效 of a finished decision, once each.
const milestonesSQL = `
CREATE TABLE dlb_milestones (
	decision_id TEXT NOT NULL REFERENCES dlb_decisions(id),
	seq INTEGER NOT NULL,
	title TEXT NOT NULL,
	due TEXT NOT NULL,
	done BOOLEAN NOT NULL DEFAULT FALSE,
	done_at TIMESTAMPTZ,
	actor TEXT NOT NULL,
	PRIMARY KEY (decision_id, seq)
);
CREATE TABLE dlb_ratings (
	decision_id TEXT NOT NULL REFERENCES dlb_decisions(id),
	household_id TEXT NOT NULL,
	stars INTEGER NOT NULL,
	comment TEXT NOT NULL DEFAULT '',
	rated_by TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (decision_id, household_id)
);
`
