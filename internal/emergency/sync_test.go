package emergency_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/emergency"
	"linli/internal/module"
)

// laptop is a second instance, as a township's laptop is: the same
// accounts and a copy of the county's registry (and pairings) taken
// before the network went down, on a store of its own.
func laptop(t *testing.T, county *apptest.Env, dialect db.Dialect) *apptest.Env {
	t.Helper()
	l := apptest.New(t, dbtest.Open(t, dialect, nil))
	for _, u := range []struct {
		name string
		role access.Role
		div  string
	}{{"gw.1", access.GridWorker, communityA}, {"gw.2", access.GridWorker, communityA}, {"nb.1", access.GridWorker, communityA},
		{"cw.a", access.CommunityWorker, communityA}, {"cw.b", access.CommunityWorker, communityB}, {"officer.town", access.Officer, townA},
		{"officer.county", access.Officer, apptest.County}, {"res.a", access.Resident, communityA}, {"res.b", access.Resident, communityB}} {
		l.User(u.name, u.role, u.div)
	}
	for _, table := range []string{"reg_grids", "reg_grid_workers", "reg_households", "reg_residents", "reg_resident_tags", "reg_facilities", "em_helpers"} {
		copyTable(t, county.App.DB, l.App.DB, table)
	}
	return l
}

