package app

import (
	"context"
	"database/sql"
	"errors"

	"linli/internal/access"
	"linli/internal/divisions"
)

// divisionLookup is the narrow division look-up the modules get: the
// division tree, and where a point lies.
type divisionLookup struct {
	*divisions.Store
	places []string // views of places known to lie in a village or community
}

// Locate answers which village/community a point lies in, from the
// nearest place the modules publish inside the division (within about
// 1.5 km): there are no boundary polygons, so the nearest known place
// stands in for the boundary.
func (l divisionLookup) Locate(ctx context.Context, lon, lat float64, within string) (string, bool, error) {
	if len(l.places) == 0 {
		return "", false, nil
	}
	sub := access.Subtree(within)
	const d = 0.015
	var union string
	for i, v := range l.places {
		if i > 0 {
			union += "\n\t\tUNION ALL\n"
		}
		union += `SELECT division_code, lon, lat FROM ` + v + ` WHERE division_code >= $1 AND division_code < $2 AND length(division_code) = 12
			AND lon BETWEEN $3 AND $4 AND lat BETWEEN $5 AND $6`
	}
	var code string
	err := l.DB.R.QueryRowContext(ctx, `SELECT division_code FROM (`+union+`) p
		ORDER BY (lon - $7) * (lon - $7) * 0.75 + (lat - $8) * (lat - $8) LIMIT 1`,
		sub.Lo, sub.Hi, lon-d, lon+d, lat-d, lat+d, lon, lat).Scan(&code)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return code, err == nil, err
}
