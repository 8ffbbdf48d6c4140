package circle

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
)

// Profile names the travel mode a graph was built for.
type Profile string

// Travel profiles.
const (
	Walk  Profile = "walk"
	Drive Profile = "drive"
)

// DefaultWalkSpeed is the walking speed in m/s (GB 50180-2018 puts 15 minutes
// at 800–1,000 m, i.e. about 1.0–1.1 m/s).
const DefaultWalkSpeed = 1.1

// TimeUnit: all travel times are integers in deciseconds, so the 0.1 s
// durations in the CSV are exact and 30 minutes fits in a uint16 label.
const TicksPerSecond = 10

// NoNode marks a missing node reference.
const NoNode = math.MaxUint32

// EdgeList is the raw input of Build: nodes with coordinates and directed
// edges between node indices (0..len(Lon)-1).
type EdgeList struct {
	Lon, Lat []float64
	ExtID    []int64 // original node ids (CSV node column or OSM id); may be nil
	From, To []uint32
	Length   []float64 // metres
	// Seconds is the travel time of each edge; when nil, Build derives it
	// from Length and the walking speed.
	Seconds []float64
}

// BuildOptions controls Build.
type BuildOptions struct {
	Profile   Profile
	WalkSpeed float64 // m/s; 0 means DefaultWalkSpeed
	// UseLength forces times from Length/WalkSpeed even when Seconds is set
	// (a walking study on a car network such as the Hangzhou CSV).
	UseLength bool
	// BothWays adds the reverse of every edge that lacks one: pedestrians
	// walk both ways along one-way streets of a car network.
	BothWays bool
}

// BuildStats reports what Build kept and dropped.
type BuildStats struct {
	NodesIn, EdgesIn     int
	NodesKept, EdgesKept int
	NodesDropped         int // outside the largest strongly connected component
	EdgesDropped         int // self-loops and edges touching dropped nodes
	Components           int // strongly connected components in the input
}

// Graph is a compact road graph in CSR form, restricted to its largest
// strongly connected component and ordered along a Hilbert curve so that
// nodes near in space are near in memory.
type Graph struct {
	Profile   Profile
	WalkSpeed float64
	Lon, Lat  []float64
	ExtID     []int64

	// Forward CSR: out-edges of v are FirstOut[v]..FirstOut[v+1].
	FirstOut []uint32
	Head     []uint32
	Time     []uint32 // deciseconds
	Length   []float32

	// Reverse CSR (in-edges): label searches run backwards from facilities
	// so a label is the time from the node to the facility.
	FirstIn []uint32
	In      []Arc

	Stats BuildStats

	extOnce sync.Once
	extMap  map[int64]uint32

	coreOnce sync.Once
	core     *coreGraph
}

// NumNodes returns the number of nodes.
func (g *Graph) NumNodes() int { return len(g.Lon) }

// NumEdges returns the number of directed edges.
func (g *Graph) NumEdges() int { return len(g.Head) }

// NodeByExtID finds the node with the given original id.
func (g *Graph) NodeByExtID(id int64) (uint32, bool) {
	g.extOnce.Do(func() {
		g.extMap = make(map[int64]uint32, len(g.ExtID))
		for i, x := range g.ExtID {
			g.extMap[x] = uint32(i)
		}
	})
	v, ok := g.extMap[id]
	return v, ok
}

// Arc is an in-edge: its tail node and travel time, packed together so a
// relaxation touches one cache line.
type Arc struct {
	Node, Time uint32
}

// Bytes is the memory held by the graph arrays.
func (g *Graph) Bytes() int64 {
	n, m := int64(g.NumNodes()), int64(g.NumEdges())
	b := n*(8+8+8+4+4) + m*(4+4+4+8) + 8
	if c := g.contracted(); c != nil {
		b += int64(len(c.first))*4 + int64(len(c.in))*8 + int64(len(c.pos))*4 +
			int64(len(c.chainNode))*4*6 + int64(len(c.chains))*16
	}
	return b
}

