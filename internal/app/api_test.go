package app_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/audit"
	"linli/internal/auth"
)

func TestLoginThrottlingAndLogout(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("wang", access.CommunityWorker, apptest.CommunityA)
		c := e.Client()
		for i := 0; i < auth.MaxFailures; i++ {
			st, body := c.Do("POST", "/api/v1/session", map[string]string{"username": "wang", "password": "Wrong-Passw0rd-1"})
			if st != 401 || !strings.Contains(body, "problem") && !strings.Contains(body, "detail") {
				t.Fatalf("attempt %d: %d %s", i, st, body)
			}
		}
		// Locked now: even the right password is refused, with a message saying so.
		st, body := c.Do("POST", "/api/v1/session", map[string]string{"username": "wang", "password": apptest.Password})
		if st != 401 || !strings.Contains(body, "锁定") {
			t.Fatalf("locked account: %d %s", st, body)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'login.lock' AND object_id = 'wang'`); n != 1 {
			t.Fatalf("lock audited %d times", n)
		}
		e.Clock.Add(auth.LockFor + time.Second)
		c = e.Login("wang")
		if st, body := c.Do("GET", "/api/v1/me", nil); st != 200 || !strings.Contains(body, `"community_worker"`) {
			t.Fatalf("me: %d %s", st, body)
		}
		if st, _ := c.Do("DELETE", "/api/v1/session", nil); st != 204 {
			t.Fatalf("logout %d", st)
		}
		if st, _ := c.Do("GET", "/api/v1/me", nil); st != 401 {
			t.Fatalf("after logout: %d", st)
		}
		if n := e.Count(`SELECT COUNT(*) FROM sessions`); n != 0 {
			t.Fatalf("logout left %d sessions", n)
		}
		// Unknown users and wrong passwords read the same.
		_, b1 := c.Do("POST", "/api/v1/session", map[string]string{"username": "nobody", "password": "Wrong-Passw0rd-1"})
		_, b2 := c.Do("POST", "/api/v1/session", map[string]string{"username": "wang", "password": "Wrong-Passw0rd-1"})
		if !strings.Contains(b1, "用户名或密码错误") || !strings.Contains(b2, "用户名或密码错误") {
			t.Fatalf("messages differ: %s / %s", b1, b2)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("lihua", access.Officer, apptest.County)
		c := e.Login("lihua")
		// Activity within the idle timeout keeps the session alive...
		for i := 0; i < 3; i++ {
			e.Clock.Add(e.App.Cfg.SessionIdle - time.Minute)
			if st, _ := c.Do("GET", "/api/v1/me", nil); st != 200 {
				t.Fatalf("active session ended after %d steps: %d", i, st)
			}
		}
		// ...idleness beyond it ends it.
		e.Clock.Add(e.App.Cfg.SessionIdle + time.Second)
		if st, _ := c.Do("GET", "/api/v1/me", nil); st != 401 {
			t.Fatalf("idle session still valid: %d", st)
		}
		// A busy session still ends at the absolute limit.
		c = e.Login("lihua")
		for elapsed := time.Duration(0); elapsed < e.App.Cfg.SessionMax; elapsed += 20 * time.Minute {
			if st, _ := c.Do("GET", "/api/v1/me", nil); st != 200 {
				t.Fatalf("session ended early at %s: %d", elapsed, st)
			}
			e.Clock.Add(20 * time.Minute)
		}
		e.Clock.Add(time.Minute)
		if st, _ := c.Do("GET", "/api/v1/me", nil); st != 401 {
			t.Fatalf("session outlived its absolute limit: %d", st)
		}
	})
}

func TestJurisdictionScope(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker.a", access.CommunityWorker, apptest.CommunityA)
		e.User("county", access.Officer, apptest.County)
		e.User("ningbo", access.Officer, apptest.OtherCity)
		e.User("sys", access.SysAdmin, "33")
		officer := e.Login("county")
		for _, code := range []string{apptest.CommunityA, apptest.CommunityB} {
			if st, body := officer.Do("PUT", "/api/v1/divisions/"+code+"/attributes/2025", map[string]any{"values": map[string]float64{"population": 5000, "households": 2000}}); st != 200 {
				t.Fatalf("county officer writes %s: %d %s", code, st, body)
			}
		}
		worker := e.Login("worker.a")
		ningbo := e.Login("ningbo")
		sys := e.Login("sys")
		cases := []struct {
			c      *apptest.Client
			code   string
			status int
		}{
			{worker, apptest.CommunityA, 200}, {worker, apptest.CommunityB, 404},
			{officer, apptest.CommunityA, 200}, {officer, apptest.CommunityB, 200},
			{ningbo, apptest.CommunityA, 404}, {ningbo, apptest.CommunityB, 404},
			{sys, apptest.CommunityA, 404}, // admins do not read business rows
		}
		for _, k := range cases {
			st, body := k.c.Do("GET", "/api/v1/divisions/"+k.code+"/attributes?year=2025", nil)
			if st != k.status {
				t.Errorf("GET attributes of %s: %d, want %d (%s)", k.code, st, k.status, body)
			}
			if st == 404 && !strings.Contains(body, k.code) {
				t.Errorf("404 does not name the code: %s", body)
			}
			if st == 200 && !strings.Contains(body, `"population"`) {
				t.Errorf("in-scope read lacks data: %s", body)
			}
		}
		// A worker writing outside its subtree gets 404 and nothing is written.
		before := e.Count(`SELECT COUNT(*) FROM unit_attributes`)
		st, _ := worker.Do("PUT", "/api/v1/divisions/"+apptest.CommunityB+"/attributes/2025", map[string]any{"values": map[string]float64{"population": 1}})
		if st != 404 {
			t.Fatalf("write outside subtree: %d", st)
		}
		// Inside its subtree but not an officer: forbidden, nothing written.
		if st, _ := worker.Do("PUT", "/api/v1/divisions/"+apptest.CommunityA+"/attributes/2025", map[string]any{"values": map[string]float64{"population": 1}}); st != 403 {
			t.Fatalf("worker write: %d", st)
		}
		if after := e.Count(`SELECT COUNT(*) FROM unit_attributes`); after != before {
			t.Fatalf("rows changed %d → %d", before, after)
		}
		if v := e.Count(`SELECT CAST(value AS INTEGER) FROM unit_attributes WHERE division_code = $1 AND kind = 'population'`, apptest.CommunityB); v != 5000 {
			t.Fatalf("value changed to %d", v)
		}
		// Divisions themselves are public reference data.
		if st, _ := ningbo.Do("GET", "/api/v1/divisions/"+apptest.CommunityA, nil); st != 200 {
			t.Fatalf("division reference: %d", st)
		}
	})
}

func TestDivisionAPIAndBadInput(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		st, body := c.Do("GET", "/api/v1/divisions/"+apptest.CommunityA, nil)
		var d struct {
			Code       string
			UrbanRural string `json:"urban_rural"`
			Level      int
			Ancestors  []struct{ Code string }
		}
		json.Unmarshal([]byte(body), &d)
		if st != 200 || d.Level != 5 || len(d.Ancestors) != 4 || d.Ancestors[2].Code != apptest.County || !strings.Contains(body, `"urban_rural":"urban"`) || !strings.Contains(body, "上保社区") {
			t.Fatalf("get: %d %s", st, body)
		}
		if st, body := c.Do("GET", "/api/v1/divisions/330106999999", nil); st != 404 || !strings.Contains(body, "330106999999") {
			t.Fatalf("unknown: %d %s", st, body)
		}
		if st, body := c.Do("GET", "/api/v1/divisions/3301x6", nil); st != 400 || !strings.Contains(body, `"field":"code"`) {
			t.Fatalf("malformed: %d %s", st, body)
		}
		st, body = c.Do("GET", "/api/v1/divisions/"+apptest.County+"/children?page_size=5&page=2", nil)
		if st != 200 || !strings.Contains(body, `"total":12`) || !strings.Contains(body, `"page":2`) {
			t.Fatalf("children: %d %s", st, body)
		}
		st, body = c.Do("GET", "/api/v1/divisions?q=%E8%A5%BF%E6%B9%96", nil) // 西湖
		if st != 200 || !strings.HasPrefix(body, `{"items":[{"code":"330106","name":"西湖区"`) {
			t.Fatalf("search ranking: %d %.300s", st, body)
		}
		if st, _ := c.Do("GET", "/api/v1/divisions?q=x&page_size=1000", nil); st != 400 {
			t.Fatalf("page_size over max: %d", st)
		}
		if st, body := c.Do("PUT", "/api/v1/divisions/"+apptest.CommunityA+"/attributes/2025", map[string]any{"values": map[string]float64{"population": -3}}); st != 400 {
			t.Fatalf("negative value: %d %s", st, body)
		}
		if st, body := c.Do("PUT", "/api/v1/divisions/"+apptest.CommunityA+"/attributes/2025", map[string]any{"values": map[string]float64{"populace": 3}}); st != 400 || !strings.Contains(body, "populace") {
			t.Fatalf("unknown attribute: %d %s", st, body)
		}
		if st, body := c.Do("POST", "/api/v1/divisions/"+apptest.CommunityA+"/designations", map[string]any{"kind": "future_community", "year": 2024, "bogus": 1}); st != 400 || !strings.Contains(body, "bogus") {
			t.Fatalf("unknown field: %d %s", st, body)
		}
		if st, body := c.Do("POST", "/api/v1/divisions/"+apptest.CommunityA+"/designations", map[string]any{"kind": "future_community", "year": 2024}); st != 200 || !strings.Contains(body, "future_community") {
			t.Fatalf("designation: %d %s", st, body)
		}
		if st, body := c.Do("GET", "/api/v1/divisions/"+apptest.CommunityA+"/changes", nil); st != 200 || !strings.Contains(body, "designation:future_community") || !strings.Contains(body, `"actor":"county"`) {
			t.Fatalf("changes: %d %s", st, body)
		}
	})
}

func TestUnitCSVImportAllOrNothing(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		bad := "区划代码,年份,属性,数值\n" + apptest.CommunityA + ",2025,population,4100\n" + apptest.CommunityB + ",2025,population,abc\n330106004055,2025,households,1200\n"
		st, body := c.Do("POST", "/api/v1/unit-data/import", bad)
		if st != 422 || !strings.Contains(body, `"row":3`) || !strings.Contains(body, `"column":"value"`) {
			t.Fatalf("bad file: %d %s", st, body)
		}
		if n := e.Count(`SELECT COUNT(*) FROM unit_attributes`); n != 0 {
			t.Fatalf("bad file wrote %d rows", n)
		}
		outside := "division_code,year,attribute,value\n330201001001,2025,population,1\n"
		if st, body := c.Do("POST", "/api/v1/unit-data/import", outside); st != 422 || !strings.Contains(body, "jurisdiction") {
			t.Fatalf("outside scope: %d %s", st, body)
		}
		good := strings.Replace(bad, ",abc", ",3900", 1)
		if st, body := c.Do("POST", "/api/v1/unit-data/import?dry_run=1", good); st != 200 || !strings.Contains(body, `"applied":false`) {
			t.Fatalf("dry run: %d %s", st, body)
		}
		if n := e.Count(`SELECT COUNT(*) FROM unit_attributes`); n != 0 {
			t.Fatalf("dry run wrote %d rows", n)
		}
		for i := 0; i < 2; i++ { // re-import is idempotent
			if st, body := c.Do("POST", "/api/v1/unit-data/import", good); st != 200 || !strings.Contains(body, `"applied":true`) {
				t.Fatalf("apply: %d %s", st, body)
			}
		}
		if n := e.Count(`SELECT COUNT(*) FROM unit_attributes`); n != 3 {
			t.Fatalf("imported %d rows, want 3", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM unit_changes`); n != 3 {
			t.Fatalf("change history has %d rows, want 3 (second import changed nothing)", n)
		}
	})
}

func TestCrossSiteStateChangeRejected(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		hdr := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
		st, _, _ := c.Form("/divisions/"+apptest.CommunityA+"/attributes", map[string]string{"year": "2025", "attr_population": "7"}, hdr)
		if st != http.StatusForbidden {
			t.Fatalf("cross-site POST: %d", st)
		}
		if n := e.Count(`SELECT COUNT(*) FROM unit_attributes`); n != 0 {
			t.Fatalf("cross-site POST wrote %d rows", n)
		}
		st, _, h := c.Form("/divisions/"+apptest.CommunityA+"/attributes", map[string]string{"year": "2025", "attr_population": "7"}, map[string]string{"Sec-Fetch-Site": "same-origin"})
		if st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "saved=1") {
			t.Fatalf("same-origin POST: %d", st)
		}
		// A cross-site logout is refused too: it would end the session.
		if st, _, _ := c.Form("/logout", nil, hdr); st != http.StatusForbidden {
			t.Fatalf("cross-site logout: %d", st)
		}
	})
}

