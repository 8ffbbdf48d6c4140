package requests_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
)

// GeoReport v2 documents as a client reads them, in JSON or XML.
type (
	geoService struct {
		Code     string `json:"service_code" xml:"service_code"`
		Name     string `json:"service_name" xml:"service_name"`
		Metadata bool   `json:"metadata" xml:"metadata"`
		Type     string `json:"type" xml:"type"`
		Group    string `json:"group" xml:"group"`
	}
	geoDefinition struct {
		Code       string         `json:"service_code" xml:"service_code"`
		Attributes []geoAttribute `json:"attributes" xml:"attributes>attribute"`
	}
	geoAttribute struct {
		Code     string `json:"code" xml:"code"`
		Datatype string `json:"datatype" xml:"datatype"`
		Required bool   `json:"required" xml:"required"`
		Values   []struct {
			Key string `json:"key" xml:"key"`
		} `json:"values" xml:"values>value"`
	}
	geoRequest struct {
		ID                string   `json:"service_request_id" xml:"service_request_id"`
		Token             string   `json:"token" xml:"token"`
		Status            string   `json:"status" xml:"status"`
		StatusNotes       string   `json:"status_notes" xml:"status_notes"`
		ServiceCode       string   `json:"service_code" xml:"service_code"`
		ServiceNotice     string   `json:"service_notice" xml:"service_notice"`
		AgencyResponsible string   `json:"agency_responsible" xml:"agency_responsible"`
		Requested         string   `json:"requested_datetime" xml:"requested_datetime"`
		Expected          string   `json:"expected_datetime" xml:"expected_datetime"`
		AddressID         string   `json:"address_id" xml:"address_id"`
		Lat               *float64 `json:"lat" xml:"lat"`
	}
	geoError struct {
		Code        int    `json:"code" xml:"code"`
		Description string `json:"description" xml:"description"`
	}
	geoDiscovery struct {
		Contact   string `json:"contact" xml:"contact"`
		Endpoints []struct {
			Specification string   `json:"specification" xml:"specification"`
			Formats       []string `json:"formats" xml:"formats>format"`
		} `json:"endpoints" xml:"endpoints>endpoint"`
	}
)

// geo is a GeoReport client of one format.
type geo struct {
	e      *apptest.Env
	format string
}

// get fetches path ({f} is the format) and checks the status.
func (g geo) get(t *testing.T, path string, want int) string {
	t.Helper()
	st, text := g.e.Client().Do("GET", "/open311/v2/"+strings.ReplaceAll(path, "{f}", g.format), nil)
	if st != want {
		t.Fatalf("GET %s: %d, want %d: %s", path, st, want, text)
	}
	return text
}

func (g geo) post(t *testing.T, vals map[string]string, want int) string {
	t.Helper()
	st, text, _ := g.e.Client().Form("/open311/v2/requests."+g.format, vals, nil)
	if st != want {
		t.Fatalf("POST %v: %d, want %d: %s", vals, st, want, text)
	}
	return text
}

// one decodes a single document.
func geoOne[T any](t *testing.T, g geo, text string) T {
	t.Helper()
	var v T
	var err error
	if g.format == "json" {
		err = json.Unmarshal([]byte(text), &v)
	} else {
		err = xml.Unmarshal([]byte(text), &v)
	}
	if err != nil {
		t.Fatalf("decode %s into %T: %v: %s", g.format, v, err, text)
	}
	return v
}

// geoList decodes a list: a JSON array, or the children of the XML root.
func geoList[T any](t *testing.T, g geo, text string) []T {
	t.Helper()
	if g.format == "json" {
		return geoOne[[]T](t, g, text)
	}
	return geoOne[struct {
		Items []T `xml:",any"`
	}](t, g, text).Items
}

// refused checks a GeoReport error answer: the status, the code in the
// body and a description naming what was wrong.
func (g geo) refused(t *testing.T, text string, want int, names string) {
	t.Helper()
	es := geoList[geoError](t, g, text)
	if len(es) == 0 || es[0].Code != want || !strings.Contains(es[0].Description, names) {
		t.Fatalf("errors %+v, want code %d naming %q", es, want, names)
	}
}

