package requests

import (
	"context"
	"database/sql"
	"errors"

	"linli/internal/db"
)

// Photos show faces, homes and number plates: they are personal data, so
// they are stored sealed with the data key like the private texts, each
// bound to its row and column. Photos stored before sealing are marked
// sealed = FALSE and sealed by Run's first pass (SealPhotoBacklog).
var photoSealMigration = db.Migration{ID: "requests/009_sealed_photos", SQL: `
ALTER TABLE request_attachments ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX request_attachments_plain ON request_attachments (id) WHERE NOT sealed;
`}

func photoAAD(id string) string { return "request_attachments.data:" + id }
func thumbAAD(id string) string { return "request_attachments.thumb:" + id }

// opened returns a stored photo or thumbnail as its image bytes.
func (s *Store) opened(stored []byte, sealed bool, aad string) ([]byte, error) {
	if !sealed || len(stored) == 0 {
		return stored, nil
	}
	return s.Keys.OpenBytes(stored, aad)
}

// SealPhotoBacklog seals the photos and thumbnails stored before sealing,
// a few per transaction, and says how many it sealed.
func (s *Store) SealPhotoBacklog(ctx context.Context) (int, error) {
	n := 0
	for {
		ids, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT id FROM request_attachments WHERE NOT sealed ORDER BY id LIMIT 50`)
		if err != nil || len(ids) == 0 {
			return n, err
		}
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			for _, id := range ids {
				var data, small []byte
				if err := tx.QueryRowContext(ctx, `SELECT data, thumb FROM request_attachments WHERE id = $1 AND NOT sealed`, id).Scan(&data, &small); errors.Is(err, sql.ErrNoRows) {
					continue
				} else if err != nil {
					return err
				}
				var thumbSealed any
				if len(small) > 0 {
					thumbSealed = s.Keys.SealBytes(small, thumbAAD(id))
				}
				r, err := tx.ExecContext(ctx, `UPDATE request_attachments SET data = $1, thumb = $2, sealed = TRUE WHERE id = $3 AND NOT sealed`,
					s.Keys.SealBytes(data, photoAAD(id)), thumbSealed, id)
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
