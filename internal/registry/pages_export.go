package registry

import (
	"net/http"

	"linli/internal/access"
	"linli/internal/web"
)

// exportForm is the export form, filled in from the query (a list's
// export links land here), with the caller's export jobs below it. A GET
// records nothing; the form's POST records and downloads.
func (h *Handlers) exportForm(w http.ResponseWriter, r *http.Request, v web.View) {
	q := r.URL.Query()
	jobs, err := h.Store.ExportJobs(r.Context(), 10)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Title = web.M("导出", "Export")
	v.Data = map[string]any{"Kinds": ExportKinds,
		"Kind": q.Get("kind"), "Format": q.Get("format"), "Division": q.Get("division"), "Q": q.Get("q"), "Tag": q.Get("tag"),
		"Category": q.Get("category"), "Grid": q.Get("grid"), "CanUnmask": canReveal(access.From(r.Context()), "id_number"),
		"Jobs": jobs, "CanJob": h.Store.Files != "", "AsyncRows": h.Store.asyncRows()}
	h.Pages.Render(w, r, 200, "exports", v)
}

func (s *Store) asyncRows() int {
	if s.AsyncRows > 0 {
		return s.AsyncRows
	}
	return DefaultAsyncRows
}

// pageExport answers the export form: "生成导出文件" queues a job; a
// download of more rows than a request should carry (a county) is turned
// back to the form, which offers the job instead.
func (h *Handlers) pageExport(w http.ResponseWriter, r *http.Request) error {
	o := exportOptions(r)
	ctx := r.Context()
	if r.URL.Query().Get("action") == "job" {
		j, err := h.Store.StartExportJob(ctx, o)
		if err != nil {
			return err
		}
		http.Redirect(w, r, "/registry/exports/jobs/"+j.ID, http.StatusSeeOther)
		return nil
	}
	if h.Store.Files != "" {
		x, err := h.Store.prepareExport(ctx, o)
		if err != nil {
			return err
		}
		n, err := x.Count(ctx, h.Store.asyncRows())
		if err != nil {
			return err
		}
		if n > h.Store.asyncRows() {
			h.exportForm(w, r, web.View{Alert: web.M("超过 "+itoa(h.Store.asyncRows())+" 行，请点“生成导出文件”，在后台生成后下载",
				"more than "+itoa(h.Store.asyncRows())+" rows: choose “生成导出文件 / Make the export file” and download it when it is ready")})
			return nil
		}
	}
	return h.export(w, r)
}

// pageExportJob shows a job's progress (refreshing itself, no script,
// until it ends) and its download link when ready.
func (h *Handlers) pageExportJob(w http.ResponseWriter, r *http.Request) {
	j, err := h.Store.ExportJob(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if j.Busy() {
		w.Header().Set("Refresh", "2")
	}
	ready := j.Status == JobReady && h.Store.Now().Before(j.Expires)
	h.Pages.Render(w, r, 200, "exportjob", web.View{Title: web.M("导出文件", "Export file"), Data: map[string]any{"Job": j, "Ready": ready}})
}

// downloadExportJob sends a ready file to its requester.
func (h *Handlers) downloadExportJob(w http.ResponseWriter, r *http.Request) {
	j, f, err := h.Store.OpenExportFile(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer f.Close()
	sendJobFile(w, r, j, f)
}
