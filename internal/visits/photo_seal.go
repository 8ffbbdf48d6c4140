package visits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"linli/internal/db"
)

// A visit's photo shows a vulnerable resident's home: it is stored sealed
// with the data key like the sensitive answers, bound to its visit and
// column. Photos recorded before sealing keep photo_sealed = FALSE until
// Run's first pass seals them (SealPhotoBacklog).
var photoSealMigration = db.Migration{ID: "visits/009_sealed_photos", SQL: `
ALTER TABLE vis_visits ADD COLUMN photo_sealed BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX vis_visits_plain_photos ON vis_visits (id) WHERE photo_type <> '' AND NOT photo_sealed;
`}

func photoAAD(id int64) string { return fmt.Sprintf("vis_visits/photo/%d", id) }
func thumbAAD(id int64) string { return fmt.Sprintf("vis_visits/photo_thumb/%d", id) }

// opened returns a stored photo or thumbnail as its image bytes.
func (s *Store) opened(stored []byte, sealed bool, aad string) ([]byte, error) {
	if !sealed || len(stored) == 0 {
		return stored, nil
	}
	return s.Keys.OpenBytes(stored, aad)
}

// SealPhotoBacklog seals the photos and thumbnails recorded before
// sealing, a few per transaction, and says how many it sealed.
func (s *Store) SealPhotoBacklog(ctx context.Context) (int, error) {
	n := 0
	for {
		ids, err := db.Collect(ctx, s.DB.R, db.Value[int64], `SELECT id FROM vis_visits WHERE photo_type <> '' AND NOT photo_sealed ORDER BY id LIMIT 50`)
		if err != nil || len(ids) == 0 {
			return n, err
		}
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			for _, id := range ids {
				var photo, small []byte
				err := tx.QueryRowContext(ctx, `SELECT photo, photo_thumb FROM vis_visits WHERE id = $1 AND NOT photo_sealed`, id).Scan(&photo, &small)
				if errors.Is(err, sql.ErrNoRows) {
					continue
				} else if err != nil {
					return err
				}
				var sealedThumb any
				if len(small) > 0 {
					sealedThumb = s.Keys.SealBytes(small, thumbAAD(id))
				}
				r, err := tx.ExecContext(ctx, `UPDATE vis_visits SET photo = $1, photo_thumb = $2, photo_sealed = TRUE WHERE id = $3 AND NOT photo_sealed`,
					s.Keys.SealBytes(photo, photoAAD(id)), sealedThumb, id)
				if err != nil {
					return err
				}
				if k, _ := r.RowsAffected(); k == 1 {
					n++
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
	}
}
