package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A home-care order's loop on phones without JavaScript: the demo
// resident orders 助浴; the provider accepts and assigns its carer; the
// carer checks in and out; the resident confirms and rates; the
// provider's settlements page lists the service for the month. Each page
// passes axe-core and fits 360 px.
func TestEndToEndCareOrderAssignCheckConfirmSettle(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, store []string) {
		ctx, cancel := context.WithTimeout(chromium(t, chromedp.WindowSize(360, 740)), 300*time.Second)
		defer cancel()
		s := startServer(t, t.TempDir(), append(store, "--demo", "--demo-scale", "community")...)
		residentPW, providerPW, carerPW := demoPassword(t, s, "demo.resident"), demoPassword(t, s, "demo.provider"), demoPassword(t, s, "demo.carer")
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
		var orderPath string

		if !t.Run("the resident orders 助浴 from the form", func(t *testing.T) {
			var offer string
			if err := chromedp.Do(ctx,
				login(s, "demo.resident", residentPW, "/care/mine"),
				chromedp.WaitVisible(`#order-form`),
			); err != nil {
				t.Fatalf("the form: %v", err)
			}
			offer, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#f-offer').selectedOptions[0].textContent`))
			if !strings.Contains(offer, "助浴") {
				t.Fatalf("the first offer is %q", offer)
			}
			fits(t, "/care/mine")
			if err := chromedp.Do(ctx,
				shot("80-care-mine"),
				chromedp.Click(`#order`),
				chromedp.WaitVisible(`#ordered`),
			); err != nil {
				t.Fatalf("order: %v", err)
			}
			href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#my-orders a').getAttribute('href')`))
			if err != nil || !strings.HasPrefix(href, "/care/orders/") {
				t.Fatalf("the order's link %q (%v)", href, err)
			}
			orderPath = href
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}

		if !t.Run("the provider starts on its workspace, accepts and assigns its carer", func(t *testing.T) {
			var staff string
			if err := chromedp.Do(ctx,
				login(s, "demo.provider", providerPW, "/"),
				chromedp.WaitVisible(`#orders`),
			); err != nil {
				t.Fatalf("the workspace: %v", err)
			}
			fits(t, "/care")
			if err := chromedp.Do(ctx,
				shot("81-care-workspace"),
				chromedp.Navigate(s.URL+orderPath),
				chromedp.WaitVisible(`#accept`),
				chromedp.Click(`#accept`),
				chromedp.WaitVisible(`#f-staff_id`),
			); err != nil {
				t.Fatalf("accept: %v", err)
			}
			staff, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#f-staff_id').selectedOptions[0].textContent`))
			if !strings.Contains(staff, "demo.carer") {
				t.Fatalf("the staff offered first: %q", staff)
			}
			fits(t, orderPath)
			if err := chromedp.Do(ctx,
				chromedp.Click(`#assign`),
				chromedp.WaitVisible(`#staff-name`),
				logout,
			); err != nil {
				t.Fatalf("assign: %v", err)
			}
		}) {
			return
		}

		if !t.Run("the carer checks in and out from the phone", func(t *testing.T) {
			var status string
			if err := chromedp.Do(ctx,
				login(s, "demo.carer", carerPW, orderPath),
				chromedp.WaitVisible(`#check-in`),
			); err != nil {
				t.Fatalf("the order: %v", err)
			}
			fits(t, orderPath+" check-in")
			if err := chromedp.Do(ctx,
				shot("82-care-check-in"),
				chromedp.Click(`#check-in`),
				chromedp.WaitVisible(`#check-out`),
				chromedp.Click(`#check-out`),
				chromedp.WaitVisible(`#amount`),
				text(`#status`, &status),
			); err != nil {
				t.Fatalf("check in and out: %v", err)
			}
			if status != "待确认" {
				t.Fatalf("after checking out: %q", status)
			}
			if err := chromedp.Do(ctx, logout); err != nil {
				t.Fatal(err)
			}
		}) {
			return
		}

		if !t.Run("the resident confirms and rates", func(t *testing.T) {
			var rated string
			if err := chromedp.Do(ctx,
				login(s, "demo.resident", residentPW, orderPath),
				chromedp.WaitVisible(`#confirm`),
				chromedp.Click(`#confirm`),
				chromedp.WaitVisible(`#rate`),
			); err != nil {
				t.Fatalf("confirm: %v", err)
			}
			fits(t, orderPath+" rate")
			if err := chromedp.Do(ctx,
				chromedp.Click(`input[name=rating][value="5"]`),
				chromedp.Click(`#rate`),
				chromedp.WaitVisible(`#rated`),
				text(`#rated`, &rated),
				shot("83-care-rated"),
				logout,
			); err != nil {
				t.Fatalf("rate: %v", err)
			}
			if !strings.HasPrefix(rated, "5★") {
				t.Fatalf("rated %q", rated)
			}
		}) {
			return
		}

		t.Run("the month's settlement lists the service", func(t *testing.T) {
			var lines string
			if err := chromedp.Do(ctx,
				login(s, "demo.provider", providerPW, "/care/settlements"),
				chromedp.WaitVisible(`#unsettled-lines`),
				text(`#unsettled-lines`, &lines),
			); err != nil {
				t.Fatalf("settlements: %v", err)
			}
			fits(t, "/care/settlements")
			found, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('#unsettled-lines a[href="`+orderPath+`"]')`))
			if err != nil || !found || !strings.Contains(lines, "助浴") {
				t.Fatalf("the service is not listed (%v):\n%s", err, lines)
			}
			if err := chromedp.Do(ctx, shot("84-care-settlements")); err != nil {
				t.Fatal(err)
			}
		})
	})
}
