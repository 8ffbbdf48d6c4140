package assistance_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/assistance"
)

// The pages work without JavaScript: a resident applies with the form,
// the worker accepts with a button, and the public notice shows the
// household with its head's name masked.
func TestPagesApplyAcceptAndTheMaskedPublicNotice(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("res.a", access.Resident, communityA)
		_, ms := w.household(t, "res.a", 1976, 2010)
		res, cw := e.Login("res.a"), e.Login("cw.a")
		var id string
		t.Run("the resident's form lists their members and the county's programmes", func(t *testing.T) {
			st, page, _ := res.Get("/assistance/apply")
			if st != 200 || !strings.Contains(page, `value="`+ms[1]+`"`) || !strings.Contains(page, `id="p-dibao"`) || !strings.Contains(page, `name="consent"`) {
				t.Fatalf("status %d", st)
			}
		})
		t.Run("applying with the form leads to the application, which names the other plausible programmes", func(t *testing.T) {
			form := url.Values{"programme": {"dibao"}, "income": {"1,000.50"}, "assets": {"0"}, "consent": {"yes"}, "member": {ms[0], ms[1]}, "student-" + ms[1]: {"yes"}}
			req := res.NewRequest("POST", "/assistance/apply", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			st, page, hdr := res.Send(req)
			loc := hdr.Get("Location")
			if st != 303 || !strings.HasPrefix(loc, "/assistance/applications/") {
				t.Fatalf("status %d location %q: %s", st, loc, page)
			}
			id = strings.TrimSuffix(strings.TrimPrefix(loc, "/assistance/applications/"), "?applied=1")
			st, page, _ = res.Get(loc)
			if st != 200 || !strings.Contains(page, "你家可能还符合：") || !strings.Contains(page, "教育救助") || strings.Contains(page, `id="do-accept"`) {
				t.Fatalf("status %d", st)
			}
			a := apptest.JSON[assistance.Application](t, cw, "GET", "/api/v1/assistance/applications/"+id, nil, 200)
			if a.Facts == nil || *a.Facts.IncomeFen != 100050 || !a.Facts.Members[1].Student {
				t.Fatalf("facts %+v", a.Facts)
			}
		})
		t.Run("the resident's 我的 shows the application with its state", func(t *testing.T) {
			p := &access.Principal{Username: "res.a", Role: access.Resident, Division: communityA}
			secs, err := w.as.Mine(access.With(t.Context(), p), p)
			if err != nil || len(secs) != 1 || len(secs[0].Items) != 1 || secs[0].Items[0].Href != "/assistance/applications/"+id || secs[0].Items[0].Status.Label.ZH != "已提交" {
				t.Fatalf("%+v %v", secs, err)
			}
		})
		t.Run("the declared income is sealed in the store", func(t *testing.T) {
			if n := e.Count(`SELECT COUNT(*) FROM ast_applications WHERE facts_enc LIKE '%100050%' OR facts_enc LIKE '%income%'`); n != 0 {
				t.Fatalf("%d rows with the income in clear", n)
			}
		})
		t.Run("the worker's list links it and the application page accepts it with a button", func(t *testing.T) {
			st, page, _ := cw.Get("/assistance")
			if st != 200 || !strings.Contains(page, `id="app-`+id+`"`) {
				t.Fatalf("status %d", st)
			}
			st, page, _ = cw.Get("/assistance/applications/" + id)
			if st != 200 || !strings.Contains(page, `id="do-accept"`) {
				t.Fatalf("status %d", st)
			}
			version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(page)[1]
			st, _, hdr := cw.Form("/assistance/applications/"+id+"/accept", map[string]string{"version": version}, nil)
			if st != 303 || hdr.Get("Location") != "/assistance/applications/"+id {
				t.Fatalf("status %d", st)
			}
			st, _, _ = cw.Form("/assistance/applications/"+id+"/accept", map[string]string{}, nil)
			if st != 409 {
				t.Fatalf("accepting twice: %d", st)
			}
		})
		t.Run("on notice, the public page masks the head's name and shows the proposed amount", func(t *testing.T) {
			for _, step := range []struct{ action, note string }{{"check", ""}, {"checked", ""}, {"publicize", "入户调查属实"}} {
				apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications/"+id+"/"+step.action, assistance.Input{Note: step.note}, 200)
			}
			st, page, _ := e.Client().Get("/assistance/notice/" + communityA)
			head := []rune(regexp.MustCompile(`居民.`).FindString(page))
			if st != 200 || !strings.Contains(page, "最低生活保障") || !strings.Contains(page, "1,239.50") || len(head) != 0 || !strings.Contains(page, "居**") {
				t.Fatalf("status %d: %s", st, page)
			}
			e.Clock.Add(8 * 24 * time.Hour)
			if _, page, _ = e.Client().Get("/assistance/notice/" + communityA); strings.Contains(page, "居**") {
				t.Fatal("the notice still shows the household after its 7 days")
			}
		})
		t.Run("a grid worker cannot open the form", func(t *testing.T) {
			e.User("gw.a", access.GridWorker, communityA)
			if st, _, _ := e.Login("gw.a").Get("/assistance/apply"); st != 403 {
				t.Fatalf("status %d", st)
			}
		})
	})
}

func TestMaskName(t *testing.T) {
	for in, want := range map[string]string{"王小明": "王**", "李四": "李*", "欧": "欧*", "": ""} {
		if got := assistance.MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
}
