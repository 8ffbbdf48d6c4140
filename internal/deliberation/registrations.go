package deliberation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// Where a meeting is held.
const (
	ModePlace  = "place"  // 现场: at a place
	ModeOnline = "online" // 线上: a link or a meeting number
)

// Registration is a resident registered to attend a meeting; the list is
// for workers, who tick the registered residents present on the day.
type Registration struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Present bool      `json:"present"`
	At      time.Time `json:"at"`
}

// IsOnline tells whether the meeting is held online.
func (m Meeting) IsOnline() bool { return m.Mode == ModeOnline }

// LinkURL is the online meeting's link when it is one (an address to
// follow), not a meeting number.
func (m Meeting) LinkURL() string {
	if strings.HasPrefix(m.Link, "https://") || strings.HasPrefix(m.Link, "http://") {
		return m.Link
	}
	return ""
}

// Full tells whether the meeting has no place left.
func (m Meeting) Full() bool { return m.Capacity > 0 && m.Registered >= m.Capacity }

// checkWhere validates a meeting's place or online link and its capacity:
// a meeting at a place needs the place, an online one its link or number.
func checkWhere(in *MeetingInput, fields *[]fault.FieldError) {
	switch in.Mode {
	case "", ModePlace:
		in.Mode, in.Link = ModePlace, ""
		in.Place = strings.TrimSpace(in.Place)
		if in.Place == "" {
			*fields = append(*fields, fault.Field("place", fault.M("请填写会议地点，或选择线上会议", "give the meeting's place, or choose an online meeting")))
		}
		in.Place = text("place", in.Place, 80, false, fields)
	case ModeOnline:
		in.Place = text("place", in.Place, 80, false, fields)
		in.Link = strings.TrimSpace(in.Link)
		if in.Link == "" {
			*fields = append(*fields, fault.Field("link", fault.M("线上会议请填写会议链接或会议号", "an online meeting needs its link or meeting number")))
			break
		}
		in.Link = text("link", in.Link, 200, false, fields)
		if strings.Contains(in.Link, "://") {
			if u, err := url.Parse(in.Link); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				*fields = append(*fields, fault.Field("link", fault.M("会议链接应以 https:// 开头", "the link starts with https://")))
			}
		}
	default:
		*fields = append(*fields, fault.Field("mode", fault.M("请选择现场会议或线上会议", "choose a meeting at a place or online")))
	}
	if in.Capacity < 0 || in.Capacity > 10000 {
		*fields = append(*fields, fault.Field("capacity", fault.M("报名人数上限为 0–10000（0 为不限）", "the capacity is 0–10000 (0: no limit)")))
	}
}

// resident is the signed-in resident's registry record and community.
func (s *Store) resident(ctx context.Context, p *access.Principal) (id, household, division string, err error) {
	err = s.DB.R.QueryRowContext(ctx, `SELECT r.id, h.id, h.division_code FROM reg_residents r JOIN reg_households h ON h.id = r.household_id
		WHERE r.username = $1 AND r.username <> '' ORDER BY r.id LIMIT 1`, p.Username).Scan(&id, &household, &division)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", "", fault.Conflict(fault.M("您的账号还没有关联居民登记信息，请联系社区", "your account is not linked to a registry record yet: contact your community"))
	}
	return id, household, division, err
}

// registrant checks that the signed-in resident lives in the area of the
// meeting's council (the residents who may read it) and that the meeting
// has not begun.
func (s *Store) registrant(ctx context.Context, id string) (resident, household, division string, err error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Resident {
		return "", "", "", fault.Forbidden(fault.M("只有居民可以报名参会", "only residents register for a meeting"))
	}
	resident, household, _, err = s.resident(ctx, p)
	if err != nil {
		return "", "", "", err
	}
	var starts db.Time
	err = s.DB.R.QueryRowContext(ctx, `SELECT division_code, starts_at FROM dlb_meetings WHERE id = $1`, id).Scan(&division, &starts)
	// The council's area is the residents who may read the meeting.
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !s.sees(ctx, division)) {
		return "", "", "", errNotFound
	} else if err != nil {
		return "", "", "", err
	}
	if !s.Now().Before(starts.Time) {
		return "", "", "", fault.Conflict(fault.M("会议已经开始，不能再报名或取消报名", "the meeting has begun: registrations can no longer change"))
	}
	return resident, household, division, nil
}

