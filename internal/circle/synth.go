package circle

import (
	"fmt"
	"math"
	"math/rand"
)

// AreaKm2 is the area of the graph's bounding box.
func (g *Graph) AreaKm2() float64 {
	minLon, minLat, maxLon, maxLat := g.BBox()
	w := haversine(minLon, (minLat+maxLat)/2, maxLon, (minLat+maxLat)/2)
	h := haversine(minLon, minLat, minLon, maxLat)
	return w * h / 1e6
}

// BBox returns the graph's bounding box.
func (g *Graph) BBox() (minLon, minLat, maxLon, maxLat float64) {
	minLon, minLat, maxLon, maxLat = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for i := range g.Lon {
		minLon, maxLon = math.Min(minLon, g.Lon[i]), math.Max(maxLon, g.Lon[i])
		minLat, maxLat = math.Min(minLat, g.Lat[i]), math.Max(maxLat, g.Lat[i])
	}
	return
}

// SyntheticFacilities places facilities of the first ncat default
// categories (cycling through them past 30) on random nodes at each
// category's typical urban density. The result is synthetic.
func SyntheticFacilities(g *Graph, ncat int, seed int64) (names []string, sources [][]Source) {
	rng := rand.New(rand.NewSource(seed))
	cats := DefaultTiers().Categories
	area := g.AreaKm2()
	for c := 0; c < ncat; c++ {
		cat := cats[c%len(cats)]
		k := int(math.Round(cat.PerKm2 * area))
		k = max(k, 1)
		ss := make([]Source, k)
		for i := range ss {
			ss[i] = Source{Node: uint32(rng.Intn(g.NumNodes()))}
		}
		name := cat.ID
		if c >= len(cats) {
			name += "_" + string(rune('a'+c/len(cats)))
		}
		names = append(names, name)
		sources = append(sources, ss)
	}
	return
}

// SyntheticFacilityList places facilities of every tier-file category on
// random nodes at the category's typical density (see SyntheticFacilities).
func SyntheticFacilityList(g *Graph, tiers *Tiers, seed int64) []Facility {
	names, srcs := SyntheticFacilities(g, len(tiers.Categories), seed)
	var out []Facility
	for c, ss := range srcs {
		for i, x := range ss {
			out = append(out, Facility{ID: fmt.Sprintf("syn-%s-%d", names[c], i+1), Category: names[c],
				Lon: g.Lon[x.Node], Lat: g.Lat[x.Node]})
		}
	}
	return out
}

// SyntheticDemand places n demand points near random nodes and gives them
// made-up community codes under prefix (a 6-digit county code) on a 6×6
// grid of townships × communities; every point is synthetic.
func SyntheticDemand(g *Graph, n int, prefix string, seed int64) []Demand {
	rng := rand.New(rand.NewSource(seed))
	minLon, minLat, maxLon, maxLat := g.BBox()
	out := make([]Demand, n)
	for i := range out {
		v := rng.Intn(g.NumNodes())
		lon := g.Lon[v] + (rng.Float64()-0.5)*0.002
		lat := g.Lat[v] + (rng.Float64()-0.5)*0.002
		tx := min(5, int((lon-minLon)/(maxLon-minLon+1e-12)*6))
		ty := min(5, int((lat-minLat)/(maxLat-minLat+1e-12)*6))
		out[i] = Demand{ID: fmt.Sprintf("syn-%d", i+1), Unit: fmt.Sprintf("%s%03d%03d", prefix, ty+1, tx+1),
			Lon: lon, Lat: lat, Pop: float64(20 + rng.Intn(200))}
	}
	return out
}