func TestOpen311(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		key, err := store(e).CreateKey(access.With(context.Background(), access.Operator()), "12345 热线", county)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("issuing a key checks its name and division", func(t *testing.T) {
			ctx := access.With(context.Background(), access.Operator())
			if _, err := store(e).CreateKey(ctx, " ", county); err == nil {
				t.Fatal("a key without a name")
			}
			if _, err := store(e).CreateKey(ctx, "x", "339999"); err == nil {
				t.Fatal("a key for no division")
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'open311.key.create'`); n != 1 {
				t.Fatalf("%d key audit entries", n)
			}
		})
		var firstID string
		for _, format := range []string{"json", "xml"} {
			t.Run(format, func(t *testing.T) {
				g := geo{e: e, format: format}
				t.Run("discovery names the specification and both formats", func(t *testing.T) {
					d := geoOne[geoDiscovery](t, g, g.get(t, "discovery.{f}", 200))
					if len(d.Endpoints) != 1 || d.Endpoints[0].Specification != "http://wiki.open311.org/GeoReport_v2" || !slices.Equal(d.Endpoints[0].Formats, []string{"application/json", "text/xml"}) {
						t.Fatalf("discovery: %+v", d)
					}
				})
				t.Run("services lists only the public categories", func(t *testing.T) {
					ss := geoList[geoService](t, g, g.get(t, "services.{f}?jurisdiction_id="+county, 200))
					codes := map[string]bool{}
					for _, s := range ss {
						codes[s.Code] = true
					}
					if !codes["repair"] || !codes["sanitation"] || codes["dispute"] || codes["assistance"] {
						t.Fatalf("service codes: %v", slices.Sorted(maps.Keys(codes)))
					}
				})
				t.Run("a definition lists the questions and their choices", func(t *testing.T) {
					d := geoOne[geoDefinition](t, g, g.get(t, "services/repair.{f}", 200))
					i := slices.IndexFunc(d.Attributes, func(a geoAttribute) bool { return a.Code == "facility" })
					if d.Code != "repair" || i < 0 || d.Attributes[i].Datatype != "singlevaluelist" || !d.Attributes[i].Required {
						t.Fatalf("definition: %+v", d)
					}
					var keys []string
					for _, v := range d.Attributes[i].Values {
						keys = append(keys, v.Key)
					}
					if !slices.Contains(keys, "manhole") || !slices.Contains(keys, "light") {
						t.Fatalf("facility values: %v", keys)
					}
				})
				t.Run("unknown or private services and unknown jurisdictions are not found", func(t *testing.T) {
					g.refused(t, g.get(t, "services/dispute.{f}", 404), 404, "not found")
					g.refused(t, g.get(t, "services/nope.{f}", 404), 404, "not found")
					g.refused(t, g.get(t, "services.{f}?jurisdiction_id=9999", 404), 404, "jurisdiction_id")
				})

				good := map[string]string{"api_key": key, "service_code": "repair", "lat": "30.2605", "long": "120.1432", "address_string": "北山街道 12 幢",
					"address_id": communityA, "description": "路灯不亮", "attribute[facility]": "light", "phone": "13812345678", "first_name": "小明", "last_name": "王", "email": "w@example.cn"}
				with := func(changes map[string]string, drop ...string) map[string]string {
					m := maps.Clone(good)
					maps.Copy(m, changes)
					for _, k := range drop {
						delete(m, k)
					}
					return m
				}
				t.Run("bad posts are refused, naming the parameter, and store nothing", func(t *testing.T) {
					n := e.Count(`SELECT COUNT(*) FROM requests`)
					for _, c := range []struct {
						name  string
						vals  map[string]string
						want  int
						names string
					}{
						{"no key", with(nil, "api_key"), 403, "api_key"},
						{"a wrong key", with(map[string]string{"api_key": "o311_wrong"}), 403, "api_key"},
						{"no service", with(nil, "service_code"), 400, "service_code"},
						{"an unknown service", with(map[string]string{"service_code": "teleport"}), 404, "service_code"},
						{"a private service", with(map[string]string{"service_code": "dispute"}), 404, "service_code"},
						{"no location", with(nil, "lat", "long", "address_string", "address_id"), 400, "location"},
						{"outside Zhejiang", with(map[string]string{"lat": "39.9"}), 400, "Zhejiang"},
						{"a longitude that is no number", with(map[string]string{"long": "east"}), 400, "lat/long"},
						{"a description too long", with(map[string]string{"description": strings.Repeat("字", 4001)}), 400, "4000"},
						{"a bad choice", with(map[string]string{"attribute[facility]": "rocket"}), 400, "attribute[facility]"},
						{"an unknown question", with(map[string]string{"attribute[color]": "red"}), 400, "attribute[color]"},
						{"a required answer missing", with(nil, "attribute[facility]"), 400, "attribute[facility]"},
						{"no such community", with(map[string]string{"address_id": "330106001001"}), 400, "division_code"},
						{"outside the key's area", with(map[string]string{"jurisdiction_id": "330102"}), 403, "jurisdiction_id"},
					} {
						t.Run(c.name, func(t *testing.T) { g.refused(t, g.post(t, c.vals, c.want), c.want, c.names) })
					}
					if e.Count(`SELECT COUNT(*) FROM requests`) != n {
						t.Fatal("a bad POST stored a request")
					}
				})
				var created geoRequest
				t.Run("a good post is acknowledged with its number (a realtime service: no token)", func(t *testing.T) {
					cs := geoList[geoRequest](t, g, g.post(t, good, 201))
					if len(cs) != 1 || !strings.HasPrefix(cs[0].ID, "MH-330106-") || cs[0].Token != "" || !strings.Contains(cs[0].ServiceNotice, "+08:00") {
						t.Fatalf("created: %+v", cs)
					}
					created = cs[0]
					if err := e.App.DB.R.QueryRow(`SELECT token FROM requests WHERE number = $1`, created.ID).Scan(&created.Token); err != nil {
						t.Fatal(err)
					}
					if firstID == "" {
						firstID = created.ID
					}
					if n := e.Count(`SELECT COUNT(*) FROM requests WHERE number = $1 AND channel = 'open311'`, created.ID); n != 1 {
						t.Fatalf("%d open311 requests numbered %s", n, created.ID)
					}
				})
				t.Run("the request reads back in China time, without personal data", func(t *testing.T) {
					text := g.get(t, "requests/"+created.ID+".{f}", 200)
					rs := geoList[geoRequest](t, g, text)
					if len(rs) != 1 {
						t.Fatalf("records: %+v", rs)
					}
					r := rs[0]
					if r.Status != "open" || r.ServiceCode != "repair" || !strings.Contains(r.AgencyResponsible, "上保") || r.AddressID != communityA ||
						!strings.HasSuffix(r.Expected, "+08:00") || !strings.HasSuffix(r.Requested, "+08:00") || r.Lat == nil || *r.Lat != 30.2605 {
						t.Fatalf("request: %+v", r)
					}
					if _, err := time.Parse(time.RFC3339, r.Requested); err != nil {
						t.Fatalf("requested_datetime: %v", err)
					}
					for _, secret := range []string{"13812345678", "小明", "w@example.cn"} {
						if strings.Contains(text, secret) {
							t.Fatalf("personal data %q in %s", secret, text)
						}
					}
				})
				t.Run("unknown numbers and tokens are not found; a token finds its request", func(t *testing.T) {
					g.refused(t, g.get(t, "requests/MH-330106-20000101-000001.{f}", 404), 404, "service_request_id")
					g.refused(t, g.get(t, "tokens/nope.{f}", 404), 404, "token")
					ts := geoList[geoRequest](t, g, g.get(t, "tokens/"+created.Token+".{f}", 200))
					if len(ts) != 1 || ts[0].ID != created.ID || ts[0].Token != created.Token {
						t.Fatalf("token: %+v", ts)
					}
				})
				t.Run("lists filter by id, service, status and dates", func(t *testing.T) {
					ids := func(q string) []string {
						t.Helper()
						var out []string
						for _, r := range geoList[geoRequest](t, g, g.get(t, "requests.{f}"+q, 200)) {
							out = append(out, r.ID)
						}
						slices.Sort(out)
						return out
					}
					// The request of the JSON run is answered (closed) when
					// the XML run lists.
					all, closed := []string{created.ID}, []string(nil)
					if firstID != created.ID {
						all, closed = append(all, firstID), []string{firstID}
					}
					slices.Sort(all)
					for q, want := range map[string][]string{
						"":                                  all,
						"?service_request_id=" + created.ID: {created.ID},
						"?service_request_id=" + created.ID + "," + firstID: all,
						"?service_code=sanitation":                          nil,
						"?status=closed":                                    closed,
						"?status=open&jurisdiction_id=" + county:            {created.ID},
						"?start_date=2026-11-29T00:00:00%2B08:00&end_date=2026-11-30T00:00:00%2B08:00": all,
						"?end_date=2026-11-01T00:00:00Z":                                               nil,
					} {
						if got := ids(q); !slices.Equal(got, want) {
							t.Errorf("list %q: %v, want %v", q, got, want)
						}
					}
				})
				t.Run("bad list filters are refused", func(t *testing.T) {
					g.refused(t, g.get(t, "requests.{f}?status=pending", 400), 400, "status")
					g.refused(t, g.get(t, "requests.{f}?start_date=yesterday", 400), 400, "start_date")
					g.refused(t, g.get(t, "requests.{f}?start_date=2026-01-01T00:00:00Z&end_date=2026-11-01T00:00:00Z", 400), 400, "90 days")
					g.refused(t, g.get(t, "requests.{f}?jurisdiction_id=330106002", 404), 404, "jurisdiction_id")
					g.refused(t, g.get(t, "unknown.{f}", 404), 404, "no such resource")
				})
				t.Run("the client follows the status as the worker handles it", func(t *testing.T) {
					wa := e.Login("workerA")
					act(t, wa, created.ID, "accept", nil)
					act(t, wa, created.ID, "answer", map[string]any{"reply": "已修复路灯"})
					rs := geoList[geoRequest](t, g, g.get(t, "requests/"+created.ID+".{f}", 200))
					if len(rs) != 1 || rs[0].Status != "closed" || rs[0].StatusNotes != "已办结 / Answered：已修复路灯" {
						t.Fatalf("followed: %+v", rs)
					}
				})
			})
		}
		t.Run("formats other than json and xml are not found", func(t *testing.T) {
			if st := status(t, e.Client(), "/open311/v2/services.txt"); st != 404 {
				t.Fatalf("services.txt: %d", st)
			}
		})
	})
}
