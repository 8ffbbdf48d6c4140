package circle

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
)

// Unreached is the label of a node with no facility within the bound.
const Unreached = math.MaxUint16

// MaxBoundTicks is the largest search bound a uint16 label can hold
// (6,553.4 s, about 109 minutes).
const MaxBoundTicks = Unreached - 1

// Source seeds a search: a facility reached from Node after Offset ticks
// (the rest of its edge plus its off-network leg).
type Source struct {
	Node   uint32
	Offset uint32
}

// Labels holds, per category, the travel time in ticks (deciseconds) from
// every node to the nearest facility of that category, Unreached when more
// than Bound. 30 categories take 60 bytes per node.
type Labels struct {
	Bound      uint32
	Categories []string
	D          [][]uint16 // D[category][node]
	// ScratchBytes is the working memory the searches held besides the
	// labels (bucket rings, entry pools), summed over workers.
	ScratchBytes int64
}

// Bytes is the memory held by the label arrays.
func (l *Labels) Bytes() int64 {
	var b int64
	for _, d := range l.D {
		b += int64(len(d)) * 2
	}
	return b
}

// SecondsToTicks converts a threshold in seconds to ticks, rejecting values
// that are not positive or do not fit a label.
func SecondsToTicks(s float64) (uint32, error) {
	if !(s > 0) || math.IsInf(s, 0) {
		return 0, fmt.Errorf("circle: 阈值必须大于 0 / threshold must be > 0, got %v s", s)
	}
	t := math.Round(s * TicksPerSecond)
	if t > MaxBoundTicks {
		return 0, fmt.Errorf("circle: 阈值过大（最多 %.0f 分钟）/ threshold too large (at most %.0f minutes), got %v s",
			MaxBoundTicks/600.0, MaxBoundTicks/600.0, s)
	}
	return uint32(t), nil
}

