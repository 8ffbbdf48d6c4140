package care

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"linli/internal/access"
	"linli/internal/db"
)

// demoDishes are the demo menus' dishes, taken in turn by day.
var demoDishes = [][]string{
	{"红烧肉", "清炒时蔬", "番茄蛋汤", "米饭"}, {"清蒸鲈鱼", "香菇青菜", "冬瓜汤", "米饭"}, {"土豆炖牛肉", "蒜蓉西兰花", "紫菜汤", "米饭"},
	{"糖醋排骨", "炒豆芽", "萝卜汤", "米饭"}, {"白切鸡", "油焖茄子", "豆腐汤", "杂粮饭"}, {"肉末蒸蛋", "炒青菜", "南瓜粥", "馒头"},
}

// demoMeals gives the demo county its meal assistance: every open canteen
// facility becomes a canteen (run by the provider serving its community,
// or by the community), a meal rule for the year, menus for the last two
// weeks and this one, one in twenty residents aged 60+ of the communities
// served enrolled (one in four of them for delivery), and their lunches
// on every other working day until yesterday. Each step is one INSERT …
// SELECT (a day's menus and meals: one each).
func (s *Store) demoMeals(ctx, officer context.Context, county string, now time.Time) error {
	for _, y := range []int{now.AddDate(0, 0, -21).Year(), now.Year()} {
		if _, err := s.PublishMealRule(officer, RuleInput{County: county, FromMonth: fmt.Sprintf("%d-01", y), Name: fmt.Sprintf("%d 年老年助餐补贴", y), Tiers: []Tier{
			{Label: "高龄 80 岁以上", AgeMin: 80, AmountFen: 600}, {Label: "低保、特困老人", AgeMin: 60, Tags: []string{"dibao", "tekun"}, AmountFen: 500},
			{Label: "60 岁以上", AgeMin: 60, AmountFen: 200}}}); err != nil && y == now.Year() {
			return err
		}
		if now.AddDate(0, 0, -21).Year() == now.Year() {
			break
		}
	}
	sc := access.Subtree(county)
	t := db.T(s.Now())
	monday, _ := time.ParseInLocation("2006-01-02", Monday(now), cstZone())
	first := monday.AddDate(0, 0, -14)
	today := now.Format("2006-01-02")
	cutoff := now.AddDate(-MealAge, 0, 0).Format("2006-01-02")
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_canteens (id, facility_id, county, division_code, name, provider_id, created_by, created_at)
			SELECT 'demo-canteen-' || f.id, f.id, $1, f.division_code, f.name, COALESCE((SELECT MIN(a.provider_id) FROM care_provider_areas a WHERE a.community = f.division_code), ''), 'demo.officer', $2
			FROM registry_facility_cards f WHERE f.division_code >= $3 AND f.division_code < $4 AND f.category = 'elderly_canteen' AND f.status = 'open'`, county, t, sc.Lo, sc.Hi); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_canteen_areas (canteen_id, community) SELECT id, division_code FROM care_canteens WHERE county = $1`, county); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_meal_enrolments (id, canteen_id, resident_id, household_id, division_code, surname, mode, active, enrolled_by, created_at, ended_by, ended_at)
			SELECT 'demo-enrol-' || q.id, q.canteen_id, q.id, q.household_id, q.division_code, q.surname, CASE WHEN q.rn % 80 = 0 THEN 'delivery' ELSE 'dine_in' END, TRUE, 'demo.worker', $1, '', NULL
			FROM (SELECT p.id, p.household_id, p.division_code, p.surname, c.id AS canteen_id, ROW_NUMBER() OVER (ORDER BY p.id) AS rn
				FROM registry_people p JOIN care_canteens c ON c.division_code = p.division_code AND c.county = $2
				WHERE p.birth_date <= $3 AND p.division_code >= $4 AND p.division_code < $5) q WHERE q.rn % 20 = 0`, t, county, cutoff, sc.Lo, sc.Hi); err != nil {
			return err
		}
		rules := map[string]*Rule{}
		for d, i := first, 0; d.Before(monday.AddDate(0, 0, 7)); d, i = d.AddDate(0, 0, 1), i+1 {
			if d.Weekday() == time.Sunday {
				continue
			}
			day := d.Format("2006-01-02")
			dishes := demoDishes[i%len(demoDishes)]
			menu := dishes[0] + "\n" + dishes[1] + "\n" + dishes[2] + "\n" + dishes[3]
			if _, err := tx.ExecContext(ctx, `INSERT INTO care_menus (canteen_id, served_on, sitting, dishes, price_fen, published_by, published_at)
				SELECT id, $1, 'lunch', $2, 1500, 'demo.officer', $3 FROM care_canteens WHERE county = $4`, day, menu, t, county); err != nil {
				return err
			}
			if d.Weekday() != time.Saturday {
				if _, err := tx.ExecContext(ctx, `INSERT INTO care_menus (canteen_id, served_on, sitting, dishes, price_fen, published_by, published_at)
					SELECT id, $1, 'dinner', $2, 1200, 'demo.officer', $3 FROM care_canteens WHERE county = $4`, day, dishes[1]+"\n"+dishes[3], t, county); err != nil {
					return err
				}
			}
			if day >= today || d.Weekday() == time.Saturday {
				continue
			}
			m := day[:7]
			if _, ok := rules[m]; !ok {
				var err error
				if rules[m], err = s.mealRuleFor(ctx, tx, county, m); err != nil {
					return err
				}
			}
			subsidy, ruleID, args := "0", "", []any{}
			if r := rules[m]; r != nil {
				subsidy, args = amountSQL(*r, m, 6)
				ruleID = r.ID
			}
			// Half the diners eat on a given day: alternate days by the
			// last character of their id.
			half := "('0','2','4','6','8','a','c','e')"
			if i%2 == 1 {
				half = "('1','3','5','7','9','b','d','f')"
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO care_meals (id, canteen_id, enrolment_id, resident_id, household_id, division_code, surname, served_on, sitting, mode, month, county, provider_id,
				amount_fen, subsidy_fen, copay_fen, rule_id, source, recorded_by, settlement_id, created_at)
				SELECT 'demo-meal-' || q.id || '-' || $1, q.canteen_id, q.id, q.resident_id, q.household_id, q.division_code, q.surname, $1, 'lunch', q.mode, $2, $3, q.provider_id,
					1500, q.subsidy, 1500 - q.subsidy, $4, 'tick', 'demo.worker', '', $5
				FROM (SELECT e.id, e.canteen_id, e.resident_id, e.household_id, e.division_code, e.surname, e.mode, c.provider_id, `+subsidy+` AS subsidy
					FROM care_meal_enrolments e JOIN care_canteens c ON c.id = e.canteen_id JOIN registry_people p ON p.id = e.resident_id
					WHERE c.county = $3 AND e.active AND substr(e.resident_id, length(e.resident_id), 1) IN `+half+`) q`,
				append([]any{day, m, county, ruleID, t}, args...)...); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO care_meal_units (community, month) SELECT DISTINCT division_code, month FROM care_meals WHERE county = $1`, county)
		return err
	})
}
