package visits

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/questions"
	"linli/internal/sealedphoto"
)

// MaxPhoto is the largest accepted photo: the limit requests use (5 MB).
const MaxPhoto = 5 << 20

// Outcomes of a visit.
const (
	OutcomeDone    = "done"
	OutcomeNotHome = "not_home"
	OutcomeRefused = "refused"
)

// RecordInput is what a worker records of one visit.
type RecordInput struct {
	Method    string `json:"method"`
	VisitedAt string `json:"visited_at"` // 2026-12-03T10:00 (China time) or RFC 3339
	Present   string `json:"present,omitempty"`
	// Answers to the programme's form, by question code.
	Answers map[string][]string `json:"answers,omitempty"`
	Outcome string              `json:"outcome"` // done, not_home, refused
	Reason  string              `json:"reason,omitempty"`
	Risk    string              `json:"risk,omitempty"` // normal (default), attention, high
	Note    string              `json:"note,omitempty"`
	Lon     *float64            `json:"lon,omitempty"`
	Lat     *float64            `json:"lat,omitempty"`
	Photo   []byte              `json:"photo,omitempty"`
	// SubmitKey makes a submission idempotent: the same key again (a
	// double tap) answers with the visit as recorded, writing nothing.
	SubmitKey string `json:"submit_key"`
	// Follow-ups in the same step.
	ExtraDue         string `json:"extra_due,omitempty"` // schedule an extra visit due that day
	FlagAssistance   bool   `json:"flag_assistance,omitempty"`
	AssistanceReason string `json:"assistance_reason,omitempty"`
}

var (
	errNotFound = fault.NotFound(fault.M("探访不存在或不在您的管辖范围内", "visit not found or outside your jurisdiction"))
	errRecorded = fault.Conflict(fault.M("这次探访已经记录过了", "this visit has already been recorded"))
	errNoRecord = fault.Forbidden(fault.M("只有网格员和社区工作者可以记录探访", "only grid and community workers record visits"))
)

// canWork tells whether p records and manages visits.
func canWork(p *access.Principal) bool {
	return p != nil && (p.Role == access.GridWorker || p.Role == access.CommunityWorker)
}

// canRead tells whether p reads visits (with personal data).
func canRead(p *access.Principal) bool {
	return p != nil && (p.Role == access.GridWorker || p.Role == access.CommunityWorker || p.Role == access.Officer)
}

// scopeSQL is the condition (on alias v) limiting visits to what p may
// see: the subtree of p's division, and for a grid worker the visits they
// own or of their grids. Arguments start at $n.
func scopeSQL(p *access.Principal, n int) (string, []any) {
	sc := access.BusinessScope(p)
	cond := fmt.Sprintf("v.division_code >= $%d AND v.division_code < $%d", n, n+1)
	args := []any{sc.Lo, sc.Hi}
	if p.Role == access.GridWorker {
		cond += fmt.Sprintf(" AND (v.owner = $%d OR v.grid_id IN (SELECT grid_id FROM reg_grid_workers WHERE username = $%d))", n+2, n+2)
		args = append(args, p.Username)
	}
	return cond, args
}

