package requests_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/db"
)

func TestPhotosAreStoredSealed(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		res, wa := e.Login("res1"), e.Login("workerA")
		png := bigPNG(t, 800, 600)
		var id, pid string
		stored := func(col string) []byte {
			t.Helper()
			var b []byte
			if err := e.App.DB.R.QueryRow(`SELECT `+col+` FROM request_attachments WHERE id = $1`, pid).Scan(&b); err != nil {
				t.Fatal(err)
			}
			return b
		}
		t.Run("a resident's photo is stored sealed: the table holds no image bytes", func(t *testing.T) {
			st, _, hdr := res.Multipart("/requests/new", map[string]string{"category": "repair", "description": "楼道灯坏了", "division_code": communityA,
				"attribute[facility]": "light"}, "photo", "photo.png", png, nil)
			if st != 303 {
				t.Fatalf("submit: %d", st)
			}
			id = strings.TrimPrefix(strings.SplitN(hdr.Get("Location"), "?", 2)[0], "/requests/")
			_, page, _ := wa.Get("/requests/" + id)
			m := regexp.MustCompile(`/requests/` + id + `/photos/([0-9a-f]+)/thumb`).FindStringSubmatch(page)
			if m == nil {
				t.Fatal("no photo on the request's page")
			}
			pid = m[1]
			data := stored("data")
			if bytes.Contains(data, png[:16]) || bytes.Contains(data, png[len(png)/2:len(png)/2+64]) || len(data) < len(png) {
				t.Fatalf("the stored photo holds the image's bytes (%d stored for %d)", len(data), len(png))
			}
			if e.Count(`SELECT COUNT(*) FROM request_attachments WHERE id = $1 AND sealed AND size = $2`, pid, len(png)) != 1 {
				t.Fatal("the photo is not marked sealed with its image size")
			}
		})
		t.Run("in scope it reads back byte for byte, and its kept thumbnail is sealed too", func(t *testing.T) {
			st, body, hdr := wa.Get("/requests/" + id + "/photos/" + pid)
			if st != 200 || body != string(png) || hdr.Get("Content-Type") != "image/png" {
				t.Fatalf("photo: %d, %d bytes, %s", st, len(body), hdr.Get("Content-Type"))
			}
			st, small, _ := wa.Get("/requests/" + id + "/photos/" + pid + "/thumb")
			if st != 200 || !strings.HasPrefix(small, "\xff\xd8") {
				t.Fatalf("thumbnail: %d", st)
			}
			kept := stored("thumb")
			if bytes.HasPrefix(kept, []byte("\xff\xd8")) || bytes.Contains(kept, []byte(small[:64])) {
				t.Fatal("the kept thumbnail is a plain JPEG")
			}
			if _, again, _ := wa.Get("/requests/" + id + "/photos/" + pid + "/thumb"); again != small {
				t.Fatal("the kept thumbnail does not open to the one made")
			}
		})
		t.Run("a sealed photo moved to another request's row does not open there", func(t *testing.T) {
			other := submit(t, wa, map[string]any{"category": "repair", "description": "路灯不亮", "division_code": communityA, "attributes": map[string]any{"facility": "light"}})
			if _, err := e.App.DB.W.Exec(`INSERT INTO request_attachments (id, request_id, division_code, content_type, size, data, sealed, created_at)
				SELECT 'copied0000000000', $1, division_code, content_type, size, data, TRUE, created_at FROM request_attachments WHERE id = $2`, other.ID, pid); err != nil {
				t.Fatal(err)
			}
			if st, body, _ := wa.Get("/requests/" + other.ID + "/photos/copied0000000000"); st == 200 || strings.Contains(body, string(png[:16])) {
				t.Fatalf("a copied sealed photo opened: %d", st)
			}
			if _, err := e.App.DB.W.Exec(`DELETE FROM request_attachments WHERE id = 'copied0000000000'`); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a photo stored before sealing is served as it is, then sealed by the start-up pass", func(t *testing.T) {
			if _, err := e.App.DB.W.Exec(`UPDATE request_attachments SET data = $1, thumb = NULL, sealed = FALSE WHERE id = $2`, png, pid); err != nil {
				t.Fatal(err)
			}
			if st, body, _ := wa.Get("/requests/" + id + "/photos/" + pid); st != 200 || body != string(png) {
				t.Fatalf("old photo: %d", st)
			}
			_, small, _ := wa.Get("/requests/" + id + "/photos/" + pid + "/thumb")
			if !bytes.HasPrefix(stored("thumb"), []byte("\xff\xd8")) {
				t.Fatal("an old photo's thumbnail is not kept as the photo is (plain)")
			}
			n, err := store(e).SealPhotoBacklog(context.Background())
			if err != nil || n != 1 {
				t.Fatalf("sealed %d: %v", n, err)
			}
			if bytes.Contains(stored("data"), png[:16]) || bytes.HasPrefix(stored("thumb"), []byte("\xff\xd8")) {
				t.Fatal("the pass left plain bytes")
			}
			if st, body, _ := wa.Get("/requests/" + id + "/photos/" + pid); st != 200 || body != string(png) {
				t.Fatalf("photo after sealing: %d", st)
			}
			if _, again, _ := wa.Get("/requests/" + id + "/photos/" + pid + "/thumb"); again != small {
				t.Fatal("thumbnail after sealing differs")
			}
			if n, err := store(e).SealPhotoBacklog(context.Background()); err != nil || n != 0 {
				t.Fatalf("second pass sealed %d: %v", n, err)
			}
		})
		t.Run("the pass finds old photos by an index, not by reading every photo", func(t *testing.T) {
			plan, err := e.App.DB.Explain(context.Background(), `SELECT id FROM request_attachments WHERE NOT sealed ORDER BY id LIMIT 50`, nil, db.NoSeqScan())
			if err != nil || !strings.Contains(plan, "request_attachments_plain") {
				t.Fatalf("plan: %s %v", plan, err)
			}
		})
	})
}
