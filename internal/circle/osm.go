package circle

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Road classes and speeds (km/h) per profile. Walking uses one speed on
// every walkable way; motorways and trunk roads are drive-only, footways,
// paths, steps and pedestrian streets walk-only.
var driveSpeed = map[string]float64{
	"motorway": 80, "motorway_link": 40, "trunk": 60, "trunk_link": 30,
	"primary": 40, "primary_link": 30, "secondary": 35, "secondary_link": 25,
	"tertiary": 30, "tertiary_link": 20, "unclassified": 25, "residential": 20,
	"living_street": 10, "service": 15, "road": 20,
}

var walkable = map[string]bool{
	"primary": true, "primary_link": true, "secondary": true, "secondary_link": true,
	"tertiary": true, "tertiary_link": true, "unclassified": true, "residential": true,
	"living_street": true, "service": true, "road": true, "track": true,
	"footway": true, "path": true, "pedestrian": true, "steps": true,
	"cycleway": true, "bridleway": true, "corridor": true,
}

// OSMWay is a way as read from OSM, reduced to what the profiles need.
type OSMWay struct {
	ID    int64
	Nodes []int64
	Tags  map[string]string
}

// OSMData is a parsed OSM extract.
type OSMData struct {
	Lon, Lat map[int64]float64
	Ways     []OSMWay
}

// ReadOSMXML parses an OSM XML document, keeping node coordinates and ways.
func ReadOSMXML(r io.Reader, name string) (*OSMData, error) {
	d := xml.NewDecoder(r)
	data := &OSMData{Lon: map[int64]float64{}, Lat: map[int64]float64{}}
	var way *OSMWay
	sawOSM := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, _ := d.InputPos()
			return nil, &InputError{File: name, Line: line, Zh: "OSM XML 无法解析", En: "cannot parse OSM XML: " + err.Error()}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, _ := d.InputPos()
			attr := func(k string) string {
				for _, a := range t.Attr {
					if a.Name.Local == k {
						return a.Value
					}
				}
				return ""
			}
			switch t.Name.Local {
			case "osm":
				sawOSM = true
			case "node":
				id, err1 := strconv.ParseInt(attr("id"), 10, 64)
				lat, err2 := strconv.ParseFloat(attr("lat"), 64)
				lon, err3 := strconv.ParseFloat(attr("lon"), 64)
				if err1 != nil || err2 != nil || err3 != nil || math.Abs(lat) > 90 || math.Abs(lon) > 180 {
					return nil, &InputError{File: name, Line: line, Column: "node", Zh: "节点的 id/lat/lon 无效", En: "node has an invalid id, lat or lon"}
				}
				data.Lon[id], data.Lat[id] = lon, lat
			case "way":
				id, err := strconv.ParseInt(attr("id"), 10, 64)
				if err != nil {
					return nil, &InputError{File: name, Line: line, Column: "way", Zh: "way 的 id 无效", En: "way has an invalid id"}
				}
				way = &OSMWay{ID: id, Tags: map[string]string{}}
			case "nd":
				if way != nil {
					ref, err := strconv.ParseInt(attr("ref"), 10, 64)
					if err != nil {
						return nil, &InputError{File: name, Line: line, Column: "nd", Zh: "nd 的 ref 无效", En: "nd has an invalid ref"}
					}
					way.Nodes = append(way.Nodes, ref)
				}
			case "tag":
				if way != nil {
					way.Tags[attr("k")] = attr("v")
				}
			}
		case xml.EndElement:
			if t.Name.Local == "way" && way != nil {
				data.Ways = append(data.Ways, *way)
				way = nil
			}
		}
	}
	if !sawOSM {
		return nil, &InputError{File: name, Zh: "不是 OSM XML 文件（缺少 <osm>）", En: "not an OSM XML file (no <osm> element)"}
	}
	return data, nil
}

// ParseSpeed reads an OSM maxspeed value in km/h ("50", "30 mph").
func parseMaxSpeed(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	mph := strings.HasSuffix(s, "mph")
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(s, "mph"), "km/h"))
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) || v > 200 {
		return 0, false
	}
	if mph {
		v *= 1.609344
	}
	return v, true
}

