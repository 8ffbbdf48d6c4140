package circle

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func edgeSet(el *EdgeList) map[[2]int64]bool {
	m := map[[2]int64]bool{}
	for e := range el.From {
		m[[2]int64{el.ExtID[el.From[e]], el.ExtID[el.To[e]]}] = true
	}
	return m
}

func TestOSMProfiles(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/small.osm")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := ReadOSMXML(f, "small.osm")
	if err != nil {
		t.Fatal(err)
	}
	walk, err := OSMEdgeList(data, "small.osm", Walk, 0)
	if err != nil {
		t.Fatal(err)
	}
	drive, err := OSMEdgeList(data, "small.osm", Drive, 0)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		from, to    int64
		walk, drive bool
		why         string
	}{
		{1, 2, true, true, "one-way residential, forward"},
		{2, 1, true, false, "one-way residential: pedestrians may walk against it, cars may not"},
		{2, 3, true, true, "one-way residential, second segment"},
		{3, 2, true, false, "one-way residential, second segment backwards"},
		{3, 4, true, false, "footway is walk-only"},
		{4, 3, true, false, "footway is walk-only"},
		{4, 5, false, true, "motorway is drive-only and implied one-way"},
		{5, 4, false, false, "motorway backwards"},
		{6, 5, true, true, "oneway=-1 runs against the way's direction"},
		{5, 6, true, false, "oneway=-1 forbids the way's direction for cars"},
		{1, 4, false, false, "a building outline is no road"},
	}
	ws, ds := edgeSet(walk), edgeSet(drive)
	for _, c := range cases {
		if ws[[2]int64{c.from, c.to}] != c.walk {
			t.Errorf("walk %d→%d: got %v want %v (%s)", c.from, c.to, !c.walk, c.walk, c.why)
		}
		if ds[[2]int64{c.from, c.to}] != c.drive {
			t.Errorf("drive %d→%d: got %v want %v (%s)", c.from, c.to, !c.drive, c.drive, c.why)
		}
	}
	// Walking time uses the walking speed; the 50 km/h primary drives faster than residential.
	for e := range drive.From {
		a, b := drive.ExtID[drive.From[e]], drive.ExtID[drive.To[e]]
		speed := drive.Length[e] / drive.Seconds[e] * 3.6
		if a == 6 && b == 5 && (speed < 39 || speed > 41) {
			t.Errorf("primary with maxspeed 50: %.1f km/h, want 40 (80%% of the limit)", speed)
		}
	}
	g, err := Build(walk, BuildOptions{Profile: Walk})
	if err != nil {
		t.Fatal(err)
	}
	// Walking: 1-2-3-4 and 5-6 are two separate pieces; the larger is kept.
	if g.NumNodes() != 4 || g.Stats.NodesDropped != 2 {
		t.Errorf("walk graph keeps %d nodes, dropped %d; want 4 and 2", g.NumNodes(), g.Stats.NodesDropped)
	}
}

