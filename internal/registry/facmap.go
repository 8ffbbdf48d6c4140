package registry

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"linli/internal/db"
	"linli/internal/web"
)

// MapPointCap bounds the facilities drawn on one map.
const MapPointCap = 3000

// MapPoint is one facility on the server-drawn map.
type MapPoint struct {
	Category string
	Lon, Lat float64
	X, Y     float64 // SVG user units
	Color    string
	Shape    string // a marker shape: circle, square, triangle …
}

// MapLayer is one category's markers, drawn as a single SVG path: a
// county's thousands of facilities are a few dozen elements, not one
// element (with its attributes and title) each.
type MapLayer struct {
	Category     string
	Shape, Color string
	Count        int    // facilities of the category on the map
	D            string // the markers as path data, one subpath each
}

// Fill is the layer's inside: its colour, or white for an outline shape.
func (l MapLayer) Fill() string { return markerFill(l.Shape, l.Color) }

// Stroke is the layer's outline.
func (l MapLayer) Stroke() string { return markerStroke(l.Shape, l.Color) }

// LegendEntry is one category on the map's legend.
type LegendEntry struct {
	Category, NameZH, NameEN, Color string
	Count                           int
	Shape                           string
	Group                           web.Msg // the family of categories sharing the shape
}

// Icon is the entry's marker drawn in a 16×16 box.
func (e LegendEntry) Icon() string { return markerPath(e.Shape, 8, 8, 6) }

// Fill is the icon's inside.
func (e LegendEntry) Fill() string { return markerFill(e.Shape, e.Color) }

// Stroke is the icon's outline.
func (e LegendEntry) Stroke() string { return markerStroke(e.Shape, e.Color) }

// LegendGroup is one family of the legend: a shape and its categories.
type LegendGroup struct {
	Name    web.Msg
	Shape   string
	Entries []LegendEntry
}

// markerGroup is a family of facility categories drawn with one shape;
// within a family each category has its own colour, so shape and colour
// together tell a category apart, and the legend names both in words.
type markerGroup struct {
	Shape string
	Name  web.Msg
	Keys  []string
}

// markerGroups sorts the built-in catalogue by what a facility is for.
// A category added later (not listed) is drawn as a ring in the "other"
// family.
var markerGroups = []markerGroup{
	{"circle", web.M("养老", "Elderly care"), []string{"home_care_center", "elderly_day_care", "elderly_canteen", "nursing_home", "care_alliance"}},
	{"square", web.M("党群与社区服务", "Community services"), []string{"party_service_center", "community_service_facility", "urban_service_complex", "residents_lounge", "gov_kiosk", "volunteer_station"}},
	{"triangle", web.M("托育与教育", "Childcare and schools"), []string{"childcare", "kindergarten", "primary_school", "middle_school", "community_school"}},
	{"cross", web.M("医疗卫生", "Health"), []string{"health_center", "health_station"}},
	{"diamond", web.M("文化体育", "Culture and sport"), []string{"culture_hall", "city_study", "fitness"}},
	{"triangle-down", web.M("平安与应急", "Safety"), []string{"micro_fire_station", "emergency_shelter", "police_room", "mediation_room"}},
	{"star", web.M("生活便利", "Daily needs"), []string{"market", "convenience_store", "parcel_point", "bus_stop"}},
}

var otherGroup = markerGroup{Shape: "ring", Name: web.M("其他", "Other")}

// markerPalette: six colours far apart in hue, each dark enough against
// the map's pale background (at least 4.5:1), so colour adds to the shape.
var markerPalette = []string{"#0b57a4", "#b3261e", "#1e6b31", "#6a3d9a", "#8a5a00", "#00697a"}

// markerStyle is a category's shape, colour and family: the family sets
// the shape, the place in the family the colour.
type markerStyle struct {
	Shape, Color string
	Group        int // index in markerGroups; len(markerGroups) for "other"
}

func markerStyles(cats []Category) map[string]markerStyle {
	groupOf := map[string]int{}
	for gi, g := range markerGroups {
		for _, k := range g.Keys {
			groupOf[k] = gi
		}
	}
	out, used := map[string]markerStyle{}, map[int]int{}
	for _, c := range cats {
		gi, ok := groupOf[c.Key]
		shape := otherGroup.Shape
		if ok {
			shape = markerGroups[gi].Shape
		} else {
			gi = len(markerGroups)
		}
		out[c.Key] = markerStyle{Shape: shape, Color: markerPalette[used[gi]%len(markerPalette)], Group: gi}
		used[gi]++
	}
	return out
}

func groupName(gi int) web.Msg {
	if gi < len(markerGroups) {
		return markerGroups[gi].Name
	}
	return otherGroup.Name
}

