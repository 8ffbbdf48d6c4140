package circlebench

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"linli/internal/circle"
)

const tinyRoads = "../testdata/tiny"

func runMain(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	rc := Main(args, &out, &errb)
	return rc, out.String(), errb.String()
}

// numbers returns the integers captured by re in s, or nil when re does
// not match.
func numbers(t *testing.T, re, s string) []int {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		return nil
	}
	var out []int
	for _, x := range m[1:] {
		n, err := strconv.Atoi(x)
		if err != nil {
			t.Fatalf("%q in %q: %v", x, re, err)
		}
		out = append(out, n)
	}
	return out
}

func TestBenchWithoutPeers(t *testing.T) {
	t.Run("times labels, linking and siting on the named network", func(t *testing.T) {
		rc, out, errs := runMain("--roads", tinyRoads, "--peers", "none", "--runs", "2", "--categories", "3",
			"--points", "100", "--candidates", "10", "--k", "2")
		if rc != 0 {
			t.Fatalf("exit %d: %s", rc, errs)
		}
		checks := []struct {
			what, re string
			want     []int
		}{
			{"graph size", `— (\d+) 节点 nodes, (\d+) 边 edges`, []int{16, 48}},
			{"categories", `设施 facilities: (\d+) 类 categories`, []int{3}},
			{"our runs", `/ (\d+) runs; 单核 1 core`, []int{2}},
			{"linked points", `挂接 linking (\d+) 点 points`, []int{100}},
			{"siting", `选址 siting k=(\d+) / (\d+) 候选 candidates \(\w+, 15 min, (\d+) 需求点`, []int{2, 10, 100}},
		}
		for _, c := range checks {
			if got := numbers(t, c.re, out); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: got %v, want %v in\n%s", c.what, got, c.want, out)
			}
		}
		if strings.Contains(out, "igraph") || strings.Contains(out, "pgRouting") {
			t.Errorf("--peers none still ran a peer:\n%s", out)
		}
	})
	t.Run("help exits 0", func(t *testing.T) {
		if rc, _, errs := runMain("-h"); rc != 0 || !strings.HasPrefix(errs, "Usage of bench circle:") {
			t.Errorf("exit %d, stderr %q", rc, errs)
		}
	})
	t.Run("bad settings exit 1 with the reason", func(t *testing.T) {
		cases := []struct {
			args []string
			want string
		}{
			{[]string{"--roads", tinyRoads, "--categories", "0"}, "错误 / error: --categories 与 --runs 必须大于 0 / --categories and --runs must be > 0\n"},
			{[]string{"--roads", tinyRoads, "--runs", "0"}, "错误 / error: --categories 与 --runs 必须大于 0 / --categories and --runs must be > 0\n"},
			{[]string{"--roads", tinyRoads, "--minutes", "0"}, "错误 / error: circle: 阈值必须大于 0 / threshold must be > 0, got 0 s\n"},
		}
		for _, c := range cases {
			rc, out, errs := runMain(c.args...)
			if rc != 1 || errs != c.want || out != "" {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", c.args, rc, out, errs, c.want)
			}
		}
	})
	t.Run("a missing road folder is an error", func(t *testing.T) {
		rc, _, errs := runMain("--roads", filepath.Join(t.TempDir(), "none"), "--peers", "none")
		if rc != 1 || !strings.HasPrefix(errs, "错误 / error: ") {
			t.Errorf("exit %d, stderr %q", rc, errs)
		}
	})
}

func TestPeerEdges(t *testing.T) {
	// Nodes 10 → 11 → 12 → 10; two parallel 10 → 11 edges (5 s and 8 s)
	// and two equally fast 11 → 12 edges.
	el := &circle.EdgeList{
		Lon:     []float64{120.150, 120.151, 120.152},
		Lat:     []float64{30.280, 30.281, 30.280},
		ExtID:   []int64{10, 11, 12},
		From:    []uint32{0, 0, 1, 1, 2},
		To:      []uint32{1, 1, 2, 2, 0},
		Length:  []float64{1, 1, 1, 1, 1},
		Seconds: []float64{8, 5, 3, 3, 4},
	}
	g, err := circle.Build(el, circle.BuildOptions{Profile: circle.Drive})
	if err != nil {
		t.Fatal(err)
	}
	from, to, w := peerEdges(g)
	var got []string
	for i := range from {
		got = append(got, fmt.Sprintf("%d->%d %d", g.ExtID[from[i]], g.ExtID[to[i]], w[i]))
	}
	slices.Sort(got)
	// Reversed, in ticks: road 10 → 11 (5 s) becomes 11 -> 10 50.
	want := []string{"10->12 40", "11->10 50", "12->11 30"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("peer edges %v, want only the fastest of parallel roads %v", got, want)
	}
}

