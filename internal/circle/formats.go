package circle

import (
	"fmt"
	"io"
	"strconv"
)

// Facility is a service facility of one category.
type Facility struct {
	ID       string
	Category string
	Lon, Lat float64
}

// ReadFacilities reads id,category,lon,lat (id optional; category by id or
// Chinese name).
func ReadFacilities(r io.Reader, name string, tiers *Tiers) ([]Facility, error) {
	t, err := newCSVTable(name, r, "category", "lon", "lat")
	if err != nil {
		return nil, err
	}
	var out []Facility
	for {
		rec, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		var f Facility
		if t.has("id") {
			f.ID, _ = t.str(rec, "id")
		} else {
			f.ID = strconv.Itoa(len(out) + 1)
		}
		c, err := t.str(rec, "category")
		if err != nil {
			return nil, err
		}
		id, ok := tiers.CategoryID(c)
		if !ok {
			return nil, t.errf("category", fmt.Sprintf("未知类别 %q", c), fmt.Sprintf("unknown category %q", c))
		}
		f.Category = id
		if f.Lon, err = t.float(rec, "lon"); err != nil {
			return nil, err
		}
		if f.Lat, err = t.float(rec, "lat"); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// ReadDemand reads id,unit,lon,lat,population (id optional; unit may be
// called division_code, population pop).
func ReadDemand(r io.Reader, name string) ([]Demand, error) {
	t, err := newCSVTable(name, r, "lon", "lat")
	if err != nil {
		return nil, err
	}
	unitCol, popCol := "unit", "population"
	if !t.has(unitCol) {
		unitCol = "division_code"
	}
	if !t.has(popCol) {
		popCol = "pop"
	}
	for _, c := range []string{unitCol, popCol} {
		if !t.has(c) {
			return nil, &InputError{File: name, Line: 1, Column: c, Zh: "缺少必需的列", En: "required column is missing"}
		}
	}
	var out []Demand
	for {
		rec, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		var d Demand
		if t.has("id") {
			d.ID, _ = t.str(rec, "id")
		} else {
			d.ID = strconv.Itoa(len(out) + 1)
		}
		if d.Unit, err = t.str(rec, unitCol); err != nil {
			return nil, err
		}
		if d.Lon, err = t.float(rec, "lon"); err != nil {
			return nil, err
		}
		if d.Lat, err = t.float(rec, "lat"); err != nil {
			return nil, err
		}
		if d.Pop, err = t.float(rec, popCol); err != nil {
			return nil, err
		}
		if d.Pop < 0 {
			return nil, t.errf(popCol, "人口为负", "negative population")
		}
		out = append(out, d)
	}
	return out, nil
}

// ReadPoints reads id,lon,lat rows (id optional).
func ReadPoints(r io.Reader, name string) ([]Demand, error) {
	t, err := newCSVTable(name, r, "lon", "lat")
	if err != nil {
		return nil, err
	}
	var out []Demand
	for {
		rec, err := t.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		d := Demand{ID: strconv.Itoa(len(out) + 1)}
		if t.has("id") {
			d.ID, _ = t.str(rec, "id")
		}
		if d.Lon, err = t.float(rec, "lon"); err != nil {
			return nil, err
		}
		if d.Lat, err = t.float(rec, "lat"); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
}
