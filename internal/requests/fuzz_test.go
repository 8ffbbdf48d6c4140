package requests

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzOpen311Form feeds arbitrary form bodies to the GeoReport parser and
// the attribute checks: they must never panic, and whatever they accept must
// be well formed.
func FuzzOpen311Form(f *testing.F) {
	for _, s := range []string{
		"api_key=k&service_code=repair&lat=30.26&long=120.14&description=%E8%B7%AF%E7%81%AF&attribute[facility]=light",
		"service_code=culture&address_id=330106002051&attribute[kinds][]=dance&attribute[kinds][]=chess",
		"service_code=fire&address_string=x&attribute[seen_at]=2026-11-29T08:00:00%2B08:00",
		"service_code=suggestion&lat=&long=1&attribute[visit_on]=2026-02-30",
		"attribute[=x&attribute[]]=y&attribute[a][b]=z&lat=NaN&long=Inf",
		"service_code=elderly&address_id=33&attribute[age]=1e400",
	} {
		f.Add(s)
	}
	cats := map[string]Category{}
	for _, c := range Catalogue {
		cats[c.Code] = c
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		in, errs := ParseOpen311Form(form)
		if len(errs) == 0 {
			if in.Category == "" {
				t.Fatal("accepted without service_code")
			}
			if in.Lat == nil && in.Address == "" && in.Division == "" {
				t.Fatal("accepted without a location")
			}
			if (in.Lat == nil) != (in.Lon == nil) {
				t.Fatal("half a coordinate accepted")
			}
		}
		c, ok := cats[in.Category]
		if !ok {
			c = cats["culture"]
		}
		out, aerrs := CheckAttributes(c, in.MultiAttrs)
		known := map[string]Attribute{}
		for _, a := range c.Attributes {
			known[a.Code] = a
		}
		for k, v := range out {
			a, ok := known[k]
			if !ok {
				t.Fatalf("unknown attribute %q accepted", k)
			}
			if (a.Type == "singlevaluelist" || a.Type == "multivaluelist") && v != "" {
				for _, x := range strings.Split(v, ",") {
					if !hasChoice(a.Values, x) {
						t.Fatalf("value %q not in the list of %s", x, k)
					}
				}
			}
		}
		for k := range in.MultiAttrs {
			if _, ok := known[k]; !ok && len(aerrs) == 0 {
				t.Fatalf("unknown attribute %q without an error", k)
			}
		}
	})
}
