package divisions

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/web"
)

// Handlers serve the divisions API and pages.
type Handlers struct {
	Store *Store
	Audit *audit.Log
	Pages *web.Pages
}

// Ref is a short reference to a division.
type Ref struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Level int    `json:"level"`
}

// Detail is the API view of one division.
type Detail struct {
	Division
	LevelName   string `json:"level_name"`
	LevelNameEN string `json:"level_name_en"`
	Ancestors   []Ref  `json:"ancestors"`
}

// AttributesBody sets attributes of a unit for one year.
type AttributesBody struct {
	Values map[string]float64 `json:"values"`
}

// DesignationBody awards a designation.
type DesignationBody struct {
	Kind string `json:"kind"`
	Year int    `json:"year"`
	Note string `json:"note,omitempty"`
}

// Register adds the divisions routes.
func (h *Handlers) Register(rt *web.Router) {
	rt.API("GET /api/v1/divisions/{code}", web.Op{Summary: "区划详情 / One division with its ancestors", Tag: "divisions", Response: Detail{}}, h.apiGet)
	rt.API("GET /api/v1/divisions/{code}/children", web.Op{Summary: "下级区划 / Direct children of a division", Tag: "divisions",
		Params: pageParams, Response: web.List[Division]{}}, h.apiChildren)
	rt.API("GET /api/v1/divisions", web.Op{Summary: "按名称或代码搜索区划 / Search divisions by name or code prefix", Tag: "divisions",
		Params:   append([]web.Param{{Name: "q", Description: "名称或代码前缀 / name or code prefix", Required: true}, {Name: "within", Description: "限定的上级区划代码 / limit to a subtree"}}, pageParams...),
		Response: web.List[Division]{}}, h.apiSearch)
	rt.API("GET /api/v1/divisions/{code}/attributes", web.Op{Summary: "单元年度属性 / Unit attributes by year", Tag: "units",
		Params: []web.Param{{Name: "year", Type: "integer", Description: "年份，缺省为全部 / year, all when absent"}}, Response: []Attribute{}}, h.apiAttributes)
	rt.API("PUT /api/v1/divisions/{code}/attributes/{year}", web.Op{Summary: "设置单元年度属性 / Set unit attributes for a year", Tag: "units",
		Body: AttributesBody{}, Response: []Attribute{}}, h.apiSetAttributes)
	rt.API("GET /api/v1/divisions/{code}/designations", web.Op{Summary: "单元称号 / Designations a unit holds", Tag: "units", Response: []Designation{}}, h.apiDesignations)
	rt.API("POST /api/v1/divisions/{code}/designations", web.Op{Summary: "授予称号 / Award a designation", Tag: "units",
		Body: DesignationBody{}, Response: []Designation{}}, h.apiSetDesignation)
	rt.API("DELETE /api/v1/divisions/{code}/designations/{kind}", web.Op{Summary: "撤销称号 / Withdraw a designation", Tag: "units", Status: 204}, h.apiRemoveDesignation)
	rt.API("GET /api/v1/divisions/{code}/changes", web.Op{Summary: "单元数据变更记录 / Change history of unit data", Tag: "units",
		Params: pageParams, Response: web.List[Change]{}}, h.apiChanges)
	rt.API("POST /api/v1/unit-data/import", web.Op{Summary: "导入单元属性或称号 CSV / Import unit attributes or designations (CSV body)", Tag: "units",
		Params: []web.Param{{Name: "dry_run", Type: "boolean", Description: "只检查不写入 / check only"}}, Accepts: []string{web.MediaCSV}, Response: ImportReport{}, Report: ImportReport{}}, h.apiImport)
	rt.API("GET /api/v1/attribute-kinds", web.Op{Summary: "单元属性目录 / Attribute catalogue", Tag: "units", Response: []Kind{}}, h.apiAttributeKinds)
	rt.API("GET /api/v1/designation-kinds", web.Op{Summary: "称号目录 / Designation catalogue", Tag: "units", Response: []Kind{}}, h.apiDesignationKinds)
	h.registerPages(rt)
}

var pageParams = []web.Param{{Name: "page", Type: "integer", Description: "页码，从 1 开始 / page, from 1"}, {Name: "page_size", Type: "integer", Description: "每页条数 1–200 / rows per page 1–200"}}

// codeParam reads and checks the {code} path value: malformed is 400.
func codeParam(r *http.Request) (string, error) {
	code := r.PathValue("code")
	if !ValidCode(code) {
		return "", fault.Invalid(web.M("区划代码格式不正确："+code+"（应为 2/4/6/9/12 位数字）", "malformed division code: "+code+" (must be 2, 4, 6, 9 or 12 digits)"),
			fault.Field("code", web.M("应为 2/4/6/9/12 位数字", "must be 2, 4, 6, 9 or 12 digits")))
	}
	return code, nil
}

// lookupErr turns the tree's "no such division" into a refusal naming
// the code.
func lookupErr(err error, code string) error {
	if errors.Is(err, db.ErrNotFound) {
		return unitNotFound(code)
	}
	return err
}

func (h *Handlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	code, err := codeParam(r)
	if err != nil {
		return err
	}
	path, err := h.Store.Path(r.Context(), code)
	if err != nil {
		return lookupErr(err, code)
	}
	d := path[len(path)-1]
	det := Detail{Division: d, Ancestors: []Ref{}}
	det.LevelName, det.LevelNameEN = LevelName(d.Level)
	for _, a := range path[:len(path)-1] {
		det.Ancestors = append(det.Ancestors, Ref{a.Code, a.Name, a.Level})
	}
	web.WriteJSON(w, 200, det)
	return nil
}

