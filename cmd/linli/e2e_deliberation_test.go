package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"linli/internal/registry/idno"
)

// The deliberation loop on a phone without JavaScript: a resident raises a
// topic for their building, two neighbours co-sign, the community accepts
// it and schedules a meeting, the building's households vote, and the
// decision appears on the public board with its progress. Every page
// passes axe and fits 360 px, in normal and 长辈模式.
func TestEndToEndResidentsDeliberateAndDecide(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, store []string) {
		ctx, cancel := context.WithTimeout(chromium(t, chromedp.WindowSize(360, 740)), 480*time.Second)
		defer cancel()
		data := t.TempDir()
		s := startServer(t, data, append(store, "--demo", "--demo-scale", "community")...)
		residentPW, workerPW := demoPassword(t, s, "demo.resident"), demoPassword(t, s, "demo.worker")
		if err := chromedp.Do(ctx, noScripts, chromedp.EmulateViewport(360, 740)); err != nil {
			t.Fatalf("a phone without JavaScript: %v", err)
		}
		fits := func(t *testing.T, what string) {
			t.Helper()
			fitsPhoneInBothModes(ctx, t, s, what)
		}
		status := func(t *testing.T) string {
			t.Helper()
			var st string
			if err := chromedp.Do(ctx, chromedp.WaitVisible(`#status`), evalString(`document.querySelector("#status").dataset.status`, &st)); err != nil {
				t.Fatal(err)
			}
			return st
		}

		// Two neighbours in the resident's building with accounts: the
		// registry's API adds their households, as a worker does.
		cw := apiSignIn(t, s, "demo.worker", workerPW)
		var community, building string
		{
			var list struct {
				Items []struct {
					HouseholdID string `json:"household_id"`
					Username    string `json:"username"`
					Division    string `json:"division_code"`
				} `json:"items"`
				Next string `json:"next"`
			}
			home := ""
			for cursor := ""; home == ""; cursor = list.Next {
				cw.call(t, "GET", "/api/v1/residents?page_size=100&cursor="+url.QueryEscape(cursor), nil, &list)
				for _, r := range list.Items {
					if r.Username == "demo.resident" {
						home = r.HouseholdID
					}
				}
				if home == "" && list.Next == "" {
					t.Fatal("the demo resident has no record")
				}
			}
			var hh map[string]any
			cw.call(t, "GET", "/api/v1/households/"+home, nil, &hh)
			address, _ := hh["address"].(string)
			community, _ = hh["division"].(string)
			i := strings.Index(address, "幢")
			if i < 0 || community == "" {
				t.Fatalf("the resident's household: %v", hh)
			}
			building = address[:i+len("幢")]
		}
		for i, user := range []string{"nb.one", "nb.two"} {
			var hh, rec map[string]any
			cw.call(t, "POST", "/api/v1/households", map[string]any{"division": community, "household_no": fmt.Sprintf("E2E-DLB-%d", i+1), "address": fmt.Sprintf("%s%d室", building, 9901+i)}, &hh)
			createResident(t, data, store, user, community)
			cw.call(t, "POST", "/api/v1/residents", map[string]any{"household_id": hh["id"], "name": []string{"邻居甲", "邻居乙"}[i], "relation": "户主", "residence": "registered",
				"id_number": idno.Synthetic("330106", time.Date(1948+i, 3, 1, 0, 0, 0, 0, time.UTC), 901+i), "username": user}, &rec)
		}

		var topicPath string
		if !t.Run("the resident raises a topic for the building", func(t *testing.T) {
			if err := chromedp.Do(ctx, login(s, "demo.resident", residentPW, "/deliberation/raise"), chromedp.WaitVisible(`#submit-topic`)); err != nil {
				t.Fatal(err)
			}
			fits(t, "the raise form")
			if err := chromedp.Do(ctx,
				chromedp.SendKeys(`#f-title`, "本楼加装电梯"),
				chromedp.SendKeys(`#f-description`, "楼里老人多，上下楼困难，建议加装电梯。"),
				chromedp.Click(`#area-building`),
				chromedp.SendKeys(`#f-area_ref`, building),
				chromedp.Click(`#submit-topic`),
				chromedp.WaitVisible(`#history`),
			); err != nil {
				t.Fatalf("raise: %v", err)
			}
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			u, _ := url.Parse(loc)
			topicPath = u.Path
			if st := status(t); st != "collecting" || !strings.HasPrefix(topicPath, "/deliberation/topics/") {
				t.Fatalf("after raising: %s at %s", st, topicPath)
			}
			fits(t, "the topic")
			if err := chromedp.Do(ctx, shot("80-deliberation-raised"), logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}
		if !t.Run("two neighbours co-sign and the topic goes to screening", func(t *testing.T) {
			for _, user := range []string{"nb.one", "nb.two"} {
				if err := chromedp.Do(ctx, login(s, user, residentPassword, topicPath), chromedp.WaitVisible(`#cosign`), chromedp.Click(`#cosign`),
					chromedp.WaitNotPresent(`#cosign`), chromedp.WaitVisible(`#history`)); err != nil {
					t.Fatalf("%s co-signs: %v", user, err)
				}
				if user == "nb.two" {
					if st := status(t); st != "screening" {
						t.Fatalf("after two co-signs: %s", st)
					}
				}
				if err := chromedp.Do(ctx, logout); err != nil {
					t.Fatal(err)
				}
			}
		}) {
			return
		}
		var votePath, meetingPath string
		if !t.Run("the community accepts it, schedules a meeting and opens a vote", func(t *testing.T) {
			if err := chromedp.Do(ctx, login(s, "demo.worker", workerPW, topicPath), chromedp.WaitVisible(`#do-accept`)); err != nil {
				t.Fatal(err)
			}
			fits(t, "the topic for the worker")
			if err := chromedp.Do(ctx, chromedp.Click(`#do-accept`), chromedp.WaitNotPresent(`#do-accept`), chromedp.WaitVisible(`#history`)); err != nil {
				t.Fatal(err)
			}
			if st := status(t); st != "accepted" {
				t.Fatalf("after accepting: %s", st)
			}
			cst := time.FixedZone("CST", 8*3600)
			id := strings.TrimPrefix(topicPath, "/deliberation/topics/")
			if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/deliberation/meetings/new?division_code="+community), chromedp.WaitVisible(`#topic-`+id)); err != nil {
				t.Fatal(err)
			}
			fits(t, "the meeting form")
			var agenda string
			if err := chromedp.Do(ctx,
				chromedp.SendKeys(`#f-title`, "加装电梯议事会"),
				chromedp.SendKeys(`#f-place`, "社区党群服务中心"),
				chromedp.SetValue(`#f-starts_at`, time.Now().In(cst).Add(24*time.Hour).Format("2006-01-02T15:04")),
				chromedp.Click(`#topic-`+id),
				chromedp.Click(`#schedule-submit`),
				chromedp.WaitVisible(`#agenda`),
				text(`#agenda`, &agenda),
			); err != nil {
				t.Fatalf("schedule: %v", err)
			}
			if !strings.Contains(agenda, "本楼加装电梯") {
				t.Fatalf("agenda %q", agenda)
			}
			if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
				u, _ := url.Parse(loc)
				meetingPath = u.Path
			}
			fits(t, "the meeting")
			closes := time.Now().In(cst).Truncate(time.Minute).Add(2 * time.Minute)
			if err := chromedp.Do(ctx,
				chromedp.Navigate(s.URL+topicPath),
				chromedp.WaitVisible(`#open-vote summary`),
				chromedp.Click(`#open-vote summary`),
				chromedp.WaitVisible(`#f-closes_at`),
				chromedp.SetValue(`#f-closes_at`, closes.Format("2006-01-02T15:04")),
				chromedp.Click(`#open-vote-submit`),
				chromedp.WaitVisible(`#vote-rules`),
			); err != nil {
				t.Fatalf("open the vote: %v", err)
			}
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			u, _ := url.Parse(loc)
			votePath = u.Path
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}
		t.Run("the resident registers for the meeting", func(t *testing.T) {
			if err := chromedp.Do(ctx, login(s, "demo.resident", residentPW, meetingPath), chromedp.WaitVisible(`#register`), chromedp.Click(`#register`),
				chromedp.WaitVisible(`#my-registration`)); err != nil {
				t.Fatalf("register: %v", err)
			}
			var n string
			if err := chromedp.Do(ctx, text(`#registered-count`, &n)); err != nil || n != "1" {
				t.Fatalf("registered %q: %v", n, err)
			}
			fits(t, "the meeting for a registered resident")
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		})
		if !t.Run("the building's households vote, one ballot each", func(t *testing.T) {
			for i, who := range [][2]string{{"demo.resident", residentPW}, {"nb.one", residentPassword}, {"nb.two", residentPassword}} {
				if err := chromedp.Do(ctx, login(s, who[0], who[1], votePath), chromedp.WaitVisible(`#cast`)); err != nil {
					t.Fatalf("%s: %v", who[0], err)
				}
				if i == 0 {
					fits(t, "the ballot")
				}
				if err := chromedp.Do(ctx, chromedp.Click(`#choice-0`), chromedp.Click(`#cast`), chromedp.WaitVisible(`#receipt`), logout); err != nil {
					t.Fatalf("%s votes: %v", who[0], err)
				}
			}
		}) {
			return
		}
		if !t.Run("when the window closes the decision is recorded with progress", func(t *testing.T) {
			if err := chromedp.Do(ctx, login(s, "demo.worker", workerPW, votePath), chromedp.WaitVisible(`#vote-rules`)); err != nil {
				t.Fatal(err)
			}
			var outcome string
			for deadline := time.Now().Add(200 * time.Second); ; {
				if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+votePath), chromedp.WaitVisible(`#vote-rules`),
					evalString(`document.querySelector("#outcome") ? document.querySelector("#outcome").dataset.outcome : ""`, &outcome)); err != nil {
					t.Fatal(err)
				}
				if outcome != "" || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Second)
			}
			if outcome != "passed" {
				t.Fatalf("outcome %q", outcome)
			}
			fits(t, "the result")
			var progress string
			if err := chromedp.Do(ctx,
				chromedp.Navigate(s.URL+topicPath),
				chromedp.WaitVisible(`#decide summary`),
				chromedp.Click(`#decide summary`),
				chromedp.WaitVisible(`#f-text`),
				chromedp.SendKeys(`#f-text`, "本楼加装电梯，费用按楼层分摊"),
				chromedp.SendKeys(`#f-decided_by`, "居民议事会"),
				chromedp.SendKeys(`#f-owner`, "社区居委会"),
				chromedp.SendKeys(`#f-plan`, "一月设计，二月招标，四月完工"),
				chromedp.Click(`#decide-submit`),
				chromedp.WaitVisible(`#f-percent`),
				chromedp.SendKeys(`#f-percent`, "40"),
				chromedp.SendKeys(`#f-note`, "设计方案已公示"),
				chromedp.Click(`#progress-submit`),
				chromedp.WaitVisible(`#updates`),
				text(`#progress`, &progress),
			); err != nil {
				t.Fatalf("decide: %v", err)
			}
			if progress != "40%" {
				t.Fatalf("progress %q", progress)
			}
			fits(t, "the decision")
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}
		t.Run("the decision appears on the public board with its progress", func(t *testing.T) {
			var board string
			if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/deliberation/board/"+community), chromedp.WaitVisible(`#decisions`), text(`#decisions`, &board)); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(board, "本楼加装电梯") || !strings.Contains(board, "40%") {
				t.Fatalf("board:\n%s", board)
			}
			fits(t, "the public board")
			if err := chromedp.Do(ctx, shot("81-deliberation-board")); err != nil {
				t.Fatal(err)
			}
		})
	})
}
