package idno

import (
	"testing"
	"time"
)

var now = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	t.Parallel()
	// 11010519491231002X is the GB 11643 standard's worked example.
	info, err := Parse("11010519491231002x", now)
	if err != nil {
		t.Fatal(err)
	}
	if info.Number != "11010519491231002X" || info.Gender != "F" || info.Birth.Format("2006-01-02") != "1949-12-31" || info.Region != "110105" {
		t.Fatalf("%+v", info)
	}
	bad := map[string]string{
		"110105194912310021":  "校验位",
		"11010519491331002X":  "出生日期",
		"11010520991231002X":  "出生日期",
		"1101051949123100":    "18 位",
		"1101051949123100AX":  "数字",
		"11010519490230002X":  "出生日期",
		"00010519491231002X":  "地址码",
		"11010519491231002Y ": "末位",
	}
	for in, want := range bad {
		_, err := Parse(in, now)
		e, ok := err.(*Error)
		if !ok || !contains(e.ZH, want) || e.EN == "" {
			t.Errorf("%s: %v (want %q)", in, err, want)
		}
	}
}

func TestSyntheticIsValid(t *testing.T) {
	t.Parallel()
	for seq := 0; seq < 1000; seq += 37 {
		b := time.Date(1950+seq%70, time.Month(1+seq%12), 1+seq%28, 0, 0, 0, 0, time.UTC)
		id := Synthetic("330106", b, seq)
		info, err := Parse(id, now)
		if err != nil || !info.Birth.Equal(b) {
			t.Fatalf("%s: %v", id, err)
		}
		if want := map[bool]string{true: "M", false: "F"}[seq%2 == 1]; info.Gender != want {
			t.Fatalf("%s gender %s", id, info.Gender)
		}
	}
}

func TestMasks(t *testing.T) {
	t.Parallel()
	if m := Mask("330106199001011234"); m != "3301**********34" {
		t.Fatal(m)
	}
	if m := MaskPhone("13812345678"); m != "138****5678" {
		t.Fatal(m)
	}
	if p, err := NormalisePhone("+86 138-1234-5678"); err != nil || p != "13812345678" {
		t.Fatal(p, err)
	}
	if _, err := NormalisePhone("12012345678"); err == nil {
		t.Fatal("mobile with second digit 2 accepted")
	}
	if a := Age(time.Date(1946, 12, 1, 0, 0, 0, 0, time.UTC), now); a != 79 {
		t.Fatal(a)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "330106199001011234", "", "33010619900230123X", "xxxxxxxxxxxxxxxxxx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		info, err := Parse(s, now)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		// Whatever is accepted is 18 characters, re-validates, and has a
		// check character that matches.
		if len(info.Number) != 18 || CheckDigit(info.Number) != info.Number[17] {
			t.Fatalf("accepted %q", s)
		}
		if _, err := Parse(info.Number, now); err != nil {
			t.Fatalf("normalised %q rejected: %v", info.Number, err)
		}
		if m := Mask(info.Number); m != info.Number[:4]+"**********"+info.Number[16:] {
			t.Fatalf("mask %q", m)
		}
	})
}
