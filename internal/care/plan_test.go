package care_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/care"
	"linli/internal/db"
)

// The order list reads its index for each role, on a skewed fixture: one
// provider holding most orders, most of them in community A, most of them
// confirmed; the other provider's few in community B.
func TestOrderListUsesItsIndexes(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		d := e.App.DB
		at := time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC)
		err := d.Tx(t.Context(), func(tx *sql.Tx) error {
			var rows []string
			var args []any
			flush := func() error {
				if len(rows) == 0 {
					return nil
				}
				_, err := tx.Exec(`INSERT INTO care_orders (id, division_code, resident_id, household_id, surname, provider_id, item_id, status, wanted_at, note, ordered_by, staff_id,
					minutes, month, amount_fen, subsidy_fen, copay_fen, rating, rating_note, dispute_note, settlement_id, created_at, updated_at) VALUES `+strings.Join(rows, ", "), args...)
				rows, args = rows[:0], args[:0]
				return err
			}
			for i := range 4000 {
				provider, div, status, staff := w.p.ID, communityA, care.StatusConfirmed, w.wang.ID
				if i%10 == 9 {
					provider, div, staff = w.q.ID, communityB, ""
				} else if i%4 == 3 {
					div = fmt.Sprintf("3301060020%02d", 10+i%30)
				}
				if i%13 == 0 {
					status = care.StatusOrdered
				}
				t := db.T(at.Add(time.Duration(i) * time.Minute))
				rows = append(rows, d.Values(len(args), 23))
				args = append(args, fmt.Sprintf("o-%05d", i), div, fmt.Sprintf("r-%d", i%700), fmt.Sprintf("h-%d", i%500), "张", provider, w.bath.ID, status, "2026-11-02T09:00", "", "cw.a", staff,
					60, "2026-11", 8000, 8000, 0, 0, "", "", "", t, t)
				if len(rows) == 200 {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			return flush()
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Analyze(t.Context(), d, "care_orders", "care_providers", "care_items", "care_staff"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name  string
			p     *access.Principal
			index string
		}{
			{"the provider's manager", &access.Principal{Username: "prov.mgr", Role: access.Provider, Division: townA}, "care_orders_"},
			{"a care worker", &access.Principal{Username: "staff.wang", Role: access.Provider, Division: townA}, "care_orders_"},
			{"a community worker", &access.Principal{Username: "cw.a", Role: access.CommunityWorker, Division: communityA}, "care_orders_"},
			{"the county", &access.Principal{Username: "officer.county", Role: access.Officer, Division: county}, "care_orders_"},
		} {
			t.Run(c.name+" reads "+c.index, func(t *testing.T) {
				q, args, err := w.cs.OrdersQuery(access.With(t.Context(), c.p), care.OrderFilter{Limit: 20})
				if err != nil {
					t.Fatal(err)
				}
				plan, err := d.Explain(t.Context(), q, args, db.NoSeqScan())
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plan, c.index) {
					t.Errorf("the plan does not read %s:\n%s", c.index, plan)
				}
				for _, line := range strings.Split(plan, "\n") {
					step := strings.TrimSpace(line)
					if strings.Contains(step, "Seq Scan on care_orders") || step == "SCAN o" || strings.HasPrefix(step, "SCAN o ") || strings.HasPrefix(step, "SCAN care_orders") {
						t.Errorf("the plan scans the orders: %q\n%s", step, plan)
					}
				}
			})
		}
		t.Run("the manager's first page is its newest orders", func(t *testing.T) {
			os, err := w.cs.Orders(as("prov.mgr", access.Provider, townA), care.OrderFilter{Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(os) != 3 || os[0].ID != "o-03998" || os[1].ID != "o-03997" || os[2].ID != "o-03996" {
				t.Fatalf("%v", []string{os[0].ID, os[1].ID, os[2].ID})
			}
		})
	})
}