// markerVertices are a polygon shape's corners around (0, 0) for radius 1
// (nil for circle and ring).
func markerVertices(shape string) [][2]float64 {
	switch shape {
	case "square":
		a := 0.85
		return [][2]float64{{-a, -a}, {a, -a}, {a, a}, {-a, a}}
	case "triangle":
		return [][2]float64{{0, -1.15}, {1.05, 0.8}, {-1.05, 0.8}}
	case "triangle-down":
		return [][2]float64{{0, 1.15}, {1.05, -0.8}, {-1.05, -0.8}}
	case "diamond":
		return [][2]float64{{0, -1.15}, {1.15, 0}, {0, 1.15}, {-1.15, 0}}
	case "cross":
		t := 0.38
		return [][2]float64{{-t, -1}, {t, -1}, {t, -t}, {1, -t}, {1, t}, {t, t}, {t, 1}, {-t, 1}, {-t, t}, {-1, t}, {-1, -t}, {-t, -t}}
	case "star":
		var pts [][2]float64
		for i := 0; i < 10; i++ {
			k := 1.25
			if i%2 == 1 {
				k = 0.52
			}
			a := -math.Pi/2 + float64(i)*math.Pi/5
			pts = append(pts, [2]float64{k * math.Cos(a), k * math.Sin(a)})
		}
		return pts
	}
	return nil
}

// markerPath draws shape at (x, y) with radius r as SVG path data.
func markerPath(shape string, x, y, r float64) string {
	if pts := markerVertices(shape); pts != nil {
		var b strings.Builder
		for i, p := range pts {
			if i == 0 {
				b.WriteString("M")
			} else {
				b.WriteString("L")
			}
			fmt.Fprintf(&b, "%g %g", round1(x+p[0]*r), round1(y+p[1]*r))
		}
		b.WriteString("Z")
		return b.String()
	}
	// circle and ring: two half arcs
	return fmt.Sprintf("M%g %gA%g %g 0 1 0 %g %gA%g %g 0 1 0 %g %gZ", round1(x-r), round1(y), r, r, round1(x+r), round1(y), r, r, round1(x-r), round1(y))
}

// markerStamp is a shape of radius r as a start offset and the rest of
// its outline in relative moves: a marker is then its start point and
// the same tail, so that a layer of thousands is written without
// formatting every corner of every marker.
type markerStamp struct {
	dx, dy float64
	tail   string
}

func newMarkerStamp(shape string, r float64) markerStamp {
	pts := markerVertices(shape)
	if pts == nil {
		g := strconv.FormatFloat(r, 'g', -1, 64)
		d := strconv.FormatFloat(2*r, 'g', -1, 64)
		return markerStamp{dx: -r, tail: "a" + g + " " + g + " 0 1 0 " + d + " 0a" + g + " " + g + " 0 1 0-" + d + " 0z"}
	}
	var b []byte
	for i := 1; i < len(pts); i++ {
		b = append(b, 'l')
		b = appendCoord(b, round1((pts[i][0]-pts[i-1][0])*r))
		b = append(b, ' ')
		b = appendCoord(b, round1((pts[i][1]-pts[i-1][1])*r))
	}
	return markerStamp{dx: pts[0][0] * r, dy: pts[0][1] * r, tail: string(append(b, 'z'))}
}

// appendStamp writes the marker centred on (x, y).
func (m markerStamp) appendStamp(b []byte, x, y float64) []byte {
	b = append(b, 'M')
	b = appendCoord(b, round1(x+m.dx))
	b = append(b, ' ')
	b = appendCoord(b, round1(y+m.dy))
	return append(b, m.tail...)
}

func appendCoord(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'f', -1, 64) }

func markerFill(shape, color string) string {
	if shape == "ring" {
		return "#ffffff"
	}
	return color
}

func markerStroke(shape, color string) string {
	if shape == "ring" {
		return color
	}
	return "#ffffff"
}

// LegendGroups is the legend by family, in the families' order.
func (m FacilityMap) LegendGroups() []LegendGroup {
	var out []LegendGroup
	for _, e := range m.Legend {
		if n := len(out); n == 0 || out[n-1].Name != e.Group {
			out = append(out, LegendGroup{Name: e.Group, Shape: e.Shape})
		}
		out[len(out)-1].Entries = append(out[len(out)-1].Entries, e)
	}
	return out
}

// FacilityMap is an SVG map drawn on the server: an equirectangular
// projection of the bounding box of the facilities shown, corrected for
// latitude, with no tiles and no script.
type FacilityMap struct {
	Width, Height          float64
	MinLon, MinLat         float64
	MaxLon, MaxLat         float64
	Points                 []MapPoint
	Layers                 []MapLayer // the points drawn, a path a category
	Legend                 []LegendEntry
	Total                  int     // facilities on the map
	Truncated              bool    // more than MapPointCap matched: the map shows the first
	ScaleLen               float64 // scale bar length in SVG units
	ScaleX, ScaleY         float64 // scale bar's left end
	ScaleX2, ScaleMid      float64 // its right end and middle
	ScaleLabel             string
	GridX, GridY           []float64 // graticule lines in SVG units
	GridXLabel, GridYLabel []string
}

