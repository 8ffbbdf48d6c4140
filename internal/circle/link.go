package circle

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

const earthRadius = 6371008.8

// Link attaches a point to a road segment: the point's projection lies at
// fraction T from the segment's U end, Off metres from the road.
type Link struct {
	Seg uint32
	T   float32
	Off float32
}

// segment is one road piece, stored once for both directions.
type segment struct {
	U, V     uint32
	TUV, TVU uint32 // ticks; NoNode when that direction does not exist
}

// Index is a uniform grid over the road segments for nearest-edge queries.
type Index struct {
	g          *Graph
	lon0, lat0 float64 // projection origin
	kx, ky     float64 // metres per degree
	x, y       []float64
	segs       []segment
	cell       float64
	nx, ny     int
	minX, minY float64
	cellStart  []uint32
	cellGeo    []cellSeg // per cell, the segments crossing it with their geometry inline
}

// cellSeg is a segment as stored in one grid cell: endpoints relative to
// the projection origin, so a cell is scanned sequentially.
type cellSeg struct {
	ax, ay, bx, by float32
	seg            uint32
}

// NewIndex builds a grid index over the graph's segments. cellMetres <= 0
// picks 100 m.
func NewIndex(g *Graph, cellMetres float64) *Index {
	if cellMetres <= 0 {
		cellMetres = 100
	}
	n := g.NumNodes()
	ix := &Index{g: g, cell: cellMetres}
	var sLon, sLat float64
	for i := 0; i < n; i++ {
		sLon += g.Lon[i]
		sLat += g.Lat[i]
	}
	ix.lon0, ix.lat0 = sLon/float64(n), sLat/float64(n)
	ix.ky = earthRadius * math.Pi / 180
	ix.kx = ix.ky * math.Cos(ix.lat0*math.Pi/180)
	ix.x, ix.y = make([]float64, n), make([]float64, n)
	ix.minX, ix.minY = math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for i := 0; i < n; i++ {
		ix.x[i], ix.y[i] = ix.project(g.Lon[i], g.Lat[i])
		ix.minX, ix.minY = math.Min(ix.minX, ix.x[i]), math.Min(ix.minY, ix.y[i])
		maxX, maxY = math.Max(maxX, ix.x[i]), math.Max(maxY, ix.y[i])
	}
	// One segment per node pair; the reverse direction's time is looked up.
	for u := uint32(0); u < uint32(n); u++ {
		for e := g.FirstOut[u]; e < g.FirstOut[u+1]; e++ {
			v := g.Head[e]
			back := edgeTime(g, v, u)
			if back != NoNode && v < u {
				continue // stored when scanning v
			}
			if fwd := edgeTime(g, u, v); fwd != g.Time[e] {
				continue // a slower parallel edge
			}
			ix.segs = append(ix.segs, segment{U: u, V: v, TUV: g.Time[e], TVU: back})
		}
	}
	ix.nx = int((maxX-ix.minX)/cellMetres) + 1
	ix.ny = int((maxY-ix.minY)/cellMetres) + 1
	counts := make([]uint32, ix.nx*ix.ny+1)
	ix.eachCell(func(c int, _ uint32) { counts[c+1]++ })
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	ix.cellStart = counts
	pos := append([]uint32(nil), counts[:len(counts)-1]...)
	ix.cellGeo = make([]cellSeg, counts[len(counts)-1])
	ix.eachCell(func(c int, s uint32) {
		sg := ix.segs[s]
		ix.cellGeo[pos[c]] = cellSeg{float32(ix.x[sg.U]), float32(ix.y[sg.U]), float32(ix.x[sg.V]), float32(ix.y[sg.V]), s}
		pos[c]++
	})
	return ix
}

// edgeTime is the fastest u→v edge time, or NoNode.
func edgeTime(g *Graph, u, v uint32) uint32 {
	best := uint32(NoNode)
	for e := g.FirstOut[u]; e < g.FirstOut[u+1]; e++ {
		if g.Head[e] == v && g.Time[e] < best {
			best = g.Time[e]
		}
	}
	return best
}

