package requests

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/web"
)

// Open311 GeoReport v2 at /open311/v2/. Only public categories are listed
// and readable anonymously; personal fields are never returned, free texts
// only masked, and a description that held personal data only once a
// worker cleared it (see private.go).

// O311Error is one GeoReport error.
type O311Error struct {
	XMLName     xml.Name `json:"-" xml:"error"`
	Code        int      `json:"code" xml:"code"`
	Description string   `json:"description" xml:"description"`
}

type o311Errors struct {
	XMLName xml.Name    `xml:"errors"`
	Errors  []O311Error `xml:"error"`
}

// O311Service is a service list entry.
type O311Service struct {
	XMLName     xml.Name `json:"-" xml:"service"`
	Code        string   `json:"service_code" xml:"service_code"`
	Name        string   `json:"service_name" xml:"service_name"`
	Description string   `json:"description" xml:"description"`
	Metadata    bool     `json:"metadata" xml:"metadata"`
	Type        string   `json:"type" xml:"type"`
	Keywords    string   `json:"keywords" xml:"keywords"`
	Group       string   `json:"group" xml:"group"`
}

// O311Value is an allowed value of a list attribute.
type O311Value struct {
	Key  string `json:"key" xml:"key"`
	Name string `json:"name" xml:"name"`
}

// O311Attribute is an attribute of a service definition.
type O311Attribute struct {
	Variable            bool        `json:"variable" xml:"variable"`
	Code                string      `json:"code" xml:"code"`
	Datatype            string      `json:"datatype" xml:"datatype"`
	Required            bool        `json:"required" xml:"required"`
	DatatypeDescription string      `json:"datatype_description" xml:"datatype_description"`
	Order               int         `json:"order" xml:"order"`
	Description         string      `json:"description" xml:"description"`
	Values              []O311Value `json:"values,omitempty" xml:"values>value,omitempty"`
}

// O311Definition is a service definition.
type O311Definition struct {
	XMLName    xml.Name        `json:"-" xml:"service_definition"`
	Code       string          `json:"service_code" xml:"service_code"`
	Attributes []O311Attribute `json:"attributes" xml:"attributes>attribute"`
}

// O311Request is a service request as GeoReport shows it.
type O311Request struct {
	XMLName           xml.Name `json:"-" xml:"request"`
	ID                string   `json:"service_request_id" xml:"service_request_id"`
	Status            string   `json:"status" xml:"status"`
	StatusNotes       string   `json:"status_notes" xml:"status_notes"`
	ServiceName       string   `json:"service_name" xml:"service_name"`
	ServiceCode       string   `json:"service_code" xml:"service_code"`
	Description       string   `json:"description" xml:"description"`
	AgencyResponsible string   `json:"agency_responsible" xml:"agency_responsible"`
	ServiceNotice     string   `json:"service_notice" xml:"service_notice"`
	Requested         string   `json:"requested_datetime" xml:"requested_datetime"`
	Updated           string   `json:"updated_datetime" xml:"updated_datetime"`
	Expected          string   `json:"expected_datetime" xml:"expected_datetime"`
	Address           string   `json:"address" xml:"address"`
	AddressID         string   `json:"address_id" xml:"address_id"`
	Zipcode           string   `json:"zipcode" xml:"zipcode"`
	Lat               *float64 `json:"lat" xml:"lat,omitempty"`
	Long              *float64 `json:"long" xml:"long,omitempty"`
	MediaURL          string   `json:"media_url" xml:"media_url"`
}

// O311Created is the answer to a POST: the request's id, as the services
// are realtime (the specification returns a token only instead of an id).
type O311Created struct {
	XMLName       xml.Name `json:"-" xml:"request"`
	ID            string   `json:"service_request_id" xml:"service_request_id"`
	ServiceNotice string   `json:"service_notice" xml:"service_notice"`
	AccountID     string   `json:"account_id" xml:"account_id"`
}

// O311Token is the answer to GET tokens/{token}.
type O311Token struct {
	XMLName xml.Name `json:"-" xml:"request"`
	ID      string   `json:"service_request_id" xml:"service_request_id"`
	Token   string   `json:"token" xml:"token"`
}

