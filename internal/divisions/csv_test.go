package divisions

import (
	"bytes"
	"strings"
	"testing"
)

func TestEmbeddedDivisions(t *testing.T) {
	t.Parallel()
	ds, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 27036 {
		t.Fatalf("got %d divisions, want 27036", len(ds))
	}
	levels := map[int]int{}
	urban, rural := 0, 0
	for _, d := range ds {
		levels[d.Level]++
		switch d.UrbanRural {
		case Urban:
			urban++
		case Rural:
			rural++
		}
	}
	if levels[1] != 1 || levels[2] != 11 || levels[3] != 90 || levels[4] != 1387 || levels[5] != 25547 {
		t.Fatalf("levels %v", levels)
	}
	if urban+rural != 25547 || urban == 0 || rural == 0 {
		t.Fatalf("urban %d rural %d", urban, rural)
	}
}

func TestUrbanRuralAndCodes(t *testing.T) {
	t.Parallel()
	cases := map[string]string{"330106001001": Urban, "330106001201": Rural, "330106001401": Urban, "330106001501": Rural, "330106001": ""}
	for code, want := range cases {
		if got := UrbanRural(code); got != want {
			t.Errorf("UrbanRural(%s)=%q want %q", code, got, want)
		}
	}
	if got := strings.Join(Ancestors("330106001001"), ","); got != "33,3301,330106,330106001" {
		t.Errorf("ancestors %s", got)
	}
	for _, bad := range []string{"", "3", "330", "33010600100", "33a1", "3301060010011"} {
		if ValidCode(bad) {
			t.Errorf("ValidCode(%q) = true", bad)
		}
	}
}

func TestParseCSVReportsEveryBadRow(t *testing.T) {
	t.Parallel()
	in := "code,name,level,parent_code\n33,浙江省,1,\n3301,杭州市,2,33\n3302,,2,33\n330199,某区,2,3301\n3401,外省,2,34\n"
	_, err := ParseCSV(strings.NewReader(in))
	rs, ok := err.(RowErrors)
	if !ok || len(rs) != 3 {
		t.Fatalf("want 3 row errors, got %v", err)
	}
	if rs[0].Row != 4 || rs[0].Column != "name" || rs[1].Row != 5 || rs[1].Column != "level" || rs[2].Row != 6 || rs[2].Column != "parent_code" {
		t.Fatalf("unexpected report: %v", rs)
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("code,name,level,parent_code\n33,浙江省,1,\n3301,杭州市,2,33\n"))
	f.Add([]byte("code,name,level,parent_code\n33,\"a,b\",1,\n"))
	f.Add(embeddedCSV[:2000])
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := ParseCSV(bytes.NewReader(b))
		if err != nil {
			if ds != nil {
				t.Fatal("divisions returned with an error")
			}
			return
		}
		seen := map[string]bool{}
		for _, d := range ds {
			if !ValidCode(d.Code) || LevelOf(d.Code) != d.Level || seen[d.Code] {
				t.Fatalf("accepted bad division %+v", d)
			}
			if d.ParentCode != "" && !seen[d.ParentCode] {
				t.Fatalf("parent missing for %+v", d)
			}
			seen[d.Code] = true
		}
	})
}
