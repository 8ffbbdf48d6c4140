package app

import (
	"context"
	"fmt"
	"strings"

	"linli/internal/access"
	"linli/internal/auth"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/module"
)

// DemoAccount is a demo login, printed once when created.
type DemoAccount struct {
	Username, Password string
	Role               access.Role
	Division           string
}

// DemoOptions choose the synthetic demo data.
type DemoOptions = module.DemoOptions

// SeedDemo fills a county with synthetic yearly unit data and creates one
// account per role. It runs once per store: a second call returns nothing
// and changes nothing. The data is marked synthetic on every page.
func (a *App) SeedDemo(ctx context.Context, o DemoOptions) ([]DemoAccount, error) {
	if o.County == "" {
		o.County = "330106"
	}
	if o.Year == 0 {
		o.Year = a.now().Year()
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
	op := access.With(ctx, access.Operator())
	if err := a.Divisions.SeedDemo(op, a.Audit, o.County, villages, o.Year, o.Seed); err != nil {
		return nil, err
	}
	if o.Progress != nil {
		o.Progress("区划年度数据 / divisions' yearly data", 1, 1)
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
		{"demo.provider", access.Provider, town.Code},
		{"demo.carer", access.Provider, town.Code},
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
	for _, m := range a.modules {
		if d, ok := m.Module.(module.Demo); ok {
			if err := d.Demo(ctx, o); err != nil {
				return out, fmt.Errorf("demo %s: %w", m.name, err)
			}
			if o.Progress != nil {
				o.Progress(m.name, 1, 1)
			}
		}
	}
	// The store has statistics for its planner before the first page.
	if err := db.Analyze(ctx, a.DB); err != nil {
		return out, err
	}
	if o.Progress != nil {
		o.Progress("统计 / statistics", 1, 1)
	}
	return out, nil
}
