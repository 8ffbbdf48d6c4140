package volunteers

import (
	"context"

	"linli/internal/access"
	"linli/internal/audit"
)

// Dashboard are a division's volunteer and points figures.
type Dashboard struct {
	Division   string      `json:"division"`
	Verified   int         `json:"verified"`
	Pending    int         `json:"pending"`
	Stars      []StarCount `json:"stars"`      // volunteers at each star level or above
	Hours      float64     `json:"hours"`      // service hours recorded
	Issued     int64       `json:"issued"`     // points issued by the division's banks
	Redeemed   int64       `json:"redeemed"`   // points taken in at its shops
	Activities int         `json:"activities"` // activities posted
}

// StarCount is how many volunteers reached a star level.
type StarCount struct {
	Stars int `json:"stars"`
	Hours int `json:"hours"`
	N     int `json:"n"`
}

// Dashboard sums a division's volunteers, stars and points: each figure
// one indexed read over its subtree.
func (s *Store) Dashboard(ctx context.Context, div string) (Dashboard, error) {
	d, err := s.dashboard(ctx, div)
	if err != nil {
		return d, err
	}
	return d, s.Audit.Record(ctx, audit.Entry{Action: "volunteers.dashboard", Object: "division", ObjectID: div, Division: div})
}

// DashboardPage is the dashboard's figures and the volunteers it lists
// (those waiting, the newest first, and a page of the verified), read
// as one audited view.
func (s *Store) DashboardPage(ctx context.Context, div string, after string) (Dashboard, []Volunteer, []Volunteer, error) {
	d, err := s.dashboard(ctx, div)
	if err != nil {
		return d, nil, nil, err
	}
	pending, err := s.list(ctx, VolunteerFilter{Status: StatusPending, Limit: 10, Newest: true})
	if err != nil {
		return d, nil, nil, err
	}
	verified, err := s.list(ctx, VolunteerFilter{Status: StatusVerified, After: after, Limit: 21})
	if err != nil {
		return d, nil, nil, err
	}
	return d, pending, verified, s.Audit.Record(ctx, audit.Entry{Action: "volunteers.dashboard", Object: "division", ObjectID: div, Division: div,
		Detail: audit.Detail(map[string]any{"pending_rows": len(pending), "verified_rows": len(verified)})})
}

func (s *Store) dashboard(ctx context.Context, div string) (Dashboard, error) {
	d := Dashboard{Division: div}
	if _, err := mustManage(ctx, div); err != nil {
		return d, err
	}
	sc := access.Subtree(div)
	r := s.DB.R
	if err := r.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN status = 'verified' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0)
		FROM vol_volunteers WHERE division_code >= $1 AND division_code < $2`, sc.Lo, sc.Hi).Scan(&d.Verified, &d.Pending); err != nil {
		return d, err
	}
	levels, err := s.StarLevels(ctx)
	if err != nil {
		return d, err
	}
	// One pass over the subtree's hours accounts: the total, and per star
	// level how many reached it.
	q := `SELECT COALESCE(SUM(earned), 0)`
	for _, l := range levels {
		q += `, COALESCE(SUM(CASE WHEN earned >= ` + itoa(l.Hours*60) + ` THEN 1 ELSE 0 END), 0)`
	}
	q += ` FROM vol_accounts WHERE currency = 'hours' AND owner_kind = 'volunteer' AND division_code >= $1 AND division_code < $2`
	var total int64
	d.Stars = make([]StarCount, len(levels))
	dest := []any{&total}
	for i, l := range levels {
		d.Stars[i] = StarCount{Stars: l.Stars, Hours: l.Hours}
		dest = append(dest, &d.Stars[i].N)
	}
	if err := r.QueryRowContext(ctx, q, sc.Lo, sc.Hi).Scan(dest...); err != nil {
		return d, err
	}
	d.Hours = hours(total)
	if err := r.QueryRowContext(ctx, `SELECT COALESCE(-SUM(CASE WHEN owner_kind = 'bank' THEN balance ELSE 0 END), 0), COALESCE(SUM(CASE WHEN owner_kind = 'shop' THEN balance ELSE 0 END), 0)
		FROM vol_accounts WHERE division_code >= $1 AND division_code < $2 AND currency = 'points' AND owner_kind IN ('bank', 'shop')`, sc.Lo, sc.Hi).Scan(&d.Issued, &d.Redeemed); err != nil {
		return d, err
	}
	if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM vol_activities WHERE division_code >= $1 AND division_code < $2`, sc.Lo, sc.Hi).Scan(&d.Activities); err != nil {
		return d, err
	}
	return d, nil
}