func TestAuditChainVerifyAndTamper(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		e.User("aud", access.Auditor, "33")
		c := e.Login("county")
		c.Do("PUT", "/api/v1/divisions/"+apptest.CommunityA+"/attributes/2025", map[string]any{"values": map[string]float64{"population": 5000}})
		c.Do("POST", "/api/v1/session", map[string]string{"username": "county", "password": "nope-Nope-1234"})
		aud := e.Login("aud")
		st, body := aud.Do("GET", "/api/v1/audit/verify", nil)
		if st != 200 || !strings.Contains(body, `"ok":true`) {
			t.Fatalf("verify: %d %s", st, body)
		}
		st, body = aud.Do("GET", "/api/v1/audit?action=login&result=failed", nil)
		if st != 200 || !strings.Contains(body, `"actor":"county"`) {
			t.Fatalf("search: %d %s", st, body)
		}
		if st, _ := c.Do("GET", "/api/v1/audit", nil); st != 403 {
			t.Fatalf("officer reads audit: %d", st)
		}
		// The store itself refuses edits...
		if _, err := e.App.DB.W.Exec(`UPDATE audit_log SET actor = 'someone' WHERE seq = 2`); err == nil {
			t.Fatal("audit_log accepted an UPDATE")
		}
		if _, err := e.App.DB.W.Exec(`DELETE FROM audit_log WHERE seq = 2`); err == nil {
			t.Fatal("audit_log accepted a DELETE")
		}
		// ...and an edit made behind its back (trigger dropped) is detected.
		dropTriggers(t, e)
		if _, err := e.App.DB.W.Exec(`UPDATE audit_log SET detail = '{"values":{"population":1}}' WHERE action = 'unit.attributes.set'`); err != nil {
			t.Fatal(err)
		}
		var seq int64
		e.App.DB.R.QueryRow(`SELECT seq FROM audit_log WHERE action = 'unit.attributes.set'`).Scan(&seq)
		_, err := e.App.Audit.Verify(t.Context())
		be, ok := err.(*audit.BrokenError)
		if !ok || be.Seq != seq {
			t.Fatalf("tamper not detected at %d: %v", seq, err)
		}
		st, body = aud.Do("GET", "/api/v1/audit/verify", nil)
		if st != 200 || !strings.Contains(body, `"ok":false`) {
			t.Fatalf("verify after tamper: %d %s", st, body)
		}
		// A deleted entry is detected too.
		if _, err := e.App.DB.W.Exec(`DELETE FROM audit_log WHERE seq = 1`); err != nil {
			t.Fatal(err)
		}
		if _, err := e.App.Audit.Verify(t.Context()); err == nil || err.(*audit.BrokenError).Seq != 1 {
			t.Fatalf("deletion not detected: %v", err)
		}
	})
}