func (ix *Index) eachCell(f func(cell int, seg uint32)) {
	for s, sg := range ix.segs {
		x0, x1 := ix.x[sg.U], ix.x[sg.V]
		y0, y1 := ix.y[sg.U], ix.y[sg.V]
		cx0, cx1 := ix.cellX(math.Min(x0, x1)), ix.cellX(math.Max(x0, x1))
		cy0, cy1 := ix.cellY(math.Min(y0, y1)), ix.cellY(math.Max(y0, y1))
		for cy := cy0; cy <= cy1; cy++ {
			for cx := cx0; cx <= cx1; cx++ {
				f(cy*ix.nx+cx, uint32(s))
			}
		}
	}
}

func (ix *Index) project(lon, lat float64) (float64, float64) {
	return (lon - ix.lon0) * ix.kx, (lat - ix.lat0) * ix.ky
}

func (ix *Index) cellX(x float64) int {
	c := int(math.Floor((x - ix.minX) / ix.cell))
	return min(max(c, 0), ix.nx-1)
}

func (ix *Index) cellY(y float64) int {
	c := int(math.Floor((y - ix.minY) / ix.cell))
	return min(max(c, 0), ix.ny-1)
}

// Nearest links a point to the closest segment. ok is false when no segment
// lies within maxMetres.
func (ix *Index) Nearest(lon, lat, maxMetres float64) (Link, bool) {
	if math.IsNaN(lon) || math.IsNaN(lat) {
		return Link{}, false
	}
	px, py := ix.project(lon, lat)
	// Distance from the point to the grid rectangle: rings nearer than that are empty.
	gx := math.Max(0, math.Max(ix.minX-px, px-(ix.minX+float64(ix.nx)*ix.cell)))
	gy := math.Max(0, math.Max(ix.minY-py, py-(ix.minY+float64(ix.ny)*ix.cell)))
	if math.Hypot(gx, gy) > maxMetres {
		return Link{}, false
	}
	cx := int(math.Floor((px - ix.minX) / ix.cell))
	cy := int(math.Floor((py - ix.minY) / ix.cell))
	best2 := math.Inf(1)
	lim2 := maxMetres * maxMetres
	var bl Link
	var bt float64
	maxR := ix.nx + ix.ny + 2 + int(math.Hypot(gx, gy)/ix.cell)
	for r := 0; r <= maxR; r++ {
		// Every cell in ring r is at least (r-1) cells away from the point.
		if lo := float64(r-1) * ix.cell; lo > 0 && lo*lo > math.Min(best2, lim2) {
			break
		}
		for dy := -r; dy <= r; dy++ {
			y := cy + dy
			if y < 0 || y >= ix.ny {
				continue
			}
			step := 2 * r
			if dy == -r || dy == r || r == 0 {
				step = 1
			}
			for dx := -r; dx <= r; dx += step {
				x := cx + dx
				if x < 0 || x >= ix.nx {
					continue
				}
				// Skip cells farther than the best so far.
				x0 := ix.minX + float64(x)*ix.cell
				y0 := ix.minY + float64(y)*ix.cell
				ex := math.Max(0, math.Max(x0-px, px-x0-ix.cell))
				ey := math.Max(0, math.Max(y0-py, py-y0-ix.cell))
				if ex*ex+ey*ey > math.Min(best2, lim2) {
					continue
				}
				c := y*ix.nx + x
				for _, cs := range ix.cellGeo[ix.cellStart[c]:ix.cellStart[c+1]] {
					ax, ay := float64(cs.ax), float64(cs.ay)
					dxs, dys := float64(cs.bx)-ax, float64(cs.by)-ay
					t := 0.0
					if l2 := dxs*dxs + dys*dys; l2 > 0 {
						t = ((px-ax)*dxs + (py-ay)*dys) / l2
						t = math.Max(0, math.Min(1, t))
					}
					ddx, ddy := ax+t*dxs-px, ay+t*dys-py
					d2 := ddx*ddx + ddy*ddy
					if d2 < best2 || (d2 == best2 && cs.seg < bl.Seg) {
						best2, bt = d2, t
						bl.Seg = cs.seg
					}
				}
			}
		}
	}
	best := math.Sqrt(best2)
	bl.T, bl.Off = float32(bt), float32(best)
	if best > maxMetres {
		return Link{}, false
	}
	return bl, true
}

