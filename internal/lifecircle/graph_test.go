package lifecircle_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"linli/internal/divisions"
	"linli/internal/lifecircle"
)

// writeRoads writes a small road folder: a 3×3 grid of nodes about 100 m
// apart, joined both ways.
func writeRoads(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	nodes := "node,lon,lat\n"
	edges := "from,to,length_m\n"
	id := func(i, j int) int { return i*3 + j + 1 }
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			nodes += fmtNode(id(i, j), 120.10+0.001*float64(j), 30.25+0.001*float64(i))
			if j < 2 {
				edges += fmtEdge(id(i, j), id(i, j+1))
			}
			if i < 2 {
				edges += fmtEdge(id(i, j), id(i+1, j))
			}
		}
	}
	for name, body := range map[string]string{"nodes.csv": nodes, "edges.csv": edges} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func fmtNode(id int, lon, lat float64) string { return fmt.Sprintf("%d,%.6f,%.6f\n", id, lon, lat) }

func fmtEdge(a, b int) string { return fmt.Sprintf("%d,%d,100\n", a, b) }

// warnings are the messages of the warnings logged into buf.
func warnings(t *testing.T, buf *bytes.Buffer) []string {
	t.Helper()
	var out []string
	dec := json.NewDecoder(buf)
	for dec.More() {
		var l struct{ Level, Msg string }
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		if l.Level == "WARN" {
			out = append(out, l.Msg)
		}
	}
	return out
}

func TestRoadGraph(t *testing.T) {
	t.Parallel()
	t.Run("without roads a synthetic network is built once", func(t *testing.T) {
		s := &lifecircle.Service{}
		g, synthetic, err := s.Graph()
		if err != nil || !synthetic || len(g.Lon) == 0 {
			t.Fatalf("got %d nodes, synthetic %v: %v", len(g.Lon), synthetic, err)
		}
		if again, _, _ := s.Graph(); again != g {
			t.Error("the graph was built twice")
		}
	})
	t.Run("a road folder is read and cached", func(t *testing.T) {
		roads, cache := writeRoads(t), filepath.Join(t.TempDir(), "cache")
		var log bytes.Buffer
		s := &lifecircle.Service{RoadsDir: roads, CacheDir: cache, Log: slog.New(slog.NewJSONHandler(&log, nil))}
		g, synthetic, err := s.Graph()
		if err != nil || synthetic || len(g.Lon) != 9 {
			t.Fatalf("got %d nodes, synthetic %v: %v", len(g.Lon), synthetic, err)
		}
		if _, err := os.Stat(filepath.Join(cache, "roads.graph")); err != nil {
			t.Fatalf("no cache written: %v", err)
		}
		if w := warnings(t, &log); len(w) != 0 {
			t.Errorf("warnings %v", w)
		}
		// The next start reads the cache: the roads are not needed.
		if err := os.Remove(filepath.Join(roads, "edges.csv")); err != nil {
			t.Fatal(err)
		}
		g2, _, err := (&lifecircle.Service{RoadsDir: roads, CacheDir: cache}).Graph()
		if err != nil || len(g2.Lon) != 9 {
			t.Fatalf("from the cache: %v", err)
		}
	})
	t.Run("a cache that cannot be written is logged, not fatal", func(t *testing.T) {
		blocker := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(blocker, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		s := &lifecircle.Service{RoadsDir: writeRoads(t), CacheDir: filepath.Join(blocker, "cache"), Log: slog.New(slog.NewJSONHandler(&log, nil))}
		if g, _, err := s.Graph(); err != nil || len(g.Lon) != 9 {
			t.Fatalf("got %v", err)
		}
		want := []string{"road graph cache unreadable; rebuilding", "road graph cache not written"}
		if w := warnings(t, &log); !reflect.DeepEqual(w, want) {
			t.Errorf("warnings %v, want %v", w, want)
		}
	})
	t.Run("a corrupt cache is logged and the graph rebuilt", func(t *testing.T) {
		cache := t.TempDir()
		if err := os.WriteFile(filepath.Join(cache, "roads.graph"), []byte("not a graph"), 0o600); err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		s := &lifecircle.Service{RoadsDir: writeRoads(t), CacheDir: cache, Log: slog.New(slog.NewJSONHandler(&log, nil))}
		if g, _, err := s.Graph(); err != nil || len(g.Lon) != 9 {
			t.Fatalf("got %v", err)
		}
		if w := warnings(t, &log); len(w) != 1 || w[0] != "road graph cache unreadable; rebuilding" {
			t.Errorf("warnings %v", w)
		}
	})
	t.Run("a road folder without files is an error every time", func(t *testing.T) {
		s := &lifecircle.Service{RoadsDir: t.TempDir()}
		for i := 0; i < 2; i++ {
			if _, _, err := s.Graph(); err == nil {
				t.Fatal("no error")
			}
		}
	})
}

func TestTierFor(t *testing.T) {
	t.Parallel()
	for class, want := range map[string]string{divisions.Urban: "plan-urban-15", divisions.Rural: "plan-rural-30", "": "plan-urban-15"} {
		if got := lifecircle.TierFor(class); got != want {
			t.Errorf("%q: %s, want %s", class, got, want)
		}
	}
}

func TestModuleSpec(t *testing.T) {
	t.Parallel()
	spec := lifecircle.Module()
	if spec.Name != "lifecircle" || len(spec.Migrations) != 2 || len(spec.Settings) != 1 || len(spec.Commands) != 2 {
		t.Fatalf("spec %+v", spec)
	}
	check := spec.Settings[0].Check
	t.Run("the road folder setting must name a folder", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "roads.csv")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		for v, ok := range map[string]bool{"": true, t.TempDir(): true, file: false, "/no/such/folder": false} {
			if err := check(v, nil); (err == nil) != ok {
				t.Errorf("%q: %v", v, err)
			}
		}
	})
	t.Run("the commands are the circle tools", func(t *testing.T) {
		if spec.Commands[0].Name != "circle" || spec.Commands[1].Name != "bench circle" {
			t.Errorf("commands %q %q", spec.Commands[0].Name, spec.Commands[1].Name)
		}
	})
}
