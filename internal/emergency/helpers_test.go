package emergency_test

import (
	"context"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/emergency"
	"linli/internal/registry"
	"linli/internal/registry/idno"
)

const (
	communityA = apptest.CommunityA // 北山街道 上保社区
	communityB = apptest.CommunityB // 西溪街道 石灰桥社区
	townA      = "330106002"        // 北山街道
)

// town is the fixture: in community A two grids (workers gw.1, gw.2) and
// four households — h1 with an 85-year-old living alone, paired with the
// neighbour account nb.1, and her son; h2 with a bedridden (失能) man of
// 60, unpaired, in grid 2; h3 whose "living alone" tag expired last year;
// h4, a young family with an account (res.a). In community B, outside the
// area, h5 with a person living alone and an account (res.b).
type town struct {
	e                  *apptest.Env
	reg                *registry.Store
	es                 *emergency.Store
	cw, cwB            context.Context
	h1, h2, h3, h4, h5 string
	elder, son, bed    string
	expired, young, b  string
	shelter            string
	seq                int
}

func as(user string, role access.Role, division string) context.Context {
	return access.With(context.Background(), &access.Principal{Username: user, Role: role, Division: division})
}

func newTown(t *testing.T, e *apptest.Env) *town {
	t.Helper()
	e.User("gw.1", access.GridWorker, communityA)
	e.User("gw.2", access.GridWorker, communityA)
	e.User("nb.1", access.GridWorker, communityA) // a neighbour with a worker's account
	e.User("cw.a", access.CommunityWorker, communityA)
	e.User("cw.b", access.CommunityWorker, communityB)
	e.User("officer.town", access.Officer, townA)
	e.User("officer.county", access.Officer, apptest.County)
	e.User("res.a", access.Resident, communityA)
	e.User("res.b", access.Resident, communityB)
	w := &town{e: e, reg: registry.StoreOf(e.App.Module("registry")), es: emergency.StoreOf(e.App.Module("emergency")),
		cw: as("cw.a", access.CommunityWorker, communityA), cwB: as("cw.b", access.CommunityWorker, communityB)}
	g1 := w.grid(t, w.cw, communityA, "G1", "gw.1")
	g2 := w.grid(t, w.cw, communityA, "G2", "gw.2")
	w.h1 = w.household(t, w.cw, communityA, "H1", g1)
	w.h2 = w.household(t, w.cw, communityA, "H2", g2)
	w.h3 = w.household(t, w.cw, communityA, "H3", g1)
	w.h4 = w.household(t, w.cw, communityA, "H4", "")
	w.elder = w.resident(t, w.cw, w.h1, 1941, "张", "")
	w.tag(t, w.cw, w.elder, "living_alone", "", "")
	w.son = w.resident(t, w.cw, w.h1, 1970, "张", "")
	w.bed = w.resident(t, w.cw, w.h2, 1966, "李", "")
	w.tag(t, w.cw, w.bed, "disabled_full", "", "")
	w.expired = w.resident(t, w.cw, w.h3, 1960, "王", "")
	w.tag(t, w.cw, w.expired, "living_alone", "2020-01-01", "2025-12-31")
	w.young = w.resident(t, w.cw, w.h4, 1995, "赵", "res.a")
	gB := w.grid(t, w.cwB, communityB, "GB", "")
	w.h5 = w.household(t, w.cwB, communityB, "H5", gB)
	w.b = w.resident(t, w.cwB, w.h5, 1944, "钱", "res.b")
	w.tag(t, w.cwB, w.b, "living_alone", "", "")
	f, err := w.reg.CreateFacility(w.cw, registry.FacilityInput{Division: communityA, Code: "SH-1", Name: "上保社区应急避难场所", Category: emergency.ShelterCategory,
		Address: "上保社区 1 号", Lon: 120.14, Lat: 30.26, FloorArea: 500, Capacities: map[string]float64{"people": 2}, Status: "open"})
	if err != nil {
		t.Fatal(err)
	}
	w.shelter = f.ID
	if _, err := w.es.Pair(w.cw, emergency.PairingInput{ResidentID: w.elder, Helper: "nb.1", Kind: "neighbour"}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *town) grid(t *testing.T, ctx context.Context, div, code, worker string) string {
	t.Helper()
	in := registry.GridInput{Division: div, Code: code, Name: "网格" + code}
	if worker != "" {
		in.Workers = []string{worker}
	}
	g, err := w.reg.CreateGrid(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return g.ID
}

func (w *town) household(t *testing.T, ctx context.Context, div, no, grid string) string {
	t.Helper()
	h, err := w.reg.CreateHousehold(ctx, registry.HouseholdInput{Division: div, HouseholdNo: no, GridID: grid, Address: "社区 " + no + " 幢 101 室"})
	if err != nil {
		t.Fatal(err)
	}
	return h.ID
}

func (w *town) resident(t *testing.T, ctx context.Context, hh string, year int, surname, username string) string {
	t.Helper()
	w.seq++
	r, err := w.reg.CreateResident(ctx, registry.ResidentInput{HouseholdID: hh, Name: surname + "居民" + string(rune('甲'+w.seq)), Username: username,
		IDNumber: idno.Synthetic("330106", time.Date(year, 3, 14, 0, 0, 0, 0, time.UTC), 900+w.seq), Relation: "户主", Residence: "registered"})
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func (w *town) tag(t *testing.T, ctx context.Context, resident, tag, since, until string) {
	t.Helper()
	if _, err := w.reg.AddTag(ctx, resident, registry.TagInput{Tag: tag, Since: since, Until: until}); err != nil {
		t.Fatal(err)
	}
}

// orange is a warning for community A.
func orange(divisions ...string) emergency.AlertInput {
	return emergency.AlertInput{Divisions: divisions, Event: "台风", Category: "Met", Colour: "orange", ResponseLevel: "II",
		Onset: "2026-11-29T18:00", Expires: "2026-11-30T18:00", Headline: "台风橙色预警", Description: "台风“海燕”预计今夜登陆。",
		Instruction: "关好门窗，远离低洼地带；独居老人请等候帮扶人联系。", Polygon: "30.25,120.13 30.27,120.13 30.27,120.15 30.25,120.13", Circle: "30.26,120.14 1.5"}
}

// issue issues a warning through the API as the town's officer.
func (w *town) issue(t *testing.T, in emergency.AlertInput) emergency.Issued {
	t.Helper()
	return apptest.JSON[emergency.Issued](t, w.e.Login("officer.town"), "POST", "/api/v1/emergency/alerts", in, 201)
}

// checkOf is the check of a subject in an incident.
func (w *town) checkOf(t *testing.T, incident, kind, subject string) (id int64, helper, status string) {
	t.Helper()
	if err := w.e.App.DB.R.QueryRow(`SELECT id, helper, status FROM em_checks WHERE incident_id = $1 AND kind = $2 AND subject_id = $3`, incident, kind, subject).Scan(&id, &helper, &status); err != nil {
		t.Fatalf("check of %s %s: %v", kind, subject, err)
	}
	return id, helper, status
}
