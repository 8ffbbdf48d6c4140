package indicators_test

import (
	"fmt"
	"html"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/indicators"
	"linli/internal/web"
)

var (
	nameCellRe = regexp.MustCompile(`<td class="ind-name"><a href="/indicators/([^?"]+)\?[^"]*">([^<]*)</a>`)
	statusRe   = regexp.MustCompile(`<td class="ind-status" data-label="状态"><span class="tag t-(\w+)">([^<]*)</span></td>`)
	valueRe    = regexp.MustCompile(`<td class="num ind-val" data-label="当前值">([^<]*)(?:<span class="muted ind-period">[^<]*</span>)?</td>`)
)

// The dashboard as a reader sees it: whole names, grouped figures, and
// statuses as tags whose tone matches their words.
func TestDashboardPage(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := indSetup(t, e)
		rows := apptest.JSON[[]indRow](t, c, "GET", fmt.Sprintf("/api/v1/indicators?division=%s&period=%d", apptest.County, indYear), nil, 200)
		cat := map[string]string{}
		for _, in := range apptest.JSON[[]indicators.Indicator](t, c, "GET", "/api/v1/indicator-catalogue", nil, 200) {
			cat[in.ID] = in.NameZH
		}
		st, page := c.Do("GET", fmt.Sprintf("/indicators?division=%s&period=%d", apptest.County, indYear), nil)
		if st != 200 {
			t.Fatalf("status %d", st)
		}
		names := nameCellRe.FindAllStringSubmatch(page, -1)
		t.Run("every indicator has one row, its name whole in one link", func(t *testing.T) {
			if len(names) != len(rows) {
				t.Fatalf("%d name cells, %d indicators", len(names), len(rows))
			}
			for i, m := range names {
				if m[1] != rows[i].ID || html.UnescapeString(m[2]) != cat[m[1]] {
					t.Errorf("row %d: %s %q, want %s %q", i, m[1], m[2], rows[i].ID, cat[rows[i].ID])
				}
			}
		})
		t.Run("names carry no forced break", func(t *testing.T) {
			for _, m := range nameCellRe.FindAllString(page, -1) {
				for _, brk := range []string{"<br", "<wbr", "&shy;", "\u00ad", "\u200b"} {
					if strings.Contains(m, brk) {
						t.Errorf("%q breaks with %q", m, brk)
					}
				}
			}
		})
		t.Run("each status is a tag whose tone matches its words", func(t *testing.T) {
			tone := map[string]string{"达标": "ok", "正常": "ok", "滞后": "warn", "严重滞后": "bad", "无目标": "muted", "无数据": "muted"}
			tags := statusRe.FindAllStringSubmatch(page, -1)
			if len(tags) != len(rows) {
				t.Fatalf("%d status tags, %d indicators", len(tags), len(rows))
			}
			seen := map[string]bool{}
			for i, m := range tags {
				zh, _ := indicators.StatusLabel(rows[i].Status)
				if m[2] != zh || tone[m[2]] != m[1] {
					t.Errorf("%s: tag t-%s %q, status %s", rows[i].ID, m[1], m[2], rows[i].Status)
				}
				seen[m[1]] = true
			}
			if !seen["bad"] || !seen["muted"] {
				t.Errorf("tones seen %v: the fixture has seriously lagging and no-data indicators", seen)
			}
		})
		t.Run("figures are grouped in thousands and rounded to two decimals", func(t *testing.T) {
			vals := valueRe.FindAllStringSubmatch(page, -1)
			big := 0
			for i, m := range vals {
				want := "—"
				if v := rows[i].Value; v != nil {
					want = web.Group(math.Round(*v*100) / 100)
					if *v >= 1000 {
						big++
						if !strings.Contains(m[1], ",") {
							t.Errorf("%s: %q has no thousands separator", rows[i].ID, m[1])
						}
					}
				}
				if m[1] != want {
					t.Errorf("%s: %q, want %q", rows[i].ID, m[1], want)
				}
			}
			if big == 0 {
				t.Error("no figure of 1,000 or more to check grouping on")
			}
		})
		t.Run("the rows are grouped under section headings, binding first", func(t *testing.T) {
			b, m, col := strings.Index(page, `id="h-binding"`), strings.Index(page, `id="h-main"`), strings.Index(page, `id="h-columns"`)
			if b < 0 || m < b || col < m || !strings.Contains(page, `<details id="d-binding" open>`) || strings.Contains(page, `<details id="d-main" open>`) {
				t.Errorf("sections at %d, %d, %d", b, m, col)
			}
		})
		t.Run("an indicator's page has no fixed-width chart and tags its status", func(t *testing.T) {
			st, one := c.Do("GET", fmt.Sprintf("/indicators/I13?division=%s&period=%d", apptest.County, indYear), nil)
			if st != 200 || strings.Contains(one, `<svg width="270"`) || strings.Contains(one, "table-wrap") || !regexp.MustCompile(`<span class="big"><span class="tag t-\w+">`).MatchString(one) {
				t.Errorf("status %d or a fixed-width element", st)
			}
		})
	})
}

// In English the page speaks English alone, with English punctuation.
func TestDashboardPageInEnglish(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := indSetup(t, e)
		for _, path := range []string{"/indicators?division=" + apptest.County, "/indicators/I13?division=" + apptest.County, "/indicators/I13/counties", "/indicators/catalogue", "/indicators/report?division=" + apptest.County} {
			t.Run(path+" has no Chinese punctuation in English", func(t *testing.T) {
				req := c.NewRequest("GET", path, nil)
				req.AddCookie(&http.Cookie{Name: "lang", Value: "en"})
				st, page, _ := c.Send(req)
				main := page[strings.Index(page, "<main"):]
				// Names of divisions and indicators are data; the labels around them are not.
				main = regexp.MustCompile(`>[^<]*[\p{Han}][^<]*<`).ReplaceAllString(main, "><")
				if st != 200 || strings.ContainsAny(main, "：，。（）") {
					i := strings.IndexAny(main, "：，。（）")
					t.Errorf("status %d; Chinese punctuation near %q", st, main[max(0, i-80):min(len(main), i+20)])
				}
			})
		}
	})
}
