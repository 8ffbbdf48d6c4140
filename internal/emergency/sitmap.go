package emergency

import (
	"context"
	"math"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
)

// The situation map is drawn on the server as SVG, like the registry's
// facility map: no tiles, no script. Each community of the board is a
// dot where its facilities are (the mean of their coordinates), coloured
// and shaped by the share of its vulnerable residents reached; each open
// shelter with a location is a square, dark when over capacity.

// SitMap is the drawn map.
type SitMap struct {
	Width, Height int
	Dots          []SitDot
	Shelters      []SitShelter
	Unplaced      int // communities of the board without a located facility
}

// SitDot is one community.
type SitDot struct {
	X, Y     float64
	Division string
	Name     string
	Reached  int    // vulnerable residents confirmed
	Total    int    // vulnerable residents
	Band     string // done, half, low: the legend's three bands
}

// SitShelter is one shelter.
type SitShelter struct {
	X, Y      float64
	Name      string
	Occupancy int
	Capacity  int
	Over      bool
}

// Colour and Shape of a band: a shape as well as a colour, so the map
// reads without colour too.
func (d SitDot) Colour() string {
	return map[string]string{"done": "#1a7f37", "half": "#9a6700", "low": "#c62828"}[d.Band]
}

// Label is the dot's title.
func (d SitDot) Label() fault.Msg {
	return fault.M(d.Name+"：重点人员已确认 "+itoa(d.Reached)+" / "+itoa(d.Total), d.Name+": vulnerable residents confirmed "+itoa(d.Reached)+" of "+itoa(d.Total))
}

func band(reached, total int) string {
	switch {
	case reached >= total:
		return "done"
	case 2*reached >= total:
		return "half"
	}
	return "low"
}

const sitMapWidth = 360

// situationMap places the board's communities and shelters.
func (s *Store) situationMap(ctx context.Context, b Board) (SitMap, error) {
	m := SitMap{Width: sitMapWidth}
	ds := access.Subtree(b.Division)
	type point struct{ lon, lat float64 }
	at := map[string]point{}
	err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var div string
		var p point
		if err := r.Scan(&div, &p.lon, &p.lat); err != nil {
			return err
		}
		at[div] = p
		return nil
	}, `SELECT division_code, AVG(lon), AVG(lat) FROM registry_facilities WHERE division_code >= $1 AND division_code < $2 AND lon IS NOT NULL AND lat IS NOT NULL
		GROUP BY division_code`, ds.Lo, ds.Hi)
	if err != nil {
		return m, err
	}
	shelterAt := map[string]point{}
	err = db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var id string
		var p point
		if err := r.Scan(&id, &p.lon, &p.lat); err != nil {
			return err
		}
		shelterAt[id] = p
		return nil
	}, `SELECT id, lon, lat FROM registry_facilities WHERE category = $1 AND division_code >= $2 AND division_code < $3 AND lon IS NOT NULL AND lat IS NOT NULL`,
		ShelterCategory, ds.Lo, ds.Hi)
	if err != nil {
		return m, err
	}
	minLon, minLat, maxLon, maxLat := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	grow := func(p point) {
		minLon, maxLon = min(minLon, p.lon), max(maxLon, p.lon)
		minLat, maxLat = min(minLat, p.lat), max(maxLat, p.lat)
	}
	for _, r := range b.Rows {
		if p, ok := at[r.Division]; ok {
			grow(p)
		} else {
			m.Unplaced++
		}
	}
	for _, sh := range b.Shelters {
		if p, ok := shelterAt[sh.ID]; ok {
			grow(p)
		}
	}
	if math.IsInf(minLon, 1) {
		m.Height = 0
		return m, nil
	}
	// Equirectangular with the longitude shrunk by cos(latitude): true to
	// shape at a county's size. A margin keeps the marks inside.
	const pad = 16.0
	k := math.Cos((minLat + maxLat) / 2 * math.Pi / 180)
	w, h := math.Max((maxLon-minLon)*k, 1e-4), math.Max(maxLat-minLat, 1e-4)
	scale := (sitMapWidth - 2*pad) / w
	height := h*scale + 2*pad
	if height > 420 {
		scale *= (420 - 2*pad) / (h * scale)
		height = 420
	}
	m.Height = int(math.Max(height, 120))
	place := func(p point) (float64, float64) {
		x := pad + (p.lon-minLon)*k*scale
		y := float64(m.Height) - pad - (p.lat-minLat)*scale
		return math.Round(x*10) / 10, math.Round(y*10) / 10
	}
	for _, r := range b.Rows {
		p, ok := at[r.Division]
		if !ok {
			continue
		}
		x, y := place(p)
		m.Dots = append(m.Dots, SitDot{X: x, Y: y, Division: r.Division, Name: r.Name, Reached: r.Vulnerable.Confirmed(), Total: r.Vulnerable.Total,
			Band: band(r.Vulnerable.Confirmed(), r.Vulnerable.Total)})
	}
	for _, sh := range b.Shelters {
		p, ok := shelterAt[sh.ID]
		if !ok {
			continue
		}
		x, y := place(p)
		m.Shelters = append(m.Shelters, SitShelter{X: x, Y: y, Name: sh.Name, Occupancy: sh.Occupancy, Capacity: sh.Capacity, Over: sh.Over()})
	}
	return m, nil
}
