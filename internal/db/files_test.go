package db_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"linli/internal/db"
)

// modes reads the permission bits of the data folder and of the database
// with its WAL and shared-memory files.
func modes(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	for _, name := range []string{".", db.SQLiteFile, db.SQLiteFile + "-wal", db.SQLiteFile + "-shm"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = st.Mode().Perm()
	}
	return out
}

var private = map[string]fs.FileMode{".": 0o700, db.SQLiteFile: 0o600, db.SQLiteFile + "-wal": 0o600, db.SQLiteFile + "-shm": 0o600}

// write makes SQLite create its WAL and shared-memory files.
func write(t *testing.T, d *db.DB) {
	t.Helper()
	if _, err := d.W.ExecContext(context.Background(), `CREATE TABLE IF NOT EXISTS note (s TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.W.ExecContext(context.Background(), `INSERT INTO note (s) VALUES ('x')`); err != nil {
		t.Fatal(err)
	}
}

func TestDataFilesArePrivate(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, dir string) {
		t.Helper()
		d, err := db.OpenSQLite(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		write(t, d)
		got := modes(t, dir)
		for name, want := range private {
			if got[name] != want {
				t.Errorf("%s: mode %v, want %v", name, got[name], want)
			}
		}
	}
	t.Run("a new data folder and database are the owner's only", func(t *testing.T) {
		check(t, filepath.Join(t.TempDir(), "linli-data"))
	})
	t.Run("an older, readable folder and database are tightened at open", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "linli-data")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		d, err := db.OpenSQLiteFile(filepath.Join(dir, db.SQLiteFile))
		if err != nil {
			t.Fatal(err)
		}
		write(t, d)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		for name, mode := range map[string]fs.FileMode{".": 0o755, db.SQLiteFile: 0o644} {
			if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
				t.Fatal(err)
			}
		}
		check(t, dir)
	})
}
