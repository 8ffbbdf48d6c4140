package assistance_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/assistance"
)

// enrolling walks a household's dibao application up to its public
// notice; approveAndEnrol finishes it once the notice has run.
func (w *town) enrolling(t *testing.T, income int64) (string, assistance.Application) {
	t.Helper()
	hh, _ := w.household(t, "", 1976, 1978)
	cw := w.e.Login("cw.a")
	a := apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications", assistance.ApplyInput{
		HouseholdID: hh, IncomeFen: fen(income), AssetsFen: fen(0), Programmes: []string{"dibao"}, Consent: true}, 201)
	for _, step := range []struct {
		action string
		in     assistance.Input
	}{{"accept", assistance.Input{}}, {"check", assistance.Input{}}, {"checked", assistance.Input{}}, {"publicize", assistance.Input{Note: "入户调查属实"}}} {
		a = apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications/"+a.ID+"/"+step.action, step.in, 200)
	}
	return hh, a
}

func (w *town) approveAndEnrol(t *testing.T, a assistance.Application, account string) assistance.Application {
	t.Helper()
	a = apptest.JSON[assistance.Application](t, w.e.Login("off.county"), "POST", "/api/v1/assistance/applications/"+a.ID+"/approve", assistance.Input{}, 200)
	return apptest.JSON[assistance.Application](t, w.e.Login("cw.a"), "POST", "/api/v1/assistance/applications/"+a.ID+"/enrol",
		assistance.Input{AccountHolder: "王小明" + account[len(account)-2:], BankAccount: account}, 200)
}

func sha(b string) string { s := sha256.Sum256([]byte(b)); return hex.EncodeToString(s[:]) }

