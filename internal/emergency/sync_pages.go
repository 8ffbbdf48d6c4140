package emergency

import (
	"net/http"
	"strconv"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/web"
)

// registerSync adds the export and import of an incident's records, as
// API operations and as pages for officers.
func (h *Handlers) registerSync(rt *web.Router) {
	const tag = "emergency"
	rt.API("GET /api/v1/emergency/alerts/{id}/export", web.Op{Summary: "导出该预警所属事件的响应记录（JSON Lines，含格式版本和 SHA-256；乡镇、县级干部）/ Export the records of the warning's incident (JSON Lines with format version and SHA-256; officers)",
		Tag: tag, Produces: []string{MediaSync}}, h.apiExport)
	rt.API("POST /api/v1/emergency/import", web.Op{Summary: "合并导入离线运行导出的事件记录（先整体校验；重复导入不改变任何数据）/ Merge an exported incident's records (checked whole first; importing again changes nothing)",
		Tag: tag, Accepts: []string{MediaSync}, Response: SyncResult{}}, h.apiSyncImport)
	rt.Page("GET /emergency/alerts/{id}/export", func(w http.ResponseWriter, r *http.Request) {
		if err := h.writeExport(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
	rt.Page("GET /emergency/sync", func(w http.ResponseWriter, r *http.Request) { h.pageSync(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/sync", h.postSync)
}

func (h *Handlers) writeExport(w http.ResponseWriter, r *http.Request) error {
	x, err := h.Store.ExportIncident(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", MediaSync+"; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+x.Name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(x.Body)))
	w.WriteHeader(200)
	w.Write(x.Body)
	return nil
}

func (h *Handlers) apiExport(w http.ResponseWriter, r *http.Request) error {
	return h.writeExport(w, r)
}

func (h *Handlers) apiSyncImport(w http.ResponseWriter, r *http.Request) error {
	res, err := h.Store.ImportIncident(r.Context(), http.MaxBytesReader(w, r.Body, syncMaxBytes))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, res)
	return nil
}

type syncView struct {
	Result   *SyncResult
	Problems []fault.FieldError
}

func (h *Handlers) pageSync(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	if p := access.From(r.Context()); p.Role != access.Officer {
		h.fail(w, r, fault.Forbidden(fault.M("只有乡镇（街道）、县级干部可以导入事件记录", "only township and county officers import an incident's records")))
		return
	}
	if v.Data == nil {
		v.Data = syncView{}
	}
	v.Title = web.M("导入离线运行的事件记录", "Import an incident's records from an offline instance")
	v.Crumbs = []web.Crumb{{Href: "/emergency", Label: web.M("应急预警", "Warnings")}, {Label: v.Title}}
	h.Pages.Render(w, r, status, "sync", v)
}

func (h *Handlers) postSync(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, syncMaxBytes+1<<20)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		h.pageSync(w, r, 400, web.View{Alert: web.M("请选择不超过 64 MB 的导出文件", "choose an export file of at most 64 MB")})
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		h.pageSync(w, r, 400, web.View{Alert: web.M("请选择要导入的文件", "choose a file to import")})
		return
	}
	defer f.Close()
	res, err := h.Store.ImportIncident(r.Context(), f)
	if err != nil {
		if we, ok := fault.As(err); ok {
			h.pageSync(w, r, web.Status(we), web.View{Alert: we.Msg, Data: syncView{Problems: we.Fields}})
			return
		}
		h.fail(w, r, err)
		return
	}
	notice := web.M("已合并：新增预警 "+itoa(res.AlertsAdded)+" 条、报平安记录 "+itoa(res.ChecksAdded)+" 条，以导入为准更新 "+itoa(res.ChecksUpdated)+" 条，新增状态记录 "+itoa(res.EventsAdded)+" 条",
		"Merged: "+itoa(res.AlertsAdded)+" warnings and "+itoa(res.ChecksAdded)+" checks added, "+itoa(res.ChecksUpdated)+" checks updated, "+itoa(res.EventsAdded)+" status events added")
	if res.Unchanged() {
		notice = web.M("该文件的记录均已在本系统中，未作任何改动", "every record of the file is here already; nothing changed")
	}
	h.pageSync(w, r, 200, web.View{Notice: notice, Data: syncView{Result: &res}})
}
