//go:build pbf

package circle

import (
	"os"
	"reflect"
	"testing"
)

// The PBF file is small.osm converted with "osmium cat"; both must give
// the same edges per profile.
func TestPBFMatchesXML(t *testing.T) {
	t.Parallel()
	read := func(path string, pbf bool) *OSMData {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var d *OSMData
		if pbf {
			d, err = ReadOSMPBF(f, path)
		} else {
			d, err = ReadOSMXML(f, path)
		}
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	x, p := read("testdata/small.osm", false), read("testdata/small.osm.pbf", true)
	for _, prof := range []Profile{Walk, Drive} {
		ex, err := OSMEdgeList(x, "xml", prof, 0)
		if err != nil {
			t.Fatal(err)
		}
		ep, err := OSMEdgeList(p, "pbf", prof, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(edgeSet(ex), edgeSet(ep)) {
			t.Errorf("%s: PBF edges %v, XML edges %v", prof, edgeSet(ep), edgeSet(ex))
		}
	}
}
