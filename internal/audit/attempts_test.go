package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/web"
)

// refusals lists the refusal entries, oldest first.
func refusals(t *testing.T, l *audit.Log) []audit.Entry {
	t.Helper()
	pg, err := l.Search(context.Background(), audit.Filter{Result: audit.Denied}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	es := pg.Entries
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

func repeatsOf(t *testing.T, e audit.Entry) audit.Repeats {
	t.Helper()
	var r audit.Repeats
	if err := json.Unmarshal([]byte(e.Detail), &r); err != nil {
		t.Fatalf("detail %q: %v", e.Detail, err)
	}
	return r
}

func TestRepeatedRefusalsAreCounted(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, audit.Migrations, func(t *testing.T, d *db.DB) {
		l, ck := newLog(d)
		ctx := context.Background()
		start := ck.Now()
		const probes = 500
		for i := range probes {
			if err := l.Refused(asOfficer(), audit.Entry{Action: audit.ActionNotFound, Object: "GET /api/v1/residents/{id}", ObjectID: fmt.Sprint("r-", i)}); err != nil {
				t.Fatal(err)
			}
			ck.Add(time.Second)
		}
		t.Run("the first refusal is written at once, its repeats only counted", func(t *testing.T) {
			got := refusals(t, l)
			if len(got) != 1 || got[0].ObjectID != "r-0" || got[0].Actor != "county" || got[0].IP != "203.0.113.9" || !got[0].At.Equal(start) {
				t.Fatalf("entries %+v", got)
			}
		})
		t.Run("another actor's refusal is an entry of its own", func(t *testing.T) {
			other := audit.WithIP(access.With(context.Background(), &access.Principal{UserID: "u-2", Username: "wang", Role: access.GridWorker}), "10.0.0.2")
			if err := l.Refused(other, audit.Entry{Action: audit.ActionNotFound, Object: "GET /api/v1/residents/{id}", ObjectID: "r-0"}); err != nil {
				t.Fatal(err)
			}
			if got := refusals(t, l); len(got) != 2 || got[1].Actor != "wang" {
				t.Fatalf("entries %+v", got)
			}
		})
		t.Run("once the window has passed the repeats become one entry", func(t *testing.T) {
			ck.Add(audit.RepeatWindow)
			if err := l.Flush(ctx, false); err != nil {
				t.Fatal(err)
			}
			got := refusals(t, l)
			if len(got) != 3 {
				t.Fatalf("entries %+v", got)
			}
			t.Logf("%d refused probes → %d audit entries", probes, len(got)-1)
			sum := got[2]
			if sum.Action != audit.ActionNotFound+".repeated" || sum.Actor != "county" || sum.Role != "officer" || sum.IP != "203.0.113.9" || sum.Object != "GET /api/v1/residents/{id}" {
				t.Errorf("summary %+v", sum)
			}
			ids := []string{}
			for i := 1; i <= 20; i++ {
				ids = append(ids, fmt.Sprint("r-", i))
			}
			want := audit.Repeats{Repeats: probes - 1, From: start.Add(time.Second), To: start.Add((probes - 1) * time.Second), ObjectIDs: ids, MoreObjectIDs: probes - 21}
			if got := repeatsOf(t, sum); !reflect.DeepEqual(got, want) {
				t.Errorf("repeats %+v\nwant    %+v", got, want)
			}
		})
		t.Run("a refusal after the window is a first again", func(t *testing.T) {
			if err := l.Refused(asOfficer(), audit.Entry{Action: audit.ActionNotFound, Object: "GET /api/v1/residents/{id}", ObjectID: "r-x"}); err != nil {
				t.Fatal(err)
			}
			if got := refusals(t, l); len(got) != 4 || got[3].ObjectID != "r-x" || got[3].Action != audit.ActionNotFound {
				t.Fatalf("entries %+v", got)
			}
		})
		t.Run("closing the log writes the counts still open", func(t *testing.T) {
			for range 3 {
				if err := l.Refused(asOfficer(), audit.Entry{Action: audit.ActionNotFound, Object: "GET /api/v1/residents/{id}", ObjectID: "r-x"}); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Close(ctx); err != nil {
				t.Fatal(err)
			}
			got := refusals(t, l)
			if len(got) != 5 {
				t.Fatalf("entries %+v", got)
			}
			if r := repeatsOf(t, got[4]); r.Repeats != 3 || !reflect.DeepEqual(r.ObjectIDs, []string{"r-x"}) {
				t.Errorf("repeats %+v", r)
			}
			if n, err := l.Verify(ctx); err != nil || n != 5 {
				t.Errorf("verify: %d %v", n, err)
			}
		})
	})
}

// probe is a module whose routes refuse in every way a feature does.
type probe struct{ log *audit.Log }

func (p *probe) Nav() []web.NavItem { return nil }

func (p *probe) Mount(rt *web.Router, rd *web.Renderer) error {
	rt.API("GET /api/v1/probe/{id}", web.Op{Summary: "probe"}, func(w http.ResponseWriter, r *http.Request) error {
		switch id := r.PathValue("id"); {
		case strings.HasPrefix(id, "foreign"):
			return fault.NotFound(fault.M("不存在", "not found"))
		case id == "secret":
			return fault.Forbidden(fault.M("无权", "forbidden"))
		case id == "self":
			if err := p.log.Record(r.Context(), audit.Entry{Action: "probe.reveal", ObjectID: "self", Result: audit.Denied}); err != nil {
				return err
			}
			return fault.Forbidden(fault.M("无权", "forbidden"))
		}
		web.WriteJSON(w, 200, map[string]string{"id": r.PathValue("id")})
		return nil
	})
	rt.API("GET /api/v1/probes", web.Op{Summary: "probe list"}, func(w http.ResponseWriter, r *http.Request) error {
		return fault.NotFound(fault.M("不存在", "not found"))
	})
	rt.API("GET /api/v1/open-probe/{id}", web.Op{Summary: "public probe", Public: true}, func(w http.ResponseWriter, r *http.Request) error {
		return fault.NotFound(fault.M("不存在", "not found"))
	})
	rt.Page("GET /probe/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "403 无权 / forbidden", http.StatusForbidden)
	})
	return nil
}

func probeModule() module.Spec {
	return module.Spec{Name: "probe", New: func(d module.Deps) (module.Module, error) { return &probe{log: d.Audit}, nil }}
}

func TestRefusalsAtTheEdgeAreAudited(t *testing.T) {
	t.Parallel()
	apptest.EachWith(t, []module.Spec{probeModule()}, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		log := e.App.Audit
		entry := func(t *testing.T, path string, status int) []audit.Entry {
			t.Helper()
			before := len(refusals(t, log))
			if st, body := c.Do("GET", path, nil); st != status {
				t.Fatalf("GET %s: %d %s", path, st, body)
			}
			return refusals(t, log)[before:]
		}
		t.Run("a row that is absent or outside the jurisdiction is recorded", func(t *testing.T) {
			got := entry(t, "/api/v1/probe/foreign", 404)
			if len(got) != 1 {
				t.Fatalf("entries %+v", got)
			}
			want := audit.Entry{Seq: got[0].Seq, At: got[0].At, ActorID: got[0].ActorID, Actor: "county", Role: "officer", IP: "127.0.0.1",
				Action: audit.ActionNotFound, Object: "GET /api/v1/probe/{id}", ObjectID: "foreign", Result: audit.Denied,
				PrevHash: got[0].PrevHash, Hash: got[0].Hash, MAC: got[0].MAC}
			if !reflect.DeepEqual(got[0], want) || got[0].ActorID == "" || got[0].MAC == "" {
				t.Errorf("got  %+v\nwant %+v", got[0], want)
			}
		})
		t.Run("a 403 is recorded, on the API and on pages", func(t *testing.T) {
			for _, path := range []string{"/api/v1/probe/secret", "/probe/p-1", "/api/v1/audit"} {
				got := entry(t, path, 403)
				if len(got) != 1 || got[0].Action != audit.ActionForbidden || got[0].Actor != "county" {
					t.Errorf("%s: entries %+v", path, got)
				}
			}
		})
		t.Run("a refusal the handler recorded is not recorded twice", func(t *testing.T) {
			got := entry(t, "/api/v1/probe/self", 403)
			if len(got) != 1 || got[0].Action != "probe.reveal" {
				t.Errorf("entries %+v", got)
			}
		})
		t.Run("answers, 404s that name no row and anonymous 404s are not refusals", func(t *testing.T) {
			if got := entry(t, "/api/v1/probe/mine", 200); len(got) != 0 {
				t.Errorf("entries %+v", got)
			}
			if got := entry(t, "/api/v1/probes", 404); len(got) != 0 {
				t.Errorf("entries %+v", got)
			}
			before := len(refusals(t, log))
			if st, _ := e.Client().Do("GET", "/api/v1/open-probe/x", nil); st != 404 {
				t.Fatalf("public probe: %d", st)
			}
			if got := refusals(t, log)[before:]; len(got) != 0 {
				t.Errorf("an anonymous 404 on a public route was recorded: %+v", got)
			}
		})
		t.Run("a probe of 200 foreign rows leaves two entries", func(t *testing.T) {
			e.Clock.Add(audit.RepeatWindow)
			if err := log.Flush(context.Background(), false); err != nil {
				t.Fatal(err)
			}
			before := len(refusals(t, log))
			start := e.Clock.Now()
			for i := range 200 {
				if st, _ := c.Do("GET", fmt.Sprint("/api/v1/probe/foreign-", i), nil); st != 404 {
					t.Fatalf("probe %d: %d", i, st)
				}
			}
			e.Clock.Add(audit.RepeatWindow)
			if err := log.Flush(context.Background(), false); err != nil {
				t.Fatal(err)
			}
			got := refusals(t, log)[before:]
			t.Logf("200 foreign-row probes → %d audit entries", len(got))
			if len(got) != 2 || got[0].ObjectID != "foreign-0" || got[1].Action != audit.ActionNotFound+".repeated" {
				t.Fatalf("entries %+v", got)
			}
			r := repeatsOf(t, got[1])
			if r.Repeats != 199 || len(r.ObjectIDs) != 20 || r.ObjectIDs[0] != "foreign-1" || r.MoreObjectIDs != 179 || !r.From.Equal(start) {
				t.Errorf("repeats %+v", r)
			}
		})
	})
}

