package circle

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
)

// Demand is a point where people live: a building, a community centre or a
// grid cell, with the division code of its unit.
type Demand struct {
	ID   string
	Unit string // opaque unit code, e.g. a 12-digit village/community code
	Lon  float64
	Lat  float64
	Pop  float64
}

// DemandTicks returns, per label category and demand point, the ticks to
// the nearest facility (Unreached beyond the bound or when not linked).
func DemandTicks(ix *Index, lab *Labels, links []Link, linked []bool) [][]uint16 {
	out := make([][]uint16, len(lab.D))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for c := range lab.D {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			t := make([]uint16, len(links))
			for i, l := range links {
				t[i] = Unreached
				if linked != nil && !linked[i] {
					continue
				}
				if d := ix.PointTicks(lab, c, l); d != math.MaxUint32 {
					t[i] = uint16(d)
				}
			}
			out[c] = t
		}()
	}
	wg.Wait()
	return out
}

// UnitCoverage sums a unit's (or a subtree's) demand under one tier.
type UnitCoverage struct {
	Unit        string
	Points      int
	Pop         float64
	CoveredPop  []float64 // per tier category: population within the threshold
	CoveredPts  []int     // per tier category: demand points within the threshold
	CompletePop float64   // Σ population × share of the tier's categories reached
}

// PointShare is the share of demand points (not people) within the
// threshold for tier category i, for data without population.
func (u *UnitCoverage) PointShare(i int) float64 {
	if u.Points == 0 {
		return 0
	}
	return float64(u.CoveredPts[i]) / float64(u.Points)
}

// Share is the population share within the threshold for tier category i.
func (u *UnitCoverage) Share(i int) float64 {
	if u.Pop == 0 {
		return 0
	}
	return u.CoveredPop[i] / u.Pop
}

// Completeness is the population-weighted share of the tier's required
// categories reachable within its threshold.
func (u *UnitCoverage) Completeness() float64 {
	if u.Pop == 0 {
		return 0
	}
	return u.CompletePop / u.Pop
}

func (u *UnitCoverage) add(o *UnitCoverage) {
	u.Points += o.Points
	u.Pop += o.Pop
	u.CompletePop += o.CompletePop
	for i := range u.CoveredPop {
		u.CoveredPop[i] += o.CoveredPop[i]
		u.CoveredPts[i] += o.CoveredPts[i]
	}
}

// Coverage is the answer for one tier over all units.
type Coverage struct {
	Tier      *Tier
	Threshold uint32 // ticks; a time equal to it counts as within
	Units     []UnitCoverage

	catIndex []int // tier category → label category, -1 when absent
	times    [][]uint16
	demand   []Demand
}

// ComputeCoverage sums, per unit, the population within the tier's
// threshold of each of its categories. labelCats names the rows of times.
// A tier category with no labels (no facility at all) covers nobody.
func ComputeCoverage(tier *Tier, labelCats []string, bound uint32, times [][]uint16, demand []Demand) (*Coverage, error) {
	th, err := SecondsToTicks(tier.Minutes * 60)
	if err != nil {
		return nil, err
	}
	if th > bound {
		return nil, fmt.Errorf("圈层 %s 的阈值 %.0f 分钟超过标签搜索上限 %.1f 分钟 / tier %s threshold %.0f min exceeds the label bound %.1f min",
			tier.ID, tier.Minutes, float64(bound)/600, tier.ID, tier.Minutes, float64(bound)/600)
	}
	cv := &Coverage{Tier: tier, Threshold: th, times: times, demand: demand}
	for _, c := range tier.Categories {
		k := -1
		for i, n := range labelCats {
			if n == c {
				k = i
			}
		}
		cv.catIndex = append(cv.catIndex, k)
	}
	byUnit := map[string]*UnitCoverage{}
	nc := len(tier.Categories)
	for p, d := range demand {
		if !(d.Pop >= 0) {
			return nil, fmt.Errorf("需求点 %s 的人口无效 / demand point %s has invalid population %v", d.ID, d.ID, d.Pop)
		}
		u := byUnit[d.Unit]
		if u == nil {
			u = &UnitCoverage{Unit: d.Unit, CoveredPop: make([]float64, nc), CoveredPts: make([]int, nc)}
			byUnit[d.Unit] = u
		}
		u.Points++
		u.Pop += d.Pop
		reached := 0
		for i, k := range cv.catIndex {
			if k >= 0 && uint32(times[k][p]) <= th {
				u.CoveredPop[i] += d.Pop
				u.CoveredPts[i]++
				reached++
			}
		}
		if nc > 0 {
			u.CompletePop += d.Pop * float64(reached) / float64(nc)
		}
	}
	for _, u := range byUnit {
		cv.Units = append(cv.Units, *u)
	}
	sort.Slice(cv.Units, func(i, j int) bool { return cv.Units[i].Unit < cv.Units[j].Unit })
	return cv, nil
}

