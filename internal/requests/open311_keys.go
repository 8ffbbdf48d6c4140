package requests

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// Key is an Open311 integration key (only its hash is stored).
type Key struct {
	ID, Name, Division string
}

func hashKey(k string) string { s := sha256.Sum256([]byte(k)); return hex.EncodeToString(s[:]) }

// CreateKey issues a key for an integration bound to a division subtree; the
// plain key is returned once.
func (s *Store) CreateKey(ctx context.Context, name, division string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", fault.Invalid(fault.M("请填写接入方名称", "give the integration a name"))
	}
	d, err := s.Divs.Get(ctx, division)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return "", err
	}
	if err != nil || d.Level > 5 {
		return "", fault.Invalid(fault.M("区划代码不存在", "no such division code"))
	}
	var b [24]byte
	rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	plain := "o311_" + hex.EncodeToString(b[:])
	id := db.NewID()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO open311_keys (id, name, division_code, key_hash, created_at) VALUES ($1,$2,$3,$4,$5)`, id, name, division, hashKey(plain), db.T(s.Now())); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "open311.key.create", Object: "open311_key", ObjectID: id, Division: division, Detail: audit.Detail(map[string]string{"name": name})})
	})
	return plain, err
}

// errBadKey answers for an unknown or revoked key.
var errBadKey = fault.Forbidden(fault.M("api_key 无效", "invalid api_key"))

type cachedKey struct {
	k  Key
	at time.Time
}

// keyCacheFor is how long a looked-up key is trusted without asking the
// store again (a revoked key stops working within it).
const keyCacheFor = 30 * time.Second

func (s *Store) keyFor(ctx context.Context, plain string) (Key, error) {
	h := hashKey(plain)
	if c, ok := s.keyCache.Load(h); ok && s.Now().Sub(c.(cachedKey).at) < keyCacheFor {
		return c.(cachedKey).k, nil
	}
	var k Key
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, name, division_code FROM open311_keys WHERE key_hash = $1 AND revoked_at IS NULL`, h).Scan(&k.ID, &k.Name, &k.Division)
	if errors.Is(err, sql.ErrNoRows) {
		return k, errBadKey
	}
	if err != nil {
		return k, err
	}
	s.keyCache.Store(h, cachedKey{k, s.Now()})
	return k, nil
}
