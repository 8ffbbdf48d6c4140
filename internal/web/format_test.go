package web

import (
	"testing"
	"time"
)

func TestNumbersAndDatesReadAsPeopleWriteThem(t *testing.T) {
	t.Run("numbers get thousands separators, decimals and signs kept", func(t *testing.T) {
		for in, want := range map[any]string{1416237: "1,416,237", 999: "999", int64(-1234567): "-1,234,567", 12345.25: "12,345.25", 0: "0", 1000.0: "1,000"} {
			if got := Group(in); got != want {
				t.Errorf("Group(%v) = %q, want %q", in, got, want)
			}
		}
		if got := Group((*float64)(nil)); got != "—" {
			t.Errorf("a missing value reads %q, want a dash", got)
		}
	})
	t.Run("a day is 2026年11月30日 in Chinese and 30 Nov 2026 in English, in China's time", func(t *testing.T) {
		late := time.Date(2026, 11, 29, 17, 30, 0, 0, time.UTC) // 01:30 on the 30th in Beijing
		if got := FormatDate(late, "zh"); got != "2026年11月30日" {
			t.Errorf("zh date %q", got)
		}
		if got := FormatDate(late, "en"); got != "30 Nov 2026" {
			t.Errorf("en date %q", got)
		}
		if got := FormatDateTime(late, "zh"); got != "2026年11月30日 01:30" {
			t.Errorf("zh date-time %q", got)
		}
		if got := FormatDate("2026-03-05", "zh"); got != "2026年3月5日" {
			t.Errorf("a bare date moves to %q", got)
		}
		if got := FormatDate(time.Time{}, "zh"); got != "—" {
			t.Errorf("no date reads %q", got)
		}
	})
}
