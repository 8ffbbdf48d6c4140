package visits_test

import (
	"context"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/registry"
	"linli/internal/registry/idno"
	"linli/internal/visits"
)

const (
	communityA = apptest.CommunityA
	communityB = apptest.CommunityB
	county     = apptest.County
)

// town is a toy community: two grids with a grid worker each, a community
// worker, and households of tagged residents.
type town struct {
	e      *apptest.Env
	reg    *registry.Store
	vs     *visits.Store
	cw     context.Context // the community worker of A
	g1, g2 string          // grids of A (workers gw1, gw2)
	h1, h2 string          // households in g1 and g2
	h3     string          // a household in no grid
	elder1 string          // 78, empty_nest, in h1
	elder2 string          // 76, disabled_full, in h3
	young  string          // 36, empty_nest, in h1: not a target (under 60)
	child  string          // 11, orphan, in h2
	poor   string          // 50, dibao, in h2: household h2 is an assisted family
	tags   map[string]string
	inputs map[string]registry.ResidentInput // as each resident was created
	seq    int
}

func as(user string, role access.Role, division string) context.Context {
	return access.With(context.Background(), &access.Principal{Username: user, Role: role, Division: division})
}

func newTown(t *testing.T, e *apptest.Env) *town {
	t.Helper()
	e.User("gw.1", access.GridWorker, communityA)
	e.User("gw.2", access.GridWorker, communityA)
	e.User("cw.a", access.CommunityWorker, communityA)
	e.User("gw.b", access.GridWorker, communityB)
	w := &town{e: e, reg: registry.StoreOf(e.App.Module("registry")), vs: visits.StoreOf(e.App.Module("visits")),
		cw: as("cw.a", access.CommunityWorker, communityA), tags: map[string]string{}, inputs: map[string]registry.ResidentInput{}}
	w.g1 = w.grid(t, "G1", "gw.1")
	w.g2 = w.grid(t, "G2", "gw.2")
	w.h1 = w.household(t, "H1", w.g1)
	w.h2 = w.household(t, "H2", w.g2)
	w.h3 = w.household(t, "H3", "")
	w.elder1 = w.resident(t, w.h1, 1948, "empty_nest", "")
	w.elder2 = w.resident(t, w.h3, 1950, "disabled_full", "")
	w.young = w.resident(t, w.h1, 1990, "empty_nest", "")
	w.child = w.resident(t, w.h2, 2015, "orphan", "")
	w.poor = w.resident(t, w.h2, 1976, "dibao", "")
	return w
}

func (w *town) grid(t *testing.T, code, worker string) string {
	t.Helper()
	g, err := w.reg.CreateGrid(w.cw, registry.GridInput{Division: communityA, Code: code, Name: "网格" + code, Workers: []string{worker}})
	if err != nil {
		t.Fatal(err)
	}
	return g.ID
}

func (w *town) household(t *testing.T, no, grid string) string {
	t.Helper()
	h, err := w.reg.CreateHousehold(w.cw, registry.HouseholdInput{Division: communityA, HouseholdNo: no, GridID: grid, Address: "上保社区 " + no + " 幢 101 室"})
	if err != nil {
		t.Fatal(err)
	}
	return h.ID
}

// resident adds a resident born in year to household hh, tagged tag
// (since the given day, "" for always).
func (w *town) resident(t *testing.T, hh string, year int, tag, since string) string {
	t.Helper()
	return w.residentAs(t, hh, year, tag, since, "")
}

// residentAs is resident with the registry record linked to an account.
func (w *town) residentAs(t *testing.T, hh string, year int, tag, since, username string) string {
	t.Helper()
	w.seq++
	in := registry.ResidentInput{HouseholdID: hh, Name: "居民" + string(rune('甲'+w.seq)), Username: username,
		IDNumber: idno.Synthetic("330106", time.Date(year, 3, 14, 0, 0, 0, 0, time.UTC), 900+w.seq), Relation: "户主", Residence: "registered"}
	r, err := w.reg.CreateResident(w.cw, in)
	if err != nil {
		t.Fatal(err)
	}
	w.inputs[r.ID] = in
	if tag != "" {
		w.tag(t, r.ID, tag, since)
	}
	return r.ID
}

func (w *town) tag(t *testing.T, resident, tag, since string) {
	t.Helper()
	ref, err := w.reg.AddTag(w.cw, resident, registry.TagInput{Tag: tag, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	w.tags[resident+"/"+tag] = ref.ID
}

// tagUntil tags a resident from since until a day.
func (w *town) tagUntil(t *testing.T, resident, tag, since, until string) {
	t.Helper()
	ref, err := w.reg.AddTag(w.cw, resident, registry.TagInput{Tag: tag, Since: since, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	w.tags[resident+"/"+tag] = ref.ID
}

// move moves a resident to another household.
func (w *town) move(t *testing.T, resident, hh string) {
	t.Helper()
	in := w.inputs[resident]
	in.HouseholdID = hh
	if _, err := w.reg.UpdateResident(w.cw, resident, in); err != nil {
		t.Fatal(err)
	}
	w.inputs[resident] = in
}

func (w *town) untag(t *testing.T, resident, tag string) {
	t.Helper()
	if err := w.reg.RemoveTag(w.cw, resident, w.tags[resident+"/"+tag]); err != nil {
		t.Fatal(err)
	}
}

func (w *town) schedule(t *testing.T, month string) visits.ScheduleResult {
	t.Helper()
	m, err := visits.ParseMonth(month)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.vs.Schedule(context.Background(), m, "")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// visitOf is a subject's visits of a month as "origin status owner grid",
// ordered by origin.
type row struct {
	ID                         int64
	Origin, Status, Owner, Due string
	Grid                       string
}

func (w *town) visitsOf(t *testing.T, subject, month string) []row {
	t.Helper()
	rs, err := w.e.App.DB.R.Query(`SELECT id, origin, status, owner, due_date, grid_id FROM vis_visits WHERE subject_id = $1 AND month = $2 ORDER BY id`, subject, month)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.ID, &r.Origin, &r.Status, &r.Owner, &r.Due, &r.Grid); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		panic(err)
	}
	return t.Add(-8 * time.Hour) // China time
}

func registryHousehold(no, grid string) registry.HouseholdInput {
	return registry.HouseholdInput{Division: communityA, HouseholdNo: no, GridID: grid, Address: "上保社区 " + no + " 幢 101 室"}
}
