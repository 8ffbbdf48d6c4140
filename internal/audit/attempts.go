package audit

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"linli/internal/access"
	"linli/internal/web"
)

// RepeatWindow is how long repeats of one refusal are counted into one
// summary entry instead of an entry each: a script probing thousands of
// rows leaves a few entries that say how many, not thousands.
const RepeatWindow = 10 * time.Minute

// maxRepeatIDs bounds the object ids a summary lists.
const maxRepeatIDs = 20

// Actions the edge records.
const (
	ActionForbidden = "access.denied"    // a 403
	ActionNotFound  = "access.not_found" // a 404 on a route naming a row: absent, or outside the jurisdiction
	repeatedSuffix  = ".repeated"
)

// burstKey is what makes two refusals repeats of one another.
type burstKey struct{ actorID, actor, role, ip, action, object, result string }

// burst counts the repeats of one refusal after the first, which was
// written when it happened.
type burst struct {
	start       time.Time // the first refusal
	first, last time.Time // the first and last repeat
	repeats     int
	ids         []string // distinct object ids of the repeats, the first maxRepeatIDs
	seen        map[string]bool
	moreIDs     int
	division    string
}

func (b *burst) add(id string, at time.Time) {
	if b.repeats == 0 {
		b.first = at
	}
	b.repeats++
	b.last = at
	if id == "" || b.seen[id] {
		return
	}
	if len(b.ids) < maxRepeatIDs {
		b.seen[id] = true
		b.ids = append(b.ids, id)
	} else {
		b.moreIDs++
	}
}

// summary is the entry that closes a burst (false when nothing repeated).
func (b *burst) summary(k burstKey) (Entry, bool) {
	if b.repeats == 0 {
		return Entry{}, false
	}
	ids := append([]string{}, b.ids...)
	return Entry{ActorID: k.actorID, Actor: k.actor, Role: k.role, IP: k.ip, Action: k.action + repeatedSuffix, Object: k.object,
		Division: b.division, Result: k.result, Detail: Detail(Repeats{Repeats: b.repeats, From: b.first.UTC(), To: b.last.UTC(), ObjectIDs: ids, MoreObjectIDs: b.moreIDs})}, true
}

// Repeats is the Detail of a summary entry.
type Repeats struct {
	Repeats       int       `json:"repeats"`
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	ObjectIDs     []string  `json:"object_ids"`
	MoreObjectIDs int       `json:"more_object_ids,omitempty"`
}

// Refused records a refused attempt, filled from ctx like Record (Result
// Denied unless set). The first refusal of its kind — same actor,
// address, action, object and result — is written at once; its repeats
// within RepeatWindow are counted and written as one entry (the action
// with ".repeated", Detail a Repeats) once the window has passed: at the
// next such refusal, the next run of Run, or Close.
func (l *Log) Refused(ctx context.Context, e Entry) error {
	if e.Result == "" {
		e.Result = Denied
	}
	fill(ctx, &e)
	markRefusal(ctx)
	k := burstKey{e.ActorID, e.Actor, e.Role, e.IP, e.Action, e.Object, e.Result}
	now := l.Now()
	var items []Item
	l.burstsMu.Lock()
	if l.bursts == nil {
		l.bursts = map[burstKey]*burst{}
	}
	b := l.bursts[k]
	if b != nil && now.Sub(b.start) < RepeatWindow {
		b.add(e.ObjectID, now)
		l.burstsMu.Unlock()
		return nil
	}
	if b != nil {
		if s, ok := b.summary(k); ok {
			items = append(items, Item{Ctx: context.Background(), Entry: s})
		}
	}
	fresh := &burst{start: now, seen: map[string]bool{}, division: e.Division}
	l.bursts[k] = fresh
	l.burstsMu.Unlock()
	items = append(items, Item{Ctx: context.Background(), Entry: e})
	err := l.DB.Tx(ctx, func(tx *sql.Tx) error { return l.RecordAllTx(ctx, tx, items) })
	if err != nil {
		// Not written: the next refusal of its kind is a first again.
		l.burstsMu.Lock()
		if l.bursts[k] == fresh {
			delete(l.bursts, k)
		}
		l.burstsMu.Unlock()
	}
	return err
}

// Flush writes the summaries of the bursts whose window has passed (all
// of them when all is set) and forgets those bursts.
func (l *Log) Flush(ctx context.Context, all bool) error {
	now := l.Now()
	var items []Item
	l.burstsMu.Lock()
	for k, b := range l.bursts {
		if !all && now.Sub(b.start) < RepeatWindow {
			continue
		}
		if s, ok := b.summary(k); ok {
			items = append(items, Item{Ctx: context.Background(), Entry: s})
		}
		delete(l.bursts, k)
	}
	l.burstsMu.Unlock()
	if len(items) == 0 {
		return nil
	}
	return l.DB.Tx(ctx, func(tx *sql.Tx) error { return l.RecordAllTx(ctx, tx, items) })
}

// attemptKey holds, in a request's context, whether the handler recorded
// a refusal itself.
type attemptKey struct{}

type attempt struct{ recorded atomic.Bool }

// markRefusal notes in ctx's request that a refusal was recorded.
func markRefusal(ctx context.Context) {
	if a, ok := ctx.Value(attemptKey{}).(*attempt); ok {
		a.recorded.Store(true)
	}
}

// Attempts wraps the handler of one route (the pattern it is registered
// with) so that a refusal it answers is recorded through Refused: a 403,
// and a 404 to a signed-in user on a route that names a row (a path
// parameter) — which is how a row outside the user's jurisdiction answers.
// A handler that recorded its own refusal is not recorded twice.
func (l *Log) Attempts(pattern string, h http.Handler) http.Handler {
	params := pathParams(pattern)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := &attempt{}
		r = r.WithContext(context.WithValue(r.Context(), attemptKey{}, a))
		sw := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		action := ""
		switch {
		case sw.status == http.StatusForbidden:
			action = ActionForbidden
		case sw.status == http.StatusNotFound && len(params) > 0 && access.From(r.Context()) != nil:
			action = ActionNotFound
		}
		if action == "" || a.recorded.Load() {
			return
		}
		ids := make([]string, len(params))
		for i, p := range params {
			ids[i] = r.PathValue(p)
		}
		if err := l.Refused(r.Context(), Entry{Action: action, Object: pattern, ObjectID: strings.Join(ids, "/")}); err != nil {
			web.Logger(r.Context()).Error("audit refusal", "err", err.Error(), "route", pattern)
		}
	})
}

// pathParams are the names of a pattern's wildcards.
func pathParams(pattern string) []string {
	var out []string
	for _, seg := range strings.Split(pattern, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			if name := strings.TrimSuffix(strings.Trim(seg, "{}"), "..."); name != "$" {
				out = append(out, name)
			}
		}
	}
	return out
}

// statusRecorder notes the status a handler answers with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer below (flushing a
// streamed export).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
