package config

import (
	"strings"
	"testing"
	"time"
)

func TestFromEnvReportsEachBadValue(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

func TestStatusThresholds(t *testing.T) {
	t.Parallel()
	env := map[string]string{"LINLI_STATUS_ON_TRACK": "0.8", "LINLI_STATUS_LAGGING": "0.5"}
	c, err := FromEnv(func(k string) string { return env[k] })
	if err != nil || c.Validate() != nil || c.StatusOnTrack != 0.8 || c.StatusLagging != 0.5 {
		t.Fatalf("%+v %v", c, err)
	}
	env["LINLI_STATUS_LAGGING"] = "0.9" // above on track
	c, _ = FromEnv(func(k string) string { return env[k] })
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "LINLI_STATUS_LAGGING") {
		t.Errorf("lagging above on track accepted: %v", err)
	}
	env["LINLI_STATUS_ON_TRACK"] = "most"
	if _, err := FromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "LINLI_STATUS_ON_TRACK") {
		t.Errorf("a word accepted: %v", err)
	}
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
