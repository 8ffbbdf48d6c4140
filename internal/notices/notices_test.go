package notices_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/notices"
	"linli/internal/webhook"
)

func userID(t *testing.T, e *apptest.Env, name string) string {
	t.Helper()
	var id string
	if err := e.App.DB.R.QueryRow(`SELECT id FROM users WHERE username = $1`, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// hook is a webhook receiver that checks each body's signature.
type hook struct {
	mu     sync.Mutex
	got    []notices.Delivery
	badSig int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Header.Get("X-Linli-Signature") != webhook.Sign("s3cret", b) {
		h.badSig++
	}
	var d notices.Delivery
	json.Unmarshal(b, &d)
	h.got = append(h.got, d)
}

func TestNotices(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("res", access.Resident, apptest.CommunityA)
		e.User("res2", access.Resident, apptest.CommunityA)
		res, res2 := userID(t, e, "res"), userID(t, e, "res2")
		rcv := &hook{}
		srv := httptest.NewServer(rcv)
		defer srv.Close()
		s := &notices.Service{DB: e.App.DB, Now: e.Clock.Now, Hook: &webhook.Sender{URL: srv.URL, Secret: "s3cret"}}
		ctx := context.Background()
		n := module.Notice{UserID: res, Kind: "request.answered", Title: fault.M("您的诉求已办结答复", "Your request was answered"), Href: "/requests/x", Key: "request.answered:x:5"}

		t.Run("a notice sent twice under one key is stored and posted once", func(t *testing.T) {
			for range 2 {
				if err := s.Notify(ctx, n); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			if got := e.Count(`SELECT COUNT(*) FROM user_notices WHERE user_id = $1`, res); got != 1 {
				t.Fatalf("%d rows", got)
			}
			if len(rcv.got) != 1 || rcv.got[0].Username != "res" || rcv.got[0].Division != apptest.CommunityA || rcv.got[0].Title.ZH != "您的诉求已办结答复" {
				t.Fatalf("posted %+v", rcv.got)
			}
		})
		t.Run("the post is signed as the requests module signs its notices", func(t *testing.T) {
			if rcv.badSig != 0 {
				t.Fatalf("%d posts with a wrong signature", rcv.badSig)
			}
		})
		t.Run("the same key for another account, or no key, is a new notice", func(t *testing.T) {
			other := n
			other.UserID = res2
			noKey := n
			noKey.Key = ""
			for _, x := range []module.Notice{other, noKey, noKey} {
				if err := s.Notify(ctx, x); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			if a, b := e.Count(`SELECT COUNT(*) FROM user_notices WHERE user_id = $1`, res), e.Count(`SELECT COUNT(*) FROM user_notices WHERE user_id = $1`, res2); a != 3 || b != 1 {
				t.Fatalf("res %d, res2 %d", a, b)
			}
		})
		t.Run("the unread count, the list unread first, and opening marks read", func(t *testing.T) {
			ns, unread, err := s.List(ctx, res, 10)
			if err != nil || unread != 3 || len(ns) != 3 {
				t.Fatalf("%d unread of %d: %v", unread, len(ns), err)
			}
			e.Clock.Add(1)
			opened, err := s.Open(ctx, res, ns[1].ID)
			if err != nil || opened.Unread() {
				t.Fatalf("%+v %v", opened, err)
			}
			ns, unread, _ = s.List(ctx, res, 10)
			if unread != 2 || !ns[0].Unread() || !ns[1].Unread() || ns[2].ID != opened.ID {
				t.Fatalf("after opening one: %d unread, order %+v", unread, ns)
			}
			if _, err := s.Open(ctx, res2, opened.ID); err == nil {
				t.Fatal("another account opened the notice")
			}
			if k, err := s.ReadAll(ctx, res); err != nil || k != 2 {
				t.Fatalf("read all: %d %v", k, err)
			}
			if u, _ := s.Unread(ctx, res); u != 0 {
				t.Fatalf("%d unread after reading all", u)
			}
		})
		t.Run("a notice without its parts, or to nobody, is refused naming the field, and nothing is written", func(t *testing.T) {
			before := e.Count(`SELECT COUNT(*) FROM user_notices`)
			for field, bad := range map[string]module.Notice{
				"user_id": {Kind: "x", Title: fault.M("t", "t")},
				"kind":    {UserID: res, Title: fault.M("t", "t")},
				"title":   {UserID: res, Kind: "x"},
				"href":    {UserID: res, Kind: "x", Title: fault.M("t", "t"), Href: "https://evil.example/"},
			} {
				err := s.Notify(ctx, bad)
				e, ok := fault.As(err)
				if !ok || len(e.Fields) == 0 || e.Fields[0].Field != field {
					t.Errorf("%s: %v", field, err)
				}
			}
			if err := s.Notify(ctx, module.Notice{UserID: "nobody", Kind: "x", Title: fault.M("t", "t")}); err == nil {
				t.Error("a notice to no account was stored")
			}
			if got := e.Count(`SELECT COUNT(*) FROM user_notices`); got != before {
				t.Errorf("%d rows written by refused notices", got-before)
			}
		})
	})
}
