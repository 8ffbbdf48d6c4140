// Package lifecircle puts the life-circle engine (internal/circle) on the
// platform: the registry's facilities and each community's demand points on
// a road network, answered per division as minutes, coverage, gaps and
// "where to add k" — and as the plan's C20/C21 coverage indicators.
package lifecircle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"linli/internal/access"
	"linli/internal/circle"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/module"
)

// Migrations: demand points (population at a place), per community.
var Migrations = []db.Migration{{
	ID: "lifecircle/001_demand",
	SQL: `
CREATE TABLE lc_demand (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	lon DOUBLE PRECISION NOT NULL,
	lat DOUBLE PRECISION NOT NULL,
	population DOUBLE PRECISION NOT NULL,
	synthetic BOOLEAN NOT NULL
);
CREATE INDEX lc_demand_division ON lc_demand (division_code);
`,
}, {
	// Published for other modules: where people are known to live.
	ID:  "lifecircle/002_published_places",
	SQL: `CREATE VIEW lifecircle_places AS SELECT division_code, lon, lat FROM lc_demand;`,
}}

// categoryOf maps registry facility categories to the engine's categories.
var categoryOf = map[string]string{
	"party_service_center": "party_service", "community_service_facility": "community_service", "health_station": "clinic",
	"health_center": "health_centre", "kindergarten": "kindergarten", "childcare": "nursery", "primary_school": "primary_school",
	"middle_school": "middle_school", "market": "market", "elderly_day_care": "elderly_daycare", "home_care_center": "elderly_daycare",
	"nursing_home": "elderly_home", "elderly_canteen": "canteen", "fitness": "fitness", "culture_hall": "culture", "city_study": "library",
	"community_school": "culture_centre", "convenience_store": "convenience", "parcel_point": "post", "police_room": "police",
	"bus_stop": "bus_stop", "mediation_room": "legal",
}

// Service holds the road graph (built once) and recent studies per county.
type Service struct {
	DB       *db.DB
	Divs     module.Divisions
	Now      func() time.Time
	RoadsDir string // a nodes/edges CSV folder; empty: a synthetic network
	CacheDir string // where the built graph is cached
	Log      *slog.Logger

	once      sync.Once
	graph     *circle.Graph
	index     *circle.Index
	synthetic bool
	graphErr  error

	mu      sync.Mutex
	studies map[string]*cached
}

type cached struct {
	study         *circle.Study
	key           string
	at            time.Time
	farFacilities int
}

// maxLink is how far (metres) a facility or demand point may lie from the
// nearest road and still be linked to it.
const maxLink = 500

// FarFacilities is how many facilities of the county's last study lay
// beyond the network's reach.
func (s *Service) FarFacilities(county string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.studies[county]; c != nil {
		return c.farFacilities
	}
	return 0
}

// Demo area: 西湖区 and the central Hangzhou road data overlap here.
const minLon, minLat, maxLon, maxLat = 120.02, 30.14, 120.24, 30.38

// Graph returns the road graph, loading or generating it on first use.
func (s *Service) Graph() (*circle.Graph, bool, error) {
	s.once.Do(func() {
		s.graph, s.synthetic, s.graphErr = s.loadGraph()
		if s.graphErr == nil {
			s.index = circle.NewIndex(s.graph, 0)
		}
	})
	return s.graph, s.synthetic, s.graphErr
}

// walking on a car network: lengths at walking speed, both ways.
func walking() circle.BuildOptions {
	return circle.BuildOptions{Profile: circle.Walk, UseLength: true, BothWays: true}
}

