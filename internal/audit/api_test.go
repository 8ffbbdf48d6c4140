package audit_test

import (
	"errors"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/audit"
	"linli/internal/web"
)

// The app's actions land in the chain, the auditor reads and verifies it,
// and tampering behind the store's back is found.
func TestAuditChainThroughTheApp(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		e.User("aud", access.Auditor, "33")
		c := e.Login("county")
		if st, body := c.Do("PUT", "/api/v1/divisions/"+apptest.CommunityA+"/attributes/2025", map[string]any{"values": map[string]float64{"population": 5000}}); st != 200 {
			t.Fatalf("write: %d %s", st, body)
		}
		if st, _ := e.Client().Do("POST", "/api/v1/session", map[string]string{"username": "county", "password": "nope-Nope-1234"}); st != 401 {
			t.Fatalf("failed sign-in: %d", st)
		}
		aud := e.Login("aud")
		t.Run("the chain holds", func(t *testing.T) {
			v := apptest.JSON[audit.VerifyResult](t, aud, "GET", "/api/v1/audit/verify", nil, 200)
			if !v.OK || int(v.Entries) != e.Count(`SELECT COUNT(*) FROM audit_log`) {
				t.Fatalf("got %+v", v)
			}
		})
		t.Run("the auditor finds the failed sign-in and the write", func(t *testing.T) {
			failed := apptest.JSON[web.List[audit.Entry]](t, aud, "GET", "/api/v1/audit?action=login&result=failed", nil, 200)
			if failed.Total != 1 || failed.Items[0].Actor != "county" || failed.Items[0].Detail != "bad_password" {
				t.Fatalf("failed sign-ins %+v", failed)
			}
			writes := apptest.JSON[web.List[audit.Entry]](t, aud, "GET", "/api/v1/audit?actor=county&action=unit.", nil, 200)
			if writes.Total != 1 || writes.Items[0].ObjectID != apptest.CommunityA || writes.Items[0].Role != "officer" {
				t.Fatalf("writes %+v", writes)
			}
		})
		t.Run("no one else reads it", func(t *testing.T) {
			apptest.JSON[web.Problem](t, c, "GET", "/api/v1/audit", nil, 403)
		})
		t.Run("the store refuses edits", func(t *testing.T) {
			if _, err := e.App.DB.W.Exec(`UPDATE audit_log SET actor = 'someone' WHERE seq = 2`); err == nil {
				t.Fatal("audit_log accepted an UPDATE")
			}
			if _, err := e.App.DB.W.Exec(`DELETE FROM audit_log WHERE seq = 2`); err == nil {
				t.Fatal("audit_log accepted a DELETE")
			}
		})
		dropTriggers(t, e.App.DB)
		t.Run("an edit behind its back is found at its entry", func(t *testing.T) {
			if _, err := e.App.DB.W.Exec(`UPDATE audit_log SET detail = '{"values":{"population":1}}' WHERE action = 'unit.attributes.set'`); err != nil {
				t.Fatal(err)
			}
			seq := e.Count(`SELECT seq FROM audit_log WHERE action = 'unit.attributes.set'`)
			_, err := e.App.Audit.Verify(t.Context())
			var be *audit.BrokenError
			if !errors.As(err, &be) || be.Seq != int64(seq) {
				t.Fatalf("tamper not found at %d: %v", seq, err)
			}
			v := apptest.JSON[audit.VerifyResult](t, aud, "GET", "/api/v1/audit/verify", nil, 200)
			if v.OK || v.BrokenAt != int64(seq) {
				t.Fatalf("verify after tamper: %+v", v)
			}
		})
		t.Run("a deleted entry is found", func(t *testing.T) {
			if _, err := e.App.DB.W.Exec(`DELETE FROM audit_log WHERE seq = 1`); err != nil {
				t.Fatal(err)
			}
			_, err := e.App.Audit.Verify(t.Context())
			var be *audit.BrokenError
			if !errors.As(err, &be) || be.Seq != 1 {
				t.Fatalf("deletion not found: %v", err)
			}
		})
	})
}
