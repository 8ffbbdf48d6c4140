package registry

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/web"
)

func (h *Handlers) registerImportPages(rt *web.Router) {
	rt.Page("GET /registry/import", func(w http.ResponseWriter, r *http.Request) {
		h.Pages.Render(w, r, 200, "import", web.View{Title: web.M("批量导入", "Bulk import"), Data: map[string]any{"Kinds": Kinds}})
	})
	rt.Page("POST /registry/import", h.postImport)
	rt.Page("GET /registry/import/jobs/{id}", h.pageImportJob)
	// The form, filled in from the query (a list's export links land
	// here): a GET records nothing; the form's POST records and downloads.
	rt.Page("GET /registry/exports", func(w http.ResponseWriter, r *http.Request) { h.exportForm(w, r, web.View{}) })
	rt.Page("GET /registry/export", func(w http.ResponseWriter, r *http.Request) { h.exportForm(w, r, web.View{}) })
	rt.Page("POST /registry/export", func(w http.ResponseWriter, r *http.Request) {
		err := web.ParseForm(r)
		if err == nil {
			r.URL.RawQuery = r.PostForm.Encode() // the export reads its filters where the API gets them
			err = h.pageExport(w, r)
		}
		if err != nil {
			h.fail(w, r, err)
		}
	})
	rt.Page("GET /registry/exports/jobs/{id}", h.pageExportJob)
	rt.Page("GET /registry/exports/jobs/{id}/file", h.downloadExportJob)
	rt.Page("GET /registry/templates/{kind}", func(w http.ResponseWriter, r *http.Request) {
		if err := sendTemplate(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
}

// importJob is an import running on the server; its status page refreshes
// itself (an HTTP Refresh header, no script) until the job is done.
type importJob struct {
	ID, Owner, Kind string
	Apply           bool
	Started         time.Time

	mu          sync.Mutex
	done, total int
	finished    bool
	report      Report
	err         error
}

// jobStatus is a consistent copy of a job for a page.
type jobStatus struct {
	ID, Kind             string
	Apply, Finished      bool
	Done, Total, Percent int
	Elapsed              string
	Report               *Report
}

// status reads the job at now.
func (j *importJob) status(now time.Time) jobStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := jobStatus{ID: j.ID, Kind: j.Kind, Apply: j.Apply, Finished: j.finished, Done: j.done, Total: j.total,
		Elapsed: now.Sub(j.Started).Round(100 * time.Millisecond).String()}
	if j.total > 0 {
		st.Percent = j.done * 100 / j.total
	}
	if j.finished && j.err == nil {
		rep := j.report
		st.Report = &rep
	}
	return st
}

type importJobs struct {
	mu sync.Mutex
	m  map[string]*importJob
}

// jobTTL is how long a finished job's report stays readable.
const jobTTL = time.Hour

// add keeps j, forgetting the jobs started more than jobTTL before now.
func (js *importJobs) add(j *importJob, now time.Time) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if js.m == nil {
		js.m = map[string]*importJob{}
	}
	for id, old := range js.m {
		if now.Sub(old.Started) > jobTTL {
			delete(js.m, id)
		}
	}
	js.m[j.ID] = j
}

func (js *importJobs) get(id, owner string) *importJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	if j := js.m[id]; j != nil && j.Owner == owner {
		return j
	}
	return nil
}

func (h *Handlers) postImport(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxUpload)
	view := map[string]any{"Kinds": Kinds}
	v := web.View{Title: web.M("批量导入", "Bulk import"), Data: view}
	f, _, err := r.FormFile("file")
	if err != nil {
		v.Alert = web.M("请选择不超过 64 MB 的 CSV 或 xlsx 文件", "choose a CSV or xlsx file of at most 64 MB")
		h.Pages.Render(w, r, 400, "import", v)
		return
	}
	data, err := io.ReadAll(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	kind := r.FormValue("kind")
	view["Kind"] = kind
	if _, ok := KindByKey(kind); !ok {
		v.Alert = web.M("不支持的导入类型："+kind, "unknown import kind: "+kind)
		h.Pages.Render(w, r, 400, "import", v)
		return
	}
	if !canWrite(access.From(r.Context())) {
		h.fail(w, r, errNoWrite)
		return
	}
	// The import runs on the server; the browser follows its status page.
	j := &importJob{ID: db.NewID(), Owner: access.From(r.Context()).Username, Kind: kind, Apply: r.FormValue("apply") == "1", Started: h.Store.Now()}
	h.jobs.add(j, j.Started)
	ctx := context.WithoutCancel(r.Context())
	go func() {
		rep, err := h.Store.Import(ctx, kind, data, j.Apply, func(done, total int) {
			j.mu.Lock()
			j.done, j.total = done, total
			j.mu.Unlock()
		})
		j.mu.Lock()
		j.report, j.err, j.finished = rep, err, true
		if err == nil && j.total == 0 {
			j.done, j.total = rep.Rows, rep.Rows
		}
		j.mu.Unlock()
		if err != nil {
			if _, ok := fault.As(err); !ok {
				web.Logger(ctx).Error("registry import", "kind", kind, "err", err.Error())
			}
		}
	}()
	http.Redirect(w, r, "/registry/import/jobs/"+j.ID, http.StatusSeeOther)
}

// pageImportJob shows a running import's progress, refreshing every
// second, and the dry-run or import report once it is done.
func (h *Handlers) pageImportJob(w http.ResponseWriter, r *http.Request) {
	j := h.jobs.get(r.PathValue("id"), access.From(r.Context()).Username)
	if j == nil {
		h.fail(w, r, fault.NotFound(web.M("导入任务不存在或已过期（保留 1 小时）", "no such import job, or it has expired (kept for an hour)")))
		return
	}
	st := j.status(h.Store.Now())
	view := map[string]any{"Kinds": Kinds, "Kind": st.Kind, "Job": st}
	v := web.View{Title: web.M("批量导入", "Bulk import"), Data: view}
	w.Header().Set("Cache-Control", "no-store")
	if !st.Finished {
		w.Header().Set("Refresh", "1")
		h.Pages.Render(w, r, 200, "import", v)
		return
	}
	j.mu.Lock()
	err := j.err
	j.mu.Unlock()
	if we, ok := fault.As(err); ok {
		v.Alert, v.Errors = we.Msg, we.Fields
		view["FileErrors"] = we.Fields
		h.Pages.Render(w, r, web.Status(we), "import", v)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	rep := st.Report
	view["Report"] = rep
	switch {
	case len(rep.Errors) > 0:
		v.Alert = web.M("发现问题，未导入任何数据，请修改后重新上传", "problems found; nothing was imported — fix them and upload again")
	case rep.Applied:
		v.Notice = web.M("导入完成", "import complete")
	default:
		v.Notice = web.M("检查通过，可勾选“导入”后再次上传", "the check passed; tick \"import\" and upload again")
	}
	h.Pages.Render(w, r, 200, "import", v)
}
