package indicators

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/tabular"
	"linli/internal/web"
)

// The reporting page: a division's reported data for a year (entry form for
// the elements reported at its level) and its children's state with approve
// and unlock buttons for the level above — DHIS2's data-entry and approval
// screens in one.

type reportField struct {
	Key, NameZH, NameEN string
	Value               string
	Status              string
}

type childState struct {
	Div      divisions.Division
	Values   int
	Approved int
}

type reportView struct {
	Import     *ImportReport
	DryRun     bool
	Div        divisions.Division
	Year       int
	Fields     []reportField
	Locked     bool
	CanEnter   bool
	Children   []childState
	CanApprove bool
}

func (h *Handlers) registerReport(rt *web.Router) {
	rt.Page("GET /indicators/report", h.pageReport)
	rt.Page("POST /indicators/report", h.postReport)
	rt.Page("GET /indicators/report/template", h.template)
	rt.Page("POST /indicators/report/import", h.postImport)
	rt.API("POST /api/v1/indicator-reports/import", web.Op{Summary: "导入填报数据（CSV 或 xlsx 文件为请求体，每行一个区划和年份）/ Import reported data (CSV or xlsx body, one row per division and year)", Tag: "indicators",
		Params:  []web.Param{{Name: "dry_run", Type: "boolean", Description: "只检查不写入 / check only"}},
		Accepts: []string{web.MediaCSV, web.MediaXLSX}, Response: ImportReport{}, Report: ImportReport{}}, h.apiImport)
}

func (h *Handlers) apiImport(w http.ResponseWriter, r *http.Request) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 32<<20))
	if err != nil {
		return fault.Invalid(web.M("文件不能超过 32 MB", "the file must be at most 32 MB"))
	}
	dry := r.URL.Query().Get("dry_run")
	rep, err := h.Store.Import(r.Context(), data, dry == "1" || dry == "true")
	if err != nil {
		return mapErr(err, "")
	}
	if len(rep.Errors) > 0 {
		return fileRefused(rep)
	}
	web.WriteJSON(w, 200, rep)
	return nil
}

// fileRefused is the refusal of an import file with errors: nothing was
// saved, and the report lists the rows at fault.
func fileRefused(rep ImportReport) *fault.Error {
	e := fault.Unprocessable(web.M("文件有错误，未导入任何数据", "the file has errors; nothing was imported"))
	e.Detail = rep
	return e
}

// postImport takes an uploaded file: "检查" checks it, "导入" saves it.
func (h *Handlers) postImport(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 32<<20)
	perr := r.ParseMultipartForm(8 << 20)
	q := r.URL.Query()
	q.Set("division", r.FormValue("division"))
	q.Set("period", r.FormValue("period"))
	r.URL.RawQuery = q.Encode()
	if perr != nil {
		h.renderReport(w, r, 400, web.View{Alert: web.M("请选择不超过 32 MB 的 CSV 或 xlsx 文件", "choose a CSV or xlsx file of at most 32 MB")})
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		h.renderReport(w, r, 400, web.View{Alert: web.M("请选择要导入的文件", "choose a file to import")})
		return
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		h.renderReport(w, r, 400, web.View{Alert: web.M("无法读取上传的文件", "cannot read the uploaded file")})
		return
	}
	dry := r.FormValue("apply") != "1"
	rep, err := h.Store.Import(r.Context(), data, dry)
	if err != nil {
		var we *fault.Error
		if errors.As(mapErr(err, ""), &we) {
			h.renderReport(w, r, web.Status(we), web.View{Alert: we.Msg})
			return
		}
		h.pageErr(w, r, err)
		return
	}
	v := web.View{Data: &rep}
	status := 200
	n := strconv.Itoa(rep.Values)
	switch {
	case len(rep.Errors) > 0:
		v.Alert, status = web.M("文件有错误，未导入任何数据", "the file has errors; nothing was imported"), 422
	case rep.Applied:
		v.Notice = web.M("已导入 "+n+" 个数值（草稿，待上级审核）", n+" values imported (drafts for the level above to approve)")
	default:
		v.Notice = web.M("检查通过：共 "+n+" 个数值，可以导入", "check passed: "+n+" values ready to import")
		if rep.Changed > 0 {
			c := strconv.Itoa(rep.Changed)
			v.Notice = web.M("检查通过：共 "+n+" 个数值，其中 "+c+" 个将覆盖已填的不同数值（原值记入审计日志）", "check passed: "+n+" values, of which "+c+" will overwrite different stored values (the old ones go to the audit log)")
		}
	}
	h.renderReport(w, r, status, v)
}

func (h *Handlers) pageReport(w http.ResponseWriter, r *http.Request) {
	h.renderReport(w, r, 200, web.View{})
}

