package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"linli/internal/app"
	"linli/internal/dbtest"
)

// benchRow is one line of the page benchmark's table.
type benchRow struct {
	page, role, account string
	n                   int
	p50, p95, p99, rate float64
	errors              string
}

var benchRowRe = regexp.MustCompile(`^(\S+)\s+(\S+) (\S+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(?:[\d.]+|—)\s+(yes|no)\s+(.*)$`)

func parseBenchTable(t *testing.T, out string) []benchRow {
	t.Helper()
	var rows []benchRow
	for _, l := range strings.Split(out, "\n") {
		m := benchRowRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		num := func(s string) float64 {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			return f
		}
		n, _ := strconv.Atoi(m[4])
		rows = append(rows, benchRow{page: m[1], role: m[2], account: m[3], n: n, p50: num(m[5]), p95: num(m[6]), p99: num(m[7]), rate: num(m[8]), errors: m[10]})
	}
	return rows
}

// `linli bench pages` on a one-community demo, a second a page: it
// generates the demo into the empty store, signs in as every role, finds
// each role's lists, dashboards and exports and prints a figure for each,
// beside /healthz, and the slowest statements with their plans.
func TestBenchPages(t *testing.T) {
	t.Parallel()
	stores := map[string][]string{"sqlite": {"--data-dir", t.TempDir()}}
	if os.Getenv(dbtest.EnvPostgres) != "" {
		// The data folder still holds the key and the audit checkpoints.
		stores["postgres"] = []string{"--database-url", dbtest.PostgresURL(t), "--data-dir", t.TempDir()}
	}
	for name, where := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := run(append([]string{"bench", "pages", "--scale", "community", "--duration", "1s", "--plans", "3"}, where...), env{nil, &out, &errOut, app.Modules()})
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			rows := parseBenchTable(t, out.String())
			has := map[string]map[string]benchRow{}
			for _, r := range rows {
				if has[r.account] == nil {
					has[r.account] = map[string]benchRow{}
				}
				has[r.account][r.page] = r
			}
			t.Run("the demo was generated first, with progress", func(t *testing.T) {
				if !strings.Contains(errOut.String(), "演示数据 / demo: 居民 / residents") || !strings.Contains(errOut.String(), "demo generated in") {
					t.Fatalf("no progress: %s", errOut.String())
				}
			})
			t.Run("every role's start page, lists, dashboards and exports have a line", func(t *testing.T) {
				want := map[string][]string{
					"demo.officer":   {"/work", "/registry/residents", "/registry/households", "/registry/export?format=csv&kind=residents", "/indicators", "/requests", "/requests/metrics", "/lifecircle"},
					"demo.street":    {"/work", "/registry/residents", "/indicators", "/requests"},
					"bench.city":     {"/work", "/indicators", "/registry/residents"},
					"bench.province": {"/work", "/indicators", "/registry/residents"},
					"demo.worker":    {"/work", "/registry/residents", "/requests", "/indicators"},
					"demo.grid":      {"/work", "/registry/my-grid"},
					"demo.resident":  {"/me", "/registry/me", "/requests"},
					"bench.admin":    {"/", "/admin/users"},
					"demo.secadmin":  {"/", "/admin/users", "/admin/security"},
					"demo.auditor":   {"/", "/audit"},
				}
				for account, pages := range want {
					for _, p := range pages {
						if _, ok := has[account][p]; !ok {
							t.Errorf("%s: no line for %s (has %d pages)", account, p, len(has[account]))
						}
					}
				}
				if len(rows) < 60 {
					t.Errorf("%d lines", len(rows))
				}
			})
			t.Run("each line has answers, figures in order and no errors", func(t *testing.T) {
				for _, r := range rows {
					if r.n == 0 || r.p99 <= 0 || r.p50 > r.p95 || r.p95 > r.p99 || r.rate <= 0 || r.errors != "0" {
						t.Errorf("%s %s: %+v", r.account, r.page, r)
					}
				}
			})
			t.Run("/healthz is measured in the same run", func(t *testing.T) {
				if !strings.Contains(out.String(), "/healthz ") || !regexp.MustCompile(`(?m)^/healthz\s+—`).MatchString(out.String()) {
					t.Fatalf("no /healthz line:\n%s", out.String())
				}
			})
			t.Run("it measured only after the start-up passes, saying how long it waited", func(t *testing.T) {
				s := errOut.String()
				i, j := strings.Index(s, "start-up passes finished ("), strings.Index(s, "[1/")
				if i < 0 || j < 0 || i > j {
					t.Fatalf("no wait said before the first page:\n%s", s)
				}
				line := s[i:]
				line = line[:strings.IndexByte(line, '\n')]
				for _, want := range []string{"indicators ", "requests ", "visits ", "; waited "} {
					if !strings.Contains(line, want) {
						t.Errorf("%q lacks %q", line, want)
					}
				}
			})
			if name == "postgres" {
				t.Run("a data folder without the database's key is refused before anything runs", func(t *testing.T) {
					var out, errOut bytes.Buffer
					args := []string{"bench", "pages", "--duration", "1s", "--database-url", where[1], "--data-dir", t.TempDir()}
					code := run(args, env{nil, &out, &errOut, app.Modules()})
					if code == 0 || !strings.Contains(errOut.String(), "数据密钥") || !strings.Contains(errOut.String(), "--data-dir") || strings.Contains(out.String(), "/healthz") {
						t.Fatalf("exit %d: %s%s", code, errOut.String(), out.String())
					}
				})
			}
			t.Run("the slowest statements come with their plans", func(t *testing.T) {
				s := out.String()
				i := strings.Index(s, "slowest statements")
				if i < 0 || !strings.Contains(s[i:], "1. mean ") || !strings.Contains(s[i:], "   | ") {
					t.Fatalf("no statements with plans:\n%s", s[max(0, i):])
				}
			})
		})
	}
}
