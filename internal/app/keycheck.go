package app

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"linli/internal/audit"
	"linli/internal/config"
	"linli/internal/db"
	"linli/internal/secret"
)

// The key check: a known text sealed under the data key and its blind
// index, kept in the settings. A key that opens it is the key the store's
// sealed values were written with.
const (
	keyCheckSetting = "data_key_check"
	keyCheckText    = "linli data key check"
	keyCheckAAD     = "settings.data_key_check"
)

// checkDataKey refuses a data key that is not the store's own — say a key
// file made afresh in another folder because --data-dir did not point at
// the dataset's — before anything is written: with it no sealed value
// opens and every page showing one answers 500. The first start with the
// check writes it; a store from before the check is first checked against
// its audit chain's newest MAC, which a key of the same file made.
func checkDataKey(ctx context.Context, cfg config.Config, d *db.DB, keys *secret.Keyring, log *audit.Log) error {
	var v string
	err := d.R.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, keyCheckSetting).Scan(&v)
	switch {
	case err == nil:
		sealed, index, _ := strings.Cut(v, " ")
		plain, oerr := keys.Open(sealed, keyCheckAAD)
		if oerr != nil || plain != keyCheckText || !hmac.Equal([]byte(index), []byte(keys.Index(keyCheckSetting, keyCheckText))) {
			return wrongKey(cfg)
		}
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	checked, fits, err := log.KeyFits(ctx)
	if err != nil {
		return err
	}
	if checked && !fits {
		return wrongKey(cfg)
	}
	v = keys.Seal(keyCheckText, keyCheckAAD) + " " + keys.Index(keyCheckSetting, keyCheckText)
	_, err = d.W.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, keyCheckSetting, v)
	return err
}

// wrongKey says which key was used and where the right one is looked for.
func wrongKey(cfg config.Config) error {
	from := "LINLI_DATA_KEY"
	if strings.TrimSpace(cfg.DataKey) == "" {
		from = filepath.Join(cfg.DataDir, secret.KeyFileName)
	}
	return fmt.Errorf("数据密钥（%s）打不开此数据库中加密的数据，它们是用另一把密钥写入的：请用 --data-dir 指向存放原 %s 的数据目录（用 --database-url 时也须如此），或把原密钥设为 LINLI_DATA_KEY / "+
		"the data key (%s) does not open this database's sealed data, which were written under another key: point --data-dir at the folder holding its %s (with --database-url too), or set LINLI_DATA_KEY to that key",
		from, secret.KeyFileName, from, secret.KeyFileName)
}
