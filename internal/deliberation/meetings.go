package deliberation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// Meeting is a council meeting with its agenda, attendance and minutes.
type Meeting struct {
	ID        string       `json:"id"`
	Division  string       `json:"division_code"`
	CouncilID string       `json:"council_id"`
	Title     string       `json:"title"`
	Place     string       `json:"place"`
	StartsAt  time.Time    `json:"starts_at"`
	Agenda    []AgendaItem `json:"agenda,omitempty"`
	// Attendance is every member with whether they came (workers only).
	Attendance []Attendee `json:"attendance,omitempty"`
	Present    int        `json:"present"`
	Minutes    string     `json:"minutes,omitempty"`
	Summary    string     `json:"summary,omitempty"`
	// Mode is place or online; Link the online meeting's link or number
	// (registrations.go).
	Mode     string `json:"mode"`
	Link     string `json:"link,omitempty"`
	Capacity int    `json:"capacity,omitempty"` // 0: no limit
	// Registered counts the residents registered; Registrations lists
	// them for workers; MyRegistration: the reader is one of them.
	Registered       int            `json:"registered"`
	Registrations    []Registration `json:"registrations,omitempty"`
	MyRegistration   bool           `json:"my_registration,omitempty"`
	ResidentsPresent int            `json:"residents_present"`
	// Entries are the structured minutes (minutes.go).
	Entries []MinuteEntry `json:"entries,omitempty"`
}

// AgendaItem is a topic on a meeting's agenda.
type AgendaItem struct {
	TopicID string `json:"topic_id"`
	Title   string `json:"title"`
	Status  string `json:"status"`
}

// Attendee is a council member at a meeting.
type Attendee struct {
	MemberID string `json:"member_id"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Present  bool   `json:"present"`
}

// RoleLabel is the attendee's role in words.
func (a Attendee) RoleLabel() fault.Msg { return RoleName(a.Role) }

// MeetingInput schedules a meeting.
type MeetingInput struct {
	CouncilID string    `json:"council_id"`
	Title     string    `json:"title"`
	Place     string    `json:"place"`
	StartsAt  time.Time `json:"starts_at"`
	Topics    []string  `json:"topics"`
	// Mode: place (the default) or online, with Link (a link or meeting
	// number); Capacity limits registrations (0: no limit).
	Mode     string `json:"mode,omitempty"`
	Link     string `json:"link,omitempty"`
	Capacity int    `json:"capacity,omitempty"`
}

// Schedule adds a meeting in the future with its agenda of topics that
// are accepted or under deliberation.
func (s *Store) Schedule(ctx context.Context, in MeetingInput) (Meeting, error) {
	p := access.From(ctx)
	if !worker(p) {
		return Meeting{}, fault.Forbidden(fault.M("只有社区工作者或干部可以安排会议", "only community workers and officers schedule meetings"))
	}
	var fields []fault.FieldError
	in.Title = text("title", in.Title, 80, true, &fields)
	checkWhere(&in, &fields)
	now := s.Now()
	if in.StartsAt.IsZero() {
		fields = append(fields, fault.Field("starts_at", fault.M("请填写会议时间", "the meeting time is required")))
	} else if !in.StartsAt.After(now) {
		fields = append(fields, fault.Field("starts_at", fault.M("会议时间已过，请选择以后的时间", "the meeting time has passed: choose a later time")))
	}
	if len(in.Topics) == 0 {
		fields = append(fields, fault.Field("topics", fault.M("请至少选择一个议题", "choose at least one topic")))
	}
	c, err := s.Council(ctx, in.CouncilID)
	if err != nil || !access.BusinessScope(p).Contains(c.Division) {
		fields = append(fields, fault.Field("council_id", fault.M("辖区内没有这个议事会", "no such council in your jurisdiction")))
	}
	if len(fields) > 0 {
		return Meeting{}, invalid(fields...)
	}
	id := db.NewID()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_meetings (id, division_code, council_id, title, place, starts_at, created_at, mode, link, capacity) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
			id, c.Division, c.ID, in.Title, in.Place, db.T(in.StartsAt), db.T(now), in.Mode, in.Link, in.Capacity); err != nil {
			return err
		}
		for i, tid := range in.Topics {
			t, err := s.readTopic(ctx, tx, tid)
			if err != nil || t.CouncilID != c.ID {
				return invalid(fault.Field(fmt.Sprintf("topics[%d]", i), fault.M("这个议事会没有这个议题", "the council has no such topic")))
			}
			if t.Status != Accepted && t.Status != Deliberating {
				return invalid(fault.Field(fmt.Sprintf("topics[%d]", i), fault.M("只有已受理或协商中的议题可以上会", "only accepted or deliberating topics go on an agenda")))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_agenda (meeting_id, topic_id, position) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`, id, tid, i+1); err != nil {
				return err
			}
			if t.Status == Accepted {
				if err := s.move(ctx, tx, t, "deliberate", []string{Accepted}, Deliberating, "列入议事会议程 / on a meeting's agenda"); err != nil {
					return err
				}
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.meeting_schedule", Object: "meeting", ObjectID: id, Division: c.Division,
			Detail: fmt.Sprintf("%d topics", len(in.Topics))})
	})
	if err != nil {
		return Meeting{}, err
	}
	return s.Meeting(ctx, id)
}

