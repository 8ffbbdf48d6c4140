package deliberation_test

import (
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/deliberation"
)

// A township council's topic affects every household of the township:
// its worker raises it for the whole township (the raise page offers just
// that), the vote's electorate is the township's households, a household
// of any community of the township votes, and one of another township is
// refused.
func TestTownshipWideVote(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		const township = "330106002"     // 北山街道, which holds community A
		const neighbour = "330106002052" // 宝石社区, another community of it
		h.household(t, neighbour, "res.n", "宝石社区 1 幢 101")
		e.User("street.a", access.Officer, township)
		street := e.Login("street.a")
		res1, resN, resB := e.Login("res.1"), e.Login("res.n"), e.Login("res.b")
		apptest.JSON[deliberation.Council](t, street, "POST", "/api/v1/councils", deliberation.CouncilInput{
			Division: township, Name: "北山街道议事会", QuorumPM: 100, Majority: deliberation.MajoritySimple, CosignThreshold: 0, CosignDays: 7}, 201)
		raise := deliberation.TopicInput{Division: township, Title: "街道文化中心开放时间", Description: "建议延长晚间开放", AreaKind: deliberation.AreaTownship}

		t.Run("a township-wide topic names a township, and a resident or a community's worker cannot raise one", func(t *testing.T) {
			refused(t, res1, "POST", "/api/v1/topics", raise, 400, "area_kind")
			refused(t, h.cw, "POST", "/api/v1/topics", raise, 400, "division_code")
			in := raise
			in.Division = communityA
			refused(t, street, "POST", "/api/v1/topics", in, 400, "division_code")
		})
		var tp deliberation.Topic
		t.Run("the township's worker raises it for the township's council", func(t *testing.T) {
			tp = apptest.JSON[deliberation.Topic](t, street, "POST", "/api/v1/topics", raise, 201)
			if tp.Division != township || tp.AreaKind != deliberation.AreaTownship || tp.Status != deliberation.Screening || tp.AreaText().ZH != "全街道（乡镇）" {
				t.Fatalf("topic %+v", tp)
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_councils WHERE id = $1 AND level = 'township'`, tp.CouncilID); n != 1 {
				t.Fatalf("council %s is not the township's", tp.CouncilID)
			}
			apptest.JSON[deliberation.Topic](t, street, "POST", "/api/v1/topics/"+tp.ID+"/accept", deliberation.MoveInput{}, 200)
		})
		var v deliberation.Vote
		t.Run("the electorate is every household of the township", func(t *testing.T) {
			v = apptest.JSON[deliberation.Vote](t, street, "POST", "/api/v1/votes", deliberation.VoteInput{TopicID: tp.ID, Electorate: "households", Secret: true,
				Options: []string{"同意", "不同意"}, ClosesAt: e.Clock.Now().Add(time.Hour)}, 201)
			want := e.Count(`SELECT COUNT(*) FROM reg_households WHERE division_code LIKE '330106002%'`)
			if v.ElectorateSize != want || want != 7 {
				t.Fatalf("electorate %d, households of the township %d", v.ElectorateSize, want)
			}
		})
		t.Run("households of two communities of the township vote; one of another township is refused", func(t *testing.T) {
			for _, c := range []*apptest.Client{res1, resN} {
				if rc := apptest.JSON[deliberation.Receipt](t, c, "POST", "/api/v1/votes/"+v.ID+"/ballots", deliberation.BallotInput{Choice: "同意"}, 201); !rc.Sealed {
					t.Fatalf("receipt %+v", rc)
				}
			}
			refused(t, resB, "POST", "/api/v1/votes/"+v.ID+"/ballots", deliberation.BallotInput{Choice: "同意"}, 403, "")
			refused(t, res1, "POST", "/api/v1/votes/"+v.ID+"/ballots", deliberation.BallotInput{Choice: "不同意"}, 409, "")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_voters WHERE vote_id = $1`, v.ID); n != 2 {
				t.Fatalf("voters %d", n)
			}
		})
		t.Run("the township's residents read the vote and its topic; another township's do not", func(t *testing.T) {
			apptest.JSON[deliberation.Vote](t, resN, "GET", "/api/v1/votes/"+v.ID, nil, 200)
			apptest.JSON[deliberation.Topic](t, res1, "GET", "/api/v1/topics/"+tp.ID, nil, 200)
			refused(t, resB, "GET", "/api/v1/votes/"+v.ID, nil, 404, "")
			pg := apptest.JSON[deliberation.VotePage](t, res1, "GET", "/api/v1/votes?division_code="+township, nil, 200)
			if len(pg.Items) != 1 || pg.Items[0].ID != v.ID {
				t.Fatalf("township votes %+v", pg.Items)
			}
			check := apptest.JSON[deliberation.ChainCheck](t, street, "GET", "/api/v1/votes/"+v.ID+"/verify", nil, 200)
			if !check.OK || check.Voters != 2 || check.Sealed != 2 {
				t.Fatalf("check %+v", check)
			}
		})
		t.Run("the raise page offers a township's worker the whole township", func(t *testing.T) {
			st, body, _ := street.Get("/deliberation/raise")
			if st != 200 || !strings.Contains(body, `id="area-township"`) || strings.Contains(body, `id="area-community"`) {
				t.Fatalf("GET /deliberation/raise: %d %.600s", st, body)
			}
			if _, body, _ := h.cw.Get("/deliberation/raise"); strings.Contains(body, `id="area-township"`) {
				t.Fatal("a community's worker is offered the township")
			}
			st, body, hdr := street.Form("/deliberation/raise", map[string]string{"division_code": township, "title": "街道健身步道", "description": "沿河修建步道", "area_kind": "township"}, nil)
			if st != 303 || !strings.HasPrefix(hdr.Get("Location"), "/deliberation/topics/") {
				t.Fatalf("POST /deliberation/raise: %d %.600s", st, body)
			}
		})
	})
}
