package audit

import "linli/internal/db"

const table = `CREATE TABLE audit_log (
	seq BIGINT PRIMARY KEY,
	at TIMESTAMPTZ NOT NULL,
	actor_id TEXT NOT NULL,
	actor TEXT NOT NULL,
	role TEXT NOT NULL,
	ip TEXT NOT NULL,
	action TEXT NOT NULL,
	object TEXT NOT NULL,
	object_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	result TEXT NOT NULL,
	detail TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at);
`

// Migrations create the audit table and make it append-only in the store
// itself: no UPDATE or DELETE passes, whoever issues it.
var Migrations = []db.Migration{{
	ID: "audit/001_log",
	SQLiteSQL: table + `
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
`,
	PostgresSQL: table + `
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
`,
}, {
	// Adding a column fires no UPDATE trigger; entries written before it
	// keep an empty MAC, which the checkpoints' legacy mark lets through.
	ID:  "audit/002_mac",
	SQL: `ALTER TABLE audit_log ADD COLUMN mac TEXT NOT NULL DEFAULT ''`,
}}
