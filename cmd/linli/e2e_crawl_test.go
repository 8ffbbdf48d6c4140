package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// axe-core, vendored from the npm package (see testdata/axe/README.md).
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// crawlRole is one demo account the crawl signs in as.
type crawlRole struct {
	Name, User, Password string
	// ChangeTo is set for the first administrator, whose one-time password
	// must be changed at the first sign-in.
	ChangeTo string
}

// viewport is a screen the crawl measures each page on.
type viewport struct {
	Name          string
	Width, Height int64
	Desktop       bool
}

var crawlViewports = []viewport{{"360", 360, 740, false}, {"1280", 1280, 800, true}}

// crawlFailure is one check that failed on one page in one variant.
type crawlFailure struct {
	Check, Role, Mode, Viewport, Pattern, URL, Detail string
}

// The checks of one page in one variant, run in the page by the DevTools
// protocol (the page's own scripts are off, as for a user without
// JavaScript). minTarget is the smallest tap target allowed here.
const measureJS = `((minTarget) => {
  const out = {scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
    bodyFont: parseFloat(getComputedStyle(document.body).fontSize), small: [], links: [],
    contentType: document.contentType, elder: document.documentElement.classList.contains('elder')};
  // A fingerprint of the markup (the length and two 32-bit FNV-1a hashes
  // with different seeds): pages with the same markup look the same to
  // axe in the same mode and window.
  const html = document.documentElement.outerHTML;
  let h1 = 0x811c9dc5, h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < html.length; i++) {
    const c = html.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  out.markup = html.length + ':' + (h1 >>> 0).toString(16) + ':' + (h2 >>> 0).toString(16);
  for (const a of document.querySelectorAll('a[href]')) {
    if (!a.hasAttribute('download')) out.links.push(a.href);
  }
  const blockOf = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (!getComputedStyle(p).display.startsWith('inline')) return p;
    }
    return document.body;
  };
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (el.type && el.tagName === 'INPUT') s += '[type=' + el.type + ']';
    if (el.getAttribute('name')) s += '[name=' + el.getAttribute('name') + ']';
    if (el.tagName === 'A') s += '[href=' + el.getAttribute('href').slice(0, 40) + ']';
    const t = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().replace(/\s+/g, ' ').slice(0, 24);
    return t ? s + ' "' + t + '"' : s;
  };
  const sel = 'a[href],button,input:not([type=hidden]),select,textarea,summary';
  for (const el of document.querySelectorAll(sel)) {
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    let box = el;
    if (el.matches('input[type=checkbox],input[type=radio]')) {
      box = el.closest('label') || (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]')) || el;
    }
    const r = box.getBoundingClientRect();
    // Visually hidden (1 px, clipped) or moved off screen until focused.
    if (r.width <= 1 && r.height <= 1) continue;
    if (r.right <= 0 || r.bottom <= 0) continue;
    const cs = getComputedStyle(el);
    if (el.tagName === 'A' && cs.display === 'inline') {
      // WCAG 2.5.8 inline exception: a link inside a sentence.
      const own = el.textContent.trim().length;
      if (blockOf(el).textContent.trim().length > own) continue;
    }
    if (r.width + 0.01 < minTarget || r.height + 0.01 < minTarget) {
      out.small.push(name(el) + ' ' + Math.round(r.width) + '×' + Math.round(r.height));
    }
  }
  return out;
})`

type measured struct {
	ScrollWidth, ClientWidth float64
	BodyFont                 float64
	Small, Links             []string
	ContentType              string
	Elder                    bool
	Markup                   string
}

// axeRunJS runs axe-core and answers the critical and serious violations
// and how many rules passed (0 means axe did not really run).
const axeRunJS = `axe.run(document, {resultTypes: ['violations']}).then(r => ({
  passes: r.passes.length + r.violations.length + r.incomplete.length,
  violations: r.violations.filter(v => v.impact === 'critical' || v.impact === 'serious').map(v => ({
    id: v.id, impact: v.impact, targets: v.nodes.map(n => n.target.join(' ')).slice(0, 5), count: v.nodes.length}))
}))`

type axeResult struct {
	Passes     int
	Violations []struct {
		ID, Impact string
		Targets    []string
		Count      int
	}
}

