package volunteers

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/questions"
)

// Sign-up statuses.
const (
	SignedUp   = "confirmed"  // 已报名（有名额）
	Waitlisted = "waitlisted" // 候补
	Cancelled  = "cancelled"  // 已取消
)

// Attendance marks.
const (
	Present = "present"
	Absent  = "absent"
)

// Activity is a volunteer activity a community or station posts.
type Activity struct {
	ID          string    `json:"id"`
	Division    string    `json:"division"`
	StationID   string    `json:"station_id,omitempty"`
	Organiser   string    `json:"organiser"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Place       string    `json:"place"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	Cutoff      time.Time `json:"cutoff"`
	Hours       float64   `json:"hours"`
	Points      int64     `json:"points"`
	Slots       int       `json:"slots"`
	Taken       int       `json:"taken"`
	MinAge      int       `json:"min_age"`
	TimeBank    bool      `json:"time_bank"`
	CreatedAt   time.Time `json:"created_at"`
	SeriesID    string    `json:"series_id,omitempty"` // the recurring activity it is a shift of
	Status      string    `json:"status"`              // open or cancelled
	// Mine is the signed-in resident's sign-up status ("" when none).
	Mine string `json:"mine,omitempty"`
}

// Full tells whether every slot is taken.
func (a Activity) Full() bool { return a.Taken >= a.Slots }

// ActivityInput posts an activity. Times are read in China time
// ("2026-12-05T09:00").
type ActivityInput struct {
	Division    string  `json:"division"` // default: the organiser's own
	StationID   string  `json:"station_id"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	Place       string  `json:"place"`
	StartsAt    string  `json:"starts_at"`
	EndsAt      string  `json:"ends_at"`
	Cutoff      string  `json:"cutoff"`
	Hours       float64 `json:"hours"`
	Points      int64   `json:"points"`
	Slots       int     `json:"slots"`
	MinAge      int     `json:"min_age"`
	TimeBank    bool    `json:"time_bank"`
}

func parseLocal(v string) (time.Time, bool) {
	for _, l := range []string{"2006-01-02T15:04", "2006-01-02 15:04", time.RFC3339} {
		if t, err := time.ParseInLocation(l, strings.TrimSpace(v), questions.CST); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

var errNoActivity = fault.NotFound(fault.M("找不到这个活动", "no such activity"))

// PostActivity records an activity of a community (or a station in it).
func (s *Store) PostActivity(ctx context.Context, in ActivityInput) (Activity, error) {
	p := access.From(ctx)
	div := in.Division
	if div == "" && p != nil {
		div = p.Division
	}
	if _, err := mustManage(ctx, div); err != nil {
		return Activity{}, err
	}
	var fields []fault.FieldError
	bad := func(f, zh, en string) { fields = append(fields, fault.Field(f, fault.M(zh, en))) }
	title, place, desc := strings.TrimSpace(in.Title), strings.TrimSpace(in.Place), strings.TrimSpace(in.Description)
	if title == "" || len([]rune(title)) > 100 {
		bad("title", "请填写活动名称（100 字以内）", "give a title (at most 100 characters)")
	}
	if place == "" || len([]rune(place)) > 200 {
		bad("place", "请填写活动地点（200 字以内）", "give the place (at most 200 characters)")
	}
	if len([]rune(desc)) > 2000 {
		bad("description", "活动内容不超过 2000 字", "at most 2000 characters")
	}
	starts, okS := parseLocal(in.StartsAt)
	ends, okE := parseLocal(in.EndsAt)
	cutoff, okC := parseLocal(in.Cutoff)
	if !okS {
		bad("starts_at", "请填写开始时间", "give the start time")
	}
	if !okE || okS && !ends.After(starts) {
		bad("ends_at", "结束时间应晚于开始时间", "the end must be after the start")
	}
	if !okC && in.Cutoff == "" && okS {
		cutoff, okC = starts, true
	}
	if !okC || okS && cutoff.After(starts) {
		bad("cutoff", "报名截止时间应不晚于开始时间", "the sign-up cut-off must not be after the start")
	}
	more, err := s.checkFigures(ctx, div, in.Hours, in.Points, in.Slots, in.MinAge, in.StationID)
	if err != nil {
		return Activity{}, err
	}
	fields = append(fields, more...)
	if len(fields) > 0 {
		return Activity{}, fault.Invalid(fault.M("活动信息有误", "the activity has errors"), fields...)
	}
	a := Activity{ID: db.NewID(), Status: StatusOpen, Division: div, StationID: in.StationID, Organiser: p.Username, Title: title, Description: desc, Place: place,
		StartsAt: starts, EndsAt: ends, Cutoff: cutoff, Hours: hours(minutesOf(in.Hours)), Points: in.Points, Slots: in.Slots, MinAge: in.MinAge, TimeBank: in.TimeBank, CreatedAt: s.Now()}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vol_activities (id, division_code, station_id, organiser, title, description, place, starts_at, ends_at, cutoff,
			minutes, points, slots, min_age, time_bank, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)`,
			a.ID, a.Division, a.StationID, a.Organiser, a.Title, a.Description, a.Place, db.T(starts), db.T(ends), db.T(cutoff),
			minutesOf(in.Hours), a.Points, a.Slots, a.MinAge, a.TimeBank, db.T(a.CreatedAt)); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.activity.post", Object: "activity", ObjectID: a.ID, Division: div,
			Detail: audit.Detail(map[string]any{"title": title, "slots": a.Slots, "minutes": minutesOf(in.Hours), "points": a.Points})})
	})
	return a, err
}

