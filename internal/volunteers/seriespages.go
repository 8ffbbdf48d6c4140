package volunteers

import (
	"net/http"
	"net/url"
	"strconv"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/web"
)

// registerSeriesPages adds the organiser's pages of recurring activities.
func (h *Handlers) registerSeriesPages(rt *web.Router) {
	rt.Page("GET /volunteers/series", h.pageSeriesList)
	rt.Page("GET /volunteers/series/new", func(w http.ResponseWriter, r *http.Request) { h.pageSeriesForm(w, r, 200, web.View{}, Series{}) })
	rt.Page("POST /volunteers/series/new", h.postNewSeries)
	rt.Page("GET /volunteers/series/{id}", h.pageSeries)
	rt.Page("GET /volunteers/series/{id}/edit", h.pageEditSeries)
	rt.Page("POST /volunteers/series/{id}/edit", h.postEditSeries)
	rt.Page("POST /volunteers/series/{id}/generate", h.postGenerate)
	rt.Page("POST /volunteers/series/{id}/cancel", h.postCancelSeries)
}

// weekdayNames are the weekday pickers, Monday first.
var weekdayNames = []option{{"1", "周一", "Mon"}, {"2", "周二", "Tue"}, {"3", "周三", "Wed"}, {"4", "周四", "Thu"},
	{"5", "周五", "Fri"}, {"6", "周六", "Sat"}, {"0", "周日", "Sun"}}

// RuleText says when a series' shifts fall.
func (s Series) RuleText() web.Msg {
	if s.Rule == RuleEvery {
		return web.M("每隔 "+itoa(s.EveryDays)+" 天", "every "+itoa(s.EveryDays)+" days")
	}
	zh, en := "每周", "weekly on"
	for _, o := range weekdayNames {
		for _, d := range s.Weekdays {
			if o.Key == itoa(d) {
				zh += " " + o.ZH
				en += " " + o.EN
			}
		}
	}
	return web.M(zh, en)
}

// Cancelled tells whether the series is cancelled.
func (s Series) Cancelled() bool { return s.Status == StatusCancelled }

// Cancelled tells whether the activity is cancelled.
func (a Activity) Cancelled() bool { return a.Status == StatusCancelled }

