package web_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"linli/internal/web"
)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := web.SecurityHeaders(false, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Run("every answer forbids framing, sniffing and foreign scripts", func(t *testing.T) {
		w := call(h, "GET", "/")
		for name, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
			if got := w.Header().Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		csp := map[string]string{}
		for _, d := range strings.Split(w.Header().Get("Content-Security-Policy"), "; ") {
			k, v, _ := strings.Cut(d, " ")
			csp[k] = v
		}
		if csp["default-src"] != "'self'" || csp["script-src"] != "'self'" || csp["frame-ancestors"] != "'none'" || csp["object-src"] != "'none'" {
			t.Errorf("CSP %v", csp)
		}
		if w.Header().Get("Strict-Transport-Security") != "" {
			t.Error("HSTS sent over plain HTTP")
		}
	})
	t.Run("no answer is stored unless its handler says so", func(t *testing.T) {
		if got := call(h, "GET", "/").Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control %q", got)
		}
		cached := web.SecurityHeaders(false, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
		}))
		if got := call(cached, "GET", "/").Header().Get("Cache-Control"); got != "public, max-age=60" {
			t.Errorf("Cache-Control %q", got)
		}
	})
	t.Run("HTTPS is told by the connection, a trusted proxy or the operator", func(t *testing.T) {
		for _, k := range []struct {
			name                  string
			tls                   bool
			proto                 string
			alwaysTLS, trustProxy bool
			want                  bool
		}{
			{"plain HTTP", false, "", false, false, false},
			{"TLS here", true, "", false, false, true},
			{"TLS in front, says the operator", false, "", true, false, true},
			{"a trusted proxy says https", false, "HTTPS", false, true, true},
			{"a trusted proxy says http", false, "http", false, true, false},
			{"an untrusted header is ignored", false, "https", false, false, false},
		} {
			r := httptest.NewRequest("GET", "/", nil)
			if k.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if k.proto != "" {
				r.Header.Set("X-Forwarded-Proto", k.proto)
			}
			if got := web.HTTPS(r, k.alwaysTLS, k.trustProxy); got != k.want {
				t.Errorf("%s: %v, want %v", k.name, got, k.want)
			}
		}
	})
	t.Run("TLS answers ask browsers to stay on HTTPS", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/", nil)
		r.TLS = &tls.ConnectionState{}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("HSTS %q", got)
		}
	})
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:5555"
	r.Header.Set("X-Forwarded-For", " 203.0.113.9 , 10.0.0.1")
	if got := web.ClientIP(r, false); got != "10.1.2.3" {
		t.Errorf("untrusted proxy header used: %q", got)
	}
	if got := web.ClientIP(r, true); got != "203.0.113.9" {
		t.Errorf("trusted proxy: %q", got)
	}
	r.RemoteAddr = "pipe"
	r.Header.Del("X-Forwarded-For")
	if got := web.ClientIP(r, true); got != "pipe" {
		t.Errorf("address without port: %q", got)
	}
}

// logLine is one JSON log record of the request log.
type logLine struct {
	Msg    string `json:"msg"`
	Method string `json:"method"`
	Route  string `json:"route"`
	Status int    `json:"status"`
	Bytes  int    `json:"bytes"`
	Panic  string `json:"panic"`
}

