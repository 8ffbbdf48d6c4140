package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The volunteer loop on a phone without JavaScript: the demo resident
// (98 hours carried over) registers as a volunteer, the community worker
// verifies the registration and posts an activity for later today; the
// resident signs up; the worker ticks her present; she sees 100 hours and
// her first star, redeems points at the shop and issues a certificate,
// which a stranger, signed out, checks by its code. Each page passes
// axe-core and fits 360 px.
func TestEndToEndVolunteerSignsUpIsCreditedRedeemsAndIsVerified(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, store []string) {
		ctx, cancel := context.WithTimeout(chromium(t, chromedp.WindowSize(360, 740)), 300*time.Second)
		defer cancel()
		s := startServer(t, t.TempDir(), append(store, "--demo", "--demo-scale", "community")...)
		workerPW, residentPW := demoPassword(t, s, "demo.worker"), demoPassword(t, s, "demo.resident")
		if w, r := demoDivision(t, s, "demo.worker"), demoDivision(t, s, "demo.resident"); w != r {
			t.Fatalf("the demo worker (%s) and resident (%s) are of different communities", w, r)
		}
		if err := chromedp.Do(ctx, noScripts, chromedp.EmulateViewport(360, 740)); err != nil {
			t.Fatalf("a phone without JavaScript: %v", err)
		}
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
		step := func(name string, fn func(t *testing.T)) bool { return t.Run(name, fn) }
		var activity, code string

		if !step("the resident registers as a volunteer", func(t *testing.T) {
			if err := chromedp.Do(ctx, login(s, "demo.resident", residentPW, "/volunteers/me"), chromedp.WaitVisible(`#register`)); err != nil {
				t.Fatalf("the form: %v", err)
			}
			fits(t, "/volunteers/me (register)")
			if err := chromedp.Do(ctx,
				chromedp.Click(`input[name=skills][value=meals]`),
				chromedp.Click(`input[name=availability][value=weekend]`),
				chromedp.Click(`#register-submit`),
				chromedp.WaitVisible(`#registered`),
				shot("80-volunteers-registered"),
			); err != nil {
				t.Fatalf("register: %v", err)
			}
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}

		if !step("the community worker verifies her and posts an activity for later today", func(t *testing.T) {
			if err := chromedp.Do(ctx, login(s, "demo.worker", workerPW, "/volunteers"), chromedp.WaitVisible(`#pending button.verify`)); err != nil {
				t.Fatalf("the dashboard: %v", err)
			}
			fits(t, "/volunteers")
			if err := chromedp.Do(ctx, chromedp.Click(`#pending button.verify`), chromedp.WaitVisible(`#done`), shot("81-volunteers-dashboard")); err != nil {
				t.Fatalf("verify: %v", err)
			}
			cst := time.FixedZone("CST", 8*3600)
			now := time.Now().In(cst)
			start := now.Add(30 * time.Minute).Truncate(time.Minute)
			if start.Day() != now.Day() {
				start = time.Date(now.Year(), now.Month(), now.Day(), 23, 59, 0, 0, cst)
			}
			at := start.Format("2006-01-02T15:04")
			if err := chromedp.Do(ctx,
				chromedp.Navigate(s.URL+"/volunteers/activities/new"),
				chromedp.WaitVisible(`#new-activity`),
			); err != nil {
				t.Fatalf("the form: %v", err)
			}
			fits(t, "/volunteers/activities/new")
			if err := chromedp.Do(ctx,
				chromedp.SendKeys(`#f-title`, "助老送餐"),
				chromedp.SendKeys(`#f-place`, "社区居家养老服务照料中心"),
				chromedp.SetValue(`#f-starts_at`, at),
				chromedp.SetValue(`#f-ends_at`, start.Add(2*time.Hour).Format("2006-01-02T15:04")),
				chromedp.SetValue(`#f-cutoff`, at),
				chromedp.SetValue(`#f-hours`, "2"),
				chromedp.SetValue(`#f-points`, "50"),
				chromedp.Click(`#post`),
				chromedp.WaitVisible(`#result`),
			); err != nil {
				t.Fatalf("post: %v", err)
			}
			loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
			if err != nil || !strings.HasPrefix(loc, "/volunteers/activities/") {
				t.Fatalf("landed on %q (%v)", loc, err)
			}
			activity = loc
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}

		if !step("the resident signs up", func(t *testing.T) {
			var result string
			if err := chromedp.Do(ctx, login(s, "demo.resident", residentPW, activity), chromedp.WaitVisible(`#signup`)); err != nil {
				t.Fatalf("the activity: %v", err)
			}
			fits(t, activity)
			if err := chromedp.Do(ctx, chromedp.Click(`#signup`), chromedp.WaitVisible(`#result`), text(`#result`, &result), shot("82-volunteers-signed-up")); err != nil {
				t.Fatalf("sign up: %v", err)
			}
			if !strings.Contains(result, "报名成功") {
				t.Fatalf("after signing up: %q", result)
			}
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}

		if !step("the organiser ticks her present and her hours are credited", func(t *testing.T) {
			var summary string
			if err := chromedp.Do(ctx, login(s, "demo.worker", workerPW, activity+"/attendance"), chromedp.WaitVisible(`#attendance-form`)); err != nil {
				t.Fatalf("the tick list: %v", err)
			}
			fits(t, activity+"/attendance")
			if err := chromedp.Do(ctx, chromedp.Click(`input[name=present]`), chromedp.Click(`#confirm`), chromedp.WaitVisible(`#summary`), text(`#summary`, &summary),
				shot("83-volunteers-attendance")); err != nil {
				t.Fatalf("confirm: %v", err)
			}
			if !strings.Contains(summary, "本次新记入 1") {
				t.Fatalf("after confirming: %q", summary)
			}
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}

		if !step("she sees 100 hours and a new star, and redeems points", func(t *testing.T) {
			var hours, stars, points, after string
			if err := chromedp.Do(ctx, login(s, "demo.resident", residentPW, "/volunteers/me"), chromedp.WaitVisible(`#my-figures`),
				text(`#hours`, &hours), text(`#stars`, &stars), text(`#points`, &points)); err != nil {
				t.Fatalf("my page: %v", err)
			}
			fits(t, "/volunteers/me")
			if !strings.HasPrefix(hours, "100") || !strings.Contains(stars, "★☆☆☆☆ 1 星") || points != "50" {
				t.Fatalf("hours %q, stars %q, points %q", hours, stars, points)
			}
			if err := chromedp.Do(ctx, shot("84-volunteers-star"), chromedp.Click(`#shop`), chromedp.WaitVisible(`#items`)); err != nil {
				t.Fatalf("the shop: %v", err)
			}
			fits(t, "/volunteers/shop")
			if err := chromedp.Do(ctx, chromedp.Click(`button[aria-label="兑换 理发券"]`), chromedp.WaitVisible(`#redeemed`), text(`#my-points`, &after), shot("85-volunteers-redeemed")); err != nil {
				t.Fatalf("redeem: %v", err)
			}
			if !strings.Contains(after, "20") {
				t.Fatalf("after redeeming: %q", after)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/volunteers/me"), chromedp.WaitVisible(`#certificate`), chromedp.Click(`#certificate`),
				chromedp.WaitVisible(`#code`), text(`#code`, &code)); err != nil {
				t.Fatalf("the certificate: %v", err)
			}
			if len(code) != 14 {
				t.Fatalf("code %q", code)
			}
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}

		t.Run("a stranger, signed out, verifies the certificate by its code", func(t *testing.T) {
			var hours string
			if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/volunteers/verify"), chromedp.WaitVisible(`#verify-form`)); err != nil {
				t.Fatalf("the check: %v", err)
			}
			fits(t, "/volunteers/verify")
			if err := chromedp.Do(ctx, chromedp.SendKeys(`#f-code`, code), chromedp.Click(`#verify`), chromedp.WaitVisible(`#certificate`), text(`#cert-hours`, &hours),
				shot("86-volunteers-verified")); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if !strings.HasPrefix(hours, "100") {
				t.Fatalf("the certificate says %q", hours)
			}
			fits(t, "/volunteers/verify?code=")
		})
	})
}