// wayRule decides whether a way is usable under a profile, in which
// directions, and at what speed in m/s.
func wayRule(tags map[string]string, p Profile, walkSpeed float64) (ok, fwd, back bool, speed float64) {
	hw := tags["highway"]
	no := func(k string) bool { v := tags[k]; return v == "no" || v == "private" }
	if tags["area"] == "yes" {
		return false, false, false, 0
	}
	switch p {
	case Walk:
		if !walkable[hw] && !(hw != "" && (tags["foot"] == "yes" || tags["foot"] == "designated")) {
			return false, false, false, 0
		}
		if tags["foot"] == "no" || (no("access") && tags["foot"] != "yes" && tags["foot"] != "designated") {
			return false, false, false, 0
		}
		// Pedestrians may walk both ways on one-way streets.
		return true, true, true, walkSpeed
	case Drive:
		kmh, known := driveSpeed[hw]
		if !known || no("access") || no("motor_vehicle") || no("motorcar") {
			return false, false, false, 0
		}
		if v, ok := parseMaxSpeed(tags["maxspeed"]); ok {
			kmh = v * 0.8 // free-flow speeds in cities stay below the limit
		}
		fwd, back = true, true
		switch tags["oneway"] {
		case "yes", "true", "1":
			back = false
		case "-1", "reverse":
			fwd = false
		case "no", "false", "0":
		default:
			if hw == "motorway" || hw == "motorway_link" || tags["junction"] == "roundabout" || tags["junction"] == "circular" {
				back = false
			}
		}
		return true, fwd, back, kmh / 3.6
	}
	return false, false, false, 0
}

// OSMEdgeList turns parsed OSM data into an edge list for a profile: every
// consecutive node pair of a usable way becomes an edge (two when two-way).
func OSMEdgeList(data *OSMData, name string, p Profile, walkSpeed float64) (*EdgeList, error) {
	if walkSpeed <= 0 {
		walkSpeed = DefaultWalkSpeed
	}
	if p != Walk && p != Drive {
		return nil, fmt.Errorf("未知出行方式 %q（应为 walk 或 drive）/ unknown profile %q (want walk or drive)", p, p)
	}
	if len(data.Ways) == 0 {
		return nil, &InputError{File: name, Zh: "OSM 文件没有 way", En: "the OSM file has no ways"}
	}
	el := &EdgeList{}
	index := map[int64]uint32{}
	node := func(id int64) (uint32, bool) {
		if v, ok := index[id]; ok {
			return v, true
		}
		lon, ok := data.Lon[id]
		if !ok {
			return 0, false // clipped extracts refer to nodes outside the file
		}
		v := uint32(len(el.Lon))
		index[id] = v
		el.Lon = append(el.Lon, lon)
		el.Lat = append(el.Lat, data.Lat[id])
		el.ExtID = append(el.ExtID, id)
		return v, true
	}
	el.Seconds = []float64{}
	for _, w := range data.Ways {
		ok, fwd, back, speed := wayRule(w.Tags, p, walkSpeed)
		if !ok || (!fwd && !back) {
			continue
		}
		if w.Tags["highway"] == "steps" && p == Walk {
			speed *= 0.5
		}
		for i := 0; i+1 < len(w.Nodes); i++ {
			a, okA := node(w.Nodes[i])
			b, okB := node(w.Nodes[i+1])
			if !okA || !okB || a == b {
				continue
			}
			l := haversine(el.Lon[a], el.Lat[a], el.Lon[b], el.Lat[b])
			s := l / speed
			if fwd {
				el.From, el.To = append(el.From, a), append(el.To, b)
				el.Length, el.Seconds = append(el.Length, l), append(el.Seconds, s)
			}
			if back {
				el.From, el.To = append(el.From, b), append(el.To, a)
				el.Length, el.Seconds = append(el.Length, l), append(el.Seconds, s)
			}
		}
	}
	if len(el.From) == 0 {
		return nil, &InputError{File: name, Zh: fmt.Sprintf("OSM 文件没有适用于 %s 的道路", p), En: fmt.Sprintf("the OSM file has no ways usable for %s", p)}
	}
	return el, nil
}
