package indicators

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"linli/internal/memo"
)

// The dashboard page computes a division's year once and serves it to
// every viewer for a short while (issue 19, item 4): at county scale one
// view otherwise runs the sources' fingerprint (one statement of twenty
// cheap aggregates), the indicators and those of every child.
//
// Invalidation is by a short TTL plus this module's own writes. The
// page's inputs from other modules — tags, facilities, personnel,
// requests, life circles — change without this module seeing the write,
// and asking whether they changed is the very fingerprint the cache
// saves; the figures are yearly statistics, and the precomputed values
// behind them are themselves refreshed once a minute. So a change
// elsewhere shows on the page within PageTTL, while a value reported,
// approved, targeted or imported here, or an own indicator defined,
// shows at once: each of those writes moves the store's generation,
// which every cached page carries. The API answers exactly, uncached.

// PageTTL is how long a computed dashboard page is reused by default
// (LINLI_INDICATORS_PAGE_TTL; 0 computes every view).
const PageTTL = 30 * time.Second

// pageData is what the page computes for a division and year.
type pageData struct {
	Rows   []Row
	Behind []LaggingChild
}

// newPageCache keeps computed dashboards by pageKey: concurrent misses of
// one key compute once, and viewers get copies they may change.
func newPageCache(ttl time.Duration, now func() time.Time, gen func() uint64) *memo.Cache[pageData] {
	return memo.New(ttl, now, gen, func(d pageData) pageData {
		return pageData{Rows: append([]Row(nil), d.Rows...), Behind: append([]LaggingChild(nil), d.Behind...)}
	})
}

func pageKey(code string, year, month int, inds []Indicator) string {
	var b strings.Builder
	b.WriteString(code + "|" + strconv.Itoa(year) + "-" + strconv.Itoa(month))
	for _, in := range inds {
		b.WriteString("|" + in.ID)
	}
	return b.String()
}

// tx runs fn in a write transaction and, when it commits, moves the
// generation so that cached pages are computed again.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	err := s.DB.Tx(ctx, fn)
	if err == nil {
		s.values.gen.Add(1)
	}
	return err
}

// Generation counts this module's committed writes to the data its pages
// show.
func (s *Store) Generation() uint64 { return s.values.gen.Load() }
