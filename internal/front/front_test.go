package front_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/fault"
	"linli/internal/front"
	"linli/internal/module"
	"linli/internal/registry"
	"linli/internal/web"
)

// chores is a module added only in this test: it knows nothing of the
// front doors but the module contract, and has one item of work per
// worker and one 我的 block per resident.
type chores struct{ now func() time.Time }

func (chores) Nav() []web.NavItem                     { return nil }
func (chores) Mount(*web.Router, *web.Renderer) error { return nil }

func (c chores) Work(_ context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	if limit < 1 {
		return nil, nil
	}
	return []module.WorkItem{{Module: "chores", Kind: "chores.sweep", KindName: fault.M("打扫楼道", "Sweep the stairs"),
		Title: fault.M("打扫 "+p.Division+" 的楼道", "Sweep the stairs of "+p.Division), Whose: "3幢", Href: "/chores/1", Due: c.now().Add(-time.Hour), Urgent: true}}, nil
}

func (chores) Mine(_ context.Context, p *access.Principal) ([]module.MineSection, error) {
	if p.Role != access.Resident {
		return nil, nil
	}
	return []module.MineSection{{Module: "chores", Order: 20, Title: fault.M("我的值日", "My chores"), Items: []module.MineItem{{Label: fault.M("周六扫楼道", "Sweep on Saturday"), Href: "/chores/1"}}}}, nil
}

func withChores() []module.Spec {
	return append(app.Modules(), module.Spec{Name: "chores", New: func(d module.Deps) (module.Module, error) { return chores{now: d.Now}, nil }})
}

// request is a request as the requests API answers.
type request struct {
	ID      string `json:"id"`
	Number  string `json:"number"`
	Version int    `json:"version"`
}

type workbench struct {
	Items []struct {
		Module  string    `json:"module"`
		Kind    string    `json:"kind"`
		Title   fault.Msg `json:"title"`
		Href    string    `json:"href"`
		Overdue bool      `json:"overdue"`
	} `json:"items"`
	Counts []front.KindCount `json:"counts"`
	Total  int               `json:"total"`
}

// noticeList is one's notices as the API answers.
type noticeList struct {
	Items []struct {
		ID     string    `json:"id"`
		Kind   string    `json:"kind"`
		Href   string    `json:"href"`
		ReadAt *string   `json:"read_at"`
		Title  fault.Msg `json:"title"`
	} `json:"items"`
	Unread int `json:"unread"`
}

func (w workbench) hrefs() []string {
	var out []string
	for _, it := range w.Items {
		out = append(out, it.Href)
	}
	return out
}

