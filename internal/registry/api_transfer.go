package registry

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"

	"linli/internal/fault"
	"linli/internal/web"
)

// MaxUpload bounds an import file (64 MiB).
const MaxUpload = 64 << 20

func (h *Handlers) registerTransfer(rt *web.Router) {
	rt.API("GET /api/v1/registry/templates/{kind}", web.Op{Summary: "下载导入模板 / Download an import template", Tag: "registry",
		Params: []web.Param{{Name: "format", Description: "csv | xlsx"}}, Produces: []string{web.MediaCSV, web.MediaXLSX}},
		sendTemplate)
	rt.API("POST /api/v1/registry/import/{kind}", web.Op{Summary: "批量导入（CSV/xlsx；默认只检查，apply=true 时全部导入或全部不导入）/ Bulk import (dry run unless apply=true; all or nothing)", Tag: "registry",
		Params: []web.Param{{Name: "apply", Type: "boolean"}}, Accepts: []string{web.MediaCSV, web.MediaXLSX}, Response: Report{}, Report: Report{}},
		func(w http.ResponseWriter, r *http.Request) error {
			data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxUpload))
			if err != nil {
				return fault.Invalid(web.M("文件超过 64 MB", "the file exceeds 64 MB"), fault.Field("file", web.M("文件过大", "too large")))
			}
			rep, err := h.Store.Import(r.Context(), r.PathValue("kind"), data, r.URL.Query().Get("apply") == "true", nil)
			if err != nil {
				return err
			}
			if len(rep.Errors) > 0 {
				e := fault.Unprocessable(web.M("文件有错误，未导入任何数据", "the file has errors; nothing was imported"))
				e.Detail = rep
				return e
			}
			web.WriteJSON(w, 200, rep)
			return nil
		})
	rt.API("GET /api/v1/registry/export/{kind}", web.Op{Summary: "导出列表 households/residents/facilities/organizations/personnel/grids（按筛选条件；默认脱敏；未脱敏须有权限并填理由，记入审计；导出人和时间在文件名、审计和 xlsx 的“导出信息”表中，CSV 第一行即表头）/ Export a list as filtered (masked unless an allowed role gives a reason; audited; the requester and time are in the file name, the audit log and an xlsx sheet of their own; a CSV file starts with its header)", Tag: "registry",
		Params: exportParams, Produces: []string{web.MediaCSV, web.MediaXLSX}, Accepted: ExportJobView{}},
		h.apiExport)
	rt.API("GET /api/v1/registry/export-jobs", web.Op{Summary: "我的导出任务（最近 20 个）/ My export jobs (the last 20)", Tag: "registry", Response: []ExportJobView{}},
		func(w http.ResponseWriter, r *http.Request) error {
			jobs, err := h.Store.ExportJobs(r.Context(), 20)
			if err != nil {
				return err
			}
			out := []ExportJobView{}
			for _, j := range jobs {
				out = append(out, h.Store.jobView(j))
			}
			web.WriteJSON(w, 200, out)
			return nil
		})
	rt.API("GET /api/v1/registry/export-jobs/{id}", web.Op{Summary: "导出任务进度；生成后 file 为下载地址 / An export job's progress; once ready, file is its download", Tag: "registry", Response: ExportJobView{}},
		func(w http.ResponseWriter, r *http.Request) error {
			j, err := h.Store.ExportJob(r.Context(), r.PathValue("id"))
			if err != nil {
				return err
			}
			v := h.Store.jobView(j)
			if j.Busy() {
				w.Header().Set("Retry-After", "2")
			}
			web.WriteJSON(w, 200, v)
			return nil
		})
	rt.API("GET /api/v1/registry/export-jobs/{id}/file", web.Op{Summary: "下载已生成的导出文件（记入审计）/ Download a ready export file (audited)", Tag: "registry",
		Produces: []string{web.MediaCSV, web.MediaXLSX}},
		func(w http.ResponseWriter, r *http.Request) error {
			j, f, err := h.Store.OpenExportFile(r.Context(), r.PathValue("id"))
			if err != nil {
				return err
			}
			defer f.Close()
			sendJobFile(w, r, j, f)
			return nil
		})
}

// exportParams are an export's filters and choices.
var exportParams = []web.Param{
	{Name: "division", Description: "区划代码，含下级 / division code (its whole subtree)"}, {Name: "q", Description: "搜索 / search"},
	{Name: "format", Description: "csv | xlsx"}, {Name: "tag"}, {Name: "category"}, {Name: "grid"}, {Name: "unmasked", Type: "boolean"}, {Name: "reason"},
}

