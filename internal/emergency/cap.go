package emergency

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"linli/internal/fault"
	"linli/internal/questions"
	"linli/internal/xmldsig"
)

// CAPNamespace is the namespace of an OASIS CAP 1.2 alert.
const CAPNamespace = "urn:oasis:names:tc:emergency:cap:1.2"

// MediaCAP is the media type a CAP document is served as.
const MediaCAP = "application/cap+xml"

// The value lists of CAP 1.2 (section 3.2). An imported document with a
// value outside them is refused.
var (
	capStatuses   = []string{"Actual", "Exercise", "System", "Test", "Draft"}
	capMsgTypes   = []string{"Alert", "Update", "Cancel", "Ack", "Error"}
	capScopes     = []string{"Public", "Restricted", "Private"}
	capCategories = []string{"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"}
	capResponses  = []string{"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"}
	capUrgencies  = []string{"Immediate", "Expected", "Future", "Past", "Unknown"}
	capSeverities = []string{"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
	capCertainty  = []string{"Observed", "Likely", "Possible", "Unlikely", "Unknown"}
)

// The parameters and geocodes Linli writes beside CAP's own elements.
const (
	paramColour   = "colour"        // blue, yellow, orange, red (预警颜色等级)
	paramResponse = "responseLevel" // I–IV (应急响应级别)
	geocodeNBS    = "NBS2023"       // a division code, statistical division code of 2023
)

// CAPAlert is a CAP 1.2 alert. The fields are in the order the
// specification's schema requires; optional ones are omitted when empty.
type CAPAlert struct {
	XMLName     xml.Name  `xml:"urn:oasis:names:tc:emergency:cap:1.2 alert"`
	Identifier  string    `xml:"identifier"`
	Sender      string    `xml:"sender"`
	Sent        string    `xml:"sent"`
	Status      string    `xml:"status"`
	MsgType     string    `xml:"msgType"`
	Source      string    `xml:"source,omitempty"`
	Scope       string    `xml:"scope"`
	Restriction string    `xml:"restriction,omitempty"`
	Addresses   string    `xml:"addresses,omitempty"`
	Code        []string  `xml:"code,omitempty"`
	Note        string    `xml:"note,omitempty"`
	References  string    `xml:"references,omitempty"`
	Incidents   string    `xml:"incidents,omitempty"`
	Info        []CAPInfo `xml:"info"`
}

// CAPInfo is an alert's info block.
type CAPInfo struct {
	Language     string     `xml:"language,omitempty"`
	Category     []string   `xml:"category"`
	Event        string     `xml:"event"`
	ResponseType []string   `xml:"responseType,omitempty"`
	Urgency      string     `xml:"urgency"`
	Severity     string     `xml:"severity"`
	Certainty    string     `xml:"certainty"`
	Audience     string     `xml:"audience,omitempty"`
	EventCode    []CAPValue `xml:"eventCode,omitempty"`
	Effective    string     `xml:"effective,omitempty"`
	Onset        string     `xml:"onset,omitempty"`
	Expires      string     `xml:"expires,omitempty"`
	SenderName   string     `xml:"senderName,omitempty"`
	Headline     string     `xml:"headline,omitempty"`
	Description  string     `xml:"description,omitempty"`
	Instruction  string     `xml:"instruction,omitempty"`
	Web          string     `xml:"web,omitempty"`
	Contact      string     `xml:"contact,omitempty"`
	Parameter    []CAPValue `xml:"parameter,omitempty"`
	Area         []CAPArea  `xml:"area,omitempty"`
}

// CAPValue is a valueName/value pair (eventCode, parameter, geocode).
type CAPValue struct {
	ValueName string `xml:"valueName"`
	Value     string `xml:"value"`
}

// CAPArea is an info's area.
type CAPArea struct {
	AreaDesc string     `xml:"areaDesc"`
	Polygon  []string   `xml:"polygon,omitempty"`
	Circle   []string   `xml:"circle,omitempty"`
	Geocode  []CAPValue `xml:"geocode,omitempty"`
	Altitude string     `xml:"altitude,omitempty"`
	Ceiling  string     `xml:"ceiling,omitempty"`
}

// capTime writes an instant as CAP requires: seconds, and the offset as
// digits (+08:00), never "Z".
func capTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(questions.CST).Format("2006-01-02T15:04:05-07:00")
}

