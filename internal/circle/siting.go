package circle

import (
	"container/heap"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
)

// PointIndex lists, per node, the linked demand points that can start
// there and their ticks to the node, for searches that grow from a site.
type PointIndex struct {
	first []uint32
	point []uint32
	ticks []uint32
}

// NewPointIndex indexes linked points by their exit nodes. linked may be nil.
func NewPointIndex(ix *Index, links []Link, linked []bool) *PointIndex {
	n := ix.g.NumNodes()
	pi := &PointIndex{first: make([]uint32, n+1)}
	each := func(f func(node, p, t uint32)) {
		for p, l := range links {
			if linked != nil && !linked[p] {
				continue
			}
			a, ta, b, tb := ix.Exits(l)
			if a != NoNode {
				f(a, uint32(p), ta)
			}
			if b != NoNode {
				f(b, uint32(p), tb)
			}
		}
	}
	each(func(v, _, _ uint32) { pi.first[v+1]++ })
	for i := 0; i < n; i++ {
		pi.first[i+1] += pi.first[i]
	}
	pos := append([]uint32(nil), pi.first[:n]...)
	pi.point = make([]uint32, pi.first[n])
	pi.ticks = make([]uint32, pi.first[n])
	each(func(v, p, t uint32) { pi.point[pos[v]], pi.ticks[pos[v]] = p, t; pos[v]++ })
	return pi
}

// sparseDial is a bounded bucket-queue search that resets only what it
// touched, for many small searches (one per candidate site).
type sparseDial struct {
	g       *Graph
	dist    []uint32
	touched []uint32
	buckets [][]uint32
	mask    uint32
}

func newSparseDial(g *Graph, bound uint32) *sparseDial {
	d := newDial(g, bound)
	s := &sparseDial{g: g, dist: make([]uint32, g.NumNodes()), buckets: make([][]uint32, len(d.head)), mask: d.mask}
	for i := range s.dist {
		s.dist[i] = math.MaxUint32
	}
	return s
}

// within calls f for every node reaching a source within bound.
func (s *sparseDial) within(src []Source, bound uint32, f func(v, d uint32)) {
	for _, v := range s.touched {
		s.dist[v] = math.MaxUint32
	}
	s.touched = s.touched[:0]
	maxOff := uint32(0)
	for _, x := range src {
		if x.Offset <= bound && x.Offset < s.dist[x.Node] {
			if s.dist[x.Node] == math.MaxUint32 {
				s.touched = append(s.touched, x.Node)
			}
			s.dist[x.Node] = x.Offset
			maxOff = max(maxOff, x.Offset)
		}
	}
	// Few sources per site: seed them all when they fit the ring, else
	// fall back to seeding by offset order through the loop below.
	pending := 0
	seeded := maxOff <= s.mask
	if seeded {
		for _, v := range s.touched {
			d := s.dist[v]
			s.buckets[d&s.mask] = append(s.buckets[d&s.mask], v)
			pending++
		}
	}
	first, in := s.g.FirstIn, s.g.In
	for cur := uint32(0); cur <= bound; cur++ {
		if !seeded {
			for _, x := range src {
				if x.Offset == cur && s.dist[x.Node] == cur {
					s.buckets[cur&s.mask] = append(s.buckets[cur&s.mask], x.Node)
					pending++
				}
			}
			if cur >= maxOff {
				seeded = true
			}
		}
		if pending == 0 {
			if seeded {
				break
			}
			continue
		}
		b := &s.buckets[cur&s.mask]
		for i := 0; i < len(*b); i++ {
			v := (*b)[i]
			if s.dist[v] != cur {
				continue
			}
			f(v, cur)
			for e := first[v]; e < first[v+1]; e++ {
				nd := cur + in[e].Time
				u := in[e].Node
				if nd <= bound && nd < s.dist[u] {
					if s.dist[u] == math.MaxUint32 {
						s.touched = append(s.touched, u)
					}
					s.dist[u] = nd
					s.buckets[nd&s.mask] = append(s.buckets[nd&s.mask], u)
					pending++
				}
			}
		}
		pending -= len(*b)
		*b = (*b)[:0]
	}
	// Drop anything left in the ring (sources past the bound never enter).
	for i := range s.buckets {
		s.buckets[i] = s.buckets[i][:0]
	}
}

