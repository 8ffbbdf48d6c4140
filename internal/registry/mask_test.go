package registry_test

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/module"
	"linli/internal/registry"
	"linli/internal/registry/idno"
	"linli/internal/web"
)

// shown is what one view shows of a person: the masked ID number and
// whatever else narrows it (a birth date, or an age, and the gender).
type shown struct {
	mask, birth, gender string
	age                 int
}

// rebuild tries to rebuild an ID number from what a view shows, as an
// attacker who knows the region code in full would (the demo's is one
// code for everyone): every birth date the view allows, every hidden
// sequence digit of the right parity, and the GB 11643 check character.
// It answers the only candidate, or "" when there are none or several.
func rebuild(v shown, region string, at time.Time) string {
	v.mask = spread(v.mask)
	if len(v.mask) != 18 {
		return ""
	}
	var births []string
	switch {
	case v.birth != "":
		births = []string{strings.ReplaceAll(v.birth, "-", "")}
	default:
		// Everyone of that age on the day of the view: about 366 dates.
		for d := at.AddDate(-v.age-1, 0, 0); !d.After(at.AddDate(-v.age, 0, 0)); d = d.AddDate(0, 0, 1) {
			if idno.Age(d, at) == v.age {
				births = append(births, d.Format("20060102"))
			}
		}
	}
	found, n := "", 0
	for _, b := range births {
		prefix := region + b
		if !fits(v.mask[:14], prefix) {
			continue
		}
		for seq := 0; seq < 1000; seq++ {
			first17 := prefix + fmt.Sprintf("%03d", seq)
			if !fits(v.mask[:17], first17) || v.gender != "" && (seq%2 == 1) != (v.gender == "M") {
				continue
			}
			id := first17 + string(idno.CheckDigit(first17))
			if !fits(v.mask, id) {
				continue
			}
			if n++; n > 1 {
				return ""
			}
			found = id
		}
	}
	return found
}

// spread lays a mask over the 18 positions of the number: the characters
// before its stars are the first ones, those after them the last ones.
func spread(mask string) string {
	first, last := strings.IndexByte(mask, '*'), strings.LastIndexByte(mask, '*')
	if first < 0 || len(mask) > 18 {
		return mask
	}
	return mask[:first] + strings.Repeat("*", 18-first-(len(mask)-last-1)) + mask[last+1:]
}

// fits tells whether id agrees with every character the mask shows.
func fits(mask, id string) bool {
	for i := 0; i < len(mask); i++ {
		if mask[i] != '*' && mask[i] != id[i] {
			return false
		}
	}
	return true
}

// rebuilt counts the views whose ID number rebuilds to a real one.
func rebuilt(views []shown, truth map[string]bool, at time.Time) int {
	n := 0
	for _, v := range views {
		if id := rebuild(v, registry.DemoRegion, at); id != "" && truth[id] {
			n++
		}
	}
	return n
}

// fromSheet reads the people of an exported residents file by its headers.
func fromSheet(t *testing.T, rows [][]string) []shown {
	t.Helper()
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	get := func(r []string, h string) string {
		if i, ok := col[h]; ok && i < len(r) {
			return r[i]
		}
		return ""
	}
	if _, ok := col["身份证号"]; !ok {
		t.Fatalf("no ID column in %q", rows[0])
	}
	var out []shown
	for _, r := range rows[1:] {
		v := shown{mask: get(r, "身份证号"), birth: get(r, "出生日期"), gender: map[string]string{"男": "M", "女": "F"}[get(r, "性别")]}
		if v.birth == "" {
			age, err := strconv.Atoi(get(r, "年龄"))
			if err != nil {
				t.Fatalf("row %q shows neither birth date nor age", r)
			}
			v.age = age
		}
		out = append(out, v)
	}
	return out
}

// exportedRows reads the table of an export: the CSV, or the first sheet
// of the xlsx (whatever stamp comes before the header is skipped).
func exportedRows(t *testing.T, body string) [][]string {
	t.Helper()
	var rows [][]string
	if strings.HasPrefix(body, "PK") {
		f, err := excelize.OpenReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if rows, err = f.GetRows(f.GetSheetList()[0]); err != nil {
			t.Fatal(err)
		}
	} else {
		r := csv.NewReader(bytes.NewReader([]byte(strings.TrimPrefix(body, "\ufeff"))))
		r.FieldsPerRecord = -1
		var err error
		if rows, err = r.ReadAll(); err != nil {
			t.Fatal(err)
		}
	}
	for len(rows) > 0 && len(rows[0]) < 3 {
		rows = rows[1:]
	}
	return rows
}

