package emergency_test

import (
	"bytes"
	"encoding/pem"
	"encoding/xml"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/emergency"
	"linli/internal/xmldsig"
)

// feed is the part of an Atom feed the test reads.
type feed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Updated string   `xml:"updated"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Author  string `xml:"author>name"`
		Links   []struct {
			Rel  string `xml:"rel,attr"`
			Type string `xml:"type,attr"`
			Href string `xml:"href,attr"`
		} `xml:"link"`
	} `xml:"entry"`
}

// The public feed: what anyone may read without signing in, as alert
// hubs read it — an Atom index linking CAP 1.2 documents.
func TestPublicFeedServesActualPublicWarningsAsAtomAndCAP(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		anyone := e.Client()
		read := func(t *testing.T, path string) feed {
			t.Helper()
			st, body, hdr := anyone.Get(path)
			if st != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), emergency.MediaAtom) {
				t.Fatalf("%s: %d %s\n%s", path, st, hdr.Get("Content-Type"), body)
			}
			var f feed
			if err := xml.Unmarshal([]byte(body), &f); err != nil {
				t.Fatalf("%s is not Atom: %v\n%s", path, err, body)
			}
			for _, word := range []string{"居民", "社区 H1"} {
				if strings.Contains(body, word) {
					t.Fatalf("the public feed names a resident or a household (%q):\n%s", word, body)
				}
			}
			return f
		}
		var actual, exercise emergency.Issued

		t.Run("with no warning yet the feed is a valid, empty Atom feed", func(t *testing.T) {
			f := read(t, "/cap/alerts.atom")
			if len(f.Entries) != 0 || f.ID == "" || f.Updated == "" {
				t.Fatalf("%+v", f)
			}
		})
		t.Run("an actual warning is listed, an exercise is not", func(t *testing.T) {
			actual = w.issue(t, orange(communityA))
			ex := orange(communityA)
			ex.Status, ex.Headline = "Exercise", "台风演练"
			exercise = w.issue(t, ex)
			f := read(t, "/cap/alerts.atom")
			if len(f.Entries) != 1 || f.Entries[0].Title != "台风橙色预警" || f.Entries[0].Author == "" {
				t.Fatalf("%+v", f.Entries)
			}
			l := f.Entries[0].Links
			if len(l) != 1 || l[0].Rel != "alternate" || l[0].Type != emergency.MediaCAP || !strings.HasSuffix(l[0].Href, "/cap/alerts/"+actual.Alert.ID+".xml") ||
				f.Entries[0].ID != l[0].Href {
				t.Fatalf("%+v", f.Entries[0])
			}
		})
		t.Run("the entry's link is the CAP 1.2 document, valid and the same alert", func(t *testing.T) {
			st, body, hdr := anyone.Get("/cap/alerts/" + actual.Alert.ID + ".xml")
			if st != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), emergency.MediaCAP) {
				t.Fatalf("%d %s", st, hdr.Get("Content-Type"))
			}
			doc, err := emergency.ParseCAP(bytes.NewReader([]byte(body)))
			if err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			if doc.Identifier != actual.Alert.Identifier || doc.MsgType != "Alert" || doc.Status != "Actual" || doc.Scope != "Public" {
				t.Fatalf("%+v", doc)
			}
		})
		t.Run("the CAP document is signed (XML Signature, CAP 1.2 3.3.2.1) by the certificate the platform publishes", func(t *testing.T) {
			_, body, _ := anyone.Get("/cap/alerts/" + actual.Alert.ID + ".xml")
			cert, err := xmldsig.Verify([]byte(body))
			if err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			st, pemText, hdr := anyone.Get("/cap/signing-cert.pem")
			block, _ := pem.Decode([]byte(pemText))
			if st != 200 || hdr.Get("Content-Type") != "application/x-pem-file" || block == nil || !bytes.Equal(block.Bytes, cert.Raw) {
				t.Fatalf("the published certificate (%d) is not the signer's", st)
			}
			if _, err := xmldsig.Verify([]byte(strings.Replace(body, "台风橙色预警", "台风红色预警", 1))); err == nil {
				t.Fatal("a changed headline still verifies")
			}
			_, again, _ := e.Login("officer.town").Get("/api/v1/emergency/alerts/" + actual.Alert.ID + ".xml")
			if c, err := xmldsig.Verify([]byte(again)); err != nil || !c.Equal(cert) {
				t.Fatalf("the signed-in API's document: %v", err)
			}
		})
		t.Run("an exercise's CAP document is not public", func(t *testing.T) {
			if st, _, _ := anyone.Get("/cap/alerts/" + exercise.Alert.ID + ".xml"); st != 404 {
				t.Fatalf("%d", st)
			}
		})
		t.Run("a division filter keeps the warnings whose area meets it, up and down the tree", func(t *testing.T) {
			for _, code := range []string{communityA, townA, "330106"} {
				if f := read(t, "/cap/alerts.atom?division="+code); len(f.Entries) != 1 {
					t.Fatalf("%s: %d entries", code, len(f.Entries))
				}
			}
			if f := read(t, "/cap/alerts.atom?division="+communityB); len(f.Entries) != 0 {
				t.Fatalf("community B sees %d entries", len(f.Entries))
			}
		})
		t.Run("a malformed or unknown division is refused, naming it", func(t *testing.T) {
			if st, body, _ := anyone.Get("/cap/alerts.atom?division=33a"); st != 400 || !strings.Contains(body, "区划代码") {
				t.Fatalf("%d %s", st, body)
			}
			if st, body, _ := anyone.Get("/cap/alerts.atom?division=339999999999"); st != 404 || !strings.Contains(body, "339999999999") {
				t.Fatalf("%d %s", st, body)
			}
		})
		t.Run("a cancellation is listed first, marked, and its CAP references the alert", func(t *testing.T) {
			c := apptest.JSON[emergency.Alert](t, e.Login("officer.town"), "POST", "/api/v1/emergency/alerts/"+actual.Alert.ID+"/cancel", emergency.CancelInput{Note: "台风已转向"}, 201)
			f := read(t, "/cap/alerts.atom")
			if len(f.Entries) != 2 || !strings.Contains(f.Entries[0].Title, "解除") || !strings.HasSuffix(f.Entries[0].ID, "/cap/alerts/"+c.ID+".xml") {
				t.Fatalf("%+v", f.Entries)
			}
			_, body, _ := anyone.Get("/cap/alerts/" + c.ID + ".xml")
			doc, err := emergency.ParseCAP(strings.NewReader(body))
			if err != nil || doc.MsgType != "Cancel" || !strings.Contains(doc.References, actual.Alert.Identifier) {
				t.Fatalf("%v %+v", err, doc)
			}
		})
		t.Run("the earlier addresses send readers to the new ones for good", func(t *testing.T) {
			for from, to := range map[string]string{
				"/emergency/feed?division=" + townA:          "/cap/alerts.atom?division=" + townA,
				"/emergency/cap/" + actual.Alert.ID:          "/cap/alerts/" + actual.Alert.ID + ".xml",
				"/emergency/cap/" + actual.Alert.ID + ".xml": "/cap/alerts/" + actual.Alert.ID + ".xml",
			} {
				if st, _, hdr := anyone.Get(from); st != 301 || hdr.Get("Location") != to {
					t.Fatalf("%s: %d → %q", from, st, hdr.Get("Location"))
				}
			}
			if st, _, _ := anyone.Get("/cap/alerts/" + actual.Alert.ID); st != 404 {
				t.Fatalf("without .xml: %d", st)
			}
		})
	})
}
