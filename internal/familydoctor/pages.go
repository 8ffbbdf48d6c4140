package familydoctor

import (
	"net/http"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

func (h *handlers) registerPages(rt *web.Router) {
	rt.Page("GET /gp", h.pageList)
	rt.Page("GET /gp/uncovered", h.pageUncovered)
	rt.Page("GET /gp/sign", func(w http.ResponseWriter, r *http.Request) { h.pageSign(w, r, 200, web.View{}) })
	rt.Page("POST /gp/sign", h.postSign)
	rt.Page("GET /gp/contracts/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageContract(w, r, 200, web.View{}) })
	rt.Page("POST /gp/contracts/{id}/followups", h.postFollowup)
	rt.Page("POST /gp/contracts/{id}/renew", h.postRenew)
	rt.Page("GET /gp/mine", h.pageMine)
}

func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	if we, ok := fault.As(err); ok {
		h.pages.Render(w, r, web.Status(we), "message", web.View{Title: web.M("无法完成", "Cannot do that"), Alert: we.Msg})
		return
	}
	web.Logger(r.Context()).Error("familydoctor page", "err", err.Error())
	h.pages.Render(w, r, 500, "message", web.View{Title: web.M("出错了", "Error"), Alert: web.M("服务器内部错误，请稍后重试", "internal server error, please try again later")})
}

// PackageLabel is the contract's package in words.
func (c Contract) PackageLabel() fault.Msg { return PackageName(c.Package) }

// GroupLabels are the contract's key groups in words.
func (c Contract) GroupLabels() []fault.Msg {
	var out []fault.Msg
	for _, g := range c.Groups {
		out = append(out, GroupName(g))
	}
	return out
}

type listView struct {
	Items []Contract
	Due   bool
	Pager web.Pager
	Empty fault.Msg
}

func (h *handlers) pageList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	due := q.Get("due") == "true"
	pg, err := h.store.List(r.Context(), due, q.Get("cursor"), 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	first, next := keyset.Links(r, q.Get("cursor"), pg.Next)
	h.pages.Render(w, r, 200, "list", web.View{Title: web.M("家庭医生签约", "Family-doctor contracts"),
		Data: listView{Items: pg.Items, Due: due, Pager: keyset.Pager(first, next, pg.Total, pg.Capped, ListCountCap), Empty: fault.M("没有签约", "No contract")}})
}

func (h *handlers) pageUncovered(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg, err := h.store.Uncovered(r.Context(), q.Get("q"), q.Get("cursor"), 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	first, next := keyset.Links(r, q.Get("cursor"), pg.Next)
	h.pages.Render(w, r, 200, "uncovered", web.View{Title: web.M("未签约的重点人群", "Key-group residents without a contract"),
		Crumbs: []web.Crumb{{Href: "/gp", Label: web.M("家庭医生签约", "Family-doctor contracts")}, {Label: web.M("未签约", "Without a contract")}},
		Data: struct {
			Items []Person
			Q     string
			Pager web.Pager
		}{pg.Items, q.Get("q"), keyset.Pager(first, next, len(pg.Items), false, ListCountCap)}})
}

type signView struct {
	Resident Person
	Groups   []fault.Msg
	Teams    []Team
	Packages []struct {
		Key  string
		Name fault.Msg
	}
	Start, End string
}

func (h *handlers) pageSign(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	if !isWorker(p) {
		h.fail(w, r, errWorkers)
		return
	}
	id := r.FormValue("resident_id")
	var person Person
	var name string
	err := h.store.DB.R.QueryRowContext(ctx, `SELECT id, division_code, name, birth_date FROM reg_residents WHERE id = $1`, id).Scan(&person.ID, &person.Division, &name, &person.Birth)
	if err != nil || !access.BusinessScope(p).Contains(person.Division) {
		h.fail(w, r, fault.NotFound(fault.M("辖区内没有这位居民", "no such resident in your jurisdiction")))
		return
	}
	person.Name = firstRune(name) + "**"
	today := h.store.today()
	groups, err := h.store.Groups(ctx, id, today)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	teams, err := h.store.Teams(ctx, person.Division)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sv := signView{Resident: person, Teams: teams, Packages: Packages, Start: today, End: plusDays(plusDays(today, 365), -1)}
	for _, g := range groups {
		sv.Groups = append(sv.Groups, GroupName(g))
	}
	if v.Form == nil {
		v.Form = r.URL.Query()
	}
	v.Title, v.Data = web.M("签约家庭医生", "Sign a family-doctor contract"), sv
	h.pages.Render(w, r, status, "sign", v)
}

func (h *handlers) postSign(w http.ResponseWriter, r *http.Request) {
	c, err := h.store.Sign(r.Context(), ContractInput{ResidentID: r.FormValue("resident_id"), TeamID: r.FormValue("team_id"), Package: r.FormValue("package"),
		Start: r.FormValue("start_date"), End: r.FormValue("end_date")})
	if err != nil {
		if we, ok := fault.As(err); ok && len(we.Fields) > 0 {
			h.pageSign(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.Form})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/gp/contracts/"+c.ID+"?signed=1", http.StatusSeeOther)
}

type contractView struct {
	C      Contract
	Worker bool
	Kinds  []struct {
		Key  string
		Name fault.Msg
	}
	Today string
	Due   bool
}

func (h *handlers) pageContract(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	c, err := h.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	today := h.store.today()
	cv := contractView{C: c, Worker: isWorker(access.From(r.Context())), Kinds: FollowupKinds, Today: today,
		Due: c.RenewedBy == "" && c.End <= plusDays(today, RenewalDays)}
	switch {
	case r.URL.Query().Get("signed") != "":
		v.Notice = web.M("已签约。", "The contract is signed.")
	case r.URL.Query().Get("done") != "":
		v.Notice = web.M("已记录。", "Recorded.")
	}
	if cv.Worker {
		_ = h.store.Audit.Record(r.Context(), auditRead(c))
	}
	v.Title, v.Data = web.M("家庭医生签约", "Family-doctor contract"), cv
	h.pages.Render(w, r, status, "contract", v)
}

func (h *handlers) postFollowup(w http.ResponseWriter, r *http.Request) {
	_, err := h.store.AddFollowup(r.Context(), r.PathValue("id"), FollowupInput{On: r.FormValue("on_date"), Kind: r.FormValue("kind"), Note: r.FormValue("note")})
	if err != nil {
		if we, ok := fault.As(err); ok && len(we.Fields) > 0 {
			h.pageContract(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.Form})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/gp/contracts/"+r.PathValue("id")+"?done=1", http.StatusSeeOther)
}

func (h *handlers) postRenew(w http.ResponseWriter, r *http.Request) {
	c, err := h.store.Renew(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/gp/contracts/"+c.ID+"?signed=1", http.StatusSeeOther)
}

func (h *handlers) pageMine(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := access.From(ctx)
	if p == nil || p.Role != access.Resident {
		h.fail(w, r, fault.Forbidden(fault.M("只有居民可以查看", "residents only")))
		return
	}
	cs, err := db.Collect(ctx, h.store.DB.R, scanContract, `SELECT `+contractCols+contractFrom+`
		WHERE c.household_id = (SELECT household_id FROM registry_people WHERE username = $1 AND username <> '') ORDER BY c.end_date DESC, c.id LIMIT 20`, p.Username)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.pages.Render(w, r, 200, "mine", web.View{Title: web.M("我的家庭医生", "My family doctor"), Data: struct {
		Items []Contract
		Today string
	}{cs, h.store.today()}})
}
