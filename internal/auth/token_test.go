package auth_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/auth"
	"linli/internal/dbtest"
	"linli/internal/web"
)

// bearer is a client that calls with an API token.
type bearer struct {
	e   *apptest.Env
	tok string
}

// do sends a request with the token and decodes a problem answer.
func (b bearer) do(t *testing.T, method, path string, body any) (int, web.Problem) {
	t.Helper()
	c := b.e.Client()
	req := c.NewRequest(method, path, nil)
	if body != nil {
		req = jsonRequest(t, c, method, path, body)
	}
	req.Header.Set("Authorization", "Bearer "+b.tok)
	st, text, _ := c.Send(req)
	var p web.Problem
	if st >= 400 {
		decode(t, text, &p)
	}
	return st, p
}

// issue gives name a token of scope for a day, as the operator would.
func issue(t *testing.T, e *apptest.Env, name, scope string) (bearer, *auth.Token) {
	t.Helper()
	tok, rec, err := e.App.Auth.IssueToken(operator(), auth.TokenRequest{Username: name, Name: "test", Scope: scope, TTL: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return bearer{e, tok}, rec
}

func TestAPITokenScopeExpiryRevoke(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("hotline", access.CommunityWorker, apptest.CommunityA)
		e.User("sec", access.SecAdmin, "33")
		e.User("other", access.CommunityWorker, apptest.CommunityB)
		reader, readRec := issue(t, e, "hotline", "read")
		t.Run("a read-only token reads within its account's jurisdiction", func(t *testing.T) {
			if st, _ := reader.do(t, "GET", "/api/v1/divisions/"+apptest.CommunityA+"/attributes", nil); st != 200 {
				t.Fatalf("in scope: %d", st)
			}
			if st, _ := reader.do(t, "GET", "/api/v1/divisions/"+apptest.CommunityB+"/attributes", nil); st != 404 {
				t.Fatalf("out of scope: %d", st)
			}
			if me := meOf(t, reader); me.Username != "hotline" || !me.ViaToken {
				t.Fatalf("me %+v", me)
			}
		})
		t.Run("a read-only token cannot write", func(t *testing.T) {
			st, p := reader.do(t, "DELETE", "/api/v1/tokens/"+readRec.ID, nil)
			if st != 403 || p.DetailEN != "the API token's scope does not include this operation" {
				t.Fatalf("got %d %+v", st, p)
			}
		})
		t.Run("a token named for one operation calls that one only", func(t *testing.T) {
			writer, rec := issue(t, e, "hotline", "DELETE /api/v1/tokens/{id}")
			if st, _ := writer.do(t, "GET", "/api/v1/me", nil); st != 403 {
				t.Fatalf("a read outside its scope: %d", st)
			}
			if st, _ := writer.do(t, "DELETE", "/api/v1/tokens/"+rec.ID, nil); st != 204 {
				t.Fatalf("its own operation: %d", st)
			}
		})
		t.Run("a scope names known operations only", func(t *testing.T) {
			for _, scope := range []string{"", "write", "POST /api/v1/nothing"} {
				_, _, err := e.App.Auth.IssueToken(operator(), auth.TokenRequest{Username: "hotline", Name: "x", Scope: scope, TTL: time.Hour})
				dbtest.Refusal(t, err, "invalid", "scope")
			}
		})
		t.Run("a token does not open pages", func(t *testing.T) {
			c := e.Client()
			req := c.NewRequest("GET", "/registry/residents", nil)
			req.Header.Set("Authorization", "Bearer "+reader.tok)
			st, text, _ := c.Send(req)
			var p web.Problem
			decode(t, text, &p)
			if st != 401 || p.DetailEN != "API tokens are for the API under /api/ only; sign in to use the pages" {
				t.Fatalf("got %d %+v", st, p)
			}
		})
		t.Run("the owner lists and revokes their tokens on the API and the page", func(t *testing.T) {
			c := e.Login("hotline")
			mine := apptest.JSON[[]auth.Token](t, c, "GET", "/api/v1/tokens", nil, 200)
			if len(mine) != 2 || mine[1].ID != readRec.ID || !mine[1].Active || mine[0].Active || mine[1].Scope != "read" {
				t.Fatalf("got %+v", mine)
			}
			if st, _, _ := c.Form("/account/tokens/"+readRec.ID+"/revoke", map[string]string{"confirm": "yes"}, nil); st != 200 {
				t.Fatalf("revoke on the page: %d", st)
			}
			if st, p := reader.do(t, "GET", "/api/v1/me", nil); st != 401 || p.DetailEN != "the API token is invalid or expired" {
				t.Fatalf("a revoked token: %d %+v", st, p)
			}
			apptest.JSON[web.Problem](t, c, "DELETE", "/api/v1/tokens/"+readRec.ID, nil, 409)
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'token.revoke' AND actor = 'hotline' AND detail LIKE $1`, "%"+readRec.ID+"%"); n != 1 {
				t.Fatalf("revocation audited %d times", n)
			}
		})
		t.Run("others' tokens are out of reach; the security administrator's are all within", func(t *testing.T) {
			_, rec := issue(t, e, "hotline", "read")
			apptest.JSON[web.Problem](t, e.Login("other"), "DELETE", "/api/v1/tokens/"+rec.ID, nil, 404)
			sec := e.Login("sec")
			if all := apptest.JSON[[]auth.Token](t, sec, "GET", "/api/v1/tokens", nil, 200); len(all) != 3 || all[0].ID != rec.ID || all[0].Username != "hotline" {
				t.Fatalf("got %+v", all)
			}
			if st, _, _ := sec.Form("/account/tokens/"+rec.ID+"/revoke", map[string]string{"confirm": "yes"}, nil); st != 200 {
				t.Fatalf("revoke on the page: %d", st)
			}
		})
		t.Run("the operator revokes from the command line", func(t *testing.T) {
			_, rec := issue(t, e, "hotline", "read")
			got, err := e.App.Auth.RevokeToken(operator(), rec.ID)
			if err != nil || got.Active || got.RevokedBy != "cli" {
				t.Fatalf("got %+v %v", got, err)
			}
		})
		t.Run("an expired token is refused", func(t *testing.T) {
			tok, _ := issue(t, e, "hotline", "read")
			e.Clock.Add(24 * time.Hour)
			if st, _ := tok.do(t, "GET", "/api/v1/me", nil); st != 401 {
				t.Fatalf("expired: %d", st)
			}
		})
	})
}

func TestAPITokenNeedsAnAccountInGoodStanding(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("sys", access.SysAdmin, "33")
		e.User("sec", access.SecAdmin, "33")
		e.User("hotline", access.CommunityWorker, apptest.CommunityA)
		e.User("county", access.Officer, apptest.County)
		t.Run("a password change ends the account's tokens", func(t *testing.T) {
			tok, _ := issue(t, e, "hotline", "read")
			c := e.Login("hotline")
			if st, _, _ := c.Form("/account/password", map[string]string{"old_password": apptest.Password, "new_password": "New-Strong-Pass-42", "confirm_password": "New-Strong-Pass-42"}, nil); st != 303 {
				t.Fatalf("change: %d", st)
			}
			if st, _ := tok.do(t, "GET", "/api/v1/me", nil); st != 401 {
				t.Fatalf("after the change: %d", st)
			}
		})
		t.Run("a reset ends them, and the one-time password must be changed first", func(t *testing.T) {
			tok, _ := issue(t, e, "county", "read")
			if _, err := e.App.Auth.ResetPassword(operator(), "county"); err != nil {
				t.Fatal(err)
			}
			if st, _ := tok.do(t, "GET", "/api/v1/me", nil); st != 401 {
				t.Fatalf("after the reset: %d", st)
			}
			fresh, _ := issue(t, e, "county", "read")
			st, p := fresh.do(t, "GET", "/api/v1/me", nil)
			if st != 403 || p.DetailEN != "the account must change its one-time password on the web before its tokens work" {
				t.Fatalf("pending password: %d %+v", st, p)
			}
		})
		t.Run("a required second factor not enrolled stops the tokens", func(t *testing.T) {
			if err := e.App.Auth.SetPolicy(as(&access.Principal{Username: "sec", Role: access.SecAdmin, Division: "33"}), access.CommunityWorker, true); err != nil {
				t.Fatal(err)
			}
			tok, _ := issue(t, e, "hotline", "read")
			st, p := tok.do(t, "GET", "/api/v1/me", nil)
			if st != 403 || p.DetailEN != "the account's role requires one-time codes: enrol on the web before its tokens work" {
				t.Fatalf("got %d %+v", st, p)
			}
		})
		t.Run("an account awaiting approval has no working token", func(t *testing.T) {
			u := apptest.JSON[auth.CreatedUser](t, e.Login("sys"), "POST", "/api/v1/users", map[string]string{"username": "grid1", "role": "grid_worker", "division_code": apptest.CommunityA}, 201)
			_, _, err := e.App.Auth.IssueToken(operator(), auth.TokenRequest{Username: u.Username, Name: "x", Scope: "read", TTL: time.Hour})
			dbtest.Refusal(t, err, "invalid", "username")
		})
		t.Run("a disabled account's token acts no more", func(t *testing.T) {
			e.User("res1", access.Resident, apptest.CommunityA)
			tok, _ := issue(t, e, "res1", "read")
			if err := e.App.Auth.SetDisabled(as(&access.Principal{UserID: "x", Username: "sec", Role: access.SecAdmin, Division: "33"}), "res1", true); err != nil {
				t.Fatal(err)
			}
			if st, _ := tok.do(t, "GET", "/api/v1/me", nil); st != 401 {
				t.Fatalf("disabled account: %d", st)
			}
		})
		t.Run("failed sign-ins by others do not stop an account's tokens", func(t *testing.T) {
			e.User("busy", access.Resident, apptest.CommunityA)
			tok, _ := issue(t, e, "busy", "read")
			for range 10 {
				mustLogin(t, e, "busy", "Wrong-Passw0rd-1")
			}
			if st, _ := tok.do(t, "GET", "/api/v1/me", nil); st != 200 {
				t.Fatalf("during the back-off: %d", st)
			}
		})
	})
}

func TestTokenIssueAuditedWithTheOperator(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.user("hotline", access.CommunityWorker, communityA)
		op := access.Operator()
		op.Username = "cli:alice"
		_, rec, err := e.svc.IssueToken(as(op), auth.TokenRequest{Username: "hotline", Name: "12345", Scope: "read", TTL: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Run("the token records who issued it", func(t *testing.T) {
			if rec.IssuedBy != "cli:alice" || rec.Scope != "read" {
				t.Fatalf("got %+v", rec)
			}
		})
		t.Run("the audit entry names the operator, the scope and the expiry", func(t *testing.T) {
			var actor, detail string
			if err := e.d.R.QueryRow(`SELECT actor, detail FROM audit_log WHERE action = 'token.issue' AND object_id = 'hotline'`).Scan(&actor, &detail); err != nil {
				t.Fatal(err)
			}
			var d map[string]string
			decode(t, detail, &d)
			if actor != "cli:alice" || d["issued_by"] != "cli:alice" || d["scope"] != "read" || d["token_id"] != rec.ID || d["expires_at"] != "2026-11-30T08:00:00Z" {
				t.Fatalf("actor %q, detail %v", actor, d)
			}
		})
		t.Run("only the system administrator issues tokens", func(t *testing.T) {
			_, _, err := e.svc.IssueToken(as(&access.Principal{UserID: "x", Role: access.SecAdmin, Division: "33"}), auth.TokenRequest{Username: "hotline", Scope: "read", TTL: time.Hour})
			dbtest.Refusal(t, err, "forbidden", "")
		})
	})
}

// decode unmarshals JSON text into v or fails the test.
func decode(t *testing.T, text string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(text), v); err != nil {
		t.Fatalf("decode into %T: %v: %s", v, err, text)
	}
}

// jsonRequest is a request with a JSON body.
func jsonRequest(t *testing.T, c *apptest.Client, method, path string, body any) *http.Request {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req := c.NewRequest(method, path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// meOf is the principal a token acts as.
func meOf(t *testing.T, b bearer) auth.Me {
	t.Helper()
	c := b.e.Client()
	req := c.NewRequest("GET", "/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+b.tok)
	st, text, _ := c.Send(req)
	if st != 200 {
		t.Fatalf("me: %d %s", st, text)
	}
	var me auth.Me
	decode(t, text, &me)
	return me
}
