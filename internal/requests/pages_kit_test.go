package requests_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
)

// english switches a client's pages to English.
func english(t *testing.T, e *apptest.Env, c *apptest.Client) {
	t.Helper()
	u, err := url.Parse(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: "en", Path: "/"}})
}

// tagOf returns the opening tag of the form control named name.
func tagOf(page, name string) string {
	return regexp.MustCompile(`<(?:input|select|textarea)[^>]*\bname="` + regexp.QuoteMeta(name) + `"[^>]*>`).FindString(page)
}

// required tells whether a control's opening tag carries the required attribute.
func required(tag string) bool { return regexp.MustCompile(`\srequired[\s>]`).MatchString(tag) }

// values lists the option values of the select named name.
func values(page, name string) []string {
	i := strings.Index(page, `name="`+name+`"`)
	if i < 0 {
		return nil
	}
	end := strings.Index(page[i:], "</select>")
	if end < 0 {
		return nil
	}
	var out []string
	for _, m := range regexp.MustCompile(`<option value="([^"]*)"`).FindAllStringSubmatch(page[i:i+end], -1) {
		if m[1] != "" {
			out = append(out, m[1])
		}
	}
	return out
}

// bigPNG is a w×h picture with detail, so it compresses badly like a photo.
func bigPNG(t *testing.T, w, h int) []byte {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := uint32(x*2654435761) ^ uint32(y*40503) // cheap noise: photos do not compress like flat colour
			n ^= n >> 13
			n *= 0x5bd1e995
			m.SetNRGBA(x, y, color.NRGBA{uint8(n), uint8(n >> 8), uint8(x / 8), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRequestPagesOnTheKit(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		res, wa, co := e.Login("res1"), e.Login("workerA"), e.Login("countyOfficer")
		t.Run("the form first asks which kind of matter, with no category's questions", func(t *testing.T) {
			st, page, _ := res.Get("/requests/new")
			if st != 200 || !containsAll(page, `type="radio" name="category" value="sanitation" required`, `value="repair"`, "您要反映哪一类问题？") {
				t.Fatalf("choice page: %d", st)
			}
			if strings.Contains(page, "attribute[") || strings.Contains(page, `name="description"`) {
				t.Fatal("the choice page already asks the categories' questions")
			}
		})
		t.Run("the chosen category's form asks its questions only", func(t *testing.T) {
			st, page, _ := res.Get("/requests/new?category=repair")
			if st != 200 || !containsAll(page, `name="attribute[facility]"`, `name="attribute[danger]"`, "设施维修：补充信息", `<input type="hidden" name="category" value="repair">`) {
				t.Fatalf("repair form: %d", st)
			}
			for _, other := range []string{"attribute[spot]", "attribute[kinds]", "attribute[age]", "attribute[seen_at]"} {
				if strings.Contains(page, other) {
					t.Errorf("the repair form asks %s", other)
				}
			}
			if _, page, _ := res.Get("/requests/new?category=policy"); strings.Contains(page, "attribute[") || strings.Contains(page, "补充信息") {
				t.Error("a category without questions shows a questions block")
			}
		})
		t.Run("required fields carry the required attribute, optional ones do not", func(t *testing.T) {
			_, page, _ := res.Get("/requests/new?category=repair")
			for name, want := range map[string]bool{"description": true, "division_code": true, "attribute[facility]": true, "attribute[danger]": false, "address": false, "photo": false} {
				tag := tagOf(page, name)
				if tag == "" || required(tag) != want {
					t.Errorf("%s: required %v, want %v (%s)", name, required(tag), want, tag)
				}
			}
		})
		t.Run("choices show in the page's language only, and residents see no coordinates", func(t *testing.T) {
			_, zh, _ := res.Get("/requests/new?category=repair")
			if !containsAll(zh, ">路灯</option>", ">健身器材</option>") || strings.Contains(zh, "路灯 / street light") || strings.Contains(zh, "street light") {
				t.Fatal("Chinese options are not Chinese only")
			}
			for _, s := range []string{"WGS-84", "经纬度", `name="lon"`, `name="lat"`} {
				if strings.Contains(zh, s) {
					t.Errorf("the resident's form shows %q", s)
				}
			}
			en := e.Login("res2")
			english(t, e, en)
			_, page, _ := en.Get("/requests/new?category=sanitation")
			if !containsAll(page, "Sanitation: more details", ">Street</option>", ">Stairwell</option>") || strings.Contains(page, "道路") || strings.Contains(page, "：") {
				t.Fatal("the English form keeps Chinese or full-width punctuation")
			}
			if _, worker, _ := wa.Get("/requests/new?category=policy"); !containsAll(worker, `name="lon"`, `name="channel"`) || strings.Contains(worker, "WGS-84") {
				t.Fatal("the worker's form lacks the caller's fields or the optional map position")
			}
		})
		t.Run("an unknown category or a missing answer is summarised at the top with links to the fields", func(t *testing.T) {
			st, page, _ := res.Get("/requests/new?category=teleport")
			if st != 400 || !containsAll(page, `class="error-summary"`, `href="#f-category"`, `id="f-category"`) {
				t.Fatalf("unknown category: %d", st)
			}
			st, page, _ = res.Multipart("/requests/new", map[string]string{"category": "repair", "description": "路灯不亮", "division_code": communityA}, "", "", nil, nil)
			if st != 400 || !containsAll(page, `href="#f-attribute%5bfacility%5d"`, `id="f-attribute[facility]"`, "请回答：设施") || !strings.Contains(page, ">路灯不亮</textarea>") {
				t.Fatalf("missing answer: %d %s", st, page)
			}
			if strings.Index(page, "error-summary") > strings.Index(page, `name="description"`) {
				t.Fatal("the error summary is not above the form")
			}
		})
		var id string
		png := bigPNG(t, 1200, 900)
		t.Run("a request's answers read as the questions' labels and the choices' names", func(t *testing.T) {
			st, _, hdr := res.Multipart("/requests/new", map[string]string{"category": "repair", "description": "健身器材扶手断裂\n第二行：老人摔倒过", "division_code": communityA,
				"attribute[facility]": "fitness", "attribute[danger]": "yes"}, "photo", "photo.png", png, nil)
			if st != 303 {
				t.Fatalf("submit: %d", st)
			}
			id = strings.TrimPrefix(strings.SplitN(hdr.Get("Location"), "?", 2)[0], "/requests/")
			_, page, _ := wa.Get("/requests/" + id)
			if !containsAll(page, "<dt>设施</dt><dd>健身器材</dd>", "<dt>是否有安全隐患</dt><dd>是</dd>") {
				t.Fatal("answers are not shown by label")
			}
			if strings.Contains(page, ">facility<") || strings.Contains(page, ">fitness<") || strings.Contains(page, "fitness equipment") {
				t.Fatal("raw keys or the other language show")
			}
			if !strings.Contains(page, "健身器材扶手断裂\n第二行：老人摔倒过</p>") || !strings.Contains(page, `class="pre" id="description"`) {
				t.Fatal("the text lost its line break or its .pre")
			}
			en := e.Login("workerA2")
			english(t, e, en)
			if _, page, _ := en.Get("/requests/" + id); !containsAll(page, "<dt>Facility</dt><dd>Fitness equipment</dd>", "<dt>Is it dangerous</dt><dd>Yes</dd>") {
				t.Fatal("English answers are not shown by label")
			}
		})
		t.Run("the photo shows as a server-made JPEG thumbnail, the original behind a link", func(t *testing.T) {
			_, page, _ := wa.Get("/requests/" + id)
			m := regexp.MustCompile(`<img src="(/requests/` + id + `/photos/([0-9a-f]+)/thumb)"`).FindStringSubmatch(page)
			if m == nil || !strings.Contains(page, `href="/requests/`+id+`/photos/`+m[2]+`"`) {
				t.Fatal("no thumbnail with a link to the original")
			}
			if regexp.MustCompile(`<img src="/requests/[^"]+/photos/[0-9a-f]+"`).MatchString(page) {
				t.Fatal("the original is sent inline")
			}
			st, small, hdr := wa.Get(m[1])
			if st != 200 || hdr.Get("Content-Type") != "image/jpeg" || hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("thumbnail: %d %v", st, hdr)
			}
			img, format, err := image.Decode(strings.NewReader(small))
			if err != nil || format != "jpeg" || img.Bounds().Dx() != 640 || img.Bounds().Dy() != 480 {
				t.Fatalf("thumbnail is %s %v %v", format, img.Bounds(), err)
			}
			if len(small)*5 > len(png) {
				t.Fatalf("thumbnail %d bytes for an original of %d", len(small), len(png))
			}
			t.Logf("original %d bytes, thumbnail %d bytes (%.1f%%)", len(png), len(small), 100*float64(len(small))/float64(len(png)))
			if n := e.Count(`SELECT COUNT(*) FROM request_attachments WHERE request_id = $1 AND thumb IS NOT NULL`, id); n != 1 {
				t.Fatalf("%d thumbnails kept", n)
			}
			if _, again, _ := wa.Get(m[1]); again != small {
				t.Fatal("the kept thumbnail differs")
			}
			if st, _, _ := e.Login("workerB").Get(m[1]); st != 404 {
				t.Fatalf("thumbnail for another community: %d", st)
			}
		})
		t.Run("the dispatch picker lists the handlers in scope who can see the request, searchable by name", func(t *testing.T) {
			act(t, wa, id, "accept", nil)
			_, page, _ := wa.Get("/requests/" + id + "?act=assign")
			got := strings.Join(values(page, "assignee"), ",")
			if got != "workera,workera2" {
				t.Fatalf("worker A's picker: %q", got)
			}
			if tag := tagOf(page, "assignee"); !strings.HasPrefix(tag, "<select") {
				t.Fatalf("the assignee is typed: %s", tag)
			}
			_, page, _ = co.Get("/requests/" + id + "?act=assign")
			if got := strings.Join(values(page, "assignee"), ","); got != "countyofficer,street,workera,workera2" {
				t.Fatalf("the county officer's picker: %q", got)
			}
			_, page, _ = co.Get("/requests/" + id + "?act=assign&who=" + url.QueryEscape("A2"))
			if got := strings.Join(values(page, "assignee"), ","); got != "workera2" {
				t.Fatalf("search by name: %q", got)
			}
			_, page, _ = co.Get("/requests/" + id + "?act=assign&who=" + url.QueryEscape("%"))
			if got := values(page, "assignee"); len(got) != 0 {
				t.Fatalf("a wildcard matched %v", got)
			}
			if st, _, _ := wa.Form("/requests/"+id+"/assign", map[string]string{"assignee": "workera2", "version": "2"}, nil); st != 303 {
				t.Fatalf("assign from the picker: %d", st)
			}
			if r := get(t, wa, id); r.Assignee != "workera2" {
				t.Fatalf("assignee %q", r.Assignee)
			}
		})
		t.Run("transfer offers the county's units by name, never a typed code", func(t *testing.T) {
			_, page, _ := co.Get("/requests/" + id + "?act=transfer")
			tag := tagOf(page, "unit_code")
			if !strings.HasPrefix(tag, "<select") || !required(tag) {
				t.Fatalf("unit picker: %s", tag)
			}
			got := values(page, "unit_code")
			has := map[string]bool{}
			for _, v := range got {
				has[v] = true
			}
			if !has[townshipA] || !has[county] || !has["330106004"] || has[communityA] {
				t.Fatalf("transfer candidates: %v", got)
			}
		})
		t.Run("one primary action; returning and rejecting are danger links to their own confirmation form", func(t *testing.T) {
			fresh := submit(t, res, map[string]any{"category": "policy", "description": "医保怎么缴", "division_code": communityA})
			_, page, _ := wa.Get("/requests/" + fresh.ID)
			if !containsAll(page, `id="do-accept"`, `class="button danger" href="/requests/`+fresh.ID+`?act=return#act"`, `class="button danger" href="/requests/`+fresh.ID+`?act=reject#act"`) {
				t.Fatal("the action bar of a new request")
			}
			if n := strings.Count(page, `<button type="submit" id="do-`); n != 1 {
				t.Fatalf("%d action buttons on one page", n)
			}
			if strings.Contains(page, `action="/requests/`+fresh.ID+`/return"`) {
				t.Fatal("the return form shows without being chosen")
			}
			_, page, _ = wa.Get("/requests/" + fresh.ID + "?act=return")
			if !containsAll(page, `action="/requests/`+fresh.ID+`/return"`, `class="danger" id="do-return"`, "确认退回", "退回诉求") || strings.Contains(page, `id="do-accept"`) {
				t.Fatal("the return confirmation")
			}
			st, page, _ := wa.Form("/requests/"+fresh.ID+"/return", map[string]string{"version": "1"}, nil)
			if st != 400 || !containsAll(page, `href="#f-reason"`, `action="/requests/`+fresh.ID+`/return"`) {
				t.Fatalf("a return without a reason: %d", st)
			}
		})
		t.Run("the inbox shows number, category, place, summary, a toned status and the due date", func(t *testing.T) {
			e.Clock.Add(30 * 24 * time.Hour)
			wa, co, res = e.Login("workerA"), e.Login("countyOfficer"), e.Login("res1") // the sessions expired meanwhile
			_, page, _ := wa.Get("/requests")
			if !containsAll(page, `<table class="rtable inbox" id="requests">`, `data-label="地点">上保社区</td>`, "医保怎么缴", `class="tag t-info">待受理`, `class="tag t-bad">超时`, `<details class="filters"`) {
				t.Fatalf("inbox markup: %s", page)
			}
			if _, mine, _ := res.Get("/requests"); !containsAll(mine, "年") || strings.Contains(mine, `name="id"`) {
				t.Fatal("the resident's list")
			}
		})
		t.Run("catalogue and metrics pages use responsive tables and grouped numbers", func(t *testing.T) {
			_, page, _ := co.Get("/requests/catalogue")
			if !containsAll(page, `<table class="rtable" id="catalogue">`, `data-label="受理时限"`) || strings.Contains(page, "table-wrap") {
				t.Fatalf("catalogue markup: %s", page)
			}
			english(t, e, co)
			_, page, _ = co.Get("/requests/metrics?division=" + county + "&from=2026-11-01&to=2027-01-31")
			if !containsAll(page, "Category: Facility repair", `<select id="f-division" name="division">`) || strings.Contains(page, "：") {
				t.Fatalf("metrics page in English: %s", page)
			}
		})
	})
}
