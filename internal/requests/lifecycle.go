package requests

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
)

// Action names a transition; each has its own API endpoint.
type Action string

// rule describes a transition: the states it leaves and who may take it.
type rule struct {
	from     []Status
	to       Status
	reporter bool // taken by the reporter (or on their behalf for callers without an account)
	label    fault.Msg
}

// Rules is the lifecycle's state machine.
var Rules = map[Action]rule{
	"accept":   {from: []Status{Submitted, Transferred}, to: Accepted, label: fault.M("受理", "Accept")},
	"assign":   {from: []Status{Accepted, Returned, Reopened}, to: Assigned, label: fault.M("派单", "Assign")},
	"start":    {from: []Status{Accepted, Assigned, Reopened}, to: InProgress, label: fault.M("开始办理", "Start work")},
	"answer":   {from: []Status{Accepted, Assigned, InProgress, Reopened}, to: Answered, label: fault.M("办结答复", "Answer")},
	"close":    {from: []Status{Answered, Evaluated}, to: Closed, label: fault.M("关闭", "Close")},
	"return":   {from: []Status{Submitted, Accepted, Assigned, InProgress, Transferred}, to: Returned, label: fault.M("退回", "Return")},
	"transfer": {from: []Status{Submitted, Accepted, Assigned, InProgress, Returned, Transferred}, to: Transferred, label: fault.M("转办", "Transfer")},
	"merge":    {from: []Status{Submitted, Accepted, Assigned, InProgress, Returned, Transferred, Reopened}, to: Merged, label: fault.M("合并", "Merge")},
	"reject":   {from: []Status{Submitted, Accepted, Returned, Transferred}, to: Rejected, label: fault.M("不予受理", "Reject")},
	"evaluate": {from: []Status{Answered}, to: Evaluated, reporter: true, label: fault.M("评价", "Evaluate")},
	"reopen":   {from: []Status{Answered, Evaluated, Closed}, to: Reopened, reporter: true, label: fault.M("追问重办", "Reopen")},
}

// ActionOrder is the display order of the actions.
var ActionOrder = []Action{"accept", "assign", "start", "answer", "return", "transfer", "merge", "reject", "close", "evaluate", "reopen"}

// Input carries the fields a transition may need.
type Input struct {
	Version    int    `json:"version,omitempty"` // optimistic lock: the version the caller saw
	Note       string `json:"note,omitempty"`
	Unit       string `json:"unit_code,omitempty"`  // assign, transfer: target unit
	Department string `json:"department,omitempty"` // transfer: a department within the unit
	Assignee   string `json:"assignee,omitempty"`   // assign
	Reply      string `json:"reply,omitempty"`      // answer
	Template   int    `json:"template,omitempty"`   // answer: 1-based reply template of the category, used when reply is empty
	Reason     string `json:"reason,omitempty"`     // return, reject
	Rating     string `json:"rating,omitempty"`     // evaluate: satisfied, fairly_satisfied, unsatisfied
	Comment    string `json:"comment,omitempty"`    // evaluate
	Into       string `json:"into,omitempty"`       // merge: id or number of the original
}

var errChanged = fault.Conflict(fault.M("该诉求已被他人处理或已变更，请刷新后重试", "the request was changed by someone else; reload and try again"))

func illegal(r Request, a Action) error {
	return fault.Conflict(fault.M(fmt.Sprintf("诉求当前状态为“%s”，不能%s", r.Status.Label().ZH, Rules[a].label.ZH),
		fmt.Sprintf("the request is %s: cannot %s it", strings.ToLower(r.Status.Label().EN), strings.ToLower(Rules[a].label.EN))))
}

func isHandler(p *access.Principal) bool {
	return p != nil && (p.Role == access.CommunityWorker || p.Role == access.GridWorker || p.Role == access.Officer)
}

// Allowed tells whether the principal in ctx could take a on r now (used to
// show only the forms that would work).
func (s *Store) Allowed(ctx context.Context, r Request, a Action) bool {
	ru, ok := Rules[a]
	if !ok || !inStates(r.Status, ru.from) {
		return false
	}
	return s.permit(ctx, r, a) == nil
}

