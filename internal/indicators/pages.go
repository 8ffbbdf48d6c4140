package indicators

import (
	"math"
	"strconv"
	"strings"
	"time"

	"linli/internal/divisions"
	"linli/internal/web"
)

// How the pages show what the engine computed: figures grouped, statuses
// as tags with a tone, rows grouped into the plan's sections. Nothing here
// computes a value.

// Fig is the row's value as shown: grouped, at most two decimals; "—"
// when there is no data.
func (r Row) Fig() string { return fig(r.Value.Value) }

// Goal is the row's target as shown, "—" when none.
func (r Row) Goal() string { return fig(r.Value.Target) }

// StatusTag is the row's status in words and a tone, never colour alone.
func (r Row) StatusTag() web.Tag { return statusTag(r.Status) }

// ProgressPct is the progress towards the target in whole percent.
func (r Row) ProgressPct() string {
	if r.Progress == nil {
		return ""
	}
	return strconv.FormatFloat(math.Round(*r.Progress*100), 'f', 0, 64) + "%"
}

// fig writes a figure with thousands separators and at most two decimals.
func fig(p *float64) string {
	if p == nil {
		return "—"
	}
	return web.Group(math.Round(*p*100) / 100)
}

// noData is said where a figure is missing (the data is not entered, or
// its module is not live): not zero.
func noData() web.Msg { return web.M("无数据", "no data") }

// statusTag maps an engine status to a tag: 达标 and 正常 ok, 滞后 warn,
// 严重滞后 bad, 无目标 and 无数据 muted.
func statusTag(s string) web.Tag {
	zh, en := StatusLabel(s)
	tone := web.ToneMuted
	switch s {
	case "met", "on_track":
		tone = web.ToneOK
	case "lagging":
		tone = web.ToneWarn
	case "seriously_lagging":
		tone = web.ToneBad
	}
	return web.Tag{Tone: tone, Label: web.M(zh, en)}
}

// section is one heading of the dashboard: the binding indicators, the
// plan's main table, its feature columns, the own indicators.
type section struct {
	ID      string
	Title   web.Msg
	Rows    []Row
	Lagging int  // lagging or seriously lagging
	Open    bool // open on phones too (it is always open on wide screens)
}

// statusCount is how many indicators have one status.
type statusCount struct {
	Tag web.Tag
	N   int
}

// dashboard is the indicators page: the computed rows grouped for reading.
type dashboard struct {
	pageView
	Sections []section
	Counts   []statusCount
	Empty    web.Msg
}

// sectionOf places an indicator: binding ones first (as the plan lists
// them), then the plan's table 1, its feature columns, and own indicators.
func sectionOf(in Indicator) int {
	switch {
	case in.Owner != "":
		return 3
	case in.Binding:
		return 0
	case strings.HasPrefix(in.Source, "表"):
		return 1
	}
	return 2
}

func newDashboard(pv pageView) dashboard {
	d := dashboard{pageView: pv, Empty: web.M("该区划没有适用的指标", "No indicator applies to this division")}
	d.Sections = []section{
		{ID: "binding", Title: web.M("约束性指标", "Binding indicators"), Open: true},
		{ID: "main", Title: web.M("主要指标（规划表 1）", "Main indicators (plan table 1)")},
		{ID: "columns", Title: web.M("专栏指标", "Indicators of the plan's feature columns")},
		{ID: "own", Title: web.M("自设指标", "Own indicators")},
	}
	order := []string{"seriously_lagging", "lagging", "on_track", "met", "no_target", "no_data"}
	counts := map[string]int{}
	for _, rw := range pv.Rows {
		s := &d.Sections[sectionOf(rw.Indicator)]
		s.Rows = append(s.Rows, rw)
		if rw.Status == "lagging" || rw.Status == "seriously_lagging" {
			s.Lagging++
		}
		st := rw.Status
		if st == "" {
			st = "no_data"
		}
		counts[st]++
	}
	kept := d.Sections[:0]
	for _, s := range d.Sections {
		if len(s.Rows) > 0 {
			kept = append(kept, s)
		}
	}
	d.Sections = kept
	if len(kept) > 0 && !kept[0].Open {
		kept[0].Open = true
	}
	for _, st := range order {
		if counts[st] > 0 {
			d.Counts = append(d.Counts, statusCount{Tag: statusTag(st), N: counts[st]})
		}
	}
	return d
}

// crumbs lead from the top of the division path down to the page, each
// step to the same page of that division.
func crumbs(first web.Crumb, path []divisions.Division, div divisions.Division, href func(code string) string) []web.Crumb {
	out := []web.Crumb{first}
	for _, p := range path {
		out = append(out, web.Crumb{Href: href(p.Code), Label: web.M(p.Name, p.Name)})
	}
	return append(out, web.Crumb{Label: web.M(div.Name, div.Name)})
}