const activityCols = `a.id, a.division_code, a.station_id, a.organiser, a.title, a.description, a.place, a.starts_at, a.ends_at, a.cutoff,
	a.minutes, a.points, a.slots, a.taken, a.min_age, a.time_bank, a.created_at, a.series_id, a.status`

func scanActivity(r db.Scanner) (Activity, error) {
	var a Activity
	var st, en, cu, cr db.Time
	var minutes int64
	err := r.Scan(&a.ID, &a.Division, &a.StationID, &a.Organiser, &a.Title, &a.Description, &a.Place, &st, &en, &cu, &minutes, &a.Points, &a.Slots, &a.Taken, &a.MinAge, &a.TimeBank, &cr, &a.SeriesID, &a.Status)
	a.StartsAt, a.EndsAt, a.Cutoff, a.CreatedAt, a.Hours = st.Time, en.Time, cu.Time, cr.Time, hours(minutes)
	return a, err
}

func (s *Store) activity(ctx context.Context, q rowQuerier, id string) (Activity, error) {
	a, err := scanActivity(q.QueryRowContext(ctx, `SELECT `+activityCols+` FROM vol_activities a WHERE a.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, errNoActivity
	}
	return a, err
}

// Activity reads an activity: open to anyone (activities are public).
func (s *Store) Activity(ctx context.Context, id string) (Activity, error) {
	a, err := s.activity(ctx, s.DB.R, id)
	if err != nil {
		return a, err
	}
	if me, err := s.Mine(ctx); err == nil {
		if err := s.DB.R.QueryRowContext(ctx, `SELECT status FROM vol_signups WHERE activity_id = $1 AND resident_id = $2`, id, me.ResidentID).Scan(&a.Mine); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return a, err
		}
	}
	return a, nil
}

// ActivityFilter narrows a list of activities.
type ActivityFilter struct {
	Division string    // within it (its subtree); empty: everywhere
	From     time.Time // starting at or after; zero: any
	Open     bool      // only those still taking sign-ups
	After    string    // keyset: the last row's "start|id"
	Limit    int
}

// Activities lists activities by start time (keyset on start and id).
func (s *Store) Activities(ctx context.Context, f ActivityFilter) ([]Activity, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 20
	}
	q := `SELECT ` + activityCols + ` FROM vol_activities a WHERE 1 = 1`
	var args []any
	arg := func(v any) string { args = append(args, v); return ph(len(args)) }
	if f.Division != "" {
		sc := access.Subtree(f.Division)
		q += ` AND a.division_code >= ` + arg(sc.Lo) + ` AND a.division_code < ` + arg(sc.Hi)
	}
	if !f.From.IsZero() {
		q += ` AND a.starts_at >= ` + arg(db.T(f.From))
	}
	if f.Open {
		// The cut-off is never after the start: starts_at bounds the
		// index scan, cutoff decides.
		now := db.T(s.Now())
		q += ` AND a.starts_at > ` + arg(now) + ` AND a.cutoff > ` + ph(len(args)) + ` AND a.status = 'open'`
	}
	if st, id, ok := strings.Cut(f.After, "|"); ok {
		if t, err := time.Parse(time.RFC3339Nano, st); err == nil {
			q += ` AND (a.starts_at > ` + arg(db.T(t)) + ` OR a.starts_at = ` + ph(len(args)) + ` AND a.id > ` + arg(id) + `)`
		}
	}
	q += ` ORDER BY a.starts_at, a.id LIMIT ` + itoa(f.Limit)
	return db.Collect(ctx, s.DB.R, scanActivity, q, args...)
}

// Cursor is an activity's keyset position.
func (a Activity) Cursor() string { return a.StartsAt.UTC().Format(time.RFC3339Nano) + "|" + a.ID }

func ph(i int) string { return "$" + itoa(i) }

// SignUpResult is the status a sign-up got.
type SignUpResult struct {
	ActivityID string `json:"activity_id"`
	Status     string `json:"status"` // confirmed or waitlisted
	Position   int    `json:"position"`
}

// SignUp puts the signed-in verified volunteer on an activity: a slot
// while there is one, else the waitlist. The activity's row is the lock:
// counting the slot taken and the place in the queue happen under it, so
// concurrent sign-ups never overfill the slots.
func (s *Store) SignUp(ctx context.Context, activityID string) (SignUpResult, error) {
	me, err := s.Mine(ctx)
	if errors.Is(err, errNoVolunteer) {
		return SignUpResult{}, fault.Conflict(fault.M("请先登记成为志愿者", "register as a volunteer first"))
	}
	if err != nil {
		return SignUpResult{}, err
	}
	if me.Status != StatusVerified {
		return SignUpResult{}, fault.Conflict(fault.M("您的志愿者登记尚待社区认证，认证后即可报名", "your registration awaits the community's verification"))
	}
	a, err := s.activity(ctx, s.DB.R, activityID)
	if err != nil {
		return SignUpResult{}, err
	}
	if a.Status == StatusCancelled {
		return SignUpResult{}, fault.Conflict(fault.M("这个活动已取消", "the activity is cancelled"))
	}
	now := s.Now()
	if !now.Before(a.Cutoff) {
		return SignUpResult{}, fault.Invalid(fault.M("报名已截止", "sign-up has closed"), fault.Field("cutoff", fault.M("报名截止于 "+a.Cutoff.In(questions.CST).Format("2006-01-02 15:04"), "sign-up closed at "+a.Cutoff.In(questions.CST).Format("2006-01-02 15:04"))))
	}
	if a.MinAge > 0 && age(me.BirthDate, a.StartsAt) < a.MinAge {
		return SignUpResult{}, fault.Invalid(fault.M("未达到活动的最低年龄", "below the activity's minimum age"), fault.Field("min_age", fault.M("本活动要求年满 "+itoa(a.MinAge)+" 岁", "this activity needs age "+itoa(a.MinAge)+" or more")))
	}
	var res SignUpResult
	res.ActivityID = activityID
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var queued int
		if err := tx.QueryRowContext(ctx, `UPDATE vol_activities SET queued = queued + 1 WHERE id = $1 RETURNING queued`, activityID).Scan(&queued); err != nil {
			return err
		}
		var prior string
		err := tx.QueryRowContext(ctx, `SELECT status FROM vol_signups WHERE activity_id = $1 AND resident_id = $2`, activityID, me.ResidentID).Scan(&prior)
		if err == nil && prior != Cancelled {
			return fault.Conflict(fault.M("您已报名这个活动", "you have signed up already"))
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		r, err := tx.ExecContext(ctx, `UPDATE vol_activities SET taken = taken + 1 WHERE id = $1 AND taken < slots`, activityID)
		if err != nil {
			return err
		}
		res.Status = Waitlisted
		if n, _ := r.RowsAffected(); n == 1 {
			res.Status = SignedUp
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO vol_signups (activity_id, resident_id, seq, status, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$5)
			ON CONFLICT (activity_id, resident_id) DO UPDATE SET seq = excluded.seq, status = excluded.status, updated_at = excluded.updated_at`,
			activityID, me.ResidentID, queued, res.Status, db.T(now)); err != nil {
			return err
		}
		if res.Status == Waitlisted {
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM vol_signups WHERE activity_id = $1 AND status = 'waitlisted' AND seq <= $2`, activityID, queued).Scan(&res.Position); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.signup", Object: "activity", ObjectID: activityID, Division: a.Division,
			Detail: audit.Detail(map[string]any{"resident": me.ResidentID, "status": res.Status})})
	})
	return res, err
}

// age is the whole years from a birth date (YYYY-MM-DD) to t.
func age(birth string, t time.Time) int {
	b, err := time.Parse("2006-01-02", birth)
	if err != nil {
		return 0
	}
	t = t.In(questions.CST)
	y := t.Year() - b.Year()
	if t.Month() < b.Month() || t.Month() == b.Month() && t.Day() < b.Day() {
		y--
	}
	return y
}

// Cancel withdraws the signed-in volunteer's sign-up before the cut-off;
// a slot given up goes to the first on the waitlist.
func (s *Store) Cancel(ctx context.Context, activityID string) error {
	me, err := s.Mine(ctx)
	if err != nil {
		return err
	}
	a, err := s.activity(ctx, s.DB.R, activityID)
	if err != nil {
		return err
	}
	if !s.Now().Before(a.Cutoff) {
		return fault.Invalid(fault.M("报名已截止，不能再取消；请联系组织者", "the cut-off has passed; ask the organiser"), fault.Field("cutoff", fault.M("截止于 "+a.Cutoff.In(questions.CST).Format("2006-01-02 15:04"), "closed at "+a.Cutoff.In(questions.CST).Format("2006-01-02 15:04"))))
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// The activity's row first, as a sign-up takes it.
		if _, err := tx.ExecContext(ctx, `UPDATE vol_activities SET queued = queued WHERE id = $1`, activityID); err != nil {
			return err
		}
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM vol_signups WHERE activity_id = $1 AND resident_id = $2`, activityID, me.ResidentID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) || err == nil && status == Cancelled {
			return fault.Conflict(fault.M("您没有报名这个活动", "you are not signed up"))
		}
		if err != nil {
			return err
		}
		now := db.T(s.Now())
		if _, err := tx.ExecContext(ctx, `UPDATE vol_signups SET status = 'cancelled', updated_at = $1 WHERE activity_id = $2 AND resident_id = $3`, now, activityID, me.ResidentID); err != nil {
			return err
		}
		promoted := ""
		if status == SignedUp {
			err := tx.QueryRowContext(ctx, `SELECT resident_id FROM vol_signups WHERE activity_id = $1 AND status = 'waitlisted' ORDER BY seq LIMIT 1`, activityID).Scan(&promoted)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if _, err := tx.ExecContext(ctx, `UPDATE vol_activities SET taken = taken - 1 WHERE id = $1`, activityID); err != nil {
					return err
				}
			case err != nil:
				return err
			default:
				if _, err := tx.ExecContext(ctx, `UPDATE vol_signups SET status = 'confirmed', updated_at = $1 WHERE activity_id = $2 AND resident_id = $3`, now, activityID, promoted); err != nil {
					return err
				}
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.cancel", Object: "activity", ObjectID: activityID, Division: a.Division,
			Detail: audit.Detail(map[string]any{"resident": me.ResidentID, "was": status, "promoted": promoted})})
	})
}

