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

// taker says who may take a transition.
type taker int

const (
	handlers taker = iota // community workers, grid workers and officers
	reporter              // the reporter, or a handler recording the call-back of a caller without an account
)

// rule is one row of the lifecycle's table of legal moves: the states an
// action leaves, who may take it, the state it leads to and what it sets.
type rule struct {
	from  []Status
	to    Status
	by    taker
	label fault.Msg
	// set checks the action's input and writes its own columns, note and
	// notice; nil when the action only moves the status.
	set func(s *Store, c *change) error
}

// Rules is the lifecycle's state machine.
var Rules = map[Action]rule{
	"accept":   {from: []Status{Submitted, Transferred}, to: Accepted, label: fault.M("受理", "Accept"), set: (*Store).setAccept},
	"assign":   {from: []Status{Accepted, Returned, Reopened}, to: Assigned, label: fault.M("派单", "Assign"), set: (*Store).setAssign},
	"start":    {from: []Status{Accepted, Assigned, Reopened}, to: InProgress, label: fault.M("开始办理", "Start work")},
	"answer":   {from: []Status{Accepted, Assigned, InProgress, Reopened}, to: Answered, label: fault.M("办结答复", "Answer"), set: (*Store).setAnswer},
	"close":    {from: []Status{Answered, Evaluated}, to: Closed, label: fault.M("关闭", "Close"), set: (*Store).setClose},
	"return":   {from: []Status{Submitted, Accepted, Assigned, InProgress, Transferred}, to: Returned, label: fault.M("退回", "Return"), set: (*Store).setReturn},
	"transfer": {from: []Status{Submitted, Accepted, Assigned, InProgress, Returned, Transferred}, to: Transferred, label: fault.M("转办", "Transfer"), set: (*Store).setTransfer},
	"merge":    {from: []Status{Submitted, Accepted, Assigned, InProgress, Returned, Transferred, Reopened}, to: Merged, label: fault.M("合并", "Merge"), set: (*Store).setMerge},
	"reject":   {from: []Status{Submitted, Accepted, Returned, Transferred}, to: Rejected, label: fault.M("不予受理", "Reject"), set: (*Store).setReject},
	"evaluate": {from: []Status{Answered}, to: Evaluated, by: reporter, label: fault.M("评价", "Evaluate"), set: (*Store).setEvaluate},
	"reopen":   {from: []Status{Answered, Evaluated, Closed}, to: Reopened, by: reporter, label: fault.M("追问重办", "Reopen"), set: (*Store).setReopen},
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
	return permit(ctx, r, ru.by) == nil
}

// permit tells whether the principal in ctx may take a transition of r
// that the taker may take.
func permit(ctx context.Context, r Request, by taker) error {
	p := access.From(ctx)
	if by == handlers {
		if !isHandler(p) {
			return fault.Forbidden(fault.M("只有社区工作者和民政干部可以办理诉求", "only community workers and officers handle requests"))
		}
		return nil
	}
	notReporter := fault.Forbidden(fault.M("只有提交人本人可以评价或追问", "only the reporter may evaluate or follow up"))
	if r.ReporterID != "" {
		if p == nil || p.UserID != r.ReporterID {
			return notReporter
		}
		return nil
	}
	if isHandler(p) { // a caller without an account: the worker records the call-back
		return nil
	}
	return notReporter
}

// change is a transition under way inside its transaction: the request as
// it will be, the columns to write, the event's note and the notice for
// the handling unit.
type change struct {
	s      *Store
	ctx    context.Context
	tx     *sql.Tx
	in     Input
	now    time.Time
	from   Status
	r      Request
	note   string
	notice *fault.Msg
	set    []string
	args   []any
	sealed []string // the fields whose text held personal data
}

// put sets a column in the update.
func (c *change) put(col string, v any) {
	c.args = append(c.args, v)
	c.set = append(c.set, fmt.Sprintf("%s = $%d", col, len(c.args)))
}

// putText sets a free-text column to its masked text and the field's
// sealed column to the original (or "" when it held no personal data),
// and returns the masked text.
func (c *change) putText(col, field, text string) string {
	masked, sealed := c.s.seal(text, field, c.r.ID)
	c.put(col, masked)
	c.put(field+"_sealed", sealed)
	if sealed != "" {
		c.sealed = append(c.sealed, field)
	}
	return masked
}

