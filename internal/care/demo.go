package care

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/module"
)

// demoItems are the demo county's catalogue: 助洁, 助浴, 助医, 助行,
// 康复护理, 陪护, 理发, 助餐/送餐.
var demoItems = []ItemInput{
	{Code: "clean", NameZH: "助洁", NameEN: "Cleaning", Unit: UnitHour, MaxMinutes: 180, PriceFen: 4000},
	{Code: "bath", NameZH: "助浴", NameEN: "Bathing", Unit: UnitVisit, MaxMinutes: 90, PriceFen: 8000},
	{Code: "clinic", NameZH: "助医", NameEN: "Escort to the doctor", Unit: UnitVisit, MaxMinutes: 240, PriceFen: 5000},
	{Code: "walk", NameZH: "助行", NameEN: "Walking aid", Unit: UnitHour, MaxMinutes: 120, PriceFen: 3000},
	{Code: "rehab", NameZH: "康复护理", NameEN: "Rehabilitation care", Unit: UnitHour, MaxMinutes: 120, PriceFen: 9000},
	{Code: "company", NameZH: "陪护", NameEN: "Companion care", Unit: UnitHour, MaxMinutes: 480, PriceFen: 3500},
	{Code: "haircut", NameZH: "理发", NameEN: "Haircut", Unit: UnitVisit, MaxMinutes: 60, PriceFen: 2000},
	{Code: "meal", NameZH: "助餐/送餐", NameEN: "Meals and delivery", Unit: UnitMeal, MaxMinutes: 60, PriceFen: 1500},
}

// demoBucket is what the demo orders of the eligible residents are, by
// their place in id order modulo 16: the item, how long and the status.
// Half the eligible residents order once in the month.
type demoBucket struct {
	item    string
	minutes int
	status  string
}

var demoBuckets = map[byte]demoBucket{
	'0': {"clean", 120, StatusConfirmed}, '1': {"clean", 90, StatusConfirmed}, '2': {"bath", 60, StatusConfirmed}, '3': {"rehab", 60, StatusConfirmed},
	'4': {"haircut", 30, StatusConfirmed}, '5': {"clinic", 150, StatusConfirmed}, '6': {"company", 240, StatusServed}, '7': {"clean", 60, StatusDisputed},
}

