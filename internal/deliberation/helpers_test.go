package deliberation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/deliberation"
	"linli/internal/registry"
	"linli/internal/registry/idno"
)

const (
	communityA = apptest.CommunityA
	communityB = apptest.CommunityB
)

// hood is community A with a council (quorum 50%, simple majority, two
// co-signing households within 7 days), its worker, and households in
// buildings 1 and 2 whose heads have accounts.
type hood struct {
	e       *apptest.Env
	reg     *registry.Store
	cw      *apptest.Client
	council deliberation.Council
	// homes are household IDs by account name.
	homes map[string]string
	seq   int
}

func newHood(t *testing.T, e *apptest.Env) *hood {
	t.Helper()
	e.User("cw.a", access.CommunityWorker, communityA)
	e.User("cw.b", access.CommunityWorker, communityB)
	h := &hood{e: e, reg: registry.StoreOf(e.App.Module("registry")), cw: e.Login("cw.a"), homes: map[string]string{}}
	for i, b := range []int{1, 1, 1, 1, 2, 2} {
		h.household(t, communityA, fmt.Sprintf("res.%d", i+1), fmt.Sprintf("上保社区 %d 幢 %d0%d", b, b, i+1))
	}
	h.household(t, communityB, "res.b", "石灰桥社区 1 幢 101")
	h.council = apptest.JSON[deliberation.Council](t, h.cw, "POST", "/api/v1/councils", deliberation.CouncilInput{
		Division: communityA, Name: "上保社区居民议事会", QuorumPM: 500, Majority: deliberation.MajoritySimple, CosignThreshold: 2, CosignDays: 7,
		Members: []deliberation.MemberInput{
			{Name: "陈建国", Role: "resident_rep", Username: "res.6", TermFrom: "2026-01-01", TermUntil: "2028-12-31"},
			{Name: "李秀英", Role: "party", TermFrom: "2026-01-01", TermUntil: "2028-12-31"},
			{Name: "王物业", Role: "property", TermFrom: "2026-01-01", TermUntil: "2027-12-31"},
		}}, 201)
	return h
}

func (h *hood) household(t *testing.T, division, user, address string) {
	t.Helper()
	h.seq++
	ctx := access.With(context.Background(), &access.Principal{Username: "cw", Role: access.CommunityWorker, Division: division})
	hh, err := h.reg.CreateHousehold(ctx, registry.HouseholdInput{Division: division, HouseholdNo: fmt.Sprintf("D%03d", h.seq), Address: address})
	if err != nil {
		t.Fatal(err)
	}
	h.e.User(user, access.Resident, division)
	if _, err := h.reg.CreateResident(ctx, registry.ResidentInput{HouseholdID: hh.ID, Name: "住户" + fmt.Sprint(h.seq), Relation: "户主", Residence: "registered",
		IDNumber: idno.Synthetic("330106", time.Date(1950+h.seq, 5, 1, 0, 0, 0, 0, time.UTC), 200+h.seq), Username: user}); err != nil {
		t.Fatal(err)
	}
	h.homes[user] = hh.ID
}

// problem is a refusal's problem document.
type problem struct {
	Status int `json:"status"`
	Errors []struct {
		Field string `json:"field"`
	} `json:"errors"`
	Detail string `json:"detail"`
}

// refused sends a request that must be refused with want, naming field
// when it is not empty.
func refused(t *testing.T, c *apptest.Client, method, path string, body any, want int, field string) {
	t.Helper()
	st, text := c.Do(method, path, body)
	if st != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, st, want, text)
	}
	if field == "" {
		return
	}
	var p problem
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	for _, e := range p.Errors {
		if e.Field == field {
			return
		}
	}
	t.Fatalf("%s %s: the refusal does not name %s: %s", method, path, field, text)
}

// accepted raises a topic as a worker for the area and accepts it.
func (h *hood) accepted(t *testing.T, title, kind, ref string) deliberation.Topic {
	t.Helper()
	tp := apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics", deliberation.TopicInput{Division: communityA, Title: title, Description: "说明", AreaKind: kind, AreaRef: ref}, 201)
	return apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics/"+tp.ID+"/accept", deliberation.MoveInput{}, 200)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