// runAxe injects axe-core into the page through the protocol and runs it.
// The page was loaded with its scripts off, so none of them ran; axe's own
// timers need script execution, so it is switched on for the audit and off
// again before the next page. axe-core (half a megabyte) is sent and
// compiled once per document, not once per audit.
func runAxe(ctx context.Context) (axeResult, error) {
	if err := chromedp.Do(ctx, scripts(true)); err != nil {
		return axeResult{}, err
	}
	defer chromedp.Do(ctx, scripts(false))
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`))
	if err != nil {
		return axeResult{}, err
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`(function () {`+axeSource+`
}).call(window); 0`)); err != nil {
			return axeResult{}, fmt.Errorf("inject axe: %w", err)
		}
	}
	return chromedp.Run(ctx, chromedp.Evaluate[axeResult](axeRunJS, chromedp.EvalAwaitPromise))
}

// audits keeps axe's findings by mode, window and markup, for every role's
// crawl: a page whose markup was audited in the same mode and window is
// not audited again, and fails with the same findings.
type audits struct {
	mu    sync.Mutex
	runs  int
	hits  int
	byKey map[string]axeResult
}

func newAudits() *audits { return &audits{byKey: map[string]axeResult{}} }

// audit answers axe's findings for the loaded page, from an earlier audit
// of the same markup when there is one.
func (a *audits) audit(ctx context.Context, mode string, v viewport, markup string) (axeResult, error) {
	key := mode + "|" + v.Name + "|" + markup
	a.mu.Lock()
	res, ok := a.byKey[key]
	if ok {
		a.hits++
	}
	a.mu.Unlock()
	if ok {
		return res, nil
	}
	res, err := runAxe(ctx)
	if err != nil {
		return res, err
	}
	a.mu.Lock()
	a.byKey[key] = res
	a.runs++
	a.mu.Unlock()
	return res, nil
}

// scripts turns JavaScript on or off in a tab; the protocol's evaluations
// (the measurements) run either way.
func scripts(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	})
}

// noScripts loads pages as a browser without JavaScript does.
var noScripts = scripts(false)

func setViewport(v viewport) chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(v.Width, v.Height)
}

var (
	digitSeg  = regexp.MustCompile(`[0-9]`)
	skipPaths = regexp.MustCompile(`(?i)(^/logout|^/prefs|^/static/|^/api/|delete|remove|revoke|export|download|\.(csv|xlsx|json|png|jpe?g|svg|pdf|zip)$)`)
)

// routePattern names the route a URL belongs to: path segments holding
// digits (ids, codes, request numbers) become {id}; the query keeps its
// keys, not its values.
func routePattern(u *url.URL) (path, full string) {
	segs := strings.Split(u.Path, "/")
	for i, s := range segs {
		if digitSeg.MatchString(s) || len(s) > 32 {
			segs[i] = "{id}"
		}
	}
	path = strings.Join(segs, "/")
	var keys []string
	for k := range u.Query() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return path, path
	}
	return path, path + "?" + strings.Join(keys, "&")
}

// pagingKeys are the query parameters that only move through a list: a
// URL that differs from one already admitted only by them is the same
// page with other rows.
var pagingKeys = []string{"page", "cursor"}

// withoutPaging is u without its paging parameters.
func withoutPaging(u *url.URL) *url.URL {
	c := *u
	q := c.Query()
	for _, k := range pagingKeys {
		q.Del(k)
	}
	c.RawQuery = q.Encode()
	return &c
}

// How often a crawl visits the same route: each pattern (with its query
// keys) at most twice, each path pattern at most four times in all.
const perPattern, perPath = 2, 4

// crawl is one role's walk over the pages it can reach.
type crawl struct {
	role    crawlRole
	origin  string
	audits  *audits
	mu      sync.Mutex
	seen    map[string]bool
	byFull  map[string]int
	byPath  map[string]int
	pages   int
	checked int
	signIn  time.Duration // how long the role's tabs took to sign in
	fails   []crawlFailure
	errs    []string
}

// admit reports whether a link should be visited and marks it so.
func (c *crawl) admit(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme+"://"+u.Host != c.origin {
		return "", false
	}
	u.Fragment = ""
	if skipPaths.MatchString(u.Path) || u.Query().Get("format") != "" {
		return "", false
	}
	same := withoutPaging(u)
	key := same.String()
	path, full := routePattern(same)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[key] || c.byFull[full] >= perPattern || c.byPath[path] >= perPath {
		return "", false
	}
	c.seen[key] = true
	c.byFull[full]++
	c.byPath[path]++
	return u.String(), true
}

func (c *crawl) fail(check, mode string, v viewport, pageURL, detail string) {
	u, _ := url.Parse(pageURL)
	_, full := routePattern(u)
	c.mu.Lock()
	c.fails = append(c.fails, crawlFailure{Check: check, Role: c.role.Name, Mode: mode, Viewport: v.Name, Pattern: full, URL: u.RequestURI(), Detail: detail})
	c.mu.Unlock()
}

// checkVariant measures the loaded page at one viewport and records what fails.
func (c *crawl) checkVariant(ctx context.Context, pageURL, mode string, v viewport) (measured, error) {
	if err := chromedp.Do(ctx, setViewport(v)); err != nil {
		return measured{}, err
	}
	minTarget := 44
	if v.Desktop && mode == "normal" {
		minTarget = 24
	}
	m, err := chromedp.Run(ctx, chromedp.Evaluate[measured](fmt.Sprintf("%s(%d)", measureJS, minTarget)))
	if err != nil {
		return m, fmt.Errorf("measure: %w", err)
	}
	if !strings.HasPrefix(m.ContentType, "text/html") {
		return m, nil
	}
	c.mu.Lock()
	c.checked++
	c.mu.Unlock()
	if m.ScrollWidth > m.ClientWidth {
		c.fail("sideways-scroll", mode, v, pageURL, fmt.Sprintf("document %.0f px wide in a %.0f px window", m.ScrollWidth, m.ClientWidth))
	}
	if mode == "elder" && m.BodyFont < 20 {
		c.fail("elder-font", mode, v, pageURL, fmt.Sprintf("body font %.1f px (elder class on <html>: %v)", m.BodyFont, m.Elder))
	}
	for _, s := range m.Small {
		c.fail(fmt.Sprintf("tap-target<%d", minTarget), mode, v, pageURL, s)
	}
	ax, err := c.audits.audit(ctx, mode, v, m.Markup)
	if err != nil {
		return m, err
	}
	if ax.Passes == 0 {
		return m, fmt.Errorf("axe ran no rule on %s", pageURL)
	}
	for _, vi := range ax.Violations {
		c.fail("axe:"+vi.ID, mode, v, pageURL, fmt.Sprintf("%s ×%d: %s", vi.Impact, vi.Count, strings.Join(vi.Targets, " | ")))
	}
	return m, nil
}

// visit loads a page in the normal and the elder tab at once, checks both
// viewports in each (one tab, resized), and answers the links of the
// normal page.
func (c *crawl) visit(tabs map[string]context.Context, pageURL string) ([]string, error) {
	modes := []string{"normal", "elder"}
	links := make([][]string, len(modes))
	errs := make([]error, len(modes))
	aborted := make([]bool, len(modes))
	var wg sync.WaitGroup
	for i, mode := range modes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			links[i], aborted[i], errs[i] = c.visitIn(tabs[mode], pageURL, mode)
		}()
	}
	wg.Wait()
	if aborted[0] || aborted[1] {
		return nil, nil // a download (a file template, an export): not a page
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.pages++
	c.mu.Unlock()
	return links[0], nil
}

// visitIn loads the page in one mode's tab and checks it at every
// viewport; it answers the page's links, or that the load was aborted.
func (c *crawl) visitIn(tab context.Context, pageURL, mode string) ([]string, bool, error) {
	// Each step has two minutes: loading, and checking at each viewport.
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(tab, 120*time.Second) }
	ctx, cancel := step()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(pageURL))
	cancel()
	if err != nil && strings.Contains(err.Error(), "ERR_ABORTED") {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("open %s (%s): %w", pageURL, mode, err)
	}
	if resp.Status >= 400 {
		c.fail(fmt.Sprintf("http-%d", resp.Status), mode, crawlViewports[0], pageURL, "linked page answers "+fmt.Sprint(resp.Status))
	}
	var links []string
	for _, v := range crawlViewports {
		ctx, cancel := step()
		m, err := c.checkVariant(ctx, pageURL, mode, v)
		cancel()
		if err != nil {
			return nil, false, fmt.Errorf("%s %s %s: %w", pageURL, mode, v.Name, err)
		}
		if links == nil {
			links = m.Links
		}
	}
	return links, false, nil
}

// signIn opens a tab in a fresh browser profile (its own cookies) for the
// role and mode, signs in and answers the tab and the start page.
func signIn(base context.Context, s *server, r crawlRole, mode string, password string) (context.Context, context.CancelFunc, string, error) {
	ctx, cancel := chromedp.NewContext(base, chromedp.WithNewBrowserContext())
	// The tab lives as long as the context of its first run: no deadline there.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		return nil, nil, "", err
	}
	tctx, tcancel := context.WithTimeout(ctx, 120*time.Second)
	defer tcancel()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(s.URL + "/login"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, r.User),
		chromedp.SendKeys(`input[name=password]`, password),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitVisible(`a[href="/menu"], input[name=new_password]`),
	}
	if err := chromedp.Do(tctx, steps...); err != nil {
		cancel()
		return nil, nil, "", fmt.Errorf("sign in as %s: %w", r.User, err)
	}
	if r.ChangeTo != "" && password != r.ChangeTo {
		if err := chromedp.Do(tctx,
			chromedp.SendKeys(`input[name=old_password]`, password),
			chromedp.SendKeys(`input[name=new_password]`, r.ChangeTo),
			chromedp.SendKeys(`input[name=confirm_password]`, r.ChangeTo),
			chromedp.Submit(`input[name=confirm_password]`),
			chromedp.WaitVisible(`a[href="/menu"]`),
		); err != nil {
			cancel()
			return nil, nil, "", fmt.Errorf("change the first password: %w", err)
		}
	}
	start, err := chromedp.Run(tctx, chromedp.Location())
	if err == nil && mode == "elder" {
		err = chromedp.Do(tctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, network.SetCookie, network.SetCookieParams{Name: "elder", Value: "1", URL: s.URL})
			return err
		}))
	}
	if err == nil {
		err = chromedp.Do(tctx, noScripts)
	}
	if err != nil {
		cancel()
		return nil, nil, "", err
	}
	return ctx, cancel, start, nil
}

// run crawls the role's pages with workers, each signed in twice (a tab
// per mode, each in its own browser profile so the elder cookie of one
// does not reach the other). The first tab signs in alone (the first
// administrator changes the one-time password there), the others at once.
func (c *crawl) run(base context.Context, s *server, workers int) error {
	pairs := make([]map[string]context.Context, workers)
	var mu sync.Mutex
	var cancels []context.CancelFunc
	defer func() {
		for i := len(cancels) - 1; i >= 0; i-- {
			cancels[i]()
		}
	}()
	var start string
	open := func(i int, mode string) error {
		pw := c.role.Password
		if c.role.ChangeTo != "" && (i > 0 || mode == "elder") {
			pw = c.role.ChangeTo
		}
		ctx, cancel, st, err := signIn(base, s, c.role, mode, pw)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		cancels = append(cancels, cancel)
		pairs[i][mode] = ctx
		if start == "" {
			start = st
		}
		return nil
	}
	for i := range pairs {
		pairs[i] = map[string]context.Context{}
	}
	began := time.Now()
	if err := open(0, "normal"); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, 2*workers)
	for i := range pairs {
		for j, mode := range []string{"normal", "elder"} {
			if i == 0 && mode == "normal" {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[2*i+j] = open(i, mode)
			}()
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.signIn = time.Since(began)
	c.walk(pairs, start, s.URL+"/")
	return nil
}

// walk visits the pages reachable from starts, each worker with its pair
// of tabs, until no admitted link is left.
func (c *crawl) walk(pairs []map[string]context.Context, starts ...string) {
	queue := make(chan string, 10000)
	var pending, done sync.WaitGroup
	push := func(raw string) {
		if u, ok := c.admit(raw); ok {
			pending.Add(1)
			queue <- u
		}
	}
	for _, st := range starts {
		push(st)
	}
	for _, p := range pairs {
		done.Add(1)
		go func(tabs map[string]context.Context) {
			defer done.Done()
			for u := range queue {
				links, err := c.visit(tabs, u)
				if err != nil {
					c.mu.Lock()
					c.errs = append(c.errs, err.Error())
					c.mu.Unlock()
				}
				for _, l := range links {
					push(l)
				}
				pending.Done()
			}
		}(p)
	}
	pending.Wait()
	close(queue)
	done.Wait()
}

// crawlReport groups failures by check, then by page pattern, each with
// the roles, modes and viewports it fails in.
func crawlReport(fails []crawlFailure) (string, map[string]int) {
	type key struct{ check, pattern, detail string }
	variants := map[key][]string{}
	examples := map[key]string{}
	for _, f := range fails {
		k := key{f.Check, f.Pattern, f.Detail}
		variants[k] = append(variants[k], f.Role+"/"+f.Mode+"/"+f.Viewport)
		if examples[k] == "" {
			examples[k] = f.URL
		}
	}
	counts := map[string]int{}
	byCheck := map[string]map[string][]key{}
	for k := range variants {
		if byCheck[k.check] == nil {
			byCheck[k.check] = map[string][]key{}
		}
		byCheck[k.check][k.pattern] = append(byCheck[k.check][k.pattern], k)
	}
	for _, f := range fails {
		counts[f.Check]++
	}
	var b strings.Builder
	checks := make([]string, 0, len(byCheck))
	for c := range byCheck {
		checks = append(checks, c)
	}
	sort.Strings(checks)
	for _, c := range checks {
		fmt.Fprintf(&b, "\n== %s: %d failures on %d page patterns ==\n", c, counts[c], len(byCheck[c]))
		patterns := make([]string, 0, len(byCheck[c]))
		for p := range byCheck[c] {
			patterns = append(patterns, p)
		}
		sort.Strings(patterns)
		for _, p := range patterns {
			ks := byCheck[c][p]
			sort.Slice(ks, func(i, j int) bool { return ks[i].detail < ks[j].detail })
			fmt.Fprintf(&b, "  %s  (e.g. %s)\n", p, examples[ks[0]])
			for i, k := range ks {
				if i == 6 {
					fmt.Fprintf(&b, "      … and %d more\n", len(ks)-i)
					break
				}
				vs := slices.Compact(slices.Sorted(slices.Values(variants[k])))
				fmt.Fprintf(&b, "      %s  [%s]\n", k.detail, strings.Join(vs, " "))
			}
		}
	}
	return b.String(), counts
}

// worstPages ranks page patterns by their failures.
func worstPages(fails []crawlFailure, n int) string {
	per := map[string]int{}
	for _, f := range fails {
		per[f.Pattern]++
	}
	ps := make([]string, 0, len(per))
	for p := range per {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return per[ps[i]] > per[ps[j]] || per[ps[i]] == per[ps[j]] && ps[i] < ps[j] })
	var b strings.Builder
	for i, p := range ps {
		if i == n {
			break
		}
		fmt.Fprintf(&b, "  %5d  %s\n", per[p], p)
	}
	return b.String()
}

// Every page every demo role can reach, at a phone's and a desktop's width,
// in the normal and the elder mode, without JavaScript: axe-core finds no
// critical or serious violation, the document never scrolls sideways,
// every control is big enough to tap, and elder mode's text is at least
// 20 px.
//
// It runs on SQLite only: the pages are the same templates whatever the
// store, the stores themselves are tested on both in every package, and a
// second crawl would double the longest test on a 2-core machine.
func TestEveryPageOfEveryRoleIsUsableOnPhoneAndDesktopInBothModes(t *testing.T) {
	t.Parallel()
	began := time.Now()
	base := chromium(t)

	t.Run("axe-core runs through the protocol in a page without JavaScript", func(t *testing.T) {
		ctx, cancel := chromedp.NewContext(base)
		defer cancel()
		if err := chromedp.Do(ctx); err != nil {
			t.Fatal(err)
		}
		ctx, tcancel := context.WithTimeout(ctx, 60*time.Second)
		defer tcancel()
		page := `data:text/html;charset=utf-8,<!doctype html><html lang="en"><title>t</title><main><img src="x.png"><p id="js">no script</p><script>document.getElementById('js').textContent='script ran'</script></main></html>`
		if err := chromedp.Do(ctx, noScripts, chromedp.Navigate(page)); err != nil {
			t.Fatal(err)
		}
		ran, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('js').textContent`))
		if err != nil || ran != "no script" {
			t.Fatalf("page scripts should be off: %q %v", ran, err)
		}
		res, err := runAxe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ran, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('js').textContent`)); err != nil || ran != "no script" {
			t.Fatalf("the page's own script ran during the audit: %q %v", ran, err)
		}
		var ids []string
		for _, v := range res.Violations {
			ids = append(ids, v.ID)
		}
		if res.Passes == 0 || !slices.Contains(ids, "image-alt") {
			t.Fatalf("axe should report the image without alt text: %d rules, violations %v", res.Passes, ids)
		}
	})

	s := startServer(t, t.TempDir(), "--demo", "--demo-scale", "community")
	roles := []crawlRole{{Name: "sysadmin", User: "admin", Password: s.oneTimePassword(t), ChangeTo: "Crawl-Pass-2026-Qv"}}
	for _, u := range []string{"demo.officer", "demo.street", "demo.worker", "demo.grid", "demo.resident", "demo.provider", "demo.secadmin", "demo.auditor"} {
		roles = append(roles, crawlRole{Name: strings.TrimPrefix(u, "demo."), User: u, Password: demoPassword(t, s, u)})
	}
	workers := 2
	if n, err := fmt.Sscan(os.Getenv("LINLI_CRAWL_WORKERS"), &workers); n != 1 || err != nil || workers < 1 {
		workers = 2
	}
	var all []crawlFailure
	var errs, perRole []string
	seen := newAudits()
	only := os.Getenv("LINLI_CRAWL_ROLES") // e.g. "auditor,worker" to look at a few roles
	for _, r := range roles {
		if only != "" && !slices.Contains(strings.Split(only, ","), r.Name) {
			continue
		}
		t.Run("crawl as "+r.Name, func(t *testing.T) {
			c := &crawl{role: r, origin: s.URL, audits: seen, seen: map[string]bool{}, byFull: map[string]int{}, byPath: map[string]int{}}
			roleBegan := time.Now()
			if err := c.run(base, s, workers); err != nil {
				t.Fatal(err)
			}
			perRole = append(perRole, fmt.Sprintf("%s: %d pages, %d page variants checked, %d failures, %s (signing in %s)", r.Name, c.pages, c.checked, len(c.fails),
				time.Since(roleBegan).Round(time.Second), c.signIn.Round(time.Second)))
			if c.pages < 2 {
				t.Errorf("%s reached only %d pages", r.Name, c.pages)
			}
			all = append(all, c.fails...)
			errs = append(errs, c.errs...)
		})
	}
	for _, e := range errs {
		t.Errorf("crawl error: %s", e)
	}
	report, counts := crawlReport(all)
	if path := os.Getenv("LINLI_CRAWL_REPORT"); path != "" {
		os.WriteFile(path, []byte(report), 0o644)
	}
	var summary []string
	for c, n := range counts {
		summary = append(summary, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(summary)
	t.Logf("pages checked per role:\n  %s\naxe ran %d times, %d audits reused for the same markup\ncrawl took %s",
		strings.Join(perRole, "\n  "), seen.runs, seen.hits, time.Since(began).Round(time.Second))
	if len(all) > 0 {
		t.Errorf("%d failures (%s)\nworst page patterns:\n%s%s", len(all), strings.Join(summary, ", "), worstPages(all, 15), report)
	}
}

// The crawl must not treat one route as many pages, nor follow links that
// change anything.
func TestCrawlVisitsEachRouteAFewTimesAndNothingThatChangesState(t *testing.T) {
	c := &crawl{origin: "http://h", seen: map[string]bool{}, byFull: map[string]int{}, byPath: map[string]int{}}
	t.Run("ids and codes become one pattern", func(t *testing.T) {
		u, _ := url.Parse("http://h/requests/MH-330106-20261130-0001?box=open&page=2")
		path, full := routePattern(u)
		if path != "/requests/{id}" || full != "/requests/{id}?box&page" {
			t.Fatalf("%q %q", path, full)
		}
	})
	t.Run("a pattern is visited twice, a path four times", func(t *testing.T) {
		var got []string
		for _, l := range []string{"/divisions/33", "/divisions/3301", "/divisions/330106", "/divisions/33?q=a", "/divisions/33?q=b", "/divisions/33?page=2", "/divisions/33"} {
			if u, ok := c.admit("http://h" + l); ok {
				got = append(got, strings.TrimPrefix(u, "http://h"))
			}
		}
		want := []string{"/divisions/33", "/divisions/3301", "/divisions/33?q=a", "/divisions/33?q=b"}
		if !slices.Equal(got, want) {
			t.Fatalf("admitted %v, want %v", got, want)
		}
	})
	t.Run("a list's other pages are the list, whatever else the query holds", func(t *testing.T) {
		var got []string
		for _, l := range []string{"/requests?box=open&page=2", "/requests?box=open", "/requests?box=open&cursor=abc", "/registry/residents?cursor=x", "/registry/residents?q=王"} {
			if u, ok := c.admit("http://h" + l); ok {
				got = append(got, strings.TrimPrefix(u, "http://h"))
			}
		}
		want := []string{"/requests?box=open&page=2", "/registry/residents?cursor=x", "/registry/residents?q=王"}
		if !slices.Equal(got, want) {
			t.Fatalf("admitted %v, want %v", got, want)
		}
	})
	t.Run("sign-out, deletions, exports, assets, the API and other origins are skipped", func(t *testing.T) {
		for _, l := range []string{"http://h/logout", "http://h/prefs?elder=1", "http://h/registry/residents/7/delete", "http://h/indicators/export.xlsx",
			"http://h/registry/export", "http://h/static/app.css", "http://h/api/v1/me", "http://other/x", "http://h/requests/metrics?format=csv"} {
			if _, ok := c.admit(l); ok {
				t.Errorf("%s admitted", l)
			}
		}
	})
}

// The crawl fails a page that axe finds a serious fault in and a page
// wider than a phone, in both modes, and walks a list's other pages no
// more than once: pages served here, crawled with the same checks.
func TestCrawlFailsAPageAxeFaultsOrThatScrollsSideways(t *testing.T) {
	t.Parallel()
	base := chromium(t)
	page := func(body string) string {
		return `<!doctype html><html lang="en" class="elder"><head><title>t</title><style>body{font-size:20px;margin:0}
