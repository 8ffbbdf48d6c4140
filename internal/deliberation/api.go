package deliberation

import (
	"net/http"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

type handlers struct {
	store *Store
	pages *web.Pages
}

var divisionParam = web.Param{Name: "division_code", Description: "村（社区）代码，默认本人所在 / community code (default: your own)"}

func (h *handlers) registerAPI(rt *web.Router) {
	const tag = "deliberation"
	rt.API("GET /api/v1/councils", web.Op{Summary: "本社区及所属街道的议事会 / The councils of a community and its township", Tag: tag, Response: []Council{}, Params: []web.Param{divisionParam}}, h.apiCouncils)
	rt.API("POST /api/v1/councils", web.Op{Summary: "设立议事会（成员、法定人数、表决规则、联署门槛）/ Set up a council (members, quorum, majority rule, co-signing threshold)", Tag: tag, Body: CouncilInput{}, Response: Council{}, Status: 201}, h.apiCreateCouncil)
	rt.API("GET /api/v1/councils/{id}", web.Op{Summary: "议事会及成员 / A council with its members", Tag: tag, Response: Council{}}, h.apiCouncil)

	rt.API("GET /api/v1/topics", web.Op{Summary: "本社区议题（按 cursor 翻页）/ A community's topics (paged by cursor)", Tag: tag, Response: TopicPage{},
		Params: []web.Param{divisionParam, {Name: "status"}, keyset.Param, {Name: "page_size", Type: "integer"}}}, h.apiTopics)
	rt.API("POST /api/v1/topics", web.Op{Summary: "提出议题 / Raise a topic", Tag: tag, Body: TopicInput{}, Response: Topic{}, Status: 201}, h.apiRaise)
	rt.API("GET /api/v1/topics/{id}", web.Op{Summary: "议题及公开办理经过 / A topic with its public history", Tag: tag, Response: Topic{}}, h.apiTopic)
	rt.API("POST /api/v1/topics/{id}/cosign", web.Op{Summary: "本户联署议题 / Co-sign a topic for your household", Tag: tag, Response: Topic{}}, h.apiCosign)
	for _, a := range MoveOrder {
		l := Moves[a].Label
		rt.API("POST /api/v1/topics/{id}/"+a, web.Op{Summary: l.ZH + " / " + l.EN, Tag: tag, Body: MoveInput{}, Response: Topic{}}, h.apiMove(a))
	}

	rt.API("GET /api/v1/topics/{id}/comments", web.Op{Summary: "议题评论（一层回复；待审与隐藏的按身份显示）/ A topic's comments with one level of replies", Tag: tag, Response: CommentPage{},
		Params: []web.Param{{Name: "cursor"}, {Name: "page_size", Type: "integer"}}}, h.apiComments)
	rt.API("POST /api/v1/topics/{id}/comments", web.Op{Summary: "发表评论或回复（含敏感词的待审核）/ Comment or reply (held for review on a sensitive word)", Tag: tag, Body: CommentInput{}, Response: Comment{}, Status: 201}, h.apiComment)
	rt.API("GET /api/v1/topics/{id}/support", web.Op{Summary: "支持户数 / The households supporting a topic", Tag: tag, Response: Support{}}, h.apiSupports)
	rt.API("POST /api/v1/topics/{id}/support", web.Op{Summary: "本户支持议题（每户一次）/ Support a topic for your household (once)", Tag: tag, Response: Support{}, Status: 201}, h.apiSupport(true))
	rt.API("DELETE /api/v1/topics/{id}/support", web.Op{Summary: "撤回本户支持 / Withdraw your household's support", Tag: tag, Response: Support{}}, h.apiSupport(false))
	rt.API("GET /api/v1/comments/{id}", web.Op{Summary: "一条评论 / A comment", Tag: tag, Response: Comment{}}, h.apiCommentOne)
	rt.API("POST /api/v1/comments/{id}/report", web.Op{Summary: "举报评论（每个账号一次）/ Report a comment (once per account)", Tag: tag, Body: ReportInput{}, Status: 204}, h.apiReport)
	rt.API("POST /api/v1/comments/{id}/moderation", web.Op{Summary: "隐藏、恢复、通过或驳回评论 / Hide, restore, approve or reject a comment", Tag: tag, Body: ModerationInput{}, Response: Comment{}}, h.apiModerate)
	rt.API("GET /api/v1/comment-queue", web.Op{Summary: "待审核与被举报的评论 / Comments held or reported, for moderators", Tag: tag, Response: []Comment{}, Params: []web.Param{divisionParam}}, h.apiQueue)
	rt.API("GET /api/v1/sensitive-words", web.Op{Summary: "本社区敏感词（及内置默认词）/ A community's sensitive words and the built-in ones", Tag: tag, Response: Words{}, Params: []web.Param{divisionParam}}, h.apiWords)
	rt.API("PUT /api/v1/sensitive-words", web.Op{Summary: "设置本社区敏感词 / Set a community's sensitive words", Tag: tag, Body: WordsInput{}, Response: Words{}}, h.apiSetWords)

	rt.API("GET /api/v1/notices-board", web.Op{Summary: "村（居）务公开栏：当前公开事项，archive=1 为已过期（公开）/ A community's notice board: current notices, or expired ones with archive=1", Tag: tag, Public: true, Response: NoticePage{},
		Params: []web.Param{{Name: "division_code", Description: "村（社区）代码，默认本人所在；未登录时必填 / the community (default: your own; required when not signed in)"}, {Name: "archive", Type: "boolean"}, keyset.Param, {Name: "page_size", Type: "integer"}}}, h.apiBoard)
	rt.API("POST /api/v1/notices-board", web.Op{Summary: "发布公开事项（财务公开须列收支明细，合计须相符）/ Publish a notice (a financial statement's total must equal its lines)", Tag: tag, Body: NoticeInput{}, Response: Notice{}, Status: 201}, h.apiPublish)
	rt.API("GET /api/v1/notices-board/{id}", web.Op{Summary: "一条公开事项（公开）/ A notice (public)", Tag: tag, Public: true, Response: Notice{}}, h.apiNotice)
	rt.API("POST /api/v1/notices-board/{id}/acknowledgements", web.Op{Summary: "本户确认已阅（每户一次）/ Acknowledge a notice for your household (once)", Tag: tag, Response: Notice{}, Status: 201}, h.apiAcknowledge)

	rt.API("GET /api/v1/meetings", web.Op{Summary: "本社区议事会议 / A community's meetings", Tag: tag, Response: []Meeting{}, Params: []web.Param{divisionParam}}, h.apiMeetings)
	rt.API("POST /api/v1/meetings", web.Op{Summary: "安排议事会议（议程为议题）/ Schedule a meeting with topics on its agenda", Tag: tag, Body: MeetingInput{}, Response: Meeting{}, Status: 201}, h.apiSchedule)
	rt.API("GET /api/v1/meetings/{id}", web.Op{Summary: "会议、议程、出席与纪要 / A meeting with its agenda, attendance and minutes", Tag: tag, Response: Meeting{}}, h.apiMeeting)
	rt.API("POST /api/v1/meetings/{id}/attendance", web.Op{Summary: "会议当天点名 / Take the day's attendance", Tag: tag, Body: AttendanceInput{}, Response: Meeting{}}, h.apiAttend)
	rt.API("POST /api/v1/meetings/{id}/minutes", web.Op{Summary: "会后记录纪要与公开摘要 / Enter the minutes and public summary afterwards", Tag: tag, Body: MinutesInput{}, Response: Meeting{}}, h.apiMinutes)

	rt.API("GET /api/v1/votes", web.Op{Summary: "本社区的表决（按 cursor 翻页）/ A community's votes (paged by cursor)", Tag: tag, Response: VotePage{},
		Params: []web.Param{divisionParam, keyset.Param, {Name: "page_size", Type: "integer"}}}, h.apiVotes)
	rt.API("POST /api/v1/votes", web.Op{Summary: "发起议题表决 / Open a vote on a topic", Tag: tag, Body: VoteInput{}, Response: Vote{}, Status: 201}, h.apiOpenVote)
	rt.API("GET /api/v1/votes/{id}", web.Op{Summary: "表决及其结果（截止后计票）/ A vote and its result (counted when it closes)", Tag: tag, Response: Vote{}}, h.apiVote)
	rt.API("POST /api/v1/votes/{id}/ballots", web.Op{Summary: "投票（一户一票；代投须记录同意）/ Cast a ballot (one per household; a proxy needs recorded consent)", Tag: tag, Body: BallotInput{}, Response: Receipt{}, Status: 201}, h.apiCast)
	rt.API("GET /api/v1/votes/{id}/results", web.Op{Summary: "表决结果 / The vote's result", Tag: tag, Response: Result{}}, h.apiResults)
	rt.API("GET /api/v1/votes/{id}/export", web.Op{Summary: "选票链导出（任何人可据此复核计票）/ The ballot chain, for anyone to recount", Tag: tag, Response: Export{}}, h.apiExport)
	rt.API("GET /api/v1/votes/{id}/verify", web.Op{Summary: "校验选票哈希链 / Check the ballot chain", Tag: tag, Response: ChainCheck{}}, h.apiVerify)

	rt.API("GET /api/v1/decisions", web.Op{Summary: "社区议事决定及落实进度（公开）/ A community's decisions and their progress (public)", Tag: tag, Public: true, Response: DecisionPage{},
		Params: []web.Param{{Name: "division_code", Description: "村（社区）或以上区划代码，默认本人所在；未登录时必填 / a community or wider (default: your own; required when not signed in)"}, keyset.Param, {Name: "page_size", Type: "integer"}}}, h.apiDecisions)
	rt.API("POST /api/v1/decisions", web.Op{Summary: "记录议事决定与实施计划 / Record a decision with its implementation plan", Tag: tag, Body: DecisionInput{}, Response: Decision{}, Status: 201}, h.apiDecide)
	rt.API("GET /api/v1/decisions/{id}", web.Op{Summary: "决定、表决结果与进度（公开）/ A decision with its vote and progress", Tag: tag, Response: Decision{}}, h.apiDecision)
	rt.API("POST /api/v1/decisions/{id}/progress", web.Op{Summary: "更新落实进度 / Add a progress update", Tag: tag, Body: ProgressInput{}, Response: Decision{}, Status: 201}, h.apiProgress)
	h.registerFileAPI(rt)
}

// division is the community a request is about: the one asked, else the
// signed-in user's own.
func (h *handlers) division(r *http.Request) string {
	if d := r.URL.Query().Get("division_code"); d != "" {
		return d
	}
	p := access.From(r.Context())
	if p == nil {
		return ""
	}
	if p.Role == access.Resident {
		if _, div, err := h.store.household(r.Context(), p); err == nil {
			return div
		}
	}
	return p.Division
}

func pageSize(r *http.Request) (int, error) {
	if v := r.URL.Query().Get("page"); v != "" && v != "1" {
		return 0, keyset.ErrPageNumber
	}
	v := r.URL.Query().Get("page_size")
	if v == "" {
		return 20, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("page_size", fault.M("每页条数为 1–100", "page_size is 1–100")))
	}
	return n, nil
}