func (c *change) notify(m fault.Msg) { c.notice = &m }

// Transition takes action a on the request id. It checks the state machine
// and the caller's rights, and writes the change, its event and its audit
// entry in one transaction; an update that lost a race changes nothing and
// answers 409.
func (s *Store) Transition(ctx context.Context, id string, a Action, in Input) (Request, error) {
	_, ok := Rules[a]
	if !ok {
		return Request{}, fault.NotFound(fault.M("没有这个操作", "no such action"))
	}
	in.Note = strings.TrimSpace(in.Note)
	if err := checkLengths(in); err != nil {
		return Request{}, err
	}
	now := s.Now()
	var out Request
	var sent []Notice
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		sent = sent[:0]
		var err error
		out, err = s.transitionTx(ctx, tx, id, a, in, now, &sent)
		return err
	})
	if err != nil {
		return Request{}, err
	}
	s.deliver(ctx, sent)
	s.tellReporter(ctx, a, out)
	got, err := s.Get(ctx, out.ID)
	if errors.Is(err, errNoRequest) { // transferred out of the caller's area
		return out, s.present(ctx, &out)
	}
	return got, err
}

// transitionTx takes action a inside tx (Transition's, or one a bulk load
// shares among many), adding the notices for the unit to sent.
func (s *Store) transitionTx(ctx context.Context, tx *sql.Tx, id string, a Action, in Input, now time.Time, sent *[]Notice) (Request, error) {
	ru, ok := Rules[a]
	if !ok {
		return Request{}, fault.NotFound(fault.M("没有这个操作", "no such action"))
	}
	c, err := s.begin(ctx, tx, id, a, in, now)
	if err != nil {
		return Request{}, err
	}
	if ru.set != nil {
		if err := ru.set(s, c); err != nil {
			return Request{}, err
		}
	}
	return s.commit(c, a, sent)
}

// checkLengths refuses texts over their limits before anything is read.
func checkLengths(in Input) error {
	if utf8.RuneCountInString(in.Note) > 2000 || utf8.RuneCountInString(in.Reply) > MaxDescription || utf8.RuneCountInString(in.Reason) > 2000 || utf8.RuneCountInString(in.Comment) > 2000 {
		return fault.Invalid(fault.M("文字过长", "text too long"))
	}
	return nil
}

// begin reads the request in the caller's area and checks, in this order,
// the caller's right, the version they saw and the state machine.
func (s *Store) begin(ctx context.Context, tx *sql.Tx, id string, a Action, in Input, now time.Time) (*change, error) {
	ru := Rules[a]
	cond, args := scopeSQL(ctx, 2)
	r, err := scan(tx.QueryRowContext(ctx, `SELECT `+cols+` FROM requests r WHERE (r.id = $1 OR r.number = $1)`+cond, append([]any{id}, args...)...))
	if err != nil {
		return nil, err
	}
	if err := permit(ctx, r, ru.by); err != nil {
		return nil, err
	}
	if in.Version != 0 && in.Version != r.Version {
		return nil, errChanged
	}
	if !inStates(r.Status, ru.from) {
		return nil, illegal(r, a)
	}
	c := &change{s: s, ctx: ctx, tx: tx, in: in, now: now, from: r.Status, r: r, note: in.Note}
	c.r.Status = ru.to
	return c, nil
}

// commit writes the change under the optimistic lock, then its event, its
// notice and its audit entry.
func (s *Store) commit(c *change, a Action, sent *[]Notice) (Request, error) {
	ctx, tx, r := c.ctx, c.tx, &c.r
	c.put("status", string(r.Status))
	c.put("updated_at", db.T(c.now))
	c.args = append(c.args, r.ID, r.Version)
	res, err := tx.ExecContext(ctx, `UPDATE requests SET `+strings.Join(c.set, ", ")+fmt.Sprintf(`, version = version + 1 WHERE id = $%d AND version = $%d`, len(c.args)-1, len(c.args)), c.args...)
	if err != nil {
		return Request{}, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return Request{}, err
	} else if n != 1 {
		return Request{}, errChanged
	}
	r.Version++
	if err := s.insertEvent(ctx, tx, *r, r.Version, string(a), c.from, r.Status, actorOf(ctx), c.note, c.now); err != nil {
		if db.IsUniqueViolation(err) {
			return Request{}, errChanged
		}
		return Request{}, err
	}
	if c.notice != nil {
		if err := s.noticeTx(ctx, tx, *r, string(a), *c.notice, c.now, sent); err != nil {
			return Request{}, err
		}
	}
	err = s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "request." + string(a), Object: "request", ObjectID: r.Number, Division: r.Division,
		Detail: audit.Detail(map[string]any{"from": c.from, "to": r.Status, "version": r.Version, "unit": r.Unit})})
	return *r, err
}

