package visits

import (
	"context"

	"linli/internal/db"
)

// enrolledView is the assistance module's published view of the
// households enrolled in assistance (application_id, household_id,
// division_code, since_date, until_date): the 救助家庭关爱 programme and
// any other of its rate group visit them as they visit tagged households.
// It is read at run time only, so the assistance module may follow this
// one in the module list.
const enrolledView = "assistance_enrolled_households"

// enrolmentActions are the audited moves of an application that make its
// household an assisted family or end it: an incremental reconcile looks
// again at those households.
var enrolmentActions = map[string]bool{"assistance.enrol": true, "assistance.exit": true}

// enrolledHouseholds are the households of the applications ids.
func (s *Store) enrolledHouseholds(ctx context.Context, res *ScheduleResult, c *changes, apps map[string]bool) error {
	if len(apps) == 0 {
		return nil
	}
	res.Statements++
	found, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT household_id FROM `+enrolledView+` WHERE application_id IN (`+inList(apps)+`)`)
	for _, h := range found {
		c.households[h] = true
	}
	return err
}
