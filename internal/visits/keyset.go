package visits

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"linli/internal/db"
	"linli/internal/keyset"
	"linli/internal/web"
)

// Lists of visits page by their sort key, never by an offset: a deep page
// costs what the first does, and a visit written between two page reads
// neither repeats nor hides another. Their totals are counted up to
// ListCountCap and shown as "1,000+" beyond: a count never walks a county.

// ListCountCap bounds the count of a list.
const ListCountCap = 1000

// listIndexSQL adds the indexes the lists read in their order.
// vis_visits_list serves every list ordered by due date (the visits
// list, the overdue list): its key starts with the sort key, so a page
// seeks to the cursor and reads on, the division and status checked in
// the index (see hide). vis_visits_high_risk holds only high-risk findings, by month
// and visit time, for the high-risk list.
const listIndexSQL = `
CREATE INDEX vis_visits_list ON vis_visits (due_date, id, division_code, status);
CREATE INDEX vis_visits_high_risk ON vis_visits (month, visited_at, id, division_code) WHERE risk = 'high';
`

// byDueHides are the columns a wide list in due order hides from SQLite's
// planner in its page (see hide).
func byDueHides() []string { return []string{"v.division_code", "v.status"} }

// Lists a cursor belongs to.
const (
	cursorByDue      = "visits/due"
	cursorByHighRisk = "visits/high-risk"
)

func (s *Store) sealCursor(list string, key ...string) string {
	return keyset.Seal(s.Keys, list, key...)
}

func (s *Store) openCursor(cursor, list string, n int) ([]string, error) {
	return keyset.Open(s.Keys, cursor, list, n)
}

// keysetQuery is a list's two reads: its bounded count and its page after
// the cursor's key.
type keysetQuery struct {
	order, key, list string // ORDER BY, the key's comparison, the cursor's list
	// The columns a wide list hides from SQLite's planner (see hide) in
	// its count and in its page.
	countHides, pageHides []string
	after                 []any // the cursor's key; nil on the first page
	count, page           string
	countArgs, args       []any
}

// open reads the cursor's key: a due date or a visit time, then a number.
func (q *keysetQuery) open(s *Store, cursor string) error {
	if cursor == "" {
		return nil
	}
	k, err := s.openCursor(cursor, q.list, 2)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(k[1], 10, 64)
	if err != nil {
		return keyset.ErrBadCursor
	}
	var first any = k[0]
	if q.list == cursorByHighRisk {
		t, err := time.Parse(time.RFC3339Nano, k[0])
		if err != nil {
			return keyset.ErrBadCursor
		}
		first = db.T(t)
	}
	q.after = []any{first, id}
	return nil
}

// build writes the reads of the visits matching cond within the range
// starting at lo; the key comes first, so that the read starts at it.
func (q *keysetQuery) build(s *Store, cond string, args []any, lo string, limit int) {
	q.count = `SELECT COUNT(*) FROM (SELECT 1 FROM vis_visits v WHERE ` + s.hide(cond, lo, q.countHides...) + ` LIMIT ` + strconv.Itoa(ListCountCap+1) + `) x`
	q.countArgs = args
	page := s.hide(cond, lo, q.pageHides...)
	q.args = args
	if q.after != nil {
		q.args = append(append([]any{}, args...), q.after...)
		page = q.key + fmt.Sprintf("($%d, $%d) AND ", len(q.args)-1, len(q.args)) + page
	}
	q.page = `SELECT ` + visitCols + visitFrom + ` WHERE ` + page + q.order + ` LIMIT ` + strconv.Itoa(limit+1)
}

// readList reads a list's count and page and seals the next page's cursor.
func (s *Store) readList(ctx context.Context, q keysetQuery, limit int) (VisitList, error) {
	out := VisitList{Visits: []Visit{}}
	var n int
	if err := s.DB.R.QueryRowContext(ctx, q.count, q.countArgs...).Scan(&n); err != nil {
		return out, err
	}
	out.Total, out.Capped = n, n > ListCountCap
	if n == 0 {
		return out, nil
	}
	vs, err := db.Collect(ctx, s.DB.R, scanListed, q.page, q.args...)
	if err != nil {
		return out, err
	}
	if len(vs) > limit {
		vs = vs[:limit]
		last := vs[limit-1]
		k := last.Due
		if q.list == cursorByHighRisk {
			k = last.VisitedAt.UTC().Format(time.RFC3339Nano)
		}
		out.Next = s.sealCursor(q.list, k, strconv.FormatInt(last.ID, 10))
	}
	out.Visits = append(out.Visits, vs...)
	return out, nil
}

// hide keeps a wide list's reads on the indexes made for them. SQLite
// has no histogram of division codes: over any range it guesses a small
// share of the rows, and prefers reading the range by (status, division)
// and sorting it — every open visit of a county sorted for a page of 20.
// Over more than one community (lo shorter than a community's code) the
// named columns are hidden from its planner by a unary + (the values are
// still checked, in the index): a page ordered by due date then reads its
// order's index from the cursor; the high-risk count reads the findings'
// index by month rather than every visit of the month in the range. A
// count by status keeps its (status, division) range, which stops at the
// bound or at the range's end. Within one community the range is small
// and the planner's choice stands; PostgreSQL's statistics see the range
// as it is.
func (s *Store) hide(cond, lo string, cols ...string) string {
	if s.DB.Dialect != db.SQLite || len(lo) >= 12 {
		return cond
	}
	for _, c := range cols {
		cond = strings.ReplaceAll(cond, c, "+"+c)
	}
	return cond
}

// narrowest is the lower bound of the narrower of two nested ranges
// (a filter's division within the caller's scope).
func narrowest(scopeLo, division string) string {
	if len(division) > len(scopeLo) {
		return division
	}
	return scopeLo
}

// keysetPager is the kit's pager of a keyset list: past the count's bound
// the total reads "1,000+".
func keysetPager(r *http.Request, cursor string, l VisitList) web.Pager {
	first, next := keyset.Links(r, cursor, l.Next)
	return keyset.Pager(first, next, l.Total, l.Capped, ListCountCap)
}

// VisitPage is a page of visits in the API: the total is exact up to
// 1000; when more match, total is 1001 and total_capped is true
// ("1000+"). Next is the cursor of the following page ("" on the last):
// pass it as ?cursor= with the same filter.
type VisitPage struct {
	web.List[Visit]
	TotalCapped bool   `json:"total_capped"`
	Next        string `json:"next"`
}

func visitPage(l VisitList, pg web.Pagination) VisitPage {
	return VisitPage{List: web.NewList(l.Visits, pg, l.Total), TotalCapped: l.Capped, Next: l.Next}
}