// Signup is one volunteer on an activity's roster.
type Signup struct {
	ResidentID string `json:"resident_id"`
	Name       string `json:"name"` // masked
	Status     string `json:"status"`
	Attendance string `json:"attendance,omitempty"`
	Credited   bool   `json:"credited"`
	Seq        int    `json:"seq"`
}

// Roster is an activity's sign-ups for its organiser: the confirmed, then
// the waitlist in order (an audited read).
func (s *Store) Roster(ctx context.Context, activityID string) (Activity, []Signup, error) {
	a, err := s.activity(ctx, s.DB.R, activityID)
	if err != nil {
		return a, nil, err
	}
	if _, err := mustManage(ctx, a.Division); err != nil {
		return a, nil, errNoActivity
	}
	rows, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Signup, error) {
		var x Signup
		err := r.Scan(&x.ResidentID, &x.Name, &x.Status, &x.Attendance, &x.Credited, &x.Seq)
		x.Name += "**"
		return x, err
	}, `SELECT s.resident_id, v.surname, s.status, s.attendance, s.credited, s.seq FROM vol_signups s JOIN vol_volunteers v ON v.resident_id = s.resident_id
		WHERE s.activity_id = $1 AND s.status <> 'cancelled' ORDER BY CASE WHEN s.status = 'confirmed' THEN 0 ELSE 1 END, s.seq`, activityID)
	if err != nil {
		return a, nil, err
	}
	return a, rows, s.Audit.Record(ctx, audit.Entry{Action: "volunteers.roster.read", Object: "activity", ObjectID: activityID, Division: a.Division})
}

