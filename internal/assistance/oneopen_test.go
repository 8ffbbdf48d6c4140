package assistance_test

import (
	"strings"
	"sync"
	"testing"

	"linli/internal/apptest"
	"linli/internal/assistance"
)

// A household has one open application at a time: a second is refused
// with a 409 naming the open one, also when both arrive at once, and also
// when an appeal would reopen a refusal beside a newer application.
func TestOneOpenApplicationPerHousehold(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		cw, off := e.Login("cw.a"), e.Login("off.county")
		apply := func(hh string) assistance.ApplyInput {
			return assistance.ApplyInput{HouseholdID: hh, IncomeFen: fen(50000), AssetsFen: fen(0), Programmes: []string{"dibao"}, Consent: true}
		}
		count := func(hh string) int {
			return e.Count(`SELECT COUNT(*) FROM ast_applications WHERE household_id = $1`, hh)
		}
		hh, _ := w.household(t, "", 1970)
		var first assistance.Application
		t.Run("a second application while the first is open is a 409 naming the first, and nothing is written", func(t *testing.T) {
			first = apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications", apply(hh), 201)
			audits := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'assistance.apply'`)
			st, body := cw.Do("POST", "/api/v1/assistance/applications", apply(hh))
			if st != 409 || !strings.Contains(body, first.ID) || !strings.Contains(body, "已有一份办理中的救助申请") || !strings.Contains(body, "open application") || !strings.Contains(body, "已提交") {
				t.Fatalf("second application: %d %s", st, body)
			}
			if n := count(hh); n != 1 {
				t.Fatalf("%d applications for the household", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'assistance.apply'`); n != audits {
				t.Fatalf("apply audits %d → %d", audits, n)
			}
		})
		t.Run("the apply page answers the same refusal in words, with status 409", func(t *testing.T) {
			st, page, _ := cw.Form("/assistance/apply", map[string]string{"household_id": hh, "programme": "dibao", "income": "500", "assets": "0", "consent": "yes"}, nil)
			if st != 409 || !strings.Contains(page, first.ID) {
				t.Fatalf("page: %d", st)
			}
		})
		t.Run("once refused the household may apply again; the refusal's appeal is then a 409 naming the new one", func(t *testing.T) {
			apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications/"+first.ID+"/accept", assistance.Input{}, 200)
			r := apptest.JSON[assistance.Application](t, off, "POST", "/api/v1/assistance/applications/"+first.ID+"/refuse", assistance.Input{Reason: "收入超过标准"}, 200)
			if r.Status != assistance.Refused {
				t.Fatalf("refused: %+v", r)
			}
			second := apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications", apply(hh), 201)
			st, body := cw.Do("POST", "/api/v1/assistance/applications/"+first.ID+"/appeal", assistance.Input{Reason: "不服"})
			if st != 409 || !strings.Contains(body, second.ID) {
				t.Fatalf("appeal beside an open application: %d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_applications WHERE id = $1 AND status = 'refused'`, first.ID); n != 1 {
				t.Fatal("the refused application changed")
			}
		})
		t.Run("eight applications for one household at once: one is written, seven are 409", func(t *testing.T) {
			other, _ := w.household(t, "", 1965)
			clients := make([]*apptest.Client, 8)
			for i := range clients {
				clients[i] = e.Login("cw.a")
			}
			codes := make([]int, len(clients))
			var wg sync.WaitGroup
			for i, c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i], _ = c.Do("POST", "/api/v1/assistance/applications", apply(other))
				}()
			}
			wg.Wait()
			won := 0
			for _, c := range codes {
				switch c {
				case 201:
					won++
				case 409:
				default:
					t.Fatalf("answers %v", codes)
				}
			}
			if n := count(other); won != 1 || n != 1 {
				t.Fatalf("answers %v, %d applications written", codes, n)
			}
		})
		t.Run("the store itself refuses a second open row: the index, not the read before it", func(t *testing.T) {
			_, err := e.App.DB.W.Exec(`INSERT INTO ast_applications (id, division_code, county, household_id, year, status, applicant, on_behalf,
				facts_enc, results_enc, asked, plausible, version, created_at, updated_at)
				SELECT 'zz-dup', division_code, county, household_id, year, 'checking', applicant, on_behalf, facts_enc, results_enc, asked, plausible, 1, created_at, updated_at
				FROM ast_applications WHERE household_id = $1 AND status = 'submitted'`, hh)
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), "unique") {
				t.Fatalf("a second open row was written: %v", err)
			}
			// A closed one beside it is allowed (an exited household's history).
			if _, err := e.App.DB.W.Exec(`INSERT INTO ast_applications (id, division_code, county, household_id, year, status, applicant, on_behalf,
				facts_enc, results_enc, asked, plausible, version, created_at, updated_at)
				SELECT 'zz-old', division_code, county, household_id, year, 'exited', applicant, on_behalf, facts_enc, results_enc, asked, plausible, 1, created_at, updated_at
				FROM ast_applications WHERE household_id = $1 AND status = 'submitted'`, hh); err != nil {
				t.Fatalf("a closed row beside the open one: %v", err)
			}
		})
	})
}