func TestOSMBadInput(t *testing.T) {
	t.Parallel()
	_, err := OSMEdgeList(&OSMData{}, "empty.osm", Walk, 0)
	if err == nil || !strings.Contains(err.Error(), "no ways") {
		t.Errorf("no ways: got %v", err)
	}
	for name, doc := range map[string]string{
		"not osm":  `<gpx></gpx>`,
		"bad node": `<osm><node id="x" lat="1" lon="2"/></osm>`,
		"bad lat":  `<osm><node id="1" lat="95" lon="2"/></osm>`,
		"broken":   `<osm><node id="1"`,
	} {
		if _, err := ReadOSMXML(strings.NewReader(doc), "t.osm"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

const goodNodes = "node,osm_node_id,lon,lat\n1,11,120.1,30.2\n2,12,120.101,30.2\n3,13,120.102,30.2\n"

func TestCSVErrorsNameFileLineColumn(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, nodes, edges string
		want               []string
	}{
		{"missing column", goodNodes, "from,to,car_duration_s\n1,2,3\n", []string{"edges.csv", "length_m", "missing"}},
		{"unknown node", goodNodes, "from,to,length_m\n1,2,10\n2,9,10\n", []string{"edges.csv:3", "column to", "node 9"}},
		{"negative length", goodNodes, "from,to,length_m\n1,2,-4\n", []string{"edges.csv:2", "length_m", "negative"}},
		{"NaN length", goodNodes, "from,to,length_m\n1,2,NaN\n", []string{"edges.csv:2", "length_m", "finite"}},
		{"bad lon", "node,lon,lat\n1,abc,30\n", "from,to,length_m\n", []string{"nodes.csv:2", "column lon"}},
		{"nodes missing lat", "node,lon\n1,120\n", "from,to,length_m\n", []string{"nodes.csv", "lat"}},
		{"duplicate node", "node,lon,lat\n1,120,30\n1,120,30\n", "from,to,length_m\n", []string{"nodes.csv:3", "duplicate"}},
		{"no edges", goodNodes, "from,to,length_m\n", []string{"edges.csv", "no edges"}},
	}
	for _, c := range cases {
		_, err := ReadCSV(strings.NewReader(c.nodes), "nodes.csv", strings.NewReader(c.edges), "edges.csv")
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("%s: error %T is not an InputError", c.name, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", c.name, err, w)
			}
		}
	}
	el, err := ReadCSV(strings.NewReader(goodNodes), "nodes.csv", strings.NewReader("from,to,length_m,car_duration_s\n1,2,10,1.5\n2,1,10,1.5\n"), "edges.csv")
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(el, BuildOptions{Profile: Drive})
	if err != nil {
		t.Fatal(err)
	}
	if g.NumNodes() != 2 || g.Stats.NodesDropped != 1 || g.Time[0] != 15 {
		t.Errorf("got %d nodes, %d dropped, time %d; want 2, 1, 15 ticks", g.NumNodes(), g.Stats.NodesDropped, g.Time[0])
	}
}

func TestGraphCacheRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(3))
	g, err := Build(randomGraph(rng, 300, 900), BuildOptions{Profile: Walk})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "g.bin")
	if err := SaveGraph(path, g); err != nil {
		t.Fatal(err)
	}
	h, err := LoadGraph(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2]any{
		"Lon": {g.Lon, h.Lon}, "Lat": {g.Lat, h.Lat}, "ExtID": {g.ExtID, h.ExtID},
		"FirstOut": {g.FirstOut, h.FirstOut}, "Head": {g.Head, h.Head}, "Time": {g.Time, h.Time},
		"Length": {g.Length, h.Length}, "FirstIn": {g.FirstIn, h.FirstIn}, "In": {g.In, h.In},
		"Stats": {g.Stats, h.Stats}, "Profile": {g.Profile, h.Profile},
		"WalkSpeed": {g.WalkSpeed, h.WalkSpeed},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s differs after the round trip", name)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("cache folder holds %d entries, want only g.bin (no temp file left)", len(ents))
	}
	raw, _ := os.ReadFile(path)
	bad := append([]byte(nil), raw...)
	bad[len(bad)/2] ^= 0xff
	if _, err := ReadGraph(bytes.NewReader(bad)); err == nil {
		t.Error("a flipped byte passed the checksum")
	}
	old := append([]byte(nil), raw...)
	old[8] = 99
	if _, err := ReadGraph(bytes.NewReader(old)); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("wrong version: %v", err)
	}
	if _, err := ReadGraph(bytes.NewReader(raw[:len(raw)-3])); err == nil {
		t.Error("a truncated cache was accepted")
	}
	// A failed save leaves the old file and no temp file.
	if err := SaveGraph(filepath.Join(dir, "missing", "g.bin"), g); err == nil {
		t.Error("saving into a missing folder succeeded")
	}
}

func TestDefaultTiers(t *testing.T) {
	t.Parallel()
	tr := DefaultTiers()
	if len(tr.Categories) != 30 {
		t.Errorf("%d categories, want 30", len(tr.Categories))
	}
	for _, id := range []string{"plan-urban-15", "plan-rural-30", "gb-5", "gb-10", "gb-15"} {
		if _, ok := tr.Tier(id); !ok {
			t.Errorf("tier %s missing", id)
		}
	}
	if id, ok := tr.CategoryID("幼儿园"); !ok || id != "kindergarten" {
		t.Errorf("幼儿园 resolves to %q", id)
	}
	if id, ok := tr.CategoryID("村卫生室"); !ok || id != "clinic" {
		t.Errorf("村卫生室 resolves to %q", id)
	}
	if UnitClass("330106001001") != "urban" || UnitClass("330106101201") != "rural" || UnitClass("3301") != "" {
		t.Error("urban/rural classification by digits 10–12 is wrong")
	}
	if _, err := LoadTiers(strings.NewReader(`{"categories":[{"id":"a"}],"tiers":[{"id":"t","minutes":0,"applies":"all","categories":["a"]}]}`)); err == nil {
		t.Error("a tier with 0 minutes was accepted")
	}
}

func TestBothWaysLetsWalkersUseOneWayStreets(t *testing.T) {
	t.Parallel()
	// A one-way triangle 1→2→3→1: strongly connected either way, but
	// walking from 2 to 1 takes one edge only when walkers may go back.
	nodes := "node,lon,lat\n1,120,30\n2,120.001,30\n3,120.001,30.001\n"
	edges := "from,to,length_m,car_duration_s\n1,2,110,10\n2,3,110,10\n3,1,110,10\n"
	el, err := ReadCSV(strings.NewReader(nodes), "n.csv", strings.NewReader(edges), "e.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, both := range []bool{false, true} {
		g, err := Build(el, BuildOptions{Profile: Walk, UseLength: true, BothWays: both})
		if err != nil {
			t.Fatal(err)
		}
		one, _ := g.NodeByExtID(1)
		two, _ := g.NodeByExtID(2)
		lab, _ := ComputeLabels(g, []string{"x"}, [][]Source{{{Node: one}}}, 6000, 1, nil)
		want := uint16(2000) // two 100 s edges at 1.1 m/s
		if both {
			want = 1000
		}
		if g.NumEdges() != map[bool]int{false: 3, true: 6}[both] || lab.D[0][two] != want {
			t.Errorf("both ways %v: %d edges, node 2 label %d; want %d", both, g.NumEdges(), lab.D[0][two], want)
		}
	}
}