// CoverSets returns, for each site, the demand points whose time to it is
// within threshold ticks. Points with skip[p] set are left out (already
// covered), which keeps the sets small.
func CoverSets(g *Graph, pi *PointIndex, sites [][]Source, threshold uint32, skip []bool, workers int, progress func(done, total int)) ([][]uint32, error) {
	if threshold == 0 || threshold > MaxBoundTicks {
		return nil, fmt.Errorf("circle: 阈值无效 / invalid threshold %d ticks", threshold)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	sets := make([][]uint32, len(sites))
	var next, done atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	npts := 0
	for _, p := range pi.point {
		npts = max(npts, int(p)+1)
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sd := newSparseDial(g, threshold)
			best := make([]uint32, npts)
			for i := range best {
				best[i] = math.MaxUint32
			}
			var hit []uint32
			for {
				c := int(next.Add(1) - 1)
				if c >= len(sites) {
					return
				}
				hit = hit[:0]
				sd.within(sites[c], threshold, func(v, d uint32) {
					for j := pi.first[v]; j < pi.first[v+1]; j++ {
						p := pi.point[j]
						if skip != nil && skip[p] {
							continue
						}
						t := d + pi.ticks[j]
						if t <= threshold {
							if best[p] == math.MaxUint32 {
								hit = append(hit, p)
							}
							best[p] = min(best[p], t)
						}
					}
				})
				set := make([]uint32, len(hit))
				copy(set, hit)
				for _, p := range hit {
					best[p] = math.MaxUint32
				}
				sets[c] = set
				k := int(done.Add(1))
				if progress != nil && (k%256 == 0 || k == len(sites)) {
					mu.Lock()
					progress(k, len(sites))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return sets, nil
}

// Pick is one chosen site and what it added.
type Pick struct {
	Site       int     // index into the candidate list
	Gain       float64 // newly covered population
	Cumulative float64
}

type celfItem struct {
	site  int
	gain  float64
	round int // pick round in which gain was computed
}
type celfHeap []celfItem

func (h celfHeap) Len() int { return len(h) }
func (h celfHeap) Less(i, j int) bool {
	if h[i].gain != h[j].gain {
		return h[i].gain > h[j].gain
	}
	return h[i].site < h[j].site // deterministic ties
}
func (h celfHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *celfHeap) Push(x any)   { *h = append(*h, x.(celfItem)) }
func (h *celfHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// MaxCover picks up to k sites maximising newly covered population, greedy
// with lazy evaluation (CELF): coverage is submodular, so a stale gain is an
// upper bound and a site whose fresh gain still tops the heap is the greedy
// choice; this keeps the (1 − 1/e) guarantee. It stops early when no site
// adds anyone.
func MaxCover(sets [][]uint32, pop []float64, k int) []Pick {
	covered := make([]bool, len(pop))
	gain := func(s int) float64 {
		var g float64
		for _, p := range sets[s] {
			if !covered[p] {
				g += pop[p]
			}
		}
		return g
	}
	h := make(celfHeap, 0, len(sets))
	for s := range sets {
		h = append(h, celfItem{site: s, gain: gain(s), round: 0})
	}
	heap.Init(&h)
	var picks []Pick
	var total float64
	for round := 0; round < k && h.Len() > 0; {
		top := heap.Pop(&h).(celfItem)
		if top.round != round {
			top.gain, top.round = gain(top.site), round
			heap.Push(&h, top)
			continue
		}
		if top.gain <= 0 {
			break
		}
		for _, p := range sets[top.site] {
			covered[p] = true
		}
		total += top.gain
		picks = append(picks, Pick{Site: top.site, Gain: top.gain, Cumulative: total})
		round++
	}
	return picks
}

// Removal is the coverage lost if one existing facility closed.
type Removal struct {
	Facility int
	Loss     float64 // population covered by this facility alone
}

// LeastLoss ranks existing facilities by the population that only they
// cover within the threshold, smallest loss first. sets must be the full
// cover sets (no skip).
func LeastLoss(sets [][]uint32, pop []float64) []Removal {
	count := make([]uint16, len(pop))
	for _, s := range sets {
		for _, p := range s {
			if count[p] < math.MaxUint16 {
				count[p]++
			}
		}
	}
	out := make([]Removal, len(sets))
	for f, s := range sets {
		var loss float64
		for _, p := range s {
			if count[p] == 1 {
				loss += pop[p]
			}
		}
		out[f] = Removal{Facility: f, Loss: loss}
	}
	sortRemovals(out)
	return out
}

func sortRemovals(r []Removal) {
	sort.SliceStable(r, func(i, j int) bool { return r[i].Loss < r[j].Loss })
}
