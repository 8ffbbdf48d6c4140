package app_test

import (
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
)

// The requests tests live in internal/requests; these few helpers remain
// for the indicator test that files and answers requests
// (TestOwnIndicatorOnRequests).

// rqView is the part of a request that test reads.
type rqView struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// rqSubmit posts a request and fails the test unless it is created.
func rqSubmit(t *testing.T, c *apptest.Client, body map[string]any) rqView {
	t.Helper()
	return apptest.JSON[rqView](t, c, "POST", "/api/v1/requests", body, 201)
}

// rqAct takes an action and checks the status code.
func rqAct(t *testing.T, c *apptest.Client, id, action string, body map[string]any, want int) rqView {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	return apptest.JSON[rqView](t, c, "POST", "/api/v1/requests/"+id+"/"+action, body, want)
}

func rqSetup(e *apptest.Env) {
	e.User("res1", access.Resident, apptest.CommunityA)
	e.User("workerA", access.CommunityWorker, apptest.CommunityA)
	e.User("countyOfficer", access.Officer, apptest.County)
}
