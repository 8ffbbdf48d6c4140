package circle

import (
	"math"
	"math/rand"
	"testing"
)

// toyLine is four nodes 100 m apart on a parallel, two-way edges taking
// 300 s, 300 s and 600 s: times are hand-computable.
func toyLine(t *testing.T) (*Graph, *Index) {
	t.Helper()
	el := &EdgeList{
		Lon: []float64{120.000, 120.001, 120.002, 120.003}, Lat: []float64{30, 30, 30, 30},
		From: []uint32{0, 1, 1, 2, 2, 3}, To: []uint32{1, 0, 2, 1, 3, 2},
		Length: []float64{100, 100, 100, 100, 100, 100}, Seconds: []float64{300, 300, 300, 300, 600, 600},
	}
	g, err := Build(el, BuildOptions{Profile: Drive})
	if err != nil {
		t.Fatal(err)
	}
	return g, NewIndex(g, 50)
}

func TestCoverageOnToyNetwork(t *testing.T) {
	t.Parallel()
	g, ix := toyLine(t)
	demand := []Demand{
		{ID: "p0", Unit: "330106001001", Lon: 120.000, Lat: 30, Pop: 100},
		{ID: "p1", Unit: "330106001001", Lon: 120.001, Lat: 30, Pop: 50},
		{ID: "p2", Unit: "330106001002", Lon: 120.002, Lat: 30, Pop: 30},
		{ID: "p3", Unit: "330106001002", Lon: 120.003, Lat: 30, Pop: 20},
	}
	var lon, lat []float64
	for _, d := range demand {
		lon, lat = append(lon, d.Lon), append(lat, d.Lat)
	}
	links, far := ix.LinkAll(lon, lat, 50, 2)
	if len(far) != 0 {
		t.Fatalf("points on the road reported far: %v", far)
	}
	clinic, ok := ix.Nearest(120.000, 30, 50)
	market, ok2 := ix.Nearest(120.003, 30, 50)
	if !ok || !ok2 {
		t.Fatal("facilities not linked")
	}
	bound, _ := SecondsToTicks(30 * 60)
	lab, err := ComputeLabels(g, []string{"clinic", "market"}, [][]Source{ix.Sources(clinic), ix.Sources(market)}, bound, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	times := DemandTicks(ix, lab, links, nil)
	wantTimes := [][]uint16{{0, 3000, 6000, 12000}, {12000, 9000, 6000, 0}}
	for c := range wantTimes {
		for p := range wantTimes[c] {
			if times[c][p] != wantTimes[c][p] {
				t.Errorf("category %d point %d: %d ticks, want %d", c, p, times[c][p], wantTimes[c][p])
			}
		}
	}
	tier := &Tier{ID: "toy", Minutes: 10, Applies: "urban", Categories: []string{"clinic", "market"}}
	cv, err := ComputeCoverage(tier, lab.Categories, lab.Bound, times, demand)
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	// p2 is exactly 10 minutes from both: it counts as covered.
	u1, u2 := cv.Units[0], cv.Units[1]
	if !near(u1.Share(0), 1) || !near(u1.Share(1), 0) || !near(u1.Completeness(), 0.5) {
		t.Errorf("unit 001: clinic %.3f market %.3f completeness %.3f; want 1, 0, 0.5", u1.Share(0), u1.Share(1), u1.Completeness())
	}
	if !near(u2.Share(0), 0.6) || !near(u2.Share(1), 1) || !near(u2.Completeness(), 0.8) {
		t.Errorf("unit 002: clinic %.3f market %.3f completeness %.3f; want 0.6, 1, 0.8", u2.Share(0), u2.Share(1), u2.Completeness())
	}
	sub := cv.Subtree("330106001")
	if !near(sub.Pop, 200) || !near(sub.Share(0), 0.9) || !near(sub.Share(1), 0.25) || !near(sub.Completeness(), 0.575) {
		t.Errorf("subtree: pop %.0f clinic %.3f market %.3f completeness %.3f; want 200, 0.9, 0.25, 0.575",
			sub.Pop, sub.Share(0), sub.Share(1), sub.Completeness())
	}
	if !near(sub.PointShare(0), 0.75) || !near(sub.PointShare(1), 0.5) {
		t.Errorf("subtree point shares: clinic %.3f market %.3f; want 0.75 and 0.5", sub.PointShare(0), sub.PointShare(1))
	}
	if r := cv.Rollup(9); len(r) != 1 || !near(r[0].Share(0), 0.9) {
		t.Errorf("rollup to townships: %+v", r)
	}
	gaps := cv.Gaps(1)
	if len(gaps) != 2 {
		t.Fatalf("gaps %+v, want two", gaps)
	}
	if g := gaps[0]; g.Unit != "330106001001" || g.Category != "market" || !near(g.MissingPop, 150) || !near(g.MedianMinutes, 20) || !near(g.ExcessMinutes, 10) {
		t.Errorf("first gap %+v; want unit 001 market, 150 missing, median 20 min, 10 over", g)
	}
	if g := gaps[1]; g.Unit != "330106001002" || g.Category != "clinic" || !near(g.MissingPop, 20) || !near(g.MedianMinutes, 20) {
		t.Errorf("second gap %+v; want unit 002 clinic, 20 missing, median 20 min", g)
	}
	// A tier past the search bound is refused rather than silently capped.
	if _, err := ComputeCoverage(&Tier{ID: "x", Minutes: 45, Applies: "all"}, lab.Categories, lab.Bound, times, demand); err == nil {
		t.Error("a 45-minute tier over 30-minute labels was accepted")
	}
	// A point 1 km off the road is reported, not linked.
	if _, ok := ix.Nearest(120.0015, 30.01, 200); ok {
		t.Error("a point 1 km away linked within 200 m")
	}
}

func TestLinkingMatchesBruteForce(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(5))
	g, err := Build(randomGraph(rng, 400, 1200), BuildOptions{Profile: Walk})
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(g, 80)
	for i := 0; i < 500; i++ {
		lon, lat := 119.99+rng.Float64()*0.07, 29.99+rng.Float64()*0.07
		l, ok := ix.Nearest(lon, lat, 1e6)
		if !ok {
			t.Fatal("no link with an unlimited radius")
		}
		px, py := ix.project(lon, lat)
		best := math.Inf(1)
		for _, sg := range ix.segs {
			ax, ay, bx, by := ix.x[sg.U], ix.y[sg.U], ix.x[sg.V], ix.y[sg.V]
			dx, dy := bx-ax, by-ay
			tt := 0.0
			if l2 := dx*dx + dy*dy; l2 > 0 {
				tt = math.Max(0, math.Min(1, ((px-ax)*dx+(py-ay)*dy)/l2))
			}
			best = math.Min(best, math.Hypot(ax+tt*dx-px, ay+tt*dy-py))
		}
		if math.Abs(float64(l.Off)-best) > 0.01 {
			t.Fatalf("point %d: grid found %.3f m, brute force %.3f m", i, l.Off, best)
		}
	}
}

