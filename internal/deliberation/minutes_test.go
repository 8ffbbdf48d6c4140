package deliberation_test

import (
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/deliberation"
)

// After the meeting the worker records who spoke on which agenda topic
// and for or against; the public reads each speaker's role and never a
// resident's name.
func TestStructuredMinutes(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		now := e.Clock.Now()
		tp := h.accepted(t, "小区停车收费调整", "community", "")
		off := h.accepted(t, "不在议程上的议题", "community", "")
		m := apptest.JSON[deliberation.Meeting](t, h.cw, "POST", "/api/v1/meetings", deliberation.MeetingInput{CouncilID: h.council.ID, Title: "十二月议事会", Place: "社区会议室",
			StartsAt: now.Add(time.Hour), Topics: []string{tp.ID}}, 201)
		var member deliberation.Member // 陈建国, 居民代表
		for _, mb := range h.council.Members {
			if mb.Name == "陈建国" {
				member = mb
			}
		}
		entries := "/api/v1/meetings/" + m.ID + "/minutes/entries"
		t.Run("what was said waits until the meeting has begun", func(t *testing.T) {
			refused(t, h.cw, "POST", entries, deliberation.MinuteEntryInput{MemberID: member.ID, TopicID: tp.ID, Position: "support", Said: "赞成"}, 409, "")
		})
		e.Clock.Set(now.Add(2 * time.Hour))
		cw := e.Login("cw.a")
		t.Run("an entry without a speaker, with two, or off the agenda is refused naming the field; nothing is written", func(t *testing.T) {
			refused(t, cw, "POST", entries, deliberation.MinuteEntryInput{TopicID: tp.ID, Position: "support", Said: "赞成"}, 400, "member_id")
			refused(t, cw, "POST", entries, deliberation.MinuteEntryInput{MemberID: member.ID, ResidentName: "周桂芳", TopicID: tp.ID, Position: "support", Said: "赞成"}, 400, "resident_name")
			refused(t, cw, "POST", entries, deliberation.MinuteEntryInput{MemberID: "nobody", TopicID: tp.ID, Position: "support", Said: "赞成"}, 400, "member_id")
			refused(t, cw, "POST", entries, deliberation.MinuteEntryInput{MemberID: member.ID, TopicID: off.ID, Position: "support", Said: "赞成"}, 400, "topic_id")
			refused(t, cw, "POST", entries, deliberation.MinuteEntryInput{MemberID: member.ID, TopicID: tp.ID, Position: "maybe", Said: "赞成"}, 400, "position")
			refused(t, cw, "POST", entries, deliberation.MinuteEntryInput{MemberID: member.ID, TopicID: tp.ID, Position: "support", Said: " "}, 400, "said")
			refused(t, e.Login("res.1"), "POST", entries, deliberation.MinuteEntryInput{MemberID: member.ID, TopicID: tp.ID, Position: "support", Said: "赞成"}, 403, "")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_minute_entries`); n != 0 {
				t.Fatalf("entries %d", n)
			}
		})
		t.Run("a member's and a named resident's positions are recorded, and the worker reads the names", func(t *testing.T) {
			apptest.JSON[deliberation.Meeting](t, cw, "POST", entries, deliberation.MinuteEntryInput{MemberID: member.ID, TopicID: tp.ID, Position: "support", Said: "赞成按时段收费"}, 201)
			got := apptest.JSON[deliberation.Meeting](t, cw, "POST", entries, deliberation.MinuteEntryInput{ResidentName: "周桂芳", TopicID: tp.ID, Position: "oppose", Said: "老人探访车辆应当免费"}, 201)
			if len(got.Entries) != 2 || got.Entries[0].SpeakerName != "陈建国" || got.Entries[0].SpeakerRole != "resident_rep" ||
				got.Entries[1].SpeakerName != "周桂芳" || got.Entries[1].SpeakerKind != deliberation.SpeakerResident || got.Entries[1].Position != "oppose" {
				t.Fatalf("entries %+v", got.Entries)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'deliberation.minute_entry'`); n != 2 {
				t.Fatalf("audit entries %d", n)
			}
		})
		t.Run("residents read the speakers' roles and positions, never a name", func(t *testing.T) {
			res := e.Login("res.5")
			st, text := res.Do("GET", "/api/v1/meetings/"+m.ID, nil)
			if st != 200 || strings.Contains(text, "周桂芳") || strings.Contains(text, "陈建国") || !strings.Contains(text, "老人探访车辆应当免费") || !strings.Contains(text, `"speaker_role":"resident_rep"`) {
				t.Fatalf("the public meeting %d: %s", st, text)
			}
			st, body, _ := res.Get("/deliberation/meetings/" + m.ID)
			if st != 200 || strings.Contains(body, "周桂芳") || strings.Contains(body, "陈建国") || !strings.Contains(body, "居民代表") || !strings.Contains(body, `data-position="oppose"`) {
				t.Fatalf("the public meeting page %d", st)
			}
			st, body, _ = cw.Get("/deliberation/meetings/" + m.ID)
			if st != 200 || !strings.Contains(body, "周桂芳") || !strings.Contains(body, `id="entry-form"`) {
				t.Fatalf("the worker's meeting page %d", st)
			}
		})
		t.Run("an entry made in error is removed, audited", func(t *testing.T) {
			got := apptest.JSON[deliberation.Meeting](t, cw, "DELETE", entries+"/2", nil, 200)
			if len(got.Entries) != 1 {
				t.Fatalf("entries %+v", got.Entries)
			}
			refused(t, cw, "DELETE", entries+"/2", nil, 404, "")
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'deliberation.minute_entry_remove'`); n != 1 {
				t.Fatalf("audit entries %d", n)
			}
		})
		t.Run("the page records an entry without JavaScript, keeping what was typed on an error", func(t *testing.T) {
			st, body, _ := cw.Form("/deliberation/meetings/"+m.ID+"/entries", map[string]string{"resident_name": "吴建明", "topic_id": tp.ID, "said": "希望分时段"}, nil)
			if st != 400 || !strings.Contains(body, `href="#f-position"`) || !strings.Contains(body, "希望分时段") {
				t.Fatalf("the form again %d", st)
			}
			st, _, _ = cw.Form("/deliberation/meetings/"+m.ID+"/entries", map[string]string{"resident_name": "吴建明", "topic_id": tp.ID, "position": "abstain", "said": "希望分时段"}, nil)
			if st != 303 || e.Count(`SELECT COUNT(*) FROM dlb_minute_entries WHERE meeting_id = $1`, m.ID) != 2 {
				t.Fatalf("the page's entry %d", st)
			}
		})
	})
}
