package assistance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// The workflow is a table of legal moves: an action leaves some states
// for one; any other move is a 409. Every move is an event, audited in
// its transaction, and sets the clock of the step it leads to.

type step struct {
	from  []string
	to    string
	label fault.Msg
}

// Steps are the workflow's actions. A check result past its validity
// (CheckValidDays) asks for a new check, so the later steps may check again.
var Steps = map[string]step{
	"accept":    {from: []string{Submitted}, to: Accepted, label: fault.M("受理", "Accept")},
	"check":     {from: []string{Accepted, Investigating, Publicity, Appealed}, to: Checking, label: fault.M("发起经济状况核对", "Start the economic check")},
	"checked":   {from: []string{Checking}, to: Investigating, label: fault.M("登记核对结果", "Record the check")},
	"publicize": {from: []string{Investigating}, to: Publicity, label: fault.M("登记入户调查并公示", "Record the home investigation and publish")},
	"object":    {from: []string{Publicity}, to: Publicity, label: fault.M("登记异议", "Record an objection")},
	"approve":   {from: []string{Publicity, Appealed}, to: Approved, label: fault.M("批准", "Approve")},
	"refuse":    {from: []string{Accepted, Checking, Investigating, Publicity, Appealed}, to: Refused, label: fault.M("不予批准", "Refuse")},
	"appeal":    {from: []string{Refused}, to: Appealed, label: fault.M("申诉复核", "Appeal")},
	"enrol":     {from: []string{Approved}, to: Enrolled, label: fault.M("纳入救助", "Enrol")},
	"review":    {from: []string{Enrolled}, to: Enrolled, label: fault.M("年度复核", "Review")},
	"exit":      {from: []string{Enrolled}, to: Exited, label: fault.M("退出救助", "Exit")},
}

// StepOrder is the display order of the actions.
var StepOrder = []string{"accept", "check", "checked", "publicize", "object", "approve", "refuse", "appeal", "enrol", "review", "exit"}

// PublicityDays is how long the proposed list is on public notice.
const PublicityDays = 7

// clock is the due time of a step entered at now: working days on the
// calendar (China time), the notice's 7 calendar days and then the
// decision's working days, or a year to the next review.
func clock(cal Calendar, status string, now time.Time) time.Time {
	switch status {
	case Submitted, Accepted, Approved:
		return cal.AddWorkingDays(now, 5)
	case Checking, Investigating, Appealed:
		return cal.AddWorkingDays(now, 10)
	case Publicity:
		// the notice's days, then five working days to decide
		return cal.AddWorkingDays(now.AddDate(0, 0, PublicityDays), 5)
	case Enrolled:
		return now.AddDate(1, 0, 0)
	}
	return time.Time{}
}

// Input carries what a move may need.
type Input struct {
	Version    int      `json:"version,omitempty"` // optimistic lock: the version seen
	Note       string   `json:"note,omitempty"`
	Reason     string   `json:"reason,omitempty"`     // refuse, appeal, exit
	IncomeFen  *int64   `json:"income_fen,omitempty"` // checked: the income the check found
	AssetsFen  *int64   `json:"assets_fen,omitempty"` // checked: the assets the check found
	Programmes []string `json:"programmes,omitempty"` // approve: codes approved (default: the asked ones found eligible)
	// found is what a 核对 result file found for the household (checked);
	// without it, the figures above are recorded as the check's result.
	found *CheckResult
	// enrol: the bank account the monthly payments go to (sealed)
	AccountHolder string `json:"account_holder,omitempty"`
	BankAccount   string `json:"bank_account,omitempty"`
}

func illegal(a Application, action string) error {
	st := StatusName(a.Status)
	l := Steps[action].label
	return fault.Conflict(fault.M(fmt.Sprintf("申请当前状态为“%s”，不能%s", st.ZH, l.ZH), fmt.Sprintf("the application is %s: cannot %s", strings.ToLower(st.EN), strings.ToLower(l.EN))))
}

var errChanged = fault.Conflict(fault.M("该申请已被他人处理，请刷新后重试", "the application was changed by someone else; reload and try again"))

