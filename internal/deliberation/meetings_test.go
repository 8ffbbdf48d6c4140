package deliberation_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/deliberation"
)

// A meeting is scheduled with its agenda, attendance is taken on the day
// and the minutes afterwards; the decision follows a passed vote and its
// progress shows on the community's public board.
func TestMeetingsDecisionsAndBoard(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		now := e.Clock.Now()
		tp := h.accepted(t, "2 幢外墙维修", "building", "上保社区 2 幢")
		var m deliberation.Meeting
		t.Run("a meeting in the past is refused naming starts_at, and nothing is written", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/meetings", deliberation.MeetingInput{CouncilID: h.council.ID, Title: "十一月议事会", Place: "社区会议室", StartsAt: now.Add(-time.Hour), Topics: []string{tp.ID}}, 400, "starts_at")
			refused(t, h.cw, "POST", "/api/v1/meetings", deliberation.MeetingInput{CouncilID: h.council.ID, Title: "十一月议事会", Place: "社区会议室", StartsAt: now.Add(time.Hour)}, 400, "topics")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_meetings`); n != 0 {
				t.Fatalf("meetings %d", n)
			}
		})
		t.Run("scheduled with the topic on its agenda, which opens its deliberation", func(t *testing.T) {
			m = apptest.JSON[deliberation.Meeting](t, h.cw, "POST", "/api/v1/meetings", deliberation.MeetingInput{CouncilID: h.council.ID, Title: "十一月议事会", Place: "社区会议室",
				StartsAt: now.Add(20 * time.Minute), Topics: []string{tp.ID}}, 201)
			if len(m.Agenda) != 1 || m.Agenda[0].Status != deliberation.Deliberating || len(m.Attendance) != 3 {
				t.Fatalf("meeting %+v", m)
			}
		})
		t.Run("minutes wait until the meeting has begun", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/meetings/"+m.ID+"/minutes", deliberation.MinutesInput{Minutes: "x", Summary: "y"}, 409, "")
		})
		e.Clock.Set(now.Add(25 * time.Minute))
		t.Run("attendance on the day: the members ticked are present", func(t *testing.T) {
			got := apptest.JSON[deliberation.Meeting](t, h.cw, "POST", "/api/v1/meetings/"+m.ID+"/attendance", deliberation.AttendanceInput{Present: []string{m.Attendance[0].MemberID, m.Attendance[2].MemberID}}, 200)
			if got.Present != 2 || !got.Attendance[0].Present || got.Attendance[1].Present {
				t.Fatalf("attendance %+v", got.Attendance)
			}
			refused(t, h.cw, "POST", "/api/v1/meetings/"+m.ID+"/attendance", deliberation.AttendanceInput{Present: []string{"nobody"}}, 400, "present[0]")
		})
		t.Run("minutes afterwards; residents read the summary, not the minutes", func(t *testing.T) {
			apptest.JSON[deliberation.Meeting](t, h.cw, "POST", "/api/v1/meetings/"+m.ID+"/minutes", deliberation.MinutesInput{Minutes: "陈建国：赞成维修；王物业：费用由维修基金列支", Summary: "同意对 2 幢外墙进行维修，费用由维修基金列支。"}, 200)
			pub := apptest.JSON[deliberation.Meeting](t, e.Login("res.5"), "GET", "/api/v1/meetings/"+m.ID, nil, 200)
			if pub.Summary == "" || pub.Minutes != "" || pub.Attendance != nil || pub.Present != 2 {
				t.Fatalf("public meeting %+v", pub)
			}
		})
		var v deliberation.Vote
		t.Run("the building's two households vote", func(t *testing.T) {
			v = apptest.JSON[deliberation.Vote](t, h.cw, "POST", "/api/v1/votes", deliberation.VoteInput{TopicID: tp.ID, Electorate: "households", Options: []string{"同意", "不同意"}, ClosesAt: e.Clock.Now().Add(10 * time.Minute)}, 201)
			for _, u := range []string{"res.5", "res.6"} {
				apptest.JSON[deliberation.Receipt](t, e.Login(u), "POST", "/api/v1/votes/"+v.ID+"/ballots", deliberation.BallotInput{Choice: "同意"}, 201)
			}
			refused(t, h.cw, "POST", "/api/v1/decisions", deliberation.DecisionInput{TopicID: tp.ID, VoteID: v.ID, Text: "维修", DecidedBy: "议事会", Owner: "物业", Plan: "x"}, 409, "")
		})
		e.Clock.Set(now.Add(40 * time.Minute))
		cw := e.Login("cw.a")
		var d deliberation.Decision
		t.Run("the decision records its vote and moves the topic to 已决定", func(t *testing.T) {
			refused(t, cw, "POST", "/api/v1/decisions", deliberation.DecisionInput{TopicID: tp.ID, VoteID: v.ID}, 400, "text")
			d = apptest.JSON[deliberation.Decision](t, cw, "POST", "/api/v1/decisions", deliberation.DecisionInput{TopicID: tp.ID, VoteID: v.ID, Text: "维修 2 幢外墙",
				DecidedBy: "上保社区居民议事会", Owner: "王物业", Plan: "12 月招标，1 月施工"}, 201)
			if d.Status != deliberation.Decided || d.Result == nil || d.Result.Winner != "同意" || d.Result.Voted != 2 {
				t.Fatalf("decision %+v", d)
			}
			refused(t, cw, "POST", "/api/v1/decisions", deliberation.DecisionInput{TopicID: tp.ID, VoteID: v.ID, Text: "x", DecidedBy: "x", Owner: "x", Plan: "x"}, 409, "")
		})
		t.Run("progress moves it to 实施中, never backwards, and to 已完成 at 100%", func(t *testing.T) {
			got := apptest.JSON[deliberation.Decision](t, cw, "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 40, Note: "已完成招标"}, 201)
			if got.Status != deliberation.Implementing || got.Progress != 40 || len(got.Updates) != 1 {
				t.Fatalf("after 40%%: %+v", got)
			}
			refused(t, cw, "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 30, Note: "x"}, 400, "percent")
			refused(t, cw, "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 101, Note: "x"}, 400, "percent")
			refused(t, e.Login("res.5"), "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 50, Note: "x"}, 403, "")
		})
		t.Run("the public board shows the decision with its progress to anyone", func(t *testing.T) {
			anon := e.Client()
			pg := apptest.JSON[deliberation.DecisionPage](t, anon, "GET", "/api/v1/decisions?division_code="+communityA, nil, 200)
			if len(pg.Items) != 1 || pg.Items[0].Progress != 40 || pg.Items[0].TopicTitle != "2 幢外墙维修" {
				t.Fatalf("board %+v", pg)
			}
			st, body, _ := anon.Get("/deliberation/board/" + communityA)
			if st != 200 || !strings.Contains(body, "2 幢外墙维修") || !strings.Contains(body, `value="40"`) {
				t.Fatalf("board page %d: %s", st, body)
			}
			other := apptest.JSON[deliberation.DecisionPage](t, anon, "GET", "/api/v1/decisions?division_code="+communityB, nil, 200)
			if len(other.Items) != 0 {
				t.Fatalf("community B's board %+v", other)
			}
		})
		t.Run("the topic's public history runs from 待审 to 实施中", func(t *testing.T) {
			_, text := e.Login("res.5").Do("GET", "/api/v1/topics/"+tp.ID, nil)
			var got deliberation.Topic
			if err := json.Unmarshal([]byte(text), &got); err != nil {
				t.Fatal(err)
			}
			var to []string
			for _, ev := range got.History {
				to = append(to, ev.To)
			}
			if strings.Join(to, ",") != "screening,accepted,deliberating,decided,implementing" {
				t.Fatalf("history %v", to)
			}
		})
	})
}
