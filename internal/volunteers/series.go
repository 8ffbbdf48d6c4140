package volunteers

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/questions"
)

// Series rules.
const (
	RuleWeekly = "weekly" // on chosen weekdays
	RuleEvery  = "every"  // every N days
)

// Activity and series statuses.
const (
	StatusOpen      = "open"
	StatusCancelled = "cancelled"
)

// HorizonDays is how far ahead a series' shifts are generated.
const HorizonDays = 56

// maxOccurrences bounds a series: a year of daily shifts.
const maxOccurrences = 366

// Series is a recurring activity: its shifts are ordinary activities
// linked to it, one per date.
type Series struct {
	ID          string    `json:"id"`
	Division    string    `json:"division"`
	StationID   string    `json:"station_id,omitempty"`
	Organiser   string    `json:"organiser"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Place       string    `json:"place"`
	Rule        string    `json:"rule"`
	Weekdays    []int     `json:"weekdays,omitempty"` // 0 Sunday … 6 Saturday
	EveryDays   int       `json:"every_days,omitempty"`
	StartDate   string    `json:"start_date"`
	EndDate     string    `json:"end_date,omitempty"`
	Count       int       `json:"count,omitempty"`
	StartTime   string    `json:"start_time"`
	EndTime     string    `json:"end_time"`
	CutoffHours int       `json:"cutoff_hours"`
	Hours       float64   `json:"hours"`
	Points      int64     `json:"points"`
	Slots       int       `json:"slots"`
	MinAge      int       `json:"min_age"`
	TimeBank    bool      `json:"time_bank"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
}

