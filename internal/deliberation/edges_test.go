package deliberation_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/deliberation"
)

// cst is the time zone a meeting's day is reckoned in.
var cst = time.FixedZone("CST", 8*3600)

// A council's rules and members are checked field by field; a meeting is
// scheduled whole or not at all, and its attendance waits for its day.
func TestCouncilAndMeetingEdges(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		t.Run("bad members and rules are refused naming each field, and nothing is written", func(t *testing.T) {
			in := deliberation.CouncilInput{Division: communityA, Name: "第二议事会", QuorumPM: 1001, Majority: deliberation.MajorityTwoThirds, CosignThreshold: -1, CosignDays: 0,
				Members: []deliberation.MemberInput{
					{Name: "赵六", Role: "mayor", TermFrom: "2026-01-01", TermUntil: "2027-01-01"},
					{Name: "钱七", Role: "party", TermFrom: "2027-01-01", TermUntil: "2026-01-01"},
					{Name: " ", Role: "elite", TermFrom: "2026-01-01", TermUntil: "2026-13-01"},
				}}
			for _, f := range []string{"quorum_pm", "cosign_threshold", "cosign_days", "members[0].role", "members[1].term_until", "members[2].name", "members[2].term_until"} {
				refused(t, h.cw, "POST", "/api/v1/councils", in, 400, f)
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_councils`); n != 1 {
				t.Fatalf("councils %d, want 1", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_members`); n != 3 {
				t.Fatalf("members %d, want 3", n)
			}
		})
		t.Run("a resident cannot set up a council", func(t *testing.T) {
			refused(t, e.Login("res.1"), "POST", "/api/v1/councils", deliberation.CouncilInput{Division: communityA, Name: "x", QuorumPM: 500, Majority: "simple", CosignDays: 7}, 403, "")
		})
		t.Run("a township's council reads back at township level", func(t *testing.T) {
			e.User("off.a", access.Officer, communityA[:9])
			c := apptest.JSON[deliberation.Council](t, e.Login("off.a"), "POST", "/api/v1/councils", deliberation.CouncilInput{Division: communityA[:9], Name: "北山街道议事会", QuorumPM: 667, Majority: deliberation.MajorityTwoThirds, CosignThreshold: 0, CosignDays: 1}, 201)
			if c.Level != "township" || c.QuorumPM != 667 || c.Majority != deliberation.MajorityTwoThirds {
				t.Fatalf("council %+v", c)
			}
		})

		ok := h.accepted(t, "小区绿化改造", "community", "")
		screening := apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics", deliberation.TopicInput{Division: communityA, Title: "增设快递柜", Description: "x", AreaKind: "community"}, 201)
		day := e.Clock.Now().In(cst).AddDate(0, 0, 2)
		startsAt := time.Date(day.Year(), day.Month(), day.Day(), 19, 0, 0, 0, cst)
		in := deliberation.MeetingInput{CouncilID: h.council.ID, Title: "十二月议事会", Place: "社区会议室", StartsAt: startsAt, Topics: []string{ok.ID, screening.ID}}
		t.Run("a topic still in screening spoils the whole agenda: nothing is written, the accepted topic stays accepted", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/meetings", in, 400, "topics[1]")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_meetings`) + e.Count(`SELECT COUNT(*) FROM dlb_agenda`); n != 0 {
				t.Fatalf("meetings and agenda rows %d, want 0", n)
			}
			got := apptest.JSON[deliberation.Topic](t, h.cw, "GET", "/api/v1/topics/"+ok.ID, nil, 200)
			if got.Status != deliberation.Accepted {
				t.Fatalf("status %s, want accepted", got.Status)
			}
		})
		t.Run("a title, place and time are required, each named", func(t *testing.T) {
			for _, f := range []string{"title", "place", "starts_at"} {
				refused(t, h.cw, "POST", "/api/v1/meetings", deliberation.MeetingInput{CouncilID: h.council.ID, Topics: []string{ok.ID}}, 400, f)
			}
		})
		t.Run("a worker of another community cannot use the council, a resident cannot schedule", func(t *testing.T) {
			in := in
			in.Topics = []string{ok.ID}
			refused(t, e.Login("cw.b"), "POST", "/api/v1/meetings", in, 400, "council_id")
			refused(t, e.Login("res.1"), "POST", "/api/v1/meetings", in, 403, "")
		})
		var m deliberation.Meeting
		t.Run("scheduled two days ahead with the accepted topic", func(t *testing.T) {
			in := in
			in.Topics = []string{ok.ID}
			m = apptest.JSON[deliberation.Meeting](t, h.cw, "POST", "/api/v1/meetings", in, 201)
			if !m.StartsAt.Equal(startsAt) || len(m.Agenda) != 1 || m.Agenda[0].TopicID != ok.ID || m.Present != 0 {
				t.Fatalf("meeting %+v", m)
			}
			refused(t, e.Login("cw.b"), "GET", "/api/v1/meetings/"+m.ID, nil, 404, "")
		})
		t.Run("attendance before the meeting's day is refused and nothing is written", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/meetings/"+m.ID+"/attendance", deliberation.AttendanceInput{Present: []string{m.Attendance[0].MemberID}}, 409, "")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_attendance`); n != 0 {
				t.Fatalf("attendance rows %d", n)
			}
		})
		e.Clock.Set(time.Date(day.Year(), day.Month(), day.Day(), 8, 0, 0, 0, cst))
		t.Run("on the morning of the day attendance is taken, a resident may not take it", func(t *testing.T) {
			refused(t, e.Login("res.1"), "POST", "/api/v1/meetings/"+m.ID+"/attendance", deliberation.AttendanceInput{}, 403, "")
			got := apptest.JSON[deliberation.Meeting](t, e.Login("cw.a"), "POST", "/api/v1/meetings/"+m.ID+"/attendance", deliberation.AttendanceInput{Present: []string{m.Attendance[1].MemberID}}, 200)
			if got.Present != 1 || !got.Attendance[1].Present {
				t.Fatalf("attendance %+v", got.Attendance)
			}
		})
		t.Run("a second tick list replaces the first", func(t *testing.T) {
			got := apptest.JSON[deliberation.Meeting](t, e.Login("cw.a"), "POST", "/api/v1/meetings/"+m.ID+"/attendance", deliberation.AttendanceInput{Present: []string{m.Attendance[0].MemberID, m.Attendance[2].MemberID}}, 200)
			if got.Present != 2 || got.Attendance[1].Present || !got.Attendance[0].Present {
				t.Fatalf("attendance %+v", got.Attendance)
			}
		})
		t.Run("but the minutes still wait for the meeting to begin, and need both texts", func(t *testing.T) {
			refused(t, e.Login("cw.a"), "POST", "/api/v1/meetings/"+m.ID+"/minutes", deliberation.MinutesInput{Minutes: "x", Summary: "y"}, 409, "")
			refused(t, e.Login("cw.a"), "POST", "/api/v1/meetings/"+m.ID+"/minutes", deliberation.MinutesInput{Minutes: "x"}, 400, "summary")
		})
		t.Run("the community's meeting list holds it, another community's does not", func(t *testing.T) {
			ms := apptest.JSON[[]deliberation.Meeting](t, e.Login("cw.a"), "GET", "/api/v1/meetings", nil, 200)
			if len(ms) != 1 || ms[0].ID != m.ID {
				t.Fatalf("meetings %+v", ms)
			}
			if ms := apptest.JSON[[]deliberation.Meeting](t, e.Login("cw.b"), "GET", "/api/v1/meetings", nil, 200); len(ms) != 0 {
				t.Fatalf("community B's meetings %+v", ms)
			}
		})
	})
}

