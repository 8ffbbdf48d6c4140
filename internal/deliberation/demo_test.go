package deliberation_test

import (
	"encoding/json"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/deliberation"
	"linli/internal/module"
)

// The demo county's communities have councils, topics in every state,
// two meetings with minutes, a finished vote whose chain checks out and
// recounts to its stored result, and a decision in progress on the
// public board.
func TestDemo(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		e := apptest.New(t, d)
		accounts, err := e.App.SeedDemo(t.Context(), module.DemoOptions{Seed: 7, Scale: "community"})
		if err != nil {
			t.Fatal(err)
		}
		var worker, community string
		for _, a := range accounts {
			if a.Username == "demo.worker" {
				worker, community = a.Password, a.Division
			}
		}
		communities := e.Count(`SELECT COUNT(DISTINCT division_code) FROM reg_households`)
		if n := e.Count(`SELECT COUNT(*) FROM dlb_councils WHERE level = 'community'`); n != communities || n == 0 {
			t.Errorf("%d community councils for %d communities", n, communities)
		}
		for _, s := range deliberation.States {
			if n := e.Count(`SELECT COUNT(*) FROM dlb_topics WHERE status = $1 AND division_code = $2`, s, community); n != 1 {
				t.Errorf("%d %s topics in the demo worker's community", n, s)
			}
		}
		if n := e.Count(`SELECT COUNT(*) FROM dlb_meetings WHERE division_code = $1 AND minutes <> '' AND summary <> ''`, community); n != 2 {
			t.Errorf("%d meetings with minutes", n)
		}
		c := e.Client()
		if st, body := c.Do("POST", "/api/v1/session", map[string]string{"username": "demo.worker", "password": worker}); st != 200 {
			t.Fatalf("login: %d %s", st, body)
		}
		var vote string
		if err := d.R.QueryRow(`SELECT id FROM dlb_votes WHERE division_code = $1`, community).Scan(&vote); err != nil {
			t.Fatal(err)
		}
		if ck := apptest.JSON[deliberation.ChainCheck](t, c, "GET", "/api/v1/votes/"+vote+"/verify", nil, 200); !ck.OK || ck.Ballots != 4 {
			t.Errorf("the demo vote's chain: %+v", ck)
		}
		ex := apptest.JSON[deliberation.Export](t, c, "GET", "/api/v1/votes/"+vote+"/export", nil, 200)
		again, stored := deliberation.Tally(ex.Vote, ex.Ballots), ex.Vote.Result
		if stored == nil || again.Outcome != deliberation.Passed || again.Winner != stored.Winner || again.Head != stored.Head {
			t.Errorf("recount %+v, stored %+v", again, stored)
		}
		pg := apptest.JSON[deliberation.DecisionPage](t, e.Client(), "GET", "/api/v1/decisions?division_code="+community, nil, 200)
		progress := map[string]int{}
		for _, d := range pg.Items {
			progress[d.Status] = d.Progress
		}
		if len(pg.Items) != 3 || progress[deliberation.Implementing] != 60 || progress[deliberation.Done] != 100 {
			raw, _ := json.Marshal(pg)
			t.Errorf("the board: %s", raw)
		}
		var deliberating string
		if err := d.R.QueryRow(`SELECT id FROM dlb_topics WHERE division_code = $1 AND status = $2`, community, deliberation.Deliberating).Scan(&deliberating); err != nil {
			t.Fatal(err)
		}
		talk := apptest.JSON[deliberation.CommentPage](t, c, "GET", "/api/v1/topics/"+deliberating+"/comments", nil, 200)
		if len(talk.Comments) != 3 || len(talk.Comments[0].Replies) != 1 {
			t.Errorf("the deliberating topic's comments: %+v", talk.Comments)
		}
		if q := apptest.JSON[[]deliberation.Comment](t, c, "GET", "/api/v1/comment-queue?division_code="+community, nil, 200); len(q) != 1 || q[0].State != deliberation.CommentHeld {
			t.Errorf("the demo queue: %+v", q)
		}
		nb := apptest.JSON[deliberation.NoticePage](t, e.Client(), "GET", "/api/v1/notices-board?division_code="+community, nil, 200)
		cats := map[string]string{}
		for _, n := range nb.Items {
			cats[n.Category] = n.ID
		}
		if len(nb.Items) != 3 || cats["finance"] == "" || cats["decision"] == "" {
			t.Errorf("the demo notice board: %+v", nb.Items)
		}
		if fin := apptest.JSON[deliberation.Notice](t, e.Client(), "GET", "/api/v1/notices-board/"+cats["finance"], nil, 200); len(fin.Lines) != 5 || fin.Income()-fin.Expense() != fin.Total {
			t.Errorf("the demo statement does not add up: %+v", fin)
		}
		st, body, _ := e.Client().Get("/deliberation/board/" + community)
		if st != 200 || !strings.Contains(body, "加装电梯意见征集与推进") {
			t.Errorf("board page %d", st)
		}
		demoMore(t, e, c, community, pg)
	})
}
