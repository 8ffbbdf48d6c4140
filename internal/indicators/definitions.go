package indicators

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/web"
)

// ElementInfo describes a data element for those writing formulas.
type ElementInfo struct {
	Key       string `json:"key"`
	NameZH    string `json:"name_zh"`
	NameEN    string `json:"name_en"`
	Source    string `json:"source"`    // computed / reported
	Available bool   `json:"available"` // false: its module is not live, it reads 'no data'
}

// ElementList is the data elements sorted by key.
func ElementList() []ElementInfo {
	out := make([]ElementInfo, 0, len(Elements))
	for k, e := range Elements {
		out = append(out, ElementInfo{Key: k, NameZH: e.NameZH, NameEN: e.NameEN, Source: e.Source, Available: e.Sum != nil})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func (h *Handlers) registerDefinitions(rt *web.Router) {
	rt.API("GET /api/v1/data-elements", web.Op{Summary: "数据元素（写公式用）/ Data elements that formulas name", Tag: "indicators", Response: []ElementInfo{}},
		func(w http.ResponseWriter, r *http.Request) error { web.WriteJSON(w, 200, ElementList()); return nil })
	rt.API("POST /api/v1/indicator-definitions", web.Op{Summary: "新增自设指标 / Add an own indicator", Tag: "indicators", Body: Definition{}, Response: Indicator{}, Status: 201}, h.apiDefine(false))
	rt.API("PUT /api/v1/indicator-definitions/{id}", web.Op{Summary: "修改自设指标 / Change an own indicator", Tag: "indicators", Body: Definition{}, Response: Indicator{}}, h.apiDefine(true))
	rt.API("DELETE /api/v1/indicator-definitions/{id}", web.Op{Summary: "删除自设指标（连同其目标）/ Delete an own indicator with its targets", Tag: "indicators", Status: 204}, h.apiUndefine)
	rt.Page("GET /indicators/catalogue", h.pageCatalogue)
	rt.Page("POST /indicators/catalogue", h.postCatalogue)
}

func (h *Handlers) apiDefine(update bool) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var d Definition
		if err := web.DecodeJSON(w, r, &d); err != nil {
			return err
		}
		status := 201
		if update {
			d.ID, status = r.PathValue("id"), 200
		}
		in, err := h.Store.Define(r.Context(), d, update)
		if err != nil {
			return mapErr(err, d.Division)
		}
		web.WriteJSON(w, status, in)
		return nil
	}
}

func (h *Handlers) apiUndefine(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := h.Store.Undefine(r.Context(), id); err != nil {
		if !errors.Is(err, db.ErrNotFound) {
			return mapErr(err, "")
		}
		return web.NotFound(web.M("没有可删除的自设指标 "+id, "no own indicator "+id+" that you may delete"))
	}
	w.WriteHeader(204)
	return nil
}

type catalogueRow struct {
	Indicator
	OwnerName string
	CanEdit   bool
}

type catalogueView struct {
	Rows     []catalogueRow
	Elements []ElementInfo
	CanAdd   bool
	Editing  string // the ID being changed, "" for a new one
	Deleting *catalogueRow
}

func (h *Handlers) pageCatalogue(w http.ResponseWriter, r *http.Request) {
	h.renderCatalogue(w, r, 200, web.View{})
}