func dropTriggers(t *testing.T, e *apptest.Env) {
	stmts := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
	if e.App.DB.Dialect == "postgres" {
		stmts = []string{`DROP TRIGGER audit_log_no_change ON audit_log`}
	}
	for _, s := range stmts {
		if _, err := e.App.DB.W.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := e.Client()
		st, body := c.Do("GET", "/api/v1/openapi.json", nil)
		if st != 200 {
			t.Fatalf("openapi: %d", st)
		}
		var doc struct {
			OpenAPI string                               `json:"openapi"`
			Paths   map[string]map[string]map[string]any `json:"paths"`
		}
		if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.OpenAPI != "3.1.0" {
			t.Fatalf("bad document: %v", err)
		}
		documented := map[string]bool{}
		for path, ops := range doc.Paths {
			for m, op := range ops {
				documented[strings.ToUpper(m)+" "+path] = true
				if op["summary"] == "" || op["responses"] == nil {
					t.Errorf("%s %s lacks summary or responses", m, path)
				}
			}
		}
		routes := e.App.Router.Routes()
		if len(routes) < 15 {
			t.Fatalf("only %d routes", len(routes))
		}
		for _, r := range routes {
			if !documented[r] {
				t.Errorf("route %s is not documented", r)
			}
			delete(documented, r)
			// Every documented route is really served: no 404 "no such route"
			// for an anonymous caller (401 or a handler's answer instead).
			m, p, _ := strings.Cut(r, " ")
			p = regexp.MustCompile(`\{[a-z_]+\}`).ReplaceAllStringFunc(p, func(param string) string {
				if v, ok := map[string]string{"{code}": apptest.County, "{year}": "2025", "{username}": "admin"}[param]; ok {
					return v
				}
				return "x"
			})
			req, _ := http.NewRequest(m, e.URL+p, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == 404 || resp.StatusCode == 405 {
				t.Errorf("%s answered %d", r, resp.StatusCode)
			}
		}
		for r := range documented {
			t.Errorf("documented but not registered: %s", r)
		}
	})
}

