package requests

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"linli/internal/web"
)

func TestWebhookSignsAndReportsFailure(t *testing.T) {
	t.Parallel()
	var got Notice
	var sig string
	status := 204
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &got)
		m := hmac.New(sha256.New, []byte("s3cret"))
		m.Write(b)
		sig = "sha256=" + hex.EncodeToString(m.Sum(nil))
		if r.Header.Get("X-Linli-Signature") != sig {
			sig = "mismatch"
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	wh := &Webhook{URL: srv.URL, Secret: "s3cret"}
	n := Notice{Number: "MH-330106-20261129-000001", Kind: "overdue", Text: web.M("已超期", "overdue")}
	if err := wh.Notify(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	if got.Number != n.Number || sig == "mismatch" {
		t.Fatalf("received %+v, signature %s", got, sig)
	}
	status = 500
	if err := wh.Notify(t.Context(), n); err == nil {
		t.Fatal("a 500 answer was taken as delivered")
	}
}
