package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"linli/internal/web"
)

// TestDownloadOutlivesTheWriteTimeout serves a file whose parts come
// slower than the server's write timeout allows in total: through a
// Download it arrives whole; written plainly it is cut.
func TestDownloadOutlivesTheWriteTimeout(t *testing.T) {
	t.Parallel()
	const part, parts = 64 << 10, 6
	serve := func(wrap bool) (int, error) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var out io.Writer = w
			d := web.NewDownload(w)
			if wrap {
				out = d
			}
			chunk := []byte(strings.Repeat("x", part))
			for i := 0; i < parts; i++ {
				time.Sleep(100 * time.Millisecond) // the rows of the next part being read
				if _, err := out.Write(chunk); err != nil {
					return
				}
			}
			if wrap && d.Sent() != part*parts {
				t.Errorf("sent %d", d.Sent())
			}
		}))
		srv.Config.WriteTimeout = 250 * time.Millisecond
		srv.Start()
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return len(b), err
	}
	t.Run("through a Download every part arrives", func(t *testing.T) {
		n, err := serve(true)
		if err != nil || n != part*parts {
			t.Fatalf("got %d bytes, %v", n, err)
		}
	})
	t.Run("written plainly the server's write timeout cuts it", func(t *testing.T) {
		if n, err := serve(false); err == nil && n == part*parts {
			t.Fatal("the plain answer arrived whole: the timeout did not apply")
		}
	})
}
