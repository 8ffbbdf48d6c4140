package projects

import (
	"net/http"

	"linli/internal/web"
)

type handlers struct {
	store *Store
	pages *web.Pages
}

func (h *handlers) registerAPI(rt *web.Router) {
	const tag = "projects"
	rt.API("GET /api/v1/projects", web.Op{Summary: "购买服务项目（干部：辖区内的；服务机构：本机构所在县的）/ Purchased-service projects (an officer's area; a provider's county)", Tag: tag, Response: ProjectPage{},
		Params: []web.Param{{Name: "status", Description: "open, awarded or completed"}, {Name: "kind", Description: "purchase or venture (公益创投)"}, {Name: "page", Type: "integer"}, {Name: "page_size", Type: "integer"}}}, h.apiList)
	rt.API("POST /api/v1/projects", web.Op{Summary: "发布项目（县级、乡镇干部）/ Publish a project (county and township officers)", Tag: tag, Body: ProjectInput{}, Response: Project{}, Status: 201}, h.apiCreate)
	rt.API("GET /api/v1/projects/mine", web.Op{Summary: "本机构的申报与合同 / My organisation's applications and contracts", Tag: tag, Response: Mine{}}, h.apiMine)
	rt.API("GET /api/v1/projects/{id}", web.Op{Summary: "项目详情、申报、合同与付款节点 / A project with its applications, contract and milestones", Tag: tag, Response: Project{}}, h.apiGet)
	rt.API("POST /api/v1/projects/{id}/applications", web.Op{Summary: "服务机构申报（截止前、评估等级达标、金额不超预算）/ Apply (before the deadline, rating met, within budget)", Tag: tag, Body: ApplyInput{}, Response: Application{}, Status: 201}, h.apiApply)
	rt.API("POST /api/v1/projects/{id}/applications/{app}/score", web.Op{Summary: "按评分标准逐项打分（截止后）/ Score an application per criterion (after the deadline)", Tag: tag, Body: ScoreInput{}, Response: Application{}}, h.apiScore)
	rt.API("POST /api/v1/projects/{id}/award", web.Op{Summary: "确定承接机构，签订含付款节点的合同 / Award an application: a contract with milestones", Tag: tag, Body: AwardInput{}, Response: Contract{}, Status: 201}, h.apiAward)
	rt.API("POST /api/v1/projects/{id}/evaluation", web.Op{Summary: "结项评估（全部节点拨付后；逐项或总分 0–100，等级由分数得出）/ The final evaluation (once every milestone is paid; per criterion or overall 0–100, graded by the score)", Tag: tag, Body: EvaluateInput{}, Response: Evaluation{}, Status: 201}, h.apiEvaluate)
	rt.API("GET /api/v1/projects/records", web.Op{Summary: "承接机构的结项评估记录（干部：辖区项目的承接机构；服务机构：本机构）/ Organisations' evaluation records (an officer's contractors; a provider's own)", Tag: tag, Response: []Record{}}, h.apiRecords)
	rt.API("POST /api/v1/projects/{id}/milestones/{m}/report", web.Op{Summary: "承接机构报告节点进展及佐证 / The organisation reports a milestone's progress with evidence", Tag: tag, Body: ReportInput{}, Response: Milestone{}}, h.apiMove(ActReport))
	rt.API("POST /api/v1/projects/{id}/milestones/{m}/accept", web.Op{Summary: "通过节点报告 / Accept a milestone's report", Tag: tag, Response: Milestone{}}, h.apiMove(ActAccept))
	rt.API("POST /api/v1/projects/{id}/milestones/{m}/return", web.Op{Summary: "退回节点报告并说明原因 / Return a milestone's report with a reason", Tag: tag, Body: ReturnInput{}, Response: Milestone{}}, h.apiMove(ActReturn))
	rt.API("POST /api/v1/projects/{id}/milestones/{m}/pay", web.Op{Summary: "拨付已通过节点的款项（报告未通过时 409）/ Pay an accepted milestone (409 before its report is accepted)", Tag: tag, Body: PayInput{}, Response: Milestone{}}, h.apiMove(ActPay))
}

func (h *handlers) apiList(w http.ResponseWriter, r *http.Request) error {
	pg, err := web.ParsePagination(r)
	if err != nil {
		return err
	}
	out, err := h.store.List(r.Context(), r.URL.Query().Get("status"), r.URL.Query().Get("kind"), pg.Page, pg.PageSize)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, out)
	return nil
}

func (h *handlers) apiCreate(w http.ResponseWriter, r *http.Request) error {
	var in ProjectInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	pr, err := h.store.Create(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, pr)
	return nil
}

func (h *handlers) apiMine(w http.ResponseWriter, r *http.Request) error {
	m, err := h.store.MineOf(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, m)
	return nil
}

func (h *handlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	pr, err := h.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pr)
	return nil
}

func (h *handlers) apiApply(w http.ResponseWriter, r *http.Request) error {
	var in ApplyInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	a, err := h.store.Apply(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, a)
	return nil
}

func (h *handlers) apiScore(w http.ResponseWriter, r *http.Request) error {
	var in ScoreInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	a, err := h.store.Score(r.Context(), r.PathValue("id"), r.PathValue("app"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, a)
	return nil
}

func (h *handlers) apiAward(w http.ResponseWriter, r *http.Request) error {
	var in AwardInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := h.store.Award(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, c)
	return nil
}

func (h *handlers) apiMove(action string) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in MoveInput
		if r.ContentLength != 0 { // accept and pay need no body
			if err := web.DecodeJSON(w, r, &in); err != nil {
				return err
			}
		}
		m, err := h.store.Move(r.Context(), r.PathValue("id"), r.PathValue("m"), action, in)
		if err != nil {
			return err
		}
		web.WriteJSON(w, 200, m)
		return nil
	}
}

func (h *handlers) apiEvaluate(w http.ResponseWriter, r *http.Request) error {
	var in EvaluateInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	ev, err := h.store.Evaluate(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, ev)
	return nil
}

func (h *handlers) apiRecords(w http.ResponseWriter, r *http.Request) error {
	recs, err := h.store.Records(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, recs)
	return nil
}
