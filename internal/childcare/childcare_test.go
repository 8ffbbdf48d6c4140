package childcare_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/childcare"
	"linli/internal/registry"
	"linli/internal/registry/idno"
	"linli/internal/web"
)

const (
	communityA = apptest.CommunityA
	county     = apptest.County
)

func as(user string, role access.Role, division string) context.Context {
	return access.With(context.Background(), &access.Principal{Username: user, Role: role, Division: division})
}

// family adds a household of community A: a parent linked to account
// username (when not empty) and a child born on birth.
func family(t *testing.T, reg *registry.Store, no int, username string, birth time.Time, tag string) (child string) {
	t.Helper()
	cw := as("cw.a", access.CommunityWorker, communityA)
	h, err := reg.CreateHousehold(cw, registry.HouseholdInput{Division: communityA, HouseholdNo: fmt.Sprintf("C%d", no), Address: fmt.Sprintf("上保社区 %d 幢", no)})
	if err != nil {
		t.Fatal(err)
	}
	parent, err := reg.CreateResident(cw, registry.ResidentInput{HouseholdID: h.ID, Name: "家长" + string(rune('甲'+no)), Relation: "户主", Residence: "registered",
		IDNumber: idno.Synthetic("330106", time.Date(1992, 3, 14, 0, 0, 0, 0, time.UTC), 200+no), Username: username})
	if err != nil {
		t.Fatal(err)
	}
	if tag != "" {
		if _, err := reg.AddTag(cw, parent.ID, registry.TagInput{Tag: tag, Since: "2025-01-01"}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := reg.CreateResident(cw, registry.ResidentInput{HouseholdID: h.ID, Name: "孩子" + string(rune('甲'+no)), Relation: "子女", Residence: "registered",
		IDNumber: idno.Synthetic("330106", birth, 300+no)})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

type indRow struct {
	ID  string   `json:"id"`
	Num *float64 `json:"numerator"`
}

func i16(t *testing.T, c *apptest.Client) float64 {
	t.Helper()
	rows := apptest.JSON[[]indRow](t, c, "GET", "/api/v1/indicators?division="+county+"&period=2026", nil, 200)
	for _, r := range rows {
		if r.ID == "I16" && r.Num != nil {
			return *r.Num
		}
	}
	return -1
}

// A setting of community A takes toddlers (2 places) and older toddlers
// (1) but no infants; the test clock stands on 2026-11-29.
func TestChildcareLoop(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("cw.a", access.CommunityWorker, communityA)
		e.User("off.county", access.Officer, county)
		e.User("res.a", access.Resident, communityA)
		e.User("res.b", access.Resident, communityA)
		reg := registry.StoreOf(e.App.Module("registry"))
		infant := family(t, reg, 1, "", time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), "")
		toddler := family(t, reg, 2, "res.a", time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), "")
		poor := family(t, reg, 3, "res.b", time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), "dibao")
		third := family(t, reg, 4, "", time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), "")
		cw, off, resA := e.Login("cw.a"), e.Login("off.county"), e.Login("res.a")

		before := i16(t, off)
		st := apptest.JSON[childcare.Setting](t, cw, "POST", "/api/v1/childcare/settings", childcare.SettingInput{Division: communityA, Kind: "community", Name: "上保托育点",
			Places: map[string]int{"toddler": 2, "older": 1}}, 201)
		t.Run("a setting without a filing adds nothing to I16", func(t *testing.T) {
			if got := i16(t, off); got != before {
				t.Errorf("I16 numerator %v, want %v", got, before)
			}
		})
		apptest.JSON[childcare.Setting](t, cw, "POST", "/api/v1/childcare/settings/"+st.ID+"/filings", childcare.FilingInput{Applicant: "上保社区居委会", Premises: "一楼 120 平方米",
			Carers: 2, FiledOn: "2026-01-05", ValidUntil: "2026-12-15"}, 201)
		t.Run("a filing ending before it starts is refused naming valid_until", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, cw, "POST", "/api/v1/childcare/settings/"+st.ID+"/filings", childcare.FilingInput{Applicant: "x", Premises: "y", Carers: 1,
				FiledOn: "2026-05-01", ValidUntil: "2026-04-01"}, 400)
			if len(p.Errors) != 1 || p.Errors[0].Field != "valid_until" {
				t.Errorf("errors %+v", p.Errors)
			}
		})
		t.Run("its filed places count in I16", func(t *testing.T) {
			if got := i16(t, off); got != before+3 {
				t.Errorf("I16 numerator %v, want %v", got, before+3)
			}
		})
		t.Run("an application for an age the setting does not take is refused and nothing written", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, cw, "POST", "/api/v1/childcare/applications", childcare.ApplyInput{SettingID: st.ID, ChildID: infant}, 400)
			if len(p.Errors) != 1 || p.Errors[0].Field != "child_id" || !strings.Contains(p.Errors[0].Message, "8 个月") {
				t.Errorf("errors %+v", p.Errors)
			}
			if n := e.Count(`SELECT COUNT(*) FROM cc_applications`); n != 0 {
				t.Errorf("%d applications written", n)
			}
		})
		t.Run("a resident cannot apply for another household's child", func(t *testing.T) {
			resA.Do("POST", "/api/v1/childcare/applications", childcare.ApplyInput{SettingID: st.ID, ChildID: poor})
			if st, _ := resA.Do("POST", "/api/v1/childcare/applications", childcare.ApplyInput{SettingID: st.ID, ChildID: poor}); st != http.StatusForbidden {
				t.Errorf("status %d, want 403", st)
			}
		})
		a1 := apptest.JSON[childcare.Application](t, resA, "POST", "/api/v1/childcare/applications", childcare.ApplyInput{SettingID: st.ID, ChildID: toddler}, 201)
		a2 := apptest.JSON[childcare.Application](t, e.Login("res.b"), "POST", "/api/v1/childcare/applications", childcare.ApplyInput{SettingID: st.ID, ChildID: poor}, 201)
		a3 := apptest.JSON[childcare.Application](t, cw, "POST", "/api/v1/childcare/applications", childcare.ApplyInput{SettingID: st.ID, ChildID: third}, 201)
		t.Run("the waiting list follows the priority rules: 低保 30 + local 10 before local 10, then the earlier", func(t *testing.T) {
			if a1.Priority != 10 || a2.Priority != 40 || a1.Band != "toddler" {
				t.Errorf("priorities %d, %d; band %s", a1.Priority, a2.Priority, a1.Band)
			}
			q := apptest.JSON[[]childcare.Application](t, cw, "GET", "/api/v1/childcare/settings/"+st.ID+"/applications", nil, 200)
			var ids []string
			for _, a := range q {
				ids = append(ids, a.ID)
			}
			if strings.Join(ids, ",") != a2.ID+","+a1.ID+","+a3.ID {
				t.Errorf("queue %v, want %s,%s,%s", ids, a2.ID, a1.ID, a3.ID)
			}
		})
		t.Run("enrolling fills a band and a full band refuses with 409", func(t *testing.T) {
			apptest.JSON[childcare.Application](t, cw, "POST", "/api/v1/childcare/enrolments", childcare.EnrolInput{ApplicationID: a2.ID}, 201)
			apptest.JSON[childcare.Application](t, cw, "POST", "/api/v1/childcare/enrolments", childcare.EnrolInput{ApplicationID: a1.ID}, 201)
			apptest.JSON[web.Problem](t, cw, "POST", "/api/v1/childcare/enrolments", childcare.EnrolInput{ApplicationID: a3.ID}, 409)
			got := apptest.JSON[childcare.Setting](t, cw, "GET", "/api/v1/childcare/settings/"+st.ID, nil, 200)
			if got.Enrolled != 2 || got.Waiting != 1 {
				t.Errorf("enrolled %d waiting %d", got.Enrolled, got.Waiting)
			}
		})
		t.Run("a child leaves and the place is free again", func(t *testing.T) {
			left := apptest.JSON[childcare.Application](t, cw, "POST", "/api/v1/childcare/enrolments/"+a1.ID+"/leave", nil, 200)
			if left.Status != childcare.Left {
				t.Errorf("status %s", left.Status)
			}
			apptest.JSON[childcare.Application](t, cw, "POST", "/api/v1/childcare/enrolments", childcare.EnrolInput{ApplicationID: a3.ID}, 201)
		})
		t.Run("a resident lists only their household's applications, a worker their community's", func(t *testing.T) {
			own := apptest.JSON[childcare.AppPage](t, resA, "GET", "/api/v1/childcare/applications", nil, 200)
			if len(own.Items) != 1 || own.Items[0].ID != a1.ID {
				t.Errorf("resident lists %+v", own.Items)
			}
			all := apptest.JSON[childcare.AppPage](t, cw, "GET", "/api/v1/childcare/applications?page_size=2", nil, 200)
			if all.Total != 3 || len(all.Items) != 2 || all.Next == "" {
				t.Fatalf("worker lists %d of %d, next %q", len(all.Items), all.Total, all.Next)
			}
			rest := apptest.JSON[childcare.AppPage](t, cw, "GET", "/api/v1/childcare/applications?page_size=2&cursor="+url.QueryEscape(all.Next), nil, 200)
			if len(rest.Items) != 1 || rest.Next != "" {
				t.Errorf("second page %+v", rest)
			}
		})
		t.Run("the family sees the application in 我的", func(t *testing.T) {
			_, body, _ := resA.Get("/me")
			if !strings.Contains(body, "上保托育点") {
				t.Error("我的 does not show the application")
			}
		})
		t.Run("the township shows covered", func(t *testing.T) {
			cov := apptest.JSON[[]childcare.Coverage](t, off, "GET", "/api/v1/childcare", nil, 200)
			covered := 0
			for _, c := range cov {
				if c.Code == communityA[:9] && c.Filed == 1 && c.Places == 3 {
					covered++
				} else if c.Filed != 0 {
					t.Errorf("%s filed %d", c.Code, c.Filed)
				}
			}
			if covered != 1 {
				t.Errorf("coverage %+v", cov)
			}
		})
		t.Run("a filing that expires takes its places out of I16", func(t *testing.T) {
			e.Clock.Set(time.Date(2026, 12, 20, 2, 0, 0, 0, time.UTC))
			off, cw, resA = e.Login("off.county"), e.Login("cw.a"), e.Login("res.a") // the sessions ran out
			if got := i16(t, off); got != before {
				t.Errorf("I16 numerator %v, want %v", got, before)
			}
			cov := apptest.JSON[[]childcare.Coverage](t, off, "GET", "/api/v1/childcare", nil, 200)
			for _, c := range cov {
				if c.Filed != 0 {
					t.Errorf("%s still filed", c.Code)
				}
			}
		})
		t.Run("the pages answer", func(t *testing.T) {
			for _, path := range []string{"/childcare", "/childcare/coverage", "/childcare/settings/" + st.ID, "/childcare?q=上保", "/childcare?kind=family"} {
				if code, body, _ := cw.Get(path); code != 200 {
					t.Errorf("%s: %d %s", path, code, body[:min(200, len(body))])
				}
			}
			if code, _, _ := resA.Get("/childcare/apply"); code != 200 {
				t.Errorf("apply page %d", code)
			}
		})
	})
}
