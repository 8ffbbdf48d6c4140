package indicators

// Precomputed values (issue item 7). A full recompute of a year asks each
// data element once, grouped by each row's own division code (one GROUP BY
// per element at the finest level), rolls every value up in Go to all its
// ancestor prefixes (12 → 9 → 6 → 4 → 2 digits, the org-unit structure that
// DHIS2 keeps in a table, here implicit in the codes) and evaluates the 43
// formulas for every division that has any data. The table is sparse: a
// division/indicator whose numerator, denominator and value equal what a
// division without any row would get (a count of 0, or no data) is not
// stored, so 27,036 divisions × 43 indicators cost only the cells that say
// something. Writes are a diff against what is stored.
//
// Freshness: each recomputed year records a fingerprint of its inputs, one
// part per source (row counts, latest update times, checksums read from
// indexes, and the formulas' text), all read by one statement. A read uses
// the precomputed cells of every indicator whose elements read only
// sources whose part is unchanged; the others it computes live (exactly the
// same numbers, slower), and it nudges the Refresher, if one runs. So a
// tag edited makes C13 live until the next refresh, not all 43 indicators
// of every year; a change of the formulas or own indicators makes all live.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/module"
)

// migrationValues adds the precomputed values and their runs.
var migrationValues = db.Migration{
	ID: "indicators/002_precomputed_values",
	SQL: `
CREATE TABLE ind_values (
	year INTEGER NOT NULL,
	division_code TEXT NOT NULL,
	indicator TEXT NOT NULL,
	num DOUBLE PRECISION,
	den DOUBLE PRECISION,
	value DOUBLE PRECISION,
	PRIMARY KEY (year, division_code, indicator)
);
CREATE TABLE ind_value_runs (
	year INTEGER PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	computed_at TIMESTAMPTZ NOT NULL,
	millis INTEGER NOT NULL,
	cells INTEGER NOT NULL,
	written INTEGER NOT NULL
);
`,
}

// cell is one stored value; nil pointers are 'no data'.
type cell struct{ num, den, val *float64 }

func (c cell) equal(o cell) bool { return feq(c.num, o.num) && feq(c.den, o.den) && feq(c.val, o.val) }

// feq compares two values up to the last bits that the order of a
// floating-point sum may change.
func feq(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b || math.Abs(*a-*b) <= 1e-12*math.Max(math.Abs(*a), math.Abs(*b))
}

type cellKey struct{ code, ind string }

// codeLevels are the lengths of division codes, province to village.
var codeLevels = divisions.CodeLen[1:]

// rollUp adds each value to every prefix of its code that is a division
// code (a 6-digit county value counts for its county, city and province).
func rollUp(fine map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(fine)*2)
	for c, v := range fine {
		for _, p := range codeLevels {
			if p > len(c) {
				break
			}
			out[c[:p]] += v
		}
	}
	return out
}

// rollUpDistinct4 counts, for every prefix, the distinct first-4-digit
// codes (cities) among the codes below it that have a row.
func rollUpDistinct4(fine map[string]float64) map[string]float64 {
	sets := map[string]map[string]bool{}
	for c := range fine {
		city := c[:min(4, len(c))]
		for _, p := range codeLevels {
			if p > len(c) {
				break
			}
			if sets[c[:p]] == nil {
				sets[c[:p]] = map[string]bool{}
			}
			sets[c[:p]][city] = true
		}
	}
	out := make(map[string]float64, len(sets))
	for k, s := range sets {
		out[k] = float64(len(s))
	}
	return out
}

// defaultCell is what evaluate gives a division without any row of a
// non-structural element: the cell that is not stored.
func (es Elements) defaultCell(f Formula, structural map[string]map[string]float64, code string) cell {
	v, n, d := es.evaluate(f, structural, code)
	return cell{n, d, v}
}

type structCache struct {
	divisions int64
	sums      map[string]map[string]float64
}

// values is what one store's precomputed values keep between calls: one
// recompute at a time, the structural sums of the division tree, and the
// channel by which a read that finds a year stale nudges the Refresher.
type values struct {
	recompute  sync.Mutex
	mu         sync.Mutex // guards structural
	structural *structCache
	kick       chan int      // years to refresh now
	gen        atomic.Uint64 // committed own writes (see newPageCache)
}

func newValues() *values { return &values{kick: make(chan int, 1)} }

