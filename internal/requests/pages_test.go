package requests_test

import (
	"archive/zip"
	"bytes"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/requests"
)

// photoLink finds the first photo's address on a detail page.
var photoLink = regexp.MustCompile(`/requests/[0-9a-f]+/photos/([0-9a-f]+)`)

func TestRequestPagesAndPhotos(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		res, wa, co := e.Login("res1"), e.Login("workerA"), e.Login("countyOfficer")
		png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
		fields := map[string]string{"category": "repair", "description": "健身器材扶手断裂", "division_code": communityA, "attribute[facility]": "fitness"}
		t.Run("uploads that are not images or too large are refused and store nothing", func(t *testing.T) {
			n := e.Count(`SELECT COUNT(*) FROM requests`)
			st, page, _ := res.Multipart("/requests/new", fields, "photo", "photo.pdf", []byte("%PDF-1.4 not an image"), nil)
			if st != 400 || !containsAll(page, "只接受 JPEG、PNG 或 WebP") {
				t.Fatalf("not an image: %d", st)
			}
			big := append(append([]byte{}, png...), make([]byte, requests.MaxPhoto)...)
			if st, _, _ := res.Multipart("/requests/new", fields, "photo", "big.png", big, nil); st != 400 {
				t.Fatalf("too large: %d", st)
			}
			if e.Count(`SELECT COUNT(*) FROM requests`) != n {
				t.Fatal("a rejected upload stored a request")
			}
		})
		t.Run("a form without a category's answer shows the field error", func(t *testing.T) {
			missing := map[string]string{"category": "repair", "description": "坏了", "division_code": communityA}
			if st, page, _ := res.Multipart("/requests/new", missing, "", "", nil, nil); st != 400 || !containsAll(page, "请回答") {
				t.Fatalf("missing answer: %d", st)
			}
			if st, _, _ := res.Form("/requests/new", map[string]string{"category": "policy", "description": "x", "lon": "east", "lat": "30"}, nil); st != 400 {
				t.Fatalf("a longitude that is no number: %d", st)
			}
		})
		var id, pid string
		t.Run("a submission with a photo redirects to its receipt", func(t *testing.T) {
			st, _, hdr := res.Multipart("/requests/new", fields, "photo", "photo.png", png, nil)
			loc, err := url.Parse(hdr.Get("Location"))
			if st != 303 || err != nil || loc.Query().Get("created") != "1" {
				t.Fatalf("submit: %d %v", st, hdr)
			}
			id = strings.TrimPrefix(loc.Path, "/requests/")
			st, page, _ := res.Get(loc.String())
			m := photoLink.FindStringSubmatch(page)
			if st != 200 || !containsAll(page, "已提交，回执编号 MH-330106-") || m == nil {
				t.Fatalf("receipt page: %d", st)
			}
			pid = m[1]
			if r := get(t, res, id); r.Status != "submitted" || r.Attributes["facility"] != "fitness" {
				t.Fatalf("stored: %+v", r)
			}
		})
		t.Run("the photo is served to the area's worker as stored, not to another community", func(t *testing.T) {
			st, img, hdr := wa.Get("/requests/" + id + "/photos/" + pid)
			if st != 200 || !bytes.Equal([]byte(img), png) || hdr.Get("Content-Type") != "image/png" || hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("photo for the worker: %d %v", st, hdr)
			}
			if st, _, _ := e.Login("workerB").Get("/requests/" + id + "/photos/" + pid); st != 404 {
				t.Fatalf("photo for another community: %d", st)
			}
			if st, _, _ := wa.Get("/requests/" + id + "/photos/0000"); st != 404 {
				t.Fatalf("no such photo: %d", st)
			}
		})
		t.Run("the inbox offers the new request and bulk acceptance takes it", func(t *testing.T) {
			st, inbox, _ := wa.Get("/requests?box=new")
			if st != 200 || !containsAll(inbox, `name="id" value="`+id+`"`) {
				t.Fatalf("inbox: %d", st)
			}
			st, _, hdr := wa.Form("/requests/bulk-accept", map[string]string{"id": id}, nil)
			if st != 303 || hdr.Get("Location") != "/requests?box=new&done=1" {
				t.Fatalf("bulk accept: %d %v", st, hdr)
			}
			if got := get(t, wa, id); got.Status != "accepted" {
				t.Fatalf("after bulk accept: %s", got.Status)
			}
			if st, _, _ := wa.Form("/requests/bulk-accept", map[string]string{"id": id}, nil); st != 409 {
				t.Fatalf("bulk accept of nothing acceptable: %d", st)
			}
		})
		t.Run("an action from the page redirects, an illegal one answers 409 saying why", func(t *testing.T) {
			st, page, _ := wa.Form("/requests/"+id+"/close", map[string]string{}, nil)
			if st != 409 || !containsAll(page, "不能关闭") {
				t.Fatalf("close from the page: %d", st)
			}
			st, _, hdr := wa.Form("/requests/"+id+"/assign", map[string]string{"assignee": "网格员", "version": "2"}, nil)
			if st != 303 || hdr.Get("Location") != "/requests/"+id+"?did=assign" {
				t.Fatalf("assign from the page: %d %v", st, hdr)
			}
			if st, page, _ := wa.Get("/requests/" + id + "?did=assign"); st != 200 || !containsAll(page, "已派单") {
				t.Fatalf("after assign: %d", st)
			}
			if st, _, _ := wa.Form("/requests/"+id+"/start", map[string]string{"version": "two"}, nil); st != 400 {
				t.Fatalf("a version that is no number: %d", st)
			}
			if got := get(t, wa, id); got.Status != "assigned" || got.Assignee != "网格员" {
				t.Fatalf("after the page's actions: %+v", got)
			}
		})
		t.Run("the list and detail pages answer the resident and the worker", func(t *testing.T) {
			number := get(t, res, id).Number
			for _, c := range []*apptest.Client{res, wa, co} {
				if st, page, _ := c.Get("/requests"); st != 200 || !containsAll(page, number) {
					t.Fatalf("list page: %d", st)
				}
				if st, _, _ := c.Get("/requests/" + id); st != 200 {
					t.Fatalf("detail page: %d", st)
				}
			}
			if st, _, _ := res.Get("/requests/new"); st != 200 {
				t.Fatalf("new page: %d", st)
			}
			if st, _, _ := res.Get("/requests?page=0"); st != 400 {
				t.Fatalf("a bad page number: %d", st)
			}
			if st, _, _ := e.Login("workerB").Get("/requests/" + id); st != 404 {
				t.Fatalf("detail page for another community: %d", st)
			}
		})
		t.Run("the metrics page draws charts, exports xlsx and keeps to the area", func(t *testing.T) {
			st, page, _ := co.Get("/requests/metrics?division=" + county)
			if st != 200 || !containsAll(page, "<svg", "按期办结率") {
				t.Fatalf("metrics page: %d", st)
			}
			st, body, hdr := co.Get("/requests/metrics.xlsx?division=" + county)
			if st != 200 || !strings.Contains(hdr.Get("Content-Disposition"), "requests-metrics-"+county) {
				t.Fatalf("xlsx: %d %v", st, hdr)
			}
			if _, err := zip.NewReader(bytes.NewReader([]byte(body)), int64(len(body))); err != nil {
				t.Fatalf("the xlsx is no zip: %v", err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'requests.metrics.export' AND object_id = $1`, county); n != 1 {
				t.Fatalf("the metrics export audited %d times, want once", n)
			}
			if st, _, _ := wa.Get("/requests/metrics?division=" + communityB); st != 404 {
				t.Fatalf("metrics page outside the area: %d", st)
			}
			if st, _, _ := co.Get("/requests/metrics.xlsx?from=never"); st != 400 {
				t.Fatalf("xlsx of a bad period: %d", st)
			}
		})
	})
}