func respond[T any](w http.ResponseWriter, status int, v T, err error) error {
	if err != nil {
		return err
	}
	web.WriteJSON(w, status, v)
	return nil
}

func (h *handlers) apiCouncils(w http.ResponseWriter, r *http.Request) error {
	div := h.division(r)
	if !h.store.sees(r.Context(), div) {
		return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("division_code", fault.M("不在您的辖区内", "outside your jurisdiction")))
	}
	cs, err := h.store.Councils(r.Context(), div)
	return respond(w, 200, cs, err)
}

func (h *handlers) apiCreateCouncil(w http.ResponseWriter, r *http.Request) error {
	var in CouncilInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := h.store.CreateCouncil(r.Context(), in)
	return respond(w, 201, c, err)
}

func (h *handlers) apiCouncil(w http.ResponseWriter, r *http.Request) error {
	c, err := h.store.Council(r.Context(), r.PathValue("id"))
	if err == nil && !h.store.sees(r.Context(), c.Division) && !h.store.sees(r.Context(), h.division(r)) {
		err = errNotFound
	}
	return respond(w, 200, c, err)
}

func (h *handlers) apiTopics(w http.ResponseWriter, r *http.Request) error {
	size, err := pageSize(r)
	if err != nil {
		return err
	}
	pg, err := h.store.Topics(r.Context(), h.division(r), r.URL.Query().Get("status"), r.URL.Query().Get("cursor"), size)
	return respond(w, 200, pg, err)
}