func (s *Store) permit(ctx context.Context, r Request, a Action) error {
	p := access.From(ctx)
	ru := Rules[a]
	if ru.reporter {
		if r.ReporterID != "" {
			if p == nil || p.UserID != r.ReporterID {
				return fault.Forbidden(fault.M("只有提交人本人可以评价或追问", "only the reporter may evaluate or follow up"))
			}
			return nil
		}
		if isHandler(p) { // a caller without an account: the worker records the call-back
			return nil
		}
		return fault.Forbidden(fault.M("只有提交人本人可以评价或追问", "only the reporter may evaluate or follow up"))
	}
	if !isHandler(p) {
		return fault.Forbidden(fault.M("只有社区工作者和民政干部可以办理诉求", "only community workers and officers handle requests"))
	}
	return nil
}

// Transition takes action a on the request id. It checks the state machine
// and the caller's rights, and writes the change, its event and its audit
// entry in one transaction; an update that lost a race changes nothing and
// answers 409.
func (s *Store) Transition(ctx context.Context, id string, a Action, in Input) (Request, error) {
	ru, ok := Rules[a]
	if !ok {
		return Request{}, db.ErrNotFound
	}
	in.Note = strings.TrimSpace(in.Note)
	if utf8.RuneCountInString(in.Note) > 2000 || utf8.RuneCountInString(in.Reply) > MaxDescription || utf8.RuneCountInString(in.Reason) > 2000 || utf8.RuneCountInString(in.Comment) > 2000 {
		return Request{}, fault.Invalid(fault.M("文字过长", "text too long"))
	}
	now := s.now()
	var out Request
	var notice *fault.Msg
	var sent []Notice
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		cond, args := scopeSQL(ctx, 2)
		r, err := scan(tx.QueryRowContext(ctx, `SELECT `+cols+` FROM requests r WHERE (r.id = $1 OR r.number = $1)`+cond, append([]any{id}, args...)...))
		if err != nil {
			return err
		}
		if err := s.permit(ctx, r, a); err != nil {
			return err
		}
		if in.Version != 0 && in.Version != r.Version {
			return errChanged
		}
		if !inStates(r.Status, ru.from) {
			return illegal(r, a)
		}
		from := r.Status
		r.Status = ru.to
		note := in.Note
		set := []string{}
		var sargs []any
		put := func(col string, v any) {
			sargs = append(sargs, v)
			set = append(set, fmt.Sprintf("%s = $%d", col, len(sargs)))
		}
		switch a {
		case "accept":
			if r.AcceptedAt == nil {
				put("accepted_at", db.T(now))
				met := !now.After(r.ResponseDue)
				put("response_met", met)
			}
		case "assign":
			if in.Unit != "" {
				u, err := s.target(ctx, r, in.Unit, false)
				if err != nil {
					return err
				}
				r.Unit, r.UnitName = u.Code, u.Name
				put("unit_code", r.Unit)
				put("unit_name", r.UnitName)
			} else if from == Returned {
				return fault.Invalid(fault.M("退回的诉求须重新派给一个单位", "a returned request must be dispatched to a unit"), fault.Field("unit_code", fault.M("请选择承办单位", "choose the handling unit")))
			}
			r.Assignee = strings.TrimSpace(in.Assignee)
			if r.Assignee == "" {
				r.Assignee = r.UnitName
			}
			put("assignee", r.Assignee)
			if note == "" {
				note = "派至 / to " + r.Assignee
			}
			msg := fault.M("派单："+r.Number, "Assigned: "+r.Number)
			notice = &msg
		case "answer":
			reply := strings.TrimSpace(in.Reply)
			if reply == "" && in.Template > 0 {
				if cat, err := s.Category(ctx, r.Category); err == nil && in.Template <= len(cat.Templates) {
					reply = cat.Templates[in.Template-1]
				}
			}
			if reply == "" {
				return fault.Invalid(fault.M("请填写答复内容", "please write the reply"), fault.Field("reply", fault.M("答复不能为空", "the reply is required")))
			}
			r.Reply = reply
			put("reply", reply)
			put("answered_at", db.T(now))
			put("resolve_met", !now.After(r.ResolveDue))
			if r.AcceptedAt == nil {
				put("accepted_at", db.T(now))
				put("response_met", !now.After(r.ResponseDue))
			}
			note = reply
		case "close":
			put("closed_at", db.T(now))
		case "return", "reject":
			reason := strings.TrimSpace(in.Reason)
			if reason == "" {
				return fault.Invalid(fault.M("请说明理由", "please give the reason"), fault.Field("reason", fault.M("理由不能为空", "the reason is required")))
			}
			r.Reason = reason
			put("reason", reason)
			note = reason
			if a == "return" {
				// Back to dispatch: the unit one level up.
				if divisions.LevelOf(r.Unit) > 3 {
					u, err := s.Divs.Get(ctx, divisions.ParentCode(r.Unit))
					if err != nil {
						return err
					}
					r.Unit, r.UnitName = u.Code, u.Name
				}
				put("unit_code", r.Unit)
				put("unit_name", r.UnitName)
				put("return_count", r.ReturnCount+1)
				put("assignee", "")
				msg := fault.M("退回待重新派单："+r.Number, "Returned for dispatch: "+r.Number)
				notice = &msg
			} else {
				put("closed_at", db.T(now))
			}
		case "transfer":
			if in.Unit == "" {
				return fault.Invalid(fault.M("请选择转办单位", "choose the unit to transfer to"), fault.Field("unit_code", fault.M("转办单位不能为空", "the target unit is required")))
			}
			u, err := s.target(ctx, r, in.Unit, true)
			if err != nil {
				return err
			}
			r.Unit, r.UnitName = u.Code, u.Name
			if dep := strings.TrimSpace(in.Department); dep != "" {
				r.UnitName = u.Name + " " + dep
			}
			if u.Level == 5 && u.Code != r.Division { // the location was wrong
				r.Division = u.Code
				put("division_code", r.Division)
			}
			put("unit_code", r.Unit)
			put("unit_name", r.UnitName)
			put("assignee", "")
			put("accepted_at", nil)
			put("response_met", nil)
			cat, err := s.Category(ctx, r.Category)
			if err != nil {
				return err
			}
			r.ResponseDue = s.cal().Due(now, cat.ResponseHours, cat.WorkingHours)
			put("response_due", db.T(r.ResponseDue))
			put("response_stage", 0)
			if note == "" {
				note = "转至 / to " + r.UnitName
			}
			msg := fault.M("转办来件："+r.Number, "Transferred to you: "+r.Number)
			notice = &msg
		case "merge":
			orig, err := s.mergeTarget(ctx, tx, r, in.Into)
			if err != nil {
				return err
			}
			r.MergedInto = orig.ID
			put("merged_into", orig.ID)
			put("closed_at", db.T(now))
			note = "并入 / merged into " + orig.Number
		case "evaluate":
			switch in.Rating {
			case Satisfied, FairlySatisfed:
			case Unsatisfied:
				r.Status = Reopened
			default:
				return fault.Invalid(fault.M("请选择满意、基本满意或不满意", "choose satisfied, fairly satisfied or unsatisfied"), fault.Field("rating", fault.M("评价无效", "invalid rating")))
			}
			r.Rating, r.RatingComment = in.Rating, strings.TrimSpace(in.Comment)
			put("rating", r.Rating)
			put("rating_comment", r.RatingComment)
			note = ratingLabel(r.Rating).ZH + "：" + r.RatingComment
			if r.Status == Reopened {
				if err := s.reopenFields(ctx, &r, now, put); err != nil {
					return err
				}
				msg := fault.M("居民不满意，诉求重办："+r.Number, "Resident unsatisfied, reopened: "+r.Number)
				notice = &msg
			} else {
				put("closed_at", nil)
			}
		case "reopen":
			if r.AnsweredAt != nil && now.Sub(*r.AnsweredAt) > s.reopenWithin() {
				return fault.Conflict(fault.M(fmt.Sprintf("办结已超过 %d 天，请提交新诉求", int(s.reopenWithin().Hours()/24)), fmt.Sprintf("answered more than %d days ago: please submit a new request", int(s.reopenWithin().Hours()/24))))
			}
			if note == "" {
				return fault.Invalid(fault.M("请说明追问内容", "please say what is still wrong"), fault.Field("note", fault.M("追问内容不能为空", "the follow-up is required")))
			}
			if err := s.reopenFields(ctx, &r, now, put); err != nil {
				return err
			}
			msg := fault.M("居民追问，诉求重办："+r.Number, "Resident followed up, reopened: "+r.Number)
			notice = &msg
		}
		put("status", string(r.Status))
		put("updated_at", db.T(now))
		sargs = append(sargs, r.ID, r.Version)
		res, err := tx.ExecContext(ctx, `UPDATE requests SET `+strings.Join(set, ", ")+fmt.Sprintf(`, version = version + 1 WHERE id = $%d AND version = $%d`, len(sargs)-1, len(sargs)), sargs...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errChanged
		}
		r.Version++
		act := actorOf(ctx)
		if err := insertEvent(ctx, tx, r, r.Version, string(a), from, r.Status, act, note, now); err != nil {
			if db.IsUniqueViolation(err) {
				return errChanged
			}
			return err
		}
		if notice != nil {
			if err := s.noticeTx(ctx, tx, r, string(a), *notice, now, &sent); err != nil {
				return err
			}
		}
		out = r
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "request." + string(a), Object: "request", ObjectID: r.Number, Division: r.Division,
			Detail: audit.Detail(map[string]any{"from": from, "to": r.Status, "version": r.Version, "unit": r.Unit})})
	})
	if err != nil {
		return Request{}, err
	}
	s.deliver(ctx, sent)
	got, err := s.Get(ctx, out.ID)
	if errors.Is(err, db.ErrNotFound) { // transferred out of the caller's area
		s.reveal(&out)
		return out, nil
	}
	return got, err
}