// Demo gives the demo county its catalogue, the year's subsidy rule, a
// provider per township (the first service enterprise or social
// organisation there, serving the township's communities, with its care
// workers; the one of the demo resident's township run by the account
// demo.provider with the carer demo.carer when those exist), last month's and this month's quota, a
// month of orders for half the eligible residents and last month settled
// (one provider's settlement left at the check). Orders are written by one
// INSERT … SELECT per kind.
func (m *careModule) Demo(ctx context.Context, o module.DemoOptions) error {
	s := m.store
	county := o.County
	if county == "" {
		county = "330106"
	}
	officer := access.With(ctx, &access.Principal{Username: "demo.officer", Role: access.Officer, Division: county})
	items := map[string]Item{}
	for _, in := range demoItems {
		in.County = county
		it, err := s.CreateItem(officer, in)
		if err != nil {
			return err
		}
		items[it.Code] = it
	}
	now := s.Now().In(cstZone())
	this := month(now)
	last := month(now.AddDate(0, 0, -now.Day()))
	// This year's rule and next year's, published ahead.
	for _, y := range []int{now.Year(), now.Year() + 1} {
		if _, err := s.PublishRule(officer, RuleInput{County: county, FromMonth: fmt.Sprintf("%d-01", y), Name: fmt.Sprintf("%d 年居家养老服务补贴", y), Tiers: []Tier{
			{Label: "高龄 80 岁以上", AgeMin: 80, AmountFen: 20000}, {Label: "失能", Tags: []string{"disabled_full"}, AmountFen: 30000},
			{Label: "低保老人", AgeMin: 60, Tags: []string{"dibao", "tekun"}, AmountFen: 10000}}}); err != nil {
			return err
		}
	}
	if last[:4] != this[:4] { // January: last month is under last year's rule
		if _, err := s.PublishRule(officer, RuleInput{County: county, FromMonth: last, Name: "上年居家养老服务补贴", Tiers: []Tier{{Label: "高龄", AgeMin: 80, AmountFen: 20000}}}); err != nil {
			return err
		}
	}
	providers, err := s.demoProviders(ctx, officer, county, items, now)
	if err != nil || len(providers) == 0 {
		return err
	}
	if o.Progress != nil {
		o.Progress("居家养老服务机构 / home-care providers", 1, 1)
	}
	if _, err := s.RunMonth(officer, county, last); err != nil {
		return err
	}
	if err := s.demoOrders(ctx, county, last, items, now); err != nil {
		return err
	}
	if _, err := s.RunMonth(officer, county, this); err != nil {
		return err
	}
	if o.Progress != nil {
		o.Progress("居家养老订单 / home-care orders", 1, 1)
	}
	if err := s.demoMeals(ctx, officer, county, now); err != nil {
		return err
	}
	if o.Progress != nil {
		o.Progress("居家养老助餐 / meal assistance", 1, 1)
	}
	for i, pr := range providers {
		st, err := s.Draft(officer, SettlementInput{ProviderID: pr.ID, Month: last})
		if err != nil {
			return err
		}
		if i == len(providers)-1 && i > 0 {
			continue // left for the community to check
		}
		town := access.With(ctx, &access.Principal{Username: "demo.street", Role: access.Officer, Division: pr.Communities[0][:9]})
		if _, err := s.Check(town, st.ID); err != nil {
			return err
		}
		if _, err := s.Approve(officer, st.ID); err != nil {
			return err
		}
		if i%2 == 0 {
			if _, err := s.Pay(officer, st.ID, PayInput{Reference: fmt.Sprintf("GK-%s-%03d", last, i+1)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// demoProviders registers a provider in each township that has a service
// enterprise or social organisation.
func (s *Store) demoProviders(ctx, officer context.Context, county string, items map[string]Item, now time.Time) ([]Provider, error) {
	sc := access.Subtree(county)
	type org struct{ id, div string }
	orgs, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (org, error) {
		var o org
		return o, r.Scan(&o.id, &o.div)
	}, `SELECT id, division_code FROM registry_organization_cards WHERE division_code >= $1 AND division_code < $2 AND kind IN ('enterprise', 'social_org') ORDER BY division_code, id`, sc.Lo, sc.Hi)
	if err != nil {
		return nil, err
	}
	var itemIDs []string
	for _, in := range demoItems {
		itemIDs = append(itemIDs, items[in.Code].ID)
	}
	var out []Provider
	seen := map[string]bool{}
	// The demo provider accounts run the provider of the demo resident's
	// township (or the first).
	var residentAt string
	if err := s.DB.R.QueryRowContext(ctx, `SELECT division_code FROM users WHERE username = 'demo.resident'`).Scan(&residentAt); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	accountsGiven := false
	for _, o := range orgs {
		town := o.div[:min(9, len(o.div))]
		if len(town) != 9 || seen[town] {
			continue
		}
		seen[town] = true
		ts := access.Subtree(town)
		communities, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT DISTINCT division_code FROM registry_households WHERE division_code >= $1 AND division_code < $2 ORDER BY division_code`, ts.Lo, ts.Hi)
		if err != nil {
			return nil, err
		}
		if len(communities) == 0 {
			continue
		}
		pr, err := s.CreateProvider(officer, ProviderInput{OrgID: o.id, County: county, ContractNo: fmt.Sprintf("%s-JJYL-%d-%02d", county, now.Year(), len(out)+1),
			ContractFrom: fmt.Sprintf("%d-01-01", now.Year()-1), ContractTo: fmt.Sprintf("%d-12-31", now.Year()+1), Communities: communities, Items: itemIDs})
		if err != nil {
			return nil, err
		}
		manager, carer := "", ""
		if !accountsGiven && (residentAt == "" || access.Encloses(town, residentAt)) {
			manager, carer, accountsGiven = s.demoAccount(ctx, "demo.provider"), s.demoAccount(ctx, "demo.carer"), true
		}
		// The township's care workers serve for the provider; the demo
		// carer account is the first of them.
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			t := db.T(s.Now())
			if _, err := tx.ExecContext(ctx, `INSERT INTO care_staff (id, provider_id, personnel_id, username, surname, certified, manager, created_at) VALUES ($1,$2,'',$3,'负责人',FALSE,TRUE,$4)`,
				db.NewID(), pr.ID, manager, t); err != nil {
				return err
			}
			workers, err := db.Collect(ctx, tx, func(r db.Scanner) ([3]string, error) {
				var w [3]string
				return w, r.Scan(&w[0], &w[1], &w[2])
			}, `SELECT id, surname, attrs FROM registry_staff_cards WHERE division_code >= $1 AND division_code < $2 AND roles LIKE '%,care_worker,%' ORDER BY id LIMIT 30`, ts.Lo, ts.Hi)
			if err != nil {
				return err
			}
			for i, w := range workers {
				user := ""
				if i == 0 {
					user = carer
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO care_staff (id, provider_id, personnel_id, username, surname, certified, manager, created_at) VALUES ($1,$2,$3,$4,$5,$6,FALSE,$7)`,
					db.NewID(), pr.ID, w[0], user, w[1]+"**", containsCertified(w[2]), t); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	if !accountsGiven && len(out) > 0 { // no provider in the resident's township
		if _, err := s.DB.W.ExecContext(ctx, `UPDATE care_staff SET username = $1 WHERE provider_id = $2 AND manager`, s.demoAccount(ctx, "demo.provider"), out[0].ID); err != nil {
			return nil, err
		}
		if _, err := s.DB.W.ExecContext(ctx, `UPDATE care_staff SET username = $1 WHERE id = (SELECT MIN(id) FROM care_staff WHERE provider_id = $2 AND NOT manager)`, s.demoAccount(ctx, "demo.carer"), out[0].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func containsCertified(attrs string) bool {
	for i := 0; i+len(`"certified":true`) <= len(attrs); i++ {
		if attrs[i:i+len(`"certified":true`)] == `"certified":true` {
			return true
		}
	}
	return false
}

// demoAccount is the username when that provider account exists (” when not).
func (s *Store) demoAccount(ctx context.Context, user string) string {
	var role string
	if err := s.DB.R.QueryRowContext(ctx, `SELECT role FROM users WHERE username = $1`, user).Scan(&role); err != nil || role != string(access.Provider) {
		return ""
	}
	return user
}

// demoOrders writes last month's orders: for each bucket of residents
// with a quota (by their place in id order, modulo 16), one INSERT … SELECT of
// orders from the provider serving their community, served by its first
// care worker; then the quota they drew, in one UPDATE.
func (s *Store) demoOrders(ctx context.Context, county, m string, items map[string]Item, now time.Time) error {
	sc := access.Subtree(county)
	first, _ := time.ParseInLocation("2006-01", m, cstZone())
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for digit := byte('0'); digit <= '7'; digit++ {
			b := demoBuckets[digit]
			it := items[b.item]
			amount := amountOf(it.Unit, it.PriceFen, b.minutes)
			in := first.AddDate(0, 0, int(digit-'0')*3+2).Add(9 * time.Hour)
			out := in.Add(time.Duration(b.minutes) * time.Minute)
			subsidy := "0"
			if b.status == StatusConfirmed {
				subsidy = "CASE WHEN q.granted_fen < CAST($5 AS BIGINT) THEN q.granted_fen ELSE CAST($5 AS BIGINT) END"
			}
			var due any
			if b.status == StatusDisputed {
				due = db.T(now.Add(DisputeHours * time.Hour))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO care_orders (id, division_code, resident_id, household_id, surname, provider_id, item_id, status, wanted_at, note, ordered_by, staff_id,
				checkin_at, checkin_lon, checkin_lat, checkout_at, minutes, month, amount_fen, subsidy_fen, copay_fen, rating, rating_note, dispute_note, dispute_due, settlement_id, created_at, updated_at)
				SELECT 'demo-' || q.month || '-' || q.resident_id, q.division_code, q.resident_id, p.household_id, p.surname, a.provider_id, $1, $2, $3, '', 'demo.worker',
					COALESCE((SELECT MIN(st.id) FROM care_staff st WHERE st.provider_id = a.provider_id AND NOT st.manager), ''),
					$4, NULL, NULL, $6, $7, q.month, CAST($5 AS BIGINT), `+subsidy+`, CAST($5 AS BIGINT) - `+subsidy+`, $8, '', $9, $10, '', $11, $6
				FROM (SELECT resident_id, month, division_code, granted_fen, ROW_NUMBER() OVER (ORDER BY resident_id) AS rn FROM care_quota
					WHERE month = $12 AND division_code >= $13 AND division_code < $14) q
				JOIN registry_people p ON p.id = q.resident_id JOIN care_provider_areas a ON a.community = q.division_code
				WHERE q.rn % 16 = $15`,
				it.ID, b.status, in.Format("2006-01-02T15:04"), db.T(in), amount, db.T(out), b.minutes, map[bool]int{true: 4 + int(digit)%2}[b.status == StatusConfirmed],
				map[bool]string{true: "服务人员未按约定时间上门"}[b.status == StatusDisputed], due, db.T(in.Add(-24*time.Hour)), m, sc.Lo, sc.Hi, int(digit-'0')); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE care_quota SET used_fen = (SELECT COALESCE(SUM(o.subsidy_fen), 0) FROM care_orders o WHERE o.resident_id = care_quota.resident_id AND o.month = care_quota.month)
			WHERE month = $1 AND division_code >= $2 AND division_code < $3`, m, sc.Lo, sc.Hi); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO care_order_events (id, order_id, from_status, to_status, note, by_user, at)
			SELECT 'ev-' || id, id, '', status, '演示数据 / demo data', 'demo.worker', created_at FROM care_orders WHERE month = $1 AND division_code >= $2 AND division_code < $3`, m, sc.Lo, sc.Hi)
		return err
	})
}
