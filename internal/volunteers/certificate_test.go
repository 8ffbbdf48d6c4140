package volunteers_test

import (
	"net/url"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/volunteers"
)

func TestCertificate(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.volunteer(t, w.resA)
		res := e.Login("res.a")
		t.Run("no certificate before any hours", func(t *testing.T) {
			if st, _ := res.Do("POST", "/api/v1/volunteers/me/certificates", nil); st != 409 {
				t.Fatalf("got %d", st)
			}
		})
		if _, err := w.vs.Credit(w.cw, volunteers.CreditInput{ResidentID: w.a, Hours: 6.5, ServiceDate: e.Clock.Now().AddDate(0, 0, -2).Format("2006-01-02"), Reason: "助老"}); err != nil {
			t.Fatal(err)
		}
		var c volunteers.Certificate
		t.Run("the volunteer issues a certificate of the hours recorded", func(t *testing.T) {
			c = apptest.JSON[volunteers.Certificate](t, res, "POST", "/api/v1/volunteers/me/certificates", nil, 201)
			if c.Hours != 6.5 || c.Holder != "王**" || len(c.Code) != 14 {
				t.Fatalf("issued %+v", c)
			}
		})
		t.Run("a stranger checks it by its code, signed out", func(t *testing.T) {
			got := apptest.JSON[volunteers.Certificate](t, e.Client(), "GET", "/api/v1/certificates/"+strings.ToLower(c.Code), nil, 200)
			if got.Code != c.Code || got.Hours != 6.5 || got.Place == "" {
				t.Fatalf("verified %+v", got)
			}
			st, body, _ := e.Client().Get("/volunteers/verify?code=" + url.QueryEscape(c.Code))
			if st != 200 || !strings.Contains(body, "6.5") || !strings.Contains(body, c.Code) {
				t.Fatalf("the public page: %d", st)
			}
		})
		t.Run("a wrong code is not found; a malformed one names the code", func(t *testing.T) {
			if st, _ := e.Client().Do("GET", "/api/v1/certificates/ABCD-EFGH-JKLM", nil); st != 404 {
				t.Fatalf("got %d", st)
			}
			if st, body := e.Client().Do("GET", "/api/v1/certificates/XYZ", nil); st != 400 || !strings.Contains(body, `"code"`) {
				t.Fatalf("got %d %s", st, body)
			}
			if st, _, _ := e.Client().Get("/volunteers/verify?code=ABCD-EFGH-JKLM"); st != 404 {
				t.Fatalf("the page: %d", st)
			}
		})
	})
}