// dashboardView is the indicators page of a computed pageView.
func dashboardView(pv pageView) web.View {
	year := strconv.Itoa(pv.Year)
	v := web.View{Title: web.M("规划指标监测", "Plan indicators"), Data: newDashboard(pv)}
	if pv.Div.Code != "" {
		v.Title = web.M("规划指标监测 · "+pv.Div.Name, "Plan indicators · "+pv.Div.Name)
		if len(pv.Path) > 0 {
			v.Crumbs = crumbs(web.Crumb{Href: "/indicators?period=" + year, Label: web.M("指标监测", "Indicators")}, pv.Path, pv.Div,
				func(code string) string { return "/indicators?division=" + code + "&period=" + year })
		}
	}
	return v
}

// indicatorView is one indicator's page.
func indicatorView(pv pageView) web.View {
	d := pv.One
	year := strconv.Itoa(pv.Year)
	return web.View{Title: web.M(d.ID+" "+d.NameZH, d.ID+" "+d.NameEN), Data: pv,
		Crumbs: crumbs(web.Crumb{Href: "/indicators?division=" + pv.Div.Code + "&period=" + year, Label: web.M("指标监测", "Indicators")}, pv.Path, pv.Div,
			func(code string) string { return "/indicators/" + d.ID + "?division=" + code + "&period=" + year })}
}

// KindTags are the tags beside an indicator's ID: binding (约束性), own (自设).
func (r Row) KindTags() []web.Tag {
	var out []web.Tag
	if r.Binding {
		out = append(out, web.Tag{Tone: web.ToneInfo, Label: web.M("约束性", "Binding")})
	}
	if r.Owner != "" {
		out = append(out, web.Tag{Tone: web.ToneInfo, Label: web.M("自设", "Own")})
	}
	return out
}

// StatusTag is a reported value's state: a draft, or approved and locked.
func (f reportField) StatusTag() web.Tag {
	if f.Status == "approved" {
		return web.Tag{Tone: web.ToneOK, Label: web.M("已审核", "Approved")}
	}
	return web.Tag{Tone: web.ToneInfo, Label: web.M("草稿", "Draft")}
}

// period is one choice of the month-period picker: a month of the year,
// or the year itself (the mean of its months).
type period struct {
	Param   string // the month parameter: "2026-11", or "2026" for the year
	Label   web.Msg
	Current bool
}

// periods are the months of the year up to the as-of month, then the
// year; month is the one shown (0: the year).
func periods(year, month int, now time.Time) []period {
	var out []period
	for m := 1; m <= AsOfMonth(year, now); m++ {
		out = append(out, period{Param: MonthName(year, m), Label: web.M(strconv.Itoa(m)+"月", time.Month(m).String()[:3]), Current: m == month})
	}
	return append(out, period{Param: strconv.Itoa(year), Label: web.M("全年（月均）", "Year (mean of months)"), Current: month == 0})
}

// monthLabel writes a month period ("2026-11") for readers.
func monthLabel(m string) web.Msg {
	y, mm, _ := strings.Cut(m, "-")
	n, _ := strconv.Atoi(mm)
	if n < 1 || n > 12 {
		return web.M(m, m)
	}
	return web.M(y+"年"+strconv.Itoa(n)+"月", time.Month(n).String()[:3]+" "+y)
}

// monthRow is one month of a monthly indicator's year.
type monthRow struct {
	Label web.Msg
	Value string
}

// Period names what a monthly row's value is for: a month, or the mean
// of the year's months (empty for an indicator that is not monthly).
func (r Row) Period() web.Msg {
	switch {
	case r.Value.Month != "":
		return monthLabel(r.Value.Month)
	case r.Value.Monthly && r.MonthsAveraged > 0:
		return web.M("全年月均（"+strconv.Itoa(r.MonthsAveraged)+" 个月）", "mean of "+strconv.Itoa(r.MonthsAveraged)+" months")
	case r.Value.Monthly:
		return web.M("全年月均", "mean of months")
	}
	return web.Msg{}
}

// periodText is a value's period in the export: "2026-11", "2026 月均
// mean of N months", or the year.
func periodText(year int, v Value) string {
	switch {
	case v.Month != "":
		return v.Month
	case v.Monthly:
		return strconv.Itoa(year) + " 月均 mean of " + strconv.Itoa(v.MonthsAveraged) + " months"
	}
	return strconv.Itoa(year)
}

// MonthParam is the month parameter of the period the page shows.
func (pv pageView) MonthParam() string {
	if pv.Month > 0 {
		return MonthName(pv.Year, pv.Month)
	}
	return strconv.Itoa(pv.Year)
}

// PeriodName names the period monthly indicators show on the page.
func (pv pageView) PeriodName() web.Msg {
	if pv.Month > 0 {
		return monthLabel(pv.MonthParam())
	}
	y := strconv.Itoa(pv.Year)
	return web.M(y+"年全年（各月均值）", y+", the whole year (mean of its months)")
}
