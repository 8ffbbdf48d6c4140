package audit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/web"
)

var auditor = &access.Principal{UserID: "u-a", Username: "aud", Role: access.Auditor, Division: "33"}

// server mounts the audit routes; each request runs as the principal given.
func server(l *audit.Log) func(p *access.Principal, target string) *httptest.ResponseRecorder {
	rt := web.NewRouter()
	(&audit.Handlers{Log: l, Pages: audit.ParsePages(web.NewRenderer())}).Register(rt)
	return func(p *access.Principal, target string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", target, nil)
		r = r.WithContext(access.With(r.Context(), p))
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		return w
	}
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %q: %v", w.Body.String(), err)
	}
	return v
}

func TestAuditorAPI(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, audit.Migrations, func(t *testing.T, d *db.DB) {
		l, _ := newLog(d)
		for _, e := range []audit.Entry{{Action: "login"}, {Action: "login", Result: audit.Failed}, {Action: "export"}} {
			if err := l.Record(asOfficer(), e); err != nil {
				t.Fatal(err)
			}
		}
		get := server(l)
		t.Run("the auditor searches the log", func(t *testing.T) {
			w := get(auditor, "/api/v1/audit?action=login&result=failed")
			list := decode[web.List[audit.Entry]](t, w)
			if w.Code != 200 || list.Total != 1 || len(list.Items) != 1 || list.Items[0].Actor != "county" || list.Items[0].Seq != 2 {
				t.Errorf("got %d %+v", w.Code, list)
			}
		})
		t.Run("the auditor pages through the log by position", func(t *testing.T) {
			first := decode[audit.List](t, get(auditor, "/api/v1/audit?page_size=2"))
			if first.Total != 3 || len(first.Items) != 2 || first.Next != 2 {
				t.Fatalf("first page: got %+v", first)
			}
			next := decode[audit.List](t, get(auditor, "/api/v1/audit?page_size=2&before=2"))
			if next.Total != 3 || len(next.Items) != 1 || next.Items[0].Seq != 1 || next.Next != 0 {
				t.Errorf("next page: got %+v", next)
			}
		})
		t.Run("a page number or a bad position is refused, naming the field", func(t *testing.T) {
			for path, field := range map[string]string{"/api/v1/audit?page=2": "page", "/api/v1/audit?before=x": "before", "/api/v1/audit?before=0": "before"} {
				w := get(auditor, path)
				if pr := decode[web.Problem](t, w); w.Code != 400 || len(pr.Errors) != 1 || pr.Errors[0].Field != field {
					t.Errorf("%s: got %d %+v", path, w.Code, pr)
				}
			}
		})
		t.Run("no one else reads it", func(t *testing.T) {
			for _, p := range []*access.Principal{officer, {Username: "sys", Role: access.SysAdmin, Division: "33"}} {
				for _, path := range []string{"/api/v1/audit", "/api/v1/audit/verify"} {
					w := get(p, path)
					if pr := decode[web.Problem](t, w); w.Code != 403 || pr.DetailEN != "only the auditor may read the audit log" {
						t.Errorf("%s %s: %d %+v", p.Role, path, w.Code, pr)
					}
				}
			}
		})
		t.Run("a malformed date names its field", func(t *testing.T) {
			w := get(auditor, "/api/v1/audit?to=2026-13-01")
			if pr := decode[web.Problem](t, w); w.Code != 400 || len(pr.Errors) != 1 || pr.Errors[0].Field != "to" {
				t.Errorf("got %d %+v", w.Code, pr)
			}
		})
		t.Run("the dates are days in China's time, the end day included", func(t *testing.T) {
			// The entries are at 08:00 UTC on 29 November: 16:00 in Hangzhou.
			in := decode[web.List[audit.Entry]](t, get(auditor, "/api/v1/audit?from=2026-11-29&to=2026-11-29"))
			out := decode[web.List[audit.Entry]](t, get(auditor, "/api/v1/audit?from=2026-11-30"))
			if in.Total != 3 || out.Total != 0 {
				t.Errorf("29th: %d entries, 30th on: %d", in.Total, out.Total)
			}
		})
		t.Run("verify reports an intact chain", func(t *testing.T) {
			if v := decode[audit.VerifyResult](t, get(auditor, "/api/v1/audit/verify")); v != (audit.VerifyResult{Entries: 3, OK: true}) {
				t.Errorf("got %+v", v)
			}
		})
		t.Run("verify reports where the chain breaks", func(t *testing.T) {
			dropTriggers(t, d)
			if _, err := d.W.ExecContext(context.Background(), `UPDATE audit_log SET actor = 'someone' WHERE seq = 2`); err != nil {
				t.Fatal(err)
			}
			v := decode[audit.VerifyResult](t, get(auditor, "/api/v1/audit/verify"))
			if v != (audit.VerifyResult{Entries: 1, OK: false, BrokenAt: 2, Reason: "内容被修改 / content altered"}) {
				t.Errorf("got %+v", v)
			}
		})
	})
}

func TestAuditPage(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, audit.Migrations, func(t *testing.T, d *db.DB) {
		l, _ := newLog(d)
		get := server(l)
		for _, k := range []struct {
			name   string
			p      *access.Principal
			target string
			status int
		}{
			{"the auditor opens the page", auditor, "/audit", http.StatusOK},
			{"others are refused", officer, "/audit", http.StatusForbidden},
			{"a malformed date is refused", auditor, "/audit?from=yesterday", http.StatusBadRequest},
			{"a malformed page number is refused", auditor, "/audit?page=0", http.StatusBadRequest},
		} {
			t.Run(k.name, func(t *testing.T) {
				if w := get(k.p, k.target); w.Code != k.status {
					t.Errorf("got %d, want %d", w.Code, k.status)
				}
			})
		}
	})
}
