package familydoctor

import (
	"context"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/module"
)

// Demo gives every township of the demo county a GP team (its general
// practitioners from the personnel, or its first staff member) and signs
// contracts for about two thirds of the key-group residents — some of
// them ending within the month, to be renewed. The contracts are written
// by one INSERT … SELECT per township, so the county scale takes seconds.
func Demo(ctx context.Context, s *Store, o module.DemoOptions) error {
	county := o.County
	if county == "" {
		county = "330106"
	}
	sc := access.Subtree(county)
	ctx = access.With(ctx, &access.Principal{Username: "demo.officer", Role: access.Officer, Division: county})
	towns, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT DISTINCT substr(division_code, 1, 9) FROM reg_personnel WHERE division_code >= $1 AND division_code < $2 ORDER BY 1`, sc.Lo, sc.Hi)
	if err != nil {
		return err
	}
	today := s.today()
	args := dayArgs(today)
	for _, town := range towns {
		ts := access.Subtree(town)
		members, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT id FROM reg_personnel WHERE division_code >= $1 AND division_code < $2
			ORDER BY CASE WHEN roles LIKE '%,gp,%' THEN 0 ELSE 1 END, id LIMIT 3`, ts.Lo, ts.Hi)
		if err != nil || len(members) == 0 {
			return err
		}
		t, err := s.CreateTeam(ctx, TeamInput{Division: town, Name: "家庭医生团队 " + town[6:], Members: members})
		if err != nil {
			return err
		}
		if o.Progress != nil {
			o.Progress("家庭医生签约 / family-doctor contracts", 0, 1)
		}
		// Residents born on the 1st–21st sign; of them, those born on the
		// 1st–3rd signed almost a year ago and are due for renewal.
		_, err = s.DB.W.ExecContext(ctx, `INSERT INTO gp_contracts (id, division_code, resident_id, household_id, team_id, package, start_date, end_date, groups, signed_by, created_at)
			SELECT 'demo-' || r.id, r.division_code, r.id, r.household_id, $6,
				CASE WHEN r.birth_date <= $4 THEN 'elderly' WHEN r.birth_date > $5 THEN 'maternal_child' ELSE 'basic' END,
				CASE WHEN substr(r.birth_date, 9, 2) <= '03' THEN $7 ELSE $8 END,
				CASE WHEN substr(r.birth_date, 9, 2) <= '03' THEN $9 ELSE $10 END,
				CASE WHEN r.birth_date <= $4 THEN 'elderly_65' WHEN r.birth_date > $5 THEN 'child_0_6' ELSE '' END,
				'demo.officer', $11
			FROM registry_people r WHERE r.division_code >= $1 AND r.division_code < $2 AND substr(r.birth_date, 9, 2) <= '21' AND `+keyGroupCond("r", "$3", "$4", "$5"),
			ts.Lo, ts.Hi, args[0], args[1], args[2], t.ID,
			plusDays(today, -345), plusDays(today, -100), plusDays(plusDays(today, -345), 364), plusDays(plusDays(today, -100), 364), db.T(s.Now()))
		if err != nil {
			return err
		}
	}
	return s.Refresh(ctx, "")
}
