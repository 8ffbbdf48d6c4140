package thumb_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"linli/internal/thumb"
)

// photo draws a w×h test picture: left half red, right half blue.
func photo(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{200, 30, 30, 255}
			if x >= w/2 {
				c = color.NRGBA{30, 30, 200, 255}
			}
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	m, format, err := image.Decode(bytes.NewReader(b))
	if err != nil || format != "jpeg" {
		t.Fatalf("the thumbnail is no JPEG: %q %v", format, err)
	}
	return m
}

func TestMake(t *testing.T) {
	t.Run("a large PNG becomes a JPEG of at most 640 px on its long side, same proportions", func(t *testing.T) {
		var in bytes.Buffer
		if err := png.Encode(&in, photo(2000, 1000)); err != nil {
			t.Fatal(err)
		}
		out, err := thumb.Make(in.Bytes(), 640)
		if err != nil {
			t.Fatal(err)
		}
		m := decode(t, out)
		if b := m.Bounds(); b.Dx() != 640 || b.Dy() != 320 {
			t.Fatalf("size %v, want 640×320", b)
		}
		r, _, bl, _ := m.At(100, 160).RGBA()
		r2, _, bl2, _ := m.At(540, 160).RGBA()
		if r>>8 < 150 || bl>>8 > 80 || bl2>>8 < 150 || r2>>8 > 80 {
			t.Fatalf("colours moved: left %d/%d right %d/%d", r>>8, bl>>8, r2>>8, bl2>>8)
		}
	})
	t.Run("a tall JPEG is scaled by its height and comes out smaller than it went in", func(t *testing.T) {
		var in bytes.Buffer
		if err := jpeg.Encode(&in, photo(1200, 2400), &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
		out, err := thumb.Make(in.Bytes(), 640)
		if err != nil {
			t.Fatal(err)
		}
		if b := decode(t, out).Bounds(); b.Dx() != 320 || b.Dy() != 640 {
			t.Fatalf("size %v, want 320×640", b)
		}
		if len(out) >= in.Len() {
			t.Fatalf("thumbnail %d bytes, original %d", len(out), in.Len())
		}
	})
	t.Run("a small image keeps its size", func(t *testing.T) {
		var in bytes.Buffer
		if err := png.Encode(&in, photo(40, 30)); err != nil {
			t.Fatal(err)
		}
		out, err := thumb.Make(in.Bytes(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if b := decode(t, out).Bounds(); b.Dx() != 40 || b.Dy() != 30 {
			t.Fatalf("size %v, want 40×30", b)
		}
	})
	t.Run("what is not a JPEG or PNG is refused", func(t *testing.T) {
		for name, b := range map[string][]byte{
			"webp":      []byte("RIFF\x00\x00\x00\x00WEBPVP8 "),
			"text":      []byte("not an image"),
			"truncated": []byte("\x89PNG\r\n\x1a\n\x00\x00"),
		} {
			if _, err := thumb.Make(b, 640); err != thumb.ErrUnsupported {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}
