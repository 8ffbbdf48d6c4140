// Package sealedphoto keeps photos and their thumbnails in a table's BLOB
// columns sealed with the data key, each bound to its row and column, and
// seals the ones stored before sealing. A photo shows faces, homes and
// number plates: it is personal data like the sealed text fields.
package sealedphoto

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"linli/internal/db"
	"linli/internal/secret"
)

// Columns names where a table keeps its photos: the key column, the photo
// and thumbnail BLOBs, and the boolean that says they are sealed (FALSE
// for rows stored before sealing). Has, if set, is the condition that a
// row holds a photo at all.
type Columns struct {
	Table, Key, Photo, Thumb, Sealed, Has string
}

// PhotoAAD binds a photo to its row and column.
func (c Columns) PhotoAAD(id any) string { return fmt.Sprintf("%s.%s:%v", c.Table, c.Photo, id) }

// ThumbAAD binds a thumbnail to its row and column.
func (c Columns) ThumbAAD(id any) string { return fmt.Sprintf("%s.%s:%v", c.Table, c.Thumb, id) }

// Open returns a stored photo or thumbnail as its image bytes: a sealed
// one opened under its binding, one stored before sealing as it is.
func Open(k *secret.Keyring, stored []byte, sealed bool, aad string) ([]byte, error) {
	if !sealed || len(stored) == 0 {
		return stored, nil
	}
	return k.OpenBytes(stored, aad)
}

// Keep is what to store for a photo or thumbnail in a row whose sealed
// flag is sealed: the image sealed, or as it is beside an unsealed photo
// (the backlog seals both together).
func Keep(k *secret.Keyring, image []byte, sealed bool, aad string) []byte {
	if !sealed {
		return image
	}
	return k.SealBytes(image, aad)
}

// SealBacklog seals the photos and thumbnails stored before sealing, 50
// rows a transaction, and says how many rows it sealed. The partial index
// on (key) WHERE NOT sealed (and Has) finds them.
func (c Columns) SealBacklog(ctx context.Context, d *db.DB, k *secret.Keyring) (int, error) {
	pending := "NOT " + c.Sealed
	if c.Has != "" {
		pending = c.Has + " AND " + pending
	}
	n := 0
	for {
		ids, err := db.Collect(ctx, d.R, db.Value[any], `SELECT `+c.Key+` FROM `+c.Table+` WHERE `+pending+` ORDER BY `+c.Key+` LIMIT 50`)
		if err != nil || len(ids) == 0 {
			return n, err
		}
		err = d.Tx(ctx, func(tx *sql.Tx) error {
			for _, id := range ids {
				var photo, small []byte
				err := tx.QueryRowContext(ctx, `SELECT `+c.Photo+`, `+c.Thumb+` FROM `+c.Table+` WHERE `+c.Key+` = $1 AND NOT `+c.Sealed, id).Scan(&photo, &small)
				if errors.Is(err, sql.ErrNoRows) {
					continue
				} else if err != nil {
					return err
				}
				var thumb any
				if len(small) > 0 {
					thumb = k.SealBytes(small, c.ThumbAAD(id))
				}
				r, err := tx.ExecContext(ctx, `UPDATE `+c.Table+` SET `+c.Photo+` = $1, `+c.Thumb+` = $2, `+c.Sealed+` = TRUE WHERE `+c.Key+` = $3 AND NOT `+c.Sealed,
					k.SealBytes(photo, c.PhotoAAD(id)), thumb, id)
				if err != nil {
					return err
				}
				if done, _ := r.RowsAffected(); done == 1 {
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
