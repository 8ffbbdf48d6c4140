package assistance_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/assistance"
	"linli/internal/questions"
	"linli/internal/tabular"
	"linli/internal/web"
)

// checkFile is a batch file read back: its header and rows.
type checkFile struct {
	header []string
	rows   [][]string
}

// col is the index of a column by its key ("income_yuan").
func (f checkFile) col(t *testing.T, key string) int {
	t.Helper()
	for i, h := range f.header {
		if strings.HasSuffix(h, "["+key+"]") {
			return i
		}
	}
	t.Fatalf("no column %s in %q", key, f.header)
	return -1
}

// answered fills the centre's five columns of every row: each person an
// income and assets (yuan), one car, no home, the result dated day.
func (f checkFile) answered(t *testing.T, income, assets []string, day string) checkFile {
	t.Helper()
	out := checkFile{header: f.header}
	for i, r := range f.rows {
		r = slices.Clone(r)
		r[f.col(t, "income_yuan")], r[f.col(t, "assets_yuan")] = income[i%len(income)], assets[i%len(assets)]
		r[f.col(t, "vehicles")], r[f.col(t, "houses")], r[f.col(t, "checked_on")] = "1", "0", day
		out.rows = append(out.rows, r)
	}
	return out
}

// bytesOf writes the file as csv or xlsx, as the centre sends it back.
func (f checkFile) bytesOf(t *testing.T, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw, err := tabular.NewWriter(&b, format)
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Row(f.header...); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.rows {
		if err := tw.Row(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func download(t *testing.T, c *apptest.Client, batch, format string) checkFile {
	t.Helper()
	st, body, hdr := c.Get("/api/v1/assistance/checks/" + batch + "/file?format=" + format)
	if st != 200 || !strings.Contains(hdr.Get("Content-Disposition"), "linli-check-"+batch+"."+format) {
		t.Fatalf("file: %d %v %.300s", st, hdr, body)
	}
	if format == "csv" && !strings.HasPrefix(body, "\ufeff") {
		t.Fatalf("the CSV file has no byte-order mark: %.60q", body)
	}
	tb, err := tabular.Read([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return checkFile{header: tb.Header, rows: tb.Rows}
}

// importAnswer posts an answer file and reads its report, or the report a
// 422 refusal carries.
func importAnswer(t *testing.T, c *apptest.Client, data []byte) (int, assistance.CheckReport, string) {
	t.Helper()
	req := c.NewRequest("POST", "/api/v1/assistance/checks/import", bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/octet-stream")
	st, body, _ := c.Send(req)
	var rep assistance.CheckReport
	if st == 422 {
		var p struct {
			web.Problem
			Report *assistance.CheckReport `json:"report"`
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil || p.Report == nil {
			t.Fatalf("422 without a report: %v %s", err, body)
		}
		return st, *p.Report, body
	}
	if st == 200 {
		if err := json.Unmarshal([]byte(body), &rep); err != nil {
			t.Fatal(err)
		}
	}
	return st, rep, body
}

// The economic check through the county centre's files: the officer
// exports the members of the consenting applications in Checking, the
// centre's answer comes back row by row — one bad row and nothing is
// written — and a good answer moves the applications on with the
// household totals in fen; a result past its 90 days asks for a new check;
// officers elsewhere see none of it.
func TestEconomicCheckFileExchange(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("off.town", access.Officer, "330106002")
		e.User("off.elsewhere", access.Officer, "330105")
		_, couple := w.household(t, "", 1976, 1978)
		_, single := w.household(t, "", 1950)
		_, refuser := w.household(t, "", 1980)
		cw, off := e.Login("cw.a"), e.Login("off.county")
		apps := map[string]assistance.Application{}
		start := func(t *testing.T, name string, members []string, consent bool) {
			t.Helper()
			var ms []assistance.MemberInput
			for _, m := range members {
				ms = append(ms, assistance.MemberInput{ResidentID: m})
			}
			var household string
			if err := e.App.DB.R.QueryRow(`SELECT household_id FROM reg_residents WHERE id = $1`, members[0]).Scan(&household); err != nil {
				t.Fatal(err)
			}
			a := apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications", assistance.ApplyInput{HouseholdID: household, Members: ms,
				Programmes: []string{"dibao"}, Consent: consent}, 201)
			a = apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications/"+a.ID+"/accept", assistance.Input{}, 200)
			apps[name] = a
		}
		var batch assistance.CheckBatch
		var file checkFile
		t.Run("without consent the check step is refused; with it the applications wait in Checking", func(t *testing.T) {
			start(t, "couple", couple, true)
			start(t, "single", single, true)
			start(t, "refuser", refuser, false)
			for _, n := range []string{"couple", "single"} {
				apps[n] = apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications/"+apps[n].ID+"/check", assistance.Input{}, 200)
			}
			st, body := cw.Do("POST", "/api/v1/assistance/applications/"+apps["refuser"].ID+"/check", assistance.Input{})
			if st != 409 || !strings.Contains(body, "未授权家庭经济状况核对") {
				t.Fatalf("%d %s", st, body)
			}
			// A record in Checking without consent (kept from before consent
			// was recorded) must not leave either.
			if _, err := e.App.DB.W.Exec(`UPDATE ast_applications SET status = 'checking' WHERE id = $1`, apps["refuser"].ID); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a community worker cannot export; the county officer exports exactly the consented members", func(t *testing.T) {
			if st, body := cw.Do("POST", "/api/v1/assistance/checks", nil); st != 403 || !strings.Contains(body, "民政干部") {
				t.Fatalf("%d %s", st, body)
			}
			batch = apptest.JSON[assistance.CheckBatch](t, off, "POST", "/api/v1/assistance/checks", nil, 201)
			if batch.Applications != 2 || batch.Persons != 3 || batch.Status != assistance.BatchSent || batch.Division != county {
				t.Fatalf("batch %+v", batch)
			}
			file = download(t, off, batch.ID, "csv")
			want := map[string]string{}
			for _, id := range append(slices.Clone(couple), single...) {
				var name, enc string
				if err := e.App.DB.R.QueryRow(`SELECT name, id_enc FROM reg_residents WHERE id = $1`, id).Scan(&name, &enc); err != nil {
					t.Fatal(err)
				}
				number, err := e.App.Keys.Open(enc, "reg_residents/id_number")
				if err != nil {
					t.Fatal(err)
				}
				want[number] = name
			}
			got := map[string]string{}
			for i, r := range file.rows {
				if r[file.col(t, "batch_id")] != batch.ID || r[file.col(t, "row")] != string(rune('1'+i)) || r[file.col(t, "relation")] != "户主" {
					t.Fatalf("row %d: %q", i+1, r)
				}
				got[r[file.col(t, "id_number")]] = r[file.col(t, "name")]
				if app := r[file.col(t, "application_id")]; app != apps["couple"].ID && app != apps["single"].ID {
					t.Fatalf("row %d names application %s", i+1, app)
				}
			}
			if len(got) != 3 || len(file.rows) != 3 {
				t.Fatalf("file rows %q", file.rows)
			}
			for number, name := range want {
				if got[number] != name {
					t.Fatalf("the file lacks %s %s: %v", name, number, got)
				}
			}
			x := download(t, off, batch.ID, "xlsx")
			if !slices.Equal(x.header, file.header) || len(x.rows) != 3 || !slices.Equal(x.rows[2], file.rows[2]) {
				t.Fatalf("the xlsx file differs: %q %q", x.header, x.rows)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'assistance.check.export' AND object_id = $1`, batch.ID); n != 1 {
				t.Fatalf("%d export audits", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'assistance.check.file' AND object_id = $1`, batch.ID); n != 2 {
				t.Fatalf("%d download audits, want 2", n)
			}
			if st, body := off.Do("POST", "/api/v1/assistance/checks", nil); st != 409 || !strings.Contains(body, "没有待核对的申请") {
				t.Fatalf("a second export of nothing new: %d %s", st, body)
			}
		})
		today := e.Clock.Now().In(questions.CST).Format("2006-01-02")
		good := func() checkFile {
			return file.answered(t, []string{"1,200.50", "300.25", "80"}, []string{"5000", "0.05", "12000.5"}, today)
		}
		results := func() int { return e.Count(`SELECT COUNT(*) FROM ast_check_results`) }
		t.Run("an officer outside the county cannot export, download or import", func(t *testing.T) {
			other := e.Login("off.elsewhere")
			if st, body := other.Do("POST", "/api/v1/assistance/checks", nil); st != 409 {
				t.Fatalf("export elsewhere: %d %s", st, body)
			}
			if st, _, _ := other.Get("/api/v1/assistance/checks/" + batch.ID + "/file"); st != 404 {
				t.Fatalf("download elsewhere: %d", st)
			}
			st, rep, body := importAnswer(t, other, good().bytesOf(t, "csv"))
			if st != 422 || len(rep.Errors) != 3 || rep.Errors[0].Column != "批次号" || !strings.Contains(body, "不在您的辖区") {
				t.Fatalf("import elsewhere: %d %s", st, body)
			}
			pg := apptest.JSON[assistance.CheckBatchPage](t, other, "GET", "/api/v1/assistance/checks", nil, 200)
			if len(pg.Items) != 0 || e.Count(`SELECT COUNT(*) FROM ast_check_batches`) != 1 || results() != 0 {
				t.Fatalf("elsewhere sees %+v", pg)
			}
		})
		t.Run("a file with one bad row writes nothing and names its row and column", func(t *testing.T) {
			for _, c := range []struct {
				name     string
				change   func(f checkFile)
				row      int
				column   string
				saysWhat string
			}{
				{"a negative income", func(f checkFile) { f.rows[1][f.col(t, "income_yuan")] = "-5" }, 3, "月收入（元）", "不能为负数"},
				{"three decimals", func(f checkFile) { f.rows[0][f.col(t, "assets_yuan")] = "1.005" }, 2, "金融资产（元）", "最多两位小数"},
				{"an unknown batch", func(f checkFile) { f.rows[2][f.col(t, "batch_id")] = "nope" }, 4, "批次号", "没有这个核对批次"},
				{"a row the batch lacks", func(f checkFile) { f.rows[2][f.col(t, "row")] = "9" }, 4, "序号", "批次中没有这一序号"},
				{"a person not in the batch", func(f checkFile) { f.rows[0][f.col(t, "id_number")] = "110101199001011237" }, 2, "身份证号", "此人不在本批次"},
				{"a bad date", func(f checkFile) { f.rows[1][f.col(t, "checked_on")] = "2026-13-01" }, 3, "核对日期", "YYYY-MM-DD"},
				{"a duplicate row", func(f checkFile) { f.rows[2] = slices.Clone(f.rows[1]) }, 4, "序号", "与第 3 行重复"},
				{"negative vehicles", func(f checkFile) { f.rows[0][f.col(t, "vehicles")] = "-1" }, 2, "车辆（辆）", "0 或正整数"},
			} {
				t.Run(c.name, func(t *testing.T) {
					f := good()
					c.change(f)
					st, rep, body := importAnswer(t, off, f.bytesOf(t, "csv"))
					if st != 422 || len(rep.Errors) == 0 {
						t.Fatalf("%d %s", st, body)
					}
					found := false
					for _, re := range rep.Errors {
						found = found || (re.Row == c.row && re.Column == c.column && strings.Contains(re.ZH, c.saysWhat))
					}
					if !found {
						t.Fatalf("want row %d column %s saying %q: %+v", c.row, c.column, c.saysWhat, rep.Errors)
					}
					if results() != 0 || e.Count(`SELECT COUNT(*) FROM ast_applications WHERE status = 'investigating'`) != 0 ||
						e.Count(`SELECT COUNT(*) FROM ast_check_batches WHERE status = 'sent'`) != 1 {
						t.Fatal("a refused file wrote something")
					}
				})
			}
			t.Run("the page shows the rows at fault", func(t *testing.T) {
				f := good()
				f.rows[1][f.col(t, "income_yuan")] = "-5"
				st, page, _ := off.Multipart("/assistance/checks/import", nil, "file", "answer.csv", f.bytesOf(t, "csv"), nil)
				if st != 422 || !strings.Contains(page, `data-row="3"`) || !strings.Contains(page, "金额不能为负数") {
					t.Fatalf("%d %.500s", st, page)
				}
			})
		})
		t.Run("a good file moves both applications on and stores the household totals in fen", func(t *testing.T) {
			st, rep, body := importAnswer(t, off, good().bytesOf(t, "csv"))
			if st != 200 || rep.Applications != 2 || rep.Rows != 3 || len(rep.Batches) != 1 {
				t.Fatalf("%d %s", st, body)
			}
			// The rows' figures in fen, summed by application as the file has them.
			incomes, assets := []int64{120050, 30025, 8000}, []int64{500000, 5, 1200050}
			type sum struct {
				income, assets int64
				vehicles       int
			}
			want := map[string]*sum{}
			for i, r := range file.rows {
				app := r[file.col(t, "application_id")]
				if want[app] == nil {
					want[app] = &sum{}
				}
				want[app].income += incomes[i]
				want[app].assets += assets[i]
				want[app].vehicles++
			}
			for _, name := range []string{"couple", "single"} {
				a := apptest.JSON[assistance.Application](t, off, "GET", "/api/v1/assistance/applications/"+apps[name].ID, nil, 200)
				w := want[a.ID]
				if a.Status != assistance.Investigating || a.Check == nil || *a.Check.IncomeFen != w.income || *a.Check.AssetsFen != w.assets ||
					a.Check.Vehicles != w.vehicles || a.Check.Houses != 0 || a.Check.CheckedOn != today || a.Check.BatchID != batch.ID {
					t.Fatalf("%s: %s %+v, want %+v", name, a.Status, a.Check, *w)
				}
				if last := a.Events[len(a.Events)-1]; last.Action != "checked" || last.Actor != "off.county" {
					t.Fatalf("%s: last event %+v", name, last)
				}
				apps[name] = a
			}
			// The check's income is retested: two persons under 2 × 1,120 yuan
			// get the gap.
			if r := result(apps["couple"], "dibao"); r.Outcome != assistance.Eligible || r.AmountFen != 2*112000-want[apps["couple"].ID].income {
				t.Fatalf("couple retested: %+v", r)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_check_batches WHERE status = 'answered' AND answered_by = 'off.county'`); n != 1 {
				t.Fatalf("%d answered batches", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'assistance.checked' AND object_id IN ($1, $2)`, apps["couple"].ID, apps["single"].ID); n != 2 {
				t.Fatalf("%d audited moves", n)
			}
			if st, _, body := importAnswer(t, off, good().bytesOf(t, "csv")); st != 409 || results() != 2 {
				t.Fatalf("the same answer twice: %d %s", st, body)
			}
		})
		t.Run("a result older than 90 days forces a new check before the notice", func(t *testing.T) {
			e.Clock.Add(91 * 24 * time.Hour)
			cw, off = e.Login("cw.a"), e.Login("off.county")
			a := apps["couple"]
			st, body := cw.Do("POST", "/api/v1/assistance/applications/"+a.ID+"/publicize", assistance.Input{Note: "入户调查属实"})
			if st != 409 || !strings.Contains(body, "已超过 90 天有效期") || !strings.Contains(body, "重新发起核对") {
				t.Fatalf("%d %s", st, body)
			}
			a = apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications/"+a.ID+"/check", assistance.Input{}, 200)
			if a.Status != assistance.Checking {
				t.Fatalf("status %s", a.Status)
			}
			// The township officer's new batch holds the couple alone.
			town := e.Login("off.town")
			b := apptest.JSON[assistance.CheckBatch](t, town, "POST", "/api/v1/assistance/checks", nil, 201)
			if b.Applications != 1 || b.Persons != 2 {
				t.Fatalf("new batch %+v", b)
			}
			day := e.Clock.Now().In(questions.CST).Format("2006-01-02")
			f := download(t, town, b.ID, "xlsx").answered(t, []string{"1000", "500"}, []string{"0"}, day)
			if st, rep, body := importAnswer(t, town, f.bytesOf(t, "xlsx")); st != 200 || rep.Applications != 1 {
				t.Fatalf("%d %s", st, body)
			}
			a = apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications/"+a.ID+"/publicize", assistance.Input{Note: "入户调查属实"}, 200)
			if a.Status != assistance.Publicity || *a.Check.IncomeFen != 150000 || a.Check.CheckedOn != day {
				t.Fatalf("%s %+v", a.Status, a.Check)
			}
		})
		t.Run("the officers' page lists the batches and asks to confirm an export", func(t *testing.T) {
			st, page, _ := off.Get("/assistance/checks")
			if st != 200 || strings.Count(page, `data-status="answered"`) != 2 || !strings.Contains(page, `href="/assistance/checks/`+batch.ID+`/file?format=csv"`) {
				t.Fatalf("%d %.800s", st, page)
			}
			if st, page, _ := off.Form("/assistance/checks", map[string]string{}, nil); st != 400 || !strings.Contains(page, "请勾选确认") {
				t.Fatalf("export without confirming: %d", st)
			}
			if st, _, _ := cw.Get("/assistance/checks"); st != 403 {
				t.Fatalf("a community worker: %d", st)
			}
		})
	})
}