// AttendanceInput marks who came: the confirmed volunteers listed are
// present, the other confirmed ones absent.
type AttendanceInput struct {
	Present []string `json:"present"`
}

// AttendanceResult says what a confirmation did.
type AttendanceResult struct {
	Present  int `json:"present"`
	Absent   int `json:"absent"`
	Credited int `json:"credited"` // newly credited: 0 on a second confirmation
}

// Attendance records the day's attendance and credits each present
// volunteer once: a sign-up is marked credited in the same transaction
// as its posting, and the posting's key is unique, so a second
// confirmation (or two at once) credits nothing more.
func (s *Store) Attendance(ctx context.Context, activityID string, in AttendanceInput) (AttendanceResult, error) {
	var res AttendanceResult
	a, err := s.activity(ctx, s.DB.R, activityID)
	if err != nil {
		return res, err
	}
	p, err := mustManage(ctx, a.Division)
	if err != nil {
		return res, errNoActivity
	}
	day := a.StartsAt.In(questions.CST).Format("2006-01-02")
	if s.today() < day {
		return res, fault.Invalid(fault.M("活动当天才能确认签到", "attendance is confirmed on the day"), fault.Field("present", fault.M("活动日期为 "+day, "the activity is on "+day)))
	}
	present := map[string]bool{}
	for _, id := range in.Present {
		present[id] = true
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		type row struct {
			id, attendance string
			credited       bool
		}
		rows, err := db.Collect(ctx, tx, func(r db.Scanner) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.attendance, &x.credited)
		}, `SELECT resident_id, attendance, credited FROM vol_signups WHERE activity_id = $1 AND status = 'confirmed' ORDER BY resident_id`, activityID)
		if err != nil {
			return err
		}
		known := map[string]bool{}
		for _, r := range rows {
			known[r.id] = true
		}
		for id := range present {
			if !known[id] {
				return fault.Invalid(fault.M("签到名单有误", "the attendance list has errors"), fault.Field("present", fault.M("只能勾选已确认报名的志愿者", "only volunteers with a confirmed sign-up can be ticked")))
			}
		}
		now := db.T(s.Now())
		for _, r := range rows {
			if !present[r.id] {
				res.Absent++
				if !r.credited {
					if _, err := tx.ExecContext(ctx, `UPDATE vol_signups SET attendance = 'absent', updated_at = $1 WHERE activity_id = $2 AND resident_id = $3 AND NOT credited`, now, activityID, r.id); err != nil {
						return err
					}
				}
				continue
			}
			res.Present++
			upd, err := tx.ExecContext(ctx, `UPDATE vol_signups SET attendance = 'present', credited = TRUE, updated_at = $1 WHERE activity_id = $2 AND resident_id = $3 AND NOT credited`, now, activityID, r.id)
			if err != nil {
				return err
			}
			if n, _ := upd.RowsAffected(); n == 0 {
				continue // credited before
			}
			v, err := s.volunteer(ctx, tx, r.id)
			if err != nil {
				return err
			}
			minutes := minutesOf(a.Hours)
			if a.TimeBank || a.Points > 0 {
				legMinutes := minutes
				if !a.TimeBank {
					legMinutes = 0
				}
				if legMinutes > 0 {
					if _, err := s.creditService(ctx, tx, v, a.Division, legMinutes, a.Points, day, a.ID, a.Title, "attend:"+a.ID+":"+r.id, p.Username); err != nil {
						return err
					}
				} else if _, err := s.award(ctx, tx, v, a.Division, a.Points, a.ID, a.Title, "attend:"+a.ID+":"+r.id, p.Username); err != nil {
					return err
				}
			}
			res.Credited++
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.attendance", Object: "activity", ObjectID: activityID, Division: a.Division,
			Detail: audit.Detail(map[string]any{"present": res.Present, "absent": res.Absent, "credited": res.Credited})})
	})
	return res, err
}