func (h *Handlers) pageSeriesList(w http.ResponseWriter, r *http.Request) {
	list, err := h.Store.SeriesList(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := web.View{Title: web.M("周期活动", "Recurring activities"), Data: list}
	v.Crumbs = []web.Crumb{{Href: "/volunteers", Label: web.M("志愿服务", "Volunteering")}, {Label: v.Title}}
	h.Pages.Render(w, r, 200, "serieslist", v)
}

type seriesFormView struct {
	Action   string
	Edit     bool
	Series   Series
	Stations []station
	Weekdays []Choice
}

func (h *Handlers) pageSeriesForm(w http.ResponseWriter, r *http.Request, status int, v web.View, old Series) {
	p := access.From(r.Context())
	if !manager(p, p.Division) {
		h.fail(w, r, fault.Forbidden(fault.M("只有社区工作者、干部可以发布周期活动", "only community workers and officers post recurring activities")))
		return
	}
	ss, err := h.stations(r.Context(), p.Division)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := seriesFormView{Action: "/volunteers/series/new", Series: old, Stations: ss}
	if old.ID != "" {
		d.Action, d.Edit = "/volunteers/series/"+old.ID+"/edit", true
	}
	if v.Form == nil {
		if old.ID != "" {
			v.Form = url.Values{"title": {old.Title}, "description": {old.Description}, "place": {old.Place}, "station_id": {old.StationID}, "rule": {old.Rule},
				"every_days": {itoa(old.EveryDays)}, "start_date": {old.StartDate}, "end_date": {old.EndDate}, "start_time": {old.StartTime}, "end_time": {old.EndTime},
				"cutoff_hours": {itoa(old.CutoffHours)}, "hours": {strconv.FormatFloat(old.Hours, 'f', -1, 64)}, "points": {strconv.FormatInt(old.Points, 10)},
				"slots": {itoa(old.Slots)}, "min_age": {itoa(old.MinAge)}}
			if old.Count > 0 {
				v.Form.Set("count", itoa(old.Count))
			}
			if old.TimeBank {
				v.Form.Set("time_bank", "yes")
			}
			for _, d := range old.Weekdays {
				v.Form.Add("weekday", itoa(d))
			}
		} else {
			v.Form = url.Values{"rule": {RuleWeekly}, "every_days": {"7"}, "start_date": {h.Store.today()}, "count": {"12"}, "start_time": {"10:30"}, "end_time": {"12:30"},
				"cutoff_hours": {"24"}, "hours": {"2"}, "points": {"20"}, "slots": {"6"}, "min_age": {"16"}, "time_bank": {"yes"}}
		}
	}
	d.Weekdays = choices(weekdayNames, v.Form["weekday"])
	v.Title = web.M("发布周期活动", "New recurring activity")
	if d.Edit {
		v.Title = web.M("修改周期活动", "Edit the recurring activity")
	}
	v.Data = d
	v.Crumbs = []web.Crumb{{Href: "/volunteers", Label: web.M("志愿服务", "Volunteering")}, {Href: "/volunteers/series", Label: web.M("周期活动", "Recurring activities")}, {Label: v.Title}}
	h.Pages.Render(w, r, status, "seriesform", v)
}

func seriesInput(f url.Values) SeriesInput {
	num := func(k string) float64 { x, _ := strconv.ParseFloat(f.Get(k), 64); return x }
	in := SeriesInput{StationID: f.Get("station_id"), Title: f.Get("title"), Description: f.Get("description"), Place: f.Get("place"), Rule: f.Get("rule"),
		EveryDays: int(num("every_days")), StartDate: f.Get("start_date"), EndDate: f.Get("end_date"), Count: int(num("count")),
		StartTime: f.Get("start_time"), EndTime: f.Get("end_time"), CutoffHours: int(num("cutoff_hours")), Hours: num("hours"), Points: int64(num("points")),
		Slots: int(num("slots")), MinAge: int(num("min_age")), TimeBank: f.Get("time_bank") == "yes"}
	for _, d := range f["weekday"] {
		n, err := strconv.Atoi(d)
		if err != nil {
			n = -1 // refused by the check, naming the field
		}
		in.Weekdays = append(in.Weekdays, n)
	}
	return in
}

func (h *Handlers) postNewSeries(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.Store.CreateSeries(r.Context(), seriesInput(r.PostForm))
	if err != nil {
		h.formError(w, r, err, func(status int, v web.View) { h.pageSeriesForm(w, r, status, v, Series{}) })
		return
	}
	http.Redirect(w, r, "/volunteers/series/"+res.Series.ID+"?done=created&n="+itoa(res.Generated), http.StatusSeeOther)
}

type seriesView struct {
	Series Series
	Shifts []Activity
	Done   string
	N      string
}

func (h *Handlers) pageSeries(w http.ResponseWriter, r *http.Request) {
	sr, shifts, err := h.Store.OneSeries(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	v := web.View{Title: web.M(sr.Title, sr.Title), Data: seriesView{Series: sr, Shifts: shifts, Done: q.Get("done"), N: q.Get("n")}}
	v.Crumbs = []web.Crumb{{Href: "/volunteers", Label: web.M("志愿服务", "Volunteering")}, {Href: "/volunteers/series", Label: web.M("周期活动", "Recurring activities")}, {Label: v.Title}}
	h.Pages.Render(w, r, 200, "series", v)
}

func (h *Handlers) pageEditSeries(w http.ResponseWriter, r *http.Request) {
	sr, err := h.Store.managedSeries(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.pageSeriesForm(w, r, 200, web.View{}, sr)
}

func (h *Handlers) postEditSeries(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	sr, err := h.Store.managedSeries(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.Store.UpdateSeries(r.Context(), sr.ID, seriesInput(r.PostForm))
	if err != nil {
		h.formError(w, r, err, func(status int, v web.View) { h.pageSeriesForm(w, r, status, v, sr) })
		return
	}
	http.Redirect(w, r, "/volunteers/series/"+sr.ID+"?done=updated&n="+itoa(res.Generated), http.StatusSeeOther)
}

func (h *Handlers) postGenerate(w http.ResponseWriter, r *http.Request) {
	res, err := h.Store.Generate(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/volunteers/series/"+res.Series.ID+"?done=generated&n="+itoa(res.Generated), http.StatusSeeOther)
}

func (h *Handlers) postCancelSeries(w http.ResponseWriter, r *http.Request) {
	res, err := h.Store.CancelSeries(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/volunteers/series/"+res.Series.ID+"?done=cancelled&n="+itoa(res.Released), http.StatusSeeOther)
}
