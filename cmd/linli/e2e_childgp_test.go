package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"linli/internal/registry/idno"
)

// The 一老一小 loops on a phone without JavaScript: the community worker
// registers a toddler in the demo resident's household; the family applies
// for a childcare place and the worker enrols the child from the waiting
// list; the worker then signs a family-doctor contract for the child (a
// key-group resident, 0–6) and the family sees it in 我的. Every page
// passes axe and fits 360 px, in normal and 长辈模式.
func TestEndToEndChildcareAndFamilyDoctor(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, store []string) {
		ctx, cancel := context.WithTimeout(chromium(t, chromedp.WindowSize(360, 740)), 300*time.Second)
		defer cancel()
		s := startServer(t, t.TempDir(), append(store, "--demo", "--demo-scale", "community")...)
		residentPW, workerPW := demoPassword(t, s, "demo.resident"), demoPassword(t, s, "demo.worker")
		if err := chromedp.Do(ctx, noScripts, chromedp.EmulateViewport(360, 740)); err != nil {
			t.Fatalf("a phone without JavaScript: %v", err)
		}
		fits := func(t *testing.T, what string) {
			t.Helper()
			fitsPhoneInBothModes(ctx, t, s, what)
		}
		var household string
		if !t.Run("the worker registers a toddler in the demo resident's household", func(t *testing.T) {
			// The family's name from its own record; the worker finds the
			// household through the registry as they would.
			var name string
			if err := chromedp.Do(ctx, login(s, "demo.resident", residentPW, "/registry/me"), chromedp.WaitVisible(`dl.summary dd`), text(`dl.summary div:first-child dd`, &name), logout); err != nil {
				t.Fatalf("own record: %v", err)
			}
			if err := chromedp.Do(ctx,
				login(s, "demo.worker", workerPW, "/registry/residents"),
				chromedp.WaitVisible(`#q`),
				chromedp.Navigate(s.URL+"/registry/residents?q="+url.QueryEscape(name)),
				chromedp.WaitVisible(`table tbody tr td a`),
				chromedp.Click(`table tbody tr td a`),
				chromedp.WaitVisible(`#household-link`),
				chromedp.Click(`#household-link`),
				chromedp.WaitVisible(`#add-resident`),
				evalString(`location.pathname`, &household),
				chromedp.Click(`#add-resident`),
			); err != nil {
				t.Fatalf("the household of %q: %v", name, err)
			}
			born := time.Now().AddDate(0, -14, 0)
			if err := chromedp.Do(ctx,
				chromedp.WaitVisible(`#f-name`),
				chromedp.SendKeys(`#f-name`, "托育测试宝宝"),
				chromedp.SendKeys(`#f-id_number`, idno.Synthetic("330106", born, 987)),
				chromedp.SetValue(`#f-relation`, "子女"),
				chromedp.Click(`#save`),
				chromedp.WaitNotPresent(`#entity-form`),
				logout,
			); err != nil {
				t.Fatalf("register the child: %v", err)
			}
		}) {
			return
		}
		var appPath string
		if !t.Run("the family applies for a childcare place", func(t *testing.T) {
			if err := chromedp.Do(ctx, login(s, "demo.resident", residentPW, "/childcare/apply"), chromedp.WaitVisible(`#submit-apply`)); err != nil {
				t.Fatalf("the form: %v", err)
			}
			fits(t, "the childcare application form")
			var status string
			if err := chromedp.Do(ctx,
				shot("80-childcare-apply"),
				chromedp.Click(`#submit-apply`),
				chromedp.WaitVisible(`#status`),
				evalString(`location.pathname`, &appPath),
				evalString(`document.querySelector("#status").dataset.status`, &status),
			); err != nil {
				t.Fatalf("apply: %v", err)
			}
			if status != "waiting" || !strings.HasPrefix(appPath, "/childcare/applications/") {
				t.Fatalf("after applying: %q at %s", status, appPath)
			}
			fits(t, "the childcare application")
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}
		appID := strings.TrimPrefix(appPath, "/childcare/applications/")
		if !t.Run("the worker enrols the child from the waiting list", func(t *testing.T) {
			if err := chromedp.Do(ctx, login(s, "demo.worker", workerPW, "/childcare"), chromedp.WaitVisible(`#settings`)); err != nil {
				t.Fatalf("settings: %v", err)
			}
			fits(t, "the settings list")
			if err := chromedp.Do(ctx, chromedp.Click(`#settings tbody a`), chromedp.WaitVisible(`#enrol-`+appID)); err != nil {
				t.Fatalf("the setting: %v", err)
			}
			fits(t, "the setting with its waiting list")
			var enrolled string
			if err := chromedp.Do(ctx, chromedp.Click(`#enrol-`+appID), chromedp.WaitVisible(`#enrolled li[data-id="`+appID+`"]`),
				text(`#enrolled`, &enrolled), shot("81-childcare-enrolled")); err != nil {
				t.Fatalf("enrol: %v", err)
			}
			if !strings.Contains(enrolled, "托**") {
				t.Errorf("enrolled list: %q", enrolled)
			}
		}) {
			return
		}
		t.Run("the worker signs a family-doctor contract for the child, and the family sees it in 我的", func(t *testing.T) {
			if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/gp/uncovered?q=托育测试"), chromedp.WaitVisible(`#uncovered a`)); err != nil {
				t.Fatalf("uncovered: %v", err)
			}
			fits(t, "the uncovered key-group list")
			var groups, valid string
			if err := chromedp.Do(ctx, chromedp.Click(`#uncovered a`), chromedp.WaitVisible(`#submit-sign`), text(`#groups`, &groups)); err != nil {
				t.Fatalf("sign form: %v", err)
			}
			if !strings.Contains(groups, "0–6") {
				t.Errorf("key groups %q", groups)
			}
			fits(t, "the contract form")
			if err := chromedp.Do(ctx, chromedp.Click(`#submit-sign`), chromedp.WaitVisible(`#contract`), text(`#valid`, &valid), shot("82-gp-signed"), logout); err != nil {
				t.Fatalf("sign: %v", err)
			}
			var mine string
			if err := chromedp.Do(ctx, login(s, "demo.resident", residentPW, "/me"), chromedp.WaitVisible(`main a[href^="/gp/contracts/"]`), text(`main`, &mine)); err != nil {
				t.Fatalf("我的: %v", err)
			}
			if !strings.Contains(mine, "家庭医生团队") || !strings.Contains(mine, "托**") {
				t.Errorf("我的 lacks the contract:\n%s", mine)
			}
			fits(t, "我的")
		})
	})
}