func (h *handlers) apiRaise(w http.ResponseWriter, r *http.Request) error {
	var in TopicInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	t, err := h.store.Raise(r.Context(), in)
	return respond(w, 201, t, err)
}

func (h *handlers) apiTopic(w http.ResponseWriter, r *http.Request) error {
	t, err := h.store.Topic(r.Context(), r.PathValue("id"))
	return respond(w, 200, t, err)
}

func (h *handlers) apiCosign(w http.ResponseWriter, r *http.Request) error {
	t, err := h.store.Cosign(r.Context(), r.PathValue("id"))
	return respond(w, 200, t, err)
}

func (h *handlers) apiMove(action string) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in MoveInput
		if err := web.DecodeJSON(w, r, &in); err != nil {
			return err
		}
		t, err := h.store.Transition(r.Context(), r.PathValue("id"), action, in)
		return respond(w, 200, t, err)
	}
}

func (h *handlers) apiMeetings(w http.ResponseWriter, r *http.Request) error {
	ms, err := h.store.Meetings(r.Context(), h.division(r), 50)
	return respond(w, 200, ms, err)
}

func (h *handlers) apiSchedule(w http.ResponseWriter, r *http.Request) error {
	var in MeetingInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	m, err := h.store.Schedule(r.Context(), in)
	return respond(w, 201, m, err)
}