// SeriesInput creates or edits a series. Dates are YYYY-MM-DD, times
// HH:MM in China time; give an end date or a count (or both: whichever
// comes first).
type SeriesInput struct {
	Division    string  `json:"division"`
	StationID   string  `json:"station_id"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	Place       string  `json:"place"`
	Rule        string  `json:"rule"`
	Weekdays    []int   `json:"weekdays"`
	EveryDays   int     `json:"every_days"`
	StartDate   string  `json:"start_date"`
	EndDate     string  `json:"end_date"`
	Count       int     `json:"count"`
	StartTime   string  `json:"start_time"`
	EndTime     string  `json:"end_time"`
	CutoffHours int     `json:"cutoff_hours"`
	Hours       float64 `json:"hours"`
	Points      int64   `json:"points"`
	Slots       int     `json:"slots"`
	MinAge      int     `json:"min_age"`
	TimeBank    bool    `json:"time_bank"`
}

// SeriesResult is a series with what a write did to its shifts.
type SeriesResult struct {
	Series    Series `json:"series"`
	Generated int    `json:"generated"`         // shifts newly made
	Removed   int    `json:"removed,omitempty"` // future shifts without sign-ups replaced by an edit
	Cancelled int    `json:"cancelled,omitempty"`
	Released  int    `json:"released,omitempty"` // sign-ups released by a cancellation
}

var errNoSeries = fault.NotFound(fault.M("找不到这个周期活动", "no such recurring activity"))

// Dates are the series' occurrences from its start, in order: at most
// maxOccurrences+1, so that a caller can tell a series that has too many.
func (s Series) Dates() []string {
	start, err := time.Parse("2006-01-02", s.StartDate)
	if err != nil {
		return nil
	}
	end := start.AddDate(0, 0, 10*maxOccurrences) // with neither bound, the count check refuses
	if s.EndDate != "" {
		if e, err := time.Parse("2006-01-02", s.EndDate); err == nil {
			end = e
		}
	}
	wd := map[int]bool{}
	for _, d := range s.Weekdays {
		wd[d] = true
	}
	var out []string
	for d := start; !d.After(end) && len(out) <= maxOccurrences; d = d.AddDate(0, 0, 1) {
		if s.Count > 0 && len(out) >= s.Count {
			break
		}
		ok := false
		switch s.Rule {
		case RuleWeekly:
			ok = wd[int(d.Weekday())]
		case RuleEvery:
			ok = s.EveryDays > 0 && int(d.Sub(start).Hours()/24)%s.EveryDays == 0
		}
		if ok {
			out = append(out, d.Format("2006-01-02"))
		}
	}
	return out
}

func parseClock(v string) (int, bool) {
	t, err := time.Parse("15:04", strings.TrimSpace(v))
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// checkSeries validates an input into a series (without id and status).
func (s *Store) checkSeries(ctx context.Context, in SeriesInput, div, oldStart string) (Series, error) {
	var fields []fault.FieldError
	bad := func(f, zh, en string) { fields = append(fields, fault.Field(f, fault.M(zh, en))) }
	sr := Series{Division: div, StationID: in.StationID, Title: strings.TrimSpace(in.Title), Description: strings.TrimSpace(in.Description), Place: strings.TrimSpace(in.Place),
		Rule: in.Rule, EveryDays: in.EveryDays, StartDate: strings.TrimSpace(in.StartDate), EndDate: strings.TrimSpace(in.EndDate), Count: in.Count,
		StartTime: strings.TrimSpace(in.StartTime), EndTime: strings.TrimSpace(in.EndTime), CutoffHours: in.CutoffHours,
		Hours: hours(minutesOf(in.Hours)), Points: in.Points, Slots: in.Slots, MinAge: in.MinAge, TimeBank: in.TimeBank}
	if sr.Title == "" || len([]rune(sr.Title)) > 100 {
		bad("title", "请填写活动名称（100 字以内）", "give a title (at most 100 characters)")
	}
	if sr.Place == "" || len([]rune(sr.Place)) > 200 {
		bad("place", "请填写活动地点（200 字以内）", "give the place (at most 200 characters)")
	}
	if len([]rune(sr.Description)) > 2000 {
		bad("description", "活动内容不超过 2000 字", "at most 2000 characters")
	}
	switch sr.Rule {
	case RuleWeekly:
		seen := map[int]bool{}
		for _, d := range in.Weekdays {
			if d < 0 || d > 6 {
				bad("weekdays", "请从列表中选择星期", "choose weekdays from the list")
				break
			}
			if !seen[d] {
				seen[d] = true
				sr.Weekdays = append(sr.Weekdays, d)
			}
		}
		if len(sr.Weekdays) == 0 {
			bad("weekdays", "请至少选择一个星期几", "choose at least one weekday")
		}
		sr.EveryDays = 0
	case RuleEvery:
		if sr.EveryDays < 1 || sr.EveryDays > 366 {
			bad("every_days", "间隔天数应为 1–366", "every N days: N must be 1–366")
		}
	default:
		bad("rule", "请选择重复方式：每周或每隔几天", "choose weekly or every N days")
	}
	start, errS := time.Parse("2006-01-02", sr.StartDate)
	if errS != nil {
		bad("start_date", "请填写开始日期", "give the start date")
	} else if sr.StartDate < s.today() && sr.StartDate != oldStart {
		bad("start_date", "开始日期不能早于今天", "the start date cannot be before today")
	}
	if sr.EndDate != "" {
		if end, err := time.Parse("2006-01-02", sr.EndDate); err != nil {
			bad("end_date", "结束日期格式有误", "the end date is not a date")
		} else if errS == nil && end.Before(start) {
			bad("end_date", "结束日期不能早于开始日期", "the end date cannot be before the start date")
		}
	}
	if sr.Count < 0 || sr.Count > maxOccurrences {
		bad("count", "次数应为 1–366", "the count must be 1–366")
	}
	if sr.EndDate == "" && sr.Count == 0 {
		bad("end_date", "请填写结束日期或次数", "give an end date or a count")
	}
	sm, okS := parseClock(sr.StartTime)
	em, okE := parseClock(sr.EndTime)
	if !okS {
		bad("start_time", "请填写开始时刻", "give the start time")
	}
	if !okE || okS && em <= sm {
		bad("end_time", "结束时刻应晚于开始时刻（同一天）", "the end time must be after the start time (same day)")
	}
	if sr.CutoffHours < 0 || sr.CutoffHours > 168 {
		bad("cutoff_hours", "报名截止应为开始前 0–168 小时", "sign-up closes 0–168 hours before the start")
	}
	more, err := s.checkFigures(ctx, div, in.Hours, sr.Points, sr.Slots, sr.MinAge, sr.StationID)
	if err != nil {
		return sr, err
	}
	fields = append(fields, more...)
	if len(fields) == 0 && len(sr.Dates()) > maxOccurrences {
		field := "end_date"
		if sr.EndDate == "" {
			field = "count"
		}
		bad(field, "一个周期活动最多 366 次，请缩短日期范围", "a series has at most 366 occurrences: shorten it")
	}
	if len(fields) == 0 && len(sr.Dates()) == 0 {
		bad("weekdays", "这个日期范围内没有符合的日期", "no date in the range matches")
	}
	if len(fields) > 0 {
		return sr, fault.Invalid(fault.M("周期活动信息有误", "the recurring activity has errors"), fields...)
	}
	return sr, nil
}

// CreateSeries records a recurring activity and generates its shifts up
// to the horizon.
func (s *Store) CreateSeries(ctx context.Context, in SeriesInput) (SeriesResult, error) {
	p := access.From(ctx)
	div := in.Division
	if div == "" && p != nil {
		div = p.Division
	}
	if _, err := mustManage(ctx, div); err != nil {
		return SeriesResult{}, err
	}
	sr, err := s.checkSeries(ctx, in, div, "")
	if err != nil {
		return SeriesResult{}, err
	}
	sr.ID, sr.Organiser, sr.Status, sr.CreatedAt = db.NewID(), p.Username, StatusOpen, s.Now()
	res := SeriesResult{Series: sr}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := insertSeries(ctx, tx, sr); err != nil {
			return err
		}
		n, err := s.generate(ctx, tx, sr)
		if err != nil {
			return err
		}
		res.Generated = n
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.series.create", Object: "series", ObjectID: sr.ID, Division: div,
			Detail: audit.Detail(map[string]any{"title": sr.Title, "rule": sr.Rule, "generated": n})})
	})
	return res, err
}

// insertSeries writes a series' row.
func insertSeries(ctx context.Context, tx *sql.Tx, sr Series) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO vol_series (id, division_code, station_id, organiser, title, description, place, rule, weekdays, every_days,
		start_date, end_date, max_count, start_time, end_time, cutoff_hours, minutes, points, slots, min_age, time_bank, status, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$23)`,
		sr.ID, sr.Division, sr.StationID, sr.Organiser, sr.Title, sr.Description, sr.Place, sr.Rule, joinInts(sr.Weekdays), sr.EveryDays,
		sr.StartDate, sr.EndDate, sr.Count, sr.StartTime, sr.EndTime, sr.CutoffHours, minutesOf(sr.Hours), sr.Points, sr.Slots, sr.MinAge, sr.TimeBank, sr.Status, db.T(sr.CreatedAt))
	return err
}

