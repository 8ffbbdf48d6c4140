package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// shotPage is one of the main pages: who sees it, and how to reach it
// (a path, or the first link on a path whose address matches Link, a
// JavaScript regular expression).
type shotPage struct {
	Name, Role, Path, Link string
}

var mainPages = []shotPage{
	{"01-resident-home", "resident", "/", ""},
	{"02-request-new", "resident", "/requests/new", ""},
	{"03-worker-inbox", "worker", "/requests", ""},
	{"04-request-detail", "worker", "/requests", `^/requests/[0-9a-z]{12,}$`},
	{"05-residents-list", "worker", "/registry/residents", ""},
	{"06-resident-record", "worker", "/registry/residents", `^/registry/residents/[0-9a-z]{12,}$`},
	{"07-indicators", "officer", "/indicators", ""},
	{"08-lifecircle", "officer", "/lifecircle", ""},
}

// Screenshots of the eight main pages at 360 px in the normal and the
// elder mode, without JavaScript, into the folder LINLI_SHOTS names:
//
//	LINLI_SHOTS=/tmp/linli-shots go test ./cmd/linli -run TestScreenshots -timeout 10m
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("LINLI_SHOTS")
	if dir == "" {
		t.Skip("set LINLI_SHOTS to a folder to make screenshots of the main pages")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	base := chromium(t)
	s := startServer(t, t.TempDir(), "--demo", "--demo-scale", "community")
	phone := crawlViewports[0]
	for _, role := range []string{"resident", "worker", "officer"} {
		r := crawlRole{Name: role, User: "demo." + role, Password: demoPassword(t, s, "demo."+role)}
		for _, mode := range []string{"normal", "elder"} {
			t.Run(role+" "+mode, func(t *testing.T) {
				tab, cancel, _, err := signIn(base, s, r, mode, r.Password)
				if err != nil {
					t.Fatal(err)
				}
				defer cancel()
				for _, p := range mainPages {
					if p.Role != role {
						continue
					}
					ctx, tcancel := context.WithTimeout(tab, 120*time.Second)
					target := s.URL + p.Path
					if p.Link != "" {
						if err := chromedp.Do(ctx, chromedp.Navigate(target)); err != nil {
							tcancel()
							t.Fatalf("%s: %v", p.Name, err)
						}
						href, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`[...document.querySelectorAll('main a[href]')].map(a => a.getAttribute('href')).find(h => new RegExp(%q).test(h)) || ""`, p.Link)))
						if err != nil || href == "" {
							tcancel()
							t.Fatalf("%s: no link %s on %s (%v)", p.Name, p.Link, p.Path, err)
						}
						target = s.URL + href
					}
					png, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
						if err := chromedp.Do(ctx, setViewport(phone), chromedp.Navigate(target)); err != nil {
							return nil, err
						}
						return chromedp.FullScreenshot(100)(ctx, tg) // 100: lossless PNG
					})
					tcancel()
					if err != nil {
						t.Fatalf("%s: %v", p.Name, err)
					}
					name := filepath.Join(dir, p.Name+"-"+mode+".png")
					if err := os.WriteFile(name, png, 0o644); err != nil {
						t.Fatal(err)
					}
					t.Logf("%s  %s", name, strings.TrimPrefix(target, s.URL))
				}
			})
		}
	}
}
