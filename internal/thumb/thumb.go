// Package thumb makes small JPEG thumbnails of uploaded photos with the
// standard library alone, so a page never sends a full-size phone photo
// where a picture of a few dozen kilobytes does.
package thumb

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png" // PNG photos are decoded too
)

// MaxSide is the default longest side of a thumbnail, in pixels.
const MaxSide = 640

// maxPixels bounds the decoded size: a small file may claim a huge canvas.
const maxPixels = 50_000_000

// ErrUnsupported is returned for images the standard library cannot read
// (WebP, for one) or that are too large to decode safely.
var ErrUnsupported = errors.New("thumb: unsupported or oversized image")

// Make decodes a JPEG or PNG image and returns it as a JPEG whose longer
// side is at most maxSide pixels (an image already that small is only
// re-encoded). Scaling averages every source pixel a target pixel covers,
// so fine detail does not alias.
func Make(data []byte, maxSide int) ([]byte, error) {
	if maxSide <= 0 {
		maxSide = MaxSide
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "jpeg" && format != "png") || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return nil, ErrUnsupported
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, ErrUnsupported
	}
	w, h := fit(cfg.Width, cfg.Height, maxSide)
	dst := scale(src, w, h)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 80}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// fit returns the size of w×h scaled down so its longer side is at most
// max, keeping the aspect ratio (never scaling up).
func fit(w, h, max int) (int, int) {
	if w <= max && h <= max {
		return w, h
	}
	if w >= h {
		return max, maxInt(1, h*max/w)
	}
	return maxInt(1, w*max/h), max
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// scale resamples src to w×h by area averaging (a box filter over the
// source pixels each target pixel covers); transparent areas become white.
func scale(src image.Image, w, h int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		y0, y1 := y*sh/h, (y+1)*sh/h
		if y1 <= y0 {
			y1 = y0 + 1
		}
		for x := 0; x < w; x++ {
			x0, x1 := x*sw/w, (x+1)*sw/w
			if x1 <= x0 {
				x1 = x0 + 1
			}
			var r, g, bl, n uint64
			for sy := y0; sy < y1; sy++ {
				for sx := x0; sx < x1; sx++ {
					pr, pg, pb := at(src, b.Min.X+sx, b.Min.Y+sy)
					r, g, bl, n = r+uint64(pr), g+uint64(pg), bl+uint64(pb), n+1
				}
			}
			i := dst.PixOffset(x, y)
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = uint8(r/n), uint8(g/n), uint8(bl/n), 255
		}
	}
	return dst
}

// at reads one pixel as opaque RGB, composited on white. Phone photos are
// JPEG (YCbCr), read straight from their planes; others go through At.
func at(src image.Image, x, y int) (uint8, uint8, uint8) {
	if yc, ok := src.(*image.YCbCr); ok {
		yi, ci := yc.YOffset(x, y), yc.COffset(x, y)
		return color.YCbCrToRGB(yc.Y[yi], yc.Cb[ci], yc.Cr[ci])
	}
	c := color.NRGBAModel.Convert(src.At(x, y)).(color.NRGBA)
	a := uint32(c.A)
	blend := func(v uint8) uint8 { return uint8((uint32(v)*a + 255*(255-a)) / 255) }
	return blend(c.R), blend(c.G), blend(c.B)
}
