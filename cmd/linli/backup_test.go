package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/auth"
	"linli/internal/config"
)

func TestBackupRestoreRoundTrip(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	ctx := access.With(context.Background(), access.Operator())
	a, err := app.Open(ctx, cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name string) {
		if _, _, err := a.Auth.Create(ctx, auth.NewUser{Username: name, Role: access.Officer, Division: "330106"}); err != nil {
			t.Fatal(err)
		}
	}
	mk("before.backup")
	file := filepath.Join(t.TempDir(), "linli.bak")
	// Online: the app is open (and could be writing) while the backup runs.
	if _, err := backup(cfg.DataDir, file); err != nil {
		t.Fatal(err)
	}
	if _, err := backup(cfg.DataDir, file); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("overwrote an existing backup: %v", err)
	}
	mk("after.backup")
	a.Close()

	// A running server holds the data folder: restore refuses.
	unlock, err := lockDataDir(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	if code := runRestore(env{nil, &out, &errOut, app.Modules()}, []string{"--data-dir", cfg.DataDir, file}); code == 0 || !strings.Contains(errOut.String(), "stop the server") {
		t.Fatalf("restore under a running server: %d %s", code, errOut.String())
	}
	unlock()

	// Not a database: refused, the live one untouched.
	junk := filepath.Join(t.TempDir(), "junk.db")
	writeFile(t, junk, "not sqlite")
	if err := restore(junk, cfg.DataDir); err == nil {
		t.Fatal("restored a non-database")
	}
	if code := runRestore(env{nil, &out, &errOut, app.Modules()}, []string{"--data-dir", cfg.DataDir, file}); code != 0 {
		t.Fatalf("restore: %s", errOut.String())
	}
	b, err := app.Open(ctx, cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Auth.Get(ctx, "before.backup"); err != nil {
		t.Fatalf("restored data lacks the account made before the backup: %v", err)
	}
	if _, err := b.Auth.Get(ctx, "after.backup"); err == nil {
		t.Fatal("restored data has the account made after the backup")
	}
	if n, err := b.Audit.Verify(ctx); err != nil || n == 0 {
		t.Fatalf("audit chain after restore: %d %v", n, err)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := osWriteFile(path, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func TestBackupFilesArePrivate(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	ctx := access.With(context.Background(), access.Operator())
	a, err := app.Open(ctx, cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	file := filepath.Join(t.TempDir(), "linli.bak")
	if _, err := backup(cfg.DataDir, file); err != nil {
		t.Fatal(err)
	}
	t.Run("the backup is the owner's only", func(t *testing.T) {
		st, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != 0o600 {
			t.Errorf("backup mode %v, want %v", got, fs.FileMode(0o600))
		}
	})
	t.Run("no partial copy is left beside it", func(t *testing.T) {
		left, err := filepath.Glob(file + "*")
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 1 {
			t.Errorf("files beside the backup: %v", left)
		}
	})
}