// copyTable copies every row of a table between stores of either kind.
func copyTable(t *testing.T, from, to *db.DB, table string) {
	t.Helper()
	rows, err := from.R.Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	insert := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES ` + to.Values(0, len(cols))
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			switch x := v.(type) {
			case time.Time:
				vals[i] = db.T(x)
			case []byte:
				vals[i] = string(x)
			case bool:
				if to.Dialect == db.SQLite {
					vals[i] = map[bool]int{false: 0, true: 1}[x]
				}
			}
		}
		if _, err := to.W.Exec(insert, vals...); err != nil {
			t.Fatalf("copy %s: %v", table, err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// export downloads the incident's records from an instance.
func export(t *testing.T, c *apptest.Client, alert string) []byte {
	t.Helper()
	st, body, hdr := c.Get("/api/v1/emergency/alerts/" + alert + "/export")
	if st != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), emergency.MediaSync) || !strings.Contains(hdr.Get("Content-Disposition"), ".jsonl") {
		t.Fatalf("export: %d %v %s", st, hdr, body)
	}
	return []byte(body)
}

// importFile posts a file to an instance's import.
func importFile(t *testing.T, c *apptest.Client, file []byte) (int, string) {
	t.Helper()
	req := c.NewRequest("POST", "/api/v1/emergency/import", bytes.NewReader(file))
	req.Header.Set("Content-Type", emergency.MediaSync)
	st, body, _ := c.Send(req)
	return st, body
}

func merge(t *testing.T, c *apptest.Client, file []byte) emergency.SyncResult {
	t.Helper()
	st, body := importFile(t, c, file)
	if st != 200 {
		t.Fatalf("import: %d %s", st, body)
	}
	var res emergency.SyncResult
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// counts is the board's numbers and the rows behind them.
type counts struct {
	Households, Vulnerable emergency.Tally
	Rows                   []emergency.BoardRow
	Waiting, Shelters      string
	Alerts, Checks, Events int
}

func countsOf(t *testing.T, e *apptest.Env, c *apptest.Client, alert string) counts {
	t.Helper()
	b := apptest.JSON[emergency.Board](t, c, "GET", "/api/v1/emergency/alerts/"+alert+"/board?division="+townA, nil, 200)
	var waiting, shelters []string
	for _, w := range b.Waiting {
		waiting = append(waiting, w.SubjectID+":"+w.Status)
	}
	for _, s := range b.Shelters {
		shelters = append(shelters, s.ID+":"+itoa(int64(s.Occupancy)))
	}
	return counts{Households: b.Households, Vulnerable: b.Vulnerable, Rows: b.Rows, Waiting: strings.Join(waiting, ","), Shelters: strings.Join(shelters, ","),
		Alerts: e.Count(`SELECT COUNT(*) FROM em_alerts`), Checks: e.Count(`SELECT COUNT(*) FROM em_checks`), Events: e.Count(`SELECT COUNT(*) FROM em_check_events`)}
}

func sameCounts(t *testing.T, what string, got, want counts) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// reseal rewrites a file's lines through edit and gives it a correct end
// line again, as a careless tool (not a tamperer) would.
func reseal(t *testing.T, file []byte, edit func(n int, line string) string) []byte {
	t.Helper()
	lines := strings.Split(strings.TrimRight(string(file), "\n"), "\n")
	lines = lines[:len(lines)-1]
	var body strings.Builder
	for i, l := range lines {
		body.WriteString(edit(i+1, l) + "\n")
	}
	sum := sha256.Sum256([]byte(body.String()))
	end, _ := json.Marshal(emergency.SyncEnd{Type: "end", Lines: len(lines), SHA256: hex.EncodeToString(sum[:])})
	return []byte(body.String() + string(end) + "\n")
}

// lineOf is the number of the first line containing s.
func lineOf(file []byte, s string) int {
	for i, l := range strings.Split(string(file), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	return 0
}

type problem struct {
	Fields []struct {
		Field string `json:"field"`
		Row   int    `json:"row"`
	} `json:"errors"`
}

// refused asserts a 4xx naming the field on the line.
func refused(t *testing.T, st int, body string, want int, line int, field string) {
	t.Helper()
	if st != want {
		t.Fatalf("status %d, want %d: %s", st, want, body)
	}
	var p problem
	json.Unmarshal([]byte(body), &p)
	for _, f := range p.Fields {
		if f.Row == line && f.Field == field {
			return
		}
	}
	t.Fatalf("no problem with line %d field %s: %s", line, field, body)
}

func TestTheLaptopsResponseMergesIntoTheCountyOnce(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		offlineThenMerge(t, e, e.App.DB.Dialect)
	})
}

func TestALaptopOnSQLiteMergesIntoACountyOnPostgreSQL(t *testing.T) {
	t.Parallel()
	if !slices.Contains(dbtest.Dialects(), db.Postgres) {
		t.Skip(dbtest.EnvPostgres + " not set")
	}
	offlineThenMerge(t, apptest.New(t, dbtest.Open(t, db.Postgres, nil)), db.SQLite)
}

// offlineThenMerge: the county's registry is copied to the township's
// laptop; the network goes; the laptop issues the warning and runs the
// check-ins alone; reconnected, its file merges into the county's store.
func offlineThenMerge(t *testing.T, county *apptest.Env, laptopDialect db.Dialect) {
	w := newTown(t, county)
	lap := laptop(t, county, laptopDialect)
	lw := &town{e: lap, es: emergency.StoreOf(lap.App.Module("emergency"))}
	got := lw.issue(t, orange(communityA))
	alert, inc := got.Alert.ID, got.Alert.IncidentID
	lap.Clock.Add(5 * time.Minute)
	elder, _, _ := lw.checkOf(t, inc, "person", w.elder)
	bed, _, _ := lw.checkOf(t, inc, "person", w.bed)
	h2, _, _ := lw.checkOf(t, inc, "household", w.h2)
	checkin := func(env *apptest.Env, user string, in emergency.CheckinInput) {
		t.Helper()
		in.AlertID = alert
		apptest.JSON[emergency.CheckinResult](t, env.Login(user), "POST", "/api/v1/emergency/checkins", in, 200)
	}
	for _, st := range []string{"unreachable", "safe"} {
		checkin(lap, "nb.1", emergency.CheckinInput{CheckID: elder, Status: st})
	}
	checkin(lap, "gw.2", emergency.CheckinInput{CheckID: bed, Status: "evacuated", ShelterID: w.shelter})
	checkin(lap, "res.a", emergency.CheckinInput{Status: "safe"})
	lapOfficer, countyOfficer := lap.Login("officer.town"), county.Login("officer.county")
	first := export(t, lapOfficer, alert)
	onLaptop := countsOf(t, lap, lapOfficer, alert)

	t.Run("the file is JSON lines: a header with format and version, the alerts, checks and events, and an end line with the SHA-256", func(t *testing.T) {
		lines := strings.Split(strings.TrimRight(string(first), "\n"), "\n")
		var h emergency.SyncHeader
		var end emergency.SyncEnd
		json.Unmarshal([]byte(lines[0]), &h)
		json.Unmarshal([]byte(lines[len(lines)-1]), &end)
		sum := sha256.Sum256([]byte(strings.Join(lines[:len(lines)-1], "\n") + "\n"))
		if h.Format != emergency.SyncFormat || h.Version != 1 || h.IncidentID != inc || end.Lines != len(lines)-1 || end.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("header %+v end %+v", h, end)
		}
		// 1 alert, 4 households and 2 vulnerable residents, 4 events.
		if n := strings.Count(string(first), `{"type":"check"`); n != 6 {
			t.Fatalf("%d checks", n)
		}
		if n := strings.Count(string(first), `{"type":"event"`); n != 4 {
			t.Fatalf("%d events", n)
		}
		if n := county.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.sync.export'`) + lap.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.sync.export'`); n != 1 {
			t.Fatalf("%d export audit entries", n)
		}
	})

	t.Run("a refused file writes nothing and names its line and field", func(t *testing.T) {
		nothing := func(t *testing.T) {
			t.Helper()
			if n := county.Count(`SELECT COUNT(*) FROM em_alerts`) + county.Count(`SELECT COUNT(*) FROM em_checks`) + county.Count(`SELECT COUNT(*) FROM em_check_events`) +
				county.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.sync.import'`); n != 0 {
				t.Fatalf("%d rows written", n)
			}
		}
		t.Run("a changed line breaks the SHA-256", func(t *testing.T) {
			tampered := bytes.Replace(first, []byte(`"status":"evacuated"`), []byte(`"status":"safe"`), 1)
			st, body := importFile(t, countyOfficer, tampered)
			refused(t, st, body, 400, lineOf(tampered, `"type":"end"`), "sha256")
			nothing(t)
		})
		t.Run("a version this system does not read", func(t *testing.T) {
			v2 := reseal(t, first, func(n int, l string) string { return strings.Replace(l, `"version":1`, `"version":2`, 1) })
			st, body := importFile(t, countyOfficer, v2)
			refused(t, st, body, 400, 1, "version")
			nothing(t)
		})
		t.Run("a household the registry does not have", func(t *testing.T) {
			ghost := strings.Repeat("ab", 16)
			bad := reseal(t, first, func(n int, l string) string {
				if strings.Contains(l, `"type":"check"`) && strings.Contains(l, `"subject_id":"`+w.h3+`"`) {
					return strings.ReplaceAll(l, w.h3, ghost)
				}
				return l
			})
			st, body := importFile(t, countyOfficer, bad)
			refused(t, st, body, 400, lineOf(bad, `"subject_id":"`+ghost+`"`), "household_id")
			if !strings.Contains(body, ghost) {
				t.Fatalf("the household is not named: %s", body)
			}
			nothing(t)
		})
		t.Run("a bad status on one line among good ones", func(t *testing.T) {
			bad := reseal(t, first, func(n int, l string) string { return strings.Replace(l, `"status":"safe"`, `"status":"fine"`, 1) })
			st, body := importFile(t, countyOfficer, bad)
			refused(t, st, body, 400, lineOf(bad, `"status":"fine"`), "status")
			nothing(t)
		})
		t.Run("an officer of another township may not import community A's records", func(t *testing.T) {
			county.User("officer.west", access.Officer, "330106004")
			st, body := importFile(t, county.Login("officer.west"), first)
			refused(t, st, body, 400, lineOf(first, `"type":"check"`), "division")
			nothing(t)
		})
		t.Run("a resident may not import at all", func(t *testing.T) {
			if st, body := importFile(t, county.Login("res.a"), first); st != 403 {
				t.Fatalf("%d %s", st, body)
			}
			nothing(t)
		})
	})

	var merged counts
	t.Run("the county's board after the merge shows the laptop's numbers", func(t *testing.T) {
		res := merge(t, countyOfficer, first)
		if res.AlertsAdded != 1 || res.ChecksAdded != 6 || res.EventsAdded != 4 || res.IncidentID != inc {
			t.Fatalf("%+v", res)
		}
		merged = countsOf(t, county, countyOfficer, alert)
		sameCounts(t, "county vs laptop", merged, onLaptop)
		if n := county.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.sync.import' AND object_id = $1`, inc); n != 1 {
			t.Fatalf("%d import audit entries", n)
		}
	})
	t.Run("the merge twice gives the same counts", func(t *testing.T) {
		if res := merge(t, countyOfficer, first); !res.Unchanged() {
			t.Fatalf("the second import changed %+v", res)
		}
		sameCounts(t, "after the second import", countsOf(t, county, countyOfficer, alert), merged)
	})

	t.Run("where both sides moved a check, the later move wins and both events stay in the timeline", func(t *testing.T) {
		// The county's worker reaches household 2 at +10 min (county's
		// clock); the laptop's grid worker records it needing help at +20.
		// The bedridden man is the other way round: the laptop first.
		hh2, _, _ := w.checkOf(t, inc, "household", w.h2)
		bedC, _, _ := w.checkOf(t, inc, "person", w.bed)
		county.Clock.Add(10 * time.Minute)
		lap.Clock.Add(10 * time.Minute) // laptop now at +15
		checkin(lap, "gw.2", emergency.CheckinInput{CheckID: bed, Status: "needs_help", Note: "缺药"})
		checkin(county, "cw.a", emergency.CheckinInput{CheckID: hh2, Status: "safe"})
		lap.Clock.Add(5 * time.Minute) // +20
		checkin(lap, "gw.2", emergency.CheckinInput{CheckID: h2, Status: "needs_help", Note: "屋顶漏水"})
		county.Clock.Add(15 * time.Minute) // +25
		checkin(county, "cw.a", emergency.CheckinInput{CheckID: bedC, Status: "safe"})
		second := export(t, lapOfficer, alert)
		res := merge(t, countyOfficer, second)
		if res.ChecksUpdated != 1 || res.EventsAdded != 2 || res.ChecksAdded != 0 || res.AlertsAdded != 0 {
			t.Fatalf("%+v", res)
		}
		if _, _, st := w.checkOf(t, inc, "household", w.h2); st != "needs_help" {
			t.Fatalf("household 2 is %s, want the laptop's later needs_help", st)
		}
		if _, _, st := w.checkOf(t, inc, "person", w.bed); st != "safe" {
			t.Fatalf("the bedridden man is %s, want the county's later safe", st)
		}
		if n := county.Count(`SELECT COUNT(*) FROM em_check_events WHERE check_id = $1`, hh2); n != 2 {
			t.Fatalf("household 2 has %d events", n)
		}
		if n := county.Count(`SELECT COUNT(*) FROM em_check_events WHERE check_id = $1`, bedC); n != 3 {
			t.Fatalf("the bedridden man has %d events", n)
		}
		after := countsOf(t, county, countyOfficer, alert)
		t.Run("and the older, overlapping first file changes nothing now", func(t *testing.T) {
			if res := merge(t, countyOfficer, first); !res.Unchanged() {
				t.Fatalf("%+v", res)
			}
			if res := merge(t, countyOfficer, second); !res.Unchanged() {
				t.Fatalf("%+v", res)
			}
			sameCounts(t, "after both files again", countsOf(t, county, countyOfficer, alert), after)
		})
	})

	t.Run("the officer downloads the file from the warning's page and merges it on the import page", func(t *testing.T) {
		st, page, _ := lapOfficer.Get("/emergency/alerts/" + alert)
		if st != 200 || !strings.Contains(page, `href="/emergency/alerts/`+alert+`/export"`) {
			t.Fatalf("%d: no download link", st)
		}
		st, file, _ := lapOfficer.Get("/emergency/alerts/" + alert + "/export")
		if st != 200 || !strings.HasPrefix(file, `{"type":"header"`) {
			t.Fatalf("%d %.200s", st, file)
		}
		st, page, _ = countyOfficer.Multipart("/emergency/sync", nil, "file", "incident.jsonl", []byte(file), nil)
		if st != 200 || !strings.Contains(page, "未作任何改动") {
			t.Fatalf("%d %s", st, page)
		}
		bad := bytes.Replace([]byte(file), []byte(`"status":"safe"`), []byte(`"status":"pending"`), 1)
		st, page, _ = countyOfficer.Multipart("/emergency/sync", nil, "file", "incident.jsonl", bad, nil)
		if st != 400 || !strings.Contains(page, `id="sync-errors"`) || !strings.Contains(page, "sha256") {
			t.Fatalf("%d %s", st, page)
		}
	})

	t.Run("the command line exports as an officer of the laptop and imports into the county: nothing changes, and an unknown account is refused", func(t *testing.T) {
		before := countsOf(t, county, countyOfficer, alert)
		file := filepath.Join(t.TempDir(), "incident.jsonl")
		if code, out, errOut := command(t, lap, "emergency export", "--as", "officer.town", "--alert", alert, "--file", file); code != 0 || !strings.Contains(out, "SHA-256") {
			t.Fatalf("export: %d %s %s", code, out, errOut)
		}
		if code, out, errOut := command(t, county, "emergency import", "--as", "officer.county", "--file", file); code != 0 || !strings.Contains(out, "nothing changed") {
			t.Fatalf("import: %d %s %s", code, out, errOut)
		}
		if code, _, errOut := command(t, county, "emergency import", "--as", "gw.1", "--file", file); code != 1 || !strings.Contains(errOut, "--as") {
			t.Fatalf("import as a grid worker: %d %s", code, errOut)
		}
		sameCounts(t, "after the command line's import", countsOf(t, county, countyOfficer, alert), before)
	})
}

// command runs one of the module's commands over an env's app.
func command(t *testing.T, e *apptest.Env, name string, args ...string) (code int, out, errOut string) {
	t.Helper()
	var o, eo bytes.Buffer
	cli := module.CLI{Stdout: &o, Stderr: &eo, Open: func(cmd string, args []string, flags func(*flag.FlagSet)) (module.Module, []string, func(), int) {
		fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
		fs.SetOutput(&eo)
		flags(fs)
		if err := fs.Parse(args); err != nil {
			return nil, nil, nil, 2
		}
		return e.App.Module("emergency"), fs.Args(), func() {}, -1
	}}
	for _, c := range emergency.Module().Commands {
		if c.Name == name {
			code = c.Run(cli, args)
			return code, o.String(), eo.String()
		}
	}
	t.Fatalf("no command %q", name)
	return 0, "", ""
}
