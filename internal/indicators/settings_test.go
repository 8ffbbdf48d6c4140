package indicators_test

import (
	"slices"
	"strings"
	"testing"

	"linli/internal/config"
	"linli/internal/indicators"
)

// The status thresholds are the module's settings, checked at start: each
// a fraction in (0, 1], the lagging one below the on-track one.
func TestStatusThresholdSettings(t *testing.T) {
	t.Parallel()
	settings := indicators.Module().Settings
	load := func(env map[string]string) (config.Config, []string) {
		c, err := config.FromEnv(func(k string) string { return env[k] }, settings...)
		if err != nil {
			t.Fatal(err)
		}
		return c, refused(c.Validate())
	}
	t.Run("defaults are 0.9 and 0.6", func(t *testing.T) {
		c, bad := load(nil)
		if len(bad) != 0 {
			t.Fatalf("refused %v", bad)
		}
		if on, lag := c.Modules.Float("LINLI_STATUS_ON_TRACK"), c.Modules.Float("LINLI_STATUS_LAGGING"); on != 0.9 || lag != 0.6 {
			t.Fatalf("on track %g, lagging %g", on, lag)
		}
	})
	t.Run("the dashboard page TTL defaults to 30s and takes 0", func(t *testing.T) {
		if c, bad := load(nil); len(bad) != 0 || c.Modules.Get("LINLI_INDICATORS_PAGE_TTL") != "30s" {
			t.Fatalf("default %q, refused %v", c.Modules.Get("LINLI_INDICATORS_PAGE_TTL"), bad)
		}
		if _, bad := load(map[string]string{"LINLI_INDICATORS_PAGE_TTL": "0"}); len(bad) != 0 {
			t.Fatalf("0 refused: %v", bad)
		}
	})
	t.Run("other fractions in order are taken", func(t *testing.T) {
		c, bad := load(map[string]string{"LINLI_STATUS_ON_TRACK": "1", "LINLI_STATUS_LAGGING": " 0.5 "})
		if len(bad) != 0 {
			t.Fatalf("refused %v", bad)
		}
		if on, lag := c.Modules.Float("LINLI_STATUS_ON_TRACK"), c.Modules.Float("LINLI_STATUS_LAGGING"); on != 1 || lag != 0.5 {
			t.Fatalf("on track %g, lagging %g", on, lag)
		}
	})
	for _, c := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"on track above 1", map[string]string{"LINLI_STATUS_ON_TRACK": "1.2"}, []string{"LINLI_STATUS_ON_TRACK"}},
		{"on track not a number", map[string]string{"LINLI_STATUS_ON_TRACK": "ninety"}, []string{"LINLI_STATUS_ON_TRACK"}},
		{"lagging zero", map[string]string{"LINLI_STATUS_LAGGING": "0"}, []string{"LINLI_STATUS_LAGGING"}},
		{"lagging negative", map[string]string{"LINLI_STATUS_LAGGING": "-0.1"}, []string{"LINLI_STATUS_LAGGING"}},
		{"lagging above on track", map[string]string{"LINLI_STATUS_LAGGING": "0.95"}, []string{"LINLI_STATUS_LAGGING"}},
		{"lagging equal to on track", map[string]string{"LINLI_STATUS_ON_TRACK": "0.7", "LINLI_STATUS_LAGGING": "0.7"}, []string{"LINLI_STATUS_LAGGING"}},
		{"both out of range", map[string]string{"LINLI_STATUS_ON_TRACK": "2", "LINLI_STATUS_LAGGING": "3"}, []string{"LINLI_STATUS_LAGGING", "LINLI_STATUS_ON_TRACK"}},
		{"a negative page TTL", map[string]string{"LINLI_INDICATORS_PAGE_TTL": "-1s"}, []string{"LINLI_INDICATORS_PAGE_TTL"}},
		{"a page TTL without unit", map[string]string{"LINLI_INDICATORS_PAGE_TTL": "30"}, []string{"LINLI_INDICATORS_PAGE_TTL"}},
	} {
		t.Run(c.name+" is refused by name", func(t *testing.T) {
			if _, bad := load(c.env); !slices.Equal(bad, c.want) {
				t.Fatalf("refused %v, want %v", bad, c.want)
			}
		})
	}
}

// refused names the settings a validation error refuses, sorted.
func refused(err error) []string {
	if err == nil {
		return nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var names []string
	for _, e := range errs {
		name, _, ok := strings.Cut(e.Error(), ":")
		if !ok {
			name = e.Error()
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
