package registry_test

import (
	"net/url"
	"reflect"
	"sort"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/registry"
	"linli/internal/web"
)

// TestGridWorkerSeesOwnGrid: a grid worker reads the households and
// residents of the grids they are assigned to and nothing else of the
// community; residents in no grid are the community worker's.
func TestGridWorkerSeesOwnGrid(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e) // w.hh and w.res are in no grid
		for _, u := range []string{"grid.a", "grid.b", "grid.none"} {
			e.User(u, access.GridWorker, communityA)
		}
		g1 := apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/grids", map[string]any{"division": communityA, "code": "G01", "name": "一网格", "workers": []string{"grid.a"}}, 201).ID
		g2 := apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/grids", map[string]any{"division": communityA, "code": "G02", "name": "二网格", "workers": []string{"grid.b"}}, 201).ID
		household := func(no, grid string) string {
			return apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/households", map[string]any{"division": communityA, "household_no": no, "address": no + " 号", "grid_id": grid}, 201).ID
		}
		h1, h2 := household("G1-1", g1), household("G2-1", g2)
		r1 := apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/residents", map[string]any{"household_id": h1, "name": "甲", "id_number": idFor(1), "phone": "13957100001"}, 201).ID
		r2 := apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/residents", map[string]any{"household_id": h2, "name": "乙", "id_number": idFor(2), "phone": "13957100002"}, 201).ID
		for _, r := range []string{r1, r2} {
			apptest.JSON[registry.TagRef](t, w.wa, "POST", "/api/v1/residents/"+r+"/tags", registry.TagInput{Tag: "living_alone"}, 201)
		}
		ga, gb, gn := e.Login("grid.a"), e.Login("grid.b"), e.Login("grid.none")
		residentsOf := func(c *apptest.Client, query string) []string {
			t.Helper()
			ids := residentIDs(apptest.JSON[registry.ResidentList](t, c, "GET", "/api/v1/residents?"+query, nil, 200).Items)
			sort.Strings(ids)
			return ids
		}
		householdsOf := func(c *apptest.Client, query string) []string {
			t.Helper()
			out := []string{}
			for _, h := range apptest.JSON[web.List[registry.Household]](t, c, "GET", "/api/v1/households?"+query, nil, 200).Items {
				out = append(out, h.ID)
			}
			return out
		}
		sorted := func(ids ...string) []string { sort.Strings(ids); return ids }

		t.Run("a grid worker lists the households and residents of their grid only", func(t *testing.T) {
			for _, c := range []struct {
				client   *apptest.Client
				hh, res  string
				otherHH  string
				otherRes string
			}{{ga, h1, r1, h2, r2}, {gb, h2, r2, h1, r1}} {
				if got := householdsOf(c.client, ""); !reflect.DeepEqual(got, []string{c.hh}) {
					t.Fatalf("households %v, want %s", got, c.hh)
				}
				if got := residentsOf(c.client, ""); !reflect.DeepEqual(got, []string{c.res}) {
					t.Fatalf("residents %v, want %s", got, c.res)
				}
				if got := residentsOf(c.client, "household="+c.otherHH); len(got) != 0 {
					t.Fatalf("another grid's household by filter: %v", got)
				}
			}
		})
		t.Run("another grid's, or no grid's, records are not found", func(t *testing.T) {
			for _, path := range []string{"/api/v1/residents/" + r2, "/api/v1/households/" + h2, "/api/v1/residents/" + w.res, "/api/v1/households/" + w.hh, "/api/v1/grids/" + g2} {
				refusal(t, ga, "GET", path, nil, 404)
			}
			refusal(t, ga, "POST", "/api/v1/residents/"+r2+"/reveal", registry.RevealRequest{Field: "phone", Reason: "上门走访"}, 404)
			if got := residentsOf(ga, "q="+idFor(2)); len(got) != 0 {
				t.Fatalf("a search by another grid's ID number found %v", got)
			}
			if got := residentsOf(ga, "q="+url.QueryEscape("乙")); len(got) != 0 {
				t.Fatalf("a search by name found %v", got)
			}
		})
		t.Run("the grid worker reveals a phone in their own grid", func(t *testing.T) {
			if v := apptest.JSON[registry.RevealResponse](t, ga, "POST", "/api/v1/residents/"+r1+"/reveal", registry.RevealRequest{Field: "phone", Reason: "上门走访"}, 200); v.Value != "13957100001" {
				t.Fatalf("reveal %+v", v)
			}
		})
		t.Run("their grid list and my-grid view hold their grid only", func(t *testing.T) {
			gs := apptest.JSON[web.List[registry.Grid]](t, ga, "GET", "/api/v1/grids", nil, 200)
			if len(gs.Items) != 1 || gs.Items[0].ID != g1 || gs.Total != 1 {
				t.Fatalf("grids %+v", gs)
			}
			mine := apptest.JSON[registry.MyGridView](t, ga, "GET", "/api/v1/grids/mine", nil, 200)
			if len(mine.Households) != 1 || mine.Households[0].ID != h1 || len(mine.Tagged) != 1 || mine.Tagged[0].ID != r1 {
				t.Fatalf("my grid %+v", mine)
			}
		})
		t.Run("exports follow the same scope", func(t *testing.T) {
			if x := export(t, ga, "residents?format=csv"); len(x.rows) != 1 || x.rows[0][2] != "甲" {
				t.Fatalf("residents export %q", x.rows)
			}
			if x := export(t, ga, "households?format=csv"); len(x.rows) != 1 || x.rows[0][1] != "G1-1" {
				t.Fatalf("households export %q", x.rows)
			}
		})
		t.Run("a grid worker with no grid sees no household or resident", func(t *testing.T) {
			if h, r := householdsOf(gn, ""), residentsOf(gn, ""); len(h)+len(r) != 0 {
				t.Fatalf("households %v, residents %v", h, r)
			}
		})
		t.Run("the community worker sees every grid and the residents in none", func(t *testing.T) {
			if got := residentsOf(w.wa, ""); !reflect.DeepEqual(got, sorted(w.res, r1, r2)) {
				t.Fatalf("community worker's residents %v", got)
			}
		})
		t.Run("the published view names the resident accounts of a grid worker's grids", func(t *testing.T) {
			e.User("jia", access.Resident, communityA)
			e.User("zhang", access.Resident, communityA)
			apptest.JSON[registry.Resident](t, w.wa, "PUT", "/api/v1/residents/"+r1, map[string]any{"name": "甲", "username": "jia"}, 200)
			apptest.JSON[registry.Resident](t, w.wa, "PUT", "/api/v1/residents/"+w.res, map[string]any{"name": "张晓梅", "relation": "户主", "username": "zhang"}, 200)
			rows, err := db.Collect(t.Context(), e.App.DB.R, func(r db.Scanner) ([2]string, error) {
				var x [2]string
				err := r.Scan(&x[0], &x[1])
				return x, err
			}, `SELECT grid_worker, resident FROM registry_grid_accounts ORDER BY grid_worker, resident`)
			if err != nil || !reflect.DeepEqual(rows, [][2]string{{"grid.a", "jia"}}) {
				t.Fatalf("grid accounts %v (%v)", rows, err)
			}
		})
		t.Run("a worker moved off a grid loses it at once", func(t *testing.T) {
			apptest.JSON[idOnly](t, w.wa, "PUT", "/api/v1/grids/"+g1, map[string]any{"code": "G01", "name": "一网格", "workers": []string{"grid.b"}}, 200)
			if got := residentsOf(ga, ""); len(got) != 0 {
				t.Fatalf("after the move grid.a sees %v", got)
			}
			if got := residentsOf(gb, ""); !reflect.DeepEqual(got, sorted(r1, r2)) {
				t.Fatalf("grid.b, now on both grids, sees %v", got)
			}
		})
	})
}
