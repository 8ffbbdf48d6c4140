package projects

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/questions"
)

// Kinds of targets that Linli records and counts by itself.
const (
	TargetHomeVisits          = "home_visits"          // home visits done (visits module)
	TargetVolunteerActivities = "volunteer_activities" // volunteer activities held (volunteers module)
)

// CountedKinds are the counted target kinds, in the form's order.
var CountedKinds = []string{TargetHomeVisits, TargetVolunteerActivities}

// CountedTarget is a target Linli counts: its goal and, read back, the
// count so far within the project's area and period.
type CountedTarget struct {
	Kind  string `json:"kind"` // home_visits or volunteer_activities
	Goal  int    `json:"goal"`
	Count int    `json:"count"` // read only
}

// checkCounted validates the counted targets of a project.
func checkCounted(in []CountedTarget) (*fault.FieldError, []CountedTarget) {
	var out []CountedTarget
	seen := map[string]bool{}
	for i, c := range in {
		if c.Kind != TargetHomeVisits && c.Kind != TargetVolunteerActivities || seen[c.Kind] {
			return bad("counted."+strconv.Itoa(i)+".kind", "自动计数的目标应为入户探访或志愿服务活动，各一项", "a counted target is home visits or volunteer activities, once each"), nil
		}
		if c.Goal <= 0 || c.Goal > 100000 {
			return bad("counted."+strconv.Itoa(i)+".goal", "目标数应为 1–100000 的整数", "a goal is a whole number from 1 to 100000"), nil
		}
		seen[c.Kind] = true
		out = append(out, CountedTarget{Kind: c.Kind, Goal: c.Goal})
	}
	return nil, out
}

func saveCounted(ctx context.Context, tx *sql.Tx, projectID string, cs []CountedTarget) error {
	for _, c := range cs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO proj_counted_targets (project_id, kind, goal) VALUES ($1,$2,$3)`, projectID, c.Kind, c.Goal); err != nil {
			return err
		}
	}
	return nil
}

// periodBounds are the instants the project's period starts and ends
// (China days, the end exclusive).
func periodBounds(pr Project) (db.Time, db.Time, error) {
	from, err := time.ParseInLocation("2006-01-02", pr.PeriodFrom, questions.CST)
	if err != nil {
		return db.Time{}, db.Time{}, err
	}
	to, err := time.ParseInLocation("2006-01-02", pr.PeriodTo, questions.CST)
	if err != nil {
		return db.Time{}, db.Time{}, err
	}
	return db.T(from), db.T(to.AddDate(0, 0, 1)), nil
}

// counted reads a project's counted targets with their counts: home
// visits done in the project's area within its period (whoever recorded
// them: workers and paired volunteers record visits, not the
// organisation's accounts); volunteer activities starting within the
// period in the area or organised by the contracted organisation's staff
// accounts.
func (s *Store) counted(ctx context.Context, pr Project) ([]CountedTarget, error) {
	cs, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (CountedTarget, error) {
		var c CountedTarget
		return c, r.Scan(&c.Kind, &c.Goal)
	}, `SELECT kind, goal FROM proj_counted_targets WHERE project_id = $1 ORDER BY kind DESC`, pr.ID)
	if err != nil || len(cs) == 0 {
		return cs, err
	}
	from, to, err := periodBounds(pr)
	if err != nil {
		return nil, err
	}
	area := access.Subtree(pr.Division)
	for i, c := range cs {
		var q string
		args := []any{area.Lo, area.Hi, from, to}
		switch c.Kind {
		case TargetHomeVisits:
			q = `SELECT COUNT(*) FROM visits_published_home_visits WHERE division_code >= $1 AND division_code < $2 AND visited_at >= $3 AND visited_at < $4`
		case TargetVolunteerActivities:
			q = `SELECT COUNT(*) FROM volunteers_published_activities WHERE starts_at >= $3 AND starts_at < $4 AND (division_code >= $1 AND division_code < $2
	OR organiser IN (SELECT a.username FROM care_provider_accounts a JOIN proj_contracts k ON k.org_id = a.org_id WHERE k.project_id = $5))`
			args = append(args, pr.ID)
		default:
			return nil, fmt.Errorf("projects: unknown counted target %q", c.Kind)
		}
		if err := s.DB.R.QueryRowContext(ctx, q, args...).Scan(&cs[i].Count); err != nil {
			return nil, err
		}
	}
	return cs, nil
}
