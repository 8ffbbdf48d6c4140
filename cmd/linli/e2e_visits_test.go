package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A care visit's loop on a phone without JavaScript: the grid worker finds
// a due visit on the 工作台, records a high-risk finding and raises a
// 民呼我为 request from it; the resident follows the request on 我的 and is
// told it was accepted; the community worker finds the visit on the
// high-risk list.
func TestEndToEndVisitHighRiskBecomesRequest(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, store []string) {
		ctx, cancel := context.WithTimeout(chromium(t, chromedp.WindowSize(360, 740)), 240*time.Second)
		defer cancel()
		data := t.TempDir()
		s := startServer(t, data, append(store, "--demo", "--demo-scale", "community")...)
		gridPW, workerPW := demoPassword(t, s, "demo.grid"), demoPassword(t, s, "demo.worker")
		community := demoDivision(t, s, "demo.grid")
		if err := chromedp.Do(ctx, noScripts, chromedp.EmulateViewport(360, 740)); err != nil {
			t.Fatalf("a phone without JavaScript: %v", err)
		}
		// What each step hands the next.
		var visitPath, whose, requestPath, number string
		var visit struct {
			ResidentID  string `json:"resident_id"`
			HouseholdID string `json:"household_id"`
			Month       string `json:"month"`
		}

		if !t.Run("a grid worker signs in and lands on the 工作台, which lists a due visit of one of their residents", func(t *testing.T) {
			var summary, items string
			if err := chromedp.Do(ctx,
				login(s, "demo.grid", gridPW, "/"),
				chromedp.WaitVisible(`//h1[contains(., "工作台")]`),
				text(`#work-summary`, &summary),
				text(`#work-items`, &items),
				shot("60-work"),
			); err != nil {
				t.Fatalf("工作台: %v", err)
			}
			// The first visit of the elderly programme due this week; early
			// in a month, before this month's visits fall due, one overdue
			// from the month before.
			href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
				for (const kind of ['visit.due', 'visit.overdue'])
					for (const a of document.querySelectorAll('#work-items li[data-kind="' + kind + '"] a.title'))
						if (a.textContent.includes('特殊困难老年人探访关爱')) return a.getAttribute('href');
				return '';
			})()`))
			if err != nil || !regexp.MustCompile(`^/visits/[0-9]+$`).MatchString(href) {
				t.Fatalf("no due visit of 特殊困难老年人探访关爱 on the 工作台 (%v): %q\n%s\n%s", err, href, summary, items)
			}
			if !strings.Contains(summary, "项待办") || !strings.Contains(items, "探访") {
				t.Fatalf("工作台: %q\n%s", summary, items)
			}
			visitPath = href
		}) {
			return
		}

		if !t.Run("the grid worker opens it and records a home visit, done, with a high-risk finding, answering the programme's form", func(t *testing.T) {
			var summary string
			if err := chromedp.Do(ctx,
				chromedp.Click(`#work-items a[href="`+visitPath+`"]`),
				chromedp.WaitVisible(`form#record`),
				text(`#visit-summary`, &summary),
				chromedp.Click(`input[name=outcome][value=done]`),
				chromedp.Click(`input[name=method][value=home]`),
				chromedp.SendKeys(`#f-present`, "本人、女儿"),
				chromedp.SetValue(`select[name="answer[health]"]`, "poor"),
				chromedp.SetValue(`select[name="answer[living]"]`, "hard"),
				chromedp.Click(`input[name="answer[gas_safe]"][value=no]`),
				chromedp.Click(`input[name="answer[power_safe]"][value=yes]`),
				chromedp.Click(`input[name="answer[needs]"][value=medical]`),
				chromedp.SendKeys(`textarea[name="answer[note]"]`, "燃气软管老化，独居且行动不便"),
				chromedp.Click(`input[name=risk][value=high]`),
				shot("61-visit-form"),
				chromedp.Click(`#submit`),
				chromedp.WaitVisible(`#recorded`),
				text(`#visit-summary`, &summary),
				shot("62-visit-recorded"),
			); err != nil {
				t.Fatalf("record the visit: %v", err)
			}
			for _, want := range []string{"特殊困难老年人探访关爱", "已完成", "高风险", "入户", "本人、女儿", "较差", "困难", "燃气软管老化"} {
				if !strings.Contains(summary, want) {
					t.Fatalf("the recorded visit lacks %q:\n%s", want, summary)
				}
			}
			w, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
				for (const d of document.querySelectorAll('#visit-summary > div'))
					if (d.querySelector('dt').textContent.trim() === '对象') return d.querySelector('dd').textContent.trim();
				return '';
			})()`))
			if err != nil || w == "" || !strings.Contains(w, "*") {
				t.Fatalf("the visit names its resident masked: %q %v", w, err)
			}
			whose = w
		}) {
			return
		}

		if !t.Run("from the recorded visit the grid worker raises a 民呼我为 request on the resident's behalf, linked both ways", func(t *testing.T) {
			// The resident has an account, linked to their record by the
			// community worker. No page links accounts (the registry's API
			// does), so this one step goes through the API.
			cw := apiSignIn(t, s, "demo.worker", workerPW)
			cw.call(t, "GET", "/api/v1"+visitPath, nil, &visit)
			if visit.ResidentID == "" || visit.HouseholdID == "" || visit.Month == "" {
				t.Fatalf("the visit's resident: %+v", visit)
			}
			createResident(t, data, store, "visit.elder", community)
			var rec map[string]any
			cw.call(t, "GET", "/api/v1/residents/"+visit.ResidentID, nil, &rec)
			cw.call(t, "PUT", "/api/v1/residents/"+visit.ResidentID, map[string]any{"household_id": rec["household_id"], "name": rec["name"],
				"relation": rec["relation"], "residence": rec["residence"], "username": "visit.elder"}, &rec)
			if rec["username"] != "visit.elder" {
				t.Fatalf("the record is not linked: %v", rec["username"])
			}

			var chosen, status, refHref, requestHref string
			if err := chromedp.Do(ctx,
				chromedp.Click(`#raise-request`),
				chromedp.WaitVisible(`input[name=category][value=elderly]`),
				chromedp.Click(`input[name=category][value=elderly]`),
				chromedp.Click(`#next`),
				chromedp.WaitVisible(`textarea[name=description]`),
				text(`#chosen`, &chosen),
				chromedp.SendKeys(`textarea[name=description]`, "探访发现燃气软管老化，老人独居行动不便，需上门更换并安排助医"),
				chromedp.SetValue(`#f-channel`, "walkin"),
				shot("63-request-from-visit"),
				chromedp.Click(`#submit`),
				chromedp.WaitVisible(`#number`),
				text(`#number`, &number),
				text(`#status`, &status),
				shot("64-request-receipt"),
			); err != nil {
				t.Fatalf("raise the request: %v", err)
			}
			loc, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(loc)
			requestPath = u.Path
			if refHref, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('a#ref') ? document.querySelector('a#ref').getAttribute('href') : ''`)); err != nil {
				t.Fatal(err)
			}
			if chosen != "养老服务" || !strings.HasPrefix(number, "MH-") || status != "待受理" || refHref != visitPath {
				t.Fatalf("request %q %q in %q, raised from %q (want %s)", number, status, chosen, refHref, visitPath)
			}
			// Back on the visit, its request is linked where the button was.
			if err := chromedp.Do(ctx,
				chromedp.Click(`a#ref`),
				chromedp.WaitVisible(`#visit-summary`),
				chromedp.WaitVisible(`a#request`),
			); err != nil {
				t.Fatalf("the visit after the request: %v", err)
			}
			if requestHref, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('a#request').getAttribute('href')`)); err != nil {
				t.Fatal(err)
			}
			if requestHref != requestPath {
				t.Fatalf("the visit links to %q, the request is %q", requestHref, requestPath)
			}
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}

		if !t.Run("the community worker accepts the request; the resident signs in on 我的 and sees it with an unread notice", func(t *testing.T) {
			var status string
			if err := chromedp.Do(ctx,
				login(s, "demo.worker", workerPW, requestPath),
				chromedp.WaitVisible(`#do-accept`),
				chromedp.Click(`#do-accept`),
				chromedp.WaitVisible(`#do-answer`),
				text(`#status`, &status),
				logout,
			); err != nil {
				t.Fatalf("the community worker accepts: %v", err)
			}
			if status != "已受理" {
				t.Fatalf("after accepting: %q", status)
			}
			var heading, notices, mine string
			if err := chromedp.Do(ctx,
				login(s, "visit.elder", residentPassword, "/"),
				chromedp.WaitVisible(`#me-notices`),
				text(`h1`, &heading),
				text(`#me-notices`, &notices),
				text(`section[data-module=requests]`, &mine),
				shot("65-me"),
			); err != nil {
				t.Fatalf("我的: %v", err)
			}
			badge, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('a.unread') ? document.querySelector('a.unread').textContent : ''`))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(heading, "我的") {
				t.Fatalf("the resident lands on %q", heading)
			}
			if !strings.Contains(mine, number) || !strings.Contains(mine, "已受理") {
				t.Fatalf("我的诉求 lacks %s accepted:\n%s", number, mine)
			}
			if !strings.Contains(notices, "1 条未读") || !strings.Contains(notices, "您的诉求已受理："+number) || !strings.Contains(notices, "未读") {
				t.Fatalf("notices:\n%s", notices)
			}
			if !strings.Contains(badge, "1") {
				t.Fatalf("the header's unread count: %q", badge)
			}
			// Opening the notice opens the request and marks it read.
			var shown string
			if err := chromedp.Do(ctx,
				chromedp.Click(`#me-notices li.unread button`),
				chromedp.WaitVisible(`#number`),
				text(`#number`, &shown),
			); err != nil {
				t.Fatalf("open the notice: %v", err)
			}
			unread, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('a.unread').length`))
			if err != nil || shown != number || unread != 0 {
				t.Fatalf("the opened notice shows %q (want %s), %d unread badges (%v)", shown, number, unread, err)
			}
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}

		t.Run("the community worker of that community sees the resident's visit on the high-risk list", func(t *testing.T) {
			var list string
			if err := chromedp.Do(ctx,
				login(s, "demo.worker", workerPW, "/visits/high-risk"),
				chromedp.WaitVisible(`//h1[contains(., "高风险")]`),
				chromedp.Click(`details.filters summary`),
				chromedp.SetValue(`#f-programme`, "special_elderly"),
				chromedp.SetValue(`#f-worker`, "demo.grid"),
				chromedp.SetValue(`#f-month`, visit.Month),
				chromedp.Click(`form[role=search] button`),
				// The filtered page marks its choices; the page before it does not.
				chromedp.WaitReady(`#f-worker option[value="demo.grid"][selected]`),
				chromedp.WaitVisible(`#sv-visits`),
				text(`#sv-visits tbody`, &list),
				shot("66-high-risk"),
			); err != nil {
				t.Fatalf("high-risk list: %v", err)
			}
			row, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => {
				const a = document.querySelector('#sv-visits a[href="/visits/households/%s"]');
				return a ? a.closest('tr').textContent : '';
			})()`, visit.HouseholdID)))
			if err != nil || row == "" {
				html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#sv-visits tbody').innerHTML`))
				t.Fatalf("the list has no row of household %s (%v, whose %s):\n%s", visit.HouseholdID, err, whose, html)
			}
			for _, want := range []string{whose, "特殊困难老年人探访关爱", "demo.grid", "已完成", "高风险"} {
				if !strings.Contains(row, want) {
					t.Fatalf("the row lacks %q: %s", want, row)
				}
			}
		})
	})
}