// Build validates the edge list, keeps the largest strongly connected
// component and returns the compact graph.
func Build(el *EdgeList, opt BuildOptions) (*Graph, error) {
	n := len(el.Lon)
	if len(el.Lat) != n || (el.ExtID != nil && len(el.ExtID) != n) {
		return nil, errors.New("circle: 节点数组长度不一致 / node arrays differ in length")
	}
	m := len(el.From)
	if len(el.To) != m || len(el.Length) != m || (el.Seconds != nil && len(el.Seconds) != m) {
		return nil, errors.New("circle: 边数组长度不一致 / edge arrays differ in length")
	}
	if n == 0 || m == 0 {
		return nil, errors.New("circle: 路网为空 / the road network is empty")
	}
	if opt.Profile == "" {
		opt.Profile = Walk
	}
	if opt.WalkSpeed == 0 {
		opt.WalkSpeed = DefaultWalkSpeed
	}
	if !(opt.WalkSpeed > 0) || math.IsInf(opt.WalkSpeed, 0) {
		return nil, fmt.Errorf("circle: 步行速度无效 / invalid walking speed %v", opt.WalkSpeed)
	}
	times := make([]uint32, m)
	for e := 0; e < m; e++ {
		if el.From[e] >= uint32(n) || el.To[e] >= uint32(n) {
			return nil, fmt.Errorf("circle: 第 %d 条边引用不存在的节点 / edge %d refers to a missing node", e, e)
		}
		l := el.Length[e]
		if !(l >= 0) || math.IsInf(l, 0) {
			return nil, fmt.Errorf("circle: 第 %d 条边长度无效 / edge %d has invalid length %v", e, e, l)
		}
		s := l / opt.WalkSpeed
		if el.Seconds != nil && !opt.UseLength {
			s = el.Seconds[e]
		}
		if !(s >= 0) || s > 1e8 {
			return nil, fmt.Errorf("circle: 第 %d 条边时间无效 / edge %d has invalid travel time %v", e, e, s)
		}
		times[e] = uint32(math.Round(s * TicksPerSecond))
	}

	if opt.BothWays {
		el, times = withReverse(el, times)
		m = len(el.From)
	}
	comp, ncomp := scc(n, el.From, el.To)
	size := make([]int, ncomp)
	for _, c := range comp {
		size[c]++
	}
	best := 0
	for c := range size {
		if size[c] > size[best] {
			best = c
		}
	}
	keep := make([]uint32, 0, size[best])
	for v := 0; v < n; v++ {
		if comp[v] == uint32(best) {
			keep = append(keep, uint32(v))
		}
	}
	// Hilbert order for cache locality during searches and linking.
	minLon, minLat, maxLon, maxLat := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, v := range keep {
		minLon = math.Min(minLon, el.Lon[v])
		maxLon = math.Max(maxLon, el.Lon[v])
		minLat = math.Min(minLat, el.Lat[v])
		maxLat = math.Max(maxLat, el.Lat[v])
	}
	key := make([]uint64, n)
	for _, v := range keep {
		x := scale16(el.Lon[v], minLon, maxLon)
		y := scale16(el.Lat[v], minLat, maxLat)
		key[v] = hilbert(x, y)
	}
	sort.SliceStable(keep, func(i, j int) bool { return key[keep[i]] < key[keep[j]] })
	newID := make([]uint32, n)
	for i := range newID {
		newID[i] = NoNode
	}
	for i, v := range keep {
		newID[v] = uint32(i)
	}

	k := len(keep)
	g := &Graph{Profile: opt.Profile, WalkSpeed: opt.WalkSpeed,
		Lon: make([]float64, k), Lat: make([]float64, k), ExtID: make([]int64, k)}
	for i, v := range keep {
		g.Lon[i], g.Lat[i] = el.Lon[v], el.Lat[v]
		if el.ExtID != nil {
			g.ExtID[i] = el.ExtID[v]
		} else {
			g.ExtID[i] = int64(v)
		}
	}
	var from, to, tm []uint32
	var ln []float32
	for e := 0; e < m; e++ {
		u, v := newID[el.From[e]], newID[el.To[e]]
		if u == NoNode || v == NoNode || u == v {
			continue
		}
		from = append(from, u)
		to = append(to, v)
		tm = append(tm, times[e])
		ln = append(ln, float32(el.Length[e]))
	}
	g.FirstOut, g.Head, g.Time, g.Length = csr(k, from, to, tm, ln)
	g.buildReverse()
	// Renumber once more so each chain's nodes are contiguous (see core.go).
	g.buildCore()
	perm := g.chainOrder()
	inv := make([]uint32, k)
	for i, v := range perm {
		inv[v] = uint32(i)
	}
	lon, lat, ext := make([]float64, k), make([]float64, k), make([]int64, k)
	for i, v := range perm {
		lon[i], lat[i], ext[i] = g.Lon[v], g.Lat[v], g.ExtID[v]
	}
	g.Lon, g.Lat, g.ExtID = lon, lat, ext
	from, to = from[:0], to[:0]
	tm, ln = tm[:0], ln[:0]
	for _, v := range perm {
		for e := g.FirstOut[v]; e < g.FirstOut[v+1]; e++ {
			from = append(from, inv[v])
			to = append(to, inv[g.Head[e]])
			tm = append(tm, g.Time[e])
			ln = append(ln, g.Length[e])
		}
	}
	g.FirstOut, g.Head, g.Time, g.Length = csr(k, from, to, tm, ln)
	g.buildReverse()
	g.buildCore()
	g.Stats = BuildStats{NodesIn: n, EdgesIn: m, NodesKept: k, EdgesKept: len(from),
		NodesDropped: n - k, EdgesDropped: m - len(from), Components: ncomp}
	return g, nil
}