// award posts points from the community's bank to the volunteer.
func (s *Store) award(ctx context.Context, tx *sql.Tx, v Volunteer, div string, points int64, ref, reason, key, by string) (string, error) {
	vp, err := ensureAccount(ctx, tx, OwnerVolunteer, v.ResidentID, Points, v.Division, s.Now())
	if err != nil {
		return "", err
	}
	bp, err := ensureAccount(ctx, tx, OwnerBank, div, Points, div, s.Now())
	if err != nil {
		return "", err
	}
	return s.post(ctx, tx, posting{kind: KindAward, ref: ref, reason: reason, key: key, by: by, legs: []leg{{vp, points, false}, {bp, -points, false}}})
}

// MyActivity is one of the signed-in volunteer's sign-ups.
type MyActivity struct {
	Activity
	Status     string `json:"status"`
	Attendance string `json:"attendance,omitempty"`
}

// MyActivities are the signed-in volunteer's sign-ups, newest activity
// first (at most limit).
func (s *Store) MyActivities(ctx context.Context, limit int) ([]MyActivity, error) {
	me, err := s.Mine(ctx)
	if err != nil {
		return nil, err
	}
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (MyActivity, error) {
		var m MyActivity
		var st, en, cu, cr db.Time
		var minutes int64
		a := &m.Activity
		err := r.Scan(&a.ID, &a.Division, &a.StationID, &a.Organiser, &a.Title, &a.Description, &a.Place, &st, &en, &cu, &minutes, &a.Points, &a.Slots, &a.Taken, &a.MinAge, &a.TimeBank, &cr, &a.SeriesID, &a.Status, &m.Status, &m.Attendance)
		a.StartsAt, a.EndsAt, a.Cutoff, a.CreatedAt, a.Hours = st.Time, en.Time, cu.Time, cr.Time, hours(minutes)
		a.Mine = m.Status
		return m, err
	}, `SELECT `+activityCols+`, s.status, s.attendance FROM vol_signups s JOIN vol_activities a ON a.id = s.activity_id
		WHERE s.resident_id = $1 AND s.status <> 'cancelled' ORDER BY a.starts_at DESC, a.id LIMIT `+itoa(limit), me.ResidentID)
}