// Register signs the resident up for a meeting, once per resident; a
// meeting with a capacity refuses the registration past it. The count is
// raised by a conditional update, which holds the meeting's row until the
// transaction ends, so that two residents taking the last place at once
// cannot both have it.
func (s *Store) Register(ctx context.Context, id string) (Meeting, error) {
	resident, household, division, err := s.registrant(ctx, id)
	if err != nil {
		return Meeting{}, err
	}
	p := access.From(ctx)
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO dlb_registrations (id, meeting_id, resident_id, household_id, username, present, at) VALUES ($1,$2,$3,$4,$5,FALSE,$6)
			ON CONFLICT DO NOTHING`, db.NewID(), id, resident, household, p.Username, db.T(s.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.Conflict(fault.M("您已经报名了这个会议", "you are already registered for this meeting"))
		}
		res, err = tx.ExecContext(ctx, `UPDATE dlb_meetings SET registered = registered + 1 WHERE id = $1 AND (capacity = 0 OR registered < capacity)`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.Conflict(fault.M("报名人数已满", "the meeting is full"))
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.meeting_register", Object: "meeting", ObjectID: id, Division: division})
	})
	if err != nil {
		return Meeting{}, err
	}
	return s.Meeting(ctx, id)
}

// Unregister cancels the resident's registration before the meeting.
func (s *Store) Unregister(ctx context.Context, id string) (Meeting, error) {
	resident, _, division, err := s.registrant(ctx, id)
	if err != nil {
		return Meeting{}, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dlb_registrations WHERE meeting_id = $1 AND resident_id = $2`, id, resident)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.Conflict(fault.M("您没有报名这个会议", "you are not registered for this meeting"))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dlb_meetings SET registered = registered - 1 WHERE id = $1`, id); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.meeting_unregister", Object: "meeting", ObjectID: id, Division: division})
	})
	if err != nil {
		return Meeting{}, err
	}
	return s.Meeting(ctx, id)
}

// meetingExtras adds what a reader may see beyond the meeting's row: the
// registrations to a worker, whether a resident is registered, and the
// structured minutes (without residents' names to anyone but a worker).
func (s *Store) meetingExtras(ctx context.Context, m *Meeting) error {
	p := access.From(ctx)
	regs, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Registration, error) {
		var g Registration
		var at db.Time
		err := r.Scan(&g.ID, &g.Name, &g.Present, &at)
		g.At = at.Time
		return g, err
	}, `SELECT g.id, COALESCE(r.name, ''), g.present, g.at FROM dlb_registrations g LEFT JOIN reg_residents r ON r.id = g.resident_id
		WHERE g.meeting_id = $1 ORDER BY g.at, g.id`, m.ID)
	if err != nil {
		return err
	}
	for _, g := range regs {
		if g.Present {
			m.ResidentsPresent++
		}
	}
	if worker(p) {
		m.Registrations = regs
	} else if p != nil && p.Role == access.Resident {
		var n int
		if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM dlb_registrations g JOIN reg_residents r ON r.id = g.resident_id
			WHERE g.meeting_id = $1 AND r.username = $2`, m.ID, p.Username).Scan(&n); err != nil {
			return err
		}
		m.MyRegistration = n > 0
	}
	m.Entries, err = s.minuteEntries(ctx, m.ID, worker(p))
	return err
}

// checkResidents refuses a tick for someone not registered.
func checkResidents(m Meeting, ids []string) error {
	known := map[string]bool{}
	for _, g := range m.Registrations {
		known[g.ID] = true
	}
	for i, id := range ids {
		if !known[id] {
			return invalid(fault.Field(fmt.Sprintf("residents[%d]", i), fault.M("没有报名这个会议", "not registered for the meeting")))
		}
	}
	return nil
}

// attendResidents marks each registered resident present or absent.
func attendResidents(ctx context.Context, tx *sql.Tx, m Meeting, ids []string) error {
	present := map[string]bool{}
	for _, id := range ids {
		present[id] = true
	}
	for _, g := range m.Registrations {
		if _, err := tx.ExecContext(ctx, `UPDATE dlb_registrations SET present = $2 WHERE id = $1`, g.ID, present[g.ID]); err != nil {
			return err
		}
	}
	return nil
}
