package app

import (
	"context"
	"database/sql"
	"errors"

	"linli/internal/access"
)

// locateCommunity answers which village/community a point lies in, from the
// nearest place the registry and the life-circle demand points know inside
// the division (within about 1.5 km): there are no boundary polygons, so the
// nearest known place stands in for the boundary.
func (a *App) locateCommunity(ctx context.Context, lon, lat float64, within string) (string, bool, error) {
	sub := access.Subtree(within)
	const d = 0.015
	var code string
	err := a.DB.R.QueryRowContext(ctx, `SELECT division_code FROM (
		SELECT division_code, lon, lat FROM reg_facilities WHERE division_code >= $1 AND division_code < $2 AND length(division_code) = 12
			AND lon BETWEEN $3 AND $4 AND lat BETWEEN $5 AND $6
		UNION ALL
		SELECT division_code, lon, lat FROM lc_demand WHERE division_code >= $1 AND division_code < $2
			AND lon BETWEEN $3 AND $4 AND lat BETWEEN $5 AND $6) p
		ORDER BY (lon - $7) * (lon - $7) * 0.75 + (lat - $8) * (lat - $8) LIMIT 1`,
		sub.Lo, sub.Hi, lon-d, lon+d, lat-d, lat+d, lon, lat).Scan(&code)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return code, err == nil, err
}
