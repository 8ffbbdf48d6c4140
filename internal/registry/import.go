package registry

import (
	"io"
	"net/http"

	"linli/internal/web"
)

func (h *Handlers) registerImportPages(rt *web.Router) {
	rt.Page("GET /registry/import", func(w http.ResponseWriter, r *http.Request) {
		h.Pages.Render(w, r, 200, "import", web.View{Title: web.M("批量导入", "Bulk import"), Data: map[string]any{"Kinds": Kinds}})
	})
	rt.Page("POST /registry/import", h.postImport)
	rt.Page("GET /registry/export", func(w http.ResponseWriter, r *http.Request) {
		if err := h.export(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
	rt.Page("GET /registry/templates/{kind}", func(w http.ResponseWriter, r *http.Request) {
		format := r.URL.Query().Get("format")
		if format == "" {
			format = "xlsx"
		}
		if _, ok := KindByKey(r.PathValue("kind")); !ok {
			h.fail(w, r, web.NotFound(web.M("不支持的导入类型", "unknown import kind")))
			return
		}
		setDownload(w, r.PathValue("kind")+"-template", format)
		Template(w, r.PathValue("kind"), format)
	})
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
	f.Close()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	kind := r.FormValue("kind")
	view["Kind"] = kind
	rep, err := h.Store.Import(r.Context(), kind, data, r.FormValue("apply") == "1", nil)
	if we, ok := err.(*web.Error); ok {
		v.Alert, v.Errors = we.Msg, we.Fields
		h.Pages.Render(w, r, we.Status, "import", v)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
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
