package care_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/care"
	"linli/internal/db"
	"linli/internal/registry"
)

// communityCanteen registers w's canteen facility as run by community A
// itself, with October's and November's menus kept by its worker.
func communityCanteen(t *testing.T, w *canteenTown) {
	t.Helper()
	w.c = apptest.JSON[care.Canteen](t, w.cw, "POST", "/api/v1/care/canteens", care.CanteenInput{FacilityID: w.facility}, 201)
	for _, wk := range [][2]string{{"2026-10-26", "2026-10-28"}, {"2026-11-23", "2026-11-25"}} {
		apptest.JSON[[]care.MenuSitting](t, w.cw, "PUT", "/api/v1/care/canteens/"+w.c.ID+"/menu", care.MenuInput{Week: wk[0], Sittings: []care.MenuSitting{
			{Date: wk[1], Sitting: care.SittingLunch, Dishes: []string{"番茄炒蛋", "米饭"}, PriceFen: 1500}}}, 200)
	}
}

func TestCommunityCanteenSettlement(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newCanteenTown(t, e)
		communityCanteen(t, w)
		town := e.Login("officer.town")
		var st care.Settlement
		t.Run("the community's worker records October's meals; a diner ticked 未就餐 records nothing", func(t *testing.T) {
			w.elderE = apptest.JSON[care.Enrolment](t, w.cw, "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID, ResidentID: w.elder}, 201)
			w.dibaoE = apptest.JSON[care.Enrolment](t, w.cw, "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID, ResidentID: w.dibao}, 201)
			apptest.JSON[care.Enrolment](t, w.cw, "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID, ResidentID: w.bed}, 201)
			res := apptest.JSON[care.MealResult](t, w.cw, "POST", "/api/v1/care/canteens/"+w.c.ID+"/sittings", care.SittingInput{Date: "2026-10-28", Sitting: care.SittingLunch,
				Served: []care.Tick{{EnrolmentID: w.elderE.ID}, {EnrolmentID: w.dibaoE.ID}}}, 200)
			if res.Added != 2 || res.SubsidyFen != 900 {
				t.Fatalf("%+v", res)
			}
			apptest.JSON[care.MealResult](t, w.cw, "POST", "/api/v1/care/canteens/"+w.c.ID+"/sittings", care.SittingInput{Date: "2026-11-25", Sitting: care.SittingLunch,
				Served: []care.Tick{{EnrolmentID: w.elderE.ID}}}, 200)
		})
		t.Run("only the community's workers or a county officer draft it, for a month that has ended", func(t *testing.T) {
			for _, u := range []string{"cw.b", "prov.mgr", "officer.town"} {
				if code, body := e.Login(u).Do("POST", "/api/v1/care/settlements", care.SettlementInput{CanteenID: w.c.ID, Month: "2026-10"}); code != 403 {
					t.Errorf("%s: %d %s", u, code, body)
				}
			}
			if code, body := w.cw.Do("POST", "/api/v1/care/settlements", care.SettlementInput{CanteenID: w.c.ID, Month: "2026-11"}); code != 400 || !contains(body, `"month"`) {
				t.Fatalf("November has not ended: %d %s", code, body)
			}
			if code, body := w.cw.Do("POST", "/api/v1/care/settlements", care.SettlementInput{CanteenID: w.c.ID, ProviderID: w.p.ID, Month: "2026-10"}); code != 400 || !contains(body, "canteen_id") {
				t.Fatalf("two payees: %d %s", code, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_settlements`); n != 0 {
				t.Fatalf("refused drafts wrote %d settlements", n)
			}
		})
		t.Run("the settlement's totals are the sum of the month's meals, and only those", func(t *testing.T) {
			st = apptest.JSON[care.Settlement](t, w.cw, "POST", "/api/v1/care/settlements", care.SettlementInput{CanteenID: w.c.ID, Month: "2026-10"}, 201)
			var meals int
			var amount, subsidy int64
			if err := e.App.DB.R.QueryRow(`SELECT COUNT(*), SUM(amount_fen), SUM(subsidy_fen) FROM care_meals WHERE canteen_id = $1 AND month = '2026-10'`, w.c.ID).Scan(&meals, &amount, &subsidy); err != nil {
				t.Fatal(err)
			}
			if st.Meals != meals || st.SubsidyFen != subsidy || st.AmountFen != amount || st.SubsidyFen != 900 || st.CopayFen != amount-subsidy {
				t.Fatalf("%+v, the month's meals: %d %d %d", st, meals, amount, subsidy)
			}
			if st.ProviderID != "" || st.CanteenID != w.c.ID || st.Community != communityA || st.Services != 0 {
				t.Fatalf("the payee is the community: %+v", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_meals WHERE settlement_id = $1`, st.ID); n != 2 {
				t.Fatalf("%d meals settled", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_meals WHERE month = '2026-11' AND settlement_id <> ''`); n != 0 {
				t.Fatalf("November's meal joined October's settlement")
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_meals WHERE resident_id = $1`, w.bed); n != 0 {
				t.Fatalf("a diner not served was settled")
			}
		})
		t.Run("a second settlement of the canteen's month is 409", func(t *testing.T) {
			if code, body := w.officer.Do("POST", "/api/v1/care/settlements", care.SettlementInput{CanteenID: w.c.ID, Month: "2026-10"}); code != 409 {
				t.Fatalf("%d %s", code, body)
			}
			if code, body := w.cw.Do("POST", "/api/v1/care/canteens/"+w.c.ID+"/sittings", care.SittingInput{Date: "2026-10-28", Sitting: care.SittingLunch,
				Served: []care.Tick{{EnrolmentID: w.elderE.ID}}}); code != 400 || !contains(body, "date") {
				t.Fatalf("a settled month takes no more meals: %d %s", code, body)
			}
		})
		t.Run("the table itself takes a settlement naming exactly one payee", func(t *testing.T) {
			insert := func(provider, canteen string) error {
				_, err := e.App.DB.W.Exec(`INSERT INTO care_settlements (id, provider_id, canteen_id, county, month, status, services, meals, amount_fen, subsidy_fen, copay_fen, open_disputes,
					checked_by, approved_by, paid_by, paid_ref, statement, sha256, created_by, created_at, updated_at)
					VALUES ('x', $1, $2, '330106', '2026-09', 'draft', 0, 0, 0, 0, 0, 0, '', '', '', '', '', '', '', $3, $3)`, provider, canteen, db.T(st.CreatedAt))
				return err
			}
			for _, payee := range [][2]string{{"", ""}, {w.p.ID, w.c.ID}} {
				if err := insert(payee[0], payee[1]); err == nil || !strings.Contains(strings.ToLower(err.Error()), "check") {
					t.Errorf("payee %q: %v", payee, err)
				}
			}
			if err := insert("", w.c.ID); err != nil {
				t.Fatalf("one payee: %v", err)
			}
			if _, err := e.App.DB.W.Exec(`DELETE FROM care_settlements WHERE id = 'x'`); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a worker outside the community cannot check it, nor can the payee community", func(t *testing.T) {
			if code, body := e.Login("cw.b").Do("POST", "/api/v1/care/settlements/"+st.ID+"/check", nil); code != 404 {
				t.Errorf("another community: %d %s", code, body)
			}
			if code, body := w.cw.Do("POST", "/api/v1/care/settlements/"+st.ID+"/check", nil); code != 403 {
				t.Errorf("the payee: %d %s", code, body)
			}
			if code, body := w.officer.Do("POST", "/api/v1/care/settlements/"+st.ID+"/approve", nil); code != 409 {
				t.Errorf("approved before the check: %d %s", code, body)
			}
			if got := apptest.JSON[care.Settlement](t, w.officer, "GET", "/api/v1/care/settlements/"+st.ID, nil, 200); got.Status != care.SettleDraft {
				t.Fatalf("%s", got.Status)
			}
		})
		t.Run("the township checks, the county approves with the statement's hash, then pays", func(t *testing.T) {
			if _, body, _ := town.Get("/care/settlements/" + st.ID); !strings.Contains(body, `id="check"`) || !strings.Contains(body, `id="payee"`) {
				t.Fatalf("the township's page offers the check")
			}
			if code, _, _ := town.Form("/care/settlements/"+st.ID+"/check", nil, nil); code != http.StatusSeeOther {
				t.Fatalf("check: %d", code)
			}
			approved := apptest.JSON[care.Settlement](t, w.officer, "POST", "/api/v1/care/settlements/"+st.ID+"/approve", nil, 200)
			code, file, _ := w.officer.Get("/care/settlements/" + st.ID + "/statement.xlsx")
			sum := sha256.Sum256([]byte(file))
			if code != 200 || approved.SHA256 == "" || hex.EncodeToString(sum[:]) != approved.SHA256 {
				t.Fatalf("statement: %d %s", code, approved.SHA256)
			}
			paid := apptest.JSON[care.Settlement](t, w.officer, "POST", "/api/v1/care/settlements/"+st.ID+"/pay", care.PayInput{Reference: "GK-2026-1101"}, 200)
			if paid.Status != care.SettlePaid || paid.CheckedBy != "officer.town" {
				t.Fatalf("%+v", paid)
			}
		})
		t.Run("a provider-run canteen settles with its provider, not by itself", func(t *testing.T) {
			f, err := w.reg.CreateFacility(w.town.cw, registry.FacilityInput{Division: communityA, Code: "A-CANTEEN-2", Name: "上保社区助餐点（二）", Category: "elderly_canteen",
				Address: "上保社区 3 号", Lon: 120.141, Lat: 30.261, FloorArea: 80, Status: "open"})
			if err != nil {
				t.Fatal(err)
			}
			run := apptest.JSON[care.Canteen](t, w.cw, "POST", "/api/v1/care/canteens", care.CanteenInput{FacilityID: f.ID, ProviderID: w.p.ID}, 201)
			if code, body := w.officer.Do("POST", "/api/v1/care/settlements", care.SettlementInput{CanteenID: run.ID, Month: "2026-10"}); code != 400 || !contains(body, "canteen_id") {
				t.Fatalf("%d %s", code, body)
			}
			// The provider's own month still settles beside the canteen's.
			apptest.JSON[care.Settlement](t, w.officer, "POST", "/api/v1/care/settlements", care.SettlementInput{ProviderID: w.p.ID, Month: "2026-10"}, 201)
		})
		t.Run("the settlements page drafts a canteen's month from a picker", func(t *testing.T) {
			code, body, _ := w.cw.Get("/care/settlements")
			if code != 200 || !strings.Contains(body, `name="canteen_id"`) || !strings.Contains(body, st.ID) {
				t.Fatalf("%d", code)
			}
			if code, body, _ := w.cw.Form("/care/settlements", map[string]string{"canteen_id": w.c.ID, "month": "2026-13"}, nil); code != 400 || !strings.Contains(body, `href="#f-month"`) {
				t.Fatalf("a bad month: %d", code)
			}
			if code, body, _ := w.cw.Get("/care/canteens/" + w.c.ID); code != 200 || !strings.Contains(body, `id="canteen-settlements"`) {
				t.Fatalf("the canteen links to its settlements: %d %s", code, body)
			}
		})
	})
}

func TestCanteenCommunitiesChange(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newCanteenTown(t, e)
		communityCanteen(t, w)
		path := "/api/v1/care/canteens/" + w.c.ID + "/communities"
		t.Run("bad input names the field and changes nothing", func(t *testing.T) {
			for _, in := range []care.CanteenAreasInput{{}, {Communities: []string{" "}}, {Communities: []string{communityA, "330102001001"}}, {Communities: []string{"3301060"}}} {
				if code, body := w.cw.Do("PUT", path, in); code != 400 || !contains(body, "communities") {
					t.Fatalf("%v: %d %s", in.Communities, code, body)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_canteen_areas WHERE canteen_id = $1`, w.c.ID); n != 1 {
				t.Fatalf("%d communities", n)
			}
		})
		t.Run("only the canteen's community, township or manager change it", func(t *testing.T) {
			for _, u := range []string{"cw.b", "prov.mgr", "res.old"} {
				if code, body := e.Login(u).Do("PUT", path, care.CanteenAreasInput{Communities: []string{communityA, communityB}}); code != 403 && code != 404 {
					t.Errorf("%s: %d %s", u, code, body)
				}
			}
		})
		t.Run("the township adds a community; its elders may then enrol", func(t *testing.T) {
			res := apptest.JSON[care.CanteenAreasResult](t, e.Login("officer.town"), "PUT", path, care.CanteenAreasInput{Communities: []string{communityA, communityB}}, 200)
			if len(res.Added) != 1 || res.Added[0] != communityB || len(res.Canteen.Communities) != 2 {
				t.Fatalf("%+v", res)
			}
			apptest.JSON[care.Enrolment](t, e.Login("res.b"), "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID}, 201)
			apptest.JSON[care.Enrolment](t, w.cw, "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID, ResidentID: w.elder}, 201)
		})
		t.Run("removing a community with diners asks to confirm, saying how many, then ends their enrolments", func(t *testing.T) {
			code, body := w.cw.Do("PUT", path, care.CanteenAreasInput{Communities: []string{communityA}})
			if code != 409 || !contains(body, "1 位") {
				t.Fatalf("%d %s", code, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_canteen_areas WHERE canteen_id = $1`, w.c.ID); n != 2 {
				t.Fatalf("unconfirmed, yet %d communities", n)
			}
			res := apptest.JSON[care.CanteenAreasResult](t, w.cw, "PUT", path, care.CanteenAreasInput{Communities: []string{communityA}, Confirm: true}, 200)
			if res.Ended != 1 || len(res.Removed) != 1 || res.Removed[0] != communityB {
				t.Fatalf("%+v", res)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_meal_enrolments WHERE canteen_id = $1 AND active`, w.c.ID); n != 1 {
				t.Fatalf("%d active enrolments, want the elder's of A only", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'care.canteen.communities'`); n != 2 {
				t.Fatalf("%d audit entries", n)
			}
		})
		t.Run("the page picks communities, asks to confirm and saves", func(t *testing.T) {
			page := "/care/canteens/" + w.c.ID + "/communities"
			code, body, _ := w.cw.Get(page)
			if code != 200 || !strings.Contains(body, `id="cm-`+communityA+`" checked`) || !strings.Contains(body, `value="`+communityB+`"`) {
				t.Fatalf("%d", code)
			}
			send := func(vals url.Values) (int, string) {
				req := w.cw.NewRequest("POST", page, strings.NewReader(vals.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				code, body, _ := w.cw.Send(req)
				return code, body
			}
			if code, body := send(url.Values{}); code != 400 || !strings.Contains(body, `href="#f-communities"`) {
				t.Fatalf("nothing chosen: %d", code)
			}
			if code, _ := send(url.Values{"communities": {communityA}, "add": {communityB}}); code != http.StatusSeeOther {
				t.Fatalf("add: %d", code)
			}
			apptest.JSON[care.Enrolment](t, e.Login("res.b"), "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID}, 201)
			code, body = send(url.Values{"communities": {communityA}})
			if code != 200 || !strings.Contains(body, `id="stranded">1<`) || e.Count(`SELECT COUNT(*) FROM care_canteen_areas WHERE canteen_id = $1`, w.c.ID) != 2 {
				t.Fatalf("confirm: %d", code)
			}
			if code, _ := send(url.Values{"communities": {communityA}, "confirm": {"1"}}); code != http.StatusSeeOther {
				t.Fatalf("confirmed: %d", code)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_canteen_areas WHERE canteen_id = $1`, w.c.ID); n != 1 {
				t.Fatalf("%d communities", n)
			}
			if _, body, _ := w.cw.Get("/care/canteens/" + w.c.ID); !strings.Contains(body, `id="edit-communities"`) {
				t.Fatalf("the canteen page links to the change")
			}
		})
	})
}
