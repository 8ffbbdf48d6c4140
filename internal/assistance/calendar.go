package assistance

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/questions"
)

// The clocks run on working days: Monday to Friday, minus the public
// holidays and plus the weekend days made working (调休), which the State
// Council announces each year. They are data (ast_calendar): the
// migration brings the notices of 2025 and 2026, a provincial officer
// keeps the following years, and a day not in the table is a working day
// when it is a weekday.

// CalendarDay is one day that differs from the Monday–Friday rule, or
// confirms it.
type CalendarDay struct {
	Day     string `json:"day"` // 2006-01-02
	Working bool   `json:"working"`
	Name    string `json:"name"` // 春节, 春节调休上班
}

// Calendar tells working days apart.
type Calendar struct{ days map[string]bool }

// Working tells whether day (China time) is a working day.
func (c Calendar) Working(day time.Time) bool {
	if w, ok := c.days[day.In(questions.CST).Format("2006-01-02")]; ok {
		return w
	}
	wd := day.In(questions.CST).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// AddWorkingDays moves n working days on from t, to the end of that
// working day (17:30 China time).
func (c Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	d := t.In(questions.CST)
	day := time.Date(d.Year(), d.Month(), d.Day(), 17, 30, 0, 0, questions.CST)
	for n > 0 {
		day = day.AddDate(0, 0, 1)
		if c.Working(day) {
			n--
		}
	}
	return day.UTC()
}

// Calendar reads the calendar (a few dozen rows a year).
func (s *Store) Calendar(ctx context.Context, q db.Querier) (Calendar, error) {
	c := Calendar{days: map[string]bool{}}
	err := db.EachRow(ctx, q, func(r db.Scanner) error {
		var day string
		var working bool
		if err := r.Scan(&day, &working); err != nil {
			return err
		}
		c.days[day] = working
		return nil
	}, `SELECT day, working FROM ast_calendar`)
	return c, err
}

// CalendarDays lists a year's days in the table.
func (s *Store) CalendarDays(ctx context.Context, year int) ([]CalendarDay, error) {
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (CalendarDay, error) {
		var d CalendarDay
		return d, r.Scan(&d.Day, &d.Working, &d.Name)
	}, `SELECT day, working, name FROM ast_calendar WHERE day >= $1 AND day < $2 ORDER BY day`, fmt.Sprintf("%04d-01-01", year), fmt.Sprintf("%04d-01-01", year+1))
}

// SetCalendarDay records a holiday or a make-up working day; a
// provincial officer keeps the calendar, which is the province's.
func (s *Store) SetCalendarDay(ctx context.Context, in CalendarDay) error {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer || len(p.Division) > 2 {
		return fault.Forbidden(fault.M("只有省级民政干部可以维护节假日", "only provincial officers keep the holidays"))
	}
	var fields []fault.FieldError
	if d, err := time.Parse("2006-01-02", in.Day); err != nil || d.Year() < 2000 || d.Year() > 2100 {
		fields = append(fields, fault.Field("day", fault.M("日期格式为 2026-10-01", "the day is written 2026-10-01")))
	}
	in.Name = strings.TrimSpace(in.Name)
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 40 {
		fields = append(fields, fault.Field("name", fault.M("请填写名称（不超过 40 字），如“国庆节”或“国庆调休上班”", "give a name (40 characters at most), such as 国庆节")))
	}
	if len(fields) > 0 {
		return fault.Invalid(fault.M("节假日有误", "the day has errors"), fields...)
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ast_calendar SET working = $2, name = $3, set_by = $4, updated_at = $5 WHERE day = $1`, in.Day, in.Working, in.Name, p.Username, db.T(s.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ast_calendar (day, working, name, set_by, updated_at) VALUES ($1,$2,$3,$4,$5)`, in.Day, in.Working, in.Name, p.Username, db.T(s.Now())); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "assistance.calendar_set", Object: "calendar", ObjectID: in.Day, Division: p.Division,
			Detail: fmt.Sprintf("%s working %v", in.Name, in.Working)})
	})
}

// calendarSQL creates the calendar with the State Council's notices for
// 2025 (国办发明电〔2024〕12号) and 2026 (国务院办公厅 2025年11月4日).
func calendarSQL() string {
	type span struct {
		from, to string
		working  bool
		name     string
	}
	spans := []span{
		{"2025-01-01", "2025-01-01", false, "元旦"},
		{"2025-01-26", "2025-01-26", true, "春节调休上班"},
		{"2025-01-28", "2025-02-04", false, "春节"},
		{"2025-02-08", "2025-02-08", true, "春节调休上班"},
		{"2025-04-04", "2025-04-06", false, "清明节"},
		{"2025-04-27", "2025-04-27", true, "劳动节调休上班"},
		{"2025-05-01", "2025-05-05", false, "劳动节"},
		{"2025-05-31", "2025-06-02", false, "端午节"},
		{"2025-09-28", "2025-09-28", true, "国庆节调休上班"},
		{"2025-10-01", "2025-10-08", false, "国庆节、中秋节"},
		{"2025-10-11", "2025-10-11", true, "国庆节调休上班"},
		{"2026-01-01", "2026-01-03", false, "元旦"},
		{"2026-01-04", "2026-01-04", true, "元旦调休上班"},
		{"2026-02-14", "2026-02-14", true, "春节调休上班"},
		{"2026-02-15", "2026-02-23", false, "春节"},
		{"2026-02-28", "2026-02-28", true, "春节调休上班"},
		{"2026-04-04", "2026-04-06", false, "清明节"},
		{"2026-05-01", "2026-05-05", false, "劳动节"},
		{"2026-05-09", "2026-05-09", true, "劳动节调休上班"},
		{"2026-06-19", "2026-06-21", false, "端午节"},
		{"2026-09-20", "2026-09-20", true, "国庆节调休上班"},
		{"2026-09-25", "2026-09-27", false, "中秋节"},
		{"2026-10-01", "2026-10-07", false, "国庆节"},
		{"2026-10-10", "2026-10-10", true, "国庆节调休上班"},
	}
	var rows []string
	for _, sp := range spans {
		from, _ := time.Parse("2006-01-02", sp.from)
		to, _ := time.Parse("2006-01-02", sp.to)
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			rows = append(rows, fmt.Sprintf("('%s', %v, '%s', 'migration', '2025-11-04T00:00:00.000000Z')", d.Format("2006-01-02"), strings.ToUpper(fmt.Sprint(sp.working)), sp.name))
		}
	}
	return `CREATE TABLE ast_calendar (
	day TEXT PRIMARY KEY,
	working BOOLEAN NOT NULL,
	name TEXT NOT NULL,
	set_by TEXT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
INSERT INTO ast_calendar (day, working, name, set_by, updated_at) VALUES ` + strings.Join(rows, ",\n") + `;`
}
