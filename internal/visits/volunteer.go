package visits

import "linli/internal/db"

// volunteerMigration publishes, for the volunteers module's pairs (结对),
// the visit targets and a way to record a visit made by a paired
// volunteer without handing it the table: visits_targets has one row per
// target and month (its first scheduled slot) with the target's next open
// visit that month; visits_volunteer_visits shows visits by number and
// state, and an INSERT into it closes an open visit as done (home, risk
// normal, or attention when the resident needs help, which also raises an
// assistance flag for the community). The trigger refuses a visit that is
// not open, so a visit is closed once whoever records it.
var volunteerMigration = db.Migration{ID: "visits/011_volunteer_visits",
	SQLiteSQL: volunteerViewsSQL + `
CREATE TRIGGER visits_volunteer_record INSTEAD OF INSERT ON visits_volunteer_visits BEGIN
	SELECT RAISE(ABORT, 'visits: the visit is not open') WHERE NOT EXISTS (SELECT 1 FROM vis_visits WHERE id = NEW.visit_id AND status = 'open');
	` + volunteerCloseSQL + `;
	` + volunteerFollowSQL + `
END;
`,
	PostgresSQL: volunteerViewsSQL + `
CREATE FUNCTION visits_volunteer_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	` + volunteerCloseSQL + `;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'visits: the visit is not open';
	END IF;
	` + volunteerFollowSQL + `
	RETURN NEW;
END;
$$;
CREATE TRIGGER visits_volunteer_record INSTEAD OF INSERT ON visits_volunteer_visits FOR EACH ROW EXECUTE FUNCTION visits_volunteer_record();
`}

const volunteerViewsSQL = `
CREATE VIEW visits_targets AS
	SELECT v.programme_id, p.code AS programme, p.name_zh AS programme_zh, p.name_en AS programme_en, v.subject_id AS target_id,
		v.resident_id, v.household_id, v.division_code, v.month, v.status,
		(SELECT MIN(o.due_date) FROM vis_visits o WHERE o.programme_id = v.programme_id AND o.subject_id = v.subject_id AND o.month = v.month AND o.status = 'open') AS next_due
	FROM vis_visits v JOIN vis_programmes p ON p.id = v.programme_id
	WHERE v.origin = 's0';
CREATE VIEW visits_volunteer_visits AS
	SELECT id AS visit_id, programme_id, subject_id AS target_id, month, due_date, status, visited_at, note, recorded_by,
		risk = 'attention' AS needs_help, CAST('' AS TEXT) AS flag_id, updated_at AS recorded_at
	FROM vis_visits;
`

// volunteerCloseSQL closes the visit (only an open one); then a
// resident's request for a visit is answered by it, as by a worker's.
const volunteerCloseSQL = `UPDATE vis_visits SET status = 'done', method = 'home', visited_at = NEW.visited_at, note = NEW.note, recorded_by = NEW.recorded_by,
		risk = CASE WHEN NEW.needs_help THEN 'attention' ELSE 'normal' END, updated_at = NEW.recorded_at
		WHERE id = NEW.visit_id AND status = 'open'`

const volunteerFollowSQL = `UPDATE vis_asks SET visit_id = NEW.visit_id WHERE visit_id IS NULL
		AND EXISTS (SELECT 1 FROM vis_visits v WHERE v.id = NEW.visit_id AND (vis_asks.resident_id = v.resident_id OR vis_asks.household_id = v.household_id));
	INSERT INTO vis_assistance_flags (id, visit_id, resident_id, household_id, division_code, reason, status, created_by, created_at)
		SELECT NEW.flag_id, id, resident_id, household_id, division_code, CASE WHEN NEW.note = '' THEN '结对志愿者探访反映需要帮助 / the paired volunteer reports help is needed' ELSE NEW.note END,
			'open', NEW.recorded_by, NEW.recorded_at
		FROM vis_visits WHERE id = NEW.visit_id AND NEW.needs_help;`