// loadGraph builds the synthetic network, or reads the road folder
// through the cache: a cache that cannot be read or written is logged and
// the graph built from the roads.
func (s *Service) loadGraph() (*circle.Graph, bool, error) {
	if s.RoadsDir == "" {
		g, err := circle.Build(circle.SyntheticRoads(minLon, minLat, maxLon, maxLat, 120, 7), walking())
		return g, true, err
	}
	cache := ""
	if s.CacheDir != "" {
		cache = filepath.Join(s.CacheDir, "roads.graph")
		g, err := circle.LoadGraph(cache)
		if err == nil {
			return g, false, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			s.log().Warn("road graph cache unreadable; rebuilding", "path", cache, "err", err.Error())
		}
	}
	el, err := circle.ReadCSVDir(s.RoadsDir)
	if err != nil {
		return nil, false, err
	}
	g, err := circle.Build(el, walking())
	if err != nil {
		return nil, false, err
	}
	if cache != "" {
		if err := saveGraph(s.CacheDir, cache, g); err != nil {
			s.log().Warn("road graph cache not written", "path", cache, "err", err.Error())
		}
	}
	return g, false, nil
}

func saveGraph(dir, path string, g *circle.Graph) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return circle.SaveGraph(path, g)
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// Study builds (or reuses) the study of one county: its open facilities and
// demand points on the graph, labels for every tier computed.
func (s *Service) Study(ctx context.Context, county string) (*circle.Study, error) {
	g, synthetic, err := s.Graph()
	if err != nil {
		return nil, err
	}
	sub := access.Subtree(county)
	var key string
	var n int
	var last db.Time
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*), MAX(updated_at) FROM registry_facilities WHERE division_code >= $1 AND division_code < $2`, sub.Lo, sub.Hi).Scan(&n, &last); err != nil {
		return nil, err
	}
	var dn int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM lc_demand WHERE division_code >= $1 AND division_code < $2`, sub.Lo, sub.Hi).Scan(&dn); err != nil {
		return nil, err
	}
	key = fmt.Sprint(n, last.Time.UnixNano(), dn)
	s.mu.Lock()
	if c, ok := s.studies[county]; ok && c.key == key && s.Now().Sub(c.at) < 10*time.Minute {
		s.mu.Unlock()
		return c.study, nil
	}
	s.mu.Unlock()
	var facs []circle.Facility
	farFacilities := 0
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, category, lon, lat FROM registry_facilities WHERE division_code >= $1 AND division_code < $2 AND status = 'open'`, sub.Lo, sub.Hi)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var f circle.Facility
		var cat string
		if err := rows.Scan(&f.ID, &cat, &f.Lon, &f.Lat); err != nil {
			rows.Close()
			return nil, err
		}
		c, ok := categoryOf[cat]
		if !ok {
			continue
		}
		// A facility beyond the network's reach is reported, not fatal:
		// the network may cover only part of the county.
		if _, near := s.index.Nearest(f.Lon, f.Lat, maxLink); !near {
			farFacilities++
			continue
		}
		f.Category = c
		facs = append(facs, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var dem []circle.Demand
	rows, err = s.DB.R.QueryContext(ctx, `SELECT id, division_code, lon, lat, population FROM lc_demand WHERE division_code >= $1 AND division_code < $2 ORDER BY id`, sub.Lo, sub.Hi)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var d circle.Demand
		if err := rows.Scan(&d.ID, &d.Unit, &d.Lon, &d.Lat, &d.Pop); err != nil {
			rows.Close()
			return nil, err
		}
		dem = append(dem, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	st, err := circle.NewStudy(g, circle.DefaultTiers(), facs, dem, maxLink)
	if err != nil {
		return nil, err
	}
	st.Synthetic = synthetic
	if err := st.Compute(nil, 0, nil); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.studies == nil {
		s.studies = map[string]*cached{}
	}
	s.studies[county] = &cached{study: st, key: key, at: s.Now(), farFacilities: farFacilities}
	s.mu.Unlock()
	return st, nil
}

// TierFor is the plan's tier for a unit: 15 minutes urban, 30 rural.
func TierFor(urbanRural string) string {
	if urbanRural == divisions.Rural {
		return "plan-rural-30"
	}
	return "plan-urban-15"
}

// Completeness sums, per group prefix, the plan-tier completeness of
// village-level units of a class (urban: 15-minute tier, rural: 30-minute)
// (withValue) or counts the units analysed: their ratio is the mean share
// of the circle formed. Only the current state is known: other years have
// no data.
func (s *Service) Completeness(class string, withValue bool) func(context.Context, *sql.DB, int, string, string, int) (map[string]float64, error) {
	return func(ctx context.Context, q *sql.DB, prefix int, lo, hi string, year int) (map[string]float64, error) {
		if year != s.Now().Year() {
			return nil, nil
		}
		counties, err := db.StringSet(ctx, q, `SELECT DISTINCT substr(division_code, 1, 6) FROM lc_demand WHERE division_code >= $1 AND division_code < $2`, lo, hi)
		if err != nil {
			return nil, err
		}
		if len(counties) == 0 {
			return nil, nil
		}
		out := map[string]float64{}
		for c := range counties {
			st, err := s.Study(ctx, c)
			if err != nil {
				return nil, err
			}
			tier := TierFor(class)
			cv, err := st.Coverage(tier)
			if err != nil {
				return nil, err
			}
			for _, u := range cv.Units {
				if u.Unit < lo || u.Unit >= hi || len(u.Unit) != 12 || divisions.UrbanRural(u.Unit) != class || u.Pop == 0 {
					continue
				}
				v := 1.0
				if withValue {
					v = u.Completeness()
				}
				out[u.Unit[:min(prefix, len(u.Unit))]] += v
			}
		}
		return out, nil
	}
}

// SeedDemand places synthetic demand points for every community of a county
// that has facilities: eight points around the mean position of its
// facilities, sharing its latest population. Runs once per county.
func (s *Service) SeedDemand(ctx context.Context, county string, seed uint64) (int, error) {
	sub := access.Subtree(county)
	var have int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM lc_demand WHERE division_code >= $1 AND division_code < $2`, sub.Lo, sub.Hi).Scan(&have); err != nil {
		return 0, err
	}
	if have > 0 { // seeded already
		return 0, nil
	}
	type centre struct {
		lon, lat, pop float64
	}
	cs := map[string]*centre{}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT division_code, AVG(lon), AVG(lat) FROM registry_facilities WHERE division_code >= $1 AND division_code < $2 AND length(division_code) = 12 GROUP BY division_code`, sub.Lo, sub.Hi)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var code string
		var c centre
		if err := rows.Scan(&code, &c.lon, &c.lat); err != nil {
			rows.Close()
			return 0, err
		}
		cs[code] = &c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	rows, err = s.DB.R.QueryContext(ctx, `SELECT division_code, value FROM divisions_attributes WHERE division_code >= $1 AND division_code < $2 AND kind = 'population'
		AND year = (SELECT MAX(year) FROM divisions_attributes WHERE division_code >= $1 AND division_code < $2 AND kind = 'population')`, sub.Lo, sub.Hi)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var code string
		var pop float64
		if err := rows.Scan(&code, &pop); err != nil {
			rows.Close()
			return 0, err
		}
		if c := cs[code]; c != nil {
			c.pop = pop
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	codes := make([]string, 0, len(cs))
	for c := range cs {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	rng := rand.New(rand.NewPCG(seed, 0x6c63))
	n := 0
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, code := range codes {
			c := cs[code]
			if c.pop == 0 {
				c.pop = 2000
			}
			for i := 0; i < 8; i++ {
				ang := rng.Float64() * 2 * math.Pi
				r := 0.001 + rng.Float64()*0.004
				if _, err := tx.ExecContext(ctx, `INSERT INTO lc_demand (id, division_code, lon, lat, population, synthetic) VALUES ($1,$2,$3,$4,$5,TRUE)`,
					db.NewID(), code, c.lon+r*math.Cos(ang), c.lat+r*math.Sin(ang)*0.87, math.Round(c.pop/8)); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	return n, err
}
