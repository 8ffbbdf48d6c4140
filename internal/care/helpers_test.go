package care_test

import (
	"context"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/care"
	"linli/internal/registry"
	"linli/internal/registry/idno"
)

const (
	communityA = apptest.CommunityA // 北山街道 上保社区
	communityB = apptest.CommunityB // 西溪街道 石灰桥社区
	townA      = "330106002"        // 北山街道
	county     = apptest.County
)

// town is the fixture. In community A: h1 with an elder born 1941 (85,
// account res.old) and her son born 1970; h2 with a bedridden (失能) man
// born 1956 (account res.bed); h3 with a 低保 resident born 1961; h4 with a
// man born 1956 whose 失能 tag ended on 2026-08-31. In community B: h5
// with an elder born 1940 (account res.b). A facility of community A at
// (120.14, 30.26) tells where A is. Provider P (its manager prov.mgr, its
// care worker staff.wang) serves A with 助浴 and 助洁; provider Q
// (prov2.mgr) serves B only.
type town struct {
	e                                *apptest.Env
	reg                              *registry.Store
	cs                               *care.Store
	cw, officer                      context.Context
	elder, son, bed, dibao, formerly string
	other                            string
	bath, clean                      care.Item
	p, q                             care.Provider
	wang                             care.Staff
	seq                              int
}

func as(user string, role access.Role, division string) context.Context {
	return access.With(context.Background(), &access.Principal{Username: user, Role: role, Division: division})
}

