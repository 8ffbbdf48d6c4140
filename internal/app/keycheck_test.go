package app_test

import (
	"crypto/rand"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/config"
	"linli/internal/secret"
)

// A store opens only with the data key its sealed values were written
// with: another key — a key file made afresh because --data-dir did not
// point at the dataset's folder, or a wrong LINLI_DATA_KEY — is refused at
// start with a message naming the key and where the right one is looked
// for, before anything is written, instead of pages answering 500 later.
func TestWrongDataKeyIsRefused(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County) // an audited write: the chain has a MAC
		checkValue := func() string {
			var v string
			e.App.DB.R.QueryRow(`SELECT COALESCE(MAX(value), '') FROM settings WHERE key = 'data_key_check'`).Scan(&v)
			return v
		}
		wire := func(cfg config.Config) error {
			// Not closed on success, as Restart: the env's app owns the store.
			_, err := app.Wire(t.Context(), cfg, e.App.DB, app.Options{Now: e.Clock.Now})
			return err
		}
		otherFolder := func() config.Config {
			cfg := e.App.Cfg
			cfg.DataDir = t.TempDir()
			return cfg
		}
		refused := func(t *testing.T, err error, names string) {
			t.Helper()
			if err == nil {
				t.Fatal("started with another data key")
			}
			for _, want := range []string{"数据密钥", "data key", names, "--data-dir", "LINLI_DATA_KEY"} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("the refusal does not say %q: %v", want, err)
				}
			}
		}

		first := checkValue()
		t.Run("the first start writes the check value", func(t *testing.T) {
			if first == "" {
				t.Fatal("no data_key_check in the settings")
			}
		})
		t.Run("the store's own key opens it again", func(t *testing.T) {
			if err := wire(e.App.Cfg); err != nil {
				t.Fatal(err)
			}
			if checkValue() != first {
				t.Fatal("the check value changed")
			}
		})
		t.Run("a key file made in another folder is refused, naming that file", func(t *testing.T) {
			cfg := otherFolder()
			refused(t, wire(cfg), filepath.Join(cfg.DataDir, secret.KeyFileName))
		})
		t.Run("another LINLI_DATA_KEY is refused, naming the variable", func(t *testing.T) {
			cfg := otherFolder()
			raw := make([]byte, 32)
			rand.Read(raw)
			cfg.DataKey = base64.StdEncoding.EncodeToString(raw)
			refused(t, wire(cfg), "(LINLI_DATA_KEY)")
		})
		t.Run("a store from before the check is checked by its audit chain and nothing is written", func(t *testing.T) {
			if _, err := e.App.DB.W.Exec(`DELETE FROM settings WHERE key = 'data_key_check'`); err != nil {
				t.Fatal(err)
			}
			refused(t, wire(otherFolder()), "data.key")
			if v := checkValue(); v != "" {
				t.Fatalf("a refused start wrote the check value %q", v)
			}
			if err := wire(e.App.Cfg); err != nil {
				t.Fatal(err)
			}
			if v := checkValue(); v == "" || v == first {
				t.Fatalf("the store's own key wrote no new check value (%q)", v)
			}
			refused(t, wire(otherFolder()), "data.key")
		})
	})
}
