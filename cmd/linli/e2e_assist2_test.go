package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
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
			for _, elder := range []string{"0", "1"} {
				var widths []float64
				if err := chromedp.Do(ctx,
					chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
						_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: "elder", Value: elder, URL: s.URL})
						return err
					}),
					chromedp.Reload(),
					chromedp.WaitVisible(`main`),
					evalFloats(`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`, &widths),
				); err != nil {
					t.Fatalf("%s (elder %s): %v", what, elder, err)
				}
				if len(widths) != 2 || widths[0] > widths[1] {
					t.Errorf("%s (elder %s) scrolls sideways: %v", what, elder, widths)
				}
				res, err := runAxe(ctx)
				if err != nil {
					t.Fatalf("axe on %s: %v", what, err)
				}
				for _, v := range res.Violations {
					if v.Impact == "serious" || v.Impact == "critical" {
						t.Errorf("%s (elder %s): axe %s (%s) at %v", what, elder, v.ID, v.Impact, v.Targets)
					}
				}
			}
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
