package emergency

import (
	"context"
	"database/sql"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/web"
)

// MediaAtom is the media type of the public feed (RFC 4287).
const MediaAtom = "application/atom+xml"

// feedSize is how many of the newest public warnings the feed lists:
// consumers poll it, and older messages stay at their own addresses.
const feedSize = 50

// The public feed serves what a warning says to everyone, without
// signing in: the Atom index of the newest public, actual warnings
// (each entry linking its CAP 1.2 document, as alert hubs read them) and
// each such warning as application/cap+xml. Exercises, tests and
// restricted or private messages stay inside; no check-in or household
// is ever in it.

// atomFeed is an Atom 1.0 feed (RFC 4287 section 4.1.1).
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"xml:lang,attr"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

// atomEntry is one warning: its id is its CAP document's address, its
// time the CAP sent time, and its alternate link the CAP document.
type atomEntry struct {
	ID        string     `xml:"id"`
	Title     string     `xml:"title"`
	Updated   string     `xml:"updated"`
	Published string     `xml:"published"`
	Author    atomPerson `xml:"author"`
	Links     []atomLink `xml:"link"`
	Category  []atomCat  `xml:"category"`
	Summary   atomText   `xml:"summary"`
}

type atomCat struct {
	Term string `xml:"term,attr"`
}

// publicCond selects the warnings the feed may show.
const publicCond = `x.scope = 'Public' AND x.status = 'Actual'`

// PublicFeed reads the newest public, actual warnings, all of them or
// those whose area meets division (a division inside the area, or the
// area inside it).
func (s *Store) PublicFeed(ctx context.Context, division string) ([]Alert, error) {
	q, args := `SELECT `+alertCols+` FROM em_alerts x WHERE `+publicCond, []any{}
	if division != "" {
		q += ` AND EXISTS (SELECT 1 FROM em_alert_areas a WHERE a.alert_id = x.id AND (substr($1, 1, length(a.division_code)) = a.division_code
			OR substr(a.division_code, 1, length($1)) = $1))`
		args = append(args, division)
	}
	as, err := db.Collect(ctx, s.DB.R, scanAlert, q+` ORDER BY x.sent DESC, x.id DESC LIMIT `+itoa(feedSize), args...)
	if err != nil {
		return nil, err
	}
	for i := range as {
		if err := s.areas(ctx, s.DB.R, &as[i]); err != nil {
			return nil, err
		}
	}
	return as, nil
}

// PublicAlert reads one public, actual warning by its id.
func (s *Store) PublicAlert(ctx context.Context, id string) (Alert, error) {
	a, err := scanAlert(s.DB.R.QueryRowContext(ctx, `SELECT `+alertCols+` FROM em_alerts x WHERE x.id = $1 AND `+publicCond, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fault.NotFound(fault.M("没有这条公开预警", "no such public warning"))
	}
	if err != nil {
		return a, err
	}
	return a, s.areas(ctx, s.DB.R, &a)
}

// registerFeed adds the two public addresses, and sends readers of the
// earlier ones there.
func (h *Handlers) registerFeed(rt *web.Router) {
	rt.Public("GET "+feedPath, h.feed)
	rt.Public("GET /cap/alerts/{file}", h.publicCAP)
	rt.Public("GET /cap/signing-cert.pem", h.signingCert)
	rt.Public("GET /emergency/feed", func(w http.ResponseWriter, r *http.Request) {
		to := feedPath
		if r.URL.RawQuery != "" {
			to += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, to, http.StatusMovedPermanently)
	})
	rt.Public("GET /emergency/cap/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, capPath(strings.TrimSuffix(r.PathValue("id"), ".xml")), http.StatusMovedPermanently)
	})
}

// feedPath is the public Atom index of warnings.
const feedPath = "/cap/alerts.atom"

// capPath is the public CAP 1.2 document of an alert.
func capPath(id string) string { return "/cap/alerts/" + url.PathEscape(id) + ".xml" }

func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func (h *Handlers) feed(w http.ResponseWriter, r *http.Request) {
	division := r.URL.Query().Get("division")
	if division != "" {
		if len(division) < 2 || len(division) > 12 || strings.Trim(division, "0123456789") != "" {
			h.failPublic(w, r, fault.Invalid(fault.M("区划代码应为 2 至 12 位数字", "a division code has 2 to 12 digits"), fault.Field("division", fault.M("区划代码", "division code"))))
			return
		}
		if _, err := h.Store.Divs.Get(r.Context(), division); err != nil {
			h.failPublic(w, r, fault.NotFound(fault.M("没有这个区划："+division, "no such division: "+division)))
			return
		}
	}
	as, err := h.Store.PublicFeed(r.Context(), division)
	if err != nil {
		h.failPublic(w, r, err)
		return
	}
	base := baseURL(r)
	self := base + feedPath
	if division != "" {
		self += "?division=" + division
	}
	f := atomFeed{Lang: "zh-CN", ID: self, Title: "应急预警 / Public warnings", Author: atomPerson{"邻里 Linli"},
		Links: []atomLink{{Rel: "self", Type: MediaAtom, Href: self}}, Updated: capTime(h.Store.Now())}
	if len(as) > 0 {
		f.Updated = capTime(as[0].Sent)
	}
	for _, a := range as {
		doc := base + capPath(a.ID)
		title := a.Headline
		if title == "" {
			title = a.Event
		}
		if a.MsgType == "Cancel" {
			title = "【解除 / Cancelled】" + title
		}
		summary := a.AreaDesc
		if a.Instruction != "" {
			summary += "：" + a.Instruction
		}
		e := atomEntry{ID: doc, Title: title, Updated: capTime(a.Sent), Published: capTime(a.Sent),
			Author: atomPerson{a.SenderName}, Links: []atomLink{{Rel: "alternate", Type: MediaCAP, Href: doc}}, Summary: atomText{"text", summary}}
		if e.Author.Name == "" {
			e.Author.Name = a.Sender
		}
		for _, c := range a.Category {
			e.Category = append(e.Category, atomCat{c})
		}
		f.Entries = append(f.Entries, e)
	}
	b, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		h.failPublic(w, r, err)
		return
	}
	w.Header().Set("Content-Type", MediaAtom+"; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.WriteHeader(200)
	w.Write([]byte(xml.Header))
	w.Write(b)
}

func (h *Handlers) publicCAP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".xml")
	if !ok {
		h.failPublic(w, r, fault.NotFound(fault.M("CAP 文件的地址以 .xml 结尾", "a CAP document's address ends in .xml")))
		return
	}
	a, err := h.Store.PublicAlert(r.Context(), id)
	if err != nil {
		h.failPublic(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	if err := h.writeCAP(w, a); err != nil {
		web.Logger(r.Context()).Error("public CAP", "err", err.Error())
	}
}

// failPublic answers a feed reader in plain text: it reads no page.
func (h *Handlers) failPublic(w http.ResponseWriter, r *http.Request, err error) {
	if we, ok := fault.As(err); ok {
		http.Error(w, we.Msg.ZH+" / "+we.Msg.EN, web.Status(we))
		return
	}
	web.Logger(r.Context()).Error("public feed", "err", err.Error())
	http.Error(w, "服务器内部错误 / internal server error", http.StatusInternalServerError)
}