// ComputeLabels runs one bounded multi-source search per category, the
// categories spread over workers goroutines (0 means GOMAXPROCS). progress,
// if not nil, is called after each category finishes.
func ComputeLabels(g *Graph, names []string, sources [][]Source, bound uint32, workers int, progress func(done, total int)) (*Labels, error) {
	if len(names) != len(sources) {
		return nil, fmt.Errorf("circle: 类别名与设施组数量不一致 / %d names for %d source sets", len(names), len(sources))
	}
	if bound == 0 || bound > MaxBoundTicks {
		return nil, fmt.Errorf("circle: 搜索上限无效 / search bound %d ticks outside 1..%d", bound, MaxBoundTicks)
	}
	n := uint32(g.NumNodes())
	for c, ss := range sources {
		for _, s := range ss {
			if s.Node >= n {
				return nil, fmt.Errorf("circle: 类别 %s 的设施节点 %d 不在路网中 / category %s: facility node %d is not in the graph", names[c], s.Node, names[c], s.Node)
			}
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > len(sources) {
		workers = len(sources)
	}
	l := &Labels{Bound: bound, Categories: append([]string(nil), names...), D: make([][]uint16, len(sources))}
	var next, done atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	var scratch atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := newDial(g, bound)
			defer func() { scratch.Add(q.Scratch) }()
			for {
				c := int(next.Add(1) - 1)
				if c >= len(sources) {
					return
				}
				d := make([]uint16, n)
				q.labels(sources[c], d)
				l.D[c] = d
				k := int(done.Add(1))
				if progress != nil {
					mu.Lock()
					progress(k, len(sources))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	l.ScratchBytes = scratch.Load()
	return l, nil
}

// dial is a circular bucket queue (Dial's algorithm): with integer edge
// times, buckets indexed by distance make push and pop O(1), and one ring
// sized by the longest useful edge serves the whole search. Buckets are
// singly linked lists threaded through one entry pool, so a push is a
// sequential write rather than an append to one of thousands of slices.
type dial struct {
	g     *Graph
	c     *coreGraph
	bound uint32
	mask  uint32
	head  []uint32 // per bucket: index of the newest entry, noEntry if empty
	pool  []entry
	srcs  []Source
	// chainSrc holds, per chain position, the smallest source offset there.
	chainSrc []uint32
	touched  []uint32
	// scratch bytes held, for memory reports
	Scratch int64
}

type entry struct {
	node, next uint32
}

const noEntry = math.MaxUint32

func newDial(g *Graph, bound uint32) *dial {
	c := g.contracted()
	var maxT uint32
	for _, a := range c.in {
		if a.Time <= bound && a.Time > maxT {
			maxT = a.Time
		}
	}
	size := uint32(1)
	for size <= maxT {
		size *= 2
	}
	q := &dial{g: g, c: c, bound: bound, mask: size - 1, head: make([]uint32, size),
		chainSrc: make([]uint32, len(c.chainNode))}
	for i := range q.head {
		q.head[i] = noEntry
	}
	for i := range q.chainSrc {
		q.chainSrc[i] = inf32
	}
	return q
}

// labels writes the bounded distance to the nearest source into d: a
// bucket-queue search on the core graph, then the chain sweeps.
func (q *dial) labels(src []Source, d []uint16) {
	for i := range d {
		d[i] = Unreached
	}
	c := q.c
	// Sources on chain nodes seed both chain ends and are remembered for
	// the sweeps.
	q.srcs = q.srcs[:0]
	q.touched = q.touched[:0]
	for _, s := range src {
		p := c.pos[s.Node]
		if p == NoNode {
			q.srcs = append(q.srcs, s)
			continue
		}
		if s.Offset < q.chainSrc[p] {
			if q.chainSrc[p] == inf32 {
				q.touched = append(q.touched, p)
			}
			q.chainSrc[p] = s.Offset
		}
		ch := c.chains[c.chainOf[p]]
		if t := add32(c.fromA[p], s.Offset); t != inf32 {
			q.srcs = append(q.srcs, Source{Node: ch.a, Offset: t})
		}
		if t := add32(c.fromB[p], s.Offset); t != inf32 {
			q.srcs = append(q.srcs, Source{Node: ch.b, Offset: t})
		}
	}
	// Sources are injected in offset order so that offsets larger than the
	// bucket ring never wrap onto live buckets.
	sort.Slice(q.srcs, func(i, j int) bool { return q.srcs[i].Offset < q.srcs[j].Offset })
	srcs := q.srcs
	for len(srcs) > 0 && srcs[len(srcs)-1].Offset > q.bound {
		srcs = srcs[:len(srcs)-1]
	}
	first, in := c.first, c.in
	bound, mask, head := q.bound, q.mask, q.head
	// Popped entries go on a free list threaded through next, so the pool
	// only grows to the largest frontier and stays in cache.
	pool := q.pool[:0]
	free := uint32(noEntry)
	push := func(v, b uint32) {
		i := free
		if i != noEntry {
			free = pool[i].next
			pool[i] = entry{v, head[b]}
		} else {
			i = uint32(len(pool))
			pool = append(pool, entry{v, head[b]})
		}
		head[b] = i
	}
	live := 0
	si := 0
	for cur := uint32(0); cur <= bound; cur++ {
		b := cur & mask
		for si < len(srcs) && srcs[si].Offset == cur {
			v := srcs[si].Node
			if uint32(d[v]) > cur {
				d[v] = uint16(cur)
				push(v, b)
				live++
			}
			si++
		}
		if live == 0 {
			if si == len(srcs) {
				break
			}
			cur = srcs[si].Offset - 1 // nothing queued: jump to the next source
			continue
		}
		for head[b] != noEntry {
			i := head[b]
			v := pool[i].node
			head[b] = pool[i].next
			pool[i].next = free
			free = i
			live--
			if uint32(d[v]) != cur {
				continue // stale: settled earlier with a smaller time
			}
			for _, a := range in[first[v]:first[v+1]] {
				nd := cur + a.Time
				if nd <= bound && nd < uint32(d[a.Node]) {
					d[a.Node] = uint16(nd)
					push(a.Node, nd&mask)
					live++
				}
			}
		}
	}
	// The ring is empty again: every entry had a time ≤ bound and was popped.
	q.pool = pool[:0]
	q.Scratch = int64(cap(pool))*8 + int64(len(head))*4 + int64(len(q.chainSrc))*4
	q.sweep(d)
	for _, p := range q.touched {
		q.chainSrc[p] = inf32
	}
}

// sweep labels chain nodes: walking towards a (one pass from the a end)
// and towards b (one pass from the b end), meeting chain sources on the way.
func (q *dial) sweep(d []uint16) {
	c := q.c
	bound := q.bound
	lab := func(x uint16) uint32 {
		if x == Unreached {
			return inf32
		}
		return uint32(x)
	}
	for _, ch := range c.chains {
		// Towards b: value at x_p is min(own source, fwd[p] + value at x_{p+1}).
		val := lab(d[ch.b])
		for p := ch.hi; p > ch.lo; {
			p--
			val = add32(val, c.fwd[p])
			if s := q.chainSrc[p]; s < val {
				val = s
			}
			if val <= bound {
				d[c.chainNode[p]] = uint16(val)
			}
		}
		// Towards a (two-way chains only; back is inf32 on one-way ones).
		val = lab(d[ch.a])
		for p := ch.lo; p < ch.hi; p++ {
			val = add32(val, c.back[p])
			if s := q.chainSrc[p]; s < val {
				val = s
			}
			if val <= bound {
				if x := c.chainNode[p]; val < lab(d[x]) {
					d[x] = uint16(val)
				}
			}
		}
	}
}