// setAccept starts the handling: the response clock stops.
func (s *Store) setAccept(c *change) error {
	if c.r.AcceptedAt == nil {
		c.put("accepted_at", db.T(c.now))
		c.put("response_met", !c.now.After(c.r.ResponseDue))
	}
	return nil
}

// setAssign dispatches to a unit (required after a return) and a person.
func (s *Store) setAssign(c *change) error {
	r := &c.r
	if c.in.Unit != "" {
		u, err := s.target(c.ctx, *r, c.in.Unit, false)
		if err != nil {
			return err
		}
		r.Unit, r.UnitName = u.Code, u.Name
		c.put("unit_code", r.Unit)
		c.put("unit_name", r.UnitName)
	} else if c.from == Returned {
		return fault.Invalid(fault.M("退回的诉求须重新派给一个单位", "a returned request must be dispatched to a unit"), fault.Field("unit_code", fault.M("请选择承办单位", "choose the handling unit")))
	}
	r.Assignee = strings.TrimSpace(c.in.Assignee)
	if r.Assignee == "" {
		r.Assignee = r.UnitName
	}
	c.put("assignee", r.Assignee)
	if c.note == "" {
		c.note = "派至 / to " + r.Assignee
	}
	c.notify(fault.M("派单："+r.Number, "Assigned: "+r.Number))
	return nil
}

// setAnswer records the reply (written, or one of the category's
// templates) and stops the resolution clock (and the response clock if it
// still ran).
func (s *Store) setAnswer(c *change) error {
	r := &c.r
	reply := strings.TrimSpace(c.in.Reply)
	if reply == "" && c.in.Template > 0 {
		cat, err := s.Category(c.ctx, r.Category)
		if err != nil && !fault.Is(err, fault.CodeNotFound) { // a retired category has no templates
			return err
		}
		if c.in.Template <= len(cat.Templates) {
			reply = cat.Templates[c.in.Template-1]
		}
	}
	if reply == "" {
		return fault.Invalid(fault.M("请填写答复内容", "please write the reply"), fault.Field("reply", fault.M("答复不能为空", "the reply is required")))
	}
	r.Reply = c.putText("reply", "reply", reply)
	c.put("answered_at", db.T(c.now))
	c.put("resolve_met", !c.now.After(r.ResolveDue))
	if r.AcceptedAt == nil {
		c.put("accepted_at", db.T(c.now))
		c.put("response_met", !c.now.After(r.ResponseDue))
	}
	c.note = reply
	return nil
}

func (s *Store) setClose(c *change) error {
	c.put("closed_at", db.T(c.now))
	return nil
}

// reason records the required reason of a return or a rejection.
func (c *change) reason() error {
	reason := strings.TrimSpace(c.in.Reason)
	if reason == "" {
		return fault.Invalid(fault.M("请说明理由", "please give the reason"), fault.Field("reason", fault.M("理由不能为空", "the reason is required")))
	}
	c.r.Reason = c.putText("reason", "reason", reason)
	c.note = reason
	return nil
}

// setReturn sends the request back to dispatch: the unit one level up.
func (s *Store) setReturn(c *change) error {
	if err := c.reason(); err != nil {
		return err
	}
	r := &c.r
	if divisions.LevelOf(r.Unit) > 3 {
		u, err := s.Divs.Get(c.ctx, divisions.ParentCode(r.Unit))
		if err != nil {
			return err
		}
		r.Unit, r.UnitName = u.Code, u.Name
	}
	c.put("unit_code", r.Unit)
	c.put("unit_name", r.UnitName)
	c.put("return_count", r.ReturnCount+1)
	c.put("assignee", "")
	c.notify(fault.M("退回待重新派单："+r.Number, "Returned for dispatch: "+r.Number))
	return nil
}