// tinyLabels computes exact labels for three synthetic categories on the
// tiny test network.
func tinyLabels(t *testing.T) *circle.Labels {
	t.Helper()
	el, err := circle.ReadCSVDir(tinyRoads)
	if err != nil {
		t.Fatal(err)
	}
	g, err := circle.Build(el, circle.BuildOptions{Profile: circle.Walk, UseLength: true})
	if err != nil {
		t.Fatal(err)
	}
	names, srcs := circle.SyntheticFacilities(g, 3, 1)
	bound, _ := circle.SecondsToTicks(30 * 60)
	lab, err := circle.ComputeLabels(g, names, srcs, bound, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	return lab
}

func TestCompareBinary(t *testing.T) {
	lab := tinyLabels(t)
	n, cats := len(lab.D[0]), len(lab.D)
	write := func(t *testing.T, change func(raw []byte)) string {
		raw := make([]byte, 2*n*cats)
		for c := range lab.D {
			for v, x := range lab.D[c] {
				binary.LittleEndian.PutUint16(raw[2*(c*n+v):], x)
			}
		}
		change(raw)
		path := filepath.Join(t.TempDir(), "peer.bin")
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Run("the same labels agree", func(t *testing.T) {
		ok, msg := compareBinary(write(t, func([]byte) {}), lab)
		if want := fmt.Sprintf("0/%d 不同 differ", n*cats); !ok || msg != want {
			t.Errorf("got %v %q, want true %q", ok, msg, want)
		}
	})
	t.Run("one changed label is counted and named", func(t *testing.T) {
		c, v := 1, 3
		ok, msg := compareBinary(write(t, func(raw []byte) { binary.LittleEndian.PutUint16(raw[2*(c*n+v):], lab.D[c][v]+7) }), lab)
		want := fmt.Sprintf("1/%d 不同 differ (first: category %d node %d: %d vs ours %d)", n*cats, c, v, lab.D[c][v]+7, lab.D[c][v])
		if ok || msg != want {
			t.Errorf("got %v %q, want false %q", ok, msg, want)
		}
	})
	t.Run("a short file disagrees", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "short.bin")
		if err := os.WriteFile(path, []byte{1, 2}, 0o644); err != nil {
			t.Fatal(err)
		}
		if ok, _ := compareBinary(path, lab); ok {
			t.Error("a 2-byte file agreed")
		}
	})
}

func TestComparePg(t *testing.T) {
	lab := tinyLabels(t)
	n, cats := len(lab.D[0]), len(lab.D)
	type cell struct{ c, v int }
	var reached []cell
	for c := range lab.D {
		for v, x := range lab.D[c] {
			if x != circle.Unreached {
				reached = append(reached, cell{c, v})
			}
		}
	}
	if len(reached) < 3 {
		t.Fatalf("only %d reached labels on the tiny network", len(reached))
	}
	// write renders pgRouting's CSV (category, node, cost) for every reached
	// label, with cost changed or the row left out by edit.
	write := func(t *testing.T, edit func(cell, float64) (float64, bool)) string {
		var b strings.Builder
		for _, r := range reached {
			if x, keep := edit(r, float64(lab.D[r.c][r.v])); keep {
				fmt.Fprintf(&b, "%d,%d,%v\n", r.c, r.v, x)
			}
		}
		path := filepath.Join(t.TempDir(), "pg.csv")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	same := func(_ cell, x float64) (float64, bool) { return x, true }
	t.Run("the same costs agree", func(t *testing.T) {
		ok, msg := comparePg(write(t, same), lab)
		if want := fmt.Sprintf("0/%d 不同 differ", n*cats); !ok || msg != want {
			t.Errorf("got %v %q, want true %q", ok, msg, want)
		}
	})
	t.Run("larger, missing and smaller costs are told apart", func(t *testing.T) {
		larger, missing, smaller := reached[0], reached[1], reached[2]
		if lab.D[smaller.c][smaller.v] == 0 {
			t.Fatalf("cell %v is a facility and cannot be smaller; pick another", smaller)
		}
		ok, msg := comparePg(write(t, func(r cell, x float64) (float64, bool) {
			switch r {
			case larger:
				return x + 1, true
			case missing:
				return 0, false
			case smaller:
				return x - 1, true
			}
			return x, true
		}), lab)
		got := numbers(t, `^(\d+)/(\d+) 不同 differ .*; (\d+) 个大于我方.*, (\d+) 个缺失 / missing, (\d+) 个小于我方`, msg)
		if want := []int{3, n * cats, 1, 1, 1}; ok || !reflect.DeepEqual(got, want) {
			t.Errorf("got %v %q, want false with counts %v", ok, msg, want)
		}
	})
}

func TestIgraphAgrees(t *testing.T) {
	if pythonWithIgraph() == "" {
		t.Skip("python3-igraph is not installed; skipping / 未安装 python3-igraph，跳过")
	}
	rc, out, errs := runMain("--roads", tinyRoads, "--peers", "igraph", "--install=false", "--runs", "1", "--categories", "3",
		"--points", "100", "--candidates", "10", "--k", "2")
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, errs)
	}
	want := fmt.Sprintf("标签一致 / labels agree (16 nodes × 3 categories): igraph: 0/%d 不同 differ\n", 16*3)
	if !strings.Contains(out, want) {
		t.Errorf("stdout lacks %q:\n%s", want, out)
	}
}
