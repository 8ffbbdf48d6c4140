package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// apiClient signs in through the JSON API.
func apiClient(t *testing.T, s *server, user, pw string) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	b, _ := json.Marshal(map[string]string{"username": user, "password": pw})
	resp, err := c.Post(s.URL+"/api/v1/session", "application/json", bytes.NewReader(b))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("sign in %s: %v %v", user, err, resp)
	}
	resp.Body.Close()
	return c
}

func TestEndToEndIndicatorDrillDown(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, store []string) {
		ctx := browser(t)
		s := startServer(t, t.TempDir(), append(store, "--demo")...)
		pw := demoPassword(t, s, "demo.officer")
		api := apiClient(t, s, "demo.officer", pw)
		// The county decomposes a target to 北山街道 that it is far from meeting.
		req, _ := http.NewRequest("PUT", s.URL+"/api/v1/indicator-targets/330106002/I13", strings.NewReader(`{"target": 50}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := api.Do(req)
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("set target: %v %v", err, resp)
		}
		resp.Body.Close()
		var status, heading, statusTone string
		var names, wide []string
		err = chromedp.Do(ctx,
			chromedp.EmulateViewport(360, 740),
			chromedp.Navigate(s.URL+"/login?next=/indicators"),
			chromedp.WaitVisible(`input[name=username]`),
			chromedp.SendKeys(`input[name=username]`, "demo.officer"),
			chromedp.SendKeys(`input[name=password]`, pw),
			chromedp.Submit(`input[name=password]`),
			// On a phone the main table's section is folded: open it.
			chromedp.WaitVisible(`#d-main > summary`),
			chromedp.Click(`#d-main > summary`),
			chromedp.WaitVisible(`a[href^="/indicators/I13"]`),
			shot("20-indicators"),
			evalInto(brokenNames, &names),
			chromedp.Click(`a[href^="/indicators/I13"]`),
			chromedp.WaitVisible(`a[href*="division=330106002&"]`),
			evalInto(tooWide, &wide),
			chromedp.Click(`a[href*="division=330106002&"]`),
			// The county's page has cards too: wait for the township's own.
			chromedp.WaitVisible(`//ol[@class="crumbs"]//span[contains(., "北山街道")]`),
			text(`h1`, &heading),
			text(`.cards .card:nth-child(3) .big`, &status),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
				statusTone, err = chromedp.Evaluate[string](`document.querySelector(".cards .card:nth-child(3) .big .tag").className`)(ctx, tg)
				return err
			}),
			shot("21-township"),
		)
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
		if !strings.Contains(heading, "I13") || status != "严重滞后" || statusTone != "tag t-bad" {
			t.Fatalf("township view: %q status %q (%s)", heading, status, statusTone)
		}
		if len(names) > 0 || len(wide) > 0 {
			t.Fatalf("at 360 px: names broken into short lines %q; wider than the screen on the indicator page %q", names, wide)
		}
		// The view's export is a real xlsx file (a zip), audited.
		resp, err = api.Get(s.URL + "/indicators/export.xlsx?id=I13&division=330106002")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.HasPrefix(b, []byte("PK")) || !strings.Contains(resp.Header.Get("Content-Disposition"), "xlsx") {
			t.Fatalf("export: %d %q", resp.StatusCode, b[:min(len(b), 20)])
		}
	})
}

// brokenNames lists the visible indicator names laid out with fewer than
// four characters a line (the old narrow column broke them two a line).
const brokenNames = `[...document.querySelectorAll(".ind-name a")].filter(a => a.offsetParent !== null).filter(a => {
	const lines = new Set([...a.getClientRects()].map(r => Math.round(r.top))).size;
	const n = [...a.textContent.trim()].length;
	return lines > 1 && n / lines < 4;
}).map(a => a.textContent.trim())`

// tooWide lists the page itself and any element wider than the screen.
const tooWide = `(() => {
	const out = [];
	if (document.documentElement.scrollWidth > window.innerWidth) out.push("document " + document.documentElement.scrollWidth);
	for (const el of document.querySelectorAll("main *")) {
		const r = el.getBoundingClientRect();
		if (r.right > window.innerWidth + 0.5) out.push(el.tagName + "." + el.className + " " + Math.round(r.right));
	}
	return out.slice(0, 5);
})()`

// evalInto runs a script that answers a list of strings.
func evalInto(js string, dst *[]string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
		*dst, err = chromedp.Evaluate[[]string](js)(ctx, tg)
		return err
	})
}

// A county officer adds the county's own indicator on the catalogue page,
// finds it on the dashboard, and imports townships' reported data from a
// file on the reporting page.
func TestEndToEndOwnIndicatorAndImport(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, store []string) {
		ctx := browser(t)
		s := startServer(t, t.TempDir(), append(store, "--demo")...)
		pw := demoPassword(t, s, "demo.officer")
		year := fmt.Sprint(time.Now().Year())
		file := filepath.Join(t.TempDir(), "reported.csv")
		csv := "区划代码,年份,社会救助件数（填报）,assistance_joint_cases\n330106002," + year + ",40,30\n330106004," + year + ",60,50\n"
		if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		var notice, ownRow, imported, field string
		err := chromedp.Do(ctx,
			login(s, "demo.officer", pw, "/indicators/catalogue"),
			chromedp.WaitVisible(`#define-form`),
			chromedp.SendKeys(`#f-id`, "XH-SW"),
			chromedp.SendKeys(`#f-name_zh`, "每万人持证社工（西湖区）"),
			chromedp.SendKeys(`#f-unit`, "人"),
			chromedp.SendKeys(`#f-formula`, "10000 × social_workers ÷ population"),
			chromedp.SendKeys(`#f-target`, "20"),
			chromedp.Click(`#save-definition`),
			chromedp.WaitVisible(`.notice`),
			text(`.notice`, &notice),
			shot("22-own-indicator"),
			chromedp.Navigate(s.URL+"/indicators?division=330106"),
			chromedp.WaitVisible(`#d-own > summary`),
			chromedp.Click(`#d-own > summary`),
			chromedp.WaitVisible(`a[href^="/indicators/XH-SW"]`),
			text(`//tr[td/a[starts-with(@href, "/indicators/XH-SW")]]`, &ownRow),
			chromedp.Navigate(s.URL+"/indicators/report?division=330106&period="+year),
			chromedp.WaitVisible(`#import-form`),
			chromedp.SetUploadFiles(`#import-file`, []string{file}),
			chromedp.Click(`#import-apply`),
			chromedp.WaitVisible(`//*[contains(@class, "notice") and contains(., "已导入")]`),
			text(`.notice`, &imported),
			shot("23-import"),
			chromedp.Navigate(s.URL+"/indicators/report?division=330106002&period="+year),
			chromedp.WaitVisible(`input[name="v_assistance_cases"]`),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
				field, err = chromedp.Value(`input[name="v_assistance_cases"]`)(ctx, tg)
				return err
			}),
		)
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
		if !strings.Contains(notice, "XH-SW") || !strings.Contains(ownRow, "自设") || !strings.Contains(imported, "4 个数值") || field != "40" {
			t.Fatalf("notice %q, dashboard row %q, import %q, township field %q", notice, ownRow, imported, field)
		}
	})
}
