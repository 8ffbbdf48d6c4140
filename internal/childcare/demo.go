package childcare

import (
	"context"
	"fmt"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/module"
)

// Demo gives every fourth community of the demo county a childcare
// setting — in turn an institution, a community centre and a family
// point — with a filing valid for two more years (every seventh expired
// last month, so it leaves I16 and the coverage), and puts the
// community's youngest children on its waiting list, enrolling the first.
// Settings are a few dozen, applications a few per setting, so Apply and
// Enrol are used as a worker would.
func Demo(ctx context.Context, s *Store, o module.DemoOptions) error {
	county := o.County
	if county == "" {
		county = "330106"
	}
	sc := access.Subtree(county)
	ctx = access.With(ctx, &access.Principal{Username: "demo.officer", Role: access.Officer, Division: county})
	communities, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT DISTINCT division_code FROM registry_households WHERE division_code >= $1 AND division_code < $2 ORDER BY 1`, sc.Lo, sc.Hi)
	if err != nil {
		return err
	}
	today := s.today()
	for i := 0; i < len(communities); i += 4 {
		if o.Progress != nil {
			o.Progress("托育点 / childcare settings", i, len(communities))
		}
		div := communities[i]
		n := i / 4
		kind := Kinds[n%len(Kinds)].Key
		places := map[string]int{"toddler": 10 + n%3*5, "older": 15 + n%4*5}
		if kind != "family" {
			places["infant"] = 5
		} else {
			places = map[string]int{"toddler": 3, "older": 3}
		}
		st, err := s.CreateSetting(ctx, SettingInput{Division: div, Kind: kind, Name: fmt.Sprintf("%s托育点 %d", Kinds[n%len(Kinds)].Name.ZH, n+1), Address: "示范地址 " + div[6:], Places: places})
		if err != nil {
			return err
		}
		filed, until := minus(today, 1), minus(today, -2)
		if n%7 == 6 {
			filed, until = minus(today, 3), plusMonths(today, -1)
		}
		if _, err := s.AddFiling(ctx, st.ID, FilingInput{Applicant: "示范托育服务有限公司", Premises: "一楼，室内 180 平方米，户外场地 60 平方米", Carers: 2 + n%5,
			Inspections: "消防、卫生检查合格", FiledOn: filed, ValidUntil: until}); err != nil {
			return err
		}
		kids, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT id FROM registry_people WHERE division_code = $1 AND birth_date > $2 AND birth_date <= $3 ORDER BY birth_date DESC, id LIMIT 4`,
			div, minus(today, 3), plusMonths(today, -6))
		if err != nil {
			return err
		}
		for k, id := range kids {
			a, err := s.Apply(ctx, ApplyInput{SettingID: st.ID, ChildID: id})
			if err != nil {
				continue // a child of a band the setting does not take
			}
			if k == 0 {
				if _, err := s.Enrol(ctx, a.ID); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
