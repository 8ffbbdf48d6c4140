package registry_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/registry"
)

// bindDetail is the detail of a binding's audit entry.
type bindDetail struct {
	Username string `json:"username"`
}

// bindings lists the audited bindings of a result, as (resident, username).
func bindings(t *testing.T, e *apptest.Env, result string) [][2]string {
	t.Helper()
	rows, err := e.App.DB.R.Query(`SELECT object_id, detail FROM audit_log WHERE action = 'registry.resident.bind' AND result = $1 ORDER BY seq`, result)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var id, detail string
		if err := rows.Scan(&id, &detail); err != nil {
			t.Fatal(err)
		}
		var d bindDetail
		if err := json.Unmarshal([]byte(detail), &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]string{id, d.Username})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOneAccountOnePerson: a resident account is linked to one registry
// record at most, of its own community; a second binding is refused, and
// every binding, granted or refused, is audited.
func TestOneAccountOnePerson(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := setup(t, e)
		e.User("zhang", access.Resident, communityA)
		e.User("resident.b", access.Resident, communityB)
		residents := func() int { return e.Count(`SELECT COUNT(*) FROM reg_residents`) }
		newResident := func(id, user string) map[string]any {
			return map[string]any{"household_id": w.hh, "name": "李四", "id_number": id, "relation": "配偶", "username": user}
		}

		t.Run("a record is bound to a resident account of its community, and the binding audited", func(t *testing.T) {
			r := apptest.JSON[registry.Resident](t, w.wa, "PUT", "/api/v1/residents/"+w.res, map[string]any{"name": "张晓梅", "relation": "户主", "residence": "户籍", "username": "zhang"}, 200)
			if r.Username != "zhang" {
				t.Fatalf("bound %+v", r)
			}
			if got := bindings(t, e, "ok"); len(got) != 1 || got[0] != [2]string{w.res, "zhang"} {
				t.Fatalf("audited bindings %v", got)
			}
		})
		t.Run("a second record cannot take the account, on create or update", func(t *testing.T) {
			p := refusal(t, w.wa, "POST", "/api/v1/residents", newResident(id2, "zhang"), 409)
			wantFields(t, p, "username")
			if p.Detail != "该账号已关联另一位居民的登记记录，一个账号只能对应一人" {
				t.Fatalf("detail %q", p.Detail)
			}
			if n := residents(); n != 1 {
				t.Fatalf("a refused binding wrote a record: %d residents", n)
			}
			other := apptest.JSON[registry.Resident](t, w.wa, "POST", "/api/v1/residents", newResident(id2, ""), 201)
			wantFields(t, refusal(t, w.wa, "PUT", "/api/v1/residents/"+other.ID, map[string]any{"name": "李四", "relation": "配偶", "username": "zhang"}, 409), "username")
			if got := apptest.JSON[registry.Resident](t, w.wa, "GET", "/api/v1/residents/"+other.ID, nil, 200); got.Username != "" {
				t.Fatalf("the refused update bound %q", got.Username)
			}
			if got := bindings(t, e, "denied"); len(got) != 2 || got[0][1] != "zhang" || got[1] != [2]string{other.ID, "zhang"} {
				t.Fatalf("audited refusals %v", got)
			}
		})
		t.Run("the account sees its own record and no other", func(t *testing.T) {
			me := apptest.JSON[registry.Resident](t, e.Login("zhang"), "GET", "/api/v1/me/registry", nil, 200)
			if me.ID != w.res || me.BirthDate != "1948-03-14" {
				t.Fatalf("own record %+v", me)
			}
		})
		t.Run("only a resident account of the record's community is bound", func(t *testing.T) {
			for _, user := range []string{"nobody", "worker.a", "resident.b"} {
				wantFields(t, refusal(t, w.wa, "POST", "/api/v1/residents", newResident(idFor(30), user), 400), "username")
			}
			if n := residents(); n != 2 {
				t.Fatalf("%d residents after refused bindings", n)
			}
		})
		t.Run("saving the record again keeps its binding without a new audit entry", func(t *testing.T) {
			apptest.JSON[registry.Resident](t, w.wa, "PUT", "/api/v1/residents/"+w.res, map[string]any{"name": "张晓梅", "relation": "户主", "username": "zhang"}, 200)
			if got := bindings(t, e, "ok"); len(got) != 1 {
				t.Fatalf("audited bindings %v", got)
			}
		})
		t.Run("two records bound to one account at once: one wins", func(t *testing.T) {
			e.User("wang", access.Resident, communityA)
			var wg sync.WaitGroup
			codes := make([]int, 4)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i], _ = w.wa.Do("POST", "/api/v1/residents", newResident(idFor(40+i), "wang"))
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
			if n := e.Count(`SELECT COUNT(*) FROM reg_residents WHERE username = 'wang'`); won != 1 || n != 1 {
				t.Fatalf("answers %v, %d records bound", codes, n)
			}
		})
	})
}

// TestSharedBindingsUndone: the migration that makes an account's link
// unique undoes every link shared by several records and keeps the others.
func TestSharedBindingsUndone(t *testing.T) {
	t.Parallel()
	var before []db.Migration
	var unique db.Migration
	for _, m := range registry.Migrations {
		if m.ID == "registry/008_one_account_one_person" {
			unique = m
			continue
		}
		before = append(before, m)
	}
	dbtest.Each(t, before, func(t *testing.T, d *db.DB) {
		now := db.T(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC))
		if _, err := d.W.Exec(`INSERT INTO reg_households (id, division_code, household_no, grid_id, address, note, created_at, updated_at) VALUES ('h1', $1, 'H1', NULL, 'x', '', $2, $2)`, communityA, now); err != nil {
			t.Fatal(err)
		}
		for i, user := range []string{"shared", "shared", "own", ""} {
			if _, err := d.W.Exec(`INSERT INTO reg_residents (id, division_code, household_id, name, gender, birth_date, relation, residence, id_enc, id_idx, id_mask,
				phone_enc, phone_idx, phone_mask, health_enc, disability_enc, income_enc, username, created_at, updated_at)
				VALUES ($1, $2, 'h1', '张', 'M', '1948-03-14', '户主', 'registered', 'enc', $1, 'mask', '', '', '', '', '', '', $3, $4, $4)`, fmt.Sprint("r", i), communityA, user, now); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.Migrate(t.Context(), append(before, unique)); err != nil {
			t.Fatal(err)
		}
		got, err := db.Collect(t.Context(), d.R, db.Value[string], `SELECT username FROM reg_residents ORDER BY id`)
		if err != nil || !reflect.DeepEqual(got, []string{"", "", "own", ""}) {
			t.Fatalf("links after the migration %q (%v)", got, err)
		}
		if _, err := d.W.Exec(`UPDATE reg_residents SET username = 'own' WHERE id = 'r0'`); !db.IsUniqueViolation(err) {
			t.Fatalf("a second link to one account: %v", err)
		}
	})
}
