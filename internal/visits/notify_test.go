package visits_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/module"
)

// notebook keeps the notices sent, as the notices module would.
type notebook struct {
	mu   sync.Mutex
	sent []module.Notice
}

func (n *notebook) Notify(_ context.Context, x module.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, x)
	return nil
}

func TestNotifyScheduled(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("li.si", access.Resident, communityA)
		li := w.residentAs(t, w.h3, 1941, "empty_nest", "", "li.si")
		nb := &notebook{}
		w.vs.Notices = nb
		t.Run("a resident with an account is told of their scheduled visit, once", func(t *testing.T) {
			w.schedule(t, "2026-12")
			w.schedule(t, "2026-12")
			v := w.visitsOf(t, li, "2026-12")[0]
			var uid string
			if err := e.App.DB.R.QueryRow(`SELECT id FROM users WHERE username = 'li.si'`).Scan(&uid); err != nil {
				t.Fatal(err)
			}
			if len(nb.sent) != 1 || nb.sent[0].UserID != uid || nb.sent[0].Key != fmt.Sprintf("visit.scheduled:%d", v.ID) || nb.sent[0].Kind != "visit.scheduled" {
				t.Fatalf("notices: %+v", nb.sent)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE NOT notified`); n != 0 {
				t.Fatalf("%d visits still to notify", n)
			}
		})
	})
}