// Meeting reads a meeting; the attendance list is for workers, the
// summary for everyone in the community.
func (s *Store) Meeting(ctx context.Context, id string) (Meeting, error) {
	var m Meeting
	var at db.Time
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, division_code, council_id, title, place, starts_at, minutes, summary, mode, link, capacity, registered FROM dlb_meetings WHERE id = $1`, id).
		Scan(&m.ID, &m.Division, &m.CouncilID, &m.Title, &m.Place, &at, &m.Minutes, &m.Summary, &m.Mode, &m.Link, &m.Capacity, &m.Registered)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !s.sees(ctx, m.Division)) {
		return m, errNotFound
	} else if err != nil {
		return m, err
	}
	m.StartsAt = at.Time
	if m.Agenda, err = db.Collect(ctx, s.DB.R, func(r db.Scanner) (AgendaItem, error) {
		var a AgendaItem
		err := r.Scan(&a.TopicID, &a.Title, &a.Status)
		return a, err
	}, `SELECT t.id, t.title, t.status FROM dlb_agenda a JOIN dlb_topics t ON t.id = a.topic_id WHERE a.meeting_id = $1 ORDER BY a.position`, id); err != nil {
		return m, err
	}
	att, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Attendee, error) {
		var a Attendee
		err := r.Scan(&a.MemberID, &a.Name, &a.Role, &a.Present)
		return a, err
	}, `SELECT mb.id, mb.name, mb.role, COALESCE(at.present, FALSE) FROM dlb_members mb LEFT JOIN dlb_attendance at ON at.member_id = mb.id AND at.meeting_id = $1
		WHERE mb.council_id = $2 ORDER BY mb.id`, id, m.CouncilID)
	if err != nil {
		return m, err
	}
	for _, a := range att {
		if a.Present {
			m.Present++
		}
	}
	if worker(access.From(ctx)) {
		m.Attendance = att
	} else {
		m.Minutes = ""
	}
	return m, s.meetingExtras(ctx, &m)
}

// AttendanceInput is the day's tick list: the members present.
type AttendanceInput struct {
	Present []string `json:"present"`
	// Residents are the registrations present (the others are absent).
	Residents []string `json:"residents,omitempty"`
}

// Attend records who came, on or after the meeting's day.
func (s *Store) Attend(ctx context.Context, id string, in AttendanceInput) (Meeting, error) {
	m, err := s.workerMeeting(ctx, id)
	if err != nil {
		return m, err
	}
	if s.Now().In(cst).Format("2006-01-02") < m.StartsAt.In(cst).Format("2006-01-02") {
		return m, fault.Conflict(fault.M("会议当天才能点名", "attendance is taken on the day of the meeting"))
	}
	present := map[string]bool{}
	for _, mid := range in.Present {
		present[mid] = true
	}
	known := map[string]bool{}
	for _, a := range m.Attendance {
		known[a.MemberID] = true
	}
	for i, mid := range in.Present {
		if !known[mid] {
			return m, invalid(fault.Field(fmt.Sprintf("present[%d]", i), fault.M("不是本议事会成员", "not a member of the council")))
		}
	}
	if err := checkResidents(m, in.Residents); err != nil {
		return m, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, a := range m.Attendance {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_attendance (meeting_id, member_id, present) VALUES ($1,$2,$3)
				ON CONFLICT (meeting_id, member_id) DO UPDATE SET present = excluded.present`, id, a.MemberID, present[a.MemberID]); err != nil {
				return err
			}
		}
		if err := attendResidents(ctx, tx, m, in.Residents); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.meeting_attendance", Object: "meeting", ObjectID: id, Division: m.Division,
			Detail: fmt.Sprintf("%d of %d present", len(present), len(m.Attendance))})
	})
	if err != nil {
		return m, err
	}
	return s.Meeting(ctx, id)
}

