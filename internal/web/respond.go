// Package web is the shared HTTP plumbing of Linli's features: the router
// that also writes the OpenAPI document, JSON and problem+json responses,
// pagination, page rendering in two languages, assets and middleware.
package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Msg is a user-facing message, Chinese first with an English translation.
type Msg struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// M makes a Msg.
func M(zh, en string) Msg { return Msg{zh, en} }

func (m Msg) String() string { return m.ZH + " / " + m.EN }

// In picks the text for lang ("en" or anything else for Chinese).
func (m Msg) In(lang string) string {
	if lang == "en" {
		return m.EN
	}
	return m.ZH
}

// FieldError names one bad input field.
type FieldError struct {
	Field     string `json:"field"`
	Message   string `json:"message"`
	MessageEN string `json:"message_en"`
	Row       int    `json:"row,omitempty"`
}

// Field makes a FieldError.
func Field(field string, m Msg) FieldError {
	return FieldError{Field: field, Message: m.ZH, MessageEN: m.EN}
}

// Problem is an RFC 9457 problem detail with bilingual text.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail"`
	DetailEN string       `json:"detail_en"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// Error is an error that carries the HTTP status and message to show.
type Error struct {
	Status int
	Msg    Msg
	Fields []FieldError
}

func (e *Error) Error() string { return e.Msg.String() }

// Errorf-style constructors for the common cases.
func BadRequest(m Msg, fields ...FieldError) *Error {
	return &Error{Status: http.StatusBadRequest, Msg: m, Fields: fields}
}
func NotFound(m Msg) *Error { return &Error{Status: http.StatusNotFound, Msg: m} }
func Conflict(m Msg) *Error { return &Error{Status: http.StatusConflict, Msg: m} }
func Forbidden(m Msg) *Error {
	return &Error{Status: http.StatusForbidden, Msg: m}
}
func Unprocessable(m Msg, fields ...FieldError) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Msg: m, Fields: fields}
}

// ErrUnauthenticated is the answer to a request without valid credentials.
var ErrUnauthenticated = &Error{Status: http.StatusUnauthorized, Msg: M("请先登录", "authentication required")}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// WriteProblem writes err as application/problem+json. Errors that are not
// *Error are logged and answered with a 500 that reveals nothing.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		Logger(r.Context()).Error("internal error", "err", err.Error(), "route", r.Pattern)
		e = &Error{Status: 500, Msg: M("服务器内部错误，请稍后重试", "internal server error, please try again later")}
	}
	p := Problem{
		Type:     "about:blank",
		Title:    http.StatusText(e.Status),
		Status:   e.Status,
		Detail:   e.Msg.ZH,
		DetailEN: e.Msg.EN,
		Instance: r.URL.Path,
		Errors:   e.Fields,
	}
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.Header().Set("Content-Language", "zh-CN, en")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(p)
}

// MaxBody limits request bodies (bytes); the app sets it from configuration.
var MaxBody int64 = 1 << 20

// DecodeJSON reads the request body into v, rejecting unknown fields, bodies
// over MaxBody and trailing data with messages a person can act on.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &Error{Status: http.StatusUnsupportedMediaType, Msg: M("请求体须为 JSON (Content-Type: application/json)", "request body must be JSON (Content-Type: application/json)")}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return &Error{Status: http.StatusRequestEntityTooLarge, Msg: M(fmt.Sprintf("请求体超过 %d 字节", MaxBody), fmt.Sprintf("request body exceeds %d bytes", MaxBody))}
		case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
			return BadRequest(M("JSON 格式错误", "malformed JSON"))
		case errors.As(err, &typ):
			return BadRequest(M("字段类型错误", "wrong field type"), Field(typ.Field, M("类型应为 "+typ.Type.String(), "must be of type "+typ.Type.String())))
		case errors.Is(err, io.EOF):
			return BadRequest(M("请求体为空", "empty request body"))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return BadRequest(M("未知字段", "unknown field"), Field(name, M("不支持该字段", "this field is not accepted")))
		}
		return BadRequest(M("无法解析请求体", "cannot parse request body"))
	}
	if dec.More() {
		return BadRequest(M("请求体只能包含一个 JSON 对象", "request body must hold a single JSON object"))
	}
	return nil
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
			return p, BadRequest(M("页码无效", "invalid page"), Field("page", M("页码须为 1 至 1000000 的整数", "page must be a whole number from 1 to 1000000")))
		}
		p.Page = n
	}
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return p, BadRequest(M("每页条数无效", "invalid page_size"), Field("page_size", M(fmt.Sprintf("每页条数须为 1 至 %d", MaxPageSize), fmt.Sprintf("page_size must be from 1 to %d", MaxPageSize))))
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
