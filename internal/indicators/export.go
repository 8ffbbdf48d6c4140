package indicators

import (
	"fmt"
	"net/http"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/tabular"
	"linli/internal/web"
)

// export writes the indicator view (all indicators of a division, or one
// indicator with its children when id is given) as xlsx, with the formulas
// and data sources on a second sheet and the stamp on a third. Exports
// are audited.
func (h *Handlers) export(w http.ResponseWriter, r *http.Request) {
	code, year, err := h.params(r)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	month, err := h.pageMonth(r, &year)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	inds, err := h.catalogue(r, code)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	children := false
	if id := r.URL.Query().Get("id"); id != "" {
		in, err := h.find(r, id)
		if err != nil {
			h.pageErr(w, r, err)
			return
		}
		inds, children = []Indicator{in}, true
	}
	var rows []Row
	names := map[string]string{}
	if r.URL.Query().Get("view") == "counties" && children {
		c, err := h.counties(r, inds[0].ID, year, month)
		if err != nil {
			h.pageErr(w, r, err)
			return
		}
		rows = c.Counties
		for _, rw := range rows {
			names[rw.Division] = rw.Value.Name
		}
	} else if children {
		if rows, err = h.rows(r, inds, code, year, month, true); err != nil {
			h.pageErr(w, r, err)
			return
		}
	} else {
		// The division's indicators are the dashboard's figures: the same
		// computation, reused from its cache when a viewer has made it.
		d, err := h.pageData(r, inds, code, year, month)
		if err != nil {
			h.pageErr(w, r, err)
			return
		}
		rows = d.Rows
	}
	d, err := h.Divisions.Get(r.Context(), code)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	names[code] = d.Name
	kids, _, err := h.Divisions.Children(r.Context(), code, 0, 1000)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	for _, k := range kids {
		names[k.Code] = k.Name
	}
	p := access.From(r.Context())
	stamp := [][]string{{fmt.Sprintf("邻里 Linli · %s (%s) · %d · 导出人 exported by %s · %s", names[code], code, year, p.Username, h.Store.Now().Format(time.RFC3339))}}
	values := [][]any{
		{"编号 ID", "指标 Indicator", "区划 Division", "代码 Code", "数值 Value", "分子 Numerator", "分母 Denominator", "目标 Target", "进度 Progress", "状态 Status", "期间 Period"},
	}
	opt := func(p *float64) any {
		if p == nil {
			return "无数据 no data"
		}
		return *p
	}
	for _, rw := range rows {
		values = append(values, []any{rw.ID, rw.NameZH + " / " + rw.NameEN, names[rw.Division], rw.Division,
			opt(rw.Value.Value), opt(rw.Num), opt(rw.Den), opt(rw.Value.Target), opt(rw.Progress), rw.StatusZH + " / " + rw.StatusEN, periodText(year, rw.Value)})
	}
	formulas := [][]any{{"编号 ID", "指标 Indicator", "公式 Formula", "说明 Why", "数据元 Elements"}}
	for _, in := range inds {
		els := ""
		for _, k := range in.Formula.keys() {
			if e, ok := h.Store.Elements.Get(k); ok {
				els += k + " (" + e.Source + "): " + e.NameZH + "; "
			} else {
				els += k + ": 无数据 no data; "
			}
		}
		formulas = append(formulas, []any{in.ID, in.NameZH, in.Expression, in.Why, els})
	}
	// The workbook is held until Close, so a failure before it is still a page.
	tw, err := tabular.New(w, "xlsx", tabular.Options{Sheet: "指标 Indicators", Stamp: stamp})
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	if err := writeSheets(tw, values, "公式 Formulas", formulas); err != nil {
		h.pageErr(w, r, err)
		return
	}
	if err := h.Store.Audit.Record(r.Context(), audit.Entry{Action: "indicator.export", Object: "division", ObjectID: code, Division: code,
		Detail: audit.Detail(map[string]any{"year": year, "id": r.URL.Query().Get("id")})}); err != nil {
		h.pageErr(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="linli-indicators-%s-%d.xlsx"`, code, year))
	if err := tw.Close(); err != nil {
		web.Logger(r.Context()).Error("xlsx", "err", err.Error())
	}
}

// writeSheets writes the first sheet's rows, then a second sheet, through
// the one export writer (which escapes text that looks like a formula).
func writeSheets(tw tabular.Writer, firstRows [][]any, second string, secondRows [][]any) error {
	for _, row := range firstRows {
		if err := tw.Values(row...); err != nil {
			return err
		}
	}
	if err := tw.Sheet(second); err != nil {
		return err
	}
	for _, row := range secondRows {
		if err := tw.Values(row...); err != nil {
			return err
		}
	}
	return nil
}