// Subtree sums the units whose code starts with prefix ("" is everything).
func (cv *Coverage) Subtree(prefix string) UnitCoverage {
	out := UnitCoverage{Unit: prefix, CoveredPop: make([]float64, len(cv.Tier.Categories)), CoveredPts: make([]int, len(cv.Tier.Categories))}
	for i := range cv.Units {
		u := &cv.Units[i]
		if len(u.Unit) >= len(prefix) && u.Unit[:len(prefix)] == prefix {
			out.add(u)
		}
	}
	return out
}

// Rollup sums units by the first n characters of their code (division
// levels: 2 province, 4 city, 6 county, 9 township, 12 village).
func (cv *Coverage) Rollup(n int) []UnitCoverage {
	m := map[string]*UnitCoverage{}
	var keys []string
	for i := range cv.Units {
		u := &cv.Units[i]
		k := u.Unit
		if len(k) > n {
			k = k[:n]
		}
		a := m[k]
		if a == nil {
			a = &UnitCoverage{Unit: k, CoveredPop: make([]float64, len(cv.Tier.Categories)), CoveredPts: make([]int, len(cv.Tier.Categories))}
			m[k] = a
			keys = append(keys, k)
		}
		a.add(u)
	}
	sort.Strings(keys)
	out := make([]UnitCoverage, len(keys))
	for i, k := range keys {
		out[i] = *m[k]
	}
	return out
}

// Gap is a unit missing a category: who is outside the threshold and how far.
type Gap struct {
	Unit       string
	Category   string
	Share      float64 // population share within the threshold
	MissingPop float64 // population outside it
	// MedianMinutes is the population-weighted median time of the people
	// outside the threshold; +Inf when most of them reach no facility
	// within the search bound.
	MedianMinutes float64
	ExcessMinutes float64 // MedianMinutes minus the threshold
}

// Gaps lists, for the units the tier applies to, every category whose share
// is below minShare (1 lists every unit with anyone uncovered), largest
// missing population first.
func (cv *Coverage) Gaps(minShare float64) []Gap {
	byUnit := map[string][]int{}
	for p, d := range cv.demand {
		byUnit[d.Unit] = append(byUnit[d.Unit], p)
	}
	var out []Gap
	thMin := float64(cv.Threshold) / 600
	for ui := range cv.Units {
		u := &cv.Units[ui]
		if !cv.Tier.AppliesTo(u.Unit) || u.Pop == 0 {
			continue
		}
		for i, c := range cv.Tier.Categories {
			if u.Share(i) >= minShare || u.Pop-u.CoveredPop[i] <= 0 {
				continue
			}
			type tp struct{ t, pop float64 }
			var miss []tp
			for _, p := range byUnit[u.Unit] {
				t := math.Inf(1)
				if k := cv.catIndex[i]; k >= 0 && cv.times[k][p] != Unreached {
					t = float64(cv.times[k][p]) / 600
				}
				if t > thMin && cv.demand[p].Pop > 0 {
					miss = append(miss, tp{t, cv.demand[p].Pop})
				}
			}
			sort.Slice(miss, func(a, b int) bool { return miss[a].t < miss[b].t })
			var tot, acc float64
			for _, m := range miss {
				tot += m.pop
			}
			med := math.Inf(1)
			for _, m := range miss {
				acc += m.pop
				if acc >= tot/2 {
					med = m.t
					break
				}
			}
			out = append(out, Gap{Unit: u.Unit, Category: c, Share: u.Share(i), MissingPop: u.Pop - u.CoveredPop[i],
				MedianMinutes: med, ExcessMinutes: med - thMin})
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].MissingPop != out[b].MissingPop {
			return out[a].MissingPop > out[b].MissingPop
		}
		if out[a].Unit != out[b].Unit {
			return out[a].Unit < out[b].Unit
		}
		return out[a].Category < out[b].Category
	})
	return out
}