// MapTTL is how long a drawn map is kept when no facility was written
// meanwhile by this store.
const MapTTL = time.Minute

// MapFacilities draws the facilities matching f (in scope) on a map. It
// reads at most MapPointCap+1 rows in the list's index order and never
// counts the rest: beyond the cap the map says it shows the first ones.
// A map is kept per query (the caller's scope and the filter) until the
// store writes a facility or MapTTL passes; a name search, whose texts
// are endless, is drawn every time. The map is shared: callers must not
// change it.
func (s *Store) MapFacilities(ctx context.Context, f Filter) (FacilityMap, error) {
	w, err := facilities.where(ctx, f)
	if err != nil {
		return FacilityMap{}, err
	}
	query := mapQuery(w, f, MapPointCap+1)
	draw := func(ctx context.Context) (FacilityMap, error) { return s.drawMap(ctx, query, w.args) }
	if strings.TrimSpace(f.Q) != "" {
		return draw(ctx)
	}
	// The query and its values are the whole of what the map depends on
	// besides the catalogue, whose writes move the generation too.
	m, _, err := s.maps.Get(ctx, fmt.Sprintf("%s\x00%q", query, w.args), draw)
	return m, err
}

// drawMap reads the map's points with query and draws them.
func (s *Store) drawMap(ctx context.Context, query string, args []any) (FacilityMap, error) {
	m := FacilityMap{Width: 640}
	var err error
	m.Points, err = db.Collect(ctx, s.DB.R, func(row db.Scanner) (MapPoint, error) {
		var p MapPoint
		err := row.Scan(&p.Category, &p.Lon, &p.Lat)
		return p, err
	}, query, args...)
	if err != nil {
		return m, err
	}
	if len(m.Points) > MapPointCap {
		m.Points, m.Truncated = m.Points[:MapPointCap], true
	}
	m.Total = len(m.Points)
	cats, err := s.Categories(ctx)
	if err != nil {
		return m, err
	}
	style := markerStyles(cats)
	counts := map[string]int{}
	for _, p := range m.Points {
		counts[p.Category]++
	}
	for gi := 0; gi <= len(markerGroups); gi++ {
		for _, c := range cats {
			if st := style[c.Key]; st.Group == gi && counts[c.Key] > 0 {
				m.Legend = append(m.Legend, LegendEntry{Category: c.Key, NameZH: c.NameZH, NameEN: c.NameEN, Color: st.Color, Count: counts[c.Key],
					Shape: st.Shape, Group: groupName(gi)})
			}
		}
	}
	if len(m.Points) == 0 {
		return m, nil
	}
	m.project(style)
	m.Layers = layers(m.Points, counts)
	return m, nil
}

// mapQuery reads limit of the map's points in division order, from the
// index that covers them (reg_facilities_div_map, or reg_facilities_cat_map
// when the filter fixes the category): a scope holding more than the cap
// reads the first ones and stops.
func mapQuery(w *where, f Filter, limit int) string {
	order := "f.division_code, f.category, f.lon, f.lat"
	if f.Category != "" {
		order = "f.division_code, f.lon, f.lat"
	}
	return `SELECT f.category, f.lon, f.lat FROM reg_facilities f WHERE ` + w.sql() + ` ORDER BY ` + order + ` LIMIT ` + itoa(limit)
}

// layers groups the projected points by category into one path each, the
// rarer categories last so that they stay visible on top. A marker that
// falls on one already drawn in its layer (the same spot to a tenth of a
// unit) adds nothing to the picture and is left out of the path.
func layers(points []MapPoint, counts map[string]int) []MapLayer {
	at := map[string]int{}
	var out []MapLayer
	var stamps []markerStamp
	var paths [][]byte
	var seen []map[[2]float64]bool
	for _, p := range points {
		i, ok := at[p.Category]
		if !ok {
			i = len(out)
			at[p.Category] = i
			out = append(out, MapLayer{Category: p.Category, Shape: p.Shape, Color: p.Color, Count: counts[p.Category]})
			stamps = append(stamps, newMarkerStamp(p.Shape, markerRadius))
			paths = append(paths, nil)
			seen = append(seen, map[[2]float64]bool{})
		}
		if spot := [2]float64{p.X, p.Y}; !seen[i][spot] {
			seen[i][spot] = true
			paths[i] = stamps[i].appendStamp(paths[i], p.X, p.Y)
		}
	}
	for i := range out {
		out[i].D = string(paths[i])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out
}

// markerRadius is a marker's size in SVG units.
const markerRadius = 6

// project fits the points' bounding box (with a margin) into the map.
func (m *FacilityMap) project(style map[string]markerStyle) {
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
		st, ok := style[p.Category]
		if !ok {
			st = markerStyle{Shape: otherGroup.Shape, Color: "#555555"}
		}
		p.Color, p.Shape = st.Color, st.Shape
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