// Record records a visit: its outcome, findings and follow-ups, in one
// transaction with its audit entry.
func (s *Store) Record(ctx context.Context, id int64, in RecordInput) (Visit, error) {
	defer s.wrote()
	p := access.From(ctx)
	if !canWork(p) {
		return Visit{}, errNoRecord
	}
	in.SubmitKey = strings.TrimSpace(in.SubmitKey)
	if in.SubmitKey != "" {
		if v, ok, err := s.bySubmitKey(ctx, id, in.SubmitKey); err != nil || ok {
			return v, err
		}
	}
	v, prog, err := s.visitForWork(ctx, id)
	if err != nil {
		return Visit{}, err
	}
	if v.Status != StatusOpen {
		return v, errRecorded
	}
	now := s.Now()
	month, _ := ParseMonth(v.Month)
	var errs []fault.FieldError
	field := func(name, zh, en string) { errs = append(errs, fault.Field(name, fault.M(zh, en))) }
	if len(in.SubmitKey) > 80 {
		field("submit_key", "提交标识过长", "the submission key is too long")
	}
	switch in.Outcome {
	case OutcomeDone, OutcomeNotHome, OutcomeRefused:
	default:
		field("outcome", "请选择探访结果：完成、未遇或拒访", "choose the outcome: done, not home or refused")
	}
	allowed := prog.Methods
	if prog.RequireHome {
		allowed = []string{MethodHome}
	}
	if !containsStr(allowed, in.Method) {
		if prog.RequireHome {
			field("method", "本项目须入户探访", "this programme requires a home visit")
		} else {
			field("method", "请选择探访方式："+methodNames(allowed), "choose a method: "+strings.Join(allowed, ", "))
		}
	}
	at, ok := questions.ParseDateTime(strings.TrimSpace(in.VisitedAt), true)
	switch {
	case !ok:
		field("visited_at", "请填写探访时间（日期和时刻）", "enter when the visit took place (date and time)")
	case at.After(now.Add(5 * time.Minute)):
		field("visited_at", "探访时间不能晚于现在", "the visit cannot be in the future")
	case day(at.In(questions.CST)) < month.FirstDay():
		field("visited_at", "探访时间不能早于本次计划所在月份（"+v.Month+"）", "the visit cannot be before its scheduled month ("+v.Month+")")
	}
	if in.Outcome == OutcomeRefused && strings.TrimSpace(in.Reason) == "" {
		field("reason", "拒访须填写原因", "a refusal needs its reason")
	}
	if utf8.RuneCountInString(in.Reason) > 200 || utf8.RuneCountInString(in.Note) > 1000 || utf8.RuneCountInString(in.Present) > 200 {
		field("note", "文字过长（原因、在场人员不超过 200 字，备注不超过 1000 字）", "text too long (reason and those present 200 characters, note 1000)")
	}
	if in.Risk == "" {
		in.Risk = RiskNormal
	}
	if in.Risk != RiskNormal && in.Risk != RiskAttention && in.Risk != RiskHigh {
		field("risk", "风险等级须为正常、关注或高风险", "the risk level is normal, attention or high")
	}
	if (in.Lon == nil) != (in.Lat == nil) {
		field("lat", "经度和纬度须同时填写", "give both longitude and latitude")
	} else if in.Lon != nil && (math.IsNaN(*in.Lon) || math.IsNaN(*in.Lat) || *in.Lon < 118 || *in.Lon > 123.5 || *in.Lat < 27 || *in.Lat > 31.5) {
		field("lat", "位置不在浙江省范围内", "the location is outside Zhejiang")
	}
	photoType := ""
	if len(in.Photo) > 0 {
		if len(in.Photo) > MaxPhoto {
			field("photo", "照片不能超过 5 MB", "the photo must be at most 5 MB")
		} else if photoType = sniffImage(in.Photo); photoType == "" {
			field("photo", "只接受 JPEG、PNG 或 WebP 图片", "only JPEG, PNG or WebP images are accepted")
		}
	}
	answers := map[string]string{}
	if in.Outcome == OutcomeDone {
		var aerrs []fault.FieldError
		answers, aerrs = questions.Check("answer", prog.Questions, in.Answers)
		errs = append(errs, aerrs...)
	}
	var extraMonth Month
	if in.ExtraDue != "" {
		d, err := time.ParseInLocation("2006-01-02", in.ExtraDue, questions.CST)
		today := day(now.In(questions.CST))
		if err != nil || in.ExtraDue < today || d.After(now.AddDate(0, 3, 0)) {
			field("extra_due", "加访日期须为今天起三个月内的日期", "the extra visit is due within three months from today")
		}
		extraMonth = MonthOf(d)
	}
	if in.FlagAssistance && (strings.TrimSpace(in.AssistanceReason) == "" || utf8.RuneCountInString(in.AssistanceReason) > 200) {
		field("assistance_reason", "请简述需要救助帮扶的情况（不超过 200 字）", "say briefly what assistance is needed (200 characters at most)")
	}
	if len(errs) > 0 {
		return v, fault.Invalid(fault.M("探访记录有误", "the visit record has errors"), errs...)
	}
	plain, sens := map[string]string{}, map[string]string{}
	for _, q := range prog.Questions {
		if a, ok := answers[q.Code]; ok {
			if q.Sensitive {
				sens[q.Code] = a
			} else {
				plain[q.Code] = a
			}
		}
	}
	sealed := ""
	if len(sens) > 0 {
		b, _ := json.Marshal(sens)
		sealed = s.Keys.Seal(string(b), answersAAD(id))
	}
	status := map[string]string{OutcomeDone: StatusDone, OutcomeNotHome: StatusNotHome, OutcomeRefused: StatusRefused}[in.Outcome]
	var key any
	if in.SubmitKey != "" {
		key = in.SubmitKey
	}
	var photo any
	if photoType != "" {
		photo = sealedphoto.Keep(s.Keys, in.Photo, true, photoCols.PhotoAAD(id))
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE vis_visits SET status = $1, method = $2, visited_at = $3, present = $4, answers = $5, sealed = $6,
			photo = $7, photo_type = $8, lon = $9, lat = $10, risk = $11, reason = $12, note = $13, recorded_by = $14, submit_key = $15, updated_at = $16,
			photo_sealed = $18
			WHERE id = $17 AND status = 'open'`,
			status, in.Method, db.T(at), strings.TrimSpace(in.Present), mustJSON(plain), sealed, photo, photoType, in.Lon, in.Lat, in.Risk,
			strings.TrimSpace(in.Reason), strings.TrimSpace(in.Note), p.Username, key, db.T(now), id, photoType != "")
		if db.IsUniqueViolation(err) {
			return errDoubleSubmit
		} else if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return errRecorded
		}
		if in.Outcome == OutcomeDone || in.Outcome == OutcomeRefused {
			if _, err := tx.ExecContext(ctx, `INSERT INTO vis_risk (programme_id, subject_id, risk, updated_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (programme_id, subject_id) DO UPDATE SET risk = excluded.risk, updated_at = excluded.updated_at`, v.ProgrammeID, v.SubjectID, in.Risk, db.T(now)); err != nil {
				return err
			}
		}
		if in.Outcome == OutcomeNotHome {
			// Nobody home: a retry is due within three days, in the month.
			due := at.In(questions.CST).AddDate(0, 0, 3)
			if d := day(due); d > month.LastDay() {
				due, _ = time.ParseInLocation("2006-01-02", month.LastDay(), questions.CST)
			}
			if err := s.insertFollowUp(ctx, tx, v, month, originRetry, day(due), now); err != nil {
				return err
			}
		}
		if in.ExtraDue != "" {
			if err := s.insertFollowUp(ctx, tx, v, extraMonth, originExtra, in.ExtraDue, now); err != nil {
				return err
			}
		}
		// A resident's request for a visit is answered by the visit.
		if _, err := tx.ExecContext(ctx, `UPDATE vis_asks SET visit_id = $1 WHERE visit_id IS NULL AND (resident_id = $2 OR household_id = $3)`, id, v.ResidentID, v.HouseholdID); err != nil {
			return err
		}
		if in.FlagAssistance {
			if _, err := tx.ExecContext(ctx, `INSERT INTO vis_assistance_flags (id, visit_id, resident_id, household_id, division_code, reason, status, created_by, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8)`, db.NewID(), id, v.ResidentID, v.HouseholdID, v.Division, strings.TrimSpace(in.AssistanceReason), p.Username, db.T(now)); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "visits.visit.record", Object: "visit", ObjectID: fmt.Sprint(id), Division: v.Division,
			Detail: audit.Detail(map[string]any{"outcome": in.Outcome, "risk": in.Risk, "method": in.Method, "extra_due": in.ExtraDue, "assistance": in.FlagAssistance})})
	})
	if errors.Is(err, errDoubleSubmit) {
		if v, ok, err := s.bySubmitKey(ctx, id, in.SubmitKey); err != nil || ok {
			return v, err
		}
		return Visit{}, errRecorded
	}
	if err != nil {
		return Visit{}, err
	}
	return s.Get(ctx, id)
}

var errDoubleSubmit = errors.New("visits: submission key taken")

func answersAAD(id int64) string { return fmt.Sprintf("vis_visits/answers/%d", id) }

// insertFollowUp adds a retry or an extra visit after v (once: its origin
// names v).
func (s *Store) insertFollowUp(ctx context.Context, tx *sql.Tx, v Visit, m Month, origin, due string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO vis_visits (programme_id, month, origin, subject_id, resident_id, household_id, division_code, grid_id, owner, due_date, status, parent_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12, $13) ON CONFLICT (programme_id, subject_id, month, origin) DO NOTHING`,
		v.ProgrammeID, m.String(), origin+fmt.Sprint(v.ID), v.SubjectID, v.ResidentID, v.HouseholdID, v.Division, v.GridID, v.Owner, due, v.ID, db.T(now), db.T(now))
	return err
}

// bySubmitKey answers a repeated submission: the visit it recorded, if
// it is this one.
func (s *Store) bySubmitKey(ctx context.Context, id int64, key string) (Visit, bool, error) {
	var got int64
	err := s.DB.R.QueryRowContext(ctx, `SELECT id FROM vis_visits WHERE submit_key = $1`, key).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return Visit{}, false, nil
	} else if err != nil {
		return Visit{}, false, err
	}
	if got != id {
		return Visit{}, false, fault.Invalid(fault.M("提交标识已用于另一次探访", "the submission key belongs to another visit"), fault.Field("submit_key", fault.M("请重新打开表单再提交", "open the form again and submit")))
	}
	v, err := s.Get(ctx, id)
	return v, err == nil, err
}

func sniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\xFF\xD8\xFF")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1A\n")):
		return "image/png"
	case len(b) >= 14 && bytes.HasPrefix(b, []byte("RIFF")) && string(b[8:14]) == "WEBPVP":
		return "image/webp"
	}
	return ""
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func methodNames(ms []string) string {
	var out []string
	for _, m := range ms {
		out = append(out, methodWords(m).ZH)
	}
	return strings.Join(out, "、")
}
