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
}

type route struct {
	Method, Path string
	Op           Op
}

// Router wraps http.ServeMux: every /api/v1 route is registered with its
// documentation, so the OpenAPI document is the route table itself.
type Router struct {
	mux    *http.ServeMux
	routes []route
	// Wrap, if set, instruments each handler with its pattern.
	Wrap func(pattern string, h http.Handler) http.Handler
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{mux: http.NewServeMux()} }

// ServeHTTP dispatches to the registered handlers.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.mux.ServeHTTP(w, r) }

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
	rt.routes = append(rt.routes, route{Method: method, Path: path, Op: op})
	rt.handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	}))
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
		ok := map[string]any{"description": http.StatusText(status)}
		if r.Op.Response != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": Schema(reflect.TypeOf(r.Op.Response))}}
		}
		problem := map[string]any{"description": "RFC 9457 problem", "content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}
		op := map[string]any{
			"summary":     r.Op.Summary,
			"operationId": operationID(r.Method, r.Path),
			"responses":   map[string]any{strconv.Itoa(status): ok, "4XX": problem},
		}
		if r.Op.Tag != "" {
			op["tags"] = []string{r.Op.Tag}
		}
		if params != nil {
			op["parameters"] = params
		}
		if r.Op.Body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": Schema(reflect.TypeOf(r.Op.Body))}}}
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
			"description": "城乡现代社区服务体系平台接口 / Urban-rural modern community service platform API. Errors are RFC 9457 problem+json with Chinese and English text. Lists page with ?page=&page_size=.",
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

// Schema derives a JSON Schema from a Go type using its json tags.
func Schema(t reflect.Type) map[string]any {
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
		return map[string]any{"type": "array", "items": Schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": Schema(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
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
				for k, v := range Schema(f.Type)["properties"].(map[string]any) {
					props[k] = v
				}
				continue
			}
			if name == "" {
				name = f.Name
			}
			s := Schema(f.Type)
			if strings.Contains(opts, "omitempty") || f.Type.Kind() == reflect.Pointer {
				s["description"] = "optional"
			}
			props[name] = s
		}
		return map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{}
}
