// Package memo keeps computed page figures for a short while: a
// dashboard that takes seconds to compute at county scale is computed
// once per key and served to every viewer until its TTL runs out or the
// owning store writes.
//
// Invalidation is by a TTL plus a generation that the owning store moves
// on each of its own writes. When only the TTL ran out, the viewer who
// finds it so gets the previous figures at once like everyone else and the
// computation runs beside, with the viewer's context values but not its
// end: no viewer should wait for figures that no write has changed. After
// a write every viewer waits for the new figures. Concurrent misses of one
// key compute once.
package memo

import (
	"context"
	"sync"
	"time"
)

// maxEntries bounds the keys kept; past it, entries no longer served are
// swept.
const maxEntries = 4096

// Cache keeps values of type V by key.
type Cache[V any] struct {
	ttl   time.Duration
	now   func() time.Time
	gen   func() uint64
	clone func(V) V
	mu    sync.Mutex
	m     map[string]*entry[V]
	// refreshing counts the recomputations running for viewers who were
	// served the previous value; Wait lets the owner end with them.
	refreshing sync.WaitGroup
}

type entry[V any] struct {
	done chan struct{}
	at   time.Time
	gen  uint64
	val  V
	err  error
	// stale is the entry this one replaces when only its TTL ran out (no
	// write since): every viewer gets it while this one is computed.
	stale *entry[V]
}

// New makes a cache whose values live ttl, or until gen moves. clone
// copies a value for a caller that may change it (nil: values are shared
// as they are). A ttl of 0 or less gives a nil cache, which computes on
// every Get.
func New[V any](ttl time.Duration, now func() time.Time, gen func() uint64, clone func(V) V) *Cache[V] {
	if ttl <= 0 {
		return nil
	}
	return &Cache[V]{ttl: ttl, now: now, gen: gen, clone: clone, m: map[string]*entry[V]{}}
}

// Get returns key's value and when it was computed, computing it with fn
// when absent, older than the TTL or older than the store's last write.
func (c *Cache[V]) Get(ctx context.Context, key string, fn func(context.Context) (V, error)) (V, time.Time, error) {
	if c == nil {
		v, err := fn(ctx)
		return v, time.Time{}, err
	}
	gen := c.gen()
	c.mu.Lock()
	e := c.m[key]
	if e == nil || e.gen != gen || c.now().Sub(e.at) >= c.ttl || c.now().Before(e.at) {
		if len(c.m) >= maxEntries {
			c.sweep(gen)
		}
		ne := &entry[V]{done: make(chan struct{}), at: c.now(), gen: gen}
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
			return c.copy(e.val), e.at, nil
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
			var zero V
			return zero, time.Time{}, ctx.Err()
		}
	}
	if e.err != nil {
		var zero V
		return zero, time.Time{}, e.err
	}
	return c.copy(e.val), e.at, nil
}

// Wait returns when no recomputation runs in the background.
func (c *Cache[V]) Wait() {
	if c != nil {
		c.refreshing.Wait()
	}
}

// compute fills e with fn's value; a failed computation is dropped, so
// that the next viewer tries again.
func (c *Cache[V]) compute(ctx context.Context, key string, e *entry[V], fn func(context.Context) (V, error)) {
	e.val, e.err = fn(ctx)
	c.mu.Lock()
	if e.err != nil && c.m[key] == e {
		if e.stale != nil {
			c.m[key] = e.stale // keep serving the value we have
		} else {
			delete(c.m, key)
		}
	}
	close(e.done)
	e.stale = nil
	c.mu.Unlock()
}

func (c *Cache[V]) copy(v V) V {
	if c.clone == nil {
		return v
	}
	return c.clone(v)
}

func (e *entry[V]) finished() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// sweep drops the entries that would not be served any more (c.mu held).
func (c *Cache[V]) sweep(gen uint64) {
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
