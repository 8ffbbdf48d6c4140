package registry_test

import (
	"context"
	"reflect"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/fault"
	"linli/internal/registry"
)

// resources are records of every scoped table in two communities.
type resources struct {
	facA, facA2, facB    registry.Facility
	orgA, orgA2, orgB    registry.Organization
	perA, perA2, perB    registry.Person
	gridA, gridA2, gridB registry.Grid
}

// seedResources writes the records as a county officer.
func seedResources(t *testing.T, e *apptest.Env) resources {
	t.Helper()
	s, ctx := storeOf(e), as(access.Officer, county)
	var r resources
	fac := func(div, code, name, cat string) registry.Facility {
		return must[registry.Facility](t)(s.CreateFacility(ctx, registry.FacilityInput{Division: div, Code: code, Name: name, Category: cat, Lon: 120.147, Lat: 30.259}))
	}
	r.facA = fac(communityA, "F-A1", "上保卫生站", "health_station")
	r.facA2 = fac(communityA, "F-A2", "上保食堂", "elderly_canteen")
	r.facB = fac(communityB, "F-B1", "石灰桥食堂", "elderly_canteen")
	org := func(div, kind, name, regNo string) registry.Organization {
		return must[registry.Organization](t)(s.CreateOrganization(ctx, registry.OrganizationInput{Division: div, Kind: kind, Name: name, RegNo: regNo}))
	}
	r.orgA = org(communityA, "social_org", "上保互助会", "51330106MJ0000001X")
	r.orgA2 = org(communityA, "property", "上保物业_100%", "")
	r.orgB = org(communityB, "social_org", "石灰桥互助会", "51330106MJ0000002X")
	per := func(div, name, role, phone string) registry.Person {
		return must[registry.Person](t)(s.CreatePerson(ctx, registry.PersonInput{Division: div, Name: name, Roles: []string{role}, Phone: phone}))
	}
	r.perA = per(communityA, "李网格", "grid_worker", "13957100001") // 李 before 王 by code point and by pinyin
	r.perA2 = per(communityA, "王医生", "gp", "13957100002")
	r.perB = per(communityB, "王志愿", "volunteer", "13957100003")
	grid := func(div, code, name string) registry.Grid {
		return must[registry.Grid](t)(s.CreateGrid(ctx, registry.GridInput{Division: div, Code: code, Name: name}))
	}
	r.gridA2 = grid(communityA, "G02", "二网格")
	r.gridA = grid(communityA, "G01", "一网格")
	r.gridB = grid(communityB, "G01", "石灰桥一网格")
	return r
}

// lister is one table's list call, reduced to the ids it returns.
type lister struct {
	name string
	list func(ctx context.Context, f registry.Filter, cursor string, limit int) ([]string, int, string, error)
	get  func(ctx context.Context, id string) (string, error)
}

// pageIDs are the ids of a page, its total and its next cursor.
func pageIDs[T any](id func(T) string) func(registry.Page[T], error) ([]string, int, string, error) {
	return func(p registry.Page[T], err error) ([]string, int, string, error) {
		out := []string{}
		for _, it := range p.Items {
			out = append(out, id(it))
		}
		return out, p.Total, p.Next, err
	}
}

func listers(s *registry.Store) []lister {
	return []lister{
		{"facilities", func(ctx context.Context, f registry.Filter, c string, l int) ([]string, int, string, error) {
			return pageIDs(func(x registry.Facility) string { return x.ID })(s.PageFacilities(ctx, f, c, l))
		}, func(ctx context.Context, id string) (string, error) {
			x, err := s.GetFacility(ctx, id)
			return x.ID, err
		}},
		{"organizations", func(ctx context.Context, f registry.Filter, c string, l int) ([]string, int, string, error) {
			return pageIDs(func(x registry.Organization) string { return x.ID })(s.PageOrganizations(ctx, f, c, l))
		}, func(ctx context.Context, id string) (string, error) {
			x, err := s.GetOrganization(ctx, id)
			return x.ID, err
		}},
		{"personnel", func(ctx context.Context, f registry.Filter, c string, l int) ([]string, int, string, error) {
			return pageIDs(func(x registry.Person) string { return x.ID })(s.PagePersonnel(ctx, f, c, l))
		}, func(ctx context.Context, id string) (string, error) { x, err := s.GetPerson(ctx, id); return x.ID, err }},
		{"grids", func(ctx context.Context, f registry.Filter, c string, l int) ([]string, int, string, error) {
			return pageIDs(func(x registry.Grid) string { return x.ID })(s.PageGrids(ctx, f, c, l))
		}, func(ctx context.Context, id string) (string, error) { x, err := s.GetGrid(ctx, id); return x.ID, err }},
	}
}

