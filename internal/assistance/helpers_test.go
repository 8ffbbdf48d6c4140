package assistance_test

import (
	"context"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/assistance"
	"linli/internal/registry"
	"linli/internal/registry/idno"
)

const (
	communityA = apptest.CommunityA
	communityB = apptest.CommunityB
	county     = apptest.County
)

// town is a county running the catalogue with a 2026 standard of 1,120
// yuan, and the accounts that handle applications.
type town struct {
	e   *apptest.Env
	reg *registry.Store
	as  *assistance.Store
	cw  context.Context
	seq int
}

func as(user string, role access.Role, division string) context.Context {
	return access.With(context.Background(), &access.Principal{Username: user, Role: role, Division: division})
}

func newTown(t *testing.T, e *apptest.Env) *town {
	t.Helper()
	e.User("cw.a", access.CommunityWorker, communityA)
	e.User("cw.b", access.CommunityWorker, communityB)
	e.User("off.county", access.Officer, county)
	e.User("off.county2", access.Officer, county)
	w := &town{e: e, reg: registry.StoreOf(e.App.Module("registry")), as: assistance.StoreOf(e.App.Module("assistance")), cw: as("cw.a", access.CommunityWorker, communityA)}
	off := e.Login("off.county")
	apptest.JSON[[]assistance.Standard](t, off, "POST", "/api/v1/assistance/standards", assistance.Standard{County: county, Year: 2026, DibaoFen: 112000}, 200)
	if err := w.as.EnableCounty(as("off.county", access.Officer, county), county); err != nil {
		t.Fatal(err)
	}
	return w
}

// household adds a household of community A with members born in the
// given years (ages on the test clock's 2026-11-29: 2026 − year); the
// first member is linked to account username when it is not empty.
func (w *town) household(t *testing.T, username string, years ...int) (string, []string) {
	t.Helper()
	w.seq++
	h, err := w.reg.CreateHousehold(w.cw, registry.HouseholdInput{Division: communityA, HouseholdNo: "H" + string(rune('A'+w.seq)), Address: "上保社区 " + string(rune('0'+w.seq)) + " 幢"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, y := range years {
		w.seq++
		in := registry.ResidentInput{HouseholdID: h.ID, Name: "居民" + string(rune('甲'+w.seq)), Relation: "户主", Residence: "registered",
			IDNumber: idno.Synthetic("330106", time.Date(y, 3, 14, 0, 0, 0, 0, time.UTC), 100+w.seq)}
		if i == 0 {
			in.Username = username
		}
		r, err := w.reg.CreateResident(w.cw, in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	return h.ID, ids
}

func fen(v int64) *int64 { return &v }

func result(a assistance.Application, code string) assistance.Result {
	for _, r := range a.Results {
		if r.Programme == code {
			return r
		}
	}
	return assistance.Result{}
}