// residentPassword is the password of the resident account a test creates.
const residentPassword = "Elder-Visit-2026-Mq"

// demoDivision reads a demo account's division from the server output.
func demoDivision(t *testing.T, s *server, user string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(user) + `\s+\S+\s+\S+\s+(\d+)`).FindStringSubmatch(s.Output)
	if m == nil {
		t.Fatalf("no demo division for %s:\n%s", user, s.Output)
	}
	return m[1]
}

// createResident makes a resident account of a community with the
// operator's command, as a deployment does.
func createResident(t *testing.T, data string, store []string, user, division string) {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"admin", "create-user", "--data-dir", data, "--username", user, "--role", "resident",
		"--division", division, "--name", "探访对象", "--password-stdin"}, store...)...)
	cmd.Env = append(os.Environ(), "LINLI_DATABASE_URL=")
	cmd.Stdin = strings.NewReader(residentPassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("create the resident account: %v\n%s", err, out)
	}
}

// apiSession is a signed-in HTTP client for what no page does.
type apiSession struct {
	base string
	c    *http.Client
}

// apiSignIn signs in through the login form without a browser.
func apiSignIn(t *testing.T, s *server, user, pw string) *apiSession {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	ss := &apiSession{base: s.URL, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	req, _ := http.NewRequest("POST", s.URL+"/login", strings.NewReader(url.Values{"username": {user}, "password": {pw}, "next": {"/"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := ss.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	u, _ := url.Parse(s.URL)
	if len(jar.Cookies(u)) == 0 {
		t.Fatalf("sign in as %s: %s, no session", user, res.Status)
	}
	return ss
}

// call sends a JSON request and decodes a 2xx answer into out.
func (ss *apiSession) call(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, ss.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := ss.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s\n%s", method, path, res.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v\n%s", method, path, err, b)
	}
}