func TestSecondStartKeepsData(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		c.Do("PUT", "/api/v1/divisions/"+apptest.CommunityA+"/attributes/2025", map[string]any{"values": map[string]float64{"population": 5000}})
		users := e.Count(`SELECT COUNT(*) FROM users`)
		again := e.Restart()
		if again.Loaded != 0 {
			t.Fatalf("second start reloaded %d divisions", again.Loaded)
		}
		if pw, err := again.Auth.EnsureFirstAdmin(t.Context()); err != nil || pw != "" {
			t.Fatalf("second start made another admin: %q %v", pw, err)
		}
		if e.Count(`SELECT COUNT(*) FROM divisions`) != 27036 || e.Count(`SELECT COUNT(*) FROM users`) != users || e.Count(`SELECT COUNT(*) FROM unit_attributes`) != 1 {
			t.Fatal("rows changed on second start")
		}
	})
}

func TestAPITokenScopedAndRevocable(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("hotline", access.CommunityWorker, apptest.CommunityA)
		ctx := access.With(t.Context(), access.Operator())
		tok, err := e.App.Auth.IssueToken(ctx, "hotline", "12345", 24*time.Hour)
		if err != nil || !strings.HasPrefix(tok, auth.TokenPrefix) {
			t.Fatal(tok, err)
		}
		if n := e.Count(`SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1`, tok); n != 0 {
			t.Fatal("token stored in clear")
		}
		get := func(path string) int {
			req, _ := http.NewRequest("GET", e.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if st := get("/api/v1/divisions/" + apptest.CommunityA + "/attributes"); st != 200 {
			t.Fatalf("token in scope: %d", st)
		}
		if st := get("/api/v1/divisions/" + apptest.CommunityB + "/attributes"); st != 404 {
			t.Fatalf("token out of scope: %d", st)
		}
		if err := e.App.Auth.SetDisabled(access.With(t.Context(), &access.Principal{UserID: "x", Username: "sec", Role: access.SecAdmin, Division: "33"}), "hotline", true); err != nil {
			t.Fatal(err)
		}
		if st := get("/api/v1/me"); st != 401 {
			t.Fatalf("token of a disabled account: %d", st)
		}
		e.Clock.Add(25 * time.Hour)
		if st := get("/api/v1/me"); st != 401 {
			t.Fatalf("expired token: %d", st)
		}
	})
}

