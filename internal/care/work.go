package care

import (
	"context"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/web"
)

// Work puts open disputes on the 工作台: a community worker sees those of
// the community, due within DisputeHours (urgent once overdue); a
// township or county officer sees those of the area left past their
// clock, the escalation.
func (s *Store) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	if p == nil || p.Role != access.CommunityWorker && p.Role != access.Officer {
		return nil, nil
	}
	sc := access.Subtree(p.Division)
	now := s.Now()
	cond := ""
	args := []any{sc.Lo, sc.Hi}
	if p.Role == access.Officer {
		cond = " AND o.dispute_due < $3"
		args = append(args, db.T(now))
	}
	os, err := db.Collect(ctx, s.DB.R, scanOrder, `SELECT `+orderCols+orderFrom+` WHERE o.id IN (SELECT o.id FROM care_orders o
		WHERE o.division_code >= $1 AND o.division_code < $2 AND o.dispute_due IS NOT NULL`+cond+` ORDER BY o.dispute_due, o.id LIMIT `+itoa(limit)+`) ORDER BY o.dispute_due, o.id`, args...)
	if err != nil {
		return nil, err
	}
	var out []module.WorkItem
	for _, o := range os {
		it := module.WorkItem{Module: "care", Kind: "care.dispute", KindName: fault.M("居家服务异议", "Disputed home-care services"),
			Title: fault.M(o.ItemName+"有异议："+o.DisputeNote, o.ItemName+" disputed: "+o.DisputeNote), Whose: o.Name + "**",
			Href: "/care/orders/" + o.ID, Due: o.DisputeDue, Urgent: o.DisputeDue.Before(now)}
		if p.Role == access.Officer {
			it.Kind, it.KindName = "care.dispute.overdue", fault.M("逾期未处理的居家服务异议", "Home-care disputes past their clock")
			it.Title = fault.M(o.ProviderName+"的"+o.ItemName+"异议逾期未处理", "A dispute over "+o.ProviderName+"'s "+o.ItemName+" is past its clock")
		}
		out = append(out, it)
	}
	return out, nil
}

// Mine shows the resident's household what waits on it: services done
// and not yet confirmed, and this month's meals with what it pays.
func (s *Store) Mine(ctx context.Context, p *access.Principal) ([]module.MineSection, error) {
	if p == nil || p.Role != access.Resident {
		return nil, nil
	}
	r, err := s.residentOf(ctx, p)
	if err != nil {
		return nil, nil // an account not linked to a household has nothing here
	}
	sec := module.MineSection{Module: "care", Order: 35, Title: fault.M("居家养老与助餐", "Home care and meals"), More: "/care/mine",
		Empty: fault.M("没有待您确认的服务，本月也没有助餐记录。", "No service waits for your confirmation and no meals this month.")}
	os, err := db.Collect(ctx, s.DB.R, scanOrder, `SELECT `+orderCols+orderFrom+` WHERE o.id IN (SELECT o.id FROM care_orders o WHERE o.household_id = $1 AND o.status = $2
		ORDER BY o.created_at DESC, o.id DESC LIMIT 5) ORDER BY o.created_at DESC, o.id DESC`, r.Household, StatusServed)
	if err != nil {
		return nil, err
	}
	for _, o := range os {
		sec.Items = append(sec.Items, module.MineItem{Label: fault.M(o.ItemName+" · "+o.ProviderName, o.ItemName+" · "+o.ProviderName), When: o.UpdatedAt,
			Href: "/care/orders/" + o.ID, Status: &web.Tag{Tone: web.ToneWarn, Label: fault.M("服务已完成，请确认并评价", "Done: confirm and rate it")}})
	}
	m := month(s.Now())
	first, last := monthBounds(m)
	var n int
	var copay int64
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(copay_fen), 0) FROM care_meals WHERE household_id = $1 AND served_on >= $2 AND served_on <= $3`,
		r.Household, first, last).Scan(&n, &copay); err != nil {
		return nil, err
	}
	if n > 0 {
		sec.Items = append(sec.Items, module.MineItem{Label: fault.M(m+" 助餐 "+itoa(n)+" 次，自付 ¥"+Yuan(copay), m+": "+itoa(n)+" meals, you pay ¥"+Yuan(copay)),
			Href: "/care/meals/mine?month=" + m})
	}
	return []module.MineSection{sec}, nil
}
