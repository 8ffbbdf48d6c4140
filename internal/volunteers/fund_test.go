package volunteers_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/volunteers"
)

// balanceOf checks a fund's totals against its ledger, read both ways: the
// public API and the entries themselves.
func fundBalance(t *testing.T, e *apptest.Env, c string, step string, want int64) {
	t.Helper()
	l := apptest.JSON[volunteers.FundLedger](t, e.Client(), "GET", "/api/v1/funds/"+c, nil, 200)
	if l.BalanceFen != want || l.DonatedFen-l.GrantedFen != want {
		t.Fatalf("%s: the ledger answers %+v, want a balance of %d fen", step, l, want)
	}
	sum := e.Count(`SELECT COALESCE(SUM(CASE WHEN (kind = 'donation') = (reverses = '') THEN amount ELSE -amount END), 0) FROM vol_fund_entries WHERE division_code = $1`, c)
	if int64(sum) != want {
		t.Fatalf("%s: the entries sum to %d fen, want %d", step, sum, want)
	}
}

func TestCommunityFund(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("cw.a", access.CommunityWorker, communityA)
		e.User("cw.b", access.CommunityWorker, communityB)
		e.User("off.t", access.Officer, communityA[:9])
		e.User("res.a", access.Resident, communityA)
		cw := e.Login("cw.a")
		today := e.Clock.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		path := "/api/v1/funds/" + communityA + "/entries"
		var gift volunteers.FundEntry
		t.Run("a community without a fund has an empty public ledger", func(t *testing.T) {
			fundBalance(t, e, communityA, "empty", 0)
		})
		t.Run("a grant from an empty fund is refused with 409 naming the amount, nothing written", func(t *testing.T) {
			st, body := cw.Do("POST", path, volunteers.FundInput{Kind: volunteers.FundGrant, AmountFen: 100, Party: "老年食堂", Purpose: "助餐", Date: today, ApprovedBy: "居委会"})
			if st != 409 || !strings.Contains(body, "amount_fen") || !strings.Contains(body, "余额") {
				t.Fatalf("got %d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_fund_entries`); n != 0 {
				t.Fatalf("%d entries", n)
			}
		})
		t.Run("the community's worker records donations, named or anonymous, audited; the balance follows each", func(t *testing.T) {
			gift = apptest.JSON[volunteers.FundEntry](t, cw, "POST", path, volunteers.FundInput{Kind: volunteers.FundDonation, AmountFen: 500000, Party: "爱心企业", Purpose: "助餐", Date: today, Channel: "bank"}, 201)
			if gift.Seq != 1 || gift.Party != "爱心企业" || gift.Community != communityA {
				t.Fatalf("%+v", gift)
			}
			fundBalance(t, e, communityA, "first donation", 500000)
			anon := apptest.JSON[volunteers.FundEntry](t, cw, "POST", path, volunteers.FundInput{Kind: volunteers.FundDonation, AmountFen: 12345, Date: today, Channel: "wechat"}, 201)
			if anon.Party != volunteers.Anonymous || anon.Seq != 2 {
				t.Fatalf("%+v", anon)
			}
			fundBalance(t, e, communityA, "anonymous donation", 512345)
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'volunteers.fund.donation' AND division_code = $1`, communityA); n != 2 {
				t.Fatalf("%d audit records", n)
			}
		})
		t.Run("bad input is named field by field and changes nothing", func(t *testing.T) {
			st, body := cw.Do("POST", path, volunteers.FundInput{Kind: volunteers.FundGrant, AmountFen: 0, Date: "2099-01-01"})
			for _, f := range []string{"amount_fen", "party", "purpose", "approved_by", "date"} {
				if st != 422 && st != 400 || !strings.Contains(body, `"`+f+`"`) {
					t.Fatalf("%s not named: %d %s", f, st, body)
				}
			}
			if st, body := cw.Do("POST", path, volunteers.FundInput{Kind: volunteers.FundDonation, AmountFen: 100, Date: today, Channel: "gold"}); !strings.Contains(body, `"channel"`) {
				t.Fatalf("a bad channel: %d %s", st, body)
			}
			fundBalance(t, e, communityA, "after bad input", 512345)
		})
		t.Run("a grant within the balance is recorded; one beyond it is refused with 409 and nothing written", func(t *testing.T) {
			g := apptest.JSON[volunteers.FundEntry](t, cw, "POST", path, volunteers.FundInput{Kind: volunteers.FundGrant, AmountFen: 300000, Party: "老年食堂", Purpose: "高龄老人助餐", Date: today, ApprovedBy: "居委会月度会议"}, 201)
			if g.Seq != 3 || g.ApprovedBy != "居委会月度会议" {
				t.Fatalf("%+v", g)
			}
			fundBalance(t, e, communityA, "grant", 212345)
			st, body := cw.Do("POST", path, volunteers.FundInput{Kind: volunteers.FundGrant, AmountFen: 212346, Party: "学生", Purpose: "助学", Date: today, ApprovedBy: "居委会"})
			if st != 409 || !strings.Contains(body, "amount_fen") || !strings.Contains(body, "2123.45") {
				t.Fatalf("got %d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_fund_entries`); n != 3 {
				t.Fatalf("%d entries", n)
			}
			fundBalance(t, e, communityA, "refused grant", 212345)
			apptest.JSON[volunteers.FundEntry](t, cw, "POST", path, volunteers.FundInput{Kind: volunteers.FundGrant, AmountFen: 212345, Party: "学生", Purpose: "助学", Date: today, ApprovedBy: "居委会"}, 201)
			fundBalance(t, e, communityA, "the whole balance granted", 0)
		})
		t.Run("reversing a donation already spent is refused; a reversal needs a reason; a grant reversed returns its amount, once", func(t *testing.T) {
			st, body := cw.Do("POST", path+"/"+gift.ID+"/reverse", volunteers.ReverseFundInput{Reason: "金额记错"})
			if st != 409 || !strings.Contains(body, "amount_fen") {
				t.Fatalf("reversing a spent donation: %d %s", st, body)
			}
			var grant string
			if err := e.App.DB.R.QueryRow(`SELECT id FROM vol_fund_entries WHERE seq = 4 AND division_code = $1`, communityA).Scan(&grant); err != nil {
				t.Fatal(err)
			}
			if st, body := cw.Do("POST", path+"/"+grant+"/reverse", volunteers.ReverseFundInput{Reason: " "}); st != 422 && st != 400 || !strings.Contains(body, `"reason"`) {
				t.Fatalf("no reason: %d %s", st, body)
			}
			r := apptest.JSON[volunteers.FundEntry](t, cw, "POST", path+"/"+grant+"/reverse", volunteers.ReverseFundInput{Reason: "资助对象已另获补助"}, 201)
			if r.Reverses != grant || r.AmountFen != 212345 || r.Reason != "资助对象已另获补助" || r.Seq != 5 {
				t.Fatalf("%+v", r)
			}
			fundBalance(t, e, communityA, "grant reversed", 212345)
			if st, _ := cw.Do("POST", path+"/"+grant+"/reverse", volunteers.ReverseFundInput{Reason: "再来一次"}); st != 409 {
				t.Fatalf("a second reversal: %d", st)
			}
			if st, _ := cw.Do("POST", path+"/"+r.ID+"/reverse", volunteers.ReverseFundInput{Reason: "冲正的冲正"}); st != 409 {
				t.Fatalf("reversing a reversal: %d", st)
			}
			fundBalance(t, e, communityA, "refused reversals", 212345)
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'volunteers.fund.reverse' AND object_id = $1`, grant); n != 1 {
				t.Fatalf("%d audit records", n)
			}
		})
		t.Run("another community's worker gets 404, a resident 403, a township officer above keeps the fund", func(t *testing.T) {
			cwB := e.Login("cw.b")
			if st, _ := cwB.Do("POST", path, volunteers.FundInput{Kind: volunteers.FundDonation, AmountFen: 100, Date: today, Channel: "cash"}); st != 404 {
				t.Fatalf("community B's worker: %d", st)
			}
			if st, _ := cwB.Do("POST", path+"/"+gift.ID+"/reverse", volunteers.ReverseFundInput{Reason: "x"}); st != 404 {
				t.Fatalf("community B's worker reversing: %d", st)
			}
			if st, _, _ := cwB.Get("/volunteers/fund?community=" + communityA); st != 404 {
				t.Fatalf("community B's worker's page of A's fund: %d", st)
			}
			if st, _ := e.Login("res.a").Do("POST", path, volunteers.FundInput{Kind: volunteers.FundDonation, AmountFen: 100, Date: today, Channel: "cash"}); st != 403 {
				t.Fatalf("a resident: %d", st)
			}
			if st, _ := e.Client().Do("POST", path, volunteers.FundInput{Kind: volunteers.FundDonation, AmountFen: 100, Date: today, Channel: "cash"}); st != 401 {
				t.Fatalf("signed out: %d", st)
			}
			fundBalance(t, e, communityA, "refused outsiders", 212345)
			apptest.JSON[volunteers.FundEntry](t, e.Login("off.t"), "POST", path, volunteers.FundInput{Kind: volunteers.FundDonation, AmountFen: 100, Date: today, Channel: "cash"}, 201)
			fundBalance(t, e, communityA, "the officer's donation", 212445)
		})
		t.Run("the public ledger is readable signed out, newest first, paged, with no account's data", func(t *testing.T) {
			anon := e.Client()
			st, body, _ := anon.Get("/funds/" + communityA)
			if st != 200 || !strings.Contains(body, "2124.45") || !strings.Contains(body, "匿名") || !strings.Contains(body, "爱心企业") || !strings.Contains(body, "资助对象已另获补助") {
				t.Fatalf("got %d %s", st, body)
			}
			if strings.Contains(body, "cw.a") || strings.Contains(body, "off.t") {
				t.Fatal("the public page names an account")
			}
			if strings.Index(body, "资助对象已另获补助") > strings.Index(body, "爱心企业") {
				t.Fatal("the entries are not newest first")
			}
			pg := apptest.JSON[volunteers.FundLedger](t, anon, "GET", "/api/v1/funds/"+communityA+"?page_size=2", nil, 200)
			if len(pg.Items) != 2 || pg.Items[0].Seq != 6 || pg.Items[1].Seq != 5 || pg.Next == "" || pg.Entries != 6 {
				t.Fatalf("first page %+v", pg)
			}
			seen := map[int64]bool{}
			for next := pg.Next; next != ""; {
				p := apptest.JSON[volunteers.FundLedger](t, anon, "GET", "/api/v1/funds/"+communityA+"?page_size=2&cursor="+url.QueryEscape(next), nil, 200)
				for _, it := range p.Items {
					seen[it.Seq] = true
				}
				next = p.Next
			}
			if len(seen) != 4 || !seen[1] || !seen[4] {
				t.Fatalf("the later pages hold %v", seen)
			}
			raw := fmt.Sprint(apptest.JSON[map[string]any](t, anon, "GET", "/api/v1/funds/"+communityA, nil, 200))
			if strings.Contains(raw, "cw.a") || strings.Contains(raw, "created_by") {
				t.Fatal("the public JSON names an account")
			}
			if st, _, _ := anon.Get("/funds/330106002"); st != 400 && st != 422 {
				t.Fatalf("a township's ledger: %d", st)
			}
			if st, _, _ := anon.Get("/funds/330106002999"); st != 404 {
				t.Fatalf("no such community's ledger: %d", st)
			}
		})
	})
}

func TestCommunityFundPages(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("cw.a", access.CommunityWorker, communityA)
		e.User("off.c", access.Officer, communityA[:6])
		cw := e.Login("cw.a")
		today := e.Clock.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		t.Run("the worker's page offers one form, without JavaScript, and a link to the public ledger", func(t *testing.T) {
			st, body, _ := cw.Get("/volunteers/fund")
			if st != 200 || strings.Count(body, `type="submit"`) != 1 || !strings.Contains(body, `action="/volunteers/fund"`) || !strings.Contains(body, "/funds/"+communityA) || strings.Contains(body, "<script") {
				t.Fatalf("got %d %s", st, body)
			}
		})
		t.Run("an amount in yuan that is not one is named on the form and nothing written", func(t *testing.T) {
			st, body, _ := cw.Form("/volunteers/fund", map[string]string{"community": communityA, "kind": "donation", "amount": "12.345", "date": today, "channel": "cash"}, nil)
			if st != 422 && st != 400 || !strings.Contains(body, "金额应大于 0 元") || !strings.Contains(body, `value="12.345"`) {
				t.Fatalf("got %d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_fund_entries`); n != 0 {
				t.Fatalf("%d entries", n)
			}
		})
		t.Run("a donation typed in yuan is recorded in fen", func(t *testing.T) {
			st, _, hdr := cw.Form("/volunteers/fund", map[string]string{"community": communityA, "kind": "donation", "amount": "1000.5", "date": today, "channel": "cash", "party": "王阿姨"}, nil)
			if st != 303 || hdr.Get("Location") != "/volunteers/fund?community="+communityA+"&done=recorded" {
				t.Fatalf("got %d %v", st, hdr)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_fund_entries WHERE amount = 100050 AND party = '王阿姨'`); n != 1 {
				t.Fatalf("%d entries", n)
			}
			_, body, _ := cw.Get(hdr.Get("Location"))
			if !strings.Contains(body, "1000.50") || !strings.Contains(body, `id="done"`) {
				t.Fatal(body)
			}
		})
		t.Run("a grant beyond the balance shows the form again with the amount's error", func(t *testing.T) {
			st, body, _ := cw.Form("/volunteers/fund", map[string]string{"community": communityA, "kind": "grant", "amount": "2000", "date": today, "party": "食堂", "purpose": "助餐", "approved_by": "居委会"}, nil)
			if st != 409 || !strings.Contains(body, "金额超过基金余额 1000.50 元") {
				t.Fatalf("got %d %s", st, body)
			}
		})
		t.Run("a reversal asks for confirmation and a reason, then posts without JavaScript", func(t *testing.T) {
			var id string
			if err := e.App.DB.R.QueryRow(`SELECT id FROM vol_fund_entries`).Scan(&id); err != nil {
				t.Fatal(err)
			}
			page := "/volunteers/fund/" + communityA + "/" + id + "/reverse"
			st, body, _ := cw.Get(page)
			if st != 200 || !strings.Contains(body, `id="confirm-reverse"`) || !strings.Contains(body, `name="reason"`) {
				t.Fatalf("got %d %s", st, body)
			}
			if st, body, _ := cw.Form(page, map[string]string{}, nil); st != 422 && st != 400 || !strings.Contains(body, "冲正原因") {
				t.Fatalf("no reason: %d %s", st, body)
			}
			st, _, hdr := cw.Form(page, map[string]string{"reason": "重复记账"}, nil)
			if st != 303 || !strings.HasSuffix(hdr.Get("Location"), "done=reversed") {
				t.Fatalf("got %d %v", st, hdr)
			}
			fundBalance(t, e, communityA, "reversed on the page", 0)
			_, body, _ = e.Client().Get("/funds/" + communityA)
			if !strings.Contains(body, "重复记账") || !strings.Contains(body, "冲正捐赠") {
				t.Fatal(body)
			}
		})
		t.Run("a county officer walks down to a community's fund page", func(t *testing.T) {
			off := e.Login("off.c")
			st, body, _ := off.Get("/volunteers/fund")
			if st != 200 || !strings.Contains(body, "/volunteers/fund?community="+communityA[:9]) {
				t.Fatalf("got %d %s", st, body)
			}
			if st, body, _ := off.Get("/volunteers/fund?community=" + communityA); st != 200 || !strings.Contains(body, `id="record"`) {
				t.Fatalf("got %d %s", st, body)
			}
		})
	})
}
