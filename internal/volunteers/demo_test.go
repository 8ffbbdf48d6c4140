package volunteers_test

import (
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/module"
	"linli/internal/volunteers"
)

// The demo county has verified volunteers at every star level whose
// figures are their ledger's, activities past and coming, and a points
// shop; the demo resident is left to register.
func TestDemo(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		e := apptest.New(t, d)
		if _, err := e.App.SeedDemo(t.Context(), module.DemoOptions{Seed: 7, Scale: "community"}); err != nil {
			t.Fatal(err)
		}
		levels := []int{100, 300, 600, 1000, 1500}
		for i, h := range levels {
			upper := 1 << 30
			if i+1 < len(levels) {
				upper = levels[i+1] * 60
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_accounts WHERE owner_kind = 'volunteer' AND currency = 'hours' AND earned >= $1 AND earned < $2`, h*60, upper); n == 0 {
				t.Errorf("no volunteer at %d stars", i+1)
			}
		}
		if n := e.Count(`SELECT COUNT(*) FROM vol_accounts WHERE owner_kind = 'volunteer' AND currency = 'hours' AND earned < 6000`); n == 0 {
			t.Error("no volunteer below one star")
		}
		if n := e.Count(`SELECT COUNT(*) FROM vol_volunteers WHERE status = 'pending'`); n == 0 {
			t.Error("no registration waiting")
		}
		if e.Count(`SELECT COUNT(*) FROM vol_activities WHERE starts_at < $1`, db.T(e.Clock.Now())) == 0 || e.Count(`SELECT COUNT(*) FROM vol_activities WHERE starts_at > $1`, db.T(e.Clock.Now())) == 0 {
			t.Error("no past or no coming activity")
		}
		if n := e.Count(`SELECT COUNT(*) FROM vol_signups WHERE credited`); n == 0 {
			t.Error("no attendance credited")
		}
		if n := e.Count(`SELECT COUNT(*) FROM vol_shop_items`); n == 0 {
			t.Error("no shop items")
		}
		if n := e.Count(`SELECT COUNT(*) FROM vol_volunteers WHERE username = 'demo.resident'`); n != 0 {
			t.Error("the demo resident is registered already")
		}
		if n := e.Count(`SELECT COUNT(*) FROM vol_certificates WHERE stars = 5`); n == 0 {
			t.Error("no certificate to check")
		}
		invariants(t, e, "demo")
		if n := e.Count(`SELECT COUNT(*) FROM vol_series WHERE title = '每周二助餐送餐' AND division_code IN (SELECT division_code FROM registry_people WHERE username = 'demo.resident')`); n != 1 {
			t.Errorf("%d weekly meals series in the demo community", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM vol_posts p WHERE p.taken = (SELECT COUNT(*) FROM vol_post_members m WHERE m.post_id = p.id) AND p.taken <= p.capacity`); n != 3 {
			t.Errorf("%d consistent demo service posts, want 3", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM vol_activities a JOIN vol_series s ON s.id = a.series_id WHERE s.title = '每周二助餐送餐'`); n < 8 {
			t.Errorf("the weekly meals series has %d shifts, want 8 weeks' worth", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM vol_activities a WHERE taken <> (SELECT COUNT(*) FROM vol_signups s WHERE s.activity_id = a.id AND s.status = 'confirmed')`); n != 0 {
			t.Errorf("%d activities whose slots taken are not their sign-ups", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM vol_pairs p JOIN vol_volunteers v ON v.resident_id = p.volunteer_id WHERE p.active AND v.status = 'verified' AND p.resident_id <> p.volunteer_id
			AND p.division_code IN (SELECT division_code FROM registry_people WHERE username = 'demo.resident')
			AND EXISTS (SELECT 1 FROM visits_targets t WHERE t.programme_id = p.programme_id AND t.target_id = p.target_id AND t.division_code = p.division_code)`); n != 3 {
			t.Errorf("%d demo pairs of a verified volunteer with a visit target of the demo community, want 3", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM vol_fund_funds f WHERE f.granted > 0
			AND f.donated - f.granted = (SELECT SUM(CASE WHEN kind = 'donation' THEN amount ELSE -amount END) FROM vol_fund_entries x WHERE x.division_code = f.division_code)
			AND f.division_code IN (SELECT division_code FROM registry_people WHERE username = 'demo.resident')`); n != 1 {
			t.Errorf("%d demo funds with donations and a grant in the demo community, want 1", n)
		}
		var worker, div string
		if err := d.R.QueryRow(`SELECT username, division_code FROM users WHERE role = 'community_worker' AND division_code IN (SELECT division_code FROM vol_volunteers) ORDER BY username LIMIT 1`).Scan(&worker, &div); err != nil {
			t.Fatal(err)
		}
		dash, err := volunteers.StoreOf(e.App.Module("volunteers")).Dashboard(as(worker, access.CommunityWorker, div), div)
		shifts := e.Count(`SELECT COUNT(*) FROM vol_activities WHERE division_code = $1 AND series_id <> ''`, div)
		if err != nil || dash.Verified == 0 || dash.Issued <= 0 || dash.Activities != 3+shifts {
			t.Fatalf("the dashboard of %s: %+v %v", div, dash, err)
		}
	})
}