// generate inserts the shifts from today to the horizon that do not
// exist yet: the unique key on series and date makes it idempotent.
func (s *Store) generate(ctx context.Context, tx *sql.Tx, sr Series) (int, error) {
	now := s.Now()
	until := now.In(questions.CST).AddDate(0, 0, HorizonDays).Format("2006-01-02")
	sm, _ := parseClock(sr.StartTime)
	em, _ := parseClock(sr.EndTime)
	n := 0
	for _, d := range sr.Dates() {
		if d > until {
			break
		}
		day, _ := time.ParseInLocation("2006-01-02", d, questions.CST)
		starts := day.Add(time.Duration(sm) * time.Minute)
		if !starts.After(now) {
			continue
		}
		ends := day.Add(time.Duration(em) * time.Minute)
		cutoff := starts.Add(-time.Duration(sr.CutoffHours) * time.Hour)
		r, err := tx.ExecContext(ctx, `INSERT INTO vol_activities (id, division_code, station_id, organiser, title, description, place, starts_at, ends_at, cutoff,
			minutes, points, slots, min_age, time_bank, created_at, series_id, series_date) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)
			ON CONFLICT DO NOTHING`,
			sr.ID+"-"+strings.ReplaceAll(d, "-", ""), sr.Division, sr.StationID, sr.Organiser, sr.Title, sr.Description, sr.Place, db.T(starts), db.T(ends), db.T(cutoff),
			minutesOf(sr.Hours), sr.Points, sr.Slots, sr.MinAge, sr.TimeBank, db.T(now), sr.ID, d)
		if err != nil {
			return n, err
		}
		k, _ := r.RowsAffected()
		n += int(k)
	}
	return n, nil
}

