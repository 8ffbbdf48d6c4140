package divisions_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/divisions"
	"linli/internal/web"
)

// site mounts the divisions routes; each request runs as the principal
// given.
type site struct {
	t  *testing.T
	rt *web.Router
}

func (e *env) site() *site {
	rt := web.NewRouter()
	(&divisions.Handlers{Store: e.store, Audit: e.log, Pages: divisions.ParsePages(web.NewRenderer())}).Register(rt)
	return &site{t: e.t, rt: rt}
}

func (s *site) do(p *access.Principal, r *http.Request) *httptest.ResponseRecorder {
	if p != nil {
		r = r.WithContext(access.With(r.Context(), p))
	}
	w := httptest.NewRecorder()
	s.rt.ServeHTTP(w, r)
	return w
}

func (s *site) get(p *access.Principal, target string) *httptest.ResponseRecorder {
	return s.do(p, httptest.NewRequest("GET", target, nil))
}

func (s *site) post(p *access.Principal, target string, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.do(p, r)
}

func (s *site) upload(p *access.Principal, csv string, apply bool) *httptest.ResponseRecorder {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile("file", "units.csv")
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := fw.Write([]byte(csv)); err != nil {
		s.t.Fatal(err)
	}
	if apply {
		if err := mw.WriteField("apply", "1"); err != nil {
			s.t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		s.t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/unit-data/import", &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return s.do(p, r)
}

// alert is the text of the page's alert, "" when there is none.
func alert(w *httptest.ResponseRecorder) string {
	m := regexp.MustCompile(`role="alert">([^<]*)</p>`).FindStringSubmatch(w.Body.String())
	if m == nil {
		return ""
	}
	return m[1]
}

func english(r *http.Request) *http.Request {
	r.AddCookie(&http.Cookie{Name: "lang", Value: "en"})
	return r
}

func TestUnitPages(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		s := e.site()
		t.Run("a unit page opens for anyone signed in", func(t *testing.T) {
			for _, p := range []*access.Principal{countyOfficer, workerA, ningboOfficer} {
				if w := s.get(p, "/divisions/"+communityA); w.Code != 200 {
					t.Errorf("%s: %d", p.Username, w.Code)
				}
			}
		})
		for _, k := range []struct {
			name, target string
			status       int
		}{
			{"an unknown unit", "/divisions/330106999999", 404},
			{"a malformed code", "/divisions/33x1", 400},
			{"a bad page number", "/divisions/" + county + "?page=0", 400},
			{"a bad page number in the search", "/divisions?q=西湖&page=-1", 400},
		} {
			t.Run(k.name+" is refused", func(t *testing.T) {
				if w := s.get(countyOfficer, k.target); w.Code != k.status {
					t.Errorf("got %d, want %d", w.Code, k.status)
				}
			})
		}
		t.Run("the search page lists matches", func(t *testing.T) {
			w := s.get(countyOfficer, "/divisions?q="+url.QueryEscape("上保社区"))
			if w.Code != 200 || !regexp.MustCompile(`href="/divisions/`+communityA+`"`).MatchString(w.Body.String()) {
				t.Errorf("got %d", w.Code)
			}
		})
		rows := func() int { return e.count(`SELECT COUNT(*) FROM unit_attributes`) }
		t.Run("an officer saves attributes and is sent back", func(t *testing.T) {
			w := s.post(countyOfficer, "/divisions/"+communityA+"/attributes", url.Values{"year": {"2025"}, "attr_population": {"5000"}, "attr_households": {""}})
			if w.Code != 303 || w.Header().Get("Location") != "/divisions/"+communityA+"?year=2025&saved=1" || rows() != 1 {
				t.Fatalf("got %d %q, %d rows", w.Code, w.Header().Get("Location"), rows())
			}
		})
		for _, k := range []struct {
			name   string
			p      *access.Principal
			code   string
			form   url.Values
			status int
			alert  string
		}{
			{"a value that is not a number", countyOfficer, communityA, url.Values{"year": {"2025"}, "attr_population": {"many"}}, 400, "not a number: many"},
			{"a year that is not a number", countyOfficer, communityA, url.Values{"year": {"next"}, "attr_population": {"1"}}, 400, "year must be a whole number"},
			{"an unknown attribute", countyOfficer, communityA, url.Values{"year": {"2025"}, "attr_colour": {"1"}}, 400, "unknown attribute: colour"},
			{"a worker's write", workerA, communityA, url.Values{"year": {"2025"}, "attr_population": {"1"}}, 403, "only officers of an enclosing division may change unit data"},
			{"a write outside the jurisdiction", ningboOfficer, communityA, url.Values{"year": {"2025"}, "attr_population": {"1"}}, 404, "division " + communityA + " not found or outside your jurisdiction"},
		} {
			t.Run(k.name+" is refused and writes nothing", func(t *testing.T) {
				r := httptest.NewRequest("POST", "/divisions/"+k.code+"/attributes", strings.NewReader(k.form.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				w := s.do(k.p, english(r))
				if w.Code != k.status || alert(w) != k.alert {
					t.Errorf("got %d %q", w.Code, alert(w))
				}
				if v := e.count(`SELECT CAST(value AS INTEGER) FROM unit_attributes WHERE division_code = $1 AND kind = 'population'`, communityA); v != 5000 || rows() != 1 {
					t.Errorf("value changed to %d", v)
				}
			})
		}
		t.Run("a designation is awarded, and withdrawn only when confirmed", func(t *testing.T) {
			w := s.post(countyOfficer, "/divisions/"+communityA+"/designations", url.Values{"kind": {"future_community"}, "year": {"2024"}})
			if w.Code != 303 || e.count(`SELECT COUNT(*) FROM unit_designations WHERE withdrawn_year IS NULL`) != 1 {
				t.Fatalf("award: %d", w.Code)
			}
			if w := s.post(countyOfficer, "/divisions/"+communityA+"/designations/future_community/delete", url.Values{}); w.Code != 400 {
				t.Fatalf("unconfirmed: %d", w.Code)
			}
			if e.count(`SELECT COUNT(*) FROM unit_designations WHERE withdrawn_year IS NULL`) != 1 {
				t.Fatal("withdrawn without confirmation")
			}
			w = s.post(countyOfficer, "/divisions/"+communityA+"/designations/future_community/delete", url.Values{"confirm": {"yes"}})
			if w.Code != 303 || e.count(`SELECT COUNT(*) FROM unit_designations WHERE withdrawn_year IS NULL`) != 0 {
				t.Fatalf("confirmed: %d", w.Code)
			}
			if w := s.post(countyOfficer, "/divisions/"+communityA+"/designations/future_community/delete", url.Values{"confirm": {"yes"}}); w.Code != 404 {
				t.Fatalf("withdrawn twice: %d", w.Code)
			}
		})
	})
}

func TestImportPage(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		s := e.site()
		good := "division_code,year,attribute,value\n" + communityA + ",2025,population,4100\n"
		rows := func() int { return e.count(`SELECT COUNT(*) FROM unit_attributes`) }
		t.Run("the form opens", func(t *testing.T) {
			if w := s.get(countyOfficer, "/unit-data/import"); w.Code != 200 {
				t.Fatalf("got %d", w.Code)
			}
		})
		t.Run("a file with errors is shown and nothing imported", func(t *testing.T) {
			if w := s.upload(countyOfficer, strings.Replace(good, "4100", "abc", 1), true); w.Code != 422 || rows() != 0 {
				t.Fatalf("got %d, %d rows", w.Code, rows())
			}
		})
		t.Run("a check writes nothing", func(t *testing.T) {
			if w := s.upload(countyOfficer, good, false); w.Code != 200 || rows() != 0 {
				t.Fatalf("got %d, %d rows", w.Code, rows())
			}
		})
		t.Run("a worker may check but not import", func(t *testing.T) {
			if w := s.upload(workerA, good, false); w.Code != 200 {
				t.Fatalf("check: %d", w.Code)
			}
			if w := s.upload(workerA, good, true); w.Code != 403 || rows() != 0 {
				t.Fatalf("import: %d, %d rows", w.Code, rows())
			}
		})
		t.Run("an officer imports", func(t *testing.T) {
			if w := s.upload(countyOfficer, good, true); w.Code != 200 || rows() != 1 {
				t.Fatalf("got %d, %d rows", w.Code, rows())
			}
		})
		t.Run("a post without a file is refused", func(t *testing.T) {
			if w := s.post(countyOfficer, "/unit-data/import", url.Values{"apply": {"1"}}); w.Code != 400 {
				t.Fatalf("got %d", w.Code)
			}
		})
	})
}
