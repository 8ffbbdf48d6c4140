package deliberation_test

import (
	"sync"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/deliberation"
)

// Ballots that arrive together are written in groups, one commit for
// many: each still gets its own answer — a household's second ballot is
// refused alone, the others stand — and the chain holds every ballot
// once, in one line.
func TestBallotsCastAtOnce(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		tp := h.accepted(t, "1 幢外墙修缮", "building", "上保社区 1 幢")
		v := apptest.JSON[deliberation.Vote](t, h.cw, "POST", "/api/v1/votes", deliberation.VoteInput{TopicID: tp.ID, Electorate: "households",
			Options: []string{"同意", "不同意"}, ClosesAt: e.Clock.Now().Add(time.Hour)}, 201)
		users := []string{"res.1", "res.2", "res.3", "res.4"}
		statuses := map[string][]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, u := range users {
			c := e.Login(u)
			for range 3 { // each household tries three times at once
				wg.Go(func() {
					st, _ := c.Do("POST", "/api/v1/votes/"+v.ID+"/ballots", deliberation.BallotInput{Choice: "同意"})
					mu.Lock()
					statuses[u] = append(statuses[u], st)
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		t.Run("each household's first ballot is taken and its others refused with 409", func(t *testing.T) {
			for _, u := range users {
				n201, n409 := 0, 0
				for _, st := range statuses[u] {
					switch st {
					case 201:
						n201++
					case 409:
						n409++
					}
				}
				if n201 != 1 || n409 != 2 {
					t.Fatalf("%s: %v", u, statuses[u])
				}
			}
		})
		t.Run("the chain holds the four ballots in one line", func(t *testing.T) {
			c := apptest.JSON[deliberation.ChainCheck](t, h.cw, "GET", "/api/v1/votes/"+v.ID+"/verify", nil, 200)
			if !c.OK || c.Ballots != 4 || c.Voters != 4 {
				t.Fatalf("check %+v", c)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'deliberation.ballot' AND object_id = $1`, v.ID); n != 4 {
				t.Fatalf("audit entries %d", n)
			}
		})
	})
}