// A decision follows a deliberation only; its progress only rises, ends
// at 100% with the topic done, and shows on the community's board alone.
func TestDecisionEdges(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		tp := h.accepted(t, "小区绿化改造", "community", "")
		other := h.accepted(t, "1 幢加装电梯", "building", "上保社区 1 幢")
		dec := deliberation.DecisionInput{TopicID: tp.ID, Text: "改造中心绿地", DecidedBy: "上保社区居民议事会", Owner: "社区居委会", Plan: "春季施工"}
		t.Run("a topic not yet in deliberation has no decision, and nothing is written", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/decisions", dec, 409, "")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_decisions`); n != 0 {
				t.Fatalf("decisions %d", n)
			}
			got := apptest.JSON[deliberation.Topic](t, h.cw, "GET", "/api/v1/topics/"+tp.ID, nil, 200)
			if got.Status != deliberation.Accepted {
				t.Fatalf("status %s", got.Status)
			}
		})
		apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics/"+tp.ID+"/deliberate", deliberation.MoveInput{}, 200)
		apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics/"+other.ID+"/deliberate", deliberation.MoveInput{}, 200)
		t.Run("a vote on another topic is refused naming vote_id", func(t *testing.T) {
			v := apptest.JSON[deliberation.Vote](t, h.cw, "POST", "/api/v1/votes", deliberation.VoteInput{TopicID: other.ID, Electorate: "households", Options: []string{"同意", "不同意"}, ClosesAt: e.Clock.Now().Add(time.Minute)}, 201)
			d := dec
			d.VoteID = v.ID
			refused(t, h.cw, "POST", "/api/v1/decisions", d, 400, "vote_id")
			d.VoteID = "no-such-vote"
			refused(t, h.cw, "POST", "/api/v1/decisions", d, 400, "vote_id")
		})
		t.Run("a worker of another community cannot decide it, a resident cannot at all", func(t *testing.T) {
			refused(t, e.Login("cw.b"), "POST", "/api/v1/decisions", dec, 400, "topic_id")
			refused(t, e.Login("res.1"), "POST", "/api/v1/decisions", dec, 403, "")
		})
		var d deliberation.Decision
		t.Run("a decision by consensus, with no vote, carries no result", func(t *testing.T) {
			d = apptest.JSON[deliberation.Decision](t, h.cw, "POST", "/api/v1/decisions", dec, 201)
			if d.Status != deliberation.Decided || d.Result != nil || d.VoteID != "" || d.Progress != 0 || d.Plan != "春季施工" {
				t.Fatalf("decision %+v", d)
			}
		})
		t.Run("progress below zero or without a note is refused naming the field", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: -1, Note: "x"}, 400, "percent")
			refused(t, h.cw, "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 10}, 400, "note")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_progress`); n != 0 {
				t.Fatalf("progress rows %d", n)
			}
		})
		t.Run("a worker of another community does not find the decision to update", func(t *testing.T) {
			refused(t, e.Login("cw.b"), "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 10, Note: "x"}, 404, "")
		})
		t.Run("0% starts the implementation; the same figure again is allowed and kept as a new update", func(t *testing.T) {
			got := apptest.JSON[deliberation.Decision](t, h.cw, "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 0, Note: "已进场"}, 201)
			if got.Status != deliberation.Implementing || got.Progress != 0 {
				t.Fatalf("after 0%%: %+v", got)
			}
			got = apptest.JSON[deliberation.Decision](t, h.cw, "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 0, Note: "雨天停工"}, 201)
			if len(got.Updates) != 2 || got.Updates[0].Seq != 2 || got.Updates[0].Note != "雨天停工" {
				t.Fatalf("updates %+v", got.Updates)
			}
		})
		t.Run("100% completes the topic, after which no progress is added", func(t *testing.T) {
			got := apptest.JSON[deliberation.Decision](t, h.cw, "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 100, Note: "竣工验收"}, 201)
			if got.Status != deliberation.Done || got.Progress != 100 || len(got.Updates) != 3 {
				t.Fatalf("after 100%%: %+v", got)
			}
			refused(t, h.cw, "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 100, Note: "again"}, 409, "")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_progress`); n != 3 {
				t.Fatalf("progress rows %d, want 3", n)
			}
		})
		t.Run("a finished topic cannot be shelved or decided again", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/topics/"+tp.ID+"/shelve", deliberation.MoveInput{Reason: "x"}, 409, "")
			refused(t, h.cw, "POST", "/api/v1/decisions", dec, 409, "")
			refused(t, h.cw, "POST", "/api/v1/topics/"+tp.ID+"/frobnicate", deliberation.MoveInput{}, 404, "")
		})
		t.Run("the board shows it to anyone without its plan, and nothing of another community", func(t *testing.T) {
			anon := e.Client()
			pg := apptest.JSON[deliberation.DecisionPage](t, anon, "GET", "/api/v1/decisions?division_code="+communityA, nil, 200)
			if len(pg.Items) != 1 || pg.Items[0].ID != d.ID || pg.Items[0].Progress != 100 || pg.Items[0].Plan != "" || pg.Items[0].Status != deliberation.Done {
				t.Fatalf("board %+v", pg)
			}
			st, body, _ := anon.Get("/deliberation/board/" + communityA)
			if st != 200 || !strings.Contains(body, "小区绿化改造") || !strings.Contains(body, `value="100"`) {
				t.Fatalf("board page %d: %s", st, body)
			}
			st, body, _ = anon.Get("/deliberation/board/" + communityB)
			if st != 200 || strings.Contains(body, "小区绿化改造") {
				t.Fatalf("community B's board page %d shows A's decision", st)
			}
		})
	})
}