func (s *Store) setReject(c *change) error {
	if err := c.reason(); err != nil {
		return err
	}
	c.put("closed_at", db.T(c.now))
	return nil
}

// setTransfer hands the request to another unit of the county (a
// community there corrects a wrong location) and restarts the response
// clock.
func (s *Store) setTransfer(c *change) error {
	r := &c.r
	if c.in.Unit == "" {
		return fault.Invalid(fault.M("请选择转办单位", "choose the unit to transfer to"), fault.Field("unit_code", fault.M("转办单位不能为空", "the target unit is required")))
	}
	u, err := s.target(c.ctx, *r, c.in.Unit, true)
	if err != nil {
		return err
	}
	r.Unit, r.UnitName = u.Code, u.Name
	if dep := strings.TrimSpace(c.in.Department); dep != "" {
		r.UnitName = u.Name + " " + dep
	}
	if u.Level == 5 && u.Code != r.Division { // the location was wrong
		r.Division = u.Code
		c.put("division_code", r.Division)
	}
	c.put("unit_code", r.Unit)
	c.put("unit_name", r.UnitName)
	c.put("assignee", "")
	c.put("accepted_at", nil)
	c.put("response_met", nil)
	cat, err := s.Category(c.ctx, r.Category)
	if err != nil {
		return err
	}
	r.ResponseDue = s.cal().Due(c.now, cat.ResponseHours, cat.WorkingHours)
	c.put("response_due", db.T(r.ResponseDue))
	c.put("response_stage", 0)
	if c.note == "" {
		c.note = "转至 / to " + r.UnitName
	}
	c.notify(fault.M("转办来件："+r.Number, "Transferred to you: "+r.Number))
	return nil
}

// setMerge closes a duplicate into its open original.
func (s *Store) setMerge(c *change) error {
	orig, err := s.mergeTarget(c.ctx, c.tx, c.r, c.in.Into)
	if err != nil {
		return err
	}
	c.r.MergedInto = orig.ID
	c.put("merged_into", orig.ID)
	c.put("closed_at", db.T(c.now))
	c.note = "并入 / merged into " + orig.Number
	return nil
}

// setEvaluate records the reporter's rating; an unsatisfied one reopens
// the request.
func (s *Store) setEvaluate(c *change) error {
	r := &c.r
	switch c.in.Rating {
	case Satisfied, FairlySatisfed:
	case Unsatisfied:
		r.Status = Reopened
	default:
		return fault.Invalid(fault.M("请选择满意、基本满意或不满意", "choose satisfied, fairly satisfied or unsatisfied"), fault.Field("rating", fault.M("评价无效", "invalid rating")))
	}
	comment := strings.TrimSpace(c.in.Comment)
	r.Rating, r.RatingComment = c.in.Rating, c.putText("rating_comment", "comment", comment)
	c.put("rating", r.Rating)
	c.note = ratingLabel(r.Rating).ZH + "：" + comment
	if r.Status != Reopened {
		c.put("closed_at", nil)
		return nil
	}
	if err := s.reopenFields(c.ctx, r, c.now, c.put); err != nil {
		return err
	}
	c.notify(fault.M("居民不满意，诉求重办："+r.Number, "Resident unsatisfied, reopened: "+r.Number))
	return nil
}

// setReopen takes the reporter's follow-up within the reopen window.
func (s *Store) setReopen(c *change) error {
	r := &c.r
	if r.AnsweredAt != nil && c.now.Sub(*r.AnsweredAt) > s.reopenWithin() {
		days := int(s.reopenWithin().Hours() / 24)
		return fault.Conflict(fault.M(fmt.Sprintf("办结已超过 %d 天，请提交新诉求", days), fmt.Sprintf("answered more than %d days ago: please submit a new request", days)))
	}
	if c.note == "" {
		return fault.Invalid(fault.M("请说明追问内容", "please say what is still wrong"), fault.Field("note", fault.M("追问内容不能为空", "the follow-up is required")))
	}
	if err := s.reopenFields(c.ctx, r, c.now, c.put); err != nil {
		return err
	}
	c.notify(fault.M("居民追问，诉求重办："+r.Number, "Resident followed up, reopened: "+r.Number))
	return nil
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
	if errors.Is(err, errNoRequest) {
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
