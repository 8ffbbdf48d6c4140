package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// 动态监测 on a phone without JavaScript: the community worker finds a
// household the other loops flagged on the 工作台, taps it, gets the
// application form prefilled with the household and the reason, and
// applies on its behalf; the application links back to its source. Every
// page passes axe and fits 360 px, in normal and 长辈模式.
func TestEndToEndWorkerStartsAnApplicationFromAMonitoringSignal(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, store []string) {
		ctx, cancel := context.WithTimeout(chromium(t, chromedp.WindowSize(360, 740)), 300*time.Second)
		defer cancel()
		s := startServer(t, t.TempDir(), append(store, "--demo", "--demo-scale", "community")...)
		workerPW := demoPassword(t, s, "demo.worker")
		if err := chromedp.Do(ctx, noScripts, chromedp.EmulateViewport(360, 740)); err != nil {
			t.Fatalf("a phone without JavaScript: %v", err)
		}
		fits := func(t *testing.T, what string) {
			t.Helper()
			fitsPhoneInBothModes(ctx, t, s, what)
		}
		var work, signal, source, path string
		t.Run("the 工作台 lists a household found by another loop; one tap opens its prefilled application", func(t *testing.T) {
			if err := chromedp.Do(ctx,
				login(s, "demo.worker", workerPW, "/work?kind=assistance.watch"),
				chromedp.WaitVisible(`#work-items`),
				text(`#work-items`, &work),
			); err != nil {
				t.Fatalf("工作台: %v", err)
			}
			if !strings.Contains(work, "主动发现") {
				t.Fatalf("no household found on the 工作台:\n%s", work)
			}
			fits(t, "the 工作台 of households found")
			if err := chromedp.Do(ctx,
				chromedp.Click(`#work-items a[href^="/assistance/apply"]`),
				chromedp.WaitVisible(`#signal`),
				text(`#signal`, &signal),
			); err != nil {
				t.Fatalf("the prefilled form: %v", err)
			}
			if !strings.Contains(signal, "主动发现") {
				t.Fatalf("the form names no reason: %q", signal)
			}
			fits(t, "the prefilled form")
		})
		t.Run("the worker applies on the household's behalf; the application links back to the signal", func(t *testing.T) {
			if err := chromedp.Do(ctx,
				chromedp.Click(`#p-dibao`),
				chromedp.SendKeys(`#f-income`, "500"),
				chromedp.Click(`#f-consent`),
				shot("75-assistance-from-signal"),
				chromedp.Click(`#submit-application`),
				chromedp.WaitVisible(`#source`),
				text(`#source`, &source),
				evalString(`location.pathname`, &path),
			); err != nil {
				t.Fatalf("apply: %v", err)
			}
			if !strings.Contains(path, "/assistance/applications/") || !strings.Contains(source, "来源") {
				t.Fatalf("after applying: %s, source %q", path, source)
			}
			fits(t, "the application started from a signal")
		})
	})
}
