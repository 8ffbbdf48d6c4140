package deliberation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/module"
	"linli/internal/sealedphoto"
	"linli/internal/thumb"
)

// demoPicture draws a small picture (a sky, a lawn and a building in the
// tone given) so that the demo's attachments are real images.
func demoPicture(tone color.RGBA) []byte {
	const w, h = 240, 160
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{200, 225, 245, 255} // sky
			switch {
			case y > 120:
				c = color.RGBA{120, 180, 110, 255} // lawn
			case x > 60 && x < 180 && y > 40:
				c = tone // the building
				if (x-70)%30 < 12 && (y-50)%24 < 12 {
					c = color.RGBA{250, 245, 220, 255} // windows
				}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// demoFiles gives each demo community's newest topic, latest meeting,
// newest decision's latest update and newest current notice a generated
// picture, stored as uploads are (sealed but the notice's).
func demoFiles(ctx context.Context, s *Store, o module.DemoOptions) error {
	county := o.County
	if county == "" {
		county = "330106"
	}
	sc := access.Subtree(county)
	today := s.today()
	newest := func(order, from, where string) string {
		return `SELECT id, division_code FROM (SELECT id, division_code, ROW_NUMBER() OVER (PARTITION BY division_code ORDER BY ` + order + `) AS n FROM ` + from +
			` WHERE division_code >= $1 AND division_code < $2` + where + `) x WHERE n = 1`
	}
	type owner struct{ id, div string }
	scan := func(r db.Scanner) (owner, error) {
		var o owner
		return o, r.Scan(&o.id, &o.div)
	}
	var rows [][]any
	add := func(kind, name string, tone color.RGBA, q string, args ...any) error {
		owners, err := db.Collect(ctx, s.DB.R, scan, q, args...)
		if err != nil {
			return err
		}
		pic := demoPicture(tone)
		small, err := thumb.Make(pic, thumbSide)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(pic)
		sealed := fileRules[kind].sealed
		for _, ow := range owners {
			seq := 0
			if kind == FileProgress {
				if err := s.DB.R.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM dlb_progress WHERE decision_id = $1`, ow.id).Scan(&seq); err != nil {
					return err
				}
				if seq == 0 {
					continue
				}
			}
			id := db.NewID()
			rows = append(rows, []any{id, kind, ow.id, seq, ow.div, name, typePNG, len(pic), hex.EncodeToString(sum[:]), sealed,
				sealedphoto.Keep(s.Keys, pic, sealed, fileCols.PhotoAAD(id)), sealedphoto.Keep(s.Keys, small, sealed, fileCols.ThumbAAD(id)), "demo.worker", db.T(s.Now())})
		}
		return nil
	}
	for _, k := range []struct {
		kind, name string
		tone       color.RGBA
		q          string
		args       []any
	}{
		{FileTopic, "现场照片.png", color.RGBA{190, 120, 90, 255}, newest("id DESC", "dlb_topics", ""), []any{sc.Lo, sc.Hi}},
		{FileMeeting, "会议现场.png", color.RGBA{150, 150, 170, 255}, newest("starts_at DESC, id DESC", "dlb_meetings", ""), []any{sc.Lo, sc.Hi}},
		{FileProgress, "施工进展.png", color.RGBA{210, 170, 80, 255}, newest("created_at DESC, id DESC", "dlb_decisions", ""), []any{sc.Lo, sc.Hi}},
		{FileNotice, "办理流程图.png", color.RGBA{90, 140, 190, 255}, newest("id DESC", "dlb_notices", " AND publish_from <= $3 AND publish_until >= $3"), []any{sc.Lo, sc.Hi, today}},
	} {
		if err := add(k.kind, k.name, k.tone, k.q, k.args...); err != nil {
			return err
		}
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return insertRows(ctx, s.DB, tx, "dlb_files (id, owner_kind, owner_id, seq, division_code, name, content_type, size, sha256, sealed, data, thumb, uploaded_by, at)", rows)
	})
}
