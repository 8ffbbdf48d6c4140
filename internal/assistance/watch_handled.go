package assistance

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/web"
)

// A warning on the monitoring list is handled when an application is
// started from it or a community worker dismisses it with a reason (a
// household the worker found in no need). Either is kept with the
// warning's time, so the share handled within WatchSLADays working days
// can be counted; a dismissed warning leaves the list for good, one whose
// application is refused comes back (the household may need another
// look) but stays handled once.

// watchHandledMigration is where handled warnings are kept.
var watchHandledMigration = db.Migration{ID: "assistance/009_watch_handled", SQL: `CREATE TABLE ast_watch_handled (
	kind TEXT NOT NULL,
	ref TEXT NOT NULL,
	household_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	signal_at TIMESTAMPTZ NOT NULL,
	handled_at TIMESTAMPTZ NOT NULL,
	how TEXT NOT NULL,
	application_id TEXT NOT NULL,
	reason TEXT NOT NULL,
	handled_by TEXT NOT NULL,
	PRIMARY KEY (kind, ref, household_id)
);
CREATE INDEX ast_watch_handled_div ON ast_watch_handled (division_code, signal_at);`}

// WatchSLADays is how many working days a warning is to be handled in.
const WatchSLADays = 5

// How a warning was handled.
const (
	HandledApplied   = "applied"
	HandledDismissed = "dismissed"
)

// notDismissed keeps a signal s off the list once dismissed.
const notDismissed = `NOT EXISTS (SELECT 1 FROM ast_watch_handled d WHERE d.kind = s.kind AND d.ref = s.ref AND d.household_id = s.household_id AND d.how = 'dismissed')`

