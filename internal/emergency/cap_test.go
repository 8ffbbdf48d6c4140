package emergency_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/emergency"
	"linli/internal/xmldsig"
)

// The rules of OASIS CAP 1.2 (Common Alerting Protocol Version 1.2, OASIS
// Standard, 1 July 2010: section 3.2, the data dictionary, and 3.4, the
// XML schema), written down here independently of the code that writes
// the documents. A document is checked against them element by element,
// from the raw XML.

const capNS = "urn:oasis:names:tc:emergency:cap:1.2"

// slot is one element of a sequence: its name and how often it may occur
// (max -1: unbounded).
type slot struct {
	name     string
	min, max int
}

// The schema's sequences (3.4): elements appear in this order.
var (
	alertSeq = []slot{{"identifier", 1, 1}, {"sender", 1, 1}, {"sent", 1, 1}, {"status", 1, 1}, {"msgType", 1, 1}, {"source", 0, 1},
		{"scope", 1, 1}, {"restriction", 0, 1}, {"addresses", 0, 1}, {"code", 0, -1}, {"note", 0, 1}, {"references", 0, 1},
		{"incidents", 0, 1}, {"info", 0, -1}}
	infoSeq = []slot{{"language", 0, 1}, {"category", 1, -1}, {"event", 1, 1}, {"responseType", 0, -1}, {"urgency", 1, 1},
		{"severity", 1, 1}, {"certainty", 1, 1}, {"audience", 0, 1}, {"eventCode", 0, -1}, {"effective", 0, 1}, {"onset", 0, 1},
		{"expires", 0, 1}, {"senderName", 0, 1}, {"headline", 0, 1}, {"description", 0, 1}, {"instruction", 0, 1}, {"web", 0, 1},
		{"contact", 0, 1}, {"parameter", 0, -1}, {"resource", 0, -1}, {"area", 0, -1}}
	areaSeq  = []slot{{"areaDesc", 1, 1}, {"polygon", 0, -1}, {"circle", 0, -1}, {"geocode", 0, -1}, {"altitude", 0, 1}, {"ceiling", 0, 1}}
	valueSeq = []slot{{"valueName", 1, 1}, {"value", 1, 1}}
)

// The value lists (3.2.1, 3.2.2).
var capEnums = map[string][]string{
	"status":       {"Actual", "Exercise", "System", "Test", "Draft"},
	"msgType":      {"Alert", "Update", "Cancel", "Ack", "Error"},
	"scope":        {"Public", "Restricted", "Private"},
	"category":     {"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"},
	"responseType": {"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"},
	"urgency":      {"Immediate", "Expected", "Future", "Past", "Unknown"},
	"severity":     {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
	"certainty":    {"Observed", "Likely", "Possible", "Unlikely", "Unknown"},
}

// capDateTime: "2002-05-24T16:49:00-07:00": seconds, and a numeric
// offset; the alphabetic "Z" MUST NOT be used (3.3.2).
var capDateTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$`)

// capPair is a WGS 84 "lat,lon" (3.2.4).
var capPair = regexp.MustCompile(`^-?\d+(\.\d+)?,-?\d+(\.\d+)?$`)

type node struct {
	space, name, text string
	kids              []*node
}

func parseTree(t *testing.T, doc []byte) *node {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			n := &node{space: x.Name.Space, name: x.Name.Local}
			if len(stack) > 0 {
				stack[len(stack)-1].kids = append(stack[len(stack)-1].kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(x)
			}
		}
	}
	return root
}

// sequence checks a node's children against a schema sequence.
func sequence(path string, n *node, seq []slot) []string {
	var errs []string
	i := 0
	for _, s := range seq {
		count := 0
		for i < len(n.kids) && n.kids[i].name == s.name {
			if n.kids[i].space != capNS {
				errs = append(errs, fmt.Sprintf("%s/%s: namespace %q", path, s.name, n.kids[i].space))
			}
			count++
			i++
		}
		if count < s.min {
			errs = append(errs, fmt.Sprintf("%s/%s: required, missing (or out of order)", path, s.name))
		}
		if s.max >= 0 && count > s.max {
			errs = append(errs, fmt.Sprintf("%s/%s: %d times, at most %d", path, s.name, count, s.max))
		}
	}
	// An alert ends with any number of XML Signature elements (the
	// schema's <any namespace="http://www.w3.org/2000/09/xmldsig#"/>).
	for path == "alert" && i < len(n.kids) && n.kids[i].space == xmldsig.NS {
		i++
	}
	if i < len(n.kids) {
		errs = append(errs, fmt.Sprintf("%s/%s: not allowed here (unknown or out of order)", path, n.kids[i].name))
	}
	return errs
}

// unsigned is a signed CAP document without its signature: the document
// that was signed. (A signature differs each time it is made.)
func unsigned(doc []byte) string {
	return regexp.MustCompile(`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">.*?</Signature>`).ReplaceAllString(string(doc), "")
}

