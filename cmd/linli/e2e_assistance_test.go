package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// One-stop assistance on a phone without JavaScript: the resident applies
// for their household's 低保 with consent and is told what else the
// household may qualify for; the community worker finds the application
// on the 工作台 and accepts it. Every page passes axe and fits 360 px, in
// normal and 长辈模式.
func TestEndToEndResidentAppliesForAssistanceAndWorkerAccepts(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, store []string) {
		ctx, cancel := context.WithTimeout(chromium(t, chromedp.WindowSize(360, 740)), 300*time.Second)
		defer cancel()
		s := startServer(t, t.TempDir(), append(store, "--demo", "--demo-scale", "community")...)
		residentPW, workerPW := demoPassword(t, s, "demo.resident"), demoPassword(t, s, "demo.worker")
		if err := chromedp.Do(ctx, noScripts, chromedp.EmulateViewport(360, 740)); err != nil {
			t.Fatalf("a phone without JavaScript: %v", err)
		}
		// fits checks the loaded page: no sideways scroll at 360 px and no
		// serious or critical axe finding, in normal and 长辈模式.
		fits := func(t *testing.T, what string) {
			t.Helper()
			fitsPhoneInBothModes(ctx, t, s, what)
		}
		var appPath, status, plausible, results string
		if !t.Run("the resident fills in the form on the phone and applies for 低保 with consent", func(t *testing.T) {
			if err := chromedp.Do(ctx,
				login(s, "demo.resident", residentPW, "/assistance/apply"),
				chromedp.WaitVisible(`#p-dibao`),
			); err != nil {
				t.Fatalf("the form: %v", err)
			}
			fits(t, "the application form")
			if err := chromedp.Do(ctx,
				chromedp.Click(`#p-dibao`),
				chromedp.SendKeys(`#f-income`, "300"),
				chromedp.SendKeys(`#f-assets`, "2000"),
				chromedp.Click(`#f-consent`),
				shot("70-assistance-apply"),
				chromedp.Click(`#submit-application`),
				chromedp.WaitVisible(`#results`),
				evalString(`location.pathname`, &appPath),
				evalString(`document.querySelector("#status").dataset.status`, &status),
				text(`#results`, &results),
			); err != nil {
				t.Fatalf("apply: %v", err)
			}
			if status != "submitted" || !strings.Contains(appPath, "/assistance/applications/") || !strings.Contains(results, "人均月收入") {
				t.Fatalf("after applying: %q at %s\n%s", status, appPath, results)
			}
			// 300 yuan for the household is below every income line: 临时救助
			// (not asked for) qualifies too.
			if err := chromedp.Do(ctx, text(`#plausible`, &plausible)); err != nil || !strings.Contains(plausible, "你家可能还符合：") || !strings.Contains(plausible, "临时救助") {
				t.Fatalf("plausible %q: %v", plausible, err)
			}
			fits(t, "the application")
			if err := chromedp.Do(ctx, shot("71-assistance-applied"), logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}
		t.Run("the community worker finds it on the 工作台 and accepts it", func(t *testing.T) {
			var work string
			if err := chromedp.Do(ctx,
				login(s, "demo.worker", workerPW, "/work?kind=assistance.submitted"),
				chromedp.WaitVisible(`#work-items`),
				text(`#work-items`, &work),
				chromedp.Click(`#work-items a[href="`+appPath+`"]`),
				chromedp.WaitVisible(`#do-accept`),
			); err != nil {
				t.Fatalf("工作台 → application: %v\n%s", err, work)
			}
			fits(t, "the application for the worker")
			var events string
			if err := chromedp.Do(ctx,
				chromedp.Click(`#do-accept`),
				chromedp.WaitVisible(`#do-check`),
				evalString(`document.querySelector("#status").dataset.status`, &status),
				text(`#events`, &events),
				shot("72-assistance-accepted"),
			); err != nil {
				t.Fatalf("accept: %v", err)
			}
			if status != "accepted" || !strings.Contains(events, "accept · demo.worker") {
				t.Fatalf("after accepting: %q\n%s", status, events)
			}
		})
	})
}

// evalFloats evaluates a script that answers a list of numbers.
func evalFloats(js string, dst *[]float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
		*dst, err = chromedp.Evaluate[[]float64](js)(ctx, tg)
		return err
	})
}

// evalString evaluates a script that answers a string.
func evalString(js string, dst *string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
		*dst, err = chromedp.Evaluate[string](js)(ctx, tg)
		return err
	})
}