func (h *handlers) apiMeeting(w http.ResponseWriter, r *http.Request) error {
	m, err := h.store.Meeting(r.Context(), r.PathValue("id"))
	return respond(w, 200, m, err)
}

func (h *handlers) apiAttend(w http.ResponseWriter, r *http.Request) error {
	var in AttendanceInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	m, err := h.store.Attend(r.Context(), r.PathValue("id"), in)
	return respond(w, 200, m, err)
}

func (h *handlers) apiMinutes(w http.ResponseWriter, r *http.Request) error {
	var in MinutesInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	m, err := h.store.RecordMinutes(r.Context(), r.PathValue("id"), in)
	return respond(w, 200, m, err)
}

func (h *handlers) apiVotes(w http.ResponseWriter, r *http.Request) error {
	size, err := pageSize(r)
	if err != nil {
		return err
	}
	pg, err := h.store.Votes(r.Context(), h.division(r), r.URL.Query().Get("cursor"), size)
	return respond(w, 200, pg, err)
}

func (h *handlers) apiOpenVote(w http.ResponseWriter, r *http.Request) error {
	var in VoteInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	v, err := h.store.OpenVote(r.Context(), in)
	return respond(w, 201, v, err)
}

func (h *handlers) apiVote(w http.ResponseWriter, r *http.Request) error {
	v, err := h.store.Vote(r.Context(), r.PathValue("id"))
	return respond(w, 200, v, err)
}

func (h *handlers) apiCast(w http.ResponseWriter, r *http.Request) error {
	var in BallotInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	rc, err := h.store.Cast(r.Context(), r.PathValue("id"), in)
	return respond(w, 201, rc, err)
}

func (h *handlers) apiResults(w http.ResponseWriter, r *http.Request) error {
	v, err := h.store.Vote(r.Context(), r.PathValue("id"))
	if err == nil && v.Result == nil {
		err = fault.Conflict(fault.M("表决尚未结束，截止后计票", "the vote is still open: it is counted when it closes"))
	}
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, v.Result)
	return nil
}

func (h *handlers) apiExport(w http.ResponseWriter, r *http.Request) error {
	ex, err := h.store.Export(r.Context(), r.PathValue("id"))
	return respond(w, 200, ex, err)
}

func (h *handlers) apiVerify(w http.ResponseWriter, r *http.Request) error {
	c, err := h.store.Verify(r.Context(), r.PathValue("id"))
	return respond(w, 200, c, err)
}

func (h *handlers) apiDecisions(w http.ResponseWriter, r *http.Request) error {
	size, err := pageSize(r)
	if err != nil {
		return err
	}
	div := h.division(r)
	if len(div) < 2 || strings.Trim(div, "0123456789") != "" {
		return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("division_code", fault.M("请给出区划代码", "give a division code")))
	}
	pg, err := h.store.Decisions(r.Context(), div, r.URL.Query().Get("cursor"), size)
	return respond(w, 200, pg, err)
}

