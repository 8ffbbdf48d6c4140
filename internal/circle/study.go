package circle

import (
	"fmt"
)

// Study is a road graph with facilities and demand points linked to it
// once: what the web platform keeps per network, recomputing labels when
// the registry's facilities change.
type Study struct {
	Graph      *Graph
	Index      *Index
	Tiers      *Tiers
	Facilities []Facility
	FacLinks   []Link
	Demand     []Demand
	Links      []Link
	Linked     []bool // false when farther than the link distance from any road
	Far        []int  // indices of unlinked demand points
	Synthetic  bool   // set by callers that generated facilities or demand

	// Filled by Compute: labels per tier-file category and the derived
	// per demand point ticks (Times[category][point]).
	Labels *Labels
	Times  [][]uint16
}

// NewStudy links facilities and demand points to the graph. A facility
// farther than maxLinkMetres from every road is an error (it is probably
// outside the network's area); such demand points are listed in Far and
// count as unreached.
func NewStudy(g *Graph, tiers *Tiers, facilities []Facility, demand []Demand, maxLinkMetres float64) (*Study, error) {
	if !(maxLinkMetres > 0) {
		return nil, fmt.Errorf("挂接距离必须大于 0 / link distance must be > 0, got %v", maxLinkMetres)
	}
	if tiers == nil {
		tiers = DefaultTiers()
	}
	s := &Study{Graph: g, Index: NewIndex(g, 0), Tiers: tiers, Facilities: facilities, Demand: demand}
	known := map[string]bool{}
	for _, c := range tiers.Categories {
		known[c.ID] = true
	}
	flon, flat := make([]float64, len(facilities)), make([]float64, len(facilities))
	for i, f := range facilities {
		if !known[f.Category] {
			return nil, fmt.Errorf("设施 %s 的类别 %q 不在圈层定义中 / facility %s has category %q, not in the tier file", f.ID, f.Category, f.ID, f.Category)
		}
		flon[i], flat[i] = f.Lon, f.Lat
	}
	var far []int
	s.FacLinks, far = s.Index.LinkAll(flon, flat, maxLinkMetres, 0)
	if len(far) > 0 {
		f := facilities[far[0]]
		return nil, fmt.Errorf("%d 个设施离路网超过 %.0f 米（如 %s %s 位于 %.6f,%.6f），请检查坐标或路网范围 / %d facilities lie more than %.0f m from any road (e.g. %s %s at %.6f,%.6f): check coordinates or the network's extent",
			len(far), maxLinkMetres, f.ID, f.Category, f.Lon, f.Lat, len(far), maxLinkMetres, f.ID, f.Category, f.Lon, f.Lat)
	}
	dlon, dlat := make([]float64, len(demand)), make([]float64, len(demand))
	for i, d := range demand {
		dlon[i], dlat[i] = d.Lon, d.Lat
	}
	s.Links, s.Far = s.Index.LinkAll(dlon, dlat, maxLinkMetres, 0)
	s.Linked = make([]bool, len(demand))
	for i := range s.Linked {
		s.Linked[i] = true
	}
	for _, i := range s.Far {
		s.Linked[i] = false
	}
	return s, nil
}

// CategorySources groups facility seeds by category, in tier-file order.
func (s *Study) CategorySources() (names []string, srcs [][]Source) {
	idx := map[string]int{}
	for _, c := range s.Tiers.Categories {
		idx[c.ID] = len(names)
		names = append(names, c.ID)
		srcs = append(srcs, nil)
	}
	for i, f := range s.Facilities {
		c := idx[f.Category]
		srcs[c] = append(srcs[c], s.Index.Sources(s.FacLinks[i])...)
	}
	return
}

// Compute labels every category up to the largest threshold of the given
// tiers (all tiers when none are named) and derives each demand point's
// time to the nearest facility of every category.
func (s *Study) Compute(tierIDs []string, workers int, progress func(done, total int)) error {
	if len(tierIDs) == 0 {
		for _, t := range s.Tiers.Tiers {
			tierIDs = append(tierIDs, t.ID)
		}
	}
	var bound uint32
	for _, id := range tierIDs {
		tr, ok := s.Tiers.Tier(id)
		if !ok {
			return fmt.Errorf("未知圈层 %q / unknown tier %q", id, id)
		}
		th, err := SecondsToTicks(tr.Minutes * 60)
		if err != nil {
			return err
		}
		bound = max(bound, th)
	}
	names, srcs := s.CategorySources()
	lab, err := ComputeLabels(s.Graph, names, srcs, bound, workers, progress)
	if err != nil {
		return err
	}
	s.Labels = lab
	s.Times = DemandTicks(s.Index, lab, s.Links, s.Linked)
	return nil
}