// parseCAPTime reads a CAP dateTime: a timezone offset is required and
// an alphabetic designator ("Z") is not allowed (CAP 1.2, 3.3.2).
func parseCAPTime(s string) (time.Time, bool) {
	if len(s) < 6 || strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02T15:04:05-07:00", s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// MarshalCAP writes a CAP document with its XML declaration.
func MarshalCAP(a CAPAlert) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(a); err != nil {
		return nil, err
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}

// capError names the element at fault, in the error's field and message.
func capError(element string, zh, en string) *fault.Error {
	return fault.Invalid(fault.M("CAP 文件有误："+element+" "+zh, "the CAP document is not valid: "+element+" "+en),
		fault.Field(element, fault.M(zh, en)))
}

// ParseCAP reads and checks a CAP 1.2 document against the rules of the
// specification; the first rule broken is the error, naming its element.
func ParseCAP(r io.Reader) (CAPAlert, error) {
	var a CAPAlert
	raw, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return a, err
	}
	if err := checkStructure(raw); err != nil {
		return a, err
	}
	if err := xml.Unmarshal(raw, &a); err != nil {
		return a, capError("alert", "不是可读的 XML："+err.Error(), "is not readable XML: "+err.Error())
	}
	return a, a.Check()
}

// slot is one element of a schema sequence and how often it may occur
// (max -1: unbounded).
type slot struct {
	name     string
	min, max int
}

// capSchema is CAP 1.2's XML schema (3.4) as sequences: each element's
// children, in order.
var capSchema = map[string][]slot{
	"alert": {{"identifier", 1, 1}, {"sender", 1, 1}, {"sent", 1, 1}, {"status", 1, 1}, {"msgType", 1, 1}, {"source", 0, 1},
		{"scope", 1, 1}, {"restriction", 0, 1}, {"addresses", 0, 1}, {"code", 0, -1}, {"note", 0, 1}, {"references", 0, 1},
		{"incidents", 0, 1}, {"info", 0, -1}},
	"info": {{"language", 0, 1}, {"category", 1, -1}, {"event", 1, 1}, {"responseType", 0, -1}, {"urgency", 1, 1},
		{"severity", 1, 1}, {"certainty", 1, 1}, {"audience", 0, 1}, {"eventCode", 0, -1}, {"effective", 0, 1}, {"onset", 0, 1},
		{"expires", 0, 1}, {"senderName", 0, 1}, {"headline", 0, 1}, {"description", 0, 1}, {"instruction", 0, 1}, {"web", 0, 1},
		{"contact", 0, 1}, {"parameter", 0, -1}, {"resource", 0, -1}, {"area", 0, -1}},
	"area":      {{"areaDesc", 1, 1}, {"polygon", 0, -1}, {"circle", 0, -1}, {"geocode", 0, -1}, {"altitude", 0, 1}, {"ceiling", 0, 1}},
	"resource":  {{"resourceDesc", 1, 1}, {"mimeType", 1, 1}, {"size", 0, 1}, {"uri", 0, 1}, {"derefUri", 0, 1}, {"digest", 0, 1}},
	"eventCode": {{"valueName", 1, 1}, {"value", 1, 1}},
	"parameter": {{"valueName", 1, 1}, {"value", 1, 1}},
	"geocode":   {{"valueName", 1, 1}, {"value", 1, 1}},
}

