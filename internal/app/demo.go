package app

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/auth"
	"linli/internal/db"
	"linli/internal/divisions"
)

// DemoAccount is a demo login, printed once when created.
type DemoAccount struct {
	Username, Password string
	Role               access.Role
	Division           string
}

// DemoOptions choose the synthetic demo data.
type DemoOptions struct {
	County string // county code, default 西湖区 330106
	Seed   uint64
	Year   int
	// Scale is the demo population: "community", "county", or a share of
	// the county's real size (empty: the modules' default).
	Scale string
}

// SeedDemo fills a county with synthetic yearly unit data and creates one
// account per role. It runs once per store: a second call returns nothing
// and changes nothing. The data is marked synthetic on every page.
func (a *App) SeedDemo(ctx context.Context, o DemoOptions) ([]DemoAccount, error) {
	if o.County == "" {
		o.County = "330106"
	}
	if o.Year == 0 {
		o.Year = time.Now().Year()
	}
	if done, err := IsDemo(ctx, a.DB); err != nil || done {
		return nil, err
	}
	county, err := a.Divisions.Get(ctx, o.County)
	if err != nil || county.Level != 3 {
		return nil, fmt.Errorf("演示区县代码无效 / demo county %s is not a county code", o.County)
	}
	units, _, err := a.Divisions.Search(ctx, o.County, "", 0, 100000)
	if err != nil {
		return nil, err
	}
	var towns, villages []divisions.Division
	for _, u := range units {
		switch u.Level {
		case 4:
			towns = append(towns, u)
		case 5:
			villages = append(villages, u)
		}
	}
	if len(villages) < 2 {
		return nil, fmt.Errorf("demo county %s has too few communities", o.County)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x6c696e6c69))
	op := access.With(ctx, access.Operator())
	err = a.DB.Tx(op, func(tx *sql.Tx) error {
		now := db.T(time.Now())
		var sb strings.Builder
		var args []any
		flush := func() error {
			if len(args) == 0 {
				return nil
			}
			_, err := tx.ExecContext(op, `INSERT INTO unit_attributes (division_code, year, kind, value, updated_by, updated_at) VALUES `+sb.String(), args...)
			sb.Reset()
			args = args[:0]
			return err
		}
		add := func(code string, year int, kind string, v float64) error {
			if len(args) > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(a.DB.Values(len(args), 6))
			args = append(args, code, year, kind, v, "demo", now)
			if len(args) >= 600 {
				return flush()
			}
			return nil
		}
		for _, v := range villages {
			urban := v.UrbanRural == divisions.Urban
			for _, year := range []int{o.Year - 2, o.Year - 1, o.Year} {
				pop := float64(3000 + rng.IntN(9000))
				if !urban {
					pop = float64(800 + rng.IntN(2500))
				}
				pop = float64(int(pop * (1 + 0.01*float64(year-o.Year))))
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
				if _, err := tx.ExecContext(op, `INSERT INTO unit_designations (division_code, kind, year, note, updated_by, updated_at) VALUES ($1,$2,$3,'演示 / demo','demo',$4)`,
					v.Code, kind, o.Year-rng.IntN(3), now); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(op, `INSERT INTO settings (key, value) VALUES ('demo', '1') ON CONFLICT (key) DO UPDATE SET value = '1'`); err != nil {
			return err
		}
		return a.Audit.RecordTx(op, tx, audit.Entry{Action: "demo.seed", Object: "division", ObjectID: o.County, Division: o.County,
			Detail: audit.Detail(map[string]any{"communities": len(villages), "seed": o.Seed, "synthetic": true})})
	})
	if err != nil {
		return nil, err
	}
	a.Renderer.Demo = true
	first := villages[0]
	var second divisions.Division
	for _, v := range villages {
		if !strings.HasPrefix(v.Code, first.Code[:9]) {
			second = v
			break
		}
	}
	town := towns[0]
	specs := []struct {
		user string
		role access.Role
		div  string
	}{
		{"demo.officer", access.Officer, o.County},
		{"demo.street", access.Officer, town.Code},
		{"demo.worker", access.CommunityWorker, first.Code},
		{"demo.worker2", access.CommunityWorker, second.Code},
		{"demo.grid", access.GridWorker, first.Code},
		{"demo.resident", access.Resident, first.Code},
		{"demo.secadmin", access.SecAdmin, "33"},
		{"demo.auditor", access.Auditor, "33"},
	}
	var out []DemoAccount
	for _, s := range specs {
		pw := auth.RandomPassword()
		if _, _, err := a.Auth.Create(op, auth.NewUser{Username: s.user, DisplayName: s.user, Role: s.role, Division: s.div, Password: pw}); err != nil {
			return out, err
		}
		out = append(out, DemoAccount{Username: s.user, Password: pw, Role: s.role, Division: s.div})
	}
	for _, m := range modules {
		if m.Demo != nil {
			if err := m.Demo(ctx, a, o); err != nil {
				return out, fmt.Errorf("demo %s: %w", m.Name, err)
			}
		}
	}
	return out, nil
}