func TestMaxCoverToyOptimum(t *testing.T) {
	t.Parallel()
	// Population 10 at points 0..5. Site 0 covers {0,1,2,3} (40), site 1
	// {0,1,4} (30), site 2 {2,3,5} (30), site 3 {4,5} (20). For k=2 the
	// optimum is sites 1+2 = 60; greedy takes 0 first (40) then 3 (20) = 60,
	// equal to the optimum. For k=3 everything is covered after two picks.
	sets := [][]uint32{{0, 1, 2, 3}, {0, 1, 4}, {2, 3, 5}, {4, 5}}
	pop := []float64{10, 10, 10, 10, 10, 10}
	picks := MaxCover(sets, pop, 3)
	if len(picks) != 2 || picks[0].Site != 0 || picks[0].Gain != 40 || picks[1].Site != 3 || picks[1].Gain != 20 || picks[1].Cumulative != 60 {
		t.Errorf("picks %+v; want site 0 (+40) then site 3 (+20), then stop", picks)
	}
}

// plainGreedy is greedy without lazy evaluation, for comparison.
func plainGreedy(sets [][]uint32, pop []float64, k int) float64 {
	covered := make([]bool, len(pop))
	var total float64
	for r := 0; r < k; r++ {
		best, bg := -1, 0.0
		for s, set := range sets {
			var g float64
			for _, p := range set {
				if !covered[p] {
					g += pop[p]
				}
			}
			if g > bg {
				best, bg = s, g
			}
		}
		if best < 0 {
			break
		}
		for _, p := range sets[best] {
			covered[p] = true
		}
		total += bg
	}
	return total
}