// Generate makes a series' missing shifts up to the horizon (run again,
// it makes none).
func (s *Store) Generate(ctx context.Context, id string) (SeriesResult, error) {
	sr, err := s.managedSeries(ctx, id)
	if err != nil {
		return SeriesResult{}, err
	}
	if sr.Status != StatusOpen {
		return SeriesResult{}, fault.Conflict(fault.M("这个周期活动已取消", "the recurring activity is cancelled"))
	}
	res := SeriesResult{Series: sr}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		n, err := s.generate(ctx, tx, sr)
		if err != nil {
			return err
		}
		res.Generated = n
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.series.generate", Object: "series", ObjectID: id, Division: sr.Division,
			Detail: audit.Detail(map[string]any{"generated": n})})
	})
	return res, err
}

// UpdateSeries edits a series: the future shifts nobody signed up for are
// replaced by the new rule; shifts already held or with sign-ups stay.
func (s *Store) UpdateSeries(ctx context.Context, id string, in SeriesInput) (SeriesResult, error) {
	old, err := s.managedSeries(ctx, id)
	if err != nil {
		return SeriesResult{}, err
	}
	if old.Status != StatusOpen {
		return SeriesResult{}, fault.Conflict(fault.M("这个周期活动已取消，不能修改", "the recurring activity is cancelled"))
	}
	sr, err := s.checkSeries(ctx, in, old.Division, old.StartDate) // an edit keeps its start, even past
	if err != nil {
		return SeriesResult{}, err
	}
	sr.ID, sr.Organiser, sr.Status, sr.CreatedAt = old.ID, old.Organiser, old.Status, old.CreatedAt
	res := SeriesResult{Series: sr}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE vol_series SET station_id = $1, title = $2, description = $3, place = $4, rule = $5, weekdays = $6, every_days = $7,
			start_date = $8, end_date = $9, max_count = $10, start_time = $11, end_time = $12, cutoff_hours = $13, minutes = $14, points = $15, slots = $16, min_age = $17,
			time_bank = $18, updated_at = $19 WHERE id = $20`,
			sr.StationID, sr.Title, sr.Description, sr.Place, sr.Rule, joinInts(sr.Weekdays), sr.EveryDays, sr.StartDate, sr.EndDate, sr.Count,
			sr.StartTime, sr.EndTime, sr.CutoffHours, minutesOf(sr.Hours), sr.Points, sr.Slots, sr.MinAge, sr.TimeBank, db.T(s.Now()), id); err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, `DELETE FROM vol_activities WHERE series_id = $1 AND status = 'open' AND starts_at > $2
			AND NOT EXISTS (SELECT 1 FROM vol_signups g WHERE g.activity_id = vol_activities.id)`, id, db.T(s.Now()))
		if err != nil {
			return err
		}
		k, _ := r.RowsAffected()
		res.Removed = int(k)
		if res.Generated, err = s.generate(ctx, tx, sr); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.series.update", Object: "series", ObjectID: id, Division: sr.Division,
			Detail: audit.Detail(map[string]any{"title": sr.Title, "removed": res.Removed, "generated": res.Generated})})
	})
	return res, err
}

// CancelSeries cancels a series and its future shifts not yet held; the
// sign-ups on them are released (each volunteer sees the shift cancelled
// on their page: the module has no notices seam).
func (s *Store) CancelSeries(ctx context.Context, id string) (SeriesResult, error) {
	sr, err := s.managedSeries(ctx, id)
	if err != nil {
		return SeriesResult{}, err
	}
	if sr.Status != StatusOpen {
		return SeriesResult{}, fault.Conflict(fault.M("这个周期活动已取消", "the recurring activity is cancelled already"))
	}
	res := SeriesResult{Series: sr}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := db.T(s.Now())
		r, err := tx.ExecContext(ctx, `UPDATE vol_series SET status = 'cancelled', updated_at = $1 WHERE id = $2 AND status = 'open'`, now, id)
		if err != nil {
			return err
		}
		if k, _ := r.RowsAffected(); k == 0 {
			return fault.Conflict(fault.M("这个周期活动已取消", "the recurring activity is cancelled already"))
		}
		// The shifts' rows first, as a sign-up takes them.
		ids, err := db.Collect(ctx, tx, func(r db.Scanner) (string, error) {
			var x string
			return x, r.Scan(&x)
		}, `SELECT id FROM vol_activities WHERE series_id = $1 AND status = 'open' AND starts_at > $2 ORDER BY id`, id, now)
		if err != nil {
			return err
		}
		for _, a := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE vol_activities SET status = 'cancelled', taken = 0 WHERE id = $1`, a); err != nil {
				return err
			}
			r, err := tx.ExecContext(ctx, `UPDATE vol_signups SET status = 'cancelled', updated_at = $1 WHERE activity_id = $2 AND status <> 'cancelled'`, now, a)
			if err != nil {
				return err
			}
			k, _ := r.RowsAffected()
			res.Released += int(k)
		}
		res.Cancelled = len(ids)
		res.Series.Status = StatusCancelled
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.series.cancel", Object: "series", ObjectID: id, Division: sr.Division,
			Detail: audit.Detail(map[string]any{"cancelled": res.Cancelled, "released": res.Released})})
	})
	return res, err
}