func (h *Handlers) renderReport(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	code, year, err := h.params(r)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	ctx := r.Context()
	p := access.From(ctx)
	if !access.BusinessScope(p).Contains(code) {
		h.pageErr(w, r, divisionNotFound(code))
		return
	}
	div, err := h.Divisions.Get(ctx, code)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	rv := reportView{Div: div, Year: year, CanEnter: p.Role == access.Officer}
	if rep, ok := v.Data.(*ImportReport); ok {
		rv.Import, rv.DryRun = rep, !rep.Applied && len(rep.Errors) == 0
	}
	have, err := h.Store.Reported(ctx, code, year)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	got := map[string]Reported{}
	for _, x := range have {
		got[x.Element] = x
		rv.Locked = rv.Locked || x.Status == "approved"
	}
	rules, err := h.Store.rules(ctx)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	var keys []string
	for k, rl := range rules {
		if rl.Level == div.Level && strings.HasPrefix(code, rl.Owner) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := reportField{Key: k, NameZH: rules[k].NameZH, NameEN: rules[k].NameEN}
		if x, ok := got[k]; ok {
			f.Value, f.Status = strconv.FormatFloat(x.Value, 'f', -1, 64), x.Status
		}
		if s := r.PostForm.Get("v_" + k); s != "" {
			f.Value = s
		}
		rv.Fields = append(rv.Fields, f)
	}
	rv.CanApprove = p.Role == access.Officer
	kids, _, err := h.Divisions.Children(ctx, code, 0, 500)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	for _, k := range kids {
		rs, err := h.Store.Reported(ctx, k.Code, year)
		if err != nil {
			h.pageErr(w, r, err)
			return
		}
		if len(rs) == 0 {
			continue
		}
		cs := childState{Div: k, Values: len(rs)}
		for _, x := range rs {
			if x.Status == "approved" {
				cs.Approved++
			}
		}
		rv.Children = append(rv.Children, cs)
	}
	v.Title = web.M("数据填报与审核 · "+div.Name, "Reported data and approval · "+div.Name)
	v.Data = rv
	h.Pages.Render(w, r, status, "report", v)
}

func (h *Handlers) postReport(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.pageErr(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	q := r.URL.Query()
	q.Set("division", r.PostForm.Get("division"))
	q.Set("period", r.PostForm.Get("period"))
	r.URL.RawQuery = q.Encode()
	code, year, err := h.params(r)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	var notice web.Msg
	switch r.PostForm.Get("action") {
	case "enter":
		vals := map[string]float64{}
		for k, vs := range r.PostForm {
			key, ok := strings.CutPrefix(k, "v_")
			if !ok || strings.TrimSpace(vs[0]) == "" {
				continue
			}
			x, err := strconv.ParseFloat(strings.TrimSpace(vs[0]), 64)
			if err != nil {
				h.renderReport(w, r, 400, web.View{Alert: web.M(key+" 须为数字："+vs[0], key+" must be a number: "+vs[0])})
				return
			}
			vals[key] = x
		}
		err = h.Store.Enter(r.Context(), code, year, vals)
		notice = web.M("已保存为草稿，待上级审核", "saved as a draft for the level above to approve")
	case "approve", "unlock":
		target := r.PostForm.Get("child")
		err = h.Store.Approve(r.Context(), target, year, r.PostForm.Get("action") == "unlock")
		notice = web.M("已更新 "+target+" 的审核状态", "approval state of "+target+" updated")
	default:
		err = invalid("action", "未知操作", "unknown action")
	}
	var we *fault.Error
	if err != nil && errors.As(mapErr(err, code), &we) {
		h.renderReport(w, r, web.Status(we), web.View{Alert: we.Msg})
		return
	} else if err != nil {
		h.pageErr(w, r, err)
		return
	}
	h.renderReport(w, r, 200, web.View{Notice: notice})
}

// template serves the import template of a division and year, filled with
// the subtree's reporting units and what they have reported so far.
func (h *Handlers) template(w http.ResponseWriter, r *http.Request) {
	code, year, err := h.params(r)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "xlsx"
	}
	if format != "xlsx" && format != "csv" {
		h.pageErr(w, r, fault.Invalid(web.M("格式须为 xlsx 或 csv", "format must be xlsx or csv")))
		return
	}
	header, rows, err := h.Store.templateRows(r.Context(), code, year)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	ct := map[string]string{"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8"}[format]
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="linli-reported-%s-%d.%s"`, code, year, format))
	tw, err := tabular.NewWriter(w, format)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	// The answer has begun: a failure now can only be logged.
	for _, rec := range append([][]string{header}, rows...) {
		if err := tw.Row(rec...); err != nil {
			web.Logger(r.Context()).Error("template", "err", err.Error())
			return
		}
	}
	if err := tw.Close(); err != nil {
		web.Logger(r.Context()).Error("template", "err", err.Error())
	}
}
