package visits

import (
	"context"

	"linli/internal/db"
	"linli/internal/sealedphoto"
)

// A visit's photo shows a vulnerable resident's home: it is stored sealed
// with the data key (internal/sealedphoto) like the sensitive answers.
// Photos recorded before sealing keep photo_sealed = FALSE until Run's
// first pass seals them (SealPhotoBacklog).
var photoSealMigration = db.Migration{ID: "visits/009_sealed_photos", SQL: `
ALTER TABLE vis_visits ADD COLUMN photo_sealed BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX vis_visits_plain_photos ON vis_visits (id) WHERE photo_type <> '' AND NOT photo_sealed;
`}

// photoCols are where visit photos are kept.
var photoCols = sealedphoto.Columns{Table: "vis_visits", Key: "id", Photo: "photo", Thumb: "photo_thumb", Sealed: "photo_sealed", Has: "photo_type <> ''"}

// SealPhotoBacklog seals the photos and thumbnails recorded before
// sealing and says how many it sealed.
func (s *Store) SealPhotoBacklog(ctx context.Context) (int, error) {
	return photoCols.SealBacklog(ctx, s.DB, s.Keys)
}