// MinutesInput is a meeting's record, entered afterwards.
type MinutesInput struct {
	Minutes string `json:"minutes"` // speakers and positions
	Summary string `json:"summary"` // the public summary
}

// RecordMinutes keeps the minutes once the meeting has begun.
func (s *Store) RecordMinutes(ctx context.Context, id string, in MinutesInput) (Meeting, error) {
	m, err := s.workerMeeting(ctx, id)
	if err != nil {
		return m, err
	}
	var fields []fault.FieldError
	in.Minutes = text("minutes", in.Minutes, 20000, true, &fields)
	in.Summary = text("summary", in.Summary, 2000, true, &fields)
	if len(fields) > 0 {
		return m, invalid(fields...)
	}
	if s.Now().Before(m.StartsAt) {
		return m, fault.Conflict(fault.M("会议还没开始，会后再记录纪要", "the meeting has not begun: enter the minutes afterwards"))
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE dlb_meetings SET minutes = $2, summary = $3, minutes_by = $4 WHERE id = $1`, id, in.Minutes, in.Summary, access.From(ctx).Username); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.meeting_minutes", Object: "meeting", ObjectID: id, Division: m.Division})
	})
	if err != nil {
		return m, err
	}
	return s.Meeting(ctx, id)
}

func (s *Store) workerMeeting(ctx context.Context, id string) (Meeting, error) {
	if !worker(access.From(ctx)) {
		return Meeting{}, fault.Forbidden(fault.M("只有社区工作者或干部可以记录会议", "only community workers and officers keep a meeting's record"))
	}
	return s.Meeting(ctx, id)
}

// Meetings lists a division's meetings, the latest first.
func (s *Store) Meetings(ctx context.Context, division string, limit int) ([]Meeting, error) {
	if !s.sees(ctx, division) {
		return nil, errNotFound
	}
	sc := access.Subtree(division)
	ms, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Meeting, error) {
		var m Meeting
		var at db.Time
		err := r.Scan(&m.ID, &m.Division, &m.CouncilID, &m.Title, &m.Place, &at, &m.Summary, &m.Mode, &m.Link, &m.Capacity, &m.Registered)
		m.StartsAt = at.Time
		return m, err
	}, fmt.Sprintf(`SELECT id, division_code, council_id, title, place, starts_at, summary, mode, link, capacity, registered FROM dlb_meetings WHERE division_code >= $1 AND division_code < $2
		ORDER BY starts_at DESC, id DESC LIMIT %d`, limit), sc.Lo, sc.Hi)
	if ms == nil {
		ms = []Meeting{}
	}
	return ms, err
}