func (h *handlers) apiDecide(w http.ResponseWriter, r *http.Request) error {
	var in DecisionInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	d, err := h.store.Decide(r.Context(), in)
	return respond(w, 201, d, err)
}

func (h *handlers) apiDecision(w http.ResponseWriter, r *http.Request) error {
	d, err := h.store.Decision(r.Context(), r.PathValue("id"))
	return respond(w, 200, d, err)
}

func (h *handlers) apiProgress(w http.ResponseWriter, r *http.Request) error {
	var in ProgressInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	d, err := h.store.AddProgress(r.Context(), r.PathValue("id"), in)
	return respond(w, 201, d, err)
}

func (h *handlers) apiComments(w http.ResponseWriter, r *http.Request) error {
	size, err := pageSize(r)
	if err != nil {
		return err
	}
	pg, err := h.store.Comments(r.Context(), r.PathValue("id"), r.URL.Query().Get("cursor"), size)
	return respond(w, 200, pg, err)
}

func (h *handlers) apiComment(w http.ResponseWriter, r *http.Request) error {
	var in CommentInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := h.store.Comment(r.Context(), r.PathValue("id"), in)
	return respond(w, 201, c, err)
}

func (h *handlers) apiSupports(w http.ResponseWriter, r *http.Request) error {
	sp, err := h.store.Supports(r.Context(), r.PathValue("id"))
	return respond(w, 200, sp, err)
}

func (h *handlers) apiSupport(on bool) web.HandlerFunc {
	status := 200
	if on {
		status = 201
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		sp, err := h.store.SupportTopic(r.Context(), r.PathValue("id"), on)
		return respond(w, status, sp, err)
	}
}

func (h *handlers) apiCommentOne(w http.ResponseWriter, r *http.Request) error {
	c, err := h.store.CommentFor(r.Context(), r.PathValue("id"))
	return respond(w, 200, c, err)
}

func (h *handlers) apiReport(w http.ResponseWriter, r *http.Request) error {
	var in ReportInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := h.store.Report(r.Context(), r.PathValue("id"), in); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handlers) apiModerate(w http.ResponseWriter, r *http.Request) error {
	var in ModerationInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := h.store.Moderate(r.Context(), r.PathValue("id"), in)
	return respond(w, 200, c, err)
}

func (h *handlers) apiQueue(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.store.Queue(r.Context(), h.division(r))
	return respond(w, 200, cs, err)
}

func (h *handlers) apiWords(w http.ResponseWriter, r *http.Request) error {
	ws, err := h.store.Words(r.Context(), h.division(r))
	return respond(w, 200, ws, err)
}

func (h *handlers) apiSetWords(w http.ResponseWriter, r *http.Request) error {
	var in WordsInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	ws, err := h.store.SetWords(r.Context(), in)
	return respond(w, 200, ws, err)
}

func (h *handlers) apiBoard(w http.ResponseWriter, r *http.Request) error {
	size, err := pageSize(r)
	if err != nil {
		return err
	}
	div := h.division(r)
	if len(div) != 12 || strings.Trim(div, "0123456789") != "" {
		return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("division_code", fault.M("请给出村（社区）代码", "give a community code")))
	}
	pg, err := h.store.Board(r.Context(), div, r.URL.Query().Get("archive") == "1" || r.URL.Query().Get("archive") == "true", r.URL.Query().Get("cursor"), size)
	return respond(w, 200, pg, err)
}

func (h *handlers) apiPublish(w http.ResponseWriter, r *http.Request) error {
	var in NoticeInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	n, err := h.store.Publish(r.Context(), in)
	return respond(w, 201, n, err)
}

func (h *handlers) apiNotice(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	// A public path: a malformed id is the caller's mistake, not a notice
	// that is missing.
	if len(id) < 16 || len(id) > 64 || strings.Trim(id, "0123456789abcdefghijklmnopqrstuvwxyz-") != "" {
		return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("id", fault.M("编号格式有误", "malformed id")))
	}
	n, err := h.store.Notice(r.Context(), id)
	return respond(w, 200, n, err)
}

func (h *handlers) apiAcknowledge(w http.ResponseWriter, r *http.Request) error {
	n, err := h.store.Acknowledge(r.Context(), r.PathValue("id"))
	return respond(w, 201, n, err)
}
