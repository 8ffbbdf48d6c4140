package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// China keeps one time zone all year, so a fixed offset needs no tzdata.
var china = time.FixedZone("CST", 8*3600)

// Group writes a number with thousands separators, as zh-CN and en both do
// ("1,416,237", "12,345.6"). It takes any integer or float; other values are
// printed as they are.
func Group(v any) string {
	var s string
	switch x := v.(type) {
	case int:
		s = strconv.Itoa(x)
	case int32:
		s = strconv.FormatInt(int64(x), 10)
	case int64:
		s = strconv.FormatInt(x, 10)
	case uint64:
		s = strconv.FormatUint(x, 10)
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case *float64:
		if x == nil {
			return "—"
		}
		s = strconv.FormatFloat(*x, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, dot := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if dot {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

// instant reads a time from a time.Time, a type embedding one (db.Time) or
// an RFC 3339 / ISO date string; ok is false for anything else or zero.
func instant(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, !x.IsZero()
	case interface {
		In(*time.Location) time.Time
	}:
		t := x.In(time.UTC)
		return t, !t.IsZero()
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000000Z", "2006-01-02"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// FormatDate writes a day the way readers of each language expect:
// 2026年11月30日 in Chinese, 30 Nov 2026 in English, in China's time.
func FormatDate(v any, lang string) string {
	t, ok := instant(v)
	if !ok {
		return "—"
	}
	if s, isStr := v.(string); isStr && len(s) == 10 {
		t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, china) // a bare date has no zone to convert
	}
	t = t.In(china)
	if lang == "en" {
		return t.Format("2 Jan 2006")
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}

// FormatDateTime adds the time of day (24-hour) to FormatDate.
func FormatDateTime(v any, lang string) string {
	t, ok := instant(v)
	if !ok {
		return "—"
	}
	return FormatDate(t, lang) + " " + t.In(china).Format("15:04")
}

// Tone is the colour and shape of a status tag: never colour alone.
type Tone string

// The tones a status tag can take: ok ✓ green (已办结), warn ▲ amber (即将超时),
// bad ✕ red (超时), info ● blue (in progress), muted ○ grey (closed, draft).
const (
	ToneOK    Tone = "ok"
	ToneWarn  Tone = "warn"
	ToneBad   Tone = "bad"
	ToneInfo  Tone = "info"
	ToneMuted Tone = "muted"
)

// Tag is a status tag: {{template "tag" .}} renders its words in its tone.
type Tag struct {
	Tone  Tone
	Label Msg
}
