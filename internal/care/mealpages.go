package care

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/tabular"
	"linli/internal/web"
)

// registerMealAPI adds /api/v1/care/canteens, /meal-enrolments and
// /meal-rules.
func (h *Handlers) registerMealAPI(rt *web.Router) {
	const tag = "care"
	rt.API("GET /api/v1/care/canteens", web.Op{Summary: "助餐点（可见范围内）/ Canteens you may see", Tag: tag, Response: []Canteen{}}, func(w http.ResponseWriter, r *http.Request) error {
		cs, err := h.Store.Canteens(r.Context())
		if err == nil {
			web.WriteJSON(w, 200, cs)
		}
		return err
	})
	rt.API("POST /api/v1/care/canteens", web.Op{Summary: "登记助餐点（登记库中的老年食堂/助餐点设施）/ Register a canteen (a registry facility of the canteen kind)", Tag: tag, Body: CanteenInput{}, Response: Canteen{}, Status: 201},
		func(w http.ResponseWriter, r *http.Request) error {
			var in CanteenInput
			if err := web.DecodeJSON(w, r, &in); err != nil {
				return err
			}
			c, err := h.Store.RegisterCanteen(r.Context(), in)
			if err == nil {
				web.WriteJSON(w, 201, c)
			}
			return err
		})
	rt.API("GET /api/v1/care/canteens/{id}/menu", web.Op{Summary: "一周菜单 / A week's menu", Tag: tag, Response: []MenuSitting{}, Params: []web.Param{{Name: "week", Description: "the week's Monday, YYYY-MM-DD"}}},
		func(w http.ResponseWriter, r *http.Request) error {
			week := r.URL.Query().Get("week")
			if week == "" {
				week = Monday(h.Store.Now().In(cstZone()))
			}
			ms, err := h.Store.Menu(r.Context(), r.PathValue("id"), week)
			if err == nil {
				web.WriteJSON(w, 200, ms)
			}
			return err
		})
	rt.API("PUT /api/v1/care/canteens/{id}/menu", web.Op{Summary: "发布一周菜单（助餐点工作人员）/ Publish a week's menu (the canteen's staff)", Tag: tag, Body: MenuInput{}, Response: []MenuSitting{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in MenuInput
			if err := web.DecodeJSON(w, r, &in); err != nil {
				return err
			}
			ms, err := h.Store.PublishMenu(r.Context(), r.PathValue("id"), in)
			if err == nil {
				web.WriteJSON(w, 200, ms)
			}
			return err
		})
	rt.API("GET /api/v1/care/canteens/{id}/diners", web.Op{Summary: "在册就餐老人 / Enrolled diners", Tag: tag, Response: []Enrolment{}}, func(w http.ResponseWriter, r *http.Request) error {
		es, err := h.Store.Diners(r.Context(), r.PathValue("id"))
		if err == nil {
			web.WriteJSON(w, 200, es)
		}
		return err
	})
	rt.API("POST /api/v1/care/canteens/{id}/sittings", web.Op{Summary: "按餐次登记就餐（勾选名单；重复提交不重复记录）/ Record a sitting's meals (a tick list; submitting again records nothing twice)", Tag: tag, Body: SittingInput{}, Response: MealResult{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in SittingInput
			if err := web.DecodeJSON(w, r, &in); err != nil {
				return err
			}
			res, err := h.Store.RecordSitting(r.Context(), r.PathValue("id"), in)
			if err == nil {
				web.WriteJSON(w, 200, res)
			}
			return err
		})
	rt.API("POST /api/v1/care/canteens/{id}/meals/import", web.Op{Summary: "批量导入就餐记录（CSV：enrolment_id,date,sitting,mode；整体校验，有错不写入）/ Import meals (CSV; checked whole, nothing written on an error)", Tag: tag,
		Accepts: []string{"text/csv"}, Response: MealResult{}}, func(w http.ResponseWriter, r *http.Request) error {
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
		if err != nil {
			return bad("file", "文件过大（最大 8 MB）", "the file is too large (8 MB at most)")
		}
		res, err := h.Store.ImportMeals(r.Context(), r.PathValue("id"), data)
		if err == nil {
			web.WriteJSON(w, 200, res)
		}
		return err
	})
	rt.API("GET /api/v1/care/canteens/{id}/meals", web.Op{Summary: "某日就餐记录 / A day's meals", Tag: tag, Response: []Meal{}, Params: []web.Param{{Name: "date", Description: "YYYY-MM-DD (default: today)"}}},
		func(w http.ResponseWriter, r *http.Request) error {
			ms, err := h.Store.Meals(r.Context(), r.PathValue("id"), r.URL.Query().Get("date"))
			if err == nil {
				web.WriteJSON(w, 200, ms)
			}
			return err
		})
	rt.API("GET /api/v1/care/canteens/{id}/months", web.Op{Summary: "按月就餐与应付补贴 / Meals and subsidy due by month", Tag: tag, Response: []MealMonth{}}, func(w http.ResponseWriter, r *http.Request) error {
		ms, err := h.Store.MealMonths(r.Context(), r.PathValue("id"))
		if err == nil {
			web.WriteJSON(w, 200, ms)
		}
		return err
	})
	rt.API("GET /api/v1/care/canteens/{id}/statement", web.Op{Summary: "某月就餐明细与应付补贴（xlsx）/ A month's meals and subsidy due (xlsx)", Tag: tag, Produces: []string{xlsxType},
		Params: []web.Param{{Name: "month", Description: "YYYY-MM (default: this month)"}}}, h.apiMealStatement)
	rt.API("POST /api/v1/care/meal-enrolments", web.Op{Summary: "登记就餐（60 岁及以上；本人、家人或社区工作人员）/ Enrol a diner aged 60+ (the resident, the family or a worker)", Tag: tag, Body: EnrolInput{}, Response: Enrolment{}, Status: 201},
		func(w http.ResponseWriter, r *http.Request) error {
			var in EnrolInput
			if err := web.DecodeJSON(w, r, &in); err != nil {
				return err
			}
			e, err := h.Store.Enrol(r.Context(), in)
			if err == nil {
				web.WriteJSON(w, 201, e)
			}
			return err
		})
	rt.API("POST /api/v1/care/meal-enrolments/{id}/end", web.Op{Summary: "结束就餐登记 / End an enrolment", Tag: tag, Status: 204}, func(w http.ResponseWriter, r *http.Request) error {
		err := h.Store.EndEnrolment(r.Context(), r.PathValue("id"))
		if err == nil {
			w.WriteHeader(204)
		}
		return err
	})
	rt.API("GET /api/v1/care/meal-rules", web.Op{Summary: "助餐补贴规则各版本（每餐）/ The meal subsidy rule's versions (per meal)", Tag: tag, Response: []Rule{}}, func(w http.ResponseWriter, r *http.Request) error {
		rs, err := h.Store.MealRules(r.Context())
		if err == nil {
			web.WriteJSON(w, 200, rs)
		}
		return err
	})
	rt.API("POST /api/v1/care/meal-rules", web.Op{Summary: "发布助餐补贴规则新版本（县级干部）/ Publish a meal rule version (county officers)", Tag: tag, Body: RuleInput{}, Response: Rule{}, Status: 201},
		func(w http.ResponseWriter, r *http.Request) error {
			var in RuleInput
			if err := web.DecodeJSON(w, r, &in); err != nil {
				return err
			}
			ru, err := h.Store.PublishMealRule(r.Context(), in)
			if err == nil {
				web.WriteJSON(w, 201, ru)
			}
			return err
		})
}

// apiMealStatement answers a canteen's month as xlsx: the month from the
// page's path or the API's query (default this month).
func (h *Handlers) apiMealStatement(w http.ResponseWriter, r *http.Request) error {
	m := r.PathValue("month")
	if m == "" {
		m = r.URL.Query().Get("month")
	}
	if m == "" {
		m = month(h.Store.Now())
	}
	file, err := h.Store.MealStatement(r.Context(), r.PathValue("id"), m)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", xlsxType)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="meals-%s.xlsx"`, m))
	_, err = w.Write(file)
	return err
}

// registerMealPages adds the meal pages: every one works without
// JavaScript.
func (h *Handlers) registerMealPages(rt *web.Router) {
	rt.Page("GET /care/canteens", func(w http.ResponseWriter, r *http.Request) { h.pageCanteens(w, r, 200, web.View{}) })
	rt.Page("POST /care/canteens", h.postCanteens)
	rt.Page("GET /care/canteens/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageCanteen(w, r, 200, web.View{}) })
	rt.Page("POST /care/canteens/{id}/enrol", h.postEnrol)
	rt.Page("POST /care/canteens/{id}/end/{eid}", h.postEndEnrolment)
	rt.Page("POST /care/canteens/{id}/import", h.postImport)
	rt.Page("GET /care/canteens/{id}/menu", func(w http.ResponseWriter, r *http.Request) { h.pageMenu(w, r, 200, web.View{}) })
	rt.Page("POST /care/canteens/{id}/menu", h.postMenu)
	rt.Page("GET /care/canteens/{id}/sitting", func(w http.ResponseWriter, r *http.Request) { h.pageSitting(w, r, 200, web.View{}) })
	rt.Page("POST /care/canteens/{id}/sitting", h.postSitting)
	rt.Page("GET /care/canteens/{id}/months/{month}", func(w http.ResponseWriter, r *http.Request) {
		if err := h.apiMealStatement(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
	rt.Page("GET /care/canteens/{id}/diners.csv", h.pageDinersCSV)
}

// SittingName and ModeName are in words.
func (m MenuSitting) SittingName() fault.Msg { return sittingNames[m.Sitting] }
func (m MenuSitting) Price() string          { return Yuan(m.PriceFen) }
func (m Meal) SittingName() fault.Msg        { return sittingNames[m.Sitting] }
func (m Meal) ModeName() fault.Msg           { return modeNames[m.Mode] }
func (e Enrolment) ModeName() fault.Msg      { return modeNames[e.Mode] }

// Amount, Subsidy and Copay are the month's money in yuan.
func (m MealMonth) Amount() string  { return Yuan(m.AmountFen) }
func (m MealMonth) Subsidy() string { return Yuan(m.SubsidyFen) }
func (m MealMonth) Copay() string   { return Yuan(m.CopayFen) }

type facilityChoice struct{ ID, Name, Division string }

type canteensView struct {
	Canteens    []Canteen
	CanRegister bool
	Facilities  []facilityChoice
	Providers   []Provider
	Mine        []Enrolment
	Resident    bool
}

// pageCanteens lists the canteens one may see; a worker or officer
// registers a canteen facility of their area, a resident sees their
// enrolments.
func (h *Handlers) pageCanteens(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	var cv canteensView
	var err error
	if cv.Canteens, err = h.Store.Canteens(ctx); err != nil && !fault.Is(err, fault.CodeForbidden) {
		h.fail(w, r, err)
		return
	}
	switch p.Role {
	case access.Resident:
		cv.Resident = true
		if cv.Mine, err = h.Store.MyEnrolments(ctx); err != nil && !fault.Is(err, fault.CodeForbidden) {
			h.fail(w, r, err)
			return
		}
	case access.Officer, access.CommunityWorker:
		if cv.Facilities, err = h.Store.canteenFacilities(ctx, p); err != nil {
			h.fail(w, r, err)
			return
		}
		cv.CanRegister = len(cv.Facilities) > 0
		if cv.CanRegister {
			if cv.Providers, err = h.Store.Providers(ctx); err != nil {
				h.fail(w, r, err)
				return
			}
		}
	}
	v.Title, v.Data = web.M("助餐服务", "Meal assistance"), cv
	h.Pages.Render(w, r, status, "meals", v)
}

// canteenFacilities are the canteen facilities of p's area not yet
// registered as canteens.
func (s *Store) canteenFacilities(ctx context.Context, p *access.Principal) ([]facilityChoice, error) {
	sc := access.Subtree(p.Division)
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (facilityChoice, error) {
		var f facilityChoice
		return f, r.Scan(&f.ID, &f.Name, &f.Division)
	}, `SELECT f.id, f.name, f.division_code FROM registry_facility_cards f WHERE f.division_code >= $1 AND f.division_code < $2 AND f.category = 'elderly_canteen' AND f.status = 'open'
		AND NOT EXISTS (SELECT 1 FROM care_canteens c WHERE c.facility_id = f.id) ORDER BY f.division_code, f.name LIMIT 200`, sc.Lo, sc.Hi)
}

func (h *Handlers) postCanteens(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	c, err := h.Store.RegisterCanteen(r.Context(), CanteenInput{FacilityID: r.PostForm.Get("facility_id"), ProviderID: r.PostForm.Get("provider_id")})
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageCanteens(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/care/canteens/"+c.ID, http.StatusSeeOther)
}

// MenuDay is one day of a week's menu for the page.
type MenuDay struct {
	Date, Weekday string
	Lunch, Dinner *MenuSitting
	Today         bool
	Index         int // 0–6, names the menu form's fields
}

type candidate struct{ ID, Label string }

type canteenView struct {
	C                Canteen
	Runs             bool
	Week, Prev, Next string
	Days             []MenuDay
	Diners           []Enrolment
	Candidates       []candidate
	CanEnrol, CanEnd bool
	Months           []MealMonth
	Today            string
	Notice           string
	Added, Already   int
	Ended            int  // enrolments a change of communities ended
	EditAreas        bool // may change the communities served
	Settle           bool // a community-run canteen's settlements concern p
}

var weekdays = [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

// weekOf is the page's week: the ?week= Monday, or this week.
func (h *Handlers) weekOf(r *http.Request) (time.Time, error) {
	if wk := r.URL.Query().Get("week"); wk != "" {
		return validWeek("week", wk)
	}
	m, _ := time.Parse("2006-01-02", Monday(h.Store.Now().In(cstZone())))
	return m, nil
}

func (h *Handlers) pageCanteen(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	c, err := h.Store.Canteen(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	monday, err := h.weekOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cv := canteenView{C: c, Runs: h.Store.Runs(ctx, p, c), Week: monday.Format("2006-01-02"), Prev: monday.AddDate(0, 0, -7).Format("2006-01-02"),
		Next: monday.AddDate(0, 0, 7).Format("2006-01-02"), Today: h.Store.Now().In(cstZone()).Format("2006-01-02")}
	q := r.URL.Query()
	cv.Added, _ = strconv.Atoi(q.Get("added"))
	cv.Already, _ = strconv.Atoi(q.Get("already"))
	cv.Notice = q.Get("done")
	cv.Ended, _ = strconv.Atoi(q.Get("ended"))
	cv.EditAreas = h.Store.MayEditAreas(ctx, p, c)
	cv.Settle = c.ProviderID == "" && (p.Role == access.CommunityWorker || p.Role == access.Officer)
	menu, err := h.Store.Menu(ctx, c.ID, cv.Week)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for i := 0; i < 7; i++ {
		d := monday.AddDate(0, 0, i)
		day := MenuDay{Date: d.Format("2006-01-02"), Weekday: weekdays[d.Weekday()]}
		day.Today = day.Date == cv.Today
		for j := range menu {
			if menu[j].Date == day.Date && menu[j].Sitting == SittingLunch {
				day.Lunch = &menu[j]
			} else if menu[j].Date == day.Date {
				day.Dinner = &menu[j]
			}
		}
		cv.Days = append(cv.Days, day)
	}
	if cv.Diners, err = h.Store.Diners(ctx, c.ID); err != nil && !fault.Is(err, fault.CodeForbidden) {
		h.fail(w, r, err)
		return
	}
	// Who ends an enrolment: the diner's household, a worker of their
	// area (both see only those), or the canteen's staff.
	cv.CanEnd = cv.Runs || p.Role == access.Resident || p.Role == access.CommunityWorker || p.Role == access.GridWorker
	switch p.Role {
	case access.Resident, access.CommunityWorker, access.GridWorker:
		if cv.Candidates, err = h.Store.enrolCandidates(ctx, p, c); err != nil && !fault.Is(err, fault.CodeForbidden) {
			h.fail(w, r, err)
			return
		}
		cv.CanEnrol = len(cv.Candidates) > 0
	}
	if p.Role != access.Resident {
		if cv.Months, err = h.Store.MealMonths(ctx, c.ID); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	v.Title, v.Data = web.M(c.Name, c.Name), cv
	v.Crumbs = []web.Crumb{{Href: "/care/canteens", Label: web.M("助餐服务", "Meal assistance")}, {Label: web.M(c.Name, c.Name)}}
	h.Pages.Render(w, r, status, "mealcanteen", v)
}

// enrolCandidates are whom p may enrol at c: residents aged 60+ of the
// communities c serves, not enrolled there yet — a resident's own
// household, or a worker's area (at most 200, by surname).
func (s *Store) enrolCandidates(ctx context.Context, p *access.Principal, c Canteen) ([]candidate, error) {
	cutoff := s.Now().In(cstZone()).AddDate(-MealAge, 0, 0).Format("2006-01-02")
	scan := func(r db.Scanner) (candidate, error) {
		var id, surname, birth string
		err := r.Scan(&id, &surname, &birth)
		return candidate{ID: id, Label: fmt.Sprintf("%s**（%s 年生）", surname, birth[:min(4, len(birth))])}, err
	}
	notEnrolled := ` AND EXISTS (SELECT 1 FROM care_canteen_areas a WHERE a.canteen_id = $1 AND a.community = pp.division_code)
		AND NOT EXISTS (SELECT 1 FROM care_meal_enrolments e WHERE e.canteen_id = $1 AND e.resident_id = pp.id AND e.active)`
	if p.Role == access.Resident {
		res, err := s.residentOf(ctx, p)
		if err != nil {
			return nil, err
		}
		return db.Collect(ctx, s.DB.R, scan, `SELECT pp.id, pp.surname, pp.birth_date FROM registry_people pp WHERE pp.household_id = $2 AND pp.birth_date <= $3`+notEnrolled+` ORDER BY pp.birth_date, pp.id`,
			c.ID, res.Household, cutoff)
	}
	var out []candidate
	for _, cm := range c.Communities {
		if !access.Encloses(p.Division, cm) {
			continue
		}
		cs, err := db.Collect(ctx, s.DB.R, scan, `SELECT pp.id, pp.surname, pp.birth_date FROM registry_people pp WHERE pp.division_code = $2 AND pp.birth_date <= $3`+notEnrolled+` ORDER BY pp.surname, pp.birth_date, pp.id LIMIT 200`,
			c.ID, cm, cutoff)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

func (h *Handlers) postEnrol(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	id := r.PathValue("id")
	_, err := h.Store.Enrol(r.Context(), EnrolInput{CanteenID: id, ResidentID: r.PostForm.Get("resident_id"), Mode: r.PostForm.Get("mode")})
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageCanteen(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/care/canteens/"+id+"?done=enrolled", http.StatusSeeOther)
}

func (h *Handlers) postEndEnrolment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.Store.EndEnrolment(r.Context(), r.PathValue("eid")); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/care/canteens/"+id+"?done=ended", http.StatusSeeOther)
}

func (h *Handlers) postImport(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		h.pageCanteen(w, r, 400, web.View{Alert: web.M("请选择不超过 8 MB 的文件", "choose a file of at most 8 MB"), Errors: []fault.FieldError{fault.Field("file", fault.M("请选择文件", "choose a file"))}})
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		h.pageCanteen(w, r, 400, web.View{Alert: web.M("请选择文件", "choose a file"), Errors: []fault.FieldError{fault.Field("file", fault.M("请选择文件", "choose a file"))}})
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 8<<20))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.Store.ImportMeals(r.Context(), id, data)
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			// The line's field is the file's: the page has one file input.
			h.pageCanteen(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: []fault.FieldError{fault.Field("file", we.Msg)}})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/care/canteens/%s?done=imported&added=%d&already=%d", id, res.Added, res.Already), http.StatusSeeOther)
}

// pageDinersCSV is the bulk file's template: a line per diner enrolled,
// to fill with dates and sittings (the canteen's staff).
func (h *Handlers) pageDinersCSV(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := h.Store.Canteen(ctx, r.PathValue("id"))
	if err == nil && !h.Store.Runs(ctx, access.From(ctx), c) {
		err = errNotCanteen
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	diners, err := h.Store.Diners(ctx, c.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="meals-template.csv"`)
	tw, err := tabular.New(w, "csv", tabular.Options{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	today := h.Store.Now().In(cstZone()).Format("2006-01-02")
	if err := tw.Values(append(append([]any{}, toAny(MealCSVHeader)...), "name")...); err != nil {
		return
	}
	for _, d := range diners {
		if err := tw.Values(d.ID, today, SittingLunch, d.Mode, d.Name); err != nil {
			return
		}
	}
	_ = tw.Close()
}

func toAny(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

type menuView struct {
	C    Canteen
	Week string
	Days []MenuDay
}

func (h *Handlers) canteenRun(w http.ResponseWriter, r *http.Request) (Canteen, bool) {
	ctx := r.Context()
	c, err := h.Store.Canteen(ctx, r.PathValue("id"))
	if err == nil && !h.Store.Runs(ctx, access.From(ctx), c) {
		err = errNotCanteen
	}
	if err != nil {
		h.fail(w, r, err)
		return c, false
	}
	return c, true
}

// pageMenu is the week's menu as a form: per day and sitting the dishes
// (one a line) and the meal's price in yuan; a sitting left empty has no
// menu.
func (h *Handlers) pageMenu(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	c, ok := h.canteenRun(w, r)
	if !ok {
		return
	}
	monday, err := h.weekOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	mv := menuView{C: c, Week: monday.Format("2006-01-02")}
	menu, err := h.Store.Menu(r.Context(), c.ID, mv.Week)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	form := url.Values{}
	for i := 0; i < 7; i++ {
		d := monday.AddDate(0, 0, i)
		mv.Days = append(mv.Days, MenuDay{Date: d.Format("2006-01-02"), Weekday: weekdays[d.Weekday()], Index: i})
		for _, m := range menu {
			if m.Date == d.Format("2006-01-02") {
				form.Set(fmt.Sprintf("%s_%d", m.Sitting, i), strings.Join(m.Dishes, "\n"))
				form.Set(fmt.Sprintf("%s_price_%d", m.Sitting, i), Yuan(m.PriceFen))
			}
		}
	}
	if v.Form == nil {
		v.Form = form
	}
	v.Title, v.Data = web.M("一周菜单 "+mv.Week, "Menu of the week "+mv.Week), mv
	v.Crumbs = []web.Crumb{{Href: "/care/canteens", Label: web.M("助餐服务", "Meal assistance")}, {Href: "/care/canteens/" + c.ID + "?week=" + mv.Week, Label: web.M(c.Name, c.Name)}, {Label: web.M("菜单", "Menu")}}
	h.Pages.Render(w, r, status, "mealmenu", v)
}

// fenOf parses yuan with up to two decimals.
func fenOf(field, s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 {
		return 0, bad(field, "价格应为元，最多两位小数", "the price is in yuan with at most two decimals")
	}
	y, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || y < 0 || y > 100 {
		return 0, bad(field, "价格应为 0–100 元", "the price must be 0–100 yuan")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, bad(field, "价格应为元，最多两位小数", "the price is in yuan with at most two decimals")
	}
	return y*100 + f, nil
}

func (h *Handlers) postMenu(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	f := r.PostForm
	monday, err := validWeek("week", f.Get("week"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in := MenuInput{Week: f.Get("week")}
	var fieldOf []string
	for i := 0; i < 7; i++ {
		for _, s := range []string{SittingLunch, SittingDinner} {
			dishes := strings.TrimSpace(f.Get(fmt.Sprintf("%s_%d", s, i)))
			if dishes == "" {
				continue
			}
			pf := fmt.Sprintf("%s_price_%d", s, i)
			price, err := fenOf(pf, f.Get(pf))
			if err != nil {
				we, _ := fault.As(err)
				h.pageMenu(w, r, 400, web.View{Alert: we.Msg, Errors: we.Fields, Form: f})
				return
			}
			in.Sittings = append(in.Sittings, MenuSitting{Date: monday.AddDate(0, 0, i).Format("2006-01-02"), Sitting: s, Dishes: strings.Split(strings.ReplaceAll(dishes, "\r", ""), "\n"), PriceFen: price})
			fieldOf = append(fieldOf, fmt.Sprintf("%s_%d", s, i))
		}
	}
	if _, err := h.Store.PublishMenu(r.Context(), r.PathValue("id"), in); err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			// sittings[i].x names the form's field of that sitting.
			for j := range we.Fields {
				var i int
				if _, err := fmt.Sscanf(we.Fields[j].Field, "sittings[%d]", &i); err == nil && i < len(fieldOf) {
					we.Fields[j].Field = fieldOf[i]
				}
			}
			h.pageMenu(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: f})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/care/canteens/"+r.PathValue("id")+"?week="+in.Week+"&done=menu", http.StatusSeeOther)
}

// TickRow is one diner of a sitting's tick list.
type TickRow struct {
	E        Enrolment
	Served   *Meal // recorded already
	Selected string
}

type sittingView struct {
	C                 Canteen
	Date, Sitting     string
	SittingName       fault.Msg
	Menu              *MenuSitting
	Rows              []TickRow
	Modes             []option
	Added, Already    int
	Done              bool
	Sittings          []option
	ServedN, Delivers int
}

// pageSitting is a sitting's tick list: each enrolled diner served
// (堂食 or 送餐) or not; meals recorded already are shown as such.
func (h *Handlers) pageSitting(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	c, ok := h.canteenRun(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	sv := sittingView{C: c, Date: q.Get("date"), Sitting: q.Get("sitting"), Modes: []option{{"", web.M("未就餐", "Not served")}, {ModeDineIn, modeNames[ModeDineIn]}, {ModeDelivery, modeNames[ModeDelivery]}},
		Sittings: []option{{SittingLunch, sittingNames[SittingLunch]}, {SittingDinner, sittingNames[SittingDinner]}}}
	if sv.Date == "" {
		sv.Date = h.Store.Now().In(cstZone()).Format("2006-01-02")
	}
	if sv.Sitting == "" {
		sv.Sitting = SittingLunch
	}
	if _, err := validSitting(sv.Date, sv.Sitting); err != nil {
		h.fail(w, r, err)
		return
	}
	sv.SittingName = sittingNames[sv.Sitting]
	sv.Added, _ = strconv.Atoi(q.Get("added"))
	sv.Already, _ = strconv.Atoi(q.Get("already"))
	sv.Done = q.Get("done") == "1"
	monday, _ := time.Parse("2006-01-02", sv.Date)
	menu, err := h.Store.Menu(ctx, c.ID, Monday(monday))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for i := range menu {
		if menu[i].Date == sv.Date && menu[i].Sitting == sv.Sitting {
			sv.Menu = &menu[i]
		}
	}
	diners, err := h.Store.Diners(ctx, c.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	meals, err := h.Store.Meals(ctx, c.ID, sv.Date)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	served := map[string]*Meal{}
	for i := range meals {
		if meals[i].Sitting == sv.Sitting {
			served[meals[i].ResidentID] = &meals[i]
			sv.ServedN++
			if meals[i].Mode == ModeDelivery {
				sv.Delivers++
			}
		}
	}
	for _, d := range diners {
		row := TickRow{E: d, Served: served[d.ResidentID]}
		if v.Form != nil {
			row.Selected = v.Form.Get("m." + d.ID)
		}
		sv.Rows = append(sv.Rows, row)
	}
	v.Title, v.Data = web.M(sv.Date+" "+sv.SittingName.ZH+"就餐登记", "Meals of "+sv.Date+", "+sv.SittingName.EN), sv
	v.Crumbs = []web.Crumb{{Href: "/care/canteens", Label: web.M("助餐服务", "Meal assistance")}, {Href: "/care/canteens/" + c.ID, Label: web.M(c.Name, c.Name)}, {Label: web.M("就餐登记", "Meals")}}
	h.Pages.Render(w, r, status, "mealsitting", v)
}

func (h *Handlers) postSitting(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	f := r.PostForm
	in := SittingInput{Date: f.Get("date"), Sitting: f.Get("sitting")}
	for k := range f {
		if eid, ok := strings.CutPrefix(k, "m."); ok && f.Get(k) != "" {
			in.Served = append(in.Served, Tick{EnrolmentID: eid, Mode: f.Get(k)})
		}
	}
	res, err := h.Store.RecordSitting(r.Context(), r.PathValue("id"), in)
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			r.URL.RawQuery = url.Values{"date": {in.Date}, "sitting": {in.Sitting}}.Encode()
			h.pageSitting(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: f})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/care/canteens/%s/sitting?%s", r.PathValue("id"), url.Values{"date": {in.Date}, "sitting": {in.Sitting}, "done": {"1"},
		"added": {strconv.Itoa(res.Added)}, "already": {strconv.Itoa(res.Already)}}.Encode()), http.StatusSeeOther)
}

// Subsidy is the meal's subsidy in yuan.
func (m Meal) Subsidy() string { return Yuan(m.SubsidyFen) }
