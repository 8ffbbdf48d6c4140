package circle

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// InputError names the file, line and column of bad input, in Chinese and English.
type InputError struct {
	File   string
	Line   int // 1-based; 0 when not tied to a line
	Column string
	Zh, En string
}

func (e *InputError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += fmt.Sprintf(":%d", e.Line)
	}
	if e.Column != "" {
		return fmt.Sprintf("%s: 列 %s: %s / column %s: %s", loc, e.Column, e.Zh, e.Column, e.En)
	}
	return fmt.Sprintf("%s: %s / %s", loc, e.Zh, e.En)
}

// OpenMaybeGzip opens a file and transparently gunzips it when it starts
// with the gzip magic bytes.
func OpenMaybeGzip(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	if b, _ := br.Peek(2); len(b) == 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, &InputError{File: path, Zh: "gzip 格式错误", En: "bad gzip: " + err.Error()}
		}
		return readCloser{zr, f}, nil
	}
	return readCloser{br, f}, nil
}

type readCloser struct {
	io.Reader
	c io.Closer
}

func (r readCloser) Close() error { return r.c.Close() }

// csvTable reads a headed CSV and looks columns up by name.
type csvTable struct {
	name string
	r    *csv.Reader
	col  map[string]int
	line int
}

func newCSVTable(name string, r io.Reader, required ...string) (*csvTable, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err == io.EOF {
		return nil, &InputError{File: name, Line: 1, Zh: "文件为空，缺少表头", En: "empty file, no header"}
	}
	if err != nil {
		return nil, &InputError{File: name, Line: 1, Zh: "表头无法解析", En: "cannot parse header: " + err.Error()}
	}
	t := &csvTable{name: name, r: cr, col: map[string]int{}, line: 1}
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		t.col[strings.ToLower(h)] = i
	}
	for _, c := range required {
		if _, ok := t.col[c]; !ok {
			return nil, &InputError{File: name, Line: 1, Column: c, Zh: "缺少必需的列", En: "required column is missing"}
		}
	}
	return t, nil
}

// next returns the next record or io.EOF.
func (t *csvTable) next() ([]string, error) {
	rec, err := t.r.Read()
	t.line++
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			t.line = pe.Line
		}
		return nil, &InputError{File: t.name, Line: t.line, Zh: "CSV 无法解析", En: "cannot parse CSV: " + err.Error()}
	}
	return rec, nil
}

func (t *csvTable) has(c string) bool { _, ok := t.col[c]; return ok }

func (t *csvTable) str(rec []string, c string) (string, error) {
	i := t.col[c]
	if i >= len(rec) {
		return "", &InputError{File: t.name, Line: t.line, Column: c, Zh: "该行字段不足", En: "row has too few fields"}
	}
	return strings.TrimSpace(rec[i]), nil
}

func (t *csvTable) int64(rec []string, c string) (int64, error) {
	s, err := t.str(rec, c)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, &InputError{File: t.name, Line: t.line, Column: c, Zh: fmt.Sprintf("不是整数 %q", s), En: fmt.Sprintf("not an integer: %q", s)}
	}
	return v, nil
}

func (t *csvTable) float(rec []string, c string) (float64, error) {
	s, err := t.str(rec, c)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, &InputError{File: t.name, Line: t.line, Column: c, Zh: fmt.Sprintf("不是有限数值 %q", s), En: fmt.Sprintf("not a finite number: %q", s)}
	}
	return v, nil
}

func (t *csvTable) errf(c, zh, en string) error {
	return &InputError{File: t.name, Line: t.line, Column: c, Zh: zh, En: en}
}

