package indicators_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/auth"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/indicators"
	"linli/internal/module"
)

// legacySources is the freshness check as it was before the sources kept
// change counters: eighteen aggregates over the source tables, in one
// statement. The benchmark runs it beside today's check as the "before".
var legacySources = []string{
	`SELECT COUNT(*) FROM divisions_tree`,
	`SELECT COUNT(*) FROM divisions_attributes`, `SELECT MAX(updated_at) FROM divisions_attributes`,
	`SELECT COUNT(*) FROM divisions_designations`, `SELECT MAX(updated_at) FROM divisions_designations`,
	`SELECT COUNT(*) FROM registry_facilities`, `SELECT MAX(updated_at) FROM registry_facilities`,
	`SELECT COUNT(*) FROM registry_personnel_versions`, `SELECT COUNT(valid_to) FROM registry_personnel_versions`,
	`SELECT COUNT(*) FROM registry_organization_versions`, `SELECT COUNT(valid_to) FROM registry_organization_versions`,
	`SELECT COUNT(*) FROM registry_tag_counts`, `SELECT SUM(n * (CAST(division_code AS BIGINT) % 9973 + 1)) FROM registry_tag_counts`,
	`SELECT COUNT(*) FROM registry_resident_tags`, `SELECT MAX(created_at) FROM registry_resident_tags`,
	`SELECT COUNT(*) FROM ind_reported`, `SELECT MAX(entered_at) FROM ind_reported`, `SELECT SUM(value) FROM ind_reported`,
}

// BenchmarkUncachedIndicators prints, per store, at the registry demo's
// county scale (西湖区 ≈ 1.2 M residents; LINLI_BENCH_SCALE=0.1 for a
// quicker run), in one run over the same data: the freshness check of the
// precomputed values before (eighteen aggregates) and now, the county
// officer's uncached dashboard computations (the indicators and the
// children ranked by lagging indicators, as the API computes them for every
// call), and a peer — one plain GROUP BY over the resident tags, the
// largest table the check used to read. Run:
//
//	go test ./internal/indicators/ -run '^$' -bench UncachedIndicators -benchtime 1x
//	(LINLI_TEST_POSTGRES_URL adds PostgreSQL)
func BenchmarkUncachedIndicators(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchUncached(b, dialect)
			}
		})
	}
}

