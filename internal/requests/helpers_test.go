package requests_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/requests"
)

// Short names for the test communities (西湖区).
const (
	communityA = apptest.CommunityA // 北山街道 上保社区
	communityB = apptest.CommunityB // 西溪街道 石灰桥社区
	townshipA  = "330106002"        // 北山街道
	county     = apptest.County
)

// request is a request as the JSON API shows it.
type request struct {
	ID            string            `json:"id"`
	Number        string            `json:"number"`
	Division      string            `json:"division_code"`
	Unit          string            `json:"unit_code"`
	UnitName      string            `json:"unit_name"`
	Category      string            `json:"category"`
	Status        string            `json:"status"`
	Version       int               `json:"version"`
	Channel       string            `json:"channel"`
	Description   string            `json:"description"`
	Attributes    map[string]string `json:"attributes"`
	ReporterName  string            `json:"reporter_name"`
	ReporterPhone string            `json:"reporter_phone"`
	Assignee      string            `json:"assignee"`
	MergedInto    string            `json:"merged_into"`
	Reply         string            `json:"reply"`
	Reason        string            `json:"reason"`
	Rating        string            `json:"rating"`
	ReopenCount   int               `json:"reopen_count"`
	ReturnCount   int               `json:"return_count"`
	Escalation    int               `json:"escalation_level"`
	ResponseDue   time.Time         `json:"response_due"`
	ResolveDue    time.Time         `json:"resolve_due"`
	AcceptedAt    *time.Time        `json:"accepted_at"`
	AnsweredAt    *time.Time        `json:"answered_at"`
	ClosedAt      *time.Time        `json:"closed_at"`
	ResponseMet   *bool             `json:"response_met"`
	ResolveMet    *bool             `json:"resolve_met"`
	Events        []event           `json:"events"`
	Duplicates    []request         `json:"duplicates"` // only in the answer to a submission
}

// event is one step of a request's timeline.
type event struct {
	Seq    int    `json:"seq"`
	Action string `json:"action"`
	From   string `json:"from_status"`
	To     string `json:"to_status"`
	Unit   string `json:"unit_code"`
	Actor  string `json:"actor"`
	Role   string `json:"role"`
	Note   string `json:"note"`
}

// actions lists the actions of a timeline in order.
func (r request) actions() []string {
	var out []string
	for _, e := range r.Events {
		out = append(out, e.Action)
	}
	return out
}

// list is a page of the inbox.
type list struct {
	Items []request `json:"items"`
	Total int       `json:"total"`
}

// problem is a refusal (application/problem+json).
type problem struct {
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	DetailEN string `json:"detail_en"`
	Errors   []struct {
		Field     string `json:"field"`
		Message   string `json:"message"`
		MessageEN string `json:"message_en"`
	} `json:"errors"`
}

// fields are the names of the fields a refusal blames.
func (p problem) fields() []string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

// notice is an inbox notice of a handling unit.
type notice struct {
	Unit   string `json:"unit_code"`
	Number string `json:"number"`
	Kind   string `json:"kind"`
}

// people creates the accounts most tests use.
func people(e *apptest.Env) {
	e.User("res1", access.Resident, communityA)
	e.User("res2", access.Resident, communityA)
	e.User("workerA", access.CommunityWorker, communityA)
	e.User("workerA2", access.CommunityWorker, communityA)
	e.User("workerB", access.CommunityWorker, communityB)
	e.User("street", access.Officer, townshipA)
	e.User("countyOfficer", access.Officer, county)
}

// store is the requests store the app mounted.
func store(e *apptest.Env) *requests.Store {
	return requests.StoreOf(e.App.Module("requests"))
}

// submit files a request through the API and fails the test unless it is
// created.
func submit(t *testing.T, c *apptest.Client, body map[string]any) request {
	t.Helper()
	return apptest.JSON[request](t, c, "POST", "/api/v1/requests", body, 201)
}

// act takes an action through the API, expecting 200.
func act(t *testing.T, c *apptest.Client, id, action string, body map[string]any) request {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	return apptest.JSON[request](t, c, "POST", "/api/v1/requests/"+id+"/"+action, body, 200)
}

// refuse takes an action that must be refused with status want.
func refuse(t *testing.T, c *apptest.Client, id, action string, body map[string]any, want int) problem {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	return apptest.JSON[problem](t, c, "POST", "/api/v1/requests/"+id+"/"+action, body, want)
}

// get reads a request with its timeline.
func get(t *testing.T, c *apptest.Client, id string) request {
	t.Helper()
	return apptest.JSON[request](t, c, "GET", "/api/v1/requests/"+id, nil, 200)
}

// status reads only the answer's status of a GET.
func status(t *testing.T, c *apptest.Client, path string) int {
	t.Helper()
	st, _ := c.Do("GET", path, nil)
	return st
}

// state is what a refused action must leave unchanged: the status, the
// version and the number of events.
type state struct {
	Status  string
	Version int
	Events  int
}

func stateOf(t *testing.T, e *apptest.Env, id string) state {
	t.Helper()
	var s state
	if err := e.App.DB.R.QueryRow(`SELECT status, version FROM requests WHERE id = $1`, id).Scan(&s.Status, &s.Version); err != nil {
		t.Fatal(err)
	}
	s.Events = e.Count(`SELECT COUNT(*) FROM request_events WHERE request_id = $1`, id)
	return s
}

// eventsOf counts a request's events of one action.
func eventsOf(e *apptest.Env, id, action string) int {
	return e.Count(`SELECT COUNT(*) FROM request_events WHERE request_id = $1 AND action = $2`, id, action)
}

// mustJSON decodes text into a T or fails the test.
func mustJSON[T any](t *testing.T, text string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("decode into %T: %v: %s", v, err, text)
	}
	return v
}

// recorder is a notifier that hands every notice to a channel.
type recorder struct{ ch chan requests.Notice }

func (n *recorder) Notify(_ context.Context, x requests.Notice) error {
	n.ch <- x
	return nil
}

// containsAll tells whether an HTML page holds every text.
func containsAll(page string, texts ...string) bool {
	for _, s := range texts {
		if !strings.Contains(page, s) {
			return false
		}
	}
	return true
}