func TestFirstAdminMustChangePassword(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		pw, err := e.App.Auth.EnsureFirstAdmin(t.Context())
		if err != nil || pw == "" {
			t.Fatal(pw, err)
		}
		c := e.Client()
		st, _, h := c.Form("/login", map[string]string{"username": "admin", "password": pw}, nil)
		if st != 303 {
			t.Fatalf("login: %d", st)
		}
		// Every page leads to the password change first; the API refuses.
		req, _ := http.NewRequest("GET", e.URL+"/admin/users", nil)
		resp, _ := c.HTTP.Do(req)
		resp.Body.Close()
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/account/password" {
			t.Fatalf("pending password change not enforced: %d %s %v", resp.StatusCode, resp.Header.Get("Location"), h)
		}
		if st, _ := c.Do("GET", "/api/v1/users", nil); st != 403 {
			t.Fatalf("API with pending change: %d", st)
		}
		st, body, _ := c.Form("/account/password", map[string]string{"old_password": pw, "new_password": "short", "confirm_password": "short"}, nil)
		if st != 400 || !strings.Contains(body, "10 至 128") {
			t.Fatalf("weak password: %d", st)
		}
		st, _, _ = c.Form("/account/password", map[string]string{"old_password": pw, "new_password": "New-Strong-Pass-42", "confirm_password": "New-Strong-Pass-42"}, nil)
		if st != 303 {
			t.Fatalf("change: %d", st)
		}
		if st, body := c.Do("GET", "/api/v1/users", nil); st != 200 || !strings.Contains(body, `"admin"`) {
			t.Fatalf("after change: %d %s", st, body)
		}
	})
}