func newTown(t *testing.T, e *apptest.Env) *town {
	t.Helper()
	e.User("cw.a", access.CommunityWorker, communityA)
	e.User("cw.b", access.CommunityWorker, communityB)
	e.User("officer.town", access.Officer, townA)
	e.User("officer.county", access.Officer, county)
	e.User("res.old", access.Resident, communityA)
	e.User("res.bed", access.Resident, communityA)
	e.User("res.b", access.Resident, communityB)
	e.User("prov.mgr", access.Provider, townA)
	e.User("staff.wang", access.Provider, townA)
	e.User("prov2.mgr", access.Provider, "330106004")
	w := &town{e: e, reg: registry.StoreOf(e.App.Module("registry")), cs: care.StoreOf(e.App.Module("care")),
		cw: as("cw.a", access.CommunityWorker, communityA), officer: as("officer.county", access.Officer, county)}
	cwB := as("cw.b", access.CommunityWorker, communityB)
	h1 := w.household(t, w.cw, communityA, "H1")
	h2 := w.household(t, w.cw, communityA, "H2")
	h3 := w.household(t, w.cw, communityA, "H3")
	h4 := w.household(t, w.cw, communityA, "H4")
	h5 := w.household(t, cwB, communityB, "H5")
	w.elder = w.resident(t, w.cw, h1, 1941, "张", "res.old")
	w.son = w.resident(t, w.cw, h1, 1970, "张", "")
	w.bed = w.resident(t, w.cw, h2, 1956, "李", "res.bed")
	w.tag(t, w.cw, w.bed, "disabled_full", "2020-01-01", "")
	w.dibao = w.resident(t, w.cw, h3, 1961, "王", "")
	w.tag(t, w.cw, w.dibao, "dibao", "2022-01-01", "")
	w.formerly = w.resident(t, w.cw, h4, 1956, "赵", "")
	w.tag(t, w.cw, w.formerly, "disabled_full", "2021-01-01", "2026-08-31")
	w.other = w.resident(t, cwB, h5, 1940, "钱", "res.b")
	if _, err := w.reg.CreateFacility(w.cw, registry.FacilityInput{Division: communityA, Code: "A-1", Name: "上保社区居家养老服务站", Category: "elderly_day_care",
		Address: "上保社区 1 号", Lon: 120.14, Lat: 30.26, FloorArea: 300, Status: "open"}); err != nil {
		t.Fatal(err)
	}
	var err error
	if w.bath, err = w.cs.CreateItem(w.officer, care.ItemInput{County: county, Code: "bath", NameZH: "助浴", NameEN: "Bathing", Unit: care.UnitVisit, MaxMinutes: 90, PriceFen: 8000}); err != nil {
		t.Fatal(err)
	}
	if w.clean, err = w.cs.CreateItem(w.officer, care.ItemInput{County: county, Code: "clean", NameZH: "助洁", NameEN: "Cleaning", Unit: care.UnitHour, MaxMinutes: 180, PriceFen: 5000}); err != nil {
		t.Fatal(err)
	}
	townCtx := as("officer.town", access.Officer, townA)
	orgP, err := w.reg.CreateOrganization(townCtx, registry.OrganizationInput{Division: communityA, Kind: "enterprise", Name: "安康居家养老服务有限公司"})
	if err != nil {
		t.Fatal(err)
	}
	orgQ, err := w.reg.CreateOrganization(w.officer, registry.OrganizationInput{Division: communityB, Kind: "social_org", RegNo: "52330106MJ0000001X", Name: "西溪颐养服务中心"})
	if err != nil {
		t.Fatal(err)
	}
	person, err := w.reg.CreatePerson(townCtx, registry.PersonInput{Division: communityA, Name: "王护理", Roles: []string{"care_worker"}, Attrs: map[string]any{"certified": true}, OrgID: orgP.ID, Username: "staff.wang"})
	if err != nil {
		t.Fatal(err)
	}
	if w.p, err = w.cs.CreateProvider(w.officer, care.ProviderInput{OrgID: orgP.ID, County: county, ContractNo: "XH-2026-001", ContractFrom: "2026-01-01", ContractTo: "2027-12-31",
		Communities: []string{communityA}, Items: []string{w.bath.ID, w.clean.ID}}); err != nil {
		t.Fatal(err)
	}
	if w.q, err = w.cs.CreateProvider(w.officer, care.ProviderInput{OrgID: orgQ.ID, County: county, ContractNo: "XH-2026-002", ContractFrom: "2026-01-01", ContractTo: "2027-12-31",
		Communities: []string{communityB}, Items: []string{w.bath.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cs.AddStaff(w.officer, w.p.ID, care.StaffInput{Username: "prov.mgr", Manager: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cs.AddStaff(w.officer, w.q.ID, care.StaffInput{Username: "prov2.mgr", Manager: true}); err != nil {
		t.Fatal(err)
	}
	if w.wang, err = w.cs.AddStaff(as("prov.mgr", access.Provider, townA), w.p.ID, care.StaffInput{PersonnelID: person.ID}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *town) household(t *testing.T, ctx context.Context, div, no string) string {
	t.Helper()
	h, err := w.reg.CreateHousehold(ctx, registry.HouseholdInput{Division: div, HouseholdNo: no, Address: "社区 " + no + " 幢 101 室"})
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

// v1 is the first version of 2026's rule: 80+ 200 yuan, 失能 300 yuan,
// 低保 aged 60+ 100 yuan a month.
func v1() care.RuleInput {
	return care.RuleInput{County: county, FromMonth: "2026-01", Name: "2026 年居家养老服务补贴", Tiers: []care.Tier{
		{Label: "高龄", AgeMin: 80, AmountFen: 20000}, {Label: "失能", Tags: []string{"disabled_full"}, AmountFen: 30000},
		{Label: "低保老人", AgeMin: 60, Tags: []string{"dibao"}, AmountFen: 10000}}}
}

// quota reads a resident's month of the ledger.
func (w *town) quota(t *testing.T, resident, month string) (granted, used, expired int64) {
	t.Helper()
	err := w.e.App.DB.R.QueryRow(`SELECT granted_fen, used_fen, expired_fen FROM care_quota WHERE resident_id = $1 AND month = $2`, resident, month).Scan(&granted, &used, &expired)
	if err != nil {
		return -1, -1, -1
	}
	return granted, used, expired
}

// order places an order as res.old and takes it through to the check-in.
func (w *town) orderCheckedIn(t *testing.T, item string) care.Order {
	t.Helper()
	res, mgr, staff := w.e.Login("res.old"), w.e.Login("prov.mgr"), w.e.Login("staff.wang")
	o := apptest.JSON[care.Order](t, res, "POST", "/api/v1/care/orders", care.OrderInput{ProviderID: w.p.ID, ItemID: item, WantedAt: "2026-11-30T09:00"}, 201)
	apptest.JSON[care.Order](t, mgr, "POST", "/api/v1/care/orders/"+o.ID+"/accept", nil, 200)
	apptest.JSON[care.Order](t, mgr, "POST", "/api/v1/care/orders/"+o.ID+"/assign", care.AssignInput{StaffID: w.wang.ID}, 200)
	lon, lat := 120.141, 30.261
	return apptest.JSON[care.Order](t, staff, "POST", "/api/v1/care/orders/"+o.ID+"/check-in", care.CheckInput{Lon: &lon, Lat: &lat}, 200)
}