func kid(n *node, name string) []*node {
	var out []*node
	for _, k := range n.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

func text(n *node, name string) string {
	if ks := kid(n, name); len(ks) > 0 {
		return strings.TrimSpace(ks[0].text)
	}
	return ""
}

// capRules answers every way the document breaks CAP 1.2.
func capRules(t *testing.T, doc []byte) []string {
	root := parseTree(t, doc)
	if root.name != "alert" || root.space != capNS {
		return []string{fmt.Sprintf("root {%s}%s, want {%s}alert", root.space, root.name, capNS)}
	}
	errs := sequence("alert", root, alertSeq)
	for _, f := range []string{"identifier", "sender"} {
		if strings.ContainsAny(text(root, f), " ,<&") {
			errs = append(errs, "alert/"+f+": contains a space, comma, < or &")
		}
	}
	for _, f := range []string{"status", "msgType", "scope"} {
		if v := text(root, f); !slices.Contains(capEnums[f], v) {
			errs = append(errs, fmt.Sprintf("alert/%s: %q not in the value list", f, v))
		}
	}
	if !capDateTime.MatchString(text(root, "sent")) {
		errs = append(errs, "alert/sent: "+text(root, "sent")+" is not a CAP dateTime with an offset")
	}
	if mt := text(root, "msgType"); (mt == "Update" || mt == "Cancel") && text(root, "references") == "" {
		errs = append(errs, "alert/references: required for "+mt)
	}
	for _, ref := range strings.Fields(text(root, "references")) {
		p := strings.Split(ref, ",")
		if len(p) != 3 || p[0] == "" || p[1] == "" || !capDateTime.MatchString(p[2]) {
			errs = append(errs, "alert/references: "+ref+" is not sender,identifier,sent")
		}
	}
	if text(root, "scope") == "Restricted" && text(root, "restriction") == "" {
		errs = append(errs, "alert/restriction: required when scope is Restricted")
	}
	for i, in := range kid(root, "info") {
		at := fmt.Sprintf("alert/info[%d]", i+1)
		errs = append(errs, sequence(at, in, infoSeq)...)
		for _, f := range []string{"category", "responseType", "urgency", "severity", "certainty"} {
			for _, k := range kid(in, f) {
				if !slices.Contains(capEnums[f], strings.TrimSpace(k.text)) {
					errs = append(errs, fmt.Sprintf("%s/%s: %q not in the value list", at, f, k.text))
				}
			}
		}
		for _, f := range []string{"effective", "onset", "expires"} {
			if v := text(in, f); v != "" && !capDateTime.MatchString(v) {
				errs = append(errs, at+"/"+f+": "+v+" is not a CAP dateTime with an offset")
			}
		}
		for _, f := range []string{"eventCode", "parameter"} {
			for _, k := range kid(in, f) {
				errs = append(errs, sequence(at+"/"+f, k, valueSeq)...)
			}
		}
		for j, ar := range kid(in, "area") {
			aat := fmt.Sprintf("%s/area[%d]", at, j+1)
			errs = append(errs, sequence(aat, ar, areaSeq)...)
			for _, pg := range kid(ar, "polygon") {
				pairs := strings.Fields(pg.text)
				if len(pairs) < 4 || pairs[0] != pairs[len(pairs)-1] {
					errs = append(errs, aat+"/polygon: fewer than 4 pairs or not closed")
				}
				for _, p := range pairs {
					if !capPair.MatchString(p) {
						errs = append(errs, aat+"/polygon: "+p+" is not lat,lon")
					}
				}
			}
			for _, c := range kid(ar, "circle") {
				p, r, ok := strings.Cut(strings.TrimSpace(c.text), " ")
				if _, err := strconv.ParseFloat(r, 64); !ok || !capPair.MatchString(p) || err != nil {
					errs = append(errs, aat+"/circle: "+c.text+" is not \"lat,lon radius\"")
				}
			}
			for _, g := range kid(ar, "geocode") {
				errs = append(errs, sequence(aat+"/geocode", g, valueSeq)...)
			}
		}
	}
	return errs
}

func TestCAPRulesCatchBrokenDocuments(t *testing.T) {
	t.Parallel()
	good := `<alert xmlns="` + capNS + `"><identifier>X-1</identifier><sender>s@x</sender><sent>2026-11-29T16:00:00+08:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>` +
		`<info><category>Met</category><event>台风</event><urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty><area><areaDesc>上保社区</areaDesc></area></info></alert>`
	if errs := capRules(t, []byte(good)); len(errs) != 0 {
		t.Fatalf("a minimal valid alert: %v", errs)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"Z time", "+08:00</sent>", "Z</sent>", "alert/sent"},
		{"swapped order", "<status>Actual</status><msgType>Alert</msgType>", "<msgType>Alert</msgType><status>Actual</status>", "alert/"},
		{"unknown status", ">Actual<", ">Real<", "alert/status"},
		{"no areaDesc", "<areaDesc>上保社区</areaDesc>", "", "areaDesc"},
		{"Update without references", ">Alert<", ">Update<", "alert/references"},
	} {
		if errs := capRules(t, []byte(strings.Replace(good, tc.from, tc.to, 1))); len(errs) == 0 || !strings.Contains(strings.Join(errs, ";"), tc.want) {
			t.Errorf("%s: %v", tc.name, errs)
		}
	}
}

