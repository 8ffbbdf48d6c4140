package requests

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
)

// CST is China Standard Time (no daylight saving), fixed so that no tz
// database is needed.
var CST = time.FixedZone("CST", 8*3600)

// Calendar defines working time: periods on working days, minus holidays,
// plus make-up working days (调休).
type Calendar struct {
	Periods  [][2]time.Duration // offsets from local midnight
	Holidays map[string]bool    // "2006-01-02" days off that would be working days
	Workdays map[string]bool    // "2006-01-02" weekend days that are working days
}

// DefaultCalendar: 8:30–12:00 and 13:30–17:30 China time, Monday to Friday.
var DefaultCalendar = &Calendar{Periods: [][2]time.Duration{
	{8*time.Hour + 30*time.Minute, 12 * time.Hour},
	{13*time.Hour + 30*time.Minute, 17*time.Hour + 30*time.Minute},
}}

func (c *Calendar) working(day time.Time) bool {
	k := day.Format("2006-01-02")
	if c.Workdays[k] {
		return true
	}
	if c.Holidays[k] {
		return false
	}
	wd := day.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Due returns the deadline hours after start: working hours when working
// is set, calendar hours otherwise.
func (c *Calendar) Due(start time.Time, hours int, working bool) time.Time {
	if !working {
		return start.Add(time.Duration(hours) * time.Hour)
	}
	return c.AddWorking(start, time.Duration(hours)*time.Hour)
}

// AddWorking adds d of working time to t.
func (c *Calendar) AddWorking(t time.Time, d time.Duration) time.Time {
	local := t.In(CST)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, CST)
	for i := 0; i < 3660; i++ { // ten years of days at most
		if c.working(day) {
			for _, p := range c.Periods {
				from, to := day.Add(p[0]), day.Add(p[1])
				if local.After(from) {
					from = local
				}
				if !from.Before(to) {
					continue
				}
				if avail := to.Sub(from); d <= avail {
					return from.Add(d).UTC()
				} else {
					d -= avail
				}
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return t.Add(d)
}

// Notice is an inbox notification for a handling unit.
type Notice struct {
	ID        string    `json:"id"`
	Unit      string    `json:"unit_code"`
	RequestID string    `json:"request_id"`
	Number    string    `json:"number"`
	Kind      string    `json:"kind"`
	Text      fault.Msg `json:"text"`
	CreatedAt time.Time `json:"created_at"`
	Read      bool      `json:"read"`
}

func (s *Store) noticeTx(ctx context.Context, tx *sql.Tx, r Request, kind string, m fault.Msg, now time.Time, sent *[]Notice) error {
	n := Notice{ID: db.NewID(), Unit: r.Unit, RequestID: r.ID, Number: r.Number, Kind: kind, Text: m, CreatedAt: now}
	_, err := tx.ExecContext(ctx, `INSERT INTO request_notices (id, division_code, unit_code, request_id, kind, text_zh, text_en, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		n.ID, r.Division, r.Unit, r.ID, kind, m.ZH, m.EN, db.T(now))
	if err == nil {
		*sent = append(*sent, n)
	}
	return err
}

// deliver hands committed notices to the deployment's notifier (SMS,
// 浙里办), best effort: the inbox row is the durable record.
func (s *Store) deliver(ctx context.Context, ns []Notice) {
	if s.Notifier == nil || len(ns) == 0 {
		return
	}
	go func() {
		for _, n := range ns {
			if err := s.Notifier.Notify(context.WithoutCancel(ctx), n); err != nil {
				s.logger().Warn("request notice not delivered", "notice", n.ID, "request", n.Number, "err", err.Error())
			}
		}
	}()
}

func (s *Store) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// NoticesQuery is Notices' statement ($1 the unit, $2 the limit) with a
// grid worker's narrowing (gridSQL, from $3; "" for other roles). Without
// it the newest notices are picked from the unit's index before the join:
// joined first, PostgreSQL read every notice of the unit's history and its
// request for a page of eight.
func NoticesQuery(grid string) string {
	if grid == "" {
		return `SELECT n.id, n.unit_code, n.request_id, r.number, n.kind, n.text_zh, n.text_en, n.created_at, n.read_at IS NOT NULL
		FROM (SELECT id, unit_code, request_id, kind, text_zh, text_en, created_at, read_at FROM request_notices WHERE unit_code = $1 ORDER BY created_at DESC, id DESC LIMIT $2) n
		JOIN requests r ON r.id = n.request_id ORDER BY n.created_at DESC, n.id DESC`
	}
	return `SELECT n.id, n.unit_code, n.request_id, r.number, n.kind, n.text_zh, n.text_en, n.created_at, n.read_at IS NOT NULL
		FROM request_notices n JOIN requests r ON r.id = n.request_id WHERE n.unit_code = $1` + grid + ` ORDER BY n.created_at DESC, n.id DESC LIMIT $2`
}

// Notices lists the newest notices addressed to unit (the caller's own
// division; scope is checked by the caller), a grid worker only those of
// their grids' requests.
func (s *Store) Notices(ctx context.Context, unit string, limit int) ([]Notice, error) {
	grid, gargs := gridSQL(access.From(ctx), 3)
	rows, err := s.DB.R.QueryContext(ctx, NoticesQuery(grid), append([]any{unit, limit}, gargs...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Notice
	for rows.Next() {
		var n Notice
		var at db.Time
		if err := rows.Scan(&n.ID, &n.Unit, &n.RequestID, &n.Number, &n.Kind, &n.Text.ZH, &n.Text.EN, &at, &n.Read); err != nil {
			return nil, err
		}
		n.CreatedAt = at.Time
		out = append(out, n)
	}
	return out, rows.Err()
}

// SLAResult counts what one run of the SLA job did.
type SLAResult struct {
	Warned, Overdue, Escalated int
	AutoClosed                 int // answered requests closed without an evaluation
}

// RunSLAOnce warns before deadlines, marks overdue requests and escalates
// each overdue request one level up exactly once per deadline. Several
// runners (processes) may run it at once: each step is a conditional update
// of the request's stage, so only one runner wins it, and the mark row
// (primary key request+mark) records it idempotently.
func (s *Store) RunSLAOnce(ctx context.Context, now time.Time) (SLAResult, error) {
	var res SLAResult
	for _, phase := range []string{"response", "resolve"} {
		states := responsePhase
		if phase == "resolve" {
			states = resolvePhase
		}
		in := ""
		args := []any{db.T(now.Add(s.warnBefore()))}
		for i, st := range states {
			if i > 0 {
				in += ","
			}
			args = append(args, string(st))
			in += fmt.Sprintf("$%d", len(args))
		}
		q := `SELECT ` + cols + ` FROM requests r WHERE r.` + phase + `_met IS NULL AND r.` + phase + `_stage < 2 AND r.` + phase + `_due <= $1 AND r.status IN (` + in + `) ORDER BY r.` + phase + `_due LIMIT 500`
		rows, err := s.DB.R.QueryContext(ctx, q, args...)
		if err != nil {
			return res, err
		}
		var cands []Request
		for rows.Next() {
			r, err := scan(rows)
			if err != nil {
				rows.Close()
				return res, err
			}
			cands = append(cands, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return res, err
		}
		for _, r := range cands {
			if err := s.slaStep(ctx, r, phase, now, &res); err != nil {
				return res, err
			}
		}
	}
	if err := s.autoClose(ctx, now, &res); err != nil {
		return res, err
	}
	return res, nil
}

// autoClose closes answered requests that the reporter has not evaluated
// within autoCloseAfter of the answer. Each close is a conditional update on
// the version the runner read, so with several runners only one wins and
// writes the event; answered_at is kept, so the reporter may still reopen
// within the reopen window.
func (s *Store) autoClose(ctx context.Context, now time.Time, res *SLAResult) error {
	after := s.autoCloseAfter()
	if after <= 0 {
		return nil
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+cols+` FROM requests r WHERE r.status = $1 AND r.answered_at <= $2 ORDER BY r.answered_at LIMIT 500`,
		string(Answered), db.T(now.Add(-after)))
	if err != nil {
		return err
	}
	var cands []Request
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			rows.Close()
			return err
		}
		cands = append(cands, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	days := int(after.Hours() / 24)
	note := fmt.Sprintf("自动办结（未评价）：办结后 %d 天未评价 / closed without evaluation: not evaluated within %d days of the answer", days, days)
	for _, r := range cands {
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			res2, err := tx.ExecContext(ctx, `UPDATE requests SET status = $1, closed_at = $2, updated_at = $2, version = version + 1 WHERE id = $3 AND status = $4 AND version = $5`,
				string(Closed), db.T(now), r.ID, string(Answered), r.Version)
			if err != nil {
				return err
			}
			if k, err := res2.RowsAffected(); err != nil || k != 1 {
				return err // nil: another runner closed it, or the reporter acted first
			}
			if err := s.insertEvent(ctx, tx, r, r.Version+1, "autoclose", Answered, Closed, actor{"", "system", "system"}, note, now); err != nil {
				return err
			}
			res.AutoClosed++
			return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "request.autoclose", Object: "request", ObjectID: r.Number, Division: r.Division,
				Detail: audit.Detail(map[string]any{"answered_at": r.AnsweredAt, "after_days": days, "version": r.Version + 1})})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) slaStep(ctx context.Context, r Request, phase string, now time.Time, res *SLAResult) error {
	due, stage := r.ResponseDue, r.ResponseStage
	label := fault.M("受理", "response")
	if phase == "resolve" {
		due, stage = r.ResolveDue, r.ResolveStage
		label = fault.M("办结", "resolution")
	}
	overdue := !now.Before(due)
	if !overdue && stage >= 1 {
		return nil
	}
	var sent []Notice
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		sent = sent[:0]
		newStage := 1
		if overdue {
			newStage = 2
		}
		mark := fmt.Sprintf("%s:%d:%s", phase, newStage, due.UTC().Format("20060102T150405"))
		set := fmt.Sprintf(`%s_stage = $1, version = version + 1`, phase)
		args := []any{newStage}
		unit, unitName, level := r.Unit, r.UnitName, r.EscalationLevel
		if overdue && divisions.LevelOf(r.Unit) > 3 {
			up, err := s.Divs.Get(ctx, divisions.ParentCode(r.Unit))
			if err != nil {
				return err
			}
			unit, unitName, level = up.Code, up.Name, level+1
			set += `, unit_code = $2, unit_name = $3, escalation_level = $4`
			args = append(args, unit, unitName, level)
		}
		args = append(args, r.ID, stage, db.T(due))
		n := len(args)
		res2, err := tx.ExecContext(ctx, `UPDATE requests SET `+set+fmt.Sprintf(` WHERE id = $%d AND %s_stage = $%d AND %s_due = $%d`, n-2, phase, n-1, phase, n), args...)
		if err != nil {
			return err
		}
		if k, err := res2.RowsAffected(); err != nil || k != 1 {
			return err // nil: another runner took this step, or a handler reset the clock
		}
		ins, err := tx.ExecContext(ctx, `INSERT INTO request_sla_marks (request_id, mark, division_code, at) VALUES ($1,$2,$3,$4) ON CONFLICT (request_id, mark) DO NOTHING`, r.ID, mark, r.Division, db.T(now))
		if err != nil {
			return err
		}
		if k, err := ins.RowsAffected(); err != nil || k != 1 {
			return err // nil: another runner marked it first
		}
		sys := actor{"", "system", "system"}
		var ver int
		if err := tx.QueryRowContext(ctx, `SELECT version FROM requests WHERE id = $1`, r.ID).Scan(&ver); err != nil {
			return err
		}
		from := r.Unit
		r.Unit, r.UnitName = unit, unitName
		if !overdue {
			res.Warned++
			if err := s.insertEvent(ctx, tx, r, ver, "warn", r.Status, r.Status, sys, fmt.Sprintf("%s时限将至 %s / %s deadline at %s", label.ZH, due.In(CST).Format("01-02 15:04"), label.EN, due.In(CST).Format("01-02 15:04")), now); err != nil {
				return err
			}
			return s.noticeTx(ctx, tx, r, "warn", fault.M(fmt.Sprintf("即将超时（%s）：%s", label.ZH, r.Number), fmt.Sprintf("Due soon (%s): %s", label.EN, r.Number)), now, &sent)
		}
		res.Overdue++
		note := fmt.Sprintf("%s超时 / %s overdue", label.ZH, label.EN)
		if unit != from {
			res.Escalated++
			note += fmt.Sprintf("，升级至 %s / escalated to %s", unitName, unitName)
		}
		if err := s.insertEvent(ctx, tx, r, ver, "escalate", r.Status, r.Status, sys, note, now); err != nil {
			return err
		}
		if err := s.noticeTx(ctx, tx, r, "overdue", fault.M(fmt.Sprintf("超时督办（%s）：%s", label.ZH, r.Number), fmt.Sprintf("Overdue, escalated (%s): %s", label.EN, r.Number)), now, &sent); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "request.escalate", Object: "request", ObjectID: r.Number, Division: r.Division,
			Detail: audit.Detail(map[string]any{"phase": phase, "from": from, "to": unit})})
	})
	if err == nil {
		s.deliver(ctx, sent)
	}
	return err
}

// RunSLA runs the job at once and then every interval until ctx ends;
// first (if set) is called when the first run has ended.
func (s *Store) RunSLA(ctx context.Context, every time.Duration, logf func(string, ...any), first func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if res, err := s.RunSLAOnce(ctx, s.Now()); err != nil && ctx.Err() == nil {
			logf("sla job", "err", err.Error())
		} else if res.Warned+res.Overdue+res.AutoClosed > 0 {
			logf("sla job", "warned", res.Warned, "overdue", res.Overdue, "escalated", res.Escalated, "auto_closed", res.AutoClosed)
		}
		if first != nil {
			first()
			first = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