// checkStructure walks the document's elements: each in the CAP
// namespace, in its schema's order, as often as allowed; none unknown.
func checkStructure(raw []byte) error {
	type open struct {
		name, path string
		kids       []string
	}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	var stack []*open
	counts := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return capError("alert", "不是可读的 XML："+err.Error(), "is not readable XML: "+err.Error())
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				if x.Name.Local != "alert" || x.Name.Space != CAPNamespace {
					return capError("alert", "根元素须为命名空间 "+CAPNamespace+" 中的 alert", "the root must be alert in the namespace "+CAPNamespace)
				}
				stack = append(stack, &open{name: "alert", path: "alert"})
				continue
			}
			parent := stack[len(stack)-1]
			// CAP's schema ends an alert with any number of XML
			// Signature elements (lax): a signed document reads as its
			// alert.
			if len(stack) == 1 && x.Name.Space == xmldsig.NS {
				if err := dec.Skip(); err != nil {
					return capError("alert", "不是可读的 XML："+err.Error(), "is not readable XML: "+err.Error())
				}
				continue
			}
			path := parent.path + "/" + x.Name.Local
			if x.Name.Local == "info" || x.Name.Local == "area" {
				counts[path]++
				path += "[" + strconv.Itoa(counts[path]) + "]"
			}
			path = strings.TrimPrefix(path, "alert/")
			if x.Name.Space != CAPNamespace {
				return capError(path, "不在 CAP 1.2 命名空间中", "is not in the CAP 1.2 namespace")
			}
			if _, ok := capSchema[parent.name]; !ok {
				return capError(path, "不允许出现在 "+parent.name+" 中", "is not allowed inside "+parent.name)
			}
			parent.kids = append(parent.kids, x.Name.Local)
			stack = append(stack, &open{name: x.Name.Local, path: "alert/" + path})
		case xml.EndElement:
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seq, ok := capSchema[o.name]; ok {
				if err := inSequence(strings.TrimPrefix(strings.TrimPrefix(o.path, "alert"), "/"), o.kids, seq); err != nil {
					return err
				}
			}
		}
	}
}

func inSequence(path string, kids []string, seq []slot) error {
	at := func(name string) string {
		if path == "" {
			return name
		}
		return path + "/" + name
	}
	i := 0
	for _, s := range seq {
		n := 0
		for i < len(kids) && kids[i] == s.name {
			n++
			i++
		}
		if n < s.min {
			return capError(at(s.name), "必填（缺少或顺序不对）", "is required (missing or out of order)")
		}
		if s.max >= 0 && n > s.max {
			return capError(at(s.name), "最多出现 "+strconv.Itoa(s.max)+" 次", "may occur at most "+strconv.Itoa(s.max)+" times")
		}
	}
	if i < len(kids) {
		return capError(at(kids[i]), "不是 CAP 1.2 在此处允许的元素（未知或顺序不对）", "is not an element CAP 1.2 allows here (unknown or out of order)")
	}
	return nil
}

