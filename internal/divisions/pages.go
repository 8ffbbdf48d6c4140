package divisions

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// ParsePages prepares the divisions pages.
func ParsePages(rd *web.Renderer) *web.Pages { return rd.Parse(templates, "templates/*.html") }

func (h *Handlers) registerPages(rt *web.Router) {
	rt.Page("GET /divisions", h.pageSearch)
	rt.Page("GET /divisions/{code}", func(w http.ResponseWriter, r *http.Request) {
		h.UnitPage(w, r, r.PathValue("code"), web.Msg{})
	})
	rt.Page("POST /divisions/{code}/attributes", h.postAttributes)
	rt.Page("POST /divisions/{code}/designations", h.postDesignation)
	rt.Page("POST /divisions/{code}/designations/{kind}/delete", h.postRemoveDesignation)
	rt.Page("GET /unit-data/import", h.pageImport)
	rt.Page("POST /unit-data/import", h.postImport)
}

// glanceKinds are the attributes summed in the "at a glance" tables.
var glanceKinds = []string{"population", "households", "population_60plus", "urban_population"}

type unitView struct {
	Div          Division
	LevelZH      string
	LevelEN      string
	Path         []Division
	InScope      bool
	CanEdit      bool
	Year         int
	Totals       map[string]float64
	Share60      string
	Children     []childRow
	Pager        web.Pager
	Q            string
	Attributes   []Attribute
	Designations []Designation
	DesigCounts  map[string]int
	AttrKinds    []Kind
	DesigKinds   []Kind
	KindName     map[string]Kind
	Changes      []Change
	ThisYear     int
	// Empty states, in both languages.
	NoYear, NoMatch, NoAttributes, NoDesignation web.Msg
}

type childRow struct {
	Division
	Population, Households, Aged60 float64
}

// UnitPage renders a division: its place in the tree, its figures at a glance
// and its children. Officers' and workers' home pages are this page for their
// own division.
func (h *Handlers) UnitPage(w http.ResponseWriter, r *http.Request, code string, title web.Msg) {
	h.UnitPageNotice(w, r, code, title, web.Msg{})
}

// UnitPageNotice is UnitPage with a message on top.
func (h *Handlers) UnitPageNotice(w http.ResponseWriter, r *http.Request, code string, title, notice web.Msg) {
	if notice.ZH == "" && r.URL.Query().Get("saved") == "1" {
		notice = web.M("已保存", "saved")
	}
	h.unitPage(w, r, code, title, http.StatusOK, web.View{Notice: notice})
}