func TestForeignRowProbesAreAudited(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker.a", access.CommunityWorker, apptest.CommunityA)
		e.User("ningbo", access.Officer, apptest.OtherCity)
		type created struct {
			ID string `json:"id"`
		}
		hh := apptest.JSON[created](t, e.Login("worker.a"), "POST", "/api/v1/households",
			map[string]any{"division": apptest.CommunityA, "household_no": "HH-001", "address": "北山街道上保社区 1 幢 101 室"}, 201).ID
		c := e.Login("ningbo")
		for _, k := range []struct {
			name, method, path string
			body               any
			object             string
		}{
			{"a household of another city", "GET", "/api/v1/households/" + hh, nil, "GET /api/v1/households/{id}"},
			{"a reveal of a resident outside the jurisdiction", "POST", "/api/v1/residents/r-elsewhere/reveal",
				map[string]string{"field": "id_number", "reason": "核实身份"}, "POST /api/v1/residents/{id}/reveal"},
		} {
			t.Run(k.name+" is refused and recorded", func(t *testing.T) {
				before := len(refusals(t, e.App.Audit))
				if st, body := c.Do(k.method, k.path, k.body); st != 404 {
					t.Fatalf("%s %s: %d %s", k.method, k.path, st, body)
				}
				got := refusals(t, e.App.Audit)[before:]
				if len(got) != 1 || got[0].Action != audit.ActionNotFound || got[0].Object != k.object || got[0].Actor != "ningbo" {
					t.Errorf("entries %+v", got)
				}
			})
		}
	})
}
