package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"linli/internal/registry/idno"
)

func TestEndToEndRevealIsAudited(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, store []string) {
		ctx := browser(t)
		s := startServer(t, t.TempDir(), append(store, "--demo", "--demo-scale", "community")...)
		workerPW := demoPassword(t, s, "demo.worker")
		auditorPW := demoPassword(t, s, "demo.auditor")
		var name string
		if err := chromedp.Do(ctx,
			login(s, "demo.worker", workerPW, "/registry/residents"),
			chromedp.WaitVisible(`#q`),
			text(`table tbody tr td a`, &name),
		); err != nil {
			t.Fatalf("resident list: %v", err)
		}
		if name == "" {
			t.Fatal("the demo community lists no resident")
		}
		var masked, revealed, auditRows string
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(`#q`, name),
			chromedp.Submit(`#q`),
			// The result page renders the query into the box; the list page
			// before it does not.
			chromedp.WaitVisible(`#q[value="`+name+`"]`),
			chromedp.WaitVisible(`table tbody tr td a`),
			chromedp.Click(`table tbody tr td a`),
			chromedp.WaitVisible(`#reveal`),
			text(`#id-number`, &masked),
			chromedp.SetValue(`#field`, "id_number"),
			chromedp.SendKeys(`#f-reason`, "入户走访核对身份 / home visit identity check"),
			chromedp.Click(`#reveal`),
			chromedp.WaitVisible(`#revealed`),
			text(`#revealed`, &revealed),
			shot("30-revealed"),
			logout,
			login(s, "demo.auditor", auditorPW, "/audit?action=registry.reveal"),
			chromedp.WaitVisible(`table tbody`),
			text(`table tbody`, &auditRows),
			shot("31-audit"),
		); err != nil {
			t.Fatalf("reveal flow: %v", err)
		}
		if !strings.Contains(masked, "****") {
			t.Fatalf("record not masked by default: %q", masked)
		}
		if len(revealed) != 18 || idno.Mask(revealed) != masked {
			t.Fatalf("revealed %q does not complete masked %q", revealed, masked)
		}
		if !strings.Contains(auditRows, "demo.worker") || !strings.Contains(auditRows, "registry.reveal") || !strings.Contains(auditRows, "入户走访核对身份") {
			t.Fatalf("auditor does not find the reveal:\n%s", auditRows)
		}
		if strings.Contains(auditRows, revealed) {
			t.Fatal("the audit log holds the revealed value itself")
		}
	})
}
