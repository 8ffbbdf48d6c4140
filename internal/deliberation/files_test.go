package deliberation_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"net/url"
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/deliberation"
)

// aJPEG is a small real photo.
func aJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 120, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// anXLSX is the smallest archive that is a workbook.
func anXLSX(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range []string{"[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(`<?xml version="1.0"?><x/>`))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var aPDF = []byte("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")

// upload posts a file's bytes to an API upload path.
func upload(c *apptest.Client, path, name string, data []byte) (int, string) {
	req := c.NewRequest("POST", path+"?name="+url.QueryEscape(name), bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/octet-stream")
	st, body, _ := c.Send(req)
	return st, body
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, body)
	}
	return v
}

// uploaded uploads a file that must be accepted.
func uploaded(t *testing.T, c *apptest.Client, path, name string, data []byte) deliberation.File {
	t.Helper()
	st, body := upload(c, path, name, data)
	if st != 201 {
		t.Fatalf("upload %s to %s: %d %s", name, path, st, body)
	}
	return decode[deliberation.File](t, body)
}

// The attachments of topics, meetings, progress updates and notices:
// types read from the content, limits with the field named, scope as their
// owner's, photos sealed at rest, every upload and deletion audited.
func TestAttachments(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		now := e.Clock.Now()
		today := now.In(cst).Format("2006-01-02")
		nextWeek := now.In(cst).AddDate(0, 0, 7).Format("2006-01-02")
		res1, res2, resB, anon := e.Login("res.1"), e.Login("res.2"), e.Login("res.b"), e.Client()
		photo := aJPEG(t)
		files := func() int { return e.Count(`SELECT COUNT(*) FROM dlb_files`) }
		audits := func(action string) int { return e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = $1`, action) }

		topic := apptest.JSON[deliberation.Topic](t, res1, "POST", "/api/v1/topics", deliberation.TopicInput{Title: "东门充电棚", Description: "楼道充电有隐患", AreaKind: "community"}, 201)
		tp := h.accepted(t, "2 幢外墙维修", "building", "上保社区 2 幢")
		meeting := apptest.JSON[deliberation.Meeting](t, h.cw, "POST", "/api/v1/meetings", deliberation.MeetingInput{CouncilID: h.council.ID, Title: "十二月议事会", Place: "社区会议室",
			StartsAt: now.Add(time.Hour), Topics: []string{tp.ID}}, 201)
		decision := apptest.JSON[deliberation.Decision](t, h.cw, "POST", "/api/v1/decisions", deliberation.DecisionInput{TopicID: tp.ID, Text: "维修外墙", DecidedBy: "居民议事会", Owner: "王物业", Plan: "先公示"}, 201)
		apptest.JSON[deliberation.Decision](t, h.cw, "POST", "/api/v1/decisions/"+decision.ID+"/progress", deliberation.ProgressInput{Percent: 30, Note: "脚手架已搭好"}, 201)
		notice := apptest.JSON[deliberation.Notice](t, h.cw, "POST", "/api/v1/notices-board", deliberation.NoticeInput{Division: communityA, Category: "finance", Title: "11 月收支", From: today, Period: "2026-11",
			Lines: []deliberation.AmountRow{{Kind: "income", Item: "停车费", Amount: 100}}, Total: 100}, 201)
		future := apptest.JSON[deliberation.Notice](t, h.cw, "POST", "/api/v1/notices-board", deliberation.NoticeInput{Division: communityA, Category: "guide", Title: "下周起办事指南", Body: "x", From: nextWeek}, 201)
		topicFiles := "/api/v1/topics/" + topic.ID + "/files"
		noticeFiles := "/api/v1/notices-board/" + notice.ID + "/files"
		var topicPhoto, noticePDF, futurePDF deliberation.File

		t.Run("each owner kind accepts a file of its types and lists it", func(t *testing.T) {
			topicPhoto = uploaded(t, res1, topicFiles, `C:\照片\东门 空地.jpg`, photo)
			if topicPhoto.Name != "东门 空地.jpg" || topicPhoto.ContentType != "image/jpeg" || topicPhoto.Size != len(photo) || !topicPhoto.HasThumb || len(topicPhoto.SHA256) != 64 {
				t.Fatalf("topic photo %+v", topicPhoto)
			}
			m := uploaded(t, h.cw, "/api/v1/meetings/"+meeting.ID+"/files", "签到表.pdf", aPDF)
			p := uploaded(t, h.cw, "/api/v1/decisions/"+decision.ID+"/progress/1/files", "脚手架.jpg", photo)
			x := uploaded(t, h.cw, noticeFiles, "11月明细.xlsx", anXLSX(t))
			noticePDF = uploaded(t, h.cw, noticeFiles, "11月收支公开.pdf", aPDF)
			for _, c := range []struct {
				path string
				want deliberation.File
			}{{topicFiles, topicPhoto}, {"/api/v1/meetings/" + meeting.ID + "/files", m}, {"/api/v1/decisions/" + decision.ID + "/files", p}, {noticeFiles, x}} {
				list := apptest.JSON[[]deliberation.File](t, h.cw, "GET", c.path, nil, 200)
				found := false
				for _, f := range list {
					found = found || (f.ID == c.want.ID && f.ContentType == c.want.ContentType)
				}
				if !found {
					t.Fatalf("%s lists %+v, not %+v", c.path, list, c.want)
				}
			}
			if p.Seq != 1 || m.ContentType != "application/pdf" || x.ContentType != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
				t.Fatalf("progress %+v meeting %+v notice %+v", p, m, x)
			}
			if n := audits("deliberation.file_upload"); n != 5 {
				t.Fatalf("%d uploads audited, want 5", n)
			}
		})
		t.Run("a text file named .jpg, a PDF for a topic, an empty and an oversized file are refused naming file; nothing is written", func(t *testing.T) {
			before, logged := files(), audits("deliberation.file_upload")
			big := append(append([]byte{}, photo...), make([]byte, deliberation.MaxFileSize)...)
			for _, c := range []struct {
				name string
				data []byte
				want string
			}{{"照片.jpg", []byte("这不是图片，只是一段文字。"), "不是"}, {"方案.pdf", aPDF, "不是"}, {"空.jpg", nil, "空"}, {"大.jpg", big, "5 MB"}} {
				st, body := upload(res1, topicFiles, c.name, c.data)
				if st != 400 || !strings.Contains(body, `"field":"file"`) || !strings.Contains(body, c.want) {
					t.Fatalf("%s: %d %s", c.name, st, body)
				}
			}
			if files() != before || audits("deliberation.file_upload") != logged {
				t.Fatalf("files %d → %d, audits %d → %d", before, files(), logged, audits("deliberation.file_upload"))
			}
		})
		t.Run("the seventh photo of a topic is one too many, refused naming file", func(t *testing.T) {
			for range 5 {
				uploaded(t, res1, topicFiles, "more.jpg", photo)
			}
			before := files()
			st, body := upload(res1, topicFiles, "seventh.jpg", photo)
			if st != 400 || !strings.Contains(body, `"field":"file"`) || !strings.Contains(body, "最多 6 个") {
				t.Fatalf("seventh: %d %s", st, body)
			}
			if files() != before {
				t.Fatal("the seventh was written")
			}
		})
		t.Run("only who may write the owner uploads: not a neighbour, not a resident to a notice", func(t *testing.T) {
			for _, c := range []struct {
				cl   *apptest.Client
				path string
				want int
			}{{res2, topicFiles, 403}, {resB, topicFiles, 404}, {res1, noticeFiles, 403}, {res1, "/api/v1/meetings/" + meeting.ID + "/files", 403}, {anon, topicFiles, 401}} {
				if st, body := upload(c.cl, c.path, "x.jpg", photo); st != c.want {
					t.Fatalf("%s: %d, want %d: %s", c.path, st, c.want, body)
				}
			}
		})
		t.Run("a resident outside the community cannot read a topic's photo; a neighbour can", func(t *testing.T) {
			for _, path := range []string{topicFiles, topicFiles + "/" + topicPhoto.ID, topicFiles + "/" + topicPhoto.ID + "?thumb=1"} {
				if st, body := resB.Do("GET", path, nil); st != 404 {
					t.Fatalf("outsider %s: %d %s", path, st, body)
				}
			}
			if st, _, _ := resB.Get("/deliberation/files/" + topicPhoto.ID); st != 404 {
				t.Fatalf("outsider page: %d", st)
			}
			if st, _, hdr := anon.Get("/deliberation/files/" + topicPhoto.ID); st != 303 || !strings.HasPrefix(hdr.Get("Location"), "/login") {
				t.Fatalf("anonymous page: %d %s", st, hdr.Get("Location"))
			}
			st, body, hdr := res2.Get("/deliberation/files/" + topicPhoto.ID)
			if st != 200 || body != string(photo) || hdr.Get("Content-Type") != "image/jpeg" || hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("neighbour: %d %v", st, hdr)
			}
			if st, body, hdr := res2.Get("/deliberation/files/" + topicPhoto.ID + "/thumb"); st != 200 || hdr.Get("Content-Type") != "image/jpeg" || !strings.HasPrefix(body, "\xFF\xD8") {
				t.Fatalf("thumbnail: %d %v", st, hdr)
			}
		})
		t.Run("a public notice's attachment downloads without signing in, named for saving", func(t *testing.T) {
			st, body, hdr := anon.Get(noticeFiles + "/" + noticePDF.ID)
			if st != 200 || body != string(aPDF) || hdr.Get("Content-Type") != "application/pdf" || hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("download: %d %v", st, hdr)
			}
			if cd := hdr.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline; ") || !strings.Contains(cd, `filename="11_____.pdf"`) ||
				!strings.Contains(cd, "filename*=UTF-8''11%E6%9C%88%E6%94%B6%E6%94%AF%E5%85%AC%E5%BC%80.pdf") {
				t.Fatalf("Content-Disposition %q", cd)
			}
			if st, _, _ := anon.Get("/deliberation/files/" + noticePDF.ID); st != 200 {
				t.Fatalf("page download: %d", st)
			}
			if list := apptest.JSON[[]deliberation.File](t, anon, "GET", noticeFiles, nil, 200); len(list) != 2 {
				t.Fatalf("public list %+v", list)
			}
		})
		t.Run("an unpublished notice's attachment does not download but for its workers", func(t *testing.T) {
			futurePDF = uploaded(t, h.cw, "/api/v1/notices-board/"+future.ID+"/files", "指南.pdf", aPDF)
			if st, _, _ := anon.Get("/api/v1/notices-board/" + future.ID + "/files/" + futurePDF.ID); st != 404 {
				t.Fatalf("anonymous API: %d", st)
			}
			if st, _, hdr := anon.Get("/deliberation/files/" + futurePDF.ID); st != 303 || !strings.HasPrefix(hdr.Get("Location"), "/login") {
				t.Fatalf("anonymous page: %d", st)
			}
			if st, _ := res1.Do("GET", "/api/v1/notices-board/"+future.ID+"/files/"+futurePDF.ID, nil); st != 404 {
				t.Fatalf("resident: %d", st)
			}
			if st, _, _ := h.cw.Get("/api/v1/notices-board/" + future.ID + "/files/" + futurePDF.ID); st != 200 {
				t.Fatalf("worker: %d", st)
			}
		})
		t.Run("a file is read only under its own owner's path", func(t *testing.T) {
			if st, _ := h.cw.Do("GET", noticeFiles+"/"+topicPhoto.ID, nil); st != 404 {
				t.Fatalf("a topic's photo under a notice: %d", st)
			}
		})
		t.Run("deletions: audited; a published notice's attachments stay, an unpublished one's go", func(t *testing.T) {
			if st, body := h.cw.Do("DELETE", noticeFiles+"/"+noticePDF.ID, nil); st != 409 {
				t.Fatalf("published notice: %d %s", st, body)
			}
			if st, _ := res2.Do("DELETE", topicFiles+"/"+topicPhoto.ID, nil); st != 403 {
				t.Fatalf("a neighbour deleting: %d", st)
			}
			if n := audits("deliberation.file_delete"); n != 0 {
				t.Fatalf("%d deletions audited after refusals", n)
			}
			if st, body := h.cw.Do("DELETE", "/api/v1/notices-board/"+future.ID+"/files/"+futurePDF.ID, nil); st != 204 {
				t.Fatalf("unpublished notice: %d %s", st, body)
			}
			if st, body := res1.Do("DELETE", topicFiles+"/"+topicPhoto.ID, nil); st != 204 {
				t.Fatalf("the raiser deleting their photo: %d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'deliberation.file_delete' AND object_id IN ($1, $2)`, futurePDF.ID, topicPhoto.ID); n != 2 {
				t.Fatalf("%d deletions audited", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_files WHERE id IN ($1, $2)`, futurePDF.ID, topicPhoto.ID); n != 0 {
				t.Fatalf("%d deleted files left", n)
			}
		})
		t.Run("photos are sealed at rest; a notice's public documents are kept as they are", func(t *testing.T) {
			var stored, small []byte
			var sealed bool
			if err := e.App.DB.R.QueryRow(`SELECT data, thumb, sealed FROM dlb_files WHERE owner_kind = 'topic' ORDER BY id LIMIT 1`).Scan(&stored, &small, &sealed); err != nil {
				t.Fatal(err)
			}
			if !sealed || bytes.Equal(stored, photo) || bytes.Contains(stored, photo[:64]) || bytes.HasPrefix(small, []byte("\xFF\xD8")) {
				t.Fatalf("a topic photo is stored readable (sealed %v)", sealed)
			}
			if err := e.App.DB.R.QueryRow(`SELECT data, sealed FROM dlb_files WHERE id = $1`, noticePDF.ID).Scan(&stored, &sealed); err != nil {
				t.Fatal(err)
			}
			if sealed || !bytes.Equal(stored, aPDF) {
				t.Fatalf("a notice's PDF: sealed %v", sealed)
			}
		})
	})
}

// Through the pages a phone without JavaScript uses: a resident raises a
// topic with a photo; a wrong file on the form writes nothing; the worker
// adds a progress photo and publishes a notice with its statement's PDF,
// which the public board lists with its size.
func TestAttachmentPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		res1 := e.Login("res.1")
		photo := aJPEG(t)
		var topic string
		t.Run("a text file on the raise form is refused naming files; no topic is written", func(t *testing.T) {
			st, body, _ := res1.Multipart("/deliberation/raise", map[string]string{"title": "东门充电棚", "description": "楼道充电有隐患", "area_kind": "community"}, "files", "照片.jpg", []byte("hello"), nil)
			if st != 400 || !strings.Contains(body, `href="#f-files"`) || !strings.Contains(body, "东门充电棚") {
				t.Fatalf("%d %.600s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_topics`) + e.Count(`SELECT COUNT(*) FROM dlb_files`); n != 0 {
				t.Fatalf("%d rows written", n)
			}
		})
		t.Run("a resident raises a topic with a photo through the form; the page shows its thumbnail", func(t *testing.T) {
			st, body, hdr := res1.Multipart("/deliberation/raise", map[string]string{"title": "东门充电棚", "description": "楼道充电有隐患", "area_kind": "community"}, "files", "东门.jpg", photo, nil)
			m := topicPath.FindStringSubmatch(hdr.Get("Location"))
			if st != 303 || m == nil {
				t.Fatalf("%d %s %.400s", st, hdr.Get("Location"), body)
			}
			topic = m[1]
			st, page, _ := res1.Get("/deliberation/topics/" + topic)
			if st != 200 || !strings.Contains(page, `/thumb" alt="照片：东门.jpg"`) || !strings.Contains(page, `id="add-files"`) {
				t.Fatalf("topic page %d: %.1500s", st, page)
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_files WHERE owner_kind = 'topic' AND owner_id = $1`, topic); n != 1 {
				t.Fatalf("%d photos", n)
			}
		})
		t.Run("the topic page's form refuses the seventh photo naming files, and writes nothing", func(t *testing.T) {
			for range 5 {
				uploaded(t, res1, "/api/v1/topics/"+topic+"/files", "more.jpg", photo)
			}
			st, body, _ := res1.Multipart("/deliberation/topics/"+topic+"/files", nil, "files", "seventh.jpg", photo, nil)
			if st != 400 || !strings.Contains(body, `href="#f-files"`) || !strings.Contains(body, "最多 6 个") {
				t.Fatalf("%d %.800s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_files`); n != 6 {
				t.Fatalf("%d photos", n)
			}
		})
		t.Run("the raiser deletes a photo after a confirmation page", func(t *testing.T) {
			var id string
			if err := e.App.DB.R.QueryRow(`SELECT id FROM dlb_files WHERE owner_id = $1 ORDER BY id LIMIT 1`, topic).Scan(&id); err != nil {
				t.Fatal(err)
			}
			st, page, _ := res1.Get("/deliberation/files/" + id + "/delete")
			if st != 200 || !strings.Contains(page, `id="confirm-delete"`) || !strings.Contains(page, "东门.jpg") {
				t.Fatalf("confirmation %d", st)
			}
			if st, _, hdr := res1.Form("/deliberation/files/"+id+"/delete", nil, nil); st != 303 || !strings.HasPrefix(hdr.Get("Location"), "/deliberation/topics/"+topic) {
				t.Fatalf("delete %d %s", st, hdr.Get("Location"))
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_files WHERE id = $1`, id) + e.Count(`SELECT COUNT(*) FROM dlb_files`); n != 5 {
				t.Fatalf("%d files left, want the other 5", n)
			}
		})
		t.Run("the worker adds a progress update with a photo; the decision page shows it under the update", func(t *testing.T) {
			tp := h.accepted(t, "2 幢外墙维修", "building", "上保社区 2 幢")
			apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics/"+tp.ID+"/deliberate", deliberation.MoveInput{}, 200)
			d := apptest.JSON[deliberation.Decision](t, h.cw, "POST", "/api/v1/decisions", deliberation.DecisionInput{TopicID: tp.ID, Text: "维修外墙", DecidedBy: "居民议事会", Owner: "王物业", Plan: "先公示"}, 201)
			st, body, _ := h.cw.Multipart("/deliberation/decisions/"+d.ID+"/progress", map[string]string{"percent": "40", "note": "脚手架已搭好"}, "files", "脚手架.jpg", photo, nil)
			if st != 303 {
				t.Fatalf("%d %.600s", st, body)
			}
			_, page, _ := e.Login("res.5").Get("/deliberation/decisions/" + d.ID)
			if !strings.Contains(page, `alt="进展照片：脚手架.jpg"`) {
				t.Fatalf("decision page: %.2000s", page)
			}
		})
		t.Run("the worker publishes a notice with a PDF; the board lists it with its size, the notice page by name", func(t *testing.T) {
			today := e.Clock.Now().In(cst).Format("2006-01-02")
			st, body, hdr := h.cw.Multipart("/deliberation/notices/new", map[string]string{"division_code": communityA, "category": "policy", "title": "高龄津贴申领", "body": "80 岁以上可申领", "publish_from": today},
				"files", "申请表.pdf", aPDF, nil)
			if st != 303 {
				t.Fatalf("%d %.600s", st, body)
			}
			_, board, _ := e.Client().Get("/notices/" + communityA)
			if !strings.Contains(board, "申请表.pdf（PDF · 1 KB）") {
				t.Fatalf("board: %.2000s", board)
			}
			_, page, _ := e.Client().Get(hdr.Get("Location"))
			if !strings.Contains(page, `id="files"`) || !strings.Contains(page, "申请表.pdf") || strings.Contains(page, `id="add-files"`) {
				t.Fatalf("public notice page: %.2000s", page)
			}
		})
	})
}
