package registry_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/registry"
)

// TestAPIExportJob follows an API export above the bound: the answer is
// 202 with a job to poll, and the file it makes is the one a direct
// export streams.
func TestAPIExportJob(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		loadResidents(t, e, communityA, 12)
		s := registry.StoreOf(e.App.Module("registry"))
		e.User("officer.api", access.Officer, apptest.County)
		e.User("officer.peer", access.Officer, apptest.County)
		owner, other := e.Login("officer.api"), e.Login("officer.peer")
		const export = "/api/v1/registry/export/residents?format=csv"
		var direct, href string
		job := func(t *testing.T, c *apptest.Client, path string) registry.ExportJobView {
			t.Helper()
			st, body, _ := c.Get(path)
			var v registry.ExportJobView
			if st != 200 || json.Unmarshal([]byte(body), &v) != nil {
				t.Fatalf("%s: %d %s", path, st, body)
			}
			return v
		}
		t.Run("an export within the bound streams the file", func(t *testing.T) {
			st, body, h := owner.Get(export)
			if st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || strings.Count(body, "\n") != 13 {
				t.Fatalf("%d %s %d lines", st, h.Get("Content-Type"), strings.Count(body, "\n"))
			}
			direct = body
		})
		s.AsyncRows = 5
		t.Run("above the bound it answers 202 with the queued job at its Location", func(t *testing.T) {
			st, body, h := owner.Get(export)
			var v registry.ExportJobView
			if err := json.Unmarshal([]byte(body), &v); st != 202 || err != nil {
				t.Fatalf("%d %v %.300s", st, err, body)
			}
			href = h.Get("Location")
			if href == "" || href != v.Href || !strings.HasPrefix(href, "/api/v1/registry/export-jobs/") || v.Status != registry.JobQueued ||
				v.RowsTotal != 12 || v.File != "" || h.Get("Content-Disposition") != "" {
				t.Fatalf("Location %q, job %+v", href, v)
			}
		})
		t.Run("polling shows it queued, then ready with its file once the worker has made it", func(t *testing.T) {
			if _, _, h := owner.Get(href); h.Get("Retry-After") == "" {
				t.Fatal("a queued job says when to ask again")
			}
			if v := job(t, owner, href); v.Status != registry.JobQueued || v.FinishedAt != nil {
				t.Fatalf("%+v", v)
			}
			if n, err := s.RunExportJobs(context.Background()); err != nil || n != 1 {
				t.Fatalf("%d %v", n, err)
			}
			v := job(t, owner, href)
			if v.Status != registry.JobReady || v.File != href+"/file" || v.RowsDone != 12 || v.Bytes != int64(len(direct)) || v.FinishedAt == nil || v.ExpiresAt == nil {
				t.Fatalf("%+v", v)
			}
		})
		t.Run("the file arrives, byte for byte the streamed export", func(t *testing.T) {
			st, body, h := owner.Get(href + "/file")
			if st != 200 || body != direct || h.Get("Content-Length") != strconv.Itoa(len(direct)) || !strings.Contains(h.Get("Content-Disposition"), "officer.api-masked.csv") {
				t.Fatalf("%d %q %q: %d bytes, streamed %d", st, h.Get("Content-Length"), h.Get("Content-Disposition"), len(body), len(direct))
			}
		})
		t.Run("the requester's job list holds it; another officer neither lists, polls nor downloads it", func(t *testing.T) {
			st, body, _ := owner.Get("/api/v1/registry/export-jobs")
			var mine []registry.ExportJobView
			if st != 200 || json.Unmarshal([]byte(body), &mine) != nil || len(mine) != 1 || mine[0].Href != href {
				t.Fatalf("%d %s", st, body)
			}
			if st, body, _ := other.Get("/api/v1/registry/export-jobs"); st != 200 || strings.TrimSpace(body) != "[]" {
				t.Fatalf("other's list: %d %s", st, body)
			}
			for _, p := range []string{href, href + "/file"} {
				if st, _, _ := other.Get(p); st != 404 {
					t.Fatalf("%s: %d", p, st)
				}
			}
		})
		t.Run("the job and the download are in the audit log", func(t *testing.T) {
			id := strings.TrimPrefix(href, "/api/v1/registry/export-jobs/")
			for _, a := range []string{"registry.export", "registry.export.ready", "registry.export.download"} {
				if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = $1 AND object_id = $2`, a, id); n != 1 {
					t.Fatalf("%s: %d entries", a, n)
				}
			}
		})
	})
}