// checkFigures checks what an activity and a series of them share: hours,
// points, slots, minimum age and a station of the division.
func (s *Store) checkFigures(ctx context.Context, div string, hrs float64, points int64, slots, minAge int, station string) ([]fault.FieldError, error) {
	var fields []fault.FieldError
	bad := func(f, zh, en string) { fields = append(fields, fault.Field(f, fault.M(zh, en))) }
	if fe := checkHours("hours", hrs); fe != nil {
		fields = append(fields, *fe)
	}
	if points < 0 || points > 10000 {
		bad("points", "积分应为 0–10000", "points must be 0–10000")
	}
	if slots < 1 || slots > 10000 {
		bad("slots", "名额应为 1–10000", "slots must be 1–10000")
	}
	if minAge < 0 || minAge > 100 {
		bad("min_age", "最低年龄应为 0–100", "the minimum age must be 0–100")
	}
	if station != "" {
		var sdiv string
		err := s.DB.R.QueryRowContext(ctx, `SELECT division_code FROM registry_facility_cards WHERE id = $1 AND category = 'volunteer_station'`, station).Scan(&sdiv)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		if err != nil || !access.Subtree(div).Contains(sdiv) {
			bad("station_id", "请从列表中选择本社区的志愿服务站点", "choose one of the division's volunteer stations")
		}
	}
	return fields, nil
}
