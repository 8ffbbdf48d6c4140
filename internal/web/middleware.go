package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
)

// HTTPS tells whether r reached us over TLS: here, at a proxy in front that
// we trust to say so (X-Forwarded-Proto), or always, when the operator says
// TLS ends in front of us (secure cookies).
func HTTPS(r *http.Request, alwaysTLS, trustProxy bool) bool {
	return r.TLS != nil || alwaysTLS || (trustProxy && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

// SecurityHeaders sets a strict content security policy and friends: the
// binary serves every asset itself, so nothing else is allowed. No answer
// is stored by a browser or proxy (most carry personal data) unless its
// handler says otherwise, as the hashed assets do; HSTS goes with every
// answer that came over TLS (see HTTPS).
func SecurityHeaders(alwaysTLS, trustProxy bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
		if HTTPS(r, alwaysTLS, trustProxy) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(c int) {
	if s.status == 0 {
		s.status = c
	}
	s.ResponseWriter.WriteHeader(c)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = 200
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

type routeKey struct{}

// route carries the matched pattern out of the mux to the outer middleware.
type routeSlot struct{ pattern string }

// Instrument is the Router.Wrap that records each request's route pattern.
func Instrument(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := r.Context().Value(routeKey{}).(*routeSlot); ok {
			s.pattern = pattern
		}
		h.ServeHTTP(w, r)
	})
}

// ClientIP is the peer address of r (the platform runs behind no proxy by
// default; a deployment behind one sets LINLI_TRUST_PROXY).
func ClientIP(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if f := r.Header.Get("X-Forwarded-For"); f != "" {
			ip, _, _ := strings.Cut(f, ",")
			return strings.TrimSpace(ip)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Observe logs each request (route pattern, never the raw query, which may
// hold a name being searched), counts it for /metrics and turns a panic into
// a 500 that reveals nothing.
func Observe(log *slog.Logger, m *Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		slot := &routeSlot{}
		r = r.WithContext(context.WithValue(context.WithValue(r.Context(), routeKey{}, slot), loggerKey{}, log))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					// A handler cut an answer already begun: the server drops the connection.
					m.observe(slot.pattern, 500, time.Since(start))
					panic(p)
				}
				log.Error("panic", "route", slot.pattern, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				switch {
				case sw.status != 0:
				case strings.HasPrefix(r.URL.Path, apiRoot):
					WriteProblem(sw, r, errors.New("panic"))
				default:
					InternalError(sw, r)
				}
			}
			if sw.status == 0 {
				sw.status = 200
			}
			d := time.Since(start)
			pattern := slot.pattern
			if pattern == "" {
				pattern = "unmatched"
			}
			m.observe(pattern, sw.status, d)
			log.LogAttrs(r.Context(), slog.LevelInfo, "http", slog.String("method", r.Method), slog.String("route", pattern),
				slog.Int("status", sw.status), slog.Int("bytes", sw.bytes), slog.Duration("dur", d))
		}()
		next.ServeHTTP(sw, r)
	})
}

// Metrics keeps request counts and latency histograms by route, exposed in
// the Prometheus text format.
type Metrics struct {
	mu     sync.Mutex
	series map[seriesKey]*series
	Gauges func() map[string]float64 // extra gauges read at scrape time
}

type seriesKey struct {
	route string
	code  int
}

type series struct {
	count   uint64
	sum     float64
	buckets []uint64
}

var bucketBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics { return &Metrics{series: map[seriesKey]*series{}} }

func (m *Metrics) observe(route string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := seriesKey{route, code}
	s := m.series[k]
	if s == nil {
		s = &series{buckets: make([]uint64, len(bucketBounds))}
		m.series[k] = s
	}
	sec := d.Seconds()
	s.count++
	s.sum += sec
	for i, b := range bucketBounds {
		if sec <= b {
			s.buckets[i]++
		}
	}
}

// ServeHTTP writes the Prometheus exposition.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m.mu.Lock()
	keys := make([]seriesKey, 0, len(m.series))
	for k := range m.series {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].route != keys[j].route {
			return keys[i].route < keys[j].route
		}
		return keys[i].code < keys[j].code
	})
	var b strings.Builder
	b.WriteString("# HELP linli_http_requests_total HTTP requests by route and status code.\n# TYPE linli_http_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "linli_http_requests_total{route=%q,code=\"%d\"} %d\n", k.route, k.code, m.series[k].count)
	}
	b.WriteString("# HELP linli_http_request_duration_seconds HTTP request latency by route.\n# TYPE linli_http_request_duration_seconds histogram\n")
	for _, k := range keys {
		s := m.series[k]
		for i, bound := range bucketBounds {
			fmt.Fprintf(&b, "linli_http_request_duration_seconds_bucket{route=%q,code=\"%d\",le=\"%g\"} %d\n", k.route, k.code, bound, s.buckets[i])
		}
		fmt.Fprintf(&b, "linli_http_request_duration_seconds_bucket{route=%q,code=\"%d\",le=\"+Inf\"} %d\n", k.route, k.code, s.count)
		fmt.Fprintf(&b, "linli_http_request_duration_seconds_sum{route=%q,code=\"%d\"} %g\n", k.route, k.code, s.sum)
		fmt.Fprintf(&b, "linli_http_request_duration_seconds_count{route=%q,code=\"%d\"} %d\n", k.route, k.code, s.count)
	}
	m.mu.Unlock()
	if m.Gauges != nil {
		g := m.Gauges()
		names := make([]string, 0, len(g))
		for n := range g {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "# TYPE %s gauge\n%s %g\n", n, n, g[n])
		}
	}
	w.Write([]byte(b.String()))
}

// Redact is a slog ReplaceAttr that blanks attributes that may carry
// personal data or secrets, whatever the call site logged.
func Redact(groups []string, a slog.Attr) slog.Attr {
	switch strings.ToLower(a.Key) {
	case "password", "new_password", "token", "secret", "id_number", "idcard", "phone", "mobile", "totp", "code", "cookie", "authorization", "name", "address", "income", "health":
		return slog.String(a.Key, "[redacted]")
	}
	return a
}
