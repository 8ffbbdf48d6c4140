package registry

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// corners reads the absolute corners of SVG path data made of M, L, l,
// z and the circle's two arcs (an arc's end point counts as a corner).
func corners(t *testing.T, d string) [][2]float64 {
	t.Helper()
	tok := regexp.MustCompile(`[MLlAaZz]|-?[0-9.]+`).FindAllString(d, -1)
	var out [][2]float64
	var x, y float64
	num := func(i int) float64 {
		v, err := strconv.ParseFloat(tok[i], 64)
		if err != nil {
			t.Fatalf("%q in %q", tok[i], d)
		}
		return v
	}
	for i := 0; i < len(tok); {
		switch tok[i] {
		case "M", "L":
			x, y = num(i+1), num(i+2)
			i += 3
		case "l":
			x, y = x+num(i+1), y+num(i+2)
			i += 3
		case "A":
			x, y = num(i+6), num(i+7)
			i += 8
		case "a":
			x, y = x+num(i+6), y+num(i+7)
			i += 8
		case "Z", "z":
			i++
			continue
		default:
			t.Fatalf("unexpected %q in %q", tok[i], d)
		}
		out = append(out, [2]float64{x, y})
	}
	return out
}

func TestMarkerStampDrawsTheLegendShape(t *testing.T) {
	for _, shape := range []string{"circle", "ring", "square", "triangle", "triangle-down", "diamond", "cross", "star"} {
		t.Run(shape+" at any point has the corners the legend's icon has there", func(t *testing.T) {
			x, y := 312.3, 47.9
			want := corners(t, markerPath(shape, x, y, markerRadius))
			d := string(newMarkerStamp(shape, markerRadius).appendStamp(nil, x, y))
			got := corners(t, d)
			if len(got) != len(want) {
				t.Fatalf("%s: %d corners, want %d (%s vs %s)", shape, len(got), len(want), d, markerPath(shape, x, y, markerRadius))
			}
			for i := range want {
				// Relative moves rounded to a tenth drift by at most a tenth a corner.
				if math.Abs(got[i][0]-want[i][0]) > 0.1*float64(i+1)+1e-9 || math.Abs(got[i][1]-want[i][1]) > 0.1*float64(i+1)+1e-9 {
					t.Fatalf("%s corner %d at %v, want %v", shape, i, got[i], want[i])
				}
			}
			if strings.Count(d, "M") != 1 || len(d) >= len(markerPath(shape, x, y, markerRadius)) && shape != "circle" && shape != "ring" {
				t.Fatalf("%s: %q is not one compact subpath", shape, d)
			}
		})
	}
}

func TestLayersDrawEachCategoryOnceRarestLast(t *testing.T) {
	pts := []MapPoint{
		{Category: "a", Shape: "circle", Color: "#111111", X: 10, Y: 10},
		{Category: "b", Shape: "star", Color: "#222222", X: 20, Y: 20},
		{Category: "a", Shape: "circle", Color: "#111111", X: 30, Y: 30},
		{Category: "a", Shape: "circle", Color: "#111111", X: 30, Y: 30}, // on the one before
	}
	ls := layers(pts, map[string]int{"a": 3, "b": 1})
	if len(ls) != 2 || ls[0].Category != "a" || ls[1].Category != "b" {
		t.Fatalf("layers %+v", ls)
	}
	if ls[0].Count != 3 || strings.Count(ls[0].D, "M") != 2 || strings.Count(ls[1].D, "M") != 1 {
		t.Fatalf("a: %d facilities in %q; b: %q", ls[0].Count, ls[0].D, ls[1].D)
	}
	if ls[1].Fill() != "#222222" || ls[1].Stroke() != "#ffffff" {
		t.Fatalf("b drawn %s on %s", ls[1].Fill(), ls[1].Stroke())
	}
}
