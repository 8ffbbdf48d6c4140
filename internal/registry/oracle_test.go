package registry_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/registry"
	"linli/internal/web"
)

// communityC is a community of another county (上城区 清波门社区).
const communityC = "330102001051"

// refusedDetail is the detail of an audited refusal of an ID number.
type refusedDetail struct {
	Elsewhere bool   `json:"elsewhere"`
	Index     string `json:"id_number_index"`
	Rows      int    `json:"rows"`
}

// TestRegisteredElsewhereIsNoOracle: an ID number registered outside the
// caller's jurisdiction is refused in words that do not say it is
// registered — only what to do — each refusal is audited, and an account
// that collects refusals is held back for an hour whatever it tries next,
// so that no officer can test numbers for existence at will.
func TestRegisteredElsewhereIsNoOracle(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		e.User("worker.c", access.CommunityWorker, communityC)
		e.User("worker.c2", access.CommunityWorker, communityC)
		wc, wc2 := e.Login("worker.c"), e.Login("worker.c2")
		hhC := apptest.JSON[idOnly](t, wc, "POST", "/api/v1/households", map[string]any{"division": communityC, "household_no": "C-1", "address": "清波门 1 号"}, 201).ID
		// Eleven more people registered in community A, whom C cannot see.
		var file strings.Builder
		file.WriteString("区划代码,户编号,姓名,身份证号\n")
		for i := 1; i <= 11; i++ {
			fmt.Fprintf(&file, "%s,HH-001,居民%d,%s\n", communityA, i, idFor(i))
		}
		apptest.JSON[registry.Report](t, w.wa, "POST", "/api/v1/registry/import/residents?apply=true", file.String(), 200)
		person := func(hh, id string) map[string]any {
			return map[string]any{"household_id": hh, "name": "王五", "id_number": id, "relation": "其他"}
		}
		residents := func() int { return e.Count(`SELECT COUNT(*) FROM reg_residents`) }
		refused := func(t *testing.T) []refusedDetail {
			t.Helper()
			rows, err := e.App.DB.R.Query(`SELECT detail FROM audit_log WHERE action = 'registry.id_number.refused' AND result = 'denied' ORDER BY seq`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []refusedDetail
			for rows.Next() {
				var s string
				var d refusedDetail
				if err := rows.Scan(&s); err != nil || json.Unmarshal([]byte(s), &d) != nil {
					t.Fatalf("detail %q: %v", s, err)
				}
				out = append(out, d)
			}
			return out
		}

		var elsewhere web.Problem
		t.Run("a number registered in another county is refused in the words of any clash, which do not say so", func(t *testing.T) {
			elsewhere = refusal(t, wc, "POST", "/api/v1/residents", person(hhC, id1), 400)
			here := refusal(t, w.wa, "POST", "/api/v1/residents", person(w.hh, id1), 400)
			wantFields(t, elsewhere, "id_number")
			if elsewhere.Detail != here.Detail || messageOf(elsewhere, "id_number") != messageOf(here, "id_number") {
				t.Fatalf("the refusals differ: %q / %q", elsewhere.Detail, here.Detail)
			}
			if elsewhere.Detail != "该身份证号不能在此登记：此人如已在别处登记，须由原登记地办理迁出后在此迁入" ||
				messageOf(elsewhere, "id_number") != "不能在此登记；如此人已在别处登记，须办理迁出、迁入" {
				t.Fatalf("the refusal says %q / %q", elsewhere.Detail, messageOf(elsewhere, "id_number"))
			}
		})
		t.Run("each refusal is audited by the number's blind index, never the number", func(t *testing.T) {
			got := refused(t)
			if len(got) != 2 || !got[0].Elsewhere || got[1].Elsewhere || got[0].Index == "" || got[0].Index != got[1].Index {
				t.Fatalf("audited refusals %+v", got)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE detail LIKE $1`, "%"+id1+"%"); n != 0 {
				t.Fatalf("%d audit entries hold the number in clear", n)
			}
		})
		t.Run("refusals inside the jurisdiction hold no one back", func(t *testing.T) {
			for range 12 {
				refusal(t, w.wa, "POST", "/api/v1/residents", person(w.hh, id1), 400)
			}
		})
		t.Run("after ten refusals an account is held back, whatever it tries", func(t *testing.T) {
			for i := 1; i <= 9; i++ {
				refusal(t, wc, "POST", "/api/v1/residents", person(hhC, idFor(i)), 400)
			}
			before := residents()
			p := refusal(t, wc, "POST", "/api/v1/residents", person(hhC, idFor(50)), 429)
			if !strings.Contains(p.Detail, "稍后") {
				t.Fatalf("detail %q", p.Detail)
			}
			own := apptest.JSON[idOnly](t, wc2, "POST", "/api/v1/residents", person(hhC, idFor(51)), 201).ID
			refusal(t, wc, "PUT", "/api/v1/residents/"+own, map[string]any{"name": "王五", "relation": "其他", "id_number": idFor(52)}, 429)
			refusal(t, wc, "POST", "/api/v1/registry/import/residents?apply=true", "区划代码,户编号,姓名,身份证号\n"+communityC+",C-1,赵六,"+idFor(53)+"\n", 429)
			if n := residents(); n != before+1 {
				t.Fatalf("%d residents written while held back (want only the other account's)", n-before)
			}
			if n := len(refused(t)); n != 2+12+9 {
				t.Fatalf("%d refusals audited", n)
			}
		})
		t.Run("the hold lifts after the hour", func(t *testing.T) {
			e.Clock.Add(61 * time.Minute)
			wc = e.Login("worker.c") // the session has expired meanwhile
			apptest.JSON[idOnly](t, wc, "POST", "/api/v1/residents", person(hhC, idFor(54)), 201)
		})
		t.Run("an import lists a few such rows in the same words", func(t *testing.T) {
			f := "区划代码,户编号,姓名,身份证号\n" + communityC + ",C-1,甲," + idFor(1) + "\n" + communityC + ",C-1,乙," + idFor(2) + "\n"
			rep := apptest.JSON[struct{ Report registry.Report }](t, wc, "POST", "/api/v1/registry/import/residents?apply=true", f, 422).Report // inside the problem
			if len(rep.Errors) != 2 || rep.Errors[0].ZH != elsewhere.Detail || rep.Applied {
				t.Fatalf("report %+v", rep)
			}
			if got := refused(t); got[len(got)-1].Rows != 2 || !got[len(got)-1].Elsewhere {
				t.Fatalf("the import's refusals audited as %+v", got[len(got)-1])
			}
		})
		t.Run("an import with more such rows than are left is refused whole, naming none", func(t *testing.T) {
			var f strings.Builder
			f.WriteString("区划代码,户编号,姓名,身份证号\n")
			for i := 3; i <= 11; i++ {
				fmt.Fprintf(&f, "%s,C-1,某%d,%s\n", communityC, i, idFor(i))
			}
			before := residents()
			p := refusal(t, wc, "POST", "/api/v1/registry/import/residents?apply=true", f.String(), 429)
			if len(p.Errors) != 0 || residents() != before {
				t.Fatalf("a held-back import named %d rows or wrote %d", len(p.Errors), residents()-before)
			}
		})
		t.Run("the console's import, run by whoever holds the database, is not held back", func(t *testing.T) {
			var f strings.Builder
			f.WriteString("区划代码,户编号,姓名,身份证号\n")
			for i := 1; i <= 11; i++ {
				fmt.Fprintf(&f, "%s,C-1,某%d,%s\n", communityC, i, idFor(i))
			}
			console := access.With(t.Context(), &access.Principal{Username: "cli", Role: access.Officer, Division: communityC})
			for range 2 {
				rep, err := storeOf(e).Import(console, "residents", []byte(f.String()), true, nil)
				if err != nil || len(rep.Errors) != 11 || rep.Applied {
					t.Fatalf("console import: %d rows refused, %v", len(rep.Errors), err)
				}
			}
		})
	})
}