func text(field, v string, need bool, max int) (string, *fault.FieldError) {
	v = strings.TrimSpace(v)
	if (need && v == "") || utf8.RuneCountInString(v) > max {
		fe := fault.Field(field, fault.M(fmt.Sprintf("请填写（不超过 %d 字）", max), fmt.Sprintf("required, %d characters at most", max)))
		return "", &fe
	}
	return v, nil
}

// Transition takes one move on an application.
func (s *Store) Transition(ctx context.Context, id, action string, in Input) (Application, error) {
	if _, ok := Steps[action]; !ok {
		return Application{}, fault.NotFound(fault.M("没有这个操作", "no such action"))
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error { return s.move(ctx, tx, id, action, in) })
	if errors.Is(err, errOpenRace) {
		a, _, _, rerr := s.read(ctx, s.DB.R, id)
		if rerr != nil {
			return Application{}, rerr
		}
		if err := s.noOpenApplication(ctx, a.HouseholdID); err != nil {
			return Application{}, err
		}
		return Application{}, fault.Conflict(fault.M("这一户已有一份办理中的救助申请", "the household already has an open application"))
	}
	if err != nil {
		return Application{}, err
	}
	return s.Get(ctx, id)
}

// move takes one move in tx: a single move (Transition) or one of many
// in one transaction (a 核对 result file moving its applications).
func (s *Store) move(ctx context.Context, tx *sql.Tx, id, action string, in Input) error {
	st := Steps[action]
	p := access.From(ctx)
	now := s.Now()
	a, factsEnc, _, err := s.read(ctx, tx, id)
	if err != nil {
		return err
	}
	if ok, err := s.visible(ctx, p, a); err != nil {
		return err
	} else if !ok {
		return errNotFound
	}
	if err := permit(p, a, action); err != nil {
		return err
	}
	if !slices.Contains(st.from, a.Status) {
		return illegal(a, action)
	}
	if in.Version != 0 && in.Version != a.Version {
		return errChanged
	}
	set := map[string]any{}
	note := ""
	var fe *fault.FieldError
	switch action {
	case "accept":
		note, fe = text("note", in.Note, false, 500)
	case "enrol":
		if note, fe = text("note", in.Note, false, 500); fe == nil {
			var sealed string
			if sealed, fe = s.sealAccount(a.ID, in.AccountHolder, in.BankAccount); fe == nil {
				set["account_enc"], set["enrolled_month"] = sealed, MonthOf(now)
			}
		}
	case "check":
		if !a.Consent {
			return fault.Conflict(fault.M("申请人未授权家庭经济状况核对，不能发起核对", "no consent to the household economic check: the check cannot start"))
		}
		note, fe = text("note", in.Note, false, 500)
	case "checked":
		if note, fe = text("note", in.Note, false, 500); fe == nil {
			fe, err = s.recheck(ctx, tx, a, factsEnc, in)
			if err != nil {
				return err
			}
		}
		if fe == nil {
			if err := s.recordCheck(ctx, tx, a, factsEnc, in, now); err != nil {
				return err
			}
		}
	case "publicize":
		if err := s.freshCheck(ctx, tx, a, now); err != nil {
			return err
		}
		if note, fe = text("note", in.Note, true, 1000); fe == nil {
			set["publicity_until"] = db.T(now.AddDate(0, 0, PublicityDays))
		}
	case "object":
		note, fe = text("note", in.Note, true, 1000)
	case "approve":
		if err := decider(p, a, action); err != nil {
			return err
		}
		if a.Status == Publicity && a.PublicityUntil != nil && now.Before(*a.PublicityUntil) {
			return fault.Conflict(fault.M("公示期未满 7 天，不能审批", "the public notice has not run its 7 days"))
		}
		if err := s.freshCheck(ctx, tx, a, now); err != nil {
			return err
		}
		var codes []string
		var amount int64
		if codes, amount, fe, err = s.approvable(ctx, tx, p, a, in.Programmes); err != nil {
			return err
		}
		if fe == nil {
			note, fe = text("note", in.Note, false, 1000)
			set["approved"], set["amount_fen"], set["decided_by"] = strings.Join(codes, ","), amount, p.Username
		}
	case "refuse":
		if err := decider(p, a, action); err != nil {
			return err
		}
		if note, fe = text("reason", in.Reason, true, 1000); fe == nil {
			set["decided_by"], set["approved"], set["amount_fen"] = p.Username, "", 0
		}
	case "appeal":
		note, fe = text("reason", in.Reason, true, 1000)
	case "exit":
		// paid up to and including the month of the exit
		if note, fe = text("reason", in.Reason, true, 1000); fe == nil {
			set["exited_month"] = MonthOf(now)
		}
	case "review":
		note, fe = text("note", in.Note, true, 1000)
	}
	if fe != nil {
		return fault.Invalid(fault.M("操作有误", "the action has errors"), *fe)
	}
	set["status"] = st.to
	cal, err := s.Calendar(ctx, tx)
	if err != nil {
		return err
	}
	if due := clock(cal, st.to, now); due.IsZero() {
		set["due_at"] = nil
	} else if action != "object" {
		set["due_at"] = db.T(due)
	}
	cols := []string{}
	args := []any{}
	for _, c := range []string{"status", "due_at", "publicity_until", "approved", "amount_fen", "decided_by", "facts_enc", "results_enc", "plausible", "account_enc", "enrolled_month", "exited_month"} {
		if v, ok := set[c]; ok {
			args = append(args, v)
			cols = append(cols, fmt.Sprintf("%s = $%d", c, len(args)))
		}
	}
	args = append(args, db.T(now), id, a.Version)
	res, err := tx.ExecContext(ctx, `UPDATE ast_applications SET `+strings.Join(cols, ", ")+fmt.Sprintf(`, version = version + 1, updated_at = $%d WHERE id = $%d AND version = $%d`, len(args)-2, len(args)-1, len(args)), args...)
	if db.IsUniqueViolation(err) {
		// An appeal reopens a refusal; the household applied anew since.
		return errOpenRace
	} else if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errChanged
	}
	var seq int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM ast_events WHERE application_id = $1`, id).Scan(&seq); err != nil {
		return err
	}
	if err := s.event(ctx, tx, id, seq, action, a.Status, st.to, p.Username, note, now); err != nil {
		return err
	}
	return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "assistance." + action, Object: "application", ObjectID: id, Division: a.Division, Detail: a.Status + " → " + st.to})
}

// permit: workers (grid workers excepted) move applications within
// their jurisdiction; an appeal may also come from the household.
func permit(p *access.Principal, a Application, action string) error {
	if p.Role == access.CommunityWorker || p.Role == access.Officer {
		return nil
	}
	if action == "appeal" && p.Role == access.Resident {
		return nil
	}
	return fault.Forbidden(fault.M("只有社区工作者和民政干部可以办理救助申请", "only community workers and officers handle assistance applications"))
}

// decider checks that p may decide: an officer at the level the
// programmes need (a county programme: the county), and on appeal someone
// other than who decided first.
func decider(p *access.Principal, a Application, action string) error {
	if p.Role != access.Officer || len(p.Division) > 9 {
		return fault.Forbidden(fault.M("只有乡镇（街道）或县级民政干部可以审批", "only township or county officers decide"))
	}
	if a.Status == Appealed && p.Username == a.DecidedBy {
		return fault.Forbidden(fault.M("申诉须由原审批人以外的人复核", "an appeal is decided by someone other than the first decider"))
	}
	return nil
}

// approvable checks the programmes to approve: each asked for or found
// plausible, found eligible, and of a level the officer may approve.
func (s *Store) approvable(ctx context.Context, tx *sql.Tx, p *access.Principal, a Application, codes []string) ([]string, int64, *fault.FieldError, error) {
	type row struct {
		outcome, level string
		asked          bool
		amount         int64
	}
	rows := map[string]row{}
	err := db.EachRow(ctx, tx, func(r db.Scanner) error {
		var c string
		var x row
		if err := r.Scan(&c, &x.outcome, &x.asked, &x.amount, &x.level); err != nil {
			return err
		}
		rows[c] = x
		return nil
	}, `SELECT ap.code, ap.outcome, ap.asked, ap.amount_fen, p.level FROM ast_app_programmes ap JOIN ast_programmes p ON p.id = ap.programme_id WHERE ap.application_id = $1`, a.ID)
	if err != nil {
		return nil, 0, nil, err
	}
	if len(codes) == 0 {
		for _, c := range a.Asked {
			if rows[c].outcome == Eligible {
				codes = append(codes, c)
			}
		}
		if len(codes) == 0 {
			fe := fault.Field("programmes", fault.M("申请的项目都不符合条件：请不予批准并说明理由", "no programme asked for qualifies: refuse with the reasons"))
			return nil, 0, &fe, nil
		}
	}
	var total int64
	codes = dedupe(codes)
	for i, c := range codes {
		x, ok := rows[c]
		if !ok || x.outcome != Eligible {
			fe := fault.Field(fmt.Sprintf("programmes[%d]", i), fault.M("“"+c+"”不符合条件或未经测算，不能批准", c+" does not qualify or was not tested: it cannot be approved"))
			return nil, 0, &fe, nil
		}
		if x.level == "county" && len(p.Division) > 6 {
			return nil, 0, nil, fault.Forbidden(fault.M("“"+c+"”由县级民政部门审批", c+" is approved by the county"))
		}
		total += x.amount
	}
	return codes, total, nil, nil
}

// recheck records the economic check's findings: the income and assets
// found replace the declared ones, and every programme is tested again
// under the rule versions the application was first tested with.
func (s *Store) recheck(ctx context.Context, tx *sql.Tx, a Application, factsEnc string, in Input) (*fault.FieldError, error) {
	if in.IncomeFen == nil && in.AssetsFen == nil {
		return nil, nil
	}
	if in.IncomeFen != nil && *in.IncomeFen < 0 {
		fe := fault.Field("income_fen", fault.M("核对收入不能为负数", "the checked income cannot be negative"))
		return &fe, nil
	}
	if in.AssetsFen != nil && *in.AssetsFen < 0 {
		fe := fault.Field("assets_fen", fault.M("核对资产不能为负数", "the checked assets cannot be negative"))
		return &fe, nil
	}
	raw, err := s.Keys.Open(factsEnc, factsAAD(a.ID))
	if err != nil {
		return nil, err
	}
	var f Facts
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		return nil, err
	}
	if in.IncomeFen != nil {
		f.IncomeFen = in.IncomeFen
	}
	if in.AssetsFen != nil {
		f.AssetsFen = in.AssetsFen
	}
	var standard int64
	if err := tx.QueryRowContext(ctx, `SELECT dibao_fen FROM ast_standards WHERE county = $1 AND year = $2`, a.County, a.Year).Scan(&standard); err != nil {
		return nil, err
	}
	type used struct {
		code, id string
		version  int
	}
	var us []used
	if err := db.EachRow(ctx, tx, func(r db.Scanner) error {
		var u used
		err := r.Scan(&u.code, &u.id, &u.version)
		us = append(us, u)
		return err
	}, `SELECT ap.code, ap.programme_id, ap.rule_version FROM ast_app_programmes ap JOIN ast_programmes p ON p.id = ap.programme_id WHERE ap.application_id = $1 ORDER BY p.created_at, p.code`, a.ID); err != nil {
		return nil, err
	}
	var progs []Programme
	byCode := map[string]Programme{}
	for _, u := range us {
		r, err := s.ruleOf(ctx, tx, u.id, u.version)
		if err != nil {
			return nil, err
		}
		pr := Programme{ID: u.id, Code: u.code, Version: u.version, Rule: r}
		progs = append(progs, pr)
		byCode[u.code] = pr
	}
	results, plausible := evaluateAll(progs, standard, f, a.Asked)
	fr, _ := json.Marshal(f)
	rr, _ := json.Marshal(results)
	if _, err := tx.ExecContext(ctx, `UPDATE ast_applications SET facts_enc = $1, results_enc = $2, plausible = $3 WHERE id = $4`,
		s.Keys.Seal(string(fr), factsAAD(a.ID)), s.Keys.Seal(string(rr), resultsAAD(a.ID)), strings.Join(plausible, ","), a.ID); err != nil {
		return nil, err
	}
	return nil, s.writeResults(ctx, tx, a.ID, byCode, results, a.Asked)
}
