package assistance

import (
	"io"
	"net/http"
	"strconv"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

// maxAnswer bounds a 核对 centre's answer file (8 MiB: some 50,000 rows).
const maxAnswer = 8 << 20

// registerChecks mounts the economic check's file exchange: its API and
// its officers' page.
func (h *handlers) registerChecks(rt *web.Router) {
	x := FileExchange{Store: h.store}
	const tag = "assistance"
	rt.API("GET /api/v1/assistance/checks", web.Op{Summary: "家庭经济状况核对批次（县、乡镇民政干部，按 cursor 翻页）/ Economic check batches (county and township officers, paged by cursor)", Tag: tag,
		Response: CheckBatchPage{}, Params: []web.Param{keyset.Param, {Name: "page_size", Type: "integer"}}}, func(w http.ResponseWriter, r *http.Request) error {
		size := 20
		if v := r.URL.Query().Get("page_size"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("page_size", fault.M("每页条数为 1–100", "page_size is 1–100")))
			}
			size = n
		}
		pg, err := h.store.Batches(r.Context(), r.URL.Query().Get("cursor"), size)
		if err != nil {
			return err
		}
		web.WriteJSON(w, 200, pg)
		return nil
	})
	rt.API("POST /api/v1/assistance/checks", web.Op{Summary: "导出新核对批次：辖区内核对中、已授权的申请的全部成员（记入审计）/ Export a new check batch: every member of the consenting applications in Checking (audited)", Tag: tag,
		Response: CheckBatch{}, Status: 201}, func(w http.ResponseWriter, r *http.Request) error {
		b, err := x.Send(r.Context())
		if err != nil {
			return err
		}
		web.WriteJSON(w, 201, b)
		return nil
	})
	rt.API("GET /api/v1/assistance/checks/{id}/file", web.Op{Summary: "下载核对批次文件（姓名、身份证号全文，每次下载记入审计）/ Download a batch's file (full names and identity numbers; every download audited)", Tag: tag,
		Params: []web.Param{{Name: "format", Description: "csv | xlsx"}}, Produces: []string{web.MediaCSV, web.MediaXLSX}}, func(w http.ResponseWriter, r *http.Request) error {
		f, err := x.File(r.Context(), r.PathValue("id"), r.URL.Query().Get("format"))
		if err != nil {
			return err
		}
		sendCheckFile(w, f)
		return nil
	})
	rt.API("POST /api/v1/assistance/checks/import", web.Op{Summary: "导入核对中心反馈文件（CSV 或 xlsx；任一行有误则全部不写入）/ Import the centre's answer (CSV or xlsx; any bad row and nothing is written)", Tag: tag,
		Accepts: []string{web.MediaCSV, web.MediaXLSX}, Response: CheckReport{}, Report: CheckReport{}}, func(w http.ResponseWriter, r *http.Request) error {
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAnswer))
		if err != nil {
			return fault.Invalid(fault.M("文件超过 8 MB", "the file exceeds 8 MB"), fault.Field("file", fault.M("文件过大", "too large")))
		}
		rep, err := x.Receive(r.Context(), data)
		if err != nil {
			return err
		}
		if len(rep.Errors) > 0 {
			e := fault.Unprocessable(fault.M("文件有错误，未导入任何数据", "the file has errors; nothing was imported"))
			e.Detail = rep
			return e
		}
		web.WriteJSON(w, 200, rep)
		return nil
	})
	rt.Page("GET /assistance/checks", func(w http.ResponseWriter, r *http.Request) { h.pageChecks(w, r, 200, web.View{}, nil) })
	rt.Page("POST /assistance/checks", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.FormValue("confirm") != "yes" {
			fe := fault.Field("confirm", fault.M("请勾选确认：导出的文件含姓名和身份证号", "tick to confirm: the file holds names and identity numbers"))
			h.pageChecks(w, r, 400, web.View{Alert: fault.M(fe.Message, fe.MessageEN), Errors: []fault.FieldError{fe}}, nil)
			return
		}
		b, err := x.Send(r.Context())
		if err != nil {
			h.checksFailed(w, r, err, nil)
			return
		}
		http.Redirect(w, r, "/assistance/checks?exported="+b.ID, http.StatusSeeOther)
	})
	rt.Page("POST /assistance/checks/import", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxAnswer+1<<20)
		noFile := fault.Field("file", fault.M("请选择不超过 8 MB 的 CSV 或 xlsx 文件", "choose a CSV or xlsx file of at most 8 MB"))
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			h.pageChecks(w, r, 400, web.View{Alert: fault.M(noFile.Message, noFile.MessageEN), Errors: []fault.FieldError{noFile}}, nil)
			return
		}
		f, _, err := r.FormFile("file")
		if err != nil {
			h.pageChecks(w, r, 400, web.View{Alert: fault.M(noFile.Message, noFile.MessageEN), Errors: []fault.FieldError{noFile}}, nil)
			return
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxAnswer))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		rep, err := x.Receive(r.Context(), data)
		if err == nil && len(rep.Errors) > 0 {
			h.pageChecks(w, r, 422, web.View{Alert: fault.M("文件有错误，未导入任何数据", "the file has errors; nothing was imported")}, &rep)
			return
		}
		if err != nil {
			h.checksFailed(w, r, err, nil)
			return
		}
		http.Redirect(w, r, "/assistance/checks?imported="+strconv.Itoa(rep.Applications), http.StatusSeeOther)
	})
	rt.Page("GET /assistance/checks/{id}/file", func(w http.ResponseWriter, r *http.Request) {
		f, err := x.File(r.Context(), r.PathValue("id"), r.URL.Query().Get("format"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		sendCheckFile(w, f)
	})
}

func sendCheckFile(w http.ResponseWriter, f *CheckFile) {
	ct := web.MediaCSV + "; charset=utf-8"
	if f.Format == "xlsx" {
		ct = web.MediaXLSX
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="`+f.Name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_ = f.Write(w) // after the first byte an error can only cut the file short
}

// checksFailed shows a refusal on the page itself (a 409 for nothing to
// export, a bad file), other errors as the module's message page.
func (h *handlers) checksFailed(w http.ResponseWriter, r *http.Request, err error, rep *CheckReport) {
	if we, ok := fault.As(err); ok && (we.Code == fault.CodeConflict || we.Code == fault.CodeInvalid) {
		h.pageChecks(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields}, rep)
		return
	}
	h.fail(w, r, err)
}

type checksView struct {
	Batches []CheckBatch
	Pager   web.Pager
	Waiting int
	// ValidDays is how long a result counts (CheckValidDays).
	ValidDays int
	Report    *CheckReport
	Empty     fault.Msg
}

func (h *handlers) pageChecks(w http.ResponseWriter, r *http.Request, status int, v web.View, rep *CheckReport) {
	ctx := r.Context()
	if err := checkOfficer(access.From(ctx)); err != nil {
		h.fail(w, r, err)
		return
	}
	cursor := r.URL.Query().Get("cursor")
	pg, err := h.store.Batches(ctx, cursor, 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	waiting, err := h.store.Waiting(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	first, next := keyset.Links(r, cursor, pg.Next)
	cv := checksView{Batches: pg.Items, Pager: keyset.Pager(first, next, pg.Total, pg.Capped, ListCountCap), Waiting: waiting, ValidDays: CheckValidDays, Report: rep,
		Empty: fault.M("还没有核对批次", "No check batch yet")}
	if id := r.URL.Query().Get("exported"); id != "" && status == 200 {
		v.Notice = fault.M("已生成核对批次 "+id+"，请下载文件送交核对中心", "batch "+id+" is ready: download its file for the check centre")
	}
	if n := r.URL.Query().Get("imported"); n != "" && status == 200 {
		v.Notice = fault.M("核对结果已导入："+n+" 份申请转入入户调查", "results imported: "+n+" applications moved on to the home investigation")
	}
	v.Title, v.Data = fault.M("家庭经济状况核对", "Household economic check"), cv
	h.pages.Render(w, r, status, "checks", v)
}