// ExportJobView is an export job as the API gives it. An export of more
// rows than a request should carry answers 202 with it: poll href (its
// Location) until status is "ready", then download file.
type ExportJobView struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Format    string `json:"format"`
	Division  string `json:"division"`
	Status    string `json:"status"` // queued, running, ready, failed or expired
	RowsDone  int    `json:"rows_done"`
	RowsTotal int    `json:"rows_total"`
	FileName  string `json:"file_name"`
	Bytes     int64  `json:"bytes"`
	// Href is this job; File its download once ready ("" before and
	// after it expires).
	Href       string     `json:"href"`
	File       string     `json:"file"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

func (s *Store) jobView(j ExportJob) ExportJobView {
	v := ExportJobView{ID: j.ID, Kind: j.Kind, Format: j.Format, Division: j.Scope, Status: j.Status, RowsDone: j.RowsDone, RowsTotal: j.RowsTotal,
		FileName: j.FileName, Bytes: j.Bytes, Href: "/api/v1/registry/export-jobs/" + j.ID, CreatedAt: j.Created}
	if !j.Finished.IsZero() {
		v.FinishedAt = &j.Finished
	}
	if !j.Expires.IsZero() {
		v.ExpiresAt = &j.Expires
	}
	switch {
	case j.Status == JobReady && s.Now().Before(j.Expires):
		v.File = v.Href + "/file"
	case j.Status == JobReady:
		v.Status = JobExpired
	}
	return v
}

// apiExport streams an export of up to the store's bound of rows; a
// larger one (a county) is queued as a job instead, and the answer is
// 202 with the job, its Location the job to poll.
func (h *Handlers) apiExport(w http.ResponseWriter, r *http.Request) error {
	if h.Store.Files != "" {
		o := exportOptions(r)
		x, err := h.Store.prepareExport(r.Context(), o)
		if err != nil {
			return err
		}
		n, err := x.Count(r.Context(), h.Store.asyncRows())
		if err != nil {
			return err
		}
		if n > h.Store.asyncRows() {
			j, err := h.Store.StartExportJob(r.Context(), o)
			if err != nil {
				return err
			}
			v := h.Store.jobView(j)
			w.Header().Set("Location", v.Href)
			web.WriteJSON(w, http.StatusAccepted, v)
			return nil
		}
	}
	return h.export(w, r)
}

// sendJobFile sends a ready export file.
func sendJobFile(w http.ResponseWriter, r *http.Request, j ExportJob, f io.Reader) {
	setDownload(w, j.FileName, j.Format)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.FormatInt(j.Bytes, 10))
	if _, err := io.Copy(web.NewDownload(w), f); err != nil {
		// Begun and broken: the length tells the client it is short.
		web.Logger(r.Context()).Warn("export download", "err", err.Error())
	}
}

// exportOptions reads an export's choices from the query.
func exportOptions(r *http.Request) ExportOptions {
	q := r.URL.Query()
	o := ExportOptions{Kind: r.PathValue("kind"), Format: q.Get("format"), Unmasked: q.Get("unmasked") == "true", Reason: q.Get("reason"),
		Resident: residentFilter(r), Filter: Filter{Division: q.Get("division"), Category: q.Get("category"), Q: q.Get("q")},
		Household: HouseholdFilter{Division: q.Get("division"), Grid: q.Get("grid"), Q: q.Get("q")}}
	if o.Kind == "" {
		o.Kind = q.Get("kind")
	}
	if o.Format == "" {
		o.Format = "xlsx"
	}
	return o
}

func (h *Handlers) export(w http.ResponseWriter, r *http.Request) error {
	o := exportOptions(r)
	if o.Format != "csv" && o.Format != "xlsx" {
		return fault.Invalid(web.M("格式须为 csv 或 xlsx", "format must be csv or xlsx"), fault.Field("format", web.M("须为 csv 或 xlsx", "must be csv or xlsx")))
	}
	x, err := h.Store.StartExport(r.Context(), o)
	if err != nil {
		return err
	}
	setDownload(w, x.Name, x.Format)
	w.Header().Set("Cache-Control", "no-store")
	// A county's file takes longer than the server's write timeout: the
	// deadline moves with each write instead.
	out := web.NewDownload(w)
	if err := x.Write(r.Context(), out); err != nil {
		if out.Sent() == 0 {
			// Nothing has gone out yet: the failure can still be the answer.
			w.Header().Del("Content-Disposition")
			return err
		}
		// The file has begun: cut the connection, so that the client sees a
		// broken download rather than a short file that looks whole.
		web.Logger(r.Context()).Error("export", "kind", o.Kind, "err", err.Error())
		panic(http.ErrAbortHandler)
	}
	return nil
}

// sendTemplate answers with the import template of {kind} in ?format.
func sendTemplate(w http.ResponseWriter, r *http.Request) error {
	kind, format := r.PathValue("kind"), r.URL.Query().Get("format")
	if format == "" {
		format = "xlsx"
	}
	if _, ok := KindByKey(kind); !ok {
		return fault.NotFound(web.M("不支持的导入类型", "unknown import kind"))
	}
	var buf bytes.Buffer
	if err := Template(&buf, kind, format); err != nil {
		return err
	}
	return sendFile(w, "linli-"+kind+"-template."+format, format, buf.Bytes())
}

// sendFile answers with a whole file, named name, as a download.
func sendFile(w http.ResponseWriter, name, format string, body []byte) error {
	setDownload(w, name, format)
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write(body)
	return err
}

func setDownload(w http.ResponseWriter, name, format string) {
	ct := "text/csv; charset=utf-8"
	if format == "xlsx" {
		ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
}
