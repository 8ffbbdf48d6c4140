package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"linli/internal/app"
	"linli/internal/dbtest"
)

// `linli bench checkins` on a one-community demo at 50 reports a second:
// it issues the exercise, loads the server it started, kills it with -9
// halfway, restarts it on the same port and finds every report answered
// 200 in the store, each household changed once.
func TestBenchCheckinsSurvivesKill9(t *testing.T) {
	t.Parallel()
	stores := map[string][]string{"sqlite": {"--data-dir", t.TempDir()}}
	if os.Getenv(dbtest.EnvPostgres) != "" {
		stores["postgres"] = []string{"--database-url", dbtest.PostgresURL(t), "--data-dir", t.TempDir()}
	}
	for name, where := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(binary(t), append([]string{"bench", "checkins", "--scale", "community", "--rate", "50", "--duration", "4s"}, where...)...)
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
			t.Run("the exercise was issued and its targeting timed", func(t *testing.T) {
				if m := find(t, `issue \(targeting, through HTTP\): households=(\d+) vulnerable=(\d+) in `); m[1] == "0" {
					t.Fatalf("no households: %s", m[0])
				}
			})
			t.Run("the load was planned at the rate and mostly answered, with figures", func(t *testing.T) {
				m := find(t, `reports: planned=(\d+) answered-200=(\d+) failed=(\d+) .* p50=\S+ p99=\S+`)
				planned, acked, failed := atoi(t, m[1]), atoi(t, m[2]), atoi(t, m[3])
				if planned != 200 || acked+failed != planned || acked < planned/2 {
					t.Fatalf("%s", m[0])
				}
				find(t, `board under load: reads=[1-9]\d* p50=\S+ p95=\S+`)
			})
			t.Run("the server was killed with -9 halfway and restarted", func(t *testing.T) {
				find(t, `kill -9 at 2s, restarted in \S+`)
			})
			t.Run("every report answered 200 is stored, none twice", func(t *testing.T) {
				m := find(t, `after the run: acknowledged=(\d+) missing=(\d+) households-with-more-than-one-change=(\d+)`)
				if m[2] != "0" || m[3] != "0" || !strings.Contains(s, "check: OK") {
					t.Fatalf("%s", m[0])
				}
			})
		})
	}
	t.Run("bad flags are refused before anything starts", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run([]string{"bench", "checkins", "--rate", "0", "--data-dir", t.TempDir()}, env{nil, &out, &errOut, app.Modules()})
		if code == 0 || !strings.Contains(errOut.String(), "--rate") {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
	})
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