// Check applies CAP 1.2's rules to the alert.
func (a CAPAlert) Check() error {
	if a.XMLName.Local != "alert" || a.XMLName.Space != CAPNamespace {
		return capError("alert", "根元素须为命名空间 "+CAPNamespace+" 中的 alert", "the root must be alert in the namespace "+CAPNamespace)
	}
	if err := capRequired("identifier", a.Identifier); err != nil {
		return err
	}
	if err := capToken("identifier", a.Identifier); err != nil {
		return err
	}
	if err := capRequired("sender", a.Sender); err != nil {
		return err
	}
	if err := capToken("sender", a.Sender); err != nil {
		return err
	}
	if err := capRequired("sent", a.Sent); err != nil {
		return err
	}
	if _, ok := parseCAPTime(a.Sent); !ok {
		return capError("sent", "须为带时区偏移的时间，如 2026-11-29T16:49:00+08:00（不得用 Z）", "must be a time with a timezone offset, e.g. 2026-11-29T16:49:00+08:00 (no \"Z\")")
	}
	for _, e := range []struct {
		name, v string
		allowed []string
	}{
		{"status", a.Status, capStatuses}, {"msgType", a.MsgType, capMsgTypes}, {"scope", a.Scope, capScopes}} {
		if err := capEnum(e.name, e.v, e.allowed, true); err != nil {
			return err
		}
	}
	if a.Scope == "Restricted" && strings.TrimSpace(a.Restriction) == "" {
		return capError("restriction", "scope 为 Restricted 时必填", "is required when scope is Restricted")
	}
	if a.Scope == "Private" && strings.TrimSpace(a.Addresses) == "" {
		return capError("addresses", "scope 为 Private 时必填", "is required when scope is Private")
	}
	if a.MsgType == "Error" && strings.TrimSpace(a.Note) == "" {
		return capError("note", "msgType 为 Error 时须说明", "is required when msgType is Error")
	}
	if (a.MsgType == "Update" || a.MsgType == "Cancel" || a.MsgType == "Ack" || a.MsgType == "Error") && strings.TrimSpace(a.References) == "" {
		return capError("references", "msgType 为 "+a.MsgType+" 时须引用先前的预警", "must name the earlier alert when msgType is "+a.MsgType)
	}
	if _, err := ParseReferences(a.References); err != nil {
		return err
	}
	for i, in := range a.Info {
		if err := in.check(fmt.Sprintf("info[%d]", i+1)); err != nil {
			return err
		}
	}
	return nil
}

func (in CAPInfo) check(at string) error {
	if len(in.Category) == 0 {
		return capError(at+"/category", "至少一项", "is required (at least one)")
	}
	for _, c := range in.Category {
		if err := capEnum(at+"/category", c, capCategories, true); err != nil {
			return err
		}
	}
	if err := capRequired(at+"/event", in.Event); err != nil {
		return err
	}
	for _, c := range in.ResponseType {
		if err := capEnum(at+"/responseType", c, capResponses, true); err != nil {
			return err
		}
	}
	for _, e := range []struct {
		name, v string
		allowed []string
	}{
		{"urgency", in.Urgency, capUrgencies}, {"severity", in.Severity, capSeverities}, {"certainty", in.Certainty, capCertainty}} {
		if err := capEnum(at+"/"+e.name, e.v, e.allowed, true); err != nil {
			return err
		}
	}
	for _, e := range []struct{ name, v string }{{"effective", in.Effective}, {"onset", in.Onset}, {"expires", in.Expires}} {
		if e.v == "" {
			continue
		}
		if _, ok := parseCAPTime(e.v); !ok {
			return capError(at+"/"+e.name, "须为带时区偏移的时间（不得用 Z）", "must be a time with a timezone offset (no \"Z\")")
		}
	}
	for _, list := range []struct {
		name string
		vs   []CAPValue
	}{{"eventCode", in.EventCode}, {"parameter", in.Parameter}} {
		for _, v := range list.vs {
			if strings.TrimSpace(v.ValueName) == "" {
				return capError(at+"/"+list.name+"/valueName", "必填", "is required")
			}
		}
	}
	for i, ar := range in.Area {
		aat := fmt.Sprintf("%s/area[%d]", at, i+1)
		if err := capRequired(aat+"/areaDesc", ar.AreaDesc); err != nil {
			return err
		}
		for _, p := range ar.Polygon {
			if _, err := parsePolygon(p); err != nil {
				return capError(aat+"/polygon", err.ZH, err.EN)
			}
		}
		for _, c := range ar.Circle {
			if _, _, _, err := parseCircle(c); err != nil {
				return capError(aat+"/circle", err.ZH, err.EN)
			}
		}
		for _, g := range ar.Geocode {
			if strings.TrimSpace(g.ValueName) == "" {
				return capError(aat+"/geocode/valueName", "必填", "is required")
			}
		}
		if ar.Ceiling != "" && ar.Altitude == "" {
			return capError(aat+"/ceiling", "须与 altitude 同时给出", "may be given only with altitude")
		}
	}
	return nil
}