const seriesCols = `id, division_code, station_id, organiser, title, description, place, rule, weekdays, every_days, start_date, end_date, max_count,
	start_time, end_time, cutoff_hours, minutes, points, slots, min_age, time_bank, status, created_at`

func scanSeries(r db.Scanner) (Series, error) {
	var sr Series
	var wd string
	var minutes int64
	var cr db.Time
	err := r.Scan(&sr.ID, &sr.Division, &sr.StationID, &sr.Organiser, &sr.Title, &sr.Description, &sr.Place, &sr.Rule, &wd, &sr.EveryDays, &sr.StartDate, &sr.EndDate, &sr.Count,
		&sr.StartTime, &sr.EndTime, &sr.CutoffHours, &minutes, &sr.Points, &sr.Slots, &sr.MinAge, &sr.TimeBank, &sr.Status, &cr)
	sr.Weekdays, sr.Hours, sr.CreatedAt = splitInts(wd), hours(minutes), cr.Time
	return sr, err
}

// managedSeries reads a series its reader manages (others: not found).
func (s *Store) managedSeries(ctx context.Context, id string) (Series, error) {
	sr, err := scanSeries(s.DB.R.QueryRowContext(ctx, `SELECT `+seriesCols+` FROM vol_series WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sr, errNoSeries
	}
	if err != nil {
		return sr, err
	}
	if _, err := mustManage(ctx, sr.Division); err != nil {
		return sr, errNoSeries
	}
	return sr, nil
}

// OneSeries reads a series and its shifts by date (its organisers).
func (s *Store) OneSeries(ctx context.Context, id string) (Series, []Activity, error) {
	sr, err := s.managedSeries(ctx, id)
	if err != nil {
		return sr, nil, err
	}
	shifts, err := db.Collect(ctx, s.DB.R, scanActivity, `SELECT `+activityCols+` FROM vol_activities a WHERE a.series_id = $1 ORDER BY a.starts_at, a.id`, id)
	return sr, shifts, err
}

// SeriesList lists the series in the reader's jurisdiction, newest first.
func (s *Store) SeriesList(ctx context.Context) ([]Series, error) {
	p := access.From(ctx)
	if p == nil || !manager(p, p.Division) {
		return nil, fault.Forbidden(fault.M("只有社区工作者、干部可以查看周期活动", "only community workers and officers see recurring activities"))
	}
	sc := access.BusinessScope(p)
	return db.Collect(ctx, s.DB.R, scanSeries, `SELECT `+seriesCols+` FROM vol_series WHERE division_code >= $1 AND division_code < $2 ORDER BY created_at DESC, id LIMIT 200`, sc.Lo, sc.Hi)
}

func joinInts(v []int) string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.Itoa(x)
	}
	return strings.Join(out, ",")
}

func splitInts(v string) []int {
	var out []int
	for _, x := range strings.Split(v, ",") {
		if n, err := strconv.Atoi(x); err == nil {
			out = append(out, n)
		}
	}
	return out
}
