package requests

import (
	"net/http"
	"time"

	"linli/internal/keyset"
	"linli/internal/web"
)

// The inbox and a resident's list page by their sort key, never by an
// offset: a county's deep page costs what its first does, and a request
// written between two page reads neither repeats nor hides another. The
// total is counted up to ListCountCap and shown as "1,000+" beyond.

// ListCountCap bounds the count of a list.
const ListCountCap = 1000

// Page is a page of requests: the total is exact up to ListCountCap and
// Capped past it; Next is the cursor of the following page ("" on the last).
type Page struct {
	Items  []Request
	Total  int
	Capped bool
	Next   string
}

// RequestPage is a page of requests in the API: the total is exact up to
// 1000; when more match, total is 1001 and total_capped is true ("1000+").
// Next is the cursor of the following page ("" on the last): pass it as
// ?cursor= with the same filter.
type RequestPage struct {
	web.List[Request]
	TotalCapped bool   `json:"total_capped"`
	Next        string `json:"next"`
}

func requestPage(l Page, pg web.Pagination) RequestPage {
	return RequestPage{List: web.NewList(l.Items, pg, l.Total), TotalCapped: l.Capped, Next: l.Next}
}

// listOrder is one order of the list: its ORDER BY, the time column that
// leads its key, how a later row compares with the cursor's key, and the
// cursor's list name (a cursor of one order is refused by another).
type listOrder struct {
	by, col, after, list string
	key                  func(Request) time.Time
}

func orderOf(sort string) listOrder {
	switch sort {
	case "created":
		return listOrder{"r.created_at, r.id", "r.created_at", ">", "requests/created", func(r Request) time.Time { return r.CreatedAt }}
	case "due":
		return listOrder{"r.resolve_due, r.id", "r.resolve_due", ">", "requests/due", func(r Request) time.Time { return r.ResolveDue }}
	case "updated":
		return listOrder{"r.updated_at DESC, r.id DESC", "r.updated_at", "<", "requests/updated", func(r Request) time.Time { return r.UpdatedAt }}
	}
	return listOrder{"r.created_at DESC, r.id DESC", "r.created_at", "<", "requests/newest", func(r Request) time.Time { return r.CreatedAt }}
}

// listQuery is a list's two reads: its bounded count and its page.
type listQuery struct {
	order           listOrder
	count, pick     string
	countArgs, args []any
}

func (s *Store) sealCursor(o listOrder, last Request) string {
	return keyset.Seal(s.Keys, o.list, o.key(last).UTC().Format(time.RFC3339Nano), last.ID)
}

func (s *Store) openCursor(cursor string, o listOrder) (time.Time, string, error) {
	k, err := keyset.Open(s.Keys, cursor, o.list, 2)
	if err != nil {
		return time.Time{}, "", err
	}
	at, err := time.Parse(time.RFC3339Nano, k[0])
	if err != nil {
		return time.Time{}, "", keyset.ErrBadCursor
	}
	return at, k[1], nil
}

// pager is a list page's pager: first and next links, and the bounded total.
func pager(r *http.Request, cursor string, l Page) web.Pager {
	first, next := keyset.Links(r, cursor, l.Next)
	return keyset.Pager(first, next, l.Total, l.Capped, ListCountCap)
}
