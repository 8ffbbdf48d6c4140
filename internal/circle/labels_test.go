package circle

import (
	"container/heap"
	"math"
	"math/rand"
	"sync"
	"testing"
)

// refHeap is a plain binary heap for the reference Dijkstra.
type refItem struct {
	v uint32
	d uint64
}
type refHeap []refItem

func (h refHeap) Len() int           { return len(h) }
func (h refHeap) Less(i, j int) bool { return h[i].d < h[j].d }
func (h refHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *refHeap) Push(x any)        { *h = append(*h, x.(refItem)) }
func (h *refHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// refDijkstra is the unbounded reference: time from every node to the
// nearest source, following in-edges, MaxUint64 when unreachable.
func refDijkstra(g *Graph, src []Source) []uint64 {
	d := make([]uint64, g.NumNodes())
	for i := range d {
		d[i] = math.MaxUint64
	}
	h := &refHeap{}
	for _, s := range src {
		if uint64(s.Offset) < d[s.Node] {
			d[s.Node] = uint64(s.Offset)
			heap.Push(h, refItem{s.Node, uint64(s.Offset)})
		}
	}
	for h.Len() > 0 {
		it := heap.Pop(h).(refItem)
		if it.d != d[it.v] {
			continue
		}
		for e := g.FirstIn[it.v]; e < g.FirstIn[it.v+1]; e++ {
			u := g.In[e].Node
			if nd := it.d + uint64(g.In[e].Time); nd < d[u] {
				d[u] = nd
				heap.Push(h, refItem{u, nd})
			}
		}
	}
	return d
}

// checkLabels compares every node's label with the reference.
func checkLabels(t *testing.T, g *Graph, lab *Labels, c int, src []Source) {
	t.Helper()
	ref := refDijkstra(g, src)
	bad := 0
	for v, r := range ref {
		want := uint16(Unreached)
		if r <= uint64(lab.Bound) {
			want = uint16(r)
		}
		if got := lab.D[c][v]; got != want {
			if bad < 5 {
				t.Errorf("category %d node %d: label %d, reference %d (bound %d)", c, v, got, r, lab.Bound)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d labels differ from the reference", bad, len(ref))
	}
}

// randomGraph makes a random edge list with zero-length edges, one-way
// edges, and a few nodes in small side components.
func randomGraph(rng *rand.Rand, n, m int) *EdgeList {
	el := &EdgeList{}
	for i := 0; i < n; i++ {
		el.Lon = append(el.Lon, 120+rng.Float64()*0.05)
		el.Lat = append(el.Lat, 30+rng.Float64()*0.05)
	}
	add := func(u, v int, l float64) {
		el.From = append(el.From, uint32(u))
		el.To = append(el.To, uint32(v))
		el.Length = append(el.Length, l)
	}
	for i := 0; i < m; i++ {
		u, v := rng.Intn(n), rng.Intn(n)
		l := rng.Float64() * 300
		switch rng.Intn(10) {
		case 0:
			l = 0 // zero-length edges
		case 1:
			l = 2000 + rng.Float64()*5000 // long edges past the bound
		}
		add(u, v, l)
		if rng.Intn(4) != 0 { // most roads two-way, some one-way
			add(v, u, l)
		}
	}
	return el
}

func TestLabelsMatchReferenceOnRandomGraphs(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < 30; trial++ {
		n := 20 + rng.Intn(400)
		el := randomGraph(rng, n, n*2+rng.Intn(n*2))
		g, err := Build(el, BuildOptions{Profile: Walk})
		if err != nil {
			t.Fatal(err)
		}
		cats := 1 + rng.Intn(4)
		var names []string
		var srcs [][]Source
		for c := 0; c < cats; c++ {
			var ss []Source
			for k := rng.Intn(6); k >= 0; k-- {
				ss = append(ss, Source{Node: uint32(rng.Intn(g.NumNodes())), Offset: uint32(rng.Intn(3000))})
			}
			names = append(names, "c")
			srcs = append(srcs, ss)
		}
		bound := uint32(500 + rng.Intn(20000))
		lab, err := ComputeLabels(g, names, srcs, bound, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		for c := range srcs {
			checkLabels(t, g, lab, c, srcs[c])
		}
	}
}

func TestLabelsUnreachableAndIsolatedFacility(t *testing.T) {
	t.Parallel()
	// The search graph itself (not Build, which would drop the island):
	// nodes 0-1-2 form a two-way path, 3->0 is one-way in, node 4 is
	// isolated and holds a facility of category 1.
	g := &Graph{Lon: make([]float64, 5), Lat: make([]float64, 5)}
	from := []uint32{0, 1, 1, 2, 3}
	to := []uint32{1, 0, 2, 1, 0}
	tm := []uint32{100, 100, 0, 0, 50}
	g.FirstOut, g.Head, g.Time, _ = csr(5, from, to, tm, nil)
	g.buildReverse()
	srcs := [][]Source{{{Node: 0}}, {{Node: 4}}}
	lab, err := ComputeLabels(g, []string{"a", "b"}, srcs, 1000, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	want0 := []uint16{0, 100, 100, 50, Unreached} // 0 cannot reach 4; 3 reaches 0 in 50
	for v, w := range want0 {
		if lab.D[0][v] != w {
			t.Errorf("category a node %d: got %d want %d", v, lab.D[0][v], w)
		}
	}
	for v := 0; v < 4; v++ {
		if lab.D[1][v] != Unreached {
			t.Errorf("node %d reached the isolated facility: %d", v, lab.D[1][v])
		}
	}
	if lab.D[1][4] != 0 {
		t.Errorf("isolated facility node label %d, want 0", lab.D[1][4])
	}
	for c := range srcs {
		checkLabels(t, g, lab, c, srcs[c])
	}
	// One-way: nothing leaves 0 towards 3, so with a facility at 3 only 3 is labelled.
	lab, _ = ComputeLabels(g, []string{"c"}, [][]Source{{{Node: 3}}}, 1000, 1, nil)
	for v := 0; v < 5; v++ {
		if (v == 3) != (lab.D[0][v] == 0) || (v != 3 && lab.D[0][v] != Unreached) {
			t.Errorf("one-way: node %d label %d", v, lab.D[0][v])
		}
	}
}

func TestThresholdBoundaryIsInclusive(t *testing.T) {
	t.Parallel()
	// A path 0→1→2 of exactly 900 s and 900.1 s to the facility at 0.
	el := &EdgeList{Lon: []float64{120, 120.001, 120.002}, Lat: []float64{30, 30, 30},
		From: []uint32{1, 0, 2, 1}, To: []uint32{0, 1, 1, 2},
		Length: []float64{1, 1, 1, 1}, Seconds: []float64{900, 900, 0.1, 0.1}}
	g, err := Build(el, BuildOptions{Profile: Drive})
	if err != nil {
		t.Fatal(err)
	}
	bound, err := SecondsToTicks(15 * 60)
	if err != nil {
		t.Fatal(err)
	}
	fac, _ := g.NodeByExtID(0)
	lab, err := ComputeLabels(g, []string{"clinic"}, [][]Source{{{Node: fac}}}, bound, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	n1, _ := g.NodeByExtID(1)
	n2, _ := g.NodeByExtID(2)
	if got := lab.D[0][n1]; got != 9000 {
		t.Errorf("exactly 15 minutes: label %d, want 9000 (within)", got)
	}
	if got := lab.D[0][n2]; got != Unreached {
		t.Errorf("15 min 0.1 s: label %d, want unreached", got)
	}
	if _, err := SecondsToTicks(0); err == nil {
		t.Error("threshold 0 accepted")
	}
	if _, err := SecondsToTicks(-5); err == nil {
		t.Error("negative threshold accepted")
	}
}

var hzOnce sync.Once
var hzGraph *Graph
var hzErr error

// hangzhou loads the shared Hangzhou graph (walking times) or skips.
func hangzhou(t testing.TB) *Graph {
	dir := FindRoadsDir()
	if dir == "" {
		t.Skip("Hangzhou road data not found (../shared/data/hangzhou-roads or $LINLI_ROADS_DIR); skipping / 未找到杭州路网数据，跳过")
	}
	hzOnce.Do(func() {
		el, err := ReadCSVDir(dir)
		if err != nil {
			hzErr = err
			return
		}
		hzGraph, hzErr = Build(el, BuildOptions{Profile: Walk, UseLength: true})
	})
	if hzErr != nil {
		t.Fatal(hzErr)
	}
	return hzGraph
}

func TestHangzhouLabelsMatchReference(t *testing.T) {
	t.Parallel()
	g := hangzhou(t)
	if g.Stats.NodesKept != 41548 {
		t.Errorf("largest SCC has %d nodes, the data's README says 41,548", g.Stats.NodesKept)
	}
	names, srcs := SyntheticFacilities(g, 6, 7)
	bound, _ := SecondsToTicks(30 * 60)
	lab, err := ComputeLabels(g, names, srcs, bound, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for c := range srcs {
		checkLabels(t, g, lab, c, srcs[c])
	}
}

// graphFromArcs builds a search graph directly (no SCC filter), so tests
// can include rings and pieces that Build would drop.
func graphFromArcs(n int, from, to, tm []uint32) *Graph {
	g := &Graph{Lon: make([]float64, n), Lat: make([]float64, n), ExtID: make([]int64, n)}
	g.FirstOut, g.Head, g.Time, _ = csr(n, from, to, tm, nil)
	g.Length = make([]float32, len(g.Head))
	g.buildReverse()
	return g
}

// chainyGraph subdivides random edges into runs of pass-through nodes,
// two-way and one-way, and adds rings made only of pass-through nodes.
func chainyGraph(rng *rand.Rand) *Graph {
	core := 5 + rng.Intn(40)
	n := core
	var from, to, tm []uint32
	arc := func(u, v int, t uint32) {
		from, to, tm = append(from, uint32(u)), append(to, uint32(v)), append(tm, t)
	}
	for i := 0; i < core*2; i++ {
		u, v := rng.Intn(core), rng.Intn(core)
		k := rng.Intn(5) // pass-through nodes on the way
		path := []int{u}
		for j := 0; j < k; j++ {
			path = append(path, n)
			n++
		}
		path = append(path, v)
		oneWay := rng.Intn(3) == 0
		for j := 0; j+1 < len(path); j++ {
			t := uint32(rng.Intn(400))
			if rng.Intn(8) == 0 {
				t = 0
			}
			arc(path[j], path[j+1], t)
			if !oneWay {
				arc(path[j+1], path[j], uint32(rng.Intn(400)))
			}
		}
	}
	// A two-way ring and a one-way ring with no core node at all.
	for r, oneWay := range []bool{false, true} {
		k := 3 + r*2
		base := n
		n += k
		for j := 0; j < k; j++ {
			a, b := base+j, base+(j+1)%k
			arc(a, b, uint32(1+rng.Intn(300)))
			if !oneWay {
				arc(b, a, uint32(1+rng.Intn(300)))
			}
		}
	}
	return graphFromArcs(n, from, to, tm)
}

func TestLabelsExactOnChainyGraphs(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(11))
	chainNodes := 0
	for trial := 0; trial < 300; trial++ {
		g := chainyGraph(rng)
		chainNodes += len(g.contracted().chainNode)
		var srcs [][]Source
		var names []string
		for c := 0; c < 3; c++ {
			var ss []Source
			for k := rng.Intn(5); k >= 0; k-- {
				ss = append(ss, Source{Node: uint32(rng.Intn(g.NumNodes())), Offset: uint32(rng.Intn(500))})
			}
			srcs = append(srcs, ss)
			names = append(names, "c")
		}
		bound := uint32(200 + rng.Intn(3000))
		lab, err := ComputeLabels(g, names, srcs, bound, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		for c := range srcs {
			checkLabels(t, g, lab, c, srcs[c])
		}
	}
	if chainNodes == 0 {
		t.Fatal("the generator made no chains; the test would prove nothing")
	}
}