type o311Endpoint struct {
	Specification string   `json:"specification" xml:"specification"`
	URL           string   `json:"url" xml:"url"`
	Changeset     string   `json:"changeset" xml:"changeset"`
	Type          string   `json:"type" xml:"type"`
	Formats       []string `json:"formats" xml:"formats>format"`
}

type o311Discovery struct {
	XMLName    xml.Name       `json:"-" xml:"discovery"`
	Changeset  string         `json:"changeset" xml:"changeset"`
	Contact    string         `json:"contact" xml:"contact"`
	KeyService string         `json:"key_service" xml:"key_service"`
	Endpoints  []o311Endpoint `json:"endpoints" xml:"endpoints>endpoint"`
}

// RegisterOpen311 adds the GeoReport v2 endpoints.
func (h *Handlers) RegisterOpen311(rt *web.Router) {
	rt.Public("GET /open311/v2/{file}", h.o311Root)
	rt.Public("POST /open311/v2/{file}", h.o311Post)
	rt.Public("GET /open311/v2/services/{file}", h.o311Definition)
	rt.Public("GET /open311/v2/requests/{file}", h.o311Request)
	rt.Public("GET /open311/v2/tokens/{file}", h.o311TokenGet)
	// Any other method is answered in GeoReport's errors form.
	rt.Public("/open311/v2/{file}", h.o311Method)
	for _, dir := range []string{"services", "requests", "tokens"} {
		rt.Public("/open311/v2/"+dir+"/{file}", h.o311Method)
	}
}

// o311Method answers a method the resource does not take: 405 with the
// methods it takes, or 404 for no such resource.
func (h *Handlers) o311Method(w http.ResponseWriter, r *http.Request) {
	name, format, ok := splitFormat(r.PathValue("file"))
	allow := "GET, HEAD"
	switch {
	case !ok:
		o311Fail(w, format, 404, "use .json or .xml / 请使用 .json 或 .xml")
		return
	case strings.Count(r.URL.Path, "/") == 3 && name == "requests":
		allow = "GET, HEAD, POST"
	case strings.Count(r.URL.Path, "/") == 3 && name != "discovery" && name != "services":
		o311Fail(w, format, 404, "no such resource / 无此资源")
		return
	}
	w.Header().Set("Allow", allow)
	o311Fail(w, format, 405, r.Method+": method not allowed; use "+allow+" / 不支持该请求方法，请使用 "+allow)
}

// splitFormat splits "name.json" / "name.xml".
func splitFormat(file string) (string, string, bool) {
	for _, f := range []string{"json", "xml"} {
		if n, ok := strings.CutSuffix(file, "."+f); ok && n != "" {
			return n, f, true
		}
	}
	return file, "json", false
}

