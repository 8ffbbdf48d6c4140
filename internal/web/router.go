package web

import (
	"linli/internal/access"
	"linli/internal/fault"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// HandlerFunc is an API handler: an error it returns becomes problem+json.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Param documents a query or path parameter.
type Param struct {
	Name        string
	In          string // "query" or "path"
	Description string
	Required    bool
	Type        string // JSON Schema type; "string" when empty
}

// Op documents one API operation for the OpenAPI document.
type Op struct {
	Summary string
	Tag     string
	Public  bool // no authentication needed
	// AllowPending lets a user with a pending step (password change,
	// second-factor enrolment) call the operation.
	AllowPending bool
	Params       []Param
	Body         any // a value of the request body type, or nil
	Response     any // a value of the 2xx response type, or nil
	Status       int // success status; 200 when zero
	// Accepts are the media types of a body that is a file (an import)
	// rather than JSON.
	Accepts []string
	// Produces are the media types of an answer that is a file (a
	// download) rather than JSON.
	Produces []string
	// Report is a value of the report a 422 refusal carries in its
	// problem document's "report" member (an import's rows at fault).
	Report any
	// Accepted is a value of the 202 answer an operation gives when it
	// queues its work instead (a large export): a job, whose address is
	// the answer's Location.
	Accepted any
}

// Media types of the files operations take and give (Op.Accepts,
// Op.Produces).
const (
	MediaCSV  = "text/csv"
	MediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

type route struct {
	Method, Path string
	Op           Op
	handler      http.Handler
}

// Router wraps http.ServeMux: every /api/v1 route is registered with its
// documentation, so the OpenAPI document is the route table itself.
type Router struct {
	mux    *http.ServeMux
	routes []route
	// Wrap, if set, instruments each handler with its pattern.
	Wrap func(pattern string, h http.Handler) http.Handler
	// Refuse, if set, answers a request no route takes (404, or 405 when
	// the path takes other methods) as the rest of the site does: the
	// message page, problem+json under /api/, instead of Go's plain text.
	Refuse func(http.ResponseWriter, *http.Request, error)
}

// apiRoot is the prefix of every API operation: under it, whatever is not
// an operation is answered as a problem too.
const apiRoot = "/api/v1/"

// NewRouter returns an empty router.
func NewRouter() *Router {
	rt := &Router{mux: http.NewServeMux()}
	rt.mux.HandleFunc(apiRoot, rt.noOperation)
	return rt
}

// codeMethodNotAllowed refuses a method the path does not take (HTTP's
// own refusal: the domain never says it).
const codeMethodNotAllowed fault.Code = "method_not_allowed"

// noOperation answers a request under the API root that no operation
// takes: 405 with the methods the path does take, else 404, both as
// problem+json.
func (rt *Router) noOperation(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := rt.mux.Handler(probe); pattern != "" && pattern != apiRoot {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		WriteProblem(w, r, fault.New(codeMethodNotAllowed, M("此接口不接受 "+r.Method+" 方法", "this operation does not take the "+r.Method+" method")))
		return
	}
	WriteProblem(w, r, fault.NotFound(M("没有这个接口", "no such API operation")))
}

// ServeHTTP dispatches to the registered handlers.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt.Refuse != nil {
		if _, pattern := rt.mux.Handler(r); pattern == "" {
			rt.unrouted(w, r)
			return
		}
	}
	rt.mux.ServeHTTP(w, r)
}

// unrouted refuses a request outside the API that no route takes.
func (rt *Router) unrouted(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := rt.mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		rt.Refuse(w, r, fault.New(codeMethodNotAllowed, M("此页面不能这样打开，请从页面上的链接或按钮进入", "this page cannot be used this way; use the links and buttons on the pages")))
		return
	}
	rt.Refuse(w, r, fault.NotFound(M("找不到这个页面，请检查地址或从首页进入", "there is no such page; check the address or start from the home page")))
}

func (rt *Router) handle(pattern string, h http.Handler) {
	if rt.Wrap != nil {
		h = rt.Wrap(pattern, h)
	}
	rt.mux.Handle(pattern, h)
}

// Public registers a page or endpoint open without signing in (login,
// assets, operations).
func (rt *Router) Public(pattern string, h http.HandlerFunc) {
	if _, path, _ := strings.Cut(pattern, " "); strings.HasPrefix(path, "/api/") {
		panic("web: API routes must be registered with Router.API: " + pattern)
	}
	rt.handle(pattern, h)
}

