package indicators

import "testing"

// The status follows the configured thresholds: progress ÷ expected
// progress against OnTrack and Lagging.
func TestStatusThresholds(t *testing.T) {
	t.Parallel()
	in := Indicator{ID: "X", TargetYear: 2025, Direction: "higher"}
	base, target := 0.0, 100.0
	status := func(th Thresholds, value float64) string {
		e := &Engine{Thresholds: th}
		v := Value{Value: &value}
		e.Assess(in, &v, &target, &base, 2025) // expected progress 1
		return v.Status
	}
	for _, c := range []struct {
		th    Thresholds
		value float64
		want  string
	}{
		{Thresholds{}, 95, "on_track"}, // defaults 0.9 / 0.6
		{Thresholds{}, 70, "lagging"},
		{Thresholds{}, 50, "seriously_lagging"},
		{Thresholds{}, 100, "met"},
		{Thresholds{OnTrack: 0.8, Lagging: 0.5}, 85, "on_track"},
		{Thresholds{OnTrack: 0.8, Lagging: 0.5}, 55, "lagging"},
		{Thresholds{OnTrack: 0.8, Lagging: 0.5}, 45, "seriously_lagging"},
	} {
		if got := status(c.th, c.value); got != c.want {
			t.Errorf("%+v value %g: %s, want %s", c.th, c.value, got, c.want)
		}
	}
}
