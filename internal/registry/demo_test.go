package registry_test

import (
	"context"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/registry"
)

// TestDemo seeds one community, checks every role's view of it and that
// the raw store holds none of the demo's ID numbers or phones in clear.
func TestDemo(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		accts, err := e.App.SeedDemo(t.Context(), module.DemoOptions{Seed: 7, Scale: "community"})
		if err != nil {
			t.Fatal(err)
		}
		n := e.Count(`SELECT COUNT(*) FROM reg_residents`)
		s := storeOf(e)
		as := func(u string) context.Context {
			t.Helper()
			for _, a := range accts {
				if a.Username == u {
					return access.With(t.Context(), &access.Principal{Username: u, Role: a.Role, Division: a.Division})
				}
			}
			t.Fatalf("no demo account %s", u)
			return nil
		}

		t.Run("one community gets a population of Zhejiang's age structure", func(t *testing.T) {
			if n < 1000 {
				t.Fatalf("demo made %d residents", n)
			}
			aged := e.Count(`SELECT COUNT(*) FROM reg_residents WHERE birth_date <= '1966-11-29'`)
			if share := float64(aged) / float64(n); share < 0.14 || share > 0.26 {
				t.Fatalf("share aged 60+ is %.2f", share)
			}
		})
		t.Run("a second seeding changes nothing", func(t *testing.T) {
			if _, err := e.App.SeedDemo(t.Context(), module.DemoOptions{Seed: 7, Scale: "community"}); err != nil {
				t.Fatal(err)
			}
			if m := e.Count(`SELECT COUNT(*) FROM reg_residents`); m != n {
				t.Fatalf("second seeding: %d → %d residents", n, m)
			}
		})
		t.Run("the raw store holds no demo ID number or phone in clear", func(t *testing.T) {
			type sealed struct{ id, phone string }
			rows, err := db.Collect(t.Context(), e.App.DB.R, func(r db.Scanner) (sealed, error) {
				var x sealed
				err := r.Scan(&x.id, &x.phone)
				return x, err
			}, `SELECT id_enc, phone_enc FROM reg_residents`)
			if err != nil {
				t.Fatal(err)
			}
			var secrets []string
			for _, x := range rows {
				id, err := e.App.Keys.Open(x.id, "reg_residents/id_number")
				if err != nil || len(id) != 18 {
					t.Fatalf("decrypt: %q %v", id, err)
				}
				secrets = append(secrets, id)
				if x.phone != "" {
					ph, err := e.App.Keys.Open(x.phone, "reg_residents/phone")
					if err != nil {
						t.Fatal(err)
					}
					secrets = append(secrets, ph)
				}
			}
			dump := rawDump(t, e, "reg_residents", "reg_households", "reg_personnel", "reg_resident_tags", "audit_log")
			if leaked := findAny(dump, secrets); leaked != "" {
				t.Fatalf("raw store contains demo value %s in clear", leaked)
			}
		})
		t.Run("a worker lists its community masked; another community's worker sees none", func(t *testing.T) {
			rs, total, err := s.ListResidents(as("demo.worker"), registry.ResidentFilter{}, 20)
			if err != nil || total != min(n, registry.CountCap+1) || len(rs) != 20 || rs[0].IDNumber[6:14] != "********" {
				t.Fatalf("worker list: %d of %d, %v", total, n, err)
			}
			if _, total, err := s.ListResidents(as("demo.worker2"), registry.ResidentFilter{}, 20); err != nil || total != 0 {
				t.Fatalf("worker of another community sees %d residents (%v)", total, err)
			}
		})
		t.Run("the county summary counts the tags and splits them by township", func(t *testing.T) {
			sum, err := s.Summary(as("demo.officer"), county, true)
			if err != nil {
				t.Fatal(err)
			}
			counts := map[string]int64{}
			for _, c := range sum.Totals {
				counts[c.Tag] = c.Count
			}
			if counts["elderly_80"] == 0 || counts["elderly_80"] != int64(e.Count(`SELECT COUNT(*) FROM reg_resident_tags WHERE tag = 'elderly_80'`)) || len(sum.Children) == 0 {
				t.Fatalf("summary: %+v", sum)
			}
			_, err = s.Summary(as("demo.street"), county, false)
			wantFault(t, err, fault.CodeNotFound, "区划不在您的管辖范围内")
		})
		t.Run("the grid worker has a grid with households", func(t *testing.T) {
			gs, err := s.MyGrids(as("demo.grid"))
			if err != nil || len(gs) != 1 || gs[0].Households == 0 || len(gs[0].Workers) != 1 || gs[0].Workers[0] != "demo.grid" {
				t.Fatalf("grid worker's grids: %+v %v", gs, err)
			}
		})
		t.Run("the demo resident sees one record, facilities and what is near", func(t *testing.T) {
			mine, _, err := s.ListResidents(as("demo.resident"), registry.ResidentFilter{}, 20)
			if err != nil || len(mine) != 1 || mine[0].Relation != "户主" {
				t.Fatalf("resident's own record: %+v %v", mine, err)
			}
			fs, total, err := s.ListFacilities(as("demo.resident"), registry.Filter{}, 200)
			if err != nil || total < 8 {
				t.Fatalf("facilities: %d %v", total, err)
			}
			near, err := s.Nearby(as("demo.worker"), fs[0].Lon, fs[0].Lat, 500, "", 50)
			if err != nil || len(near) == 0 || near[0].DistanceM != 0 {
				t.Fatalf("nearby: %+v %v", near, err)
			}
		})
		t.Run("the demo's organisations run its care facilities and its staff carry role attributes", func(t *testing.T) {
			ctx := as("demo.worker")
			orgs, _, err := s.ListOrganizations(ctx, registry.Filter{Category: "property"}, 10)
			if err != nil || len(orgs) != 1 || orgs[0].Facilities == 0 {
				t.Fatalf("property company: %+v %v", orgs, err)
			}
			ps, _, err := s.ListPersonnel(ctx, registry.Filter{Category: "volunteer"}, 1)
			if err != nil || len(ps) != 1 || ps[0].Attrs["volunteer_no"] == nil {
				t.Fatalf("volunteers: %+v %v", ps, err)
			}
		})
	})
}

func TestDemoScale(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want float64
	}{{"", registry.DefaultScale}, {"community", -1}, {"county", 1}, {"full", 1}, {"0.5", 0.5}} {
		if got, err := registry.ParseScale(c.in); err != nil || got != c.want {
			t.Errorf("ParseScale(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"0", "1.5", "-0.2", "half"} {
		_, err := registry.ParseScale(bad)
		if fe, ok := fault.As(err); !ok || fe.Code != fault.CodeInvalid || len(fe.Fields) != 1 || fe.Fields[0].Field != "scale" {
			t.Errorf("ParseScale(%q): %v, want an invalid scale", bad, err)
		}
	}
}