// Page registers an HTML page for signed-in users: others are sent to the
// login page, and a user with a pending step (a one-time password to change,
// a second factor to enrol) is sent to that step first.
func (rt *Router) Page(pattern string, h http.HandlerFunc) {
	rt.Public(pattern, func(w http.ResponseWriter, r *http.Request) {
		p := access.From(r.Context())
		switch {
		case p == nil:
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		case p.Pending != "" && !PendingAllowed(p.Pending, r.URL.Path):
			http.Redirect(w, r, PendingPath(p.Pending), http.StatusSeeOther)
		default:
			h(w, r)
		}
	})
}

// PendingPath is the page where a pending step is taken ("" for an
// unknown step).
func PendingPath(step string) string {
	switch step {
	case "password":
		return "/account/password"
	case "totp":
		return "/account/totp"
	}
	return ""
}

// PendingAllowed tells whether path may be used while a step is pending.
func PendingAllowed(pending, path string) bool {
	return path == "/logout" || (PendingPath(pending) != "" && path == PendingPath(pending))
}

// API registers a documented JSON operation; pattern is "METHOD /api/v1/…".
func (rt *Router) API(pattern string, op Op, h HandlerFunc) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || !strings.HasPrefix(path, "/api/v1/") || op.Summary == "" {
		panic("web: API needs \"METHOD /api/v1/...\" and a summary: " + pattern)
	}
	served := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !op.Public {
			p := access.From(r.Context())
			if p == nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="linli"`)
				WriteProblem(w, r, Unauthenticated())
				return
			}
			if p.Pending != "" && !op.AllowPending {
				WriteProblem(w, r, fault.Forbidden(M("请先在网页上完成修改初始密码或绑定动态口令", "finish changing the one-time password or enrolling the second factor on the web first")))
				return
			}
			if !p.Allows(pattern) {
				WriteProblem(w, r, fault.Forbidden(M("API 令牌的权限范围不含此操作", "the API token's scope does not include this operation")))
				return
			}
		}
		if err := h(w, r); err != nil {
			WriteProblem(w, r, err)
		}
	})
	rt.routes = append(rt.routes, route{Method: method, Path: path, Op: op, handler: served})
	rt.handle(pattern, served)
}

// Alias serves old, an operation's former "METHOD PATH", as the operation
// registered at current, marking each answer deprecated (RFC 9745) with a
// link to its successor. The alias is not documented: two templates for
// one path would make the document ambiguous.
func (rt *Router) Alias(old, current string) {
	for _, r := range rt.routes {
		if r.Method+" "+r.Path != current {
			continue
		}
		rt.handle(old, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			successor := r.Path
			for _, name := range pathParams(r.Path) {
				successor = strings.Replace(successor, "{"+name+"}", url.PathEscape(req.PathValue(name)), 1)
			}
			w.Header().Set("Deprecation", "@1796083200") // 2026-12-01
			w.Header().Set("Link", "<"+successor+">; rel=\"successor-version\"")
			r.handler.ServeHTTP(w, req)
		}))
		return
	}
	panic("web: alias of an unregistered operation: " + current)
}

// Routes lists the registered API operations as "METHOD PATH".
func (rt *Router) Routes() []string {
	out := make([]string, 0, len(rt.routes))
	for _, r := range rt.routes {
		out = append(out, r.Method+" "+r.Path)
	}
	sort.Strings(out)
	return out
}

// OpenAPI builds the OpenAPI 3.1 document of the registered operations.
func (rt *Router) OpenAPI(version string) map[string]any {
	paths := map[string]any{}
	for _, r := range rt.routes {
		item, _ := paths[r.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[r.Path] = item
		}
		var params []any
		for _, name := range pathParams(r.Path) {
			params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, p := range r.Op.Params {
			t := p.Type
			if t == "" {
				t = "string"
			}
			in := p.In
			if in == "" {
				in = "query"
			}
			params = append(params, map[string]any{"name": p.Name, "in": in, "required": p.Required, "description": p.Description, "schema": map[string]any{"type": t}})
		}
		status := r.Op.Status
		if status == 0 {
			status = 200
		}
		ok := map[string]any{"description": StatusTitle(status)}
		content := map[string]any{}
		if r.Op.Response != nil {
			content["application/json"] = map[string]any{"schema": Schema(reflect.TypeOf(r.Op.Response))}
		}
		for _, mt := range r.Op.Produces {
			content[mt] = fileContent()
		}
		if len(content) > 0 {
			ok["content"] = content
		}
		responses := map[string]any{strconv.Itoa(status): ok, "4XX": problemResponse("RFC 9457 problem", nil)}
		if r.Op.Accepted != nil {
			responses["202"] = map[string]any{"description": "Accepted: queued as a job; poll its Location",
				"headers": map[string]any{"Location": map[string]any{"description": "the job", "schema": map[string]any{"type": "string"}}},
				"content": map[string]any{"application/json": map[string]any{"schema": Schema(reflect.TypeOf(r.Op.Accepted))}}}
		}
		if r.Op.Report != nil {
			responses["422"] = problemResponse("Unprocessable Content: the problem's report says what is wrong", Schema(reflect.TypeOf(r.Op.Report)))
		}
		op := map[string]any{
			"summary":     r.Op.Summary,
			"operationId": operationID(r.Method, r.Path),
			"responses":   responses,
		}
		if r.Op.Tag != "" {
			op["tags"] = []string{r.Op.Tag}
		}
		if params != nil {
			op["parameters"] = params
		}
		body := map[string]any{}
		if r.Op.Body != nil {
			body["application/json"] = map[string]any{"schema": InputSchema(reflect.TypeOf(r.Op.Body))}
		}
		for _, mt := range r.Op.Accepts {
			body[mt] = fileContent()
		}
		if len(body) > 0 {
			op["requestBody"] = map[string]any{"required": true, "content": body}
		}
		if r.Op.Public {
			op["security"] = []any{}
		}
		item[strings.ToLower(r.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Linli 邻里 API",
			"version":     version,
			"description": "城乡现代社区服务体系平台接口 / Urban-rural modern community service platform API. Errors are RFC 9457 problem+json with Chinese and English text. Lists page with ?page=&page_size=; the registry's lists (residents, households, facilities, organisations, personnel, grids) with ?cursor= (the previous answer's next). A registry export of more rows than a request carries answers 202 with a job to poll.",
		},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"security": []any{
			map[string]any{"bearer": []any{}},
			map[string]any{"session": []any{}},
		},
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer"},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": SessionCookie},
			},
			"schemas": map[string]any{"Problem": Schema(reflect.TypeOf(Problem{}))},
		},
	}
}

// fileContent is the media type object of a file body or answer.
func fileContent() map[string]any {
	return map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
}

// problemResponse documents a problem+json answer, with the schema of its
// report when it carries one.
func problemResponse(description string, report map[string]any) map[string]any {
	var schema any = map[string]any{"$ref": "#/components/schemas/Problem"}
	if report != nil {
		schema = map[string]any{"allOf": []any{schema, map[string]any{"type": "object", "required": []string{"report"}, "properties": map[string]any{"report": report}}}}
	}
	return map[string]any{"description": description, "content": map[string]any{"application/problem+json": map[string]any{"schema": schema}}}
}

// SessionCookie is the name of the login session cookie.
const SessionCookie = "linli_session"

func pathParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.TrimSuffix(strings.Trim(seg, "{}"), "..."))
		}
	}
	return out
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, seg := range strings.Split(strings.TrimPrefix(path, "/api/v1/"), "/") {
		seg = strings.Trim(seg, "{}.")
		if seg == "" {
			continue
		}
		b.WriteString(strings.ToUpper(seg[:1]))
		b.WriteString(strings.NewReplacer("-", "", "_", "", ":", "").Replace(seg[1:]))
	}
	return b.String()
}

var timeType = reflect.TypeOf(time.Time{})

func indirect(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// Schema derives the JSON Schema of what encoding/json writes for a value
// of type t (an answer): every member without omitempty or omitzero is
// required, and a pointer that is not omitted may be null.
func Schema(t reflect.Type) map[string]any { return schemaOf(t, true) }

// InputSchema is the schema of a request body of type t: it names no
// member required (the operation's own checks say what is), and a pointer
// may be null.
func InputSchema(t reflect.Type) map[string]any { return schemaOf(t, false) }

func schemaOf(t reflect.Type, answer bool) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), answer)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), answer)}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			// Like encoding/json: an embedded struct, exported or not,
			// lends its fields; other unexported fields are not encoded.
			embedded := f.Anonymous && name == "" && indirect(f.Type).Kind() == reflect.Struct
			if !f.IsExported() && !embedded {
				continue
			}
			if embedded {
				inner := schemaOf(f.Type, answer)
				for k, v := range inner["properties"].(map[string]any) {
					props[k] = v
				}
				// The members of an embedded pointer are absent when it
				// is nil.
				if req, ok := inner["required"].([]string); ok && f.Type.Kind() != reflect.Pointer {
					required = append(required, req...)
				}
				continue
			}
			if name == "" {
				name = f.Name
			}
			s := schemaOf(f.Type, answer)
			omitted := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
			if omitted || f.Type.Kind() == reflect.Pointer {
				s["description"] = "optional"
			}
			if f.Type.Kind() == reflect.Pointer && !omitted {
				if typ, ok := s["type"].(string); ok {
					s["type"] = []string{typ, "null"}
				}
			}
			props[name] = s
			if answer && !omitted {
				required = append(required, name)
			}
		}
		out := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			sort.Strings(required)
			out["required"] = required
		}
		return out
	}
	return map[string]any{}
}