func (h *Handlers) apiChildren(w http.ResponseWriter, r *http.Request) error {
	code, err := codeParam(r)
	if err != nil {
		return err
	}
	pg, err := web.ParsePagination(r)
	if err != nil {
		return err
	}
	if _, err := h.Store.Get(r.Context(), code); err != nil {
		return lookupErr(err, code)
	}
	items, total, err := h.Store.Children(r.Context(), code, pg.Offset(), pg.PageSize)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, web.NewList(items, pg, total))
	return nil
}

func (h *Handlers) apiSearch(w http.ResponseWriter, r *http.Request) error {
	pg, err := web.ParsePagination(r)
	if err != nil {
		return err
	}
	q := r.URL.Query().Get("q")
	if q == "" || len(q) > 100 {
		return fault.Invalid(web.M("请提供 1 至 100 字节的搜索词 q", "give a search term q of 1 to 100 bytes"), fault.Field("q", web.M("必填，最长 100 字节", "required, at most 100 bytes")))
	}
	within := r.URL.Query().Get("within")
	if within != "" && !ValidCode(within) {
		return fault.Invalid(web.M("within 区划代码格式不正确", "malformed division code in within"), fault.Field("within", web.M("应为 2/4/6/9/12 位数字", "must be 2, 4, 6, 9 or 12 digits")))
	}
	items, total, err := h.Store.Search(r.Context(), q, within, pg.Offset(), pg.PageSize)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, web.NewList(items, pg, total))
	return nil
}

func (h *Handlers) apiAttributes(w http.ResponseWriter, r *http.Request) error {
	code, err := codeParam(r)
	if err != nil {
		return err
	}
	year := 0
	if s := r.URL.Query().Get("year"); s != "" {
		if year, err = strconv.Atoi(s); err != nil || checkYear(year) != nil {
			return fault.Invalid(web.M("年份须为 1949 至 2100 的整数", "year must be a whole number from 1949 to 2100"), fault.Field("year", web.M("无效年份", "invalid year")))
		}
	}
	as, err := h.Store.Attributes(r.Context(), code, year)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, as)
	return nil
}

func (h *Handlers) apiSetAttributes(w http.ResponseWriter, r *http.Request) error {
	code, err := codeParam(r)
	if err != nil {
		return err
	}
	year, err := strconv.Atoi(r.PathValue("year"))
	if err != nil {
		return fault.Invalid(web.M("年份须为整数", "year must be a whole number"), fault.Field("year", web.M("无效年份", "invalid year")))
	}
	var body AttributesBody
	if err := web.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := h.Store.SetAttributes(r.Context(), h.Audit, code, year, body.Values); err != nil {
		return err
	}
	as, err := h.Store.Attributes(r.Context(), code, year)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, as)
	return nil
}

func (h *Handlers) apiDesignations(w http.ResponseWriter, r *http.Request) error {
	code, err := codeParam(r)
	if err != nil {
		return err
	}
	ds, err := h.Store.Designations(r.Context(), code)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, ds)
	return nil
}

func (h *Handlers) apiSetDesignation(w http.ResponseWriter, r *http.Request) error {
	code, err := codeParam(r)
	if err != nil {
		return err
	}
	var body DesignationBody
	if err := web.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := h.Store.SetDesignation(r.Context(), h.Audit, code, body.Kind, body.Year, body.Note); err != nil {
		return err
	}
	ds, err := h.Store.Designations(r.Context(), code)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, ds)
	return nil
}

func (h *Handlers) apiRemoveDesignation(w http.ResponseWriter, r *http.Request) error {
	code, err := codeParam(r)
	if err != nil {
		return err
	}
	if err := h.Store.RemoveDesignation(r.Context(), h.Audit, code, r.PathValue("kind")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handlers) apiChanges(w http.ResponseWriter, r *http.Request) error {
	code, err := codeParam(r)
	if err != nil {
		return err
	}
	pg, err := web.ParsePagination(r)
	if err != nil {
		return err
	}
	cs, total, err := h.Store.Changes(r.Context(), code, pg.Offset(), pg.PageSize)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, web.NewList(cs, pg, total))
	return nil
}

func (h *Handlers) apiImport(w http.ResponseWriter, r *http.Request) error {
	dry := r.URL.Query().Get("dry_run")
	if p := access.From(r.Context()); p.Role != access.Officer && dry != "1" && dry != "true" {
		return officersOnly()
	}
	rep, err := h.Store.ImportCSV(r.Context(), h.Audit, http.MaxBytesReader(w, r.Body, 32<<20), dry == "1" || dry == "true")
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
}

func (h *Handlers) apiAttributeKinds(w http.ResponseWriter, r *http.Request) error {
	return writeKinds(w, r, h.Store.AttributeKinds)
}

func (h *Handlers) apiDesignationKinds(w http.ResponseWriter, r *http.Request) error {
	return writeKinds(w, r, h.Store.DesignationKinds)
}

func writeKinds(w http.ResponseWriter, r *http.Request, list func(context.Context) ([]Kind, error)) error {
	ks, err := list(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, ks)
	return nil
}
