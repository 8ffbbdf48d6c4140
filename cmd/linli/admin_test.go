package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/auth"
	"linli/internal/config"
)

func TestAdminTokenScopedRevokedAndAudited(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	linli := func(stdin string, args ...string) (code int, stdout, stderr string) {
		var out, errOut bytes.Buffer
		code = run(append(args, "--data-dir", dir), env{strings.NewReader(stdin), &out, &errOut, app.Modules()})
		return code, out.String(), errOut.String()
	}
	if code, _, errOut := linli("Test-Passw0rd-2026\n", "admin", "create-user", "--username", "hotline", "--role", "community_worker", "--division", "330106002051", "--password-stdin"); code != 0 {
		t.Fatalf("create-user: %d %s", code, errOut)
	}
	var id string
	t.Run("a token is printed once, its id and scope beside it", func(t *testing.T) {
		code, out, errOut := linli("", "admin", "token", "--username", "hotline", "--name", "12345", "--scope", "read, POST /api/v1/requests")
		m := regexp.MustCompile(`token id: ([0-9a-f]{32})（范围 / scope: (.+)）`).FindStringSubmatch(errOut)
		if code != 0 || !strings.HasPrefix(out, auth.TokenPrefix) || m == nil || m[2] != "read,POST /api/v1/requests" {
			t.Fatalf("got %d %q %q", code, out, errOut)
		}
		id = m[1]
	})
	t.Run("an unknown operation is refused", func(t *testing.T) {
		code, _, errOut := linli("", "admin", "token", "--username", "hotline", "--scope", "POST /api/v1/nowhere")
		if code != 1 || !strings.Contains(errOut, "unknown operation: POST /api/v1/nowhere") {
			t.Fatalf("got %d %q", code, errOut)
		}
	})
	t.Run("--revoke ends it, once", func(t *testing.T) {
		if code, out, errOut := linli("", "admin", "token", "--revoke", id); code != 0 || out != "已撤销 / revoked: "+id+" (hotline, 12345)\n" {
			t.Fatalf("got %d %q %q", code, out, errOut)
		}
		if code, _, errOut := linli("", "admin", "token", "--revoke", id); code != 1 || !strings.Contains(errOut, "the token is already revoked") {
			t.Fatalf("again: %d %q", code, errOut)
		}
	})
	t.Run("issue and revocation are audited with the operator", func(t *testing.T) {
		cfg := config.Defaults()
		cfg.DataDir = dir
		a, err := app.Open(context.Background(), cfg, app.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		ts, err := a.Auth.Tokens(access.With(context.Background(), access.Operator()))
		if err != nil || len(ts) != 1 {
			t.Fatalf("got %+v %v", ts, err)
		}
		want := operator().Username
		if ts[0].IssuedBy != want || ts[0].RevokedBy != want || !strings.HasPrefix(want, "cli") {
			t.Fatalf("issued by %q, revoked by %q, want %q", ts[0].IssuedBy, ts[0].RevokedBy, want)
		}
		var n int
		if err := a.DB.R.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action IN ('token.issue', 'token.revoke') AND actor = $1`, want).Scan(&n); err != nil || n != 2 {
			t.Fatalf("%d entries audited with %q: %v", n, want, err)
		}
	})
}