func TestTOTPRequiredByPolicy(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("sec", access.SecAdmin, "33")
		e.User("county", access.Officer, apptest.County)
		sec := e.Login("sec")
		st, _, _ := sec.Form("/admin/security", map[string]string{"totp_officer": "1"}, nil)
		if st != 200 {
			t.Fatalf("policy: %d", st)
		}
		c := e.Login("county")
		if st, _ := c.Do("GET", "/api/v1/me", nil); st != 200 {
			t.Fatal("me")
		}
		if st, body := c.Do("GET", "/api/v1/divisions/"+apptest.County+"/attributes", nil); st != 403 || !strings.Contains(body, "动态口令") {
			t.Fatalf("pending TOTP not enforced: %d %s", st, body)
		}
		secret, err := e.App.Auth.StartTOTP(access.With(t.Context(), &access.Principal{UserID: userID(e, "county")}))
		if err != nil {
			t.Fatal(err)
		}
		code, _ := auth.TOTPCode(secret, e.Clock.Now())
		if st, _, _ := c.Form("/account/totp", map[string]string{"code": code}, nil); st != 303 {
			t.Fatalf("enrol: %d", st)
		}
		if st, _ := c.Do("GET", "/api/v1/divisions/"+apptest.County+"/attributes", nil); st != 200 {
			t.Fatalf("after enrolment: %d", st)
		}
		// Signing in now needs the code.
		c2 := e.Client()
		if st, body := c2.Do("POST", "/api/v1/session", map[string]string{"username": "county", "password": apptest.Password}); st != 401 || !strings.Contains(body, "动态口令") {
			t.Fatalf("login without code: %d %s", st, body)
		}
		code, _ = auth.TOTPCode(secret, e.Clock.Now())
		if st, _ := c2.Do("POST", "/api/v1/session", map[string]string{"username": "county", "password": apptest.Password, "totp": code}); st != 200 {
			t.Fatalf("login with code: %d", st)
		}
		var raw string
		e.App.DB.R.QueryRow(`SELECT totp_secret FROM users WHERE username = 'county'`).Scan(&raw)
		if strings.Contains(raw, secret) {
			t.Fatal("TOTP secret stored in clear")
		}
	})
}