func capRequired(element, v string) error {
	if strings.TrimSpace(v) == "" {
		return capError(element, "必填", "is required")
	}
	return nil
}

// capToken: identifiers and senders must not include spaces, commas or
// the restricted characters < and &.
func capToken(element, v string) error {
	if strings.ContainsAny(v, " \t\r\n,<&") {
		return capError(element, "不得含空格、逗号、< 或 &", "must not contain spaces, commas, < or &")
	}
	return nil
}

func capEnum(element, v string, allowed []string, required bool) error {
	if v == "" && required {
		return capError(element, "必填", "is required")
	}
	if !slices.Contains(allowed, v) {
		return capError(element, "取值 "+strconv.Quote(v)+" 不在规范的取值中（"+strings.Join(allowed, ", ")+"）",
			"value "+strconv.Quote(v)+" is not one of the specification's ("+strings.Join(allowed, ", ")+")")
	}
	return nil
}

// Reference is one entry of an alert's references: "sender,identifier,sent".
type Reference struct {
	Sender, Identifier, Sent string
}

func (r Reference) String() string { return r.Sender + "," + r.Identifier + "," + r.Sent }

// ParseReferences reads the whitespace-separated references of an alert.
func ParseReferences(s string) ([]Reference, error) {
	var out []Reference
	for _, f := range strings.Fields(s) {
		parts := strings.Split(f, ",")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
			return nil, capError("references", "每项须为 sender,identifier,sent", "each entry must be sender,identifier,sent")
		}
		if _, ok := parseCAPTime(parts[2]); !ok {
			return nil, capError("references", "引用中的 sent 须为带时区偏移的时间", "the sent of a reference must be a time with a timezone offset")
		}
		out = append(out, Reference{parts[0], parts[1], parts[2]})
	}
	return out, nil
}

// point is a WGS 84 position.
type point struct{ Lat, Lon float64 }

func parsePoint(s string) (point, *fault.Msg) {
	la, lo, ok := strings.Cut(s, ",")
	lat, err1 := strconv.ParseFloat(la, 64)
	lon, err2 := strconv.ParseFloat(lo, 64)
	if !ok || err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		m := fault.M("坐标须为 纬度,经度（WGS 84）："+strconv.Quote(s), "a point must be lat,lon (WGS 84): "+strconv.Quote(s))
		return point{}, &m
	}
	return point{lat, lon}, nil
}

// parsePolygon reads a CAP polygon: four or more "lat,lon" pairs
// separated by spaces, the first and the last the same.
func parsePolygon(s string) ([]point, *fault.Msg) {
	var ps []point
	for _, f := range strings.Fields(s) {
		p, err := parsePoint(f)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	if len(ps) < 4 {
		m := fault.M("多边形至少四个坐标对", "a polygon needs at least four coordinate pairs")
		return nil, &m
	}
	if ps[0] != ps[len(ps)-1] {
		m := fault.M("多边形须闭合：首尾坐标相同", "a polygon must be closed: its first and last pairs the same")
		return nil, &m
	}
	return ps, nil
}

// parseCircle reads a CAP circle: "lat,lon radius", the radius in km.
func parseCircle(s string) (lat, lon, km float64, err *fault.Msg) {
	c, r, ok := strings.Cut(strings.TrimSpace(s), " ")
	p, perr := parsePoint(c)
	if perr != nil {
		return 0, 0, 0, perr
	}
	km, rerr := strconv.ParseFloat(strings.TrimSpace(r), 64)
	if !ok || rerr != nil || km < 0 {
		m := fault.M("圆形区域须为 纬度,经度 半径（公里）", "a circle must be lat,lon radius (km)")
		return 0, 0, 0, &m
	}
	return p.Lat, p.Lon, km, nil
}

func formatPolygon(ps []point) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(p.Lat, 'f', -1, 64) + "," + strconv.FormatFloat(p.Lon, 'f', -1, 64))
	}
	return b.String()
}
