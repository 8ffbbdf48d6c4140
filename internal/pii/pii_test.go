package pii_test

import (
	"slices"
	"strings"
	"testing"

	"linli/internal/pii"
)

// idOf completes 17 digits with their check character.
func idOf(first17 string) string { return first17 + string(pii.CheckDigit(first17)) }

func TestCheckDigitFollowsGB11643(t *testing.T) {
	t.Parallel()
	// The standard's own example and two numbers checked by hand.
	for first17, want := range map[string]byte{"11010519491231002": 'X', "33010619480314917": '4', "44052418800101001": '4'} {
		if got := pii.CheckDigit(first17); got != want {
			t.Errorf("CheckDigit(%s) = %c, want %c", first17, got, want)
		}
	}
}

func TestFindsPersonalDataInFreeText(t *testing.T) {
	t.Parallel()
	id := idOf("33010619480314917")
	for _, c := range []struct {
		name string
		text string
		want []pii.Kind
	}{
		{"an ID number between Chinese words", "我的身份证号" + id + "，请核实", []pii.Kind{pii.IDNumber}},
		{"an ID number ending in x", "证件 " + strings.ToLower(idOf("11010519491231002")) + " 已遗失", []pii.Kind{pii.IDNumber}},
		{"an ID number in full-width digits", "证件" + fullWidth(id), []pii.Kind{pii.IDNumber}},
		{"an ID number grouped 6-8-4", "证件 " + id[:6] + " " + id[6:14] + " " + id[14:], []pii.Kind{pii.IDNumber}},
		{"a mobile number", "电话13812345678", []pii.Kind{pii.Mobile}},
		{"a mobile number grouped 3-4-4 with +86", "call +86 138-1234-5678 now", []pii.Kind{pii.Mobile}},
		{"a mobile number in full-width digits", "手机１３９００００１１１１", []pii.Kind{pii.Mobile}},
		{"an e-mail address", "mail wang.xm+home@example.com.cn please", []pii.Kind{pii.Email}},
		{"an address made of a mobile number", "邮箱13812345678@qq.com", []pii.Kind{pii.Email}},
		{"all three", "王先生 13812345678 " + id + " w@example.cn", []pii.Kind{pii.Mobile, pii.IDNumber, pii.Email}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := kinds(pii.Find(c.text)); !slices.Equal(got, c.want) {
				t.Fatalf("Find(%q) = %v, want %v", c.text, got, c.want)
			}
		})
	}
}

func TestLeavesOrdinaryNumbersAlone(t *testing.T) {
	t.Parallel()
	id := idOf("33010619480314917")
	wrong := id[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", id[17])+1)%11])
	for name, text := range map[string]string{
		"an ID number with a wrong check character": "编号 " + wrong,
		"18 digits without a real birth date":       "订单 " + idOf("33010619481314917"),
		"an ID-shaped run inside a longer number":   "流水号 9" + id + "1",
		"a mobile number inside a longer number":    "户号 513812345678",
		"a mobile prefix that does not exist":       "编号 12812345678",
		"a landline":                                "电话 0571-87654321",
		"a date and a time":                         "2026-11-29 08:00，12 幢 302 室",
		"text already masked":                       "3301************12、138****5678、w***@example.cn",
		"an at sign without a domain":               "@居委会 请处理",
	} {
		t.Run(name, func(t *testing.T) {
			if ms := pii.Find(text); len(ms) != 0 {
				t.Fatalf("Find(%q) = %+v, want nothing", text, ms)
			}
		})
	}
}

func TestMaskLeavesTooLittleToRebuild(t *testing.T) {
	t.Parallel()
	id := idOf("33010619480314917")
	text := "王先生（身份证 " + id + "，电话 +86 138-1234-5678，邮箱 wang.xm@example.cn）反映：楼道堆物。"
	got, found := pii.Mask(text)
	want := "王先生（身份证 3301************" + id[16:] + "，电话 138****5678，邮箱 w***@example.cn）反映：楼道堆物。"
	t.Run("every finding is masked and the rest is kept", func(t *testing.T) {
		if got != want {
			t.Fatalf("Mask:\n got %s\nwant %s", got, want)
		}
		if !slices.Equal(found, []pii.Kind{pii.IDNumber, pii.Mobile, pii.Email}) {
			t.Fatalf("found %v", found)
		}
	})
	t.Run("the masked ID keeps no birth-date digit", func(t *testing.T) {
		if strings.Contains(got, id[6:14]) || strings.Contains(got, id[10:14]) {
			t.Fatalf("birth date left in %s", got)
		}
	})
	t.Run("masking is idempotent: the masked text holds nothing to find", func(t *testing.T) {
		if again, more := pii.Mask(got); again != got || len(more) != 0 {
			t.Fatalf("second mask: %q %v", again, more)
		}
	})
	t.Run("a number hidden in an address is masked too", func(t *testing.T) {
		if got, _ := pii.Mask("x@13812345678.cn"); got != "x***@138****5678.cn" {
			t.Fatalf("Mask: %q", got)
		}
	})
	t.Run("text without personal data comes back unchanged", func(t *testing.T) {
		if plain, none := pii.Mask("路灯不亮，已三天。"); plain != "路灯不亮，已三天。" || none != nil {
			t.Fatalf("Mask: %q %v", plain, none)
		}
	})
}

func kinds(ms []pii.Match) []pii.Kind {
	var out []pii.Kind
	for _, m := range ms {
		out = append(out, m.Kind)
	}
	return out
}

// fullWidth writes ASCII digits as full-width ones (０–９), as Chinese
// input methods often do.
func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r - '0' + '０'
		}
		return r
	}, s)
}

// FuzzMask feeds arbitrary text to the detector: it never panics, its spans
// are in order inside the text, and what it masks holds nothing more to find.
func FuzzMask(f *testing.F) {
	for _, s := range []string{"电话13812345678", "证件 11010519491231002X", "a@b.cn", "＋86 １３８-1234-5678", "\xff\xfe1381234567", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		last := 0
		for _, m := range pii.Find(text) {
			if m.Start < last || m.End <= m.Start || m.End > len(text) {
				t.Fatalf("span %+v after %d in %q", m, last, text)
			}
			last = m.End
		}
		masked, _ := pii.Mask(text)
		if again, more := pii.Mask(masked); again != masked || len(more) != 0 {
			t.Fatalf("Mask(%q) = %q, which still holds %v", text, masked, more)
		}
	})
}
