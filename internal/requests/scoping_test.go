package requests_test

import (
	"testing"

	"linli/internal/apptest"
)

// metrics are the indicators of a division and period as the API shows them.
type metrics struct {
	Division        string         `json:"division_code"`
	Received        int            `json:"received"`
	Accepted        int            `json:"accepted"`
	Resolved        int            `json:"resolved"`
	ByStatus        map[string]int `json:"by_status"`
	TimelyAcceptPct float64        `json:"timely_accept_rate"`
	TopCategories   []struct {
		Key   string `json:"key"`
		Name  string `json:"name"`
		Count int    `json:"count"`
	} `json:"top_categories"`
	HotSpots []struct {
		Key   string `json:"key"`
		Name  string `json:"name"`
		Count int    `json:"count"`
	} `json:"hot_spots"`
}

func TestRequestScoping(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		res, res2, wa, wb, co := e.Login("res1"), e.Login("res2"), e.Login("workerA"), e.Login("workerB"), e.Login("countyOfficer")
		a := submit(t, res, map[string]any{"category": "policy", "description": "A 的问题", "phone": "13812345678", "name": "王小明"})
		b := submit(t, wb, map[string]any{"category": "policy", "description": "B 的来电", "channel": "hotline", "phone": "13900001111"})
		t.Run("each reads only the requests of their area, residents only their own", func(t *testing.T) {
			for _, c := range []struct {
				name   string
				who    *apptest.Client
				id     string
				status int
			}{
				{"workerB reads A's", wb, a.ID, 404}, {"workerA reads B's", wa, b.ID, 404}, {"res2 reads res1's", res2, a.ID, 404}, {"res1 reads B's", res, b.ID, 404},
				{"the county reads A's", co, a.ID, 200}, {"the county reads B's", co, b.ID, 200}, {"workerA reads A's", wa, a.ID, 200}, {"res1 reads hers by number", res, a.Number, 200},
			} {
				if st := status(t, c.who, "/api/v1/requests/"+c.id); st != c.status {
					t.Errorf("%s: %d, want %d", c.name, st, c.status)
				}
			}
		})
		t.Run("a handler outside the area cannot act on a request", func(t *testing.T) {
			p := refuse(t, wb, a.ID, "accept", nil, 404)
			if p.Detail != "诉求不存在或不在您的辖区内" || p.DetailEN != "no such request in your area" {
				t.Fatalf("refusal: %+v", p)
			}
		})
		t.Run("lists count what each may see", func(t *testing.T) {
			for _, c := range []struct {
				name string
				who  *apptest.Client
				want int
			}{{"workerA", wa, 1}, {"workerB", wb, 1}, {"res2", res2, 0}, {"res1", res, 1}, {"the county", co, 2}} {
				if l := apptest.JSON[list](t, c.who, "GET", "/api/v1/requests", nil, 200); l.Total != c.want || len(l.Items) != c.want {
					t.Errorf("%s: total %d, %d items, want %d", c.name, l.Total, len(l.Items), c.want)
				}
			}
			if st := status(t, wa, "/api/v1/requests?within="+communityB); st != 404 {
				t.Fatalf("within another community: %d", st)
			}
			l := apptest.JSON[list](t, co, "GET", "/api/v1/requests?within="+communityB+"&status=submitted&category=policy", nil, 200)
			if l.Total != 1 || l.Items[0].ID != b.ID || l.Items[0].Channel != "hotline" {
				t.Fatalf("the county within B: %+v", l)
			}
			if l := apptest.JSON[list](t, co, "GET", "/api/v1/requests?q="+a.Number[:12], nil, 200); l.Total != 2 {
				t.Fatalf("by number prefix: %d", l.Total)
			}
			if l := apptest.JSON[list](t, co, "GET", "/api/v1/requests?q=来电", nil, 200); l.Total != 1 || l.Items[0].ID != b.ID {
				t.Fatalf("by text: %+v", l)
			}
		})
		t.Run("personal fields are stored sealed and shown masked", func(t *testing.T) {
			got := get(t, wa, a.ID)
			if got.ReporterPhone != "138****5678" || got.ReporterName != "王**" {
				t.Fatalf("masked: %q %q", got.ReporterPhone, got.ReporterName)
			}
			if n := e.Count(`SELECT COUNT(*) FROM requests WHERE reporter_phone LIKE '%13812345678%' OR reporter_name LIKE '%王小明%'`); n != 0 {
				t.Fatal("plain personal data in the database")
			}
		})
		t.Run("metrics follow the scope too", func(t *testing.T) {
			if p := apptest.JSON[problem](t, wa, "GET", "/api/v1/requests/metrics?division="+communityB, nil, 404); p.DetailEN != "that division is outside your area" {
				t.Fatalf("metrics outside the area: %+v", p)
			}
			m := apptest.JSON[metrics](t, co, "GET", "/api/v1/requests/metrics?division="+county, nil, 200)
			if m.Received != 2 || m.ByStatus["submitted"] != 2 || len(m.TopCategories) != 1 || m.TopCategories[0].Count != 2 || m.TopCategories[0].Name != "政策咨询" {
				t.Fatalf("county metrics: %+v", m)
			}
			if len(m.HotSpots) != 2 || m.HotSpots[0].Name == "" {
				t.Fatalf("hot spots: %+v", m.HotSpots)
			}
			own := apptest.JSON[metrics](t, wa, "GET", "/api/v1/requests/metrics", nil, 200)
			if own.Division != communityA || own.Received != 1 {
				t.Fatalf("the worker's own metrics: %+v", own)
			}
		})
		t.Run("a bad period is refused on its field", func(t *testing.T) {
			for q, field := range map[string]string{"from=yesterday": "from", "to=2026-13-01": "to", "from=2026-11-30&to=2026-11-01": "to", "from=2020-01-01&to=2026-01-01": "to"} {
				if p := apptest.JSON[problem](t, co, "GET", "/api/v1/requests/metrics?"+q, nil, 400); len(p.Errors) != 1 || p.Errors[0].Field != field {
					t.Errorf("%s: %+v", q, p)
				}
			}
		})
	})
}
