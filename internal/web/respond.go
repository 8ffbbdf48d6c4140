// Package web is the shared HTTP plumbing of Linli's features: the router
// that also writes the OpenAPI document, JSON and problem+json responses,
// pagination, page rendering in two languages, assets and middleware.
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"linli/internal/fault"
)

// Msg is a user-facing message (see fault.Msg); pages and navigation use
// it through these names.
type Msg = fault.Msg

// M makes a Msg.
func M(zh, en string) Msg { return fault.M(zh, en) }

// FieldError names one bad input field.
type FieldError = fault.FieldError

// Problem is an RFC 9457 problem detail with bilingual text.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail"`
	DetailEN string       `json:"detail_en"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
	// Report is structured content of the refusal (an import's report).
	Report any `json:"report,omitempty"`
}

// statuses maps each refusal code to its HTTP status: the only place the
// domain's codes meet HTTP.
var statuses = map[fault.Code]int{
	fault.CodeInvalid: http.StatusBadRequest, fault.CodeNotFound: http.StatusNotFound, fault.CodeConflict: http.StatusConflict,
	fault.CodeForbidden: http.StatusForbidden, fault.CodeUnprocessable: http.StatusUnprocessableEntity,
	fault.CodeUnauthenticated: http.StatusUnauthorized, fault.CodeTooLarge: http.StatusRequestEntityTooLarge,
	fault.CodeUnsupported: http.StatusUnsupportedMediaType, fault.CodeTooMany: http.StatusTooManyRequests,
	fault.CodeUnavailable: http.StatusServiceUnavailable, codeMethodNotAllowed: http.StatusMethodNotAllowed,
}

// StatusTitle is the reason phrase of an HTTP status as RFC 9110 names it
// (Go's table keeps two older ones).
func StatusTitle(status int) string {
	switch status {
	case http.StatusRequestEntityTooLarge:
		return "Content Too Large"
	case http.StatusUnprocessableEntity:
		return "Unprocessable Content"
	case http.StatusRequestURITooLong:
		return "URI Too Long"
	case http.StatusRequestedRangeNotSatisfiable:
		return "Range Not Satisfiable"
	}
	return http.StatusText(status)
}

// Status is the HTTP status of a refusal (500 for an unknown code).
func Status(e *fault.Error) int {
	if st, ok := statuses[e.Code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// Unauthenticated is the answer to a request without valid credentials
// (a new value each time: callers may add fields to it).
func Unauthenticated() *fault.Error {
	return fault.New(fault.CodeUnauthenticated, M("请先登录", "authentication required"))
}

// WriteJSON writes v as JSON with the given status; a value that cannot be
// encoded (a bug) is logged and answered with a 500 instead of half a body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("json response", "err", err.Error())
		http.Error(w, "500 服务器内部错误 / internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// WriteProblem writes err as application/problem+json. Errors that are not
// *Error are logged and answered with a 500 that reveals nothing.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := fault.As(err)
	status := http.StatusInternalServerError
	if ok {
		status = Status(e)
	} else {
		Logger(r.Context()).Error("internal error", "err", err.Error(), "route", r.Pattern)
		e = fault.New("internal", M("服务器内部错误，请稍后重试", "internal server error, please try again later"))
	}
	p := Problem{
		Type:     "about:blank",
		Title:    StatusTitle(status),
		Status:   status,
		Detail:   e.Msg.ZH,
		DetailEN: e.Msg.EN,
		Instance: r.URL.Path,
		Errors:   e.Fields,
		Report:   e.Detail,
	}
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.Header().Set("Content-Language", "zh-CN, en")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

// DefaultMaxBody limits JSON request bodies (bytes) unless LimitJSON says
// otherwise.
const DefaultMaxBody int64 = 1 << 20

type jsonLimitKey struct{}

// LimitJSON makes DecodeJSON refuse bodies over n bytes for the requests
// that pass through h (the app sets it from configuration).
func LimitJSON(n int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), jsonLimitKey{}, n)))
	})
}

func jsonLimit(r *http.Request) int64 {
	if n, ok := r.Context().Value(jsonLimitKey{}).(int64); ok {
		return n
	}
	return DefaultMaxBody
}

// DecodeJSON reads the request body into v, rejecting unknown fields, bodies
// over the JSON limit, text that is not clean (see CheckJSON; checked once,
// at the edge when CleanInput ran) and trailing data with messages a person
// can act on.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return fault.New(fault.CodeUnsupported, M("请求体须为 JSON (Content-Type: application/json)", "request body must be JSON (Content-Type: application/json)"))
	}
	limit := jsonLimit(r)
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return bodyReadError(err, limit)
	}
	if !inputChecked(r) {
		if err := CheckJSON(raw); err != nil {
			return err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
			return fault.Invalid(M("JSON 格式错误", "malformed JSON"))
		case errors.As(err, &typ):
			return fault.Invalid(M("字段类型错误", "wrong field type"), fault.Field(typ.Field, M("类型应为 "+typ.Type.String(), "must be of type "+typ.Type.String())))
		case errors.Is(err, io.EOF):
			return fault.Invalid(M("请求体为空", "empty request body"))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return fault.Invalid(M("未知字段", "unknown field"), fault.Field(name, M("不支持该字段", "this field is not accepted")))
		}
		return fault.Invalid(M("无法解析请求体", "cannot parse request body"))
	}
	if dec.More() {
		return fault.Invalid(M("请求体只能包含一个 JSON 对象", "request body must hold a single JSON object"))
	}
	return nil
}

// ParseForm parses a submitted form; a body that cannot be read (too
// large, malformed) or text that is not clean (see fault.TextProblem) is a
// refusal.
func ParseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fault.New(fault.CodeTooLarge, M("表单过大", "the form is too large"))
		}
		return fault.Invalid(M("表单无效", "invalid form"))
	}
	if inputChecked(r) {
		return nil // the query and a URL-encoded body were checked at the edge
	}
	return CheckValues(r.Form)
}

// Pagination is the one paging scheme of Linli: ?page=&page_size=.
type Pagination struct {
	Page     int `json:"page"`
	PageSize int `json:"page_size"`
}

const (
	DefaultPageSize = 20
	MaxPageSize     = 200
)

// Offset is the number of rows to skip.
func (p Pagination) Offset() int { return (p.Page - 1) * p.PageSize }

// ParsePagination reads page and page_size from the query.
func ParsePagination(r *http.Request) (Pagination, error) {
	p := Pagination{Page: 1, PageSize: DefaultPageSize}
	q := r.URL.Query()
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			return p, fault.Invalid(M("页码无效", "invalid page"), fault.Field("page", M("页码须为 1 至 1000000 的整数", "page must be a whole number from 1 to 1000000")))
		}
		p.Page = n
	}
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return p, fault.Invalid(M("每页条数无效", "invalid page_size"), fault.Field("page_size", M(fmt.Sprintf("每页条数须为 1 至 %d", MaxPageSize), fmt.Sprintf("page_size must be from 1 to %d", MaxPageSize))))
		}
		p.PageSize = n
	}
	return p, nil
}

// List is a page of items in every list response.
type List[T any] struct {
	Items    []T `json:"items"`
	Page     int `json:"page"`
	PageSize int `json:"page_size"`
	Total    int `json:"total"`
}

// NewList wraps items (never null in JSON) with paging facts.
func NewList[T any](items []T, p Pagination, total int) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items, Page: p.Page, PageSize: p.PageSize, Total: total}
}

// Pages is the number of pages for total rows.
func (l List[T]) Pages() int {
	if l.PageSize == 0 {
		return 0
	}
	return (l.Total + l.PageSize - 1) / l.PageSize
}