// structuralSums are the structural elements rolled up over the whole tree,
// kept while the number of divisions is unchanged.
func (s *Store) structuralSums(ctx context.Context, divCount int64) (map[string]map[string]float64, error) {
	s.values.mu.Lock()
	c := s.values.structural
	s.values.mu.Unlock()
	if c != nil && c.divisions == divCount {
		return c.sums, nil
	}
	// One read of the village-level units gives the three structural
	// elements (units, urban_units, rural_units), as their queries would.
	rows, err := s.DB.R.QueryContext(ctx, `SELECT code, urban_rural FROM divisions_tree WHERE level = 5`)
	if err != nil {
		return nil, err
	}
	all, urban, rural := map[string]float64{}, map[string]float64{}, map[string]float64{}
	for rows.Next() {
		var code, ur string
		if err := rows.Scan(&code, &ur); err != nil {
			rows.Close()
			return nil, err
		}
		all[code]++
		switch ur {
		case "urban":
			urban[code]++
		case "rural":
			rural[code]++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sums := map[string]map[string]float64{"units": rollUp(all), "urban_units": rollUp(urban), "rural_units": rollUp(rural)}
	for k, e := range s.Elements {
		if e.Structural && sums[k] == nil {
			return nil, fmt.Errorf("structural element %s has no single-read rule", k)
		}
	}
	s.values.mu.Lock()
	s.values.structural = &structCache{divisions: divCount, sums: sums}
	s.values.mu.Unlock()
	return sums, nil
}

func neededElements(inds []Indicator) []string {
	need := map[string]bool{}
	for _, in := range inds {
		for _, k := range in.Formula.keys() {
			need[k] = true
		}
	}
	out := make([]string, 0, len(need))
	for k := range need {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// computeAll evaluates every indicator for every division with data: the
// non-default cells of the year.
func (es Elements) computeAll(ctx context.Context, q *sql.DB, inds []Indicator, year int, structural map[string]map[string]float64) (map[cellKey]cell, error) {
	keys := neededElements(inds)
	ctx = context.WithValue(ctx, scanMemoKey{}, &scanMemo{})
	rolled := make(map[string]map[string]float64, len(keys))
	for k, m := range structural {
		rolled[k] = m
	}
	var mu sync.Mutex
	var firstErr error
	work := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				el, _ := es.Get(k)
				fine, err := el.Sum(ctx, q, module.Group{Lo: "0", Hi: "A", Prefix: 12, Year: year, Fine: true})
				var r map[string]float64
				if err == nil {
					if el.Distinct4 {
						r = rollUpDistinct4(fine)
					} else {
						r = rollUp(fine)
					}
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("element %s: %w", k, err)
				}
				rolled[k] = r
				mu.Unlock()
			}
		}()
	}
	for _, k := range keys {
		// An element no module supplies has no data: nothing to ask.
		if el, ok := es.Get(k); ok && !el.Structural {
			work <- k
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	out := map[cellKey]cell{}
	for _, in := range inds {
		f := in.Formula
		// A division where no non-structural element has a row evaluates
		// to its default: only the others are visited.
		groups := map[string]bool{}
		for _, k := range f.keys() {
			if el, _ := es.Get(k); el.Structural {
				continue
			}
			for g := range rolled[k] {
				groups[g] = true
			}
		}
		for g := range groups {
			v, n, d := es.evaluate(f, rolled, g)
			c := cell{n, d, v}
			if !c.equal(es.defaultCell(f, structural, g)) {
				out[cellKey{g, in.ID}] = c
			}
		}
	}
	return out, nil
}

// sources are the inputs of the precomputed values, each with the figures
// that show it changed: counts and latest changes of the division tree and
// the units' data, the registry's facilities, personnel, organisations and
// tags (through the views the owners publish), and reported values. Any
// insert, update or delete moves a figure of its source. A year's run
// records each source's figures; a read then takes from the stored cells
// every indicator whose elements read only sources unchanged since (see
// elementSources), and computes the others live. The tree's first figure
// is the number of divisions.
var sources = []struct {
	name  string
	exprs []string
}{
	{"tree", []string{`SELECT COUNT(*) FROM divisions_tree`}},
	{"attributes", []string{`SELECT COUNT(*) FROM divisions_attributes`, `SELECT MAX(updated_at) FROM divisions_attributes`}},
	{"designations", []string{`SELECT COUNT(*) FROM divisions_designations`, `SELECT MAX(updated_at) FROM divisions_designations`}},
	// Facilities as they are now (the life circles read their positions);
	// every change of one moves its updated_at or the count.
	{"facilities", []string{`SELECT COUNT(*) FROM registry_facilities`, `SELECT MAX(updated_at) FROM registry_facilities`}},
	// Every insert or tracked change adds a version, every change or
	// delete closes one.
	{"personnel", []string{`SELECT COUNT(*) FROM registry_personnel_versions`, `SELECT COUNT(valid_to) FROM registry_personnel_versions`}},
	{"organizations", []string{`SELECT COUNT(*) FROM registry_organization_versions`, `SELECT COUNT(valid_to) FROM registry_organization_versions`}},
	// Tags: the maintained counts move with every tag that starts or ends;
	// past years read the tags themselves, only of the kinds elements
	// count: a checksum of their divisions read from the (tag,
	// division_code) index alone, every term at least 1 — a tag added,
	// removed or moved to another division moves it. (The latest
	// created_at and the count of all tags, read before, cost a visit to
	// every tag row: most of the check's time.)
	{"tags", []string{`SELECT COUNT(*) FROM registry_tag_counts`, `SELECT SUM(n * (CAST(division_code AS BIGINT) % 9973 + 1)) FROM registry_tag_counts`,
		`SELECT SUM(CAST(division_code AS BIGINT) % 9973 + 1) FROM registry_resident_tags WHERE tag IN (` + countedTagList + `)`}},
	{"reported", []string{`SELECT COUNT(*) FROM ind_reported`, `SELECT MAX(entered_at) FROM ind_reported`, `SELECT SUM(value) FROM ind_reported`}},
}

// elementSources are the sources a data element reads: the built-in ones
// by how they are computed (see Builtin), own reported elements the
// reported values; an element another module supplies may read anything,
// so it depends on every source.
func elementSources(key string) []string {
	switch {
	case strings.HasPrefix(key, OwnPrefix):
		return []string{"reported"}
	case strings.HasPrefix(key, "desig_"), key == "cities_smart":
		return []string{"designations"}
	case strings.HasPrefix(key, "fac_"), strings.HasPrefix(key, "area_"), key == "childcare_places",
		strings.HasPrefix(key, "rural_with_"), strings.HasPrefix(key, "units_with_"):
		return []string{"facilities", "tree"}
	}
	switch key {
	case "population", "urban_population", "population_60plus", "households", "building_floor_area", "commercial_service_floor_area", "old_compounds_renovated":
		return []string{"attributes"}
	case "units", "urban_units", "rural_units":
		return []string{"tree"}
	case "villages_income_50":
		return []string{"attributes", "tree"}
	case "community_workers", "urban_community_workers", "community_workers_certified", "social_workers", "care_workers_certified", "gps", "leading_talents":
		return []string{"personnel", "tree"}
	case "social_orgs", "owners_committee_party_share", "owners_committees":
		return []string{"organizations"}
	case "family_doctor_signed":
		return []string{"tags"}
	case "urban_income_total", "urban_income_pop", "rural_income_total", "rural_income_pop", "dibao_standard", "assistance_joint_cases", "assistance_cases":
		return []string{"reported"}
	case "dibao_standard_weighted", "dibao_standard_weight":
		return []string{"reported", "attributes"}
	}
	all := make([]string, len(sources))
	for i, src := range sources {
		all[i] = src.name
	}
	return all
}

// unchangedFor tells whether every source an indicator's elements read is
// unchanged.
func unchangedFor(in Indicator, changed map[string]bool) bool {
	for _, k := range in.Formula.keys() {
		for _, src := range elementSources(k) {
			if changed[src] {
				return false
			}
		}
	}
	return true
}

// sourcesQuery reads every source's figures in one statement.
var sourcesQuery = func() string {
	var parts []string
	for _, src := range sources {
		parts = append(parts, src.exprs...)
	}
	return "SELECT (" + strings.Join(parts, "), (") + ")"
}()

// catalogueSource names the fingerprint's part that covers the formulas
// and the own indicators: when it changes, every indicator is stale.
const catalogueSource = "catalogue"

// fingerprint summarises the sources and the catalogue.
func (s *Store) fingerprint(ctx context.Context) (string, error) {
	fp, _, err := s.fingerprintN(ctx)
	return fp, err
}

// fingerprintN also returns the number of divisions. The fingerprint is
// "catalogue=…;tree=…;attributes=…;…": one part per source.
func (s *Store) fingerprintN(ctx context.Context) (string, int64, error) {
	n := 0
	for _, src := range sources {
		n += len(src.exprs)
	}
	vals := make([]any, n)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := s.DB.R.QueryRowContext(ctx, sourcesQuery).Scan(ptrs...); err != nil {
		return "", 0, err
	}
	divs, ok := vals[0].(int64)
	if !ok {
		return "", 0, fmt.Errorf("indicators: the number of divisions reads as %T", vals[0])
	}
	defs, err := definitionsDigest(ctx, s.DB.R)
	if err != nil {
		return "", 0, err
	}
	var b strings.Builder
	b.WriteString(catalogueSource + "=" + s.Elements.version() + defs)
	i := 0
	for _, src := range sources {
		b.WriteString(";" + src.name + "=")
		for range src.exprs {
			switch t := vals[i].(type) {
			case time.Time:
				fmt.Fprintf(&b, "|%d", t.UnixMicro())
			case []byte:
				fmt.Fprintf(&b, "|%s", t)
			default:
				fmt.Fprintf(&b, "|%v", t)
			}
			i++
		}
	}
	return b.String(), divs, nil
}

// changedSources are the sources whose part differs between two
// fingerprints; all is true when the catalogue's does (or a fingerprint
// is missing or of another shape): then nothing stored may be used.
func changedSources(recorded, now string) (changed map[string]bool, all bool) {
	parts := func(fp string) map[string]string {
		out := map[string]string{}
		for _, p := range strings.Split(fp, ";") {
			if k, v, ok := strings.Cut(p, "="); ok {
				out[k] = v
			}
		}
		return out
	}
	a, b := parts(recorded), parts(now)
	if len(a) != len(b) || a[catalogueSource] == "" || a[catalogueSource] != b[catalogueSource] {
		return nil, true
	}
	changed = map[string]bool{}
	for k, v := range b {
		if a[k] != v {
			changed[k] = true
		}
	}
	return changed, false
}

// definitionsDigest sums up the own indicators' formulas, so that a
// definition added, changed or removed makes every year stale, whatever
// the clock says.
func definitionsDigest(ctx context.Context, q *sql.DB) (string, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, formula FROM ind_custom ORDER BY id`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	h := sha256.New()
	for rows.Next() {
		var id, formula string
		if err := rows.Scan(&id, &formula); err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s=%s;", id, formula)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], rows.Err()
}

// version changes when a plan formula or the set of elements changes.
func (es Elements) version() string {
	ids := make([]string, 0, len(Formulas))
	for id := range Formulas {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	h := sha256.New()
	for _, id := range ids {
		f := Formulas[id]
		fmt.Fprintf(h, "%s=%g*%s/%s/%s/%s;", id, f.Factor, f.Num, f.Den, f.Num2, f.Den2)
	}
	keys := make([]string, 0, len(es))
	for k := range es {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprint(h, keys)
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// RecomputeStats describes one recompute.
type RecomputeStats struct {
	Year      int
	Elements  int           // data elements evaluated (structural ones from memory; personnel ones share one read)
	Cells     int           // non-default cells of the year
	Written   int           // cells inserted, updated or deleted
	Compute   time.Duration // queries, roll-up and formulas
	Total     time.Duration
	Skipped   bool // fresh already (RecomputeIfStale only)
	Divisions int  // divisions with at least one stored cell
}

// RecomputeAll recomputes all 43 indicators for every division for the
// year and stores the changed cells. It is a system job: it reads every
// division (reads through the API remain scoped).
func (s *Store) RecomputeAll(ctx context.Context, year int) (RecomputeStats, error) {
	if err := checkPeriod(year); err != nil {
		return RecomputeStats{}, err
	}
	s.values.recompute.Lock()
	defer s.values.recompute.Unlock()
	return s.recompute(ctx, year)
}

// RecomputeIfStale recomputes the year only when its stored fingerprint no
// longer matches the data.
func (s *Store) RecomputeIfStale(ctx context.Context, year int) (RecomputeStats, error) {
	s.values.recompute.Lock()
	defer s.values.recompute.Unlock()
	fp, err := s.fingerprint(ctx)
	if err != nil {
		return RecomputeStats{}, err
	}
	got, err := runFingerprint(ctx, s.DB.R, year)
	if err != nil {
		return RecomputeStats{}, err
	}
	if got == fp {
		return RecomputeStats{Year: year, Skipped: true}, nil
	}
	return s.recompute(ctx, year)
}

func (s *Store) recompute(ctx context.Context, year int) (RecomputeStats, error) {
	t0 := time.Now()
	st := RecomputeStats{Year: year}
	inds, err := Catalogue(s.Elements)
	if err != nil {
		return st, err
	}
	// The fingerprint is taken first: a change during the run leaves the
	// year stale, never falsely fresh.
	fp, divCount, err := s.fingerprintN(ctx)
	if err != nil {
		return st, err
	}
	custom, err := s.Custom(ctx)
	if err != nil {
		return st, err
	}
	inds = append(inds, custom...)
	kept := inds[:0]
	for _, in := range inds {
		// Volatile own indicators and monthly ones are computed when read.
		if !s.Elements.monthly(in) && (in.Owner == "" || !s.Elements.volatile(in)) {
			kept = append(kept, in)
		}
	}
	inds = kept
	structural, err := s.structuralSums(ctx, divCount)
	if err != nil {
		return st, err
	}
	cells, err := s.Elements.computeAll(ctx, s.DB.R, inds, year, structural)
	if err != nil {
		return st, err
	}
	st.Elements = len(neededElements(inds))
	st.Cells = len(cells)
	st.Compute = time.Since(t0)
	old, err := s.storedCells(ctx, year)
	if err != nil {
		return st, err
	}
	var upserts []cellKey
	var deletes []cellKey
	for k, c := range cells {
		if o, ok := old[k]; !ok || !o.equal(c) {
			upserts = append(upserts, k)
		}
	}
	for k := range old {
		if _, ok := cells[k]; !ok {
			deletes = append(deletes, k)
		}
	}
	divs := map[string]bool{}
	for k := range cells {
		divs[k.code] = true
	}
	st.Divisions = len(divs)
	st.Written = len(upserts) + len(deletes)
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if len(deletes) > 0 {
			del, err := tx.PrepareContext(ctx, `DELETE FROM ind_values WHERE year = $1 AND division_code = $2 AND indicator = $3`)
			if err != nil {
				return err
			}
			defer del.Close()
			for _, k := range deletes {
				if _, err := del.ExecContext(ctx, year, k.code, k.ind); err != nil {
					return err
				}
			}
		}
		const batch = 500
		for i := 0; i < len(upserts); i += batch {
			part := upserts[i:min(i+batch, len(upserts))]
			var sb strings.Builder
			args := make([]any, 0, len(part)*6)
			for j, k := range part {
				if j > 0 {
					sb.WriteByte(',')
				}
				sb.WriteString(s.DB.Values(len(args), 6))
				c := cells[k]
				args = append(args, year, k.code, k.ind, nullable(c.num), nullable(c.den), nullable(c.val))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO ind_values (year, division_code, indicator, num, den, value) VALUES `+sb.String()+`
				ON CONFLICT (year, division_code, indicator) DO UPDATE SET num = excluded.num, den = excluded.den, value = excluded.value`, args...); err != nil {
				return err
			}
		}
		st.Total = time.Since(t0)
		_, err := tx.ExecContext(ctx, `INSERT INTO ind_value_runs (year, fingerprint, computed_at, millis, cells, written) VALUES ($1,$2,$3,$4,$5,$6)
			ON CONFLICT (year) DO UPDATE SET fingerprint = excluded.fingerprint, computed_at = excluded.computed_at, millis = excluded.millis,
			cells = excluded.cells, written = excluded.written`, year, fp, db.T(s.Now()), st.Total.Milliseconds(), st.Cells, st.Written)
		return err
	})
	st.Total = time.Since(t0)
	return st, err
}

