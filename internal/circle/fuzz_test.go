package circle

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

func FuzzReadCSV(f *testing.F) {
	nodes, err := os.ReadFile("testdata/tiny/nodes.csv")
	if err != nil {
		f.Fatal(err)
	}
	edges, err := os.ReadFile("testdata/tiny/edges.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(nodes, edges)
	f.Add([]byte(goodNodes), []byte("from,to,length_m\n1,2,NaN\n"))
	f.Add([]byte("node,lon,lat\n1,120,30\n2,120.001,30\n"), []byte("from,to,length_m,car_duration_s\n1,2,5,0.5\n2,1,5,0.5\n"))
	f.Fuzz(func(t *testing.T, nodes, edges []byte) {
		el, err := ReadCSV(bytes.NewReader(nodes), "nodes.csv", bytes.NewReader(edges), "edges.csv")
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error without file and line: %v", err)
			}
			return
		}
		g, err := Build(el, BuildOptions{Profile: Walk})
		if err != nil {
			return
		}
		// Whatever was accepted must give a consistent graph and exact labels.
		if g.NumNodes()+g.Stats.NodesDropped != len(el.Lon) {
			t.Fatalf("kept %d + dropped %d != %d nodes", g.NumNodes(), g.Stats.NodesDropped, len(el.Lon))
		}
		src := []Source{{Node: 0}}
		lab, err := ComputeLabels(g, []string{"x"}, [][]Source{src}, 6000, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkLabels(t, g, lab, 0, src)
	})
}

func FuzzReadOSMXML(f *testing.F) {
	small, err := os.ReadFile("testdata/small.osm")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(small)
	f.Add([]byte(`<osm><node id="1" lat="30" lon="120"/><node id="2" lat="30.001" lon="120"/><way id="3"><nd ref="1"/><nd ref="2"/><tag k="highway" v="steps"/></way></osm>`))
	f.Add([]byte(`<osm></osm>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		data, err := ReadOSMXML(bytes.NewReader(doc), "f.osm")
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error without file: %v", err)
			}
			return
		}
		for _, p := range []Profile{Walk, Drive} {
			el, err := OSMEdgeList(data, "f.osm", p, 0)
			if err != nil {
				continue
			}
			for e := range el.From {
				if el.From[e] == el.To[e] || !(el.Length[e] >= 0) || !(el.Seconds[e] >= 0) {
					t.Fatalf("%s: bad edge %d: %d→%d length %v time %v", p, e, el.From[e], el.To[e], el.Length[e], el.Seconds[e])
				}
			}
			if _, err := Build(el, BuildOptions{Profile: p}); err != nil {
				t.Fatalf("%s: an accepted OSM edge list failed to build: %v", p, err)
			}
		}
	})
}
