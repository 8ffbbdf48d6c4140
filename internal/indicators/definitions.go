package indicators

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/web"
)

// ElementInfo describes a data element for those writing formulas.
type ElementInfo struct {
	Key       string `json:"key"`
	NameZH    string `json:"name_zh"`
	NameEN    string `json:"name_en"`
	Source    string `json:"source"`         // computed / reported
	Available bool   `json:"available"`      // every listed element has data to compute from
	Rule      *Rule  `json:"rule,omitempty"` // reported elements: how they are entered
	CanDelete bool   `json:"-"`
}

// elements lists the built-in data elements and the own ones the caller
// sees, sorted by key.
func (h *Handlers) elements(r *http.Request) ([]ElementInfo, error) {
	rules, err := h.Store.rules(r.Context())
	if err != nil {
		return nil, err
	}
	els := h.Store.Elements
	out := make([]ElementInfo, 0, len(els))
	for k, e := range els {
		ei := ElementInfo{Key: k, NameZH: e.NameZH, NameEN: e.NameEN, Source: e.Source, Available: true}
		if rl, ok := rules[k]; ok {
			ei.Rule = &rl
		}
		out = append(out, ei)
	}
	own, err := h.Store.ownRules(r.Context())
	if err != nil {
		return nil, err
	}
	p := access.From(r.Context())
	for _, rl := range own {
		out = append(out, ElementInfo{Key: rl.Key, NameZH: rl.NameZH, NameEN: rl.NameEN, Source: "reported", Available: true, Rule: &rl,
			CanDelete: p.Role == access.Officer && access.BusinessScope(p).Contains(rl.Owner)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (h *Handlers) registerDefinitions(rt *web.Router) {
	rt.API("GET /api/v1/data-elements", web.Op{Summary: "数据元素（写公式用）/ Data elements that formulas name", Tag: "indicators", Response: []ElementInfo{}},
		func(w http.ResponseWriter, r *http.Request) error {
			els, err := h.elements(r)
			if err != nil {
				return err
			}
			web.WriteJSON(w, 200, els)
			return nil
		})
	rt.API("POST /api/v1/data-elements", web.Op{Summary: "新增自设填报数据项 / Add an own reported data element", Tag: "indicators", Body: Rule{}, Response: Rule{}, Status: 201},
		func(w http.ResponseWriter, r *http.Request) error {
			var rl Rule
			if err := web.DecodeJSON(w, r, &rl); err != nil {
				return err
			}
			out, err := h.Store.DefineElement(r.Context(), rl)
			if err != nil {
				return err
			}
			web.WriteJSON(w, 201, out)
			return nil
		})
	rt.API("DELETE /api/v1/data-elements/{key}", web.Op{Summary: "删除未使用的自设数据项 / Delete an own data element nothing uses", Tag: "indicators", Status: 204},
		func(w http.ResponseWriter, r *http.Request) error {
			if err := h.Store.DeleteElement(r.Context(), r.PathValue("key")); err != nil {
				return err
			}
			w.WriteHeader(204)
			return nil
		})
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
			return err
		}
		web.WriteJSON(w, status, in)
		return nil
	}
}

func (h *Handlers) apiUndefine(w http.ResponseWriter, r *http.Request) error {
	if err := h.Store.Undefine(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

type catalogueRow struct {
	Indicator
	OwnerName web.Msg
	CanEdit   bool
}

type catalogueView struct {
	Rows     []catalogueRow
	Elements []ElementInfo
	CanAdd   bool
	Editing  string // the ID being changed, "" for a new one
	Element  bool   // the last form was the element form: it keeps the values
	Blank    url.Values
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
	els, err := h.elements(r)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	cv := catalogueView{Elements: els, CanAdd: p.Role == access.Officer, Blank: url.Values{"division_code": {p.Division}, "level": {"5"}}}
	sc := access.BusinessScope(p)
	q := r.URL.Query()
	for _, in := range all {
		row := catalogueRow{Indicator: in, OwnerName: web.M("浙江省规划", "The provincial plan")}
		if in.Owner != "" {
			d, err := h.Divisions.Get(ctx, in.Owner)
			if err != nil {
				h.pageErr(w, r, err)
				return
			}
			row.OwnerName = web.M(d.Name, d.Name)
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
	cv.Element = v.Form.Get("action") == "define-element"
	if v.Form.Get("action") == "redefine" {
		cv.Editing = v.Form.Get("id")
	}
	v.Title = web.M("指标目录与自设指标", "Indicator catalogue and own indicators")
	v.Data = cv
	h.Pages.Render(w, r, status, "catalogue", v)
}

func (h *Handlers) postCatalogue(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.renderCatalogue(w, r, 400, web.View{Alert: web.M("表单无效", "invalid form")})
		return
	}
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
						err = invalid("target_year", "目标年份须为整数", "the target year must be a whole number")
					}
				}
			}
		}
		if err == nil {
			var in Indicator
			in, err = h.Store.Define(r.Context(), d, f.Get("action") == "redefine")
			notice = web.M("已保存指标 "+in.ID+"：公式 "+in.Expression, "indicator "+in.ID+" saved: "+in.Expression)
		}
	case "define-element":
		rl := Rule{Key: f.Get("key"), Owner: strings.TrimSpace(f.Get("division_code")), NameZH: f.Get("name_zh"), NameEN: f.Get("name_en"), Unit: f.Get("unit")}
		var lo, hi *float64
		lo, err = optNumber(f, "min", "最小值", "minimum")
		if err == nil {
			hi, err = optNumber(f, "max", "最大值", "maximum")
		}
		if err == nil && (lo == nil || hi == nil) {
			err = invalid("max", "请填写最小值和最大值", "give the minimum and the maximum")
		}
		if err == nil {
			rl.Min, rl.Max = *lo, *hi
			if rl.Level, err = strconv.Atoi(f.Get("level")); err != nil {
				err = invalid("level", "请选择填报层级", "choose the reporting level")
			}
		}
		if err == nil {
			rl, err = h.Store.DefineElement(r.Context(), rl)
			notice = web.M("已新增数据项 "+rl.Key+"，可在公式中使用并填报", "data element "+rl.Key+" added: formulas may name it and divisions report it")
		}
	case "delete-element":
		key := f.Get("key")
		err = h.Store.DeleteElement(r.Context(), key)
		notice = web.M("已删除数据项 "+key, "data element "+key+" deleted")
	case "delete":
		if f.Get("confirm") != "yes" {
			err = invalid("confirm", "请先确认删除", "confirm the deletion first")
			break
		}
		id := f.Get("id")
		err = h.Store.Undefine(r.Context(), id)
		notice = web.M("已删除指标 "+id+" 及其分解目标", "indicator "+id+" and its targets deleted")
	default:
		err = invalid("action", "未知操作", "unknown action")
	}
	var we *fault.Error
	if err != nil && errors.As(mapErr(err, f.Get("division_code")), &we) {
		r.URL.RawQuery = ""
		h.renderCatalogue(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: f})
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
		return nil, invalid(key, zh+"须为数字："+s, "the "+en+" must be a number: "+s)
	}
	return &v, nil
}
