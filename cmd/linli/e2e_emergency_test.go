package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A warning's loop on a phone without JavaScript: the township officer
// issues an orange warning for the demo resident's community; the
// resident reads it on 我的 and reports safe with one button; the
// officer's board counts the household. Each page passes axe-core and
// fits 360 px.
func TestEndToEndWarningResidentReportsSafeBoardCounts(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, store []string) {
		ctx, cancel := context.WithTimeout(chromium(t, chromedp.WindowSize(360, 740)), 240*time.Second)
		defer cancel()
		s := startServer(t, t.TempDir(), append(store, "--demo", "--demo-scale", "community")...)
		officerPW, residentPW := demoPassword(t, s, "demo.street"), demoPassword(t, s, "demo.resident")
		community := demoDivision(t, s, "demo.resident")
		if err := chromedp.Do(ctx, noScripts, chromedp.EmulateViewport(360, 740)); err != nil {
			t.Fatalf("a phone without JavaScript: %v", err)
		}
		// fits audits the page: axe-core finds nothing serious, and
		// nothing scrolls sideways at 360 px.
		fits := func(t *testing.T, page string) {
			t.Helper()
			res, err := runAxe(ctx)
			if err != nil || res.Passes == 0 {
				t.Fatalf("%s: axe did not run: %v", page, err)
			}
			if len(res.Violations) > 0 {
				t.Fatalf("%s: axe-core violations: %+v", page, res.Violations)
			}
			wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth + 1`))
			if err != nil || wide {
				t.Fatalf("%s scrolls sideways at 360 px (%v)", page, err)
			}
		}
		var alertPath string
		var before int

		if !t.Run("the township officer issues an orange warning for the resident's community and lands on its board", func(t *testing.T) {
			var total, confirmed string
			if err := chromedp.Do(ctx,
				login(s, "demo.street", officerPW, "/emergency/new"),
				chromedp.WaitVisible(`#issue-form`),
			); err != nil {
				t.Fatalf("the form: %v", err)
			}
			fits(t, "/emergency/new")
			if err := chromedp.Do(ctx,
				chromedp.Click(fmt.Sprintf(`input[name=divisions][value="%s"]`, community)),
				chromedp.SendKeys(`#f-event`, "暴雨"),
				chromedp.Click(`input[name=colour][value=orange]`),
				chromedp.SetValue(`#f-response_level`, "III"),
				chromedp.SendKeys(`#f-headline`, "暴雨橙色预警"),
				chromedp.SendKeys(`#f-instruction`, "请勿前往低洼地带，独居老人请等候帮扶人联系"),
				shot("70-emergency-new"),
				chromedp.Click(`#submit`),
				chromedp.WaitVisible(`#board-title`),
				text(`#hh-total`, &total),
				text(`#hh-confirmed`, &confirmed),
				shot("71-emergency-board"),
			); err != nil {
				t.Fatalf("issue: %v", err)
			}
			loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
			if err != nil || !strings.HasPrefix(loc, "/emergency/alerts/") {
				t.Fatalf("landed on %q (%v)", loc, err)
			}
			alertPath = loc
			n, _ := strconv.Atoi(total)
			if before, _ = strconv.Atoi(confirmed); n == 0 || before != 0 {
				t.Fatalf("the board: %s of %s confirmed", confirmed, total)
			}
			fits(t, alertPath)
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}

		if !t.Run("the resident reads the warning on 我的 and reports safe with one button", func(t *testing.T) {
			var mine, status string
			if err := chromedp.Do(ctx,
				login(s, "demo.resident", residentPW, "/"),
				chromedp.WaitVisible(`section[data-module=emergency]`),
				text(`section[data-module=emergency]`, &mine),
			); err != nil {
				t.Fatalf("我的: %v", err)
			}
			if !strings.Contains(mine, "暴雨橙色预警") || !strings.Contains(mine, "请勿前往低洼地带") {
				t.Fatalf("我的 lacks the warning:\n%s", mine)
			}
			if err := chromedp.Do(ctx,
				chromedp.Click(`section[data-module=emergency] a[href="/emergency/mine"]`),
				chromedp.WaitVisible(`button.safe-button`),
			); err != nil {
				t.Fatalf("the check-in page: %v", err)
			}
			fits(t, "/emergency/mine")
			if err := chromedp.Do(ctx,
				shot("72-emergency-mine"),
				chromedp.Click(`button.safe-button`),
				chromedp.WaitVisible(`#checked-in`),
				text(`#my-warnings .my-status`, &status),
				shot("73-emergency-safe"),
			); err != nil {
				t.Fatalf("report safe: %v", err)
			}
			if status != "已报平安" {
				t.Fatalf("after reporting: %q", status)
			}
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}

		t.Run("the officer's board counts the household as confirmed and safe", func(t *testing.T) {
			var confirmed, safe string
			if err := chromedp.Do(ctx,
				login(s, "demo.street", officerPW, alertPath),
				chromedp.WaitVisible(`#board-title`),
				text(`#hh-confirmed`, &confirmed),
				text(`#hh-safe`, &safe),
			); err != nil {
				t.Fatalf("the board: %v", err)
			}
			if confirmed != strconv.Itoa(before+1) || safe != "1" {
				t.Fatalf("confirmed %s (was %d), safe %s", confirmed, before, safe)
			}
		})
	})
}
