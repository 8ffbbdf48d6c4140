package deliberation_test

import (
	"encoding/json"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/deliberation"
)

// One household, one vote, provably counted: a second ballot and a
// resident outside the area are refused, a proxy needs consent, the
// window holds, the export recounts to the stored result, a secret
// ballot ties no choice to a household, a changed row breaks the chain,
// and a vote without its quorum decides nothing.
func TestVotes(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		now := e.Clock.Now()
		voters := map[string]*apptest.Client{}
		for _, u := range []string{"res.1", "res.2", "res.3", "res.4", "res.5", "res.b"} {
			voters[u] = e.Login(u)
		}
		// Building 1 holds four households: res.1–res.4.
		tp := h.accepted(t, "1 幢加装电梯", "building", "上保社区 1 幢")
		open := func(t *testing.T, topic string, secret bool) deliberation.Vote {
			t.Helper()
			return apptest.JSON[deliberation.Vote](t, h.cw, "POST", "/api/v1/votes", deliberation.VoteInput{TopicID: topic, Electorate: "households", Secret: secret,
				Options: []string{"同意", "不同意"}, ClosesAt: now.Add(20 * time.Minute)}, 201)
		}
		var v deliberation.Vote
		ballot := func() string { return "/api/v1/votes/" + v.ID + "/ballots" }

		t.Run("a vote needs two options and a closing time after now", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/votes", deliberation.VoteInput{TopicID: tp.ID, Electorate: "households", Options: []string{"同意"}, ClosesAt: now.Add(-time.Hour)}, 400, "options")
			refused(t, h.cw, "POST", "/api/v1/votes", deliberation.VoteInput{TopicID: tp.ID, Electorate: "households", Options: []string{"同意", "不同意"}, ClosesAt: now.Add(-time.Hour)}, 400, "closes_at")
		})
		var first deliberation.Vote
		t.Run("an open ballot of the building's four households", func(t *testing.T) {
			v = open(t, tp.ID, false)
			first = v
			if v.ElectorateSize != 4 || v.QuorumPM != 500 || v.Majority != "simple" {
				t.Fatalf("vote %+v", v)
			}
		})
		t.Run("a household votes once: the second ballot is refused", func(t *testing.T) {
			rc := apptest.JSON[deliberation.Receipt](t, voters["res.1"], "POST", ballot(), deliberation.BallotInput{Choice: "同意"}, 201)
			if rc.Seq != 1 || len(rc.Hash) != 64 {
				t.Fatalf("receipt %+v", rc)
			}
			refused(t, voters["res.1"], "POST", ballot(), deliberation.BallotInput{Choice: "不同意"}, 409, "")
		})
		t.Run("an option that does not exist is refused naming choice", func(t *testing.T) {
			refused(t, voters["res.2"], "POST", ballot(), deliberation.BallotInput{Choice: "弃权"}, 400, "choice")
		})
		t.Run("a resident outside the affected area cannot vote", func(t *testing.T) {
			refused(t, voters["res.5"], "POST", ballot(), deliberation.BallotInput{Choice: "同意"}, 403, "")
			refused(t, voters["res.b"], "POST", ballot(), deliberation.BallotInput{Choice: "同意"}, 403, "")
		})
		t.Run("a proxy vote without the member's consent is refused, with it recorded", func(t *testing.T) {
			in := deliberation.BallotInput{Choice: "同意", HouseholdID: h.homes["res.3"], ProxyName: "张志愿"}
			refused(t, h.cw, "POST", ballot(), in, 400, "proxy_consent")
			in.ProxyConsent = true
			apptest.JSON[deliberation.Receipt](t, h.cw, "POST", ballot(), in, 201)
			if n := e.Count(`SELECT COUNT(*) FROM dlb_voters WHERE vote_id = $1 AND voter = $2 AND proxy_name = '张志愿' AND proxy_consent`, v.ID, h.homes["res.3"]); n != 1 {
				t.Fatalf("proxy rows %d", n)
			}
			refused(t, voters["res.3"], "POST", ballot(), deliberation.BallotInput{Choice: "不同意"}, 409, "")
		})
		t.Run("the result is not out before the window closes", func(t *testing.T) {
			apptest.JSON[deliberation.Receipt](t, voters["res.2"], "POST", ballot(), deliberation.BallotInput{Choice: "不同意"}, 201)
			refused(t, voters["res.1"], "GET", "/api/v1/votes/"+v.ID+"/results", nil, 409, "")
		})
		tp2 := h.accepted(t, "1 幢楼道照明", "building", "上保社区 1 幢")
		var sv deliberation.Vote
		t.Run("a secret ballot stores who voted apart from what, and its receipt names no place", func(t *testing.T) {
			sv = open(t, tp2.ID, true)
			v = sv
			for _, u := range []string{"res.1", "res.2", "res.4"} {
				rc := apptest.JSON[deliberation.Receipt](t, voters[u], "POST", ballot(), deliberation.BallotInput{Choice: map[string]string{"res.1": "同意", "res.2": "同意", "res.4": "不同意"}[u]}, 201)
				if !rc.Sealed || rc.Seq != 0 || rc.Hash != "" {
					t.Fatalf("a secret ballot's receipt %+v", rc)
				}
			}
			refused(t, voters["res.2"], "POST", ballot(), deliberation.BallotInput{Choice: "同意"}, 409, "")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_voters WHERE vote_id = $1`, sv.ID); n != 3 {
				t.Fatalf("voters %d", n)
			}
		})
		t.Run("until the count the secret ballots stay sealed, off the chain, so their order there cannot follow the casting", func(t *testing.T) {
			if n := e.Count(`SELECT COUNT(*) FROM dlb_ballots WHERE vote_id = $1`, sv.ID); n != 0 {
				t.Fatalf("%d secret ballots on the chain before the count", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_box WHERE vote_id = $1`, sv.ID); n != 3 {
				t.Fatalf("sealed %d", n)
			}
			c := apptest.JSON[deliberation.ChainCheck](t, h.cw, "GET", "/api/v1/votes/"+sv.ID+"/verify", nil, 200)
			if !c.OK || c.Ballots != 0 || c.Sealed != 3 || c.Voters != 3 {
				t.Fatalf("check while sealed %+v", c)
			}
		})
		var qv deliberation.Vote
		tp3 := h.accepted(t, "全社区垃圾分类时间", "community", "")
		t.Run("a community-wide vote where one household of six takes part", func(t *testing.T) {
			qv = open(t, tp3.ID, false)
			v = qv
			if qv.ElectorateSize != 6 {
				t.Fatalf("electorate %d", qv.ElectorateSize)
			}
			apptest.JSON[deliberation.Receipt](t, voters["res.5"], "POST", ballot(), deliberation.BallotInput{Choice: "同意"}, 201)
		})
		// Every window closes: 21 minutes on, within the sessions' idle time.
		e.Clock.Set(now.Add(21 * time.Minute))
		v = first
		t.Run("a ballot after the window is refused naming the window", func(t *testing.T) {
			refused(t, voters["res.4"], "POST", ballot(), deliberation.BallotInput{Choice: "同意"}, 400, "closes_at")
		})
		var res deliberation.Result
		t.Run("counted when the window closes: 2 of 3 for, quorum 3 of 4", func(t *testing.T) {
			res = apptest.JSON[deliberation.Result](t, voters["res.1"], "GET", "/api/v1/votes/"+v.ID+"/results", nil, 200)
			if res.Outcome != deliberation.Passed || res.Winner != "同意" || res.Voted != 3 || res.Counts["同意"] != 2 || res.Counts["不同意"] != 1 {
				t.Fatalf("result %+v", res)
			}
		})
		t.Run("anyone in the community recounts the export to the same result", func(t *testing.T) {
			_, text := voters["res.5"].Do("GET", "/api/v1/votes/"+v.ID+"/export", nil)
			var ex deliberation.Export
			if err := json.Unmarshal([]byte(text), &ex); err != nil {
				t.Fatal(err)
			}
			if c := deliberation.VerifyChain(v.ID, ex.Ballots, len(ex.Ballots)); !c.OK {
				t.Fatalf("chain %+v", c)
			}
			again := deliberation.Tally(ex.Vote, ex.Ballots)
			if again.Outcome != res.Outcome || again.Winner != res.Winner || again.Voted != res.Voted || again.Head != res.Head || again.Counts["同意"] != 2 {
				t.Fatalf("recount %+v, stored %+v", again, res)
			}
			if ex.Ballots[0].Voter != h.homes["res.1"] {
				t.Fatalf("an open ballot names its household: %+v", ex.Ballots[0])
			}
		})
		t.Run("a changed ballot row is detected by the chain check", func(t *testing.T) {
			if c := apptest.JSON[deliberation.ChainCheck](t, h.cw, "GET", "/api/v1/votes/"+v.ID+"/verify", nil, 200); !c.OK || c.Ballots != 3 {
				t.Fatalf("before: %+v", c)
			}
			if _, err := e.App.DB.W.Exec(`UPDATE dlb_ballots SET choice = '同意' WHERE vote_id = $1 AND seq = 3`, v.ID); err != nil {
				t.Fatal(err)
			}
			c := apptest.JSON[deliberation.ChainCheck](t, h.cw, "GET", "/api/v1/votes/"+v.ID+"/verify", nil, 200)
			if c.OK || c.BadSeq != 3 {
				t.Fatalf("after the change: %+v", c)
			}
		})

		t.Run("the secret ballot's export recounts to the stored result and links no ballot to a household", func(t *testing.T) {
			v = sv
			stored := apptest.JSON[deliberation.Result](t, h.cw, "GET", "/api/v1/votes/"+sv.ID+"/results", nil, 200)
			_, text := voters["res.1"].Do("GET", "/api/v1/votes/"+sv.ID+"/export", nil)
			var ex deliberation.Export
			if err := json.Unmarshal([]byte(text), &ex); err != nil {
				t.Fatal(err)
			}
			again := deliberation.Tally(ex.Vote, ex.Ballots)
			if stored.Outcome != deliberation.Passed || again.Winner != stored.Winner || again.Counts["同意"] != 2 || again.Counts["不同意"] != 1 || again.Head != stored.Head {
				t.Fatalf("recount %+v, stored %+v", again, stored)
			}
			for id := range h.homes {
				if contains(text, h.homes[id]) {
					t.Fatalf("the export names household %s", id)
				}
			}
			if c := deliberation.VerifyChain(sv.ID, ex.Ballots, len(ex.Ballots)); !c.OK || c.Ballots != 3 {
				t.Fatalf("chain %+v", c)
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_box WHERE vote_id = $1`, sv.ID); n != 0 {
				t.Fatalf("%d ballots left in the box after the count", n)
			}
			if c := apptest.JSON[deliberation.ChainCheck](t, h.cw, "GET", "/api/v1/votes/"+sv.ID+"/verify", nil, 200); !c.OK || c.Ballots != 3 || c.Sealed != 0 {
				t.Fatalf("check after the count %+v", c)
			}
		})

		t.Run("quorum not reached: no decision", func(t *testing.T) {
			v = qv
			r := apptest.JSON[deliberation.Result](t, h.cw, "GET", "/api/v1/votes/"+qv.ID+"/results", nil, 200)
			if r.Outcome != deliberation.NoQuorum || r.Winner != "" || r.Voted != 1 {
				t.Fatalf("result %+v", r)
			}
			refused(t, h.cw, "POST", "/api/v1/decisions", deliberation.DecisionInput{TopicID: tp3.ID, VoteID: qv.ID, Text: "按同意执行", DecidedBy: "议事会", Owner: "社区", Plan: "下月起"}, 409, "")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_decisions`); n != 0 {
				t.Fatalf("decisions %d", n)
			}
		})
	})
}