func TestObserve(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	m := web.NewMetrics()
	m.Gauges = func() map[string]float64 { return map[string]float64{"linli_b": 2, "linli_a": 1} }
	rt := web.NewRouter()
	rt.Wrap = web.Instrument
	rt.Public("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		web.Logger(r.Context()).Info("inside")
		w.Write([]byte("hi " + r.PathValue("name")))
	})
	rt.Public("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("secret detail") })
	h := web.Observe(log, m, rt)

	if w := call(h, "GET", "/hello/wang?id_number=330106"); w.Code != 200 || w.Body.String() != "hi wang" {
		t.Fatalf("hello: %d %q", w.Code, w.Body.String())
	}
	call(h, "GET", "/hello/li")
	call(h, "GET", "/nowhere")
	t.Run("a panic is a 500 that reveals nothing", func(t *testing.T) {
		w := call(h, "GET", "/boom")
		if w.Code != 500 || strings.Contains(w.Body.String(), "secret") {
			t.Errorf("got %d %q", w.Code, w.Body.String())
		}
	})
	var lines []logLine
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	t.Run("each request is logged by route pattern, never its path or query", func(t *testing.T) {
		var got []logLine
		for _, l := range lines {
			if l.Msg == "http" {
				got = append(got, l)
			}
		}
		want := []logLine{
			{Msg: "http", Method: "GET", Route: "GET /hello/{name}", Status: 200, Bytes: 7},
			{Msg: "http", Method: "GET", Route: "GET /hello/{name}", Status: 200, Bytes: 5},
			{Msg: "http", Method: "GET", Route: "unmatched", Status: 404, Bytes: 19},
			{Msg: "http", Method: "GET", Route: "GET /boom", Status: 500},
		}
		if len(got) != len(want) {
			t.Fatalf("got %+v", got)
		}
		got[3].Bytes = 0 // the 500 text is the kit's own
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("line %d: %+v, want %+v", i, got[i], want[i])
			}
		}
	})
	t.Run("handlers log through the request's logger", func(t *testing.T) {
		if lines[0].Msg != "inside" {
			t.Errorf("first line %+v", lines[0])
		}
	})
	t.Run("the metrics count requests by route and status, with gauges", func(t *testing.T) {
		w := httptest.NewRecorder()
		m.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		samples := map[string]string{}
		var gauges []string
		for _, line := range strings.Split(strings.TrimSpace(w.Body.String()), "\n") {
			if strings.HasPrefix(line, "# TYPE linli_") && strings.HasSuffix(line, " gauge") {
				gauges = append(gauges, strings.Fields(line)[2])
			}
			if strings.HasPrefix(line, "#") {
				continue
			}
			i := strings.LastIndexByte(line, ' ')
			samples[line[:i]] = line[i+1:]
		}
		for series, want := range map[string]string{
			`linli_http_requests_total{route="GET /hello/{name}",code="200"}`:                    "2",
			`linli_http_requests_total{route="unmatched",code="404"}`:                            "1",
			`linli_http_requests_total{route="GET /boom",code="500"}`:                            "1",
			`linli_http_request_duration_seconds_bucket{route="GET /boom",code="500",le="+Inf"}`: "1",
			`linli_http_request_duration_seconds_count{route="GET /hello/{name}",code="200"}`:    "2",
			`linli_a`: "1", `linli_b`: "2",
		} {
			if got := samples[series]; got != want {
				t.Errorf("%s = %q, want %s", series, got, want)
			}
		}
		if !reflect.DeepEqual(gauges, []string{"linli_a", "linli_b"}) {
			t.Errorf("gauges %v, want sorted", gauges)
		}
	})
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for key, redacted := range map[string]bool{"password": true, "ID_Number": true, "phone": true, "token": true, "route": false, "status": false} {
		got := web.Redact(nil, slog.String(key, "330106199001011234"))
		if (got.Value.String() == "[redacted]") != redacted {
			t.Errorf("%s: %q", key, got.Value.String())
		}
	}
}

func TestAPIPanicIsAProblem(t *testing.T) {
	t.Parallel()
	rt := web.NewRouter()
	rt.API("GET /api/v1/boom", web.Op{Summary: "boom", Public: true}, func(http.ResponseWriter, *http.Request) error { panic("secret detail") })
	w := call(web.Observe(slog.New(slog.DiscardHandler), web.NewMetrics(), rt), "GET", "/api/v1/boom")
	if p := problemOf(t, w); w.Code != 500 || p.Status != 500 || strings.Contains(w.Body.String(), "secret") || p.DetailEN != "internal server error, please try again later" {
		t.Errorf("got %d %+v", w.Code, p)
	}
}

// TestAbortCutsTheAnswer: a handler that panics with http.ErrAbortHandler
// after its answer has begun gets the connection dropped, so that the
// client sees a broken download rather than a short one that looks whole.
func TestAbortCutsTheAnswer(t *testing.T) {
	t.Parallel()
	rt := web.NewRouter()
	rt.Public("GET /half", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("region,count\n"))
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	})
	srv := httptest.NewServer(web.Observe(slog.New(slog.DiscardHandler), web.NewMetrics(), rt))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/half")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("a cut answer read as whole: %q", body)
	}
}