// withReverse returns the edge list with the reverse of every edge that
// lacks one, and the tick times extended to match.
func withReverse(el *EdgeList, times []uint32) (*EdgeList, []uint32) {
	has := make(map[[2]uint32]bool, len(el.From))
	for e := range el.From {
		has[[2]uint32{el.From[e], el.To[e]}] = true
	}
	r := &EdgeList{Lon: el.Lon, Lat: el.Lat, ExtID: el.ExtID,
		From: append([]uint32(nil), el.From...), To: append([]uint32(nil), el.To...),
		Length: append([]float64(nil), el.Length...)}
	t := append([]uint32(nil), times...)
	for e := range el.From {
		u, v := el.From[e], el.To[e]
		if !has[[2]uint32{v, u}] {
			has[[2]uint32{v, u}] = true
			r.From, r.To = append(r.From, v), append(r.To, u)
			r.Length, t = append(r.Length, el.Length[e]), append(t, times[e])
		}
	}
	return r, t
}

// buildReverse derives the in-edge CSR from the forward one, so a graph
// read back from the cache is identical to the one built.
func (g *Graph) buildReverse() {
	n := g.NumNodes()
	from := make([]uint32, len(g.Head))
	for u := 0; u < n; u++ {
		for e := g.FirstOut[u]; e < g.FirstOut[u+1]; e++ {
			from[e] = uint32(u)
		}
	}
	var tail, tt []uint32
	g.FirstIn, tail, tt, _ = csr(n, g.Head, from, g.Time, nil)
	g.In = make([]Arc, len(tail))
	for i := range tail {
		g.In[i] = Arc{Node: tail[i], Time: tt[i]}
	}
}

// csr groups edges by their first endpoint, keeping input order within a node.
func csr(n int, a, b, t []uint32, l []float32) (first, head, tt []uint32, ll []float32) {
	first = make([]uint32, n+1)
	for _, u := range a {
		first[u+1]++
	}
	for i := 0; i < n; i++ {
		first[i+1] += first[i]
	}
	pos := append([]uint32(nil), first[:n]...)
	head = make([]uint32, len(a))
	tt = make([]uint32, len(a))
	if l != nil {
		ll = make([]float32, len(a))
	}
	for e, u := range a {
		p := pos[u]
		pos[u]++
		head[p], tt[p] = b[e], t[e]
		if l != nil {
			ll[p] = l[e]
		}
	}
	return
}

// scc labels strongly connected components with an iterative Tarjan so that
// million-node graphs do not overflow the goroutine stack.
func scc(n int, from, to []uint32) ([]uint32, int) {
	first := make([]uint32, n+1)
	for _, u := range from {
		first[u+1]++
	}
	for i := 0; i < n; i++ {
		first[i+1] += first[i]
	}
	pos := append([]uint32(nil), first[:n]...)
	adj := make([]uint32, len(from))
	for e, u := range from {
		adj[pos[u]] = to[e]
		pos[u]++
	}
	const unvisited = math.MaxUint32
	index := make([]uint32, n)
	low := make([]uint32, n)
	comp := make([]uint32, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = unvisited
	}
	var stack, call []uint32
	var next []uint32 // per call frame: next edge to scan
	var counter uint32
	ncomp := 0
	for root := 0; root < n; root++ {
		if index[root] != unvisited {
			continue
		}
		call = append(call[:0], uint32(root))
		next = append(next[:0], first[root])
		index[root], low[root] = counter, counter
		counter++
		stack = append(stack, uint32(root))
		onStack[root] = true
		for len(call) > 0 {
			top := len(call) - 1
			v := call[top]
			if e := next[top]; e < first[v+1] {
				next[top]++
				w := adj[e]
				if index[w] == unvisited {
					index[w], low[w] = counter, counter
					counter++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, w)
					next = append(next, first[w])
				} else if onStack[w] && index[w] < low[v] {
					low[v] = index[w]
				}
				continue
			}
			if low[v] == index[v] {
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp[w] = uint32(ncomp)
					if w == v {
						break
					}
				}
				ncomp++
			}
			call = call[:top]
			next = next[:top]
			if top > 0 {
				p := call[top-1]
				if low[v] < low[p] {
					low[p] = low[v]
				}
			}
		}
	}
	return comp, ncomp
}

func scale16(x, lo, hi float64) uint32 {
	if hi <= lo {
		return 0
	}
	return uint32((x - lo) / (hi - lo) * 65535)
}

// hilbert maps a 16-bit grid point to its distance along a Hilbert curve.
func hilbert(x, y uint32) uint64 {
	var d uint64
	for s := uint32(1 << 15); s > 0; s /= 2 {
		var rx, ry uint32
		if x&s != 0 {
			rx = 1
		}
		if y&s != 0 {
			ry = 1
		}
		d += uint64(s) * uint64(s) * uint64((3*rx)^ry)
		if ry == 0 {
			if rx == 1 {
				x = 65535 - x
				y = 65535 - y
			}
			x, y = y, x
		}
	}
	return d
}

// haversine returns the great-circle distance in metres.
func haversine(lon1, lat1, lon2, lat2 float64) float64 {
	const r = 6371008.8
	p1, p2 := lat1*math.Pi/180, lat2*math.Pi/180
	dp := p2 - p1
	dl := (lon2 - lon1) * math.Pi / 180
	a := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}
