// Package fault is the one error type of Linli's domain: a code that says
// what kind of refusal it is, the bilingual message to show, and the fields
// at fault. Stores and rules return it; the web kit maps codes to HTTP
// statuses at the edge, so the domain never imports net/http.
package fault

import "errors"

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

// Code is the kind of a refusal.
type Code string

const (
	CodeInvalid         Code = "invalid"         // the input breaks a rule
	CodeNotFound        Code = "not_found"       // no such thing within the caller's reach
	CodeConflict        Code = "conflict"        // the current state forbids it (a stale version, an illegal move)
	CodeForbidden       Code = "forbidden"       // the caller may not do it
	CodeUnprocessable   Code = "unprocessable"   // well-formed, but its content cannot be used (a file with bad rows)
	CodeUnauthenticated Code = "unauthenticated" // no valid credentials
	CodeTooLarge        Code = "too_large"       // the input is over a size limit
	CodeUnsupported     Code = "unsupported"     // the input's format is not accepted
	CodeTooMany         Code = "too_many"        // too many attempts: try again later
	CodeUnavailable     Code = "unavailable"     // a dependency is down: try again later
)

// FieldError names one bad input field (and its row, for files).
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

// Error is a refusal to show to the person who asked.
type Error struct {
	Code   Code
	Msg    Msg
	Fields []FieldError
	// Detail is extra structured content for the answer (an import's
	// report); nil when there is none.
	Detail any
}

func (e *Error) Error() string { return e.Msg.String() }

// New makes an Error of any code.
func New(code Code, m Msg, fields ...FieldError) *Error {
	return &Error{Code: code, Msg: m, Fields: fields}
}

// Constructors for the common codes.
func Invalid(m Msg, fields ...FieldError) *Error       { return New(CodeInvalid, m, fields...) }
func NotFound(m Msg) *Error                            { return New(CodeNotFound, m) }
func Conflict(m Msg) *Error                            { return New(CodeConflict, m) }
func Forbidden(m Msg) *Error                           { return New(CodeForbidden, m) }
func Unprocessable(m Msg, fields ...FieldError) *Error { return New(CodeUnprocessable, m, fields...) }

// As returns the Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is tells whether err is a refusal of the given code.
func Is(err error, code Code) bool {
	e, ok := As(err)
	return ok && e.Code == code
}