func nullable(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func (s *Store) storedCells(ctx context.Context, year int) (map[cellKey]cell, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT division_code, indicator, num, den, value FROM ind_values WHERE year = $1`, year)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[cellKey]cell{}
	for rows.Next() {
		var k cellKey
		var c cell
		if err := scanCell(rows, &k, &c); err != nil {
			return nil, err
		}
		out[k] = c
	}
	return out, rows.Err()
}

func scanCell(rows *sql.Rows, k *cellKey, c *cell) error {
	var n, d, v sql.NullFloat64
	if err := rows.Scan(&k.code, &k.ind, &n, &d, &v); err != nil {
		return err
	}
	opt := func(x sql.NullFloat64) *float64 {
		if !x.Valid {
			return nil
		}
		f := x.Float64
		return &f
	}
	c.num, c.den, c.val = opt(n), opt(d), opt(v)
	return nil
}

// runFingerprint is the fingerprint the year was last recomputed with, ""
// when it never was.
func runFingerprint(ctx context.Context, q *sql.DB, year int) (string, error) {
	var fp string
	err := q.QueryRowContext(ctx, `SELECT fingerprint FROM ind_value_runs WHERE year = $1`, year).Scan(&fp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return fp, err
}

// fpMemo keeps one fingerprint per request, so that a page asking for
// several years checks the source tables once.
type fpMemoKey struct{}

type fpMemo struct {
	once sync.Once
	fp   string
	n    int64
	err  error
}

func withFingerprintMemo(ctx context.Context) context.Context {
	if _, ok := ctx.Value(fpMemoKey{}).(*fpMemo); ok {
		return ctx
	}
	return context.WithValue(ctx, fpMemoKey{}, &fpMemo{})
}

func (s *Store) currentFingerprint(ctx context.Context) (string, int64, error) {
	if m, ok := ctx.Value(fpMemoKey{}).(*fpMemo); ok {
		m.once.Do(func() { m.fp, m.n, m.err = s.fingerprintN(ctx) })
		return m.fp, m.n, m.err
	}
	return s.fingerprintN(ctx)
}

// changed tells which sources changed since the year's values were
// precomputed (all: none of them may be used); a change nudges the
// Refresher.
func (s *Store) changed(ctx context.Context, year int) (map[string]bool, bool, error) {
	fp, _, err := s.currentFingerprint(ctx)
	if err != nil {
		return nil, false, err
	}
	got, err := runFingerprint(ctx, s.DB.R, year)
	if err != nil {
		return nil, false, err
	}
	if got == fp {
		return nil, false, nil
	}
	select {
	case s.values.kick <- year:
	default: // a refresh is asked for already
	}
	changed, all := changedSources(got, fp)
	return changed, all, nil
}

// precomputed reads the cells of the given divisions; a division/indicator
// without a row has the default cell.
func (s *Store) precomputed(ctx context.Context, inds []Indicator, codes []string, year int) (map[string][]Value, error) {
	if len(codes) == 0 || len(inds) == 0 {
		return map[string][]Value{}, nil
	}
	args := []any{year}
	ph := make([]string, len(codes))
	for i, c := range codes {
		args = append(args, c)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	q := `SELECT division_code, indicator, num, den, value FROM ind_values WHERE year = $1 AND division_code IN (` + strings.Join(ph, ",") + `)`
	if len(inds) == 1 {
		args = append(args, inds[0].ID)
		q += fmt.Sprintf(" AND indicator = $%d", len(args))
	}
	rows, err := s.DB.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	got := map[cellKey]cell{}
	for rows.Next() {
		var k cellKey
		var c cell
		if err := scanCell(rows, &k, &c); err != nil {
			rows.Close()
			return nil, err
		}
		got[k] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	_, divCount, err := s.currentFingerprint(ctx)
	if err != nil {
		return nil, err
	}
	structural, err := s.structuralSums(ctx, divCount)
	if err != nil {
		return nil, err
	}
	out := map[string][]Value{}
	for _, in := range inds {
		for _, code := range codes {
			c, ok := got[cellKey{code, in.ID}]
			if !ok {
				c = s.Elements.defaultCell(in.Formula, structural, code)
			}
			out[in.ID] = append(out[in.ID], Value{Division: code, Value: c.val, Num: c.num, Den: c.den})
		}
	}
	return out, nil
}

// Refresher keeps the precomputed values fresh: every interval (and at once
// when a read finds a year stale) it recomputes each year of the plan frame
// 2020 … this year whose fingerprint no longer matches the data. It returns
// when ctx ends; the module runs it with the app's background jobs and
// its logger. first (if set) is called when the first pass over the years
// has ended.
func Refresher(ctx context.Context, s *Store, every time.Duration, log *slog.Logger, first func()) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	years := func() []int {
		var ys []int
		for y := s.Now().Year(); y >= 2020; y-- { // this year first: the dashboards read it
			ys = append(ys, y)
		}
		return ys
	}
	refresh := func(ys []int) {
		for _, y := range ys {
			if ctx.Err() != nil {
				return
			}
			if _, err := s.RecomputeIfStale(ctx, y); err != nil && ctx.Err() == nil {
				log.Warn("indicators: recompute", "year", y, "err", err.Error())
			}
		}
	}
	refresh(years())
	if first != nil {
		first()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case y := <-s.values.kick:
			refresh([]int{y})
		case <-t.C:
			refresh(years())
		}
	}
}