// The co-signing window closes at its deadline exactly; a council with no
// threshold sends a resident's topic straight to screening.
func TestCosignWindow(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		newHood(t, e)
		tp := apptest.JSON[deliberation.Topic](t, e.Login("res.1"), "POST", "/api/v1/topics", deliberation.TopicInput{Title: "楼道照明", Description: "灯坏了", AreaKind: "building", AreaRef: "上保社区 1 幢"}, 201)
		if tp.CosignUntil == nil {
			t.Fatalf("topic %+v has no co-signing deadline", tp)
		}
		want := e.Clock.Now().Add(7 * 24 * time.Hour)
		t.Run("the window is the council's seven days", func(t *testing.T) {
			if d := tp.CosignUntil.Sub(want); d < -time.Second || d > time.Second {
				t.Fatalf("co-sign until %v, want %v", tp.CosignUntil, want)
			}
		})
		e.Clock.Set(*tp.CosignUntil)
		t.Run("a co-sign at the deadline exactly counts", func(t *testing.T) {
			got := apptest.JSON[deliberation.Topic](t, e.Login("res.2"), "POST", "/api/v1/topics/"+tp.ID+"/cosign", nil, 200)
			if got.Cosigns != 1 || got.Status != deliberation.Collecting {
				t.Fatalf("topic %+v", got)
			}
		})
		e.Clock.Set(tp.CosignUntil.Add(time.Second))
		t.Run("a second later it is refused and the count stays", func(t *testing.T) {
			refused(t, e.Login("res.3"), "POST", "/api/v1/topics/"+tp.ID+"/cosign", nil, 409, "")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_cosigns WHERE topic_id = $1`, tp.ID); n != 1 {
				t.Fatalf("co-signs %d, want 1", n)
			}
		})
		t.Run("a worker cannot co-sign for a household", func(t *testing.T) {
			refused(t, e.Login("cw.a"), "POST", "/api/v1/topics/"+tp.ID+"/cosign", nil, 403, "")
		})
		t.Run("with no threshold a resident's topic goes straight to screening", func(t *testing.T) {
			apptest.JSON[deliberation.Council](t, e.Login("cw.b"), "POST", "/api/v1/councils", deliberation.CouncilInput{Division: communityB, Name: "石灰桥社区议事会", QuorumPM: 500, Majority: "simple", CosignThreshold: 0, CosignDays: 7}, 201)
			got := apptest.JSON[deliberation.Topic](t, e.Login("res.b"), "POST", "/api/v1/topics", deliberation.TopicInput{Title: "增设充电桩", Description: "x", AreaKind: "community"}, 201)
			if got.Status != deliberation.Screening || got.Origin != "resident" || got.CosignNeeded != 0 || got.Division != communityB {
				t.Fatalf("topic %+v", got)
			}
		})
	})
}

// The public board pages by key, each page holding the decisions the last
// did not, and a community's cursor does not open another's board.
func TestBoardPaging(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		want := map[string]bool{}
		for _, title := range []string{"增设路灯", "修补路面", "清理楼道"} {
			tp := h.accepted(t, title, "community", "")
			apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics/"+tp.ID+"/deliberate", deliberation.MoveInput{}, 200)
			d := apptest.JSON[deliberation.Decision](t, h.cw, "POST", "/api/v1/decisions", deliberation.DecisionInput{TopicID: tp.ID, Text: title, DecidedBy: "议事会", Owner: "居委会", Plan: "本月"}, 201)
			want[d.ID] = true
		}
		anon := e.Client()
		var next string
		t.Run("two pages of the same instant's decisions hold each one once", func(t *testing.T) {
			pg := apptest.JSON[deliberation.DecisionPage](t, anon, "GET", "/api/v1/decisions?division_code="+communityA+"&page_size=2", nil, 200)
			if len(pg.Items) != 2 || pg.Next == "" {
				t.Fatalf("first page %+v", pg)
			}
			next = pg.Next
			pg2 := apptest.JSON[deliberation.DecisionPage](t, anon, "GET", "/api/v1/decisions?division_code="+communityA+"&page_size=2&cursor="+url.QueryEscape(next), nil, 200)
			if len(pg2.Items) != 1 || pg2.Next != "" {
				t.Fatalf("second page %+v", pg2)
			}
			seen := map[string]bool{}
			for _, d := range append(pg.Items, pg2.Items...) {
				if !want[d.ID] || seen[d.ID] {
					t.Fatalf("decision %s unexpected or twice", d.ID)
				}
				seen[d.ID] = true
			}
		})
		t.Run("the cursor of community A's board is refused on community B's", func(t *testing.T) {
			refused(t, anon, "GET", "/api/v1/decisions?division_code="+communityB+"&page_size=2&cursor="+url.QueryEscape(next), nil, 400, "")
		})
		t.Run("signed out, the board needs a division code; a malformed one on the page is not found", func(t *testing.T) {
			refused(t, anon, "GET", "/api/v1/decisions", nil, 400, "division_code")
			if st, _, _ := anon.Get("/deliberation/board/3301x6002051"); st != 404 {
				t.Fatalf("malformed code: %d", st)
			}
		})
		t.Run("the township's board holds its communities' decisions", func(t *testing.T) {
			pg := apptest.JSON[deliberation.DecisionPage](t, anon, "GET", "/api/v1/decisions?division_code="+communityA[:9], nil, 200)
			if len(pg.Items) != 3 {
				t.Fatalf("township board %d items", len(pg.Items))
			}
			if pg := apptest.JSON[deliberation.DecisionPage](t, anon, "GET", "/api/v1/decisions?division_code="+communityB[:9], nil, 200); len(pg.Items) != 0 {
				t.Fatalf("the other township's board %d items", len(pg.Items))
			}
		})
	})
}