func (w workbench) count(kind string) int {
	for _, k := range w.Counts {
		if k.Kind == kind {
			return k.Count
		}
	}
	return 0
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func userID(t *testing.T, e *apptest.Env, name string) string {
	t.Helper()
	var id string
	if err := e.App.DB.R.QueryRow(`SELECT id FROM users WHERE username = $1`, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestWorkbench(t *testing.T) {
	t.Parallel()
	apptest.EachWith(t, withChores(), func(t *testing.T, e *apptest.Env) {
		e.User("res", access.Resident, apptest.CommunityA)
		e.User("worker", access.CommunityWorker, apptest.CommunityA)
		e.User("workerB", access.CommunityWorker, apptest.CommunityB)
		e.User("county", access.Officer, apptest.County)
		res, worker, workerB := e.Login("res"), e.Login("worker"), e.Login("workerB")
		r := apptest.JSON[request](t, res, "POST", "/api/v1/requests", map[string]any{"category": "repair", "description": "12幢门口路灯坏了", "attributes": map[string]string{"facility": "light"}}, 201)

		// The worker asks for an export big enough to be made in the
		// background; once made, it waits on the workbench.
		rs := registry.StoreOf(e.App.Module("registry"))
		wp := &access.Principal{UserID: userID(t, e, "worker"), Username: "worker", Role: access.CommunityWorker, Division: apptest.CommunityA}
		job, err := rs.StartExportJob(access.With(context.Background(), wp), registry.ExportOptions{Kind: "households", Format: "csv"})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := rs.RunExportJobs(context.Background()); err != nil || n != 1 {
			t.Fatalf("export jobs made: %d %v", n, err)
		}

		t.Run("the worker's list holds the new request, the ready export and the test module's item", func(t *testing.T) {
			wb := apptest.JSON[workbench](t, worker, "GET", "/api/v1/workbench", nil, 200)
			for _, want := range []string{"/requests/" + r.ID, "/registry/exports/jobs/" + job.ID, "/chores/1"} {
				if !has(wb.hrefs(), want) {
					t.Errorf("no %s among %v", want, wb.hrefs())
				}
			}
			if wb.count("request.new") != 1 || wb.count("registry.export.ready") != 1 || wb.count("chores.sweep") != 1 || wb.Total != 3 {
				t.Errorf("counts %+v total %d", wb.Counts, wb.Total)
			}
			if wb.Items[0].Href != "/chores/1" {
				t.Errorf("the urgent, overdue item is not first: %v", wb.hrefs())
			}
		})
		t.Run("the page shows the same items with counts per kind, each one tap from its page", func(t *testing.T) {
			st, body, _ := worker.Get("/work")
			for _, want := range []string{`href="/requests/` + r.ID + `"`, `href="/registry/exports/jobs/` + job.ID + `"`, `href="/chores/1"`, "打扫楼道 (1)", "新诉求待受理 (1)", "导出文件可下载 (1)", "全部 (3)"} {
				if !strings.Contains(body, want) {
					t.Errorf("page (%d) lacks %s", st, want)
				}
			}
		})
		t.Run("the filters narrow the list: by kind, and to overdue items", func(t *testing.T) {
			wb := apptest.JSON[workbench](t, worker, "GET", "/api/v1/workbench?kind=request.new", nil, 200)
			if h := wb.hrefs(); len(h) != 1 || h[0] != "/requests/"+r.ID || wb.Total != 3 {
				t.Errorf("kind filter: %v (total %d)", h, wb.Total)
			}
			wb = apptest.JSON[workbench](t, worker, "GET", "/api/v1/workbench?overdue=1", nil, 200)
			if h := wb.hrefs(); len(h) != 1 || h[0] != "/chores/1" {
				t.Errorf("overdue filter: %v", h)
			}
			_, body, _ := worker.Get("/work?kind=chores.sweep")
			items := regexp.MustCompile(`<li data-kind="([^"]+)"`).FindAllStringSubmatch(body, -1)
			if len(items) != 1 || items[0][1] != "chores.sweep" {
				t.Errorf("page kind filter: %v", items)
			}
		})
		t.Run("a request grows overdue and climbs the list", func(t *testing.T) {
			e.Clock.Add(30 * 24 * time.Hour)
			worker = e.Login("worker")
			wb := apptest.JSON[workbench](t, worker, "GET", "/api/v1/workbench?kind=request.overdue", nil, 200)
			if h := wb.hrefs(); len(h) != 1 || h[0] != "/requests/"+r.ID || !wb.Items[0].Overdue || wb.count("request.new") != 0 {
				t.Errorf("overdue request: %v %+v", h, wb.Counts)
			}
		})
		t.Run("a worker never sees what lies outside their scope", func(t *testing.T) {
			workerB, res = e.Login("workerB"), e.Login("res")
			wb := apptest.JSON[workbench](t, workerB, "GET", "/api/v1/workbench", nil, 200)
			for _, h := range wb.hrefs() {
				if h == "/requests/"+r.ID || strings.HasPrefix(h, "/registry/exports/") {
					t.Errorf("community B's worker sees %s", h)
				}
			}
			if _, body, _ := workerB.Get("/work"); strings.Contains(body, r.Number) {
				t.Error("community B's worker's page names the request")
			}
		})
		t.Run("residents have no workbench", func(t *testing.T) {
			if st, _ := res.Do("GET", "/api/v1/workbench", nil); st != http.StatusForbidden {
				t.Errorf("API: %d", st)
			}
			if st, _, _ := res.Get("/work"); st != http.StatusForbidden {
				t.Errorf("page: %d", st)
			}
		})
		t.Run("the page works in 长辈模式 too", func(t *testing.T) {
			worker.Get("/prefs?elder=1")
			st, body, _ := worker.Get("/work")
			if st != 200 || !strings.Contains(body, `class="elder"`) || !strings.Contains(body, `href="/chores/1"`) {
				t.Errorf("elder page: %d", st)
			}
		})
	})
}

func TestMine(t *testing.T) {
	t.Parallel()
	apptest.EachWith(t, withChores(), func(t *testing.T, e *apptest.Env) {
		e.User("res", access.Resident, apptest.CommunityA)
		e.User("res2", access.Resident, apptest.CommunityA)
		e.User("worker", access.CommunityWorker, apptest.CommunityA)
		res, worker := e.Login("res"), e.Login("worker")
		r := apptest.JSON[request](t, res, "POST", "/api/v1/requests", map[string]any{"category": "repair", "description": "12幢门口路灯坏了", "attributes": map[string]string{"facility": "light"}}, 201)

		t.Run("before anything happens: the request with its state, no notice", func(t *testing.T) {
			st, body, _ := res.Get("/me")
			if st != 200 || !strings.Contains(body, r.Number) || !strings.Contains(body, "待受理") || strings.Contains(body, `class="unread"`) {
				t.Fatalf("%d %.400s", st, body)
			}
		})
		t.Run("after the worker answers, 我的 shows the request answered and unread notices, and the header counts them", func(t *testing.T) {
			apptest.JSON[request](t, worker, "POST", "/api/v1/requests/"+r.ID+"/accept", map[string]any{}, 200)
			apptest.JSON[request](t, worker, "POST", "/api/v1/requests/"+r.ID+"/answer", map[string]any{"reply": "已更换灯泡"}, 200)
			_, body, _ := res.Get("/me")
			for _, want := range []string{"已办结", "您的诉求已办结答复：" + r.Number, "您的诉求已受理：" + r.Number, `<span class="badge">2</span>`, "2 条未读"} {
				if !strings.Contains(body, want) {
					t.Errorf("我的 lacks %q", want)
				}
			}
			if i, j := strings.Index(body, "您的诉求已办结答复"), strings.Index(body, "您的诉求已受理"); i < 0 || j < i {
				t.Errorf("the newest notice is not first (%d, %d)", i, j)
			}
		})
		t.Run("the sections come in their order, then the services", func(t *testing.T) {
			_, body, _ := res.Get("/me")
			i, j, k := strings.Index(body, `data-module="requests"`), strings.Index(body, `data-module="chores"`), strings.Index(body, `data-module="registry"`)
			l := strings.Index(body, `id="me-services"`)
			if !(0 <= i && i < j && j < k && k < l) {
				t.Errorf("order requests %d, chores %d, registry %d, services %d", i, j, k, l)
			}
			if !strings.Contains(body[l:], `href="/requests"`) || !strings.Contains(body[l:], `href="/registry/facilities"`) {
				t.Error("the residents' services are not listed")
			}
		})
		t.Run("opening a notice marks it read and leads to the request", func(t *testing.T) {
			list := apptest.JSON[noticeList](t, res, "GET", "/api/v1/me/notices", nil, 200)
			if list.Unread != 2 || len(list.Items) != 2 || list.Items[0].Kind != "request.answered" || list.Items[0].Href != "/requests/"+r.ID {
				t.Fatalf("%+v", list)
			}
			st, _, h := res.Form("/me/notices/"+list.Items[0].ID+"/open", map[string]string{}, nil)
			if st != 303 || h.Get("Location") != "/requests/"+r.ID {
				t.Fatalf("open: %d %s", st, h.Get("Location"))
			}
			if _, body, _ := res.Get("/me"); !strings.Contains(body, `<span class="badge">1</span>`) {
				t.Error("the header still counts the opened notice")
			}
			t.Run("another account cannot open it", func(t *testing.T) {
				if st, _ := e.Login("res2").Do("POST", "/api/v1/me/notices/"+list.Items[1].ID+"/read", nil); st != 404 {
					t.Errorf("other resident: %d", st)
				}
			})
			t.Run("mark all read empties the count", func(t *testing.T) {
				st, _, h := res.Form("/me/notices/read-all", map[string]string{}, nil)
				if st != 303 || h.Get("Location") != "/me/notices?read=1" {
					t.Fatalf("%d %s", st, h.Get("Location"))
				}
				if _, body, _ := res.Get("/me/notices?read=1"); strings.Contains(body, `class="badge"`) || !strings.Contains(body, "已将 1 条消息标为已读") {
					t.Errorf("still unread after marking all read: %s", body)
				}
			})
		})
		t.Run("a replayed answer tells nobody twice; a reopening is a new notice", func(t *testing.T) {
			before := e.Count(`SELECT COUNT(*) FROM user_notices WHERE user_id = $1`, userID(t, e, "res"))
			apptest.JSON[request](t, res, "POST", "/api/v1/requests/"+r.ID+"/reopen", map[string]any{"note": "灯又坏了"}, 200)
			if got := e.Count(`SELECT COUNT(*) FROM user_notices WHERE user_id = $1 AND kind = 'request.reopened'`, userID(t, e, "res")); got != 1 {
				t.Errorf("%d reopen notices", got)
			}
			if got := e.Count(`SELECT COUNT(*) FROM user_notices WHERE user_id = $1`, userID(t, e, "res")); got != before+1 {
				t.Errorf("%d notices after one reopening, %d before", got, before)
			}
		})
		t.Run("another resident sees neither the request nor the notices", func(t *testing.T) {
			_, body, _ := e.Login("res2").Get("/me")
			if strings.Contains(body, r.Number) || strings.Contains(body, `class="badge"`) {
				t.Error("res2 sees res's matters")
			}
		})
	})
}

// backlog is a module added only in this test with more work than the
// 工作台 counts: it answers as a module.WorkBoarder, its counts bounded.
type backlog struct{ now func() time.Time }

func (backlog) Nav() []web.NavItem                     { return nil }
func (backlog) Mount(*web.Router, *web.Renderer) error { return nil }

func (b backlog) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	wb, err := b.WorkBoard(ctx, p, module.WorkQuery{Limit: limit})
	return wb.Items, err
}

func (b backlog) WorkBoard(_ context.Context, p *access.Principal, q module.WorkQuery) (module.WorkBoard, error) {
	wb := module.WorkBoard{Counts: []module.WorkCount{
		{Kind: "backlog.old", Name: fault.M("积压事项", "Backlog"), Count: min(5000, q.Bound+1)},
		{Kind: "backlog.new", Name: fault.M("新事项", "New items"), Count: 7},
	}, Overdue: min(5000, q.Bound+1)}
	for i := range min(q.Limit, 40) {
		kind, due := "backlog.old", b.now().Add(-time.Hour)
		if i%2 == 1 {
			kind, due = "backlog.new", b.now().Add(time.Hour)
		}
		if (q.Kind != "" && q.Kind != kind) || (q.Overdue && kind != "backlog.old") {
			continue
		}
		wb.Items = append(wb.Items, module.WorkItem{Module: "backlog", Kind: kind, Title: fault.M(fmt.Sprintf("事项 %d", i), fmt.Sprintf("item %d", i)), Href: fmt.Sprintf("/backlog/%d", i), Due: due})
	}
	return wb, nil
}

// A module with thousands of items waiting: the counts stop at their bound
// and say so, exact below it; the page reads only as many items as it
// shows, and links on to the next page.
func TestWorkbenchCountsAreBounded(t *testing.T) {
	t.Parallel()
	specs := append(app.Modules(), module.Spec{Name: "backlog", New: func(d module.Deps) (module.Module, error) { return backlog{now: d.Now}, nil }})
	apptest.EachWith(t, specs, func(t *testing.T, e *apptest.Env) {
		e.User("worker", access.CommunityWorker, apptest.CommunityA)
		worker := e.Login("worker")
		wb := apptest.JSON[workbench](t, worker, "GET", "/api/v1/workbench", nil, 200)
		if wb.count("backlog.old") != front.CountBound || wb.count("backlog.new") != 7 || wb.Total != front.CountBound {
			t.Errorf("counts %+v total %d", wb.Counts, wb.Total)
		}
		_, body, _ := worker.Get("/work")
		body = html.UnescapeString(body) // the template writes + as &#43;
		for _, want := range []string{"积压事项 (1,000+)", "新事项 (7)", "全部 (1,000+)", "<strong>1,000+</strong>", `rel="next"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		if n := strings.Count(body, `data-kind="backlog.`); n != 30+2 { // 30 items and the 2 kinds' filter links
			t.Errorf("%d backlog items and links on the first page", n)
		}
		_, body, _ = worker.Get("/work?kind=backlog.new")
		if !strings.Contains(body, "共 7 条") || strings.Contains(body, `rel="next"`) {
			t.Error("the filtered list does not count the kind's 7 items exactly")
		}
	})
}

// Past 99 unread notices the header and 我的 say "99+", and the lists
// show the newest first: 我的 five, the notices page thirty.
func TestUnreadCountIsBounded(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("res", access.Resident, apptest.CommunityA)
		id := userID(t, e, "res")
		for i := range 120 {
			e.Clock.Add(time.Minute)
			if err := e.App.Notices.Notify(context.Background(), module.Notice{UserID: id, Kind: "test.note", Title: fault.M(fmt.Sprintf("第 %d 条", i), fmt.Sprintf("note %d", i)), Key: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		_, body, _ := e.Login("res").Get("/me")
		body = html.UnescapeString(body)
		for _, want := range []string{`<span class="badge">99+</span>`, "99+ 条未读", "第 119 条"} {
			if !strings.Contains(body, want) {
				t.Errorf("我的 lacks %q", want)
			}
		}
		if strings.Contains(body, "第 100 条") {
			t.Error("我的 shows more than its newest notices")
		}
		_, body, _ = e.Login("res").Get("/me/notices")
		if n := strings.Count(body, `<li class="unread">`); n != 30 || !strings.Contains(body, "仅显示最新的 30 条") || !strings.Contains(body, "第 119 条") || strings.Contains(body, "第 89 条") {
			t.Errorf("the notices page shows %d notices", n)
		}
	})
}
