package config

import (
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestFromEnvReportsEachBadValue(t *testing.T) {
	env := map[string]string{"LINLI_SESSION_IDLE": "soon", "LINLI_SECURE_COOKIES": "perhaps", "LINLI_MAX_BODY": "big"}
	_, err := FromEnv(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("want error")
	}
	for _, name := range []string{"LINLI_SESSION_IDLE", "LINLI_SECURE_COOKIES", "LINLI_MAX_BODY"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestValidate(t *testing.T) {
	c := Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Addr = "nohost"
	c.LogLevel = "loud"
	c.SessionIdle = 24 * time.Hour
	err := c.Validate()
	for _, want := range []string{"addr", "log-level", "session-idle"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error naming %s, got %v", want, err)
		}
	}
}

func TestModuleSettings(t *testing.T) {
	even := Setting{Env: "LINLI_TEST_EVEN", Flag: "even", Default: "2", Check: func(v string, _ Values) error {
		if len(v)%2 != 0 {
			return errors.New("须为偶数个字符 / must have an even length")
		}
		return nil
	}}
	t.Run("a module setting starts at its default", func(t *testing.T) {
		c, err := FromEnv(func(string) string { return "" }, even)
		if err != nil || c.Modules.Get("LINLI_TEST_EVEN") != "2" {
			t.Fatalf("got %q, %v", c.Modules.Get("LINLI_TEST_EVEN"), err)
		}
	})
	t.Run("the variable sets it and a bad value is reported by name", func(t *testing.T) {
		c, err := FromEnv(func(k string) string { return map[string]string{"LINLI_TEST_EVEN": "odd"}[k] }, even)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "LINLI_TEST_EVEN") {
			t.Errorf("want an error naming LINLI_TEST_EVEN, got %v", err)
		}
	})
	t.Run("the flag wins over the variable", func(t *testing.T) {
		t.Setenv("LINLI_TEST_EVEN", "abc")
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		c, err := Load(fs, []string{"--even", "abcd"}, even)
		if err != nil || c.Modules.Get("LINLI_TEST_EVEN") != "abcd" {
			t.Fatalf("got %q, %v", c.Modules.Get("LINLI_TEST_EVEN"), err)
		}
	})
}

func FuzzConfigValues(f *testing.F) {
	for _, s := range []string{"30m", "12h", "1s", "-5m", "", "true", "127.0.0.1:0", ":8080", "postgres://x/y", "9999999999999h"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		env := map[string]string{"LINLI_SESSION_IDLE": a, "LINLI_ADDR": b, "LINLI_MAX_BODY": a, "LINLI_DATABASE_URL": b, "LINLI_TRUST_PROXY": a}
		c, err := FromEnv(func(k string) string { return env[k] })
		if err != nil {
			return
		}
		if c.Validate() == nil {
			if c.SessionIdle < time.Minute || c.SessionIdle > c.SessionMax || c.MaxBody < 1024 {
				t.Fatalf("accepted bad config %+v", c)
			}
		}
	})
}