// ReadCSV reads a node file (node,lon,lat[,osm_node_id]) and an edge file
// (from,to,length_m[,car_duration_s]) into an EdgeList. Seconds is filled
// from car_duration_s when that column exists.
func ReadCSV(nodes io.Reader, nodesName string, edges io.Reader, edgesName string) (*EdgeList, error) {
	nt, err := newCSVTable(nodesName, nodes, "node", "lon", "lat")
	if err != nil {
		return nil, err
	}
	el := &EdgeList{}
	index := map[int64]uint32{}
	for {
		rec, err := nt.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		id, err := nt.int64(rec, "node")
		if err != nil {
			return nil, err
		}
		lon, err := nt.float(rec, "lon")
		if err != nil {
			return nil, err
		}
		lat, err := nt.float(rec, "lat")
		if err != nil {
			return nil, err
		}
		if lon < -180 || lon > 180 {
			return nil, nt.errf("lon", "经度超出范围", fmt.Sprintf("longitude %v out of range", lon))
		}
		if lat < -90 || lat > 90 {
			return nil, nt.errf("lat", "纬度超出范围", fmt.Sprintf("latitude %v out of range", lat))
		}
		if _, dup := index[id]; dup {
			return nil, nt.errf("node", fmt.Sprintf("节点编号 %d 重复", id), fmt.Sprintf("duplicate node id %d", id))
		}
		index[id] = uint32(len(el.Lon))
		el.Lon = append(el.Lon, lon)
		el.Lat = append(el.Lat, lat)
		el.ExtID = append(el.ExtID, id)
	}
	if len(el.Lon) == 0 {
		return nil, &InputError{File: nodesName, Zh: "没有节点", En: "no nodes"}
	}
	et, err := newCSVTable(edgesName, edges, "from", "to", "length_m")
	if err != nil {
		return nil, err
	}
	hasDur := et.has("car_duration_s")
	if hasDur {
		el.Seconds = []float64{}
	}
	for {
		rec, err := et.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		var ends [2]uint32
		for i, c := range []string{"from", "to"} {
			id, err := et.int64(rec, c)
			if err != nil {
				return nil, err
			}
			v, ok := index[id]
			if !ok {
				return nil, et.errf(c, fmt.Sprintf("节点 %d 不在 %s 中", id, nodesName), fmt.Sprintf("node %d is not in %s", id, nodesName))
			}
			ends[i] = v
		}
		l, err := et.float(rec, "length_m")
		if err != nil {
			return nil, err
		}
		if l < 0 {
			return nil, et.errf("length_m", fmt.Sprintf("长度为负 %v", l), fmt.Sprintf("negative length %v", l))
		}
		if hasDur {
			d, err := et.float(rec, "car_duration_s")
			if err != nil {
				return nil, err
			}
			if d < 0 {
				return nil, et.errf("car_duration_s", fmt.Sprintf("时间为负 %v", d), fmt.Sprintf("negative duration %v", d))
			}
			el.Seconds = append(el.Seconds, d)
		}
		el.From = append(el.From, ends[0])
		el.To = append(el.To, ends[1])
		el.Length = append(el.Length, l)
	}
	if len(el.From) == 0 {
		return nil, &InputError{File: edgesName, Zh: "没有边", En: "no edges"}
	}
	return el, nil
}

// ReadCSVDir reads nodes.csv[.gz] and edges.csv[.gz] from a directory.
func ReadCSVDir(dir string) (*EdgeList, error) {
	find := func(base string) (string, error) {
		for _, p := range []string{base + ".csv.gz", base + ".csv"} {
			if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
				return filepath.Join(dir, p), nil
			}
		}
		return "", fmt.Errorf("%s: 找不到 %s.csv.gz 或 %s.csv / neither %s.csv.gz nor %s.csv found", dir, base, base, base, base)
	}
	np, err := find("nodes")
	if err != nil {
		return nil, err
	}
	ep, err := find("edges")
	if err != nil {
		return nil, err
	}
	nf, err := OpenMaybeGzip(np)
	if err != nil {
		return nil, err
	}
	defer nf.Close()
	ef, err := OpenMaybeGzip(ep)
	if err != nil {
		return nil, err
	}
	defer ef.Close()
	return ReadCSV(nf, np, ef, ep)
}
