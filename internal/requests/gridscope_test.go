package requests_test

import (
	"reflect"
	"sort"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
)

// TestGridWorkerSeesOwnGridsRequests: a grid worker reads the requests of
// the resident accounts living in their grids (through the registry's
// published registry_grid_accounts), those dispatched to them by name and
// those they recorded; another grid's requests are not found. The
// community worker still sees the whole community.
func TestGridWorkerSeesOwnGridsRequests(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e) // res1, res2: residents of community A; workerA its community worker
		e.User("grid.a", access.GridWorker, communityA)
		e.User("grid.b", access.GridWorker, communityA)
		wa := e.Login("workerA")
		gridOf(t, wa, "G01", "grid.a", "res1", "33010619610301901X")
		gridOf(t, wa, "G02", "grid.b", "res2", "330106196203029020")
		res1, res2, ga, gb := e.Login("res1"), e.Login("res2"), e.Login("grid.a"), e.Login("grid.b")
		a := submit(t, res1, map[string]any{"category": "policy", "description": "一网格居民的问题"})
		b := submit(t, res2, map[string]any{"category": "policy", "description": "二网格居民的问题"})
		ids := func(c *apptest.Client) []string {
			t.Helper()
			out := []string{}
			for _, r := range apptest.JSON[list](t, c, "GET", "/api/v1/requests", nil, 200).Items {
				out = append(out, r.ID)
			}
			sort.Strings(out)
			return out
		}
		sorted := func(v ...string) []string { sort.Strings(v); return v }

		t.Run("each grid worker lists and reads their own grid's request only", func(t *testing.T) {
			for _, c := range []struct {
				name        string
				who         *apptest.Client
				own, others request
			}{{"grid.a", ga, a, b}, {"grid.b", gb, b, a}} {
				got := ids(c.who)
				seen := 0
				for _, id := range got {
					if id == c.others.ID {
						seen++
					}
				}
				t.Logf("%s: sees %d of the other grid's 1 request", c.name, seen)
				if !reflect.DeepEqual(got, []string{c.own.ID}) {
					t.Errorf("%s lists %v, want [%s]", c.name, got, c.own.ID)
				}
				if r := get(t, c.who, c.own.ID); r.ID != c.own.ID {
					t.Errorf("%s reads %s", c.name, r.ID)
				}
				for _, path := range []string{"/api/v1/requests/" + c.others.ID, "/api/v1/requests/" + c.others.Number} {
					if st := status(t, c.who, path); st != 404 {
						t.Errorf("%s reads the other grid's %s: %d, want 404", c.name, path, st)
					}
				}
				refuse(t, c.who, c.others.ID, "accept", nil, 404)
			}
		})
		t.Run("a grid worker's metrics count their grids' requests", func(t *testing.T) {
			if m := apptest.JSON[metrics](t, ga, "GET", "/api/v1/requests/metrics", nil, 200); m.Received != 1 {
				t.Fatalf("grid.a's metrics: %+v", m)
			}
		})
		t.Run("the community worker sees both", func(t *testing.T) {
			if got := ids(wa); !reflect.DeepEqual(got, sorted(a.ID, b.ID)) {
				t.Fatalf("community worker lists %v", got)
			}
		})
		t.Run("a request the grid worker recorded is theirs", func(t *testing.T) {
			call := submit(t, ga, map[string]any{"category": "policy", "description": "网格员代录的来电", "channel": "walkin"})
			if len(call.Duplicates) != 1 || call.Duplicates[0].ID != a.ID {
				t.Fatalf("duplicates suggested to grid.a: %+v", call.Duplicates)
			}
			if got := ids(ga); !reflect.DeepEqual(got, sorted(a.ID, call.ID)) {
				t.Fatalf("grid.a lists %v", got)
			}
			if st := status(t, gb, "/api/v1/requests/"+call.ID); st != 404 {
				t.Fatalf("grid.b reads grid.a's call: %d", st)
			}
		})
		t.Run("a request dispatched to the grid worker by name is theirs", func(t *testing.T) {
			act(t, wa, b.ID, "accept", nil)
			act(t, wa, b.ID, "assign", map[string]any{"assignee": "grid.a"})
			if r := get(t, ga, b.ID); r.Assignee != "grid.a" {
				t.Fatalf("assigned request: %+v", r)
			}
		})
	})
}

// gridOf has the community worker c make a grid of community A with one
// grid worker and one household, where the resident account lives.
func gridOf(t *testing.T, c *apptest.Client, code, worker, resident, idNumber string) {
	t.Helper()
	type idOnly struct {
		ID string `json:"id"`
	}
	grid := apptest.JSON[idOnly](t, c, "POST", "/api/v1/grids", map[string]any{"division": communityA, "code": code, "name": code + " 网格", "workers": []string{worker}}, 201).ID
	hh := apptest.JSON[idOnly](t, c, "POST", "/api/v1/households", map[string]any{"division": communityA, "household_no": code + "-1", "address": code + " 1 号", "grid_id": grid}, 201).ID
	apptest.JSON[idOnly](t, c, "POST", "/api/v1/residents", map[string]any{"household_id": hh, "name": "居民" + code, "id_number": idNumber, "username": resident}, 201)
}
