package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"linli/internal/app"
	"linli/internal/db"
)

func nilFile() *os.File {
	f, _ := os.Open(os.DevNull)
	return f
}

const pgBackupHint = "PostgreSQL 请使用 pg_dump / for PostgreSQL use: pg_dump -Fc -f linli.dump \"$LINLI_DATABASE_URL\"  (restore: pg_restore --clean -d \"$LINLI_DATABASE_URL\" linli.dump)"

func runBackup(e env, args []string) int {
	cfg, rest, code := loadConfig(e, "backup", args, nil)
	if code >= 0 {
		return code
	}
	if cfg.DatabaseURL != "" {
		fmt.Fprintln(e.stderr, pgBackupHint)
		return 2
	}
	if len(rest) != 1 {
		fmt.Fprintln(e.stderr, backupUsage)
		return 2
	}
	n, err := backup(cfg.DataDir, rest[0])
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "备份完成 / backup written: %s (%d bytes)\n", rest[0], n)
	return 0
}

// backup writes a consistent copy of the live database with VACUUM INTO,
// which SQLite runs inside one read transaction while writers go on, then
// checks the copy before reporting success.
func backup(dataDir, dst string) (int64, error) {
	src := filepath.Join(dataDir, db.SQLiteFile)
	if _, err := os.Stat(src); err != nil {
		return 0, fmt.Errorf("数据目录中没有数据库 / no database in %s", dataDir)
	}
	if _, err := os.Stat(dst); err == nil {
		return 0, fmt.Errorf("目标文件已存在 / %s already exists; choose a new name", dst)
	}
	d, err := db.OpenSQLiteFile(src)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	tmp := dst + ".partial"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	// Created empty and private first: VACUUM INTO fills an empty file
	// and keeps its mode, so no reader ever sees the copy 0644.
	if err := db.Private(tmp); err != nil {
		return 0, err
	}
	if _, err := d.W.Exec(`VACUUM INTO $1`, tmp); err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("备份失败 / backup failed: %w", err)
	}
	if err := checkDatabase(tmp); err != nil {
		os.Remove(tmp)
		return 0, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return 0, err
	}
	st, err := os.Stat(dst)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// checkDatabase opens a file as a Linli database and runs SQLite's
// integrity check.
func checkDatabase(path string) error {
	d, err := db.OpenSQLiteFile(path)
	if err != nil {
		return err
	}
	defer d.Close()
	var res string
	if err := d.R.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		return fmt.Errorf("文件不是完好的数据库 / %s is not an intact database (%v %s)", path, err, res)
	}
	pending, err := d.Pending(context.Background(), app.Migrations(app.Modules()))
	if err != nil {
		return fmt.Errorf("文件不是邻里数据库 / %s is not a Linli database", path)
	}
	if len(pending) == len(app.Migrations(app.Modules())) {
		return fmt.Errorf("文件不是邻里数据库 / %s is not a Linli database", path)
	}
	return nil
}

func runRestore(e env, args []string) int {
	cfg, rest, code := loadConfig(e, "restore", args, nil)
	if code >= 0 {
		return code
	}
	if cfg.DatabaseURL != "" {
		fmt.Fprintln(e.stderr, pgBackupHint)
		return 2
	}
	if len(rest) != 1 {
		fmt.Fprintln(e.stderr, restoreUsage)
		return 2
	}
	unlock, err := lockDataDir(cfg)
	if err != nil {
		return fail(e, errors.New("请先停止服务再恢复 / stop the server before restoring: "+err.Error()))
	}
	defer unlock()
	if err := restore(rest[0], cfg.DataDir); err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "已恢复 / restored %s into %s\n", rest[0], cfg.DataDir)
	// The restored chain is older than the checkpoints the data folder
	// holds: verified on its own, it becomes their new baseline.
	a, err := app.Open(context.Background(), cfg, app.Options{Log: newLogger("warn", nilFile()), Modules: e.modules})
	if err != nil {
		return fail(e, err)
	}
	defer a.Close()
	c, err := a.Audit.Rebase(context.Background())
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "审计链（%d 条）完好，已设为新基线 / the restored audit chain (%d entries) verifies and is the new baseline\n", c.Seq, c.Seq)
	return 0
}

// restore checks the backup, copies it beside the live file and renames it
// into place, so a failure at any point leaves the old database whole.
func restore(src, dataDir string) error {
	if err := checkDatabase(src); err != nil {
		return err
	}
	dst := filepath.Join(dataDir, db.SQLiteFile)
	tmp := dst + ".restore"
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	out.Close()
	os.Remove(dst + "-wal")
	os.Remove(dst + "-shm")
	return os.Rename(tmp, dst)
}

func osWriteFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }
