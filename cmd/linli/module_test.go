package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/config"
	"linli/internal/db"
	"linli/internal/module"
	"linli/internal/web"
)

// notices is a throwaway capability, written here as a newcomer would
// write a real one in its own folder: a table, a setting, one page, one
// data element and one command. Adding it to the platform is one line:
// append(app.Modules(), noticesModule()).
func noticesModule() module.Spec {
	return module.Spec{Name: "notices",
		Migrations: []db.Migration{{ID: "notices/001", SQL: `CREATE TABLE notices (id TEXT PRIMARY KEY, division_code TEXT NOT NULL, title TEXT NOT NULL, posted_at TIMESTAMPTZ NOT NULL)`}},
		Settings:   []config.Setting{{Env: "LINLI_NOTICES_DAYS", Default: "30", Check: positiveInt}},
		Commands:   []module.Command{{Name: "notices", Summary: "公告 / notices", Usage: "linli notices [--data-dir DIR]", Run: runNotices}},
		New: func(d module.Deps) (module.Module, error) {
			return &notices{db: d.DB, days: d.Settings.Get("LINLI_NOTICES_DAYS")}, nil
		}}
}

type notices struct {
	db   *db.DB
	days string
}

func (n *notices) Nav() []web.NavItem {
	return []web.NavItem{{Href: "/notices", Label: web.M("公告", "Notices")}}
}

func (n *notices) Mount(rt *web.Router, rd *web.Renderer) error {
	rt.Page("GET /notices", func(w http.ResponseWriter, r *http.Request) {
		c, err := n.count(r.Context(), access.ScopeOf(r.Context()))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "<p>公告 %d 条，保留 %s 天</p>", c, n.days)
	})
	return nil
}

func (n *notices) count(ctx context.Context, sc access.Scope) (int, error) {
	var c int
	err := n.db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM notices WHERE division_code >= $1 AND division_code < $2`, sc.Lo, sc.Hi).Scan(&c)
	return c, err
}

func (n *notices) Elements() []module.Element {
	return []module.Element{{Key: "notices_posted", NameZH: "发布的公告", NameEN: "Notices posted", Source: "computed",
		Sum: func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
			end := db.T(time.Date(g.Year+1, 1, 1, 0, 0, 0, 0, time.UTC))
			rows, err := q.QueryContext(ctx, `SELECT substr(division_code, 1, `+strconv.Itoa(g.Prefix)+`), COUNT(*) FROM notices
				WHERE division_code >= $1 AND division_code < $2 AND posted_at < $3 GROUP BY 1`, g.Lo, g.Hi, end)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			out := map[string]float64{}
			for rows.Next() {
				var k string
				var v float64
				if err := rows.Scan(&k, &v); err != nil {
					return nil, err
				}
				out[k] += v
			}
			return out, rows.Err()
		}}}
}

func runNotices(c module.CLI, args []string) int {
	m, _, closeApp, code := c.Open("notices", args, nil)
	if code >= 0 {
		return code
	}
	defer closeApp()
	n, err := m.(*notices).count(context.Background(), access.Scope{Lo: "", Hi: "~"})
	if err != nil {
		return module.Fail(c, err)
	}
	fmt.Fprintf(c.Stdout, "notices: %d\n", n)
	return 0
}

func positiveInt(v string, _ config.Values) error {
	if n, err := strconv.Atoi(v); err != nil || n < 1 {
		return errors.New("须为正整数 / must be a positive whole number")
	}
	return nil
}

func TestANewModuleTouchesOneLineOutsideItsFolder(t *testing.T) {
	t.Parallel()
	modules := append(app.Modules(), noticesModule())
	apptest.EachWith(t, modules, func(t *testing.T, e *apptest.Env) {
		for i, code := range []string{apptest.CommunityA, apptest.CommunityB, "330206001001"} {
			if _, err := e.App.DB.W.Exec(`INSERT INTO notices VALUES ($1, $2, '停水通知', $3)`, fmt.Sprint("n", i), code, db.T(e.Clock.Now())); err != nil {
				t.Fatal(err)
			}
		}
		e.User("xihu", access.Officer, apptest.County)
		officer := e.Login("xihu")

		t.Run("its page is routed, behind sign-in and its settings' default", func(t *testing.T) {
			st, body := officer.Do("GET", "/notices", nil)
			if st != 200 || !strings.Contains(body, "公告 2 条，保留 30 天") {
				t.Fatalf("page: %d %s", st, body)
			}
			if st, _, _ := e.Client().Get("/notices"); st != http.StatusSeeOther {
				t.Fatalf("signed out: %d, want a redirect to the sign-in page", st)
			}
		})

		t.Run("its data element is usable in an own indicator and rolls up within scope", func(t *testing.T) {
			def := map[string]any{"id": "XH-NOTICES", "division_code": apptest.County, "name_zh": "公告数", "name_en": "Notices", "unit": "条", "formula": "notices_posted", "target": 10}
			if st, body := officer.Do("POST", "/api/v1/indicator-definitions", def); st != 201 {
				t.Fatalf("define: %d %s", st, body)
			}
			type row struct {
				Value *float64 `json:"value"`
			}
			got := apptest.JSON[row](t, officer, "GET", fmt.Sprintf("/api/v1/indicators/XH-NOTICES?division=%s&period=%d", apptest.County, e.Clock.Now().Year()), nil, 200)
			if got.Value == nil || *got.Value != 2 {
				t.Fatalf("XH-NOTICES = %v, want 2 (the two notices inside 西湖区, not Ningbo's)", got.Value)
			}
		})

		t.Run("a bad value of its setting is refused by name", func(t *testing.T) {
			cfg := e.App.Cfg
			cfg.Modules = config.Values{"LINLI_NOTICES_DAYS": "soon"}
			_, err := app.Wire(t.Context(), cfg, e.App.DB, app.Options{Modules: modules})
			if err == nil || !strings.Contains(err.Error(), "LINLI_NOTICES_DAYS") {
				t.Fatalf("want an error naming LINLI_NOTICES_DAYS, got %v", err)
			}
		})
	})

	t.Run("its command is in linli help and runs against the store", func(t *testing.T) {
		var out, errOut bytes.Buffer
		e := env{nil, &out, &errOut, modules}
		if code := run([]string{"help"}, e); code != 0 || !strings.Contains(out.String(), "notices  公告 / notices") {
			t.Fatalf("help: %d %q", code, out.String())
		}
		out.Reset()
		if code := run([]string{"notices", "--data-dir", t.TempDir()}, e); code != 0 || out.String() != "notices: 0\n" {
			t.Fatalf("notices: %d %q %q", code, out.String(), errOut.String())
		}
	})
}

// Every command the README's table lists answers `linli help`, whichever
// module provides it.
func TestEveryReadmeCommandHasHelp(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, m := range regexp.MustCompile("`linli ([a-z0-9-]+)( [a-z0-9-]+)?").FindAllStringSubmatch(string(readme), -1) {
		args := []string{"help", m[1]}
		if sub := strings.TrimSpace(m[2]); (m[1] == "bench" || m[1] == "admin") && sub != "" {
			args = append(args, sub)
		}
		var out, errOut bytes.Buffer
		if code := run(args, env{nil, &out, &errOut, app.Modules()}); code != 0 || !strings.Contains(out.String(), "linli "+strings.Join(args[1:], " ")) {
			t.Errorf("linli %s: exit %d, %q %q", strings.Join(args, " "), code, out.String(), errOut.String())
		}
		seen++
	}
	if seen < 12 {
		t.Fatalf("found %d commands in the README, want the whole table", seen)
	}
}

// A module's two-word command whose first word is no core command
// ("visits schedule") is reached as linli visits schedule.
func TestAModuleCommandFamilyRuns(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	e := env{nil, &out, &errOut, app.Modules()}
	t.Run("its own checks answer, not an unknown command", func(t *testing.T) {
		if code := run([]string{"visits", "schedule", "--month", "2026-13", "--data-dir", t.TempDir()}, e); code != 1 || !strings.Contains(errOut.String(), "YYYY-MM") {
			t.Fatalf("visits schedule: exit %d, %q", code, errOut.String())
		}
	})
	t.Run("a name the family lacks is refused with the family's usage", func(t *testing.T) {
		errOut.Reset()
		if code := run([]string{"visits", "nothing"}, e); code != 2 || !strings.Contains(errOut.String(), `unknown command "visits nothing"`) || !strings.Contains(errOut.String(), "linli visits schedule") {
			t.Fatalf("visits nothing: exit %d, %q", code, errOut.String())
		}
	})
}
