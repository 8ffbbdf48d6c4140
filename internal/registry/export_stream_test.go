package registry_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/module"
	"linli/internal/registry"
	"linli/internal/registry/idno"
	"linli/internal/tabular"
)

// exportRows is the size of the streaming fixture: LINLI_TEST_EXPORT_ROWS
// (100000 for the figure), else 20,000 to keep CI fast.
func exportRows() int {
	if n, err := strconv.Atoi(os.Getenv("LINLI_TEST_EXPORT_ROWS")); err == nil && n > 0 {
		return n
	}
	return 20_000
}

// loadResidents bulk-loads n synthetic residents into community, every
// one with an active tag, every fifth with two, every third with an
// expired one too.
func loadResidents(t *testing.T, e *apptest.Env, community string, n int) {
	t.Helper()
	s := registry.StoreOf(e.App.Module("registry"))
	ctx := access.With(context.Background(), &access.Principal{Username: "loader", Role: access.Officer, Division: community})
	now := e.Clock.Now()
	rows := make([]registry.ResidentRow, n)
	for i := range rows {
		// A thousand sequence numbers a birth date: every number unique.
		birth := time.Date(1930, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/1000*97)
		rows[i] = registry.ResidentRow{Line: i + 2, Division: community, HouseholdNo: fmt.Sprintf("H%06d", i/3), Address: "测试路 " + strconv.Itoa(i/3) + " 号",
			Name: []string{"王", "李", "张", "=陈"}[i%4] + strconv.Itoa(i), IDNumber: idno.Synthetic("330106", birth, i%1000), Relation: "户主", Residence: "户籍",
			Phone: fmt.Sprintf("139%08d", i)}
		if errs := s.CheckResidentRow(&rows[i], now); len(errs) > 0 {
			t.Fatalf("row %d: %v", i, errs)
		}
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, errs, err := s.LoadResidents(ctx, tx, rows, nil)
		if len(errs) > 0 {
			return fmt.Errorf("%v", errs[0])
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.Prepare(`INSERT INTO reg_resident_tags (id, resident_id, division_code, tag, since_date, until_date, source, note, detail, active, created_at) VALUES ` + s.DB.Values(0, 11))
		if err != nil {
			return err
		}
		defer st.Close()
		rs, err := tx.Query(`SELECT id FROM reg_residents WHERE division_code = $1`, community)
		if err != nil {
			return err
		}
		var ids []string
		for rs.Next() {
			var id string
			rs.Scan(&id)
			ids = append(ids, id)
		}
		rs.Close()
		for i, id := range ids {
			if _, err := st.Exec(db.NewID(), id, community, "living_alone", "2020-01-01", "", "test", "", "", true, db.T(now)); err != nil {
				return err
			}
			if i%5 == 0 {
				if _, err := st.Exec(db.NewID(), id, community, "elderly_80", "2021-01-01", "", "test", "", "", true, db.T(now)); err != nil {
					return err
				}
			}
			if i%3 == 0 {
				if _, err := st.Exec(db.NewID(), id, community, "empty_nest", "2019-01-01", "2020-01-01", "test", "", "", false, db.T(now)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// referenceCSV builds the masked residents export the old way, row by
// row: the residents in the export's order, then one query per resident
// for its active tags, each cell escaped, written by encoding/csv.
func referenceCSV(t *testing.T, d *db.DB, at time.Time) []byte {
	t.Helper()
	type res struct{ id, div, hh, name, g, birth, idm, phm, rel, resi string }
	var all []res
	err := db.EachRow(context.Background(), d.R, func(row db.Scanner) error {
		var r res
		if err := row.Scan(&r.id, &r.div, &r.hh, &r.name, &r.g, &r.birth, &r.idm, &r.phm, &r.rel, &r.resi); err != nil {
			return err
		}
		all = append(all, r)
		return nil
	}, `SELECT r.id, r.division_code, h.household_no, r.name, r.gender, r.birth_date, r.id_mask, r.phone_mask, r.relation, r.residence
		FROM reg_residents r JOIN reg_households h ON h.id = r.household_id ORDER BY r.division_code, h.household_no, r.name, r.id`)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	w.Write([]string{"区划代码", "户编号", "姓名", "性别", "年龄", "身份证号", "手机号", "与户主关系", "户籍类型", "服务对象标签"})
	residence := map[string]string{"registered": "户籍", "resident": "常住", "floating": "流动"}
	for _, r := range all {
		var tags []string
		err := db.EachRow(context.Background(), d.R, func(row db.Scanner) error {
			var tag string
			err := row.Scan(&tag)
			tags = append(tags, tag)
			return err
		}, `SELECT tag FROM reg_resident_tags WHERE resident_id = $1 AND active = TRUE ORDER BY tag`, r.id)
		if err != nil {
			t.Fatal(err)
		}
		birth, _ := time.Parse("2006-01-02", r.birth)
		cells := []string{r.div, r.hh, r.name, map[string]string{"M": "男", "F": "女"}[r.g], strconv.Itoa(idno.Age(birth, at)), r.idm, r.phm, r.rel, residence[r.resi], strings.Join(tags, ";")}
		for i := range cells {
			cells[i] = tabular.Escape(cells[i])
		}
		w.Write(cells)
	}
	w.Flush()
	return buf.Bytes()
}

// probeWriter keeps what is written and notes, at the first write, how
// many rows had been read, and the live heap after a collection at every
// MiB written: garbage not yet collected is not what the export holds.
type probeWriter struct {
	buf        bytes.Buffer
	rowsRead   *int
	firstAt    int
	wrote      bool
	sinceGC    int
	peak, base uint64
}

func liveHeap() uint64 {
	runtime.GC()
	return heapBytes()
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func (p *probeWriter) Write(b []byte) (int, error) {
	if !p.wrote {
		p.wrote, p.firstAt = true, *p.rowsRead
	}
	if p.sinceGC += len(b); p.sinceGC >= 1<<20 {
		p.sinceGC, p.peak = 0, max(p.peak, liveHeap())
	}
	return p.buf.Write(b)
}

// Not parallel, not even its two stores: the heap is the process's, and
// another test's data, or the other store's app starting up, would count
// as the export's (it did: 22 MB while PostgreSQL's app was migrating).
func TestExportStreamsTheSameBytesInFlatMemory(t *testing.T) {
	n := exportRows()
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) { exportStreamsFlat(t, apptest.New(t, dbtest.Open(t, dialect, nil)), n) })
	}
}

func exportStreamsFlat(t *testing.T, e *apptest.Env, n int) {
	t0 := time.Now()
	loadResidents(t, e, communityA, n)
	t.Logf("%d residents loaded in %.1fs", n, time.Since(t0).Seconds())
	s := registry.StoreOf(e.App.Module("registry"))
	ctx := access.With(context.Background(), &access.Principal{Username: "officer.c", Role: access.Officer, Division: apptest.County})
	var out probeWriter
	t.Run("the CSV streams: bytes leave before a tenth of the rows are read, and live heap stays under 4 MiB above the start (the file alone is 2.4 MB)", func(t *testing.T) {
		x, err := s.StartExport(ctx, registry.ExportOptions{Kind: "residents", Format: "csv"})
		if err != nil {
			t.Fatal(err)
		}
		rows := 0
		x.Progress = func(done int) { rows = done }
		out.rowsRead = &rows
		out.buf.Grow(n * 120) // the kept copy is the test's, not the export's
		out.base = liveHeap()
		out.peak = out.base
		if err := x.Write(ctx, &out); err != nil {
			t.Fatal(err)
		}
		if rows != n || out.firstAt >= n/10 {
			t.Fatalf("%d rows; first byte after %d rows", rows, out.firstAt)
		}
		growth := int64(out.peak) - int64(out.base)
		t.Logf("first byte after %d of %d rows; live heap grew at most %.1f MiB", out.firstAt, n, float64(growth)/(1<<20))
		if growth > 4<<20 {
			t.Fatalf("live heap grew %d bytes while streaming %d rows", growth, n)
		}
	})
	t.Run("the file is byte for byte the reference built row by row with a tag query per resident", func(t *testing.T) {
		want := referenceCSV(t, e.App.DB, e.Clock.Now().In(time.FixedZone("CST", 8*3600)))
		if !bytes.Equal(out.buf.Bytes(), want) {
			got := out.buf.String()
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Fatalf("differs at byte %d of %d/%d: got %.200q want %.200q", i, len(got), len(want), got[i:], want[i:])
		}
		if lines := bytes.Count(want, []byte("\n")); lines != n+1 {
			t.Fatalf("%d lines for %d residents", lines, n)
		}
	})
}

func TestExportJobLifecycle(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		loadResidents(t, e, communityA, 12)
		s := registry.StoreOf(e.App.Module("registry"))
		s.AsyncRows = 5
		e.User("officer.c", access.Officer, apptest.County)
		e.User("officer.d", access.Officer, apptest.County)
		owner, other := e.Login("officer.c"), e.Login("officer.d")
		form := map[string]string{"kind": "residents", "format": "csv", "action": "download"}
		var id string
		t.Run("a download above the bound is turned back to the form, which offers 生成导出文件", func(t *testing.T) {
			st, html, h := owner.Form("/registry/export", form, sameOrigin)
			if st != 200 || h.Get("Content-Disposition") != "" || !strings.Contains(html, "生成导出文件") || !strings.Contains(html, "超过 5 行") {
				t.Fatalf("%d %s %.400s", st, h.Get("Content-Disposition"), html)
			}
		})
		t.Run("生成导出文件 queues a job whose page refreshes itself", func(t *testing.T) {
			form["action"] = "job"
			st, _, h := owner.Form("/registry/export", form, sameOrigin)
			id = strings.TrimPrefix(h.Get("Location"), "/registry/exports/jobs/")
			if st != 303 || id == "" || strings.Contains(id, "/") {
				t.Fatalf("%d %q", st, h.Get("Location"))
			}
			st, html, h := owner.Get("/registry/exports/jobs/" + id)
			if st != 200 || h.Get("Refresh") == "" || !strings.Contains(html, "排队中") || !strings.Contains(html, "0 / 12") || strings.Contains(html, "job-download") {
				t.Fatalf("%d %q %.600s", st, h.Get("Refresh"), html)
			}
		})
		t.Run("the worker makes the file as the requester; the page shows every row and the link, and stops refreshing", func(t *testing.T) {
			if n, err := s.RunExportJobs(context.Background()); err != nil || n != 1 {
				t.Fatalf("%d %v", n, err)
			}
			st, html, h := owner.Get("/registry/exports/jobs/" + id)
			if st != 200 || h.Get("Refresh") != "" || !strings.Contains(html, "12 / 12") || !strings.Contains(html, "job-download") {
				t.Fatalf("%d %.600s", st, html)
			}
			fi, err := os.Stat(filepath.Join(e.App.Cfg.DataDir, "exports", id+".csv"))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("file: %v %v", fi, err)
			}
		})
		t.Run("the requester downloads the same rows as a direct export", func(t *testing.T) {
			st, body, h := owner.Get("/registry/exports/jobs/" + id + "/file")
			if st != 200 || !strings.Contains(h.Get("Content-Disposition"), "officer.c-masked.csv") {
				t.Fatalf("%d %q", st, h.Get("Content-Disposition"))
			}
			s.AsyncRows = 0 // the API streams up to the bound, and queues a job above it (TestAPIExportJob)
			st, direct := owner.Do("GET", "/api/v1/registry/export/residents?format=csv", nil)
			if st != 200 || body != direct || strings.Count(body, "\n") != 13 {
				t.Fatalf("job file %d bytes, direct %d bytes (%d)", len(body), len(direct), st)
			}
		})
		t.Run("another officer of the same county neither sees nor downloads it", func(t *testing.T) {
			for _, p := range []string{"", "/file"} {
				if st, _, _ := other.Get("/registry/exports/jobs/" + id + p); st != 404 {
					t.Fatalf("%s: %d", p, st)
				}
			}
		})
		t.Run("the workbench lists the ready file for its requester only", func(t *testing.T) {
			ws := e.App.Module("registry").(module.WorkSource)
			items, err := ws.Work(context.Background(), &access.Principal{Username: "officer.c", Role: access.Officer, Division: apptest.County}, 10)
			if err != nil || len(items) != 1 || items[0].Href != "/registry/exports/jobs/"+id || items[0].Kind != "registry.export.ready" {
				t.Fatalf("%+v %v", items, err)
			}
			if items, _ := ws.Work(context.Background(), &access.Principal{Username: "officer.d", Role: access.Officer, Division: apptest.County}, 10); len(items) != 0 {
				t.Fatalf("other's workbench: %+v", items)
			}
		})
		t.Run("after a day the file is deleted and the link refused", func(t *testing.T) {
			if n, err := s.ExpireExportJobs(context.Background()); err != nil || n != 0 {
				t.Fatalf("expired early: %d %v", n, err)
			}
			e.Clock.Add(registry.ExportKeep + time.Minute)
			if n, err := s.ExpireExportJobs(context.Background()); err != nil || n != 1 {
				t.Fatalf("%d %v", n, err)
			}
			if _, err := os.Stat(filepath.Join(e.App.Cfg.DataDir, "exports", id+".csv")); !os.IsNotExist(err) {
				t.Fatalf("file still there: %v", err)
			}
			owner = e.Login("officer.c") // the session of a day ago has ended
			if st, _, _ := owner.Get("/registry/exports/jobs/" + id + "/file"); st != 404 {
				t.Fatalf("download after expiry: %d", st)
			}
		})
		t.Run("every step is in the audit log", func(t *testing.T) {
			for _, a := range []string{"registry.export", "registry.export.ready", "registry.export.download", "registry.export.expire"} {
				if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = $1 AND object_id = $2`, a, id); n != 1 {
					t.Fatalf("%s: %d entries", a, n)
				}
			}
		})
	})
}
