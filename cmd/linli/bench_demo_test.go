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

func TestBenchDemoAndExport(t *testing.T) {
	t.Parallel()
	stores := map[string][]string{"sqlite": {"--data-dir", t.TempDir()}}
	if os.Getenv(dbtest.EnvPostgres) != "" {
		stores["postgres"] = []string{"--database-url", dbtest.PostgresURL(t), "--data-dir", t.TempDir()}
	}
	for name, where := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := func() (env, *bytes.Buffer, *bytes.Buffer) {
				var out, errOut bytes.Buffer
				return env{nil, &out, &errOut, app.Modules()}, &out, &errOut
			}

			t.Run("bench demo generates the demo into an empty store and prints it against the bare INSERT peer", func(t *testing.T) {
				en, out, errOut := e()
				if code := run(append([]string{"bench", "demo", "--scale", "community"}, where...), en); code != 0 {
					t.Fatalf("exit %d: %s", code, errOut.String())
				}
				m := regexp.MustCompile(`(?m)^\S+, (\d+) residents$`).FindStringSubmatch(out.String())
				if m == nil {
					t.Fatalf("no resident count in %q", out.String())
				}
				if n, _ := strconv.Atoi(m[1]); n < 1000 {
					t.Fatalf("%d residents for a community", n)
				}
				for _, want := range []string{"demo (every module)", "居民 / residents", "peer: bare INSERT of as many resident rows", "ratio demo / peer:", "demo.officer"} {
					if !strings.Contains(out.String(), want) {
						t.Fatalf("output lacks %q:\n%s", want, out.String())
					}
				}
			})

			t.Run("a second bench demo on the same store is refused and changes nothing", func(t *testing.T) {
				en, _, errOut := e()
				if code := run(append([]string{"bench", "demo", "--scale", "community"}, where...), en); code == 0 || !strings.Contains(errOut.String(), "already holds a demo") {
					t.Fatalf("exit %d: %s", code, errOut.String())
				}
			})

			t.Run("bench export exports the demo community and the peer the same number of rows", func(t *testing.T) {
				en, out, errOut := e()
				if code := run(append([]string{"bench", "export", "--division", "330106", "--formats", "csv"}, where...), en); code != 0 {
					t.Fatalf("exit %d: %s", code, errOut.String())
				}
				rows := regexp.MustCompile(`(?m)^csv\s+(linli|peer)\s+(\d+)\s`).FindAllStringSubmatch(out.String(), -1)
				if len(rows) != 2 || rows[0][2] != rows[1][2] || rows[0][2] == "0" || !strings.Contains(out.String(), "ratio linli / peer:") {
					t.Fatalf("export table:\n%s", out.String())
				}
			})
		})
	}
}
