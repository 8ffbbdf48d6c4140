package divisions_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"linli/internal/divisions"
)

func TestDivisionPickerWalksDownAndSearchesWithinTheJurisdiction(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		read := func(form url.Values) divisions.Picker {
			t.Helper()
			pk, err := e.store.ReadPicker(as(countyOfficer), form, "division_code", county)
			if err != nil {
				t.Fatal(err)
			}
			return pk
		}
		t.Run("a first showing starts at the user's division and offers its townships", func(t *testing.T) {
			pk := read(nil)
			if pk.Root.Code != county || pk.Code() != county || pk.Pending() || len(pk.Levels) != 1 {
				t.Fatalf("root %s code %s pending %v levels %d", pk.Root.Code, pk.Code(), pk.Pending(), len(pk.Levels))
			}
			lv := pk.Levels[0]
			if lv.Name != "division_code_l4" || lv.LabelZH != "乡镇(街道)" || !containsCode(lv.Options, "330106002") {
				t.Fatalf("level %s %s, options %v", lv.Name, lv.LabelZH, codes(lv.Options))
			}
		})
		t.Run("next level shows the communities of the chosen township", func(t *testing.T) {
			pk := read(url.Values{"division_code_l4": {"330106002"}, "division_code_next": {"1"}})
			if pk.Action != divisions.PickerNext || pk.Code() != "330106002" || len(pk.Levels) != 2 {
				t.Fatalf("action %q code %s levels %d", pk.Action, pk.Code(), len(pk.Levels))
			}
			if pk.Levels[0].Selected != "330106002" || !containsCode(pk.Levels[1].Options, communityA) {
				t.Fatalf("selected %s, communities %v", pk.Levels[0].Selected, codes(pk.Levels[1].Options))
			}
		})
		t.Run("a community chosen is the answer when the form itself is sent", func(t *testing.T) {
			pk := read(url.Values{"division_code_l4": {"330106002"}, "division_code_l5": {communityA}})
			if pk.Pending() || pk.Code() != communityA || pk.Division().Level != 5 || pk.Error != "" {
				t.Fatalf("pending %v code %s error %q", pk.Pending(), pk.Code(), pk.Error)
			}
		})
		t.Run("a lower choice left over from another township is dropped", func(t *testing.T) {
			pk := read(url.Values{"division_code_l4": {"330106004"}, "division_code_l5": {communityA}, "division_code_next": {"1"}})
			if pk.Code() != "330106004" || pk.Levels[1].Selected != "" {
				t.Fatalf("code %s, community selected %q", pk.Code(), pk.Levels[1].Selected)
			}
		})
		t.Run("a search offers the matches inside the jurisdiction only", func(t *testing.T) {
			pk := read(url.Values{"division_code_q": {"上保"}, "division_code_find": {"1"}})
			if pk.Action != divisions.PickerFind || !pk.Searched || !slicesEqual(codes(pk.Matches), []string{communityA}) {
				t.Fatalf("action %q matches %v", pk.Action, codes(pk.Matches))
			}
			ning, err := e.store.ReadPicker(as(ningboOfficer), url.Values{"division_code_q": {"上保"}, "division_code_find": {"1"}}, "division_code", "")
			if err != nil || len(ning.Matches) != 0 {
				t.Fatalf("a 宁波 officer finds %v (%v)", codes(ning.Matches), err)
			}
		})
		t.Run("a match picked becomes the choice", func(t *testing.T) {
			pk := read(url.Values{"division_code_match": {communityA}, "division_code_next": {"1"}})
			if pk.Code() != communityA || len(pk.Levels) != 2 || pk.Levels[1].Selected != communityA {
				t.Fatalf("code %s levels %d", pk.Code(), len(pk.Levels))
			}
		})
		t.Run("a code outside the jurisdiction is refused and the root stays", func(t *testing.T) {
			for _, bad := range []string{ningboVil, "33x", "330106999999"} {
				pk := read(url.Values{"division_code": {bad}})
				if pk.Error == "" || pk.Code() != county {
					t.Errorf("%s: error %q code %s", bad, pk.Error, pk.Code())
				}
			}
		})
		t.Run("the fields render in the page's language, each with its label", func(t *testing.T) {
			pk := read(url.Values{"division_code_l4": {"330106002"}, "division_code_next": {"1"}})
			zh, en := string(pk.HTML("zh")), string(pk.HTML("en"))
			for _, want := range []string{`<select id="f-division_code_l4" name="division_code_l4">`, `<option value="330106002" selected>`, `name="division_code_next" value="1" formnovalidate>下一级`, `<input type="hidden" name="division_code" value="330106002">`} {
				if !strings.Contains(zh, want) {
					t.Errorf("zh misses %s", want)
				}
			}
			if !strings.Contains(en, "Next level") || strings.Contains(en, "下一级") {
				t.Error("English picker is not in English")
			}
			if n, m := strings.Count(zh, "<select"), len(regexp.MustCompile(`<label for="f-division_code_l\d">`).FindAllString(zh, -1)); n != 2 || m != 2 {
				t.Errorf("%d selects, %d labels", n, m)
			}
		})
	})
}

func TestSearchPageOpensTheDivisionChosenWithThePicker(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		s := e.site()
		t.Run("next level re-renders the page with the communities", func(t *testing.T) {
			w := s.get(countyOfficer, "/divisions?d_l4=330106002&d_next=1")
			if w.Code != 200 || !strings.Contains(w.Body.String(), `<option value="`+communityA+`">`) {
				t.Fatalf("got %d", w.Code)
			}
		})
		t.Run("open goes to the chosen division's page", func(t *testing.T) {
			w := s.get(countyOfficer, "/divisions?d_l4=330106002&d_l5="+communityA+"&open=1")
			if w.Code != 303 || w.Header().Get("Location") != "/divisions/"+communityA {
				t.Fatalf("got %d %q", w.Code, w.Header().Get("Location"))
			}
		})
		t.Run("a code outside the jurisdiction does not open", func(t *testing.T) {
			w := s.get(countyOfficer, "/divisions?d="+ningboVil+"&open=1")
			if w.Code != 200 || !strings.Contains(w.Body.String(), "所选区划不在您的辖区内") {
				t.Fatalf("got %d", w.Code)
			}
		})
	})
}

func containsCode(ds []divisions.Division, code string) bool {
	for _, d := range ds {
		if d.Code == code {
			return true
		}
	}
	return false
}

func slicesEqual(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }
