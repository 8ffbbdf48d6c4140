package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"linli/internal/webhook"
)

func TestSenderSignsAndReportsFailure(t *testing.T) {
	t.Parallel()
	var body []byte
	var sig string
	status := 204
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		sig = r.Header.Get(webhook.SignatureHeader)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	s := &webhook.Sender{URL: srv.URL, Secret: "s3cret"}
	t.Run("the body arrives signed with an HMAC-SHA256 of itself", func(t *testing.T) {
		if err := s.Post(t.Context(), map[string]string{"kind": "test"}); err != nil {
			t.Fatal(err)
		}
		m := hmac.New(sha256.New, []byte("s3cret"))
		m.Write(body)
		if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); sig != want || string(body) != `{"kind":"test"}` {
			t.Fatalf("body %s signature %q, want %q", body, sig, want)
		}
	})
	t.Run("without a secret nothing is signed", func(t *testing.T) {
		if err := (&webhook.Sender{URL: srv.URL}).Post(t.Context(), 1); err != nil || sig != "" {
			t.Fatalf("signature %q, err %v", sig, err)
		}
	})
	t.Run("an answer other than 2xx is a failure", func(t *testing.T) {
		status = 500
		if err := s.Post(t.Context(), 1); err == nil {
			t.Fatal("a 500 answer was taken as delivered")
		}
	})
	t.Run("only http(s) URLs with a host are accepted as endpoints", func(t *testing.T) {
		for v, ok := range map[string]bool{"": true, "https://sms.example/hook": true, "ftp://x": false, "https://": false, "sms.example": false} {
			if err := webhook.CheckURL(v); (err == nil) != ok {
				t.Errorf("%q: %v", v, err)
			}
		}
	})
}
