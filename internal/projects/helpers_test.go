package projects_test

import (
	"context"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/care"
	"linli/internal/projects"
	"linli/internal/registry"
	"linli/internal/web"
)

const (
	communityA = apptest.CommunityA // 北山街道 上保社区
	communityB = apptest.CommunityB // 西溪街道 石灰桥社区
	townA      = "330106002"        // 北山街道
	townB      = "330106004"        // 西溪街道
	county     = apptest.County
)

var sameOrigin = map[string]string{"Sec-Fetch-Site": "same-origin"}

func as(user string, role access.Role, division string) context.Context {
	return access.With(context.Background(), &access.Principal{Username: user, Role: role, Division: division})
}

// fixture: officers of the county (off.county), of township A (off.a)
// and of township B (off.b); the organisation 北山社工服务社 rated 4A run by
// the account prov.good (prov.staff works there, not its manager),
// 西溪邻里互助会 rated 2A run by prov.low, and an unlinked provider account
// prov.none. Care links the accounts to the
// organisations (a provider with a contract and its manager).
func fixture(t *testing.T, e *apptest.Env) {
	t.Helper()
	e.User("off.county", access.Officer, county)
	e.User("off.a", access.Officer, townA)
	e.User("off.b", access.Officer, townB)
	e.User("prov.good", access.Provider, townA)
	e.User("prov.low", access.Provider, townB)
	e.User("prov.none", access.Provider, townA)
	e.User("prov.staff", access.Provider, townA)
	good := link(t, e, communityA, "北山社工服务社", "52330106MJ0000001X", "4A", "prov.good")
	if _, err := care.StoreOf(e.App.Module("care")).AddStaff(as("off.county", access.Officer, county), good, care.StaffInput{Username: "prov.staff"}); err != nil {
		t.Fatal(err)
	}
	link(t, e, communityB, "西溪邻里互助会", "52330106MJ0000002X", "2A", "prov.low")
}

// link registers a social organisation with its rating and makes user the
// manager of its care provider (a contract serving its community); it
// answers the provider's id.
func link(t *testing.T, e *apptest.Env, div, name, regNo, rating, user string) string {
	t.Helper()
	reg := registry.StoreOf(e.App.Module("registry"))
	cs := care.StoreOf(e.App.Module("care"))
	off := as("off.county", access.Officer, county)
	item, err := cs.CreateItem(off, care.ItemInput{County: county, Code: "visit-" + user, NameZH: "探访", NameEN: "Visit", Unit: care.UnitVisit, MaxMinutes: 60, PriceFen: 3000})
	if err != nil {
		t.Fatal(err)
	}
	org, err := reg.CreateOrganization(off, registry.OrganizationInput{Division: div, Kind: "social_org", Name: name, RegNo: regNo, Rating: rating})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := cs.CreateProvider(off, care.ProviderInput{OrgID: org.ID, County: county, ContractNo: "P-" + user, ContractFrom: "2026-01-01", ContractTo: "2027-12-31",
		Communities: []string{div}, Items: []string{item.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AddStaff(off, pr.ID, care.StaffInput{Username: user, Manager: true}); err != nil {
		t.Fatal(err)
	}
	return pr.ID
}

// project is a valid project of community A: ¥200,000, applications
// until 2026-12-10, minimum rating 3A.
func project() projects.ProjectInput {
	return projects.ProjectInput{Division: communityA, Title: "独居老人关爱探访", Need: "独居老人缺少日常关照", BudgetFen: 200_000_00,
		PeriodFrom: "2027-01-01", PeriodTo: "2027-12-31", Targets: []string{"入户探访 200 次", "小组活动 50 场", "满意度 ≥ 90%"}, MinRating: "3A", Deadline: "2026-12-10",
		Criteria: []projects.Criterion{{Name: "服务方案", Weight: 40}, {Name: "机构能力", Weight: 30}, {Name: "预算合理性", Weight: 30}}}
}

func fields(p web.Problem) []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}
