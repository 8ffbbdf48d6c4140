package deliberation_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/deliberation"
	"linli/internal/module"
)

// A deliberation pilot's page shows what it does in the year — topics
// raised, meetings held, decisions implemented and the households' vote
// participation — from the same data elements the indicators may use.
func TestPilotsShowTheirYearsActivity(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		now := e.Clock.Now()
		year := now.In(time.FixedZone("CST", 8*3600)).Year()
		e.User("county", access.Officer, apptest.County)
		county := e.Login("county")
		if st, body := county.Do("POST", "/api/v1/divisions/"+communityA+"/designations", map[string]any{"kind": "deliberation_pilot_urban", "year": year}); st/100 != 2 {
			t.Fatalf("designation: %d %s", st, body)
		}
		pilots := func() []deliberation.Pilot {
			t.Helper()
			return apptest.JSON[[]deliberation.Pilot](t, county, "GET", "/api/v1/deliberation-pilots?year="+strconv.Itoa(year), nil, 200)
		}
		t.Run("a pilot with nothing done yet is listed with zeros; a community without the designation is not", func(t *testing.T) {
			ps := pilots()
			if len(ps) != 1 || ps[0].Division != communityA || ps[0].Topics != 0 || ps[0].Meetings != 0 || ps[0].Entitled != 0 || ps[0].Participation() != "" {
				t.Fatalf("pilots %+v", ps)
			}
			_, body, _ := county.Get("/deliberation/pilots")
			if !strings.Contains(body, `data-division="`+communityA+`"`) || !strings.Contains(body, "本年无以户为单位的表决") {
				t.Fatalf("pilots page:\n%s", body)
			}
		})
		tp := h.accepted(t, "2 幢外墙维修", "building", "上保社区 2 幢")
		m := apptest.JSON[deliberation.Meeting](t, h.cw, "POST", "/api/v1/meetings", deliberation.MeetingInput{CouncilID: h.council.ID, Title: "十二月议事会", Place: "社区会议室",
			StartsAt: now.Add(20 * time.Minute), Topics: []string{tp.ID}}, 201)
		t.Run("a meeting counts as held once its attendance is taken", func(t *testing.T) {
			if ps := pilots(); ps[0].Topics != 1 || ps[0].Meetings != 0 {
				t.Fatalf("before the meeting %+v", ps[0])
			}
			e.Clock.Set(now.Add(25 * time.Minute))
			apptest.JSON[deliberation.Meeting](t, h.cw, "POST", "/api/v1/meetings/"+m.ID+"/attendance", deliberation.AttendanceInput{Present: []string{m.Attendance[0].MemberID}}, 200)
			if ps := pilots(); ps[0].Meetings != 1 {
				t.Fatalf("after attendance %+v", ps[0])
			}
		})
		t.Run("participation is the households that voted over those entitled, once the vote closes", func(t *testing.T) {
			v := apptest.JSON[deliberation.Vote](t, h.cw, "POST", "/api/v1/votes", deliberation.VoteInput{TopicID: tp.ID, Electorate: "households", Options: []string{"同意", "不同意"},
				ClosesAt: e.Clock.Now().Add(10 * time.Minute)}, 201)
			apptest.JSON[deliberation.Receipt](t, e.Login("res.5"), "POST", "/api/v1/votes/"+v.ID+"/ballots", deliberation.BallotInput{Choice: "同意"}, 201)
			e.Clock.Set(now.Add(40 * time.Minute))
			ps := pilots()
			if ps[0].Voted != 1 || ps[0].Entitled != 2 || ps[0].Participation() != "50.0%" {
				t.Fatalf("participation %+v %q", ps[0], ps[0].Participation())
			}
			d := apptest.JSON[deliberation.Decision](t, h.cw, "POST", "/api/v1/decisions", deliberation.DecisionInput{TopicID: tp.ID, VoteID: v.ID, Text: "维修 2 幢外墙",
				DecidedBy: "上保社区居民议事会", Owner: "王物业", Plan: "12 月招标，1 月施工"}, 201)
			if ps := pilots(); ps[0].Done != 0 {
				t.Fatalf("decided, not done %+v", ps[0])
			}
			apptest.JSON[deliberation.Decision](t, h.cw, "POST", "/api/v1/decisions/"+d.ID+"/progress", deliberation.ProgressInput{Percent: 100, Note: "完工验收"}, 201)
			if ps := pilots(); ps[0].Done != 1 {
				t.Fatalf("implemented %+v", ps[0])
			}
		})
		t.Run("the data elements sum the same figures for a county group", func(t *testing.T) {
			es := e.App.Module("deliberation").(module.ElementSupplier).Elements()
			got := map[string]float64{}
			for _, el := range es {
				sums, err := el.Sum(context.Background(), e.App.DB.R, module.Group{Lo: "330106", Hi: "330107", Prefix: 6, Year: year})
				if err != nil {
					t.Fatal(err)
				}
				got[el.Key] = sums["330106"]
			}
			want := map[string]float64{"deliberation_topics_raised": 1, "deliberation_meetings_held": 1, "deliberation_decisions_done": 1,
				"deliberation_ballot_households": 1, "deliberation_electorate_households": 2}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s = %v, want %v", k, got[k], w)
				}
			}
			sums, err := es[0].Sum(context.Background(), e.App.DB.R, module.Group{Lo: "330106", Hi: "330107", Prefix: 6, Year: year - 1})
			if err != nil || sums["330106"] != 0 {
				t.Fatalf("last year %v %v", sums, err)
			}
		})
		t.Run("residents may not read the pilots, and the API asks for a year", func(t *testing.T) {
			refused(t, e.Login("res.1"), "GET", "/api/v1/deliberation-pilots?year="+strconv.Itoa(year), nil, 403, "")
			refused(t, county, "GET", "/api/v1/deliberation-pilots", nil, 400, "year")
		})
	})
}
