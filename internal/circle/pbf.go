//go:build pbf

package circle

import (
	"context"
	"io"
	"runtime"

	"github.com/paulmach/osm"
	"github.com/paulmach/osm/osmpbf"
)

// ReadOSMPBF parses an OSM PBF extract, keeping node coordinates and ways.
// It is built with -tags pbf: paulmach/osm decompresses through cgo zlib
// when cgo is on, which would make every linli build need zlib headers.
func ReadOSMPBF(r io.Reader, name string) (*OSMData, error) {
	sc := osmpbf.New(context.Background(), r, runtime.GOMAXPROCS(0))
	defer sc.Close()
	sc.SkipRelations = true
	data := &OSMData{Lon: map[int64]float64{}, Lat: map[int64]float64{}}
	for sc.Scan() {
		switch o := sc.Object().(type) {
		case *osm.Node:
			data.Lon[int64(o.ID)], data.Lat[int64(o.ID)] = o.Lon, o.Lat
		case *osm.Way:
			w := OSMWay{ID: int64(o.ID), Tags: make(map[string]string, len(o.Tags))}
			for _, n := range o.Nodes {
				w.Nodes = append(w.Nodes, int64(n.ID))
			}
			for _, t := range o.Tags {
				w.Tags[t.Key] = t.Value
			}
			data.Ways = append(data.Ways, w)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &InputError{File: name, Zh: "OSM PBF 无法解析", En: "cannot parse OSM PBF: " + err.Error()}
	}
	return data, nil
}
