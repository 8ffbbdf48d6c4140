package requests

import (
	"context"

	"linli/internal/db"
	"linli/internal/sealedphoto"
)

// Photos are stored sealed with the data key (internal/sealedphoto).
// Photos stored before sealing are marked sealed = FALSE and sealed by
// Run's first pass (SealPhotoBacklog).
var photoSealMigration = db.Migration{ID: "requests/009_sealed_photos", SQL: `
ALTER TABLE request_attachments ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX request_attachments_plain ON request_attachments (id) WHERE NOT sealed;
`}

// photoCols are where request photos are kept.
var photoCols = sealedphoto.Columns{Table: "request_attachments", Key: "id", Photo: "data", Thumb: "thumb", Sealed: "sealed"}

// SealPhotoBacklog seals the photos and thumbnails stored before sealing
// and says how many it sealed.
func (s *Store) SealPhotoBacklog(ctx context.Context) (int, error) {
	return photoCols.SealBacklog(ctx, s.DB, s.Keys)
}