func (h *Handlers) unitPage(w http.ResponseWriter, r *http.Request, code string, title web.Msg, status int, v web.View) {
	ctx := r.Context()
	if !ValidCode(code) {
		h.notFound(w, r, code, http.StatusBadRequest)
		return
	}
	path, err := h.Store.Path(ctx, code)
	if errors.Is(err, db.ErrNotFound) {
		h.notFound(w, r, code, http.StatusNotFound)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	p := access.From(ctx)
	u := unitView{Div: path[len(path)-1], Path: path[:len(path)-1], ThisYear: h.Store.Now().Year(),
		NoYear:        web.M("尚无年度数据。民政干部可在下方录入或批量导入。", "No yearly data yet. Officers can enter it below or import a CSV file."),
		NoMatch:       web.M("没有匹配的区划", "No matching division"),
		NoAttributes:  web.M("本单元未直接录入属性", "No attributes entered for this unit itself"),
		NoDesignation: web.M("暂无称号", "No designation")}
	u.LevelZH, u.LevelEN = LevelName(u.Div.Level)
	u.InScope = access.BusinessScope(p).Contains(code)
	u.CanEdit = u.InScope && p.Role == access.Officer
	u.KindName = map[string]Kind{}
	if u.AttrKinds, err = h.Store.AttributeKinds(ctx); err != nil {
		h.fail(w, r, err)
		return
	}
	if u.DesigKinds, err = h.Store.DesignationKinds(ctx); err != nil {
		h.fail(w, r, err)
		return
	}
	for _, k := range append(append([]Kind{}, u.AttrKinds...), u.DesigKinds...) {
		u.KindName[k.Key] = k
	}
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u.Q = strings.TrimSpace(r.URL.Query().Get("q"))
	var kids []Division
	var total int
	if u.Q != "" {
		kids, total, err = h.Store.Search(ctx, u.Q, code, pg.Offset(), pg.PageSize)
	} else {
		kids, total, err = h.Store.Children(ctx, code, pg.Offset(), pg.PageSize)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u.Pager = web.NewPager(r, pg, total)
	if u.InScope {
		if u.Year, err = h.Store.LatestYear(ctx, code); err != nil {
			h.fail(w, r, err)
			return
		}
		if y, err := strconv.Atoi(r.URL.Query().Get("year")); err == nil && checkYear(y) == nil {
			u.Year = y
		}
		var byChild map[string]map[string]float64
		if u.Div.Level < 5 && u.Year > 0 {
			if byChild, err = h.Store.Totals(ctx, code, u.Year, glanceKinds); err != nil {
				h.fail(w, r, err)
				return
			}
			u.Totals = map[string]float64{}
			for _, m := range byChild {
				for k, v := range m {
					u.Totals[k] += v
				}
			}
		}
		for _, k := range kids {
			row := childRow{Division: k}
			if m := byChild[k.Code]; m != nil && k.ParentCode == code {
				row.Population, row.Households, row.Aged60 = m["population"], m["households"], m["population_60plus"]
			}
			u.Children = append(u.Children, row)
		}
		if u.Attributes, err = h.Store.Attributes(ctx, code, u.Year); err != nil {
			h.fail(w, r, err)
			return
		}
		if u.Div.Level == 5 && u.Totals == nil {
			u.Totals = map[string]float64{}
			for _, a := range u.Attributes {
				u.Totals[a.Kind] = a.Value
			}
		}
		if pop := u.Totals["population"]; pop > 0 {
			u.Share60 = strconv.FormatFloat(100*u.Totals["population_60plus"]/pop, 'f', 1, 64) + "%"
		}
		if u.Designations, err = h.Store.Designations(ctx, code); err != nil {
			h.fail(w, r, err)
			return
		}
		if u.DesigCounts, err = h.Store.DesignationCounts(ctx, code); err != nil {
			h.fail(w, r, err)
			return
		}
		if u.Changes, _, err = h.Store.Changes(ctx, code, 0, 10); err != nil {
			h.fail(w, r, err)
			return
		}
	} else {
		for _, k := range kids {
			u.Children = append(u.Children, childRow{Division: k})
		}
	}
	if title.ZH == "" {
		title = web.M(u.Div.Name, u.Div.Name)
	}
	v.Title = title
	v.Data = u
	if len(u.Path) > 0 {
		for _, a := range u.Path {
			v.Crumbs = append(v.Crumbs, web.Crumb{Href: "/divisions/" + a.Code, Label: web.M(a.Name, a.Name)})
		}
		v.Crumbs = append(v.Crumbs, web.Crumb{Label: web.M(u.Div.Name, u.Div.Name)})
	}
	h.Pages.Render(w, r, status, "unit", v)
}

func (h *Handlers) notFound(w http.ResponseWriter, r *http.Request, code string, status int) {
	msg := web.M("区划 "+code+" 不存在", "division "+code+" not found")
	if status == http.StatusBadRequest {
		msg = web.M("区划代码格式不正确："+code, "malformed division code: "+code)
	}
	h.Pages.Render(w, r, status, "search", web.View{Title: web.M("区划查询", "Find a division"), Alert: msg, Data: searchView{}})
}

// fail answers a page request that went wrong: a refusal on the search
// page with its status, anything else logged as a 500 that reveals nothing.
func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.Pages.Fail(w, r, "search", web.View{Title: web.M("区划查询", "Find a division"), Data: searchView{}}, err)
}

type searchView struct {
	Q       string
	Results []resultRow
	Pager   web.Pager
	Empty   web.Msg
	// Picker walks down the tree from the user's own division.
	Picker     *Picker
	PickerHTML template.HTML
}

type resultRow struct {
	Division
	LevelZH, LevelEN string
}

// pickerField is the division picker's field on the search page.
const pickerField = "d"

func (h *Handlers) pageSearch(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	q := strings.TrimSpace(query.Get("q"))
	sv := searchView{Q: q, Empty: web.M("没有找到匹配的区划", "No division matches")}
	title := web.M("区划查询", "Find a division")
	if q != "" {
		pg, err := web.ParsePagination(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		var total int
		found, total, err := h.Store.Search(r.Context(), q, "", pg.Offset(), pg.PageSize)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, d := range found {
			zh, en := LevelName(d.Level)
			sv.Results = append(sv.Results, resultRow{Division: d, LevelZH: zh, LevelEN: en})
		}
		sv.Pager = web.NewPager(r, pg, total)
	}
	if p := access.From(r.Context()); p != nil && ValidCode(p.Division) {
		pk, err := h.Store.ReadPicker(r.Context(), query, pickerField, "")
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if query.Get("open") != "" && !pk.Pending() && pk.Error == "" {
			http.Redirect(w, r, "/divisions/"+pk.Code(), http.StatusSeeOther)
			return
		}
		pk.Label = web.M("从您的辖区逐级选择", "Choose level by level within your jurisdiction")
		sv.Picker, sv.PickerHTML = &pk, pk.HTML(web.Lang(r))
	}
	h.Pages.Render(w, r, 200, "search", web.View{Title: title, Data: sv})
}

// formError shows why a unit form was refused on the unit page (the
// search page when the code is unknown), with the form refilled; anything
// else is a 500.
func (h *Handlers) formError(w http.ResponseWriter, r *http.Request, code string, err error) {
	e, ok := fault.As(err)
	if !ok {
		h.fail(w, r, err)
		return
	}
	h.unitPage(w, r, code, web.Msg{}, web.Status(e), web.View{Alert: e.Msg, Errors: e.Fields, Form: r.PostForm})
}

func (h *Handlers) postAttributes(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	year, vals, err := attributesForm(r)
	if err == nil {
		err = h.Store.SetAttributes(r.Context(), h.Audit, code, year, vals)
	}
	if err != nil {
		h.formError(w, r, code, err)
		return
	}
	http.Redirect(w, r, "/divisions/"+code+"?year="+strconv.Itoa(year)+"&saved=1", http.StatusSeeOther)
}

// attributesForm reads the year and the attr_KIND values of the form.
func attributesForm(r *http.Request) (int, map[string]float64, error) {
	if err := web.ParseForm(r); err != nil {
		return 0, nil, err
	}
	year, err := yearField(r)
	if err != nil {
		return 0, nil, err
	}
	vals := map[string]float64{}
	for k, vs := range r.PostForm {
		key, ok := strings.CutPrefix(k, "attr_")
		if !ok || len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(vs[0]), 64)
		if err != nil {
			return 0, nil, invalid(key, fault.M("数值格式不正确："+vs[0], "not a number: "+vs[0]))
		}
		vals[key] = v
	}
	return year, vals, nil
}

func yearField(r *http.Request) (int, error) {
	year, err := strconv.Atoi(r.PostForm.Get("year"))
	if err != nil {
		return 0, invalid("year", fault.M("年份须为整数", "year must be a whole number"))
	}
	return year, nil
}

func (h *Handlers) postDesignation(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	err := web.ParseForm(r)
	var year int
	if err == nil {
		year, err = yearField(r)
	}
	if err == nil {
		err = h.Store.SetDesignation(r.Context(), h.Audit, code, r.PostForm.Get("kind"), year, r.PostForm.Get("note"))
	}
	if err != nil {
		h.formError(w, r, code, err)
		return
	}
	http.Redirect(w, r, "/divisions/"+code+"?saved=1", http.StatusSeeOther)
}

func (h *Handlers) postRemoveDesignation(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	err := web.ParseForm(r)
	if err == nil && r.PostForm.Get("confirm") != "yes" {
		err = invalid("confirm", fault.M("请勾选确认后再撤销称号", "tick the confirmation box to withdraw the designation"))
	}
	if err == nil {
		err = h.Store.RemoveDesignation(r.Context(), h.Audit, code, r.PathValue("kind"))
	}
	if err != nil {
		h.formError(w, r, code, err)
		return
	}
	http.Redirect(w, r, "/divisions/"+code+"?saved=1", http.StatusSeeOther)
}

type importView struct {
	Report *ImportReport
	DryRun bool
}

func (h *Handlers) pageImport(w http.ResponseWriter, r *http.Request) {
	h.Pages.Render(w, r, 200, "import", web.View{Title: web.M("导入单元数据", "Import unit data"), Data: importView{}})
}

func (h *Handlers) postImport(w http.ResponseWriter, r *http.Request) {
	title := web.M("导入单元数据", "Import unit data")
	r.Body = http.MaxBytesReader(w, r.Body, 32<<20)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		h.Pages.Render(w, r, 400, "import", web.View{Title: title, Alert: web.M("请选择不超过 32 MB 的 CSV 文件", "choose a CSV file of at most 32 MB"), Data: importView{}})
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		h.Pages.Render(w, r, 400, "import", web.View{Title: title, Alert: web.M("请选择要导入的文件", "choose a file to import"), Data: importView{}})
		return
	}
	defer f.Close()
	dry := r.FormValue("apply") != "1"
	rep, err := h.Store.ImportCSV(r.Context(), h.Audit, f, dry)
	if err != nil {
		h.Pages.Fail(w, r, "import", web.View{Title: title, Data: importView{}}, err)
		return
	}
	v := web.View{Title: title, Data: importView{Report: &rep, DryRun: dry}}
	status := 200
	switch {
	case len(rep.Errors) > 0:
		v.Alert = web.M("文件有错误，未导入任何数据", "the file has errors; nothing was imported")
		status = 422
	case rep.Applied:
		v.Notice = web.M("已导入 "+strconv.Itoa(rep.Rows)+" 行", strconv.Itoa(rep.Rows)+" rows imported")
	default:
		v.Notice = web.M("检查通过：共 "+strconv.Itoa(rep.Rows)+" 行，可以导入", "check passed: "+strconv.Itoa(rep.Rows)+" rows ready to import")
	}
	h.Pages.Render(w, r, status, "import", v)
}
