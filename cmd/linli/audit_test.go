package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/audit"
	"linli/internal/auth"
	"linli/internal/config"
	"linli/internal/db"
	"linli/internal/dbtest"
)

// auditStore is a platform's configuration over one store, with a raw
// handle to that store for the tampering an owner of the database could do.
type auditStore struct {
	cfg config.Config
	raw *db.DB
}

// eachAuditStore runs fn over a fresh SQLite data folder and, when
// configured, a fresh PostgreSQL schema (with a data folder of its own for
// the keys).
func eachAuditStore(t *testing.T, fn func(t *testing.T, s auditStore)) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			cfg := config.Defaults()
			cfg.DataDir = t.TempDir()
			var raw *db.DB
			var err error
			if dialect == db.Postgres {
				cfg.DatabaseURL = dbtest.PostgresURL(t)
				raw, err = db.OpenPostgres(cfg.DatabaseURL)
			} else {
				raw, err = db.OpenSQLite(cfg.DataDir)
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { raw.Close() })
			fn(t, auditStore{cfg: cfg, raw: raw})
		})
	}
}

// serveAndAudit opens the platform, writes n audit entries (entry reveal
// is a reveal of an ID number) while its background jobs run, as they do
// under `linli serve`, then stops it.
func (s auditStore) serveAndAudit(t *testing.T, n, reveal int) {
	t.Helper()
	ctx := access.With(context.Background(), &access.Principal{UserID: "u-7", Username: "county", Role: access.Officer, Division: "330106"})
	a, err := app.Open(ctx, s.cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	jobs, stop := context.WithCancel(context.Background())
	a.Start(jobs)
	for i := 1; i <= n; i++ {
		e := audit.Entry{Action: "registry.resident.update", Object: "resident", ObjectID: fmt.Sprint("r-", i), Division: "330106002051"}
		if i == reveal {
			e = audit.Entry{Action: "registry.reveal", Object: "resident", ObjectID: "r-9", Division: "330106002051",
				Detail: audit.Detail(map[string]string{"field": "id_number", "reason": "核实低保申请"})}
		}
		if err := a.Audit.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	a.Wait()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

// verify runs `linli audit verify` and returns its exit code and output.
func (s auditStore) verify(t *testing.T) (int, string, string) {
	t.Helper()
	args := []string{"audit", "verify", "--data-dir", s.cfg.DataDir}
	if s.cfg.DatabaseURL != "" {
		args = append(args, "--database-url", s.cfg.DatabaseURL)
	}
	var out, errOut strings.Builder
	code := run(args, env{nil, &out, &errOut, app.Modules()})
	return code, out.String(), errOut.String()
}

// lastSeq is the chain's head.
func (s auditStore) lastSeq(t *testing.T) int64 {
	t.Helper()
	var n int64
	if err := s.raw.R.QueryRow(`SELECT MAX(seq) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// disableGuard turns the append-only triggers off: an owner drops them on
// SQLite, a superuser disables them on PostgreSQL.
func (s auditStore) disableGuard(t *testing.T) {
	t.Helper()
	stmts := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
	if s.raw.Dialect == db.Postgres {
		stmts = []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`}
	}
	for _, q := range stmts {
		if _, err := s.raw.W.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

// wantBroken checks that verify fails at entry seq for the reason given.
func wantBroken(t *testing.T, s auditStore, seq int64, reason string) {
	t.Helper()
	code, out, errOut := s.verify(t)
	want := fmt.Sprintf("错误 / error: 审计链在第 %d 条断开 / audit chain broken at entry %d: %s\n", seq, seq, reason)
	if code != 1 || errOut != want {
		t.Errorf("verify: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errOut, want)
	}
	t.Logf("linli audit verify: exit %d: %s", code, errOut)
}

// lastCheckpoint is the newest line of the checkpoint file.
func (s auditStore) lastCheckpoint(t *testing.T) audit.Checkpoint {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.cfg.DataDir, audit.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var c audit.Checkpoint
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuditTailTruncationDetected(t *testing.T) {
	t.Parallel()
	eachAuditStore(t, func(t *testing.T, s auditStore) {
		s.serveAndAudit(t, 60, 30)
		head := s.lastSeq(t)
		t.Run("the stopped server left a checkpoint of the whole chain", func(t *testing.T) {
			if c := s.lastCheckpoint(t); c.Kind != audit.KindCheckpoint || c.Seq != head || c.Legacy != 0 {
				t.Errorf("checkpoint %+v, want one of %d entries", c, head)
			}
		})
		t.Run("the untouched chain verifies", func(t *testing.T) {
			if code, out, errOut := s.verify(t); code != 0 {
				t.Fatalf("exit %d: %s %s", code, out, errOut)
			}
		})
		at := s.lastCheckpoint(t).At.Format(time.RFC3339)
		t.Run("deleting the last 20 entries behind the triggers' back is found", func(t *testing.T) {
			s.disableGuard(t)
			res, err := s.raw.W.Exec(`DELETE FROM audit_log WHERE seq > $1`, head-20)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 20 {
				t.Fatalf("deleted %d: %v", n, err)
			}
			wantBroken(t, s, head-19, fmt.Sprintf("链尾被截断：%s 的检查点记录了 %d 条，现只有 %d 条 / tail cut: the checkpoint of %s records %d entries, the chain holds %d", at, head, head-20, at, head, head-20))
		})
	})
}

func TestAuditRewriteDetected(t *testing.T) {
	t.Parallel()
	eachAuditStore(t, func(t *testing.T, s auditStore) {
		s.serveAndAudit(t, 60, 30)
		var seq int64
		if err := s.raw.R.QueryRow(`SELECT seq FROM audit_log WHERE action = 'registry.reveal'`).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		s.disableGuard(t)
		t.Run("a reveal rewritten and every later hash recomputed is found at the reveal", func(t *testing.T) {
			if _, err := s.raw.W.Exec(`UPDATE audit_log SET actor = 'someone.else', detail = $1 WHERE seq = $2`,
				audit.Detail(map[string]string{"field": "phone", "reason": "例行核对"}), seq); err != nil {
				t.Fatal(err)
			}
			rehash(t, s.raw, seq)
			wantBroken(t, s, seq, "校验码不符：条目被改写 / MAC does not match: the entry was rewritten")
		})
	})
}

// rehash recomputes the hash chain from entry from onwards, as someone who
// read the source and holds the database could: the chain alone then
// verifies again.
func rehash(t *testing.T, d *db.DB, from int64) {
	t.Helper()
	var prev string
	if err := d.R.QueryRow(`SELECT hash FROM audit_log WHERE seq = $1`, from-1).Scan(&prev); err != nil {
		t.Fatal(err)
	}
	rows, err := d.R.Query(`SELECT seq, at, actor_id, actor, role, ip, action, object, object_id, division_code, result, detail FROM audit_log WHERE seq >= $1 ORDER BY seq`, from)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		seq    int64
		fields []string
	}
	var all []row
	for rows.Next() {
		var r row
		var at db.Time
		f := make([]string, 10)
		if err := rows.Scan(&r.seq, &at, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9]); err != nil {
			t.Fatal(err)
		}
		r.fields = append([]string{strconv.FormatInt(r.seq, 10), at.UTC().Format("2006-01-02T15:04:05.000000Z")}, f...)
		all = append(all, r)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		h := sha256.New()
		for _, f := range append([]string{prev}, r.fields...) {
			fmt.Fprintf(h, "%d:%s", len(f), f)
		}
		sum := hex.EncodeToString(h.Sum(nil))
		if _, err := d.W.Exec(`UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3`, prev, sum, r.seq); err != nil {
			t.Fatal(err)
		}
		prev = sum
	}
}

// superuserWarning is what `linli migrate` prints for a superuser role.
func superuserWarning(role string) string {
	return fmt.Sprintf("警告 / warning: 数据库角色 %s 是超级用户，可停用审计表的触发器；服务请用既非超级用户、也非表属主的角色运行（见 README）/ the database role %s is a superuser and can disable the audit log's triggers; run the server as a role that is neither a superuser nor the tables' owner (see README)\n", role, role)
}

// asRole is the URL u used as role (the session's SET ROLE at connection).
func asRole(t *testing.T, u, role string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	q.Set("options", "-c role="+role)
	// pgx reads "+" as itself, not as a space.
	p.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return p.String()
}

// TestAppRoleCannotTamperWithTheAuditLog follows the README's PostgreSQL
// role set-up: an owner role migrates, the server runs as a role that is
// neither superuser nor owner, and that role cannot touch the audit log.
func TestAppRoleCannotTamperWithTheAuditLog(t *testing.T) {
	t.Parallel()
	if os.Getenv(dbtest.EnvPostgres) == "" {
		t.Skip(dbtest.EnvPostgres + " not set")
	}
	admin, err := db.OpenPostgres(os.Getenv(dbtest.EnvPostgres))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var super string
	if err := admin.R.QueryRow(`SELECT current_user`).Scan(&super); err != nil {
		t.Fatal(err)
	}
	migrate := func(t *testing.T, dsn, dir string) (int, string, string) {
		t.Helper()
		var out, errOut strings.Builder
		code := run([]string{"migrate", "--database-url", dsn, "--data-dir", dir}, env{nil, &out, &errOut, app.Modules()})
		return code, out.String(), errOut.String()
	}
	t.Run("migrate as a superuser warns", func(t *testing.T) {
		code, _, errOut := migrate(t, dbtest.PostgresURL(t), t.TempDir())
		if code != 0 || errOut != superuserWarning(super) {
			t.Errorf("exit %d, stderr %q; want %q", code, errOut, superuserWarning(super))
		}
	})

	schemaURL := dbtest.PostgresURL(t)
	schema := must(url.Parse(schemaURL)).Query().Get("search_path")
	owner, server := schema+"_owner", schema+"_app"
	exec := func(stmts ...string) {
		t.Helper()
		for _, s := range stmts {
			if _, err := admin.W.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	if _, err := admin.W.Exec(`CREATE ROLE ` + owner + ` NOLOGIN NOSUPERUSER`); err != nil {
		t.Skipf("the test role cannot create roles: %v", err)
	}
	exec(`CREATE ROLE ` + server + ` NOLOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS`)
	t.Cleanup(func() {
		for _, s := range []string{`REASSIGN OWNED BY ` + owner + ` TO ` + super, `DROP OWNED BY ` + server, `DROP OWNED BY ` + owner, `DROP ROLE ` + server, `DROP ROLE ` + owner} {
			if _, err := admin.W.Exec(s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
	})
	// The README's set-up, with this test's schema and roles.
	exec(`ALTER SCHEMA `+schema+` OWNER TO `+owner,
		`GRANT USAGE ON SCHEMA `+schema+` TO `+server,
		`ALTER DEFAULT PRIVILEGES FOR ROLE `+owner+` IN SCHEMA `+schema+` GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO `+server)
	dir := t.TempDir()
	t.Run("migrate as the owner role applies everything without a warning", func(t *testing.T) {
		code, out, errOut := migrate(t, asRole(t, schemaURL, owner), dir)
		if code != 0 || errOut != "" || !strings.Contains(out, "applied audit/002_mac\n") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
	exec(`REVOKE UPDATE, DELETE ON ` + schema + `.audit_log FROM ` + server)

	cfg := config.Defaults()
	cfg.DataDir, cfg.DatabaseURL = dir, asRole(t, schemaURL, server)
	ctx := access.With(context.Background(), access.Operator())
	a, err := app.Open(ctx, cfg, app.Options{})
	if err != nil {
		t.Fatalf("the server's role cannot open the platform: %v", err)
	}
	defer a.Close()
	t.Run("the server's role runs the platform and writes the audit log", func(t *testing.T) {
		if _, _, err := a.Auth.Create(ctx, auth.NewUser{Username: "wang", Role: access.CommunityWorker, Division: "330106002051"}); err != nil {
			t.Fatal(err)
		}
		if n, err := a.Audit.Verify(ctx); err != nil || n == 0 {
			t.Fatalf("verify: %d %v", n, err)
		}
	})
	n, err := a.Audit.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`UPDATE audit_log SET actor = 'someone.else'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
		`ALTER TABLE audit_log DISABLE TRIGGER USER`,
		`DROP TRIGGER audit_log_no_change ON audit_log`,
		`SET session_replication_role = replica`,
	} {
		t.Run("the server's role cannot: "+stmt, func(t *testing.T) {
			if _, err := a.DB.W.Exec(stmt); err == nil {
				t.Errorf("%s passed", stmt)
			}
		})
	}
	if after, err := a.Audit.Count(ctx); err != nil || after != n {
		t.Errorf("entries %d → %d (%v)", n, after, err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestAuditVerifyWithoutCheckpointWarns(t *testing.T) {
	t.Parallel()
	eachAuditStore(t, func(t *testing.T, s auditStore) {
		s.serveAndAudit(t, 5, 0)
		file := filepath.Join(s.cfg.DataDir, audit.CheckpointFile)
		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
		t.Run("the chain verifies, with a warning that a cut tail cannot be seen", func(t *testing.T) {
			code, out, errOut := s.verify(t)
			want := "警告 / warning: 尚无审计检查点，无法发现链尾被截断；本次校验后写入 / no audit checkpoint yet, so a cut tail cannot be seen; one is written after this check\n"
			if code != 0 || out != "审计链完整，共 5 条 / audit chain intact: 5 entries\n" || errOut != want {
				t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		})
		t.Run("the check leaves a checkpoint for the next one", func(t *testing.T) {
			if c := s.lastCheckpoint(t); c.Seq != 5 {
				t.Errorf("checkpoint %+v", c)
			}
			code, out, _ := s.verify(t)
			at := s.lastCheckpoint(t).At.Format(time.RFC3339)
			want := fmt.Sprintf("审计链完整，共 5 条 / audit chain intact: 5 entries\n与 %s 的检查点（5 条）一致 / consistent with the checkpoint of %s (5 entries)\n", at, at)
			if code != 0 || out != want {
				t.Errorf("exit %d, stdout %q, want %q", code, out, want)
			}
		})
	})
}