func benchUncached(b *testing.B, dialect db.Dialect) {
	ctx := context.Background()
	d := dbtest.Open(b, dialect, nil)
	a := apptest.Open(b, d, time.Now)
	scale := os.Getenv("LINLI_BENCH_SCALE")
	if scale == "" {
		scale = "county"
	}
	t0 := time.Now()
	if _, err := a.SeedDemo(ctx, app.DemoOptions{Scale: scale, Year: time.Now().Year()}); err != nil {
		b.Fatal(err)
	}
	var residents, tags int
	if err := d.R.QueryRow(`SELECT (SELECT COUNT(*) FROM reg_residents), (SELECT COUNT(*) FROM reg_resident_tags)`).Scan(&residents, &tags); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("[%s] demo: %d residents, %d tags seeded in %.0fs\n", dialect, residents, tags, time.Since(t0).Seconds())
	op := access.With(ctx, &access.Principal{Username: "bench", Role: access.Officer, Division: "33"})
	store := indicators.StoreOf(a.Module("indicators"))
	year := time.Now().Year()
	if _, err := store.RecomputeAll(op, year); err != nil {
		b.Fatal(err)
	}
	timed := func(fn func()) time.Duration {
		t := time.Now()
		fn()
		return time.Since(t)
	}
	quantiles := func(n int, fn func()) (med, p95 time.Duration) {
		ds := make([]time.Duration, n)
		for i := range ds {
			ds[i] = timed(fn)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[n/2], ds[(n*95+99)/100-1]
	}
	scanAll := func(q string) {
		rows, err := d.R.Query(q)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		if err := rows.Close(); err != nil {
			b.Fatal(err)
		}
	}
	peer := func() { scanAll(`SELECT division_code, COUNT(*) FROM reg_resident_tags GROUP BY division_code`) }
	legacy := func() { scanAll("SELECT (" + strings.Join(legacySources, "), (") + ")") }
	now := func() {
		st, err := store.RecomputeIfStale(op, year) // a fresh year: the check and one look-up
		if err != nil || !st.Skipped {
			b.Fatalf("the year is not fresh: %v %+v", err, st)
		}
	}
	peer()
	legacy()
	now()
	const n = 15
	// Interleaved so that the machine's load falls on all three alike.
	var ps, ls, ns []time.Duration
	for i := 0; i < n; i++ {
		ps = append(ps, timed(peer))
		ls = append(ls, timed(legacy))
		ns = append(ns, timed(now))
	}
	med := func(xs []time.Duration) time.Duration {
		sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
		return xs[len(xs)/2]
	}
	mp, ml, mn := med(ps), med(ls), med(ns)
	fmt.Printf("[%s] peer SELECT division_code, COUNT(*) FROM reg_resident_tags GROUP BY division_code: median %.2f ms of %d\n", dialect, indMS(mp), n)
	fmt.Printf("[%s] freshness check before (18 aggregates): median %.2f ms = %.2f× the peer\n", dialect, indMS(ml), float64(ml)/float64(mp))
	fmt.Printf("[%s] freshness check now (check + run look-up): median %.2f ms = %.3f× the peer (%.0f× faster than before)\n", dialect, indMS(mn), float64(mn)/float64(mp), float64(ml)/float64(mn))

	// Each of the old aggregates alone, slowest first: where the time went.
	type part struct {
		q string
		d time.Duration
	}
	var parts []part
	for _, q := range legacySources {
		m, _ := quantiles(5, func() { scanAll(q) })
		parts = append(parts, part{q, m})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].d > parts[j].d })
	for _, p := range parts[:4] {
		fmt.Printf("[%s]   before, alone: %.2f ms  %s\n", dialect, indMS(p.d), p.q)
	}
	parts = parts[:0]
	for _, q := range indicators.SourceQueries() {
		m, _ := quantiles(5, func() { scanAll(q) })
		parts = append(parts, part{q, m})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].d > parts[j].d })
	for _, p := range parts[:4] {
		fmt.Printf("[%s]   now, alone: %.2f ms  %s\n", dialect, indMS(p.d), p.q)
	}

	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	if _, _, err := a.Auth.Create(access.With(ctx, access.Operator()), auth.NewUser{Username: "county", Role: access.Officer, Division: apptest.County, Password: apptest.Password}); err != nil {
		b.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	body, _ := json.Marshal(map[string]string{"username": "county", "password": apptest.Password})
	resp, err := hc.Post(srv.URL+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("login: %v %v", err, resp)
	}
	resp.Body.Close()
	get := func(path string) func() {
		return func() {
			resp, err := hc.Get(srv.URL + path)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("%s: %d", path, resp.StatusCode)
			}
		}
	}
	paths := []string{
		fmt.Sprintf("/api/v1/indicators?division=%s&period=%d", apptest.County, year),
		fmt.Sprintf("/api/v1/indicator-lagging?division=%s&period=%d", apptest.County, year),
	}
	measure := func(state string) {
		mp, _ := quantiles(5, peer)
		for _, path := range paths {
			get(path)()
			m, p := quantiles(15, get(path))
			fmt.Printf("[%s] county officer GET %s (%s): median %.1f ms, p95 %.1f ms = %.2f× the peer (%.1f ms)\n", dialect, path, state, indMS(m), indMS(p), float64(m)/float64(mp), indMS(mp))
		}
	}
	measure("precomputed, fresh")
	// One facility changed since the run: only the indicators reading
	// facilities are computed live now; before, every one was.
	if _, err := d.W.Exec(`UPDATE reg_facilities SET updated_at = $1 WHERE id = (SELECT MIN(id) FROM reg_facilities)`, db.T(time.Now())); err != nil {
		b.Fatal(err)
	}
	measure("one facility changed since the run")
	// As before this change, and while a year was never computed: all live.
	if _, err := d.W.Exec(`DELETE FROM ind_value_runs`); err != nil {
		b.Fatal(err)
	}
	measure("all live, as any change made it before")
	// Each element alone for the county, live, slowest first.
	type elt struct {
		key string
		d   time.Duration
	}
	var els []elt
	for k, el := range store.Elements {
		g := module.Group{Lo: apptest.County, Hi: "330107", Prefix: 6, Year: year}
		m, _ := quantiles(3, func() {
			if _, err := el.Sum(op, d.R, g); err != nil {
				b.Fatal(err)
			}
		})
		els = append(els, elt{k, m})
	}
	sort.Slice(els, func(i, j int) bool { return els[i].d > els[j].d })
	for _, x := range els[:6] {
		fmt.Printf("[%s]   live element alone, county: %.2f ms  %s\n", dialect, indMS(x.d), x.key)
	}
}