func (h *Handlers) renderCatalogue(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	all, err := h.visible(r)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	cv := catalogueView{Elements: ElementList(), CanAdd: p.Role == access.Officer}
	sc := access.BusinessScope(p)
	q := r.URL.Query()
	for _, in := range all {
		row := catalogueRow{Indicator: in, OwnerName: "浙江省规划 / the plan"}
		if in.Owner != "" {
			row.OwnerName = in.Owner
			if d, err := h.Divisions.Get(ctx, in.Owner); err == nil {
				row.OwnerName = d.Name
			}
			row.CanEdit = p.Role == access.Officer && sc.Contains(in.Owner)
		}
		cv.Rows = append(cv.Rows, row)
		if row.CanEdit && q.Get("delete") == in.ID {
			cv.Deleting = &row
		}
		if row.CanEdit && q.Get("edit") == in.ID && v.Form == nil {
			cv.Editing = in.ID
			v.Form = url.Values{"id": {in.ID}, "division_code": {in.Owner}, "name_zh": {in.NameZH}, "name_en": {in.NameEN}, "unit": {in.Unit},
				"formula": {in.Definition}, "target_year": {strconv.Itoa(in.TargetYear)}, "attribute": {in.Attribute}, "direction": {in.Direction}, "why": {in.Why}}
			if in.Baseline != nil {
				v.Form.Set("baseline", strconv.FormatFloat(*in.Baseline, 'f', -1, 64))
			}
			if in.Target != nil {
				v.Form.Set("target", strconv.FormatFloat(*in.Target, 'f', -1, 64))
			}
		}
	}
	if v.Form == nil {
		v.Form = url.Values{"division_code": {p.Division}, "target_year": {"2025"}}
	}
	if v.Form.Get("action") == "redefine" {
		cv.Editing = v.Form.Get("id")
	}
	v.Title = web.M("指标目录与自设指标", "Indicator catalogue and own indicators")
	v.Data = cv
	h.Pages.Render(w, r, status, "catalogue", v)
}

func (h *Handlers) postCatalogue(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f := r.PostForm
	var err error
	var notice web.Msg
	switch f.Get("action") {
	case "define", "redefine":
		d := Definition{ID: f.Get("id"), Division: strings.TrimSpace(f.Get("division_code")), NameZH: f.Get("name_zh"), NameEN: f.Get("name_en"),
			Unit: f.Get("unit"), Formula: f.Get("formula"), Attribute: f.Get("attribute"), Direction: f.Get("direction"), Why: f.Get("why")}
		if d.Baseline, err = optNumber(f, "baseline", "基期值", "baseline"); err == nil {
			if d.Target, err = optNumber(f, "target", "目标值", "target"); err == nil {
				if s := strings.TrimSpace(f.Get("target_year")); s != "" {
					if d.TargetYear, err = strconv.Atoi(s); err != nil {
						err = &Problem{"target_year", "目标年份须为整数", "the target year must be a whole number"}
					}
				}
			}
		}
		if err == nil {
			var in Indicator
			in, err = h.Store.Define(r.Context(), d, f.Get("action") == "redefine")
			notice = web.M("已保存指标 "+in.ID+"：公式 "+in.Expression, "indicator "+in.ID+" saved: "+in.Expression)
		}
	case "delete":
		if f.Get("confirm") != "yes" {
			err = &Problem{"confirm", "请先确认删除", "confirm the deletion first"}
			break
		}
		id := f.Get("id")
		err = h.Store.Undefine(r.Context(), id)
		if errors.Is(err, db.ErrNotFound) {
			err = web.NotFound(web.M("没有可删除的自设指标 "+id, "no own indicator "+id+" that you may delete"))
		}
		notice = web.M("已删除指标 "+id+" 及其分解目标", "indicator "+id+" and its targets deleted")
	default:
		err = &Problem{"action", "未知操作", "unknown action"}
	}
	var we *web.Error
	if err != nil && errors.As(mapErr(err, f.Get("division_code")), &we) {
		r.URL.RawQuery = ""
		h.renderCatalogue(w, r, we.Status, web.View{Alert: we.Msg, Errors: we.Fields, Form: f})
		return
	} else if err != nil {
		h.pageErr(w, r, err)
		return
	}
	r.URL.RawQuery = ""
	h.renderCatalogue(w, r, 200, web.View{Notice: notice})
}

func optNumber(f url.Values, key, zh, en string) (*float64, error) {
	s := strings.TrimSpace(f.Get(key))
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, &Problem{key, zh + "须为数字：" + s, "the " + en + " must be a number: " + s}
	}
	return &v, nil
}
