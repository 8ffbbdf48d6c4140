package registry_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/fault"
	"linli/internal/registry"
	"linli/internal/registry/idno"
	"linli/internal/web"
)

// Real codes of 西湖区 and fictitious but valid-format numbers used across
// the registry's tests.
const (
	communityA = apptest.CommunityA
	communityB = apptest.CommunityB
	county     = apptest.County
	phone1     = "13957101234"
)

var (
	id1 = idno.Synthetic("330106", time.Date(1948, 3, 14, 0, 0, 0, 0, time.UTC), 917)
	id2 = idno.Synthetic("330106", time.Date(1990, 7, 2, 0, 0, 0, 0, time.UTC), 924)
)

// sameOrigin is the header a browser sends with its own forms.
var sameOrigin = map[string]string{"Sec-Fetch-Site": "same-origin"}

type idOnly struct {
	ID string `json:"id"`
}

// world is the registry's usual cast: a worker in each of two
// communities, a household and a resident in community A.
type world struct {
	wa, wb  *apptest.Client
	hh, res string
}

func setup(t *testing.T, e *apptest.Env) world {
	t.Helper()
	e.User("worker.a", access.CommunityWorker, communityA)
	e.User("worker.b", access.CommunityWorker, communityB)
	w := world{wa: e.Login("worker.a"), wb: e.Login("worker.b")}
	w.hh = apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/households", map[string]any{"division": communityA, "household_no": "HH-001", "address": "北山街道上保社区 1 幢 101 室"}, 201).ID
	w.res = apptest.JSON[idOnly](t, w.wa, "POST", "/api/v1/residents", map[string]any{"household_id": w.hh, "name": "张晓梅", "id_number": id1, "relation": "户主",
		"residence": "户籍", "phone": phone1, "health": "高血压", "income": "1800"}, 201).ID
	return w
}

// refusal sends a request that must be refused with status and returns
// the problem it answers.
func refusal(t *testing.T, c *apptest.Client, method, path string, body any, status int) web.Problem {
	t.Helper()
	return apptest.JSON[web.Problem](t, c, method, path, body, status)
}

// fieldsOf lists the fields a refusal names, in order.
func fieldsOf(p web.Problem) []string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

// messageOf is the message a refusal gives for field ("" when it names
// no such field).
func messageOf(p web.Problem, field string) string {
	for _, f := range p.Errors {
		if f.Field == field {
			return f.Message
		}
	}
	return ""
}

// wantFields fails unless the refusal names exactly these fields.
func wantFields(t *testing.T, p web.Problem, want ...string) {
	t.Helper()
	if got := fieldsOf(p); !reflect.DeepEqual(got, want) {
		t.Fatalf("fields %v, want %v (%s)", got, want, p.Detail)
	}
}

// storeOf is the registry store of an app.
func storeOf(e *apptest.Env) *registry.Store {
	return registry.StoreOf(e.App.Module("registry"))
}

// as is a context acting as a user of role in division, for store calls.
func as(role access.Role, division string) context.Context {
	return access.With(context.Background(), &access.Principal{Username: string(role) + "@" + division, Role: role, Division: division})
}

// wantFault fails unless err is a refusal of code whose Chinese message
// contains msg.
func wantFault(t *testing.T, err error, code fault.Code, msg string) *fault.Error {
	t.Helper()
	fe, ok := fault.As(err)
	if !ok || fe.Code != code || !strings.Contains(fe.Msg.ZH, msg) {
		t.Fatalf("got %v, want a %s refusal saying %q", err, code, msg)
	}
	return fe
}

// must fails the test on an error.
func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// page fetches a page that must answer status and returns its HTML.
func page(t *testing.T, c *apptest.Client, path string, status int) string {
	t.Helper()
	st, body, _ := c.Get(path)
	if st != status {
		t.Fatalf("GET %s: %d, want %d", path, st, status)
	}
	return body
}

// redirected posts a form that must redirect (303) and returns where to.
func redirected(t *testing.T, c *apptest.Client, path string, form map[string]string) string {
	t.Helper()
	st, body, h := c.Form(path, form, sameOrigin)
	if st != http.StatusSeeOther {
		t.Fatalf("POST %s: %d, want 303: %.400s", path, st, body)
	}
	return h.Get("Location")
}

// idFor is a fictitious, valid ID number of 西湖区, a different one for each n.
func idFor(n int) string {
	return idno.Synthetic("330106", time.Date(1950+n%60, time.Month(1+n%12), 1+n%28, 0, 0, 0, 0, time.UTC), 900+n%100)
}
