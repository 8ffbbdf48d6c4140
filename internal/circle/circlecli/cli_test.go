package circlecli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func runMain(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	rc := Main(args, &out, &errb)
	return rc, out.String(), errb.String()
}

func TestCLIBuildRunSite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	graph := filepath.Join(dir, "g.bin")
	rc, out, errs := runMain("build", "--roads", "../testdata/tiny", "--out", graph)
	if rc != 0 {
		t.Fatalf("build: exit %d: %s", rc, errs)
	}
	if !strings.Contains(out, "16 节点 nodes") || !strings.Contains(out, "dropped 2") {
		t.Errorf("build summary %q lacks 16 nodes kept and 2 dropped", out)
	}
	res := filepath.Join(dir, "run")
	rc, out, errs = runMain("run", "--graph", graph, "--facilities", "../testdata/tiny/facilities.csv",
		"--demand", "../testdata/tiny/demand.csv", "--tier", "plan-urban-15,gb-5", "--out", res)
	if rc != 0 {
		t.Fatalf("run: exit %d: %s", rc, errs)
	}
	if !strings.Contains(errs, "1 个需求点") {
		t.Errorf("the far demand point d5 was not reported: %s", errs)
	}
	f, err := os.Open(filepath.Join(res, "points.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	// d1 stands 20 m from the kindergarten: well within 5 minutes.
	// d5 is 8 km away from every road: unreached, not linked.
	for _, r := range rows[1:] {
		switch r[0] {
		case "d1":
			if m, err := strconv.ParseFloat(r[col["min_kindergarten"]], 64); err != nil || m > 1 {
				t.Errorf("d1 minutes to kindergarten %q, want under 1", r[col["min_kindergarten"]])
			}
		case "d5":
			if r[col["linked"]] != "false" || r[col["min_kindergarten"]] != "" {
				t.Errorf("d5 row %v: want unlinked and unreached", r)
			}
		}
	}
	var gj struct {
		Type     string
		Features []json.RawMessage
	}
	raw, err := os.ReadFile(filepath.Join(res, "points.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &gj); err != nil || gj.Type != "FeatureCollection" || len(gj.Features) != 5 {
		t.Errorf("points.geojson: %v, type %q, %d features", err, gj.Type, len(gj.Features))
	}
	for _, name := range []string{"coverage_plan-urban-15.csv", "rollup_gb-5.csv", "gaps.csv", "facilities.geojson", "far_points.csv"} {
		if _, err := os.Stat(filepath.Join(res, name)); err != nil {
			t.Errorf("%s missing: %v", name, err)
		}
	}
	rc, out, errs = runMain("site", "--graph", graph, "--facilities", "../testdata/tiny/facilities.csv",
		"--demand", "../testdata/tiny/demand.csv", "--category", "菜市场", "--minutes", "1", "--k", "2", "--n-candidates", "50")
	if rc != 0 || !strings.Contains(out, "gain_population") {
		t.Errorf("site: exit %d, out %q, err %q", rc, out, errs)
	}
}

func TestCLIBadInputWritesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	os.MkdirAll(bad, 0o755)
	nodes, _ := os.ReadFile("../testdata/tiny/nodes.csv")
	os.WriteFile(filepath.Join(bad, "nodes.csv"), nodes, 0o644)
	os.WriteFile(filepath.Join(bad, "edges.csv"), []byte("from,to,length_m\n1,2,-5\n"), 0o644)
	far := filepath.Join(dir, "far.csv")
	os.WriteFile(far, []byte("id,category,lon,lat\nx,clinic,121.5,31.2\n"), 0o644)
	graph := filepath.Join(dir, "g.bin")
	if rc, _, errs := runMain("build", "--roads", "../testdata/tiny", "--out", graph); rc != 0 {
		t.Fatal(errs)
	}
	cases := []struct {
		name string
		args []string
		want string
		out  string
	}{
		{"negative length", []string{"build", "--roads", bad, "--out", filepath.Join(dir, "x.bin")}, "negative length", filepath.Join(dir, "x.bin")},
		{"facility outside", []string{"run", "--graph", graph, "--facilities", far, "--demand", "../testdata/tiny/demand.csv", "--out", filepath.Join(dir, "out1")}, "more than 500 m", filepath.Join(dir, "out1")},
		{"zero threshold", []string{"site", "--graph", graph, "--facilities", "../testdata/tiny/facilities.csv", "--demand", "../testdata/tiny/demand.csv", "--category", "clinic", "--minutes", "0"}, "threshold must be > 0", ""},
		{"no ways", []string{"build", "--osm", filepath.Join(dir, "empty.osm"), "--out", filepath.Join(dir, "y.bin")}, "no ways", filepath.Join(dir, "y.bin")},
		{"unknown command", []string{"frobnicate"}, "unknown command", ""},
	}
	os.WriteFile(filepath.Join(dir, "empty.osm"), []byte(`<osm><node id="1" lat="30" lon="120"/></osm>`), 0o644)
	for _, c := range cases {
		rc, _, errs := runMain(c.args...)
		if rc == 0 {
			t.Errorf("%s: exit 0", c.name)
		}
		if !strings.Contains(errs, c.want) {
			t.Errorf("%s: stderr %q lacks %q", c.name, errs, c.want)
		}
		if c.out == "" {
			continue
		}
		if ents, err := os.ReadDir(c.out); err == nil && len(ents) > 0 {
			t.Errorf("%s: %s holds %d entries after a failed run", c.name, c.out, len(ents))
		} else if _, err := os.Stat(c.out); err == nil && !isDir(c.out) {
			t.Errorf("%s: %s was written", c.name, c.out)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
