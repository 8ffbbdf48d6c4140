package requests_test

import (
	"bytes"
	"flag"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/module"
	"linli/internal/requests"
)

// command finds one of the module's commands.
func command(t *testing.T, name string) module.Command {
	t.Helper()
	for _, c := range requests.Module().Commands {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no command %q", name)
	return module.Command{}
}

// cli runs commands over the env's app, as cmd/linli does over the one it
// opens.
func cli(e *apptest.Env) (module.CLI, *bytes.Buffer, *bytes.Buffer) {
	var out, errs bytes.Buffer
	return module.CLI{Stdout: &out, Stderr: &errs,
		Open: func(name string, args []string, flags func(*flag.FlagSet)) (module.Module, []string, func(), int) {
			fs := flag.NewFlagSet(name, flag.ContinueOnError)
			fs.SetOutput(&errs)
			if flags != nil {
				flags(fs)
			}
			if err := fs.Parse(args); err != nil {
				return nil, nil, nil, 2
			}
			return e.App.Module("requests"), fs.Args(), func() {}, -1
		}}, &out, &errs
}

func TestCommands(t *testing.T) {
	t.Parallel()
	t.Run("bench requests refuses bad flags before it starts anything", func(t *testing.T) {
		bench := command(t, "bench requests")
		for _, args := range [][]string{{"--duration", "soon"}, {"--duration", "0s"}, {"--workers", "0"}, {"--bogus"}} {
			var out, errs bytes.Buffer
			c := module.CLI{Stdout: &out, Stderr: &errs, Open: func(string, []string, func(*flag.FlagSet)) (module.Module, []string, func(), int) {
				t.Fatal("the platform was opened")
				return nil, nil, nil, 1
			}}
			if code := bench.Run(c, args); code != 2 || out.Len() != 0 || errs.Len() == 0 {
				t.Errorf("%v: exit %d, stdout %q", args, code, out.String())
			}
		}
		if !strings.HasPrefix(bench.Usage, "linli bench requests") || bench.Summary == "" {
			t.Fatalf("usage: %q", bench.Usage)
		}
	})
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		issue := command(t, "admin open311-key")
		t.Run("admin open311-key prints a key once and stores only its hash", func(t *testing.T) {
			c, out, _ := cli(e)
			if code := issue.Run(c, []string{"--name", "12345-hotline", "--division", county}); code != 0 {
				t.Fatalf("exit %d", code)
			}
			_, key, ok := strings.Cut(strings.TrimSpace(out.String()), ": ")
			if !ok || !strings.HasPrefix(key, "o311_") {
				t.Fatalf("output %q", out.String())
			}
			if n := e.Count(`SELECT COUNT(*) FROM open311_keys WHERE name = '12345-hotline' AND division_code = $1 AND key_hash <> $2`, county, key); n != 1 {
				t.Fatalf("%d keys stored", n)
			}
			st, _, _ := e.Client().Form("/open311/v2/requests.json", map[string]string{"api_key": key, "service_code": "policy", "address_id": communityA, "description": "咨询"}, nil)
			if st != 201 {
				t.Fatalf("the key does not work: %d", st)
			}
		})
		t.Run("admin open311-key refuses an unknown division with exit 1", func(t *testing.T) {
			c, out, errs := cli(e)
			if code := issue.Run(c, []string{"--name", "x", "--division", "339999"}); code != 1 || out.Len() != 0 || !strings.Contains(errs.String(), "no such division code") {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errs.String())
			}
		})
	})
}
