package circle

import "math"

// Road graphs are mostly chains: about three quarters of the Hangzhou nodes
// only pass a street through (two neighbours, same both ways). Label
// searches run on the core (every other node) with one shortcut arc per
// chain, and chain nodes get their labels afterwards in two linear sweeps.
// This is exact: a path from a chain node either stays in its chain or
// leaves it through one of the two end nodes, whose core labels are exact.

const inf32 = math.MaxUint32

// chain is a run of pass-through nodes between core nodes a and b; its
// nodes are chainNode[lo:hi] in order from a to b.
type chain struct {
	a, b   uint32
	lo, hi uint32
}

// coreGraph is the contracted search graph plus what the sweeps need.
type coreGraph struct {
	first []uint32 // indexed by node id; chain nodes have empty ranges
	in    []Arc    // in-arcs of core nodes, chain shortcuts included
	// Per chain position (aligned with chainNode):
	chains    []chain
	chainNode []uint32
	fwd       []uint32 // time x_p → x_{p+1} (x_hi is b)
	back      []uint32 // time x_p → x_{p-1} (x_{lo-1} is a); inf32 on one-way chains
	fromA     []uint32 // time a → x_p along the chain
	fromB     []uint32 // time b → x_p along the chain; inf32 on one-way chains
	pos       []uint32 // node → chain position, NoNode for core nodes
	chainOf   []uint32 // chain position → chain index
	numCore   int
}

func add32(a, b uint32) uint32 {
	if a == inf32 || b == inf32 || a > inf32-b {
		return inf32
	}
	return a + b
}

// passThrough tells whether v only passes a street through and returns the
// node it continues to when entered from prev.
func passKind(g *Graph, v uint32) (twoWay, oneWay bool) {
	out := g.Head[g.FirstOut[v]:g.FirstOut[v+1]]
	in := g.In[g.FirstIn[v]:g.FirstIn[v+1]]
	switch {
	case len(out) == 2 && len(in) == 2:
		a, b := out[0], out[1]
		if a == b || a == v || b == v {
			return false, false
		}
		x, y := in[0].Node, in[1].Node
		return (x == a && y == b) || (x == b && y == a), false
	case len(out) == 1 && len(in) == 1:
		return false, out[0] != in[0].Node && out[0] != v && in[0].Node != v
	}
	return false, false
}

// coreGraph returns the contracted graph, building it on first use.
func (g *Graph) contracted() *coreGraph {
	g.coreOnce.Do(func() {
		if g.core == nil {
			g.buildCore()
		}
	})
	return g.core
}

