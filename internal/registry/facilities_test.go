package registry_test

import (
	"math"
	"reflect"
	"sort"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/registry"
	"linli/internal/web"
)

func facilityBody(code, name string, lon, lat float64) map[string]any {
	return map[string]any{"division": communityA, "code": code, "name": name, "category": "居家养老服务照料中心",
		"lon": lon, "lat": lat, "floor_area_m2": 450, "capacities": map[string]float64{"beds": 12}, "opening_hours": "07:30-18:00"}
}

func TestFacilities(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		var f registry.Facility

		t.Run("a facility is created with its catalogue key and tier", func(t *testing.T) {
			f = apptest.JSON[registry.Facility](t, w.wa, "POST", "/api/v1/facilities", facilityBody("F-1", "上保照料中心", 120.147, 30.259), 201)
			want := registry.Facility{ID: f.ID, Division: communityA, Code: "F-1", Name: "上保照料中心", Category: "home_care_center", Lon: 120.147, Lat: 30.259,
				FloorArea: 450, Capacities: map[string]float64{"beds": 12}, OpeningHours: "07:30-18:00", Status: "open", Tier: "10min"}
			got := f
			got.CreatedAt, got.UpdatedAt = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, want) || !f.CreatedAt.Equal(e.Clock.Now()) || !f.UpdatedAt.Equal(e.Clock.Now()) {
				t.Fatalf("created %+v\nwant    %+v at %v", f, want, e.Clock.Now())
			}
			if got := apptest.JSON[registry.Facility](t, w.wa, "GET", "/api/v1/facilities/"+f.ID, nil, 200); !reflect.DeepEqual(got, f) {
				t.Fatalf("read back %+v", got)
			}
		})
		t.Run("every bad field is named and nothing is written", func(t *testing.T) {
			body := map[string]any{"division": communityA, "code": "", "name": "", "category": "spaceship", "lon": 116.4, "lat": 39.9,
				"floor_area_m2": -1, "capacities": map[string]float64{"beds": -2}, "status": "shut"}
			p := refusal(t, w.wa, "POST", "/api/v1/facilities", body, 400)
			wantFields(t, p, "code", "name", "category", "lon", "lat", "floor_area_m2", "capacities", "status")
			if p.Detail != "设施信息有误" || messageOf(p, "category") != "设施类别不在目录中：spaceship" {
				t.Fatalf("messages: %+v", p)
			}
			if n := e.Count(`SELECT COUNT(*) FROM reg_facilities`); n != 1 {
				t.Fatalf("%d facilities after a refusal", n)
			}
		})
		t.Run("a division outside the jurisdiction is refused before the fields", func(t *testing.T) {
			body := facilityBody("F-2", "石灰桥中心", 120.147, 30.259)
			body["division"] = communityA
			p := refusal(t, w.wb, "POST", "/api/v1/facilities", body, 400)
			wantFields(t, p, "division")
			body["division"] = "330106"
			wantFields(t, refusal(t, w.wa, "POST", "/api/v1/facilities", body, 400), "division")
		})
		t.Run("an operator must be an organisation within reach", func(t *testing.T) {
			orgB := apptest.JSON[idOnly](t, w.wb, "POST", "/api/v1/organizations", map[string]any{"division": communityB, "kind": "property", "name": "石灰桥物业"}, 201)
			body := facilityBody("F-2", "上保食堂", 120.147, 30.259)
			body["operator_id"] = orgB.ID
			p := refusal(t, w.wa, "POST", "/api/v1/facilities", body, 400)
			wantFields(t, p, "operator_id")
		})
		t.Run("a facility code is unique", func(t *testing.T) {
			p := refusal(t, w.wa, "POST", "/api/v1/facilities", facilityBody("F-1", "另一个", 120.15, 30.26), 400)
			wantFields(t, p, "code")
			if p.Detail != "设施编码已存在" {
				t.Fatalf("detail %q", p.Detail)
			}
		})
		t.Run("an update keeps the division when none is given", func(t *testing.T) {
			e.Clock.Add(10 * time.Minute)
			body := facilityBody("F-1", "上保居家养老服务照料中心", 120.148, 30.26)
			delete(body, "division")
			body["status"] = "building"
			got := apptest.JSON[registry.Facility](t, w.wa, "PUT", "/api/v1/facilities/"+f.ID, body, 200)
			if got.Division != communityA || got.Name != "上保居家养老服务照料中心" || got.Status != "building" || !got.UpdatedAt.Equal(e.Clock.Now()) || !got.CreatedAt.Equal(f.CreatedAt) {
				t.Fatalf("updated %+v", got)
			}
			f = got
		})
		t.Run("another community's worker can neither read, change nor delete it", func(t *testing.T) {
			for _, m := range []string{"GET", "DELETE"} {
				if p := refusal(t, w.wb, m, "/api/v1/facilities/"+f.ID, nil, 404); p.Detail != "设施不存在或不在您的管辖范围内" {
					t.Fatalf("%s: %q", m, p.Detail)
				}
			}
			refusal(t, w.wb, "PUT", "/api/v1/facilities/"+f.ID, facilityBody("F-1", "改名", 120.1, 30.2), 404)
			if l := apptest.JSON[web.List[registry.Facility]](t, w.wb, "GET", "/api/v1/facilities", nil, 200); l.Total != 0 || len(l.Items) != 0 {
				t.Fatalf("other community lists %+v", l)
			}
		})
		t.Run("residents find facilities but may not change them", func(t *testing.T) {
			e.User("resident.a", access.Resident, communityA)
			r := e.Login("resident.a")
			if l := apptest.JSON[web.List[registry.Facility]](t, r, "GET", "/api/v1/facilities", nil, 200); l.Total != 1 || l.Items[0].ID != f.ID {
				t.Fatalf("resident lists %+v", l)
			}
			refusal(t, r, "POST", "/api/v1/facilities", facilityBody("F-9", "x", 120.1, 30.2), 403)
			refusal(t, r, "DELETE", "/api/v1/facilities/"+f.ID, nil, 403)
		})
		t.Run("the version history follows changes and ends at the delete, by the app's clock", func(t *testing.T) {
			e.Clock.Add(24 * time.Hour)
			deleted := e.Clock.Now()
			w.wa = e.Login("worker.a") // the session ended meanwhile
			if st, body := w.wa.Do("DELETE", "/api/v1/facilities/"+f.ID, nil); st != 204 {
				t.Fatalf("delete: %d %s", st, body)
			}
			rows, err := e.App.DB.R.Query(`SELECT status, valid_from, valid_to FROM reg_facility_versions WHERE id = $1 ORDER BY valid_from`, f.ID)
			if err != nil {
				t.Fatal(err)
			}
			type version struct {
				status   string
				from, to time.Time
			}
			var got []version
			for rows.Next() {
				var v version
				var from, to db.Time
				if err := rows.Scan(&v.status, &from, &to); err != nil {
					t.Fatal(err)
				}
				v.from, v.to = from.Time, to.Time
				got = append(got, v)
			}
			rows.Close()
			want := []version{{"open", f.CreatedAt, f.UpdatedAt}, {"building", f.UpdatedAt, deleted}}
			same := len(got) == len(want)
			for i := 0; same && i < len(got); i++ {
				same = got[i].status == want[i].status && got[i].from.Equal(want[i].from) && got[i].to.Equal(want[i].to)
			}
			if !same {
				t.Fatalf("versions %+v\nwant     %+v", got, want)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'registry.facility.%' AND object_id = $1`, f.ID); n != 3 {
				t.Fatalf("%d facility changes audited, want 3", n)
			}
		})
	})
}

func TestNearby(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		// Three points east of a centre, 0 m, about 190 m and about 950 m away.
		lon, lat := 120.147, 30.259
		for i, d := range []float64{0, 0.002, 0.01} {
			body := facilityBody("N-"+string(rune('A'+i)), "点"+string(rune('A'+i)), lon+d, lat)
			if i == 1 {
				body["category"] = "health_station"
			}
			apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/facilities", body, 201)
		}
		near := func(q string) []registry.Facility {
			return apptest.JSON[[]registry.Facility](t, w.wa, "GET", "/api/v1/facilities/nearby?"+q, nil, 200)
		}
		names := func(fs []registry.Facility) []string {
			out := []string{}
			for _, f := range fs {
				out = append(out, f.Name)
			}
			return out
		}

		t.Run("within the radius, nearest first, with the distance", func(t *testing.T) {
			fs := near("lon=120.147&lat=30.259&radius_m=500")
			if !reflect.DeepEqual(names(fs), []string{"点A", "点B"}) || fs[0].DistanceM != 0 {
				t.Fatalf("nearby %v", fs)
			}
			want := math.Round(registry.Distance(lon, lat, lon+0.002, lat))
			if fs[1].DistanceM != want || want < 180 || want > 200 {
				t.Fatalf("distance %v, want %v", fs[1].DistanceM, want)
			}
			if !sort.SliceIsSorted(fs, func(i, j int) bool { return fs[i].DistanceM < fs[j].DistanceM }) {
				t.Fatal("not nearest first")
			}
		})
		t.Run("a category and a limit narrow the answer", func(t *testing.T) {
			if got := names(near("lon=120.147&lat=30.259&radius_m=2000&category=health_station")); !reflect.DeepEqual(got, []string{"点B"}) {
				t.Fatalf("category: %v", got)
			}
			if got := names(near("lon=120.147&lat=30.259&radius_m=2000&limit=2")); !reflect.DeepEqual(got, []string{"点A", "点B"}) {
				t.Fatalf("limit: %v", got)
			}
		})
		t.Run("another community's facilities are not near for its worker", func(t *testing.T) {
			if fs := apptest.JSON[[]registry.Facility](t, w.wb, "GET", "/api/v1/facilities/nearby?lon=120.147&lat=30.259&radius_m=2000", nil, 200); len(fs) != 0 {
				t.Fatalf("other community sees %v", fs)
			}
		})
		t.Run("bad parameters are each named", func(t *testing.T) {
			for _, c := range []struct {
				q    string
				want []string
			}{
				{"lon=x&lat=30.2&radius_m=10", []string{"lon"}},
				{"lon=120.1&lat=30.2&radius_m=10&limit=0", []string{"limit"}},
				{"lon=120.1&lat=30.2&radius_m=10&limit=many", []string{"limit"}},
				{"lon=116.4&lat=39.9&radius_m=0", []string{"lon", "radius_m"}},
				{"lon=120.1&lat=30.2&radius_m=50001", []string{"radius_m"}},
			} {
				wantFields(t, refusal(t, w.wa, "GET", "/api/v1/facilities/nearby?"+c.q, nil, 400), c.want...)
			}
		})
	})
}

func TestFacilityCatalogue(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		e.User("officer", access.Officer, "33") // the catalogue is the province's
		of := e.Login("officer")
		kitchen := registry.Category{Key: "community_kitchen", NameZH: "社区厨房", Tier: "5min", CapacityKinds: "meals_per_day"}

		t.Run("the built-in catalogue is listed in its order", func(t *testing.T) {
			cs := apptest.JSON[[]registry.Category](t, w.wa, "GET", "/api/v1/facility-categories", nil, 200)
			if len(cs) != len(registry.DefaultCategories) || cs[0].Key != registry.DefaultCategories[0].Key || !cs[0].Builtin {
				t.Fatalf("catalogue: %d entries, first %+v", len(cs), cs[0])
			}
		})
		t.Run("a worker may not add a category", func(t *testing.T) {
			refusal(t, w.wa, "POST", "/api/v1/facility-categories", kitchen, 403)
		})
		t.Run("an officer adds one, named in English by default, last in order", func(t *testing.T) {
			got := apptest.JSON[registry.Category](t, of, "POST", "/api/v1/facility-categories", kitchen, 201)
			want := kitchen
			want.NameEN, want.Sort = "社区厨房", 1000
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("added %+v, want %+v", got, want)
			}
			cs := apptest.JSON[[]registry.Category](t, w.wa, "GET", "/api/v1/facility-categories", nil, 200)
			if last := cs[len(cs)-1]; !reflect.DeepEqual(last, want) {
				t.Fatalf("last entry %+v", last)
			}
			// The new category is usable at once.
			body := facilityBody("K-1", "上保社区厨房", 120.147, 30.259)
			body["category"] = "社区厨房"
			if f := apptest.JSON[registry.Facility](t, w.wa, "POST", "/api/v1/facilities", body, 201); f.Category != "community_kitchen" || f.Tier != "5min" {
				t.Fatalf("facility of the new category: %+v", f)
			}
		})
		t.Run("a key is added once", func(t *testing.T) {
			if p := refusal(t, of, "POST", "/api/v1/facility-categories", kitchen, 409); p.Detail != "类别标识已存在" {
				t.Fatalf("detail %q", p.Detail)
			}
		})
		t.Run("a bad key, a missing name and an unknown tier are named", func(t *testing.T) {
			p := refusal(t, of, "POST", "/api/v1/facility-categories", registry.Category{Key: "Kitchen!", Tier: "20min"}, 400)
			wantFields(t, p, "key", "name_zh", "tier")
		})
	})
}

func TestFacilityCapacitiesRefuseInfinity(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		file := "设施编码,区划代码,名称,类别,经度,纬度,容量\nF1," + communityA + ",上保食堂,elderly_canteen,120.147,30.259,beds=Inf\n"
		rep := apptest.JSON[struct{ Report registry.Report }](t, w.wa, "POST", "/api/v1/registry/import/facilities?apply=true", file, 422).Report
		want := []registry.RowError{{Row: 2, Column: "容量", ZH: "容量须为非负数", EN: "capacities must be non-negative"}}
		if !reflect.DeepEqual(rep.Errors, want) || rep.Applied {
			t.Fatalf("report %+v", rep)
		}
		if n := e.Count(`SELECT COUNT(*) FROM reg_facilities`); n != 0 {
			t.Fatalf("%d facilities written", n)
		}
	})
}