// TestScopedTables checks the one list-and-look-up helper behind
// facilities, organisations, personnel and grids: scope inside the SQL,
// filters, search, paging, order, the reader check and the not-found
// answer of each table.
func TestScopedTables(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		r := seedResources(t, e)
		s := storeOf(e)
		ls := listers(s)
		worker, officer := as(access.CommunityWorker, communityA), as(access.Officer, county)
		// In each table's order: division, then category and name
		// (facilities), name (organisations, personnel) or code (grids).
		inA := map[string][]string{
			"facilities":    {r.facA2.ID, r.facA.ID}, // elderly_canteen before health_station
			"organizations": {r.orgA.ID, r.orgA2.ID},
			"personnel":     {r.perA.ID, r.perA2.ID},
			"grids":         {r.gridA.ID, r.gridA2.ID},
		}
		inB := map[string][]string{"facilities": {r.facB.ID}, "organizations": {r.orgB.ID}, "personnel": {r.perB.ID}, "grids": {r.gridB.ID}}
		check := func(t *testing.T, l lister, ctx context.Context, f registry.Filter, want []string) {
			t.Helper()
			got, total, _, err := l.list(ctx, f, "", 50)
			if err != nil || !reflect.DeepEqual(got, want) || total != len(want) {
				t.Fatalf("%s %+v: %v (total %d) %v, want %v", l.name, f, got, total, err, want)
			}
		}

		t.Run("a community worker lists its own community in order", func(t *testing.T) {
			for _, l := range ls {
				check(t, l, worker, registry.Filter{}, inA[l.name])
			}
		})
		t.Run("a county officer lists both communities and a division filter narrows them", func(t *testing.T) {
			for _, l := range ls {
				check(t, l, officer, registry.Filter{}, append(append([]string{}, inA[l.name]...), inB[l.name]...))
				check(t, l, officer, registry.Filter{Division: communityB}, inB[l.name])
				check(t, l, officer, registry.Filter{Division: "330106004"}, inB[l.name]) // 西溪街道, B's township
			}
		})
		t.Run("a division filter outside the scope finds nothing", func(t *testing.T) {
			for _, l := range ls {
				check(t, l, worker, registry.Filter{Division: communityB}, []string{})
			}
		})
		t.Run("a malformed division filter is refused naming the field", func(t *testing.T) {
			for _, l := range ls {
				_, _, _, err := l.list(worker, registry.Filter{Division: "3301x6"}, "", 10)
				fe := wantFault(t, err, fault.CodeInvalid, "区划代码格式不正确")
				if len(fe.Fields) != 1 || fe.Fields[0].Field != "division" {
					t.Fatalf("%s: fields %v", l.name, fe.Fields)
				}
			}
		})
		t.Run("the search matches part of the name with % and _ as plain characters", func(t *testing.T) {
			for _, c := range []struct {
				l    int
				q    string
				want []string
			}{
				{0, "食堂", []string{r.facA2.ID, r.facB.ID}},
				{1, "互助", []string{r.orgA.ID, r.orgB.ID}},
				{1, "_100%", []string{r.orgA2.ID}},
				{1, "%", []string{r.orgA2.ID}},
				{1, "物业_1", []string{r.orgA2.ID}},
				{1, "物业%", []string{}},
				{2, "医", []string{r.perA2.ID}},
				{3, "一网格", []string{r.gridA.ID, r.gridB.ID}},
			} {
				check(t, ls[c.l], officer, registry.Filter{Q: c.q}, c.want)
			}
		})
		t.Run("the category filters each table by its own column and grids ignore it", func(t *testing.T) {
			check(t, ls[0], officer, registry.Filter{Category: "elderly_canteen"}, []string{r.facA2.ID, r.facB.ID})
			check(t, ls[1], officer, registry.Filter{Category: "property"}, []string{r.orgA2.ID})
			check(t, ls[2], officer, registry.Filter{Category: "gp"}, []string{r.perA2.ID})
			check(t, ls[2], officer, registry.Filter{Category: "grid_worker"}, []string{r.perA.ID}) // _ is a character here too
			check(t, ls[2], officer, registry.Filter{Category: "g"}, []string{})                    // a role, not a part of one
			check(t, ls[3], officer, registry.Filter{Category: "anything"}, []string{r.gridA.ID, r.gridA2.ID, r.gridB.ID})
		})
		t.Run("pages of one row follow each other by cursor and the total counts them all", func(t *testing.T) {
			for _, l := range ls {
				all := append(append([]string{}, inA[l.name]...), inB[l.name]...)
				var got []string
				cursor := ""
				for i := 0; i < 3; i++ {
					ids, total, next, err := l.list(officer, registry.Filter{}, cursor, 1)
					if err != nil || total != 3 || len(ids) != 1 || (next == "") != (i == 2) {
						t.Fatalf("%s page %d of 1: %v total %d next %q %v", l.name, i+1, ids, total, next, err)
					}
					got, cursor = append(got, ids...), next
				}
				if !reflect.DeepEqual(got, all) {
					t.Fatalf("%s by pages: %v, want %v", l.name, got, all)
				}
			}
		})
		t.Run("a cursor of another list or a forged one is refused naming the field", func(t *testing.T) {
			_, _, next, err := ls[0].list(officer, registry.Filter{}, "", 1)
			if err != nil || next == "" {
				t.Fatal(next, err)
			}
			for _, l := range ls[1:] {
				_, _, _, err := l.list(officer, registry.Filter{}, next, 1)
				fe := wantFault(t, err, fault.CodeInvalid, "翻页位置无效")
				if len(fe.Fields) != 1 || fe.Fields[0].Field != "cursor" {
					t.Fatalf("%s: fields %v", l.name, fe.Fields)
				}
			}
			_, _, _, err = ls[0].list(officer, registry.Filter{}, next[:len(next)-2]+"xx", 1)
			wantFault(t, err, fault.CodeInvalid, "翻页位置无效")
		})
		t.Run("a look-up in scope finds the record and out of scope says not found", func(t *testing.T) {
			msgs := map[string]string{"facilities": "设施不存在", "organizations": "组织不存在", "personnel": "人员不存在", "grids": "网格不存在"}
			for _, l := range ls {
				id := inA[l.name][0]
				if got, err := l.get(worker, id); err != nil || got != id {
					t.Fatalf("%s in scope: %q %v", l.name, got, err)
				}
				_, err := l.get(as(access.CommunityWorker, communityB), id)
				wantFault(t, err, fault.CodeNotFound, msgs[l.name])
				_, err = l.get(officer, "no-such-id")
				wantFault(t, err, fault.CodeNotFound, msgs[l.name])
			}
		})
		t.Run("a listed record equals the record looked up", func(t *testing.T) {
			fs, _, err := s.ListFacilities(worker, registry.Filter{Q: "卫生站"}, 10)
			if err != nil || len(fs) != 1 || !reflect.DeepEqual(fs[0], r.facA) {
				t.Fatalf("listed %+v %v, created %+v", fs, err, r.facA)
			}
			ps, _, err := s.ListPersonnel(worker, registry.Filter{Category: "gp"}, 10)
			if err != nil || len(ps) != 1 || !reflect.DeepEqual(ps[0], r.perA2) {
				t.Fatalf("listed %+v %v, created %+v", ps, err, r.perA2)
			}
		})
		t.Run("each table answers only the roles that may read it", func(t *testing.T) {
			readable := map[access.Role][]bool{ // facilities, organisations, personnel, grids
				access.Resident:        {true, true, false, false},
				access.Provider:        {true, true, false, false},
				access.GridWorker:      {true, true, true, true},
				access.CommunityWorker: {true, true, true, true},
				access.Auditor:         {false, false, false, false},
				access.SysAdmin:        {false, false, false, false},
			}
			for role, ok := range readable {
				ctx := as(role, communityA)
				for i, l := range ls {
					_, _, _, err := l.list(ctx, registry.Filter{}, "", 10)
					_, gerr := l.get(ctx, inA[l.name][0])
					if role == access.GridWorker && l.name == "grids" {
						// A grid worker reads their own grids only: not this one.
						if err != nil || !fault.Is(gerr, fault.CodeNotFound) {
							t.Fatalf("grid worker reading another's grid: %v, %v", err, gerr)
						}
						continue
					}
					if ok[i] && (err != nil || gerr != nil) {
						t.Fatalf("%s reading %s: %v, %v", role, l.name, err, gerr)
					}
					if !ok[i] {
						wantFault(t, err, fault.CodeForbidden, "您的角色不能查看")
						wantFault(t, gerr, fault.CodeForbidden, "您的角色不能查看")
					}
				}
			}
		})
	})
}
