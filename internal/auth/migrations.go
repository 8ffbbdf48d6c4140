package auth

import "linli/internal/db"

// Migrations of accounts, sessions and tokens.
var Migrations = []db.Migration{migrationAccounts, migrationHardening, migrationPrefs}

var migrationAccounts = db.Migration{
	ID: "auth/001_accounts",
	SQL: `
CREATE TABLE users (
	id TEXT PRIMARY KEY,
	username TEXT NOT NULL UNIQUE,
	display_name TEXT NOT NULL,
	role TEXT NOT NULL,
	division_code TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	must_change_password BOOLEAN NOT NULL,
	totp_secret TEXT NOT NULL,
	totp_enabled BOOLEAN NOT NULL,
	failed_count INTEGER NOT NULL,
	locked_until TIMESTAMPTZ,
	disabled BOOLEAN NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	last_login_at TIMESTAMPTZ
);
CREATE INDEX users_division ON users (division_code);

CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_at TIMESTAMPTZ NOT NULL,
	last_seen_at TIMESTAMPTZ NOT NULL,
	ip TEXT NOT NULL,
	user_agent TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
	id TEXT PRIMARY KEY,
	token_hash TEXT NOT NULL UNIQUE,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	role TEXT NOT NULL,
	division_code TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL,
	revoked_at TIMESTAMPTZ
);

-- Security policy per role, set by the security administrator.
CREATE TABLE role_policies (
	role TEXT PRIMARY KEY,
	require_totp BOOLEAN NOT NULL
);
INSERT INTO role_policies (role, require_totp) VALUES
('resident', FALSE), ('grid_worker', FALSE), ('community_worker', FALSE), ('officer', FALSE),
('provider', FALSE), ('sysadmin', FALSE), ('secadmin', FALSE), ('auditor', FALSE);
`,
}

// migrationHardening (issue 11) counts sign-in attempts by account name and
// by address in one table (unknown names too, so that the answers do not
// tell which accounts exist), remembers the last one-time-code step taken,
// marks accounts awaiting the security administrator's approval, and gives
// tokens a scope. Tokens issued before it keep reading only.
var migrationHardening = db.Migration{
	ID: "auth/002_hardening",
	SQL: `
CREATE TABLE login_throttle (
	key TEXT PRIMARY KEY,
	failures INTEGER NOT NULL,
	last_at TIMESTAMPTZ NOT NULL,
	wait_until TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_throttle_last ON login_throttle (last_at);
ALTER TABLE users DROP COLUMN failed_count;
ALTER TABLE users DROP COLUMN locked_until;
ALTER TABLE users ADD COLUMN totp_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN awaiting_approval BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN requested_by TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'read';
ALTER TABLE api_tokens ADD COLUMN issued_by TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN revoked_by TEXT NOT NULL DEFAULT '';
CREATE INDEX api_tokens_user ON api_tokens (user_id);
`,
}

// migrationPrefs (issue 12) remembers an account's 长辈模式 choice, so that
// it follows the person to another browser: NULL until they choose.
var migrationPrefs = db.Migration{
	ID:  "auth/003_prefs",
	SQL: `ALTER TABLE users ADD COLUMN elder_mode SMALLINT;`,
}