func TestMaxCoverLazyEqualsGreedyAndBound(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(9))
	for trial := 0; trial < 200; trial++ {
		np, ns, k := 12, 7, 1+rng.Intn(3)
		pop := make([]float64, np)
		for i := range pop {
			pop[i] = float64(1 + rng.Intn(20))
		}
		sets := make([][]uint32, ns)
		for s := range sets {
			for p := 0; p < np; p++ {
				if rng.Intn(4) == 0 {
					sets[s] = append(sets[s], uint32(p))
				}
			}
		}
		picks := MaxCover(sets, pop, k)
		var got float64
		if len(picks) > 0 {
			got = picks[len(picks)-1].Cumulative
		}
		if want := plainGreedy(sets, pop, k); got != want {
			t.Fatalf("trial %d: CELF %v, plain greedy %v", trial, got, want)
		}
		// Brute-force optimum over all k-subsets.
		opt := 0.0
		var rec func(start, left int, cov []bool)
		rec = func(start, left int, cov []bool) {
			var v float64
			for p, c := range cov {
				if c {
					v += pop[p]
				}
			}
			opt = math.Max(opt, v)
			if left == 0 {
				return
			}
			for s := start; s < ns; s++ {
				c2 := append([]bool(nil), cov...)
				for _, p := range sets[s] {
					c2[p] = true
				}
				rec(s+1, left-1, c2)
			}
		}
		rec(0, k, make([]bool, np))
		if got < (1-1/math.E)*opt-1e-9 {
			t.Fatalf("trial %d: greedy %v below (1-1/e) of optimum %v", trial, got, opt)
		}
	}
}

func TestCoverSetsAndLeastLossOnToy(t *testing.T) {
	t.Parallel()
	g, ix := toyLine(t)
	var lon, lat []float64
	for i := 0; i < 4; i++ {
		lon, lat = append(lon, 120+0.001*float64(i)), append(lat, 30)
	}
	links, _ := ix.LinkAll(lon, lat, 50, 1)
	pi := NewPointIndex(ix, links, nil)
	var sites [][]Source
	for _, x := range lon {
		l, _ := ix.Nearest(x, 30, 50)
		sites = append(sites, ix.Sources(l))
	}
	th, _ := SecondsToTicks(300) // 5 minutes: exactly one edge of 300 s
	sets, err := CoverSets(g, pi, sites, th, nil, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{0, 1}, {0, 1, 2}, {1, 2}, {3}}
	for s := range want {
		got := map[uint32]bool{}
		for _, p := range sets[s] {
			got[p] = true
		}
		if len(got) != len(want[s]) {
			t.Errorf("site %d covers %v, want %v", s, sets[s], want[s])
			continue
		}
		for _, p := range want[s] {
			if !got[uint32(p)] {
				t.Errorf("site %d covers %v, want %v", s, sets[s], want[s])
			}
		}
	}
	pop := []float64{100, 50, 30, 20}
	// Existing facilities at sites 0, 1 and 3: 0 and 1 overlap on points 0
	// and 1, so closing 0 loses nobody; closing 1 loses point 2 (30);
	// closing 3 loses point 3 (20).
	rem := LeastLoss([][]uint32{sets[0], sets[1], sets[3]}, pop)
	if rem[0].Facility != 0 || rem[0].Loss != 0 || rem[1].Facility != 2 || rem[1].Loss != 20 || rem[2].Loss != 30 {
		t.Errorf("removals %+v; want facility 0 (0), facility 2 (20), facility 1 (30)", rem)
	}
	// With point 0 and 1 already covered, site 2 adds only point 2.
	skip := []bool{true, true, false, false}
	sets2, _ := CoverSets(g, pi, sites, th, skip, 1, nil)
	if len(sets2[2]) != 1 || sets2[2][0] != 2 {
		t.Errorf("site 2 with skip: %v, want [2]", sets2[2])
	}
}

func TestSyntheticRoadsAreRoadLike(t *testing.T) {
	t.Parallel()
	el := SyntheticRoads(120.0, 30.0, 120.05, 30.04, 80, 3)
	g, err := Build(el, BuildOptions{Profile: Walk})
	if err != nil {
		t.Fatal(err)
	}
	// About 60 × 56 intersections; a few fall off the largest component.
	if g.NumNodes() < len(el.Lon)*8/10 {
		t.Errorf("kept %d of %d nodes", g.NumNodes(), len(el.Lon))
	}
	var sum float64
	for _, l := range g.Length {
		sum += float64(l)
	}
	mean := sum / float64(len(g.Length))
	deg := float64(g.NumEdges()) / float64(g.NumNodes())
	if mean < 60 || mean > 120 || deg < 2.5 || deg > 4.2 {
		t.Errorf("mean edge %.0f m, out-degree %.2f; want a city grid (60–120 m, 2.5–4.2)", mean, deg)
	}
	big, err := TileGraph(g, 3*g.NumNodes())
	if err != nil {
		t.Fatal(err)
	}
	if big.NumNodes() < 3*g.NumNodes() || big.Stats.NodesDropped != 0 {
		t.Errorf("tiled graph has %d nodes, dropped %d; want ≥ %d in one component", big.NumNodes(), big.Stats.NodesDropped, 3*g.NumNodes())
	}
}