func o311Write(w http.ResponseWriter, status int, format, root string, v any) {
	if format == "xml" {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(status)
		io := xml.NewEncoder(w)
		w.Write([]byte(xml.Header))
		if root != "" {
			io.EncodeToken(xml.StartElement{Name: xml.Name{Local: root}})
		}
		io.Encode(v)
		if root != "" {
			io.EncodeToken(xml.EndElement{Name: xml.Name{Local: root}})
		}
		io.Flush()
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func o311Fail(w http.ResponseWriter, format string, status int, descs ...string) {
	var es []O311Error
	for _, d := range descs {
		es = append(es, O311Error{Code: status, Description: d})
	}
	if format == "xml" {
		o311Write(w, status, "xml", "", o311Errors{Errors: es})
		return
	}
	o311Write(w, status, "json", "", es)
}

// o311Err turns a store error into GeoReport errors: 403 and 404 as they
// are, any other refusal 400 (the specification's general service error).
func o311Err(w http.ResponseWriter, r *http.Request, format string, err error) {
	we, ok := fault.As(err)
	if !ok {
		web.Logger(r.Context()).Error("open311", "err", err.Error())
		o311Fail(w, format, 500, "internal server error / 服务器内部错误")
		return
	}
	var ds []string
	for _, f := range we.Fields {
		ds = append(ds, f.Field+": "+f.MessageEN+" / "+f.Message)
	}
	if len(ds) == 0 {
		ds = []string{we.Msg.EN + " / " + we.Msg.ZH}
	}
	st := web.Status(we)
	if st != 403 && st != 404 {
		st = 400
	}
	o311Fail(w, format, st, ds...)
}

// jurisdiction reads the optional jurisdiction_id: a county (区县) code.
// Anything else is not a jurisdiction this endpoint serves: 404, as the
// specification asks.
func (h *Handlers) jurisdiction(ctx context.Context, q url.Values) (string, error) {
	j := strings.TrimSpace(q.Get("jurisdiction_id"))
	if j == "" {
		return "", nil
	}
	d, err := h.Store.Divs.Get(ctx, j)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return "", err
	}
	if err != nil || d.Level != 3 {
		return "", fault.New(fault.CodeNotFound, web.M("没有这个辖区", "no such jurisdiction"),
			fault.Field("jurisdiction_id", web.M("未找到该辖区，须为区县代码，如 330106", "not found: give a county code such as 330106")))
	}
	return j, nil
}

func (h *Handlers) o311Root(w http.ResponseWriter, r *http.Request) {
	name, format, ok := splitFormat(r.PathValue("file"))
	if !ok {
		o311Fail(w, format, 404, "use .json or .xml / 请使用 .json 或 .xml")
		return
	}
	switch name {
	case "discovery":
		base := "https://" + r.Host + "/open311/v2/"
		if r.TLS == nil {
			base = "http://" + r.Host + "/open311/v2/"
		}
		o311Write(w, 200, format, "", o311Discovery{Changeset: "2026-11-29T00:00:00+08:00", Contact: "民呼我为 / Linli requests desk", KeyService: "linli admin open311-key --name NAME --division CODE",
			Endpoints: []o311Endpoint{{Specification: "http://wiki.open311.org/GeoReport_v2", URL: base, Changeset: "2026-11-29T00:00:00+08:00", Type: "production", Formats: []string{"application/json", "text/xml"}}}})
	case "services":
		if _, err := h.jurisdiction(r.Context(), r.URL.Query()); err != nil {
			o311Err(w, r, format, err)
			return
		}
		cs, err := h.Store.Categories(r.Context())
		if err != nil {
			o311Err(w, r, format, err)
			return
		}
		out := []O311Service{}
		for _, c := range cs {
			if c.Public {
				out = append(out, O311Service{Code: c.Code, Name: c.NameZH + " / " + c.NameEN, Description: c.DescZH + " / " + c.DescEN, Metadata: len(c.Attributes) > 0, Type: "realtime", Keywords: c.NameZH, Group: c.Group})
			}
		}
		o311Write(w, 200, format, "services", out)
	case "requests":
		h.o311List(w, r, format)
	default:
		o311Fail(w, format, 404, "no such resource / 无此资源")
	}
}

func (h *Handlers) publicCategory(ctx context.Context, code string) (Category, error) {
	c, err := h.Store.Category(ctx, code)
	if err == nil && !c.Public {
		err = errNoCategory
	}
	return c, err
}

func (h *Handlers) o311Definition(w http.ResponseWriter, r *http.Request) {
	code, format, ok := splitFormat(r.PathValue("file"))
	if !ok {
		o311Fail(w, format, 404, "use .json or .xml / 请使用 .json 或 .xml")
		return
	}
	if _, err := h.jurisdiction(r.Context(), r.URL.Query()); err != nil {
		o311Err(w, r, format, err)
		return
	}
	c, err := h.publicCategory(r.Context(), code)
	if err != nil {
		o311Fail(w, format, 404, "service_code not found / 服务代码不存在: "+code)
		return
	}
	def := O311Definition{Code: c.Code, Attributes: []O311Attribute{}}
	for i, a := range c.Attributes {
		dt := a.Type
		if dt == "date" {
			dt = "datetime"
		}
		oa := O311Attribute{Variable: true, Code: a.Code, Datatype: dt, Required: a.Required, Order: i + 1, Description: a.LabelZH + " / " + a.LabelEN,
			DatatypeDescription: map[string]string{"number": "数字 / a number", "date": "日期 YYYY-MM-DD / a date", "datetime": "时间 ISO 8601 / a time"}[a.Type]}
		for _, v := range a.Values {
			oa.Values = append(oa.Values, O311Value(v))
		}
		def.Attributes = append(def.Attributes, oa)
	}
	o311Write(w, 200, format, "", def)
}

// ParseOpen311Form reads a GeoReport POST body into a NewRequest. It checks
// the form's shape; the store checks the content.
func ParseOpen311Form(form url.Values) (NewRequest, []string) {
	var in NewRequest
	var errs []string
	one := func(k string) string { return strings.TrimSpace(form.Get(k)) }
	in.Category = one("service_code")
	if in.Category == "" {
		errs = append(errs, "service_code: required / 缺少服务代码")
	}
	in.Description = form.Get("description")
	lat, long := one("lat"), one("long")
	in.Address = one("address_string")
	addrID := one("address_id")
	if lat != "" || long != "" {
		la, err1 := strconv.ParseFloat(lat, 64)
		lo, err2 := strconv.ParseFloat(long, 64)
		if err1 != nil || err2 != nil {
			errs = append(errs, "lat/long: must both be decimal degrees / 经纬度须为十进制度数")
		} else {
			in.Lat, in.Lon = &la, &lo
		}
	}
	if addrID != "" {
		if !divisions.ValidCode(addrID) {
			errs = append(errs, "address_id: must be a division code / address_id 须为区划代码")
		}
		in.Division = addrID
	}
	if lat == "" && long == "" && in.Address == "" && addrID == "" {
		errs = append(errs, "location: give lat+long, address_string or address_id / 请提供位置：经纬度、地址或地址编号")
	}
	in.Name = strings.TrimSpace(one("first_name") + " " + one("last_name"))
	in.Phone, in.Email, in.MediaURL = one("phone"), one("email"), one("media_url")
	for k, vs := range form {
		if !strings.HasPrefix(k, "attribute[") {
			continue
		}
		code, rest, ok := strings.Cut(strings.TrimPrefix(k, "attribute["), "]")
		if !ok || code == "" || (rest != "" && rest != "[]") || len(code) > 64 {
			errs = append(errs, "attribute: malformed name "+strconv.Quote(truncate(k, 80))+" / 属性名格式错误")
			continue
		}
		if in.MultiAttrs == nil {
			in.MultiAttrs = map[string][]string{}
		}
		in.MultiAttrs[code] = append(in.MultiAttrs[code], vs...)
	}
	return in, errs
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (h *Handlers) o311Post(w http.ResponseWriter, r *http.Request) {
	name, format, ok := splitFormat(r.PathValue("file"))
	if !ok || name != "requests" {
		o311Fail(w, format, 404, "no such resource / 无此资源")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		o311Fail(w, format, 400, "body: must be application/x-www-form-urlencoded under 1 MB / 请求体须为表单编码且小于 1 MB")
		return
	}
	key := r.PostForm.Get("api_key")
	if key == "" {
		o311Fail(w, format, 403, "api_key: required / 缺少 api_key")
		return
	}
	k, err := h.Store.keyFor(r.Context(), key)
	if err != nil {
		if errors.Is(err, errBadKey) {
			o311Fail(w, format, 403, "api_key: invalid / api_key 无效")
		} else {
			o311Err(w, r, format, err)
		}
		return
	}
	j, err := h.jurisdiction(r.Context(), r.PostForm)
	if err != nil {
		o311Err(w, r, format, err)
		return
	}
	if j != "" && !strings.HasPrefix(k.Division, j) && !strings.HasPrefix(j, k.Division) {
		o311Fail(w, format, 403, "jurisdiction_id: outside this api_key's area / 超出该密钥的辖区")
		return
	}
	in, errs := ParseOpen311Form(r.PostForm)
	if len(errs) > 0 {
		o311Fail(w, format, 400, errs...)
		return
	}
	if _, err := h.publicCategory(r.Context(), in.Category); err != nil {
		o311Fail(w, format, 404, "service_code: not found / 服务代码不存在: "+truncate(in.Category, 64))
		return
	}
	in.SourceKey, in.KeyScope = k.ID, k.Division
	req, err := h.Store.Create(r.Context(), in)
	if err != nil {
		o311Err(w, r, format, err)
		return
	}
	o311Write(w, 201, format, "service_requests", []O311Created{{ID: req.Number,
		ServiceNotice: "已受理登记，办结时限 " + iso(req.ResolveDue) + " / registered, expected by " + iso(req.ResolveDue)}})
}

func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(CST).Format("2006-01-02T15:04:05-07:00")
}

func (h *Handlers) o311Row(ctx context.Context, r Request, names map[string]string) O311Request {
	st := "open"
	if !r.Status.Open() {
		st = "closed"
	}
	notes := r.Status.Label().ZH + " / " + r.Status.Label().EN
	switch {
	case r.Reply != "" && (r.Status == Answered || r.Status == Evaluated || r.Status == Closed):
		notes += "：" + r.Reply
	case r.Reason != "" && (r.Status == Rejected || r.Status == Returned):
		notes += "：" + r.Reason
	case r.Status == Merged:
		notes += "：" + r.MergedInto
	}
	desc, addr := r.Description, r.Address
	switch {
	case !r.checked: // written before the detector, not yet sealed
		desc, addr, notes = withheldText, "", r.Status.Label().ZH+" / "+r.Status.Label().EN
	case r.PersonalData && !r.PublicCleared:
		desc = withheldText
	}
	return O311Request{ID: r.Number, Status: st, StatusNotes: notes, ServiceName: names[r.Category], ServiceCode: r.Category, Description: desc,
		AgencyResponsible: r.UnitName, Requested: iso(r.CreatedAt), Updated: iso(r.UpdatedAt), Expected: iso(r.ResolveDue), Address: addr,
		AddressID: r.Division, Lat: r.Lat, Long: r.Lon, MediaURL: r.MediaURL}
}

// withheldText stands for a description Open311 does not publish: it held
// personal data and no worker has cleared its masked text.
const withheldText = "（含个人信息，待工作人员审核后公开）/ (withheld: it holds personal data and awaits review)"

func (h *Handlers) names(ctx context.Context) map[string]string {
	m := map[string]string{}
	if cs, err := h.Store.Categories(ctx); err == nil {
		for _, c := range cs {
			m[c.Code] = c.NameZH + " / " + c.NameEN
		}
	}
	return m
}

func (h *Handlers) publicCodes(ctx context.Context) ([]any, string, error) {
	cs, err := h.Store.Categories(ctx)
	if err != nil {
		return nil, "", err
	}
	var args []any
	var ps []string
	for _, c := range cs {
		if c.Public {
			args = append(args, c.Code)
			ps = append(ps, fmt.Sprintf("$%d", len(args)))
		}
	}
	return args, "r.category IN (" + strings.Join(ps, ",") + ")", nil
}

func (h *Handlers) o311List(w http.ResponseWriter, r *http.Request, format string) {
	ctx := r.Context()
	q := r.URL.Query()
	j, err := h.jurisdiction(ctx, q)
	if err != nil {
		o311Err(w, r, format, err)
		return
	}
	args, where, err := h.publicCodes(ctx)
	if err != nil {
		o311Err(w, r, format, err)
		return
	}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	var errs []string
	if j != "" {
		sc := access.Subtree(j)
		where += " AND r.division_code >= " + arg(sc.Lo) + " AND r.division_code < " + arg(sc.Hi)
	}
	limit := 1000
	if ids := q.Get("service_request_id"); ids != "" {
		var ps []string
		for _, id := range strings.Split(ids, ",") {
			if id = strings.TrimSpace(id); id != "" && len(ps) < 1000 {
				ps = append(ps, arg(id))
			}
		}
		if len(ps) > 0 {
			where += " AND r.number IN (" + strings.Join(ps, ",") + ")"
		}
	} else {
		if codes := commaList(q["service_code"]); len(codes) > 0 {
			var ps []string
			for _, x := range codes {
				ps = append(ps, arg(x))
			}
			where += " AND r.category IN (" + strings.Join(ps, ",") + ")"
		}
		end := h.Store.Now()
		if v := q.Get("end_date"); v != "" {
			t, ok := parseDateTime(v, false)
			if !ok {
				errs = append(errs, "end_date: must be a W3C date-time such as 2026-11-29T00:00:00+08:00 or 2026-11-29T00:00Z / 须为 W3C 格式的时间")
			}
			end = t
		}
		start := end.Add(-90 * 24 * time.Hour)
		if v := q.Get("start_date"); v != "" {
			t, ok := parseDateTime(v, false)
			if !ok {
				errs = append(errs, "start_date: must be a W3C date-time such as 2026-09-01T00:00:00+08:00 or 2026-09-01T00:00Z / 须为 W3C 格式的时间")
			}
			start = t
			if q.Get("end_date") == "" {
				end = start.Add(90 * 24 * time.Hour)
			}
		}
		if len(errs) == 0 && end.Before(start) {
			errs = append(errs, "end_date: must not be before start_date / 结束时间不能早于开始时间")
		}
		if len(errs) == 0 && end.Sub(start) > 90*24*time.Hour {
			errs = append(errs, "start_date/end_date: span at most 90 days / 时间跨度不能超过 90 天")
		}
		where += " AND r.created_at >= " + arg(db.T(start)) + " AND r.created_at <= " + arg(db.T(end))
		// status: open, closed, or both (declared several times or
		// comma delimited).
		want := map[string]bool{}
		for _, st := range commaList(q["status"]) {
			if st != "open" && st != "closed" {
				errs = append(errs, "status: must be open or closed, or both comma delimited / 状态须为 open 或 closed（可用逗号分隔）")
				break
			}
			want[st] = true
		}
		if len(want) == 1 {
			var ps []string
			for _, s := range Statuses {
				if s.Open() == want["open"] {
					ps = append(ps, arg(string(s)))
				}
			}
			where += " AND r.status IN (" + strings.Join(ps, ",") + ")"
		}
	}
	if len(errs) > 0 {
		o311Fail(w, format, 400, errs...)
		return
	}
	rows, err := h.Store.DB.R.QueryContext(ctx, `SELECT `+cols+` FROM requests r WHERE `+where+` ORDER BY r.created_at DESC LIMIT `+strconv.Itoa(limit), args...)
	if err != nil {
		o311Err(w, r, format, err)
		return
	}
	defer rows.Close()
	names := h.names(ctx)
	out := []O311Request{}
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			o311Err(w, r, format, err)
			return
		}
		out = append(out, h.o311Row(ctx, x, names))
	}
	o311Write(w, 200, format, "service_requests", out)
}