func TestIssuedWarningsAreCAP12DocumentsAndRoundTrip(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		first := w.issue(t, orange(communityA)).Alert
		c := e.Login("officer.town")
		update := apptest.JSON[emergency.Issued](t, c, "POST", "/api/v1/emergency/alerts/"+first.ID+"/update", orange(communityA), 201).Alert
		e.Clock.Add(90 * time.Minute)
		c = e.Login("officer.town")
		cancel := apptest.JSON[emergency.Alert](t, c, "POST", "/api/v1/emergency/alerts/"+update.ID+"/cancel", emergency.CancelInput{Note: "解除"}, 201)
		docs := map[string][]byte{}
		for _, a := range []emergency.Alert{first, update, cancel} {
			st, body, hdr := c.Get("/api/v1/emergency/alerts/" + a.ID + ".xml")
			if st != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/cap+xml") {
				t.Fatalf("%s.xml: %d %s", a.ID, st, hdr.Get("Content-Type"))
			}
			docs[a.MsgType] = []byte(body)
		}

		for _, mt := range []string{"Alert", "Update", "Cancel"} {
			t.Run("the "+mt+" breaks none of CAP 1.2's rules, element by element, and is signed", func(t *testing.T) {
				if errs := capRules(t, docs[mt]); len(errs) > 0 {
					t.Fatalf("%s\n%s", strings.Join(errs, "\n"), docs[mt])
				}
				if _, err := xmldsig.Verify(docs[mt]); err != nil {
					t.Fatal(err)
				}
			})
		}
		t.Run("the Alert carries what the officer issued: area as division geocode and polygon, the colour and level as parameters", func(t *testing.T) {
			root := parseTree(t, docs["Alert"])
			in := kid(root, "info")[0]
			ar := kid(in, "area")[0]
			if text(root, "msgType") != "Alert" || text(root, "status") != "Actual" || text(in, "language") != "zh-CN" || text(in, "category") != "Met" ||
				text(in, "urgency") != "Expected" || text(in, "severity") != "Severe" || text(in, "certainty") != "Likely" || text(in, "headline") != "台风橙色预警" {
				t.Fatalf("%s", docs["Alert"])
			}
			if !strings.HasSuffix(text(root, "sent"), "+08:00") || text(in, "onset") != "2026-11-29T18:00:00+08:00" || text(in, "expires") != "2026-11-30T18:00:00+08:00" {
				t.Fatalf("times: %s %s %s", text(root, "sent"), text(in, "onset"), text(in, "expires"))
			}
			if text(ar, "areaDesc") != "上保社区" || text(ar, "polygon") != "30.25,120.13 30.27,120.13 30.27,120.15 30.25,120.13" || text(ar, "circle") != "30.26,120.14 1.5" {
				t.Fatalf("area: %s", docs["Alert"])
			}
			g := kid(ar, "geocode")[0]
			if text(g, "valueName") != "NBS2023" || text(g, "value") != communityA {
				t.Fatalf("geocode: %s %s", text(g, "valueName"), text(g, "value"))
			}
			params := map[string]string{}
			for _, p := range kid(in, "parameter") {
				params[text(p, "valueName")] = text(p, "value")
			}
			if params["colour"] != "orange" || params["responseLevel"] != "II" {
				t.Fatalf("parameters %v", params)
			}
		})
		t.Run("the Update references the Alert, and the Cancel both, as sender,identifier,sent", func(t *testing.T) {
			ref := func(a emergency.Alert) string { return a.Sender + "," + a.Identifier + "," + a.SentText }
			if got := text(parseTree(t, docs["Update"]), "references"); got != ref(first) {
				t.Fatalf("Update references %q, want %q", got, ref(first))
			}
			if got := text(parseTree(t, docs["Cancel"]), "references"); got != ref(first)+" "+ref(update) {
				t.Fatalf("Cancel references %q", got)
			}
			if cancel.IncidentID != first.ID || cancel.State != "cancelled" {
				t.Fatalf("cancel %+v", cancel)
			}
		})
		t.Run("Accept: application/cap+xml gives the same document; JSON otherwise", func(t *testing.T) {
			req := c.NewRequest("GET", "/api/v1/emergency/alerts/"+first.ID, nil)
			req.Header.Set("Accept", "application/cap+xml")
			if _, body, _ := c.Send(req); unsigned([]byte(body)) != unsigned(docs["Alert"]) {
				t.Fatalf("by Accept: %s", body)
			}
			if a := apptest.JSON[emergency.Alert](t, c, "GET", "/api/v1/emergency/alerts/"+first.ID, nil, 200); a.Identifier != first.Identifier || len(a.Divisions) != 1 {
				t.Fatalf("%+v", a)
			}
		})
		t.Run("the document parses back to the same alert", func(t *testing.T) {
			back, err := emergency.ParseCAP(bytes.NewReader(docs["Alert"]))
			if err != nil {
				t.Fatal(err)
			}
			again, _ := emergency.MarshalCAP(back)
			if string(again) != unsigned(docs["Alert"]) {
				t.Fatalf("round trip differs:\n%s\n%s", again, docs["Alert"])
			}
		})
		t.Run("the county officer imports another sender's CAP Alert and its Cancel by reference", func(t *testing.T) {
			doc := strings.NewReplacer(first.Identifier, "EXT-7", first.Sender, "qx@zj.gov.cn").Replace(string(docs["Alert"]))
			county := e.Login("officer.county")
			imp := importCAP(t, county, doc, 201)
			if !strings.Contains(imp, `"identifier":"EXT-7"`) || !strings.Contains(imp, `"households":4`) {
				t.Fatalf("%s", imp)
			}
			cancelDoc := strings.Replace(strings.Replace(doc, "EXT-7", "EXT-8", 1), "<msgType>Alert</msgType>", "<msgType>Cancel</msgType>", 1)
			sent := text(parseTree(t, []byte(doc)), "sent")
			cancelDoc = strings.Replace(cancelDoc, "<scope>Public</scope>", "<scope>Public</scope><references>qx@zj.gov.cn,EXT-7,"+sent+"</references>", 1)
			if out := importCAP(t, county, cancelDoc, 201); !strings.Contains(out, `"state":"cancelled"`) {
				t.Fatalf("%s", out)
			}
			if n := e.Count(`SELECT COUNT(*) FROM em_alerts WHERE identifier IN ('EXT-7', 'EXT-8') AND state = 'cancelled'`); n != 2 {
				t.Fatalf("%d cancelled", n)
			}
		})
		t.Run("a malformed CAP is refused naming the element, and nothing is written", func(t *testing.T) {
			county := e.Login("officer.county")
			before := e.Count(`SELECT COUNT(*) FROM em_alerts`)
			for _, tc := range []struct{ name, from, to, element string }{
				{"a time in Z", "+08:00</sent>", "Z</sent>", "sent"},
				{"an unknown status", "<status>Actual</status>", "<status>Real</status>", "status"},
				{"an unknown urgency", "<urgency>Expected</urgency>", "<urgency>Soon</urgency>", "info[1]/urgency"},
				{"no event", "<event>台风</event>", "", "info[1]/event"},
				{"an open polygon", "30.27,120.15 30.25,120.13</polygon>", "30.27,120.15 30.26,120.16</polygon>", "info[1]/area[1]/polygon"},
				{"a wrong namespace", capNS, "urn:oasis:names:tc:emergency:cap:1.1", "alert"},
				{"no identifier", "<identifier>EXT-9</identifier>", "", "identifier"},
				{"a sender with a comma", "qx@zj.gov.cn", "qx,zj", "sender"},
				{"an Update referencing an unknown alert", "<msgType>Alert</msgType>", "<msgType>Update</msgType><scope>Public</scope><references>a@b,NOPE,2026-01-01T00:00:00+08:00</references>", "references"},
				{"an element out of order", "<category>Met</category>\n    <event>台风</event>", "<event>台风</event>\n    <category>Met</category>", "info[1]/category"},
				{"an unknown element", "<headline>", "<colour>red</colour><headline>", "info[1]/colour"},
				{"an area outside the jurisdiction", communityA, "330102001001", "info[1]/area/geocode"},
			} {
				doc := strings.NewReplacer(first.Identifier, "EXT-9", first.Sender, "qx@zj.gov.cn").Replace(string(docs["Alert"]))
				if !strings.Contains(doc, tc.from) {
					t.Fatalf("%s: the case changes nothing", tc.name)
				}
				doc = strings.Replace(doc, tc.from, tc.to, 1)
				if strings.Contains(tc.to, "<references>") { // the scope moved up, before the references
					doc = strings.Replace(doc, "</references>\n  <scope>Public</scope>", "</references>", 1)
				}
				out := importCAP(t, county, doc, 400)
				if !containsField(out, tc.element) {
					t.Errorf("%s: the refusal does not name %s: %s", tc.name, tc.element, out)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM em_alerts`); n != before {
				t.Fatalf("%d alerts written by refused imports", n-before)
			}
		})
	})
}

func importCAP(t *testing.T, c *apptest.Client, doc string, want int) string {
	t.Helper()
	req := c.NewRequest("POST", "/api/v1/emergency/alerts/import", strings.NewReader(doc))
	req.Header.Set("Content-Type", "application/cap+xml")
	st, body, _ := c.Send(req)
	if st != want {
		t.Fatalf("import: %d, want %d: %s", st, want, body)
	}
	return body
}
