package projects

import "linli/internal/db"

// The projects module reads organisations with their ratings through the
// registry's registry_organization_ratings, which organisation a provider
// account acts for through care's care_provider_accounts, and counts
// targets from visits' visits_published_home_visits and volunteers'
// volunteers_published_activities; it writes only its proj_* tables. Money is integer fen; dates are
// "YYYY-MM-DD" in China.

const schemaSQL = `
CREATE TABLE proj_projects (
	id TEXT PRIMARY KEY,
	county TEXT NOT NULL,
	division_code TEXT NOT NULL,
	title TEXT NOT NULL,
	need TEXT NOT NULL,
	budget_fen BIGINT NOT NULL,
	period_from TEXT NOT NULL,
	period_to TEXT NOT NULL,
	targets TEXT NOT NULL,
	min_rating TEXT NOT NULL,
	deadline TEXT NOT NULL,
	status TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX proj_projects_div ON proj_projects (division_code, created_at, id);
CREATE INDEX proj_projects_county ON proj_projects (county, created_at, id);
CREATE TABLE proj_criteria (
	project_id TEXT NOT NULL REFERENCES proj_projects(id),
	seq INTEGER NOT NULL,
	name TEXT NOT NULL,
	weight INTEGER NOT NULL,
	PRIMARY KEY (project_id, seq)
);
CREATE TABLE proj_applications (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL REFERENCES proj_projects(id),
	org_id TEXT NOT NULL,
	org_name TEXT NOT NULL,
	rating TEXT NOT NULL,
	proposal TEXT NOT NULL,
	budget_fen BIGINT NOT NULL,
	status TEXT NOT NULL,
	total INTEGER NOT NULL,
	scored_by TEXT NOT NULL,
	applied_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	UNIQUE (project_id, org_id)
);
CREATE INDEX proj_applications_org ON proj_applications (org_id, created_at);
CREATE TABLE proj_scores (
	application_id TEXT NOT NULL REFERENCES proj_applications(id),
	seq INTEGER NOT NULL,
	score INTEGER NOT NULL,
	PRIMARY KEY (application_id, seq)
);
CREATE TABLE proj_contracts (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL UNIQUE REFERENCES proj_projects(id),
	application_id TEXT NOT NULL REFERENCES proj_applications(id),
	org_id TEXT NOT NULL,
	org_name TEXT NOT NULL,
	amount_fen BIGINT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX proj_contracts_org ON proj_contracts (org_id, created_at);
CREATE TABLE proj_milestones (
	id TEXT PRIMARY KEY,
	contract_id TEXT NOT NULL REFERENCES proj_contracts(id),
	project_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	title TEXT NOT NULL,
	amount_fen BIGINT NOT NULL,
	due_on TEXT NOT NULL,
	status TEXT NOT NULL,
	report TEXT NOT NULL,
	return_reason TEXT NOT NULL,
	paid_ref TEXT NOT NULL,
	reported_by TEXT NOT NULL,
	decided_by TEXT NOT NULL,
	paid_by TEXT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	UNIQUE (contract_id, seq)
);
`

var migrations = []db.Migration{
	{ID: "projects/001_schema", SQL: schemaSQL},
	// The 工作台 reads reports waiting for review and projects closed for
	// applications by status.
	{ID: "projects/002_work_indexes", SQL: `CREATE INDEX proj_milestones_status ON proj_milestones (status, due_on, id);
CREATE INDEX proj_projects_status ON proj_projects (status, deadline, id);`},
	{ID: "projects/003_panel_scores", SQL: panelScoresSQL},
	// A completed project's final evaluation (one per project), kept with
	// the contracted organisation so its record reads by organisation.
	{ID: "projects/004_evaluations", SQL: `CREATE TABLE proj_evaluations (
	project_id TEXT PRIMARY KEY REFERENCES proj_projects(id),
	org_id TEXT NOT NULL,
	org_name TEXT NOT NULL,
	score_x100 INTEGER NOT NULL,
	grade TEXT NOT NULL,
	scores TEXT NOT NULL,
	comment TEXT NOT NULL,
	evaluated_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX proj_evaluations_org ON proj_evaluations (org_id, created_at);`},
	// 公益创投 rounds run the same flow as purchased services with a small-
	// grant cap; projects published before are purchases.
	{ID: "projects/005_kinds", SQL: `ALTER TABLE proj_projects ADD COLUMN kind TEXT NOT NULL DEFAULT 'purchase';`},
	// Targets of the kinds Linli records, with their goals, counted from
	// the visits' and volunteers' published views.
	{ID: "projects/006_counted_targets", SQL: `CREATE TABLE proj_counted_targets (
	project_id TEXT NOT NULL REFERENCES proj_projects(id),
	kind TEXT NOT NULL,
	goal INTEGER NOT NULL,
	PRIMARY KEY (project_id, kind)
);`},
}

// A panel of officers scores each application: one score set per scorer,
// kept by scorer so that one changing theirs replaces only theirs. The
// application keeps the panel's average weighted total and its size, so
// the board sorts by it without reading every score. The single scores
// of 001 move over as their scorer's.
const panelScoresSQL = `
CREATE TABLE proj_panel_scores (
	application_id TEXT NOT NULL REFERENCES proj_applications(id),
	scorer TEXT NOT NULL,
	seq INTEGER NOT NULL,
	score INTEGER NOT NULL,
	PRIMARY KEY (application_id, scorer, seq)
);
INSERT INTO proj_panel_scores (application_id, scorer, seq, score)
SELECT s.application_id, a.scored_by, s.seq, s.score FROM proj_scores s JOIN proj_applications a ON a.id = s.application_id;
DROP TABLE proj_scores;
ALTER TABLE proj_applications ADD COLUMN scorers INTEGER NOT NULL DEFAULT 0;
UPDATE proj_applications SET scorers = 1 WHERE id IN (SELECT application_id FROM proj_panel_scores);
`
