package indicators

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"time"
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

// pageCache keeps computed dashboard data by division, year, month period
// and the set of indicators the viewer sees; concurrent misses of one key
// compute once.
type pageCache struct {
	ttl time.Duration
	now func() time.Time
	gen func() uint64
	mu  sync.Mutex
	m   map[string]*pageEntry
	// refreshing counts the recomputations running for viewers who were
	// served the previous figures; wait lets the module end with them.
	refreshing sync.WaitGroup
}

type pageEntry struct {
	done chan struct{}
	at   time.Time
	gen  uint64
	data pageData
	err  error
	// stale is the entry this one replaces when only its TTL ran out (no
	// write since): every viewer gets it while this one is computed.
	stale *pageEntry
}

// pageData is what the page computes for a division and year.
type pageData struct {
	Rows   []Row
	Behind []LaggingChild
}

func newPageCache(ttl time.Duration, now func() time.Time, gen func() uint64) *pageCache {
	if ttl <= 0 {
		return nil
	}
	return &pageCache{ttl: ttl, now: now, gen: gen, m: map[string]*pageEntry{}}
}

func pageKey(code string, year, month int, inds []Indicator) string {
	var b strings.Builder
	b.WriteString(code + "|" + strconv.Itoa(year) + "-" + strconv.Itoa(month))
	for _, in := range inds {
		b.WriteString("|" + in.ID)
	}
	return b.String()
}

// get returns the data of key, computing it with fn when absent, older
// than the TTL or older than the store's last own write. When only the
// TTL ran out, the viewer who finds it so gets the previous figures at
// once like everyone else, and fn runs beside, with ctx's values but not
// its end (the viewer has its page by then): at county scale a
// computation takes seconds, and no viewer should wait for figures that
// no write has changed. After a write every viewer waits for the new
// figures. Rows are returned as a copy, so that a caller may change its
// entries.
func (c *pageCache) get(ctx context.Context, key string, fn func(context.Context) (pageData, error)) (pageData, error) {
	gen := c.gen()
	c.mu.Lock()
	e := c.m[key]
	if e == nil || e.gen != gen || c.now().Sub(e.at) >= c.ttl || c.now().Before(e.at) {
		if len(c.m) >= 4096 {
			c.sweep(gen)
		}
		ne := &pageEntry{done: make(chan struct{}), at: c.now(), gen: gen}
		if e != nil && e.gen == gen && e.finished() && e.err == nil {
			ne.stale = e
		}
		c.m[key] = ne
		if ne.stale != nil {
			c.refreshing.Add(1)
			c.mu.Unlock()
			go func() {
				defer c.refreshing.Done()
				c.compute(context.WithoutCancel(ctx), key, ne, fn)
			}()
			return e.copy(), nil
		}
		c.mu.Unlock()
		c.compute(ctx, key, ne, fn)
		e = ne
	} else {
		if e.stale != nil && !e.finished() {
			e = e.stale
		}
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return pageData{}, ctx.Err()
		}
	}
	if e.err != nil {
		return pageData{}, e.err
	}
	return e.copy(), nil
}

// compute fills e with fn's figures; a failed computation is dropped, so
// that the next viewer tries again.
func (c *pageCache) compute(ctx context.Context, key string, e *pageEntry, fn func(context.Context) (pageData, error)) {
	e.data, e.err = fn(ctx)
	c.mu.Lock()
	if e.err != nil && c.m[key] == e {
		if e.stale != nil {
			c.m[key] = e.stale // keep serving the figures we have
		} else {
			delete(c.m, key)
		}
	}
	close(e.done)
	e.stale = nil
	c.mu.Unlock()
}

// wait returns when no recomputation runs in the background.
func (c *pageCache) wait() {
	if c != nil {
		c.refreshing.Wait()
	}
}

func (e *pageEntry) copy() pageData {
	return pageData{Rows: append([]Row(nil), e.data.Rows...), Behind: append([]LaggingChild(nil), e.data.Behind...)}
}

func (e *pageEntry) finished() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// sweep drops the entries that would not be served any more (c.mu held).
func (c *pageCache) sweep(gen uint64) {
	now := c.now()
	for k, e := range c.m {
		select {
		case <-e.done:
			if e.gen != gen || now.Sub(e.at) >= c.ttl {
				delete(c.m, k)
			}
		default: // being computed
		}
	}
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
