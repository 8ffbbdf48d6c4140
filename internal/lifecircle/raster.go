package lifecircle

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"

	"linli/internal/circle"
)

// The map of minutes is one small PNG instead of thousands of SVG
// elements: MapCells × MapCells cells of CellPx pixels, each coloured by
// the band of the fastest road node in it, with the demand points as dots.
const (
	MapCells = 50
	CellPx   = 8
	MapSize  = MapCells * CellPx // pixels and SVG units across
)

// Band limits in minutes: ≤5, ≤10, ≤15, ≤30, beyond (or not reached).
var bandLimits = [...]float64{5, 10, 15, 30}

// Palette of the PNG: the background, the five bands, the demand dots,
// the facilities (blue, ringed white).
// The legend's swatches in app.css use the same colours.
func palette() color.Palette {
	return color.Palette{
		color.RGBA{0xf4, 0xf4, 0xf4, 0xff},
		color.RGBA{0x1a, 0x7f, 0x37, 0xff}, color.RGBA{0x7b, 0xc9, 0x6f, 0xff}, color.RGBA{0xf2, 0xcc, 0x60, 0xff},
		color.RGBA{0xe6, 0x84, 0x3c, 0xff}, color.RGBA{0xb3, 0x26, 0x1e, 0xff},
		color.RGBA{0x1b, 0x1b, 0x1b, 0xff}, color.RGBA{0x0b, 0x57, 0xa4, 0xff}, color.RGBA{0xff, 0xff, 0xff, 0xff},
	}
}

// Band is the colour band of a number of minutes (+Inf: not reached).
func Band(minutes float64) int {
	for i, l := range bandLimits {
		if minutes <= l {
			return i
		}
	}
	return len(bandLimits)
}

// Raster is the map of one category over a division's demand area.
type Raster struct {
	Cells  []int8     // MapCells² cells, row by row from the top: band, or -1 for no road
	Bands  [5]int     // cells per band
	Demand [][2]int   // demand points, in pixels
	Facs   [][2]int   // facilities of the category, in pixels
	Bounds [4]float64 // minLon, minLat, maxLon, maxLat of the area drawn
}

// NewRaster draws minutes to category over the demand points that in
// accepts (by unit code), padded by 0.006°; xy maps a place to map units.
// ok is false when there is no demand point to draw around.
func NewRaster(st *circle.Study, category string, in func(unit string) bool) (r *Raster, xy func(lon, lat float64) (float64, float64), ok bool) {
	g := st.Graph
	ci := -1
	for i, c := range st.Labels.Categories {
		if c == category {
			ci = i
		}
	}
	minLo, minLa, maxLo, maxLa := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, d := range st.Demand {
		if in(d.Unit) {
			minLo, maxLo = math.Min(minLo, d.Lon), math.Max(maxLo, d.Lon)
			minLa, maxLa = math.Min(minLa, d.Lat), math.Max(maxLa, d.Lat)
		}
	}
	if math.IsInf(minLo, 1) {
		return nil, nil, false
	}
	const pad = 0.006
	minLo, maxLo, minLa, maxLa = minLo-pad, maxLo+pad, minLa-pad, maxLa+pad
	s := math.Min(MapSize/(maxLo-minLo), MapSize/(maxLa-minLa))
	xy = func(lon, lat float64) (float64, float64) { return (lon - minLo) * s, MapSize - (lat-minLa)*s }
	r = &Raster{Cells: make([]int8, MapCells*MapCells), Bounds: [4]float64{minLo, minLa, maxLo, maxLa}}
	best := make([]float64, MapCells*MapCells)
	for i := range best {
		best[i] = -1
	}
	if ci >= 0 {
		for n := range g.Lon {
			x, y := xy(g.Lon[n], g.Lat[n])
			if x < 0 || y < 0 || x >= MapSize || y >= MapSize {
				continue
			}
			k := int(y/CellPx)*MapCells + int(x/CellPx)
			m := math.Inf(1)
			if t := st.Labels.D[ci][n]; t != circle.Unreached {
				m = float64(t) / 600
			}
			if best[k] < 0 || m < best[k] {
				best[k] = m
			}
		}
	}
	for k, m := range best {
		r.Cells[k] = -1
		if m >= 0 {
			b := Band(m)
			r.Cells[k] = int8(b)
			r.Bands[b]++
		}
	}
	for _, d := range st.Demand {
		if in(d.Unit) {
			x, y := xy(d.Lon, d.Lat)
			r.Demand = append(r.Demand, [2]int{int(math.Round(x)), int(math.Round(y))})
		}
	}
	for _, f := range st.Facilities {
		if f.Category == category {
			if x, y := xy(f.Lon, f.Lat); x >= 0 && y >= 0 && x <= MapSize && y <= MapSize {
				r.Facs = append(r.Facs, [2]int{int(math.Round(x)), int(math.Round(y))})
			}
		}
	}
	return r, xy, true
}

// PNG encodes the raster: cells in their band's colour, demand points as
// 3 × 3 dark dots, facilities as blue discs ringed white. A mark never
// covers a cell's top-left pixel, so the image can be read back cell by
// cell.
func (r *Raster) PNG() ([]byte, error) {
	img := image.NewPaletted(image.Rect(0, 0, MapSize, MapSize), palette())
	for k, b := range r.Cells {
		if b < 0 {
			continue
		}
		x0, y0 := (k%MapCells)*CellPx, (k/MapCells)*CellPx
		for y := y0; y < y0+CellPx; y++ {
			row := img.Pix[y*img.Stride:]
			for x := x0; x < x0+CellPx; x++ {
				row[x] = uint8(b) + 1
			}
		}
	}
	mark := func(x, y int, c uint8) {
		if x >= 0 && y >= 0 && x < MapSize && y < MapSize && (x%CellPx != 0 || y%CellPx != 0) {
			img.Pix[y*img.Stride+x] = c
		}
	}
	for _, d := range r.Demand {
		for y := d[1] - 1; y <= d[1]+1; y++ {
			for x := d[0] - 1; x <= d[0]+1; x++ {
				mark(x, y, 6)
			}
		}
	}
	for _, f := range r.Facs {
		for dy := -5; dy <= 5; dy++ {
			for dx := -5; dx <= 5; dx++ {
				switch d := dx*dx + dy*dy; {
				case d <= 16:
					mark(f[0]+dx, f[1]+dy, 7)
				case d <= 25:
					mark(f[0]+dx, f[1]+dy, 8)
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReadPNG reads the cells back from an encoded map: the band of each
// cell's top-left pixel, -1 for the background. Tests use it to check
// that the image shows what the engine computed.
func ReadPNG(b []byte) ([]int8, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	pal := palette()
	out := make([]int8, MapCells*MapCells)
	for k := range out {
		c := pal.Index(img.At((k%MapCells)*CellPx, (k/MapCells)*CellPx))
		out[k] = int8(c) - 1
		if c == 0 || c > 5 { // the background: no road in the cell
			out[k] = -1
		}
	}
	return out, nil
}
