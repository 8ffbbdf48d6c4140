package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A resident submits on a phone, the worker accepts and answers, the
// resident is unsatisfied, the request reopens and the worker's inbox shows
// it under 重办.
func TestEndToEndRequestReopenedByUnsatisfiedResident(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, store []string) {
		ctx := browser(t)
		s := startServer(t, t.TempDir(), append(store, "--demo", "--demo-scale", "community")...)
		residentPW := demoPassword(t, s, "demo.resident")
		workerPW := demoPassword(t, s, "demo.worker")
		var number, status, chosen string
		var questions int
		if err := chromedp.Do(ctx,
			login(s, "demo.resident", residentPW, "/requests/new"),
			chromedp.WaitVisible(`input[name=category][value=policy]`),
			shot("40-request-category"),
			chromedp.Click(`input[name=category][value=policy]`),
			chromedp.Click(`#next`),
			chromedp.WaitVisible(`textarea[name=description]`),
			text(`#chosen`, &chosen),
			count(`[name^="attribute["]`, &questions),
			chromedp.SendKeys(`textarea[name=description]`, "灵活就业人员医保怎么缴纳？"),
			shot("40-request-new"),
			chromedp.Click(`#submit`),
			chromedp.WaitVisible(`#number`),
			text(`#number`, &number),
			text(`#status`, &status),
			shot("41-request-receipt"),
			logout,
		); err != nil {
			t.Fatalf("resident submits: %v", err)
		}
		if chosen != "政策咨询" || questions != 0 {
			t.Fatalf("the form after choosing 政策咨询: %q with %d extra questions", chosen, questions)
		}
		if !strings.HasPrefix(number, "MH-330106-") || status != "待受理" {
			t.Fatalf("receipt: %q %q", number, status)
		}
		if err := chromedp.Do(ctx,
			login(s, "demo.worker", workerPW, "/requests/"+number),
			chromedp.WaitVisible(`#do-accept`),
			chromedp.Click(`#do-accept`),
			chromedp.WaitVisible(`#do-answer`),
			chromedp.SendKeys(`textarea[name=reply]`, "灵活就业人员可在浙里办按月缴纳。"),
			chromedp.Click(`#do-answer`),
			chromedp.WaitVisible(`#reply`),
			text(`#status`, &status),
			logout,
		); err != nil {
			t.Fatalf("worker accepts and answers: %v", err)
		}
		if status != "已办结" {
			t.Fatalf("after answer: %q", status)
		}
		var timeline string
		if err := chromedp.Do(ctx,
			login(s, "demo.resident", residentPW, "/requests/"+number),
			chromedp.WaitVisible(`#evaluate`),
			chromedp.Click(`#rate-unsatisfied`),
			chromedp.SendKeys(`textarea[name=comment]`, "没有说明缴费档次"),
			chromedp.Click(`#do-evaluate`),
			chromedp.WaitVisible(`p.notice`),
			text(`#status`, &status),
			text(`#timeline`, &timeline),
			shot("42-request-reopened"),
			logout,
		); err != nil {
			t.Fatalf("resident evaluates: %v", err)
		}
		if status != "已重办" || !strings.Contains(timeline, "没有说明缴费档次") {
			t.Fatalf("after 不满意: %q\n%s", status, timeline)
		}
		var inbox string
		if err := chromedp.Do(ctx,
			login(s, "demo.worker", workerPW, "/requests?box=reopened"),
			chromedp.WaitVisible(`#requests`),
			text(`#requests`, &inbox),
			shot("43-inbox-reopened"),
		); err != nil {
			t.Fatalf("worker inbox: %v", err)
		}
		if !strings.Contains(inbox, number) || !strings.Contains(inbox, "已重办") {
			t.Fatalf("reopened box lacks %s:\n%s", number, inbox)
		}
		// The demo county's requests appear on the metrics page.
		var received, table string
		if err := chromedp.Do(ctx,
			chromedp.Navigate(s.URL+"/requests/metrics"),
			chromedp.WaitVisible(`#kpis`),
			text(`#received`, &received),
			text(`table tbody`, &table),
			shot("44-request-metrics"),
		); err != nil {
			t.Fatalf("metrics page: %v", err)
		}
		if received == "" || received == "0" || !strings.Contains(table, "类别") {
			t.Fatalf("metrics: received %q\n%s", received, table)
		}
	})
}

// count stores how many elements match sel.
func count(sel string, dst *int) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		n, err := chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel))(ctx, t)
		*dst = n
		return err
	})
}