// reopenFields resets the resolution clock; the reopen counts against the
// handling unit (events carry the unit).
func (s *Store) reopenFields(ctx context.Context, r *Request, now time.Time, put func(string, any)) error {
	cat, err := s.Category(ctx, r.Category)
	if err != nil {
		return err
	}
	r.Status = Reopened
	r.ReopenCount++
	put("reopen_count", r.ReopenCount)
	put("answered_at", nil)
	put("resolve_met", nil)
	put("closed_at", nil)
	r.ResolveDue = s.cal().Due(now, cat.ResolveHours, cat.WorkingHours)
	put("resolve_due", db.T(r.ResolveDue))
	put("resolve_stage", 0)
	return nil
}

func ratingLabel(r string) fault.Msg {
	switch r {
	case Satisfied:
		return fault.M("满意", "Satisfied")
	case FairlySatisfed:
		return fault.M("基本满意", "Fairly satisfied")
	case Unsatisfied:
		return fault.M("不满意", "Unsatisfied")
	}
	return fault.M(r, r)
}

// target checks the unit a request is dispatched or transferred to: an
// existing division in the same county; dispatch stays in the caller's scope.
func (s *Store) target(ctx context.Context, r Request, code string, transfer bool) (divisions.Division, error) {
	code = strings.TrimSpace(code)
	bad := fault.Invalid(fault.M("承办单位无效", "invalid handling unit"), fault.Field("unit_code", fault.M("须为本区县内存在的区划代码", "must be an existing division code in the same county")))
	if !divisions.ValidCode(code) || len(code) < 6 || code[:6] != r.Division[:6] {
		return divisions.Division{}, bad
	}
	if !transfer && !access.ScopeOf(ctx).Contains(code) {
		return divisions.Division{}, bad
	}
	u, err := s.Divs.Get(ctx, code)
	if errors.Is(err, db.ErrNotFound) {
		return u, bad
	}
	return u, err
}

func (s *Store) mergeTarget(ctx context.Context, tx *sql.Tx, r Request, into string) (Request, error) {
	bad := func(zh, en string) error {
		return fault.Invalid(fault.M(zh, en), fault.Field("into", fault.M(zh, en)))
	}
	if strings.TrimSpace(into) == "" {
		return Request{}, bad("请填写要并入的原诉求编号", "give the number of the original request")
	}
	cond, args := scopeSQL(ctx, 2)
	o, err := scan(tx.QueryRowContext(ctx, `SELECT `+cols+` FROM requests r WHERE (r.id = $1 OR r.number = $1)`+cond, append([]any{strings.TrimSpace(into)}, args...)...))
	if errors.Is(err, db.ErrNotFound) {
		return o, bad("找不到原诉求", "no such original request")
	}
	if err != nil {
		return o, err
	}
	if o.ID == r.ID || !o.Status.Open() || o.MergedInto != "" {
		return o, bad("只能并入另一件未办结的诉求", "can only merge into another open request")
	}
	return o, nil
}
