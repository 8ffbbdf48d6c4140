package circle

import (
	"math/rand"
	"runtime"
	"sync"
	"testing"
)

var bigOnce sync.Once
var bigGraph *Graph

// million returns a graph of at least 1,000,000 nodes: Hangzhou tiled when
// the shared data exists, else a synthetic road grid.
func million(b *testing.B) *Graph {
	bigOnce.Do(func() {
		var err error
		if FindRoadsDir() != "" {
			bigGraph, err = TileGraph(hangzhou(b), 1000000)
		} else {
			el := SyntheticRoads(119.5, 29.5, 120.33, 30.23, 80, 1)
			bigGraph, err = Build(el, BuildOptions{Profile: Walk})
		}
		if err != nil {
			b.Fatal(err)
		}
	})
	return bigGraph
}

func benchLabels(b *testing.B, g *Graph, ncat int) {
	names, srcs := SyntheticFacilities(g, ncat, 1)
	bound, _ := SecondsToTicks(30 * 60)
	b.ResetTimer()
	var lab *Labels
	for i := 0; i < b.N; i++ {
		var err error
		if lab, err = ComputeLabels(g, names, srcs, bound, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(g.NumNodes()), "nodes")
	b.ReportMetric(float64(lab.Bytes())/float64(g.NumNodes()), "label-bytes/node")
	b.ReportMetric(float64(lab.ScratchBytes)/float64(g.NumNodes()), "scratch-bytes/node")
	b.ReportMetric(float64(g.Bytes())/float64(g.NumNodes()), "graph-bytes/node")
	b.Logf("%d nodes × %d categories on %d cores", g.NumNodes(), ncat, runtime.GOMAXPROCS(0))
}

func BenchmarkLabels30Hangzhou(b *testing.B) { benchLabels(b, hangzhou(b), 30) }

func BenchmarkLabels30Million(b *testing.B) { benchLabels(b, million(b), 30) }

func benchPoints(g *Graph, n int, seed int64) (lon, lat []float64) {
	rng := rand.New(rand.NewSource(seed))
	lon, lat = make([]float64, n), make([]float64, n)
	for i := range lon {
		v := rng.Intn(g.NumNodes())
		lon[i] = g.Lon[v] + (rng.Float64()-0.5)*0.004
		lat[i] = g.Lat[v] + (rng.Float64()-0.5)*0.004
	}
	return
}

func BenchmarkLink1Million(b *testing.B) {
	g := million(b)
	ix := NewIndex(g, 0)
	lon, lat := benchPoints(g, 1000000, 2)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix.LinkAll(lon, lat, 500, 0)
	}
	b.ReportMetric(1e6, "points")
}

func BenchmarkSiting10kCandidatesK20(b *testing.B) {
	g := million(b)
	ix := NewIndex(g, 0)
	lon, lat := benchPoints(g, 1000000, 3)
	links, far := ix.LinkAll(lon, lat, 500, 0)
	linked := make([]bool, len(links))
	for i := range linked {
		linked[i] = true
	}
	for _, i := range far {
		linked[i] = false
	}
	rng := rand.New(rand.NewSource(4))
	pop := make([]float64, len(links))
	for i := range pop {
		pop[i] = float64(20 + rng.Intn(200))
	}
	cands := make([][]Source, 10000)
	for i := range cands {
		cands[i] = []Source{{Node: uint32(rng.Intn(g.NumNodes()))}}
	}
	th, _ := SecondsToTicks(15 * 60)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pi := NewPointIndex(ix, links, linked)
		sets, err := CoverSets(g, pi, cands, th, nil, 0, nil)
		if err != nil {
			b.Fatal(err)
		}
		picks := MaxCover(sets, pop, 20)
		if len(picks) != 20 {
			b.Fatalf("%d picks", len(picks))
		}
	}
}