// Coverage answers one tier over all units (after Compute).
func (s *Study) Coverage(tierID string) (*Coverage, error) {
	if s.Labels == nil {
		return nil, fmt.Errorf("请先调用 Compute / call Compute first")
	}
	tr, ok := s.Tiers.Tier(tierID)
	if !ok {
		return nil, fmt.Errorf("未知圈层 %q / unknown tier %q", tierID, tierID)
	}
	return ComputeCoverage(tr, s.Labels.Categories, s.Labels.Bound, s.Times, s.Demand)
}

// Minutes is demand point p's time to the nearest facility of category
// (after Compute); ok is false beyond the search bound or when unlinked.
func (s *Study) Minutes(category string, p int) (minutes float64, ok bool) {
	for c, n := range s.Labels.Categories {
		if n == category {
			if t := s.Times[c][p]; t != Unreached {
				return float64(t) / 600, true
			}
			return 0, false
		}
	}
	return 0, false
}

func (s *Study) population() []float64 {
	pop := make([]float64, len(s.Demand))
	for i, d := range s.Demand {
		pop[i] = d.Pop
	}
	return pop
}

// existing returns the seeds and facility indices of one category.
func (s *Study) existing(category string) (srcs [][]Source, idx []int) {
	for i, f := range s.Facilities {
		if f.Category == category {
			srcs = append(srcs, s.Index.Sources(s.FacLinks[i]))
			idx = append(idx, i)
		}
	}
	return
}

// SiteResult is the answer to "where to add k facilities".
type SiteResult struct {
	Picks         []Pick  // Site indexes the candidates given
	CoveredBefore float64 // population already within the threshold
	Total         float64 // all demand population
}

// Site chooses up to k of the candidate sites (each a set of seeds, e.g.
// Index.Sources of a linked point or {Node: v}) for new facilities of a
// category, maximising newly covered population within minutes.
func (s *Study) Site(category string, minutes float64, k int, candidates [][]Source, progress func(done, total int)) (*SiteResult, error) {
	th, err := SecondsToTicks(minutes * 60)
	if err != nil {
		return nil, err
	}
	if k <= 0 {
		return nil, fmt.Errorf("k 必须大于 0 / k must be > 0")
	}
	pi := NewPointIndex(s.Index, s.Links, s.Linked)
	ex, _ := s.existing(category)
	exSets, err := CoverSets(s.Graph, pi, ex, th, nil, 0, nil)
	if err != nil {
		return nil, err
	}
	pop := s.population()
	covered := make([]bool, len(pop))
	res := &SiteResult{}
	for _, set := range exSets {
		for _, p := range set {
			covered[p] = true
		}
	}
	for p, x := range pop {
		res.Total += x
		if covered[p] {
			res.CoveredBefore += x
		}
	}
	sets, err := CoverSets(s.Graph, pi, candidates, th, covered, 0, progress)
	if err != nil {
		return nil, err
	}
	res.Picks = MaxCover(sets, pop, k)
	return res, nil
}

// Removal ranks the existing facilities of a category by the population
// that would lose coverage within minutes if each closed alone, smallest
// first. Facility indexes Study.Facilities.
func (s *Study) Removal(category string, minutes float64) ([]Removal, error) {
	th, err := SecondsToTicks(minutes * 60)
	if err != nil {
		return nil, err
	}
	pi := NewPointIndex(s.Index, s.Links, s.Linked)
	ex, idx := s.existing(category)
	sets, err := CoverSets(s.Graph, pi, ex, th, nil, 0, nil)
	if err != nil {
		return nil, err
	}
	rm := LeastLoss(sets, s.population())
	for i := range rm {
		rm[i].Facility = idx[rm[i].Facility]
	}
	return rm, nil
}