func fromResidents(rs []registry.Resident) []shown {
	var out []shown
	for _, r := range rs {
		out = append(out, shown{mask: r.IDNumber, birth: r.BirthDate, gender: r.Gender, age: r.Age})
	}
	return out
}

// listAll pages through a resident list as c sees it.
func listAll(t *testing.T, c *apptest.Client, query string) []registry.Resident {
	t.Helper()
	var all []registry.Resident
	for cursor := ""; ; {
		l := apptest.JSON[registry.ResidentList](t, c, "GET", fmt.Sprintf("/api/v1/residents?page_size=%d&cursor=%s&%s", web.MaxPageSize, url.QueryEscape(cursor), query), nil, 200)
		all = append(all, l.Items...)
		if cursor = l.Next; cursor == "" {
			return all
		}
	}
}

// signIn signs a demo account in with its one-time password.
func signIn(t *testing.T, e *apptest.Env, accts []app.DemoAccount, user string) *apptest.Client {
	t.Helper()
	for _, a := range accts {
		if a.Username == user {
			c := e.Client()
			if st, body := c.Do("POST", "/api/v1/session", map[string]string{"username": a.Username, "password": a.Password}); st != 200 {
				t.Fatalf("sign in %s: %d %s", user, st, body)
			}
			return c
		}
	}
	t.Fatalf("no demo account %s", user)
	return nil
}

// TestMaskedIDCannotBeRebuilt tries to rebuild every ID number of a demo
// community from what each view shows next to its mask — the masked
// export, the list API, a grid worker's lists and records — and wants
// none rebuilt: a mask leaves fewer digits than the rest of the view
// would need. Run with -v for the figures; LINLI_TEST_DEMO_SCALE=0.02
// takes the default demo (about 24,000 residents) instead of one
// community.
func TestMaskedIDCannotBeRebuilt(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		scale := cmp.Or(os.Getenv("LINLI_TEST_DEMO_SCALE"), "community")
		accts, err := e.App.SeedDemo(t.Context(), module.DemoOptions{Seed: 11, Scale: scale})
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := db.Collect(t.Context(), e.App.DB.R, db.Value[string], `SELECT id_enc FROM reg_residents`)
		if err != nil {
			t.Fatal(err)
		}
		truth := map[string]bool{}
		for _, enc := range sealed {
			id, err := e.App.Keys.Open(enc, "reg_residents/id_number")
			if err != nil {
				t.Fatal(err)
			}
			truth[id] = true
		}
		at := e.Clock.Now().In(time.FixedZone("CST", 8*3600))
		officer, worker, grid := signIn(t, e, accts, "demo.officer"), signIn(t, e, accts, "demo.worker"), signIn(t, e, accts, "demo.grid")
		none := func(t *testing.T, what string, views []shown) {
			t.Helper()
			n := rebuilt(views, truth, at)
			t.Logf("%s: rebuilt %d of %d ID numbers", what, n, len(views))
			if len(views) == 0 || n != 0 {
				t.Errorf("%s: %d of %d ID numbers rebuilt from the view", what, n, len(views))
			}
		}

		t.Run("the masked export gives no number away", func(t *testing.T) {
			for _, format := range []string{"csv", "xlsx"} {
				st, body := officer.Do("GET", "/api/v1/registry/export/residents?format="+format, nil)
				if st != 200 {
					t.Fatalf("export: %d %.300s", st, body)
				}
				views := fromSheet(t, exportedRows(t, body))
				if len(views) != len(truth) {
					t.Fatalf("the county's export holds %d of %d residents", len(views), len(truth))
				}
				none(t, "masked "+format+" export", views)
			}
		})
		t.Run("the list API gives no number away", func(t *testing.T) {
			rs := listAll(t, officer, "")
			if len(rs) != len(truth) {
				t.Fatalf("the county officer lists %d of %d residents", len(rs), len(truth))
			}
			none(t, "list API", fromResidents(rs))
			for _, r := range rs {
				if r.BirthDate != "" {
					t.Fatalf("a list shows a birth date: %+v", r)
				}
			}
		})
		t.Run("a grid worker's lists, grid and records give no number away", func(t *testing.T) {
			rs := listAll(t, grid, "")
			t.Logf("the grid worker lists %d of the %d residents", len(rs), len(truth))
			mine := apptest.JSON[registry.MyGridView](t, grid, "GET", "/api/v1/grids/mine", nil, 200)
			views := append(fromResidents(rs), fromResidents(mine.Tagged)...)
			for _, r := range rs[:min(100, len(rs))] {
				rec := apptest.JSON[registry.Resident](t, grid, "GET", "/api/v1/residents/"+r.ID, nil, 200)
				if rec.BirthDate != "" {
					t.Errorf("a grid worker's record shows the birth date: %s", rec.BirthDate)
				}
				views = append(views, fromResidents([]registry.Resident{rec})...)
			}
			none(t, "grid worker's views", views)
			birth := apptest.JSON[registry.Resident](t, worker, "GET", "/api/v1/residents/"+rs[0].ID, nil, 200).BirthDate
			if html := page(t, grid, "/registry/residents/"+rs[0].ID, 200); birth == "" || strings.Contains(html, birth) {
				t.Errorf("the grid worker's record page shows the birth date %q", birth)
			}
		})
		t.Run("even a worker's record, with the birth date, leaves several candidates", func(t *testing.T) {
			rs := listAll(t, worker, "")
			var views []shown
			for _, r := range rs[:min(100, len(rs))] {
				rec := apptest.JSON[registry.Resident](t, worker, "GET", "/api/v1/residents/"+r.ID, nil, 200)
				if rec.BirthDate == "" {
					t.Fatalf("a worker's record lacks the birth date: %+v", rec)
				}
				views = append(views, fromResidents([]registry.Resident{rec})...)
			}
			none(t, "worker's records", views)
		})
	})
}

