package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"linli/internal/app"
	"linli/internal/config"
	"linli/internal/dbtest"
)

// `linli bench ballots` on a one-community demo: 150 households of its
// township vote by secret ballot at 50 a second; the server is killed
// with -9 halfway and restarted on the same port; every acknowledged
// ballot is stored once, the counted chain verifies, the board's figures
// print, and the bench leaves no account behind.
func TestBenchBallotsSurvivesKill9(t *testing.T) {
	t.Parallel()
	stores := map[string][]string{"sqlite": {"--data-dir", t.TempDir()}}
	if os.Getenv(dbtest.EnvPostgres) != "" {
		stores["postgres"] = []string{"--database-url", dbtest.PostgresURL(t), "--data-dir", t.TempDir()}
	}
	for name, where := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(binary(t), append([]string{"bench", "ballots", "--scale", "community", "--households", "150", "--duration", "3s"}, where...)...)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v\n%s\n%s", err, out.String(), errOut.String())
			}
			s := out.String()
			find := func(t *testing.T, re string) []string {
				t.Helper()
				m := regexp.MustCompile(re).FindStringSubmatch(s)
				if m == nil {
					t.Fatalf("no %s in:\n%s", re, s)
				}
				return m
			}
			t.Run("the township's households get accounts and a township-wide vote opens", func(t *testing.T) {
				m := find(t, `township (\d{9}): households=(\d+) voting=(\d+);`)
				if m[3] != "150" || atoi(t, m[2]) < 150 {
					t.Fatalf("%s", m[0])
				}
				if m := find(t, `electorate=(\d+) households`); m[1] != find(t, `households=(\d+) voting`)[1] {
					t.Fatalf("the electorate is not the township's households: %s", m[0])
				}
				find(t, `ballot=secret \(sealed box\) rate=50\.00/s duration=3s planned=150`)
			})
			t.Run("the ballots were cast at the rate and answered, with figures", func(t *testing.T) {
				m := find(t, `ballots: planned=(\d+) answered-201=(\d+) answered-409-on-a-retry=(\d+) failed=(\d+) .* p50=\S+ p99=\S+`)
				if atoi(t, m[2])+atoi(t, m[3])+atoi(t, m[4]) != 150 || atoi(t, m[2]) < 75 {
					t.Fatalf("%s", m[0])
				}
				find(t, `by the moment each ballot was due: \[0s–500ms\) n=\d+ p50=\S+ p99=\S+`)
				find(t, `public board under load: page GET /deliberation/board/\d{12} reads=[1-9]\d* p50=\S+ p95=\S+; JSON GET /api/v1/decisions reads=[1-9]\d* p50=\S+ p95=\S+`)
			})
			t.Run("the server was killed with -9 halfway and restarted", func(t *testing.T) {
				find(t, `kill -9 at 1\.5s, restarted in \S+`)
			})
			t.Run("every acknowledged ballot is stored, none twice, and the counted chain verifies", func(t *testing.T) {
				m := find(t, `after the run: acknowledged=(\d+) .* stored-voters=(\d+) sealed-in-box=(\d+) chain=0 missing=(\d+) doubled=(\d+)`)
				if m[4] != "0" || m[5] != "0" || m[2] != m[3] || atoi(t, m[2]) < atoi(t, m[1]) {
					t.Fatalf("%s", m[0])
				}
				c := find(t, `ok=(\w+) ballots=(\d+) voters=(\d+) sealed=0 .* within bounds (\w+)`)
				if c[1] != "true" || c[2] != m[2] || c[3] != m[2] || c[4] != "true" || !strings.Contains(s, "check: OK") {
					t.Fatalf("%s", c[0])
				}
			})
			t.Run("the vote and the bench's accounts are gone afterwards", func(t *testing.T) {
				cfg := config.Config{DataDir: where[len(where)-1]}
				if where[0] == "--database-url" {
					cfg.DatabaseURL = where[1]
				}
				d, err := openRaw(cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				var users, linked, votes int
				if err := d.R.QueryRow(`SELECT (SELECT COUNT(*) FROM users WHERE username LIKE 'bench.%'), (SELECT COUNT(*) FROM reg_residents WHERE username LIKE 'bench.%'),
					(SELECT COUNT(*) FROM dlb_topics WHERE area_kind = 'township')`).Scan(&users, &linked, &votes); err != nil {
					t.Fatal(err)
				}
				if users+linked+votes != 0 {
					t.Fatalf("left behind: %d accounts, %d linked residents, %d township topics", users, linked, votes)
				}
			})
		})
	}
	t.Run("bad flags are refused before anything starts", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run([]string{"bench", "ballots", "--households", "0", "--data-dir", t.TempDir()}, env{nil, &out, &errOut, app.Modules()})
		if code == 0 || !strings.Contains(errOut.String(), "--households") {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
	})
}