func userID(e *apptest.Env, name string) string {
	var id string
	e.App.DB.R.QueryRow(`SELECT id FROM users WHERE username = $1`, name).Scan(&id)
	return id
}

func TestAccountAdministrationRules(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("sys", access.SysAdmin, "3301")
		e.User("county", access.Officer, apptest.County)
		sys := e.Login("sys")
		cases := []struct {
			body   map[string]string
			status int
			field  string
		}{
			{map[string]string{"username": "w1", "role": "community_worker", "division_code": apptest.CommunityA}, 400, "username"},
			{map[string]string{"username": "worker1", "role": "community_worker", "division_code": apptest.County}, 400, "division_code"},
			{map[string]string{"username": "worker1", "role": "community_worker", "division_code": "330201001001"}, 400, "division_code"},
			{map[string]string{"username": "worker1", "role": "mayor", "division_code": apptest.CommunityA}, 400, "role"},
			{map[string]string{"username": "auditor2", "role": "auditor", "division_code": "3301"}, 400, "role"},
			{map[string]string{"username": "worker1", "role": "community_worker", "division_code": apptest.CommunityA}, 201, ""},
			{map[string]string{"username": "worker1", "role": "community_worker", "division_code": apptest.CommunityA}, 409, "username"},
		}
		for _, k := range cases {
			st, body := sys.Do("POST", "/api/v1/users", k.body)
			if st != k.status || (k.field != "" && !strings.Contains(body, `"field":"`+k.field+`"`)) {
				t.Errorf("%v: %d %s", k.body, st, body)
			}
			if st == 201 && !strings.Contains(body, "one_time_password") {
				t.Errorf("no one-time password: %s", body)
			}
		}
		// Officers cannot create accounts.
		if st, _ := e.Login("county").Do("POST", "/api/v1/users", map[string]string{"username": "x1x", "role": "resident", "division_code": apptest.CommunityA}); st != 403 {
			t.Fatalf("officer creates account: %d", st)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'user.create' AND object_id = 'worker1'`); n != 1 {
			t.Fatalf("creation audited %d times", n)
		}
	})
}

func TestHomePerRole(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("res", access.Resident, apptest.CommunityA)
		e.User("grid", access.GridWorker, apptest.CommunityA)
		e.User("worker", access.CommunityWorker, apptest.CommunityA)
		e.User("county", access.Officer, apptest.County)
		for user, want := range map[string]string{"res": "/registry/me", "grid": "/registry/my-grid"} {
			req, _ := http.NewRequest("GET", e.URL+"/", nil)
			resp, err := e.Login(user).HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 303 || resp.Header.Get("Location") != want {
				t.Errorf("%s home: %d %s, want %s", user, resp.StatusCode, resp.Header.Get("Location"), want)
			}
		}
		for user, want := range map[string]string{"worker": "社区概览", "county": "辖区概览"} {
			st, body := e.Login(user).Do("GET", "/", nil)
			if st != 200 || !strings.Contains(body, want) {
				t.Errorf("%s home: %d, want %s", user, st, want)
			}
		}
	})
}
