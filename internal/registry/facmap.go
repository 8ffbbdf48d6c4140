package registry

import (
	"context"
	"fmt"
	"math"
	"sort"

	"linli/internal/db"
)

// MapPointCap bounds the facilities drawn on one map.
const MapPointCap = 3000

// MapPoint is one facility on the server-drawn map.
type MapPoint struct {
	ID, Name, Category string
	Lon, Lat           float64
	X, Y               float64 // SVG user units
	Color              string
}

// LegendEntry is one category on the map's legend.
type LegendEntry struct {
	Category, NameZH, NameEN, Color string
	Count                           int
}

// FacilityMap is an SVG map drawn on the server: an equirectangular
// projection of the bounding box of the facilities shown, corrected for
// latitude, with no tiles and no script.
type FacilityMap struct {
	Width, Height          float64
	MinLon, MinLat         float64
	MaxLon, MaxLat         float64
	Points                 []MapPoint
	Legend                 []LegendEntry
	Total                  int     // facilities matching the filter
	Truncated              bool    // more than MapPointCap matched
	ScaleLen               float64 // scale bar length in SVG units
	ScaleX, ScaleY         float64 // scale bar's left end
	ScaleX2, ScaleMid      float64 // its right end and middle
	ScaleLabel             string
	GridX, GridY           []float64 // graticule lines in SVG units
	GridXLabel, GridYLabel []string
}

// categoryColor gives category number i of n a colour: hues spread by the
// golden angle so that neighbours in the catalogue differ, alternating
// lightness for more separation; all dark enough against white (WCAG 3:1
// for graphics).
func categoryColor(i int) string {
	h := math.Mod(float64(i)*137.508, 360)
	l := 0.38
	if i%2 == 1 {
		l = 0.30
	}
	return hslHex(h, 0.75, l)
}

