package divisions

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"strings"

	"linli/internal/audit"
	"linli/internal/db"
)

// SeedDemo fills the villages of a demo county with synthetic yearly unit
// data (population, households, floor areas, incomes for three years, a
// few designations) and marks the store as a demo, in one transaction.
func (s *Store) SeedDemo(ctx context.Context, log *audit.Log, county string, villages []Division, current int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x6c696e6c69))
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := db.T(s.Now())
		var sb strings.Builder
		var args []any
		flush := func() error {
			if len(args) == 0 {
				return nil
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO unit_attributes (division_code, year, kind, value, updated_by, updated_at) VALUES `+sb.String(), args...)
			sb.Reset()
			args = args[:0]
			return err
		}
		add := func(code string, year int, kind string, v float64) error {
			if len(args) > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(s.DB.Values(len(args), 6))
			args = append(args, code, year, kind, v, "demo", now)
			if len(args) >= 600 {
				return flush()
			}
			return nil
		}
		for _, v := range villages {
			urban := v.UrbanRural == Urban
			for _, year := range []int{current - 2, current - 1, current} {
				pop := float64(3000 + rng.IntN(9000))
				if !urban {
					pop = float64(800 + rng.IntN(2500))
				}
				pop = float64(int(pop * (1 + 0.01*float64(year-current))))
				hh := float64(int(pop / (2.4 + rng.Float64()*0.5)))
				urbanPop := 0.0
				if urban {
					urbanPop = pop
				}
				aged := float64(int(pop * (0.15 + rng.Float64()*0.09)))
				floor := float64(int(hh * (75 + rng.Float64()*40)))
				for _, kv := range []struct {
					k string
					v float64
				}{{"population", pop}, {"urban_population", urbanPop}, {"households", hh}, {"population_60plus", aged},
					{"building_floor_area", floor}, {"commercial_service_floor_area", float64(int(floor * (0.08 + rng.Float64()*0.05)))}} {
					if err := add(v.Code, year, kv.k, kv.v); err != nil {
						return err
					}
				}
				if !urban {
					if err := add(v.Code, year, "village_operating_income", float64(20+rng.IntN(120))); err != nil {
						return err
					}
				}
			}
			if rng.IntN(10) == 0 {
				kind := "future_community"
				if !urban {
					kind = "future_village"
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO unit_designations (division_code, kind, year, note, updated_by, updated_at) VALUES ($1,$2,$3,'演示 / demo','demo',$4)`,
					v.Code, kind, current-rng.IntN(3), now); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		// The first urban community and the first village are deliberation
		// pilots (C01/C02), so that the pilots' page has something to show;
		// the indicators declare those designation kinds (none without them).
		pilot := map[bool]bool{}
		for _, v := range villages {
			urban := v.UrbanRural == Urban
			if pilot[urban] {
				continue
			}
			pilot[urban] = true
			kind := map[bool]string{true: "deliberation_pilot_urban", false: "deliberation_pilot_village"}[urban]
			if _, err := tx.ExecContext(ctx, `INSERT INTO unit_designations (division_code, kind, year, note, updated_by, updated_at)
				SELECT $1, key, $3, '演示 / demo', 'demo', $4 FROM designation_kinds WHERE key = $2`, v.Code, kind, current-1, now); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('demo', '1') ON CONFLICT (key) DO UPDATE SET value = '1'`); err != nil {
			return err
		}
		return log.RecordTx(ctx, tx, audit.Entry{Action: "demo.seed", Object: "division", ObjectID: county, Division: county,
			Detail: audit.Detail(map[string]any{"communities": len(villages), "seed": seed, "synthetic": true})})
	})
}
