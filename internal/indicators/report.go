package indicators

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/divisions"
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
		h.pageErr(w, r, mapErr(errNotFoundCode, code))
		return
	}
	div, err := h.Divisions.Get(ctx, code)
	if err != nil {
		h.pageErr(w, r, err)
		return
	}
	rv := reportView{Div: div, Year: year, CanEnter: p.Role == access.Officer}
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
	var keys []string
	for k, lvl := range reportLevel {
		if lvl == div.Level {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := reportField{Key: k, NameZH: Elements[k].NameZH, NameEN: Elements[k].NameEN}
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

var errNotFoundCode = errors.New("not found")

func (h *Handlers) postReport(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
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
				h.renderReport(w, r, 400, web.View{Alert: web.M(Elements[key].NameZH+" 须为数字", Elements[key].NameEN+" must be a number")})
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
		err = &Problem{"action", "未知操作", "unknown action"}
	}
	var we *web.Error
	if err != nil && errors.As(mapErr(err, code), &we) {
		h.renderReport(w, r, we.Status, web.View{Alert: we.Msg})
		return
	} else if err != nil {
		h.pageErr(w, r, err)
		return
	}
	h.renderReport(w, r, 200, web.View{Notice: notice})
}