// commaList splits the values of a parameter declared once or several
// times, each comma delimited, dropping empty items.
func commaList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
	}
	return out
}

func (h *Handlers) publicGet(ctx context.Context, where string, v string) (Request, error) {
	args, cond, err := h.publicCodes(ctx)
	if err != nil {
		return Request{}, err
	}
	args = append(args, v)
	return scan(h.Store.DB.R.QueryRowContext(ctx, `SELECT `+cols+` FROM requests r WHERE `+cond+` AND `+where+fmt.Sprintf("$%d", len(args)), args...))
}

func (h *Handlers) o311Request(w http.ResponseWriter, r *http.Request) {
	id, format, ok := splitFormat(r.PathValue("file"))
	if !ok {
		o311Fail(w, format, 404, "use .json or .xml / 请使用 .json 或 .xml")
		return
	}
	if _, err := h.jurisdiction(r.Context(), r.URL.Query()); err != nil {
		o311Err(w, r, format, err)
		return
	}
	req, err := h.publicGet(r.Context(), "r.number = ", id)
	if err != nil {
		if errors.Is(err, errNoRequest) {
			o311Fail(w, format, 404, "service_request_id not found / 诉求不存在: "+truncate(id, 64))
			return
		}
		o311Err(w, r, format, err)
		return
	}
	o311Write(w, 200, format, "service_requests", []O311Request{h.o311Row(r.Context(), req, h.names(r.Context()))})
}

func (h *Handlers) o311TokenGet(w http.ResponseWriter, r *http.Request) {
	tok, format, ok := splitFormat(r.PathValue("file"))
	if !ok {
		o311Fail(w, format, 404, "use .json or .xml / 请使用 .json 或 .xml")
		return
	}
	if _, err := h.jurisdiction(r.Context(), r.URL.Query()); err != nil {
		o311Err(w, r, format, err)
		return
	}
	req, err := h.publicGet(r.Context(), "r.id = ", tok)
	if err != nil {
		if errors.Is(err, errNoRequest) {
			o311Fail(w, format, 404, "token not found / 令牌不存在")
			return
		}
		o311Err(w, r, format, err)
		return
	}
	o311Write(w, 200, format, "service_requests", []O311Token{{ID: req.Number, Token: tok}})
}
