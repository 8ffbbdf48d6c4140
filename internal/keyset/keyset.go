// Package keyset is the kit of lists that page by their sort key: the
// sealed cursor a page ends with, the links to the first and the next
// page, and the pager with a bounded total. A deep page costs what the
// first does, and a row written between two page reads neither repeats nor
// hides another.
package keyset

import (
	"encoding/json"
	"net/http"

	"linli/internal/fault"
	"linli/internal/secret"
	"linli/internal/web"
)

// A cursor is the sort key of a page's last row, sealed: opaque to the
// client, tamper-evident, no name in a URL or a server log, and bound to
// the list (and order) it was made for.
const cursorAAD = "linli/cursor"

// ErrBadCursor answers a cursor that was altered, made for another list,
// or sealed under a key since retired.
var ErrBadCursor = fault.Invalid(fault.M("翻页位置无效，请从第一页重新查看", "invalid page cursor: start again from the first page"),
	fault.Field("cursor", fault.M("翻页位置无效或已过期", "the cursor is malformed or expired")))

// ErrPageNumber answers a page number past 1 on a list that pages by key.
var ErrPageNumber = fault.Invalid(fault.M("此列表按位置翻页：请用上一页返回的 next 作为 cursor", "this list pages by position: pass the previous page's next as cursor"),
	fault.Field("page", fault.M("此列表不支持页码，请改用 cursor", "this list takes cursor, not page")))

// Param is the API's cursor parameter.
var Param = web.Param{Name: "cursor", Description: "下一页位置，取自上一页的 next / the next page's position: the previous page's next"}

// Seal makes the cursor of list after the row whose sort key is key.
func Seal(k *secret.Keyring, list string, key ...string) string {
	b, _ := json.Marshal(append([]string{list}, key...))
	return k.Seal(string(b), cursorAAD)
}

// Open returns the n values of a cursor sealed for list; a cursor of
// another list is refused.
func Open(k *secret.Keyring, cursor, list string, n int) ([]string, error) {
	if len(cursor) > 1000 {
		return nil, ErrBadCursor
	}
	plain, err := k.Open(cursor, cursorAAD)
	if err != nil {
		return nil, ErrBadCursor
	}
	var key []string
	if err := json.Unmarshal([]byte(plain), &key); err != nil || len(key) != n+1 || key[0] != list {
		return nil, ErrBadCursor
	}
	return key[1:], nil
}

// Links are a list page's links: to the first page when this is not it,
// and to the next page when there is one, keeping the filter. Back is the
// browser's own (each page is a plain link); the first page is one link
// away from any other.
func Links(r *http.Request, cursor, next string) (first, following string) {
	return LinksBy(r, "cursor", cursor, next)
}

// LinksBy is Links for a list whose position travels in another query
// parameter (the audit log's before).
func LinksBy(r *http.Request, param, cursor, next string) (first, following string) {
	link := func(cur string) string {
		q := r.URL.Query()
		q.Del("page")
		q.Del(param)
		if cur != "" {
			q.Set(param, cur)
		}
		if len(q) == 0 {
			return r.URL.Path
		}
		return r.URL.Path + "?" + q.Encode()
	}
	if cursor != "" {
		first = link("")
	}
	if next != "" {
		following = link(next)
	}
	return first, following
}

// Pager is the web kit's pager of a list page linked first and next:
// past the count's bound the total reads "1,000+".
func Pager(first, next string, total int, capped bool, bound int) web.Pager {
	p := web.Pager{First: first, Next: next, Total: total}
	if capped {
		p.TotalText = web.Group(bound) + "+"
	}
	return p
}
