package requests_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"maps"
	"slices"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
)

// TestOpen311SpecCorners holds the GeoReport v2 corners to the text of the
// specification (wiki.open311.org/GeoReport_v2): the quoted line is what
// each step protects.
func TestOpen311SpecCorners(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		key, err := store(e).CreateKey(access.With(context.Background(), access.Operator()), "12345 热线", county)
		if err != nil {
			t.Fatal(err)
		}
		base := map[string]string{"api_key": key, "service_code": "repair", "address_id": communityA, "description": "路灯不亮", "attribute[facility]": "light"}
		with := func(changes map[string]string, drop ...string) map[string]string {
			m := maps.Clone(base)
			maps.Copy(m, changes)
			for _, k := range drop {
				delete(m, k)
			}
			return m
		}
		for _, format := range []string{"json", "xml"} {
			g := geo{e: e, format: format}
			t.Run(format, func(t *testing.T) {
				number := geoList[geoRequest](t, g, g.post(t, base, 201))[0].ID
				t.Run("404 - jurisdiction_id provided was not found, on every method", func(t *testing.T) {
					for _, j := range []string{"9999", "339999", "330106002", "sfgov.org"} {
						for _, path := range []string{"services.{f}", "services/repair.{f}", "requests.{f}", "requests/" + number + ".{f}", "tokens/abc.{f}"} {
							sep := "?"
							if strings.Contains(path, "?") {
								sep = "&"
							}
							g.refused(t, g.get(t, path+sep+"jurisdiction_id="+j, 404), 404, "jurisdiction_id")
						}
						g.refused(t, g.post(t, with(map[string]string{"jurisdiction_id": j}), 404), 404, "jurisdiction_id")
					}
				})
				t.Run("404 - service_code was not found (POST), 400 - service_code was not provided", func(t *testing.T) {
					n := e.Count(`SELECT COUNT(*) FROM requests`)
					g.refused(t, g.post(t, with(map[string]string{"service_code": "teleport"}), 404), 404, "service_code")
					g.refused(t, g.post(t, with(map[string]string{"service_code": "dispute"}), 404), 404, "service_code")
					g.refused(t, g.post(t, with(nil, "service_code"), 400), 400, "service_code")
					if e.Count(`SELECT COUNT(*) FROM requests`) != n {
						t.Fatal("a refused POST stored a request")
					}
				})
				t.Run("status: can be declared multiple times, comma delimited", func(t *testing.T) {
					for _, q := range []string{"status=open,closed", "status=closed,open", "status=open&status=closed", "status=open,%20closed"} {
						rs := geoList[geoRequest](t, g, g.get(t, "requests.{f}?"+q, 200))
						if !slices.ContainsFunc(rs, func(r geoRequest) bool { return r.ID == number }) {
							t.Errorf("%s: %d requests without %s", q, len(rs), number)
						}
					}
					g.refused(t, g.get(t, "requests.{f}?status=open,pending", 400), 400, "status")
				})
				t.Run("description is an optional argument", func(t *testing.T) {
					cs := geoList[geoRequest](t, g, g.post(t, with(nil, "description"), 201))
					rs := geoList[geoPublished](t, g, g.get(t, "requests/"+cs[0].ID+".{f}", 200))
					if len(rs) != 1 || rs[0].Description != "" {
						t.Fatalf("published %+v", rs)
					}
				})
				t.Run("datetime: the input must be able to transform into a valid ISO 8601 date", func(t *testing.T) {
					for _, v := range []string{"2026-11-29T08:00Z", "2026-11-29T08:00:00Z", "2026-11-29T08:00:00.250+08:00", "2026-11-29T08:00+08:00", "2026-11-29", "2026-11-29T08:00"} {
						g.post(t, map[string]string{"api_key": key, "service_code": "fire", "address_id": communityA, "attribute[seen_at]": v}, 201)
					}
					for _, v := range []string{"yesterday", "2026-13-01T08:00Z", "2026-11-29T25:00Z"} {
						g.refused(t, g.post(t, map[string]string{"api_key": key, "service_code": "fire", "address_id": communityA, "attribute[seen_at]": v}, 400), 400, "attribute[seen_at]")
					}
				})
				t.Run("POST: service_request_id should not be returned if token is returned, and the reverse", func(t *testing.T) {
					text := g.post(t, base, 201)
					var fields []string
					if format == "json" {
						var got []map[string]any
						if err := json.Unmarshal([]byte(text), &got); err != nil || len(got) != 1 {
							t.Fatalf("decode %s: %v", text, err)
						}
						fields = slices.Sorted(maps.Keys(got[0]))
					} else {
						var got struct {
							Requests []struct {
								Fields []struct {
									XMLName xml.Name
								} `xml:",any"`
							} `xml:"request"`
						}
						if err := xml.Unmarshal([]byte(text), &got); err != nil || len(got.Requests) != 1 {
							t.Fatalf("decode %s: %v", text, err)
						}
						for _, f := range got.Requests[0].Fields {
							fields = append(fields, f.XMLName.Local)
						}
						slices.Sort(fields)
					}
					if want := []string{"account_id", "service_notice", "service_request_id"}; !slices.Equal(fields, want) {
						t.Fatalf("fields %v, want %v", fields, want)
					}
				})
				t.Run("media_url: a URL to media associated with the request, stored and returned", func(t *testing.T) {
					url := "https://img.example.cn/linli/" + format + ".jpg?size=large&v=2"
					cs := geoList[geoRequest](t, g, g.post(t, with(map[string]string{"media_url": url}), 201))
					rs := geoList[geoPublished](t, g, g.get(t, "requests/"+cs[0].ID+".{f}", 200))
					if len(rs) != 1 || rs[0].MediaURL != url {
						t.Fatalf("published %+v", rs)
					}
					for _, bad := range []string{"javascript:alert(1)", "/relative.jpg", "https://" + strings.Repeat("a", 2000) + ".cn/x.jpg", "ftp://example.cn/x.jpg"} {
						g.refused(t, g.post(t, with(map[string]string{"media_url": bad}), 400), 400, "media_url")
					}
				})
				t.Run("start_date and end_date: must use w3 format", func(t *testing.T) {
					for _, q := range []string{"start_date=2026-11-01T00:00Z", "start_date=2026-11-01T00:00%2B08:00", "start_date=2026-11-01", "end_date=2026-11-30T00:00:00.000Z", "start_date=2026-11-01T00:00:00Z&end_date=2026-11-30T23:59Z"} {
						rs := geoList[geoRequest](t, g, g.get(t, "requests.{f}?"+q, 200))
						if !slices.ContainsFunc(rs, func(r geoRequest) bool { return r.ID == number }) {
							t.Errorf("%s: %d requests without %s", q, len(rs), number)
						}
					}
					g.refused(t, g.get(t, "requests.{f}?start_date=2026-11-01T00Z", 400), 400, "start_date")
				})
				t.Run("other methods are answered 405 in the errors form", func(t *testing.T) {
					for path, allow := range map[string]string{"requests.{f}": "GET, HEAD, POST", "services.{f}": "GET, HEAD", "services/repair.{f}": "GET, HEAD",
						"requests/" + number + ".{f}": "GET, HEAD", "tokens/abc.{f}": "GET, HEAD", "discovery.{f}": "GET, HEAD"} {
						for _, method := range []string{"PUT", "DELETE", "PATCH"} {
							st, text, hdr := e.Client().Send(e.Client().NewRequest(method, "/open311/v2/"+strings.ReplaceAll(path, "{f}", format), nil))
							if st != 405 || hdr.Get("Allow") != allow || !strings.HasPrefix(hdr.Get("Content-Type"), map[string]string{"json": "application/json", "xml": "text/xml"}[format]) {
								t.Errorf("%s %s: %d, Allow %q, %s", method, path, st, hdr.Get("Allow"), hdr.Get("Content-Type"))
								continue
							}
							g.refused(t, text, 405, method)
						}
					}
				})
			})
		}
	})
}
