package familydoctor

import (
	"context"
	"net/http"
	"strconv"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/module"
	"linli/internal/web"
)

type handlers struct {
	store *Store
	pages *web.Pages
}

// Coverage is C13's two counts for the principal's jurisdiction today.
type Coverage struct {
	Division string  `json:"division_code"`
	KeyGroup int     `json:"key_group"`
	Signed   int     `json:"signed"`
	Percent  float64 `json:"percent"`
}

func (h *handlers) registerAPI(rt *web.Router) {
	const tag = "gp"
	rt.API("GET /api/v1/gp", web.Op{Summary: "辖区重点人群家庭医生签约覆盖（C13 的分子分母）/ Key-group contract coverage of your jurisdiction (C13's counts)", Tag: tag, Response: Coverage{}}, h.apiCoverage)
	rt.API("GET /api/v1/gp/teams", web.Op{Summary: "服务某地的家庭医生团队 / GP teams serving a division", Tag: tag, Response: []Team{},
		Params: []web.Param{{Name: "division_code"}}}, h.apiTeams)
	rt.API("POST /api/v1/gp/teams", web.Op{Summary: "组建家庭医生团队（人员库成员）/ Form a GP team of registry personnel", Tag: tag, Body: TeamInput{}, Response: Team{}, Status: 201}, h.apiCreateTeam)
	rt.API("GET /api/v1/gp/uncovered", web.Op{Summary: "未签约的重点人群（按 cursor 翻页，记入审计）/ Key-group residents without a valid contract (paged by cursor, audited)", Tag: tag, Response: PeoplePage{},
		Params: []web.Param{{Name: "q", Description: "name begins with"}, keyset.Param}}, h.apiUncovered)
	rt.API("GET /api/v1/gp/contracts", web.Op{Summary: "签约列表（按 cursor 翻页）/ Contracts (paged by cursor)", Tag: tag, Response: Page{},
		Params: []web.Param{{Name: "due", Description: "true: only those to renew within 30 days"}, keyset.Param, {Name: "page_size", Type: "integer"}}}, h.apiList)
	rt.API("POST /api/v1/gp/contracts", web.Op{Summary: "签约 / Sign a contract", Tag: tag, Body: ContractInput{}, Response: Contract{}, Status: 201}, h.apiSign)
	rt.API("GET /api/v1/gp/contracts/{id}", web.Op{Summary: "签约详情及随访 / A contract with its follow-ups", Tag: tag, Response: Contract{}}, h.apiGet)
	rt.API("POST /api/v1/gp/contracts/{id}/renew", web.Op{Summary: "续约一年 / Renew for a year", Tag: tag, Response: Contract{}, Status: 201}, h.apiRenew)
	rt.API("POST /api/v1/gp/contracts/{id}/followups", web.Op{Summary: "记录随访 / Record a follow-up", Tag: tag, Body: FollowupInput{}, Response: Contract{}, Status: 201}, h.apiFollowup)
}

func (h *handlers) apiCoverage(w http.ResponseWriter, r *http.Request) error {
	c, err := h.store.Coverage(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, c)
	return nil
}

func (h *handlers) apiTeams(w http.ResponseWriter, r *http.Request) error {
	ts, err := h.store.Teams(r.Context(), r.URL.Query().Get("division_code"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, ts)
	return nil
}

func (h *handlers) apiCreateTeam(w http.ResponseWriter, r *http.Request) error {
	var in TeamInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	t, err := h.store.CreateTeam(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, t)
	return nil
}

func (h *handlers) apiList(w http.ResponseWriter, r *http.Request) error {
	size := 20
	if v := r.URL.Query().Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("page_size", fault.M("每页条数为 1–100", "page_size is 1–100")))
		}
		size = n
	}
	if v := r.URL.Query().Get("page"); v != "" && v != "1" {
		return keyset.ErrPageNumber
	}
	pg, err := h.store.List(r.Context(), r.URL.Query().Get("due") == "true", r.URL.Query().Get("cursor"), size)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pg)
	return nil
}

func (h *handlers) apiSign(w http.ResponseWriter, r *http.Request) error {
	var in ContractInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := h.store.Sign(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, c)
	return nil
}

func (h *handlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	c, err := h.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, c)
	return nil
}

func (h *handlers) apiRenew(w http.ResponseWriter, r *http.Request) error {
	c, err := h.store.Renew(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, c)
	return nil
}

func (h *handlers) apiFollowup(w http.ResponseWriter, r *http.Request) error {
	var in FollowupInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := h.store.AddFollowup(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, c)
	return nil
}

// Coverage counts C13's two figures over the principal's jurisdiction
// today.
func (s *Store) Coverage(ctx context.Context) (Coverage, error) {
	p := access.From(ctx)
	if !isWorker(p) {
		return Coverage{}, errWorkers
	}
	sc := access.BusinessScope(p)
	g := module.Group{Lo: sc.Lo, Hi: sc.Hi, Prefix: len(p.Division)}
	day := s.today()
	all, err := KeyGroupCount(ctx, s.DB.R, g, day, false)
	if err != nil {
		return Coverage{}, err
	}
	signed, err := KeyGroupCount(ctx, s.DB.R, g, day, true)
	if err != nil {
		return Coverage{}, err
	}
	c := Coverage{Division: p.Division, KeyGroup: int(all[p.Division]), Signed: int(signed[p.Division])}
	if c.KeyGroup > 0 {
		c.Percent = float64(c.Signed*1000/c.KeyGroup) / 10
	}
	return c, nil
}

func (h *handlers) apiUncovered(w http.ResponseWriter, r *http.Request) error {
	pg, err := h.store.Uncovered(r.Context(), r.URL.Query().Get("q"), r.URL.Query().Get("cursor"), 20)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pg)
	return nil
}