a{display:block;min-height:48px;min-width:48px}</style></head><body><main><h1>t</h1>` + body + `</main></body></html>`
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, page(`<a href="/list">list</a><a href="/list?page=2">list, page 2</a><a href="/no-alt">no alt</a><a href="/wide">wide</a>`))
	})
	mux.HandleFunc("GET /list", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, page(`<p>rows `+r.URL.Query().Get("page")+`</p>`))
	})
	mux.HandleFunc("GET /no-alt", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, page(`<img src="/x.png">`)) })
	mux.HandleFunc("GET /wide", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, page(`<div style="width:600px">wide</div>`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tabs := map[string]context.Context{}
	for _, mode := range []string{"normal", "elder"} {
		ctx, cancel := chromedp.NewContext(base, chromedp.WithNewBrowserContext())
		defer cancel()
		if err := chromedp.Do(ctx, noScripts); err != nil {
			t.Fatal(err)
		}
		tabs[mode] = ctx
	}
	c := &crawl{role: crawlRole{Name: "probe"}, origin: srv.URL, audits: newAudits(), seen: map[string]bool{}, byFull: map[string]int{}, byPath: map[string]int{}}
	c.walk([]map[string]context.Context{tabs}, srv.URL+"/")
	if len(c.errs) > 0 {
		t.Fatalf("crawl errors: %v", c.errs)
	}
	got := map[string][]string{}
	for _, f := range c.fails {
		got[f.URL] = append(got[f.URL], f.Check+"/"+f.Mode+"/"+f.Viewport)
	}
	for k := range got {
		sort.Strings(got[k])
	}
	want := map[string][]string{
		"/no-alt": {"axe:image-alt/elder/1280", "axe:image-alt/elder/360", "axe:image-alt/normal/1280", "axe:image-alt/normal/360"},
		"/wide":   {"sideways-scroll/elder/360", "sideways-scroll/normal/360"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("failures %v, want %v", got, want)
	}
	if c.pages != 4 {
		t.Errorf("visited %d pages, want 4 (the list's second page is the list)", c.pages)
	}
}
