package care

import (
	"context"
	"net/http"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/web"
)

// MealBill is a household's meals of one month with what the county paid
// and what the household pays: the resident's own record and bill.
type MealBill struct {
	Month      string     `json:"month"`
	Months     []string   `json:"months"` // months with meals, newest first (at most 24)
	Meals      []BillMeal `json:"meals"`
	Count      int        `json:"count"`
	AmountFen  int64      `json:"amount_fen"`
	SubsidyFen int64      `json:"subsidy_fen"`
	CopayFen   int64      `json:"copay_fen"`
}

// BillMeal is one meal on a bill, with its canteen's name.
type BillMeal struct {
	Meal
	Canteen string `json:"canteen"`
}

// maxBillMeals bounds a month's bill: three sittings a day for a
// household of five is under 500.
const maxBillMeals = 500

// MyMeals is the signed-in resident's household's bill for a month (""
// the newest month with meals, or this month when none).
func (s *Store) MyMeals(ctx context.Context, m string) (MealBill, error) {
	b := MealBill{Months: []string{}, Meals: []BillMeal{}}
	p := access.From(ctx)
	if p == nil || p.Role != access.Resident {
		return b, fault.Forbidden(fault.M("就餐账单供居民本人查看", "the meal bill is for residents"))
	}
	if m != "" {
		if err := validMonth("month", m); err != nil {
			return b, err
		}
	}
	r, err := s.residentOf(ctx, p)
	if err != nil {
		return b, err
	}
	months, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT DISTINCT month FROM care_meals WHERE household_id = $1 ORDER BY month DESC LIMIT 24`, r.Household)
	if err != nil {
		return b, err
	}
	if months != nil {
		b.Months = months
	}
	switch {
	case m != "":
		b.Month = m
	case len(months) > 0:
		b.Month = months[0]
	default:
		b.Month = month(s.Now())
	}
	first, last := monthBounds(b.Month)
	meals, err := db.Collect(ctx, s.DB.R, func(sc db.Scanner) (BillMeal, error) {
		var bm BillMeal
		err := sc.Scan(&bm.ID, &bm.CanteenID, &bm.ResidentID, &bm.Name, &bm.Division, &bm.Date, &bm.Sitting, &bm.Mode, &bm.AmountFen, &bm.SubsidyFen, &bm.CopayFen, &bm.RuleID, &bm.Source, &bm.Canteen)
		bm.Name += "**"
		return bm, err
	}, `SELECT `+mealCols+`, c.name FROM care_meals m JOIN care_canteens c ON c.id = m.canteen_id
		WHERE m.household_id = $1 AND m.served_on >= $2 AND m.served_on <= $3 ORDER BY m.served_on, m.sitting, m.id LIMIT `+itoa(maxBillMeals), r.Household, first, last)
	if err != nil {
		return b, err
	}
	for _, x := range meals {
		b.Meals = append(b.Meals, x)
		b.Count++
		b.AmountFen += x.AmountFen
		b.SubsidyFen += x.SubsidyFen
		b.CopayFen += x.CopayFen
	}
	return b, nil
}

// Amount, Subsidy and Copay are the bill's totals in yuan.
func (b MealBill) Amount() string  { return Yuan(b.AmountFen) }
func (b MealBill) Subsidy() string { return Yuan(b.SubsidyFen) }
func (b MealBill) Copay() string   { return Yuan(b.CopayFen) }

// Price and Copay are a meal's price and its own part, in yuan.
func (m BillMeal) Price() string { return Yuan(m.AmountFen) }
func (m BillMeal) Copay() string { return Yuan(m.CopayFen) }

func (h *Handlers) registerMyMeals(rt *web.Router) {
	rt.API("GET /api/v1/care/my-meals", web.Op{Summary: "我家的助餐记录与自付账单（居民，按月）/ My household's meals and co-payment bill (residents, by month)", Tag: "care",
		Response: MealBill{}, Params: []web.Param{{Name: "month", Description: "YYYY-MM (default: the newest month with meals)"}}},
		func(w http.ResponseWriter, r *http.Request) error {
			b, err := h.Store.MyMeals(r.Context(), r.URL.Query().Get("month"))
			if err != nil {
				return err
			}
			web.WriteJSON(w, 200, b)
			return nil
		})
	rt.Page("GET /care/meals/mine", func(w http.ResponseWriter, r *http.Request) {
		b, err := h.Store.MyMeals(r.Context(), r.URL.Query().Get("month"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.Pages.Render(w, r, 200, "mymeals", web.View{Title: web.M("我的助餐记录与账单", "My meals and bill"), Data: b})
	})
}