// 按月发放: three households enrolled in December are paid for December
// in one batch whose total is the sum of their entitlements; the month
// is run once; the bank file carries the accounts and its hash, the
// review copy masks them; a return file naming an unknown row or a
// changed amount writes nothing; one failed row marks exactly that
// payment failed and puts the household on the monitoring list; in
// January the failed month and a household enrolled after the December
// batch are paid with arrears, and the household that exited in
// December is not paid.
func TestMonthlyPaymentsBankFileAndReturn(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		var apps []assistance.Application
		var households []string
		for _, income := range []int64{100000, 60000, 150000} {
			hh, a := w.enrolling(t, income)
			households, apps = append(households, hh), append(apps, a)
		}
		hhLate, late := w.enrolling(t, 80000)
		// Monday 7 December 2026: the notices have run their 7 days.
		e.Clock.Set(time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC))
		accounts := []string{"6222020200112233401", "6222020200112233402", "6222020200112233403"}
		for i := range apps {
			apps[i] = w.approveAndEnrol(t, apps[i], accounts[i])
		}
		off := e.Login("off.county")
		payments := func() int { return e.Count(`SELECT COUNT(*) FROM ast_payments`) }
		var dec assistance.Batch

		t.Run("a community worker cannot run payments; a future month is refused naming the month", func(t *testing.T) {
			if st, body := e.Login("cw.a").Do("POST", "/api/v1/assistance/payments", assistance.PaymentRunInput{Month: "2026-12"}); st != 403 {
				t.Fatalf("community worker: %d %s", st, body)
			}
			if st, body := off.Do("POST", "/api/v1/assistance/payments", assistance.PaymentRunInput{Month: "2027-01"}); st != 400 || !strings.Contains(body, `"month"`) {
				t.Fatalf("future month: %d %s", st, body)
			}
		})
		t.Run("the third household exits in December: it is paid for December, its month of exit", func(t *testing.T) {
			apps[2] = apptest.JSON[assistance.Application](t, e.Login("cw.a"), "POST", "/api/v1/assistance/applications/"+apps[2].ID+"/exit", assistance.Input{Reason: "就业"}, 200)
		})
		t.Run("the December batch's total is the sum of the households' entitlements", func(t *testing.T) {
			dec = apptest.JSON[assistance.Batch](t, off, "POST", "/api/v1/assistance/payments", assistance.PaymentRunInput{Month: "2026-12"}, 201)
			var want int64
			for _, a := range apps {
				if a.AmountFen <= 0 {
					t.Fatalf("application %s enrolled without an amount", a.ID)
				}
				want += a.AmountFen
			}
			if dec.Rows != 3 || dec.TotalFen != want || dec.PendingRows != 3 || dec.Period != "2026-12" {
				t.Fatalf("batch %+v, want 3 rows totalling %d", dec, want)
			}
		})
		t.Run("a second run of December is 409 naming the batch and writes nothing", func(t *testing.T) {
			before := payments()
			st, body := off.Do("POST", "/api/v1/assistance/payments", assistance.PaymentRunInput{Month: "2026-12"})
			if st != 409 || !strings.Contains(body, dec.ID) {
				t.Fatalf("second run: %d %s", st, body)
			}
			if payments() != before {
				t.Fatal("the refused run wrote payments")
			}
		})
		var rows [][]string
		t.Run("the bank file carries names, accounts, yuan and a totals line under its SHA-256; the review copy masks them", func(t *testing.T) {
			st, body, hdr := off.Get("/api/v1/assistance/payments/" + dec.ID + "/bank-file")
			if st != 200 || !strings.HasPrefix(body, "\ufeff序号") || hdr.Get("X-Content-SHA256") != sha(body) {
				t.Fatalf("bank file %d %q %v", st, body, hdr)
			}
			lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(body, "\ufeff")), "\n")
			if len(lines) != 5 || !strings.HasPrefix(lines[4], "合计") || !strings.Contains(lines[4], assistance.BankYuan(dec.TotalFen)) {
				t.Fatalf("bank file lines %q", lines)
			}
			for _, acc := range accounts {
				if !strings.Contains(body, acc) {
					t.Errorf("bank file lacks account %s", acc)
				}
			}
			for _, l := range lines[1:4] {
				rows = append(rows, strings.Split(strings.TrimSpace(l), ","))
			}
			if b := apptest.JSON[assistance.Batch](t, off, "GET", "/api/v1/assistance/payments/"+dec.ID, nil, 200); b.FileSHA256 != sha(body) {
				t.Errorf("the batch keeps hash %q", b.FileSHA256)
			}
			if st, page, _ := off.Get("/assistance/payments/" + dec.ID); st != 200 || !strings.Contains(page, sha(body)) {
				t.Errorf("the batch page does not show the hash: %d", st)
			}
			_, review, _ := off.Get("/api/v1/assistance/payments/" + dec.ID + "/bank-file?masked=1")
			if strings.Contains(review, accounts[0]) || strings.Contains(review, "王小明") || !strings.Contains(review, "***************3401") {
				t.Fatalf("review copy not masked: %q", review)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'assistance.pay_export' AND object_id = $1`, dec.ID); n != 2 {
				t.Errorf("%d exports audited, want 2", n)
			}
		})
		ret := func(lines ...string) string {
			return "\ufeffref,account,amount,status,reason\n" + strings.Join(lines, "\n") + "\n"
		}
		line := func(r []string, status, reason string) string {
			return strings.Join([]string{r[0], r[2], strings.ReplaceAll(r[3], "\"", ""), status, reason}, ",")
		}
		send := func(body string) (int, string) {
			req := off.NewRequest("POST", "/api/v1/assistance/payments/"+dec.ID+"/return", strings.NewReader(body))
			req.Header.Set("Content-Type", "text/csv")
			st, text, _ := off.Send(req)
			return st, text
		}
		pending := func() int {
			return e.Count(`SELECT COUNT(*) FROM ast_payments WHERE batch_id = $1 AND status = 'pending'`, dec.ID)
		}
		t.Run("a return file with an unknown row is refused naming its line; nothing is written", func(t *testing.T) {
			st, body := send(ret(line(rows[0], "成功", ""), line(rows[1], "成功", ""), "99,6222020200112233409,10.00,成功,"))
			if st != 400 || !strings.Contains(body, "rows[4].ref") || pending() != 3 {
				t.Fatalf("unknown row: %d %s, %d pending", st, body, pending())
			}
		})
		t.Run("a return file with a changed amount is refused naming its line and column; nothing is written", func(t *testing.T) {
			changed := append([]string{}, rows[1]...)
			changed[3] = "1.00"
			st, body := send(ret(line(rows[0], "ok", ""), line(changed, "ok", ""), line(rows[2], "ok", "")))
			if st != 400 || !strings.Contains(body, "rows[3].amount") || pending() != 3 {
				t.Fatalf("changed amount: %d %s, %d pending", st, body, pending())
			}
		})
		var failedRef string
		t.Run("one failed row marks exactly that payment failed and raises the household's warning", func(t *testing.T) {
			failedRef = rows[1][0]
			st, body := send(ret(line(rows[0], "成功", ""), line(rows[1], "失败", "账户已销户"), line(rows[2], "成功", "")))
			if st != 200 {
				t.Fatalf("return: %d %s", st, body)
			}
			b := apptest.JSON[assistance.Batch](t, off, "GET", "/api/v1/assistance/payments/"+dec.ID, nil, 200)
			if b.PaidRows != 2 || b.FailedRows != 1 || b.PendingRows != 0 || b.PaidFen+b.FailedFen != dec.TotalFen {
				t.Fatalf("after the return: %+v", b)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_payments WHERE batch_id = $1 AND status = 'failed' AND CAST(ref AS TEXT) = $2 AND reason = '账户已销户'`, dec.ID, failedRef); n != 1 {
				t.Fatalf("row %s not the failed one", failedRef)
			}
			sigs, _, err := w.as.Watch(w.cw, &access.Principal{Username: "cw.a", Role: access.CommunityWorker, Division: communityA}, 50)
			if err != nil {
				t.Fatal(err)
			}
			var found []string
			for _, g := range sigs {
				if g.Kind == assistance.SignalPayment {
					found = append(found, g.HouseholdID)
					if g.StartHref() != "/assistance/payments/"+dec.ID {
						t.Errorf("the warning leads to %s", g.StartHref())
					}
				}
			}
			var failedHousehold string
			_ = e.App.DB.R.QueryRow(`SELECT household_id FROM ast_payments WHERE batch_id = $1 AND status = 'failed'`, dec.ID).Scan(&failedHousehold)
			if len(found) != 1 || found[0] != failedHousehold {
				t.Fatalf("payment warnings %v, want the household %s", found, failedHousehold)
			}
		})
		t.Run("the household's page shows its payment history", func(t *testing.T) {
			st, page, _ := e.Login("cw.a").Get("/assistance/applications/" + apps[0].ID)
			if st != 200 || !strings.Contains(page, `id="payments"`) || !strings.Contains(page, "2026-12") || !strings.Contains(page, assistance.Yuan(apps[0].AmountFen)) {
				t.Fatalf("application page %d lacks the payments", st)
			}
		})
		var jan assistance.Batch
		t.Run("January pays the failed December again, the late household from December, and not the household that exited", func(t *testing.T) {
			late = w.approveAndEnrol(t, late, "6222020200112233404") // enrolled in December, after the batch
			e.Clock.Set(time.Date(2027, 1, 5, 2, 0, 0, 0, time.UTC))
			off = e.Login("off.county")
			_, confirm, _ := off.Get("/assistance/payments/new?month=2027-01")
			if !strings.Contains(confirm, `id="confirm-run"`) {
				t.Fatalf("no confirmation: %s", confirm)
			}
			st, _, hdr := off.Form("/assistance/payments", map[string]string{"month": "2027-01"}, nil)
			if st != 303 {
				t.Fatalf("page run: %d", st)
			}
			id := strings.TrimPrefix(strings.Split(hdr.Get("Location"), "?")[0], "/assistance/payments/")
			jan = apptest.JSON[assistance.Batch](t, off, "GET", "/api/v1/assistance/payments/"+id, nil, 200)
			want := apps[0].AmountFen + 2*apps[1].AmountFen + 2*late.AmountFen
			if jan.Rows != 3 || jan.TotalFen != want {
				t.Fatalf("January %+v, want 3 rows totalling %d", jan, want)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_payments WHERE batch_id = $1 AND household_id = $2`, jan.ID, households[2]); n != 0 {
				t.Fatal("the household that exited in December is paid for January")
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_payments WHERE batch_id = $1 AND household_id = $2 AND from_month < to_month`, jan.ID, hhLate); n != 1 {
				t.Fatal("the late household's December is not paid as arrears")
			}
		})
		t.Run("the payments page lists both months, the newest first, and refuses a second run naming the batch", func(t *testing.T) {
			st, page, _ := off.Get("/assistance/payments")
			if st != 200 || !strings.Contains(page, "batch-2027-01") || strings.Index(page, "batch-2027-01") > strings.Index(page, "batch-2026-12") {
				t.Fatalf("payments page %d", st)
			}
			st, page, _ = off.Form("/assistance/payments", map[string]string{"month": "2027-01"}, nil)
			if st != 409 || !strings.Contains(page, jan.ID) {
				t.Fatalf("second page run: %d", st)
			}
			if _, list, _ := off.Get("/assistance"); !strings.Contains(list, `href="/assistance/payments"`) {
				t.Error("the assistance list does not link to the payments")
			}
		})
	})
}
