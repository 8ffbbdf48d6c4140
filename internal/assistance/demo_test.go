package assistance_test

import (
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/assistance"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/module"
	"linli/internal/visits"
)

// The demo county runs the catalogue with 2024–2026 standards and has
// applications in every state, whose sealed facts open and whose
// amounts are those of their rule.
func TestDemo(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		e := apptest.New(t, d)
		if _, err := e.App.SeedDemo(t.Context(), module.DemoOptions{Seed: 7, Scale: "community"}); err != nil {
			t.Fatal(err)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ast_standards WHERE county = '330106' AND year IN (2024, 2025, 2026)`); n != 3 {
			t.Errorf("%d standards", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ast_programmes WHERE county = '330106'`); n != len(assistance.Catalogue()) {
			t.Errorf("%d programmes", n)
		}
		// Two months paid: every payment returned paid, the first with the
		// arrears since enrolment.
		if n := e.Count(`SELECT COUNT(*) FROM ast_pay_batches WHERE county = '330106' AND returned_at IS NOT NULL`); n != 2 {
			t.Errorf("%d paid batches, want 2", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ast_payments WHERE status = 'paid' AND from_month < to_month`); n == 0 {
			t.Error("no payment with arrears")
		}
		if n := e.Count(`SELECT COUNT(*) FROM ast_payments WHERE status <> 'paid'`); n != 0 {
			t.Errorf("%d payments not paid", n)
		}
		for _, s := range []string{assistance.Submitted, assistance.Accepted, assistance.Checking, assistance.Investigating, assistance.Publicity,
			assistance.Approved, assistance.Refused, assistance.Appealed, assistance.Enrolled, assistance.Exited} {
			if n := e.Count(`SELECT COUNT(*) FROM ast_applications WHERE status = $1`, s); n == 0 {
				t.Errorf("no %s application", s)
			}
		}
		if n := e.Count(`SELECT COUNT(*) FROM ast_applications a WHERE a.status = 'enrolled' AND (a.approved NOT LIKE 'dibao%' OR a.amount_fen <>
			(SELECT SUM(ap.amount_fen) FROM ast_app_programmes ap WHERE ap.application_id = a.id AND ap.outcome = 'eligible' AND (',' || a.approved || ',') LIKE ('%,' || ap.code || ',%')))`); n != 0 {
			t.Errorf("%d enrolled households whose amount is not the sum of their approved programmes' rules", n)
		}
		// Decisions are events of their own, some settling two programmes
		// or more at once (C11).
		decided := e.Count(`SELECT COUNT(DISTINCT application_id) FROM ast_events WHERE action IN ('approve', 'refuse')`)
		if want := e.Count(`SELECT COUNT(*) FROM ast_applications WHERE status IN ('approved', 'refused', 'appealed', 'enrolled', 'exited')`); decided != want || decided == 0 {
			t.Errorf("%d applications with a decision event, want %d", decided, want)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ast_applications WHERE approved LIKE '%,%'`); n == 0 {
			t.Errorf("no joint approval")
		}
		var id string
		if err := d.R.QueryRow(`SELECT id FROM ast_applications WHERE status = 'enrolled' ORDER BY id LIMIT 1`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		a, err := assistance.StoreOf(e.App.Module("assistance")).Get(as("demo.officer", access.Officer, "330106"), id)
		if err != nil || a.Facts == nil || a.Facts.IncomeFen == nil || len(a.Facts.Members) == 0 || len(a.Results) != len(assistance.Catalogue()) {
			t.Fatalf("%+v %v", a, err)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ast_events`) - e.Count(`SELECT COUNT(*) FROM ast_applications`); n <= 0 {
			t.Errorf("applications without their steps")
		}
		// The enrolled households are due a 救助家庭关爱 visit this month
		// once the schedule is reconciled after the seed; the exited ones
		// have the month they left in.
		month, _ := visits.ParseMonth("2026-11")
		if _, err := visits.StoreOf(e.App.Module("visits")).Reconcile(t.Context(), month); err != nil {
			t.Fatal(err)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ast_applications a WHERE a.status = 'enrolled' AND NOT EXISTS (SELECT 1 FROM vis_visits v
			WHERE v.programme_id = 'prog-assisted-families' AND v.subject_id = a.household_id AND v.month = '2026-11' AND v.status <> 'cancelled')`); n != 0 {
			t.Errorf("%d enrolled demo households not due a visit", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM assistance_enrolled_households e JOIN ast_applications a ON a.id = e.application_id WHERE a.status = 'exited' AND e.until_date = ''`); n != 0 {
			t.Errorf("%d exited demo households without the month they left", n)
		}
	})
}