// LinkAll links many points in parallel. far lists the indices of points
// with no road within maxMetres; their links are zero.
func (ix *Index) LinkAll(lon, lat []float64, maxMetres float64, workers int) (links []Link, far []int) {
	n := len(lon)
	links = make([]Link, n)
	ok := make([]bool, n)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Visit points cell by cell (a counting sort) so neighbouring queries
	// reuse the same cells in cache.
	cell := make([]uint32, n)
	count := make([]uint32, ix.nx*ix.ny+1)
	for i := range cell {
		px, py := ix.project(lon[i], lat[i])
		c := 0
		if !math.IsNaN(px) && !math.IsNaN(py) {
			c = ix.cellY(py)*ix.nx + ix.cellX(px)
		}
		cell[i] = uint32(c)
		count[c+1]++
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	order := make([]uint32, n)
	for i, c := range cell {
		order[count[c]] = uint32(i)
		count[c]++
	}
	var wg sync.WaitGroup
	const chunk = 4096
	var next atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				for _, i := range order[lo:min(lo+chunk, n)] {
					links[i], ok[i] = ix.Nearest(lon[i], lat[i], maxMetres)
				}
			}
		}()
	}
	wg.Wait()
	for i, k := range ok {
		if !k {
			far = append(far, i)
		}
	}
	return links, far
}

func (ix *Index) legTicks(l Link) uint32 {
	return uint32(math.Round(float64(l.Off) / ix.g.WalkSpeed * TicksPerSecond))
}

// part is the time to cover fraction f of an edge of time t.
func part(t uint32, f float32) uint32 {
	return uint32(math.Round(float64(t) * float64(f)))
}

// Exits returns the nodes a linked point can start from and the ticks to
// reach each (off-network leg at walking speed plus the part of the edge).
// b is NoNode when the segment cannot be left that way.
func (ix *Index) Exits(l Link) (a uint32, ta uint32, b uint32, tb uint32) {
	sg := ix.segs[l.Seg]
	leg := ix.legTicks(l)
	a, b = NoNode, NoNode
	if sg.TVU != NoNode { // walking towards U uses the V→U direction
		a, ta = sg.U, leg+part(sg.TVU, l.T)
	}
	if sg.TUV != NoNode {
		b, tb = sg.V, leg+part(sg.TUV, 1-l.T)
	}
	if a == NoNode {
		a, ta, b, tb = b, tb, NoNode, 0
	}
	return
}

// Sources returns the search seeds for a facility at the linked point: the
// nodes from which it can be reached and the remaining ticks.
func (ix *Index) Sources(l Link) []Source {
	sg := ix.segs[l.Seg]
	leg := ix.legTicks(l)
	var out []Source
	if sg.TUV != NoNode {
		out = append(out, Source{Node: sg.U, Offset: leg + part(sg.TUV, l.T)})
	}
	if sg.TVU != NoNode {
		out = append(out, Source{Node: sg.V, Offset: leg + part(sg.TVU, 1-l.T)})
	}
	return out
}

// PointTicks is the time from a linked point to the nearest facility of
// category c: the better exit plus that node's label. It returns
// math.MaxUint32 when no facility is within the bound.
func (ix *Index) PointTicks(lab *Labels, c int, l Link) uint32 {
	a, ta, b, tb := ix.Exits(l)
	best := uint32(math.MaxUint32)
	if a != NoNode {
		if d := lab.D[c][a]; d != Unreached && ta+uint32(d) <= lab.Bound {
			best = ta + uint32(d)
		}
	}
	if b != NoNode {
		if d := lab.D[c][b]; d != Unreached && tb+uint32(d) <= lab.Bound && tb+uint32(d) < best {
			best = tb + uint32(d)
		}
	}
	return best
}

// Position returns the lon/lat of the linked point's projection on the road.
func (ix *Index) Position(l Link) (lon, lat float64) {
	sg := ix.segs[l.Seg]
	t := float64(l.T)
	g := ix.g
	return g.Lon[sg.U] + t*(g.Lon[sg.V]-g.Lon[sg.U]), g.Lat[sg.U] + t*(g.Lat[sg.V]-g.Lat[sg.U])
}