func TestMaskShowsFourAndTwo(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"330106194803149173": "3301**********73", "11010519491231002X": "1101**********2X", "12345": "*****"} {
		if got := idno.Mask(in); got != want {
			t.Errorf("Mask(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestOldMasksAreRemasked: the masks stored before the four-and-two mask
// are rewritten by the migration, once.
func TestOldMasksAreRemasked(t *testing.T) {
	t.Parallel()
	var before []db.Migration
	var remask db.Migration
	for _, m := range registry.Migrations {
		if m.ID == "registry/007_id_mask_4_2" {
			remask = m
			continue
		}
		before = append(before, m)
	}
	if remask.ID == "" {
		t.Fatal("no remasking migration")
	}
	dbtest.Each(t, before, func(t *testing.T, d *db.DB) {
		now := db.T(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC))
		if _, err := d.W.Exec(`INSERT INTO reg_households (id, division_code, household_no, grid_id, address, note, created_at, updated_at) VALUES ('h1', $1, 'H1', NULL, 'x', '', $2, $2)`, communityA, now); err != nil {
			t.Fatal(err)
		}
		old := id1[:6] + "********" + id1[14:]
		if _, err := d.W.Exec(`INSERT INTO reg_residents (id, division_code, household_id, name, gender, birth_date, relation, residence, id_enc, id_idx, id_mask,
			phone_enc, phone_idx, phone_mask, health_enc, disability_enc, income_enc, username, created_at, updated_at)
			VALUES ('r1', $1, 'h1', '张', 'M', '1948-03-14', '户主', 'registered', 'enc', 'idx', $2, '', '', '', '', '', '', '', $3, $3)`, communityA, old, now); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := d.Migrate(t.Context(), append(before, remask)); err != nil {
				t.Fatal(err)
			}
			var mask string
			if err := d.R.QueryRow(`SELECT id_mask FROM reg_residents WHERE id = 'r1'`).Scan(&mask); err != nil || mask != idno.Mask(id1) {
				t.Fatalf("mask %q (%v), want %q", mask, err, idno.Mask(id1))
			}
		}
	})
}
