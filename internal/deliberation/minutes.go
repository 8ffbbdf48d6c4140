package deliberation

import (
	"context"
	"database/sql"
	"strings"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/web"
)

// Structured minutes: each entry is one speaker's position on one topic
// of the agenda, entered after the meeting has begun.
//
// Privacy: the minutes a resident reads (the meeting's public summary)
// name no one: a speaker shows as their role, a council member's (居民代表,
// 物业 …) or 居民 for a resident who is not a member. Workers, who keep the
// record, see the names. A member's name is published on the council, but
// tying it to a stated position is for the record, not the public page.

// Speaker kinds of a minute entry.
const (
	SpeakerMember   = "member"
	SpeakerResident = "resident"
)

// Positions a speaker takes.
var positions = map[string]fault.Msg{
	"support": fault.M("支持", "Support"), "oppose": fault.M("反对", "Oppose"),
	"abstain": fault.M("弃权", "Abstain"), "other": fault.M("其他意见", "Other"),
}

// PositionOrder is the order positions are offered in.
var PositionOrder = []string{"support", "oppose", "abstain", "other"}

// PositionName is a position in words.
func PositionName(p string) fault.Msg { return positions[p] }

// MinuteEntry is one speaker's position on one agenda topic.
type MinuteEntry struct {
	Seq         int    `json:"seq"`
	SpeakerKind string `json:"speaker_kind"` // member or resident
	MemberID    string `json:"member_id,omitempty"`
	// SpeakerName is for workers only; everyone reads SpeakerRole.
	SpeakerName string `json:"speaker_name,omitempty"`
	SpeakerRole string `json:"speaker_role"` // a member role, or resident
	TopicID     string `json:"topic_id"`
	TopicTitle  string `json:"topic_title"`
	Position    string `json:"position"`
	Said        string `json:"said"`
}

// RoleLabel is the speaker's role in words: what the public reads.
func (e MinuteEntry) RoleLabel() fault.Msg {
	if e.SpeakerKind == SpeakerResident {
		return fault.M("居民", "Resident")
	}
	return RoleName(e.SpeakerRole)
}

// PositionTag is the position as a tag.
func (e MinuteEntry) PositionTag() web.Tag {
	tone := web.ToneMuted
	switch e.Position {
	case "support":
		tone = web.ToneOK
	case "oppose":
		tone = web.ToneBad
	}
	return web.Tag{Tone: tone, Label: PositionName(e.Position)}
}

// MinuteEntryInput records what one speaker said: a council member picked
// by id, or a resident named for the record.
type MinuteEntryInput struct {
	MemberID     string `json:"member_id,omitempty"`
	ResidentName string `json:"resident_name,omitempty"`
	TopicID      string `json:"topic_id"`
	Position     string `json:"position"` // support, oppose, abstain, other
	Said         string `json:"said"`
}

// AddMinuteEntry adds a speaker's position to a meeting's minutes once
// the meeting has begun; the topic must be on its agenda.
func (s *Store) AddMinuteEntry(ctx context.Context, id string, in MinuteEntryInput) (Meeting, error) {
	m, err := s.workerMeeting(ctx, id)
	if err != nil {
		return m, err
	}
	var fields []fault.FieldError
	in.MemberID, in.ResidentName = strings.TrimSpace(in.MemberID), strings.TrimSpace(in.ResidentName)
	kind, name, role := SpeakerResident, in.ResidentName, SpeakerResident
	switch {
	case in.MemberID == "" && in.ResidentName == "":
		fields = append(fields, fault.Field("member_id", fault.M("请选择发言的议事会成员，或填写发言居民的姓名", "pick the council member who spoke, or name the resident")))
	case in.MemberID != "" && in.ResidentName != "":
		fields = append(fields, fault.Field("resident_name", fault.M("发言人只能是一位成员或一位居民", "the speaker is either a member or a resident, not both")))
	case in.MemberID != "":
		kind = SpeakerMember
		for _, a := range m.Attendance {
			if a.MemberID == in.MemberID {
				name, role = a.Name, a.Role
			}
		}
		if name == "" {
			fields = append(fields, fault.Field("member_id", fault.M("不是本议事会成员", "not a member of the council")))
		}
	default:
		name = text("resident_name", in.ResidentName, 40, true, &fields)
	}
	title := ""
	for _, a := range m.Agenda {
		if a.TopicID == in.TopicID {
			title = a.Title
		}
	}
	if title == "" {
		fields = append(fields, fault.Field("topic_id", fault.M("请选择本次会议议程上的议题", "choose a topic on the meeting's agenda")))
	}
	if _, ok := positions[in.Position]; !ok {
		fields = append(fields, fault.Field("position", fault.M("意见应为支持、反对、弃权或其他", "the position is support, oppose, abstain or other")))
	}
	in.Said = text("said", in.Said, 1000, true, &fields)
	if len(fields) > 0 {
		return m, invalid(fields...)
	}
	if s.Now().Before(m.StartsAt) {
		return m, fault.Conflict(fault.M("会议还没开始，会后再记录发言", "the meeting has not begun: enter what was said afterwards"))
	}
	p := access.From(ctx)
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_minute_entries (meeting_id, seq, speaker_kind, member_id, speaker_name, speaker_role, topic_id, position, said, actor, at)
			SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM dlb_minute_entries WHERE meeting_id = $1`,
			id, kind, in.MemberID, name, role, in.TopicID, in.Position, in.Said, p.Username, db.T(s.Now())); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.minute_entry", Object: "meeting", ObjectID: id, Division: m.Division, Detail: kind + " " + in.Position})
	})
	if err != nil {
		return m, err
	}
	return s.Meeting(ctx, id)
}

// RemoveMinuteEntry deletes an entry made in error.
func (s *Store) RemoveMinuteEntry(ctx context.Context, id string, seq int) (Meeting, error) {
	m, err := s.workerMeeting(ctx, id)
	if err != nil {
		return m, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dlb_minute_entries WHERE meeting_id = $1 AND seq = $2`, id, seq)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.NotFound(fault.M("没有这条发言记录", "no such entry"))
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.minute_entry_remove", Object: "meeting", ObjectID: id, Division: m.Division})
	})
	if err != nil {
		return m, err
	}
	return s.Meeting(ctx, id)
}

// minuteEntries reads a meeting's entries in the agenda's order; names
// only for workers.
func (s *Store) minuteEntries(ctx context.Context, id string, names bool) ([]MinuteEntry, error) {
	es, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (MinuteEntry, error) {
		var e MinuteEntry
		err := r.Scan(&e.Seq, &e.SpeakerKind, &e.MemberID, &e.SpeakerName, &e.SpeakerRole, &e.TopicID, &e.TopicTitle, &e.Position, &e.Said)
		if !names {
			e.SpeakerName, e.MemberID = "", ""
		}
		return e, err
	}, `SELECT e.seq, e.speaker_kind, e.member_id, e.speaker_name, e.speaker_role, e.topic_id, t.title, e.position, e.said
		FROM dlb_minute_entries e JOIN dlb_topics t ON t.id = e.topic_id LEFT JOIN dlb_agenda a ON a.meeting_id = e.meeting_id AND a.topic_id = e.topic_id
		WHERE e.meeting_id = $1 ORDER BY COALESCE(a.position, 0), e.seq`, id)
	if es == nil {
		es = []MinuteEntry{}
	}
	return es, err
}
