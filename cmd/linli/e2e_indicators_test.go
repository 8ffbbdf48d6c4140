package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

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
	ctx := browser(t)
	s := startServer(t, t.TempDir(), "--demo")
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
	var status, heading string
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/login?next=/indicators"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "demo.officer"),
		chromedp.SendKeys(`input[name=password]`, pw),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitVisible(`a[href^="/indicators/I13"]`),
		shot("20-indicators"),
		chromedp.Click(`a[href^="/indicators/I13"]`),
		chromedp.WaitVisible(`a[href*="division=330106002&"]`),
		chromedp.Click(`a[href*="division=330106002&"]`),
		// The county's page has cards too: wait for the township's own.
		chromedp.WaitVisible(`//nav[@class="crumbs"]/span[contains(., "北山街道")]`),
		text(`h1`, &heading),
		text(`.cards .card:nth-child(3) .big`, &status),
		shot("21-township"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(heading, "I13") || status != "严重滞后" {
		t.Fatalf("township view: %q status %q", heading, status)
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
}