// buildCore finds the chains and the contracted core graph.
func (g *Graph) buildCore() {
	n := uint32(g.NumNodes())
	two := make([]bool, n)
	one := make([]bool, n)
	for v := uint32(0); v < n; v++ {
		two[v], one[v] = passKind(g, v)
	}
	isCore := func(v uint32) bool { return !two[v] && !one[v] }
	c := &coreGraph{pos: make([]uint32, n)}
	for i := range c.pos {
		c.pos[i] = NoNode
	}
	walk := func(a, x uint32) {
		lo := uint32(len(c.chainNode))
		prev, cur := a, x
		var cumA uint32
		for !isCore(cur) && c.pos[cur] == NoNode {
			p := uint32(len(c.chainNode))
			c.pos[cur] = p
			c.chainNode = append(c.chainNode, cur)
			cumA = add32(cumA, edgeTime(g, prev, cur))
			c.fromA = append(c.fromA, cumA)
			bk := uint32(inf32)
			if two[cur] {
				bk = edgeTime(g, cur, prev)
			}
			c.back = append(c.back, bk)
			// Continue to the out-neighbour that is not where we came from.
			next := uint32(NoNode)
			for e := g.FirstOut[cur]; e < g.FirstOut[cur+1]; e++ {
				if h := g.Head[e]; h != prev || one[cur] {
					next = h
					break
				}
			}
			c.fwd = append(c.fwd, edgeTime(g, cur, next))
			prev, cur = cur, next
		}
		hi := uint32(len(c.chainNode))
		b := cur
		// fromB runs backwards: b → x_{hi-1} → … → x_lo.
		c.fromB = append(c.fromB, make([]uint32, hi-lo)...)
		cum := uint32(0)
		for p := hi; p > lo; p-- {
			q := p - 1
			if two[c.chainNode[q]] {
				var t uint32
				if p == hi {
					t = edgeTime(g, b, c.chainNode[q])
				} else {
					t = c.back[p]
				}
				cum = add32(cum, t)
			} else {
				cum = inf32
			}
			c.fromB[q] = cum
		}
		k := uint32(len(c.chains))
		for p := lo; p < hi; p++ {
			c.chainOf = append(c.chainOf, k)
		}
		c.chains = append(c.chains, chain{a: a, b: b, lo: lo, hi: hi})
	}
	for {
		for v := uint32(0); v < n; v++ {
			if !isCore(v) {
				continue
			}
			for e := g.FirstOut[v]; e < g.FirstOut[v+1]; e++ {
				if x := g.Head[e]; !isCore(x) && c.pos[x] == NoNode {
					// A one-way chain is entered only from its tail end.
					if one[x] && g.In[g.FirstIn[x]].Node != v {
						continue
					}
					walk(v, x)
				}
			}
		}
		// Rings made only of pass-through nodes have no core end: promote
		// one node and walk again.
		left := false
		for v := uint32(0); v < n; v++ {
			if !isCore(v) && c.pos[v] == NoNode {
				two[v], one[v] = false, false
				left = true
				break
			}
		}
		if !left {
			break
		}
	}
	// Core in-arcs: original arcs between core nodes plus chain shortcuts.
	cnt := make([]uint32, n+1)
	for v := uint32(0); v < n; v++ {
		if !isCore(v) {
			continue
		}
		c.numCore++
		for _, a := range g.In[g.FirstIn[v]:g.FirstIn[v+1]] {
			if isCore(a.Node) {
				cnt[v+1]++
			}
		}
	}
	type sc struct{ to, from, t uint32 }
	var shortcuts []sc
	for _, ch := range c.chains {
		last := ch.hi - 1
		if t := add32(c.fromA[last], c.fwd[last]); t != inf32 && ch.a != ch.b {
			shortcuts = append(shortcuts, sc{ch.b, ch.a, t})
		}
		if t := c.fromB[ch.lo]; t != inf32 && ch.a != ch.b {
			if bk := add32(t, c.back[ch.lo]); bk != inf32 {
				shortcuts = append(shortcuts, sc{ch.a, ch.b, bk})
			}
		}
	}
	for _, s := range shortcuts {
		cnt[s.to+1]++
	}
	for i := uint32(0); i < n; i++ {
		cnt[i+1] += cnt[i]
	}
	c.first = cnt
	c.in = make([]Arc, cnt[n])
	fill := append([]uint32(nil), cnt[:n]...)
	for v := uint32(0); v < n; v++ {
		if !isCore(v) {
			continue
		}
		for _, a := range g.In[g.FirstIn[v]:g.FirstIn[v+1]] {
			if isCore(a.Node) {
				c.in[fill[v]] = a
				fill[v]++
			}
		}
	}
	for _, s := range shortcuts {
		c.in[fill[s.to]] = Arc{Node: s.from, Time: s.t}
		fill[s.to]++
	}
	g.core = c
}

// chainOrder returns a node permutation (old id at each new position) that
// puts core nodes first in their current order and then every chain's
// nodes contiguously, so chain sweeps read and write memory in sequence.
func (g *Graph) chainOrder() []uint32 {
	c := g.core
	order := make([]uint32, 0, g.NumNodes())
	for v := uint32(0); v < uint32(g.NumNodes()); v++ {
		if c.pos[v] == NoNode {
			order = append(order, v)
		}
	}
	return append(order, c.chainNode...)
}
