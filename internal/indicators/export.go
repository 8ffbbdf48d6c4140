package indicators

import (
	"fmt"
	"net/http"
	"time"

	"github.com/xuri/excelize/v2"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/web"
)

// export writes the indicator view (all indicators of a division, or one
// indicator with its children when id is given) as xlsx, with the formulas
// and data sources on a second sheet. Exports are audited.
func (h *Handlers) export(w http.ResponseWriter, r *http.Request) {
	code, year, err := h.params(r)
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
		c, err := h.counties(r, inds[0].ID, year)
		if err != nil {
			h.pageErr(w, r, err)
			return
		}
		rows = c.Counties
		for _, rw := range rows {
			names[rw.Division] = rw.Value.Name
		}
	} else if rows, err = h.rows(r, inds, code, year, children); err != nil {
		h.pageErr(w, r, err)
		return
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
	values := [][]any{
		{fmt.Sprintf("邻里 Linli · %s (%s) · %d · 导出人 exported by %s · %s", names[code], code, year, p.Username, h.Store.Now().Format(time.RFC3339))},
		{"编号 ID", "指标 Indicator", "区划 Division", "代码 Code", "数值 Value", "分子 Numerator", "分母 Denominator", "目标 Target", "进度 Progress", "状态 Status"},
	}
	opt := func(p *float64) any {
		if p == nil {
			return "无数据 no data"
		}
		return *p
	}
	for _, rw := range rows {
		values = append(values, []any{rw.ID, rw.NameZH + " / " + rw.NameEN, names[rw.Division], rw.Division,
			opt(rw.Value.Value), opt(rw.Num), opt(rw.Den), opt(rw.Value.Target), opt(rw.Progress), rw.StatusZH + " / " + rw.StatusEN})
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
	f := excelize.NewFile()
	defer f.Close()
	if err := writeSheets(f, "指标 Indicators", values, "公式 Formulas", formulas); err != nil {
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
	if err := f.Write(w); err != nil {
		web.Logger(r.Context()).Error("xlsx", "err", err.Error())
	}
}

// writeSheets fills the workbook's first sheet and a second one, each
// from A1 down.
func writeSheets(f *excelize.File, first string, firstRows [][]any, second string, secondRows [][]any) error {
	if err := f.SetSheetName("Sheet1", first); err != nil {
		return err
	}
	if _, err := f.NewSheet(second); err != nil {
		return err
	}
	for name, rows := range map[string][][]any{first: firstRows, second: secondRows} {
		for i, row := range rows {
			if err := f.SetSheetRow(name, fmt.Sprintf("A%d", i+1), &row); err != nil {
				return err
			}
		}
	}
	return nil
}
