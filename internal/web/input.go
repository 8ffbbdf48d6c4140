package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"linli/internal/fault"
)

// Every string from outside — path, query, form and JSON body — is checked
// once here, before any handler sees it, by fault.TextProblem.

// badText is the refusal of a string at field.
func badText(field string, why Msg) *fault.Error {
	return fault.Invalid(M("文本含有不允许的字符", "the text contains characters that are not allowed"), fault.Field(field, why))
}

// CheckValues refuses form or query values (or names) that are not clean
// text, naming the first bad one in name order.
func CheckValues(vs url.Values) error {
	names := make([]string, 0, len(vs))
	for name := range vs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if why, ok := fault.TextProblem(name); !ok {
			return badText(strconv.QuoteToASCII(name), why)
		}
		for _, v := range vs[name] {
			if why, ok := fault.TextProblem(v); !ok {
				return badText(name, why)
			}
		}
	}
	return nil
}

// CheckJSON refuses a JSON text whose strings (values or keys) are not
// clean text, naming the first bad one by its path ("members[2].name"; a
// bad key is blamed on its object, "body" at the top). Malformed JSON
// passes: decoding it says what is wrong.
func CheckJSON(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var stack []*jsonFrame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.array {
				fmt.Fprintf(&b, "[%d]", f.index)
			} else if f.key != "" || !f.expectKey {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			}
		}
		return b.String()
	}
	// done marks the value just read as complete in its container.
	done := func() {
		if len(stack) == 0 {
			return
		}
		if f := stack[len(stack)-1]; f.array {
			f.index++
		} else {
			f.expectKey = true
		}
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or malformed JSON that decoding will name
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &jsonFrame{expectKey: true})
			case '[':
				stack = append(stack, &jsonFrame{array: true})
			default:
				stack = stack[:len(stack)-1]
				done()
			}
			continue
		case string:
			isKey := len(stack) > 0 && !stack[len(stack)-1].array && stack[len(stack)-1].expectKey
			why, ok := fault.TextProblem(v)
			if !utf8.Valid(raw[start:dec.InputOffset()]) {
				why, ok = M("不是有效的 UTF-8 文本", "is not valid UTF-8 text"), false
			}
			if isKey {
				f := stack[len(stack)-1]
				if !ok {
					f.key, f.expectKey = "", true
					field := path()
					if field == "" {
						field = "body"
					}
					return badText(field, M("含有"+why.ZH+"的键", "has a key that "+why.EN))
				}
				f.key, f.expectKey = v, false
				continue
			}
			if !ok {
				field := path()
				if field == "" {
					field = "body"
				}
				return badText(field, why)
			}
		}
		done()
	}
}

// jsonFrame is one open object or array while CheckJSON walks a text.
type jsonFrame struct {
	array     bool
	index     int    // arrays: the element being read
	key       string // objects: the member being read
	expectKey bool   // objects: the next string is a key
}

// CleanInput refuses a request whose path, query, URL-encoded form or JSON
// body holds text that is not clean (see fault.TextProblem), before any handler
// runs; refuse writes the answer. The form is parsed here (within the body
// limit of LimitJSON), so handlers find it parsed; a JSON body is read
// (within the same limit) and handed on unchanged.
func CleanInput(refuse func(http.ResponseWriter, *http.Request, error), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkRequest(w, r); err != nil {
			refuse(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), inputCheckedKey{}, true)))
	})
}

type inputCheckedKey struct{}

// inputChecked tells whether CleanInput has checked the request's query,
// URL-encoded form and JSON body, so that DecodeJSON and ParseForm need
// not walk them again.
func inputChecked(r *http.Request) bool {
	ok, _ := r.Context().Value(inputCheckedKey{}).(bool)
	return ok
}

func checkRequest(w http.ResponseWriter, r *http.Request) error {
	if why, ok := fault.TextProblem(r.URL.Path); !ok {
		return badText("path", why)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fault.Invalid(M("查询参数无效", "invalid query parameters"))
	}
	if err := CheckValues(q); err != nil {
		return err
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch media {
	case "application/x-www-form-urlencoded":
		r.Body = http.MaxBytesReader(w, r.Body, jsonLimit(r))
		return ParseForm(r)
	case "application/json":
		limit := jsonLimit(r)
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			return bodyReadError(err, limit)
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		return CheckJSON(raw)
	}
	return nil
}

// bodyReadError is the refusal of a body that could not be read.
func bodyReadError(err error, limit int64) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return fault.New(fault.CodeTooLarge, M(fmt.Sprintf("请求体超过 %d 字节", limit), fmt.Sprintf("request body exceeds %d bytes", limit)))
	}
	return fault.Invalid(M("无法读取请求体", "cannot read the request body"))
}