// handled records g as handled (the first handling counts).
func (s *Store) handled(ctx context.Context, tx *sql.Tx, g Signal, how, application, reason, by string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO ast_watch_handled (kind, ref, household_id, division_code, signal_at, handled_at, how, application_id, reason, handled_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (kind, ref, household_id) DO NOTHING`,
		g.Kind, g.Ref, g.HouseholdID, g.Division, db.T(g.At), db.T(now), how, application, reason, by)
	return err
}

// DismissInput dismisses one warning: its household, its source
// ("visit:42") and why.
type DismissInput struct {
	HouseholdID string `json:"household_id"`
	Source      string `json:"source"`
	Reason      string `json:"reason"`
}

// Dismiss takes a warning off the list with a reason: a community
// worker's, within their community, audited.
func (s *Store) Dismiss(ctx context.Context, in DismissInput) (Signal, error) {
	p := access.From(ctx)
	if !watcher(p) {
		return Signal{}, errWatchForbidden
	}
	var fields []fault.FieldError
	reason, fe := text("reason", in.Reason, true, 500)
	if fe != nil {
		fields = append(fields, *fe)
	}
	g, fe, err := s.signal(ctx, p, in.Source, in.HouseholdID)
	if err != nil {
		return Signal{}, err
	}
	if fe != nil {
		fields = append(fields, *fe)
	}
	if len(fields) > 0 {
		return Signal{}, fault.Invalid(fault.M("不能忽略这条预警", "the warning cannot be dismissed"), fields...)
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// A warning applied for and refused comes back; dismissed now,
		// it keeps its first handling and leaves the list.
		if _, err := tx.ExecContext(ctx, `UPDATE ast_watch_handled SET how = 'dismissed', reason = $1 WHERE kind = $2 AND ref = $3 AND household_id = $4`,
			reason, g.Kind, g.Ref, g.HouseholdID); err != nil {
			return err
		}
		if err := s.handled(ctx, tx, g, HandledDismissed, "", reason, p.Username, s.Now()); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "assistance.watch_dismiss", Object: "household", ObjectID: g.HouseholdID, Division: g.Division, Detail: g.Source()})
	})
	return g, err
}

// Timeliness is the share of the warnings of the last SignalRecent
// handled within WatchSLADays working days: of those handled, and of
// those still on the list past their time (the ones still within it are
// not counted yet).
type Timeliness struct {
	OnTime  int `json:"on_time"`
	Late    int `json:"late"`    // handled after their time
	Overdue int `json:"overdue"` // still on the list, past their time
	// Percent is 100 × on time ÷ (on time + late + overdue), whole; nil
	// when there is none to count.
	Percent *int `json:"percent"`
	Days    int  `json:"sla_working_days"`
}

// Counted is how many warnings the share is of.
func (t Timeliness) Counted() int { return t.OnTime + t.Late + t.Overdue }

// WatchTimeliness counts the principal's community's warnings.
func (s *Store) WatchTimeliness(ctx context.Context, p *access.Principal) (Timeliness, error) {
	if !watcher(p) {
		return Timeliness{}, errWatchForbidden
	}
	sc := access.BusinessScope(p)
	since, month := s.signalSince()
	now := s.Now()
	cal, err := s.Calendar(ctx, s.DB.R)
	if err != nil {
		return Timeliness{}, err
	}
	t := Timeliness{Days: WatchSLADays}
	type pair struct{ at, handled db.Time }
	done, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (pair, error) {
		var x pair
		err := r.Scan(&x.at, &x.handled)
		return x, err
	}, `SELECT signal_at, handled_at FROM ast_watch_handled WHERE division_code >= $1 AND division_code < $2 AND signal_at >= $3 LIMIT `+strconv.Itoa(ListCountCap),
		sc.Lo, sc.Hi, since)
	if err != nil {
		return t, err
	}
	for _, x := range done {
		if x.handled.Time.After(cal.AddWorkingDays(x.at.Time, WatchSLADays)) {
			t.Late++
		} else {
			t.OnTime++
		}
	}
	open, err := db.Collect(ctx, s.DB.R, db.Value[db.Time], `SELECT s.at FROM (`+signalsSQL+`) s WHERE s.at >= $3
		AND NOT EXISTS (SELECT 1 FROM ast_watch_handled d WHERE d.kind = s.kind AND d.ref = s.ref AND d.household_id = s.household_id) LIMIT `+strconv.Itoa(ListCountCap),
		sc.Lo, sc.Hi, since, month)
	if err != nil {
		return t, err
	}
	for _, at := range open {
		if now.After(cal.AddWorkingDays(at.Time, WatchSLADays)) {
			t.Overdue++
		}
	}
	if n := t.Counted(); n > 0 {
		pc := (200*t.OnTime + n) / (2 * n) // rounded half up
		t.Percent = &pc
	}
	return t, nil
}

// Text is the share in words for the monitoring page.
func (t Timeliness) Text() fault.Msg {
	if t.Percent == nil {
		return fault.M("近 90 天还没有到期的预警", "No warning of the last 90 days has come due yet")
	}
	return fault.M("近 90 天预警按时（"+strconv.Itoa(t.Days)+" 个工作日内）处理率 "+strconv.Itoa(*t.Percent)+"%：按时 "+strconv.Itoa(t.OnTime)+" 条，超时处理 "+strconv.Itoa(t.Late)+" 条，超时未处理 "+strconv.Itoa(t.Overdue)+" 条",
		"Warnings of the last 90 days handled within "+strconv.Itoa(t.Days)+" working days: "+strconv.Itoa(*t.Percent)+"% ("+strconv.Itoa(t.OnTime)+" on time, "+strconv.Itoa(t.Late)+" late, "+strconv.Itoa(t.Overdue)+" overdue)")
}

// DismissHref is the page that confirms the dismissal of the signal.
func (g Signal) DismissHref() string {
	return "/assistance/watch/dismiss?" + url.Values{"household_id": {g.HouseholdID}, "source": {g.Source()}}.Encode()
}

func (h *handlers) registerWatchHandling(rt *web.Router) {
	const tag = "assistance"
	rt.API("POST /api/v1/assistance/warnings/dismiss", web.Op{Summary: "忽略一条动态监测预警（须填理由，社区工作者）/ Dismiss a monitoring warning with a reason (community workers)", Tag: tag, Body: DismissInput{}, Response: Signal{}}, h.apiDismiss)
	rt.API("GET /api/v1/assistance/warnings/timeliness", web.Op{Summary: "近 90 天预警按时处理率 / Share of the last 90 days' warnings handled in time", Tag: tag, Response: Timeliness{}}, h.apiTimeliness)
	rt.Page("GET /assistance/watch/dismiss", func(w http.ResponseWriter, r *http.Request) { h.pageDismiss(w, r, 200, web.View{}) })
	rt.Page("POST /assistance/watch/dismiss", h.postDismiss)
}

func (h *handlers) apiDismiss(w http.ResponseWriter, r *http.Request) error {
	var in DismissInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	g, err := h.store.Dismiss(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, g)
	return nil
}

func (h *handlers) apiTimeliness(w http.ResponseWriter, r *http.Request) error {
	t, err := h.store.WatchTimeliness(r.Context(), access.From(r.Context()))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, t)
	return nil
}

type dismissView struct {
	Signal Signal
}

// pageDismiss asks to confirm a dismissal, with its reason.
func (h *handlers) pageDismiss(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	p := access.From(r.Context())
	if !watcher(p) {
		h.fail(w, r, errWatchForbidden)
		return
	}
	g, fe, err := h.store.signal(r.Context(), p, r.FormValue("source"), r.FormValue("household_id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if fe != nil {
		h.fail(w, r, fault.NotFound(fault.M("这条预警已处理或不存在", "the warning is handled or does not exist")))
		return
	}
	_ = h.store.DB.R.QueryRowContext(r.Context(), `SELECT address FROM reg_households WHERE id = $1`, g.HouseholdID).Scan(&g.Address)
	if v.Form == nil {
		v.Form = r.Form
	}
	v.Title, v.Data = web.M("忽略预警", "Dismiss a warning"), dismissView{Signal: g}
	h.pages.Render(w, r, status, "dismiss", v)
}

func (h *handlers) postDismiss(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	_, err := h.store.Dismiss(r.Context(), DismissInput{HouseholdID: r.FormValue("household_id"), Source: r.FormValue("source"), Reason: r.FormValue("reason")})
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageDismiss(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.Form})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/assistance/watch?dismissed=1", http.StatusSeeOther)
}
