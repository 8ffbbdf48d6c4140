package registry

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/module"
)

// Mine is a resident's 我的 block about their household: where it is
// registered and how many live in it, leading to their own record.
func (m *registryModule) Mine(ctx context.Context, p *access.Principal) ([]module.MineSection, error) {
	if p == nil || p.Role != access.Resident {
		return nil, nil
	}
	ctx = access.With(ctx, p)
	sec := module.MineSection{Module: "registry", Order: 30, Title: fault.M("我的家庭", "My household"),
		Empty: fault.M("登记库中还没有与您账号关联的记录，请联系社区", "No registry record is linked to your account yet; please contact your community")}
	mine, _, err := m.store.ListResidents(ctx, ResidentFilter{}, 1)
	if err != nil || len(mine) == 0 {
		return []module.MineSection{sec}, err
	}
	me := mine[0]
	var address string
	var members int
	err = m.store.DB.R.QueryRowContext(ctx, `SELECT h.address, (SELECT COUNT(*) FROM reg_residents x WHERE x.household_id = h.id)
		FROM reg_households h WHERE h.id = $1 AND h.division_code = $2`, me.HouseholdID, me.Division).Scan(&address, &members)
	if errors.Is(err, sql.ErrNoRows) {
		return []module.MineSection{sec}, nil
	} else if err != nil {
		return nil, err
	}
	n := strconv.Itoa(members)
	sec.Items = []module.MineItem{
		{Label: fault.M("户址："+address, "Address: "+address), Href: "/registry/me"},
		{Label: fault.M("家庭成员 "+n+" 人", n+" members in the household"), Href: "/registry/me"},
	}
	sec.More = "/registry/me"
	return []module.MineSection{sec}, nil
}
