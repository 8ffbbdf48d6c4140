package circle

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"math"
	"os"
	"path/filepath"
)

// Cache file layout (little endian):
//
//	magic "LINLICIR" | version uint32 | payload length uint64 | payload | CRC-64/ECMA of payload
//
// The payload holds the profile, walking speed, build stats and the arrays.
const (
	cacheMagic   = "LINLICIR"
	CacheVersion = 1
)

var crcTable = crc64.MakeTable(crc64.ECMA)

// WriteGraph encodes g to w.
func WriteGraph(w io.Writer, g *Graph) error {
	var p bytes.Buffer
	put := func(v any) {
		if err := binary.Write(&p, binary.LittleEndian, v); err != nil {
			panic(err) // bytes.Buffer writes do not fail; only a wrong type does
		}
	}
	put(uint32(len(g.Profile)))
	p.WriteString(string(g.Profile))
	put(g.WalkSpeed)
	s := g.Stats
	put([]int64{int64(s.NodesIn), int64(s.EdgesIn), int64(s.NodesKept), int64(s.EdgesKept),
		int64(s.NodesDropped), int64(s.EdgesDropped), int64(s.Components)})
	put(uint64(g.NumNodes()))
	put(uint64(g.NumEdges()))
	put(g.Lon)
	put(g.Lat)
	put(g.ExtID)
	put(g.FirstOut)
	put(g.Head)
	put(g.Time)
	put(g.Length)
	bw := bufio.NewWriter(w)
	bw.WriteString(cacheMagic)
	binary.Write(bw, binary.LittleEndian, uint32(CacheVersion))
	binary.Write(bw, binary.LittleEndian, uint64(p.Len()))
	bw.Write(p.Bytes())
	binary.Write(bw, binary.LittleEndian, crc64.Checksum(p.Bytes(), crcTable))
	return bw.Flush()
}

// SaveGraph writes g to path through a temporary file in the same folder
// and renames it, so a crash never leaves a partial cache behind.
func SaveGraph(path string, g *Graph) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = WriteGraph(tmp, g); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// LoadGraph reads a cache file written by SaveGraph.
func LoadGraph(path string) (*Graph, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	g, err := ReadGraph(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

var errCorrupt = errors.New("路网缓存已损坏 / graph cache is corrupt")

// ReadGraph decodes a graph written by WriteGraph, checking magic, version
// and checksum, and rebuilds the reverse CSR.
func ReadGraph(r io.Reader) (*Graph, error) {
	head := make([]byte, len(cacheMagic)+4+8)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, errCorrupt
	}
	if string(head[:8]) != cacheMagic {
		return nil, errors.New("不是 Linli 路网缓存文件 / not a Linli graph cache file")
	}
	if v := binary.LittleEndian.Uint32(head[8:]); v != CacheVersion {
		return nil, fmt.Errorf("路网缓存版本 %d 不受支持（需要 %d），请重新 build / cache version %d unsupported (want %d), rebuild it", v, CacheVersion, v, CacheVersion)
	}
	size := binary.LittleEndian.Uint64(head[12:])
	if size > 1<<36 {
		return nil, errCorrupt
	}
	payload := make([]byte, size)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, errCorrupt
	}
	var sum uint64
	if err := binary.Read(r, binary.LittleEndian, &sum); err != nil || sum != crc64.Checksum(payload, crcTable) {
		return nil, errCorrupt
	}
	p := bytes.NewReader(payload)
	var err error
	get := func(v any) {
		if err == nil {
			err = binary.Read(p, binary.LittleEndian, v)
		}
	}
	var plen uint32
	get(&plen)
	if err != nil || plen > 64 {
		return nil, errCorrupt
	}
	prof := make([]byte, plen)
	get(prof)
	g := &Graph{Profile: Profile(prof)}
	get(&g.WalkSpeed)
	st := make([]int64, 7)
	get(st)
	g.Stats = BuildStats{int(st[0]), int(st[1]), int(st[2]), int(st[3]), int(st[4]), int(st[5]), int(st[6])}
	var n, m uint64
	get(&n)
	get(&m)
	if err != nil || n == 0 || n >= math.MaxUint32 || m >= math.MaxUint32 || n*28+m*12 > size {
		return nil, errCorrupt
	}
	g.Lon, g.Lat, g.ExtID = make([]float64, n), make([]float64, n), make([]int64, n)
	g.FirstOut, g.Head, g.Time, g.Length = make([]uint32, n+1), make([]uint32, m), make([]uint32, m), make([]float32, m)
	for _, v := range []any{g.Lon, g.Lat, g.ExtID, g.FirstOut, g.Head, g.Time, g.Length} {
		get(v)
	}
	if err != nil {
		return nil, errCorrupt
	}
	if g.FirstOut[0] != 0 || uint64(g.FirstOut[n]) != m {
		return nil, errCorrupt
	}
	for i := uint64(0); i < n; i++ {
		if g.FirstOut[i] > g.FirstOut[i+1] {
			return nil, errCorrupt
		}
	}
	for _, v := range g.Head {
		if uint64(v) >= n {
			return nil, errCorrupt
		}
	}
	g.buildReverse()
	return g, nil
}
