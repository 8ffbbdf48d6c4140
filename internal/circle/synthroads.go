package circle

import (
	"math"
	"math/rand"
	"sort"
)

// SyntheticRoads makes a road-like network over a bounding box: a jittered
// grid of intersections about spacing metres apart with some blocks merged
// (missing links), some one-way streets and an occasional diagonal, so that
// degrees and edge lengths resemble a city grid. The result is synthetic.
func SyntheticRoads(minLon, minLat, maxLon, maxLat, spacing float64, seed int64) *EdgeList {
	rng := rand.New(rand.NewSource(seed))
	if spacing <= 0 {
		spacing = 80
	}
	midLat := (minLat + maxLat) / 2
	dLat := spacing / (earthRadius * math.Pi / 180)
	dLon := dLat / math.Cos(midLat*math.Pi/180)
	nx := max(2, int((maxLon-minLon)/dLon)+1)
	ny := max(2, int((maxLat-minLat)/dLat)+1)
	el := &EdgeList{}
	for j := 0; j < ny; j++ {
		for i := 0; i < nx; i++ {
			el.Lon = append(el.Lon, minLon+(float64(i)+0.3*(rng.Float64()-0.5))*dLon)
			el.Lat = append(el.Lat, minLat+(float64(j)+0.3*(rng.Float64()-0.5))*dLat)
		}
	}
	id := func(i, j int) uint32 { return uint32(j*nx + i) }
	add := func(a, b uint32, oneway bool) {
		l := haversine(el.Lon[a], el.Lat[a], el.Lon[b], el.Lat[b]) * (1 + 0.1*rng.Float64()) // roads bend
		el.From, el.To, el.Length = append(el.From, a), append(el.To, b), append(el.Length, l)
		if !oneway {
			el.From, el.To, el.Length = append(el.From, b), append(el.To, a), append(el.Length, l)
		}
	}
	for j := 0; j < ny; j++ {
		for i := 0; i < nx; i++ {
			if i+1 < nx && rng.Float64() > 0.12 {
				add(id(i, j), id(i+1, j), rng.Float64() < 0.08)
			}
			if j+1 < ny && rng.Float64() > 0.12 {
				add(id(i, j), id(i, j+1), rng.Float64() < 0.08)
			}
			if i+1 < nx && j+1 < ny && rng.Float64() < 0.04 {
				add(id(i, j), id(i+1, j+1), false)
			}
		}
	}
	return el
}

// TileGraph repeats g on a near-square grid of tiles until it has at least
// minNodes nodes, stitching neighbouring tiles with two-way links between
// nodes near the shared border, and builds the result. Used to make a
// million-node road graph with real road structure from the Hangzhou one.
func TileGraph(g *Graph, minNodes int) (*Graph, error) {
	n := g.NumNodes()
	tiles := max(1, (minNodes+n-1)/n)
	cols := int(math.Ceil(math.Sqrt(float64(tiles))))
	minLon, minLat, maxLon, maxLat := g.BBox()
	w, h := maxLon-minLon, maxLat-minLat
	el := &EdgeList{Seconds: []float64{}}
	// Stitches take the walking speed, or a slow urban 30 km/h by car.
	stitchSpeed := g.WalkSpeed
	if g.Profile == Drive {
		stitchSpeed = 30 / 3.6
	}
	for t := 0; t < tiles; t++ {
		ox, oy := float64(t%cols)*w, float64(t/cols)*h
		base := uint32(t * n)
		for v := 0; v < n; v++ {
			el.Lon = append(el.Lon, g.Lon[v]+ox)
			el.Lat = append(el.Lat, g.Lat[v]+oy)
			el.ExtID = append(el.ExtID, int64(base)+int64(v))
		}
		for u := 0; u < n; u++ {
			for e := g.FirstOut[u]; e < g.FirstOut[u+1]; e++ {
				el.From = append(el.From, base+uint32(u))
				el.To = append(el.To, base+g.Head[e])
				el.Length = append(el.Length, float64(g.Length[e]))
				el.Seconds = append(el.Seconds, float64(g.Time[e])/TicksPerSecond)
			}
		}
	}
	// Border nodes: within 2 km of an edge of the box (clipped extracts
	// have few nodes right at the border).
	band := 2000 / (earthRadius * math.Pi / 180)
	var east, west, north, south []uint32
	for v := 0; v < n; v++ {
		if g.Lon[v] > maxLon-band {
			east = append(east, uint32(v))
		}
		if g.Lon[v] < minLon+band {
			west = append(west, uint32(v))
		}
		if g.Lat[v] > maxLat-band {
			north = append(north, uint32(v))
		}
		if g.Lat[v] < minLat+band {
			south = append(south, uint32(v))
		}
	}
	kx := math.Cos((minLat+maxLat)/2*math.Pi/180) * earthRadius * math.Pi / 180
	ky := earthRadius * math.Pi / 180
	// stitch links each border node of tile ta to the nearest border node of
	// the neighbouring tile tb when within 300 m, and always the 20 closest
	// pairs, so the tiles form one strongly connected network.
	stitch := func(ta, tb int, a, b []uint32) {
		tax, tay := float64(ta%cols)*w, float64(ta/cols)*h
		tbx, tby := float64(tb%cols)*w, float64(tb/cols)*h
		type pair struct {
			u, v uint32
			d    float64
		}
		var ps []pair
		for _, u := range a {
			best := pair{u, NoNode, math.Inf(1)}
			for _, v := range b {
				dx := (g.Lon[u] + tax - g.Lon[v] - tbx) * kx
				dy := (g.Lat[u] + tay - g.Lat[v] - tby) * ky
				if d := math.Hypot(dx, dy); d < best.d {
					best = pair{u, v, d}
				}
			}
			if best.v != NoNode {
				ps = append(ps, best)
			}
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i].d < ps[j].d })
		for i, p := range ps {
			if i >= 20 && p.d > 300 {
				break
			}
			x, y := uint32(ta*n)+p.u, uint32(tb*n)+p.v
			el.From, el.To, el.Length = append(el.From, x, y), append(el.To, y, x), append(el.Length, p.d, p.d)
			el.Seconds = append(el.Seconds, p.d/stitchSpeed, p.d/stitchSpeed)
		}
	}
	for t := 0; t < tiles; t++ {
		if t%cols+1 < cols && t+1 < tiles {
			stitch(t, t+1, east, west)
		}
		if t+cols < tiles {
			stitch(t, t+cols, north, south)
		}
	}
	return Build(el, BuildOptions{Profile: g.Profile, WalkSpeed: g.WalkSpeed})
}
