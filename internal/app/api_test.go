package app_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
)

func TestCrossSiteStateChangeRejected(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		hdr := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
		st, _, _ := c.Form("/divisions/"+apptest.CommunityA+"/attributes", map[string]string{"year": "2025", "attr_population": "7"}, hdr)
		if st != http.StatusForbidden {
			t.Fatalf("cross-site POST: %d", st)
		}
		if n := e.Count(`SELECT COUNT(*) FROM unit_attributes`); n != 0 {
			t.Fatalf("cross-site POST wrote %d rows", n)
		}
		st, _, h := c.Form("/divisions/"+apptest.CommunityA+"/attributes", map[string]string{"year": "2025", "attr_population": "7"}, map[string]string{"Sec-Fetch-Site": "same-origin"})
		if st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "saved=1") {
			t.Fatalf("same-origin POST: %d", st)
		}
		// A cross-site logout is refused too: it would end the session.
		if st, _, _ := c.Form("/logout", nil, hdr); st != http.StatusForbidden {
			t.Fatalf("cross-site logout: %d", st)
		}
	})
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := e.Client()
		st, body := c.Do("GET", "/api/v1/openapi.json", nil)
		if st != 200 {
			t.Fatalf("openapi: %d", st)
		}
		var doc struct {
			OpenAPI string                               `json:"openapi"`
			Paths   map[string]map[string]map[string]any `json:"paths"`
		}
		if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.OpenAPI != "3.1.0" {
			t.Fatalf("bad document: %v", err)
		}
		documented := map[string]bool{}
		for path, ops := range doc.Paths {
			for m, op := range ops {
				documented[strings.ToUpper(m)+" "+path] = true
				if op["summary"] == "" || op["responses"] == nil {
					t.Errorf("%s %s lacks summary or responses", m, path)
				}
			}
		}
		routes := e.App.Router.Routes()
		if len(routes) < 15 {
			t.Fatalf("only %d routes", len(routes))
		}
		for _, r := range routes {
			if !documented[r] {
				t.Errorf("route %s is not documented", r)
			}
			delete(documented, r)
			// Every documented route is really served: no 404 "no such route"
			// for an anonymous caller (401 or a handler's answer instead).
			m, p, _ := strings.Cut(r, " ")
			p = regexp.MustCompile(`\{[a-z_]+\}`).ReplaceAllStringFunc(p, func(param string) string {
				if v, ok := map[string]string{"{code}": apptest.County, "{year}": "2025", "{username}": "admin"}[param]; ok {
					return v
				}
				return "x"
			})
			req, _ := http.NewRequest(m, e.URL+p, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == 404 || resp.StatusCode == 405 {
				t.Errorf("%s answered %d", r, resp.StatusCode)
			}
		}
		for r := range documented {
			t.Errorf("documented but not registered: %s", r)
		}
	})
}

func TestSecondStartKeepsData(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		c.Do("PUT", "/api/v1/divisions/"+apptest.CommunityA+"/attributes/2025", map[string]any{"values": map[string]float64{"population": 5000}})
		users := e.Count(`SELECT COUNT(*) FROM users`)
		again := e.Restart()
		if again.Loaded != 0 {
			t.Fatalf("second start reloaded %d divisions", again.Loaded)
		}
		if pw, err := again.Auth.EnsureFirstAdmin(t.Context()); err != nil || pw != "" {
			t.Fatalf("second start made another admin: %q %v", pw, err)
		}
		if e.Count(`SELECT COUNT(*) FROM divisions`) != 27036 || e.Count(`SELECT COUNT(*) FROM users`) != users || e.Count(`SELECT COUNT(*) FROM unit_attributes`) != 1 {
			t.Fatal("rows changed on second start")
		}
	})
}

func TestHomePerRole(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("res", access.Resident, apptest.CommunityA)
		e.User("grid", access.GridWorker, apptest.CommunityA)
		e.User("worker", access.CommunityWorker, apptest.CommunityA)
		e.User("county", access.Officer, apptest.County)
		t.Run("workers start at the workbench and residents at 我的", func(t *testing.T) {
			for user, want := range map[string]string{"grid": "/work", "worker": "/work", "county": "/work", "res": "/me"} {
				st, _, h := e.Login(user).Get("/")
				if st != 303 || h.Get("Location") != want {
					t.Errorf("%s home: %d %s, want %s", user, st, h.Get("Location"), want)
				}
			}
		})
		t.Run("a resident's 我的 leads with the one action, in both modes", func(t *testing.T) {
			c := e.Login("res")
			for _, elder := range []string{"0", "1"} {
				c.Get("/prefs?elder=" + elder)
				st, body, _ := c.Get("/me")
				first := regexp.MustCompile(`<a class="button" href="([^"]+)"`).FindStringSubmatch(body)
				if st != 200 || first == nil || first[1] != "/requests/new" {
					t.Fatalf("elder=%s: %d, first button %v", elder, st, first)
				}
				for _, href := range []string{`href="/requests"`, `href="/registry/me"`, `href="/registry/facilities"`} {
					if !strings.Contains(body, href) {
						t.Errorf("elder=%s: no link %s among the services", elder, href)
					}
				}
			}
		})
		t.Run("the workers' former start pages stay in the menu", func(t *testing.T) {
			for user, want := range map[string]string{"worker": "社区概览", "county": "辖区概览"} {
				if _, menu, _ := e.Login(user).Get("/menu"); !strings.Contains(menu, `href="/overview"`) {
					t.Errorf("%s: no overview in the menu", user)
				}
				st, body := e.Login(user).Do("GET", "/overview", nil)
				if st != 200 || !strings.Contains(body, want) {
					t.Errorf("%s overview: %d, want %s", user, st, want)
				}
			}
		})
	})
}