func hslHex(h, s, l float64) string {
	c := (1 - math.Abs(2*l-1)) * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := l - c/2
	var r, g, b float64
	switch {
	case h < 60:
		r, g, b = c, x, 0
	case h < 120:
		r, g, b = x, c, 0
	case h < 180:
		r, g, b = 0, c, x
	case h < 240:
		r, g, b = 0, x, c
	case h < 300:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	to := func(v float64) int { return int(math.Round((v + m) * 255)) }
	return fmt.Sprintf("#%02x%02x%02x", to(r), to(g), to(b))
}

// MapFacilities draws the facilities matching f (in scope) on a map.
func (s *Store) MapFacilities(ctx context.Context, f Filter) (FacilityMap, error) {
	m := FacilityMap{Width: 640}
	w, err := facilities.where(ctx, f)
	if err != nil {
		return m, err
	}
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM reg_facilities f WHERE `+w.sql(), w.args...).Scan(&m.Total); err != nil {
		return m, err
	}
	m.Truncated = m.Total > MapPointCap
	m.Points, err = db.Collect(ctx, s.DB.R, func(row db.Scanner) (MapPoint, error) {
		var p MapPoint
		err := row.Scan(&p.ID, &p.Name, &p.Category, &p.Lon, &p.Lat)
		return p, err
	}, `SELECT f.id, f.name, f.category, f.lon, f.lat FROM reg_facilities f WHERE `+w.sql()+
		` ORDER BY f.division_code, f.category, f.name LIMIT `+itoa(MapPointCap), w.args...)
	if err != nil {
		return m, err
	}
	cats, err := s.Categories(ctx)
	if err != nil {
		return m, err
	}
	color, order := map[string]string{}, map[string]int{}
	for i, c := range cats {
		color[c.Key], order[c.Key] = categoryColor(i), i
	}
	counts := map[string]int{}
	for _, p := range m.Points {
		counts[p.Category]++
	}
	for _, c := range cats {
		if counts[c.Key] > 0 {
			m.Legend = append(m.Legend, LegendEntry{Category: c.Key, NameZH: c.NameZH, NameEN: c.NameEN, Color: color[c.Key], Count: counts[c.Key]})
		}
	}
	if len(m.Points) == 0 {
		return m, nil
	}
	m.project(color)
	// Draw rarer categories last so that they stay visible on top.
	sort.SliceStable(m.Points, func(i, j int) bool { return counts[m.Points[i].Category] > counts[m.Points[j].Category] })
	return m, nil
}

// project fits the points' bounding box (with a margin) into the map.
func (m *FacilityMap) project(color map[string]string) {
	minLon, maxLon, minLat, maxLat := 180.0, -180.0, 90.0, -90.0
	for _, p := range m.Points {
		minLon, maxLon = math.Min(minLon, p.Lon), math.Max(maxLon, p.Lon)
		minLat, maxLat = math.Min(minLat, p.Lat), math.Max(maxLat, p.Lat)
	}
	// At least about 1 km across, and a 6% margin.
	const minSpan = 0.01
	if d := minSpan - (maxLon - minLon); d > 0 {
		minLon, maxLon = minLon-d/2, maxLon+d/2
	}
	if d := minSpan - (maxLat - minLat); d > 0 {
		minLat, maxLat = minLat-d/2, maxLat+d/2
	}
	mx, my := (maxLon-minLon)*0.06, (maxLat-minLat)*0.06
	minLon, maxLon, minLat, maxLat = minLon-mx, maxLon+mx, minLat-my, maxLat+my
	k := math.Cos((minLat + maxLat) / 2 * math.Pi / 180) // east-west shrink
	spanX, spanY := (maxLon-minLon)*k, maxLat-minLat
	// Height follows the box's shape within 0.5–1.4 of the width; a box
	// outside that is widened on the short side, centred.
	ratio := spanY / spanX
	switch {
	case ratio < 0.5:
		grow := (0.5*spanX - spanY) / 2
		minLat, maxLat, ratio = minLat-grow, maxLat+grow, 0.5
	case ratio > 1.4:
		grow := (spanY/1.4 - spanX) / 2 / k
		minLon, maxLon, ratio = minLon-grow, maxLon+grow, 1.4
	}
	spanX, spanY = (maxLon-minLon)*k, maxLat-minLat
	m.Height = math.Round(m.Width * ratio)
	m.MinLon, m.MaxLon, m.MinLat, m.MaxLat = minLon, maxLon, minLat, maxLat
	sx, sy := m.Width/spanX, m.Height/spanY
	for i := range m.Points {
		p := &m.Points[i]
		p.X = round1((p.Lon - minLon) * k * sx)
		p.Y = round1((maxLat - p.Lat) * sy)
		p.Color = color[p.Category]
		if p.Color == "" {
			p.Color = "#555555"
		}
	}
	// Scale bar: a round distance near a fifth of the width.
	metresPerUnit := spanX * 111195 / m.Width
	target := metresPerUnit * m.Width / 5
	for _, d := range []float64{50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000} {
		if d <= target {
			m.ScaleLen = round1(d / metresPerUnit)
			if d >= 1000 {
				m.ScaleLabel = fmt.Sprintf("%g km", d/1000)
			} else {
				m.ScaleLabel = fmt.Sprintf("%g m", d)
			}
		}
	}
	m.ScaleX, m.ScaleY = round1(m.Width-m.ScaleLen-16), m.Height-24
	m.ScaleX2, m.ScaleMid = round1(m.ScaleX+m.ScaleLen), round1(m.ScaleX+m.ScaleLen/2)
	// Graticule every round step of degrees, about four lines each way.
	step := niceStep((maxLon - minLon) / 4)
	for v := math.Ceil(minLon/step) * step; v < maxLon; v += step {
		m.GridX = append(m.GridX, round1((v-minLon)*k*sx))
		m.GridXLabel = append(m.GridXLabel, fmt.Sprintf("%.*f°E", decimals(step), v))
	}
	step = niceStep((maxLat - minLat) / 4)
	for v := math.Ceil(minLat/step) * step; v < maxLat; v += step {
		m.GridY = append(m.GridY, round1((maxLat-v)*sy))
		m.GridYLabel = append(m.GridYLabel, fmt.Sprintf("%.*f°N", decimals(step), v))
	}
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*p >= raw {
			return f * p
		}
	}
	return 10 * p
}

func decimals(step float64) int {
	d := 0
	for step < 1 && d < 6 {
		step *= 10
		d++
	}
	return d
}

// GridLine pairs a graticule position with its label, for the template.
type GridLine struct {
	At    float64
	Label string
}

// XLines are the meridians with their labels.
func (m FacilityMap) XLines() []GridLine { return zipLines(m.GridX, m.GridXLabel) }

// YLines are the parallels with their labels.
func (m FacilityMap) YLines() []GridLine { return zipLines(m.GridY, m.GridYLabel) }

func zipLines(at []float64, labels []string) []GridLine {
	out := make([]GridLine, len(at))
	for i := range at {
		out[i] = GridLine{at[i], labels[i]}
	}
	return out
}
